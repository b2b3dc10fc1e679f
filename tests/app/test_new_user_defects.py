"""Defects found when NN Canvas was tried as a new user would (issue 8): each test fails
before its fix."""

from __future__ import annotations

from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"
WAIT = 60_000


def _train(window, qtbot, epochs: int = 1) -> int:
    from app.editor.commands import SetSettings

    graph = window.document.graph
    training = {**graph.settings.get("training", {}), "epochs": epochs}
    window.document.push(SetSettings(graph, {**graph.settings, "training": training}))
    with qtbot.waitSignal(window.controller.run_finished, timeout=WAIT):
        run_id = window.start_training()
    window.plots.redraw_now()
    return run_id


@pytest.mark.parametrize("how", ["new", "open"])
def test_new_and_open_clear_the_previous_projects_runs_plots_and_boundary(window, qtbot, how):
    assert window.open_file(EXAMPLES / "moons_tanh.json")
    run_id = _train(window, qtbot)
    plots = window.plots
    assert run_id in plots.loss.run_items and window.runs.current_run().boundary is not None
    assert plots.boundary.message.toPlainText() == ""  # the boundary is drawn
    assert plots.runs_table.rowCount() == 1
    if how == "new":
        assert window.new_file()
    else:
        assert window.open_file(EXAMPLES / "iris_sigmoid.json")
    plots.redraw_now()
    assert window.runs.runs == {} and window.runs.current is None
    assert plots.loss.run_items == {}
    assert plots.runs_table.rowCount() == 0
    assert plots.boundary.message.toPlainText() == "No run yet."
    assert plots.boundary.image.image is None
    assert window.controller._last is None  # Train starts a new run, from fresh weights
    window.controller.shutdown(5.0)
