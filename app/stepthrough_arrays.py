"""A wire's whole tensor for the Step-through dock: a small heat map of it and a table of
every number.

:func:`as_matrix` lays any array out in two dimensions (a 2-D array as it is, a 1-D one
as one row, a scalar as 1 × 1, higher dimensions as ``(N, rest)``); :func:`heat_image`
draws that matrix with a diverging colour map centred on 0 (pyqtgraph's ``CET-D1``:
blue below 0, white at 0, red above; the scale is the largest magnitude, so the
largest positive element, when it is also the largest in magnitude, is the hot end);
:class:`ArrayModel` reads the array lazily for a ``QTableView`` (a (1797, 64) batch of
digits opens at once: only the visible cells are formatted), and :class:`ArrayDialog`
shows it with a title saying which wire, value or gradient, and the shape.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPixmap
from PySide6.QtWidgets import QDialog, QLabel, QTableView, QVBoxLayout, QWidget

__all__ = ["as_matrix", "heat_image", "heat_pixmap", "ArrayModel", "ArrayDialog",
           "COLORMAP", "NONFINITE"]

#: The diverging colour map of the heat maps (pyqtgraph's copy of Kovesi's CET-D1).
COLORMAP = "CET-D1"
#: The colour of a NaN or an infinity in a heat map (RGBA).
NONFINITE = (0, 0, 0, 255)


def as_matrix(array: Any) -> np.ndarray:
    """``array`` as a 2-D array: 2-D as it is, 1-D as one row ``(1, n)``, a scalar as
    ``(1, 1)``, more dimensions as ``(shape[0], rest)`` (a view where NumPy can)."""
    a = np.asarray(array)
    if a.ndim == 0:
        return a.reshape(1, 1)
    if a.ndim == 1:
        return a.reshape(1, -1)
    return a if a.ndim == 2 else a.reshape(a.shape[0], -1)


@functools.lru_cache(maxsize=1)
def _lookup_table() -> np.ndarray:
    """:data:`COLORMAP` as 511 RGBA byte rows (an odd count: 0 has its own row, the
    middle one)."""
    lut = pg.colormap.get(COLORMAP).getLookupTable(nPts=511, alpha=True, mode="byte")
    return np.ascontiguousarray(lut, dtype=np.uint8)


def _colours(m: np.ndarray) -> np.ndarray:
    """RGBA bytes ``(rows, cols, 4)`` of the matrix ``m`` on :data:`COLORMAP`, 0 at
    the middle and ±(largest finite magnitude) at the ends; non-finite values
    :data:`NONFINITE`."""
    m = np.asarray(m, dtype=np.float64)
    finite = np.isfinite(m)
    scale = float(np.abs(m[finite]).max()) if finite.any() else 0.0
    pos = np.full(m.shape, 0.5)
    if scale > 0:
        pos[finite] = 0.5 + 0.5 * m[finite] / scale
    lut = _lookup_table()  # a gather, ~10x faster than ColorMap.map on 100k values
    rgba = lut[np.rint(pos * (len(lut) - 1)).astype(np.intp)]
    rgba[~finite] = NONFINITE
    return rgba


def heat_image(array: Any) -> QImage:
    """A heat map of ``array`` (laid out by :func:`as_matrix`): one pixel per element,
    pixel ``(column j, row i)`` for element ``[i, j]``; colours as the module says."""
    rgba = _colours(as_matrix(array))
    h, w = rgba.shape[:2]
    return QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()


def heat_pixmap(array: Any, size: QSize | None = None) -> QPixmap:
    """:func:`heat_image` stretched or shrunk to ``size`` (default 96 × 28 pixels;
    pixels stay sharp when enlarged, are averaged when shrunk): the thumbnail a table
    cell shows."""
    size = QSize(96, 28) if size is None else size
    image = heat_image(array)
    mode = (Qt.TransformationMode.FastTransformation
            if image.width() <= size.width() and image.height() <= size.height()
            else Qt.TransformationMode.SmoothTransformation)
    return QPixmap.fromImage(image.scaled(size, Qt.AspectRatioMode.IgnoreAspectRatio, mode))


class ArrayModel(QAbstractTableModel):
    """A read-only table model over a NumPy array laid out by :func:`as_matrix`: cell
    ``(i, j)`` shows element ``[i, j]`` (6 significant digits) on a pale tint of its
    heat-map colour; headers are the row and column indices; a cell's tooltip gives
    its index in the original shape. Nothing is formatted before it is asked for.

    Args:
        array: any array (kept as a read-only reference, not copied).
    """

    def __init__(self, array: Any, parent: Any = None) -> None:
        super().__init__(parent)
        self.array = np.asarray(array)
        self.matrix = as_matrix(self.array)
        finite = np.isfinite(self.matrix) if self.matrix.dtype.kind in "fc" else None
        vals = self.matrix if finite is None else self.matrix[finite]
        self._scale = float(np.abs(vals).max()) if vals.size else 0.0
        self._cmap = pg.colormap.get(COLORMAP)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex | None = None) -> int:
        return 0 if parent is not None and parent.isValid() else int(self.matrix.shape[0])

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex | None = None) -> int:
        return 0 if parent is not None and parent.isValid() else int(self.matrix.shape[1])

    def value(self, row: int, column: int) -> Any:
        """Element ``[row, column]`` of the matrix (a NumPy scalar)."""
        return self.matrix[row, column]

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        v = self.matrix[index.row(), index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{v:.6g}" if self.matrix.dtype.kind in "fc" else str(v)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.BackgroundRole:
            x = float(v)
            if not np.isfinite(x):
                return QColor(*NONFINITE[:3], 60)
            pos = 0.5 if self._scale == 0 else 0.5 + 0.5 * x / self._scale
            r, g, b, _ = self._cmap.map(np.array([pos]), mode="byte")[0]
            return QColor(int(r), int(g), int(b), 90)  # pale: the number stays readable
        if role == Qt.ItemDataRole.ToolTipRole:
            flat = index.row() * self.matrix.shape[1] + index.column()
            where = np.unravel_index(flat, self.array.shape) if self.array.ndim else ()
            return f"[{', '.join(map(str, where))}] = {v.item()!r}"
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return str(section)
        return None


class ArrayDialog(QDialog):
    """A window with one wire's whole tensor in a table (:class:`ArrayModel`); one is
    reused for every array shown (:meth:`show_array`)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Step-through: the whole array")
        self.resize(720, 480)
        layout = QVBoxLayout(self)
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.title)
        self.view = QTableView()
        self.view.horizontalHeader().setDefaultSectionSize(76)
        self.view.verticalHeader().setDefaultSectionSize(22)
        layout.addWidget(self.view, 1)
        self.model: ArrayModel | None = None

    def show_array(self, title: str, array: Any) -> None:
        """Show ``array`` under ``title`` (the wire, value or gradient: the shape is
        added) and bring the window up."""
        a = np.asarray(array)
        shape = " × ".join(map(str, a.shape)) or "a scalar"
        laid = "" if a.ndim <= 2 else \
            f" (shown as {' × '.join(map(str, as_matrix(a).shape))}: rows, the rest)"
        self.title.setText(f"{title}: {shape}{laid}")
        self.model = ArrayModel(a, self)
        self.view.setModel(self.model)
        self.setWindowTitle(f"Step-through: {title}")
        self.show()
        self.raise_()
