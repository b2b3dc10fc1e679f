"""Where the window's minimap sits and when it shows.

The minimap (:class:`app.editor.minimap.Minimap`) is a child of the canvas view: it sits
in the view's bottom-right corner, above the cards, and shows (if switched on) only while
part of the network is out of view: when everything is visible it would just cover the
canvas.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, QTimer, Slot
from PySide6.QtWidgets import QWidget

__all__ = ["MinimapCorner", "MARGIN"]

#: Distance of the minimap from the view's right and bottom edges (pixels).
MARGIN = 12


class MinimapCorner(QObject):
    """Keeps ``minimap`` in the bottom-right corner of ``view`` and shows it only when
    :attr:`enabled` and part of ``scene``'s network is out of view.

    The visibility is rechecked once per event-loop turn after a zoom, a scroll, or an
    edit of ``graph`` (its ``node_added``, ``node_removed``, ``node_changed`` and
    ``graph_reset`` events), and the corner after every resize or show of the view.
    """

    def __init__(self, minimap: QWidget, view: Any, scene: Any, graph: Any,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.minimap, self.view, self.scene = minimap, view, scene
        self._enabled = True
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.update_visibility)
        # declared slots only: Qt drops the connections with their receiver
        view.zoom_changed.connect(self._zoomed)
        view.horizontalScrollBar().valueChanged.connect(self._scrolled)
        view.verticalScrollBar().valueChanged.connect(self._scrolled)
        for event in ("node_added", "node_removed", "node_changed", "graph_reset"):
            getattr(graph, event).connect(self._graph_event)
        view.viewport().installEventFilter(self)  # its geometry is current on its Resize

    @property
    def enabled(self) -> bool:
        """Whether the user wants the minimap (View → Minimap)."""
        return self._enabled

    def set_enabled(self, on: bool) -> None:
        """Switch the minimap on or off (shown only while needed when on)."""
        self._enabled = bool(on)
        self.update_visibility()

    @Slot(float)
    def _zoomed(self, _zoom: float) -> None:
        self.minimap.update_view()
        self._timer.start()

    @Slot(int)
    def _scrolled(self, _value: int) -> None:
        self._timer.start()

    def _graph_event(self, *_: object) -> None:
        self._timer.start()

    @Slot()
    def update_visibility(self) -> None:
        """Show the minimap if enabled and part of the network is out of view."""
        rect = self.scene.items_rect()
        whole = rect.isEmpty() or self.view.visible_scene_rect().contains(rect)
        self.minimap.setVisible(self._enabled and not whole)

    def place(self) -> None:
        """Move the minimap into the view's bottom-right corner, above the cards."""
        vp = self.view.viewport().geometry()
        self.minimap.move(vp.right() - self.minimap.width() - MARGIN,
                          vp.bottom() - self.minimap.height() - MARGIN)
        self.minimap.raise_()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if event.type() in (QEvent.Type.Resize, QEvent.Type.Show):
            self.place()
        return False
