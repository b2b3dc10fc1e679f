"""A small overview of the whole network that shows and moves the canvas's visible area.

The :class:`Minimap` draws the graph from the model (:class:`nncore.graph.Graph`: node
positions and categories, wires), not by rendering the scene a second time: on a
500-node graph that would double the cost of every repaint. Nodes are small rounded
rectangles in their category's colour, wires thin lines between node centres, and the
part of the canvas the view shows is an outlined rectangle. Clicking or dragging on the
minimap centres the view there.

It follows the graph's events (coalesced: any number of edits in one event-loop turn
cause one repaint) and the view's scroll bars; the main window calls
:meth:`Minimap.update_view` after zooming. The nodes and wires are cached in a pixmap
that is redrawn only when the graph or the fitted area changes, so scrolling redraws
just the visible-area rectangle.

Put it in a corner of the view as a child of the ``QGraphicsView`` itself, not of its
viewport: ``QGraphicsView`` scrolls its viewport's child widgets along with the scene.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from PySide6.QtCore import QEvent, QLineF, QObject, QPointF, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import (QColor, QMouseEvent, QPainter, QPainterPath, QPaintEvent, QPalette,
                           QPen, QPixmap, QTransform)
from PySide6.QtWidgets import QGraphicsView, QWidget

from app.theme import CATEGORY_COLORS
from nncore.graph import Graph, Node

__all__ = ["Minimap", "DEFAULT_NODE_SIZE"]

#: The size (width, height) assumed for a node when no size is given.
DEFAULT_NODE_SIZE: tuple[float, float] = (180.0, 110.0)

_FALLBACK_COLOR = "#7a7a7a"
_GRAPH_EVENTS = ("node_added", "node_removed", "node_changed", "edge_added", "edge_removed",
                 "graph_reset")

Sizes = Mapping[str, tuple[float, float]] | Callable[[Node], tuple[float, float]]


class Minimap(QWidget):
    """An overview of ``graph`` that shows and moves what ``view`` shows.

    Args:
        graph: the network (its events are followed until :meth:`set_graph` or deletion).
        view: the ``QGraphicsView`` showing the canvas; only standard API is used
            (``mapToScene``, ``viewport``, ``centerOn`` and the scroll bars).
        parent: usually ``view`` itself, to sit in a corner of the canvas.
        sizes: each node's (width, height) in scene units: a mapping node id -> size, or
            a function node -> size (such as ``app.editor.items.node_size``); nodes it
            does not give are :data:`DEFAULT_NODE_SIZE`.

    Attributes:
        paint_count: how many times the widget has been painted (for tests).
        margin: pixels kept free around the fitted drawing.
    """

    margin = 8.0

    def __init__(self, graph: Graph, view: QGraphicsView, parent: QWidget | None = None,
                 sizes: Sizes | None = None) -> None:
        super().__init__(parent)
        self.setFixedSize(200, 140)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, False)
        self.setAutoFillBackground(False)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Overview of the network: click or drag to move the view")
        self.paint_count = 0
        self._view = view
        self._sizes = sizes
        self._graph: Graph | None = None
        # model cache (scene coordinates), rebuilt when the graph changes
        self._model_dirty = True
        self._rects: dict[str, list[QRectF]] = {}  # category -> node rects
        self._lines: list[QLineF] = []
        self._bounds = QRectF()                    # all nodes; null when there are none
        self._version = 0                          # counts model rebuilds (pixmap cache key)
        self._smallest = 0.0                       # the smallest node side, scene units
        # fitted transform scene -> map: (scale, dx, dy); frozen during a drag
        self._fit: tuple[float, float, float] | None = None
        self._last_fit: tuple[float, float, float, int] | None = None  # with the version
        self._dragging = False
        self._pixmap: QPixmap | None = None
        self._pixmap_key: tuple | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._refresh)
        self.set_graph(graph)
        view.horizontalScrollBar().valueChanged.connect(self.update_view)
        view.verticalScrollBar().valueChanged.connect(self.update_view)
        view.horizontalScrollBar().rangeChanged.connect(self.update_view)
        view.verticalScrollBar().rangeChanged.connect(self.update_view)
        view.viewport().installEventFilter(self)  # viewport resizes change the visible area

    # ------------------------------------------------------------------ public
    def sizeHint(self) -> QSize:
        return QSize(200, 140)

    @property
    def graph(self) -> Graph | None:
        return self._graph

    def set_graph(self, graph: Graph | None) -> None:
        """Show ``graph`` instead (None: show nothing and follow no graph)."""
        if self._graph is not None:
            for name in _GRAPH_EVENTS:
                getattr(self._graph, name).disconnect(self._on_graph_event)
        self._graph = graph
        if graph is not None:
            for name in _GRAPH_EVENTS:
                getattr(graph, name).connect(self._on_graph_event)
        self._on_graph_event()

    def set_sizes(self, sizes: Sizes | None) -> None:
        """Use other node sizes (see the constructor) and repaint."""
        self._sizes = sizes
        self._on_graph_event()

    def update_view(self, *_: Any) -> None:
        """The view scrolled, zoomed or was resized: repaint the visible area (coalesced)."""
        if not self._dragging:
            self._fit = None
        self._timer.start()

    def visible_rect(self) -> QRectF:
        """The part of the scene the view shows, in scene coordinates."""
        view = self._view
        return view.mapToScene(view.viewport().rect()).boundingRect()

    def scene_to_map(self, point: QPointF) -> QPointF:
        """A scene point in minimap widget coordinates."""
        s, dx, dy = self._transform()
        return QPointF(point.x() * s + dx, point.y() * s + dy)

    def map_to_scene(self, point: QPointF) -> QPointF:
        """A minimap widget point in scene coordinates (inverse of :meth:`scene_to_map`)."""
        s, dx, dy = self._transform()
        return QPointF((point.x() - dx) / s, (point.y() - dy) / s)

    # ------------------------------------------------------------------ model
    def _on_graph_event(self, *_: Any) -> None:
        try:
            self._model_dirty = True
            if not self._dragging:
                self._fit = None
            self._timer.start()
        except RuntimeError:  # the widget was deleted with its parent: stop following
            self._forget_graph()

    def _forget_graph(self) -> None:
        graph, self._graph = self._graph, None
        if graph is not None:
            for name in _GRAPH_EVENTS:
                getattr(graph, name).disconnect(self._on_graph_event)

    def _refresh(self) -> None:
        self.update()

    def _size(self, node: Node) -> tuple[float, float]:
        sizes = self._sizes
        size = None
        if callable(sizes):
            size = sizes(node)
        elif sizes is not None:
            size = sizes.get(node.id)
        return DEFAULT_NODE_SIZE if size is None else (float(size[0]), float(size[1]))

    def _rebuild_model(self) -> None:
        rects: dict[str, list[QRectF]] = {}
        centres: dict[str, tuple[float, float]] = {}
        left = top = float("inf")
        right = bottom = float("-inf")
        smallest = float("inf")
        graph = self._graph
        for node in graph.nodes if graph is not None else ():
            w, h = self._size(node)
            x, y = node.position
            rects.setdefault(node.type.category, []).append(QRectF(x, y, w, h))
            centres[node.id] = (x + w / 2, y + h / 2)
            left, top = min(left, x), min(top, y)
            right, bottom = max(right, x + w), max(bottom, y + h)
            smallest = min(smallest, w, h)
        lines = []
        for e in graph.edges if graph is not None else ():
            a, b = centres.get(e.src), centres.get(e.dst)
            if a is not None and b is not None:
                lines.append(QLineF(a[0], a[1], b[0], b[1]))
        self._rects, self._lines = rects, lines
        self._bounds = QRectF(left, top, right - left, bottom - top) if centres else QRectF()
        self._smallest = smallest
        self._model_dirty = False
        self._version += 1

    def _transform(self) -> tuple[float, float, float]:
        """(scale, dx, dy) fitting the nodes and the visible area into the widget.

        After a scroll or zoom the previous fit is kept while it still shows everything
        and is not much smaller than a fresh fit would be (hysteresis), so panning does
        not rescale the map at every step and the cached drawing can be reused. A change
        of the graph or of the widget's size always fits afresh.
        """
        if self._model_dirty:
            self._rebuild_model()
        if self._fit is None:
            area = self.visible_rect()
            area = area if self._bounds.isNull() else area.united(self._bounds)
            inner = QRectF(self.rect()).adjusted(self.margin, self.margin,
                                                 -self.margin, -self.margin)
            s = min(inner.width() / max(area.width(), 1.0),
                    inner.height() / max(area.height(), 1.0))
            s = s if s > 0 else 1.0
            centre = area.center()
            fresh = (s, inner.center().x() - centre.x() * s, inner.center().y() - centre.y() * s)
            old = self._last_fit
            if old is not None and old[3] == self._version and old[0] >= 0.7 * s:
                ks, kx, ky = old[:3]
                shown = QRectF(area.x() * ks + kx, area.y() * ks + ky, area.width() * ks,
                               area.height() * ks)
                if inner.adjusted(-0.01, -0.01, 0.01, 0.01).contains(shown):
                    fresh = (ks, kx, ky)
            self._fit = fresh
            self._last_fit = (*fresh, self._version)
        return self._fit

    # ------------------------------------------------------------------ painting
    def _dark(self) -> bool:
        return self.palette().color(QPalette.ColorRole.Window).lightness() < 128

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt name
        self.paint_count += 1
        s, dx, dy = self._transform()
        dark = self._dark()
        ratio = self.devicePixelRatioF()
        key = (s, dx, dy, self.width(), self.height(), ratio, dark, self._version)
        if self._pixmap is None or self._pixmap_key != key:
            self._pixmap = self._render_graph(s, dx, dy, ratio, dark)
            self._pixmap_key = key
        painter = QPainter(self)
        painter.drawPixmap(0, 0, self._pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        seen = self.visible_rect()
        frame = QRectF(seen.x() * s + dx, seen.y() * s + dy, seen.width() * s,
                       seen.height() * s).intersected(QRectF(self.rect()).adjusted(1, 1, -1, -1))
        # veil what is off screen, outline what is on it
        veil = QPainterPath()
        veil.addRoundedRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5), 7.0, 7.0)
        hole = QPainterPath()
        hole.addRect(frame)
        painter.fillPath(veil.subtracted(hole),
                         QColor(12, 14, 18, 70) if dark else QColor(255, 255, 255, 90))
        pen = QPen(QColor(235, 240, 250, 220) if dark else QColor(40, 52, 72, 200), 1.2)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(frame, 2.0, 2.0)
        painter.end()

    def _render_graph(self, s: float, dx: float, dy: float, ratio: float,
                      dark: bool) -> QPixmap:
        """Background, wires and nodes, for the transform (s, dx, dy)."""
        pixmap = QPixmap(QSize(max(1, round(self.width() * ratio)),
                               max(1, round(self.height() * ratio))))
        pixmap.setDevicePixelRatio(ratio)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        background = QColor(24, 27, 34, 200) if dark else QColor(250, 251, 253, 215)
        border = QColor(255, 255, 255, 45) if dark else QColor(40, 48, 64, 60)
        painter.setPen(QPen(border, 1.0))
        painter.setBrush(background)
        painter.drawRoundedRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5), 7.0, 7.0)

        # wires and nodes are drawn in scene coordinates through the painter's transform
        # (no per-item arithmetic in Python: a 5,000-node graph draws in a few ms)
        painter.setTransform(QTransform(s, 0.0, 0.0, s, dx, dy))
        wire = QColor(200, 206, 220, 120) if dark else QColor(70, 80, 100, 110)
        pen = QPen(wire, 1.0)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.drawLines(self._lines)

        specks = self._smallest * s < 5.0  # too small to see rounded corners
        radius = 3.0 / s
        for category, rects in self._rects.items():
            color = QColor(CATEGORY_COLORS.get(category, _FALLBACK_COLOR))
            painter.setBrush(color)
            if specks:
                if self._smallest * s < 2.0:  # a cosmetic outline keeps nodes visible
                    outline = QPen(color, 1.5)
                    outline.setCosmetic(True)
                    outline.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
                    painter.setPen(outline)
                else:
                    painter.setPen(Qt.PenStyle.NoPen)
                painter.drawRects(rects)
            else:
                painter.setPen(Qt.PenStyle.NoPen)
                for r in rects:
                    r_ = min(radius, 0.25 * min(r.width(), r.height()))
                    painter.drawRoundedRect(r, r_, r_)
        painter.end()
        return pixmap

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt name
        if event.type() == QEvent.Type.PaletteChange:
            self._pixmap = None
            self.update()
        super().changeEvent(event)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt name
        self._fit = self._last_fit = None
        super().resizeEvent(event)

    # ------------------------------------------------------------------ view events
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Resize:
            self.update_view()
        return False

    # ------------------------------------------------------------------ mouse
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt name
        if event.button() == Qt.MouseButton.LeftButton:
            self._transform()
            self._dragging = True  # keep the fit still while dragging
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
            self._centre_on(event.position())
            event.accept()
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt name
        if self._dragging and event.buttons() & Qt.MouseButton.LeftButton:
            self._centre_on(event.position())
            event.accept()
        else:
            super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt name
        if self._dragging and event.button() == Qt.MouseButton.LeftButton:
            self._dragging = False
            self.setCursor(Qt.CursorShape.PointingHandCursor)
            self.update_view()
            event.accept()
        else:
            super().mouseReleaseEvent(event)

    def _centre_on(self, point: QPointF) -> None:
        self._view.centerOn(self.map_to_scene(point))
        self.update()
