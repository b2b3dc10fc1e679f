"""Training from the main window, as a user does it: the panel's buttons drive the worker,
the plots fill, the canvas is read-only while training runs, errors name their node, and
closing the window while training exits cleanly (R19)."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox

from app.editor import commands
from app.editor.commands import SetSettings
from app.plots.base import legend_labels
from app.resources import examples_dir

EXAMPLES = examples_dir()
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
    # the batches trained before the pause took hold may still be on their way
    # (and the batch under way when the pause came finishes first: look twice)
    trainer = w.controller.worker.trainer
    for _ in range(2):
        qtbot.waitUntil(lambda: len(run.step_loss) == trainer.global_step, timeout=5000)
        qtbot.wait(100)
    qtbot.waitUntil(lambda: len(run.step_loss) == trainer.global_step, timeout=5000)
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
    w.ask_stop = lambda action="edit": asked.append(1) or QMessageBox.No
    w.document.push(commands.RemoveNodes(graph, [relu.id]))
    assert asked and graph.has_node(relu.id)  # refused: the network is unchanged
    assert w.controller.state == "running"
    w.ask_stop = lambda action="edit": asked.append(1) or QMessageBox.Yes
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
    """The data is checked before any run is made: no "failed" run in the table or the
    legend, the panel says why (file, line, column) in red, and the progress of the
    run before is cleared."""
    w, panel = digits, digits.training_panel
    set_training(w, epochs=1)
    with qtbot.waitSignal(w.controller.run_finished, timeout=WAIT):
        click(panel.train_button)
    assert panel.progress_label.text().startswith("epoch\u00a01/1")
    before = dict(w.runs.runs)
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,label\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n9,abc,0\n")
    graph = w.document.graph
    w.document.push(SetSettings(graph, {**graph.settings, "dataset": {
        "source": "csv", "path": str(bad), "target": "label"}}))
    panel.refresh_now()
    assert "line 6" in (panel.data_error or "")  # the preview already says so
    finished = []
    w.controller.run_finished.connect(finished.append)
    click(panel.train_button)
    qtbot.wait(300)
    assert finished == [] and w.runs.runs == before  # no run was made
    assert w.start_training() is None
    click(panel.step_batch_button)  # Step from idle is refused the same way
    qtbot.wait(300)
    assert finished == [] and w.runs.runs == before and w.controller.state == "idle"
    w.plots.redraw_now()
    assert w.plots.runs_table.rowCount() == len(before)
    assert legend_labels(w.plots.loss.legend) == [r.name for r in before.values()]
    text = panel.message_label.text()
    assert "bad.csv" in text and "line 6" in text and "column 2" in text and "abc" in text
    assert "Training stopped" not in text and panel._message_error
    assert "epoch" not in panel.progress_label.text()  # the last run's progress is gone
    assert panel.progress_bar.value() == 0
    assert w.controller.state == "idle" and panel.train_button.isEnabled()


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
    """Training → Export History as CSV saves the epochs of every run (an Adam run of 2
    epochs, an SGD run of 1), a first column naming the run; a run without epochs is
    left out."""
    w = digits
    set_training(w, epochs=2)
    with qtbot.waitSignal(w.controller.run_finished, timeout=WAIT):
        w.start_training()
    set_training(w, epochs=1, optimizer="sgd", optimizer_options={"lr": 0.1})
    with qtbot.waitSignal(w.controller.run_finished, timeout=WAIT):
        w.start_training()
    adam, sgd = list(w.runs.runs.values())
    assert [len(adam.epochs), len(sgd.epochs)] == [2, 1]
    w.runs.new_run({}, "no epochs")  # current now, and skipped
    out = tmp_path / "history.csv"
    monkeypatch.setattr("PySide6.QtWidgets.QFileDialog.getSaveFileName",
                        lambda *a, **k: (str(out), "*.csv"))
    w.export_history()
    with out.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    assert header[:2] == ["run", "epoch"] and "val_loss" in header and "accuracy" in header
    assert len(rows) == 1 + 2 + 1
    assert [r[0] for r in rows[1:]] == [adam.name, adam.name, sgd.name]
    assert [int(r[1]) for r in rows[1:]] == [1, 2, 1]
    val_loss = header.index("val_loss")
    expected = [e["val_loss"] for e in adam.epochs + sgd.epochs]
    np.testing.assert_allclose([float(r[val_loss]) for r in rows[1:]], expected, rtol=1e-9)
    assert "2 runs" in w.statusBar().currentMessage()


def test_history_csv_to_an_unwritable_path_warns(window, tmp_path, monkeypatch):
    w = window
    asked = []
    monkeypatch.setattr("PySide6.QtWidgets.QFileDialog.getSaveFileName",
                        lambda *a, **k: asked.append(1) or (str(bad), "*.csv"))
    warnings = []
    monkeypatch.setattr("PySide6.QtWidgets.QMessageBox.warning",
                        lambda *a, **k: warnings.append(a[2]))
    bad = tmp_path / "no such folder" / "history.csv"
    w.export_history()  # no run yet: said in the status bar, no dialog
    assert not asked and "No training history" in w.statusBar().currentMessage()
    run = w.runs.new_run({}, "fake")
    run.epochs = [{"epoch": 1, "loss": 0.5}]
    w.export_history()  # no exception
    assert asked and len(warnings) == 1
    assert str(bad) in warnings[0] and "No such file or directory" in warnings[0]
    assert not bad.parent.exists()


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


@pytest.mark.parametrize("quit_after_ms", [1500, 50])
def test_r19_close_while_training_exits_cleanly(quit_after_ms, tmp_path):
    """The application quits while training (1.5 s in, or 50 ms in: before the worker
    has even begun the run, whose Stop was once lost): exit code 0, within seconds, and
    Qt never complains about a thread destroyed while running."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path))
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "app", str(EXAMPLES / "digits_mlp.json"),
                           "--train", "3000", "--quit-after", str(quit_after_ms)],
                          capture_output=True, text=True, timeout=60, env=env)
    elapsed = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr
    assert "QThread: Destroyed" not in proc.stderr and "Traceback" not in proc.stderr
    assert elapsed < 15  # 3000 epochs would take about 30 s


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


def _red_pixels(scene, item) -> int:
    """Pixels of the item's card drawn in the theme's error red."""
    from PySide6.QtGui import QColor, QImage, QPainter

    rect = item.sceneBoundingRect()
    image = QImage(int(rect.width()), int(rect.height()), QImage.Format_ARGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    scene.render(painter, image.rect().toRectF(), rect)
    painter.end()
    red = QColor(scene.theme.error)
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), -1, 4)
    bgr = pixels[:, :image.width(), :3].astype(int)
    target = np.array([red.blue(), red.green(), red.red()])
    return int(np.sum(np.abs(bgr - target).sum(axis=2) < 40))


def test_a_nan_run_outlines_its_node_in_red_until_training_starts_again(digits, qtbot):
    w = digits
    set_training(w, optimizer="sgd", optimizer_options={"lr": 1e6}, epochs=3)
    items = w.scene.nodes
    assert not any(item.error or item.failure for item in items.values())
    with qtbot.waitSignal(w.controller.run_finished, timeout=WAIT):
        w.start_training()
    run = w.runs.current_run()
    assert run.status == "failed" and "loss became" in run.message
    (node_id,) = w.scene.selected_node_ids()
    item = items[node_id]
    w.scene.clearSelection()  # the mark is not the selection: it stays
    assert w.scene.failed_node == node_id
    assert item.failure == run.message and item.error == run.message
    assert "loss became" in item.toolTip() and item.node.name in item.toolTip()
    assert [i for i in items.values() if i.error] == [item]  # only that node
    red = _red_pixels(w.scene, item)
    assert red > 100  # outline, mark and error text drawn in red
    # moving the node is no change to the network: the mark stays
    x, y = item.node.position
    w.document.push(commands.MoveNodes(w.document.graph, {node_id: ((x, y), (x + 30, y))},
                                       "Move"))
    w.scene.refresh()
    assert item.error == run.message and w.scene.failed_node == node_id
    # training again: the mark goes as it starts (and comes back as it fails again)
    assert w.start_training() is not None
    assert item.failure == "" and item.error == "" and w.scene.failed_node is None
    assert _red_pixels(w.scene, item) < red / 10
    assert item.node.name in item.toolTip() and "loss became" not in item.toolTip()
    qtbot.waitUntil(lambda: w.controller.state == "idle", timeout=WAIT)
    assert items[node_id].failure == w.runs.current_run().message
    # a change of the network or its settings removes the mark too
    set_training(w, optimizer_options={"lr": 0.01})
    assert not any(i.error or i.failure for i in w.scene.nodes.values())


def _nan_and_bad_data_graphs(tmp_path):
    import json

    data = json.loads((EXAMPLES / "digits_mlp.json").read_text())
    data["settings"]["training"].update(optimizer="sgd", optimizer_options={"lr": 1e6})
    nan = tmp_path / "nan.json"
    nan.write_text(json.dumps(data))
    data = json.loads((EXAMPLES / "moons_tanh.json").read_text())
    data["settings"]["dataset"].update(source="csv", path="bad.csv")
    (tmp_path / "bad.csv").write_text("a,b,label\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n9,abc,0\n")
    bad = tmp_path / "bad_data.json"
    bad.write_text(json.dumps(data))
    return nan, bad


def test_train_option_with_a_screenshot_exits_1_when_training_fails(tmp_path):
    nan, bad = _nan_and_bad_data_graphs(tmp_path)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen",
               XDG_CONFIG_HOME=str(tmp_path / "config"))
    for graph, reason in ((nan, "loss became"), (bad, "bad.csv: line 6, column 2")):
        out = tmp_path / f"{graph.stem}.png"
        proc = subprocess.run([sys.executable, "-m", "app", str(graph), "--train", "2",
                               "--screenshot", str(out), "--size", "900x600"],
                              capture_output=True, text=True, timeout=120, env=env)
        assert proc.returncode == 1, proc.stderr
        assert reason in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
        assert out.exists()  # the picture shows the failure
    assert not (tmp_path / "config").exists()  # --screenshot leaves the settings alone


def test_undo_redo_and_open_while_training_ask_to_stop_first(digits, qtbot):
    """Undo, redo and opening another file change the network too: while training they
    ask, and a No leaves both the network and the run alone."""
    w = digits
    set_training(w, epochs=2)
    set_training(w, epochs=500)  # something to undo
    asked = []
    w.ask_stop = lambda action="edit": asked.append(1) or QMessageBox.No
    w.start_training()
    qtbot.waitUntil(lambda: w.controller.state == "running", timeout=WAIT)
    w.act_undo.trigger()
    assert asked == [1] and w.document.graph.settings["training"]["epochs"] == 500
    assert not w.history.isEnabled()
    assert not w.open_file(EXAMPLES / "moons_tanh.json") and asked == [1, 1]
    assert w.document.example == "digits_mlp" and w.controller.state == "running"
    w.ask_stop = lambda action="edit": asked.append(1) or QMessageBox.Yes
    w.act_undo.trigger()  # stops, then undoes
    assert w.controller.state == "idle" and w.document.graph.settings["training"]["epochs"] == 2
    assert w.history.isEnabled()



def test_a_diverging_run_is_reported_while_it_trains_and_marked(digits, qtbot):
    """Adam at lr 1e6 stays finite (no error) but its loss grows 1e12-fold: the window
    says so while it trains, in red, and the runs table marks the run (issue 9)."""
    from app.plots.runs_table import STATUS

    w = digits
    set_training(w, optimizer="adam", optimizer_options={"lr": 1e6}, epochs=2)
    messages = []
    w.controller.message.connect(lambda text, error: messages.append((text, error)))
    with qtbot.waitSignal(w.controller.run_finished, timeout=WAIT):
        w.start_training()
    run = w.runs.current_run()
    assert run.status == "finished" and run.warning.startswith("the loss is diverging")
    # said while training (before the end message), then again in the end message
    assert messages[0] == (f"{run.name}: {run.warning}", True)
    assert messages[-1][1] and run.warning in messages[-1][0] and "finished" in messages[-1][0]
    assert "diverging" in w.training_panel.message_label.text()
    table = w.plots.runs_table
    w.plots.redraw_now()
    status = table.item(table.row_of(run.run_id), STATUS)
    assert status.text() == "finished, diverging" and status.toolTip() == run.warning


def test_batch_size_one_with_batchnorm_outlines_the_batchnorm_node(digits, qtbot):
    w = digits
    bn = next(n for n in w.document.graph.nodes if n.type_id == "batchnorm")
    set_training(w, batch_size=1, epochs=1)
    with qtbot.waitSignal(w.controller.run_finished, timeout=WAIT):
        w.start_training()
    run = w.runs.current_run()
    assert run.status == "failed" and run.message.startswith(f"{bn.name}: BatchNorm needs")
    assert w.scene.failed_node == bn.id
    assert w.scene.nodes[bn.id].error == run.message


def test_the_end_message_says_1_epoch_not_1_epochs(digits, qtbot):
    w = digits
    set_training(w, epochs=1)
    with qtbot.waitSignal(w.controller.run_finished, timeout=WAIT):
        w.start_training()
    assert "finished after 1 epoch, validation accuracy" in \
        w.training_panel.message_label.text()
