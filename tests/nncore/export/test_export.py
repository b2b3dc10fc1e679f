"""The exports against nncore (issue 12): ONNX in onnxruntime and the standalone NumPy
script, for every example and for graphs using every node type, on the raw validation
features (the preprocessing is part of the export). The largest differences are
printed at the end (``pytest -s``) and asserted per case."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from nncore.export import ExportError, export
from nncore.export.plan import plan_from_run

from tests.nncore.export.cases import CASES, table_project, trained_run

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

#: case -> largest |difference| with nncore, per export (printed by the last test)
LARGEST: dict[str, dict[str, float]] = {}


def _record(kind: str, case: str, diff: float) -> None:
    LARGEST.setdefault(kind, {})[case] = diff


# --------------------------------------------------------------------------- ONNX
@pytest.mark.parametrize("case", CASES)
def test_onnx_matches_nncore_on_the_validation_split(case, tmp_path):
    plan = plan_from_run(trained_run(case))
    path = export(plan, "onnx", tmp_path / "model.onnx")[0]
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["task"] == plan.task and json.loads(meta["classes"]) == plan.classes
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    [inp], [out] = session.get_inputs(), session.get_outputs()
    assert inp.name == "features" and out.name == plan.output
    X = plan.data["X_val"]
    assert X.dtype == np.float32 and len(X) > 0
    got = session.run(None, {"features": X})[0]
    want = plan.nncore_output(X)
    assert got.shape == want.shape
    diff = float(np.max(np.abs(got - want)))
    _record("onnx", case, diff)
    assert diff <= 1e-5, f"{case}: ONNX differs from nncore by {diff:.3g}"
    if plan.task == "classification":
        np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-5)
        # the same classes as nncore wherever nncore is not on the fence
        margin = np.sort(want, axis=1)[:, -1] - np.sort(want, axis=1)[:, -2]
        sure = margin > 1e-4
        assert np.array_equal(got[sure].argmax(1), want[sure].argmax(1))


def test_onnx_takes_raw_features_the_standardization_is_inside(tmp_path):
    """The model given standardized features would be wrong: the raw ones are right."""
    plan = plan_from_run(trained_run("moons_tanh"))
    assert plan.mean is not None and np.any(np.abs(plan.mean) > 0.1)
    path = export(plan, "onnx", tmp_path / "m.onnx")[0]
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    X = plan.data["X_val"]
    raw = session.run(None, {"features": X})[0]
    std = session.run(None, {"features": plan.standardize(X)})[0]
    want = plan.nncore_output(X)
    assert np.max(np.abs(raw - want)) <= 1e-5 < np.max(np.abs(std - want))
    ops = [n.op_type for n in onnx.load(str(path)).graph.node]
    assert ops[:4] == ["Cast", "Sub", "Div", "Cast"]


# --------------------------------------------------------------------------- bad input
def test_unknown_format_is_named(tmp_path):
    plan = plan_from_run(trained_run("iris_sigmoid"))
    with pytest.raises(ExportError, match=r"unknown export format 'keras': choose one of "
                                          r"pytorch, numpy, onnx"):
        export(plan, "keras", tmp_path / "x")


def test_a_node_type_without_export_is_named(monkeypatch):
    from nncore.graph.types import node_type

    run = trained_run("iris_sigmoid")
    monkeypatch.setattr(type(node_type("sigmoid")), "export", lambda self, p, i: None)
    with pytest.raises(ExportError, match=r"'Sigmoid' \(Sigmoid, node n3\): the Sigmoid "
                                          r"node type has no export"):
        plan_from_run(run)


def test_an_operator_an_export_does_not_know_is_named(tmp_path, monkeypatch):
    from nncore.graph.types import ExportSpec, node_type

    run = trained_run("iris_sigmoid")
    monkeypatch.setattr(type(node_type("sigmoid")), "export",
                        lambda self, p, i: ExportSpec("Hardswish"))
    plan = plan_from_run(run)
    with pytest.raises(ExportError, match=r"'Sigmoid' \(Sigmoid, node n3\): the ONNX "
                                          r"export has no operator for PyTorch's 'Hardswish'"):
        export(plan, "onnx", tmp_path / "m.onnx")


# --------------------------------------------------------------------------- NumPy
def _run_script(script, *args):
    result = subprocess.run([sys.executable, str(script), *map(str, args)],
                            capture_output=True, text=True, timeout=120,
                            env={"PATH": "/usr/bin:/bin", "PYTHONNOUSERSITE": "1"})
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("case", CASES)
def test_numpy_script_equals_nncore_on_the_validation_split(case, tmp_path):
    """Run in a subprocess, standalone (its own folder, no nncore on the path): the same
    NumPy operations as nncore, so the same numbers."""
    plan = plan_from_run(trained_run(case))
    script, weights = export(plan, "numpy", tmp_path / "model")
    assert script.name == "model.py" and weights.name == "model.npz"
    assert "import nncore" not in script.read_text() and "torch" not in script.read_text()
    X = plan.data["X_val"]
    np.save(tmp_path / "x.npy", X)
    _run_script(script, tmp_path / "x.npy", "-o", tmp_path / "out.npy")
    got = np.load(tmp_path / "out.npy")
    want = plan.nncore_output(X)
    assert got.shape == want.shape and got.dtype == want.dtype
    diff = float(np.max(np.abs(got - want)))
    _record("numpy", case, diff)
    assert diff <= 1e-7, f"{case}: the NumPy script differs from nncore by {diff:.3g}"
    if plan.task == "classification":  # the CSV output: a column per class, then the class
        np.savez(tmp_path / "x.npz", X=X[:3])
        lines = _run_script(script, tmp_path / "x.npz").splitlines()
        assert lines[0].split(",") == [*plan.classes, "predicted"]
        assert [r.split(",")[-1] for r in lines[1:]] == [plan.classes[k] for k in
                                                         want[:3].argmax(1)]


def test_numpy_script_reads_the_table_through_the_project_pipeline(tmp_path):
    """A CSV project: numbers with missing values filled, one-hot and ordinal
    categories, dates expanded; the script reads the CSV itself."""
    from nncore.project import TrainingRun

    run = TrainingRun(table_project(tmp_path))
    run.fit(1)
    plan = plan_from_run(run)
    kinds = {c["kind"] for c in plan.pipeline["columns"]}
    assert kinds == {"number", "category", "date"}
    script, _ = export(plan, "numpy", tmp_path / "table_model.py")
    _run_script(script, tmp_path / "t.csv", "-o", tmp_path / "out.npy")
    got = np.load(tmp_path / "out.npy")
    assert got.shape == (120, 2)
    diff = float(np.max(np.abs(got - plan.nncore_output(run.data.X))))
    _record("numpy", "table (CSV pipeline)", diff)
    assert diff <= 1e-7


def test_onnx_takes_the_tables_columns_through_the_pipeline(tmp_path):
    """A CSV project's ONNX model: one input per column (numbers with NaN for missing,
    categories as their names, dates as their 4 parts), the pipeline inside."""
    import pandas as pd

    from nncore.project import TrainingRun
    from nncore.tables.pipeline import _date_parts, _dates, category_strings

    run = TrainingRun(table_project(tmp_path))
    run.fit(1)
    plan = plan_from_run(run)
    path = export(plan, "onnx", tmp_path / "table.onnx")[0]
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["age", "color", "size", "day"]
    frame = pd.read_csv(tmp_path / "t.csv")
    feeds = {"age": frame["age"].to_numpy(np.float32).reshape(-1, 1),
             "color": category_strings(frame["color"]).fillna("").to_numpy(str).reshape(-1, 1),
             "size": category_strings(frame["size"]).fillna("").to_numpy(str).reshape(-1, 1),
             "day": np.stack(_date_parts(_dates(frame["day"])), axis=1).astype(np.float32)}
    got = session.run(None, feeds)[0]
    diff = float(np.max(np.abs(got - plan.nncore_output(run.data.X))))
    _record("onnx", "table (CSV pipeline)", diff)
    assert diff <= 1e-5


def test_largest_differences_are_reported():
    """Runs last in this file: the largest difference per export over the cases run
    (``pytest -s`` shows them; the README quotes them)."""
    for kind, diffs in LARGEST.items():
        case = max(diffs, key=diffs.get)
        print(f"\n{kind}: largest |difference| with nncore {diffs[case]:.3g} ({case}); "
              f"{len(diffs)} cases")
        assert diffs[case] <= 1e-5


# --------------------------------------------------------------------------- nncore export
def _example(tmp_path, name="iris_sigmoid"):
    from tests.nncore.export.cases import EXAMPLES

    src = next(p for p in EXAMPLES if p.stem == name)
    target = tmp_path / f"{name}.json"
    target.write_text(src.read_text())
    return target


def test_cli_export_without_weights_trains_first_and_says_so(tmp_path, capsys):
    from nncore.cli import main

    project = _example(tmp_path)
    assert main(["export", str(project), "--format", "onnx", "-o", str(tmp_path / "m.onnx"),
                 "--epochs", "2"]) == 0
    first, second = capsys.readouterr().out.splitlines()
    assert first == (f"{project}: it holds no trained weights: training 2 epochs with its "
                     "settings, then exporting that run")
    assert second.startswith("trained 2 epochs, val_loss ") and second.endswith("m.onnx")
    onnx.checker.check_model(onnx.load(str(tmp_path / "m.onnx")))


def test_cli_export_uses_the_projects_saved_weights(tmp_path, capsys):
    """nncore train --save, then nncore export: the NumPy script gives the saved model's
    predictions (nncore predict's numbers), the ONNX model within 1e-5."""
    from nncore.cli import main
    from nncore.project.saved import load_project

    project = _example(tmp_path, "wine_leaky")
    saved = tmp_path / "saved.json"
    assert main(["train", str(project), "--epochs", "2", "--save", str(saved)]) == 0
    capsys.readouterr()
    assert main(["export", str(saved), "--format", "numpy", "-o",
                 str(tmp_path / "wine.py")]) == 0
    assert main(["export", str(saved), "--format", "onnx", "-o",
                 str(tmp_path / "wine.onnx")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{saved}: exporting its saved weights (2 epochs")
    from nncore.export.command import _raw_split

    loaded = load_project(saved)
    X = _raw_split(loaded.graph, tmp_path)["X_val"]
    want = loaded.model.predict(loaded.graph, X)
    np.save(tmp_path / "x.npy", X)
    _run_script(tmp_path / "wine.py", tmp_path / "x.npy", "-o", tmp_path / "out.npy")
    assert np.max(np.abs(np.load(tmp_path / "out.npy") - want)) <= 1e-7
    session = ort.InferenceSession(str(tmp_path / "wine.onnx"),
                                   providers=["CPUExecutionProvider"])
    assert np.max(np.abs(session.run(None, {"features": X})[0] - want)) <= 1e-5


def test_cli_export_refuses_an_unknown_format(tmp_path, capsys):
    from nncore.cli import main

    with pytest.raises(SystemExit) as e:
        main(["export", str(_example(tmp_path)), "--format", "keras", "-o", "x"])
    assert e.value.code == 2
    assert "invalid choice: 'keras' (choose from 'pytorch', 'numpy', 'onnx')" in \
        capsys.readouterr().err


def test_cli_export_names_a_node_without_export(tmp_path, capsys, monkeypatch):
    from nncore.cli import main
    from nncore.graph.types import node_type

    monkeypatch.setattr(type(node_type("sigmoid")), "export", lambda self, p, i: None)
    assert main(["export", str(_example(tmp_path)), "--format", "numpy", "-o",
                 str(tmp_path / "m.py"), "--epochs", "1"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == ("nncore export: error: 'Sigmoid' (Sigmoid, node n3): the Sigmoid node "
                   "type has no export (its export() gives no PyTorch equivalent)")
    assert not (tmp_path / "m.py").exists()
