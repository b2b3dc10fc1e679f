"""Regression tests for problems found by trying to break nncore.graph."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nncore.graph import (DataShape, Graph, GraphError, GraphFileError, ParamError, compile_graph, dumps,
                          load_graph, load_weights, loads, save_graph)
from nncore.project import TrainingRun


def bce_regression_graph(make_chain):
    g = Graph()
    ids = make_chain(g, "input", "dense", "sigmoid", "bce")
    g.set_params(ids[1], {"units": 1})
    g.connect(ids[0], "labels", ids[3], "target")
    return g, ids

VALUES = DataShape((1,), task="regression", targets=1)


def test_fused_sigmoid_bce_metrics_use_probabilities(make_chain):
    from nncore import optim
    from nncore.training import Trainer

    g, ids = bce_regression_graph(make_chain)
    m = compile_graph(g, VALUES, dtype=np.float64)
    m._modules[ids[1]].weight.data[...] = 2.0
    m._modules[ids[1]].bias.data[...] = -1.0
    X = np.linspace(-2, 2, 9).reshape(-1, 1)
    p = 1 / (1 + np.exp(-(2 * X - 1)))
    y = np.clip(p + 0.05, 0, 1)
    t = Trainer(m, m.loss, optim.SGD(m.parameters(), lr=0.0), classification=False)
    metrics = t.evaluate(X, y)
    assert metrics["mse"] == pytest.approx(float(np.mean((p - y) ** 2)), rel=1e-9)
    assert metrics["r2"] > 0.9
    with pytest.raises(ValueError, match=r"Binary Cross-Entropy needs targets in \[0, 1\].*got 2"):
        m.loss(m(X), np.full((9, 1), 2.0))


def test_strings_with_brackets_survive_saving():
    g = Graph()
    g.add_node("relu", name="[ a ]")
    g.add_node("relu", name="Hidden [ 64 ]")
    g.add_node("relu", name="Hidden [64]")
    g.settings = {"dataset": {"source": "csv", "path": "/data/[ old ], x/y.csv"}}
    text = dumps(g)
    loaded = loads(text)
    assert [n.name for n in loaded.nodes] == ["[ a ]", "Hidden [ 64 ]", "Hidden [64]"]
    assert loaded.settings["dataset"]["path"] == "/data/[ old ], x/y.csv"
    assert dumps(loaded) == text
    assert '"position": [0.0, 0.0]' in text


@pytest.mark.parametrize("mutate,message", [
    (lambda d: d["nodes"][1].update(type=[]), "unknown node type"),
    (lambda d: d["nodes"][1]["params"].update(units=float("inf")), "units must be a finite number"),
    (lambda d: d["nodes"][1]["params"].update(units=float("nan")), "units must be a finite number"),
    (lambda d: d["nodes"][1]["params"].update(units=10 ** 400), "a whole number of 401 digits"),
    (lambda d: d["nodes"][1].update(position=[10 ** 400, 0]), "a whole number of 401 digits; the limit is 30"),
    (lambda d: d["nodes"][1].update(position=[1e30, 0]), "a position is at most 10,000,000"),
    (lambda d: d.update(settings={"training": {"epochs": float("inf")}}), "training.epochs must be finite"),
    (lambda d: d.update(settings={"training": {"optimizer_options": {"lr": float("inf")}}}),
     "optimizer_options.lr must be a finite number"),
    (lambda d: d.update(settings={"training": {"optimizer_options": {"lr": 10 ** 400}}}),
     "a whole number of 401 digits"),
    (lambda d: d.update(settings={"dataset": "x"}), "dataset settings must be an object"),
    (lambda d: d.update(settings={"training": {"early_stopping": {"monitor": "acc"}}}), "monitor must be a metric"),
    (lambda d: d.update(extra=1), "unknown field 'extra'"),
    (lambda d: d["edges"][0].update(note="x"), "wire 1 must look like"),
])
def test_malformed_values_are_graph_file_errors(mlp, mutate, message):
    g, _ = mlp
    data = json.loads(dumps(g))
    mutate(data)
    with pytest.raises(GraphFileError, match=message):
        loads(json.dumps(data), "net.json")


def test_deep_nesting_is_a_graph_file_error():
    with pytest.raises(GraphFileError, match="nested too deeply"):
        loads("[" * 100000)


def test_editing_with_non_finite_values_raises_param_error(mlp):
    g, ids = mlp
    for value in (float("nan"), float("inf"), 10 ** 400):
        with pytest.raises(ParamError):
            g.set_param(ids["dense1"], "units", value)


def test_restore_after_conflicting_edits_changes_nothing():
    g = Graph()
    a, b, c = g.add_node("relu"), g.add_node("tanh"), g.add_node("sigmoid")
    g.connect(a.id, "output", b.id, "input")
    removed = g.remove_node(a.id)
    g.connect(c.id, "output", b.id, "input")
    before, events = dumps(g), []
    g.node_added.connect(lambda n: events.append(n))
    with pytest.raises(GraphError, match="already has a wire from Sigmoid"):
        g.restore_node(removed)
    assert dumps(g) == before and events == []


def test_node_ids_are_never_reused():
    g = Graph()
    ids = [g.add_node("relu").id for _ in range(4)]
    g.remove_node(ids[-1])
    assert g.add_node("relu").id not in ids
    g2 = loads(dumps(g))
    existing = {n.id for n in g2.nodes}
    assert g2.add_node("relu").id not in existing


def test_r14_the_label_mapping_is_saved_with_the_project(tmp_path, make_chain):
    rng = np.random.default_rng(0)
    labels = rng.choice(["cat", "dog", "bird"], 60)
    X = rng.standard_normal((60, 2))
    (tmp_path / "pets.csv").write_text("a,b,kind\n" + "\n".join(
        f"{x:.3f},{y:.3f},{k}" for (x, y), k in zip(X, labels)) + "\n")
    g = Graph()
    ids = make_chain(g, "input", "dense", "cross_entropy")
    g.set_params(ids[1], {"units": 3})
    g.connect(ids[0], "labels", ids[2], "target")
    g.settings = {"dataset": {"source": "csv", "path": "pets.csv"}}
    run = TrainingRun(g, base_dir=tmp_path)
    assert "classes" not in g.settings["dataset"]  # the caller's graph is never changed
    assert run.graph.settings["dataset"]["classes"] == ["bird", "cat", "dog"]
    save_graph(tmp_path / "pets.json", run.graph)
    saved = json.loads((tmp_path / "pets.json").read_text())
    assert saved["settings"]["dataset"]["classes"] == ["bird", "cat", "dog"]
    # Later the file has lost its birds: indices still follow the saved mapping.
    keep = labels != "bird"
    (tmp_path / "pets.csv").write_text("a,b,kind\n" + "\n".join(
        f"{x:.3f},{y:.3f},{k}" for (x, y), k in zip(X[keep], labels[keep])) + "\n")
    again = TrainingRun(load_graph(tmp_path / "pets.json"), base_dir=tmp_path)
    assert again.data.classes == ["bird", "cat", "dog"]
    np.testing.assert_array_equal(again.data.y, np.where(labels[keep] == "cat", 1, 2))
    # A label the project never saw is refused instead of silently shifting the classes.
    (tmp_path / "pets.csv").write_text("a,b,kind\n1,2,cat\n3,4,ant\n5,6,dog\n")
    with pytest.raises(ValueError, match=r"labels \['ant'\] are not in the project's classes"):
        TrainingRun(load_graph(tmp_path / "pets.json"), base_dir=tmp_path)
    assert run.model.num_classes == 3


def test_weights_files_are_read_safely(tmp_path, mlp, iris):
    g, _ = mlp
    save_graph(tmp_path / "m.json", g, weights=compile_graph(g, iris).state_dict())
    data = (tmp_path / "m.npz").read_bytes()
    (tmp_path / "m.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(GraphFileError, match="not a valid weights file"):
        load_weights(tmp_path / "m.json")
    np.save(tmp_path / "m.npz", np.zeros(3))
    (tmp_path / "m.npz.npy").rename(tmp_path / "m.npz")
    with pytest.raises(GraphFileError, match="not a valid weights file"):
        load_weights(tmp_path / "m.json")
    for bad in (5, "../m.npz", "/etc/passwd"):
        text = json.loads((tmp_path / "m.json").read_text())
        text["weights"] = bad
        (tmp_path / "b.json").write_text(json.dumps(text))
        with pytest.raises(GraphFileError, match="'weights' must be the name of a file beside it"):
            load_weights(tmp_path / "b.json")
    (tmp_path / "junk.json").write_text("[1]")
    with pytest.raises(GraphFileError):
        load_weights(tmp_path / "junk.json")


def test_loss_overflow_names_the_loss_node(make_chain):
    from nncore import optim
    from nncore.training import Trainer, TrainingError

    g = Graph()
    ids = make_chain(g, "input", "dense", "mse")
    g.set_params(ids[1], {"units": 1})
    g.connect(ids[0], "labels", ids[2], "target")
    m = compile_graph(g, VALUES)
    m._modules[ids[1]].weight.data[...] = 1e20  # outputs 1e21: finite; squared: inf
    t = Trainer(m, m.loss, optim.SGD(m.parameters(), lr=0.1), classification=False)
    with pytest.raises(TrainingError, match="the loss \\('MSE'\\) itself overflowed"):
        with np.errstate(all="ignore"):
            t.fit(np.full((4, 1), 10.0, np.float32), np.zeros((4, 1), np.float32), epochs=1)


def test_metrics_out_never_writes_nan(tmp_path):
    from nncore.cli import _json_safe

    text = json.dumps(_json_safe({"a": [1.0, float("nan")], "b": {"c": float("inf")}}), allow_nan=False)
    assert text == '{"a": [1.0, null], "b": {"c": null}}'


def test_training_settings_never_change_the_callers_dicts_and_mode_follows_the_metric():
    from nncore.project.settings import SettingsError, TrainingSettings

    raw = {"optimizer_options": {"betas": [0.8, 0.9]}, "early_stopping": {"monitor": "val_accuracy"}}
    s = TrainingSettings.from_dict(raw)
    assert raw == {"optimizer_options": {"betas": [0.8, 0.9]}, "early_stopping": {"monitor": "val_accuracy"}}
    assert s.early_stopping["mode"] == "max" and s.make_early_stopping().mode == "max"
    with pytest.raises(SettingsError, match="would keep the worst val_accuracy: use max"):
        TrainingSettings.from_dict({"early_stopping": {"monitor": "val_accuracy", "mode": "min"}})


@pytest.mark.parametrize("section", ["dataset", "training"])
def test_a_seed_too_large_for_the_gui_is_refused_by_name(section):
    """A file with seed 3000000000 opened, then broke the panel's 32-bit seed field on
    every refresh (OverflowError); a dataset seed of 2**40 failed late without naming
    the setting."""
    from nncore.project.settings import (MAX_SEED, DatasetSettings, SettingsError,
                                       TrainingSettings)

    cls = DatasetSettings if section == "dataset" else TrainingSettings
    assert cls.from_dict({"seed": MAX_SEED}).seed == MAX_SEED
    for bad in (MAX_SEED + 1, 2**40, 3_000_000_000):
        with pytest.raises(SettingsError, match=rf"{section}\.seed must be in \[0, {MAX_SEED}\]"):
            cls.from_dict({"seed": bad})


def test_zero_epochs_are_refused_as_on_the_command_line():
    from nncore.project.settings import SettingsError, TrainingSettings

    with pytest.raises(SettingsError, match=r"training\.epochs must be >= 1"):
        TrainingSettings.from_dict({"epochs": 0})
    assert TrainingSettings.from_dict({"epochs": 1}).epochs == 1


def test_a_network_without_weights_says_so_not_empty_parameter_list():
    """Input wired straight into Cross-Entropy used to fail with the optimizer's
    "optimizer got an empty parameter list"."""
    g = Graph()
    inp = g.add_node("input", (0, 0))  # the shapes fit the moons: 2 features, 2 classes
    loss = g.add_node("cross_entropy", (200, 0))
    g.connect(inp.id, "features", loss.id, "input")
    g.connect(inp.id, "labels", loss.id, "target")
    g.set_settings({"dataset": {"name": "moons"}})
    with pytest.raises(GraphError, match="nothing to train: no node has weights"):
        TrainingRun(g)


def test_two_losses_are_named_in_the_problem():
    g = Graph()
    g.add_node("input", (0, 0))
    g.add_node("cross_entropy", (200, 0))
    g.add_node("mse", (200, 100))
    problems = [text for _, text in g.analysis().problems]
    assert any("exactly one loss node" in p and "(Cross-Entropy, MSE)" in p for p in problems)


def test_a_folder_as_data_file_says_it_is_a_folder(tmp_path):
    from nncore.project.settings import DatasetSettings
    from nncore.project import load_data

    with pytest.raises(ValueError, match="is a folder, not a data file"):
        load_data(DatasetSettings.from_dict({"source": "csv", "path": str(tmp_path)}))


def test_binary_cross_entropy_without_a_sigmoid_names_its_node_and_the_fix():
    """It once said "binary_cross_entropy: input must be probabilities" (the function,
    not the node, and no fix)."""
    from pathlib import Path

    from nncore.graph import load_graph

    g = load_graph(Path(__file__).resolve().parents[3] / "app" / "resources" / "examples"
                   / "breast_cancer_bce.json")
    sig = g.node_by_name("Sigmoid")
    into = next(e for e in g.edges if e.dst == sig.id)
    out = next(e for e in g.edges if e.src == sig.id)
    g.remove_node(sig.id)
    g.connect(into.src, into.src_port, out.dst, out.dst_port)
    run = TrainingRun(g)
    with pytest.raises(GraphError, match=r"Binary Cross-Entropy: its input must be "
                                         r"probabilities in \[0, 1\], got .*put a Sigmoid") as e:
        run.fit(1)
    assert e.value.node_id == g.node_by_name("Binary Cross-Entropy").id
