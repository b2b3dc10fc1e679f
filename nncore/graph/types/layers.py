"""Layers with weights or randomness: Dense and Dropout."""

from __future__ import annotations

from typing import Any

import numpy as np

from nncore import init, nn
from nncore.graph.shapes import PortShape, Shapes, batch_tensor, features
from nncore.graph.types import register
from nncore.graph.types.base import ExportSpec, ModuleType, Params
from nncore.spec import ParamSpec

__all__ = ["Dense", "Dropout"]

_INITS = ("pytorch", "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal")


@register
class Dense(ModuleType):
    """A fully connected layer (PyTorch's ``Linear``), on the last dimension of any
    tensor ``(N, ..., in)`` -> ``(N, ..., units)``."""

    type_id = "dense"
    category = "Layers"
    display_name = "Dense"
    params = (
        ParamSpec("units", "int", 16, "output features (neurons)", minimum=1,
                  maximum=100_000),
        ParamSpec("bias", "bool", True, "learn an additive bias per unit"),
        ParamSpec("init", "choice", "pytorch", "how the weights start: PyTorch's default "
                  "U(±1/sqrt(in)), Xavier/Glorot, or Kaiming/He (for ReLU)",
                  label="Initialization", choices=_INITS),
    )
    summary = "Fully connected layer: y = x W^T + b (PyTorch's Linear)."
    learn = ("Every output unit is a weighted sum of all inputs plus a bias: y = x W^T + b, "
             "with W of shape (units, inputs). Its gradients: dL/dx = dL/dy W, dL/dW = "
             "(dL/dy)^T x, dL/db = the sum of dL/dy over the batch. Stacked Dense layers "
             "need a nonlinearity between them, otherwise they collapse into one linear "
             "map. The initialization matters: weights too large or too small make "
             "activations and gradients explode or vanish with depth (Glorot & Bengio "
             "2010; He et al. 2015).")
    glyph = "▦"

    def infer(self, params: Params, inputs: Shapes) -> dict[str, PortShape]:
        x = batch_tensor(inputs)
        return {"output": PortShape((*x.dims[:-1], params["units"]))}

    def count(self, params: Params, inputs: Shapes) -> int:
        return features(inputs) * params["units"] + (params["units"] if params["bias"] else 0)

    def build(self, params: Params, inputs: Shapes, rng: np.random.Generator) -> nn.Linear:
        layer = nn.Linear(features(inputs), params["units"], bias=params["bias"],
                          generator=rng)
        scheme = params["init"]
        if scheme.startswith("xavier"):
            getattr(init, f"{scheme}_")(layer.weight, generator=rng)
        elif scheme.startswith("kaiming"):
            getattr(init, f"{scheme}_")(layer.weight, nonlinearity="relu", generator=rng)
        if scheme != "pytorch" and layer.bias is not None:
            init.zeros_(layer.bias)
        return layer

    def card_text(self, params: Params, data: Any = None) -> str:
        return f"{params['units']} units" + ("" if params["bias"] else ", no bias")

    def export(self, params: Params, inputs: Shapes) -> ExportSpec:
        return ExportSpec("Linear", args={"in_features": features(inputs),
                                          "out_features": params["units"],
                                          "bias": params["bias"]})


@register
class Dropout(ModuleType):
    """Inverted dropout (Srivastava et al. 2014), any shape."""

    type_id = "dropout"
    category = "Layers"
    display_name = "Dropout"
    params = (ParamSpec("p", "float", 0.5, "probability of zeroing each value in training",
                        label="Drop probability", minimum=0.0, maximum=1.0,
                        exclusive_max=True),)
    summary = "Randomly zeroes values in training, to prevent overfitting."
    learn = ("In training each value is zeroed with probability p and the others are "
             "scaled by 1/(1-p), so the expected value is unchanged; in evaluation it does "
             "nothing. The gradient flows only through the kept values. Units cannot rely "
             "on each other, which reduces overfitting (Srivastava et al. 2014); too much "
             "dropout slows learning and lowers training accuracy.")
    glyph = "⁘"
    main_params = ("p",)

    def build(self, params: Params, inputs: Shapes, rng: np.random.Generator) -> nn.Dropout:
        return nn.Dropout(params["p"], generator=rng)

    def card_text(self, params: Params, data: Any = None) -> str:
        return f"p = {params['p']:g}"

    def export(self, params: Params, inputs: Shapes) -> ExportSpec:
        return ExportSpec("Dropout", args={"p": params["p"]})
