"""The decision boundary of the current run on 2-D classification data: the predicted
class over a grid, faint where the network is unsure, with the data points on top."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from app.plots.base import (CLASS_COLORS, PlotView, configure_plot, new_legend,
                            set_plot_labels, style_legend)
from app.state import RunState

__all__ = ["BoundaryView", "boundary_rgba", "shown_classes", "OTHER", "LEGEND_CLASSES"]

#: Opacity of the grid colour for an unsure prediction (confidence 1/K) and a sure one.
ALPHA_UNSURE, ALPHA_SURE = 0.06, 0.55


#: The most classes drawn in their own colour and listed in the legend (a legend of
#: more would not fit the plot; beyond, the most frequent and one grey "other").
LEGEND_CLASSES = 12
#: The key of the scatter of the classes not shown on their own (:func:`shown_classes`)
#: and its colour.
OTHER, OTHER_COLOR = -1, "#9ca3af"


def class_color(k: int) -> str:
    return CLASS_COLORS[k % len(CLASS_COLORS)]


def shown_classes(y: np.ndarray, k: int, limit: int = LEGEND_CLASSES) -> list[int]:
    """The classes drawn (and listed in the legend) on their own: all ``k`` when
    ``k <= limit``, else the ``limit`` with the most points in ``y`` (then the lowest
    index), in index order; the others are drawn as one grey "other" item."""
    if k <= limit:
        return list(range(k))
    counts = np.bincount(np.clip(y, 0, k - 1), minlength=k) if len(y) else np.zeros(k)
    return sorted(np.lexsort((np.arange(k), -counts))[:limit].tolist())


def boundary_rgba(classes: np.ndarray, confidence: np.ndarray, num_classes: int
                  ) -> np.ndarray:
    """RGBA image (uint8, ``classes.shape + (4,)``): each cell in its predicted class's
    colour, more opaque the more confident (alpha from ``ALPHA_UNSURE`` at confidence
    ``1/K`` to ``ALPHA_SURE`` at 1). Non-finite confidence counts as unsure."""
    classes = np.asarray(classes)
    k = max(int(num_classes), 2)
    base = np.array([[QColor(c).red(), QColor(c).green(), QColor(c).blue()]
                     for c in CLASS_COLORS], dtype=np.uint8)
    palette = base[np.arange(k) % len(CLASS_COLORS)]  # class_color(i) for each class
    idx = np.clip(np.nan_to_num(classes, nan=0).astype(np.int64), 0, k - 1)
    rgba = np.empty(classes.shape + (4,), dtype=np.uint8)
    rgba[..., :3] = palette[idx]
    conf = np.nan_to_num(np.asarray(confidence, dtype=np.float64), nan=1.0 / k,
                         posinf=1.0, neginf=1.0 / k)
    sure = np.clip((conf - 1.0 / k) / (1.0 - 1.0 / k), 0.0, 1.0)
    rgba[..., 3] = np.round(255 * (ALPHA_UNSURE + (ALPHA_SURE - ALPHA_UNSURE) * sure))
    return rgba


class BoundaryView(PlotView):
    """Predicted class over ``Run.boundary``'s grid (colour per class, alpha from
    confidence) and ``Run.points`` as dots coloured by their true class.

    Attributes:
        widget: the :class:`pyqtgraph.PlotWidget`; ``plot``: its plot item.
        image: the grid (an :class:`pyqtgraph.ImageItem`, RGBA, row-major).
        scatters: class index -> its :class:`pyqtgraph.ScatterPlotItem`, for at most
            :data:`LEGEND_CLASSES` classes (:func:`shown_classes`), and :data:`OTHER` ->
            the grey points of all the other classes.
        legend: one entry per scatter (floating, top right).
        message: a text in the plot when there is nothing to draw (regression, more
            than 2 features, no run).
    """

    def __init__(self, store: Any, parent: QWidget | None = None) -> None:
        super().__init__(store, parent)
        self.widget = pg.PlotWidget()
        self.plot = self.widget.getPlotItem()
        configure_plot(self.plot, "Decision boundary", "x1", "x2", grid=False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.scatters: dict[int, pg.ScatterPlotItem] = {}
        self.legend = new_legend(self.plot, "top-right")
        self.message = pg.TextItem("", anchor=(0.5, 0.5))
        font = self.message.textItem.font()
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.message.setFont(font)
        self.message.setParentItem(self.plot.vb)
        self.plot.vb.sigResized.connect(self._place_message)
        self._shape: tuple[int, int] | None = None
        self._run_id: int | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.widget)
        self.caption = QLabel("Background: the class the network predicts at each point, "
                              "faint where it is unsure. Dots: the data, in the colour of "
                              "their true class.")
        self.caption.setWordWrap(True)
        self.caption.setContentsMargins(8, 2, 8, 4)
        layout.addWidget(self.caption)
        self._register(self.widget, [self.plot], [self.legend])
        self.apply_theme(self.theme)

    def _place_message(self) -> None:
        self.message.setPos(self.plot.vb.boundingRect().center())

    def _axes(self, shown: bool) -> None:
        for side in ("left", "bottom"):
            (self.plot.showAxis if shown else self.plot.hideAxis)(side)

    def _show_message(self, text: str) -> None:
        self._axes(False)
        self.caption.setVisible(False)
        self.image.clear()
        for s in self.scatters.values():
            s.setData([], [])
            s.setVisible(False)
        self.legend.setVisible(False)
        self.message.setText(text, color=self.colors.muted)
        self._place_message()
        set_plot_labels(self.plot, self.colors, title="Decision boundary")

    def _scatter(self, k: int, name: str) -> pg.ScatterPlotItem:
        s = self.scatters.get(k)
        if s is None:
            s = self.scatters[k] = pg.ScatterPlotItem(size=7, name=name)
            self.plot.addItem(s)
        s.opts["name"] = name
        if k == OTHER:  # behind the classes shown, smaller and faint
            s.setBrush(pg.mkBrush(QColor(OTHER_COLOR + "80")))
            s.setSize(5)
            s.setZValue(0.5)
        else:
            s.setBrush(pg.mkBrush(class_color(k)))
            s.setZValue(1)
        s.setPen(pg.mkPen(self.colors.outline, width=1))
        return s

    def signature(self, run: Any) -> Any:
        if run is None:
            return None
        return (run.run_id, run.task, run.boundary, run.points, len(run.epochs),
                run.status, tuple(run.classes or ()))

    def draw_current(self, run: Any) -> None:
        if run is None:
            self._show_message("No run yet.")
            return
        if run.task != "classification":
            self._show_message("The decision boundary is drawn for 2-D classification "
                               "only\n(this run is a regression).")
            return
        b = run.boundary
        if b is None:
            self._show_message("The decision boundary is drawn for 2-D classification "
                               "only\n(datasets with 2 features: moons, circles, spiral, "
                               "xor, blobs).\n" + ("" if run.epochs or not RunState(run.status).busy
                                                   else "It appears after the first epoch."))
            return
        self.message.setText("")
        self._axes(True)
        self.caption.setVisible(True)
        gx = np.asarray(b["x"], dtype=np.float64)
        gy = np.asarray(b["y"], dtype=np.float64)
        classes = np.asarray(b["classes"])
        names = list(run.classes or [])
        k = max(len(names), int(np.nanmax(classes)) + 1 if classes.size else 0, 2)
        if run.points is not None and len(run.points[1]):
            k = max(k, int(np.max(run.points[1])) + 1)
        names += [str(i) for i in range(len(names), k)]
        self.image.setImage(boundary_rgba(classes, b["confidence"], k), autoLevels=False)
        dx = (gx[-1] - gx[0]) / max(len(gx) - 1, 1)
        dy = (gy[-1] - gy[0]) / max(len(gy) - 1, 1)
        self.image.setRect(QRectF(gx[0] - dx / 2, gy[0] - dy / 2, gx[-1] - gx[0] + dx,
                                  gy[-1] - gy[0] + dy))
        if run.points is not None:
            X, y = np.asarray(run.points[0]), np.asarray(run.points[1]).astype(np.int64)
        else:
            X, y = np.zeros((0, 2)), np.zeros(0, dtype=np.int64)
        shown = shown_classes(y, k)
        keys = [*shown, OTHER] if len(shown) < k else list(shown)
        for c in list(self.scatters):
            if c not in keys:
                self.plot.removeItem(self.scatters.pop(c))
        for c in shown:
            s = self._scatter(c, names[c])
            pts = X[y == c]
            s.setData(pts[:, 0], pts[:, 1])
            s.setVisible(True)
        if len(shown) < k:  # the other classes' points: one grey item, one legend entry
            s = self._scatter(OTHER, f"other {k - len(shown):,} classes")
            pts = X[~np.isin(y, shown)]
            s.setData(pts[:, 0], pts[:, 1])
            s.setVisible(True)
        if self._run_id != run.run_id or self._shape != (tuple(keys), len(X)):
            self.legend.clear()
            for c in keys:
                self.legend.addItem(self.scatters[c], self.scatters[c].opts["name"])
            style_legend(self.legend, self.colors)
            self._run_id, self._shape = run.run_id, (tuple(keys), len(X))
            # The grid covers the data with a margin: show exactly the grid.
            self.plot.vb.setRange(rect=self.image.mapRectToParent(self.image.boundingRect()),
                                  padding=0)
        self.legend.setVisible(True)
        epoch = b.get("epoch", run.epochs[-1]["epoch"] if run.epochs else 0)
        set_plot_labels(self.plot, self.colors,
                        title=f"Decision boundary after epoch {int(epoch)}")

    def theme_changed(self) -> None:
        self.caption.setStyleSheet(f"color: {self.colors.muted};")
        for s in self.scatters.values():
            s.setPen(pg.mkPen(self.colors.outline, width=1))
        self.refresh()
