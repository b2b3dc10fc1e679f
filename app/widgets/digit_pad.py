"""Pictures of image-shaped samples: a pad to draw one with the mouse
(:class:`DigitPad`) and a small pixmap of one (:func:`sample_pixmap`), shared by the
Predict view and the Misclassified gallery."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget

__all__ = ["DigitPad", "sample_pixmap", "gray_levels", "NEIGHBOUR_SHARE"]

#: A stroke sets the pixel under the mouse to the top value and raises its four
#: neighbours to at least this share of it (the digits' strokes are about two pixels
#: wide, with softer edges).
NEIGHBOUR_SHARE = 0.375


def gray_levels(values: Any, lo: float, hi: float) -> np.ndarray:
    """``values`` as 8-bit ink: 0 (paper) at ``lo``, 255 (ink) at ``hi``, clipped.
    uint8, the shape of ``values``."""
    v = np.asarray(values, dtype=np.float64)
    span = hi - lo if hi > lo else 1.0
    return np.round(255 * np.clip((v - lo) / span, 0.0, 1.0)).astype(np.uint8)


def sample_pixmap(values: Any, shape: tuple[int, int], size: int, lo: float, hi: float,
                  ink: str = "#1f2430", paper: str = "#eef1f6") -> QPixmap:
    """One picture ``(h, w)`` (a row of ``h * w`` values, row-major) as a ``size`` x
    ``size`` pixmap: each pixel a square block (no smoothing), ``lo`` in the paper
    colour, ``hi`` in the ink colour."""
    h, w = shape
    level = gray_levels(np.asarray(values).reshape(h, w), lo, hi).astype(np.float64) / 255
    a, b = np.array(QColor(paper).getRgb()[:3], float), np.array(QColor(ink).getRgb()[:3], float)
    rgb = np.round(a + (b - a) * level[..., None]).astype(np.uint8)
    rgba = np.concatenate([rgb, np.full((h, w, 1), 255, np.uint8)], axis=2)
    rgba = np.ascontiguousarray(rgba)
    image = QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()
    return QPixmap.fromImage(image.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio,
                                          Qt.TransformationMode.FastTransformation))


class DigitPad(QWidget):
    """A grid of ``shape`` pixels to draw on: the left button paints (the pixel under
    the mouse to ``top``, its four neighbours to at least :data:`NEIGHBOUR_SHARE` of it;
    a drag paints every pixel between two mouse positions), the right button erases (the
    pixel to 0). The values are raw features like the data's (the digits: 0..16).

    Signals:
        changed(): the values changed (by the mouse, :meth:`clear` or :meth:`set_values`).

    Attributes:
        values: float64 ``shape``, 0..``top``.
        top: the value of full ink (the data's largest value: 16 for the digits).
    """

    changed = Signal()

    def __init__(self, shape: tuple[int, int] = (8, 8), top: float = 16.0,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.values = np.zeros(shape, dtype=np.float64)
        self.top = float(top)
        self.ink, self.paper, self.grid = QColor("#1f2430"), QColor("#f4f6fa"), QColor("#c9cfda")
        self._last: tuple[int, int] | None = None
        self.setMinimumSize(160, 160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setToolTip("Draw with the left mouse button, erase with the right one")

    # ------------------------------------------------------------------ values
    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.values.shape)  # type: ignore[return-value]

    def set_shape(self, shape: tuple[int, int], top: float) -> None:
        """Another grid (cleared) and top value."""
        if tuple(shape) != self.shape or float(top) != self.top:
            self.values = np.zeros(shape, dtype=np.float64)
            self.top = float(top)
            self.update()

    def set_values(self, values: Any) -> None:
        """Show ``values`` (``shape`` or a flat row of as many), clipped to 0..top."""
        v = np.clip(np.asarray(values, dtype=np.float64).reshape(self.shape), 0.0, self.top)
        if not np.array_equal(v, self.values):
            self.values = v
            self.update()
            self.changed.emit()

    def clear(self) -> None:
        """Every pixel to 0."""
        self.set_values(np.zeros(self.shape))

    def set_colors(self, ink: str, paper: str, grid: str) -> None:
        self.ink, self.paper, self.grid = QColor(ink), QColor(paper), QColor(grid)
        self.update()

    # ------------------------------------------------------------------ geometry
    def _board(self) -> QRect:
        """The square the grid is drawn in (centred)."""
        h, w = self.shape
        cell = max(1, min(self.width() // w, self.height() // h))
        x0, y0 = (self.width() - cell * w) // 2, (self.height() - cell * h) // 2
        return QRect(x0, y0, cell * w, cell * h)

    def cell_at(self, pos: QPoint) -> tuple[int, int] | None:
        """The (row, column) under a widget position, or None outside the grid."""
        board = self._board()
        if not board.contains(pos):
            return None
        h, w = self.shape
        cell = board.width() // w
        return (min(h - 1, (pos.y() - board.top()) // cell),
                min(w - 1, (pos.x() - board.left()) // cell))

    def cell_center(self, row: int, col: int) -> QPoint:
        """Where pixel (row, col) is on the widget (for tests and scripts)."""
        board = self._board()
        cell = board.width() // self.shape[1]
        return QPoint(board.left() + col * cell + cell // 2, board.top() + row * cell + cell // 2)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt)
        return QSize(240, 240)

    # ------------------------------------------------------------------ mouse
    def _stroke(self, cell: tuple[int, int], erase: bool) -> None:
        cells = [cell]
        if self._last is not None and self._last != cell:  # every cell on the way
            (r0, c0), (r1, c1) = self._last, cell
            n = max(abs(r1 - r0), abs(c1 - c0))
            cells = [(round(r0 + (r1 - r0) * t / n), round(c0 + (c1 - c0) * t / n))
                     for t in range(1, n + 1)]
        self._last = cell
        v = self.values.copy()
        h, w = self.shape
        for r, c in cells:
            if erase:
                v[r, c] = 0.0
                continue
            v[r, c] = self.top
            for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)):
                rr, cc = r + dr, c + dc
                if 0 <= rr < h and 0 <= cc < w:
                    v[rr, cc] = max(v[rr, cc], round(NEIGHBOUR_SHARE * self.top))
        self.set_values(v)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt)
        self._last = None
        cell = self.cell_at(event.position().toPoint())
        if cell is not None and event.button() in (Qt.MouseButton.LeftButton,
                                                   Qt.MouseButton.RightButton):
            self._stroke(cell, event.button() == Qt.MouseButton.RightButton)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt)
        buttons = event.buttons()
        cell = self.cell_at(event.position().toPoint())
        if cell is not None and buttons & (Qt.MouseButton.LeftButton | Qt.MouseButton.RightButton):
            self._stroke(cell, not buttons & Qt.MouseButton.LeftButton)
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt)
        self._last = None
        event.accept()

    # ------------------------------------------------------------------ painting
    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt)
        painter = QPainter(self)
        board = self._board()
        h, w = self.shape
        cell = board.width() // w
        level = gray_levels(self.values, 0.0, self.top).astype(np.float64) / 255
        a = np.array(self.paper.getRgb()[:3], float)
        b = np.array(self.ink.getRgb()[:3], float)
        for r in range(h):
            for c in range(w):
                rgb = np.round(a + (b - a) * level[r, c]).astype(int)
                painter.fillRect(board.left() + c * cell, board.top() + r * cell, cell, cell,
                                 QColor(*rgb))
        painter.setPen(QPen(self.grid, 1))
        for r in range(h + 1):
            painter.drawLine(board.left(), board.top() + r * cell, board.right(),
                             board.top() + r * cell)
        for c in range(w + 1):
            painter.drawLine(board.left() + c * cell, board.top(), board.left() + c * cell,
                             board.bottom())
        painter.end()
