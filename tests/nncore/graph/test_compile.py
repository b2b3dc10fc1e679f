"""Compiling graphs into models: evaluation order, fusion, activations, gradients."""

from __future__ import annotations

import numpy as np
import pytest

from nncore import Tensor
from nncore.gradcheck import check_module
from nncore.graph import DataShape, Graph, GraphError, compile_graph


def classifier(make_chain, head=("dense",), features=3, classes=4, loss="cross_entropy", units=None):
    g = Graph()
    ids = make_chain(g, "input", "dense", "tanh", *head, loss)
    g.set_params(ids[1], {"units": 5})
    g.set_params(ids[3], {"units": units or classes})
    g.connect(ids[0], "labels", ids[-1], "target")
    return g, ids, DataShape((features,), classes=classes)


def test_state_dict_is_keyed_by_node_id_and_matches_a_hand_built_model(make_chain):
    g, ids, data = classifier(make_chain)
    m = compile_graph(g, data, np.random.default_rng(0), dtype=np.float64)
    assert list(m.state_dict()) == [f"{ids[1]}.weight", f"{ids[1]}.bias", f"{ids[3]}.weight", f"{ids[3]}.bias"]
    x = np.random.default_rng(1).standard_normal((6, 3))
    W1, b1 = m.state_dict()[f"{ids[1]}.weight"], m.state_dict()[f"{ids[1]}.bias"]
    W2, b2 = m.state_dict()[f"{ids[3]}.weight"], m.state_dict()[f"{ids[3]}.bias"]
    expected = np.tanh(x @ W1.T + b1) @ W2.T + b2
    np.testing.assert_allclose(m(Tensor(x)).data, expected, rtol=1e-12)
    assert m.parameter_nodes[f"{ids[3]}.weight"] == ids[3]
    assert m.named_node_parameters()["Dense 2"][0][0] == "weight"


def test_softmax_before_cross_entropy_is_fused_and_never_nan(make_chain):
    """R01 on the canvas: Dense -> Softmax -> CrossEntropy stays finite."""
    g, ids, data = classifier(make_chain, head=("dense", "softmax"), classes=2)
    m = compile_graph(g, data, np.random.default_rng(0), dtype=np.float64)
    m.state_dict()  # weights exist
    dense_out = ids[3]
    m._modules[dense_out].weight.data[...] = 0.0
    m._modules[dense_out].bias.data[...] = [1000.0, 0.0]
    x = np.zeros((2, 3))
    with np.errstate(all="raise"):
        out, acts = m.forward_with_activations(x)
        loss = m.loss(out, np.array([0, 1]))
        loss.backward()
    np.testing.assert_array_equal(out.data, [[1000.0, 0.0]] * 2)  # the logits, not probabilities
    np.testing.assert_array_equal(acts["Softmax"], [[1.0, 0.0]] * 2)  # still shown
    assert loss.item() == pytest.approx(500.0)  # (0 + 1000) / 2
    assert all(np.all(np.isfinite(p.grad)) for p in m.parameters())


def test_sigmoid_before_bce_is_fused_and_accuracy_columns(make_chain):
    g, ids, data = classifier(make_chain, head=("dense", "sigmoid"), classes=2, loss="bce", units=1)
    m = compile_graph(g, data, np.random.default_rng(0), dtype=np.float64)
    m._modules[ids[3]].weight.data[...] = 0.0
    m._modules[ids[3]].bias.data[...] = [-800.0]
    with np.errstate(all="raise"):
        out = m(np.zeros((2, 3)))
        loss = m.loss(out, np.array([1, 0]))
        loss.backward()
    np.testing.assert_array_equal(out.data, [[0.0, -800.0]] * 2)  # scores [0, z]: argmax = class
    assert loss.item() == pytest.approx(400.0)
    assert np.all(np.isfinite(m._modules[ids[3]].bias.grad))


def test_bce_on_probabilities_without_sigmoid(make_chain):
    g = Graph()
    ids = make_chain(g, "input", "dense", "bce")
    data = DataShape((2,), task="regression", targets=2)
    g.set_params(ids[1], {"units": 2})
    g.connect(ids[0], "labels", ids[2], "target")
    m = compile_graph(g, data, dtype=np.float64)
    with pytest.raises(ValueError, match="probabilities in \\[0, 1\\]"):
        m.loss(Tensor(np.array([[1.5, 0.5]])), np.array([[1.0, 0.0]]))


def test_regression_with_mse(make_chain):
    g = Graph()
    ids = make_chain(g, "input", "dense", "relu", "dense", "mse")
    data = DataShape((2,), task="regression", targets=1)
    g.set_params(ids[3], {"units": 1})
    g.connect(ids[0], "labels", ids[4], "target")
    m = compile_graph(g, data, dtype=np.float64)
    out = m(np.ones((3, 2)))
    assert out.shape == (3, 1) and m.task == "regression" and m.num_classes == 0
    assert m.loss(out, out.data + 1.0).item() == pytest.approx(1.0)


def test_every_parameter_gradient_is_checked_numerically_through_a_branching_graph():
    g = Graph()
    inp = g.add_node("input")
    data = DataShape((3,), classes=3)
    d1, d2 = g.add_node("dense", params={"units": 4}), g.add_node("dense", params={"units": 4})
    bn = g.add_node("batchnorm")
    act = g.add_node("leaky_relu", params={"negative_slope": 0.2})
    add, cat = g.add_node("add"), g.add_node("concatenate")
    out = g.add_node("dense", params={"units": 3})
    loss = g.add_node("cross_entropy", params={"label_smoothing": 0.1})
    g.connect(inp.id, "features", d1.id, "input")
    g.connect(inp.id, "features", d2.id, "input")
    g.connect(d1.id, "output", bn.id, "input")
    g.connect(bn.id, "output", act.id, "input")
    g.connect(act.id, "output", add.id, "inputs")
    g.connect(d2.id, "output", add.id, "inputs")
    g.connect(add.id, "output", cat.id, "inputs")
    g.connect(d2.id, "output", cat.id, "inputs")
    cat_to_out = g.add_node("tanh")
    g.connect(cat.id, "output", cat_to_out.id, "input")
    g.connect(cat_to_out.id, "output", out.id, "input")
    g.connect(out.id, "output", loss.id, "input")
    g.connect(inp.id, "labels", loss.id, "target")
    assert str(g.analysis(data).shapes[(cat.id, "output")]) == "(N, 8)"
    m = compile_graph(g, data, np.random.default_rng(3), dtype=np.float64)
    x = Tensor(np.random.default_rng(4).standard_normal((6, 3)), requires_grad=True)
    y = np.array([0, 1, 2, 2, 1, 0])
    result = check_module(m, x, lambda o: m.loss(o, y))
    assert result.ok and len(result.per_input) == 9  # 3 Dense + BatchNorm, weight and bias each, and x


def test_unused_branches_are_not_evaluated(make_chain):
    g, ids, data = classifier(make_chain)
    extra = g.add_node("dense", params={"units": 7})
    g.connect(ids[2], "output", extra.id, "input")
    m = compile_graph(g, data)
    assert extra.id not in m.order and not any(k.startswith(extra.id) for k in m.state_dict())


def test_compile_refuses_an_untrainable_graph_naming_the_node(make_chain):
    g, ids, data = classifier(make_chain)
    g.set_param(ids[3], "units", 9)
    with pytest.raises(GraphError, match="cannot be trained yet: Cross-Entropy: the prediction has 9 values") as e:
        compile_graph(g, data)
    assert e.value.node_id == ids[-1]


def test_input_width_is_checked(make_chain):
    g, _, data = classifier(make_chain)
    with pytest.raises(ValueError, match=r"expects \(N, 3\) features, got \(2, 5\)"):
        compile_graph(g, data)(np.zeros((2, 5)))


def test_dropout_in_graph_uses_the_compile_generator(make_chain):
    g, ids, data = classifier(make_chain, head=("dense", "dropout"))
    x = np.ones((4, 3), np.float32)
    a = compile_graph(g, data, np.random.default_rng(5))(x).data
    b = compile_graph(g, data, np.random.default_rng(5))(x).data
    np.testing.assert_array_equal(a, b)
    m = compile_graph(g, data, np.random.default_rng(5)).eval()
    np.testing.assert_array_equal(m(x).data, m(x).data)


def test_divergence_names_nodes_and_parameters_by_display_name(make_chain):
    from nncore import optim
    from nncore.training import Trainer, TrainingError

    g, ids, data = classifier(make_chain)
    m = compile_graph(g, data, np.random.default_rng(0))
    m._modules[ids[3]].weight.data[0, 0] = np.inf
    t = Trainer(m, m.loss, optim.SGD(m.parameters(), lr=0.1), batch_size=4)
    X = np.ones((8, 3), np.float32)
    with pytest.raises(TrainingError, match="first node whose output is not finite is 'Dense 2'.*"
                                            "parameter 'Dense 2.weight' already holds"):
        with np.errstate(all="ignore"):
            t.fit(X, np.zeros(8, dtype=np.int64), epochs=1)
