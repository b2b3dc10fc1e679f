"""What a node saw in one step-through pass (:class:`NodeStep`), and the helpers the
node types' :meth:`~nncore.graph.types.base.NodeType.explain` hooks write their texts
with: the chain rule with the real numbers plugged in, for one selected element.

The numbers come from the engine's own pass (:mod:`nncore.stepthrough` records every
wire's value and, with ``Tensor.retain_grad``, its gradient); a text only writes the
formula out with them. Numbers are shown with 4 significant digits and a true minus
sign (``−0.041``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

__all__ = ["NodeStep", "num", "signed", "at", "spot", "mapped_index", "written_sum", "pending",
           "chain_rule", "value_line"]


@dataclass
class NodeStep:
    """One node's part of a step-through pass, as its type's ``explain`` reads it.

    Attributes:
        name: the node's display name.
        params: its parameters (as compiled).
        module: what its type's ``build`` made (weights, buffers; None if nothing).
        training: whether the pass ran with training behaviour (BatchNorm's batch
            statistics, Dropout's mask) or evaluation behaviour.
        inputs: input port -> the value of each wire into it (arrays, in wire order).
        outputs: output port -> its value.
        output_grads: output port -> dL/d(that output), or None (no gradient reaches
            it, or the backward pass has not come to it yet).
        input_grads: input port -> dL/d(each wire into it) (the wire's whole gradient,
            summed over all its consumers), or None.
        index: the selected element of the first output (a tuple; ``()`` for a scalar).
        fused_into: for a node the loss fuses into itself (a Softmax before
            Cross-Entropy), the loss node's display name; else None.
        target: the batch's labels (class indices ``(N,)`` or values ``(N, k)``).
        saved: what the engine's op that made the first output saved for its backward
            pass (its ``Function``'s attributes: Dropout's ``mask``, BatchNorm's ``xc``
            and ``inv_std``, Sigmoid's ``out``); empty for a node that made no op.
        stepped_back: whether the backward pass has come to this node.
        extra: what else the step-through knows for this node: ``"constant"`` (its
            output depends on nothing learned: data, a Constant), and for a loss node
            ``"fused"``, ``"prediction"`` (the value the loss reads), ``"prediction_grad"``,
            ``"task"``, ``"batch"``.
    """

    name: str
    params: dict[str, Any]
    module: Any
    training: bool
    inputs: dict[str, list[np.ndarray]]
    outputs: dict[str, np.ndarray]
    output_grads: dict[str, np.ndarray | None]
    input_grads: dict[str, list[np.ndarray | None]]
    index: tuple[int, ...] = ()
    fused_into: str | None = None
    target: np.ndarray | None = None
    saved: dict[str, Any] = field(default_factory=dict)
    stepped_back: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def x(self, port: str | None = None, k: int = 0) -> np.ndarray:
        """The value of wire ``k`` into ``port`` (default: the first input port)."""
        return self.inputs[port or next(iter(self.inputs))][k]

    def gx(self, port: str | None = None, k: int = 0) -> np.ndarray | None:
        """dL/d(wire ``k`` into ``port``), or None."""
        grads = self.input_grads.get(port or next(iter(self.inputs)))
        return None if not grads else grads[k]

    @property
    def y(self) -> np.ndarray:
        """The first output's value."""
        return next(iter(self.outputs.values()))

    @property
    def g(self) -> np.ndarray | None:
        """dL/d(first output), or None."""
        return next(iter(self.output_grads.values()), None)

    @property
    def backward_known(self) -> bool:
        """Whether a gradient reached the first output (the backward text applies)."""
        return self.g is not None


def num(value: Any) -> str:
    """A number as the texts show it: 4 significant digits, a true minus sign."""
    v = float(value)
    if v == 0:
        return "0"
    text = f"{v:.4g}"
    return text.replace("-", "−")


def signed(value: Any) -> str:
    """:func:`num` in parentheses when negative, for a number after an operator:
    ``0.5·(−0.2)``."""
    text = num(value)
    return f"({text})" if text.startswith("−") else text


def mapped_index(index: Sequence[int], shape: Sequence[int]) -> tuple[int, ...]:
    """The element of an array of ``shape`` that NumPy's broadcasting pairs with
    element ``index`` of the (larger) result: leading axes dropped, size-1 axes 0."""
    index = tuple(index)[len(index) - len(shape):] if len(shape) <= len(index) else tuple(index)
    if len(index) < len(shape):  # a scalar index into a larger array: its first element
        index = (0,) * (len(shape) - len(index)) + index
    return tuple(0 if n == 1 else int(i) for i, n in zip(index, shape))


def at(array: np.ndarray | None, index: Sequence[int]) -> float:
    """The element of ``array`` paired with ``index`` (see :func:`mapped_index`);
    NaN for None."""
    if array is None:
        return float("nan")
    a = np.asarray(array)
    return float(a[mapped_index(index, a.shape)]) if a.ndim else float(a)


def spot(index: Sequence[int]) -> str:
    """``[2, 0]`` for an index, ``""`` for a scalar's."""
    return "" if not len(index) else "[" + ", ".join(str(int(i)) for i in index) + "]"


def written_sum(terms: Sequence[str], total: Any, limit: int = 4) -> str:
    """``t1 + t2 + t3 = total`` when there are at most ``limit`` terms, else the first
    ``limit - 1`` and ``… (n terms)``."""
    if len(terms) <= limit:
        body = " + ".join(terms)
    else:
        body = " + ".join(terms[:limit - 1]) + f" + … ({len(terms)} terms)"
    return f"{body.replace(' + −', ' − ')} = {num(total)}"


def pending(step: NodeStep) -> str:
    """Why a backward text has no numbers: the pass has not come here yet, or no
    gradient reaches this node's output (it does not affect the loss, or the loss
    reads its input instead: fused)."""
    if step.fused_into:
        return (f"no gradient flows through this output: {step.fused_into} reads this "
                "node's input and differentiates the fused form (see the loss node)")
    if step.extra.get("constant"):
        return ("it is data or a constant (it depends on nothing learned), so no gradient "
                "is computed for it")
    if not step.stepped_back:
        return "known once the backward pass comes here"
    return "no gradient reaches this output (the loss does not depend on it)"


def value_line(step: NodeStep, formula: str, *values: Any) -> str:
    """``y[i] = formula = v1 = ... `` with the selected output's value last."""
    parts = [f"y{spot(step.index)} = {formula}", *(str(v) for v in values),
             num(at(step.y, step.index))]
    return " = ".join(parts)


def chain_rule(step: NodeStep, rule: str, factors: Sequence[float], wrt: str = "x") -> str:
    """``dL/dx[i] = rule = f1 · f2 · ... = product`` for the selected element, or the
    rule with the reason its numbers are not known (:func:`pending`)."""
    s = spot(step.index)
    if step.g is None:
        return f"dL/d{wrt}{s} = {rule}: {pending(step)}"
    product = float(np.prod([float(f) for f in factors]))
    shown = [num(factors[0]), *(signed(f) for f in factors[1:])]
    return f"dL/d{wrt}{s} = {rule} = " + " · ".join(shown) + f" = {num(product)}"
