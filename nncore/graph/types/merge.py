"""Nodes that join several wires: Add and Concatenate (any rank)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from nncore import functional as F
from nncore.graph.shapes import PortShape, Shapes, ShapeError, broadcast
from nncore.graph.types import register
from nncore.graph.types.base import ExportSpec, NodeType, Params, PortSpec
from nncore.graph.types.explain import NodeStep, at, mapped_index, num, pending, spot, value_line
from nncore.tensor import Tensor

__all__ = ["Add", "Concatenate"]


def _tensors(inputs: Shapes) -> list[PortShape]:
    shapes = inputs.get("inputs") or []
    if not shapes:
        raise ShapeError("input 'inputs' is not connected")
    for s in shapes:
        if s.is_labels or len(s.dims) < 2:
            raise ShapeError(f"'inputs' need batches of tensors (N, ...), got {s}")
    return shapes


class _Merge(NodeType):
    category = "Merge"
    inputs: ClassVar[tuple[PortSpec, ...]] = (PortSpec("inputs", multi=True),)


@register
class Add(_Merge):
    type_id = "add"
    display_name = "Add"
    glyph = "+"
    summary = "Sums its inputs elementwise (a residual connection, or x·W + b)."
    learn = ("y = a + b + ..., with NumPy's broadcasting: (N, k) + (k,) adds the vector to "
             "every row, as a layer adds its bias. The gradient of the sum flows unchanged "
             "into every input (summed over the axes an input was broadcast along: the "
             "bias's gradient is the sum over the batch), which is why skip connections "
             "(y = x + f(x)) let gradients reach early layers of deep networks (He et al. "
             "2016).")

    def infer(self, params: Params, inputs: Shapes) -> dict[str, PortShape]:
        shapes = inputs.get("inputs") or []
        if not shapes:
            raise ShapeError("input 'inputs' is not connected")
        labels = [s for s in shapes if s.is_labels]
        if labels:
            raise ShapeError(f"Add needs tensors, got {labels[0]}")
        result = shapes[0]
        for s in shapes[1:]:
            try:
                result = broadcast(result, s)
            except ShapeError:
                raise ShapeError("Add needs inputs of one shape or shapes that broadcast "
                                 "(NumPy's rules), got "
                                 + ", ".join(str(s) for s in shapes)) from None
        return {"output": result}

    def forward(self, module: Any, params: Params, inputs: dict[str, list[Tensor]]
                ) -> dict[str, Tensor]:
        total = inputs["inputs"][0]
        for t in inputs["inputs"][1:]:
            total = total + t
        return {"output": total}

    def export(self, params: Params, inputs: Shapes) -> ExportSpec:
        return ExportSpec("add", module=False)

    def explain(self, step: NodeStep) -> str:
        """The sum at the selected element, and the gradient flowing unchanged into
        each input (a broadcast input, a bias, gets it summed over the batch)."""
        i = step.index
        xs = step.inputs["inputs"]
        lines = [value_line(step, " + ".join(f"x{k + 1}" for k in range(len(xs))),
                            " + ".join(num(at(x, i)) for x in xs).replace(" + −", " − "))]
        g = step.g
        if g is None:
            lines.append(f"dL/dx_k = dL/dy for every input: {pending(step)}")
            return "\n".join(lines)
        lines.append(f"dL/dx_k{spot(i)} = dL/dy{spot(i)} = {num(at(g, i))} for every input")
        for k, (x, gx) in enumerate(zip(xs, step.input_grads["inputs"])):
            if np.shape(x) != np.shape(g) and gx is not None:
                j = mapped_index(i, np.shape(x))
                lines.append(f"x{k + 1} {np.shape(x)} was broadcast to {np.shape(g)}: its "
                             f"gradient is summed over the broadcast axes, dL/dx{k + 1}"
                             f"{spot(j)} = {num(at(gx, j))}")
        return "\n".join(lines)


@register
class Concatenate(_Merge):
    type_id = "concatenate"
    display_name = "Concatenate"
    glyph = "⧺"
    summary = "Joins its inputs side by side along the feature axis."
    learn = ("y = [a, b, ...]: (N, k1) and (N, k2) become (N, k1 + k2), in the order the "
             "wires were connected. Backprop splits the gradient back into the pieces. "
             "Useful to combine branches that look at the data in different ways.")

    def infer(self, params: Params, inputs: Shapes) -> dict[str, PortShape]:
        shapes = _tensors(inputs)
        if len({s.dims[:-1] for s in shapes}) > 1:
            raise ShapeError("Concatenate joins along the last axis; the other dimensions "
                             "must agree, got " + ", ".join(str(s) for s in shapes))
        return {"output": PortShape((*shapes[0].dims[:-1],
                                     sum(int(s.dims[-1]) for s in shapes)))}

    def forward(self, module: Any, params: Params, inputs: dict[str, list[Tensor]]
                ) -> dict[str, Tensor]:
        return {"output": F.concatenate(inputs["inputs"], axis=-1)}

    def export(self, params: Params, inputs: Shapes) -> ExportSpec:
        return ExportSpec("cat", module=False, args={"dim": -1})

    def explain(self, step: NodeStep) -> str:
        """Which input the selected element comes from, and that its gradient goes
        back to that input only."""
        i = step.index
        widths = [np.shape(x)[-1] for x in step.inputs["inputs"]]
        k, col = 0, i[-1]
        while col >= widths[k]:
            col, k = col - widths[k], k + 1
        src = (*i[:-1], col)
        g = step.g
        names = ", ".join(f"x{m + 1}" for m in range(len(widths)))
        lines = [f"y = [{names}] along the last axis, widths "
                 + " + ".join(map(str, widths)) + f" = {sum(widths)}",
                 value_line(step, f"x{k + 1}{spot(src)}")]
        lines.append(f"dL/dx{k + 1}{spot(src)} = dL/dy{spot(i)} = {num(at(g, i))} (the "
                     "gradient is split back into the pieces)" if g is not None
                     else f"dL/dx{k + 1}{spot(src)} = dL/dy{spot(i)}: {pending(step)}")
        return "\n".join(lines)
