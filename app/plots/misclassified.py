"""The Misclassified tab: the validation samples the trained model gets wrong (issue 12).

Sorted by the confidence of the wrong prediction (the most confident mistakes first),
each a tile — its picture for image-shaped data, else a row of its values — with
``true → predicted`` and the confidence; at most :data:`LIMIT` are shown, with the count
of all. A click on a tile opens the sample in the Predict tab; "Step through this
sample" opens the selected one in the Step-through panel. A click on a cell of the
confusion matrix shows that cell's samples instead (a diagonal cell: the correctly
classified ones), with a caption naming it and "All misclassified" to come back.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (QGridLayout, QHBoxLayout, QLabel, QPushButton, QScrollArea,
                               QStackedWidget, QTableWidget, QTableWidgetItem, QToolButton,
                               QVBoxLayout, QWidget)

from app.plots.base import as_theme, plot_colors
from app.plots.trained import ModelView, Trained, confidence_order
from app.theme import Theme
from app.widgets.digit_pad import sample_pixmap

__all__ = ["MisclassifiedView", "LIMIT", "TILE_PX", "COLUMNS"]

#: At most this many samples are shown.
LIMIT = 64
#: The pictures' size (pixels) and how many tiles a row holds.
TILE_PX, COLUMNS = 56, 8
#: A row shows at most this many feature values.
ROW_FEATURES = 8


class MisclassifiedView(ModelView):
    """The Misclassified tab (see the module docstring).

    Signals:
        open_requested(int): a sample (validation row) to show in the Predict tab.
        step_requested(int): a sample to step through.

    Attributes:
        model: the :class:`~app.plots.trained.Trained` shown, or None.
        indices: every validation row of the current selection (misclassified, or the
            confusion cell's), most confident first (int64).
        shown: the first :data:`LIMIT` of them (the tiles or rows).
        cell: the confusion cell ``(true, predicted)`` shown, or None (all mistakes);
            ``-1`` stands for the matrix's "other" classes.
        selected: the validation row last clicked, or None.
        tiles: the tiles (:class:`QToolButton`, one per shown sample) of pictures;
            rows: the table of the others.
        caption, back_button, step_button: the selection in words, "All misclassified",
            "Step through this sample".
    """

    open_requested = Signal(int)
    step_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme: Theme = as_theme(None)
        self.colors = plot_colors(self.theme)
        self.model: Trained | None = None
        self.indices = np.zeros(0, dtype=np.int64)
        self.shown = np.zeros(0, dtype=np.int64)
        self.cell: tuple[int, int] | None = None
        self._other: list[int] = []  # the classes summed in the matrix's "other"
        self.selected: int | None = None
        self.tiles: list[QToolButton] = []
        self._drawn_for: Any = None

        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.back_button = QPushButton("All misclassified")
        self.back_button.setToolTip("Back to every validation sample the model gets wrong")
        self.back_button.clicked.connect(self.show_all)
        self.step_button = QPushButton("Step through this sample")
        self.step_button.setToolTip("The sample last clicked, alone through the network, "
                                    "node by node, in the Step-through panel")
        self.step_button.clicked.connect(self._step)
        header = QHBoxLayout()
        header.setContentsMargins(8, 4, 8, 2)
        header.addWidget(self.caption, 1)
        header.addWidget(self.back_button)
        header.addWidget(self.step_button)
        self.placeholder = QLabel()
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.grid_widget = QWidget()
        self.grid = QGridLayout(self.grid_widget)
        self.grid.setContentsMargins(4, 4, 4, 4)
        self.grid.setSpacing(4)
        self.grid.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(self.grid_widget)
        self.rows = QTableWidget(0, 3)
        self.rows.verticalHeader().hide()
        self.rows.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.rows.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.rows.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.rows.cellClicked.connect(lambda r, _c: self._clicked(r))
        self.stack = QStackedWidget()
        for w in (self.placeholder, self.scroll, self.rows):
            self.stack.addWidget(w)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(header)
        layout.addWidget(self.stack, 1)
        self.apply_theme(self.theme)
        self._placeholder("Train first: the validation samples the model gets wrong "
                          "appear here.")

    # ------------------------------------------------------------------ the model
    def draw_now(self) -> None:
        """Ask the source for the model and draw the selection (in sight or not)."""
        self._dirty = False
        got = self.source.get()
        if isinstance(got, str):
            self.model = None
            self.indices = self.shown = np.zeros(0, dtype=np.int64)
            self._placeholder(got)
            return
        if got is not self.model:
            self.model = got
            self.selected = None
        if got.task != "classification":
            self.indices = self.shown = np.zeros(0, dtype=np.int64)
            self._placeholder("Misclassified samples are for classification: this model "
                              "is a regression (the Predict tab shows its predicted "
                              "values).")
            return
        if not got.n_val:
            self.indices = self.shown = np.zeros(0, dtype=np.int64)
            self._placeholder("No validation part (dataset.val_fraction is 0): nothing "
                              "to check the model on.")
            return
        self._draw(got)

    # ------------------------------------------------------------------ selections
    def show_all(self) -> None:
        """Every misclassified validation sample."""
        self.cell = None
        self._other = []
        self.draw_now()

    def show_cell(self, true: int, predicted: int, other: Any = ()) -> None:
        """The samples of the confusion matrix's cell (true class, predicted class);
        ``-1`` is the matrix's "other" row or column: the classes in ``other``."""
        self.cell = (int(true), int(predicted))
        self._other = [int(k) for k in other]
        self.draw_now()

    def _select(self, model: Trained) -> np.ndarray:
        if self.cell is None:
            return model.misclassified()
        true, pred = self.cell
        y, p = np.asarray(model.val_y), model.val_predicted()
        mask = np.ones(len(y), dtype=bool)
        for values, k in ((y, true), (p, pred)):
            mask &= np.isin(values, self._other) if k < 0 else values == k
        return confidence_order(np.flatnonzero(mask), model.val_confidence())

    def _cell_name(self, model: Trained) -> str:
        def name(k: int) -> str:
            return f"other ({len(self._other)} classes)" if k < 0 else model.label(k)

        true, pred = self.cell  # type: ignore[misc]
        if true == pred and true >= 0:
            return f"Cell true {name(true)}, predicted {name(pred)} (correct)"
        return f"Cell true {name(true)} → predicted {name(pred)}"

    # ------------------------------------------------------------------ drawing
    def _placeholder(self, text: str) -> None:
        self.caption.setText("")
        self.back_button.setVisible(False)
        self.step_button.setVisible(False)
        self.placeholder.setText(text)
        self.stack.setCurrentWidget(self.placeholder)

    def _draw(self, model: Trained) -> None:
        self.indices = self._select(model)
        self.shown = self.indices[:LIMIT]
        n, total = len(self.indices), model.n_val
        what = self._cell_name(model) if self.cell is not None else "Misclassified"
        shown = f"; the first {len(self.shown)} shown" if n > len(self.shown) else ""
        self.caption.setText(f"{what}: {n:,} of {total:,} validation samples, the most "
                             f"confident first{shown}; each: true → predicted, "
                             "confidence. Click one to open it in Predict.")
        self.back_button.setVisible(self.cell is not None)
        self.step_button.setVisible(True)
        self.step_button.setEnabled(self.selected is not None)
        if not n:
            self.stack.setCurrentWidget(self.placeholder)
            self.placeholder.setText("None: the model gets every validation sample right."
                                     if self.cell is None else "No sample in this cell.")
            self._set_tiles(model, [])
            return
        if model.shape is not None:
            self._set_tiles(model, self.shown)
            self.stack.setCurrentWidget(self.scroll)
        else:
            self._set_rows(model, self.shown)
            self.stack.setCurrentWidget(self.rows)

    def _tile_text(self, model: Trained, index: int) -> str:
        p = model.val_output()[index]
        pred = int(np.argmax(p))
        return f"{model.label(model.val_y[index])} → {model.label(pred)}\n{100 * p[pred]:.0f}%"

    def _set_tiles(self, model: Trained, shown: Any) -> None:
        for t in self.tiles:
            self.grid.removeWidget(t)
            t.deleteLater()
        self.tiles = []
        if not len(shown):
            return
        lo, hi = float(np.min(model.val_raw)), float(np.max(model.val_raw))
        dark = self.theme.name == "dark"
        ink, paper = ("#e8ecf3", "#2b303b") if dark else ("#1f2430", "#eef1f6")
        for i, index in enumerate(np.asarray(shown).tolist()):
            tile = QToolButton()
            tile.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
            tile.setIcon(sample_pixmap(model.val_raw[index], model.shape, TILE_PX, lo, hi,
                                       ink, paper))
            tile.setIconSize(QSize(TILE_PX, TILE_PX))
            tile.setText(self._tile_text(model, index))
            tile.setToolTip(f"Validation sample {index}: true "
                            f"{model.label(model.val_y[index])}; click to open it in Predict")
            tile.setAutoRaise(True)
            tile.setCheckable(True)
            tile.setChecked(index == self.selected)
            tile.setProperty("sample", index)
            tile.clicked.connect(lambda _=False, k=index: self._open(k))
            self.grid.addWidget(tile, i // COLUMNS, i % COLUMNS)
            self.tiles.append(tile)

    def _set_rows(self, model: Trained, shown: Any) -> None:
        names = model.feature_names[:ROW_FEATURES]
        more = model.n_features > ROW_FEATURES
        self.rows.clear()
        self.rows.setColumnCount(3 + len(names) + (1 if more else 0))
        self.rows.setHorizontalHeaderLabels(["sample", "true → predicted", "confidence",
                                             *names, *(["…"] if more else [])])
        self.rows.setRowCount(len(shown))
        for r, index in enumerate(np.asarray(shown).tolist()):
            p = model.val_output()[index]
            pred = int(np.argmax(p))
            cells = [str(index), f"{model.label(model.val_y[index])} → {model.label(pred)}",
                     f"{100 * p[pred]:.1f}%",
                     *(f"{v:.4g}" for v in model.val_raw[index][:ROW_FEATURES])]
            if more:
                cells.append(f"+{model.n_features - ROW_FEATURES}")
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c != 1:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                self.rows.setItem(r, c, item)
        self.rows.resizeColumnsToContents()

    # ------------------------------------------------------------------ clicks
    def _clicked(self, row: int) -> None:
        if 0 <= row < len(self.shown):
            self._open(int(self.shown[row]))

    def _open(self, index: int) -> None:
        self.selected = int(index)
        for t in self.tiles:
            t.setChecked(t.property("sample") == index)
        self.step_button.setEnabled(True)
        self.open_requested.emit(int(index))

    def _step(self) -> None:
        if self.selected is not None:
            self.step_requested.emit(self.selected)

    def tile_texts(self) -> list[str]:
        """The tiles' texts (pictures) or the rows' "true → predicted", in order."""
        if self.tiles:
            return [t.text() for t in self.tiles]
        return [self.rows.item(r, 1).text() for r in range(self.rows.rowCount())]

    # ------------------------------------------------------------------ theme
    def apply_theme(self, theme: Theme | str) -> None:
        self.theme = as_theme(theme)
        c = self.colors = plot_colors(self.theme)
        self.caption.setStyleSheet(f"color: {c.muted};")
        self.placeholder.setStyleSheet(f"color: {c.muted}; padding: 12px;")
        if self.model is not None:
            self.model_changed()
