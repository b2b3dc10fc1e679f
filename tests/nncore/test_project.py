"""The project layer: one data recipe, the Input derived from the data, what a run
belongs to."""

from __future__ import annotations

import json

import pytest

from nncore.data import DATASETS, csv_columns, is_header, load_csv
from nncore.graph import Graph, dumps
from nncore.project import Project, TrainingRun, data_shape, load_data, run_key
from nncore.project.settings import DatasetSettings


def network(units: int = 3, loss: str = "cross_entropy") -> Graph:
    g = Graph()
    inp = g.add_node("input")
    d = g.add_node("dense", (200, 0), {"units": units})
    out = g.add_node(loss, (400, 0))
    g.connect(inp.id, "features", d.id, "input")
    g.connect(d.id, "output", out.id, "input")
    g.connect(inp.id, "labels", out.id, "target")
    return g


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_every_builtin_dataset_gives_the_input_its_shape(name):
    g = network()
    g.set_settings({"dataset": {"name": name}})
    data = load_data(DatasetSettings.from_dict({"name": name}))
    shape = Project(g).data_shape()
    assert shape.features == (data.n_features,) and shape.task == data.task
    analysis = Project(g).analysis()
    dense = g.nodes[1].id
    assert analysis.params[dense] == data.n_features * 3 + 3
    assert str(analysis.shapes[(g.nodes[0].id, "features")]) == f"(N, {data.n_features})"
    problems = [text for _, text in Project(g).problems()]
    if data.task == "classification" and data.num_classes != 3:
        assert any(f"give the last Dense {data.num_classes} units" in p for p in problems)
    elif data.task == "classification":
        assert problems == []


def test_a_csv_gives_its_shape_and_a_loss_that_wants_values_reads_numbers(tmp_path):
    (tmp_path / "d.csv").write_text("a,b,c,y\n" + "\n".join(
        f"{i},{i % 3},{i * 2},{i % 4}" for i in range(20)) + "\n")
    g = network(units=4)
    g.set_settings({"dataset": {"source": "csv", "path": "d.csv"}})
    project = Project(g, tmp_path)
    assert project.data_shape().features == (3,) and project.data_shape().classes == 4
    assert project.analysis().ok
    g2 = network(units=1, loss="mse")  # whole numbers, but MSE wants values
    g2.set_settings({"dataset": {"source": "csv", "path": "d.csv"}})
    shape = Project(g2, tmp_path).data_shape()
    assert shape.task == "regression" and shape.targets == 1
    assert Project(g2, tmp_path).analysis().ok
    # without the folder the relative path means nothing: said, not a traceback
    problems = Project(g2).problems()
    assert problems == [(g2.nodes[0].id, problems[0][1])]  # one, pinned to the Input
    assert "d.csv: no such file" in problems[0][1]
    assert Project(g2).data_shape() is None


def test_the_csv_header_rule_is_one_rule(tmp_path):
    """The panel's column list and load_csv disagreed on a file starting ",2,3"."""
    (tmp_path / "a.csv").write_text(",2,3\n1,2,0\n4,5,1\n")
    names, header = csv_columns(tmp_path / "a.csv")
    assert header is False and names == ["x1", "x2", "x3"]
    d = load_csv(tmp_path / "a.csv")  # line 1 is data to load_csv too: its x1 is missing
    assert d.pipeline.report.dropped == {"missing values": 1}
    assert d.X.tolist() == [[1, 2], [4, 5]]
    (tmp_path / "b.csv").write_text("x,,label\n1,2,0\n3,4,1\n")
    assert csv_columns(tmp_path / "b.csv") == (["x", "x2", "label"], True)
    assert load_csv(tmp_path / "b.csv").feature_names == ["x", "x2"]
    assert is_header(["a", "b"], None) and not is_header(["1", "2"], ["a", "b"])
    assert not is_header(["1", "2", "cat"], ["3", "4", "dog"])


def test_a_training_run_never_changes_the_callers_graph():
    g = network()
    g.set_settings({"dataset": {"name": "iris"}, "training": {"epochs": 1}})
    before = dumps(g)
    run = TrainingRun(g)
    run.fit(1)
    assert dumps(g) == before
    assert run.graph is not g and run.shape == data_shape(run.data)
    assert run.model.num_classes == 3 and run.model.features == (4,)


def test_a_run_belongs_to_its_project(tmp_path):
    """Same graph text in two folders, each with its own data.csv: another key, so the
    second project starts a new run; a changed file gives another key too."""
    a, b = tmp_path / "a", tmp_path / "b"
    rows = "\n".join(f"{i},{i % 2}" for i in range(10))
    for folder in (a, b):
        folder.mkdir()
        (folder / "data.csv").write_text("x,y\n" + rows + "\n")
    g = network(units=2)
    g.set_settings({"dataset": {"source": "csv", "path": "data.csv"}})
    text = dumps(g)
    key_a = run_key(text, a)
    assert run_key(text, a) == key_a  # unchanged: the run continues
    assert run_key(text, b) != key_a  # another project's file
    moved = json.loads(text)
    moved["nodes"][0]["position"] = [500, 500]
    assert run_key(json.dumps(moved), a) == key_a  # moving a card is no change
    (a / "data.csv").write_text("x,y\n" + rows + "\n11,0\n")
    assert run_key(text, a) != key_a  # the data changed
    builtin = network()
    builtin.set_settings({"dataset": {"name": "iris"}})
    assert run_key(dumps(builtin), a) == run_key(dumps(builtin), b)  # no file: same run
