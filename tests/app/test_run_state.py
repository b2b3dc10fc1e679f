"""One run state (app/training/state.py): the controller, the panel's controls, the runs
table's Status column and the status line all read it, in a real training run."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.plots.runs_table import STATUS
from app.resources import examples_dir
from app.state import RunState, can

WAIT = 60_000


def test_run_state_is_its_string_and_can_follows_the_table():
    assert RunState.PAUSED == "paused" and str(RunState.STEPPING) == "stepping"
    assert f"{RunState.FINISHED}" == "finished"
    assert [s.value for s in RunState] == ["idle", "running", "paused", "stepping",
                                            "stopping", "finished", "stopped", "failed"]
    assert [s for s in RunState if s.busy] == ["running", "paused", "stepping", "stopping"]
    assert [s for s in RunState if s.ended] == ["finished", "stopped", "failed"]
    actions = ("train", "pause", "resume", "step", "stop", "reset", "edit")
    allowed = {s: [a for a in actions if can(s, a)] for s in RunState}
    assert allowed == {
        "idle": ["train", "step", "reset", "edit"], "running": ["pause", "stop"],
        "paused": ["resume", "step", "stop"], "stepping": ["resume", "stop"],
        "stopping": [], "finished": [], "stopped": [], "failed": []}
    assert RunState.STEPPING.message == "Stepping…" and RunState.IDLE.message == "Ready"
    with pytest.raises(ValueError):
        can("flying", "train")


@pytest.fixture
def panel(make_training_panel):
    return make_training_panel()


def test_panel_buttons_per_state(panel):
    expect = {  # train, pause (enabled, text), step, stop, reset, settings editable
        RunState.IDLE: (True, (False, "Pause"), True, False, True, True),
        RunState.RUNNING: (False, (True, "Pause"), False, True, False, False),
        RunState.PAUSED: (False, (True, "Resume"), True, True, False, False),
        RunState.STEPPING: (False, (True, "Resume"), False, True, False, False),
        RunState.STOPPING: (False, (False, "Pause"), False, False, False, False),
    }
    groups = (panel.data_group, panel.optimizer_group, panel.training_group)
    for state, (train, pause, step, stop, reset, editable) in expect.items():
        panel.set_state(state)
        assert panel.state is state
        got = (panel.train_button.isEnabled(),
               (panel.pause_button.isEnabled(), panel.pause_button.text()),
               panel.step_batch_button.isEnabled(), panel.stop_button.isEnabled(),
               panel.reset_button.isEnabled(), all(g.isEnabled() for g in groups))
        assert got == (train, pause, step, stop, reset, editable), state
        assert panel.step_epoch_button.isEnabled() == step, state
    panel.set_state("paused")  # a string is read as its RunState
    assert panel.state is RunState.PAUSED
    for end in ("finished", "stopped", "failed", "flying"):
        with pytest.raises(ValueError):
            panel.set_state(end)


@pytest.fixture
def digits(window):
    assert window.open_file(examples_dir() / "digits_mlp.json")
    yield window
    window.controller.shutdown(5.0)


def click(button) -> None:
    assert button.isEnabled(), button.text()
    QTest.mouseClick(button, Qt.LeftButton)


def status_cell(w, run_id) -> str:
    w.plots.redraw_now()
    table = w.plots.runs_table
    return table.item(table.row_of(run_id), STATUS).text()


def test_runs_table_shows_paused_stepping_running_and_stopped(digits, qtbot):
    from app.editor.commands import SetSettings

    w, panel = digits, digits.training_panel
    graph = w.document.graph
    training = {**graph.settings.get("training", {}), "epochs": 500}
    w.document.push(SetSettings(graph, {**graph.settings, "training": training}))
    panel.refresh_now()
    states = []
    w.controller.state_changed.connect(states.append)
    click(panel.train_button)
    run = w.runs.current_run()
    qtbot.waitUntil(lambda: len(run.step_loss) > 3, timeout=WAIT)
    assert status_cell(w, run.run_id) == "running"
    assert w.statusBar().currentMessage() == "Training…"

    click(panel.pause_button)
    assert w.controller.state is RunState.PAUSED and run.status is RunState.PAUSED
    qtbot.waitUntil(lambda: status_cell(w, run.run_id) == "paused", timeout=5000)
    assert w.statusBar().currentMessage() == "Paused"
    assert panel.pause_button.text() == "Resume" and panel.step_batch_button.isEnabled()
    assert not w.plots.runs_table.delete_button(run.run_id).isEnabled()
    w.plots.runs_table.grab().save("/tmp/runs_table_paused.png")
    trainer = w.controller.worker.trainer
    qtbot.waitUntil(lambda: len(run.step_loss) == trainer.global_step, timeout=5000)
    qtbot.wait(200)
    qtbot.waitUntil(lambda: len(run.step_loss) == trainer.global_step, timeout=5000)
    before = len(run.step_loss)

    # Step: "stepping" until the worker says the batch is done, then "paused" again
    click(panel.step_batch_button)
    assert w.controller.state is RunState.STEPPING  # the worker's answer is not in yet
    assert status_cell(w, run.run_id) == "stepping"
    assert w.statusBar().currentMessage() == "Stepping…"
    assert not panel.step_batch_button.isEnabled() and panel.stop_button.isEnabled()
    qtbot.waitUntil(lambda: w.controller.state is RunState.PAUSED, timeout=5000)
    assert status_cell(w, run.run_id) == "paused"
    assert len(run.step_loss) == before + 1  # the step's batch came before "paused"

    click(panel.pause_button)  # Resume
    qtbot.waitUntil(lambda: status_cell(w, run.run_id) == "running", timeout=5000)
    qtbot.waitUntil(lambda: len(run.step_loss) > before + 5, timeout=WAIT)
    assert w.controller.state is RunState.RUNNING

    with qtbot.waitSignal(w.controller.run_finished, timeout=WAIT):
        click(panel.stop_button)
    assert w.controller.state is RunState.IDLE and run.status is RunState.STOPPED
    assert status_cell(w, run.run_id) == "stopped"
    assert w.plots.runs_table.delete_button(run.run_id).isEnabled()
    assert states == ["running", "paused", "stepping", "paused", "running", "stopping",
                      "idle"]
    assert all(isinstance(s, RunState) for s in states)


def test_step_from_idle_and_a_finished_run(digits, qtbot):
    w, panel = digits, digits.training_panel
    states = []
    w.controller.state_changed.connect(states.append)
    click(panel.step_batch_button)
    qtbot.waitUntil(lambda: w.controller.state is RunState.PAUSED
                    and len(w.runs.current_run().step_loss) == 1, timeout=WAIT)
    run = w.runs.current_run()
    assert states == ["paused", "stepping", "paused"]
    assert status_cell(w, run.run_id) == "paused"
    with qtbot.waitSignal(w.controller.run_finished, timeout=WAIT):
        click(panel.stop_button)
    assert run.status is RunState.STOPPED
    # a short run ends finished
    graph = w.document.graph
    from app.editor.commands import SetSettings

    training = {**graph.settings.get("training", {}), "epochs": 1}
    w.document.push(SetSettings(graph, {**graph.settings, "training": training}))
    panel.refresh_now()
    with qtbot.waitSignal(w.controller.run_finished, timeout=WAIT):
        click(panel.train_button)
    run = w.runs.current_run()
    assert run.status is RunState.FINISHED and status_cell(w, run.run_id) == "finished"
