"""Gradient L2 norm of every parameter tensor of the current run, per step, on a log axis."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QSlider, QVBoxLayout, QWidget

from app.plots.base import (CLASS_COLORS, EmaCache, PlotView, configure_plot, finite_xy,
                            live_curve, new_legend, set_plot_labels, steps_to_epochs,
                            style_legend, with_alpha)

__all__ = ["GradientView", "layer_shade", "node_of"]

HINT = ("Each curve is one weight or bias tensor (bias dashed), coloured like its node "
        "(layers of one kind in shades, darkest nearest the input). "
        "<b>Vanishing</b> gradients: curves sinking toward 1e-6 and below, usually the "
        "layers nearest the input, which then stop learning (saturated sigmoid/tanh, "
        "deep stacks). <b>Exploding</b>: curves jumping up by orders of magnitude, often "
        "just before the loss turns to NaN (lower the learning rate or clip gradients). "
        "A bias just before BatchNorm has a gradient near 0 by design: BatchNorm subtracts "
        "the mean, so that bias changes nothing (and could be left out).")


def layer_shade(color: str, k: int, n: int, dark: bool = False) -> str:
    """Shade ``k`` of ``n`` (0 = darkest) of ``color`` (hex): the colour's hue and
    saturation, with a lightness from 0.28 to 0.68 (0.40 to 0.80 on a dark theme)."""
    c = QColor(color)
    h, s, _, a = c.getHslF()
    lo, hi = (0.40, 0.80) if dark else (0.28, 0.68)
    t = k / max(n - 1, 1)
    return QColor.fromHslF(max(h, 0.0), s, lo + t * (hi - lo), a).name()


def node_of(label: str) -> str:
    """The node of a parameter label: ``"Dense 2.weight"`` -> ``"Dense 2"``."""
    node, dot, _ = label.rpartition(".")
    return node if dot else label


class GradientView(PlotView):
    """Gradient norms per parameter tensor (``Run.grad_norms`` against
    ``Run.grad_steps``, shown in epochs) of the current run, log-y.

    Per-batch norms jump around a lot, so each tensor has a faint raw curve and a
    smoothed one (an EMA of log10 of the norm, i.e. a running geometric mean; the
    slider sets its weight, 0 = raw only).

    Attributes:
        widget: the :class:`pyqtgraph.GraphicsLayoutWidget`; ``plot``: its plot.
        legend: beside the plot (one entry per parameter).
        curves: parameter label -> its raw curve; ``smoothed``: label -> smoothed curve.
        smoothing_slider: 0..99 (EMA weight in hundredths).
        hint: the explanation under the plot.
    """

    def __init__(self, store: Any, parent: QWidget | None = None) -> None:
        super().__init__(store, parent)
        self.node_colors: dict[str, str] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.smoothed: dict[str, pg.PlotDataItem] = {}
        self._ema: dict[str, EmaCache] = {}
        self._run_id: int | None = None
        controls = QHBoxLayout()
        controls.setContentsMargins(6, 2, 6, 0)
        self.smoothing_slider = QSlider(Qt.Horizontal)
        self.smoothing_slider.setRange(0, 99)
        self.smoothing_slider.setValue(95)
        self.smoothing_slider.setMaximumWidth(180)
        self.smoothing_slider.setToolTip("Running geometric mean of each tensor's gradient "
                                         "norm (0: raw values only)")
        self.smoothing_label = QLabel()
        controls.addWidget(QLabel("Smoothing"))
        controls.addWidget(self.smoothing_slider)
        controls.addWidget(self.smoothing_label)
        controls.addStretch(1)
        self.widget = pg.GraphicsLayoutWidget()
        self.plot = self.widget.addPlot(row=0, col=0)
        configure_plot(self.plot, "Gradient norm per parameter (log scale)", "epoch",
                       "‖gradient‖₂ (log scale)")
        self.plot.setLogMode(y=True)
        self.plot.getAxis("left").setWidth(62)
        side = self.widget.addLayout(row=0, col=1)
        self.legend = new_legend(None)
        side.addItem(self.legend, row=0, col=0)
        side.layout.setAlignment(self.legend, Qt.AlignTop | Qt.AlignLeft)
        side.layout.setContentsMargins(0, 30, 4, 0)
        side.layout.setRowStretchFactor(1, 1)
        self.legend.setSizePolicy(QSizePolicy.Fixed, QSizePolicy.Fixed)
        side.setSizePolicy(QSizePolicy.Fixed, QSizePolicy.Preferred)
        self.widget.ci.layout.setColumnStretchFactor(0, 1)
        self.widget.ci.layout.setColumnStretchFactor(1, 0)
        self.hint = QLabel(HINT)
        self.hint.setWordWrap(True)
        self.hint.setContentsMargins(8, 2, 8, 4)
        self.empty = pg.TextItem("", anchor=(0.5, 0.5))
        self.empty.setParentItem(self.plot.vb)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(controls)
        layout.addWidget(self.widget, 1)
        layout.addWidget(self.hint)
        self._register(self.widget, [self.plot], [self.legend])
        self.plot.vb.sigResized.connect(self._place_message)
        self.smoothing_slider.valueChanged.connect(self._smoothing_changed)
        self._smoothing_changed()
        self.apply_theme(self.theme)

    @property
    def smoothing(self) -> float:
        return self.smoothing_slider.value() / 100.0

    def _smoothing_changed(self) -> None:
        w = self.smoothing
        self.smoothing_label.setText("off (raw)" if w == 0 else f"{w:.2f}")
        if self.curves:
            self.draw_current(self.store.current_run())
            for label, curve in self.curves.items():
                self._style(label, curve)

    def set_node_colors(self, colors: dict[str, str]) -> None:
        """Node display name -> colour (hex) for the curves of its parameters."""
        self.node_colors = dict(colors)
        for label, curve in self.curves.items():
            self._style(label, curve)

    def _color(self, label: str) -> str:
        """The colour of ``label``'s node; nodes of one colour (three Dense layers) get
        shades of it, darkest nearest the input, so that layers can be told apart."""
        node = node_of(label)
        nodes: list[str] = []
        for lbl in self.curves:
            if node_of(lbl) not in nodes:
                nodes.append(node_of(lbl))
        if node not in self.node_colors:
            i = nodes.index(node) if node in nodes else len(nodes)
            return CLASS_COLORS[i % len(CLASS_COLORS)]
        base = self.node_colors[node]
        same = [n for n in nodes if self.node_colors.get(n) == base]
        if len(same) < 2 or node not in same:
            return base
        return layer_shade(base, same.index(node), len(same), self.theme.name == "dark")

    def _style(self, label: str, curve: pg.PlotDataItem) -> None:
        bias = label.rpartition(".")[2].startswith("bias")
        color = self._color(label)
        style = Qt.DashLine if bias else Qt.SolidLine
        smooth = self.smoothed.get(label)
        if smooth is not None:
            smooth.setPen(pg.mkPen(color, width=1.6 if bias else 2.0, style=style))
        raw_alpha = 0.16 if self.smoothing > 0 else 0.9
        curve.setPen(pg.mkPen(with_alpha(color, raw_alpha), width=1, style=style))

    def _place_message(self) -> None:
        r = self.plot.vb.boundingRect()
        self.empty.setPos(r.center())

    def _clear(self) -> None:
        for curve in [*self.curves.values(), *self.smoothed.values()]:
            self.plot.removeItem(curve)
        self.curves.clear()
        self.smoothed.clear()
        self._ema.clear()
        self.legend.clear()

    def draw_current(self, run: Any) -> None:
        if run is None or (self._run_id is not None and run.run_id != self._run_id):
            self._clear()
        self._run_id = run.run_id if run is not None else None
        if run is None or not run.grad_norms:
            self.empty.setText("No run yet." if run is None else
                               "No gradient norms recorded for this run yet.",
                               color=self.colors.muted)
            self._place_message()
            return
        self.empty.setText("")
        steps = run.grad_steps.values
        x_all = steps_to_epochs(run, steps)
        new = False
        w = self.smoothing
        for label, series in run.grad_norms.items():
            curve = self.curves.get(label)
            if curve is None:
                curve = self.curves[label] = live_curve(self.plot, None, name=label)
                new = True
            n = min(len(series), len(x_all))
            x, y = finite_xy(x_all[:n], series.values[:n], positive=True)
            curve.setData(x, y)
            if w > 0:
                smooth = self.smoothed.get(label)
                if smooth is None:
                    smooth = self.smoothed[label] = live_curve(
                        self.plot, None, name=f"{label} (smoothed)")
                    smooth.setZValue(10)
                    self._ema[label] = EmaCache()
                    new = True
                smooth.setData(x, 10.0 ** self._ema[label].update(np.log10(y), w))
            elif label in self.smoothed:
                self.plot.removeItem(self.smoothed.pop(label))
                self._ema.pop(label, None)
                new = True
        if new:
            self.legend.clear()
            for label, curve in self.curves.items():
                self._style(label, curve)
                self.legend.addItem(self.smoothed.get(label, curve), label)
            style_legend(self.legend, self.colors)
            self.legend.updateGeometry()
        set_plot_labels(self.plot, self.colors,
                        title=f"Gradient norms, {run.name.split(':')[0]} (log scale)")

    def theme_changed(self) -> None:
        self.empty.setColor(self.colors.muted)
        self.refresh()
