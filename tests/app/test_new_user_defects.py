"""Defects found when NN Canvas was tried as a new user would (issue 8): each test fails
before its fix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.resources import examples_dir
from nncore.metrics import histogram, nice_edges

EXAMPLES = examples_dir()
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


# ---------------------------------------------------------------------------- histograms
def test_histogram_edges_follow_the_weights_over_ten_epochs(qapp):
    """digits_mlp's BatchNorm weights spread out while training; with the edges chosen
    at the first epoch 116 of the 128 sat in the last bin after 10 epochs. The worker
    re-bins every recorded epoch, so nothing is clipped and no bin holds most values."""
    from PySide6.QtCore import QCoreApplication

    from app.training.worker import TrainingWorker

    app = QCoreApplication.instance()
    worker = TrainingWorker()
    got: list = []
    worker.epochs.connect(lambda _rid, payloads: got.extend(payloads))
    text = (EXAMPLES / "digits_mlp.json").read_text()
    worker.train(1, text, str(EXAMPLES), 10, False)
    app.processEvents()
    hists = [p["weight_hist"]["BatchNorm.weight"] for p in got if p["weight_hist"]]
    assert len(hists) >= 2 and got[-1]["hist_epoch"] == 10  # every few epochs, the last
    last = hists[-1]
    assert last.clipped == 0 and last.total == 128
    assert last.counts.max() < 64  # before: 116 in the last bin
    assert last.edges[-1] > hists[0].edges[-1]  # the range grew with the weights


@pytest.fixture
def store():
    from app.training.runs import RunStore

    return RunStore()


@pytest.fixture
def panel(qtbot, store):
    from app.plots.panel import PlotsPanel

    p = PlotsPanel(store)
    qtbot.addWidget(p)
    p.resize(1000, 750)
    return p


def test_heat_map_is_drawn_over_the_union_of_the_epochs_ranges(panel, store):
    from app.plots.histograms import heat_map_csv

    run = store.new_run({}, "Adam")
    run.epochs = [{"epoch": e, "loss": 1.0 / e} for e in (1, 2, 3)]
    run.status = "finished"
    rng = np.random.default_rng(0)
    hists = []
    for shift in (0.0, 3.0, 6.0):  # drifting values, each epoch with its own edges
        values = 10.0 + shift + 0.3 * rng.normal(size=500)
        hists.append(histogram(values, nice_edges(values, 40)))
    run.weight_hist = {"Dense.weight": hists}
    run.hist_epochs = [1, 2, 3]
    store.changed(run.run_id)
    h = panel.histograms
    h.set_mode("weights")
    panel.select_node("Dense.weight")
    panel.redraw_now()
    img = h.image.image
    assert img.shape[1] == 3
    rect = h.image.mapRectToParent(h.image.boundingRect())
    lo = min(x.edges[0] for x in hists)
    hi = max(x.edges[-1] for x in hists)
    assert rect.top() == pytest.approx(lo, abs=1e-9)
    assert rect.bottom() == pytest.approx(hi, abs=1e-9)
    # each epoch's values where they were (epoch 1's around 10, not piled at an end)
    for col, mean in enumerate((10.0, 13.0, 16.0)):
        rows = np.nonzero(img[:, col] > 0)[0]
        centres = lo + (rows + 0.5) * (hi - lo) / img.shape[0]
        assert np.all(np.abs(centres - mean) < 1.6), (col, centres)
    # the CSV has the same grid, every epoch's 500 values kept
    lines = heat_map_csv(hists, [1, 2, 3]).splitlines()
    assert len(lines[0].split('","')) == img.shape[0]
    for line in lines[1:]:
        assert sum(float(c) for c in line.split(",")[1:]) == pytest.approx(500)
