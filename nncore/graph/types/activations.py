"""Activation functions: elementwise (softmax: along the last axis), any shape, no weights."""

from __future__ import annotations

from typing import Any, Callable, ClassVar

import numpy as np

from nncore import functional as F
from nncore.graph.shapes import Shapes
from nncore.graph.types import register
from nncore.graph.types.base import ExportSpec, NodeType, Params
from nncore.graph.types.explain import (NodeStep, at, chain_rule, num, pending, signed, spot,
                                        value_line)
from nncore.spec import ParamSpec
from nncore.tensor import Tensor

__all__ = ["Activation", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softmax"]


class Activation(NodeType):
    """An activation: ``output = fn(input, **params)``, exported as the ``torch.nn``
    module of the same name (:attr:`torch_name`)."""

    category = "Activations"
    fn: ClassVar[Callable[..., Tensor]]
    torch_name: ClassVar[str] = ""

    def forward(self, module: Any, params: Params, inputs: dict[str, list[Tensor]]
                ) -> dict[str, Tensor]:
        return {"output": type(self).fn(inputs["input"][0], **params)}

    def export(self, params: Params, inputs: Shapes) -> ExportSpec:
        return ExportSpec(self.torch_name, args=dict(params))


def _saturated(share: Callable[[np.ndarray], np.ndarray]) -> Callable[..., dict[str, float]]:
    def unit_stat(self: NodeType, a: np.ndarray) -> dict[str, float]:
        return {"saturated": float(np.mean(share(a)))} if a.size else {}
    return unit_stat


@register
class ReLU(Activation):
    type_id = "relu"
    display_name = "ReLU"
    glyph = "⌐"
    fn = F.relu
    torch_name = "ReLU"
    summary = "Rectified linear unit: max(0, x)."
    learn = ("Passes positive values through and zeroes negative ones: y = max(0, x); the "
             "derivative is 1 for x > 0 and 0 otherwise. Cheap, and it does not saturate "
             "for positive inputs, so deep networks train faster than with sigmoid or tanh "
             "(Nair & Hinton 2010; Glorot et al. 2011). A unit whose input stays negative "
             "gets zero gradient forever: it 'dies'; watch the dead fraction, and try "
             "Leaky ReLU, a lower learning rate or batch norm if it grows.")

    def unit_stat(self, a: np.ndarray) -> dict[str, float]:
        """``{"dead": share of units never positive on the probe batch}``."""
        if a.ndim < 2 or not a.size:
            return {}
        units = a.reshape(a.shape[0], -1)
        return {"dead": float(np.mean(np.all(units <= 0, axis=0)))}

    def explain(self, step: NodeStep) -> str:
        x, y, g = (at(a, step.index) for a in (step.x(), step.y, step.g))
        return "\n".join([value_line(step, "max(0, x)", f"max(0, {num(x)})"),
                          chain_rule(step, "dL/dy · [x > 0]", [g, 1.0 if x > 0 else 0.0])])


@register
class LeakyReLU(Activation):
    """Leaky units cannot die (their gradient is the slope below 0): no unit figure."""

    type_id = "leaky_relu"
    display_name = "Leaky ReLU"
    glyph = "⌐"
    fn = F.leaky_relu
    torch_name = "LeakyReLU"
    params = (ParamSpec("negative_slope", "float", 0.01, "slope for x < 0", minimum=0.0,
                        maximum=1.0),)
    main_params = ("negative_slope",)
    summary = "ReLU with a small slope for negative inputs."
    learn = ("y = x for x > 0 and a*x otherwise (a = negative slope, 0.01 by default); the "
             "derivative is 1 or a. The small negative slope keeps a gradient flowing, so "
             "units cannot die as ReLU units can (Maas et al. 2013).")

    def card_text(self, params: Params, data: Any = None) -> str:
        return f"slope {params['negative_slope']:g}"

    def explain(self, step: NodeStep) -> str:
        a = float(step.params["negative_slope"])
        x, g = at(step.x(), step.index), at(step.g, step.index)
        slope = 1.0 if x > 0 else a
        return "\n".join([value_line(step, f"x if x > 0 else {num(a)}·x",
                                     num(x) if x > 0 else f"{num(a)} · {signed(x)}"),
                          chain_rule(step, f"dL/dy · (1 if x > 0 else {num(a)})", [g, slope])])


@register
class Sigmoid(Activation):
    type_id = "sigmoid"
    display_name = "Sigmoid"
    glyph = "∫"
    fn = F.sigmoid
    torch_name = "Sigmoid"
    summary = "Logistic function 1 / (1 + e^-x), in (0, 1)."
    learn = ("Squashes any number into (0, 1): s(x) = 1 / (1 + e^-x), derivative s(1 - s), "
             "at most 0.25. For |x| beyond about 5 it saturates: the derivative is nearly "
             "0, so gradients vanish through stacked sigmoids, and its outputs are not "
             "centred on 0. Use it for a probability before Binary Cross-Entropy (NN Canvas "
             "then fuses the two into the stable logits form); prefer ReLU or tanh in "
             "hidden layers.")
    #: outputs within 0.02 of 0 or 1: the derivative is below 0.02
    unit_stat = _saturated(lambda a: (a < 0.02) | (a > 0.98))

    def explain(self, step: NodeStep) -> str:
        x, y, g = (at(a, step.index) for a in (step.x(), step.y, step.g))
        return "\n".join([value_line(step, "σ(x) = 1 / (1 + e^−x)", f"1 / (1 + e^{-x:.4g})"
                                     .replace("-", "−")),
                          chain_rule(step, "dL/dy · y(1 − y)", [g, y, 1.0 - y])])


@register
class Tanh(Activation):
    type_id = "tanh"
    display_name = "Tanh"
    glyph = "∿"
    fn = F.tanh
    torch_name = "Tanh"
    summary = "Hyperbolic tangent, in (-1, 1)."
    learn = ("tanh(x) = (e^x - e^-x) / (e^x + e^-x), a sigmoid rescaled to (-1, 1) and "
             "centred on 0; derivative 1 - tanh(x)^2, at most 1. Zero-centred outputs help "
             "the next layer learn, but it saturates for |x| beyond about 3 like the "
             "sigmoid, so gradients can vanish in deep stacks.")
    #: |tanh| above 0.96: the derivative 1 - tanh^2 is below 0.08
    unit_stat = _saturated(lambda a: np.abs(a) > 0.96)

    def explain(self, step: NodeStep) -> str:
        x, y, g = (at(a, step.index) for a in (step.x(), step.y, step.g))
        return "\n".join([value_line(step, "tanh(x)", f"tanh({num(x)})"),
                          chain_rule(step, "dL/dy · (1 − y²)", [g, 1.0 - y * y])])


@register
class Softmax(Activation):
    type_id = "softmax"
    display_name = "Softmax"
    glyph = "σ"
    fn = F.softmax
    torch_name = "Softmax"
    summary = "Turns scores into class probabilities."
    learn = ("p_i = e^(x_i) / sum_j e^(x_j): positive numbers that sum to 1, computed with "
             "the largest score subtracted first so it never overflows. Its Jacobian is "
             "diag(p) - p p^T. Put it before Cross-Entropy if you want to see "
             "probabilities: NN Canvas fuses softmax and the log of cross-entropy into "
             "log-softmax, whose gradient is simply p - onehot(y), and never takes log(0).")

    def export(self, params: Params, inputs: Shapes) -> ExportSpec:
        return ExportSpec("Softmax", args={"dim": -1})

    def explain(self, step: NodeStep) -> str:
        i = step.index
        row = i[:-1]
        x = np.asarray(step.x(), dtype=np.float64)[row]
        p = np.asarray(step.y, dtype=np.float64)[row]
        row_text = "".join(f"{int(k)}, " for k in row)
        lines = [value_line(step, f"e^x{spot(i)} / Σ_j e^x[{row_text}j]",
                            f"e^{num(x[i[-1]])} / {num(np.exp(x).sum())}")]
        g = step.g
        if g is None:
            lines.append(f"dL/dx{spot(i)} = p_i · (dL/dp_i − Σ_j dL/dp_j · p_j): "
                         f"{pending(step)}")
        else:
            gr = np.asarray(g, dtype=np.float64)[row]
            inner = float(np.dot(gr, p))
            lines.append(chain_rule(step, "p_i · (dL/dp_i − Σ_j dL/dp_j · p_j)",
                                    [p[i[-1]], gr[i[-1]] - inner]))
        return "\n".join(lines)
