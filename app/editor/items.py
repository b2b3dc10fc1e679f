"""What the canvas draws: node cards, their ports, and the wires between them.

Items are views of the graph model: a :class:`NodeItem` shows one
:class:`nncore.graph.Node` (its title, main parameters, inferred output shape,
parameter count, error mark) and owns one :class:`PortItem` per port; an
:class:`EdgeItem` draws one :class:`nncore.graph.Edge` as a smooth curve in the colour of
what it carries, labelled with the shape. Items never change the model; the scene turns
mouse gestures into undoable commands.

Drawing is kept cheap for large graphs: no per-item caches that would have to be redrawn
on every zoom step, and below a zoom level texts are left out (level of detail).
"""

from __future__ import annotations

import html
from typing import Any, Sequence

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (QColor, QFont, QFontMetricsF, QPainter, QPainterPath,
                           QPainterPathStroker, QPen)
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QStyleOptionGraphicsItem

from app.theme import CATEGORY_COLORS, PORT_COLORS, Theme
from nncore.graph import DataShape, Edge, Node

__all__ = ["NodeItem", "PortItem", "EdgeItem", "WireLabel", "WIDTH", "node_size"]

WIDTH = 190.0
HEADER = 30.0
ROW = 22.0
INFO = 40.0
RADIUS = 6.0
TEXT_LOD = 0.45  # below this zoom texts are not drawn
BADGE = 16.0  # the height of a badge above a card


def node_size(node: Node) -> tuple[float, float]:
    """The card's (width, height) in scene units, from its ports."""
    rows = max(len(node.type.inputs), len(node.type.outputs), 1)
    return WIDTH, HEADER + rows * ROW + INFO


def _font(size: float, bold: bool = False) -> QFont:
    font = QFont()
    font.setPointSizeF(size)
    font.setBold(bold)
    return font


TITLE_FONT, BODY_FONT, SMALL_FONT = _font(9.5, True), _font(8.5), _font(7.5)
PORT_LOD = 0.3  # below this ports (a few pixels wide) are not drawn


class _Style:
    """Pens, brushes and colours of one theme, made once (drawing a 500-node canvas is
    dominated by Python calls, so paint() must not build Qt objects)."""

    def __init__(self, theme: Theme) -> None:
        self.category = {k: QColor(v) for k, v in CATEGORY_COLORS.items()}
        self.card = QColor(theme.card)
        self.border = QPen(QColor(theme.card_border), 1.2)
        self.border_error = QPen(QColor(theme.error), 2.0)
        self.border_selected = QPen(QColor(theme.selection), 2.5)
        self.port_color = {k: QColor(v) for k, v in PORT_COLORS.items()}
        self.port_pen = {k: QPen(c, 2) for k, c in self.port_color.items()}
        self.dim = QColor(theme.dim)
        self.dim_pen = QPen(self.dim, 2)
        self.wire_pen = {}
        for kind, color in self.port_color.items():
            style = Qt.DashLine if kind == "target" else Qt.SolidLine
            self.wire_pen[(kind, False)] = QPen(color, 2.2, style, Qt.RoundCap)
        selected = QColor(theme.selection)
        for kind in self.port_color:
            self.wire_pen[(kind, True)] = QPen(selected, 3.0, Qt.SolidLine, Qt.RoundCap)
        focus = QColor(theme.focus)
        self.border_focus = QPen(focus, 3.0)
        self.focus_wire = QPen(focus, 4.0, Qt.SolidLine, Qt.RoundCap)
        self.badge_text = QColor("white")


_STYLES: dict[str, _Style] = {}


def style(theme: Theme) -> _Style:
    """The cached drawing objects of ``theme``."""
    found = _STYLES.get(theme.name)
    if found is None:
        found = _STYLES[theme.name] = _Style(theme)
    return found


class PortItem(QGraphicsItem):
    """One port of a node: a circle on the card's edge, coloured by kind.

    Attributes:
        node_id, port, is_output, kind: which port this is.
        state: ``""``, ``"valid"`` or ``"invalid"`` while a wire is dragged.
    """

    def __init__(self, parent: "NodeItem", port: str, is_output: bool, kind: str,
                 label: str, multi: bool) -> None:
        super().__init__(parent)
        self.node_id, self.port, self.is_output, self.kind = parent.node_id, port, is_output, kind
        self.label, self.multi = label, multi
        self.connected = False
        self.state = ""
        self.hovered = False
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CrossCursor)
        self.setZValue(2)
        # The node card draws its ports (one paint call per node instead of per port:
        # the drawing cost of a 500-node canvas is mostly Python calls).
        self.setFlag(QGraphicsItem.ItemHasNoContents, True)

    def boundingRect(self) -> QRectF:
        r = RADIUS + 4
        return QRectF(-r, -r, 2 * r, 2 * r)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addEllipse(self.boundingRect())
        return path

    def scene_center(self) -> QPointF:
        return self.scenePos()

    def set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.parentItem().update()

    def hoverEnterEvent(self, event: Any) -> None:
        self.hovered = True
        self.parentItem().update()

    def hoverLeaveEvent(self, event: Any) -> None:
        self.hovered = False
        self.parentItem().update()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: Any = None) -> None:
        pass  # drawn by the node card (ItemHasNoContents)

    def draw(self, painter: QPainter, st: _Style, detailed: bool) -> None:
        """Draw this port in the parent card's coordinates."""
        color = st.port_color.get(self.kind, st.dim)
        pen = st.port_pen.get(self.kind, st.dim_pen)
        center = self.pos()
        r = RADIUS + (2 if self.hovered or self.state == "valid" else 0)
        if self.state == "invalid":
            color, pen, r = st.dim, st.dim_pen, RADIUS - 1.5
        if self.state == "valid" and detailed:
            glow = QColor(color)
            glow.setAlpha(70)
            painter.setPen(Qt.NoPen)
            painter.setBrush(glow)
            painter.drawEllipse(center, r + 4, r + 4)
        painter.setPen(pen)
        painter.setBrush(color if self.connected or self.state == "valid" else st.card)
        painter.drawEllipse(center, r, r)


class NodeItem(QGraphicsItem):
    """The card of one node. Positions come from the model (``node.position`` is the
    card's top-left corner); the scene turns a drag into one MoveNodes command."""

    def __init__(self, node: Node) -> None:
        super().__init__()
        self.node_id = node.id
        self.node = node
        self.width, self.height = node_size(node)
        self.output_text = ""
        self.param_count: int | None = None
        self.data: DataShape | None = None  # the dataset's shape (the Input's card shows it)
        self.analysis_error = ""  # from shape inference (set_analysis)
        self.failure = ""  # why a training run failed at this node (set_failure)
        self.error = ""  # the error shown: the analysis error, else the failure
        self.focused = False  # the step-through's current node (set_focus)
        self.badges: tuple[tuple[str, str], ...] = ()  # (text, colour) above the card
        self.inputs: dict[str, PortItem] = {}
        self.outputs: dict[str, PortItem] = {}
        self._header: QPainterPath | None = None
        # no ItemSendsScenePositionChanges and no itemChange override: the scene moves
        # the wires when it moves a card (ten Python calls per card made a paste of
        # 2,000 nodes a tenth slower)
        self.setFlags(QGraphicsItem.ItemIsMovable | QGraphicsItem.ItemIsSelectable)
        self.setAcceptHoverEvents(True)
        self.setZValue(1)
        self._make_ports()
        self.setPos(*node.position)

    def _make_ports(self) -> None:
        for item in [*self.inputs.values(), *self.outputs.values()]:
            item.setParentItem(None)
            if item.scene():
                item.scene().removeItem(item)
        self.inputs, self.outputs = {}, {}
        t = self.node.type
        for i, spec in enumerate(t.inputs):
            port = PortItem(self, spec.name, False, spec.kind, spec.title, spec.multi)
            port.setPos(0.0, HEADER + (i + 0.5) * ROW)
            self.inputs[spec.name] = port
        for i, spec in enumerate(t.outputs):
            port = PortItem(self, spec.name, True, spec.kind, spec.title, False)
            port.setPos(self.width, HEADER + (i + 0.5) * ROW)
            self.outputs[spec.name] = port

    def port(self, name: str, is_output: bool) -> PortItem | None:
        return (self.outputs if is_output else self.inputs).get(name)

    def ports(self) -> list[PortItem]:
        return [*self.inputs.values(), *self.outputs.values()]

    def update_from_model(self, node: Node) -> None:
        """Show the node's current name and parameters."""
        self.node = node
        self.prepareGeometryChange()
        self.width, self.height = node_size(node)
        self._header = None
        self.update()

    def header_path(self) -> QPainterPath:
        """The coloured header band (rounded at the top), made once per size."""
        if self._header is None:
            header = QPainterPath()
            header.setFillRule(Qt.WindingFill)
            header.addRoundedRect(QRectF(0, 0, self.width, HEADER), 8, 8)
            header.addRect(QRectF(0, HEADER / 2, self.width, HEADER / 2))
            self._header = header.simplified()
        return self._header

    def set_analysis(self, output_text: str, param_count: int | None, error: str,
                     data: DataShape | None = None) -> None:
        """Show the inferred output shape, parameter count and error (if any), for a
        dataset of shape ``data``."""
        if (output_text, param_count, error, data) != (self.output_text, self.param_count,
                                                        self.analysis_error, self.data):
            self.output_text, self.param_count, self.analysis_error = \
                output_text, param_count, error
            self.data = data
            self._show_error()

    @property
    def card_text(self) -> str:
        """The line under the title (``"128 units"``): the node type's own text."""
        return self.node.type.card_text(self.node.params, self.data)

    def set_failure(self, message: str) -> None:
        """Mark the card as the node a training run failed at (a NaN loss): the red
        outline and error text of a shape error, with ``message`` as the error text and
        tooltip. ``""`` removes the mark."""
        if message != self.failure:
            self.failure = message
            self._show_error()

    def set_focus(self, on: bool) -> None:
        """Outline the card in the focus colour (the step-through's current node)."""
        if on != self.focused:
            self.focused = on
            self.update()

    def set_badges(self, badges: Sequence[tuple[str, str]]) -> None:
        """Show small labels above the card's top right corner, e.g. ``("dead 40%",
        "#d62828")`` (text, colour): the gradient flow's unit health; ``()`` none."""
        badges = tuple(badges)
        if badges != self.badges:
            self.badges = badges
            self.update()

    def _show_error(self) -> None:
        self.error = self.analysis_error or self.failure
        name = html.escape(self.node.name, False)
        self.setToolTip(f"<b>{name}</b>: {html.escape(self.error, False)}" if self.error else
                        f"<b>{name}</b> — {self.node.type.summary}")
        self.update()

    # ------------------------------------------------------------------ painting
    def boundingRect(self) -> QRectF:  # above the card: room for the badges
        return QRectF(-RADIUS - 6, -BADGE - 6, self.width + 2 * RADIUS + 12,
                      self.height + BADGE + 14)

    def card_rect(self) -> QRectF:
        return QRectF(0, 0, self.width, self.height)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: Any = None) -> None:
        theme: Theme = self.scene().theme  # type: ignore[union-attr]
        st = style(theme)
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        rect = self.card_rect()
        category = st.category.get(self.node.type.category, st.dim)
        painter.setPen(st.border_selected if self.isSelected() else
                       st.border_focus if self.focused else
                       st.border_error if self.error else st.border)
        painter.setBrush(st.card)
        if lod < TEXT_LOD:  # far away: a plain card with its colour band and ports
            painter.drawRect(rect)
            painter.fillRect(QRectF(0, 0, self.width, HEADER), category)
            if lod >= PORT_LOD:
                for port in self.ports():
                    port.draw(painter, st, False)
            return
        painter.drawRoundedRect(rect, 8, 8)
        if self.badges:
            self._draw_badges(painter, st)
        painter.setPen(Qt.NoPen)
        painter.setBrush(category)
        painter.drawPath(self.header_path())
        for port in self.ports():
            port.draw(painter, st, True)
        # title
        painter.setPen(QColor("white"))
        painter.setFont(TITLE_FONT)
        title_rect = QRectF(10, 0, self.width - 20 - (18 if self.error else 0), HEADER)
        title = QFontMetricsF(TITLE_FONT).elidedText(
            f"{self.node.type.glyph}  {self.node.name}", Qt.ElideRight, title_rect.width())
        painter.drawText(title_rect, Qt.AlignVCenter | Qt.AlignLeft, title)
        if self.error:  # red mark
            center = QPointF(self.width - 15, HEADER / 2)
            painter.setBrush(QColor(theme.error))
            painter.setPen(QPen(QColor("white"), 1.5))
            painter.drawEllipse(center, 8, 8)
            painter.setFont(_font(9, True))
            painter.drawText(QRectF(center.x() - 8, center.y() - 8, 16, 16), Qt.AlignCenter, "!")
        # port labels
        painter.setFont(BODY_FONT)
        painter.setPen(QColor(theme.text))
        for port in self.inputs.values():
            y = port.pos().y()
            painter.drawText(QRectF(12, y - ROW / 2, self.width / 2 - 12, ROW),
                             Qt.AlignVCenter | Qt.AlignLeft, port.label)
        for port in self.outputs.values():
            y = port.pos().y()
            painter.drawText(QRectF(self.width / 2, y - ROW / 2, self.width / 2 - 12, ROW),
                             Qt.AlignVCenter | Qt.AlignRight, port.label)
        # info: main parameters, output shape, parameter count
        top = self.height - INFO
        painter.setPen(QPen(QColor(theme.card_border), 1))
        painter.drawLine(QPointF(8, top), QPointF(self.width - 8, top))
        painter.setPen(QColor(theme.text))
        painter.setFont(BODY_FONT)
        metrics = QFontMetricsF(BODY_FONT)
        text = self.card_text
        if text:
            painter.drawText(QRectF(10, top + 2, self.width - 20, 18),
                             Qt.AlignVCenter | Qt.AlignLeft,
                             metrics.elidedText(text, Qt.ElideRight, self.width - 30))
        else:
            top -= 8  # no parameter line: the info line moves up
        painter.setFont(SMALL_FONT)
        painter.setPen(QColor(theme.error if self.error else theme.text_dim))
        if self.error:
            info = "error: " + self.error
        elif any(p.kind == "loss" for p in self.outputs.values()):
            info = "the number training minimizes"
        else:
            info = self.output_text or "shape unknown"
            if self.param_count:
                info += f"  ·  {self.param_count:,} params"
        # elided with a margin: at other zoom levels hinting makes text a little wider
        painter.drawText(QRectF(10, top + 19, self.width - 20, 18), Qt.AlignVCenter | Qt.AlignLeft,
                         QFontMetricsF(SMALL_FONT).elidedText(info, Qt.ElideRight, self.width - 34))


    def _draw_badges(self, painter: QPainter, st: _Style) -> None:
        """The badges, right-aligned in a row just above the card."""
        painter.setFont(SMALL_FONT)
        metrics = QFontMetricsF(SMALL_FONT)
        right = self.width
        for text, color in self.badges:
            w = metrics.horizontalAdvance(text) + 12
            box = QRectF(right - w, -BADGE - 3, w, BADGE)
            painter.setPen(Qt.NoPen)
            painter.setBrush(QColor(color))
            painter.drawRoundedRect(box, BADGE / 2, BADGE / 2)
            painter.setPen(st.badge_text)
            painter.drawText(box, Qt.AlignCenter, text)
            right -= w + 4


class EdgeItem(QGraphicsPathItem):
    """One wire: a cubic curve from an output port to an input port, coloured by what it
    carries and labelled with its shape at the middle."""

    def __init__(self, edge: Edge, kind: str) -> None:
        super().__init__()
        self.edge, self.kind = edge, kind
        self.label = ""
        self.setFlags(QGraphicsItem.ItemIsSelectable)
        self.setZValue(0)
        self._mid = QPointF()
        self._bounds = QRectF()
        self.backward = False
        self.overlay: QPen | None = None  # drawn instead of the kind's pen (set_overlay)
        #: The label's own item, above every wire (a lit or flow-coloured wire would
        #: cover another wire's label): the scene adds and removes it with the wire.
        self.label_item = WireLabel(self)

    def update_path(self, start: QPointF, end: QPointF, lane: float | None = None) -> None:
        """Redraw the curve between two scene points (along a lane below the cards in
        between, when ``lane`` is given)."""
        self.backward = end.x() < start.x() + 40
        path = wire_path(start, end, lane)
        self.prepareGeometryChange()
        self._mid = path.pointAtPercent(0.5)
        self.setPath(path)
        self._bounds = path.boundingRect().adjusted(-3, -3, 3, 3)
        self.label_item.place()

    def set_overlay(self, pen: QPen | None) -> None:
        """Draw the wire with ``pen`` (the step-through's focus, the gradient flow's
        width and colour) instead of its kind's; None: as usual. A selected wire is
        drawn selected either way."""
        if pen is not self.overlay:
            self.overlay = pen
            self.setZValue(0 if pen is None else 0.5)
            self.update()
            self.label_item.update()  # its frame takes the wire's colour

    def set_label(self, text: str) -> None:
        if text != self.label:
            self.label = text
            self.label_item.place()

    def drawn_pen(self) -> QPen:
        """The pen the wire is drawn with now: the selection's, else the overlay's,
        else its kind's."""
        st = style(self.scene().theme)  # type: ignore[union-attr]
        selected = self.isSelected()
        if self.overlay is not None and not selected:
            return self.overlay
        return st.wire_pen.get((self.kind, selected), st.dim_pen)

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value: Any) -> Any:
        if change == QGraphicsItem.ItemSelectedHasChanged:
            self.label_item.update()
        elif change == QGraphicsItem.ItemVisibleHasChanged:
            self.label_item.setVisible(bool(value))  # a wire being re-dragged hides both
        return super().itemChange(change, value)

    def shape(self) -> QPainterPath:
        stroker = QPainterPathStroker()
        stroker.setWidth(12)
        return stroker.createStroke(self.path())

    def boundingRect(self) -> QRectF:
        return self._bounds

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: Any = None) -> None:
        painter.setPen(self.drawn_pen())
        painter.setBrush(Qt.NoBrush)
        painter.drawPath(self.path())


class WireLabel(QGraphicsItem):
    """A wire's label (its shape, or the step-through's numbers) in a rounded box at
    the wire's middle, framed in the wire's colour. A top-level item above every wire
    and below the cards; on a wire too short to show around the box it sits just above
    the wire instead of covering it, over the cards' headers."""

    def __init__(self, wire: EdgeItem) -> None:
        super().__init__()
        self.wire = wire
        self.setZValue(0.9)
        self.setAcceptedMouseButtons(Qt.NoButton)  # clicks go to the wire below
        self._box = QRectF()

    def place(self) -> None:
        """Size and place the box from the wire's label and path."""
        self.prepareGeometryChange()
        text, mid = self.wire.label, self.wire._mid
        if not text:
            self._box = QRectF()
        else:
            w = QFontMetricsF(SMALL_FONT).horizontalAdvance(text) + 10
            path = self.wire.path().boundingRect()
            short = path.width() < w + 24 and path.height() < 30
            y = mid.y() - 23 if short else mid.y() - 9
            self._box = QRectF(mid.x() - w / 2, y, w, 18)
            # Between two close cards the box is wider than the gap: it goes over the
            # cards' headers rather than under them.
            self.setZValue(1.5 if short else 0.9)
        self.update()

    def boundingRect(self) -> QRectF:
        return self._box.adjusted(-1, -1, 1, 1)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: Any = None) -> None:
        if self._box.isEmpty():
            return
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        if lod < TEXT_LOD:
            return
        theme: Theme = self.scene().theme  # type: ignore[union-attr]
        painter.setFont(SMALL_FONT)
        painter.setPen(QPen(self.wire.drawn_pen().color(), 1))
        painter.setBrush(QColor(theme.wire_label_bg))
        painter.drawRoundedRect(self._box, 6, 6)
        painter.setPen(QColor(theme.text))
        painter.drawText(self._box, Qt.AlignCenter, self.wire.label)


def wire_path(start: QPointF, end: QPointF, lane: float | None = None) -> QPainterPath:
    """A smooth S-curve from ``start`` (an output, heading right) to ``end`` (an input,
    entered from the left); wires going backwards loop around. With ``lane`` (a scene
    y), the wire dips to that height for its long middle stretch, so it runs below the
    cards between its ends instead of behind them."""
    path = QPainterPath(start)
    backward = end.x() < start.x() + 40
    if lane is None or (not backward and end.x() - start.x() < 400):
        dx = max(abs(end.x() - start.x()) * 0.5, 60.0)
        path.cubicTo(QPointF(start.x() + dx, start.y()), QPointF(end.x() - dx, end.y()), end)
        return path
    r = 60.0
    if backward:  # out of the right side, down to the lane, back left, into the left side
        a, b = QPointF(start.x() + r, lane), QPointF(end.x() - r, lane)
        path.cubicTo(QPointF(start.x() + r, start.y()), QPointF(start.x() + r, start.y()), a)
        path.lineTo(b)
        path.cubicTo(QPointF(end.x() - r, end.y()), QPointF(end.x() - r, end.y()), end)
        return path
    a, b = QPointF(start.x() + 2 * r, lane), QPointF(end.x() - 2 * r, lane)
    path.cubicTo(QPointF(start.x() + r, start.y()), QPointF(start.x() + r, lane), a)
    path.lineTo(b)
    path.cubicTo(QPointF(end.x() - r, lane), QPointF(end.x() - r, end.y()), end)
    return path
