"""Nodes that join several wires: Add and Concatenate (any rank)."""

from __future__ import annotations

from typing import Any, ClassVar

from nncore import functional as F
from nncore.graph.shapes import PortShape, Shapes, ShapeError
from nncore.graph.types import register
from nncore.graph.types.base import ExportSpec, NodeType, Params, PortSpec
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
    summary = "Sums its inputs elementwise (a residual connection)."
    learn = ("y = a + b + ...; all inputs must have the same shape. The gradient of the sum "
             "flows unchanged into every input, which is why skip connections (y = x + "
             "f(x)) let gradients reach early layers of deep networks (He et al. 2016).")

    def infer(self, params: Params, inputs: Shapes) -> dict[str, PortShape]:
        shapes = _tensors(inputs)
        if len({s.dims for s in shapes}) > 1:
            raise ShapeError("Add needs inputs of one shape, got "
                             + ", ".join(str(s) for s in shapes))
        return {"output": shapes[0]}

    def forward(self, module: Any, params: Params, inputs: dict[str, list[Tensor]]
                ) -> dict[str, Tensor]:
        total = inputs["inputs"][0]
        for t in inputs["inputs"][1:]:
            total = total + t
        return {"output": total}

    def export(self, params: Params, inputs: Shapes) -> ExportSpec:
        return ExportSpec("add", module=False)


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
