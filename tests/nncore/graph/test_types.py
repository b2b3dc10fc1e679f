"""Node types as classes: every type complete, shape rules for any rank, the hooks the
views and exports read, and a new node type added by one declaration."""

from __future__ import annotations

import numpy as np
import pytest

from nncore import Tensor
from nncore import functional as F
from nncore.gradcheck import check_module
from nncore.graph import CATALOGUE, CATEGORIES, DataShape, Graph, GraphError, compile_graph
from nncore.graph.shapes import LOSS, PortShape, ShapeError, broadcast, flatten, labels, tensor
from nncore.graph.types import LossType, node_type, register
from nncore.graph.types.activations import Activation


def shapes(*dims) -> dict:
    return {"input": [tensor(*dims)]}


def test_every_type_is_registered_once_in_a_known_category_with_its_hooks():
    assert set(CATEGORIES) == {t.category for t in CATALOGUE.values()}
    for t in CATALOGUE.values():
        assert node_type(t.type_id) is t and t.type_id and t.display_name
        assert t.is_loss == isinstance(t, LossType)
        assert t.category == "Losses" or not t.is_loss or t.type_id == "objective"
        assert t.reads_data == (t.type_id == "input")
        # every type says how PyTorch writes it, except the Input (nothing to write)
        spec = t.export(t.default_params(), {"input": [tensor(4)], "target": [labels(4)],
                                             "inputs": [tensor(4), tensor(4)],
                                             "a": [tensor(4)], "b": [tensor(4)],
                                             "labels": [labels(4)], "loss": [LOSS],
                                             "prediction": [tensor(4)]})
        assert (spec is None) == t.reads_data, t.type_id
    with pytest.raises(KeyError, match="unknown node type 'conv9d'; known: input, dense"):
        node_type("conv9d")


@pytest.mark.parametrize("dims", [(5,), (3, 5), (2, 3, 5)])
def test_dense_works_on_the_last_axis_of_any_rank(dims):
    dense = node_type("dense")
    params = dense.validate_params({"units": 7})
    out = dense.infer(params, shapes(*dims))["output"]
    assert out.dims == (None, *dims[:-1], 7)
    assert dense.count(params, shapes(*dims)) == 5 * 7 + 7
    module = dense.build(params, shapes(*dims), np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((4, *dims))
    y = dense.forward(module.to(np.float64), params, {"input": [Tensor(x)]})["output"]
    np.testing.assert_allclose(y.data, x @ module.weight.data.T + module.bias.data)


def test_shape_rules_name_what_is_wrong():
    relu, bn, cat, add = (node_type(t) for t in ("relu", "batchnorm", "concatenate", "add"))
    assert relu.infer({}, shapes(3, 8, 8))["output"].dims == (None, 3, 8, 8)
    with pytest.raises(ShapeError, match=r"'input' needs a batch of feature vectors \(N, k\), "
                                         r"got \(N, 3, 8\)"):
        bn.infer(bn.default_params(), shapes(3, 8))
    with pytest.raises(ShapeError, match="'input' needs .* got \\(N,\\) labels, 3 classes"):
        relu.infer({}, {"input": [labels(3)]})
    joined = cat.infer({}, {"inputs": [tensor(2, 3), tensor(2, 5)]})["output"]
    assert str(joined) == "(N, 2, 8)"
    with pytest.raises(ShapeError, match="other dimensions must agree"):
        cat.infer({}, {"inputs": [tensor(2, 3), tensor(4, 5)]})
    with pytest.raises(ShapeError, match="broadcast .*got \\(N, 2, 3\\), \\(N, 3\\)"):
        add.infer({}, {"inputs": [tensor(2, 3), tensor(3)]})


def test_broadcast_and_flatten_follow_numpy_and_torch():
    weight = PortShape((3, 4))  # a tensor without a batch dimension (a parameter)
    assert broadcast(tensor(3, 1), weight).dims == (None, 3, 4)
    assert np.broadcast_shapes((5, 3, 1), (3, 4)) == (5, 3, 4)  # the rule we follow
    assert broadcast(tensor(1), tensor(5)).dims == (None, 5)
    with pytest.raises(ShapeError, match=r"\(N, 3\) and \(N, 4\) do not broadcast "
                                         r"\(dimensions 3 and 4\)"):
        broadcast(tensor(3), tensor(4))
    with pytest.raises(ShapeError, match=r"dimensions 3 and N"):  # N's size is unknown
        broadcast(tensor(3, 1), tensor(4))
    assert flatten(tensor(3, 8, 8)).dims == (None, 192)


def test_the_input_has_no_parameters_and_its_shapes_come_from_the_data():
    t = node_type("input")
    assert t.params == () and t.default_params() == {}
    digits = DataShape((64,), classes=10, source="digits")
    out = t.infer_data({}, digits)
    assert str(out["features"]) == "(N, 64)" and out["labels"].classes == 10
    assert t.card_text({}, digits) == "64 features · 10 classes"
    sine = DataShape((1,), task="regression", targets=1, source="sine")
    assert t.card_text({}, sine) == "1 feature · 1 target"
    assert str(t.infer_data({}, sine)["labels"]) == "(N, 1)"
    assert t.card_text({}, None) == "no dataset"
    with pytest.raises(ShapeError, match="no dataset yet"):
        t.infer_data({}, None)
    with pytest.raises(ValueError, match="task must be classification or regression"):
        DataShape((2,), task="ranking")


def test_cards_show_each_types_main_parameters():
    texts = {tid: CATALOGUE[tid].card_text(CATALOGUE[tid].validate_params(p)) for tid, p in [
        ("dense", {"units": 128}), ("dense", {"units": 3, "bias": False}), ("dropout", {"p": 0.25}),
        ("leaky_relu", {"negative_slope": 0.2}), ("batchnorm", {}),
        ("cross_entropy", {"label_smoothing": 0.1})]}
    assert texts == {"dense": "3 units, no bias", "dropout": "p = 0.25", "leaky_relu": "slope 0.2",
                     "batchnorm": "momentum 0.1", "cross_entropy": "smoothing 0.1"}


def test_unit_figures_come_from_the_node_types():
    a = np.array([[0.0, 1.0, -2.0], [0.0, 3.0, -1.0]])
    assert node_type("relu").unit_stat(a) == {"dead": pytest.approx(2 / 3)}
    assert node_type("tanh").unit_stat(np.array([[0.99, 0.1]])) == {"saturated": 0.5}
    assert node_type("sigmoid").unit_stat(np.array([[0.01, 0.5, 0.99, 0.6]])) == {"saturated": 0.5}
    assert not node_type("leaky_relu").has_unit_stat and node_type("relu").has_unit_stat


def test_loss_fusion_is_declared_by_the_loss():
    assert node_type("cross_entropy").fuses == {"softmax": "log_softmax"}
    assert node_type("bce").fuses == {"sigmoid": "with_logits"}
    assert node_type("mse").wants_regression and not node_type("cross_entropy").wants_regression


def test_a_new_node_type_is_one_declaration():
    """Square (y = x^2) declared here, nowhere else: the palette's catalogue, shape
    inference, parameter counts, compile, forward and backward all take it."""

    class Square(Activation):
        type_id = "test_square"
        display_name = "Square"
        glyph = "²"
        fn = staticmethod(lambda x: x * x)
        torch_name = "Square"
        summary = "y = x^2."
        learn = "y = x^2; its derivative is 2x."

    register(Square)
    try:
        assert "test_square" in CATALOGUE and CATALOGUE["test_square"].category == "Activations"
        g = Graph()
        inp = g.add_node("input")
        d = g.add_node("dense", params={"units": 3})
        sq = g.add_node("test_square")
        loss = g.add_node("cross_entropy")
        for a, pa, b, pb in [(inp, "features", d, "input"), (d, "output", sq, "input"),
                             (sq, "output", loss, "input"), (inp, "labels", loss, "target")]:
            g.connect(a.id, pa, b.id, pb)
        data = DataShape((4,), classes=3)
        assert g.analysis(data).ok and str(g.analysis(data).shapes[(sq.id, "output")]) == "(N, 3)"
        m = compile_graph(g, data, np.random.default_rng(0), dtype=np.float64)
        x = Tensor(np.random.default_rng(1).standard_normal((5, 4)), requires_grad=True)
        y = np.array([0, 1, 2, 1, 0])
        W, b = m._modules[d.id].weight.data, m._modules[d.id].bias.data
        np.testing.assert_allclose(m(x).data, (x.data @ W.T + b) ** 2)
        assert check_module(m, x, lambda o: m.loss(o, y)).ok
        with pytest.raises(ValueError, match="registered twice"):
            register(Square)
    finally:
        CATALOGUE.unregister("test_square")
    assert "test_square" not in CATALOGUE


def test_an_unknown_category_is_refused():
    class Odd(Activation):
        type_id = "test_odd"
        category = "Misc"
        fn = staticmethod(F.relu)

    with pytest.raises(ValueError, match="unknown category 'Misc'"):
        register(Odd)
    assert "test_odd" not in CATALOGUE


def test_analysis_is_cached_per_dataset_and_forgotten_after_an_edit(mlp, iris):
    g, ids = mlp
    a1 = g.analysis(iris)
    assert g.analysis(iris) is a1
    wide = DataShape((10,), classes=3)
    assert g.analysis(wide).params[ids["dense1"]] == 10 * 8 + 8
    assert g.analysis(iris) is a1 and a1.params[ids["dense1"]] == 4 * 8 + 8
    g.set_param(ids["dense1"], "units", 9)
    assert g.analysis(iris).params[ids["dense1"]] == 4 * 9 + 9
    assert g.analysis(None).errors == {ids["input"]: "no dataset yet: its shapes come from the "
                                       "project's dataset (choose one in the Training panel)"}
    with pytest.raises(GraphError, match="cannot be trained yet: Input: no dataset yet"):
        compile_graph(g, None)  # type: ignore[arg-type]
