"""Keeping what was trained (issue 12): train the digits in the window, Save, open the
file in a new window: the runs table lists the run, the loss curves have the same
points, the confusion matrix is the same, the model predicts bit for bit as before, and
Train continues it (the epochs count on)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox

from app.editor.commands import SetSettings
from app.resources import examples_dir
from nncore.tensor import Tensor, no_grad

WAIT = 60_000


def _window(qtbot):
    from app.main_window import MainWindow

    w = MainWindow(theme="light", persist=False)
    w.ask_save = lambda: QMessageBox.Discard
    qtbot.addWidget(w)
    w.resize(1300, 800)
    w.show()
    qtbot.waitExposed(w, timeout=5000)
    return w


@pytest.fixture
def windows(qtbot):
    made = []

    def make():
        w = _window(qtbot)
        made.append(w)
        return w

    yield make
    for w in made:
        w.controller.shutdown(5.0)
        w.document.undo_stack.setClean()
        w.document._results = False
        w.close()


def _train(w, qtbot, epochs: int) -> None:
    graph = w.document.graph
    if graph.settings.get("training", {}).get("epochs") != epochs:
        w.document.push(SetSettings(graph, {**graph.settings, "training": {
            **graph.settings.get("training", {}), "epochs": epochs}}))
        w.training_panel.refresh_now()
    with qtbot.waitSignal(w.controller.run_finished, timeout=WAIT):
        QTest.mouseClick(w.training_panel.train_button, Qt.LeftButton)
    w.plots.redraw_now()


def _scores(w) -> np.ndarray:
    _, run = w.controller.trained_run()
    run.model.eval()
    with no_grad():
        return run.model(Tensor(run.split.X_val)).data.copy()


def _curve(item) -> tuple[np.ndarray, np.ndarray]:
    x, y = item.getOriginalDataset()
    return np.array(x), np.array(y)


def test_save_then_open_in_a_new_window_restores_runs_model_and_training(windows, qtbot,
                                                                         tmp_path):
    first = windows()
    assert first.open_file(examples_dir() / "digits_mlp.json")
    _train(first, qtbot, 3)
    assert first.document.modified  # a finished run is unsaved work: the title says so
    assert first.isWindowModified()
    run = first.runs.current_run()
    scores = _scores(first)
    batch_x, batch_y = _curve(first.plots.loss.run_items[run.run_id].batch)
    val_x, val_y = _curve(first.plots.loss.run_items[run.run_id].val)
    matrix = first.plots.confusion.matrix.copy()
    assert first.save_to(tmp_path / "digits.json")
    assert not first.document.modified and not first.isWindowModified()
    data = json.loads((tmp_path / "digits.json").read_text())
    assert data["version"] == 3 and data["weights"] == "digits.npz"
    assert data["trained"]["epoch"] == 3 and data["trained"]["classes"] == [str(i) for i in
                                                                            range(10)]
    assert [r["name"] for r in data["runs"]] == [run.name]

    second = windows()
    assert second.open_file(tmp_path / "digits.json")
    second.plots.redraw_now()
    table = second.plots.runs_table
    assert table.rowCount() == 1
    restored = second.runs.current_run()
    assert restored.name == run.name and restored.status == "finished"
    assert restored.epochs == run.epochs
    assert table.row_of(restored.run_id) == 0
    items = second.plots.loss.run_items[restored.run_id]
    for got, want in ((_curve(items.batch), (batch_x, batch_y)),
                      (_curve(items.val), (val_x, val_y))):
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
    second.plots.redraw_now()
    np.testing.assert_array_equal(second.plots.confusion.matrix, matrix)
    assert second.controller.trained_run() is not None
    np.testing.assert_array_equal(_scores(second), scores)  # bit for bit
    assert not second.document.modified
    before = (tmp_path / "digits.json").read_bytes()
    assert second.save_to(tmp_path / "digits.json")  # open, save: the same file
    assert (tmp_path / "digits.json").read_bytes() == before

    # Train continues from the saved weights: the epochs count on, in the same run
    _train(second, qtbot, 3)
    again = second.runs.current_run()
    assert again.run_id == restored.run_id and len(second.runs.runs) == 1
    assert [e["epoch"] for e in again.epochs] == [1, 2, 3, 4, 5, 6]
    # ... exactly as the first window training on
    _train(first, qtbot, 3)
    assert [e["loss"] for e in first.runs.current_run().epochs] == \
        [e["loss"] for e in again.epochs]


def test_a_damaged_weights_file_is_said_and_the_project_opens(windows, qtbot, tmp_path):
    first = windows()
    assert first.open_file(examples_dir() / "digits_mlp.json")
    _train(first, qtbot, 1)
    assert first.save_to(tmp_path / "digits.json")
    weights = tmp_path / "digits.npz"
    weights.write_bytes(weights.read_bytes()[:-300])  # truncated

    second = windows()
    messages = []
    second.controller.message.connect(lambda text, error: messages.append((text, error)))
    assert second.open_file(tmp_path / "digits.json")
    assert len(second.document.graph) == 6  # the network is there
    assert len(second.runs.runs) == 1  # and the run with its history
    assert second.controller.trained_run() is None
    assert any(error and "digits.npz" in text and "without its trained model" in text
               for text, error in messages), messages


def test_an_old_project_file_opens_as_before(windows, tmp_path):
    w = windows()
    assert w.open_file(examples_dir() / "moons_tanh.json")
    assert not w.runs.runs and w.controller.trained_run() is None
    assert not w.document.modified


def test_a_setting_changed_after_training_keeps_the_model_with_a_fresh_optimizer(
        windows, qtbot, tmp_path):
    first = windows()
    assert first.open_file(examples_dir() / "digits_mlp.json")
    _train(first, qtbot, 2)
    scores = _scores(first)
    graph = first.document.graph
    first.document.push(SetSettings(graph, {**graph.settings, "training": {
        **graph.settings["training"], "epochs": 1}}))  # after training: not what it used
    assert first.controller.trained_run() is None  # the next Train would be a new run
    assert first.save_to(tmp_path / "digits.json")
    assert json.loads((tmp_path / "digits.json").read_text())["trained"]["epoch"] == 2

    second = windows()
    messages = []
    second.controller.message.connect(lambda text, error: messages.append((text, error)))
    assert second.open_file(tmp_path / "digits.json")
    np.testing.assert_array_equal(_scores(second), scores)  # the weights are kept
    assert any("the optimizer starts afresh" in text and not error for text, error in messages)
    _train(second, qtbot, 1)
    assert [e["epoch"] for e in second.runs.current_run().epochs] == [1, 2, 3]
    assert len(second.runs.runs) == 1


def test_weights_saved_beside_an_older_file_are_used_and_saved_again(windows, qtbot,
                                                                      tmp_path):
    from nncore.graph import load_graph, save_graph
    from nncore.project import TrainingRun

    graph = load_graph(examples_dir() / "digits_mlp.json")
    run = TrainingRun(graph)
    run.fit(1)
    save_graph(tmp_path / "old.json", graph, weights=run.model.state_dict())  # version 2
    run.model.eval()
    with no_grad():
        scores = run.model(Tensor(run.split.X_val)).data
    w = windows()
    assert w.open_file(tmp_path / "old.json")
    (restored,) = w.runs.runs.values()
    assert restored.name.endswith("weights from old.npz") and restored.epochs == []
    np.testing.assert_array_equal(_scores(w), scores)
    w.document.results_changed()
    assert w.save_to(tmp_path / "old.json")  # no longer saved without them
    data = json.loads((tmp_path / "old.json").read_text())
    assert data["weights"] == "old.npz" and data["version"] == 3
    assert data["runs"][0]["trained"] and data["trained"]["features"] == [64]
