"""The node palette: every node type of the catalogue, by category, to drag onto the canvas.

Entries are grouped in :data:`nncore.graph.CATEGORIES` order, each with a small icon
(the type's glyph on a rounded square in its category colour) and its display name; the
tooltip is the type's summary and its text for learners. A search field above filters
as you type (display name, type id, category and summary, case-insensitive; several
words must all match) and Enter adds the first match.

Dragging an entry starts a :class:`QDrag` whose mime data carries the type id under
:data:`MIME_TYPE` (and as plain text); the canvas accepts such drops. Double-click or
Enter on an entry emits :attr:`Palette.add_requested` with the type id; the main window
then adds the node at the centre of the view.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QEvent, QMimeData, QObject, QPoint, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (QColor, QDrag, QFont, QFontMetrics, QIcon, QKeyEvent, QMouseEvent,
                           QPainter, QPainterPath, QPalette, QPen, QPixmap)
from PySide6.QtWidgets import (QAbstractItemView, QLineEdit, QTreeWidget, QTreeWidgetItem,
                               QVBoxLayout, QWidget)

from app.editor.scene import NODE_MIME
from app.theme import CATEGORY_COLORS
from nncore.graph import CATALOGUE, CATEGORIES, NodeType

__all__ = ["Palette", "MIME_TYPE", "glyph_pixmap", "glyph_icon",
           "mime_data", "type_id_from_mime", "type_tooltip", "matches"]

#: Mime type of a node type dragged from the palette; the data is the type id in UTF-8.
MIME_TYPE = NODE_MIME  # the canvas accepts drops of this type


_FALLBACK_COLOR = "#7a7a7a"
_TYPE_ROLE = Qt.ItemDataRole.UserRole + 1  # the type id of an entry (None on categories)
_TOOLTIP_WIDTH = 360  # px: learner texts wrap at a readable line length


def _text_color(background: QColor) -> QColor:
    """White or near-black, whichever reads better on ``background``."""
    luminance = (0.299 * background.redF() + 0.587 * background.greenF()
                 + 0.114 * background.blueF())
    return QColor("#1d1d1d") if luminance > 0.62 else QColor("white")


def glyph_pixmap(type_id: str, size: int = 20, device_pixel_ratio: float = 1.0) -> QPixmap:
    """The icon of a node type: its glyph on a rounded square in its category colour.

    Args:
        type_id: a catalogue type id.
        size: width and height in device-independent pixels.
        device_pixel_ratio: the screen's ratio (2.0 on a HiDPI screen), for a sharp icon.

    Raises:
        KeyError: for an unknown type id.
    """
    ntype = CATALOGUE[type_id]
    ratio = max(float(device_pixel_ratio), 1.0)
    pixmap = QPixmap(round(size * ratio), round(size * ratio))
    pixmap.setDevicePixelRatio(ratio)
    pixmap.fill(Qt.GlobalColor.transparent)
    color = QColor(CATEGORY_COLORS.get(ntype.category, _FALLBACK_COLOR))
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    rect = QRectF(0.5, 0.5, size - 1.0, size - 1.0)
    path = QPainterPath()
    path.addRoundedRect(rect, size * 0.22, size * 0.22)
    painter.fillPath(path, color)
    painter.setPen(QPen(color.darker(125), 1.0))
    painter.drawPath(path)
    font = QFont()
    font.setBold(True)
    font.setPixelSize(max(round(size * 0.68), 6))
    painter.setFont(font)
    painter.setPen(_text_color(color))
    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, ntype.glyph)
    painter.end()
    return pixmap


def glyph_icon(type_id: str, size: int = 20) -> QIcon:
    """:func:`glyph_pixmap` as an icon, sharp at 1x and 2x."""
    icon = QIcon()
    for ratio in (1.0, 2.0):
        icon.addPixmap(glyph_pixmap(type_id, size, ratio))
    return icon


def type_tooltip(ntype: NodeType) -> str:
    """Rich-text tooltip of a node type: summary in bold, then its learner text, wrapped."""
    return (f"<table width='{_TOOLTIP_WIDTH}' cellspacing='0' cellpadding='2'><tr><td>"
            f"<p style='margin-bottom:6px'><b>{html.escape(ntype.summary, quote=False)}</b></p>"
            f"<p style='margin:0'>{html.escape(ntype.learn, quote=False)}</p>"
            f"<p style='margin-top:6px; color:#777777'>{html.escape(ntype.category)} · "
            f"<code>{html.escape(ntype.type_id)}</code></p></td></tr></table>")


def mime_data(type_id: str) -> QMimeData:
    """The data a palette drag carries: the type id under :data:`MIME_TYPE` and as text."""
    data = QMimeData()
    data.setData(MIME_TYPE, type_id.encode("utf-8"))
    data.setText(type_id)
    return data


def type_id_from_mime(data: QMimeData) -> str | None:
    """The node type id a drop carries (see :func:`mime_data`), or None when ``data`` is
    not a palette drag or names no catalogue type."""
    if data is None or not data.hasFormat(MIME_TYPE):
        return None
    try:
        type_id = bytes(data.data(MIME_TYPE)).decode("utf-8")
    except UnicodeDecodeError:
        return None
    return type_id if type_id in CATALOGUE else None


def matches(ntype: NodeType, query: str) -> bool:
    """Whether a search ``query`` matches a type: every word of it (case-insensitive) is
    part of the display name, the type id, the category or the summary."""
    words = query.casefold().split()
    haystack = " ".join((ntype.display_name, ntype.type_id, ntype.type_id.replace("_", " "),
                         ntype.category, ntype.summary)).casefold()
    return all(word in haystack for word in words)


def _drag_pixmap(ntype: NodeType, device_pixel_ratio: float) -> QPixmap:
    """A chip with the icon and display name, shown under the cursor while dragging."""
    font = QFont()
    metrics = QFontMetrics(font)
    icon = 18
    pad = 6
    width = pad + icon + pad + metrics.horizontalAdvance(ntype.display_name) + pad + 2
    height = max(icon, metrics.height()) + 2 * pad
    ratio = max(device_pixel_ratio, 1.0)
    pixmap = QPixmap(round(width * ratio), round(height * ratio))
    pixmap.setDevicePixelRatio(ratio)
    pixmap.fill(Qt.GlobalColor.transparent)
    color = QColor(CATEGORY_COLORS.get(ntype.category, _FALLBACK_COLOR))
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    path = QPainterPath()
    path.addRoundedRect(QRectF(0.5, 0.5, width - 1, height - 1), 6, 6)
    painter.fillPath(path, QColor(255, 255, 255, 235))
    painter.setPen(QPen(color, 1.5))
    painter.drawPath(path)
    painter.drawPixmap(QPoint(pad, (height - icon) // 2), glyph_pixmap(ntype.type_id, icon, ratio))
    painter.setFont(font)
    painter.setPen(QColor("#1d1d1d"))
    painter.drawText(QRectF(pad + icon + pad, 0, width, height),
                     Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                     ntype.display_name)
    painter.end()
    return pixmap


class _Tree(QTreeWidget):
    """The palette's tree: drags carry a node type; Enter on an entry asks to add it."""

    entry_activated = Signal(str)

    def startDrag(self, supported_actions: Qt.DropAction) -> None:  # noqa: N802 - Qt API
        item = self.currentItem()
        type_id = item.data(0, _TYPE_ROLE) if item is not None else None
        if not type_id:
            return
        drag = QDrag(self)
        drag.setMimeData(mime_data(type_id))
        pixmap = _drag_pixmap(CATALOGUE[type_id], self.devicePixelRatioF())
        drag.setPixmap(pixmap)
        drag.setHotSpot(QPoint(12, round(pixmap.height() / pixmap.devicePixelRatio() / 2)))
        drag.exec(Qt.DropAction.CopyAction, Qt.DropAction.CopyAction)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        item = self.itemAt(event.position().toPoint())
        type_id = item.data(0, _TYPE_ROLE) if item is not None else None
        if type_id and event.button() == Qt.MouseButton.LeftButton:
            self.setCurrentItem(item)
            self.entry_activated.emit(type_id)
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt API
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            item = self.currentItem()
            type_id = item.data(0, _TYPE_ROLE) if item is not None else None
            if type_id and not item.isHidden():
                self.entry_activated.emit(type_id)
                event.accept()
                return
        super().keyPressEvent(event)


class Palette(QWidget):
    """Every node type, by category, with a search field; drag or double-click to add.

    Signals:
        add_requested(str): the type id of an entry double-clicked or activated with
            Enter (in the list, or the first match from the search field).

    Attributes:
        search: the search field (a :class:`QLineEdit`).
        tree: the :class:`QTreeWidget` of categories and entries.
    """

    add_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("palette")
        self.search = QLineEdit(self)
        self.search.setObjectName("paletteSearch")
        self.search.setPlaceholderText("Search nodes…")
        self.search.setClearButtonEnabled(True)
        self.search.setToolTip("Filter by name, category or description; Enter adds the "
                               "first match, ↓ moves to the list")
        self.tree = _Tree(self)
        self.tree.setObjectName("paletteTree")
        self.tree.setHeaderHidden(True)
        self.tree.setColumnCount(1)
        self.tree.setRootIsDecorated(False)
        self.tree.setIndentation(8)
        self.tree.setIconSize(QSize(20, 20))
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.tree.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.tree.setExpandsOnDoubleClick(False)
        self.tree.setItemsExpandable(False)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tree.setMouseTracking(True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.search)
        layout.addWidget(self.tree, 1)

        self._categories: list[QTreeWidgetItem] = []
        self._populate()

        self.search.textChanged.connect(self._filter)
        self.search.returnPressed.connect(self._add_first_match)
        self.search.installEventFilter(self)
        self.tree.entry_activated.connect(self.add_requested)

    # ------------------------------------------------------------------ building
    def _populate(self) -> None:
        by_category: dict[str, list[NodeType]] = {c: [] for c in CATEGORIES}
        for ntype in CATALOGUE.values():
            by_category.setdefault(ntype.category, []).append(ntype)
        header_font = QFont(self.tree.font())
        header_font.setBold(True)
        for category, types in by_category.items():
            if not types:
                continue
            header = QTreeWidgetItem(self.tree, [category])
            header.setFlags(Qt.ItemFlag.ItemIsEnabled)
            header.setFont(0, header_font)
            header.setData(0, _TYPE_ROLE, None)
            header.setSizeHint(0, QSize(-1, 26))
            for ntype in types:
                entry = QTreeWidgetItem(header, [ntype.display_name])
                entry.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                               | Qt.ItemFlag.ItemIsDragEnabled)
                entry.setIcon(0, glyph_icon(ntype.type_id))
                entry.setToolTip(0, type_tooltip(ntype))
                entry.setData(0, _TYPE_ROLE, ntype.type_id)
                entry.setSizeHint(0, QSize(-1, 24))
                entry.setStatusTip(0, ntype.summary)
            self._categories.append(header)
        self.tree.expandAll()
        self._color_headers()

    def _color_headers(self) -> None:
        """Category names in their colour, darker on a light background, lighter on a
        dark one, so they stay readable in both themes."""
        dark = self.palette().color(QPalette.ColorRole.Base).lightness() < 128
        for header in self._categories:
            color = QColor(CATEGORY_COLORS.get(header.text(0), _FALLBACK_COLOR))
            header.setForeground(0, color.lighter(125) if dark else color.darker(135))

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self._color_headers()
        super().changeEvent(event)

    def _entries(self):
        for header in self._categories:
            for i in range(header.childCount()):
                yield header, header.child(i)

    # ------------------------------------------------------------------ public
    def entries_width(self) -> int:
        """The width (pixels) the palette needs to show every entry's name whole (the
        longest, "Binary Cross-Entropy"): the name, its icon, the indentation, the
        scroll bar and the margins."""
        fm = self.tree.fontMetrics()
        longest = max(fm.horizontalAdvance(entry.text(0)) for _, entry in self._entries())
        margins = self.layout().contentsMargins()
        return (longest + self.tree.iconSize().width() + 2 * self.tree.indentation()
                + self.tree.verticalScrollBar().sizeHint().width()
                + margins.left() + margins.right() + 24)  # 24: the item's own padding

    def type_ids_shown(self) -> list[str]:
        """The type ids of the entries the filter shows, in the order shown."""
        return [entry.data(0, _TYPE_ROLE) for header, entry in self._entries()
                if not header.isHidden() and not entry.isHidden()]

    # ------------------------------------------------------------------ behaviour
    def _filter(self, text: str) -> None:
        for header in self._categories:
            visible = 0
            for i in range(header.childCount()):
                entry = header.child(i)
                shown = matches(CATALOGUE[entry.data(0, _TYPE_ROLE)], text)
                entry.setHidden(not shown)
                visible += shown
            header.setHidden(visible == 0)
            header.setExpanded(True)
        current = self.tree.currentItem()
        if current is not None and (current.isHidden() or (current.parent() is not None
                                                           and current.parent().isHidden())):
            self.tree.setCurrentItem(None)

    def _first_entry(self) -> QTreeWidgetItem | None:
        for header, entry in self._entries():
            if not header.isHidden() and not entry.isHidden():
                return entry
        return None

    def _add_first_match(self) -> None:
        entry = self._first_entry()
        if entry is not None:
            self.add_requested.emit(entry.data(0, _TYPE_ROLE))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if watched is self.search and event.type() == QEvent.Type.KeyPress:
            key = event.key()
            if key == Qt.Key.Key_Down:
                entry = self._first_entry()
                if entry is not None:
                    self.tree.setCurrentItem(entry)
                    self.tree.setFocus(Qt.FocusReason.TabFocusReason)
                    return True
            elif key == Qt.Key.Key_Escape and self.search.text():
                self.search.clear()
                return True
        return super().eventFilter(watched, event)
