"""The canvas view: zoom around the cursor, pan, a grid, fit to view, and Tab quick-add.

Zoom with Ctrl+wheel (or Ctrl+= / Ctrl+-), scroll with the wheel (Shift for sideways),
pan with the middle button or by holding Space and dragging, select with a rubber band.
Tab opens a search at the cursor to add a node by typing its name.
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QLineF, QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent, QMouseEvent, QPainter, QPen, QWheelEvent
from PySide6.QtWidgets import (QFrame, QGraphicsView, QLineEdit, QListWidget, QListWidgetItem,
                               QVBoxLayout, QWidget)

from app.editor.scene import GraphScene
from nncore.graph import CATALOGUE, CATEGORIES

__all__ = ["GraphView", "QuickAdd", "MIN_ZOOM", "MAX_ZOOM"]

MIN_ZOOM, MAX_ZOOM = 0.05, 3.0
STEP = 1.15
GRID = 20.0


class GraphView(QGraphicsView):
    """A view of a :class:`GraphScene`.

    Signals:
        zoom_changed(float): the new zoom factor (1.0 = 100%).
    """

    zoom_changed = Signal(float)

    def __init__(self, scene: GraphScene, parent: QWidget | None = None) -> None:
        super().__init__(scene, parent)
        self.setRenderHints(QPainter.Antialiasing | QPainter.TextAntialiasing)
        self.setViewportUpdateMode(QGraphicsView.SmartViewportUpdate)
        self.setOptimizationFlags(QGraphicsView.DontSavePainterState)
        self.setTransformationAnchor(QGraphicsView.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.AnchorViewCenter)
        self.setDragMode(QGraphicsView.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.IntersectsItemShape)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.StrongFocus)
        self.setSceneRect(QRectF(-50_000, -50_000, 100_000, 100_000))
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)  # pan instead
        self.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self._panning: QPoint | None = None
        self._space = False
        self.quick_add = QuickAdd(self)
        self.quick_add.chosen.connect(self._quick_add_chosen)
        self._quick_add_pos = QPointF()

    @property
    def graph_scene(self) -> GraphScene:
        return self.scene()  # type: ignore[return-value]

    # ------------------------------------------------------------------ zoom
    def zoom(self) -> float:
        """The current zoom factor (1.0 = 100%)."""
        return self.transform().m11()

    def set_zoom(self, factor: float, anchor: QPointF | None = None) -> None:
        """Zoom to ``factor`` (clamped to [0.05, 3]) keeping ``anchor`` (a scene point,
        default the view's centre) where it is on screen."""
        factor = min(max(factor, MIN_ZOOM), MAX_ZOOM)
        scale = factor / self.zoom()
        if abs(scale - 1.0) < 1e-9:
            return
        if anchor is None:
            self.scale(scale, scale)
        else:
            before = self.mapFromScene(anchor)
            self.scale(scale, scale)
            after = self.mapFromScene(anchor)
            delta = after - before
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + delta.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() + delta.y())
        self.zoom_changed.emit(self.zoom())

    def zoom_in(self) -> None:
        self.set_zoom(self.zoom() * STEP)

    def zoom_out(self) -> None:
        self.set_zoom(self.zoom() / STEP)

    def fit(self, min_zoom: float = MIN_ZOOM) -> None:
        """Show the whole network (at most at 100%). With ``min_zoom``, never zoom out
        further than that: a network too wide to be readable whole is shown from its
        left end (where the data comes in) instead, one too tall from its top."""
        rect = self.graph_scene.items_rect()
        if rect.isEmpty():
            self.resetTransform()
            self.centerOn(0, 0)
        else:
            self.fitInView(rect.adjusted(-60, -60, 60, 60), Qt.KeepAspectRatio)
            if self.zoom() > 1.0:
                self.set_zoom(1.0)
            if self.zoom() < min_zoom:
                self.set_zoom(min_zoom)
                visible = self.visible_scene_rect()
                if rect.width() / max(visible.width(), 1.0) >= \
                        rect.height() / max(visible.height(), 1.0):  # too wide: its left end
                    self.centerOn(rect.left() - 40 + visible.width() / 2, rect.center().y())
                else:  # too tall (laid out top to bottom): its top
                    self.centerOn(rect.center().x(), rect.top() - 40 + visible.height() / 2)
            else:
                self.centerOn(rect.center())
        self.zoom_changed.emit(self.zoom())

    def visible_scene_rect(self) -> QRectF:
        return self.mapToScene(self.viewport().rect()).boundingRect()

    # ------------------------------------------------------------------ events
    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.ControlModifier:
            steps = event.angleDelta().y() / 120.0
            self.set_zoom(self.zoom() * STEP ** steps, self.mapToScene(event.position().toPoint()))
            event.accept()
            return
        if event.modifiers() & Qt.ShiftModifier:
            bar = self.horizontalScrollBar()
            bar.setValue(bar.value() - event.angleDelta().y())
            event.accept()
            return
        super().wheelEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MiddleButton or (self._space and event.button() == Qt.LeftButton):
            self._panning = event.position().toPoint()
            self.viewport().setCursor(Qt.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._panning is not None:
            pos = event.position().toPoint()
            delta = pos - self._panning
            self._panning = pos
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - delta.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - delta.y())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._panning is not None and event.button() in (Qt.MiddleButton, Qt.LeftButton):
            self._panning = None
            self.viewport().setCursor(Qt.OpenHandCursor if self._space else Qt.ArrowCursor)
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.OpenHandCursor)
            event.accept()
            return
        if event.key() == Qt.Key_Tab:
            self.open_quick_add()
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.viewport().setCursor(Qt.ArrowCursor)
            event.accept()
            return
        super().keyReleaseEvent(event)

    def focusNextPrevChild(self, forward: bool) -> bool:
        return False  # Tab belongs to quick-add, not to focus changes

    # ------------------------------------------------------------------ quick add
    def open_quick_add(self, at: QPoint | None = None) -> None:
        """Open the search at ``at`` (view coordinates; default the cursor, or the
        centre when the cursor is outside the view)."""
        if at is None:
            at = self.mapFromGlobal(self.cursor().pos())
            if not self.viewport().rect().contains(at):
                at = self.viewport().rect().center()
        self._quick_add_pos = self.mapToScene(at)
        self.quick_add.open_at(self.viewport().mapTo(self, at))

    def _quick_add_chosen(self, type_id: str) -> None:
        self.graph_scene.add_node(type_id, self._quick_add_pos)
        self.setFocus()

    # ------------------------------------------------------------------ grid
    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        """A grid of 20-unit squares with a stronger line every 5; only the strong lines
        when zoomed out so far that the fine ones would be a blur."""
        theme = self.graph_scene.theme
        painter.save()
        painter.setRenderHint(QPainter.Antialiasing, False)  # crisp, fast hairlines
        painter.fillRect(rect, QColor(theme.canvas))
        zoom = self.zoom()
        step = GRID if zoom * GRID >= 8 else GRID * 5
        major_every = 5 if step == GRID else 4
        minor_lines, major_lines = [], []
        first_x, first_y = math.floor(rect.left() / step), math.floor(rect.top() / step)
        last_x, last_y = math.ceil(rect.right() / step), math.ceil(rect.bottom() / step)
        for i in range(first_x, last_x + 1):
            line = QLineF(i * step, rect.top(), i * step, rect.bottom())
            (major_lines if i % major_every == 0 else minor_lines).append(line)
        for j in range(first_y, last_y + 1):
            line = QLineF(rect.left(), j * step, rect.right(), j * step)
            (major_lines if j % major_every == 0 else minor_lines).append(line)
        painter.setPen(QPen(QColor(theme.grid_minor), 0))
        painter.drawLines(minor_lines)
        painter.setPen(QPen(QColor(theme.grid_major), 0))
        painter.drawLines(major_lines)
        painter.restore()


class QuickAdd(QFrame):
    """A small search popup listing node types; Enter or a click adds the chosen one.

    Signals:
        chosen(str): the type id picked.
    """

    chosen = Signal(str)

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.StyledPanel)
        self.setAutoFillBackground(True)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Add a node…")
        self.list = QListWidget(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.search)
        layout.addWidget(self.list)
        self.resize(240, 260)
        self.hide()
        self.search.textChanged.connect(self._filter)
        self.search.returnPressed.connect(self._choose_current)
        self.list.itemActivated.connect(self._choose)
        self.list.itemClicked.connect(self._choose)
        self.search.installEventFilter(self)
        ordered = sorted(CATALOGUE.values(), key=lambda t: CATEGORIES.index(t.category))
        for t in ordered:  # in the palette's order
            item = QListWidgetItem(f"{t.glyph}  {t.display_name}   ({t.category})")
            item.setData(Qt.UserRole, t.type_id)
            item.setToolTip(t.summary)
            self.list.addItem(item)

    def open_at(self, pos: QPoint) -> None:
        parent = self.parentWidget()
        x = min(max(pos.x(), 0), max(parent.width() - self.width(), 0))
        y = min(max(pos.y(), 0), max(parent.height() - self.height(), 0))
        self.move(x, y)
        self.search.clear()
        self._filter("")
        self.show()
        self.raise_()
        self.search.setFocus()

    def _filter(self, text: str) -> None:
        """Show the types matching every word; select the best match (a name that
        starts with the text, then a name that contains it, then the rest)."""
        words = text.lower().split()
        best, best_score = None, 99

        def names(t) -> str:
            return f"{t.display_name} {t.type_id} {t.category}".lower()

        # Words found in names beat words found only in the descriptions: "tan" shows
        # Tanh, not BatchNorm (whose description says "standardize").
        by_name = any(all(w in names(CATALOGUE[self.list.item(i).data(Qt.UserRole)])
                          for w in words) for i in range(self.list.count()))
        for i in range(self.list.count()):
            item = self.list.item(i)
            t = CATALOGUE[item.data(Qt.UserRole)]
            hay = names(t) if by_name else f"{names(t)} {t.summary}".lower()
            hidden = not all(w in hay for w in words)
            item.setHidden(hidden)
            if hidden:
                continue
            name = f"{t.display_name} {t.type_id}".lower()
            query = " ".join(words)
            score = 0 if name.startswith(query) else 1 if query in name else 2
            if score < best_score:
                best, best_score = item, score
        self.list.setCurrentItem(best)

    def _choose_current(self) -> None:
        item = self.list.currentItem()
        if item is not None and not item.isHidden():
            self._choose(item)

    def _choose(self, item: QListWidgetItem) -> None:
        self.hide()
        self.chosen.emit(item.data(Qt.UserRole))

    def eventFilter(self, obj: Any, event: Any) -> bool:
        from PySide6.QtCore import QEvent

        if obj is self.search and event.type() == QEvent.KeyPress:
            if event.key() == Qt.Key_Escape:
                self.hide()
                self.parentWidget().setFocus()
                return True
            if event.key() in (Qt.Key_Down, Qt.Key_Up):
                row = self.list.currentRow()
                step = 1 if event.key() == Qt.Key_Down else -1
                r = row + step
                while 0 <= r < self.list.count() and self.list.item(r).isHidden():
                    r += step
                if 0 <= r < self.list.count():
                    self.list.setCurrentRow(r)
                return True
        return super().eventFilter(obj, event)
