"""Gradient flow: how large the gradient of the loss is on each wire of the network, on
one real training minibatch.

While training, a GUI can ask the :class:`~nncore.training.Trainer` to trace its next
minibatch (:meth:`~nncore.training.Trainer.request_flow`): that batch then runs through
:meth:`~nncore.graph.compile.CompiledGraph.trace` (the same operations, in the same order,
as the usual forward pass and loss, so training is unchanged bit for bit) with every
wire's gradient retained, and its :class:`~nncore.training.StepRecord` carries a
:class:`GradientFlow` measured here: per wire the L2 norm of dL/d(value), per node the
health figure of its units (:meth:`~nncore.graph.types.NodeType.unit_stat`: the share of
dead ReLU units, of saturated sigmoid or tanh outputs) on that batch, and the first
node whose output or gradient was not finite.

It is what TensorBoard's gradient histograms and the "vanishing gradient" plots of
Glorot & Bengio (2010, "Understanding the difficulty of training deep feedforward
neural networks") show per layer, here per wire of the computation graph.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["GradientFlow", "measure_flow"]

Wire = tuple[str, str]


@dataclass(frozen=True)
class GradientFlow:
    """The gradient flow of one traced training minibatch.

    Attributes:
        step: the trainer's global step the batch trained as (1, 2, ...).
        norms: (node id, output port) -> the L2 norm of dL/d(value) of that wire over the
            whole minibatch, in float64 (NaN or inf when the gradient was not finite).
            Wires the loss does not depend on (the Input's features, the labels) and
            the loss itself (dL/dL = 1) are absent.
        unit_stats: node id -> its type's unit figure on this batch, e.g.
            ``{"dead": 0.25}`` for a ReLU (a share in [0, 1]); nodes without one absent.
        first_nonfinite: (node id, ``"value"`` | ``"gradient"``) of the first wire in
            forward order whose value was not finite, else the first in backward order
            whose gradient was not finite; None when all were finite.
    """

    step: int
    norms: dict[Wire, float] = field(default_factory=dict)
    unit_stats: dict[str, dict[str, float]] = field(default_factory=dict)
    first_nonfinite: tuple[str, str] | None = None

    def range(self) -> tuple[float, float] | None:
        """(smallest, largest) of the finite, positive norms, or None if there are none."""
        finite = [v for v in self.norms.values() if math.isfinite(v) and v > 0]
        return (min(finite), max(finite)) if finite else None


def measure_flow(model: Any, values: dict[Wire, Any], step: int) -> GradientFlow:
    """Measure a traced batch after its backward pass.

    Args:
        model: the :class:`~nncore.graph.compile.CompiledGraph` that traced the batch
            (its ``order``, ``loss_order`` and ``node_types`` are read).
        values: what :meth:`~nncore.graph.compile.CompiledGraph.trace` returned, every
            non-leaf wire having had ``retain_grad()`` before ``backward``.
        step: the global step number of the batch.

    Returns:
        A :class:`GradientFlow` (its arrays are reduced to floats: nothing refers to the
        batch's tensors).
    """
    norms: dict[Wire, float] = {}
    for key, t in values.items():
        if key[0] == model.loss_id:
            continue  # dL/dL = 1: says nothing, and no wire leaves the loss
        grad = getattr(t, "grad", None)
        if grad is not None:
            with np.errstate(all="ignore"):
                norms[key] = float(np.linalg.norm(np.asarray(grad, dtype=np.float64).ravel()))
    order = [*model.order, *model.loss_order]
    by_node: dict[str, list[Wire]] = {}
    for key in values:
        by_node.setdefault(key[0], []).append(key)
    stats: dict[str, dict[str, float]] = {}
    first: tuple[str, str] | None = None
    for nid in order:
        wires = by_node.get(nid, [])
        if first is None and any(not np.all(np.isfinite(values[w].data)) for w in wires):
            first = (nid, "value")
        ntype = model.node_types[nid]
        if ntype.has_unit_stat and wires:
            figure = ntype.unit_stat(np.asarray(values[wires[0]].data))
            if figure:
                stats[nid] = {k: float(v) for k, v in figure.items()}
    if first is None:
        for nid in reversed(order):
            if any(not math.isfinite(norms.get(w, 0.0)) for w in by_node.get(nid, [])):
                first = (nid, "gradient")
                break
    return GradientFlow(step=step, norms=norms, unit_stats=stats, first_nonfinite=first)
