"""Shared pieces of the live plots: theme colours, plot styling, data filters, smoothing,
the step -> epoch axis, and export of a run's history.

Every view follows the same rules (DESIGN.md points 12 and 13):

* plot items are created once (per run, per parameter, ...) and later only get new data
  through ``setData``; nothing is cleared and rebuilt on a redraw;
* redraws happen from the :class:`~app.plots.panel.PlotsPanel`'s one GUI-side timer,
  for the runs that changed since the last tick;
* long curves are clipped to the visible range and peak-downsampled
  (:func:`live_curve`);
* non-finite values (and, on a log axis, values <= 0) are left out before drawing
  (:func:`finite_xy`), so a diverging run never breaks a plot.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QAction, QColor
from PySide6.QtWidgets import (QFileDialog, QGraphicsItem, QLabel, QMessageBox, QSizePolicy,
                               QWidget)

from app.theme import LIGHT, THEMES, Theme

__all__ = ["CLASS_COLORS", "DrawnWhenShown", "REDRAW_INTERVAL_MS", "PlotColors",
           "plot_colors", "as_theme",
           "finite_xy", "ema", "EmaCache", "batches_per_epoch", "steps_to_epochs",
           "live_curve", "configure_plot", "style_plot", "new_legend", "style_legend",
           "set_plot_labels", "legend_labels", "history_action", "write_history_csv",
           "runs_history_csv", "save_csv_dialog", "safe_file_name",
           "PlotView", "with_alpha", "SteadyRange", "steady_span", "cache_axes",
           "EPOCH_REDRAW_S", "ElidedLabel", "yielding_label", "no_si_prefix"]

#: The panel's redraw period: about 28 redraws a second at most (smooth to the eye, above
#: the 25 Hz goal, and each redraw holds the GIL the training thread needs).
REDRAW_INTERVAL_MS = 36
#: What changes once per epoch (epoch curves, titles, table rows) is redrawn at most this
#: often (seconds) while epochs arrive faster: a tiny network trains dozens of epochs a
#: second, and redrawing them all would take the GIL from the training thread.
EPOCH_REDRAW_S = 0.2

#: Qualitative palette for classes (decision boundary, scatter points): Tableau 10,
#: readable on light and dark backgrounds and distinguishable for most colour vision.
CLASS_COLORS = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948",
                "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac")


@dataclass(frozen=True)
class PlotColors:
    """The colours a plot needs for one theme (hex strings)."""

    background: str
    foreground: str     # titles, axis labels, tick labels
    axis: str           # axis lines and grid
    muted: str          # secondary text, style keys in legends
    legend_bg: str      # legend background (with alpha)
    legend_border: str
    accent: str         # histogram fill, heat-map colour
    outline: str        # scatter-point outlines
    warning: str        # badges (non-finite values)


def as_theme(theme: Theme | str | None) -> Theme:
    """A :class:`~app.theme.Theme` from itself, its name, or None (light)."""
    if theme is None:
        return LIGHT
    if isinstance(theme, str):
        return THEMES[theme]
    return theme


def plot_colors(theme: Theme | str | None) -> PlotColors:
    """Plot colours matching an application theme."""
    t = as_theme(theme)
    if t.name == "dark":
        return PlotColors(background=t.card, foreground=t.text, axis=t.text_dim,
                          muted=t.text_dim, legend_bg="#232730e0", legend_border=t.card_border,
                          accent="#5b9dff", outline="#0d0f13", warning="#ffb347")
    return PlotColors(background="#ffffff", foreground=t.text, axis=t.text_dim,
                      muted=t.text_dim, legend_bg="#ffffffe0", legend_border=t.card_border,
                      accent="#2f6fdb", outline="#1f2430", warning="#b45309")


def with_alpha(color: str, alpha: float) -> QColor:
    """``color`` (hex) with an alpha in [0, 1]."""
    c = QColor(color)
    c.setAlphaF(max(0.0, min(1.0, alpha)))
    return c


# ---------------------------------------------------------------------------- data
def finite_xy(x: np.ndarray, y: np.ndarray, positive: bool = False
              ) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` cut to the same length, without points whose x or y is NaN or
    infinite (and, with ``positive``, whose y is <= 0: what a log axis cannot show).

    Returns the inputs themselves (no copy) when every point is kept.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n = min(len(x), len(y))
    x, y = x[:n], y[:n]
    with np.errstate(invalid="ignore"):
        keep = np.isfinite(x) & np.isfinite(y)
        if positive:
            keep &= y > 0
    if keep.all():
        return x, y
    return x[keep], y[keep]


_EMA_BLOCK = 256
_ema_matrices: dict[float, np.ndarray] = {}


def _ema_matrix(weight: float) -> np.ndarray:
    m = _ema_matrices.get(weight)
    if m is None:
        i = np.arange(_EMA_BLOCK)
        d = i[:, None] - i[None, :]
        with np.errstate(under="ignore"):
            m = np.where(d >= 0, (1.0 - weight) * weight ** np.maximum(d, 0), 0.0)
        if len(_ema_matrices) > 16:
            _ema_matrices.clear()
        _ema_matrices[weight] = m
    return m


def _ema_raw(y: np.ndarray, weight: float, state: float) -> tuple[np.ndarray, float]:
    """The biased EMA ``e_t = w e_{t-1} + (1 - w) y_t`` of ``y`` from ``e_{-1} = state``,
    in blocks (one small matrix product each, no Python loop per point)."""
    out = np.empty(len(y), dtype=np.float64)
    m = _ema_matrix(weight)
    powers = weight ** np.arange(1, _EMA_BLOCK + 1, dtype=np.float64)
    for start in range(0, len(y), _EMA_BLOCK):
        block = y[start: start + _EMA_BLOCK]
        k = len(block)
        with np.errstate(under="ignore"):
            e = m[:k, :k] @ block + powers[:k] * state
        out[start: start + k] = e
        state = float(e[-1])
    return out, state


def ema(values: Any, weight: float) -> np.ndarray:
    """Exponential moving average with bias correction, as TensorBoard's smoothing.

    ``e_t = w e_{t-1} + (1 - w) y_t`` from ``e_{-1} = 0``, reported as
    ``e_t / (1 - w^(t+1))`` so the first points are not pulled toward 0 (Adam's bias
    correction, Kingma & Ba 2015). ``weight`` 0 returns the values unchanged.

    Args:
        values: 1-D finite floats.
        weight: in [0, 1).

    Raises:
        ValueError: for a weight outside [0, 1).
    """
    y = np.asarray(values, dtype=np.float64).ravel()
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"smoothing weight must be in [0, 1), got {weight}")
    if weight == 0.0 or len(y) == 0:
        return y.copy()
    raw, _ = _ema_raw(y, weight, 0.0)
    with np.errstate(under="ignore"):
        return raw / (1.0 - weight ** np.arange(1, len(y) + 1, dtype=np.float64))


class EmaCache:
    """:func:`ema` of a series that only grows, computed for the new points only.

    ``update(y)`` returns ``ema(y, weight)``; when ``y`` extends the values seen last
    time (same weight), only the new part is smoothed. A shorter ``y`` or another
    weight starts over.
    """

    def __init__(self) -> None:
        self.weight: float | None = None
        self._state = 0.0
        self._raw = np.empty(0)
        self._out = np.empty(0)
        self._last = np.nan

    def update(self, y: np.ndarray, weight: float) -> np.ndarray:
        n_done = len(self._out)
        if (weight != self.weight or len(y) < n_done
                or (n_done and not (y[n_done - 1] == self._last))):
            self.weight, self._state, n_done = weight, 0.0, 0
            self._out = np.empty(0)
        if weight == 0.0:
            self._out, self._last = y, (y[-1] if len(y) else np.nan)
            return y
        if len(y) > n_done:
            raw, self._state = _ema_raw(y[n_done:], weight, self._state)
            with np.errstate(under="ignore"):
                new = raw / (1.0 - weight ** np.arange(n_done + 1, len(y) + 1, dtype=np.float64))
            self._out = np.concatenate([self._out, new]) if n_done else new
            self._last = y[-1]
        return self._out


def batches_per_epoch(run: Any) -> float:
    """How many optimizer steps one epoch of ``run`` has (for the epoch axis).

    From the latest progress report (``run.progress["batches"]``); else estimated from
    the steps and epochs recorded so far; else (the first epoch, no report yet) the
    steps so far, so the first epoch's batches span (0, 1].
    """
    batches = run.progress.get("batches") if run.progress else None
    if batches and np.isfinite(batches) and batches > 0:
        return float(batches)
    n_steps = len(run.step)
    if run.epochs and n_steps:
        last_epoch = run.epochs[-1].get("epoch") or len(run.epochs)
        return max(float(run.step.values[-1]) / float(last_epoch), 1.0)
    if n_steps:
        return max(float(run.step.values[-1]), 1.0)
    return 1.0


def steps_to_epochs(run: Any, steps: np.ndarray) -> np.ndarray:
    """Global step numbers (1, 2, ...) as epochs (a float: step ``b`` of epoch ``e``,
    1-based, is at ``e - 1 + b / batches``): the x axis shared by per-batch and
    per-epoch curves, on which the end of epoch ``e`` is ``x = e``."""
    return np.asarray(steps, dtype=np.float64) / batches_per_epoch(run)


# ---------------------------------------------------------------------------- plots
def live_curve(plot: pg.PlotItem, pen: Any = None, name: str | None = None,
               ignore_bounds: bool = False, **options: Any) -> pg.PlotDataItem:
    """A :class:`pyqtgraph.PlotDataItem` added to ``plot`` for live data: clipped to the
    view and peak-downsampled (set after adding: ``PlotItem.addItem`` imposes the plot's
    own modes). ``name`` labels its CSV export columns; legends are managed by the
    views (:func:`new_legend`), not by the plot. ``ignore_bounds``: left out of the
    auto-range (a :class:`SteadyRange` decides it)."""
    curve = pg.PlotDataItem(pen=pen, name=name, **options)
    plot.addItem(curve, ignoreBounds=ignore_bounds)
    # One min/max pair per pixel column (pyqtgraph's default is ~5 per pixel): the same
    # envelope on screen, a fifth of the vertices to rasterize.
    curve.opts["autoDownsampleFactor"] = 1.0
    curve.setClipToView(True)
    curve.setDownsampling(auto=True, method="peak")
    return curve


def steady_span(lo: float, hi: float, current: tuple[float, float] | None,
                headroom: float = 0.1) -> tuple[float, float]:
    """The range to show for data spanning ``[lo, hi]``, given the range shown now.

    The range is kept while the data stay inside it and fill at least half of it;
    otherwise it becomes the data's span with ``headroom`` (a fraction of the span) on
    each side, so a falling loss moves the axis every so often rather than at every
    redraw (each change re-lays out the axis and its grid: most of a redraw's cost)."""
    if current is not None:
        a, b = current
        if a <= lo and hi <= b and (hi - lo) >= 0.5 * (b - a):
            return current
    span = hi - lo
    if span <= 0:
        span = abs(hi) * 0.1 or 1.0
    return (lo - headroom * span, hi + headroom * span)


class SteadyRange(pg.GraphicsObject):
    """An invisible item that decides what its plot's auto-range shows.

    The plot's curves are added with ``ignoreBounds=True``; :meth:`set_data_span` gives
    the data's extent, and the item reports a steadier range (:func:`steady_span`) as
    its bounds, so the axes (and their grids) are laid out again only when that range
    moves. The plot keeps pyqtgraph's behaviour: auto-range until the user zooms or
    pans, and the "A" button goes back to it.

    Args:
        plot: the :class:`pyqtgraph.PlotItem` (the item adds itself to it).
        log_y: a callable telling whether the y axis is logarithmic (bounds are then
            given in log10, as pyqtgraph plots them).
    """

    def __init__(self, plot: pg.PlotItem, log_y: Callable[[], bool] = lambda: False) -> None:
        super().__init__()
        self.setFlag(self.GraphicsItemFlag.ItemHasNoContents)
        self._log_y = log_y
        self.x: tuple[float, float] | None = None
        self.y: tuple[float, float] | None = None
        self.changes = 0
        plot.addItem(self)

    def set_data_span(self, ys: Iterable[np.ndarray], x_max: float | None,
                      x_min: float = 0.0) -> None:
        """The y values drawn (arrays, non-finite values ignored; on a log axis only
        positive ones) and the x extent to show (e.g. the epochs the runs will reach)."""
        log = self._log_y()
        lo, hi = math.inf, -math.inf
        for y in ys:
            y = np.asarray(y, dtype=np.float64)
            y = y[np.isfinite(y) & (y > 0)] if log else y[np.isfinite(y)]
            if y.size:
                lo, hi = min(lo, float(y.min())), max(hi, float(y.max()))
        if lo > hi:
            new_y = None
        else:
            if log:
                lo, hi = math.log10(lo), math.log10(hi)
            new_y = steady_span(lo, hi, self.y if self._y_log == log else None, 0.1)
        self._y_log = log
        new_x = None if x_max is None or not math.isfinite(x_max) or x_max <= x_min \
            else (x_min, float(x_max))
        if new_x != self.x or new_y != self.y:
            self.x, self.y = new_x, new_y
            self.changes += 1
            self.informViewBoundsChanged()

    _y_log = False

    def dataBounds(self, axis: int, frac: float = 1.0, orthoRange: Any = None  # noqa: N802
                   ) -> tuple[float, float] | None:
        return self.x if axis == 0 else self.y

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt)
        return QRectF()

    def paint(self, *_args: Any) -> None:
        pass


class ElidedLabel(QLabel):
    """A one-line plain-text label that never widens its layout (nor the dock it is
    in): it takes the width it is given and cuts its text there with "…"; the whole
    text is its tooltip. :meth:`text` returns the whole text."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._full = ""
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 (Qt)
        self._full = str(text)
        self._elide()

    def text(self) -> str:
        return self._full

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt)
        return QSize(0, super().minimumSizeHint().height())

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt)
        return QSize(self.fontMetrics().horizontalAdvance(self._full) + 4,
                     super().sizeHint().height())

    def resizeEvent(self, event: Any) -> None:  # noqa: N802 (Qt)
        super().resizeEvent(event)
        self._elide()

    def showEvent(self, event: Any) -> None:  # noqa: N802 (Qt)
        super().showEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = max(self.contentsRect().width(), 0)
        QLabel.setText(self, self.fontMetrics().elidedText(
            self._full, Qt.TextElideMode.ElideRight, width))
        self.setToolTip(self._full)


def yielding_label(label: QLabel) -> QLabel:
    """Let a (word-wrapped or rich-text) label give up its width: its text wraps or is
    clipped to the width the layout gives it, and a long text never widens the dock.
    Returns ``label``."""
    label.setWordWrap(True)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, label.sizePolicy().verticalPolicy())
    label.setMinimumWidth(0)
    return label


def no_si_prefix(axis: pg.AxisItem) -> None:
    """Tick labels in the axis' own units (0.002, never "2" with a "(x0.001)" label).

    pyqtgraph's ``enableAutoSIPrefix(False)`` still computes the prefix's scale once,
    from the current range, whenever the axis has a label: an axis that already showed
    0.001 to 0.002 (a learning rate) then draws its ticks times 1000 for good (seen after
    a theme switch, which restyles the labels). The scale is put back to 1 here."""
    axis.enableAutoSIPrefix(False)
    if axis.autoSIPrefixScale != 1.0 or axis.labelUnitPrefix:
        axis.autoSIPrefixScale = 1.0
        axis.labelUnitPrefix = ""
        axis._updateLabel()


def cache_axes(plot: pg.PlotItem) -> None:
    """Paint each axis (its ticks, labels and grid lines) from a cached pixmap until its
    range or style changes: a redraw that only moves curves then repaints no axis."""
    for side in ("left", "bottom", "right", "top"):
        axis = plot.getAxis(side)
        axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        no_si_prefix(axis)  # no units: a range change re-lays out no label


def _plot_meta(plot: pg.PlotItem) -> dict[str, str]:
    meta = getattr(plot, "_nncanvas_labels", None)
    if meta is None:
        meta = {}
        plot._nncanvas_labels = meta
    return meta


def configure_plot(plot: pg.PlotItem, title: str | None = None, x_label: str | None = None,
                   y_label: str | None = None, grid: bool = True) -> pg.PlotItem:
    """Give ``plot`` a title and axis labels (kept for :func:`style_plot`), clip-to-view
    and peak downsampling as defaults, and a light grid."""
    meta = _plot_meta(plot)
    if title is not None:
        meta["title"] = title
    if x_label is not None:
        meta["bottom"] = x_label
    if y_label is not None:
        meta["left"] = y_label
    plot.setClipToView(True)
    plot.setDownsampling(auto=True, mode="peak")
    cache_axes(plot)
    if grid:
        plot.showGrid(x=True, y=True, alpha=0.18)
    plot.setMenuEnabled(True)
    return plot


def _title_update_min(label: pg.LabelItem) -> None:
    """:meth:`pyqtgraph.LabelItem.updateMin` without the width, and with elision.

    pyqtgraph makes a title's width its plot's minimum width (on every text change and
    resize), so a long title in a narrow dock pushed the plot, and everything beside it,
    past the dock's edge. Here a title wider than its plot is cut at the end with "…"
    (never in the middle of a number without the mark), and centred in what is left."""
    item = label.item
    text = str(getattr(label, "text", "") or "")
    color = pg.mkColor(label.opts.get("color") or "#000000").name(QColor.NameFormat.HexArgb)
    style = f"color: {color}; font-size: {label.opts.get('size', '10.5pt')}"

    def show(t: str) -> float:
        item.setHtml(f"<span style='{style}'>{t}</span>")
        return item.boundingRect().width()

    avail = label.rect().width()
    if text and show(text) > avail > 24:
        lo, hi = 0, len(text)  # the longest prefix that fits with the mark
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if show(text[:mid].rstrip() + "…") <= avail:
                lo = mid
            else:
                hi = mid - 1
        show(text[:lo].rstrip() + "…")
    height = item.boundingRect().height()
    label.setMinimumWidth(0)
    label.setMinimumHeight(height)
    label._sizeHint = {Qt.SizeHint.MinimumSize: (0, height),
                       Qt.SizeHint.PreferredSize: (0, height),
                       Qt.SizeHint.MaximumSize: (-1, -1),
                       Qt.SizeHint.MinimumDescent: (0, 0)}
    label.updateGeometry()
    item.setPos(max(0.0, (avail - item.boundingRect().width()) / 2), item.pos().y())


def _set_title(plot: pg.PlotItem, title: str | None, colors: PlotColors) -> None:
    """Set ``plot``'s title; a title too long for the plot is cut with "…", never widens
    it."""
    label = plot.titleLabel
    if "updateMin" not in vars(label):
        label.updateMin = lambda: _title_update_min(label)
        label.setFlag(label.GraphicsItemFlag.ItemClipsChildrenToShape, True)
    plot.setTitle(title, color=colors.foreground, size="10.5pt")
    _title_update_min(label)


def set_plot_labels(plot: pg.PlotItem, colors: PlotColors, title: str | None = None,
                    x_label: str | None = None, y_label: str | None = None) -> None:
    """Change a plot's title or axis labels (and keep them for the theme); only what
    differs from the current text is redrawn."""
    meta = _plot_meta(plot)
    if title is not None and meta.get("title") != title:
        meta["title"] = title
        _set_title(plot, title, colors)
    for side, text in (("bottom", x_label), ("left", y_label)):
        if text is not None and meta.get(side) != text:
            meta[side] = text
            plot.getAxis(side).setLabel(text, color=colors.foreground,
                                        **{"font-size": "9.5pt"})


def style_plot(plot: pg.PlotItem, colors: PlotColors) -> None:
    """Colour ``plot``'s title, axes, tick labels and grid for a theme."""
    meta = _plot_meta(plot)
    _set_title(plot, meta.get("title"), colors)
    axis_pen = pg.mkPen(colors.axis)
    for side in ("left", "bottom", "right", "top"):
        axis = plot.getAxis(side)
        axis.setPen(axis_pen)
        axis.setTextPen(pg.mkPen(colors.foreground))
        if side in meta:
            axis.setLabel(meta[side], color=colors.foreground, **{"font-size": "9.5pt"})
        no_si_prefix(axis)  # "(x0.001)" in a label puzzles more than it helps


def new_legend(plot: pg.PlotItem | None = None, corner: str = "top-right",
               columns: int = 1) -> pg.LegendItem:
    """A legend managed by hand (entries added explicitly). With ``plot`` it floats in
    the plot's ``corner``; without, the caller places it (e.g. in a layout cell beside
    the plot, where it hides nothing)."""
    legend = pg.LegendItem(offset=None, verSpacing=-4, horSpacing=6)
    if plot is not None:
        legend.setParentItem(plot.vb)
        anchors = {"top-right": ((1, 0), (1, 0), (-8, 8)),
                   "top-left": ((0, 0), (0, 0), (8, 8)),
                   "bottom-right": ((1, 1), (1, 1), (-8, -8)),
                   "bottom-left": ((0, 1), (0, 1), (8, -8))}
        item_pos, parent_pos, offset = anchors[corner]
        legend.anchor(item_pos, parent_pos, offset)
    legend.setColumnCount(columns)
    legend.setZValue(100)
    return legend


def style_legend(legend: pg.LegendItem, colors: PlotColors) -> None:
    legend.setBrush(pg.mkBrush(colors.legend_bg))
    legend.setPen(pg.mkPen(colors.legend_border))
    legend.setLabelTextColor(colors.foreground)
    legend.setLabelTextSize("8.5pt")
    # setLabelTextColor only restyles existing labels' opts; refresh their text.
    for _, label in legend.items:
        label.setText(label.text, color=colors.foreground)


def legend_labels(legend: pg.LegendItem) -> list[str]:
    """The texts of a legend's entries, in order."""
    return [label.text for _, label in legend.items]


# ---------------------------------------------------------------------------- export
def _close_paths_explicitly(d: str) -> str:
    """SVG path data with every close-path command (``Z``/``z``) replaced by a line back
    to its subpath's start: the same outline, in the ``x,y`` tokens pyqtgraph parses."""
    out: list[str] = []
    start: str | None = None
    for token in d.split():
        if token in ("Z", "z"):
            if start is not None:
                out.append("L" + start)
            continue
        if token[0] in "Mm":
            start = token[1:]
        out.append(token)
    return " ".join(out)


def _patch_svg_exporter() -> None:
    """Make pyqtgraph's "Export... → SVG" work with Qt >= 6.10.

    Qt's SVG generator now ends closed paths with ``Z`` (e.g. every plot's frame), and
    pyqtgraph 0.14's SVGExporter, which re-parses path data as ``x,y`` pairs, fails on
    it with "not enough values to unpack" for *every* plot (pyqtgraph issue #3495,
    fixed upstream by PR #3458, not released yet). We rewrite ``Z`` as an explicit line
    to the subpath's start before pyqtgraph reads the paths. Harmless once fixed.
    """
    import importlib

    try:
        module = importlib.import_module("pyqtgraph.exporters.SVGExporter")
    except ImportError:  # pragma: no cover - pyqtgraph reorganized
        return
    correct = getattr(module, "correctCoordinates", None)
    if correct is None or getattr(correct, "_nncanvas_patched", False):
        return

    def correct_coordinates(node: Any, defs: Any, item: Any, options: Any) -> Any:
        for path in node.getElementsByTagName("path"):
            d = path.getAttribute("d")
            if "Z" in d or "z" in d:
                path.setAttribute("d", _close_paths_explicitly(d))
        return correct(node, defs, item, options)

    correct_coordinates._nncanvas_patched = True
    module.correctCoordinates = correct_coordinates


_patch_svg_exporter()


def write_history_csv(run: Any, path: str | Path) -> Path:
    """Write ``run.history_csv()`` (one row per epoch) to ``path`` (UTF-8)."""
    path = Path(path)
    path.write_text(run.history_csv(), encoding="utf-8", newline="")
    return path


def _csv_cell(value: Any) -> str:
    """One metric value as :meth:`Run.history_csv` writes it: ``%.10g``, empty for None."""
    if value is None:
        return ""
    if isinstance(value, (int, float, np.integer, np.floating)):
        return f"{value:.10g}"
    return str(value)


def runs_history_csv(runs: Iterable[Any]) -> str:
    """The per-epoch history of several runs as one CSV text.

    Columns: ``run`` (the run's name), then ``epoch``, then every other metric any run
    recorded (``loss``, ``accuracy``, ``val_loss``, ...), in the order they first
    appear. Rows: each run's epochs in order, runs in the order given (a
    :class:`~app.training.runs.RunStore`'s ``runs.values()`` is creation order). A run
    without epochs is skipped; a metric a run lacks is an empty cell. Numbers are
    written as :meth:`~app.training.runs.Run.history_csv` does (``%.10g``, so NaN is
    ``nan``); a name with a comma or quote is quoted (RFC 4180). Lines end with
    ``\\n``. With no epochs at all the text is the header line ``run,epoch``.

    Args:
        runs: objects with ``name`` (str) and ``epochs`` (list of dicts of metrics).
    """
    runs = [r for r in runs if r.epochs]
    keys = ["epoch"]
    for run in runs:
        for e in run.epochs:
            keys += [k for k in e if k not in keys]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["run", *keys])
    for run in runs:
        for e in run.epochs:
            writer.writerow([run.name, *(_csv_cell(e.get(k)) for k in keys)])
    return out.getvalue()


def save_csv_dialog(parent: QWidget, title: str, suggested: str, text: str) -> Path | None:
    """Ask where to save ``text`` (a CSV file, UTF-8) and write it there.

    A write that fails (:class:`OSError`: a missing folder, no permission) is reported
    with a warning naming the path and the reason, and nothing is raised.

    Returns:
        the path written, or None (dialog cancelled or the write failed).
    """
    path, _ = QFileDialog.getSaveFileName(parent, title, suggested, "CSV files (*.csv)")
    if not path:
        return None
    try:
        Path(path).write_text(text, encoding="utf-8", newline="")
    except OSError as e:
        QMessageBox.warning(parent, title, f"Could not write {path}: {e.strerror or e}")
        return None
    return Path(path)


def safe_file_name(text: str, default: str = "export") -> str:
    """``text`` with every character but letters, digits, ``-``, ``_`` and spaces
    replaced by ``_`` (a file name safe on every system), or ``default`` if empty."""
    safe = "".join(c if c.isalnum() or c in "-_ " else "_" for c in text).strip()
    return safe or default


def history_action(view: pg.GraphicsView, parent: QWidget,
                   get_run: Callable[[], Any]) -> QAction:
    """Add "Export history as CSV…" to a pyqtgraph widget's context menu, next to
    pyqtgraph's own "Export..." (PNG, SVG, CSV of the plotted curves). It saves the
    per-epoch history of the run ``get_run()`` returns (the current run)."""
    action = QAction("Export history as CSV…", parent)

    def export() -> None:
        run = get_run()
        if run is None or not run.epochs:
            QMessageBox.information(parent, "Export history",
                                    "The current run has no finished epoch yet.")
            return
        save_csv_dialog(parent, "Export history as CSV", f"{safe_file_name(run.name, 'run')}.csv",
                        run.history_csv())

    action.triggered.connect(export)
    view.scene().contextMenu.append(action)
    return action


# ---------------------------------------------------------------------------- views
def _same(a: Any, b: Any) -> bool:
    """Signatures are equal: tuples of plain values (compared with ==) and data objects
    (arrays, dicts: compared by identity, since the controller replaces them)."""
    if not isinstance(a, tuple) or not isinstance(b, tuple) or len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if x is y:
            continue
        if isinstance(x, tuple) or isinstance(y, tuple):
            if not _same(x, y):
                return False
        elif isinstance(x, (np.ndarray, dict, list)) or isinstance(y, (np.ndarray, dict, list)):
            return False
        elif x != y:
            return False
    return True


class PlotView(QWidget):
    """Base of the live views.

    A view reads the :class:`~app.training.runs.RunStore` when the panel's timer calls
    :meth:`redraw` with what changed since the last tick; it never redraws on its own.

    Attributes:
        store: the run store.
        colors: the current :class:`PlotColors`.
        redraw_count: how many times the view actually redrew (for tests and tuning).
        history_actions: the "Export history as CSV…" actions of its plot widgets.
    """

    #: True for views that show only the current run.
    follows_current = True

    def __init__(self, store: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.theme = LIGHT
        self.colors = plot_colors(LIGHT)
        self.redraw_count = 0
        self._signature: Any = None
        self.immediate = False  # set by the panel's redraw_now: defer nothing
        self.history_actions: list[QAction] = []
        self._plots: list[pg.PlotItem] = []
        self._legends: list[pg.LegendItem] = []
        self._graphics: list[pg.GraphicsView] = []

    # -- set-up helpers
    def _register(self, widget: pg.GraphicsView, plots: Iterable[pg.PlotItem] = (),
                  legends: Iterable[pg.LegendItem] = ()) -> None:
        self._graphics.append(widget)
        self._plots += list(plots)
        self._legends += list(legends)
        self.history_actions.append(history_action(widget, self, self.store.current_run))

    def plot_items(self) -> list[pg.PlotItem]:
        """Every plot of the view (for export and theming)."""
        return list(self._plots)

    # -- theme
    def apply_theme(self, theme: Theme | str) -> None:
        self.theme = as_theme(theme)
        self.colors = plot_colors(self.theme)
        for w in self._graphics:
            w.setBackground(self.colors.background)
        for p in self._plots:
            style_plot(p, self.colors)
        for legend in self._legends:
            style_legend(legend, self.colors)
        self.theme_changed()

    def theme_changed(self) -> None:
        """Restyle what depends on the theme beyond axes and legends (subclasses)."""
        self.refresh()

    # -- drawing
    def redraw(self, dirty: set[int], removed: set[int], current_changed: bool) -> bool:
        """Bring the view up to date after the changes since the last tick: the ids of
        runs whose data changed and of runs removed, and whether the current run
        changed. Returns True if it drew. The default redraws the current run."""
        current = self.store.current
        if current_changed or (current is not None and current in dirty) or (
                removed and current is None):
            run = self.store.current_run()
            signature = self.signature(run)
            if signature is not None and _same(signature, self._signature):
                return False  # what this view shows of the run has not changed
            self._signature = signature
            self.draw_current(run)
            self.redraw_count += 1
            return True
        return False

    def signature(self, run: Any) -> Any:
        """What decides this view's picture of ``run`` (compared between ticks: equal
        means nothing to redraw), or None to redraw on every change. Views that change
        per epoch (histograms, boundary, confusion) skip the per-batch ticks with it."""
        return None

    def refresh(self) -> None:
        """Redraw everything now."""
        self._signature = None
        self.redraw(set(self.store.runs), set(), True)

    def draw_current(self, run: Any) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class DrawnWhenShown(QWidget):
    """A view that draws only when it is in sight: :meth:`changed` marks it out of date
    and draws it at the next turn of the event loop if it is visible, else when it is
    shown (drawing holds the GIL the training worker needs). Subclasses implement
    ``draw_now()``, which sets ``_dirty`` to False."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._dirty = True
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._draw_if_dirty)

    def changed(self, *_: Any) -> None:
        """What the view shows may have changed: drawn when in sight."""
        self._dirty = True
        try:
            visible = self.isVisible()
        except RuntimeError:  # the window is gone; its graph's events still call
            return
        if visible and not self._timer.isActive():
            self._timer.start()

    def showEvent(self, event: Any) -> None:  # noqa: N802 (Qt)
        super().showEvent(event)
        if self._dirty and not self._timer.isActive():
            self._timer.start()

    def _draw_if_dirty(self) -> None:
        if self._dirty and self.isVisible():
            self.draw_now()

    def draw_now(self) -> Any:  # pragma: no cover - every view overrides it
        raise NotImplementedError
