"""The Data tab: a look at the project's dataset before (and while) it trains.

Four pictures of the *whole* dataset (every row, before the split into training and
validation, as :func:`nncore.project.load_data_cached` returns it; a caption says so):

1. how many samples each class has, one horizontal bar per class with its name on the
   axis (regression: a histogram of the target instead);
2. a histogram of one feature, chosen in a combo box;
3. a scatter of two chosen features, coloured by class (:data:`CLASS_COLORS`, a legend
   of class names; the same classes as the decision boundary's,
   :func:`~app.plots.boundary.shown_classes`), at most :data:`MAX_SCATTER_POINTS`
   points (a fixed sample, :func:`scatter_rows`);
4. for image-shaped data (:func:`image_shape`: the digits' 8×8 pixels) a grid of
   :data:`GRID` sample pictures with their label under each; hidden otherwise.

Everything is computed from the :class:`~nncore.data.Dataset` when it is drawn; nothing
derived is kept. The view draws only when it is in sight and its data changed
(:meth:`DataView.data_changed` marks it, a show draws it), so a hidden Data tab costs a
training run nothing.
"""

from __future__ import annotations

import re
from typing import Any, Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QComboBox, QGridLayout, QHBoxLayout, QLabel, QSizePolicy,
                               QStackedWidget, QVBoxLayout, QWidget)

from app.plots.base import (CLASS_COLORS, DrawnWhenShown, as_theme, configure_plot,
                            new_legend, plot_colors,
                            set_plot_labels, style_legend, style_plot, with_alpha,
                            yielding_label)
from app.plots.boundary import OTHER, OTHER_COLOR, shown_classes
from app.theme import Theme
from nncore.data import Dataset

__all__ = ["DataView", "image_shape", "class_counts", "feature_edges", "scatter_rows",
           "grid_rows", "default_features", "MAX_SCATTER_POINTS", "GRID", "MAX_BINS",
           "LABEL_PX", "MAX_NAME"]

#: The scatter draws at most this many points (a fixed sample beyond).
MAX_SCATTER_POINTS = 5000
#: Sample pictures of image-shaped data: (rows, columns).
GRID = (4, 8)
#: A histogram has at most this many bins (whole numbers get one bin each up to twice
#: as many).
MAX_BINS = 30
#: Pixels of height a class name needs on the counts axis (fewer: every n-th name): a
#: 9 pt font's capitals and digits (9 px) with a little room.
LABEL_PX = 13
#: Class names longer than this many characters are cut with "…" (axis, legend).
MAX_NAME = 18

_PIXEL = re.compile(r"^pixel_(\d+)_(\d+)$")
_FLAT_PIXEL = re.compile(r"^pixel(\d+)$")


def image_shape(data: Dataset | None) -> tuple[int, int] | None:
    """``(height, width)`` when each row of ``data.X`` is a picture, else None.

    A row is a picture when its feature names are

    * ``pixel_<row>_<column>`` (scikit-learn's names for the digits, also in a CSV
      exported from them) covering a full ``height x width`` grid in row-major order, as
      the built-in digits' 64 features (8×8) are; or
    * ``pixel<k>`` with ``k`` counting up by one from 0 or 1, a square number of them
      (the MNIST tables of Kaggle and OpenML: ``pixel0`` ... ``pixel783``, 28×28).
    """
    if data is None or len(data.feature_names) < 4:
        return None
    names = [str(n) for n in data.feature_names]
    grid = [_PIXEL.match(n) for n in names]
    if all(grid):
        cells = [(int(m.group(1)), int(m.group(2))) for m in grid]
        h = max(r for r, _ in cells) + 1
        w = max(c for _, c in cells) + 1
        if h * w == len(cells) and cells == [(r, c) for r in range(h) for c in range(w)]:
            return (h, w) if h > 1 and w > 1 else None
        return None
    flat = [_FLAT_PIXEL.match(n) for n in names]
    if all(flat):
        index = [int(m.group(1)) for m in flat]
        side = int(round(len(index) ** 0.5))
        if side * side == len(index) and index[0] in (0, 1) and \
                index == list(range(index[0], index[0] + len(index))):
            return (side, side)
    return None


def class_counts(data: Dataset) -> np.ndarray:
    """Samples per class, int64 ``(num_classes,)``: ``np.bincount(y, minlength=K)`` (a
    class without samples counts 0)."""
    return np.bincount(np.asarray(data.y, dtype=np.int64), minlength=data.num_classes)


def feature_edges(values: Any, max_bins: int = MAX_BINS) -> np.ndarray:
    """Histogram edges for one column, float64 ``(bins + 1,)``, strictly increasing.

    Whole numbers spanning at most ``2 * max_bins`` values (pixel intensities 0-16,
    counts) get one bin per number, centred on it; other values NumPy's ``"auto"``
    bins (the larger of the Sturges and Freedman-Diaconis estimates), at most
    ``max_bins``. A constant column gets one bin of width 1 around its value; no
    finite value gives ``[0, 1]``.
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        return np.array([0.0, 1.0])
    lo, hi = float(v.min()), float(v.max())
    if lo == hi:
        return np.array([lo - 0.5, hi + 0.5])
    if np.all(v == np.round(v)) and hi - lo < 2 * max_bins:
        return np.arange(lo - 0.5, hi + 1.0, 1.0)
    edges = np.histogram_bin_edges(v, bins="auto")
    if len(edges) - 1 > max_bins:
        edges = np.histogram_bin_edges(v, bins=max_bins)
    return edges


def scatter_rows(n: int, limit: int = MAX_SCATTER_POINTS) -> np.ndarray:
    """The rows the scatter draws: all ``n`` in order, or ``limit`` of them chosen with
    seed 0 (the same rows at every redraw), sorted. int64."""
    if n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(0).choice(n, limit, replace=False))


def grid_rows(data: Dataset, count: int = GRID[0] * GRID[1]) -> np.ndarray:
    """The rows of the sample pictures: classes in turn (class 0's first sample, class
    1's first, ..., then each class's second, ...) so that every class shows; the
    first rows for regression. At most ``count`` rows, int64."""
    n = data.n_samples
    if data.task != "classification":
        return np.arange(min(n, count))
    per_class = [np.flatnonzero(data.y == k) for k in range(data.num_classes)]
    rows: list[int] = []
    depth = 0
    while len(rows) < min(n, count):
        for idx in per_class:
            if depth < len(idx) and len(rows) < count:
                rows.append(int(idx[depth]))
        depth += 1
    return np.asarray(rows, dtype=np.int64)


def default_features(X: np.ndarray) -> list[int]:
    """Columns in decreasing order of variance (the first ones show most of the data:
    for the digits not the blank corner pixels); ties in column order."""
    if X.shape[1] == 0:
        return []
    var = X.astype(np.float64).var(axis=0) if len(X) else np.zeros(X.shape[1])
    return np.lexsort((np.arange(X.shape[1]), -var)).tolist()


def _short(name: Any) -> str:
    """A class name cut to :data:`MAX_NAME` characters with "…"."""
    text = str(name)
    return text if len(text) <= MAX_NAME else text[:MAX_NAME - 1].rstrip() + "…"


def _class_color(k: int) -> str:
    return CLASS_COLORS[k % len(CLASS_COLORS)]


def _combo() -> QComboBox:
    combo = QComboBox()
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(10)
    combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
    return combo


def _plot_widget(title: str, x_label: str, y_label: str) -> tuple[pg.PlotWidget, pg.PlotItem]:
    widget = pg.PlotWidget()
    plot = widget.getPlotItem()
    configure_plot(plot, title, x_label, y_label)
    plot.hideButtons()
    return widget, plot


class DataView(DrawnWhenShown):
    """The Data tab (see the module's docstring).

    The data comes from a *source*, a callable returning the current
    :class:`~nncore.data.Dataset` or None (no data), or raising (``ValueError``,
    ``OSError``: data that cannot be read; its message is shown, never a traceback).
    The main window's source is the project's :meth:`~nncore.project.Project.load_data`.

    Attributes:
        data: the dataset shown, or None.
        caption: what is shown ("the whole dataset, before the split", its size).
        stack: the placeholder (``placeholder``, a label) or the pictures (``content``).
        counts_plot: class counts (``counts_bars``, a horizontal
            :class:`pyqtgraph.BarGraphItem`, class ``i`` at ``y = i``, class names on the
            left axis) or, for regression, the target's histogram (``target_curve``).
        hist_combo, hist_plot, hist_curve: the feature histogram (one ``stepMode="center"``
            curve: :meth:`histogram_data` gives its edges and counts).
        x_combo, y_combo, scatter_plot, scatters, legend: the scatter; ``scatters`` maps
            a class index (or :data:`~app.plots.boundary.OTHER`) to its
            :class:`pyqtgraph.ScatterPlotItem` (one item for regression, key 0).
        images_box, images_plot, image, image_labels: the sample pictures (hidden for
            data that are not pictures); ``image`` is one mosaic
            (:class:`pyqtgraph.ImageItem`, NaN between the pictures), ``image_labels``
            the texts under them.
        draw_count: how many times the view drew a dataset (for tests).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme: Theme = as_theme(None)
        self.colors = plot_colors(self.theme)
        self.data: Dataset | None = None
        self.error: str | None = None
        self.draw_count = 0
        self._source: Callable[[], Dataset | None] = lambda: None
        self._stale = False  # drawn in another theme: redraw even the same data

        self.caption = yielding_label(QLabel())
        self.caption.setContentsMargins(8, 4, 8, 2)
        self.placeholder = QLabel()
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        yielding_label(self.placeholder)

        # 1. class counts (or the target's histogram)
        self.counts_widget, self.counts_plot = _plot_widget("Samples per class", "samples",
                                                            "class")
        self.counts_plot.showGrid(x=True, y=False, alpha=0.18)
        # a name per bar, and no tick marks across the bars
        self.counts_plot.getAxis("left").setStyle(textFillLimits=[(0, 1.0)], tickLength=0)
        self.counts_plot.vb.setMouseEnabled(False, False)
        self.counts_plot.vb.invertY(True)  # class 0 at the top, as the legend lists it
        self.counts_bars = pg.BarGraphItem(x0=[], y=[], height=0.7, width=[])
        self.counts_plot.vb.sigResized.connect(lambda _vb: self._label_counts())
        self.counts_plot.addItem(self.counts_bars)
        self.count_texts: list[pg.TextItem] = []
        self.target_curve = pg.PlotDataItem(stepMode="center", fillLevel=0)
        self.counts_plot.addItem(self.target_curve)

        # 2. one feature's histogram
        self.hist_combo = _combo()
        self.hist_combo.setToolTip("The feature whose histogram is drawn")
        self.hist_widget, self.hist_plot = _plot_widget("Histogram", "value", "samples")
        self.hist_curve = pg.PlotDataItem(stepMode="center", fillLevel=0)
        self.hist_plot.addItem(self.hist_curve)

        # 3. two features against each other
        self.x_combo, self.y_combo = _combo(), _combo()
        self.x_combo.setToolTip("The feature along the scatter's x axis")
        self.y_combo.setToolTip("The feature along the scatter's y axis")
        self.scatter_widget = pg.GraphicsLayoutWidget()
        self.scatter_plot = self.scatter_widget.addPlot(row=0, col=0)
        configure_plot(self.scatter_plot, "Two features", "x", "y")
        self.scatter_plot.hideButtons()
        side = self.scatter_widget.addLayout(row=0, col=1)
        self.legend = new_legend(None)
        side.addItem(self.legend, row=0, col=0)
        side.layout.setAlignment(self.legend, Qt.AlignmentFlag.AlignTop
                                 | Qt.AlignmentFlag.AlignLeft)
        side.layout.setContentsMargins(0, 30, 4, 0)
        side.layout.setRowStretchFactor(1, 1)
        self.legend.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        side.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
        self.scatter_widget.ci.layout.setColumnStretchFactor(0, 1)
        self.scatter_widget.ci.layout.setColumnStretchFactor(1, 0)
        self.scatters: dict[int, pg.ScatterPlotItem] = {}

        # 4. sample pictures
        self.images_widget, self.images_plot = _plot_widget("Samples", "", "")
        self.images_plot.showGrid(x=False, y=False)
        for axis in ("left", "bottom"):
            self.images_plot.hideAxis(axis)
        self.images_plot.vb.invertY(True)
        self.images_plot.vb.setAspectLocked(True)
        self.images_plot.vb.setMouseEnabled(False, False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.images_plot.addItem(self.image)
        self.image_labels: list[pg.TextItem] = []

        # the layout: caption; counts | histogram; scatter | pictures
        self.content = QWidget()
        grid = QGridLayout(self.content)
        grid.setContentsMargins(2, 0, 2, 2)
        grid.setSpacing(4)
        self._grid = grid
        self.counts_box = self._box(self.counts_widget)
        self.hist_box = self._box(self.hist_widget, ("Feature", self.hist_combo))
        self.scatter_box = self._box(self.scatter_widget, ("x", self.x_combo),
                                     ("y", self.y_combo))
        self.images_box = self._box(self.images_widget)
        for box in (self.counts_box, self.hist_box, self.scatter_box, self.images_box):
            # the stretch factors share the width, whatever the boxes' contents ask
            box.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        grid.addWidget(self.counts_box, 0, 0)
        grid.addWidget(self.hist_box, 0, 1)
        grid.addWidget(self.scatter_box, 1, 0)
        grid.addWidget(self.images_box, 1, 1)
        for i in range(2):
            grid.setRowStretch(i, 1)
            grid.setColumnStretch(i, 1)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.placeholder)
        self.stack.addWidget(self.content)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.caption)
        layout.addWidget(self.stack, 1)

        self._graphics = [self.counts_widget, self.hist_widget, self.scatter_widget,
                          self.images_widget]
        self._plots = [self.counts_plot, self.hist_plot, self.scatter_plot, self.images_plot]
        self.hist_combo.currentIndexChanged.connect(lambda _: self._draw_histogram())
        self.x_combo.currentIndexChanged.connect(lambda _: self._draw_scatter())
        self.y_combo.currentIndexChanged.connect(lambda _: self._draw_scatter())
        self.apply_theme(self.theme)
        self._show_placeholder("No dataset yet.")

    @staticmethod
    def _box(widget: QWidget, *controls: tuple[str, QComboBox]) -> QWidget:
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        if controls:
            row = QHBoxLayout()
            row.setContentsMargins(6, 0, 6, 0)
            for text, combo in controls:
                row.addWidget(QLabel(text))
                row.addWidget(combo, 1)
            layout.addLayout(row)
        layout.addWidget(widget, 1)
        return box

    # ------------------------------------------------------------------ the data
    def set_source(self, source: Callable[[], Dataset | None]) -> None:
        """Where the data comes from (see the class docstring); drawn when in sight."""
        self._source = source
        self.data_changed()

    def set_dataset(self, data: Dataset | None) -> None:
        """Show ``data`` (None: the placeholder), now: a source returning it."""
        self._source = lambda: data
        self._dirty = True
        self.draw_now()

    def data_changed(self, *_: Any) -> None:
        """The data may have changed (another dataset, file, option, task): drawn at the
        next turn of the event loop when the view is in sight, else when it is shown."""
        self.changed()

    def draw_now(self) -> bool:
        """Ask the source for the data and draw it (whether or not it is in sight).
        Returns True if it drew something else than before."""
        self._dirty = False
        try:
            data = self._source()
            error = None
        except Exception as e:  # noqa: BLE001 - any failure is shown, never a traceback
            data, error = None, str(e) or type(e).__name__
        if data is self.data and error == self.error and self.draw_count and not self._stale:
            return False
        self.data, self.error = data, error
        self._stale = False
        self.draw_count += 1
        if data is None:
            self._show_placeholder(f"The data cannot be read: {error}" if error else
                                   "No dataset: choose one in the Training panel's Data "
                                   "section.")
            return True
        if data.n_samples == 0:
            self._show_placeholder(f"The dataset {data.name!r} has no samples.")
            return True
        self._draw_dataset(data)
        return True

    # ------------------------------------------------------------------ drawing
    def _show_placeholder(self, text: str) -> None:
        self.caption.setText("")
        self.caption.hide()
        self.placeholder.setText(text)
        self.stack.setCurrentWidget(self.placeholder)

    def _draw_dataset(self, data: Dataset) -> None:
        f = data.n_features
        if data.task == "classification":
            what = f"{data.num_classes} classes"
        else:
            what = f"{data.n_outputs} target{'s' if data.n_outputs != 1 else ''} (regression)"
        shape = image_shape(data)
        pictures = f"; {shape[0]}×{shape[1]} pictures" if shape else ""
        self.caption.setText(
            f"{data.name}: the whole dataset, before the split into training and "
            f"validation: {data.n_samples:,} samples, {f} feature{'s' if f != 1 else ''}"
            f"{pictures}, {what}.")
        self.caption.show()
        self.stack.setCurrentWidget(self.content)
        self._fill_combos(data)
        self._draw_counts(data)
        self._draw_histogram()
        self._draw_scatter()
        self._draw_images(data, shape)

    def _fill_combos(self, data: Dataset) -> None:
        """The feature names in the combos; a name chosen before stays chosen if the new
        data has it, else the columns of most variance."""
        names = [str(n) for n in data.feature_names]
        order = default_features(data.X)
        targets = ["target"] if data.task == "regression" else []
        if len(order) >= 2:
            defaults = [order[0], order[0], order[1]]
        elif order:  # one feature: against the target (regression) or itself
            defaults = [0, 0, len(names) if targets else 0]
        else:
            defaults = [-1, -1, -1]
        for combo, items, default in ((self.hist_combo, names, defaults[0]),
                                      (self.x_combo, names, defaults[1]),
                                      (self.y_combo, names + targets, defaults[2])):
            before = combo.currentText()
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(items)
            index = items.index(before) if before in items else default
            combo.setCurrentIndex(index)
            combo.blockSignals(False)

    def _set_count_texts(self, n: int) -> None:
        while len(self.count_texts) > n:
            self.counts_plot.removeItem(self.count_texts.pop())
        while len(self.count_texts) < n:
            t = pg.TextItem("", anchor=(0, 0.5))
            self.counts_plot.addItem(t, ignoreBounds=True)
            self.count_texts.append(t)

    def _draw_counts(self, data: Dataset) -> None:
        left = self.counts_plot.getAxis("left")
        if data.task != "classification":
            t = np.asarray(data.y[:, 0], dtype=np.float64)
            edges = feature_edges(t)
            counts, _ = np.histogram(t, edges)
            self.counts_bars.setOpts(x0=[], y=[], width=[], height=0.7)
            self.counts_bars.hide()
            self._set_count_texts(0)
            self.target_curve.setData(edges, counts)
            self.target_curve.show()
            self.counts_plot.vb.invertY(False)
            left.setTicks(None)
            left.setStyle(showValues=True)
            name = data.origin.get("target") if isinstance(data.origin, dict) else None
            name = str(name) if isinstance(name, (str, int)) else "target"
            which = f" (the first of {data.n_outputs})" if data.n_outputs > 1 else ""
            title = "Target" if name == "target" else f"Target: {name}"
            set_plot_labels(self.counts_plot, self.colors, title=f"{title}{which}",
                            x_label=name, y_label="samples")
            self.counts_plot.vb.setMouseEnabled(True, True)
            self.counts_plot.enableAutoRange()
            return
        counts = class_counts(data)
        k = len(counts)
        self.target_curve.setData([], [])
        self.target_curve.hide()
        self.counts_plot.vb.invertY(True)
        self.counts_plot.vb.setMouseEnabled(False, False)
        brushes = [pg.mkBrush(_class_color(i)) for i in range(k)]
        self.counts_bars.setOpts(x0=np.zeros(k), y=np.arange(k, dtype=np.float64),
                                 width=counts.astype(np.float64), height=0.7,
                                 brushes=brushes, pens=[pg.mkPen(None)] * k)
        self.counts_bars.show()
        top = float(counts.max()) if k else 1.0
        self.counts_plot.vb.setRange(xRange=(0, max(top, 1.0) * 1.18), yRange=(-0.6, k - 0.4),
                                     padding=0)
        self._label_counts()
        set_plot_labels(self.counts_plot, self.colors, title="Samples per class",
                        x_label="samples", y_label="class")

    def _label_counts(self) -> None:
        """Class names on the counts axis and each bar's count beside it: every class
        while their lines fit the plot's height (:data:`LABEL_PX` each), else every n-th
        (class 0 first). Names are cut at :data:`MAX_NAME` characters
        with "…". Again at every resize."""
        data = self.data
        if data is None or data.task != "classification" or not data.n_samples:
            return
        counts = class_counts(data)
        k = len(counts)
        names = [_short(c) for c in data.classes or []]
        fit = max(1, int(self.counts_plot.vb.height() // LABEL_PX))
        step = -(-k // fit)
        labelled = list(range(0, k, step))
        self.counts_plot.getAxis("left").setTicks(
            [[(float(i), names[i] if i in labelled else "") for i in range(k)], []])
        self._set_count_texts(len(labelled))
        font = QFont()
        font.setPointSizeF(8.5)
        for t, i in zip(self.count_texts, labelled):
            t.setFont(font)
            t.setText(f" {int(counts[i]):,}", color=self.colors.foreground)
            t.setPos(float(counts[i]), float(i))

    def _draw_histogram(self) -> None:
        data = self.data
        col = self.hist_combo.currentIndex()
        if data is None or col < 0 or col >= data.n_features:
            self.hist_curve.setData([], [])
            return
        values = data.X[:, col].astype(np.float64)
        edges = feature_edges(values)
        counts, _ = np.histogram(values, edges)
        self.hist_curve.setData(edges, counts)
        self.hist_plot.enableAutoRange()
        name = self.hist_combo.currentText()
        set_plot_labels(self.hist_plot, self.colors, title="Histogram",
                        x_label=name, y_label="samples")

    def histogram_data(self) -> tuple[np.ndarray, np.ndarray]:
        """The feature histogram drawn: (edges ``(bins + 1,)``, counts ``(bins,)``)."""
        x, y = self.hist_curve.xData, self.hist_curve.yData
        if x is None or y is None:
            return np.empty(0), np.empty(0)
        return np.asarray(x), np.asarray(y)

    def _column(self, data: Dataset, index: int) -> np.ndarray | None:
        if 0 <= index < data.n_features:
            return data.X[:, index]
        if data.task == "regression" and index == data.n_features:
            return data.y[:, 0]
        return None

    def _scatter_item(self, key: int) -> pg.ScatterPlotItem:
        item = self.scatters.get(key)
        if item is None:
            item = pg.ScatterPlotItem(size=5, pen=None)
            self.scatter_plot.addItem(item)
            self.scatters[key] = item
        return item

    def _draw_scatter(self) -> None:
        data = self.data
        self.legend.clear()
        if data is None:
            for item in self.scatters.values():
                item.setData([], [])
            return
        xs = self._column(data, self.x_combo.currentIndex())
        ys = self._column(data, self.y_combo.currentIndex())
        if xs is None or ys is None:
            for item in self.scatters.values():
                item.setData([], [])
            return
        rows = scatter_rows(data.n_samples)
        xs = np.asarray(xs[rows], dtype=np.float64)
        ys = np.asarray(ys[rows], dtype=np.float64)
        used: set[int] = set()
        self.legend.setColumnCount(2 if data.num_classes > 5 else 1)
        if data.task == "classification":
            y = np.asarray(data.y[rows], dtype=np.int64)
            shown = shown_classes(y, data.num_classes)
            names = [str(c) for c in data.classes or []]
            rest = np.ones(len(y), dtype=bool)
            for k in shown:
                mask = y == k
                rest &= ~mask
                item = self._scatter_item(k)
                item.setData(xs[mask], ys[mask], pen=None, size=5,
                             brush=pg.mkBrush(with_alpha(_class_color(k), 0.75)))
                item.show()
                self.legend.addItem(item, _short(names[k]) if k < len(names) else str(k))
                used.add(k)
            if len(shown) < data.num_classes:
                item = self._scatter_item(OTHER)
                item.setData(xs[rest], ys[rest], brush=pg.mkBrush(OTHER_COLOR), pen=None,
                             size=4)
                item.setZValue(-1)  # under the classes drawn in their own colour
                item.show()
                self.legend.addItem(item, f"{data.num_classes - len(shown):,} other classes")
                used.add(OTHER)
        else:
            # coloured by the target: blue (lowest) to orange (highest)
            t = np.asarray(data.y[rows, 0], dtype=np.float64)
            lo, hi = float(t.min()), float(t.max())
            u = (t - lo) / (hi - lo) if hi > lo else np.zeros_like(t)
            rgba = pg.ColorMap([0.0, 1.0], [CLASS_COLORS[0], CLASS_COLORS[1]]).map(u)
            item = self._scatter_item(0)
            item.setData(xs, ys, brush=[pg.mkBrush(*c) for c in rgba.tolist()], pen=None,
                         size=5)
            item.show()
            used.add(0)
        for key in [k for k in self.scatters if k not in used]:
            self.scatter_plot.removeItem(self.scatters.pop(key))
        self.legend.setVisible(data.task == "classification")
        style_legend(self.legend, self.colors)
        x_name, y_name = self.x_combo.currentText(), self.y_combo.currentText()
        sample = (f" ({len(rows):,} of {data.n_samples:,} samples)"
                  if len(rows) < data.n_samples else "")
        if data.task != "classification":
            sample += "; colour: the target, blue low, orange high"
        set_plot_labels(self.scatter_plot, self.colors, title=f"Two features{sample}",
                        x_label=x_name, y_label=y_name)
        self.scatter_plot.enableAutoRange()

    def _draw_images(self, data: Dataset, shape: tuple[int, int] | None) -> None:
        self._grid.removeWidget(self.scatter_box)
        if shape is None:
            self.images_box.hide()
            self.image.clear()
            self._set_image_labels(0)
            self._grid.addWidget(self.scatter_box, 1, 0, 1, 2)
            return
        self._grid.addWidget(self.scatter_box, 1, 0)
        self.images_box.show()
        h, w = shape
        rows_, cols = GRID
        picked = grid_rows(data, rows_ * cols)
        gap_x, gap_y = 1.0, max(4.0, 0.75 * h)  # room for a label under each picture
        stride_x, stride_y = w + gap_x, h + gap_y
        n_rows = -(-len(picked) // cols)
        mosaic = np.full((int(n_rows * stride_y), int(cols * stride_x)), np.nan)
        X = data.X
        lo, hi = float(X.min()), float(X.max())
        self._set_image_labels(len(picked))
        names = [str(c) for c in data.classes or []]
        font = QFont()
        font.setPointSizeF(8.5)
        for i, row in enumerate(picked):
            r, c = divmod(i, cols)
            top, left = int(r * stride_y), int(c * stride_x)
            mosaic[top:top + h, left:left + w] = X[row].reshape(h, w)
            if data.task == "classification":
                k = int(data.y[row])
                text = names[k] if k < len(names) else str(k)
            else:
                text = f"{float(data.y[row, 0]):.3g}"
            label = self.image_labels[i]
            label.setFont(font)
            label.setText(text, color=self.colors.foreground)
            label.setPos(left + w / 2, top + h + 0.1)
        self.image.setImage(mosaic, levels=(lo, hi if hi > lo else lo + 1), autoLevels=False)
        self.image.setRect(0, 0, mosaic.shape[1], mosaic.shape[0])
        self.images_plot.vb.setRange(xRange=(-0.5, mosaic.shape[1]),
                                     yRange=(-0.5, mosaic.shape[0]), padding=0)
        set_plot_labels(self.images_plot, self.colors,
                        title=f"{len(picked)} of {data.n_samples:,} samples")

    def _set_image_labels(self, n: int) -> None:
        while len(self.image_labels) > n:
            self.images_plot.removeItem(self.image_labels.pop())
        while len(self.image_labels) < n:
            t = pg.TextItem("", anchor=(0.5, 0))
            self.images_plot.addItem(t, ignoreBounds=True)
            self.image_labels.append(t)

    # ------------------------------------------------------------------ reading back
    def bar_counts(self) -> np.ndarray:
        """The class counts drawn (the bars' lengths), int64 ``(K,)``."""
        width = self.counts_bars.opts.get("width")
        return np.asarray([] if width is None else width, dtype=np.float64).astype(np.int64)

    def count_labels(self) -> list[str]:
        """The names on the counts axis, class 0 first."""
        levels = self.counts_plot.getAxis("left")._tickLevels
        return [text for _, text in levels[0]] if levels else []

    def image_texts(self) -> list[str]:
        """The labels under the sample pictures, in grid order."""
        return [t.toPlainText() for t in self.image_labels]

    # ------------------------------------------------------------------ theme
    def apply_theme(self, theme: Theme | str) -> None:
        """Light or dark, like the other views; what is shown is redrawn (when in sight)."""
        self.theme = as_theme(theme)
        c = self.colors = plot_colors(self.theme)
        for w in self._graphics:
            w.setBackground(c.background)
        for p in self._plots:
            style_plot(p, c)
        style_legend(self.legend, c)
        for curve in (self.hist_curve, self.target_curve):
            curve.setPen(pg.mkPen(c.accent, width=1.5))
            curve.setBrush(pg.mkBrush(with_alpha(c.accent, 0.35)))
        # the pictures: ink in the text colour on a faint card (NaN between them)
        card = "#eef1f6" if self.theme.name != "dark" else "#2b303b"
        self.image.setColorMap(pg.ColorMap([0.0, 1.0], [card, c.foreground]))
        self.caption.setStyleSheet(f"color: {c.muted};")
        self.placeholder.setStyleSheet(f"color: {c.muted}; padding: 12px;")
        if self.data is not None:  # in sight: now; else when shown
            self._stale = True
            self.data_changed()
