"""Training from the main window, as a user does it: the panel's buttons drive the worker,
the plots fill, the canvas is read-only while training runs, errors name their node, and
closing the window while training exits cleanly (R19)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox

from app.editor import commands
from app.editor.commands import SetSettings
from app.plots.base import legend_labels

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"
WAIT = 60_000


@pytest.fixture
def digits(window):
    assert window.open_file(EXAMPLES / "digits_mlp.json")
    yield window
    window.controller.shutdown(5.0)


def set_training(window, **values) -> None:
    graph = window.document.graph
    training = {**graph.settings.get("training", {}), **values}
    window.document.push(SetSettings(graph, {**graph.settings, "training": training}))
    window.training_panel.refresh_now()


def click(button) -> None:
    assert button.isEnabled(), button.text()
    QTest.mouseClick(button, Qt.LeftButton)


def curve_points(curve) -> int:
    x, _ = curve.getOriginalDataset()
    return 0 if x is None else len(x)


def test_train_digits_two_epochs_from_the_train_button(digits, qtbot):
    w = digits
    set_training(w, epochs=2)
    with qtbot.waitSignal(w.controller.run_finished, timeout=WAIT):
        click(w.training_panel.train_button)
    assert w.plots_dock.isVisible()  # the plots came to the front
    w.plots.redraw_now()
    run = w.runs.current_run()
    assert run.status == "finished" and len(run.epochs) == 2
    batches = run.progress["batches"]
    items = w.plots.loss.run_items[run.run_id]
    assert curve_points(items.batch) == 2 * batches  # per-batch loss
    assert curve_points(items.val) == 2  # validation per epoch
    assert run.epochs[-1]["val_accuracy"] > 0.85
    # the histogram panel has data for the node clicked on the canvas
    w.scene.select_nodes([w.document.graph.node_by_name("ReLU").id])
    w.plots.redraw_now()
    h = w.plots.histograms
    assert h.shown_key == "ReLU"
    _, counts = h.curve.getOriginalDataset()
    assert counts is not None and counts.sum() > 0
    # the bar reached 100% and the canvas is editable again
    bar = w.training_panel.progress_bar
    assert bar.value() == bar.maximum() > 0
    assert w.controller.state == "idle"
    item = next(iter(w.scene.nodes.values()))
    assert item.flags() & item.GraphicsItemFlag.ItemIsMovable


def test_pause_resume_step_and_stop_buttons(digits, qtbot):
    w, panel = digits, digits.training_panel
    set_training(w, epochs=500)
    click(panel.train_button)
    run = w.runs.current_run()
    qtbot.waitUntil(lambda: len(run.step_loss) > 3, timeout=WAIT)
    item = next(iter(w.scene.nodes.values()))
    assert not item.flags() & item.GraphicsItemFlag.ItemIsMovable  # read-only while training
    click(panel.pause_button)
    qtbot.waitUntil(lambda: w.controller.state == "paused", timeout=5000)
    qtbot.wait(150)  # a batch under way when Pause came may still arrive
    paused_at = len(run.step_loss)
    qtbot.wait(300)
    assert len(run.step_loss) == paused_at
    click(panel.step_batch_button)  # one batch, then paused again
    qtbot.waitUntil(lambda: len(run.step_loss) == paused_at + 1, timeout=5000)
    qtbot.wait(200)
    assert len(run.step_loss) == paused_at + 1 and w.controller.state == "paused"
    click(panel.pause_button)  # the same button resumes
    qtbot.waitUntil(lambda: len(run.step_loss) > paused_at + 5, timeout=WAIT)
    start = time.perf_counter()
    click(panel.stop_button)
    qtbot.waitUntil(lambda: w.controller.state == "idle", timeout=5000)
    assert time.perf_counter() - start < 1.0
    assert run.status in ("stopped", "finished")
    stopped_at = len(run.step_loss)
    qtbot.wait(200)
    assert len(run.step_loss) == stopped_at  # nothing arrives after Stop


def test_step_from_idle_takes_exactly_one_batch(digits, qtbot):
    w = digits
    click(w.training_panel.step_batch_button)
    qtbot.waitUntil(lambda: w.runs.current_run() is not None
                    and len(w.runs.current_run().step_loss) == 1, timeout=WAIT)
    qtbot.wait(300)
    assert len(w.runs.current_run().step_loss) == 1 and w.controller.state == "paused"


def test_an_edit_while_training_asks_to_stop_first(digits, qtbot):
    w = digits
    set_training(w, epochs=500)
    w.start_training()
    run = w.runs.current_run()
    qtbot.waitUntil(lambda: len(run.step_loss) > 2, timeout=WAIT)
    graph = w.document.graph
    relu = graph.node_by_name("ReLU")
    asked = []
    w.ask_stop = lambda: asked.append(1) or QMessageBox.No
    w.document.push(commands.RemoveNodes(graph, [relu.id]))
    assert asked and graph.has_node(relu.id)  # refused: the network is unchanged
    assert w.controller.state == "running"
    w.ask_stop = lambda: asked.append(1) or QMessageBox.Yes
    w.document.push(commands.RemoveNodes(graph, [relu.id]))
    assert len(asked) == 2 and not graph.has_node(relu.id)
    assert w.controller.state == "idle" and run.status == "stopped"


def test_a_nan_run_says_so_and_highlights_the_node(digits, qtbot):
    w = digits
    set_training(w, optimizer="sgd", optimizer_options={"lr": 1e6}, epochs=3)
    with qtbot.waitSignal(w.controller.run_finished, timeout=WAIT):
        w.start_training()
    run = w.runs.current_run()
    assert run.status == "failed"
    text = w.training_panel.message_label.text()
    assert "loss became" in text and w.training_panel._message_error
    selected = w.scene.selected_node_ids()
    assert len(selected) == 1
    name = w.document.graph.node(selected[0]).name
    assert name in text  # the message names the node that is selected on the canvas
    assert w.inspector.shown_node_ids() == selected


def test_a_csv_with_a_bad_value_shows_an_error_and_does_not_train(digits, qtbot, tmp_path):
    w = digits
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,label\n1,2,0\n3,oops,1\n5,6,0\n")
    graph = w.document.graph
    w.document.push(SetSettings(graph, {**graph.settings, "dataset": {
        "source": "csv", "path": str(bad), "target": "label"}}))
    with qtbot.waitSignal(w.controller.run_finished, timeout=WAIT):
        click(w.training_panel.train_button)
    run = w.runs.current_run()
    assert run.status == "failed" and len(run.step_loss) == 0
    text = w.training_panel.message_label.text()
    assert "line 3" in text and "oops" in text and w.training_panel._message_error
    assert w.controller.state == "idle"


def test_an_sgd_run_and_an_adam_run_overlay_in_the_loss_plot(digits, qtbot):
    w = digits
    set_training(w, epochs=1)
    with qtbot.waitSignal(w.controller.run_finished, timeout=WAIT):
        w.start_training()
    set_training(w, optimizer="sgd", optimizer_options={"lr": 0.1, "momentum": 0.9})
    with qtbot.waitSignal(w.controller.run_finished, timeout=WAIT):
        w.start_training()
    w.plots.redraw_now()
    runs = list(w.runs.runs.values())
    assert [r.settings["training"]["optimizer"] for r in runs] == ["adam", "sgd"]
    assert legend_labels(w.plots.loss.legend) == [r.name for r in runs]
    for r in runs:
        assert curve_points(w.plots.loss.run_items[r.run_id].val) == 1
    assert w.plots.runs_table.rowCount() == 2


def test_history_csv_from_the_training_menu(digits, qtbot, tmp_path, monkeypatch):
    w = digits
    set_training(w, epochs=2)
    with qtbot.waitSignal(w.controller.run_finished, timeout=WAIT):
        w.start_training()
    out = tmp_path / "history.csv"
    monkeypatch.setattr("app.main_window.QFileDialog.getSaveFileName",
                        lambda *a, **k: (str(out), "*.csv"))
    w.export_history()
    rows = out.read_text().splitlines()
    assert rows[0].split(",")[0] == "epoch" and len(rows) == 3
    val_loss = rows[0].split(",").index("val_loss")
    run = w.runs.current_run()
    assert np.isclose(float(rows[2].split(",")[val_loss]), run.epochs[-1]["val_loss"])


def test_closing_the_window_while_training_ends_the_thread(window, qtbot):
    assert window.open_file(EXAMPLES / "digits_mlp.json")
    set_training(window, epochs=500)
    window.start_training()
    run = window.runs.current_run()
    qtbot.waitUntil(lambda: len(run.step_loss) > 2, timeout=WAIT)
    thread = window.controller.worker_thread
    window.document.undo_stack.setClean()
    start = time.perf_counter()
    assert window.close()
    assert thread.isFinished() and time.perf_counter() - start < 2.0
    assert window.controller.finished_signals.get(run.run_id, 0) <= 1


def test_r19_close_while_training_exits_cleanly():
    """The application quits 0.8 s after training starts: exit code 0, within seconds,
    and Qt never complains about a thread destroyed while running."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "app", str(EXAMPLES / "digits_mlp.json"),
                           "--train", "1000", "--quit-after", "1500"],
                          capture_output=True, text=True, timeout=60, env=env)
    elapsed = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr
    assert "QThread: Destroyed" not in proc.stderr and "Traceback" not in proc.stderr
    assert elapsed < 30


def test_train_option_saves_a_picture_after_training(tmp_path):
    out = tmp_path / "trained.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run([sys.executable, "-m", "app", str(EXAMPLES / "moons_tanh.json"),
                           "--train", "3", "--tab", "boundary", "--screenshot", str(out),
                           "--size", "1200x800"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    from PySide6.QtGui import QImage

    image = QImage(str(out))
    assert (image.width(), image.height()) == (1200, 800)


def test_train_option_refuses_zero_epochs():
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run([sys.executable, "-m", "app", "--train", "0", "--quit-after", "100"],
                          capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 2 and "at least 1 epoch" in proc.stderr
