"""Histograms of one node's activations or weights: the latest one, and all epochs as a
heat map (TensorBoard's "distributions" view), with the node's dead/saturated units."""

from __future__ import annotations

import csv
import io
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QButtonGroup, QComboBox, QHBoxLayout, QLabel, QMessageBox,
                               QRadioButton, QVBoxLayout, QWidget)

from app.plots.base import (ElidedLabel, PlotView, configure_plot, safe_file_name,
                            save_csv_dialog, set_plot_labels, with_alpha, yielding_label)

__all__ = ["HistogramView", "heat_matrix", "heat_map_csv", "bin_label", "unit_stat_text",
           "common_edges", "rebin"]

EXPLANATIONS = {
    "dead": "A dead ReLU unit outputs 0 for every probe sample: it passes no gradient "
            "back and stops learning. A few are harmless; many waste the layer (lower the "
            "learning rate, try Leaky ReLU or He initialization).",
    "saturated": "Saturated outputs sit on the flat ends of a sigmoid or tanh (near 0 or "
                 "1, or near ±1), where its gradient is almost 0, so the weights before it "
                 "learn very slowly. Standardized inputs, smaller initial weights, a lower "
                 "learning rate or BatchNorm help.",
}


def unit_stat_text(stats: dict[str, float] | None) -> tuple[str, str]:
    """(headline, explanation) for a node's latest unit statistics, e.g.
    ``("dead ReLU units: 12%", "A dead ReLU unit ...")``; empty strings for none."""
    if not stats:
        return "", ""
    lines, notes = [], []
    for key, value in stats.items():
        pct = f"{100 * value:.0f}%" if np.isfinite(value) else "n/a"
        if key == "dead":
            lines.append(f"dead ReLU units: {pct}")
        elif key == "saturated":
            lines.append(f"saturated: {pct}")
        else:
            lines.append(f"{key}: {pct}")
        if key in EXPLANATIONS:
            notes.append(EXPLANATIONS[key])
    return ", ".join(lines), " ".join(notes)


#: The heat map's grid has at most this many bins (ranges that drift far apart share it).
MAX_HEAT_BINS = 400


def common_edges(hists: list[Any]) -> np.ndarray:
    """One grid of bin edges for histograms whose edges differ (each epoch's are chosen
    from its own values): it covers the union of their ranges with equal bins as wide
    as the widest bin among them (so no histogram gets finer bins than it has), aligned
    on multiples of that width (nice edges stay nice), at most :data:`MAX_HEAT_BINS`.
    Histograms that share their edges keep them. Empty input: an empty array."""
    if not hists:
        return np.zeros(0)
    first = np.asarray(hists[0].edges, dtype=np.float64)
    if all(len(h.edges) == len(first) and np.array_equal(h.edges, first) for h in hists):
        return first
    lo = min(float(h.edges[0]) for h in hists)
    hi = max(float(h.edges[-1]) for h in hists)
    step = max(float(np.max(np.diff(h.edges))) for h in hists)
    start = np.floor(lo / step + 1e-9) * step
    n = max(1, int(np.ceil((hi - start) / step - 1e-9)))
    if n > MAX_HEAT_BINS:
        start, n, step = lo, MAX_HEAT_BINS, (hi - lo) / MAX_HEAT_BINS
    edges = start + step * np.arange(n + 1, dtype=np.float64)
    edges[0], edges[-1] = min(edges[0], lo), max(edges[-1], hi)
    return edges


def rebin(hist: Any, edges: np.ndarray) -> np.ndarray:
    """``hist``'s counts (float64) on other ``edges`` covering its range: each bin's
    count is shared among the new bins it overlaps, in proportion to the overlap
    (values taken as spread evenly within a bin), so the total is kept; on the same
    edges, the counts themselves."""
    counts = np.asarray(hist.counts, dtype=np.float64)
    own = np.asarray(hist.edges, dtype=np.float64)
    if len(own) == len(edges) and np.array_equal(own, edges):
        return counts
    cumulative = np.concatenate([[0.0], np.cumsum(counts)])
    return np.diff(np.interp(edges, own, cumulative))


def heat_matrix(hists: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """The histograms of successive epochs as one image.

    Returns ``(image, edges)``: float ``(bins, epochs)``, each column the counts divided
    by that column's maximum (so every epoch's shape shows, whatever its size), and the
    edges of the grid they share (:func:`common_edges`: the union of their ranges, as
    TensorBoard's distributions). Each histogram is re-binned onto it by overlap
    (:func:`rebin`).
    """
    if not hists:
        return np.zeros((0, 0)), np.zeros(0)
    edges = common_edges(hists)
    image = np.zeros((len(edges) - 1, len(hists)), dtype=np.float64)
    for j, h in enumerate(hists):
        counts = rebin(h, edges)
        top = counts.max() if counts.size else 0.0
        if top > 0:
            image[:, j] = counts / top
    return image, edges


def _edge_text(x: float) -> str:
    """A bin edge as short text: 10 significant digits, then Python's shortest form
    (``-0.9000000000000001`` -> ``-0.9``, ``-1`` -> ``-1.0``)."""
    return repr(float(f"{x:.10g}"))


def bin_label(lo: float, hi: float, last: bool = False) -> str:
    """A bin's range as text, e.g. ``"[-1.0, -0.9)"``; the last bin includes its right
    edge (``np.histogram``'s convention, as :class:`nncore.metrics.Histogram`):
    ``"[0.9, 1.0]"``."""
    return f"[{_edge_text(lo)}, {_edge_text(hi)}{']' if last else ')'}"


def heat_map_csv(hists: list[Any], epochs: Any) -> str:
    """The histograms behind the heat map as CSV text: one row per recorded epoch.

    The header is ``epoch`` then one column per bin of the grid the heat map shows
    (:func:`common_edges`: the histograms' own edges when they share them, else one grid
    over the union of their ranges), named by its range (:func:`bin_label`:
    ``"[-1.0, -0.9)"``, ..., the last one closed). Each row is an epoch number, then
    that epoch's counts: how many finite values fell in each bin (values outside a
    histogram's edges counted in its end bins, NaN and infinities left out), written as
    integers; a histogram re-binned onto the common grid (:func:`rebin`, as
    :func:`heat_matrix` does) shares a bin's count among the grid bins it overlaps, so
    its counts may have decimals (up to 6 significant digits; the row still sums to the
    histogram's count). Unlike the picture, the counts are not normalized and epochs
    without a histogram have no row. Lines end with ``\\n``.

    Args:
        hists: :class:`nncore.metrics.Histogram` s, oldest first (may be empty: then
            only the header ``epoch``).
        epochs: the epoch of each histogram (same length, e.g. from ``hist_epochs``).

    Raises:
        ValueError: when ``epochs`` and ``hists`` differ in length.
    """
    epochs = [int(e) for e in np.asarray(epochs).ravel()]
    if len(epochs) != len(hists):
        raise ValueError(f"{len(hists)} histograms but {len(epochs)} epochs")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if not hists:
        writer.writerow(["epoch"])
        return out.getvalue()
    edges = common_edges(hists)
    n = len(edges) - 1
    writer.writerow(["epoch", *(bin_label(edges[i], edges[i + 1], last=i == n - 1)
                                for i in range(n))])
    for epoch, h in zip(epochs, hists):
        writer.writerow([epoch, *(_count_text(float(c)) for c in rebin(h, edges))])
    return out.getvalue()


def _count_text(c: float) -> str:
    """A count: an integer when it is one (to rounding error), else 6 significant
    digits."""
    r = round(c)
    return str(int(r)) if abs(c - r) < 1e-6 * max(1.0, abs(c)) else f"{c:.6g}"


def hist_epochs(run: Any, count: int) -> np.ndarray:
    """The epochs of a run's last ``count`` histograms: ``run.hist_epochs`` when it has
    them all, else consecutive epochs ending at the run's last one."""
    recorded = list(getattr(run, "hist_epochs", []) or [])
    if len(recorded) >= count > 0:
        return np.asarray(recorded[-count:], dtype=np.int64)
    last = int(run.epochs[-1]["epoch"]) if run.epochs else count
    return np.arange(last - count + 1, last + 1, dtype=np.int64)


class HistogramView(PlotView):
    """One node's histograms from the current run.

    Attributes:
        node_box: the node (activations) or parameter (weights) selector.
        weights_button, activations_button: the mode toggle; ``mode`` is
            ``"activations"`` or ``"weights"``.
        widget: the :class:`pyqtgraph.GraphicsLayoutWidget`; ``hist_plot`` (the latest
            histogram: ``curve``, one ``stepMode="center"`` curve with fill) and
            ``heat_plot`` (``image``: x = epoch, y = value, colour = the square root of
            the count relative to the epoch's largest bin).
        badge: counts of non-finite and clipped values (hidden when both are 0).
        stat_label, stat_help: the node's unit statistic and what it means.
        shown_key: the histogram name shown (``"Dense 2"`` or ``"Dense 2.weight"``).
        heat_map_action: "Export heat map as CSV…" in the context menu (the counts of
            the histograms shown, :func:`heat_map_csv`); pyqtgraph's own CSV export only
            writes curves, not the heat map's image.
    """

    def __init__(self, store: Any, parent: QWidget | None = None) -> None:
        super().__init__(store, parent)
        self.mode = "activations"
        self.selected_node: str | None = None
        self.shown_key: str | None = None
        self._names: list[str] = []

        top = QHBoxLayout()
        top.setContentsMargins(6, 2, 6, 0)
        self.node_box = QComboBox()
        self.node_box.setMinimumContentsLength(14)
        self.node_box.setToolTip("The node whose values are shown (clicking a node on the "
                                 "canvas selects it too)")
        self.activations_button = QRadioButton("Activations")
        self.activations_button.setToolTip("The node's outputs on a fixed batch of "
                                           "validation samples, after each epoch")
        self.weights_button = QRadioButton("Weights")
        self.weights_button.setToolTip("The values of the node's weight and bias tensors "
                                       "after each epoch")
        self.activations_button.setChecked(True)
        self._mode_group = QButtonGroup(self)
        self._mode_group.addButton(self.activations_button)
        self._mode_group.addButton(self.weights_button)
        self.badge = ElidedLabel()  # a long warning is cut, never widens the dock
        self.badge.setVisible(False)
        top.addWidget(QLabel("Node"))
        top.addWidget(self.node_box)
        top.addSpacing(12)
        top.addWidget(self.activations_button)
        top.addWidget(self.weights_button)
        top.addStretch(1)
        self.badge.setContentsMargins(8, 0, 8, 0)

        self.widget = pg.GraphicsLayoutWidget()
        self.hist_plot = self.widget.addPlot(row=0, col=0)
        self.heat_plot = self.widget.addPlot(row=0, col=1)
        configure_plot(self.hist_plot, "Latest histogram", "value", "count")
        configure_plot(self.heat_plot, "Over epochs", "epoch", "value", grid=False)
        self.widget.ci.layout.setColumnStretchFactor(0, 1)
        self.widget.ci.layout.setColumnStretchFactor(1, 1)
        self.curve = pg.PlotDataItem(stepMode="center", fillLevel=0, name="count")
        self.hist_plot.addItem(self.curve)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.heat_plot.addItem(self.image)
        self.latest_line = pg.InfiniteLine(angle=90, movable=False)
        self.heat_plot.addItem(self.latest_line, ignoreBounds=True)
        self.latest_line.setVisible(False)
        self.empty = pg.TextItem("", anchor=(0.5, 0.5))
        self.empty.setParentItem(self.hist_plot.vb)
        self.hist_plot.vb.sigResized.connect(self._place_message)

        self.stat_label = yielding_label(QLabel())  # wraps: never widens the dock
        self.stat_help = yielding_label(QLabel())
        for w in (self.stat_label, self.stat_help):
            w.setContentsMargins(8, 0, 8, 0)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 4)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addWidget(self.badge)  # its own line, the dock's width (shown when needed)
        layout.addWidget(self.widget, 1)
        layout.addWidget(self.stat_label)
        layout.addWidget(self.stat_help)
        self._register(self.widget, [self.hist_plot, self.heat_plot])
        self.heat_map_action = QAction("Export heat map as CSV…", self)
        self.heat_map_action.triggered.connect(self.export_heat_map_csv)
        self.widget.scene().contextMenu.append(self.heat_map_action)

        self.node_box.currentTextChanged.connect(self._picked)
        self.weights_button.toggled.connect(self._mode_toggled)
        self.apply_theme(self.theme)

    # -- export
    def shown_histograms(self) -> tuple[str | None, list[Any], np.ndarray]:
        """``(name, histograms, epochs)`` of the node shown for the current run (an
        empty list when there is none)."""
        run = self.store.current_run()
        key = self.shown_key
        hists = list(self._source(run).get(key, [])) if run is not None and key else []
        epochs = hist_epochs(run, len(hists)) if hists else np.zeros(0, dtype=np.int64)
        return key, hists, epochs

    def export_heat_map_csv(self) -> None:
        """Ask for a file and save the shown node's histograms, one row per recorded
        epoch (:func:`heat_map_csv`); without any, say so. A file that cannot be
        written is reported with a warning."""
        key, hists, epochs = self.shown_histograms()
        if not hists:
            QMessageBox.information(self, "Export heat map",
                                    "No histograms are shown yet: they are recorded after "
                                    "each epoch of a run.")
            return
        what = "activations" if self.mode == "activations" else "values"
        save_csv_dialog(self, "Export heat map as CSV",
                        f"{safe_file_name(f'{key} {what}', 'histograms')}.csv",
                        heat_map_csv(hists, epochs))

    # -- selection
    def select_node(self, name: str) -> None:
        """Show the node ``name`` (display name; or a parameter label such as
        ``"Dense 2.weight"``, which also picks that tensor in the Weights mode)."""
        self.selected_node = name
        self._redraw()

    def set_mode(self, mode: str) -> None:
        """``"activations"`` or ``"weights"``."""
        if mode not in ("activations", "weights"):
            raise ValueError(f"mode must be 'activations' or 'weights', got {mode!r}")
        (self.weights_button if mode == "weights" else self.activations_button).setChecked(True)

    def _mode_toggled(self) -> None:
        self.mode = "weights" if self.weights_button.isChecked() else "activations"
        self._redraw()

    def _picked(self, text: str) -> None:
        if text and text != self.shown_key:
            self.selected_node = text
            self._redraw()

    def _redraw(self) -> None:
        run = self.store.current_run()
        self._signature = self.signature(run)
        self.draw_current(run)
        self.redraw_count += 1

    def signature(self, run: Any) -> Any:
        if run is None:
            return None
        source = self._source(run)
        return (run.run_id, self.mode, self.selected_node, tuple(source),
                tuple(len(v) for v in source.values()),
                tuple(len(v) for v in run.unit_stats.values()))

    def _source(self, run: Any) -> dict[str, list[Any]]:
        if run is None:
            return {}
        return run.weight_hist if self.mode == "weights" else run.activation_hist

    def _resolve(self, names: list[str]) -> str | None:
        """The histogram to show for the selected node among ``names``."""
        if not names:
            return None
        sel = self.selected_node
        if sel in names:
            return sel
        if sel is not None:
            node = sel.rpartition(".")[0] if self.mode == "activations" and "." in sel \
                and sel.rpartition(".")[0] in names else sel
            if node in names:
                return node
            for suffix in (".weight", ".bias"):
                if node + suffix in names:
                    return node + suffix
            for n in names:
                if n.startswith(node + "."):
                    return n
        # Nothing chosen (or not in this run): the first node with unit statistics (a
        # hidden activation), else the first one after the Input.
        run = self.store.current_run()
        stats = run.unit_stats if run is not None else {}
        for n in names:
            if n in stats or n.rpartition(".")[0] in stats:
                return n
        return names[1] if len(names) > 1 and self.mode == "activations" else names[0]

    def _place_message(self) -> None:
        self.empty.setPos(self.hist_plot.vb.boundingRect().center())

    # -- drawing
    def draw_current(self, run: Any) -> None:
        source = self._source(run)
        names = list(source)
        key = self._resolve(names)
        if names != self._names:
            self.node_box.blockSignals(True)
            self.node_box.clear()
            self.node_box.addItems(names)
            self.node_box.blockSignals(False)
            self._names = names
        if key is not None and self.node_box.currentText() != key:
            self.node_box.blockSignals(True)
            self.node_box.setCurrentText(key)
            self.node_box.blockSignals(False)
        self.shown_key = key
        hists = source.get(key, []) if key is not None else []
        if not hists:
            self.curve.setData([], [])
            self.image.clear()
            self.latest_line.setVisible(False)
            self.badge.setVisible(False)
            what = "activation" if self.mode == "activations" else "weight"
            self.empty.setText("No run yet." if run is None else
                               f"No {what} histograms recorded for this run yet.",
                               color=self.colors.muted)
            self._place_message()
            self._show_stats(run, None)
            return
        self.empty.setText("")
        latest = hists[-1]
        self.curve.setData(np.asarray(latest.edges, dtype=np.float64),
                           np.asarray(latest.counts, dtype=np.float64))
        epochs = hist_epochs(run, len(hists))
        first_epoch, last_epoch = epochs[0], epochs[-1]
        what = "activations" if self.mode == "activations" else "values"
        set_plot_labels(self.hist_plot, self.colors,
                        title=f"{key} {what}, epoch {last_epoch} ({latest.total} values)")
        image, edges = heat_matrix(hists)
        # one column per epoch: an epoch without a histogram shows the one before it
        columns = np.searchsorted(epochs, np.arange(first_epoch, last_epoch + 1), "right") - 1
        if len(columns) != image.shape[1]:
            image = image[:, columns]
        # Square root: the thin tails of a distribution stay visible beside its peak.
        self.image.setImage(np.sqrt(image), levels=(0.0, 1.0), autoLevels=False)
        self.image.setRect(QRectF(first_epoch - 0.5, edges[0], image.shape[1],
                                  edges[-1] - edges[0]))
        self.latest_line.setPos(last_epoch)
        self.latest_line.setVisible(len(hists) > 1)
        more = "brighter" if self.theme.name == "dark" else "darker"
        set_plot_labels(self.heat_plot, self.colors, title=f"{key} over epochs",
                        x_label=f"epoch ({more} = more values)")
        problems = []
        if latest.nonfinite:
            problems.append(f"{latest.nonfinite} non-finite (NaN/inf)")
        if latest.clipped:
            problems.append(f"{latest.clipped} outside the range, counted in the end bins")
        self.badge.setText("⚠ " + "; ".join(problems))
        self.badge.setVisible(bool(problems))
        self._show_stats(run, key)

    def _show_stats(self, run: Any, key: str | None) -> None:
        stats = None
        if run is not None and key is not None:
            node = key if key in run.unit_stats else key.rpartition(".")[0]
            values = run.unit_stats.get(node)
            stats = values[-1] if values else None
            if stats:
                head, note = unit_stat_text(stats)
                self.stat_label.setText(f"<b>{node}: {head}</b>")
                self.stat_help.setText(note)
                return
        self.stat_label.setText("")
        self.stat_help.setText("")

    def theme_changed(self) -> None:
        c = self.colors
        self.curve.setPen(pg.mkPen(c.accent, width=1.5))
        self.curve.setBrush(pg.mkBrush(with_alpha(c.accent, 0.35)))
        self.latest_line.setPen(pg.mkPen(c.muted, width=1, style=Qt.DotLine))
        dark = self.theme.name == "dark"
        stops = [c.background, "#1d4e89" if dark else "#9ec5f4",
                 "#5b9dff" if dark else "#2f6fdb", "#ffe08a" if dark else "#0b2a5b"]
        self.image.setColorMap(pg.ColorMap([0.0, 0.02, 0.45, 1.0], stops))
        self.badge.setStyleSheet(f"color: {c.warning}; font-weight: bold;")
        self.stat_help.setStyleSheet(f"color: {c.muted};")
        self.empty.setColor(c.muted)
        self.refresh()
