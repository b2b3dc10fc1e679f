"""Operator nodes (issue 10): shapes with NumPy's rules, forward values, numerically
checked gradients, losses written by hand, and networks written with operators that
train exactly like their layer-built twins."""

from __future__ import annotations

import numpy as np
import pytest

from nncore import Tensor
from nncore.gradcheck import check_module, gradcheck
from nncore.graph import DataShape, Graph, compile_graph, node_type
from nncore.graph.shapes import LOSS, PortShape, ShapeError, labels, tensor
from nncore.project import TrainingRun

OPERATORS = ("parameter", "constant", "matmul", "subtract", "multiply", "divide", "power",
             "square", "exp", "log", "sum", "mean", "transpose", "one_hot", "targets",
             "objective")


def infer(type_id, params=None, **ports):
    t = node_type(type_id)
    return t.infer(t.validate_params(params or {}), {k: [v] for k, v in ports.items()})


def test_every_operator_is_in_the_operators_category():
    for type_id in OPERATORS:
        assert node_type(type_id).category == "Operators", type_id


@pytest.mark.parametrize("a,b,out", [
    ((None, 30), (30, 1), (None, 1)),
    ((None, 3), (3,), (None,)),
    ((3,), (3, 4), (4,)),
    ((None, 2, 3), (3, 5), (None, 2, 5)),
    ((3, None), (None, 4), (3, 4)),  # xᵀ · g: the batch is contracted (dL/dW by hand)
])
def test_matmul_shapes_follow_numpy(a, b, out):
    assert infer("matmul", a=PortShape(a), b=PortShape(b))["output"].dims == out


def test_matmul_names_both_shapes_when_they_do_not_fit():
    with pytest.raises(ShapeError, match=r"^\(N, 3\) · \(4, 2\): the last dimension "
                                         r"of a \(3\) must equal the first of b \(4\)"):
        infer("matmul", a=tensor(3), b=PortShape((4, 2)))
    with pytest.raises(ShapeError, match="at least one dimension"):
        infer("matmul", a=LOSS, b=PortShape((4, 2)))


@pytest.mark.parametrize("type_id", ["subtract", "multiply", "divide"])
def test_elementwise_operators_broadcast_and_name_the_clash(type_id):
    assert infer(type_id, a=tensor(4), b=PortShape((4,)))["output"].dims == (None, 4)
    assert infer(type_id, a=tensor(4), b=LOSS)["output"].dims == (None, 4)
    # the type does not name itself: the graph's problem puts the node's name first
    with pytest.raises(ShapeError, match=r"^shapes \(N, 4\) and \(3,\) do not "
                                         r"broadcast \(dimensions 4 and 3\)"):
        infer(type_id, a=tensor(4), b=PortShape((3,)))


def test_add_broadcasts_a_bias():
    assert node_type("add").infer({}, {"inputs": [tensor(5), PortShape((5,))]})["output"] \
        == tensor(5)


def test_reductions_transpose_parameter_and_labels_shapes():
    for op in ("sum", "mean"):
        assert infer(op, {"axis": "all"}, input=tensor(3))["output"] == LOSS
        assert infer(op, {"axis": "batch"}, input=tensor(3))["output"].dims == (3,)
        assert infer(op, {"axis": "last"}, input=tensor(3))["output"].dims == (None,)
        with pytest.raises(ShapeError, match="a scalar has no last axis"):
            infer(op, {"axis": "last"}, input=LOSS)
    assert infer("transpose", input=tensor(3))["output"].dims == (3, None)
    with pytest.raises(ShapeError, match="a vector is its own transpose"):
        infer("transpose", input=PortShape((3,)))
    assert infer("parameter", {"rows": 30, "columns": 1})["output"].dims == (30, 1)
    assert infer("parameter", {"rows": 7, "columns": 0})["output"].dims == (7,)
    p = node_type("parameter")
    assert p.count(p.validate_params({"rows": 30, "columns": 4}), {}) == 120
    assert infer("one_hot", labels=labels(4))["output"] == tensor(4)
    with pytest.raises(ShapeError, match="One-hot needs class labels"):
        infer("one_hot", labels=tensor(1))
    assert infer("targets", labels=labels(2))["output"] == tensor(1)
    assert infer("targets", labels=tensor(3))["output"] == tensor(3)
    with pytest.raises(ShapeError, match="turn class labels into a tensor with One-hot"):
        infer("exp", input=labels(3))
    with pytest.raises(ShapeError, match="'scalar' needs one number, got \\(N, 1\\): reduce"):
        infer("objective", loss=tensor(1), prediction=tensor(1))
    assert infer("objective", loss=LOSS, prediction=tensor(1))["objective"] == LOSS


def _apply(type_id, params, shapes=None, **inputs):
    t = node_type(type_id)
    params = t.validate_params(params)
    shapes = shapes or {k: [PortShape(v.shape)] for k, v in inputs.items()}
    module = t.build(params, shapes, np.random.default_rng(0))
    return t.forward(module, params, {k: [v] for k, v in inputs.items()})["output"]


def test_forward_values_equal_numpy():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((5, 3)), rng.standard_normal((3, 2))
    c = rng.standard_normal((5, 3)) + 3.0
    ta, tb, tc = Tensor(a), Tensor(b), Tensor(c)
    np.testing.assert_allclose(_apply("matmul", {}, a=ta, b=tb).data, a @ b)
    np.testing.assert_allclose(_apply("subtract", {}, a=ta, b=tc).data, a - c)
    np.testing.assert_allclose(_apply("multiply", {}, a=ta, b=tc).data, a * c)
    np.testing.assert_allclose(_apply("divide", {}, a=ta, b=tc).data, a / c)
    np.testing.assert_allclose(_apply("power", {"exponent": 3.0}, input=ta).data, a ** 3)
    np.testing.assert_allclose(_apply("square", {}, input=ta).data, a ** 2)
    np.testing.assert_allclose(_apply("exp", {}, input=ta).data, np.exp(a))
    np.testing.assert_allclose(_apply("log", {}, input=tc).data, np.log(c))
    np.testing.assert_allclose(_apply("sum", {"axis": "all"}, input=ta).data, a.sum())
    np.testing.assert_allclose(_apply("mean", {"axis": "batch"}, input=ta).data, a.mean(0))
    np.testing.assert_allclose(_apply("sum", {"axis": "last"}, input=ta).data, a.sum(-1))
    np.testing.assert_allclose(_apply("transpose", {}, input=ta).data, a.T)
    y = Tensor(np.array([2, 0, 1]))
    np.testing.assert_array_equal(
        _apply("one_hot", {}, {"labels": [labels(4)]}, labels=y).data, np.eye(4)[[2, 0, 1]])
    np.testing.assert_array_equal(_apply("targets", {}, labels=y).data, [[2], [0], [1]])
    w = _apply("parameter", {"rows": 400, "columns": 3})
    assert w.shape == (400, 3) and np.abs(w.data).max() <= 1 / np.sqrt(400)
    assert w.data.std() == pytest.approx(1 / np.sqrt(400) / np.sqrt(3), rel=0.1)
    assert not _apply("parameter", {"rows": 4, "columns": 0, "init": "zeros"}).data.any()


def test_one_hot_refuses_a_label_outside_its_classes():
    t = node_type("one_hot")
    module = t.build({}, {"labels": [labels(3)]}, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"label 3 is not a class index in \[0, 3\)"):
        module(Tensor(np.array([0, 3])))


@pytest.mark.parametrize("type_id,params,positive", [
    ("matmul", {}, False), ("subtract", {}, False), ("multiply", {}, False),
    ("divide", {}, True), ("power", {"exponent": 3.0}, False), ("power", {"exponent": 0.5}, True),
    ("square", {}, False), ("exp", {}, False), ("log", {}, True),
    ("sum", {"axis": "last"}, False), ("mean", {"axis": "batch"}, False),
    ("sum", {"axis": "all"}, False), ("transpose", {}, False),
])
def test_every_operators_gradient_is_checked_numerically(type_id, params, positive):
    rng = np.random.default_rng(3)
    t = node_type(type_id)
    params = t.validate_params(params)
    binary = [p.name for p in t.inputs]
    shapes = {"matmul": [(4, 3), (3, 2)]}.get(type_id, [(4, 3)] * len(binary))
    arrays = [np.abs(rng.standard_normal(s)) + 0.5 if positive else rng.standard_normal(s)
              for s in shapes]
    tensors = [Tensor(a, requires_grad=True) for a in arrays]

    def fn(*xs):
        return t.forward(None, params, {p: [x] for p, x in zip(binary, xs)})["output"]

    assert gradcheck(fn, tensors).ok


def test_a_parameters_gradient_is_checked_numerically():
    """x · W + b with W and b as Parameter nodes, compiled: the gradient of the loss
    with respect to W, b and x matches central differences."""
    g, ids = _logistic_operators(Graph())
    data = DataShape((4,), classes=2)
    m = compile_graph(g, data, np.random.default_rng(0), dtype=np.float64)
    x = Tensor(np.random.default_rng(1).standard_normal((6, 4)), requires_grad=True)
    y = np.array([0, 1, 1, 0, 1, 0])
    assert check_module(m, x, lambda o: m.loss(o, y)).ok


def _connect(g, *wires):
    for a, pa, b, pb in wires:
        g.connect(a.id, pa, b.id, pb)


def _logistic_operators(g, features=4, loss="bce"):
    """sigmoid(x · W + b) -> Binary Cross-Entropy, written with operators."""
    inp = g.add_node("input")
    W = g.add_node("parameter", params={"rows": features, "columns": 1})
    b = g.add_node("parameter", params={"rows": 1, "columns": 0})
    mm, add, sig = g.add_node("matmul"), g.add_node("add"), g.add_node("sigmoid")
    out = g.add_node(loss)
    _connect(g, (inp, "features", mm, "a"), (W, "output", mm, "b"),
             (mm, "output", add, "inputs"), (b, "output", add, "inputs"),
             (add, "output", sig, "input"), (sig, "output", out, "input"),
             (inp, "labels", out, "target"))
    return g, {"W": W.id, "b": b.id, "loss": out.id}


def _logistic_dense(g):
    inp, d, sig, out = (g.add_node(t) for t in ("input", "dense", "sigmoid", "bce"))
    g.set_params(d.id, {"units": 1})
    _connect(g, (inp, "features", d, "input"), (d, "output", sig, "input"),
             (sig, "output", out, "input"), (inp, "labels", out, "target"))
    return g, d.id


def _with_settings(g, dataset, epochs, batch_size=32, optimizer="adam", lr=0.01):
    g.set_settings({"dataset": {"source": "builtin", "name": dataset},
                    "training": {"epochs": epochs, "batch_size": batch_size, "seed": 0,
                                 "optimizer": optimizer, "optimizer_options": {"lr": lr}}})
    return g


def _twin_losses(op_run, dense_run, copy):
    """Give the operator-built run the dense run's weights and batch order, train both,
    and return both histories."""
    params = dict(op_run.model.named_parameters())
    for target, value in copy(dict(dense_run.model.named_parameters())).items():
        params[target].data[...] = value
    op_run.trainer.generator.bit_generator.state = dense_run.trainer.generator.bit_generator.state
    return op_run.fit(), dense_run.fit()


def test_logistic_regression_with_operators_trains_like_its_dense_twin():
    """The issue's example: sigmoid(x·W + b) on breast cancer, the same figures epoch by
    epoch as Dense(1) -> Sigmoid (both fused into BCE with logits)."""
    g_op, ids = _logistic_operators(_with_settings(Graph(), "breast_cancer", 5), features=30)
    g_d, dense = _logistic_dense(_with_settings(Graph(), "breast_cancer", 5))
    op, dn = TrainingRun(g_op), TrainingRun(g_d)
    assert op.model.num_parameters() == dn.model.num_parameters() == 31
    ops, dense_h = _twin_losses(op, dn, lambda p: {
        f"{ids['W']}.value": p[f"{dense}.weight"].data.T,
        f"{ids['b']}.value": p[f"{dense}.bias"].data})
    for a, b in zip(ops, dense_h):
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            assert a[key] == pytest.approx(b[key], rel=1e-5, abs=1e-7), (a["epoch"], key)
    assert ops[-1]["val_accuracy"] > 0.9


def test_a_two_layer_network_with_operators_trains_like_its_dense_twin():
    g = _with_settings(Graph(), "digits", 3)
    inp = g.add_node("input")
    W1 = g.add_node("parameter", params={"rows": 64, "columns": 32})
    b1 = g.add_node("parameter", params={"rows": 32, "columns": 0})
    W2 = g.add_node("parameter", params={"rows": 32, "columns": 10})
    b2 = g.add_node("parameter", params={"rows": 10, "columns": 0})
    mm1, add1, relu, mm2, add2 = (g.add_node(t) for t in ("matmul", "add", "relu", "matmul",
                                                           "add"))
    ce = g.add_node("cross_entropy")
    _connect(g, (inp, "features", mm1, "a"), (W1, "output", mm1, "b"),
             (mm1, "output", add1, "inputs"), (b1, "output", add1, "inputs"),
             (add1, "output", relu, "input"), (relu, "output", mm2, "a"),
             (W2, "output", mm2, "b"), (mm2, "output", add2, "inputs"),
             (b2, "output", add2, "inputs"), (add2, "output", ce, "input"),
             (inp, "labels", ce, "target"))
    gd = _with_settings(Graph(), "digits", 3)
    i2, d1, r2, d2, ce2 = (gd.add_node(t) for t in ("input", "dense", "relu", "dense",
                                                     "cross_entropy"))
    gd.set_params(d1.id, {"units": 32})
    gd.set_params(d2.id, {"units": 10})
    _connect(gd, (i2, "features", d1, "input"), (d1, "output", r2, "input"),
             (r2, "output", d2, "input"), (d2, "output", ce2, "input"),
             (i2, "labels", ce2, "target"))
    op, dn = TrainingRun(g), TrainingRun(gd)
    ops, dense_h = _twin_losses(op, dn, lambda p: {
        f"{W1.id}.value": p[f"{d1.id}.weight"].data.T, f"{b1.id}.value": p[f"{d1.id}.bias"].data,
        f"{W2.id}.value": p[f"{d2.id}.weight"].data.T, f"{b2.id}.value": p[f"{d2.id}.bias"].data})
    for a, b in zip(ops, dense_h):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-4), a["epoch"]
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-4), a["epoch"]
    assert ops[-1]["val_accuracy"] > 0.9


def _hand_written_bce(g):
    """-(y log p + (1 - y) log(1 - p)) averaged, into an Objective, beside nothing else."""
    inp = g.add_node("input")
    d, sig = g.add_node("dense", params={"units": 1}), g.add_node("sigmoid")
    y = g.add_node("targets")
    one = g.add_node("constant", params={"value": 1.0})
    log_p, one_minus_p, log_q, one_minus_y = (g.add_node(t) for t in ("log", "subtract",
                                                                       "log", "subtract"))
    m1, m2, both, mean = (g.add_node(t) for t in ("multiply", "multiply", "add", "mean"))
    neg = g.add_node("constant", params={"value": -1.0})
    scaled, obj = g.add_node("multiply"), g.add_node("objective")
    _connect(g, (inp, "features", d, "input"), (d, "output", sig, "input"),
             (inp, "labels", y, "labels"),
             (sig, "output", log_p, "input"),
             (one, "output", one_minus_p, "a"), (sig, "output", one_minus_p, "b"),
             (one_minus_p, "output", log_q, "input"),
             (one, "output", one_minus_y, "a"), (y, "output", one_minus_y, "b"),
             (y, "output", m1, "a"), (log_p, "output", m1, "b"),
             (one_minus_y, "output", m2, "a"), (log_q, "output", m2, "b"),
             (m1, "output", both, "inputs"), (m2, "output", both, "inputs"),
             (both, "output", mean, "input"), (neg, "output", scaled, "a"),
             (mean, "output", scaled, "b"), (scaled, "output", obj, "loss"),
             (sig, "output", obj, "prediction"))
    return g, d.id


def test_a_loss_written_by_hand_equals_the_built_in_one():
    """Binary cross-entropy written with Targets, Log, Subtract, Multiply, Add, Mean and
    an Objective gives the built-in (unfused) BCE's losses and accuracies, epoch by
    epoch, from the same weights."""
    g, dense = _hand_written_bce(_with_settings(Graph(), "breast_cancer", 3))
    assert g.analysis(DataShape((30,), classes=2)).ok
    gd, dense2 = _logistic_dense(_with_settings(Graph(), "breast_cancer", 3))
    hand, built = TrainingRun(g), TrainingRun(gd)
    # the built-in BCE fuses its Sigmoid (with logits); by hand it is log(sigmoid): the
    # same function, computed less stably, so equal to rounding
    ops, ref = _twin_losses(hand, built, lambda p: {
        f"{dense}.weight": p[f"{dense2}.weight"].data, f"{dense}.bias": p[f"{dense2}.bias"].data})
    for a, b in zip(ops, ref):
        for key in ("loss", "val_loss", "accuracy", "val_accuracy"):
            assert a[key] == pytest.approx(b[key], rel=1e-4, abs=1e-6), (a["epoch"], key)


def test_a_prediction_computed_from_the_labels_is_a_problem():
    g = Graph()
    inp, oh, d, ce = (g.add_node(t) for t in ("input", "one_hot", "dense", "cross_entropy"))
    g.set_params(d.id, {"units": 3})
    _connect(g, (inp, "labels", oh, "labels"), (oh, "output", d, "input"),
             (d, "output", ce, "input"), (inp, "labels", ce, "target"))
    problems = [text for _, text in g.analysis(DataShape((4,), classes=3)).problems]
    assert any("its prediction is computed from the labels" in p for p in problems), problems


def test_labels_into_an_operator_name_the_nodes_that_take_them():
    g = Graph()
    inp, ex = g.add_node("input"), g.add_node("exp")
    verdict = g.can_connect(inp.id, "labels", ex.id, "input")
    assert not verdict
    assert "(or One-hot and Targets, which turn them into a tensor)" in str(verdict.reason)


@pytest.mark.parametrize("bad_op", ["matmul", "add"])
def test_a_shape_clash_names_the_node_once(bad_op):
    """The problem is "<node name>: <why>", the node's name (here its type's) said once."""
    g = Graph()
    inp, W = g.add_node("input"), g.add_node("parameter", params={"rows": 3, "columns": 2})
    op = g.add_node(bad_op)
    port_b = "b" if bad_op == "matmul" else "inputs"
    port_a = "a" if bad_op == "matmul" else "inputs"
    _connect(g, (inp, "features", op, port_a), (W, "output", op, port_b))
    problems = [text for nid, text in g.analysis(DataShape((4,), classes=2)).problems
                if nid == op.id]
    assert len(problems) == 1, problems
    name = op.name
    assert problems[0].startswith(f"{name}: "), problems
    assert f"{name}: {name}:" not in problems[0]
    assert ("(N, 4) · (3, 2)" if bad_op == "matmul" else "(N, 4), (3, 2)") in problems[0]
