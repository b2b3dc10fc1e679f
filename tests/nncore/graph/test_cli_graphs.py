"""`nncore check` and `nncore train` on the example graphs and on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nncore.cli import main
from nncore.graph import compile_graph, load_graph
from nncore.project import Project

EXAMPLES = Path(__file__).resolve().parents[3] / "app" / "resources" / "examples"
NAMES = sorted(p.stem for p in EXAMPLES.glob("*.json"))


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nncore", *args], capture_output=True, text=True,
                          timeout=300)


def test_the_required_examples_exist():
    assert {"digits_mlp", "moons_tanh", "spiral_relu", "iris_sigmoid", "wine_leaky"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_check_prints_every_node_and_the_total(name, capsys):
    graph = load_graph(EXAMPLES / f"{name}.json")
    assert main(["check", str(EXAMPLES / f"{name}.json")]) == 0
    out = capsys.readouterr().out
    for node in graph.nodes:
        assert node.name in out
    total = Project(graph, EXAMPLES).analysis().total_params
    assert total > 0 and f"{total} trainable parameters" in out
    assert "ok: the network can be trained" in out


# (example, metric, minimum) -- each example trains to a sensible result as it is
EXPECTED = {"digits_mlp": ("accuracy", 0.97), "moons_tanh": ("accuracy", 0.95),
            "spiral_relu": ("accuracy", 0.90), "iris_sigmoid": ("accuracy", 0.90),
            "wine_leaky": ("accuracy", 0.90), "breast_cancer_bce": ("accuracy", 0.93),
            "sine_regression": ("r2", 0.90), "logistic_operators": ("accuracy", 0.93),
            "digits_operators": ("accuracy", 0.95)}


@pytest.mark.parametrize("name", NAMES)
def test_every_example_trains_to_a_sensible_result(name, tmp_path, capsys):
    metrics = tmp_path / "m.json"
    weights = tmp_path / "w.npz"
    assert main(["train", str(EXAMPLES / f"{name}.json"), "--seed", "0", "--metrics-out", str(metrics),
                 "--save-weights", str(weights)]) == 0
    out = capsys.readouterr().out
    history = json.loads(metrics.read_text())["history"]
    key, minimum = EXPECTED[name]
    final = history[-1] if "restored" not in out else min(history, key=lambda h: h["val_loss"])
    assert final[f"val_{key}"] >= minimum, (name, final)
    assert out.count(" lr ") == len(history)  # one progress line per epoch
    graph = load_graph(EXAMPLES / f"{name}.json")
    model = compile_graph(graph, Project(graph, EXAMPLES).data_shape())
    with np.load(weights, allow_pickle=False) as w:
        model.load_state_dict(dict(w))  # the saved weights fit the graph


def test_digits_reaches_97_percent_within_30_epochs(capsys):
    """The issue's bar: nncore train digits_mlp.json --seed 0 -> >= 97% in <= 30 epochs."""
    assert main(["train", str(EXAMPLES / "digits_mlp.json"), "--seed", "0"]) == 0
    out = capsys.readouterr().out
    assert "up to 30 epochs" in out
    accuracy = float(out.split("validation accuracy ")[1].split("%")[0])
    assert accuracy >= 97.0


def test_overrides_and_a_mismatched_dataset(tmp_path):
    proc = run_cli("train", str(EXAMPLES / "digits_mlp.json"), "--dataset", "iris", "--epochs", "1")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "give the last Dense 3 units" in proc.stderr
    assert proc.stdout == ""  # refused before training: nothing printed but the reason
    proc = run_cli("train", str(EXAMPLES / "iris_sigmoid.json"), "--optimizer", "adam", "--lr", "0.01",
                   "--epochs", "2", "--batch-size", "8", "--patience", "1")
    assert proc.returncode == 0, proc.stderr
    assert "Adam lr=0.01, batch size 8, up to 2 epochs" in proc.stdout


def test_csv_training_and_bad_csv(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((80, 4))
    labels = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")
    lines = ["a,b,c,d,answer"] + [",".join(f"{v:.4f}" for v in row) + f",{lab}" for row, lab in zip(X, labels)]
    good = tmp_path / "good.csv"
    good.write_text("\n".join(lines) + "\n")
    proc = run_cli("train", str(EXAMPLES / "iris_sigmoid.json"), "--csv", str(good), "--target", "answer",
                   "--epochs", "2")
    assert proc.returncode != 0  # iris graph ends in 3 units, the CSV has 2 classes
    assert "give the last Dense 2 units" in proc.stderr
    proc = run_cli("train", str(EXAMPLES / "moons_tanh.json"), "--csv", str(good), "--epochs", "20")
    assert proc.returncode == 0, proc.stderr
    assert "4 features, 2 classes" in proc.stdout and "386 parameters" in proc.stdout  # 354 on 2 features
    lines[5] = "1.0,,0.5,0.2,yes"  # a missing value: the row is dropped, and said so
    gap = tmp_path / "gap.csv"
    gap.write_text("\n".join(lines) + "\n")
    proc = run_cli("train", str(EXAMPLES / "moons_tanh.json"), "--csv", str(gap), "--epochs", "1")
    assert proc.returncode == 0, proc.stderr
    assert "gap.csv: 80 rows, 1 dropped (missing values: 1); no column encoded; none ignored" \
        in proc.stdout
    lines[5] = "1.0,abc,0.5,0.2,yes"
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    proc = run_cli("train", str(EXAMPLES / "moons_tanh.json"), "--csv", str(bad), "--epochs", "1")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "bad.csv: line 6, column 2 ('b'): 'abc' is not a number" in proc.stderr
    header_only = tmp_path / "empty.csv"
    header_only.write_text("a,b,label\n")
    proc = run_cli("train", str(EXAMPLES / "moons_tanh.json"), "--csv", str(header_only), "--epochs", "1")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr and "epoch 1" not in proc.stdout


@pytest.mark.parametrize("content,message", [
    ('{"format": "nncanvas-graph", "version": 1, "nodes": [', "not valid JSON at line"),
    ("not json at all", "not valid JSON"),
    ('{"format": "nncanvas-graph", "version": 7}', "newer NN Canvas"),
    ('{"format": "nncanvas-graph", "version": 1, "nodes": [{"id": "n1", "type": "lstm"}]}', "unknown node type 'lstm'"),
    ('{"format": "nncanvas-graph", "version": 1, "nodes": [{"id": "n1", "type": "dense", "params": {"units": 0}}]}',
     r"units must be in [1, 100000], got 0"),
    ('{"format": "nncanvas-graph", "version": 1, "nodes": [{"id": "n1", "type": "relu"}], '
     '"edges": [{"from": ["n1", "output"], "to": ["n2", "input"]}]}', "refers to node 'n2'"),
    ('{"format": "nncanvas-graph", "version": 1, "nodes": [{"id": "a", "type": "relu"}, {"id": "b", "type": "tanh"}], '
     '"edges": [{"from": ["a", "output"], "to": ["b", "input"]}, {"from": ["b", "output"], "to": ["a", "input"]}]}',
     "would make a cycle"),
])
def test_bad_files_give_one_line_and_exit_1(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    for command in ("check", "train"):
        proc = run_cli(command, str(path))
        assert proc.returncode == 1, proc
        assert "Traceback" not in proc.stderr
        assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_check_reports_problems_with_exit_1(tmp_path):
    path = tmp_path / "unfinished.json"
    path.write_text('{"format": "nncanvas-graph", "version": 1, "nodes": [{"id": "n1", "type": "input"}, '
                    '{"id": "n2", "type": "dense"}]}')
    proc = run_cli("check", str(path))
    assert proc.returncode == 1
    assert "problem: Dense: nothing is connected to 'input'" in proc.stderr
    assert "exactly one loss node" in proc.stderr


def _csv(path, rows, header="a,b,target", sep=","):
    path.write_text(header.replace(",", sep) + "\n" + "\n".join(sep.join(str(v) for v in r) for r in rows) + "\n")
    return path


def test_integer_targets_are_values_for_a_regression_graph(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 10, (120, 2))
    age = np.round(X[:, 0] * 3 + X[:, 1]).astype(int)  # whole numbers: would look like classes
    path = _csv(tmp_path / "age.csv", [(f"{a:.3f}", f"{b:.3f}", t) for (a, b), t in zip(X, age)])
    with _no_warnings():
        assert main(["train", str(EXAMPLES / "sine_regression.json"), "--csv", str(path),
                     "--epochs", "30"]) == 0
    out = capsys.readouterr().out
    assert "R2" in out and "classes" not in out
    assert main(["train", str(EXAMPLES / "sine_regression.json"), "--csv", str(path), "--task",
                 "classification", "--epochs", "1"]) == 1  # MSE cannot take class labels


class _no_warnings:
    def __enter__(self):
        import warnings
        self._w = warnings.catch_warnings(record=True)
        self.caught = self._w.__enter__()
        warnings.simplefilter("always")

    def __exit__(self, *exc):
        self._w.__exit__(*exc)
        assert not [w for w in self.caught if "Split" in type(w.message).__name__], self.caught


def test_target_by_negative_index_delimiter_and_data_options(tmp_path, capsys):
    rows = [(i % 2, (i * 7) % 5, "yes" if i % 2 else "no") for i in range(40)]
    path = _csv(tmp_path / "semi.csv", rows, sep=";")
    assert main(["train", str(EXAMPLES / "moons_tanh.json"), "--csv", str(path), "--delimiter", ";",
                 "--target", "-1", "--epochs", "2"]) == 0
    assert "2 classes" in capsys.readouterr().out
    assert main(["train", str(EXAMPLES / "moons_tanh.json"), "--data-option", "n_samples=100",
                 "--data-option", "noise=0.3", "--epochs", "1"]) == 0
    assert "80 training, 20 validation" in capsys.readouterr().out
    assert main(["train", str(EXAMPLES / "moons_tanh.json"), "--data-option", "noise=7", "--epochs", "1"]) == 1
    assert "dataset.options.noise must be in [0, 1], got 7" in capsys.readouterr().err


def test_outputs_are_checked_before_training_and_written_exactly(tmp_path, capsys):
    assert main(["train", str(EXAMPLES / "iris_sigmoid.json"), "--epochs", "1",
                 "--metrics-out", str(tmp_path / "missing" / "h.json")]) == 1
    err = capsys.readouterr()
    assert "--metrics-out" in err.err and "does not exist" in err.err and "epoch 1" not in err.out
    weights = tmp_path / "w_noext"
    assert main(["train", str(EXAMPLES / "iris_sigmoid.json"), "--epochs", "1",
                 "--save-weights", str(weights), "--metrics-out", str(tmp_path / "h.json")]) == 0
    assert weights.exists() and not (tmp_path / "w_noext.npz").exists()
    history = json.loads((tmp_path / "h.json").read_text())
    assert set(history["final"]["val_per_class_accuracy"]) == {"setosa", "versicolor", "virginica"}
    import os
    mask = os.umask(0)
    os.umask(mask)
    assert (weights.stat().st_mode & 0o777) == (tmp_path / "h.json").stat().st_mode & 0o777 == 0o666 & ~mask


def test_switching_optimizer_starts_from_its_defaults(capsys):
    assert main(["train", str(EXAMPLES / "spiral_relu.json"), "--optimizer", "adadelta", "--epochs", "1"]) == 0
    assert "Adadelta lr=1," in capsys.readouterr().out


def test_check_derives_the_input_from_the_dataset_like_train(tmp_path, capsys):
    from nncore.graph import Graph, save_graph

    g = Graph()
    inp = g.add_node("input")
    d = g.add_node("dense", params={"units": 3})
    loss = g.add_node("cross_entropy")
    g.connect(inp.id, "features", d.id, "input")
    g.connect(d.id, "output", loss.id, "input")
    g.connect(inp.id, "labels", loss.id, "target")
    g.settings = {"dataset": {"name": "iris"}}
    save_graph(tmp_path / "g.json", g)
    assert main(["check", str(tmp_path / "g.json")]) == 0
    out = capsys.readouterr().out
    assert "dataset: iris: 150 samples, 4 features, 3 classes" in out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.split()}
    assert rows["Input"][2:4] == ["(N,", "4);"] and rows["Dense"][-1] == str(4 * 3 + 3)
    assert "total: 3 nodes, 3 wires, 15 trainable parameters" in out
    assert main(["check", str(tmp_path / "g.json"), "--no-data"]) == 1
    assert "Input: no dataset yet" in capsys.readouterr().err
    text = (tmp_path / "g.json").read_text().replace('"iris"', '"spirals"')
    (tmp_path / "bad.json").write_text(text)
    assert main(["check", str(tmp_path / "bad.json")]) == 1
    assert "'spirals' is not a built-in dataset" in capsys.readouterr().err
