"""``nncore train --save``, ``nncore check`` and ``nncore predict`` (issue 12): the
project written by the command line holds its run and weights, check reports them,
train continues from them, predict writes a column per class probability named by the
class and the predicted class, and says clearly what does not fit."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from nncore.cli import main
from nncore.data import load_dataset
from nncore.project.saved import load_project

EXAMPLES = Path(__file__).resolve().parents[2] / "app" / "resources" / "examples"


def _rows(path: Path) -> list[list[str]]:
    with open(path, newline="") as f:
        return list(csv.reader(f))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """digits_mlp trained 3 epochs from the command line with --save."""
    folder = tmp_path_factory.mktemp("cli")
    out = folder / "digits.json"
    assert main(["train", str(EXAMPLES / "digits_mlp.json"), "--epochs", "3",
                 "--save", str(out)]) == 0
    return out


def test_train_save_writes_the_project_with_its_run_and_weights(saved):
    data = json.loads(saved.read_text())
    assert data["version"] == 3 and data["weights"] == "digits.npz"
    (run,) = data["runs"]
    assert run["name"] == "Run 1: adam lr=0.002 · digits" and run["status"] == "finished"
    assert [e["epoch"] for e in run["history"]] == [1, 2, 3]
    assert run["trained"] and data["trained"]["epoch"] == 3
    pf = load_project(saved)
    assert pf.problem is None and len(pf.runs[0].curves["step_loss"]) == 3 * 23


def test_check_reports_the_saved_weights(saved, capsys):
    assert main(["check", str(saved)]) == 0
    out = capsys.readouterr().out
    pf = load_project(saved)
    acc = pf.model.metrics["val_accuracy"]
    assert (f"weights: digits.npz: epoch 3 of 'Run 1: adam lr=0.002 · digits', "
            f"validation accuracy {acc:.2%}") in out
    assert out.rstrip().endswith("ok: the network can be trained")


def test_check_says_what_is_wrong_with_the_weights(saved, tmp_path, capsys):
    shutil.copy(saved, tmp_path / "digits.json")
    (tmp_path / "digits.npz").write_bytes(b"PK\x03\x04 not really")
    assert main(["check", str(tmp_path / "digits.json")]) == 1
    captured = capsys.readouterr()
    assert "weights:" not in captured.out
    assert f"problem: {tmp_path / 'digits.npz'}: not a valid weights file" in captured.err


def test_train_continues_from_the_saved_weights_and_fresh_starts_over(saved, tmp_path,
                                                                      capsys):
    shutil.copy(saved, tmp_path / "digits.json")
    shutil.copy(saved.with_suffix(".npz"), tmp_path / "digits.npz")
    project = tmp_path / "digits.json"
    assert main(["train", str(project), "--epochs", "2", "--save", str(project)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("continuing from the saved weights (digits.npz: epoch 3 ")
    assert any(line.startswith("epoch 4/5 ") for line in lines)
    assert any(line.startswith("trained 2 epochs in ") and "(epochs 4-5)" in line
               for line in lines)
    pf = load_project(project)
    assert pf.model.epoch == 5 and len(pf.runs) == 1
    assert [e["epoch"] for e in pf.runs[0].history] == [1, 2, 3, 4, 5]
    assert len(pf.runs[0].curves["step"]) == 5 * 23
    # the same as five epochs in one go
    straight = tmp_path / "straight.json"
    main(["train", str(EXAMPLES / "digits_mlp.json"), "--epochs", "5", "--save",
          str(straight)])
    capsys.readouterr()
    assert [e["loss"] for e in load_project(straight).runs[0].history] == \
        [e["loss"] for e in pf.runs[0].history]
    assert main(["train", str(project), "--epochs", "1", "--fresh"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first == "starting over from fresh weights (--fresh; digits.npz is not used)"


def test_predict_npz_and_csv_give_class_probabilities_by_name(saved, tmp_path, capsys):
    digits = load_dataset("digits")
    X = digits.X[:7]
    np.savez(tmp_path / "rows.npz", X=X)
    with open(tmp_path / "rows.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([*digits.feature_names, "target"])  # the target column is left out
        for row, y in zip(X, digits.y[:7]):
            w.writerow([*(f"{v:g}" for v in row), y])
    pf = load_project(saved)
    want = pf.model.predict(pf.graph, X)
    for option, rows in (("--npz", "rows.npz"), ("--csv", "rows.csv")):
        out = tmp_path / f"p{option}.csv"
        assert main(["predict", str(saved), option, str(tmp_path / rows),
                     "--out", str(out)]) == 0
        assert capsys.readouterr().out == (f"wrote {out}: 7 predictions (10 class "
                                           "probabilities and the predicted class)\n")
        header, *body = _rows(out)
        assert header == [str(i) for i in range(10)] + ["predicted"]
        got = np.array([[float(v) for v in r[:10]] for r in body])
        np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-12)
        assert [r[10] for r in body] == [str(k) for k in want.argmax(axis=1)]
    # most of the first rows are told right after 3 epochs
    assert sum(r[10] == str(y) for r, y in zip(body, digits.y[:7])) >= 6


def test_predict_without_out_writes_to_standard_output(saved, tmp_path, capsys):
    np.savez(tmp_path / "one.npz", X=load_dataset("digits").X[:1])
    assert main(["predict", str(saved), "--npz", str(tmp_path / "one.npz")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith(",9,predicted") and len(lines) == 2 and lines[1].endswith(",0")


def test_predict_column_mismatch_is_named(saved, tmp_path, capsys):
    digits = load_dataset("digits")
    with open(tmp_path / "short.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(digits.feature_names[:-1])
        w.writerow([0] * 63)
    assert main(["predict", str(saved), "--csv", str(tmp_path / "short.csv")]) == 1
    err = capsys.readouterr().err
    assert "short.csv: the table has 63 columns, the model needs 64 features" in err
    assert "missing 'pixel_7_7'" in err
    np.savez(tmp_path / "wide.npz", X=np.zeros((2, 65), np.float32))
    assert main(["predict", str(saved), "--npz", str(tmp_path / "wide.npz")]) == 1
    assert "wide.npz: the model needs 64 features per row" in capsys.readouterr().err


def test_predict_a_project_without_weights_says_so(tmp_path, capsys):
    np.savez(tmp_path / "rows.npz", X=np.zeros((1, 64), np.float32))
    project = EXAMPLES / "digits_mlp.json"
    assert main(["predict", str(project), "--npz", str(tmp_path / "rows.npz")]) == 1
    err = capsys.readouterr().err
    assert f"{project} holds no trained weights: train it and save it" in err
    assert "--save" in err and "Traceback" not in err


def test_a_table_with_text_labels_keeps_its_mapping_and_pipeline(tmp_path, capsys):
    rng = np.random.default_rng(0)
    rows = []
    for i in range(120):
        label = ("cat", "dog", "eel")[i % 3]
        size = {"cat": 4.0, "dog": 9.0, "eel": 1.0}[label] + rng.normal(0, 0.3)
        colour = ("red", "blue")[i % 2]
        rows.append([f"{size:.3f}", colour, label])
    with open(tmp_path / "pets.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["size", "colour", "kind"])
        w.writerows(rows)
    graph = json.loads((EXAMPLES / "iris_sigmoid.json").read_text())
    (tmp_path / "pets_net.json").write_text(json.dumps(graph))
    out = tmp_path / "pets.json"
    assert main(["train", str(tmp_path / "pets_net.json"), "--csv", str(tmp_path / "pets.csv"),
                 "--epochs", "30", "--save", str(out)]) == 0
    capsys.readouterr()
    pf = load_project(out)
    assert pf.model.classes == ["cat", "dog", "eel"]  # R14: the mapping is saved
    assert pf.model.pipeline is not None and "colour" in json.dumps(pf.model.pipeline)
    # new rows in another column order, without the target
    with open(tmp_path / "new.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["colour", "size"])
        w.writerows([["red", "9.1"], ["blue", "1.1"], ["red", "4.0"]])
    assert main(["predict", str(out), "--csv", str(tmp_path / "new.csv"), "--out",
                 str(tmp_path / "p.csv")]) == 0
    header, *body = _rows(tmp_path / "p.csv")
    assert header == ["cat", "dog", "eel", "predicted"]
    assert [r[3] for r in body] == ["dog", "eel", "cat"]
    # a column the pipeline needs is missing: named
    with open(tmp_path / "bad.csv", "w", newline="") as f:
        csv.writer(f).writerows([["size"], ["3.0"]])
    capsys.readouterr()
    assert main(["predict", str(out), "--csv", str(tmp_path / "bad.csv")]) == 1
    assert "bad.csv: the table lacks the column 'colour' the model was trained on" in \
        capsys.readouterr().err
    # a missing value in a row (the pipeline drops such rows in training): named once
    with open(tmp_path / "gap.csv", "w", newline="") as f:
        csv.writer(f).writerows([["size", "colour"], ["3.0", "red"], ["", "blue"]])
    assert main(["predict", str(out), "--csv", str(tmp_path / "gap.csv")]) == 1
    err = capsys.readouterr().err
    assert "gap.csv: line 3" in err and "gap.csv: gap.csv" not in err, err


def test_fresh_adds_a_run_and_continuing_keeps_its_place(saved, tmp_path, capsys):
    shutil.copy(saved, tmp_path / "digits.json")
    shutil.copy(saved.with_suffix(".npz"), tmp_path / "digits.npz")
    project = str(tmp_path / "digits.json")
    assert main(["train", project, "--epochs", "1", "--fresh", "--save", project]) == 0
    assert main(["train", project, "--epochs", "1", "--save", project]) == 0
    capsys.readouterr()
    pf = load_project(project)
    assert [r.name for r in pf.runs] == ["Run 1: adam lr=0.002 · digits",
                                         "Run 2: adam lr=0.002 · digits"]
    assert [len(r.history) for r in pf.runs] == [3, 2]
    assert pf.trained_run == 1 and pf.model.epoch == 2
    assert pf.runs[0].curves["step_loss"].shape == (3 * 23,)  # the first run's curve kept


def test_predict_a_regression_writes_the_predicted_value(tmp_path, capsys):
    out = tmp_path / "sine.json"
    assert main(["train", str(EXAMPLES / "sine_regression.json"), "--epochs", "3",
                 "--save", str(out)]) == 0
    X = np.linspace(-3, 3, 5, dtype=np.float32).reshape(-1, 1)
    np.savez(tmp_path / "x.npz", X=X)
    assert main(["predict", str(out), "--npz", str(tmp_path / "x.npz"), "--out",
                 str(tmp_path / "p.csv")]) == 0
    assert "5 predicted values" in capsys.readouterr().out
    header, *body = _rows(tmp_path / "p.csv")
    assert header == ["predicted"]
    pf = load_project(out)
    assert pf.model.task == "regression" and pf.model.classes is None
    np.testing.assert_allclose([float(r[0]) for r in body],
                               pf.model.predict(pf.graph, X)[:, 0], rtol=1e-7)
