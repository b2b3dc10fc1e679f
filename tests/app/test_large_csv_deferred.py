"""A CSV over LARGE_FILE_BYTES is read only by the Data section's worker thread: the
canvas, the inspector and the Data tab do not read it in the GUI thread meanwhile (they
see DataPending), and all of them show its shapes once it is in (issue 11: the event
loop is never blocked by a load)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from app.editor.commands import SetSettings
from app.resources import example_path
from nncore.project import data as project_data
from nncore.project.data import LARGE_FILE_BYTES, DataPending


@pytest.fixture
def big_csv(tmp_path):
    rng = np.random.default_rng(0)
    rows = 32_000
    X = rng.normal(size=(rows, 8))
    y = rng.integers(0, 10, rows)  # the digits example's 10 outputs
    path = tmp_path / "big.csv"
    with open(path, "w") as f:
        f.write(",".join(f"f{i}" for i in range(8)) + ",label\n")
        for r in range(rows):
            f.write(",".join(f"{v:.5f}" for v in X[r]) + f",c{y[r]}\n")
    assert path.stat().st_size > LARGE_FILE_BYTES
    return path


def test_a_large_csv_is_read_in_the_worker_only_and_then_shown_everywhere(
        window, big_csv, qtbot, monkeypatch):
    w = window
    assert w.open_file(example_path("digits_mlp"))
    reads = []
    real = project_data.load_data

    def counting(*args, **kwargs):
        reads.append(threading.current_thread() is threading.main_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(project_data, "load_data", counting)
    graph = w.document.graph
    loader = w.training_panel.data_group.loader
    with qtbot.waitSignal(loader.loaded, timeout=60_000):
        w.document.push(SetSettings(graph, {**graph.settings, "dataset": {
            "source": "csv", "path": str(big_csv), "target": "label"}}))
        # meanwhile: the project says it is being read, without reading it here
        with pytest.raises(DataPending, match=r"big\.csv \(\d+ MB\) is being read"):
            w.document.project.load_data()
        shape, why = w.document.project.data_state()
        assert shape is None and "is being read" in why
        w.scene.refresh()
        w.inspector.refresh_now()
    assert reads == [False]  # one read, in the worker thread
    inp = next(n.id for n in graph.nodes if n.type_id == "input")
    qtbot.waitUntil(lambda: w.scene.nodes[inp].data is not None, timeout=5000)
    data = w.scene.nodes[inp].data
    assert data.features == (8,) and data.classes == 10
    assert w.document.project.data_shape().features == (8,)
    assert reads == [False]  # the canvas and the inspector took it from the cache


def test_a_saved_model_on_a_large_csv_is_restored_once_the_worker_has_read_it(
        window, big_csv, qtbot, tmp_path, monkeypatch):
    w = window
    assert w.open_file(example_path("digits_mlp"))
    graph = w.document.graph
    loader = w.training_panel.data_group.loader
    with qtbot.waitSignal(loader.loaded, timeout=60_000):
        w.document.push(SetSettings(graph, {**graph.settings, "dataset": {
            "source": "csv", "path": str(big_csv), "target": "label"},
            "training": {**graph.settings.get("training", {}), "epochs": 1}}))
    with qtbot.waitSignal(w.controller.run_finished, timeout=60_000):
        w.start_training()
    qtbot.waitUntil(lambda: w.controller.trained_run() is not None, timeout=10_000)
    run_id, run = w.controller.trained_run()
    before = run.predict_proba(run.data.X[:20])  # raw rows through the run's preprocessing
    saved = tmp_path / "big_project.json"
    assert w.save_to(saved)
    project_data._DATA_CACHE.clear()  # a new session: nothing read yet
    reads = []
    real = project_data.load_data

    def counting(*args, **kwargs):
        reads.append(threading.current_thread() is threading.main_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(project_data, "load_data", counting)
    said = []
    w.controller.message.connect(lambda text, error: said.append(text))
    with qtbot.waitSignal(loader.loaded, timeout=60_000):
        assert w.open_file(saved)
        assert w.controller.trained_run() is None  # waiting for the data
        assert any("the trained model is restored once it is in" in t for t in said), said
    qtbot.waitUntil(lambda: w.controller.trained_run() is not None, timeout=5000)
    assert reads == [False]  # read once, in the worker
    _, restored = w.controller.trained_run()
    np.testing.assert_array_equal(restored.predict_proba(restored.data.X[:20]), before)
    assert any("restored after 1 epoch" in t for t in said), said


def test_a_cancelled_or_failed_large_read_is_said_not_left_being_read(
        window, big_csv, qtbot, tmp_path):
    w = window
    assert w.open_file(example_path("digits_mlp"))
    graph = w.document.graph
    loader = w.training_panel.data_group.loader
    def cancel_now(_fraction):
        loader.cancel()  # Cancel after the first chunk

    loader.progress.connect(cancel_now)
    with qtbot.waitSignal(loader.cancelled, timeout=30_000):
        w.document.push(SetSettings(graph, {**graph.settings, "dataset": {
            "source": "csv", "path": str(big_csv), "target": "label"}}))
    loader.progress.disconnect(cancel_now)
    shape, why = w.document.project.data_state()
    assert shape is None and "its reading was cancelled (Reload reads it)" in why, why
    inp = next(n.id for n in graph.nodes if n.type_id == "input")
    problems = " ".join(t for _, t in w.document.project.problems())
    assert "cancelled" in problems and "is being read" not in problems
    with qtbot.waitSignal(loader.loaded, timeout=30_000):  # Reload reads it after all
        w.training_panel.data_group.reload_data()
    assert w.document.project.data_shape().features == (8,)
    # a large file that cannot be read: its error, known from the worker's read
    bad = tmp_path / "bad.csv"
    text = big_csv.read_text().splitlines()
    text[5000] += ",1,2,3"  # a row with too many fields
    bad.write_text("\n".join(text) + "\n")
    with qtbot.waitSignal(loader.failed, timeout=30_000):
        w.document.push(SetSettings(graph, {**graph.settings, "dataset": {
            "source": "csv", "path": str(bad), "target": "label"}}))
    shape, why = w.document.project.data_state()
    assert shape is None and "line 5001 has 12 fields, expected 9" in why, why
    assert w.scene.nodes[inp].data is None
