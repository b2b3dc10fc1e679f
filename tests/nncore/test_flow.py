"""Gradient flow (issue 10): a traced training minibatch trains exactly as an untraced
one, its wire norms are the gradients' norms, and it names dead units and the first
non-finite wire."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nncore.graph import load_graph
from nncore.project import TrainingRun
from nncore.stepthrough import StepThrough
from nncore.tensor import Tensor
from nncore.training import Callback, GradientFlow, Trainer
from nncore.training.flow import measure_flow

EXAMPLES = Path(__file__).resolve().parents[2] / "app" / "resources" / "examples"


class Flows(Callback):
    """Asks for the flow of every batch (or none) and keeps what comes."""

    def __init__(self, ask: bool = True) -> None:
        self.ask, self.flows = ask, []

    def on_batch_end(self, trainer, record) -> None:
        if record.flow is not None:
            self.flows.append(record.flow)
        if self.ask:
            trainer.request_flow()


def run_of(name: str, callbacks=(), **training) -> TrainingRun:
    graph = load_graph(EXAMPLES / f"{name}.json")
    if training:
        graph.set_settings({**graph.settings,
                            "training": {**graph.settings["training"], **training}})
    return TrainingRun(graph, callbacks=list(callbacks))


@pytest.mark.parametrize("example", ["digits_mlp", "logistic_operators", "digits_operators",
                                     "spiral_relu"])
def test_traced_batches_train_bit_for_bit_as_untraced_ones(example):
    plain, traced = Flows(ask=False), Flows()
    a, b = run_of(example, [plain]), run_of(example, [traced])
    a.fit(2)
    b.fit(2)
    drop = "time"
    assert [{k: v for k, v in h.items() if k != drop} for h in a.trainer.history] == \
        [{k: v for k, v in h.items() if k != drop} for h in b.trainer.history]
    for (name, p), (_, q) in zip(a.model.named_parameters(), b.model.named_parameters()):
        assert np.array_equal(p.data, q.data), name
    batches = b.trainer.global_step
    assert plain.flows == [] and len(traced.flows) == batches - 1  # asked after batch 1
    assert [f.step for f in traced.flows] == list(range(2, batches + 1))


def test_wire_norms_are_the_norms_of_the_step_throughs_gradients():
    """One full-batch step: the flow's norm of each wire equals the norm of the gradient
    the step-through computes for the same samples in the same weights."""
    flows = Flows(ask=False)
    run = run_of("iris_sigmoid", [flows])
    n = len(run.split.y_train)
    run.trainer.batch_size = n
    st = StepThrough(run.model, run.optimizer, run.split.X_train, run.split.y_train,
                     start=0, size=n, training=True)
    st.run_to_end()
    run.trainer.request_flow()
    run.trainer.fit(run.split.X_train, run.split.y_train, 1)
    (flow,) = flows.flows
    assert flow.step == 1
    checked = 0
    for (nid, port), norm in flow.norms.items():
        grad = st.gradient(nid, port)
        assert grad is not None, (nid, port)
        want = np.linalg.norm(np.asarray(grad, dtype=np.float64).ravel())
        assert norm == pytest.approx(want, rel=1e-5), (nid, port)
        checked += 1
    assert checked >= 3
    assert (run.model.loss_id, "loss") not in flow.norms  # dL/dL = 1 says nothing
    assert (run.model.input_id, "output") not in flow.norms  # the features need none
    assert flow.first_nonfinite is None
    lo, hi = flow.range()
    assert (lo, hi) == (min(flow.norms.values()), max(flow.norms.values())) and 0 < lo < hi


def test_dead_relu_units_are_counted_on_the_traced_batch():
    run = run_of("digits_mlp")
    model = run.model
    relu = next(nid for nid, t in model.node_types.items() if t.type_id == "relu")
    # every bias very negative: the Dense before the ReLU gives negative values only
    for name, p in model.named_parameters():
        if name.endswith("bias"):
            p.data[...] = -1e3
    flows = Flows(ask=False)
    run.trainer.callbacks.append(flows)
    run.trainer.request_flow()
    run.trainer.fit(run.split.X_train[:64], run.split.y_train[:64], 1)
    stats = flows.flows[0].unit_stats
    assert stats[relu] == {"dead": 1.0}


def test_the_first_non_finite_wire_is_named():
    run = run_of("digits_mlp")
    model = run.model
    X, y = run.split.X_train[:8].astype(np.float32), run.split.y_train[:8]
    values, _, loss = model.trace(Tensor(X), y)
    for t in values.values():
        if t.requires_grad and not t.is_leaf:
            t.retain_grad()
    loss.backward()
    order = model.order
    assert measure_flow(model, values, 3).first_nonfinite is None
    second = next(k for k in values if k[0] == order[2])
    values[second].grad[0, 0] = np.nan
    flow = measure_flow(model, values, 3)
    assert flow.first_nonfinite == (order[2], "gradient")
    assert np.isnan(flow.norms[second])
    first = next(k for k in values if k[0] == order[1])
    values[first].data[0, 0] = np.inf  # a value beats a gradient: it came first
    assert measure_flow(model, values, 3).first_nonfinite == (order[1], "value")


def test_a_model_that_cannot_trace_trains_without_a_flow():
    from nncore import nn
    from nncore.functional import cross_entropy
    from nncore.optim import SGD

    model = nn.Linear(4, 3)
    flows = Flows()
    trainer = Trainer(model, cross_entropy, SGD(model.parameters(), lr=0.1),
                      batch_size=4, callbacks=[flows])
    rng = np.random.default_rng(0)
    trainer.request_flow()
    trainer.fit(rng.normal(size=(12, 4)).astype(np.float32), rng.integers(0, 3, 12), 1)
    assert flows.flows == [] and trainer.global_step == 3


def test_gradient_flow_is_exported():
    assert GradientFlow(step=1).range() is None
    assert GradientFlow(step=1, norms={("a", "o"): 0.0, ("b", "o"): 2.0}).range() == (2.0, 2.0)
