"""Layers with weights or randomness: Dense and Dropout."""

from __future__ import annotations

from typing import Any

import numpy as np

from nncore import init, nn
from nncore.graph.shapes import PortShape, Shapes, batch_tensor, features
from nncore.graph.types import register
from nncore.graph.types.base import ExportSpec, ModuleType, Params
from nncore.graph.types.explain import (NodeStep, at, chain_rule, num, pending, signed, spot,
                                        value_line, written_sum)
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

    def explain(self, step: NodeStep) -> str:
        """y = x Wᵀ + b at the selected (sample, unit); dL/dW, dL/db, dL/dx written out
        for it (the first input feature's weight)."""
        *lead, j = step.index
        x = np.asarray(step.x(), dtype=np.float64)
        xr = x[tuple(lead)]
        W = np.asarray(step.module.weight.data, dtype=np.float64)
        b = None if step.module.bias is None else float(step.module.bias.data[j])
        terms = [f"{num(a)}·{signed(w)}" for a, w in zip(xr, W[j])]
        total = float(xr @ W[j]) + (b or 0.0)
        if b is not None:
            terms.append(num(b))
        n_in, units = W.shape[1], W.shape[0]
        lines = [f"y = x · Wᵀ + b: {x.shape} · ({n_in}, {units}) → {np.shape(step.y)}",
                 f"y{spot(step.index)} = Σ_k x[k]·W[{j}, k]" + (" + b" if b is not None else "")
                 + " = " + written_sum(terms, total)]
        g = step.g
        if g is None:
            lines.append(f"dL/dW = (dL/dy)ᵀ · x, dL/db = Σ_n dL/dy, dL/dx = dL/dy · W: "
                         f"{pending(step)}")
            return "\n".join(lines)
        g2 = np.asarray(g, dtype=np.float64).reshape(-1, units)
        x2 = x.reshape(-1, n_in)
        lines.append(f"dL/dW = (dL/dy)ᵀ · x: ({units}, {len(g2)}) · ({len(x2)}, {n_in}) → "
                     f"({units}, {n_in}), summed over the batch")
        lines.append(f"dL/dW[{j}, 0] = Σ_n dL/dy[n, {j}]·x[n, 0] = " + written_sum(
            [f"{num(a)}·{signed(c)}" for a, c in zip(g2[:, j], x2[:, 0])],
            float(g2[:, j] @ x2[:, 0])))
        if b is not None:
            lines.append(f"dL/db[{j}] = Σ_n dL/dy[n, {j}] = " + written_sum(
                [num(a) for a in g2[:, j]], float(g2[:, j].sum())))
        gr = np.asarray(g, dtype=np.float64)[tuple(lead)]
        lines.append(f"dL/dx{spot((*lead, 0))} = Σ_j dL/dy[j]·W[j, 0] = " + written_sum(
            [f"{num(a)}·{signed(w)}" for a, w in zip(gr, W[:, 0])], float(gr @ W[:, 0])))
        return "\n".join(lines)


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

    def explain(self, step: NodeStep) -> str:
        """Its mask (the engine's, kept for the backward pass) at the selected element,
        and how many values it kept."""
        p = float(step.params["p"])
        mask = step.saved.get("mask")
        if not step.training or mask is None:
            return "\n".join(["evaluation behaviour (or p = 0): Dropout passes its input "
                              "unchanged", value_line(step, "x"),
                              chain_rule(step, "dL/dy", [at(step.g, step.index)])])
        m = at(mask, step.index)
        kept = int(np.count_nonzero(mask))
        x, g = at(step.x(), step.index), at(step.g, step.index)
        return "\n".join([
            f"mask: each value kept with probability 1 − p = {num(1 - p)} and scaled by "
            f"1/(1 − p) = {num(1 / (1 - p))}, else 0; this batch keeps {kept} of {mask.size}",
            f"mask{spot(step.index)} = {num(m)} ({'kept' if m else 'dropped'})",
            value_line(step, "x · mask", f"{num(x)} · {num(m)}"),
            chain_rule(step, "dL/dy · mask", [g, m])])
