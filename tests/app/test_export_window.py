"""File → Export Network → PyTorch/NumPy/ONNX… in the window (issue 12): the current
trained run is exported; without one, the window says so and writes nothing."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtWidgets import QFileDialog, QMessageBox

from app.resources import examples_dir

WAIT = 60_000


@pytest.fixture
def iris(window):
    assert window.open_file(examples_dir() / "iris_sigmoid.json")
    yield window
    window.controller.shutdown(5.0)


def test_the_file_menu_has_export_network(iris):
    menu = iris.export_network_menu
    assert [a.text() for a in menu.actions()] == ["PyTorch…", "NumPy…", "ONNX…"]


def test_export_without_a_trained_run_says_so(iris, tmp_path, monkeypatch):
    told, asked = [], []
    monkeypatch.setattr(QMessageBox, "information", lambda *a, **k: told.append(a[2]))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: asked.append(a) or
                        (str(tmp_path / "m.onnx"), ""))
    iris.export_network_actions["onnx"].trigger()
    assert told and told[0].startswith("There is no trained network to export: train it")
    assert not asked and not (tmp_path / "m.onnx").exists()


def test_export_the_trained_run_to_onnx_and_numpy(iris, qtbot, tmp_path, monkeypatch):
    import onnxruntime as ort

    from nncore.export import plan_from_run

    graph = iris.document.graph
    training = {**graph.settings.get("training", {}), "epochs": 2}
    from app.editor.commands import SetSettings
    iris.document.push(SetSettings(graph, {**graph.settings, "training": training}))
    with qtbot.waitSignal(iris.controller.run_finished, timeout=WAIT):
        iris.controller.train()
    qtbot.waitUntil(lambda: iris.controller.trained_run() is not None, timeout=WAIT)
    target = tmp_path / "iris.onnx"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    iris.export_network_actions["onnx"].trigger()
    assert target.exists()
    assert "Exported iris.onnx" in iris.statusBar().currentMessage()
    files = iris.files.export_network("numpy", tmp_path / "iris_np")
    assert [f.name for f in files] == ["iris_np.py", "iris_np.npz"]
    plan = plan_from_run(iris.controller.trained_run()[1])
    X = plan.data["X_val"]
    got = ort.InferenceSession(str(target), providers=["CPUExecutionProvider"]).run(
        None, {"features": X})[0]
    assert np.max(np.abs(got - plan.nncore_output(X))) <= 1e-5
