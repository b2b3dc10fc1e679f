"""Step through one minibatch, node by node: every wire's value and gradient, the chain
rule at each node with the live numbers, one optimizer update, and gradient checks.

:class:`StepThrough` takes a compiled graph in its current weights with its optimizer
(or a :class:`~nncore.project.TrainingRun`: :meth:`StepThrough.from_run`), chooses a
batch (a first sample of the training or validation part and a size from 1 up, with
training or evaluation behaviour), and runs the engine's own forward and backward pass
on it once (:meth:`~nncore.graph.compile.CompiledGraph.trace`, the computation the
Trainer does, with ``Tensor.retain_grad`` on every wire). A cursor then reveals it:

* :meth:`~StepThrough.forward_step` moves to the next node in topological order
  (:attr:`~StepThrough.forward_order`); the node's outputs become known;
* :meth:`~StepThrough.backward_step` moves to the next node in reverse order
  (:attr:`~StepThrough.backward_order`); a wire's gradient dL/d(value) becomes known
  once every node that reads it has been stepped back through (its gradient is the
  sum of theirs);
* :meth:`~StepThrough.run_to_end` does the remaining steps, :meth:`~StepThrough.reset`
  runs the pass again from the current weights (after :meth:`~StepThrough.apply_update`:
  the updated ones) and puts the cursor back at the start.

:meth:`~StepThrough.explain` asks the current node's type for its text
(:meth:`~nncore.graph.types.NodeType.explain`: nothing here switches on a type);
:meth:`~StepThrough.apply_update` takes exactly one real optimizer step (the Trainer's:
gradient clipping if the run clips, then ``optimizer.step()``) and describes it with
the optimizer's own :meth:`~nncore.optim.Optimizer.explain_step`;
:meth:`~StepThrough.check_gradients` compares every node's and the whole network's
gradients with float64 central differences (:mod:`nncore.gradcheck`).

A session, as the GUI drives it::

    # run: a TrainingRun of app/resources/examples/logistic_operators.json
    st = StepThrough.from_run(run, part="train", start=0, size=4, training=True)
    st.forward_step()                  # -> "n1", the Input; st.value("n1") is the batch
    st.run_to_end()                    # every value and gradient known
    st.gradient("n5")                  # dL/d(x·W + b), the logits: shape (4, 1)
    print(st.explain("n3", (2, 0)))    # MatMul's chain rule with sample 2's numbers
    updates = st.apply_update()        # one optimizer step; updates[0].term("m_t")
    print(st.check_gradients(elements=64))   # worst relative error and where

Nothing the user made changes until :meth:`~StepThrough.apply_update`: the pass's
effects on BatchNorm's running statistics are undone after it and made again (as a
training step makes them) only by the update, the model's train/eval mode is restored,
and Dropout draws its mask from its own generator seeded by ``seed`` (the same mask at
every reset), not from the run's.
"""

from __future__ import annotations

import contextlib
import copy
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

import numpy as np

from nncore import nn
from nncore.gradcheck import GradcheckResult, gradcheck
from nncore.graph.compile import CompiledGraph
from nncore.graph.model import GraphError
from nncore.graph.types import TENSOR
from nncore.graph.types.explain import NodeStep
from nncore.optim.optimizers import UpdateTerm
from nncore.tensor import Tensor

__all__ = ["StepThrough", "ParameterUpdate", "CheckEntry", "GradientCheck", "batch_problem",
           "summarize", "copy_weights", "PARTS"]

#: The parts of a run's split a batch may come from.
PARTS = ("train", "val")

Wire = tuple[str, str]


def batch_problem(model: CompiledGraph, size: int, training: bool) -> tuple[str, str] | None:
    """Why a batch of ``size`` samples cannot go through ``model`` with this behaviour,
    as ``(node id, message)``, or None. A node type's ``min_batch`` (BatchNorm: 2, a
    variance needs two values) applies in training only: its running statistics serve
    a batch of any size in evaluation."""
    nid = model.too_small_batch(size) if training else None
    if nid is None:
        return None
    ntype = model.node_types[nid]
    return nid, (f"{model.node_names[nid]}: {ntype.display_name} needs at least "
                 f"{ntype.min_batch} samples per batch with training behaviour (its "
                 f"batch statistics), but this batch has {size}: choose "
                 f"{ntype.min_batch} or more samples, or evaluation behaviour "
                 "(running statistics)")


@dataclass(frozen=True)
class ParameterUpdate:
    """What :meth:`StepThrough.apply_update` did to one parameter.

    Attributes:
        name: the parameter's name in the model (``"n2.weight"``).
        title: its name for people (``"Dense.weight"``).
        node: the id of the node that holds it.
        optimizer: the optimizer's class name (``"Adam"``).
        hyperparameters: its group's settings (``lr``, ``betas``, ...).
        terms: the step quantity by quantity (:meth:`nncore.optim.Optimizer.explain_step`).
    """

    name: str
    title: str
    node: str
    optimizer: str
    hyperparameters: dict[str, Any]
    terms: list[UpdateTerm]

    def term(self, symbol: str) -> UpdateTerm:
        """The term called ``symbol`` (``"m_t"``).

        Raises:
            KeyError: naming the terms there are.
        """
        for t in self.terms:
            if t.symbol == symbol:
                return t
        raise KeyError(f"{self.title}: no term {symbol!r} in this {self.optimizer} step "
                       f"(terms: {', '.join(t.symbol for t in self.terms)})")


@dataclass(frozen=True)
class CheckEntry:
    """The gradient check of one node (its inputs and weights) or of one parameter
    through the whole network.

    Attributes:
        node: the node's id.
        title: ``"MatMul: input 'b'"`` or ``"whole network: W1.value"``.
        what: the checked input port (``"input 'b'"``) or parameter name.
        result: the :class:`~nncore.gradcheck.GradcheckResult`.
    """

    node: str
    title: str
    what: str
    result: GradcheckResult


@dataclass(frozen=True)
class GradientCheck:
    """The outcome of :meth:`StepThrough.check_gradients`.

    Attributes:
        entries: one per checked node input, node weight, and (for the whole network)
            parameter.
    """

    entries: list[CheckEntry] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every entry passed."""
        return all(e.result.ok for e in self.entries)

    @property
    def worst(self) -> CheckEntry | None:
        """The entry with the largest relative error (a failing one first; then the
        largest absolute error: errors below ``atol`` count as relative error 0)."""
        if not self.entries:
            return None
        return max(self.entries, key=lambda e: (not e.result.ok, e.result.max_rel_error,
                                                e.result.max_abs_error))

    @property
    def max_rel_error(self) -> float:
        """The worst relative error (0 with nothing checked)."""
        w = self.worst
        return 0.0 if w is None else w.result.max_rel_error

    @property
    def failed_nodes(self) -> list[str]:
        """The ids of the nodes whose own check failed, in order."""
        seen: list[str] = []
        for e in self.entries:
            if not e.result.ok and not e.title.startswith("whole network") \
                    and e.node not in seen:
                seen.append(e.node)
        return seen

    def __str__(self) -> str:
        w = self.worst
        if w is None:
            return "gradient check: nothing to check"
        status = "passed" if self.ok else "FAILED"
        return (f"gradient check {status}: worst relative error "
                f"{w.result.max_rel_error:.3g} (absolute {w.result.max_abs_error:.3g}) at "
                f"{w.title}, index {w.result.worst_index}")


class StepThrough:
    """One minibatch, stepped through node by node (see the module docstring).

    Args:
        model: the compiled graph, in its current weights.
        optimizer: its optimizer (what :meth:`apply_update` steps).
        X, y: the samples and targets to take the batch from (a part of the split).
        start: the index of the batch's first sample in ``X`` (default 0).
        size: the number of samples, 1 or more (default 1).
        training: training behaviour (BatchNorm's batch statistics, Dropout's mask;
            default) or evaluation behaviour (running statistics, no dropout).
        seed: seeds Dropout's masks (the same masks at every :meth:`reset`).
        max_grad_norm: clip the gradient norm before the update, as the Trainer does
            (None: no clipping).
        part: the name of the part ``X`` is (``"train"`` or ``"val"``), for messages.

    Attributes:
        forward_order: node ids in topological order (the Input first, the loss last).
        backward_order: the same, reversed.
        phase: ``"ready"`` (nothing stepped), ``"forward"``, ``"backward"``, ``"done"``
            (both passes stepped through), ``"updated"`` (after :meth:`apply_update`).
        current: the node the cursor is on (None at the start).
        loss: the batch's loss (a float, known once the loss node is stepped forward;
            :attr:`batch_loss` always).

    Not thread-safe: use it while the model is not training (it sets the model's mode
    for the pass and :meth:`apply_update` changes its weights).

    Raises:
        ValueError: for a batch outside the part (naming the part, its size and the
            samples asked for) or a size below 1; GraphError (with ``node_id``) for a
            batch a node cannot take (BatchNorm given 1 sample with training
            behaviour, see :func:`batch_problem`) or a node refusing its input.
    """

    def __init__(self, model: CompiledGraph, optimizer: Any, X: Any, y: Any, *,
                 start: int = 0, size: int = 1, training: bool = True, seed: int = 0,
                 max_grad_norm: float | None = None, part: str = "train") -> None:
        X, y = np.asarray(X), np.asarray(y)
        n = len(X)
        for name, value in (("start", start), ("size", size)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise TypeError(f"step-through: {name} must be a whole number, got {value!r}")
        if size < 1:
            raise ValueError(f"step-through: a batch needs at least 1 sample, got size {size}")
        if not 0 <= start < n or start + size > n:
            raise ValueError(f"step-through: the {part} part has {n} samples (0..{n - 1}); "
                             f"samples {start}..{start + size - 1} are not all in it "
                             f"(choose a first sample from 0 to {max(n - size, 0)}, or fewer "
                             "samples)" if n else f"step-through: the {part} part is empty")
        problem = batch_problem(model, int(size), training)
        if problem is not None:
            raise GraphError(problem[1], problem[0])
        self.model, self.optimizer = model, optimizer
        self.start, self.size, self.training = int(start), int(size), bool(training)
        self.seed, self.max_grad_norm, self.part = int(seed), max_grad_norm, part
        dtype = next((p.data.dtype for p in model.parameters()), np.dtype(np.float32))
        self.x = X[self.start:self.start + self.size].astype(dtype, copy=False)
        self.y = y[self.start:self.start + self.size]
        self.forward_order: list[str] = [*model.order, *model.loss_order, model.loss_id]
        self.backward_order: list[str] = self.forward_order[::-1]
        self._consumers: dict[Wire, list[str]] = {}
        for nid in self.forward_order:
            for wires in model.wires_into(nid).values():
                for w in wires:
                    self._consumers.setdefault(w, []).append(nid)
        pred_wire, fused = model.prediction_wire
        if fused:  # the loss reads the fused node's input and sends its gradient there
            fused_node = model.wires_into(model.loss_id)[
                model.loss_node_type.prediction_port][0][0]
            readers = self._consumers[pred_wire]
            readers[:] = [r for r in readers if r != fused_node] + [model.loss_id]
        self.reset()

    @classmethod
    def from_run(cls, run: Any, *, part: str = "train", start: int = 0, size: int = 1,
                 training: bool = True, seed: int = 0,
                 weights: tuple[CompiledGraph, Any] | None = None) -> "StepThrough":
        """A step-through of ``run``'s model and optimizer (a
        :class:`~nncore.project.TrainingRun`) on a batch of its ``"train"`` or
        ``"val"`` part, clipping gradients as its trainer does.

        Args:
            weights: step in this ``(model, optimizer)`` instead of the run's own, e.g.
                :func:`copy_weights` of a trained run, so that :meth:`apply_update`
                leaves the run as it is.

        Raises:
            ValueError: for an unknown part; as the constructor.
        """
        if part not in PARTS:
            raise ValueError(f"step-through: part must be one of {', '.join(PARTS)}, got "
                             f"{part!r}")
        X, y = getattr(run.split, f"X_{part}"), getattr(run.split, f"y_{part}")
        model, optimizer = weights if weights is not None else (run.model, run.optimizer)
        return cls(model, optimizer, X, y, start=start, size=size, training=training,
                   seed=seed, max_grad_norm=run.trainer.max_grad_norm, part=part)

    # ------------------------------------------------------------------ the pass
    @contextlib.contextmanager
    def _behaviour(self, model: nn.Module) -> Iterator[None]:
        """``model`` in the chosen mode with fixed Dropout masks; mode and generators
        restored afterwards."""
        dropouts = [m for m in model.modules() if isinstance(m, nn.Dropout)]
        saved = [m.generator for m in dropouts]
        was = model.training
        rng = np.random.default_rng(self.seed)
        for m in dropouts:
            m.generator = rng
        model.train(self.training)
        try:
            yield
        finally:
            model.train(was)
            for m, g in zip(dropouts, saved):
                m.generator = g

    def reset(self) -> None:
        """Run the pass again from the model's current weights on the same batch and
        put the cursor at the start (nothing known).

        Raises:
            GraphError: if a node refuses its input (naming it); the model is left as
                it was.
        """
        model = self.model
        buffers = list(model.buffers())
        before = [b.copy() for b in buffers]
        params = list(model.named_parameters())
        saved_grads = [p.grad for _, p in params]
        x = Tensor(self.x, requires_grad=True)  # dL/d(features) too
        try:
            # a NaN or an overflow is shown where it appears (first_nonfinite), not
            # warned about on the console
            with self._behaviour(model), np.errstate(all="ignore"):
                for _, p in params:
                    p.grad = None
                values, _, loss = model.trace(x, self.y)
                for t in values.values():
                    if t.requires_grad and not t.is_leaf:
                        t.retain_grad()
                # retain_graph: each op keeps what it saved (Dropout's mask, BatchNorm's
                # statistics) for the explanations; the arithmetic is the same
                loss.backward(retain_graph=True)
        except Exception:
            for p, g in zip((p for _, p in params), saved_grads):
                p.grad = g
            raise
        finally:
            self._buffers_after = [b.copy() for b in buffers]
            for b, old in zip(buffers, before):
                b[...] = old
        self._tensors = values
        self._values = {k: _frozen(t.data) for k, t in values.items()}
        self._values[(model.input_id, model.labels_port)] = _frozen(np.asarray(self.y))
        self._grads = {k: None if t.grad is None else _frozen(t.grad) for k, t in values.items()}
        self._grads[(model.input_id, model.labels_port)] = None
        self._param_grads = {name: None if p.grad is None else np.array(p.grad, copy=True)
                             for name, p in params}
        self.batch_loss = float(loss.data)
        self.phase = "ready"
        self.current: str | None = None
        self._forward_done = 0
        self._backward_done = 0

    # ------------------------------------------------------------------ the cursor
    @property
    def can_forward(self) -> bool:
        """Whether a forward step is left."""
        return self.phase in ("ready", "forward") and self._forward_done < len(self.forward_order)

    @property
    def can_backward(self) -> bool:
        """Whether a backward step is possible: the forward pass is stepped through and
        a backward step is left."""
        return (self._forward_done == len(self.forward_order) and self.phase != "updated"
                and self._backward_done < len(self.backward_order))

    @property
    def can_update(self) -> bool:
        """Whether :meth:`apply_update` may run (both passes stepped, not yet updated)."""
        return self.phase == "done"

    def forward_step(self) -> str:
        """Step forward to the next node in topological order; returns its id.

        Raises:
            RuntimeError: when the forward pass is already stepped through.
        """
        if not self.can_forward:
            raise RuntimeError("step-through: the forward pass is already complete; step "
                               "backward, or reset to start again")
        nid = self.forward_order[self._forward_done]
        self._forward_done += 1
        self.current, self.phase = nid, "forward"
        return nid

    def backward_step(self) -> str:
        """Step back to the next node in reverse topological order; returns its id.

        Raises:
            RuntimeError: before the forward pass is complete, or when the backward
                pass is complete.
        """
        if self._forward_done < len(self.forward_order):
            left = len(self.forward_order) - self._forward_done
            raise RuntimeError(f"step-through: the forward pass has {left} node"
                               f"{'s' if left != 1 else ''} left; step forward to the loss "
                               "first (or run to the end)")
        if not self.can_backward:
            raise RuntimeError("step-through: the backward pass is already complete; apply "
                               "the update, or reset to start again")
        nid = self.backward_order[self._backward_done]
        self._backward_done += 1
        self.current = nid
        self.phase = "done" if self._backward_done == len(self.backward_order) else "backward"
        return nid

    def run_to_end(self) -> None:
        """Take every remaining forward and backward step (the cursor ends on the
        first node, phase ``"done"``). Does nothing after an update."""
        while self.can_forward:
            self.forward_step()
        while self.can_backward:
            self.backward_step()

    @property
    def forward_known(self) -> list[str]:
        """The nodes stepped forward through, in order."""
        return self.forward_order[:self._forward_done]

    @property
    def backward_known(self) -> list[str]:
        """The nodes stepped back through, in order."""
        return self.backward_order[:self._backward_done]

    @property
    def loss(self) -> float | None:
        """The batch's loss once the loss node is stepped forward, else None."""
        return self.batch_loss if self._forward_done == len(self.forward_order) else None

    # ------------------------------------------------------------------ wires
    @property
    def wires(self) -> list[Wire]:
        """Every wire's source ``(node id, port)``, in forward order."""
        return list(self._values)

    def value(self, node: str, port: str | None = None) -> np.ndarray | None:
        """The value of ``node``'s output ``port`` (default its first) once the node is
        stepped forward through, else None. Read-only arrays; the Input's labels are
        the batch's targets, the loss node's output the 0-d loss.

        Raises:
            KeyError: for a node or port the pass does not evaluate.
        """
        key = self._key(node, port)
        return self._values[key] if node in self.forward_known else None

    def gradient(self, node: str, port: str | None = None) -> np.ndarray | None:
        """dL/d(``node``'s output ``port``) once every node that reads it (and, for the
        loss, the loss node itself) has been stepped back through; None before, and
        for a wire no gradient reaches (labels, a constant, a Softmax output the loss
        reads past: fused).

        Raises:
            KeyError: as :meth:`value`.
        """
        key = self._key(node, port)
        return self._grads[key] if self.gradient_known(node, port) else None

    def gradient_known(self, node: str, port: str | None = None) -> bool:
        """Whether the backward pass has come far enough for ``gradient`` to be final."""
        key = self._key(node, port)
        done = set(self.backward_known)
        readers = self._consumers.get(key) or [key[0]]
        return all(r in done for r in readers)

    def first_nonfinite(self, gradients: bool = False) -> Wire | None:
        """The first wire whose value (in forward order) or, with ``gradients``, whose
        gradient (in backward order) holds a NaN or an infinity, among those known so
        far; None if there is none (where a NaN first appeared)."""
        order = self.backward_known if gradients else self.forward_known
        for nid in order:
            for (n, port) in self._values:
                if n != nid:
                    continue
                a = self.gradient(n, port) if gradients else self._values[(n, port)]
                if a is not None and a.dtype.kind == "f" and not np.isfinite(a).all():
                    return (n, port)
        return None

    def parameter_gradients(self) -> dict[str, np.ndarray | None]:
        """Every parameter's gradient from the pass (``"n2.weight"`` -> array), what
        :meth:`apply_update` steps with."""
        return {k: None if v is None else v.copy() for k, v in self._param_grads.items()}

    def _key(self, node: str, port: str | None) -> Wire:
        if port is None:
            port = next((p for (n, p) in self._values if n == node), None)
            if port is None:
                raise KeyError(f"step-through: node {node!r} is not evaluated in this pass "
                               "(it does not lead to the loss)")
        key = (node, port)
        if key not in self._values:
            raise KeyError(f"step-through: node {node!r} has no evaluated output {port!r}")
        return key

    # ------------------------------------------------------------------ explanations
    def node_step(self, node: str | None = None, index: Sequence[int] | None = None
                  ) -> NodeStep:
        """What ``node`` (default: the current one) saw, as its type's ``explain``
        reads it: inputs, outputs and gradients known so far, its weights, what its op
        saved for the backward pass, the selected element ``index`` of its first
        output (default its first element; for a loss node, an element of its
        prediction: default the first sample's target class).

        Raises:
            RuntimeError: with no current node; KeyError for a node not in the pass.
        """
        model = self.model
        nid = node or self.current
        if nid is None:
            raise RuntimeError("step-through: no current node yet; step forward first")
        if nid not in self.forward_order:
            raise KeyError(f"step-through: node {nid!r} is not evaluated in this pass")
        is_loss = nid == model.loss_id
        wires_in = model.wires_into(nid)
        known = nid in self.forward_known
        inputs = {port: [self._values[w] for w in ws] for port, ws in wires_in.items()} \
            if known else {}
        input_grads = {port: [self._grads[w] if self.gradient_known(*w) else None
                              for w in ws] for port, ws in wires_in.items()}
        outputs = {p: self._values[(n, p)] for (n, p) in self._values if n == nid} \
            if known else {}
        output_grads = {p: self.gradient(nid, p) for p in outputs}
        first = next(iter(outputs.values()), None)
        pred_wire, fused = model.prediction_wire
        fused_node = model.wires_into(model.loss_id)[model.loss_node_type.prediction_port][0][0]
        extra: dict[str, Any] = {}
        if is_loss:
            extra = {"fused": fused, "task": model.task, "batch": self.size,
                     "prediction": self._values[pred_wire],
                     "prediction_grad": self._grads[pred_wire]
                     if self.gradient_known(*pred_wire) else None}
        if index is None:
            if is_loss and model.task == "classification" and extra["prediction"].ndim == 2 \
                    and extra["prediction"].shape[1] > 1:
                index = (0, int(np.asarray(self.y).reshape(-1)[0]))
            elif is_loss:
                index = (0,) * extra["prediction"].ndim
            else:
                index = (0,) * (0 if first is None else first.ndim)
        tensor = self._tensors.get(next(((n, p) for (n, p) in self._tensors if n == nid),
                                        ("", "")))
        passed_on = any(tensor is self._tensors.get(w) for ws in wires_in.values() for w in ws)
        saved = dict(vars(tensor._ctx)) if tensor is not None and tensor._ctx is not None \
            and not passed_on else {}  # a node passing its input on made no op
        if tensor is not None and not tensor.requires_grad:
            extra["constant"] = True
        index = tuple(int(i) for i in index)
        shape = np.shape(extra["prediction"]) if is_loss else np.shape(first)
        if first is not None and (len(index) != len(shape)
                                  or any(not 0 <= i < n for i, n in zip(index, shape))):
            what = "prediction" if is_loss else "output"
            raise IndexError(f"step-through: element {list(index)} is not in the {what} of "
                             f"{model.loss_name if is_loss else model.node_names[nid]}, of "
                             f"shape {shape}")
        return NodeStep(
            name=model.loss_name if is_loss else model.node_names[nid],
            params=model.node_params(nid), module=dict(model.named_children()).get(nid),
            training=self.training, inputs=inputs, outputs=outputs,
            output_grads=output_grads, input_grads=input_grads,
            index=index,
            fused_into=model.loss_name if fused and nid == fused_node else None,
            target=np.asarray(self.y), saved=saved,
            stepped_back=nid in self.backward_known, extra=extra)

    def explain(self, node: str | None = None, index: Sequence[int] | None = None) -> str:
        """The chain rule at ``node`` (default: the current one) with the live numbers
        for the selected element (see :meth:`node_step`), from its type's
        :meth:`~nncore.graph.types.NodeType.explain`. Before the node is stepped
        forward through, it says so.

        Raises:
            RuntimeError, KeyError: as :meth:`node_step`; IndexError for an index
                outside the output.
        """
        step = self.node_step(node, index)
        if not step.outputs:
            return f"{step.name}: not computed yet (step forward to it)"
        model = self.model
        nid = node or self.current
        ntype = model.loss_node_type if nid == model.loss_id else model.node_types[nid]
        return ntype.explain(step)

    # ------------------------------------------------------------------ the update
    def apply_update(self) -> list[ParameterUpdate]:
        """Take one optimizer step with the pass's gradients, exactly as a training
        step does (the buffers' updates of the pass, e.g. BatchNorm's running
        statistics with training behaviour; clipping when the run clips; then
        ``optimizer.step()``), and describe it per parameter.

        Returns:
            one :class:`ParameterUpdate` per parameter that had a gradient, in the
            model's order.

        Raises:
            RuntimeError: before both passes are stepped through, or a second time
                (reset first: the pass is then run with the new weights).
        """
        if self.phase == "updated":
            raise RuntimeError("step-through: this pass's update is applied already; reset "
                               "to run the batch again with the new weights")
        if not self.can_update:
            raise RuntimeError("step-through: step through the forward and backward passes "
                               "first (or run to the end), then apply the update")
        model, opt = self.model, self.optimizer
        named = list(model.named_parameters())
        for name, p in named:
            g = self._param_grads[name]
            p.grad = None if g is None else g.copy()
        for b, new in zip(model.buffers(), self._buffers_after):
            b[...] = new
        with np.errstate(all="ignore"):  # a NaN gradient steps to NaN, shown, not warned
            if self.max_grad_norm is not None:
                nn.clip_grad_norm_(model.parameters(), self.max_grad_norm)
            before = {name: opt.snapshot(p) for name, p in named if p.grad is not None}
            opt.step()
        updates = []
        for name, p in named:
            if name not in before:
                continue
            group = next(g for g in opt.param_groups if any(q is p for q in g["params"]))
            hyper = {k: v for k, v in group.items() if k not in ("params", "param_names")}
            updates.append(ParameterUpdate(name, model.describe_parameter(name),
                                           model.parameter_nodes[name], type(opt).__name__,
                                           hyper, opt.explain_step(p, before[name])))
        self.phase = "updated"
        return updates

    # ------------------------------------------------------------------ gradient checks
    def check_gradients(self, node: str | None = None, *, whole_network: bool | None = None,
                        eps: float = 1e-6, atol: float = 1e-7, rtol: float = 1e-5,
                        elements: int | None = None) -> GradientCheck:
        """Compare the engine's gradients with float64 central differences
        (:func:`nncore.gradcheck.gradcheck`) on this batch, with its behaviour and
        Dropout masks.

        Args:
            node: check this node only: its op, differentiated with respect to each
                tensor input (the pass's values, in float64) and each of its weights.
                Default (None): every node, then the whole network (the loss with
                respect to every parameter).
            whole_network: also check the loss end to end (default: when ``node`` is
                None).
            eps, atol, rtol, elements: as :func:`~nncore.gradcheck.gradcheck`
                (``elements``: at most this many elements of each input and
                parameter, evenly spaced; default all. Each costs two evaluations:
                the whole digits MLP, 9,866 weights, takes about 12 s with a batch of
                32; with ``elements=64`` well under a second).

        Returns:
            a :class:`GradientCheck`: its ``worst`` entry names the node, the input or
            parameter and the index of the worst relative error; ``failed_nodes``
            the nodes whose own backward disagrees (a wrong op).

        Raises:
            KeyError: for a node not in the pass. Nothing of the model changes.
        """
        options = dict(eps=eps, atol=atol, rtol=rtol, raise_exception=False,
                       elements=elements)
        nodes = self.forward_order if node is None else [node]
        if node is not None and node not in self.forward_order:
            raise KeyError(f"step-through: node {node!r} is not evaluated in this pass")
        entries: list[CheckEntry] = []
        for nid in nodes:
            entries += self._check_node(nid, options)
        if whole_network or (whole_network is None and node is None):
            entries += self._check_network(options)
        return GradientCheck(entries)

    def _double(self, module: Any) -> Any:
        """A float64 copy of ``module`` (node types shared, not copied)."""
        memo = {id(t): t for t in self.model.node_types.values()}
        memo[id(self.model.loss_node_type)] = self.model.loss_node_type
        return copy.deepcopy(module, memo).double()

    def _check_node(self, nid: str, options: dict[str, Any]) -> list[CheckEntry]:
        model = self.model
        is_loss = nid == model.loss_id
        title = model.loss_name if is_loss else model.node_names[nid]
        if is_loss:
            if model.loss_node_type.in_graph:
                return []  # the loss is the scalar wired in: its gradient is 1
            pred_wire, fused = model.prediction_wire
            pred = Tensor(self._values[pred_wire].astype(np.float64), requires_grad=True,
                          name="prediction")
            ltype, params, task = model.loss_node_type, model.node_params(nid), model.task

            def loss_fn(*_: Tensor) -> Tensor:
                return ltype.loss(ltype.scores(pred, fused, task), self.y, params, fused, task)
            result = gradcheck(loss_fn, [pred], **options)
            return [CheckEntry(nid, f"{title}: its prediction", "prediction", result)]
        ntype = model.node_types[nid]
        if ntype.reads_data:
            return []
        module = dict(model.named_children()).get(nid)
        module = None if module is None else self._double(module)
        params = model.node_params(nid)
        inputs: dict[str, list[Tensor]] = {}
        checked: list[tuple[str, Tensor]] = []
        for port, wires in model.wires_into(nid).items():
            spec = ntype.input(port)
            tensors = []
            for k, w in enumerate(wires):
                v = self._values[w]
                if spec is not None and spec.kind == TENSOR and v.dtype.kind == "f":
                    label = f"input '{port}'" + (f" #{k + 1}" if len(wires) > 1 else "")
                    t = Tensor(v.astype(np.float64), requires_grad=True, name=label)
                    checked.append((label, t))
                else:
                    t = Tensor(v) if v.dtype.kind == "f" else Tensor(v.astype(np.float64))
                tensors.append(t)
            inputs[port] = tensors
        if module is not None:
            for pname, p in module.named_parameters():
                p.name = f"{nid}.{pname}"
                checked.append((model.describe_parameter(p.name), p))
        if not checked:
            return []

        def node_fn(*_: Tensor) -> Tensor:
            with self._behaviour(module if module is not None else nn.Module()):
                out = ntype.forward(module, params, inputs)
            return next(iter(out.values()))
        probe = node_fn()
        if not probe.requires_grad:
            return []
        entries = []
        for label, t in checked:
            result = gradcheck(node_fn, [t], **options)
            entries.append(CheckEntry(nid, f"{title}: {label}", label, result))
        return entries

    def _check_network(self, options: dict[str, Any]) -> list[CheckEntry]:
        model64 = self._double(self.model)
        x = Tensor(self.x.astype(np.float64))
        y = self.y

        def loss_fn(*_: Tensor) -> Tensor:
            with self._behaviour(model64):
                return model64.loss(model64(x), y)
        entries = []
        for name, p in model64.named_parameters():
            p.name = name
            result = gradcheck(loss_fn, [p], **options)
            title = model64.describe_parameter(name)
            entries.append(CheckEntry(model64.parameter_nodes[name], f"whole network: {title}",
                                      title, result))
        return entries


def copy_weights(run: Any) -> tuple[CompiledGraph, Any]:
    """A deep copy of ``run``'s model (weights, buffers such as BatchNorm's running
    statistics) and of its optimizer with all its state (Adam's moments, the step
    count), the copied optimizer stepping the copied parameters; the node types are
    shared, not copied. What a step-through of a trained run steps in: its
    :meth:`StepThrough.apply_update` then leaves ``run`` as it was.

    Not thread-safe: copy while ``run`` is not training."""
    model = run.model
    memo: dict[int, Any] = {id(t): t for t in model.node_types.values()}
    memo[id(model.loss_node_type)] = model.loss_node_type
    return copy.deepcopy((model, run.optimizer), memo)


def summarize(array: Any) -> dict[str, Any]:
    """What a wire shows when its tensor is too large to list: ``shape``, ``size``, and
    over its finite values ``mean``, ``std``, ``min`` and ``max`` (NaN when none is
    finite), with ``nonfinite``, the count of NaN and infinite values (a NaN must not
    hide in the statistics)."""
    a = np.asarray(array, dtype=np.float64)
    finite = a[np.isfinite(a)]
    stats = ({"mean": float(finite.mean()), "std": float(finite.std()),
              "min": float(finite.min()), "max": float(finite.max())} if finite.size
             else dict.fromkeys(("mean", "std", "min", "max"), float("nan")))
    return {"shape": tuple(a.shape), "size": int(a.size), **stats,
            "nonfinite": int(a.size - finite.size)}


def _frozen(a: Any) -> np.ndarray:
    """A read-only copy."""
    out = np.array(a, copy=True)
    out.flags.writeable = False
    return out
