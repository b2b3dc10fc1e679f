"""The training worker and controller: runs, pause/step/stop, errors, threads (R19-R21)."""

from __future__ import annotations

import math
import os
import time

import numpy as np
import pytest
from PySide6.QtCore import QThread, qInstallMessageHandler

from app.document import Document
from app.resources import examples_dir
from app.training.controller import TrainingController

EXAMPLES = examples_dir()
WAIT = 30_000


@pytest.fixture
def controller(qtbot):
    doc = Document()
    doc.open(EXAMPLES / "digits_mlp.json")
    ctl = TrainingController(doc)
    yield ctl
    assert ctl.shutdown(5.0)


def set_training(ctl, **values):
    settings = dict(ctl.document.graph.settings)
    settings["training"] = {**settings.get("training", {}), **values}
    ctl.document.graph.set_settings(settings)


def wait_idle(qtbot, ctl, timeout=WAIT):
    qtbot.waitUntil(lambda: ctl.state == "idle", timeout=timeout)


def test_two_epochs_fill_the_run(controller, qtbot):
    set_training(controller, epochs=2)
    with qtbot.waitSignal(controller.run_finished, timeout=WAIT):
        run_id = controller.train()
    run = controller.store.get(run_id)
    assert run.status == "finished" and len(run.epochs) == 2
    assert len(run.step_loss) == run.progress["batches"] * 2
    assert run.step_loss.values[-1] < run.step_loss.values[0]
    assert run.activation_hist and all(len(h) == 2 for h in run.activation_hist.values())
    assert run.weight_hist and run.grad_norms
    assert run.confusion is not None and run.confusion.matrix.shape == (10, 10)
    assert run.progress["epoch"] == 2 and run.progress["batch"] == run.progress["batches"]
    assert "dead" in next(iter(run.unit_stats.values()))[-1]
    assert controller.finished_signals[run_id] == 1


def test_pause_step_resume_and_stop(controller, qtbot):
    set_training(controller, epochs=200)
    run_id = controller.train(start_paused=True)
    run = controller.store.get(run_id)
    qtbot.waitUntil(lambda: run.progress.get("batches"), timeout=WAIT)
    qtbot.wait(200)
    assert len(run.step_loss) == 0 and controller.state == "paused"
    controller.step("batch")
    qtbot.waitUntil(lambda: len(run.step_loss) == 1, timeout=WAIT)
    qtbot.wait(200)
    assert len(run.step_loss) == 1  # one batch, then paused again
    controller.step("epoch")
    qtbot.waitUntil(lambda: len(run.epochs) == 1, timeout=WAIT)
    assert len(run.step_loss) == run.progress["batches"]
    controller.resume()
    qtbot.waitUntil(lambda: len(run.epochs) >= 3, timeout=WAIT)
    import time

    start = time.perf_counter()
    with qtbot.waitSignal(controller.run_finished, timeout=WAIT):
        controller.stop()
    assert time.perf_counter() - start < 1.0  # honoured within a batch
    assert run.status == "stopped" and len(run.epochs) < 200
    assert controller.finished_signals[run_id] == 1


def test_training_again_continues_and_a_change_starts_a_new_run(controller, qtbot):
    set_training(controller, epochs=1)
    with qtbot.waitSignal(controller.run_finished, timeout=WAIT):
        first = controller.train()
    with qtbot.waitSignal(controller.run_finished, timeout=WAIT):
        again = controller.train()
    assert again == first and len(controller.store.get(first).epochs) == 2
    set_training(controller, optimizer="sgd", optimizer_options={"lr": 0.1})
    with qtbot.waitSignal(controller.run_finished, timeout=WAIT):
        other = controller.train()
    assert other != first and len(controller.store.runs) == 2  # two runs to overlay
    controller.reset()
    with qtbot.waitSignal(controller.run_finished, timeout=WAIT):
        fresh = controller.train()
    assert fresh not in (first, other)


def test_a_nan_run_names_the_node(controller, qtbot):
    set_training(controller, optimizer="sgd", optimizer_options={"lr": 1e6}, epochs=3)
    blamed = []
    controller.node_failed.connect(blamed.append)
    with qtbot.waitSignal(controller.run_finished, timeout=WAIT):
        run_id = controller.train()
    run = controller.store.get(run_id)
    assert run.status == "failed" and "loss became" in run.message
    assert blamed and blamed[0] in {n.name for n in controller.document.graph.nodes}


def test_bad_data_fails_before_training(controller, qtbot, tmp_path):
    """Data that cannot be read is refused in the GUI thread: no run, no worker call,
    the reason (file, line, column) as an error message."""
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,label\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n9,abc,0\n")
    settings = dict(controller.document.graph.settings)
    settings["dataset"] = {"source": "csv", "path": str(bad)}
    controller.document.graph.set_settings(settings)
    messages, finished, states = [], [], []
    controller.message.connect(lambda text, error: messages.append((text, error)))
    controller.run_finished.connect(finished.append)
    controller.state_changed.connect(states.append)
    assert controller.train() is None
    assert controller.step("batch") is None  # Step from idle is refused the same way
    qtbot.wait(200)
    assert controller.store.runs == {} and controller.store.current is None
    assert finished == [] and states == [] and controller.state == "idle"
    assert len(messages) == 2
    text, error = messages[-1]
    assert error is True
    assert "bad.csv" in text and "line 6" in text and "column 2" in text and "abc" in text
    # once the file is fixed, it trains (the cached loader sees the new file)
    bad.write_text("a,b,label\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n9,10,0\n")
    later = time.time() + 5
    os.utime(bad, (later, later))
    set_training(controller, epochs=1)
    with qtbot.waitSignal(controller.run_finished, timeout=WAIT):
        run_id = controller.train()
    assert run_id is not None and list(controller.store.runs) == [run_id]


def test_a_relative_data_path_is_read_from_the_documents_folder_and_names_the_run(
        qtbot, tmp_path):
    """A CSV path relative to the project's folder, checked and trained from there; the
    run is named after the file, not after the built-in dataset used before."""
    doc = Document()
    doc.open(EXAMPLES / "moons_tanh.json")
    assert doc.graph.settings["dataset"]["name"] == "moons"
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    rows = "\n".join(f"{a:.4f},{b:.4f},{int(a + b > 0)}" for a, b in X)
    (tmp_path / "mydata.csv").write_text("x1,x2,label\n" + rows + "\n")
    settings = dict(doc.graph.settings)
    settings["dataset"] = {**settings["dataset"], "source": "csv", "path": "mydata.csv"}
    settings["training"] = {**settings["training"], "epochs": 1}
    doc.graph.set_settings(settings)
    doc.save(tmp_path / "net.json")
    ctl = TrainingController(doc)
    try:
        errors = []
        ctl.message.connect(lambda text, error: error and errors.append(text))
        with qtbot.waitSignal(ctl.run_finished, timeout=WAIT):
            run_id = ctl.train()
        assert run_id is not None, errors
        run = ctl.store.get(run_id)
        assert run.status == "finished", run.message
        assert run.name.endswith("· mydata.csv") and "moons" not in run.name
    finally:
        assert ctl.shutdown(5.0)


def test_r20_slots_run_in_the_gui_thread_and_qt_never_warns(controller, qtbot):
    """pyqtgraph/pyqtgraph#1398: every slot that updates the views runs in the GUI
    thread; Qt reports no cross-thread use."""
    from PySide6.QtCore import QObject, Slot

    gui = QThread.currentThread()

    class Recorder(QObject):  # lives in the GUI thread, like the controller
        def __init__(self):
            super().__init__()
            self.threads = []

        @Slot(int, object)
        def batches(self, run_id, data):
            self.threads.append(QThread.currentThread())

    recorder = Recorder()
    controller.worker.batches.connect(recorder.batches)
    warnings = []
    previous = qInstallMessageHandler(lambda kind, context, text: warnings.append(text))
    set_training(controller, epochs=3)
    try:
        with qtbot.waitSignal(controller.run_finished, timeout=WAIT):
            controller.train()
    finally:
        qInstallMessageHandler(previous)
    assert recorder.threads and all(t is gui for t in recorder.threads)
    assert not [w for w in warnings if "thread" in w.lower()], warnings
    assert controller.worker.thread() is controller.worker_thread and controller.worker_thread is not gui
    assert controller.thread() is gui  # the controller's slots run in the GUI thread


def test_r21_fifty_short_runs(controller, qtbot):
    set_training(controller, epochs=1, batch_size=512)
    for _ in range(50):
        controller.reset()
        with qtbot.waitSignal(controller.run_finished, timeout=WAIT):
            controller.train()
    assert len(controller.store.runs) == 50
    assert all(r.status == "finished" for r in controller.store.runs.values())
    assert all(count == 1 for count in controller.finished_signals.values())


def test_unit_stats_count_dead_relu_and_saturated_tanh_units():
    """Dead: a ReLU unit never positive on the probe batch; saturated: |tanh| > 0.96.
    Leaky ReLU units cannot die and get no figure."""
    from app.training.worker import TrainingWorker
    from nncore.graph import load_graph
    from nncore.project import TrainingRun

    worker = TrainingWorker()
    for example, node, key in (("spiral_relu.json", "ReLU", "dead"),
                               ("moons_tanh.json", "Tanh", "saturated")):
        run = TrainingRun(load_graph(EXAMPLES / example))
        worker._probe = run.split.X_train[:256]
        model = run.model
        dense = dict(model.named_parameters())
        bias = next(p for name, p in dense.items() if name.endswith("bias"))
        n = bias.data.shape[0]
        bias.data[:3] = -1e3 if key == "dead" else 1e3  # three units pinned
        stats = worker._unit_stats(model)
        # the first activation after that Dense: exactly those three units
        assert stats[node][key] == pytest.approx(3 / n, abs=1 / n) and stats[node][key] >= 3 / n
    run = TrainingRun(load_graph(EXAMPLES / "wine_leaky.json"))
    worker._probe = run.split.X_train[:64]
    assert worker._unit_stats(run.model) == {}


def test_histograms_of_short_epochs_come_every_few_epochs_with_their_epoch(controller, qtbot):
    import app.training.worker as worker_module

    set_training(controller, epochs=12)
    old, old_share = worker_module.HISTOGRAM_INTERVAL, worker_module.HISTOGRAM_SHARE
    worker_module.HISTOGRAM_INTERVAL = 1e6  # every epoch is "short": first and last only
    try:
        with qtbot.waitSignal(controller.run_finished, timeout=WAIT):
            run_id = controller.train()
    finally:
        worker_module.HISTOGRAM_INTERVAL = old
    run = controller.store.get(run_id)
    assert len(run.epochs) == 12
    assert run.hist_epochs == [1, 12]
    assert all(len(h) == 2 for h in run.activation_hist.values())
    assert all(len(h) == 2 for h in run.weight_hist.values())
    assert all(len(s) == 2 for s in run.unit_stats.values())
    # no limit on their rate or their share of the time: every epoch
    worker_module.HISTOGRAM_INTERVAL, worker_module.HISTOGRAM_SHARE = 0.0, math.inf
    try:
        controller.reset()
        with qtbot.waitSignal(controller.run_finished, timeout=WAIT):
            run_id = controller.train(epochs=3)
    finally:
        worker_module.HISTOGRAM_INTERVAL, worker_module.HISTOGRAM_SHARE = old, old_share
    assert controller.store.get(run_id).hist_epochs == [1, 2, 3]
    # histograms that cost 10x an epoch, at a share of 6%: about every 167th epoch
    worker_module.HISTOGRAM_INTERVAL = 0.0
    real = controller.worker._on_epoch

    def costly(trainer, record):
        if record.histogram_seconds:
            record.histogram_seconds = 10 * record.logs["time"]
        real(trainer, record)

    controller.worker._on_epoch = costly
    try:
        controller.reset()
        with qtbot.waitSignal(controller.run_finished, timeout=WAIT):
            run_id = controller.train(epochs=12)
    finally:
        worker_module.HISTOGRAM_INTERVAL = old
        controller.worker._on_epoch = real
    assert controller.store.get(run_id).hist_epochs == [1, 12]


def test_the_boundary_is_recomputed_often_unless_costly_and_names_its_epoch(qtbot, monkeypatch):
    import app.training.worker as worker_module

    doc = Document()
    doc.open(EXAMPLES / "moons_tanh.json")
    ctl = TrainingController(doc)
    try:
        calls: list[int] = []
        original = ctl.worker._boundary
        ctl.worker._boundary = lambda model: (calls.append(1), original(model))[1]
        monkeypatch.setattr(worker_module, "BOUNDARY_INTERVAL", 0.0)
        monkeypatch.setattr(worker_module, "BOUNDARY_COST_RATIO", 0.0)
        set_training(ctl, epochs=5)
        with qtbot.waitSignal(ctl.run_finished, timeout=WAIT):
            run_id = ctl.train()
        run = ctl.store.get(run_id)
        assert len(calls) == 5 and run.boundary["epoch"] == 5
        assert run.boundary["classes"].shape == (worker_module.GRID, worker_module.GRID)
        # a boundary that costs far more than the training: the first and the last only
        monkeypatch.setattr(worker_module, "BOUNDARY_COST_RATIO", 1e9)
        calls.clear()
        ctl.reset()
        with qtbot.waitSignal(ctl.run_finished, timeout=WAIT):
            run_id = ctl.train()
        assert len(calls) == 2 and ctl.store.get(run_id).boundary["epoch"] == 5
    finally:
        assert ctl.shutdown(5.0)


def test_the_worker_waits_between_batches_while_the_gui_draws_but_never_long(
        controller, qtbot, monkeypatch):
    """The plots panel clears ``gui_free`` while it draws: the worker then waits between
    batches (the drawing gets the GIL to itself), each time at most GUI_WAIT_MAX."""
    import time

    import app.training.worker as worker_module

    monkeypatch.setattr(worker_module, "GUI_WAIT_MAX", 0.03)
    set_training(controller, epochs=1)
    controller.worker.gui_free.clear()  # a GUI that never finishes drawing
    start = time.perf_counter()
    with qtbot.waitSignal(controller.run_finished, timeout=WAIT):
        run_id = controller.train()
    held = time.perf_counter() - start
    batches = controller.store.get(run_id).progress["batches"]
    assert batches == 23 and held >= batches * 0.03 * 0.9
    controller.worker.gui_free.set()
    start = time.perf_counter()
    with qtbot.waitSignal(controller.run_finished, timeout=WAIT):
        controller.train()
    assert time.perf_counter() - start < held / 2


def test_a_stop_right_after_train_is_not_lost(controller, qtbot):
    """A Stop that reaches the worker before it has begun the run (a script, a timer,
    closing at once) used to be cleared by the run's start: it trained to the end."""
    set_training(controller, epochs=500)
    with qtbot.waitSignal(controller.run_finished, timeout=WAIT):
        run_id = controller.train()
        controller.stop()
    run = controller.store.get(run_id)
    assert run.status == "stopped" and len(run.epochs) <= 1
    # the Stop was for that run only: the next one trains
    set_training(controller, epochs=2)
    with qtbot.waitSignal(controller.run_finished, timeout=WAIT):
        run_id = controller.train()
    assert len(controller.store.get(run_id).epochs) == 2


def test_after_the_last_run_is_deleted_train_starts_from_fresh_weights(controller, qtbot):
    set_training(controller, epochs=1)
    with qtbot.waitSignal(controller.run_finished, timeout=WAIT):
        first = controller.train()
    first_loss = controller.store.get(first).step_loss.values[0]
    controller.store.remove(first)
    with qtbot.waitSignal(controller.run_finished, timeout=WAIT):
        second = controller.train()
    run = controller.store.get(second)
    assert second != first and run.epochs[0]["epoch"] == 1
    assert run.step_loss.values[0] == pytest.approx(first_loss)  # the same fresh start


def test_a_wiring_error_names_its_node_and_a_failed_start_shows_no_old_progress(
        controller, qtbot):
    set_training(controller, epochs=2)
    with qtbot.waitSignal(controller.run_finished, timeout=WAIT):
        controller.train()
    graph = controller.document.graph
    dense = graph.node_by_name("Dense 2")
    wire = next(e for e in graph.edges if e.dst == dense.id)
    graph.disconnect(wire)
    failed = []
    controller.node_failed.connect(failed.append)
    with qtbot.waitSignal(controller.run_finished, timeout=WAIT):
        run_id = controller.train()
    run = controller.store.get(run_id)
    assert run.status == "failed" and "Dense 2" in run.message
    assert failed == ["Dense 2"]
    assert not run.progress or run.progress.get("epoch", 0) == 0


def test_garbage_is_collected_in_the_gui_thread_only(controller, qtbot):
    """Automatic collection (which runs in whichever thread allocates, and so once
    destroyed GUI objects in the worker and deadlocked) is off; a GUI-thread timer
    collects cycles instead."""
    import gc
    import threading

    assert not gc.isenabled()
    threads: list[str] = []

    class Cycle:
        def __init__(self) -> None:
            self.me = self

        def __del__(self) -> None:
            threads.append(threading.current_thread().name)

    for _ in range(gc.get_threshold()[0] + 10):  # past the first generation's threshold
        Cycle()
    qtbot.waitUntil(lambda: bool(threads), timeout=5000)
    assert set(threads) == {threading.main_thread().name}


def test_deleting_the_training_run_from_code_stops_it(controller, qtbot):
    """The runs table refuses to delete the run that trains; code that does it anyway
    (RunStore.remove) stops the run instead of leaving the controller waiting."""
    set_training(controller, epochs=500)
    run_id = controller.train()
    qtbot.waitUntil(lambda: len(controller.store.get(run_id).step_loss) > 3, timeout=WAIT)
    with qtbot.waitSignal(controller.run_finished, timeout=5000):
        controller.store.remove(run_id)
    assert controller.state == "idle" and run_id not in controller.store.runs
    set_training(controller, epochs=1)
    with qtbot.waitSignal(controller.run_finished, timeout=WAIT):
        again = controller.train()
    assert again != run_id and len(controller.store.get(again).epochs) == 1
