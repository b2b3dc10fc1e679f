"""The current run's validation confusion matrix: counts, per-row recall as colour, and
per-class accuracy beside each row. With more than
:data:`~nncore.confusion.MAX_SHOWN_CLASSES` classes, the most confused ones are
drawn and the rest summed as one "other" row and column
(:func:`~nncore.confusion.summarize_confusion`), with a note saying so."""

from __future__ import annotations

import csv
import io
from typing import Any, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QAction, QFont
from PySide6.QtWidgets import QMessageBox, QVBoxLayout, QWidget

from nncore.confusion import MAX_SHOWN_CLASSES, summarize_confusion
from app.plots.base import (PlotView, configure_plot, safe_file_name, save_csv_dialog,
                            set_plot_labels)

__all__ = ["ConfusionView", "row_recall", "confusion_csv", "class_names"]

#: Above this many classes the cells show no numbers (they would not fit).
MAX_LABELLED_CLASSES = 20
#: At most this many class names side by side below the matrix (every n-th beyond).
MAX_BOTTOM_LABELS = 10


def row_recall(cm: np.ndarray) -> np.ndarray:
    """Each row divided by its sum (0 for an empty row): the colour of the cells; the
    diagonal is the recall (per-class accuracy)."""
    cm = np.asarray(cm, dtype=np.float64)
    sums = cm.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(sums > 0, cm / np.where(sums > 0, sums, 1), 0.0)
    return frac


def class_names(classes: Sequence[str] | None, k: int) -> list[str]:
    """``k`` class names: ``classes`` cut or completed with ``"2"``, ``"3"``, ... (the
    class index) where names are missing."""
    names = [str(c) for c in (classes or [])][:k]
    return names + [str(i) for i in range(len(names), k)]


def confusion_csv(matrix: Any, classes: Sequence[str] | None = None) -> str:
    """A confusion matrix as CSV text.

    Rows = true class, columns = predicted class (the view's and scikit-learn's
    convention). The header row is ``true \\ predicted`` followed by the class names;
    each following row starts with its true class's name, then the counts as integers.
    Names that contain a comma or quote are quoted (RFC 4180); lines end with ``\\n``.

    Args:
        matrix: counts, shape ``(K, K)`` (integers, or floats holding whole numbers:
            they are rounded).
        classes: the class names; missing ones are the class index (:func:`class_names`).

    Raises:
        ValueError: for a matrix that is not square and 2-D.
    """
    cm = np.asarray(matrix)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"a confusion matrix is square (K, K), got shape {cm.shape}")
    names = class_names(classes, cm.shape[0])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["true \\ predicted", *names])
    for name, row in zip(names, cm):
        writer.writerow([name, *(int(round(float(v))) for v in row)])
    return out.getvalue()


class ConfusionView(PlotView):
    """Rows = true class, columns = predicted class (scikit-learn's convention), row 0 at
    the top. Each cell shows its count and its share of the row; colour = that share.
    The right axis shows each class's accuracy (recall, from ``Run.per_class`` when
    given, else from the matrix).

    Attributes:
        widget: the :class:`pyqtgraph.PlotWidget`; ``plot``: its plot item.
        matrix: the counts shown (K, K) or None (at most ``MAX_SHOWN_CLASSES + 1``
            rows, the last "other" when classes are summed); ``shares``: each count's
            share of its row (the cell colours).
        summary: the :class:`~nncore.confusion.ConfusionSummary` drawn, or None.
        image: the :class:`pyqtgraph.ImageItem` of the shares (row-major; each cell a
            block of pixels) over the rectangle (0, 0)-(K, K).
        texts: the cell texts (row-major, K*K :class:`pyqtgraph.TextItem` s).
        message: a text in the plot when there is no matrix.

    Signals:
        cell_clicked(int, int): a click on a cell: its (true, predicted) class indices
            into the model's classes, ``-1`` for the "other" row or column
            (:meth:`other_classes`).
        class_names: the names of the classes shown (K).
        matrix_action: "Export matrix as CSV…" in the plot's context menu (the counts
            shown, :func:`confusion_csv`); pyqtgraph's own CSV export only writes curves.
    """

    cell_clicked = Signal(int, int)

    def __init__(self, store: Any, parent: QWidget | None = None) -> None:
        super().__init__(store, parent)
        self.widget = pg.PlotWidget()
        self.plot = self.widget.getPlotItem()
        self.widget.scene().sigMouseClicked.connect(self._clicked)
        configure_plot(self.plot, "Confusion matrix", "predicted class", "true class",
                       grid=False)
        self.plot.showAxis("right")
        self.plot.setLabel("right", "per-class accuracy")
        self.plot.getAxis("right").setStyle(showValues=True)
        for side in ("left", "right"):  # a name per row, up to MAX_SHOWN_CLASSES + 1 rows
            self.plot.getAxis(side).setStyle(textFillLimits=[(0, 1.0)])
        self.plot.vb.invertY(True)
        self.plot.vb.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.plot.setMenuEnabled(True)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.texts: list[pg.TextItem] = []
        self.matrix: np.ndarray | None = None
        self.summary: Any = None
        self.shares: np.ndarray | None = None
        self.class_names: list[str] = []
        self.message = pg.TextItem("", anchor=(0.5, 0.5))
        self.message.setParentItem(self.plot.vb)
        self.plot.vb.sigResized.connect(self._place_message)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.widget)
        self._register(self.widget, [self.plot])
        self.matrix_action = QAction("Export matrix as CSV…", self)
        self.matrix_action.triggered.connect(self.export_matrix_csv)
        self.widget.scene().contextMenu.append(self.matrix_action)
        self._axis_meta()
        self.apply_theme(self.theme)

    def export_matrix_csv(self) -> None:
        """Ask for a file and save the matrix shown (:func:`confusion_csv`); without one,
        say so. A file that cannot be written is reported with a warning."""
        if self.matrix is None:
            QMessageBox.information(self, "Export matrix",
                                    "No confusion matrix is shown yet: it needs a "
                                    "classification run with a validation split.")
            return
        run = self.store.current_run()
        name = safe_file_name(run.name if run is not None else "", "run")
        save_csv_dialog(self, "Export confusion matrix as CSV", f"{name} confusion.csv",
                        confusion_csv(self.matrix, self.class_names))

    def cell_at(self, x: float, y: float) -> tuple[int, int] | None:
        """The (true, predicted) classes of the cell at view point (x, y) (column x,
        row y), ``-1`` for "other"; None outside the matrix or without one."""
        if self.matrix is None or self.summary is None:
            return None
        k = self.matrix.shape[0]
        i, j = int(np.floor(y)), int(np.floor(x))
        if not (0 <= i < k and 0 <= j < k):
            return None
        shown = [int(c) for c in self.summary.shown]
        return (shown[i] if i < len(shown) else -1, shown[j] if j < len(shown) else -1)

    def other_classes(self) -> list[int]:
        """The classes summed in the "other" row and column ([] when none)."""
        if self.summary is None or not self.summary.other:
            return []
        shown = set(int(c) for c in self.summary.shown)
        return [c for c in range(self.summary.n_classes) if c not in shown]

    def _clicked(self, event: Any) -> None:
        if event.button() != Qt.MouseButton.LeftButton or event.double():
            return
        vb = self.plot.vb
        if not vb.sceneBoundingRect().contains(event.scenePos()):
            return
        point = vb.mapSceneToView(event.scenePos())
        cell = self.cell_at(point.x(), point.y())
        if cell is not None:
            self.cell_clicked.emit(*cell)

    def _axis_meta(self) -> None:
        meta = self.plot._nncanvas_labels
        meta["right"] = "per-class accuracy (recall)"

    def _place_message(self) -> None:
        self.message.setPos(self.plot.vb.boundingRect().center())

    def _set_texts(self, k: int) -> None:
        if len(self.texts) == k * k:
            return
        for t in self.texts:
            self.plot.removeItem(t)
        self.texts = []
        if k > MAX_LABELLED_CLASSES:
            return
        font = QFont()
        font.setPointSizeF(12 if k <= 5 else 9.5 if k <= 10 else 7.5)
        for i in range(k):
            for j in range(k):
                t = pg.TextItem("", anchor=(0.5, 0.5))
                t.setFont(font)
                t.setTextWidth(90)  # a fixed width, so the lines centre on each other
                t.setPos(j + 0.5, i + 0.5)
                self.plot.addItem(t, ignoreBounds=True)
                self.texts.append(t)

    def _summary(self, run: Any) -> Any:
        """The run's confusion as a :class:`~nncore.confusion.ConfusionSummary`
        (the worker sends one; a plain matrix is cut here)."""
        cm = run.confusion
        if hasattr(cm, "shown"):
            return cm
        cm = np.asarray(cm)
        per_class = run.per_class
        if per_class is not None and len(per_class) != cm.shape[0]:
            per_class = None
        return summarize_confusion(cm, per_class, MAX_SHOWN_CLASSES)

    def signature(self, run: Any) -> Any:
        if run is None:
            return None
        return (run.run_id, run.task, run.confusion, run.per_class,
                len(run.epochs), tuple(run.classes or ()))

    def _axes(self, shown: bool) -> None:
        for side in ("left", "bottom", "right"):
            (self.plot.showAxis if shown else self.plot.hideAxis)(side)

    def draw_current(self, run: Any) -> None:
        cm = None if run is None else run.confusion
        if cm is not None and not hasattr(cm, "shown"):
            cm = np.asarray(cm)
            cm = None if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or not cm.size else cm
        if cm is None:
            self.matrix = self.shares = self.summary = None
            self.class_names = []
            self.image.clear()
            self._set_texts(0)
            for side in ("left", "bottom", "right"):
                self.plot.getAxis(side).setTicks(None)
            if run is None:
                msg = "No run yet."
            elif run.task != "classification":
                msg = "The confusion matrix is for classification only."
            else:
                msg = ("No confusion matrix yet: it needs a validation split and appears "
                       "after the first epoch.")
            self.message.setText(msg, color=self.colors.muted)
            self._place_message()
            set_plot_labels(self.plot, self.colors, title="Confusion matrix")
            self._axes(False)  # no empty axes around the message
            return
        self._axes(True)
        self.message.setText("")
        self.summary = summary = self._summary(run)
        cm = summary.matrix
        k = cm.shape[0]
        self.matrix = cm
        frac = row_recall(cm)
        self.shares = frac
        # Each cell as a block of pixels: SVG viewers that smooth images (Qt's own, PDF
        # converters) then blur only the cell borders, not the whole matrix.
        rep = max(1, 64 // k)
        self.image.setImage(np.repeat(np.repeat(frac, rep, axis=0), rep, axis=1),
                            levels=(0.0, 1.0), autoLevels=False)
        self.image.setRect(QRectF(0, 0, k, k))
        names = summary.names(run.classes)
        self.class_names = names
        recall = summary.recall
        sums = cm.sum(axis=1)
        if summary.other:  # the other classes' accuracy together: their correct share
            m = len(summary.shown)
            rest = summary.correct - int(np.trace(cm[:m, :m]))
            recall = np.append(recall, rest / sums[m] if sums[m] else np.nan)
        ticks = [[(i + 0.5, n) for i, n in enumerate(names)]]
        # below, names side by side: every step-th (and "other") when they would overlap
        step = -(-k // MAX_BOTTOM_LABELS)
        self.plot.getAxis("bottom").setTicks(
            [[(i + 0.5, n if i % step == 0 or i == k - 1 else "") for i, n in enumerate(names)]])
        self.plot.getAxis("left").setTicks(ticks)
        self.plot.getAxis("right").setTicks(
            [[(i + 0.5, "n/a" if not np.isfinite(r) or sums[i] == 0 else f"{100 * r:.0f}%")
              for i, r in enumerate(recall)]])
        self._set_texts(k)
        if self.texts:
            for i in range(k):
                for j in range(k):
                    share = frac[i, j]
                    count = int(cm[i, j])
                    # Cells darker than the middle of the colour map get white text.
                    color = "#ffffff" if share > 0.45 else (
                        self.colors.muted if count == 0 else self.colors.foreground)
                    html = f"<b>{count}</b>"
                    if count and k <= 10:
                        html += f"<br><span style='font-size:80%'>{100 * share:.0f}%</span>"
                    self.texts[i * k + j].setHtml(
                        f"<div style='text-align:center; color:{color}'>{html}</div>")
        self.plot.vb.setRange(xRange=(0, k), yRange=(0, k), padding=0)
        total, correct = summary.total, summary.correct
        epoch = int(run.epochs[-1]["epoch"]) if run.epochs else 0
        acc = f"{100 * correct / total:.1f}% correct" if total else "no samples"
        title = f"Validation, epoch {epoch}: {acc} ({int(correct)} of {int(total)})"
        if summary.other:
            title += (f"<br><span style='font-size:80%'>{len(summary.shown)} most "
                      f"confused of {summary.n_classes:,} classes; last row and column: "
                      f"the other {summary.other:,}</span>")
        set_plot_labels(self.plot, self.colors, title=title)

    def theme_changed(self) -> None:
        c = self.colors
        dark = self.theme.name == "dark"
        # From the background (0% of the row) to a deep blue (100%): white text stays
        # readable on the upper half of the map in both themes.
        stops = ([c.background, "#24324a", "#2f5fb8", "#3a78e8"] if dark else
                 [c.background, "#cfe0f8", "#2f6fdb", "#0b2a5b"])
        self.image.setColorMap(pg.ColorMap([0.0, 0.12, 0.55, 1.0], stops))
        self.message.setColor(c.muted)
        self.refresh()
