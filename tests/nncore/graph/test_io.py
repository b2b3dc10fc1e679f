"""Graph files: round trips, atomic saves, and every kind of bad file (R15, R17, R18)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nncore.graph import (DataShape, Graph, GraphFileError, compile_graph, dumps, load_graph, load_weights,
                          loads, save_graph)
from nncore.graph.io import VERSION


def test_save_load_save_is_byte_identical(tmp_path, mlp):
    g, ids = mlp
    g.move_node(ids["relu"], (123.5, -7.25))
    g.rename_node(ids["dense1"], "Hidden layer — ünïcode")
    g.settings = {"dataset": {"name": "iris"}, "training": {"optimizer": "sgd",
                  "optimizer_options": {"lr": 0.1, "momentum": 0.9}, "epochs": 5}}
    first = tmp_path / "a.json"
    save_graph(first, g)
    second = tmp_path / "b.json"
    save_graph(second, load_graph(first))
    assert first.read_bytes() == second.read_bytes()
    loaded = load_graph(second)
    assert [(n.id, n.name, n.position, n.params) for n in loaded.nodes] == \
        [(n.id, n.name, n.position, n.params) for n in g.nodes]
    assert loaded.edges == g.edges
    assert not list(tmp_path.glob(".*tmp"))  # no temporary files left behind


def test_r15_saved_file_never_mentions_a_deleted_node(tmp_path):
    g = Graph()
    A, B, C, D, E = (g.add_node(t, name=n) for t, n in zip(("relu", "tanh", "sigmoid", "relu", "tanh"),
                                                         ("A", "B", "C", "D", "E")))
    g.connect(A.id, "output", B.id, "input")
    g.connect(B.id, "output", C.id, "input")
    g.connect(D.id, "output", E.id, "input")
    g.remove_node(B.id)
    text = dumps(g)
    assert B.id not in text and '"B"' not in text
    assert json.loads(text)["edges"] == [{"from": [D.id, "output"], "to": [E.id, "input"]}]


def test_r18_loading_runs_the_connect_logic_and_training_repeats(tmp_path):
    from nncore import optim
    from nncore.training import Trainer

    g = Graph()
    inp = g.add_node("input")
    dense = g.add_node("dense", params={"units": 3})
    out = g.add_node("dense", params={"units": 2})
    loss = g.add_node("cross_entropy")
    g.connect(inp.id, "features", dense.id, "input")
    g.connect(dense.id, "output", out.id, "input")
    g.connect(out.id, "output", loss.id, "input")
    g.connect(inp.id, "labels", loss.id, "target")
    path = tmp_path / "g.json"
    save_graph(path, g)
    loaded = load_graph(path)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    losses = []
    for graph in (g, loaded):
        model = compile_graph(graph, DataShape((4,), classes=2), np.random.default_rng(7))
        assert model.state_dict()[f"{dense.id}.weight"].shape == (3, 4)
        trainer = Trainer(model, model.loss, optim.SGD(model.parameters(), lr=0.1), batch_size=5,
                          generator=np.random.default_rng(1))
        losses.append(trainer.fit(X, y, epochs=1)[0]["loss"])
    assert losses[0] == losses[1]


def test_weights_round_trip(tmp_path, mlp, iris):
    g, ids = mlp
    model = compile_graph(g, iris, np.random.default_rng(0))
    save_graph(tmp_path / "m.json", g, weights=model.state_dict())
    assert (tmp_path / "m.npz").exists()
    assert json.loads((tmp_path / "m.json").read_text())["weights"] == "m.npz"
    weights = load_weights(tmp_path / "m.json")
    fresh = compile_graph(load_graph(tmp_path / "m.json"), iris, np.random.default_rng(1))
    fresh.load_state_dict(weights)
    x = np.ones((2, 4), np.float32)
    np.testing.assert_array_equal(fresh(x).data, model(x).data)
    (tmp_path / "m.npz").unlink()
    with pytest.raises(GraphFileError, match="weights file .* is missing"):
        load_weights(tmp_path / "m.json")


def test_pickled_weights_are_never_loaded(tmp_path, mlp):
    g, _ = mlp
    np.save(tmp_path / "evil.npy", np.array([object()], dtype=object), allow_pickle=True)
    import zipfile
    with zipfile.ZipFile(tmp_path / "m.npz", "w") as z:
        z.write(tmp_path / "evil.npy", "n2.weight.npy")
    text = dumps(g, "m.npz")
    (tmp_path / "m.json").write_text(text)
    with pytest.raises(GraphFileError, match="not a valid weights file"):
        load_weights(tmp_path / "m.json")


def _file(mlp_graph, mutate) -> str:
    data = json.loads(dumps(mlp_graph))
    mutate(data)
    return json.dumps(data)


@pytest.mark.parametrize("mutate,message", [
    (lambda d: d.update(version=VERSION + 1), "written by a newer NN Canvas .*format version " + str(VERSION + 1)),
    (lambda d: d.update(version=0), "unknown format version 0"),
    (lambda d: d.update(version="1"), "version must be a whole number"),
    (lambda d: d.update(format="something"), "not an NN Canvas graph"),
    (lambda d: d["nodes"][1].update(type="conv2d"), r"node 2 \('n2', 'Dense'\): unknown node type 'conv2d'"),
    (lambda d: d["nodes"][1]["params"].update(units=-3),
     r"node 2 \('n2', 'Dense'\): units must be in \[1, 100000\], got -3"),
    (lambda d: d["nodes"][1].update(id="n1"), r"node 2 \('n1', 'Dense'\): there is already a node with id 'n1'"),
    (lambda d: d["edges"].append({"from": ["n9", "output"], "to": ["n2", "input"]}),
     r"wire 6 \(n9.output -> n2.input\) refers to node 'n9', which is not in the file"),
    (lambda d: d["edges"].append({"from": ["n4", "output"]}), "wire 6 must look like"),
    (lambda d: d["edges"].append({"from": ["n3", "output"], "to": ["n2", "input"]}),
     r"wire 6 \(ReLU.output -> Dense.input\): Dense.input already has a wire"),
    (lambda d: d.update(settings={"training": {"lr": 1}}), "settings: training: unknown setting 'lr'"),
    (lambda d: d.update(settings={"training": {"optimizer_options": {"lr": -1}}}),
     r"settings: training.optimizer_options.lr must be >= 0, got -1"),
    (lambda d: d.update(nodes={}), "'nodes' and 'edges' must be lists"),
])
def test_bad_files_get_one_clear_error(mlp, mutate, message):
    g, _ = mlp
    with pytest.raises(GraphFileError, match=message):
        loads(_file(g, mutate), "net.json")


def test_r17_a_file_with_a_cycle_is_refused_not_a_recursion_error(mlp):
    g, ids = mlp

    def make_cycle(d):
        # dense2 -> dense1 would close dense1 -> relu -> dense2 -> dense1; free dense1's input first
        d["edges"] = [e for e in d["edges"] if e["to"] != [ids["dense1"], "input"]]
        d["edges"].append({"from": [ids["dense2"], "output"], "to": [ids["dense1"], "input"]})

    with pytest.raises(GraphFileError, match="would make a cycle: Dense 2 → Dense → ReLU → Dense 2"):
        loads(_file(g, make_cycle), "net.json")


def test_truncated_non_json_and_missing_files(tmp_path, mlp):
    g, _ = mlp
    text = dumps(g)
    with pytest.raises(GraphFileError, match=r"net.json: not valid JSON at line \d+, column \d+.*truncated"):
        loads(text[: len(text) // 2], "net.json")
    with pytest.raises(GraphFileError, match="no such file"):
        load_graph(tmp_path / "missing.json")
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(GraphFileError, match="not a text file"):
        load_graph(tmp_path / "bin.json")
    with pytest.raises(GraphFileError, match="top level is not an object"):
        loads("[1, 2]")


def test_a_failed_save_leaves_the_old_file(tmp_path, mlp, monkeypatch):
    g, _ = mlp
    path = tmp_path / "net.json"
    save_graph(path, g)
    before = path.read_bytes()
    import nncore.files as files

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(files.os, "fsync", broken)
    g.add_node("relu")
    with pytest.raises(OSError, match="disk full"):
        save_graph(path, g)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.json"]


def test_version_1_files_load_with_the_input_shape_derived_from_the_data(tmp_path):
    """Version 1 stored the Input's features, task, classes and targets, and saved them
    stale after a change of dataset (64 features on iris): they are dropped on loading;
    the shapes come from the data, and saving writes version 2 without them."""
    from nncore.project import Project

    v1 = {"format": "nncanvas-graph", "version": 1, "nodes": [
        {"id": "n1", "type": "input", "name": "Input", "position": [0, 0],
         "params": {"features": 64, "task": "classification", "classes": 10, "targets": 1}},
        {"id": "n2", "type": "dense", "name": "Dense", "position": [200, 0],
         "params": {"units": 3, "bias": True, "init": "pytorch"}},
        {"id": "n3", "type": "cross_entropy", "name": "Loss", "position": [400, 0],
         "params": {"label_smoothing": 0.0}}],
        "edges": [{"from": ["n1", "features"], "to": ["n2", "input"]},
                  {"from": ["n2", "output"], "to": ["n3", "input"]},
                  {"from": ["n1", "labels"], "to": ["n3", "target"]}],
        "settings": {"dataset": {"source": "builtin", "name": "iris"}}}
    (tmp_path / "old.json").write_text(json.dumps(v1))
    g = load_graph(tmp_path / "old.json")
    assert g.node("n1").params == {}
    analysis = Project(g, tmp_path).analysis()
    assert analysis.ok, analysis.problems
    assert str(analysis.shapes[("n1", "features")]) == "(N, 4)"  # iris, not the stale 64
    assert analysis.params["n2"] == 4 * 3 + 3
    saved = json.loads(dumps(g))
    assert saved["version"] == 2 and saved["nodes"][0]["params"] == {}
    # A version-1 Input with a parameter it never had is still refused, by name.
    v1["nodes"][0]["params"]["colour"] = "red"
    with pytest.raises(GraphFileError, match="Input has no parameter 'colour'"):
        loads(json.dumps(v1))
