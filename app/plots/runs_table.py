"""The runs of the session, one row each: show/hide, colour, name, status, results,
delete. Selecting a row makes that run the current one (the views follow it)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QKeyEvent, QPainter, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QMenu, QTableWidget,
                               QTableWidgetItem, QToolButton, QWidget)

from app.plots.base import EPOCH_REDRAW_S
from app.state import RunState

__all__ = ["RunsTable", "COLUMNS", "format_duration"]

COLUMNS = ("Show", "Run", "Status", "Epochs", "Best val loss", "Best val accuracy", "Time", "")
SHOW, NAME, STATUS, EPOCHS, BEST_LOSS, BEST_METRIC, TIME, DELETE = range(len(COLUMNS))
RUN_ID = Qt.UserRole + 1


def format_duration(seconds: float) -> str:
    """``"0.8 s"``, ``"42 s"``, ``"3:07"``, ``"1:02:03"``."""
    if not np.isfinite(seconds) or seconds < 0:
        return ""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _state(run: Any) -> RunState:
    """A run's :attr:`~app.training.runs.Run.status` as a :class:`RunState`."""
    return RunState(run.status)


def _swatch(color: str) -> QIcon:
    pix = QPixmap(14, 14)
    pix.fill(Qt.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.Antialiasing)
    p.setPen(QColor(color).darker(130))
    p.setBrush(QColor(color))
    p.drawRoundedRect(1, 1, 12, 12, 3, 3)
    p.end()
    return QIcon(pix)


class RunsTable(QTableWidget):
    """One row per run of a :class:`~app.training.runs.RunStore`.

    The Show checkbox calls ``RunStore.set_visible``; the row's ✕ button (or the Delete
    key, or the context menu) calls ``RunStore.remove``, refused for a run that is
    running or paused (its button is disabled); selecting a row calls
    ``RunStore.set_current``.

    Signals:
        run_deleted(int): after the table removed a run from the store.
    """

    run_deleted = Signal(int)

    def __init__(self, store: Any, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.store = store
        self.redraw_count = 0
        self._rows: list[int] = []  # run ids in row order
        self._shown: dict[int, tuple] = {}  # run id -> what its row shows (skip if same)
        self._filled_at = 0.0  # time.monotonic() of the last row update
        self.immediate = False  # set by the panel's redraw_now: defer nothing
        self.deferred: set[int] = set()  # runs whose new epochs wait for a later tick
        self._updating = False
        self.setHorizontalHeaderLabels(list(COLUMNS))
        self.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.setSelectionMode(QAbstractItemView.SingleSelection)
        self.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.verticalHeader().setVisible(False)
        self.setAlternatingRowColors(True)
        self.setShowGrid(False)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        header.setSectionResizeMode(NAME, QHeaderView.Stretch)
        header.setHighlightSections(False)
        self.horizontalHeaderItem(SHOW).setToolTip("Show the run in the loss plots")
        self.horizontalHeaderItem(BEST_LOSS).setToolTip(
            "Lowest validation loss, and the epoch it was reached")
        self.horizontalHeaderItem(BEST_METRIC).setToolTip(
            "Highest validation accuracy (classification) or R² (regression), and its epoch")
        self.setContextMenuPolicy(Qt.CustomContextMenu)
        self.customContextMenuRequested.connect(self._context_menu)
        self.itemChanged.connect(self._item_changed)
        self.itemSelectionChanged.connect(self._selection_changed)
        self.refresh()

    # -- lookup
    def row_of(self, run_id: int) -> int:
        """The row of a run, or -1."""
        return self._rows.index(run_id) if run_id in self._rows else -1

    def run_id_at(self, row: int) -> int | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def delete_button(self, run_id: int) -> QToolButton | None:
        row = self.row_of(run_id)
        return self.cellWidget(row, DELETE) if row >= 0 else None

    def can_delete(self, run_id: int) -> bool:
        run = self.store.get(run_id)
        return run is not None and not _state(run).busy

    # -- actions
    def delete_run(self, run_id: int) -> bool:
        """Remove a run from the store unless it is training. Returns True if removed."""
        if not self.can_delete(run_id):
            return False
        self.store.remove(run_id)
        self.run_deleted.emit(run_id)
        return True

    def _delete_selected(self) -> None:
        run_id = self.run_id_at(self.currentRow())
        if run_id is not None:
            self.delete_run(run_id)

    def event(self, e: QEvent) -> bool:
        # Delete/Backspace belong to the table while it has focus, not to a window-wide
        # shortcut (the canvas's Delete).
        if e.type() == QEvent.ShortcutOverride and e.key() in (Qt.Key_Delete,
                                                                Qt.Key_Backspace):
            e.accept()
            return True
        return super().event(e)

    def keyPressEvent(self, e: QKeyEvent) -> None:
        if e.key() in (Qt.Key_Delete, Qt.Key_Backspace) and not e.modifiers():
            self._delete_selected()
            e.accept()
            return
        super().keyPressEvent(e)

    def _context_menu(self, pos) -> None:
        row = self.rowAt(pos.y())
        run_id = self.run_id_at(row)
        if run_id is None:
            return
        run = self.store.get(run_id)
        menu = QMenu(self)
        toggle = menu.addAction("Hide in plots" if run.visible else "Show in plots")
        toggle.triggered.connect(lambda: self.store.set_visible(run_id, not run.visible))
        delete = menu.addAction("Delete run")
        delete.setEnabled(self.can_delete(run_id))
        if not self.can_delete(run_id):
            delete.setToolTip("A run that is training cannot be deleted: stop it first")
        delete.triggered.connect(lambda: self.delete_run(run_id))
        menu.exec(self.viewport().mapToGlobal(pos))

    def _item_changed(self, item: QTableWidgetItem) -> None:
        if self._updating or item.column() != SHOW:
            return
        run_id = item.data(RUN_ID)
        if run_id is not None:
            self.store.set_visible(run_id, item.checkState() == Qt.Checked)

    def _selection_changed(self) -> None:
        if self._updating:
            return
        rows = {i.row() for i in self.selectedIndexes()}
        if len(rows) == 1:
            run_id = self.run_id_at(rows.pop())
            if run_id is not None:
                self.store.set_current(run_id)

    # -- drawing
    def redraw(self, dirty: set[int], removed: set[int], current_changed: bool) -> bool:
        """Update the rows of ``dirty`` runs, drop ``removed`` ones, follow the current
        run. Returns True if anything was done."""
        if not (dirty or removed or current_changed):
            return False
        self._updating = True
        try:
            for run_id in removed:
                row = self.row_of(run_id)
                if row >= 0:
                    self.removeRow(row)
                    self._rows.pop(row)
            for run_id in sorted(dirty):
                run = self.store.get(run_id)
                if run is None:
                    row = self.row_of(run_id)
                    if row >= 0:
                        self.removeRow(row)
                        self._rows.pop(row)
                    continue
                self._fill(run)
            self._select_current()
        finally:
            self._updating = False
        self.redraw_count += 1
        return True

    def refresh(self) -> None:
        self._shown.clear()
        gone = set(self._rows) - set(self.store.runs)
        self.redraw(set(self.store.runs), gone, True)

    def _select_current(self) -> None:
        row = self.row_of(self.store.current) if self.store.current is not None else -1
        if row >= 0:
            if self.currentRow() != row or not self.selectionModel().isRowSelected(row):
                self.selectRow(row)
            self.scrollToItem(self.item(row, NAME))
        else:
            self.clearSelection()

    def _fill(self, run: Any) -> None:
        row = self.row_of(run.run_id)
        shown = (run.visible, run.color, run.name, run.message, run.warning, run.status,
                 run.task, len(run.epochs))
        before = self._shown.get(run.run_id)
        if row >= 0 and before == shown:
            return  # a tick that only brought batches: the row says the same
        now = time.monotonic()
        if row >= 0 and not self.immediate and before is not None \
                and before[:-1] == shown[:-1] and now - self._filled_at < EPOCH_REDRAW_S:
            self.deferred.add(run.run_id)  # only new epochs, arriving fast: later
            return
        self._shown[run.run_id] = shown
        self._filled_at = now
        if row < 0:
            row = self.rowCount()
            self.insertRow(row)
            self._rows.append(run.run_id)
            show = QTableWidgetItem()
            show.setFlags(Qt.ItemIsUserCheckable | Qt.ItemIsEnabled | Qt.ItemIsSelectable)
            show.setData(RUN_ID, run.run_id)
            show.setToolTip("Show this run in the loss plots")
            self.setItem(row, SHOW, show)
            for col in range(NAME, DELETE):
                item = QTableWidgetItem()
                item.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable)
                if col >= EPOCHS:
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                self.setItem(row, col, item)
            button = QToolButton()
            button.setText("✕")
            button.setAutoRaise(True)
            button.clicked.connect(lambda _=False, rid=run.run_id: self.delete_run(rid))
            self.setCellWidget(row, DELETE, button)
        show = self.item(row, SHOW)
        show.setCheckState(Qt.Checked if run.visible else Qt.Unchecked)
        show.setIcon(_swatch(run.color))
        name = self.item(row, NAME)
        name.setText(run.name)
        name.setToolTip(run.name + (f"\n{run.message}" if run.message else ""))
        status = self.item(row, STATUS)
        state = _state(run)  # the controller's state while it trains: paused, stepping...
        status.setText(f"{state}, diverging" if run.warning else str(state))
        status.setToolTip(run.message or run.warning or str(state))
        if state == RunState.FAILED:
            status.setForeground(QColor("#d62828"))
        elif run.warning:
            status.setForeground(QColor("#e07a00"))
        else:
            status.setData(Qt.ForegroundRole, None)
        self.item(row, EPOCHS).setText(str(len(run.epochs)))
        best = run.best("val_loss", "min")
        self.item(row, BEST_LOSS).setText(f"{best[1]:.4g} (ep {int(best[0])})" if best else "–")
        key = "val_r2" if run.task == "regression" else "val_accuracy"
        best = run.best(key, "max")
        if best is None:
            text = "–"
        elif key == "val_accuracy":
            text = f"{100 * best[1]:.1f}% (ep {int(best[0])})"
        else:
            text = f"R² {best[1]:.3f} (ep {int(best[0])})"
        self.item(row, BEST_METRIC).setText(text)
        seconds = float(np.nansum([e.get("time", np.nan) for e in run.epochs])) \
            if run.epochs else float("nan")
        self.item(row, TIME).setText(format_duration(seconds))
        button = self.cellWidget(row, DELETE)
        busy = state.busy
        button.setEnabled(not busy)
        button.setToolTip("A run that is training cannot be deleted: stop it first" if busy
                          else f"Delete {run.name}")
