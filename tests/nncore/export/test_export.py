"""The exports against nncore (issue 12): ONNX in onnxruntime and the standalone NumPy
script, for every example and for graphs using every node type, on the raw validation
features (the preprocessing is part of the export). The largest differences are
printed at the end (``pytest -s``) and asserted per case."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nncore.export import ExportError, export
from nncore.export.plan import plan_from_run

from tests.nncore.export.cases import CASES, trained_run

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
