"""The live plots (app/plots): what each view draws from a RunStore, the one redraw timer,
hiding/deleting runs, themes, exports. Synthetic runs shaped like the controller's."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pyqtgraph as pg
import pyqtgraph.exporters  # noqa: F401  (registers the exporters)
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from app.plots.base import (EmaCache, batches_per_epoch, ema, finite_xy, legend_labels,
                            plot_colors, steps_to_epochs)
from app.plots.boundary import ALPHA_SURE, ALPHA_UNSURE, boundary_rgba
from app.plots.confusion import row_recall
from app.plots.gradients import layer_shade, node_of
from app.plots.histograms import heat_matrix, unit_stat_text
from app.plots.panel import PlotsPanel
from app.plots.runs_table import BEST_LOSS, BEST_METRIC, EPOCHS, NAME, SHOW, STATUS
from app.theme import DARK
from app.training.runs import RunStore, Series
from nncore.metrics import histogram, nice_edges

BATCHES = 10
PARAMS = ("Dense.weight", "Dense.bias", "Dense 2.weight", "Dense 2.bias")


def fill_run(run, epochs: int = 6, seed: int = 0, task: str = "classification",
             with_hist: bool = True) -> None:
    """Append ``epochs`` epochs of plausible records to ``run`` (as the controller does)."""
    rng = np.random.default_rng(seed)
    start = len(run.epochs)
    n0 = len(run.step)
    n = epochs * BATCHES
    steps = np.arange(n0 + 1, n0 + n + 1, dtype=np.float64)
    run.task = task
    run.step.extend(steps)
    run.step_loss.extend(np.exp(-steps / 30) + 0.05 * rng.random(n))
    run.step_lr.extend(np.full(n, 0.01))
    run.grad_steps.extend(steps)
    for i, label in enumerate(PARAMS):
        run.grad_norms.setdefault(label, Series()).extend(
            10.0 ** (-i) * np.exp(-steps / 50) * (1 + 0.1 * rng.random(n)))
    run.progress = {"epoch": start + epochs, "batch": BATCHES, "batches": BATCHES}
    key = "r2" if task == "regression" else "accuracy"
    for e in range(start + 1, start + epochs + 1):
        run.epochs.append({"epoch": e, "loss": 1.0 / e, key: 1 - 0.5 / e,
                           "val_loss": 1.1 / e, f"val_{key}": 1 - 0.6 / e, "lr": 0.01,
                           "time": 0.25})
        if with_hist:
            acts = rng.normal(0, 1 + e / 10, size=500)
            weights = rng.normal(0, 0.3, size=200)
            for store, name, values in ((run.activation_hist, "Dense", acts),
                                        (run.activation_hist, "ReLU", np.maximum(acts, 0)),
                                        (run.weight_hist, "Dense.weight", weights),
                                        (run.weight_hist, "Dense.bias", weights[:16])):
                hists = store.setdefault(name, [])
                edges = hists[0].edges if hists else nice_edges(values, 30)
                hists.append(histogram(values, edges))
            run.unit_stats.setdefault("ReLU", []).append({"dead": 0.12})
    if task == "classification":
        run.classes = ["left", "middle", "right"]
        run.confusion = np.array([[40, 2, 0], [5, 30, 5], [0, 0, 18]])
        run.per_class = row_recall(run.confusion).diagonal()
        gx, gy = np.linspace(-2, 2, 30), np.linspace(-1, 1, 20)
        xx, yy = np.meshgrid(gx, gy)
        run.boundary = {"x": gx, "y": gy, "classes": (xx > 0).astype(int) + (yy > 0.5),
                        "confidence": np.clip(np.abs(xx) / 2 + 0.34, 0, 1)}
        X = rng.normal(size=(90, 2))
        run.points = (X, np.arange(90) % 3)


def add_run(store, label="Adam", **kw):
    run = store.new_run({}, label)
    fill_run(run, **kw)
    run.status = "finished"
    store.changed(run.run_id)
    return run


@pytest.fixture
def panel(plots_panel):
    return plots_panel


def data(curve):
    x, y = curve.getOriginalDataset()
    if x is None:
        return np.zeros(0), np.zeros(0)
    return np.asarray(x), np.asarray(y)


# ---------------------------------------------------------------------------- helpers
def test_finite_xy_drops_nan_inf_and_nonpositive_for_log():
    x = np.arange(6.0)
    y = np.array([1.0, np.nan, np.inf, 0.0, -2.0, 3.0])
    assert finite_xy(x, y)[1].tolist() == [1.0, 0.0, -2.0, 3.0]
    assert finite_xy(x, y, positive=True)[1].tolist() == [1.0, 3.0]
    assert finite_xy(x, y, positive=True)[0].tolist() == [0.0, 5.0]
    same = np.ones(4)
    assert finite_xy(same, same)[1] is not None


def reference_ema(y, w):
    out, e = [], 0.0
    for t, v in enumerate(y):
        e = w * e + (1 - w) * v
        out.append(e / (1 - w ** (t + 1)))
    return np.array(out)


@pytest.mark.parametrize("w", [0.0, 0.3, 0.6, 0.9, 0.99])
def test_ema_matches_a_plain_loop(w):
    y = np.random.default_rng(1).random(1000) + np.linspace(2, 0, 1000)
    expected = y if w == 0 else reference_ema(y, w)
    np.testing.assert_allclose(ema(y, w), expected, rtol=1e-10, atol=1e-12)


def test_ema_cache_smooths_only_new_points_and_equals_full_ema():
    y = np.random.default_rng(2).random(700)
    cache = EmaCache()
    cache.update(y[:300], 0.9)
    np.testing.assert_allclose(cache.update(y, 0.9), ema(y, 0.9), rtol=1e-12)
    np.testing.assert_allclose(cache.update(y, 0.5), ema(y, 0.5), rtol=1e-12)  # new weight
    np.testing.assert_allclose(cache.update(y[:100], 0.5), ema(y[:100], 0.5), rtol=1e-12)
    with pytest.raises(ValueError):
        ema(y, 1.0)


def test_steps_to_epochs_uses_batches_per_epoch(store):
    run = store.new_run({}, "r")
    assert batches_per_epoch(run) == 1.0  # nothing yet: never a division by zero
    run.step.extend([1, 2, 3])
    assert batches_per_epoch(run) == 3.0  # first epoch, no progress: spans (0, 1]
    run.progress = {"batches": 4}
    np.testing.assert_allclose(steps_to_epochs(run, np.array([1, 4, 5, 8])), [0.25, 1, 1.25, 2])
    run.progress = {}
    run.step.extend(np.arange(4, 21))
    run.epochs = [{"epoch": 1}, {"epoch": 2}]
    assert batches_per_epoch(run) == 10.0


def test_small_helpers():
    assert node_of("Dense 2.weight") == "Dense 2" and node_of("Input") == "Input"
    assert unit_stat_text({"dead": 0.12})[0] == "dead ReLU units: 12%"
    assert unit_stat_text({"saturated": 0.4})[0] == "saturated: 40%"
    assert unit_stat_text(None) == ("", "")
    cm = np.array([[3, 1], [0, 0]])
    np.testing.assert_allclose(row_recall(cm), [[0.75, 0.25], [0, 0]])


# ---------------------------------------------------------------------------- loss view
def test_loss_view_draws_batches_epochs_metric_and_lr(panel, store):
    run = add_run(store)
    panel.loss.set_smoothing(0)
    panel.redraw_now()
    items = panel.loss.run_items[run.run_id]
    x, y = data(items.batch)
    assert len(x) == len(run.step) == 60
    np.testing.assert_allclose(x, run.step.values / BATCHES)  # x = epoch as a float
    np.testing.assert_allclose(y, run.step_loss.values)
    ex, ey = data(items.train)
    np.testing.assert_allclose(ex, np.arange(1, 7))
    np.testing.assert_allclose(ey, 1.0 / np.arange(1, 7))
    np.testing.assert_allclose(data(items.val)[1], 1.1 / np.arange(1, 7))
    np.testing.assert_allclose(data(items.metric_train)[1], 1 - 0.5 / np.arange(1, 7))
    np.testing.assert_allclose(data(items.metric_val)[1], 1 - 0.6 / np.arange(1, 7))
    assert len(data(items.lr)[0]) == 60
    assert not items.smooth.isVisible()
    # Training dashed, validation solid, both in the run's colour.
    assert items.train.opts["pen"].style() == Qt.DashLine
    assert items.val.opts["pen"].style() == Qt.SolidLine
    assert items.val.opts["pen"].color().name() == run.color
    assert legend_labels(panel.loss.legend) == [run.name]
    assert panel.loss.metric_plot.titleLabel.text.startswith("Accuracy")


def test_loss_smoothing_is_the_ema_of_the_batch_loss(panel, store):
    run = add_run(store)
    panel.loss.set_smoothing(0.8)
    assert panel.loss.smoothing_label.text() == "0.80"
    panel.redraw_now()
    items = panel.loss.run_items[run.run_id]
    assert items.smooth.isVisible()
    np.testing.assert_allclose(data(items.smooth)[1], reference_ema(run.step_loss.values, 0.8))
    # More batches: the cached EMA continues and still equals the whole-series EMA.
    fill_run(run, epochs=2, seed=5)
    store.changed(run.run_id)
    panel.redraw_now()
    np.testing.assert_allclose(data(items.smooth)[1], reference_ema(run.step_loss.values, 0.8))
    panel.loss.smoothing_slider.setValue(0)
    assert panel.loss.smoothing_label.text() == "off (raw)"
    assert not items.smooth.isVisible()


def test_log_y_with_zero_nan_inf_does_not_raise(panel, store, qtbot):
    run = store.new_run({}, "diverging")
    run.step.extend(np.arange(1, 9))
    run.step_loss.extend([1.0, 0.5, 0.0, -1e-3, np.nan, np.inf, -np.inf, 0.25])
    run.step_lr.extend(np.full(8, 0.1))
    run.progress = {"batches": 4}
    run.epochs = [{"epoch": 1, "loss": 0.0, "val_loss": np.nan},
                  {"epoch": 2, "loss": np.inf, "val_loss": 0.3}]
    store.changed(run.run_id)
    panel.show()
    qtbot.waitExposed(panel)
    panel.loss.set_smoothing(0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        panel.loss.log_y.setChecked(True)
        panel.redraw_now()
        panel.grab()
    assert panel.loss.loss_plot.ctrl.logYCheck.isChecked()
    items = panel.loss.run_items[run.run_id]
    assert data(items.batch)[1].tolist() == [1.0, 0.5, 0.25]
    assert data(items.train)[1].size == 0 and data(items.val)[1].tolist() == [0.3]
    assert np.all(np.isfinite(data(items.smooth)[1])) and np.all(data(items.smooth)[1] > 0)
    # The plot's own menu toggle keeps the checkbox in step.
    panel.loss.loss_plot.ctrl.logYCheck.setChecked(False)
    assert not panel.loss.log_y.isChecked()
    panel.redraw_now()
    assert len(data(items.batch)[1]) == 5  # linear: 0 and -1e-3 are back, NaN/inf never


def test_learning_rate_axis_from_zero_and_log_from_the_menu(panel, store):
    run = add_run(store)
    run.step_lr.values[-5:] = 0.0  # a schedule that ends at 0
    store.changed(run.run_id)
    panel.redraw_now()
    lo, hi = panel.loss.lr_plot.vb.viewRange()[1]
    assert lo == 0 and hi == pytest.approx(0.0115)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        panel.loss.lr_plot.ctrl.logYCheck.setChecked(True)
        panel.grab()
    assert len(data(panel.loss.run_items[run.run_id].lr)[1]) == len(run.step) - 5


def test_empty_runs_draw_nothing_and_never_raise(panel, store, qtbot):
    run = store.new_run({}, "empty")
    panel.show()
    qtbot.waitExposed(panel)
    panel.redraw_now()
    for i in range(panel.tabs.count()):
        panel.tabs.setCurrentIndex(i)
        panel.grab()
    items = panel.loss.run_items[run.run_id]
    for curve in items.curves():
        assert data(curve)[0].size == 0
    assert not items.best.isVisible() and not items.stopped.isVisible()
    assert panel.gradients.curves == {}
    assert "No gradient norms" in panel.gradients.empty.toPlainText()
    assert panel.histograms.curve.getOriginalDataset()[0] is None or \
        data(panel.histograms.curve)[0].size == 0
    assert "2-D classification" in panel.boundary.message.toPlainText()
    assert "No confusion matrix" in panel.confusion.message.toPlainText()
    assert panel.runs_table.item(0, EPOCHS).text() == "0"
    assert panel.runs_table.item(0, BEST_LOSS).text() == "–"


def test_early_stopping_markers(panel, store):
    run = add_run(store, epochs=8)
    run.best_epoch, run.stopped_epoch = 5, 8
    store.changed(run.run_id)
    panel.redraw_now()
    items = panel.loss.run_items[run.run_id]
    assert items.best.isVisible() and items.best.value() == 5
    assert items.stopped.isVisible() and items.stopped.value() == 8
    assert items.best in panel.loss.loss_plot.items


def test_two_runs_overlay_with_two_legend_entries(panel, store):
    a = add_run(store, label="Adam")
    b = add_run(store, label="SGD", seed=3)
    panel.redraw_now()
    assert legend_labels(panel.loss.legend) == [a.name, b.name]
    colors = {panel.loss.run_items[r.run_id].val.opts["pen"].color().name() for r in (a, b)}
    assert colors == {a.color, b.color} and a.color != b.color
    vals = [i for i in panel.loss.loss_plot.items if isinstance(i, pg.PlotDataItem)]
    assert len(vals) == 8  # 4 loss curves per run


def test_hiding_a_run_removes_its_curves_and_legend_entry(panel, store):
    a = add_run(store, label="Adam")
    b = add_run(store, label="SGD")
    panel.redraw_now()
    items = panel.loss.run_items[a.run_id]
    store.set_visible(a.run_id, False)
    panel.redraw_now()
    for plot, item in items.items(panel.loss):
        assert item not in plot.items
    assert legend_labels(panel.loss.legend) == [b.name]
    assert panel.runs_table.item(panel.runs_table.row_of(a.run_id), SHOW).checkState() \
        == Qt.Unchecked
    store.set_visible(a.run_id, True)
    panel.redraw_now()
    assert items.val in panel.loss.loss_plot.items  # the same items, added back
    assert panel.loss.run_items[a.run_id] is items
    assert legend_labels(panel.loss.legend) == [a.name, b.name]


def test_regression_runs_plot_r2_clipped_at_minus_one(panel, store):
    run = add_run(store, task="regression")
    run.epochs[0]["val_r2"] = -35.0
    store.changed(run.run_id)
    panel.redraw_now()
    items = panel.loss.run_items[run.run_id]
    assert data(items.metric_val)[1].min() == -1.0
    assert panel.loss.metric_plot.titleLabel.text.startswith("R²")


def test_long_runs_clip_to_view_and_peak_downsample(panel, store, capsys):
    """100,000 batch losses: the curve is clipped to the view and peak-downsampled, so the
    redraw stays fast (timings printed, not asserted)."""
    timings = {}
    panel.show()
    for n in (1_000, 100_000):
        run = store.new_run({}, f"{n} steps")
        steps = np.arange(1, n + 1, dtype=np.float64)
        run.step.extend(steps)
        run.step_loss.extend(np.exp(-steps / n * 5) + 0.1 * np.random.default_rng(0).random(n))
        run.step_lr.extend(np.full(n, 1e-3))
        run.progress = {"batches": 100}
        run.epochs = [{"epoch": e, "loss": 1 / e, "val_loss": 1.1 / e}
                      for e in range(1, n // 100 + 1)]
        for other in list(store.runs):
            store.set_visible(other, other == run.run_id)
        panel.redraw_now()
        panel.loss.widget.grab()
        store.changed(run.run_id)
        t0 = time.perf_counter()
        panel.redraw_now()
        t1 = time.perf_counter()
        panel.loss.widget.grab()  # paints: clipping and downsampling happen here
        t2 = time.perf_counter()
        timings[n] = (t1 - t0, t2 - t1)
        items = panel.loss.run_items[run.run_id]
        for curve in items.curves():
            assert curve.opts["clipToView"] and curve.opts["autoDownsample"]
            assert curve.opts["downsampleMethod"] == "peak"
        assert len(data(items.batch)[0]) == n
        if n == 100_000:
            shown = items.batch.getData()[0]
            assert len(shown) < n / 10  # what is drawn is downsampled
    with capsys.disabled():
        for n, (redraw, paint) in timings.items():
            print(f"\nloss view, {n:>7,} points: redraw {1e3 * redraw:.1f} ms, "
                  f"paint {1e3 * paint:.1f} ms")


# ---------------------------------------------------------------------------- the timer
def test_timer_redraws_only_dirty_runs(panel, store, qtbot):
    a = add_run(store, label="A")
    b = add_run(store, label="B")  # current
    panel.redraw_now()
    grads = panel.gradients.redraw_count
    assert panel.redraw_now() is False  # nothing changed: nothing drawn
    fill_run(a, epochs=1)
    store.changed(a.run_id)
    assert panel.redraw_now() is True
    assert panel.loss.redrawn == {a.run_id}
    assert panel.gradients.redraw_count == grads  # follows the current run, b: untouched
    store.changed(b.run_id)
    panel.redraw_now()
    assert panel.loss.redrawn == {b.run_id}
    assert panel.gradients.redraw_count == grads + 1
    # The timer itself: a change wakes it, a tick redraws, an idle tick stops it.
    panel.show()
    qtbot.waitExposed(panel, timeout=5000)
    count = panel.redraw_count
    store.changed(a.run_id)
    assert panel.timer.isActive() and panel.timer.interval() <= 40
    qtbot.waitUntil(lambda: panel.redraw_count == count + 1, timeout=2000)
    qtbot.waitUntil(lambda: not panel.timer.isActive(), timeout=2000)
    assert panel.loss.redrawn == {a.run_id}


def test_views_out_of_sight_keep_their_changes_until_shown(panel, store, qtbot):
    """The timer draws only what can be seen (drawing holds the GIL the worker needs);
    a tab brought to the front catches up at once."""
    panel.show()
    qtbot.waitExposed(panel, timeout=5000)
    run = add_run(store, epochs=2)
    panel.show_tab("loss")
    qtbot.waitUntil(lambda: not panel.timer.isActive(), timeout=3000)
    hist_before, loss_before = panel.histograms.redraw_count, panel.loss.redraw_count
    assert loss_before >= 1
    fill_run(run, epochs=4)
    store.changed(run.run_id)
    qtbot.waitUntil(lambda: panel.loss.redraw_count > loss_before, timeout=3000)
    qtbot.waitUntil(lambda: not panel.timer.isActive(), timeout=3000)
    assert panel.histograms.redraw_count == hist_before  # out of sight: not drawn
    panel.show_tab("histograms")
    qtbot.waitUntil(lambda: panel.histograms.redraw_count > hist_before, timeout=3000)
    qtbot.waitUntil(lambda: not panel.timer.isActive(), timeout=3000)
    shown = panel.histograms.redraw_count
    assert panel.histograms.image.image.shape[1] == 6  # caught up with all six epochs
    # hidden altogether: nothing is drawn, and showing it again catches up
    panel.hide()
    fill_run(run, epochs=5)
    store.changed(run.run_id)
    qtbot.wait(150)
    assert panel.histograms.redraw_count == shown and not panel.timer.isActive()
    panel.show()
    qtbot.waitUntil(lambda: panel.histograms.redraw_count > shown, timeout=3000)


def test_many_changes_between_ticks_draw_once(panel, store):
    run = add_run(store)
    panel.redraw_now()
    before = panel.loss.redraw_count
    for _ in range(50):
        store.changed(run.run_id)
    panel.redraw_now()
    panel.redraw_now()
    assert panel.loss.redraw_count == before + 1


# ---------------------------------------------------------------------------- gradients
def test_layers_of_one_colour_get_shades_darkest_first(panel, store):
    """Three Dense layers share the card colour; their gradient curves must still be
    told apart: shades of it, darkest nearest the input, weight and bias alike."""
    from PySide6.QtGui import QColor

    add_run(store)
    panel.set_node_colors({"Dense": "#3b82f6", "Dense 2": "#3b82f6"})
    panel.redraw_now()
    g = panel.gradients
    first = g.smoothed["Dense.weight"].opts["pen"].color()
    second = g.smoothed["Dense 2.weight"].opts["pen"].color()
    assert first.name() != second.name()
    assert first.lightnessF() < second.lightnessF()
    assert abs(first.hslHueF() - QColor("#3b82f6").hslHueF()) < 0.02
    assert g.smoothed["Dense.bias"].opts["pen"].color().name() == first.name()
    assert layer_shade("#3b82f6", 0, 3) != layer_shade("#3b82f6", 2, 3)


def test_gradient_view_curves_colours_and_legend(panel, store):
    run = add_run(store)
    panel.set_node_colors({"Dense": "#112233", "Dense 2": "#445566"})
    panel.redraw_now()
    g = panel.gradients
    assert list(g.curves) == list(PARAMS)
    assert legend_labels(g.legend) == list(PARAMS)
    assert g.plot.ctrl.logYCheck.isChecked()
    x, y = data(g.curves["Dense 2.weight"])
    np.testing.assert_allclose(y, run.grad_norms["Dense 2.weight"].values)
    np.testing.assert_allclose(x, run.grad_steps.values / BATCHES)
    smooth = g.smoothed["Dense.weight"]
    assert smooth.opts["pen"].color().name() == "#112233"
    assert g.smoothed["Dense 2.bias"].opts["pen"].color().name() == "#445566"
    assert g.smoothed["Dense.bias"].opts["pen"].style() == Qt.DashLine
    assert smooth.opts["pen"].style() == Qt.SolidLine
    np.testing.assert_allclose(np.log10(data(smooth)[1]),
                               reference_ema(np.log10(run.grad_norms["Dense.weight"].values),
                                             g.smoothing))
    assert "anishing" in g.hint.text() and "xploding" in g.hint.text()


def test_gradient_view_skips_padding_nan_zero_and_inf(panel, store):
    run = store.new_run({}, "r")
    run.grad_steps.extend([1, 2, 3, 4, 5])
    run.grad_norms["Dense.weight"] = Series()
    run.grad_norms["Dense.weight"].extend([np.nan, 0.0, np.inf, 1e-9, 2.0])
    store.changed(run.run_id)
    panel.redraw_now()
    assert data(panel.gradients.curves["Dense.weight"])[1].tolist() == [1e-9, 2.0]


def test_gradient_view_follows_the_current_run(panel, store):
    a = add_run(store)
    b = store.new_run({}, "other")
    b.grad_steps.extend([1, 2])
    b.grad_norms["Out.weight"] = Series()
    b.grad_norms["Out.weight"].extend([1.0, 0.5])
    store.changed(b.run_id)
    panel.redraw_now()
    assert list(panel.gradients.curves) == ["Out.weight"]
    store.set_current(a.run_id)
    panel.redraw_now()
    assert list(panel.gradients.curves) == list(PARAMS)
    plotted = [i for i in panel.gradients.plot.items if isinstance(i, pg.PlotDataItem)]
    assert len(plotted) == 2 * len(PARAMS)  # raw + smoothed, the old run's gone


# ---------------------------------------------------------------------------- histograms
def test_histogram_is_one_step_curve_of_the_finite_values(panel, store):
    run = add_run(store)
    values = np.random.default_rng(4).normal(size=1000)
    values[:7] = np.nan
    values[7:9] = np.inf
    edges = nice_edges(values[np.isfinite(values)], 25)
    values[9:12] = edges[-1] + 5  # clipped into the last bin
    run.activation_hist["Dense"].append(histogram(values, edges))
    store.changed(run.run_id)
    panel.select_node("Dense")
    panel.redraw_now()
    h = panel.histograms
    assert h.shown_key == "Dense" and h.node_box.currentText() == "Dense"
    assert h.curve.opts["stepMode"] == "center"
    x, y = data(h.curve)
    np.testing.assert_array_equal(x, edges)
    finite = np.clip(values[np.isfinite(values)], edges[0], edges[-1])
    np.testing.assert_array_equal(y, np.histogram(finite, edges)[0])
    assert h.curve.opts["fillLevel"] == 0
    assert [i for i in h.hist_plot.items if isinstance(i, pg.PlotDataItem)] == [h.curve]
    assert not h.badge.isHidden()
    assert "9 non-finite" in h.badge.text() and "3 outside" in h.badge.text()


def test_histogram_heat_map_over_epochs(panel, store):
    run = add_run(store, epochs=7)
    panel.select_node("ReLU")
    panel.redraw_now()
    h = panel.histograms
    hists = run.activation_hist["ReLU"]
    img = h.image.image
    assert img.shape == (len(hists[-1].counts), 7)  # y = bin, x = epoch
    np.testing.assert_allclose(img[:, -1] ** 2, hists[-1].counts / hists[-1].counts.max())
    rect = h.image.mapRectToParent(h.image.boundingRect())
    assert rect.left() == pytest.approx(0.5) and rect.right() == pytest.approx(7.5)
    assert rect.top() == pytest.approx(hists[-1].edges[0])
    assert h.badge.isHidden()
    assert h.stat_label.text() == "<b>ReLU: dead ReLU units: 12%</b>"
    assert "dead ReLU unit" in h.stat_help.text()


def test_heat_map_with_histograms_every_few_epochs_repeats_each_until_the_next(panel, store):
    """Very short epochs get histograms every few epochs (run.hist_epochs); the heat map
    still has one column per epoch, each showing the latest histogram so far."""
    run = add_run(store, epochs=6)
    for name in ("Dense", "ReLU"):  # keep the histograms of epochs 1, 3 and 6
        run.activation_hist[name] = [run.activation_hist[name][i] for i in (0, 2, 5)]
    run.hist_epochs = [1, 3, 6]
    store.changed(run.run_id)
    panel.select_node("ReLU")
    panel.redraw_now()
    h = panel.histograms
    img = h.image.image
    assert img.shape[1] == 6
    hists = run.activation_hist["ReLU"]
    for col, k in enumerate([0, 0, 1, 1, 1, 2]):  # epochs 1..6 -> histogram shown
        np.testing.assert_allclose(img[:, col] ** 2, hists[k].counts / hists[k].counts.max())
    rect = h.image.mapRectToParent(h.image.boundingRect())
    assert rect.left() == pytest.approx(0.5) and rect.right() == pytest.approx(6.5)
    assert "epoch 6" in h.hist_plot.titleLabel.text


def test_heat_matrix_rebins_other_edges():
    a = histogram([0.5, 1.5, 1.6], [0, 1, 2])
    b = histogram([0.1, 0.2, 0.6, 1.2], [0, 0.5, 1.0, 1.5, 2.0])
    image, edges = heat_matrix([b, a])
    np.testing.assert_array_equal(edges, [0, 1, 2])
    np.testing.assert_allclose(image[:, 0], [1.0, 1 / 3])
    np.testing.assert_allclose(image[:, 1], [0.5, 1.0])
    assert heat_matrix([])[0].shape == (0, 0)


def test_weights_mode_and_select_node(panel, store):
    add_run(store)
    panel.redraw_now()
    h = panel.histograms
    h.set_mode("weights")
    panel.select_node("Dense")
    assert h.shown_key == "Dense.weight"
    assert [h.node_box.itemText(i) for i in range(h.node_box.count())] == \
        ["Dense.weight", "Dense.bias"]
    h.node_box.setCurrentText("Dense.bias")
    assert h.shown_key == "Dense.bias"
    h.set_mode("activations")
    assert h.shown_key == "Dense"  # the node of the chosen tensor
    panel.select_node("Cross-Entropy")  # no histograms: falls back, never fails
    assert h.shown_key in ("Dense", "ReLU")
    with pytest.raises(ValueError):
        h.set_mode("gradients")


# ---------------------------------------------------------------------------- boundary
def test_boundary_image_and_points(panel, store):
    run = add_run(store)
    panel.redraw_now()
    v = panel.boundary
    img = v.image.image
    assert img.shape == (20, 30, 4) and img.dtype == np.uint8
    total = sum(len(s.data) for s in v.scatters.values())
    assert total == len(run.points[1]) == 90
    for c, s in v.scatters.items():
        assert len(s.data) == int(np.sum(run.points[1] == c))
    assert legend_labels(v.legend) == ["left", "middle", "right"]
    assert v.plot.getAxis("bottom").labelText == "x1"
    assert v.plot.getAxis("left").labelText == "x2"
    rect = v.image.mapRectToParent(v.image.boundingRect())
    dx = 4 / 29
    assert rect.left() == pytest.approx(-2 - dx / 2) and rect.right() == pytest.approx(2 + dx / 2)
    assert v.message.toPlainText() == ""


def test_boundary_fills_the_plot_and_names_the_epoch_it_was_computed_after(panel, store):
    run = add_run(store)  # 6 epochs; its boundary was computed after epoch 4
    run.boundary["epoch"] = 4
    panel.redraw_now()
    v = panel.boundary
    (x0, x1), (y0, y1) = v.plot.vb.viewRange()
    rect = v.image.mapRectToParent(v.image.boundingRect())
    assert (x0, x1) == pytest.approx((rect.left(), rect.right()), abs=1e-6)
    assert (y0, y1) == pytest.approx((rect.top(), rect.bottom()), abs=1e-6)
    assert v.plot.titleLabel.text == "Decision boundary after epoch 4"


def test_a_long_title_does_not_widen_its_plot(panel, store, qtbot):
    """pyqtgraph makes a title's width its plot's minimum width: a long title in a
    narrow dock pushed the plots past the dock's edge. Titles are cut with "…" instead
    (a cut without the mark once read "epoch 3" for "epoch 30")."""
    from app.plots.base import set_plot_labels

    v = panel.boundary
    before = v.widget.minimumSizeHint().width()
    title = "Decision boundary after epoch 30, " + "and a very long explanation " * 10 + "end"
    set_plot_labels(v.plot, v.colors, title=title)
    label = v.plot.titleLabel
    assert label.minimumWidth() == 0
    assert v.plot.minimumWidth() < 300
    assert v.widget.minimumSizeHint().width() == before
    label.resize(300, 25)  # pyqtgraph resets a title's minimum width on resize too
    assert label.minimumWidth() == 0
    shown = label.item.toPlainText()
    assert shown.endswith("…") and title.startswith(shown[:-1].rstrip())
    assert label.item.boundingRect().width() <= label.rect().width()
    assert label.item.pos().x() >= 0
    label.resize(4000, 25)  # room again: the whole title
    assert label.item.toPlainText() == title and label.text == title


def test_titles_fit_a_narrow_plots_dock_at_the_smallest_window(qtbot):
    """Every view's title and layout fit the plots dock's narrowest width (480 px)."""
    store = RunStore()
    panel = PlotsPanel(store)
    qtbot.addWidget(panel)
    run = add_run(store)
    run.name = "Run 12: adamw lr=0.000123 · breast_cancer"
    panel.resize(480, 700)
    panel.show()
    qtbot.waitExposed(panel, timeout=5000)
    for name in ("loss", "gradients", "histograms", "boundary", "confusion"):
        panel.show_tab(name)
        panel.redraw_now()
        view = panel.tabs.currentWidget()
        assert view.width() <= 480, name
        for plot in view.plot_items():
            label = plot.titleLabel
            if label.isVisible() and label.text:
                assert label.item.boundingRect().width() <= label.rect().width() + 1, name


def test_boundary_rgba_alpha_follows_confidence():
    classes = np.array([[0, 1, 2]])
    rgba = boundary_rgba(classes, np.array([[1 / 3, 0.66, 1.0]]), 3)
    assert rgba[0, 0, 3] == round(255 * ALPHA_UNSURE) and rgba[0, 2, 3] == round(255 * ALPHA_SURE)
    assert rgba[0, 0, 3] < rgba[0, 1, 3] < rgba[0, 2, 3]
    assert len({tuple(rgba[0, i, :3]) for i in range(3)}) == 3
    nan = boundary_rgba(classes, np.full((1, 3), np.nan), 3)
    assert np.all(nan[..., 3] == round(255 * ALPHA_UNSURE))


def test_boundary_says_when_it_cannot_draw(panel, store):
    add_run(store, task="regression")
    panel.redraw_now()
    assert "2-D classification only" in panel.boundary.message.toPlainText()
    assert panel.boundary.image.image is None
    assert "classification only" in panel.confusion.message.toPlainText()
    # a message alone: no empty axes, no caption explaining colours that are not there
    panel.show()
    assert panel.boundary.caption.isHidden()
    assert not any(panel.confusion.plot.getAxis(s).isVisible() for s in ("left", "bottom"))
    assert not any(panel.boundary.plot.getAxis(s).isVisible() for s in ("left", "bottom"))
    run = add_run(store)  # a classification run brings them back
    store.set_current(run.run_id)
    panel.redraw_now()
    assert not panel.boundary.caption.isHidden()
    assert panel.confusion.plot.getAxis("left").isVisible()


# ---------------------------------------------------------------------------- confusion
def test_confusion_matrix_counts_recall_and_class_names(panel, store):
    run = add_run(store)
    panel.redraw_now()
    v = panel.confusion
    np.testing.assert_allclose(v.shares, row_recall(run.confusion))
    rep = v.image.image.shape[0] // 3
    np.testing.assert_allclose(v.image.image[::rep, ::rep], row_recall(run.confusion))
    rect = v.image.mapRectToParent(v.image.boundingRect())
    assert (rect.width(), rect.height()) == (3, 3)
    assert len(v.texts) == 9
    assert ">40<" in v.texts[0].textItem.toHtml() and "95%" in v.texts[0].textItem.toHtml()
    assert ">5<" in v.texts[3].textItem.toHtml()
    ticks = v.plot.getAxis("bottom")._tickLevels[0]
    assert [t for _, t in ticks] == ["left", "middle", "right"]
    right = [t for _, t in v.plot.getAxis("right")._tickLevels[0]]
    assert right == ["95%", "75%", "100%"]
    assert "88 of 100" in v.plot.titleLabel.text
    # The classes may grow (another run): texts are rebuilt to K*K.
    run.confusion = np.eye(5, dtype=int) * 3
    run.per_class, run.classes = None, None
    store.changed(run.run_id)
    panel.redraw_now()
    assert len(v.texts) == 25 and v.shares.shape == (5, 5)


# ---------------------------------------------------------------------------- runs table
def test_runs_table_rows_and_current_selection(panel, store):
    a = add_run(store, label="Adam")
    b = add_run(store, label="SGD", task="regression")
    panel.redraw_now()
    t = panel.runs_table
    assert t.rowCount() == 2
    assert t.item(0, NAME).text() == a.name and t.item(1, STATUS).text() == "finished"
    assert t.item(0, EPOCHS).text() == "6"
    assert t.item(0, BEST_LOSS).text() == "0.1833 (ep 6)"
    assert t.item(0, BEST_METRIC).text() == "90.0% (ep 6)"
    assert t.item(1, BEST_METRIC).text().startswith("R² 0.900")
    assert t.currentRow() == 1  # the current run (the newest)
    t.selectRow(0)
    assert store.current == a.run_id
    panel.redraw_now()
    assert panel.gradients._run_id == a.run_id
    store.set_current(b.run_id)
    panel.redraw_now()
    assert t.currentRow() == 1


def test_runs_table_checkbox_shows_and_hides(panel, store):
    a = add_run(store)
    panel.redraw_now()
    panel.runs_table.item(0, SHOW).setCheckState(Qt.Unchecked)
    assert not a.visible
    panel.redraw_now()
    assert panel.loss.run_items[a.run_id].val not in panel.loss.loss_plot.items


def test_deleting_a_run_removes_its_items_but_not_while_training(panel, store):
    a = add_run(store, label="A")
    b = add_run(store, label="B")
    b.status = "running"
    store.changed(b.run_id)
    panel.redraw_now()
    t = panel.runs_table
    assert not t.delete_button(b.run_id).isEnabled()
    assert t.delete_run(b.run_id) is False and b.run_id in store.runs
    b.status = "paused"
    assert t.delete_run(b.run_id) is False
    items = panel.loss.run_items[a.run_id]
    assert t.delete_button(a.run_id).isEnabled()
    t.delete_button(a.run_id).click()
    assert a.run_id not in store.runs
    panel.redraw_now()
    assert a.run_id not in panel.loss.run_items
    for plot, item in items.items(panel.loss):
        assert item not in plot.items
    assert legend_labels(panel.loss.legend) == [b.name]
    assert t.rowCount() == 1 and t.run_id_at(0) == b.run_id


def test_deleting_the_current_run_moves_the_views_on(panel, store):
    a = add_run(store, label="A")
    b = add_run(store, label="B")
    panel.redraw_now()
    panel.runs_table.delete_run(b.run_id)
    panel.redraw_now()
    assert store.current == a.run_id
    assert panel.gradients._run_id == a.run_id
    panel.runs_table.delete_run(a.run_id)
    panel.redraw_now()
    assert panel.gradients.curves == {} and panel.runs_table.rowCount() == 0
    assert panel.confusion.matrix is None


# ---------------------------------------------------------------------------- themes
def test_set_theme_restyles_every_plot(panel, store):
    add_run(store)
    panel.redraw_now()
    panel.set_theme("dark")
    colors = plot_colors(DARK)
    for view in panel.views:
        for w in view._graphics:
            assert w.backgroundBrush().color().name() == colors.background
        for plot in view.plot_items():
            assert plot.getAxis("bottom").textPen().color().name() == colors.foreground
            assert colors.foreground in plot.titleLabel.text or \
                plot.titleLabel.opts.get("color") == colors.foreground
    label = panel.loss.legend.items[0][1]
    assert label.opts["color"] == colors.foreground
    panel.set_theme("light")
    assert panel.loss.widget.backgroundBrush().color().name() == "#ffffff"


# ---------------------------------------------------------------------------- exports
def all_plots(panel):
    return [(type(v).__name__, p) for v in panel.views for p in v.plot_items()]


def test_every_plot_exports_png_svg_csv(panel, store, tmp_path, qtbot):
    add_run(store)
    panel.show()
    qtbot.waitExposed(panel)
    panel.redraw_now()
    for i, (name, plot) in enumerate(all_plots(panel)):
        png, svg, csv = (tmp_path / f"{i}.{ext}" for ext in ("png", "svg", "csv"))
        exporter = pg.exporters.ImageExporter(plot)
        exporter.parameters()["width"] = 400
        exporter.export(str(png))
        image = QImage(str(png))
        assert not image.isNull() and image.width() == 400, name
        pg.exporters.SVGExporter(plot).export(str(svg))
        assert "<svg" in svg.read_text(encoding="utf-8"), name
        pg.exporters.CSVExporter(plot).export(str(csv))
        assert csv.exists(), name
    # "Entire scene" in the export dialog: each pyqtgraph widget as one picture.
    for i, view in enumerate(panel.views):
        for j, w in enumerate(view._graphics):
            png, svg = tmp_path / f"scene{i}{j}.png", tmp_path / f"scene{i}{j}.svg"
            pg.exporters.ImageExporter(w.scene()).export(str(png))
            assert not QImage(str(png)).isNull()
            pg.exporters.SVGExporter(w.scene()).export(str(svg))
            assert "<svg" in svg.read_text(encoding="utf-8")
    loss_csv = tmp_path / "loss.csv"
    pg.exporters.CSVExporter(panel.loss.loss_plot).export(str(loss_csv))
    header = loss_csv.read_text().splitlines()[0]
    assert "Run 1: Adam validation loss_x" in header
    assert len(loss_csv.read_text().splitlines()) == 61  # header + 60 batches
    hist_csv = tmp_path / "hist.csv"
    pg.exporters.CSVExporter(panel.histograms.hist_plot).export(str(hist_csv))
    assert len(hist_csv.read_text().splitlines()) == 1 + 31  # 31 edges (30 counts)


def test_svg_close_path_rewrite():
    from app.plots.base import _close_paths_explicitly

    assert _close_paths_explicitly("M0,0 L4,0 L4,3 Z M5,5 L6,6 z") == \
        "M0,0 L4,0 L4,3 L0,0 M5,5 L6,6 L5,5"
    assert _close_paths_explicitly("M1,2 L3,4 ") == "M1,2 L3,4"


def test_export_history_csv(panel, store, tmp_path, monkeypatch):
    run = add_run(store)
    panel.redraw_now()
    path = panel.export_history_csv(tmp_path / "h.csv")
    assert path.read_text(encoding="utf-8") == run.history_csv()
    # The context-menu action, beside pyqtgraph's "Export...", in every plot widget.
    for view in panel.views:
        for w, _action in zip(view._graphics, view.history_actions):
            texts = [a.text() for a in w.scene().contextMenu]
            assert texts[0] == "Export..." and "Export history as CSV…" in texts
    target = tmp_path / "from_menu.csv"
    monkeypatch.setattr("app.plots.base.QFileDialog.getSaveFileName",
                        lambda *a, **k: (str(target), "CSV files (*.csv)"))
    panel.confusion.history_actions[0].trigger()
    assert target.read_text(encoding="utf-8") == run.history_csv()


def test_history_action_without_epochs_says_so(panel, store, monkeypatch):
    store.new_run({}, "empty")
    shown = []
    monkeypatch.setattr("app.plots.base.QMessageBox.information",
                        lambda *a, **k: shown.append(a[2]))
    panel.loss.history_actions[0].trigger()
    assert shown and "no finished epoch" in shown[0]


def test_delete_key_removes_the_selected_finished_run(panel, store, qtbot):
    a = add_run(store, label="A")
    b = add_run(store, label="B")
    b.status = "running"
    store.changed(b.run_id)
    panel.show()
    qtbot.waitExposed(panel)
    panel.redraw_now()
    t = panel.runs_table
    t.setFocus()
    qtbot.keyClick(t, Qt.Key_Delete)  # B, the current one, is training: kept
    assert b.run_id in store.runs
    t.selectRow(t.row_of(a.run_id))
    qtbot.keyClick(t, Qt.Key_Delete)
    assert a.run_id not in store.runs


def test_the_context_menus_export_dialog_offers_png_svg_csv(panel, store, qtbot):
    add_run(store)
    panel.show()
    qtbot.waitExposed(panel)
    panel.redraw_now()
    scene = panel.loss.widget.scene()
    scene.contextMenuItem = panel.loss.loss_plot.vb
    scene.showExportDialog()
    dialog = scene.exportDialog
    try:
        formats = [dialog.ui.formatList.item(i).text()
                   for i in range(dialog.ui.formatList.count())]
        assert any("Image" in f for f in formats) and any("SVG" in f for f in formats)
        assert any("CSV" in f for f in formats)
        selected = dialog.ui.itemTree.currentItem().gitem
        assert selected is panel.loss.loss_plot  # the plot right-clicked, not the scene
    finally:
        dialog.close()


def test_per_epoch_views_skip_batch_only_ticks(panel, store):
    run = add_run(store)
    panel.redraw_now()
    counts = {v: v.redraw_count for v in (panel.histograms, panel.boundary, panel.confusion)}
    grads = panel.gradients.redraw_count
    run.step.append(61)
    run.step_loss.append(0.1)  # a batch: no new epoch, histogram, matrix or boundary
    store.changed(run.run_id)
    panel.redraw_now()
    assert panel.gradients.redraw_count == grads + 1
    assert all(v.redraw_count == c for v, c in counts.items())
    run.confusion = run.confusion.copy()  # replaced by the controller: drawn again
    store.changed(run.run_id)
    panel.redraw_now()
    assert panel.confusion.redraw_count == counts[panel.confusion] + 1
    assert panel.boundary.redraw_count == counts[panel.boundary]
    fill_run(run, epochs=1)  # an epoch: all of them
    store.changed(run.run_id)
    panel.redraw_now()
    assert all(v.redraw_count == c + (2 if v is panel.confusion else 1)
               for v, c in counts.items())
    panel.set_theme("dark")  # a theme change always redraws
    assert all(v.redraw_count == c + (3 if v is panel.confusion else 2)
               for v, c in counts.items())


# ---------------------------------------------------------------------------- CSV exports
def test_runs_history_csv_has_a_run_column_and_every_metric():
    import csv
    import io

    from app.plots.base import runs_history_csv

    store = RunStore()
    a = add_run(store, label="Adam", epochs=2)
    store.new_run({}, "empty")  # no epochs: no rows
    b = store.new_run({}, "SGD, momentum")
    b.epochs = [{"epoch": 1, "loss": 0.5, "r2": 0.25, "val_loss": np.nan}]
    rows = list(csv.reader(io.StringIO(runs_history_csv(store.runs.values()))))
    header = rows[0]
    assert header[:2] == ["run", "epoch"]
    assert header[2:] == ["loss", "accuracy", "val_loss", "val_accuracy", "lr", "time", "r2"]
    assert [r[0] for r in rows[1:]] == [a.name, a.name, b.name]  # quoted: it has a comma
    col = header.index
    assert [r[col("epoch")] for r in rows[1:]] == ["1", "2", "1"]
    assert float(rows[2][col("loss")]) == 0.5 and rows[2][col("r2")] == ""
    assert rows[3][col("accuracy")] == "" and rows[3][col("r2")] == "0.25"
    assert rows[3][col("val_loss")] == "nan"
    assert runs_history_csv([]) == "run,epoch\n"


def test_confusion_csv_rows_are_true_classes_columns_predicted():
    from app.plots.confusion import confusion_csv

    cm = np.array([[40, 2, 0], [5, 30, 5], [0, 0, 18]])
    assert confusion_csv(cm, ["left", "middle", "right"]) == (
        "true \\ predicted,left,middle,right\n"
        "left,40,2,0\n"
        "middle,5,30,5\n"
        "right,0,0,18\n")
    # float counts are written as integers; missing names are the class index
    assert confusion_csv(np.array([[3.0, 1.0], [0.0, 2.0]]), ["a, b"]) == (
        'true \\ predicted,"a, b",1\n"a, b",3,1\n1,0,2\n')
    with pytest.raises(ValueError, match="square"):
        confusion_csv(np.zeros((2, 3)))


def test_confusion_export_matrix_action(panel, store, tmp_path, patch_dialogs):
    from app.plots.confusion import confusion_csv

    v = panel.confusion
    assert v.matrix_action in v.widget.scene().contextMenu
    assert v.matrix_action.text() == "Export matrix as CSV…"
    target = tmp_path / "cm.csv"
    shown, warned, asked = patch_dialogs(lambda: target)
    store.new_run({}, "empty")
    panel.redraw_now()
    v.matrix_action.trigger()  # nothing shown: said so, no dialog, no file
    assert shown and "No confusion matrix" in shown[0] and not asked
    assert not target.exists()
    run = add_run(store)
    panel.redraw_now()
    v.matrix_action.trigger()
    assert asked and asked[0].endswith("confusion.csv")
    text = target.read_text(encoding="utf-8")
    assert text == confusion_csv(run.confusion, run.classes)
    assert text.splitlines()[2] == "middle,5,30,5"
    bad = tmp_path / "missing" / "cm.csv"
    target = bad
    v.matrix_action.trigger()  # unwritable: a warning naming the path, no exception
    assert len(warned) == 1 and str(bad) in warned[0]
    assert "No such file or directory" in warned[0] and not bad.exists()


def test_heat_map_csv_counts_per_recorded_epoch():
    from app.plots.histograms import bin_label, heat_map_csv

    edges = [-1.0, -0.9, 0.0, 1.0]
    h1 = histogram([-0.95, 0.5, 0.7, 1.0], edges)
    h2 = histogram([-0.95, -0.91, 0.1, 5.0, np.nan], edges)  # 5.0 clipped into the last bin
    text = heat_map_csv([h1, h2], [2, 5])
    assert text == ("epoch,\"[-1.0, -0.9)\",\"[-0.9, 0.0)\",\"[0.0, 1.0]\"\n"
                    "2,1,0,3\n"
                    "5,2,0,2\n")
    assert bin_label(-0.9000000000000001, -0.8) == "[-0.9, -0.8)"
    # a histogram with other edges is re-binned onto the latest ones, by bin centres
    old = histogram([0.1, 0.2, 0.6, 1.2], [0, 0.5, 1.0, 1.5, 2.0])
    new = histogram([0.5, 1.5, 1.6], [0, 1, 2])
    assert heat_map_csv([old, new], [1, 2]).splitlines()[1:] == ["1,3,1", "2,1,2"]
    assert heat_map_csv([], []) == "epoch\n"
    with pytest.raises(ValueError):
        heat_map_csv([h1], [1, 2])


def test_histogram_export_heat_map_action(panel, store, tmp_path, patch_dialogs):
    import csv

    h = panel.histograms
    assert h.heat_map_action in h.widget.scene().contextMenu
    assert h.heat_map_action.text() == "Export heat map as CSV…"
    target = tmp_path / "heat.csv"
    shown, warned, _ = patch_dialogs(lambda: target)
    panel.redraw_now()
    h.heat_map_action.trigger()  # no run: said so, nothing written
    assert shown and "No histograms" in shown[0] and not target.exists()
    run = add_run(store, epochs=6)
    for name in ("Dense", "ReLU"):  # histograms of epochs 1, 3 and 6 only
        run.activation_hist[name] = [run.activation_hist[name][i] for i in (0, 2, 5)]
    run.hist_epochs = [1, 3, 6]
    store.changed(run.run_id)
    panel.select_node("ReLU")
    panel.redraw_now()
    h.heat_map_action.trigger()
    with target.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    hists = run.activation_hist["ReLU"]
    edges = hists[-1].edges
    assert rows[0][0] == "epoch" and len(rows[0]) == 1 + len(edges) - 1
    assert rows[0][1] == f"[{float(f'{edges[0]:.10g}')!r}, {float(f'{edges[1]:.10g}')!r})"
    assert rows[0][-1].endswith("]")
    assert [int(r[0]) for r in rows[1:]] == [1, 3, 6]  # one row per recorded epoch
    for row, hist in zip(rows[1:], hists):
        assert [int(c) for c in row[1:]] == hist.counts.tolist()
    # the weights of a parameter, to a folder that does not exist: a warning
    h.set_mode("weights")
    panel.select_node("Dense.weight")
    target = tmp_path / "missing" / "heat.csv"
    h.heat_map_action.trigger()
    assert len(warned) == 1 and str(target) in warned[0] and not target.exists()


def test_the_panel_says_when_it_draws_and_when_the_painting_is_done(panel, store, qtbot):
    calls: list[bool] = []
    panel.gui_busy = calls.append
    panel.show()
    qtbot.waitExposed(panel, timeout=5000)
    add_run(store)
    qtbot.waitUntil(lambda: len(calls) >= 2 and calls[-1] is False, timeout=3000)
    assert calls[0] is True
    qtbot.waitUntil(lambda: not panel.timer.isActive(), timeout=3000)
    qtbot.wait(50)
    assert calls[-1] is False  # never left busy: the worker would wait for nothing


def test_a_tick_draws_one_view_and_leaves_the_next_for_the_next_turn(panel, store, qtbot):
    """Other events (the user's, other timers) get in between two views' drawing."""
    panel.show()
    qtbot.waitExposed(panel, timeout=5000)
    qtbot.waitUntil(lambda: not panel.timer.isActive(), timeout=3000)
    run = add_run(store)
    qtbot.waitUntil(lambda: not panel.timer.isActive(), timeout=3000)
    loss, table = panel.loss.redraw_count, panel.runs_table.redraw_count
    store.changed(run.run_id)  # both views in sight have something to draw
    panel._tick()  # a timer tick, called by hand before the event loop turns
    assert panel.loss.redraw_count == loss + 1 and panel.runs_table.redraw_count == table
    panel.timer.stop()  # only the continuation now
    store.changed(run.run_id)  # more data already: the continuation still draws only
    panel.timer.stop()  # what the tick left (it once redrew the loss again, forever,
    qtbot.waitUntil(lambda: panel.runs_table.redraw_count == table + 1, timeout=3000)
    qtbot.wait(50)  # keeping the worker waiting)
    assert panel.loss.redraw_count == loss + 1
    assert run.run_id in [panel.runs_table.run_id_at(r) for r in range(panel.runs_table.rowCount())]


def test_the_loss_views_plots_share_one_epoch_axis_at_the_bottom(panel):
    """In a short window every pixel goes to the curves: the x-linked upper plots keep
    their grid but not their tick labels; the lowest plot names the epochs."""
    v = panel.loss
    for plot in (v.loss_plot, v.metric_plot):
        axis = plot.getAxis("bottom")
        assert axis.isVisible() and not axis.style["showValues"] and axis.height() <= 6
    bottom = v.lr_plot.getAxis("bottom")
    assert bottom.style["showValues"] and bottom.labelText == "epoch"
    assert v.metric_plot.vb.linkedView(0) is v.loss_plot.vb
