"""Loss, accuracy (or R²) and learning rate of every visible run, on one epoch axis.

x is the epoch as a float: the end of epoch ``e`` is ``x = e`` (where the per-epoch
points are), and batch ``b`` of ``B`` in epoch ``e`` is at ``e - 1 + b / B``, so
per-batch and per-epoch curves share the axis (see :func:`~app.plots.base.steps_to_epochs`).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from app.plots.base import (EPOCH_REDRAW_S, EmaCache, PlotView, SteadyRange, configure_plot,
                            finite_xy, legend_labels, live_curve, new_legend, set_plot_labels,
                            steps_to_epochs, style_legend, with_alpha)
from app.state import RunState

__all__ = ["LossView"]

#: Epoch curves get a marker at every epoch end up to this many epochs.
MAX_MARKED_EPOCHS = 80


class _RunItems:
    """The plot items of one run (created once; data replaced with setData)."""

    def __init__(self, view: "LossView", run: Any) -> None:
        c = run.color
        name = run.name
        self.batch = live_curve(view.loss_plot, pg.mkPen(with_alpha(c, 0.4), width=1),
                                name=f"{name} training loss per batch", ignore_bounds=True)
        self.smooth = live_curve(view.loss_plot, pg.mkPen(with_alpha(c, 0.6), width=1.1),
                                 name=f"{name} training loss per batch (smoothed)",
                                 ignore_bounds=True)
        self.train = live_curve(view.loss_plot,
                                pg.mkPen(c, width=1.6, style=Qt.DashLine),
                                name=f"{name} training loss per epoch", ignore_bounds=True,
                                symbol="o", symbolSize=5, symbolPen=None, symbolBrush=c)
        self.val = live_curve(view.loss_plot, pg.mkPen(c, width=2.4),
                              name=f"{name} validation loss", ignore_bounds=True)
        self.metric_train = live_curve(view.metric_plot,
                                       pg.mkPen(c, width=1.6, style=Qt.DashLine),
                                       name=f"{name} training metric", ignore_bounds=True,
                                       symbol="o", symbolSize=5, symbolPen=None,
                                       symbolBrush=c)
        self.metric_val = live_curve(view.metric_plot, pg.mkPen(c, width=2.4),
                                     name=f"{name} validation metric", ignore_bounds=True)
        self.lr = live_curve(view.lr_plot, pg.mkPen(c, width=1.5),
                             name=f"{name} learning rate")
        # Labels half-way up, on the side of the line towards the middle of the plot
        # (pyqtgraph picks one of the two anchors by where the view's centre is): left of
        # a line in the right half, under the legend's corner, right of a line near the
        # left edge (early stopping's best epoch 1), where a label on the left was cut off.
        label_opts = {"position": 0.62, "color": c, "movable": False,
                      "fill": view.colors.legend_bg, "anchors": [(0, 0.5), (1, 0.5)]}
        self.best = pg.InfiniteLine(angle=90, pen=pg.mkPen(c, width=1.3, style=Qt.DotLine),
                                    label="best epoch", labelOpts=dict(label_opts))
        self.stopped = pg.InfiniteLine(angle=90, pen=pg.mkPen(c, width=1.3, style=Qt.DashLine),
                                       label="stopped",
                                       labelOpts=dict(label_opts, position=0.5))
        for line in (self.best, self.stopped):
            view.loss_plot.addItem(line, ignoreBounds=True)
            line.setVisible(False)
        self.ema = EmaCache()
        self.smoothed: bool | None = None  # the pens follow the smoothing on/off
        self.epoch_state: tuple | None = None  # (epochs, log y, task) last drawn
        self.epochs_drawn_at = 0.0  # time.monotonic() of that drawing
        self.lr_points = 0  # learning-rate values drawn
        self.marked = True  # epoch markers shown
        self.shown = True
        self.in_legend = False
        self.color = c
        self.name = name

    def items(self, view: "LossView") -> list[tuple[pg.PlotItem, Any]]:
        return [(view.loss_plot, self.batch), (view.loss_plot, self.smooth),
                (view.loss_plot, self.train), (view.loss_plot, self.val),
                (view.loss_plot, self.best), (view.loss_plot, self.stopped),
                (view.metric_plot, self.metric_train), (view.metric_plot, self.metric_val),
                (view.lr_plot, self.lr)]

    def curves(self) -> list[pg.PlotDataItem]:
        return [self.batch, self.smooth, self.train, self.val, self.metric_train,
                self.metric_val, self.lr]


class LossView(PlotView):
    """Loss (per batch and per epoch, training and validation), accuracy or R², and
    learning rate of every visible run.

    Training curves are dashed (per epoch, with markers) or thin (per batch, raw and
    smoothed), validation curves solid, all in the run's colour; the legend names the
    runs. Dotted and dashed vertical lines mark early stopping's best epoch and the
    epoch where it stopped.

    Attributes:
        widget: the :class:`pyqtgraph.GraphicsLayoutWidget` holding the three plots.
        loss_plot, metric_plot, lr_plot: the plots (x linked: epochs).
        legend: the legend of the loss plot (one entry per visible run); ``key_label``
            says which line style is which curve.
        smoothing_slider: 0..99 (the EMA weight in hundredths); ``smoothing_label``.
        log_y: the log-y checkbox of the loss plot.
        run_items: run id -> its plot items (``.batch``, ``.smooth``, ``.train``,
            ``.val``, ``.metric_train``, ``.metric_val``, ``.lr``, ``.best``,
            ``.stopped``).
        redrawn: the ids of the runs drawn by the last :meth:`redraw`.
    """

    follows_current = False

    def __init__(self, store: Any, parent: QWidget | None = None) -> None:
        super().__init__(store, parent)
        self.run_items: dict[int, _RunItems] = {}
        self.redrawn: set[int] = set()
        self.deferred: set[int] = set()  # runs with epochs left for a later tick

        controls = QHBoxLayout()
        controls.setContentsMargins(6, 2, 6, 0)
        self.smoothing_label = QLabel()
        self.smoothing_slider = QSlider(Qt.Horizontal)
        self.smoothing_slider.setRange(0, 99)
        self.smoothing_slider.setValue(60)
        self.smoothing_slider.setMinimumWidth(90)
        self.smoothing_slider.setMaximumWidth(180)
        self.smoothing_slider.setToolTip(
            "Exponential moving average of the per-batch loss (as TensorBoard's): 0 shows "
            "the raw values; higher values average over more batches.\nThe raw values stay "
            "visible, faintly.")
        self.log_y = QCheckBox("Log scale")
        self.log_y.setToolTip("Show the loss on a logarithmic axis (values <= 0 are left out)")
        controls.addWidget(QLabel("Smoothing"))
        controls.addWidget(self.smoothing_slider)
        controls.addWidget(self.smoothing_label)
        controls.addSpacing(16)
        controls.addWidget(self.log_y)
        controls.addStretch(1)
        self.key_label = QLabel("Lines: <b>━━</b> validation &nbsp; <b>╍●╍</b> training "
                                "per epoch &nbsp; <b>─</b> training per batch (faint: raw)")
        self.key_label.setToolTip("Line styles: validation (solid), training per epoch "
                                  "(dashed, dots), training per batch (thin; faint: the raw "
                                  "values, strong: smoothed).\nEvery run has its own colour "
                                  "(legend in the plot).")
        self.key_label.setWordWrap(True)  # two lines in a narrow dock, never wider than it
        self.key_label.setContentsMargins(6, 0, 6, 0)

        self.widget = pg.GraphicsLayoutWidget()
        self.loss_plot = self.widget.addPlot(row=0, col=0)
        self.metric_plot = self.widget.addPlot(row=1, col=0)
        self.lr_plot = self.widget.addPlot(row=2, col=0)
        layout = self.widget.ci.layout
        layout.setRowStretchFactor(0, 6)
        layout.setRowStretchFactor(1, 3)
        layout.setRowStretchFactor(2, 2)
        self.lr_plot.setMaximumHeight(170)
        configure_plot(self.loss_plot, "Loss", None, "loss")
        configure_plot(self.metric_plot, "Accuracy", None, "accuracy")
        configure_plot(self.lr_plot, "Learning rate", "epoch", "learning rate")
        for p in (self.metric_plot, self.lr_plot):
            p.setXLink(self.loss_plot)
        # one epoch axis, under the last plot: the upper two keep their grid, not their
        # tick labels (their height goes to the curves in a short window)
        for p in (self.loss_plot, self.metric_plot):
            axis = p.getAxis("bottom")
            axis.setStyle(showValues=False)
            axis.setHeight(6)
        for p in (self.loss_plot, self.metric_plot, self.lr_plot):
            p.getAxis("left").setWidth(62)
        self.loss_plot.ctrl.logYCheck.toggled.connect(self._log_from_menu)
        self.lr_plot.ctrl.logYCheck.toggled.connect(lambda _on: self._redraw_all())

        self.legend = new_legend(self.loss_plot, "top-right")
        self.loss_range = SteadyRange(self.loss_plot, self.log_y_on)
        self.metric_range = SteadyRange(self.metric_plot)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(2)
        outer.addLayout(controls)
        outer.addWidget(self.key_label)
        outer.addWidget(self.widget, 1)
        self._register(self.widget, [self.loss_plot, self.metric_plot, self.lr_plot],
                       [self.legend])

        self.smoothing_slider.valueChanged.connect(self._smoothing_changed)
        self.log_y.toggled.connect(self._log_toggled)
        self._update_smoothing_label()
        self.apply_theme(self.theme)

    # -- settings
    def log_y_on(self) -> bool:
        """The loss axis is logarithmic."""
        return self.loss_plot.ctrl.logYCheck.isChecked()

    @property
    def smoothing(self) -> float:
        """The EMA weight of the per-batch loss, in [0, 0.99] (0: raw)."""
        return self.smoothing_slider.value() / 100.0

    def set_smoothing(self, weight: float) -> None:
        self.smoothing_slider.setValue(int(round(weight * 100)))

    def _update_smoothing_label(self) -> None:
        w = self.smoothing
        self.smoothing_label.setText("off (raw)" if w == 0 else f"{w:.2f}")

    def _smoothing_changed(self) -> None:
        self._update_smoothing_label()
        self._redraw_all()

    def _log_toggled(self, on: bool) -> None:
        if self.loss_plot.ctrl.logYCheck.isChecked() != on:
            self.loss_plot.setLogMode(y=on)
        set_plot_labels(self.loss_plot, self.colors,
                        y_label="loss (log scale)" if on else "loss")
        self._redraw_all()

    def _log_from_menu(self, on: bool) -> None:
        if self.log_y.isChecked() != on:
            self.log_y.setChecked(on)

    def _redraw_all(self) -> None:
        for run_id in list(self.run_items):
            run = self.store.get(run_id)
            if run is not None and run.visible:
                self._draw_run(run)
        self._update_titles()
        self._update_lr_range()
        self._update_ranges()

    # -- drawing
    def redraw(self, dirty: set[int], removed: set[int], current_changed: bool) -> bool:
        """Redraw the runs in ``dirty`` (add, update, hide) and drop those in
        ``removed``; runs not named are left as they are."""
        self.redrawn = set()
        epochs_drawn = False
        for run_id in removed:
            self._drop(run_id)
        for run_id in sorted(dirty):
            run = self.store.get(run_id)
            if run is None:
                self._drop(run_id)
            elif not run.visible:
                self._hide(run_id)
            else:
                epochs_drawn = self._draw_run(run) or epochs_drawn
                self.redrawn.add(run_id)
        if current_changed or epochs_drawn or removed:
            self._update_titles()
        if dirty or removed:
            self._update_legend()
            self._update_lr_range()
            self._update_ranges()
            self.redraw_count += 1
            return True
        return False

    def _hide(self, run_id: int) -> None:
        items = self.run_items.get(run_id)
        if items is None or not items.shown:
            return
        for plot, item in items.items(self):
            plot.removeItem(item)
        items.shown = False

    def _drop(self, run_id: int) -> None:
        self._hide(run_id)
        items = self.run_items.pop(run_id, None)
        if items is not None and items.in_legend:
            self.legend.removeItem(items.val)
            items.in_legend = False
        if items is not None:
            self._update_legend()

    def _ensure(self, run: Any) -> _RunItems:
        items = self.run_items.get(run.run_id)
        if items is None:
            items = self.run_items[run.run_id] = _RunItems(self, run)
        elif not items.shown:
            for plot, item in items.items(self):
                if isinstance(item, pg.PlotDataItem):
                    # pyqtgraph 0.14 fails re-adding a clipped curve that holds data
                    # (the scene's view is taken for its ViewBox): clip after adding.
                    item.setClipToView(False)
                # a SteadyRange decides the loss and metric plots' ranges
                plot.addItem(item, ignoreBounds=item is not items.lr)
                if isinstance(item, pg.PlotDataItem):
                    item.setClipToView(True)
                    item.setDownsampling(auto=True, method="peak")
            items.shown = True
        return items

    def _draw_run(self, run: Any) -> bool:
        """Draw ``run``; True if its per-epoch curves were redrawn."""
        items = self._ensure(run)
        log = self.log_y.isChecked()
        n = min(len(run.step), len(run.step_loss))
        x_steps = steps_to_epochs(run, run.step.values[:n])
        x, y = finite_xy(x_steps, run.step_loss.values[:n])
        w = self.smoothing
        if items.smoothed != (w > 0):  # the raw curve fades behind a smoothed one
            items.smoothed = w > 0
            items.batch.setPen(pg.mkPen(with_alpha(items.color, 0.13 if w > 0 else 0.4),
                                        width=1))
            items.smooth.setVisible(w > 0)
            if w == 0:
                items.smooth.setData([], [])
        if w > 0:
            smooth = items.ema.update(y, w)
            items.smooth.setData(*finite_xy(x, smooth, positive=log))
        items.batch.setData(*finite_xy(x, y, positive=log))

        # per-epoch curves: when an epoch was added (most ticks bring only batches), at
        # most every EPOCH_REDRAW_S while they arrive (the panel calls back for the rest)
        epoch_state = (len(run.epochs), log, run.task)
        epochs_drawn = False
        if items.epoch_state != epoch_state:
            now = time.monotonic()
            if self.immediate or items.epoch_state is None \
                    or items.epoch_state[1:] != epoch_state[1:] \
                    or now - items.epochs_drawn_at >= EPOCH_REDRAW_S:
                items.epoch_state, items.epochs_drawn_at = epoch_state, now
                self._draw_epochs(run, items, log)
                epochs_drawn = True
            else:
                self.deferred.add(run.run_id)

        # the learning rate changes between epochs (schedules step per epoch): drawn with
        # the epoch curves, so that a tick of batches leaves the lr plot unpainted
        m = min(len(run.step), len(run.step_lr))
        if epochs_drawn or items.lr_points == 0 or run.status != RunState.RUNNING:
            items.lr.setData(*finite_xy(x_steps[:m], run.step_lr.values[:m],
                                        positive=self.lr_plot.ctrl.logYCheck.isChecked()))
            items.lr_points = m

        for line, epoch in ((items.best, run.best_epoch), (items.stopped, run.stopped_epoch)):
            if epoch and epoch > 0:
                line.setPos(float(epoch))
                line.setVisible(True)
            else:
                line.setVisible(False)
        return epochs_drawn

    def _draw_epochs(self, run: Any, items: _RunItems, log: bool) -> None:
        ex, train = run.epoch_series("loss")
        _, val = run.epoch_series("val_loss")
        marked = len(ex) <= MAX_MARKED_EPOCHS
        if items.marked != marked:
            items.marked = marked
            items.train.setSymbol("o" if marked else None)
            items.metric_train.setSymbol("o" if marked else None)
        items.train.setData(*finite_xy(ex, train, positive=log))
        items.val.setData(*finite_xy(ex, val, positive=log))
        key = "r2" if run.task == "regression" else "accuracy"
        _, mt = run.epoch_series(key)
        _, mv = run.epoch_series(f"val_{key}")
        if key == "r2":  # R² is unbounded below: keep the interesting part in view
            mt, mv = np.maximum(mt, -1.0), np.maximum(mv, -1.0)
        items.metric_train.setData(*finite_xy(ex, mt))
        items.metric_val.setData(*finite_xy(ex, mv))

    def _update_ranges(self) -> None:
        """x from 0 to the last epoch the shown runs will reach (so it stays put while
        they train); y steady around the data (:class:`SteadyRange`)."""
        shown = [(rid, items) for rid, items in self.run_items.items() if items.shown]
        x_max = 0.0
        for rid, items in shown:
            run = self.store.get(rid)
            planned = float((run.progress or {}).get("epochs") or 0) if run is not None else 0.0
            x, _ = items.batch.getOriginalDataset()
            x_max = max(x_max, planned, float(x[-1]) if x is not None and len(x) else 0.0,
                        float(len(run.epochs)) if run is not None else 0.0)
        ys = lambda curves: [c.getOriginalDataset()[1] for _, items in shown  # noqa: E731
                             for c in curves(items) if c.isVisible()
                             and c.getOriginalDataset()[1] is not None]
        self.loss_range.set_data_span(ys(lambda i: (i.batch, i.smooth, i.train, i.val)),
                                      x_max or None)
        self.metric_range.set_data_span(ys(lambda i: (i.metric_train, i.metric_val)), None)

    def _update_lr_range(self) -> None:
        """Learning rates from 0 to a little above the largest shown (a constant rate
        would otherwise fill the plot with a flat line in a meaningless range)."""
        if self.lr_plot.ctrl.logYCheck.isChecked():  # log scale from the plot's menu
            self.lr_plot.enableAutoRange(y=True)
            return
        top = 0.0
        for items in self.run_items.values():
            if items.shown:
                _, y = items.lr.getOriginalDataset()
                if y is not None and len(y):
                    top = max(top, float(np.max(y)))
        if top > 0:
            if self.lr_plot.vb.state["autoRange"][1] or \
                    tuple(self.lr_plot.vb.state["viewRange"][1]) != (0.0, top * 1.15):
                self.lr_plot.setYRange(0.0, top * 1.15, padding=0)
        else:
            self.lr_plot.enableAutoRange(y=True)

    def _update_legend(self) -> None:
        """One entry per visible run (its validation curve's style), in run order, then
        the style key; rebuilt only when the set of visible runs changes."""
        wanted = [rid for rid in sorted(self.run_items) if self.run_items[rid].shown]
        current = [rid for rid in sorted(self.run_items) if self.run_items[rid].in_legend]
        names_ok = all(self.run_items[rid].name == lbl for rid, lbl in
                       zip(current, legend_labels(self.legend)))
        if wanted == current and names_ok and len(self.legend.items) == len(wanted):
            return
        self.legend.clear()
        for items in self.run_items.values():
            items.in_legend = False
        for rid in wanted:
            items = self.run_items[rid]
            self.legend.addItem(items.val, items.name)
            items.in_legend = True
        self.legend.setVisible(bool(wanted))
        style_legend(self.legend, self.colors)

    def _update_titles(self) -> None:
        tasks = {self.store.get(rid).task for rid, items in self.run_items.items()
                 if items.shown and self.store.get(rid) is not None}
        if tasks == {"regression"}:
            title, label = "R² (1 = perfect fit; below −1 shown at −1)", "R²"
        elif tasks == {"classification"} or not tasks:
            title, label = "Accuracy", "accuracy"
        else:
            title, label = "Accuracy (classification runs) and R² (regression runs)", \
                "accuracy / R²"
        meta = getattr(self.metric_plot, "_nncanvas_labels", {})
        if meta.get("title") != title:
            set_plot_labels(self.metric_plot, self.colors, title=title, y_label=label)
        current = self.store.current_run()
        loss_title = "Loss"
        if current is not None and current.epochs:
            last = current.epochs[-1]
            parts = [f"epoch {int(last.get('epoch', len(current.epochs)))}"]
            if np.isfinite(last.get("loss", np.nan)):
                parts.append(f"training {last['loss']:.4g}")
            if np.isfinite(last.get("val_loss", np.nan)):
                parts.append(f"validation {last['val_loss']:.4g}")
            loss_title = "Loss (current run: " + ", ".join(parts) + ")"
        if getattr(self.loss_plot, "_nncanvas_labels", {}).get("title") != loss_title:
            set_plot_labels(self.loss_plot, self.colors, title=loss_title)

    def theme_changed(self) -> None:
        self._update_titles()
        self.key_label.setStyleSheet(f"color: {self.colors.muted};")
        style_legend(self.legend, self.colors)
        for items in self.run_items.values():
            for line in (items.best, items.stopped):
                line.label.setColor(items.color)
                line.label.fill = pg.mkBrush(self.colors.legend_bg)
                line.label.update()

    def refresh(self) -> None:
        self.redraw(set(self.store.runs) | set(self.run_items), set(), True)
