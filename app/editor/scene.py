"""The canvas scene: a live view of the graph model, and the gestures that edit it.

:class:`GraphScene` creates one :class:`~app.editor.items.NodeItem` per node and one
:class:`~app.editor.items.EdgeItem` per wire, and keeps them in step with the model by
following the graph's events (it never keeps a second copy of positions or parameters).
Shapes, parameter counts and errors are shown from the project's analysis (the graph on
its dataset: the Input's shapes come from the data), refreshed once after a burst of
edits or a change of dataset.

Gestures become undoable commands on the document: dragging from a port draws a wire
(valid targets light up, invalid ones dim; dropping on an invalid port says why and adds
nothing); dragging a wire's end off its input port disconnects it; moving nodes is one
command per drag; delete, copy, paste, duplicate; a node type dropped from the palette is
added where it lands.
"""

from __future__ import annotations

import atexit
import contextlib
import json
from typing import Any, Iterator, Sequence

from PySide6.QtCore import QMimeData, QPointF, QRectF, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QColor, QPen, QTransform
from PySide6.QtWidgets import (QApplication, QGraphicsPathItem, QGraphicsScene,
                               QGraphicsSceneDragDropEvent, QGraphicsSceneMouseEvent)

from app.document import Document
from app.editor import commands
from app.editor.items import EdgeItem, NodeItem, PortItem, node_size, style, wire_path
from app.theme import LIGHT, PORT_COLORS, Theme
from nncore.graph import Edge, Graph, GraphError, Node, ParamError, Verdict
from nncore.graph import io as graph_io
from nncore.limits import MAX_PROJECT_BYTES, size_text

__all__ = ["GraphScene", "NODE_MIME", "CLIPBOARD_MIME"]

#: Drag-and-drop mime type of a node type id (the palette's drags).
NODE_MIME = "application/x-nncanvas-node-type"
#: Clipboard mime type of copied nodes (JSON: nodes and the wires among them).
CLIPBOARD_MIME = "application/x-nncanvas-nodes"


_CLIPBOARD_HOOKED = False


def _hand_over_clipboard_at_exit() -> None:
    """Before the application quits and before Python finalizes, replace a QMimeData
    made in Python on the clipboard by the same text in one Qt makes: the clipboard
    destroys its data after Python is gone, and destroying a Python-made QMimeData then
    crashes (SIGSEGV, exit code 139). The copied nodes stay on the clipboard as text,
    which Paste reads too."""
    global _CLIPBOARD_HOOKED
    if _CLIPBOARD_HOOKED:
        return
    _CLIPBOARD_HOOKED = True
    atexit.register(_hand_over_clipboard)
    app = QApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(_hand_over_clipboard)


def _hand_over_clipboard() -> None:
    app = QApplication.instance()
    if app is None:
        return
    clipboard = QApplication.clipboard()
    mime = clipboard.mimeData()
    if mime is not None and mime.hasFormat(CLIPBOARD_MIME):
        clipboard.setText(bytes(mime.data(CLIPBOARD_MIME)).decode("utf-8", "replace"))


class GraphScene(QGraphicsScene):
    """The scene showing ``document.graph``.

    Signals:
        message(str): a status-bar message (why a wire was refused, what was done).
        selection_changed_nodes(list): the ids of the selected nodes.
    """

    message = Signal(str)
    selection_changed_nodes = Signal(list)
    def __init__(self, document: Document, theme: Theme = LIGHT, parent: Any = None) -> None:
        super().__init__(parent)
        self.document = document
        self.theme = theme
        self.nodes: dict[str, NodeItem] = {}
        self.edges: dict[Edge, EdgeItem] = {}
        # the labels wires and the wires going backwards: they route below the cards
        # they pass, so any card moving may move them
        self._wires_below: set[EdgeItem] = set()
        self._drag: dict[str, Any] | None = None  # a wire being drawn
        self._press_positions: dict[str, QPointF] = {}
        self._below_timer = QTimer(self)
        self._below_timer.setSingleShot(True)
        self._below_timer.setInterval(0)
        self._below_timer.timeout.connect(self.place_wires_below)
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(0)
        self._refresh_timer.timeout.connect(self.refresh)
        # Selection changes of many items at once (select all, paste, delete, undo) are
        # announced once: Qt emits selectionChanged per item, and every listener does
        # O(N) work (the inspector, the window's actions), which made them O(N^2).
        self._selection_hold = 0
        self._selection_pending = False
        self._selection_timer = QTimer(self)
        self._selection_timer.setSingleShot(True)
        self._selection_timer.setInterval(0)
        self._selection_timer.timeout.connect(self._emit_selection)
        #: How often the analysis was shown (refresh) and the selection announced: for
        #: tests that check a burst of edits costs O(1) of each, not O(N).
        self.refresh_count = 0
        self.selection_emit_count = 0
        self.setItemIndexMethod(QGraphicsScene.BspTreeIndex)
        self.selectionChanged.connect(self._selection_changed)
        graph = document.graph
        graph.node_added.connect(self._on_node_added)
        graph.node_removed.connect(self._on_node_removed)
        graph.node_changed.connect(self._on_node_changed)
        graph.edge_added.connect(self._on_edge_added)
        graph.edge_removed.connect(self._on_edge_removed)
        graph.graph_reset.connect(self.rebuild)
        # the data decides the Input's shapes: another dataset, file or folder re-derives
        # every width, count and error downstream
        graph.settings_changed.connect(self._data_changed)
        document.path_changed.connect(self._path_changed)
        self.failed_node: str | None = None  # the node a training run failed at
        #: (node id, output port) -> a text shown on its wires instead of the shape
        self.wire_notes: dict[tuple[str, str], str] = {}
        #: the step-through's current node (its card and wires in the focus colour)
        self.focus: str | None = None
        #: the gradient flow: (node id, output port) -> the pen of its wires, and node
        #: id -> its badges ((text, colour), ...)
        self.flow_pens: dict[tuple[str, str], QPen] = {}
        self.flow_badges: dict[str, Sequence[tuple[str, str]]] = {}
        self.flow_tips: dict[tuple[str, str], str] = {}
        for event in ("node_added", "node_removed", "edge_added", "edge_removed",
                      "settings_changed", "graph_reset"):
            getattr(graph, event).connect(self.clear_failed_node)
        graph.node_changed.connect(self._node_edited)
        self.rebuild()

    @property
    def graph(self):
        return self.document.graph

    # ------------------------------------------------------------------ model -> items
    def rebuild(self) -> None:
        """Recreate every item from the model (after open/new)."""
        self._drag = None
        with self.selection_batch():
            self.clear()
        self.nodes.clear()
        self.edges.clear()
        self._wires_below.clear()
        for node in self.graph.nodes:
            self._on_node_added(node)
        for edge in self.graph.edges:
            self._on_edge_added(edge)
        self.refresh()

    def _on_node_added(self, node: Node) -> None:
        item = NodeItem(node)
        self.nodes[node.id] = item
        self.addItem(item)
        self._schedule()

    def _on_node_removed(self, node: Node) -> None:
        item = self.nodes.pop(node.id, None)
        if item is not None:
            self._remove_item(item)
        self._schedule()

    def _remove_item(self, item: Any) -> None:
        """Take ``item`` off the scene; a selected one changes the selection, which is
        announced once after the burst of edits (at the next event-loop turn, or at
        the end of a :meth:`selection_batch`)."""
        if not item.isSelected():
            self.removeItem(item)
            return
        self._selection_hold += 1
        try:
            self.removeItem(item)
        finally:
            self._selection_hold -= 1
        self._selection_pending = True
        if not self._selection_hold:
            self._selection_timer.start()

    def _on_node_changed(self, node: Node, what: str) -> None:
        item = self.nodes.get(node.id)
        if item is None:
            return
        if what == "position":
            if (item.pos().x(), item.pos().y()) != node.position:
                item.setPos(*node.position)
                self.node_item_moved(item)
        else:
            item.update_from_model(node)
            self._schedule()

    def _on_edge_added(self, edge: Edge) -> None:
        src = self.graph.node(edge.src)
        spec = src.type.output(edge.src_port)
        item = EdgeItem(edge, spec.kind if spec else "tensor")
        self.edges[edge] = item
        self.addItem(item)
        self.addItem(item.label_item)
        self._place_edge(item, lanes=False)
        self._schedule()

    def _on_edge_removed(self, edge: Edge) -> None:
        item = self.edges.pop(edge, None)
        if item is not None:
            self._wires_below.discard(item)
            self.removeItem(item.label_item)
            self._remove_item(item)
        self._schedule()

    def _place_edge(self, item: EdgeItem, lanes: bool = True) -> None:
        """Draw a wire between its ports. A labels wire or a wire going backwards routes
        below the cards it passes; with ``lanes=False`` it is drawn straight for now and
        routed with the others at the next :meth:`place_wires_below` (a burst of new
        wires is routed once, when the scene's index has every card)."""
        e = item.edge
        a, b = self.nodes.get(e.src), self.nodes.get(e.dst)
        if a is None or b is None:
            return
        out, inp = a.port(e.src_port, True), b.port(e.dst_port, False)
        if out is not None and inp is not None:
            start, end = out.scenePos(), inp.scenePos()
            backward = end.x() < start.x() + 40
            lane = None
            below = item.kind == "target" or backward
            if below and lanes:
                lane = self._lane(start, end, [a, b] if backward else [])
            item.update_path(start, end, lane)
            if below or item.backward:
                self._wires_below.add(item)
                if not lanes and not self._below_timer.isActive():
                    self._below_timer.start()
            else:
                self._wires_below.discard(item)

    def _lane(self, start: QPointF, end: QPointF, also: list[NodeItem]) -> float | None:
        """For a long labels wire or a wire going backwards: a height just below every
        card it would pass behind (and the cards in ``also``), so it runs under them."""
        left, right = min(start.x(), end.x()), max(start.x(), end.x())
        lo, hi = min(start.y(), end.y()), max(start.y(), end.y())
        bottom = None
        # the cards in the wire's band, from the scene's index (not a scan of every card:
        # with many such wires that was O(N) each)
        band = QRectF(left + 20, lo - 5, max(right - left - 40, 0.0), hi - lo + 10)
        passed = [i for i in self.items(band, Qt.ItemSelectionMode.IntersectsItemBoundingRect)
                  if isinstance(i, NodeItem)] if band.width() > 0 else []
        for node in (*passed, *also):
            r = node.sceneBoundingRect()
            if node in also or (r.right() > left + 20 and r.left() < right - 20
                                and r.bottom() > lo - 5 and r.top() < hi + 5):
                bottom = r.bottom() if bottom is None else max(bottom, r.bottom())
        return None if bottom is None else bottom + 24

    def node_item_moved(self, item: NodeItem) -> None:
        """After a card moved (a drag, or the model): its wires follow (and labels
        wires, which route below the cards they pass)."""
        self.node_items_moved([item])

    def node_items_moved(self, items: list[NodeItem]) -> None:
        """:meth:`node_item_moved` for several cards, placing each wire once: the
        cards' own wires at once, the wires routed below cards (which any card may
        have moved under) once after the burst of moves (a move per card of an
        auto-layout re-placed every one of them per card)."""
        graph, wires = self.graph, set()
        for item in items:
            nid = item.node_id
            if graph.has_node(nid):
                wires.update(self.edges[e] for e in (*graph.incoming(nid),
                                                     *graph.outgoing(nid)) if e in self.edges)
        for wire in wires:
            self._place_edge(wire)
        if self._wires_below and not self._below_timer.isActive():
            self._below_timer.start()

    @Slot()  # a declared slot: Qt drops the connection with the scene
    def place_wires_below(self) -> None:
        """Route every wire that runs below cards again (after cards moved)."""
        self._below_timer.stop()
        for wire in list(self._wires_below):
            self._place_edge(wire)

    def _data_changed(self, *_: Any) -> None:
        self._schedule()

    @Slot(object)
    def _path_changed(self, _path: Any) -> None:
        # a declared slot: Qt drops the connection when the scene is destroyed
        self._schedule()

    def _schedule(self) -> None:
        if not self._refresh_timer.isActive():
            self._refresh_timer.start()

    def refresh(self) -> None:
        """Show the current analysis: output shapes, parameter counts and errors on the
        cards, shapes on the wires, which ports are connected. Runs once after a burst
        of edits (and can be called directly)."""
        self._refresh_timer.stop()
        self.refresh_count += 1
        analysis = self.document.project.analysis()
        connected_in = {(e.dst, e.dst_port) for e in self.graph.edges}
        connected_out = {(e.src, e.src_port) for e in self.graph.edges}
        for nid, item in self.nodes.items():
            node = self.graph.node(nid)
            shapes = [str(analysis.shapes[(nid, p.name)]) for p in node.type.outputs
                      if (nid, p.name) in analysis.shapes and p.kind == "tensor"]
            item.set_analysis(", ".join(shapes), analysis.params.get(nid),
                              analysis.errors.get(nid, ""), analysis.data)
            for port in item.inputs.values():
                port.connected = (nid, port.port) in connected_in
                got = analysis.input_shapes.get((nid, port.port)) or []
                port.setToolTip(f"{port.label} ← {', '.join(map(str, got))}" if got else
                                f"{port.label}: drag a wire here from an output")
            for port in item.outputs.values():
                port.connected = (nid, port.port) in connected_out
                shape = analysis.shapes.get((nid, port.port))
                port.setToolTip(f"{port.label} → {shape}" if shape else
                                f"{port.label}: drag from here to an input")
        for edge, wire in self.edges.items():
            note = self.wire_notes.get((edge.src, edge.src_port))
            shape = analysis.shapes.get((edge.src, edge.src_port))
            wire.set_label(note if note is not None else "" if shape is None else
                           ("labels" if shape.classes else str(shape)))
        self._restyle()

    def set_focus(self, node_id: str | None) -> None:
        """Draw ``node_id``'s card and the wires into and out of it in the focus colour
        (the step-through's current node); None: none."""
        self.focus = node_id
        self._restyle()

    def set_flow(self, pens: dict[tuple[str, str], QPen],
                 badges: dict[str, Sequence[tuple[str, str]]],
                 tips: dict[tuple[str, str], str] | None = None) -> None:
        """Draw the wires leaving each (node id, output port) of ``pens`` with its pen
        (and ``tips`` as their tooltips) and put ``badges`` ((text, colour), ...) above
        the cards of their node ids: the gradient flow (:mod:`app.editor.flow`).
        ``({}, {})`` removes it. The focus of :meth:`set_focus` is drawn over it."""
        self.flow_pens, self.flow_badges = dict(pens), dict(badges)
        self.flow_tips = dict(tips or {})
        self._restyle()

    def _restyle(self) -> None:
        """Apply the focus and the gradient flow to the items (no analysis: cheap)."""
        focus, pens = self.focus, self.flow_pens
        focus_pen = style(self.theme).focus_wire
        for nid, item in self.nodes.items():
            item.set_focus(nid == focus)
            item.set_badges(self.flow_badges.get(nid, ()))
        for edge, wire in self.edges.items():
            wire.set_overlay(focus_pen if focus is not None and focus in (edge.src, edge.dst)
                             else pens.get((edge.src, edge.src_port)))
            wire.setToolTip(self.flow_tips.get((edge.src, edge.src_port), ""))

    def set_wire_notes(self, notes: dict[tuple[str, str], str]) -> None:
        """Label the wires leaving these (node id, output port)s with a text instead of
        their shape (the step-through's numbers); ``{}`` gives the shapes back."""
        self.wire_notes = dict(notes)
        self.refresh()

    def set_failed_node(self, node_id: str, message: str) -> None:
        """Outline ``node_id``'s card in red with ``message`` as its error text (a
        training run failed there) until :meth:`clear_failed_node`, which any change of
        the network or its settings calls (moving cards does not)."""
        self.clear_failed_node()
        item = self.nodes.get(node_id)
        if item is not None:
            item.set_failure(message)
            self.failed_node = node_id

    def clear_failed_node(self, *_: Any) -> None:
        """Remove the mark of :meth:`set_failed_node`."""
        node_id, self.failed_node = self.failed_node, None
        item = self.nodes.get(node_id) if node_id is not None else None
        if item is not None:
            item.set_failure("")

    def _node_edited(self, node: Node, what: str) -> None:
        if what != "position":
            self.clear_failed_node()

    def set_theme(self, theme: Theme) -> None:
        """Redraw everything in ``theme``."""
        self.theme = theme
        self.setBackgroundBrush(QColor(theme.canvas))
        self.update()

    # ------------------------------------------------------------------ selection
    def selected_node_ids(self) -> list[str]:
        """Ids of the selected nodes, in the graph's order."""
        chosen = {i.node_id for i in self.selectedItems() if isinstance(i, NodeItem)}
        return [n.id for n in self.graph.nodes if n.id in chosen]

    def selected_edges(self) -> list[Edge]:
        return [i.edge for i in self.selectedItems() if isinstance(i, EdgeItem)]

    def select_nodes(self, node_ids: list[str]) -> None:
        """Select exactly these nodes (announced once)."""
        with self.selection_batch():
            self.clearSelection()
            for nid in node_ids:
                if nid in self.nodes:
                    self.nodes[nid].setSelected(True)

    def select_all(self) -> None:
        """Select every node and wire (announced once)."""
        with self.selection_batch():
            for item in [*self.nodes.values(), *self.edges.values()]:
                item.setSelected(True)

    @contextlib.contextmanager
    def selection_batch(self) -> Iterator[None]:
        """Inside, selection changes are collected; ``selection_changed_nodes`` is
        emitted once at the end if the selection changed (batches nest)."""
        self._selection_hold += 1
        try:
            yield
        finally:
            self._selection_hold -= 1
            if not self._selection_hold and self._selection_pending:
                self._emit_selection()

    @Slot()  # a declared slot: Qt drops the connection with the scene
    def _selection_changed(self) -> None:
        if "_selection_timer" not in self.__dict__:
            return  # Qt announcing it while the scene is taken down: nobody listens
        if self._selection_hold:
            self._selection_pending = True
        else:
            self._emit_selection()

    @Slot()  # a declared slot: Qt drops the connection with the scene
    def _emit_selection(self) -> None:
        self._selection_pending = False
        self._selection_timer.stop()
        self.selection_emit_count += 1
        try:
            self.selection_changed_nodes.emit(self.selected_node_ids())
        except RuntimeError:  # pragma: no cover - during teardown
            pass

    # ------------------------------------------------------------------ editing
    def free_spot(self, type_id: str, near: QPointF) -> QPointF:
        """The centre nearest to ``near`` (searched outwards on a 40-unit grid) where a
        new ``type_id`` card would not cover another card."""
        w, h = node_size(Node("", type_id, "", {}, (0, 0)))
        rects = [item.sceneBoundingRect().adjusted(-20, -20, 20, 20)
                 for item in self.nodes.values()]
        for ring in range(0, 40):
            candidates = [(dx, dy) for dx in range(-ring, ring + 1) for dy in range(-ring, ring + 1)
                          if max(abs(dx), abs(dy)) == ring]
            for dx, dy in sorted(candidates, key=lambda d: (abs(d[1]), abs(d[0]))):
                center = QPointF(near.x() + dx * 40, near.y() + dy * 40)
                rect = QRectF(center.x() - w / 2, center.y() - h / 2, w, h)
                if not any(rect.intersects(r) for r in rects):
                    return center
        return near

    def add_node(self, type_id: str, position: QPointF) -> str | None:
        """Add a node of ``type_id`` centred at ``position`` (undoable); returns its id
        (None if edits are refused right now)."""
        w, h = node_size(Node("", type_id, "", {}, (0, 0)))
        cmd = commands.AddNode(self.graph, type_id,
                               (round(position.x() - w / 2), round(position.y() - h / 2)))
        if not self.document.push(cmd):
            return None
        self.select_nodes([cmd.node_id])
        return cmd.node_id

    def delete_selection(self) -> None:
        """Delete the selected nodes and wires as one undoable step."""
        node_ids = self.selected_node_ids()
        edges = [e for e in self.selected_edges()
                 if e.src not in node_ids and e.dst not in node_ids]
        if not node_ids and not edges:
            return
        names = [self.graph.node(n).name for n in node_ids]
        what = (names[0] if len(names) == 1 else f"{len(names)} nodes" if names else
                f"{len(edges)} wire{'s' if len(edges) != 1 else ''}")
        with self.selection_batch(), self.document.macro(f"Delete {what}") as allowed:
            if allowed and edges:
                self.document.push(commands.RemoveEdges(self.graph, edges))
            if allowed and node_ids:
                self.document.push(commands.RemoveNodes(self.graph, node_ids))

    def copy_data(self, node_ids: list[str] | None = None) -> dict[str, Any]:
        """The selected (or given) nodes and the wires among them, as the contents of a
        graph file (:func:`nncore.graph.io.to_dict`, without settings): what Copy puts
        on the clipboard and Paste reads back through the file format's checks."""
        ids = self.selected_node_ids() if node_ids is None else node_ids
        chosen = set(ids)
        part = Graph()
        for n in self.graph.nodes:
            if n.id in chosen:
                part.add_node(n.type_id, n.position, n.params, n.name, n.id)
        for e in self.graph.edges:
            if e.src in chosen and e.dst in chosen:
                part.connect(e.src, e.src_port, e.dst, e.dst_port)
        data = graph_io.to_dict(part)
        del data["settings"]  # nodes and wires only: a paste changes no setting
        return data

    def copy(self) -> bool:
        """Put the selected nodes on the clipboard; False if nothing is selected."""
        data = self.copy_data()
        if not data["nodes"]:
            return False
        mime = QMimeData()
        text = json.dumps(data)
        mime.setData(CLIPBOARD_MIME, text.encode("utf-8"))
        mime.setText(text)
        QApplication.clipboard().setMimeData(mime)
        _hand_over_clipboard_at_exit()
        return True

    def _clipboard_text(self) -> str | None:
        """The clipboard's nodes as text (our mime type, else plain text), or None when
        it holds nothing to paste (said in a message)."""
        mime = QApplication.clipboard().mimeData()
        raw: bytes | str = b""
        if mime is not None and mime.hasFormat(CLIPBOARD_MIME):
            raw = bytes(mime.data(CLIPBOARD_MIME))
        elif mime is not None and mime.hasText():
            raw = mime.text()
        if not raw.strip():
            self.message.emit("Nothing to paste: copy some nodes first")
            return None
        if len(raw) > MAX_PROJECT_BYTES:
            self.message.emit(f"Nothing pasted: the clipboard holds {size_text(len(raw))}, "
                              f"more than NN Canvas reads ({size_text(MAX_PROJECT_BYTES)})")
            return None
        if isinstance(raw, bytes):
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError as e:
                self.message.emit(f"Nothing pasted: the clipboard's nodes are not text "
                                  f"(byte {e.start} is not UTF-8)")
                return None
        return raw

    def paste(self, data: dict[str, Any] | str | None = None,
              offset: tuple[float, float] = (40, 40), text: str = "Paste") -> list[str]:
        """Add copies of the clipboard's nodes (or of ``data``: graph-file contents as
        :meth:`copy_data` makes them, or their JSON text), shifted by ``offset``; the
        copies get new ids and names, keep the wires among them, and are selected.

        The whole paste is checked first, as a graph file is on opening (types, ids,
        names, parameters, positions, wires, cycles, sizes): it is applied as one undo
        step, or refused with a message (``message`` signal: the status bar) and the
        graph is unchanged. Returns the ids of the copies ([] when refused)."""
        source = "clipboard" if data is None else "pasted nodes"
        if data is None:
            data = self._clipboard_text()
            if data is None:
                return []
        try:
            part = (graph_io.loads(data, source) if isinstance(data, str)
                    else graph_io.from_dict(data, source))
        except graph_io.GraphFileError as e:
            self.message.emit(f"Nothing pasted: {e}")
            return []
        if not len(part):
            self.message.emit("Nothing to paste: the clipboard holds no nodes")
            return []
        nodes = [{"id": n.id, "type": n.type_id, "name": n.name, "params": dict(n.params),
                  "position": list(n.position)} for n in part.nodes]
        edges = [(e.src, e.src_port, e.dst, e.dst_port) for e in part.edges]
        cmd = commands.AddSubgraph(self.graph, nodes, edges, offset, text)
        try:
            if not self.document.push(cmd):
                return []
        except (GraphError, ParamError) as e:  # the command undid what it had done
            self.message.emit(f"Nothing pasted: {e}")
            return []
        self.select_nodes(cmd.new_ids)
        return cmd.new_ids

    def duplicate(self) -> list[str]:
        """Copy and paste the selection in one step (the clipboard is left alone)."""
        data = self.copy_data()
        return self.paste(data, text="Duplicate") if data["nodes"] else []

    # ------------------------------------------------------------------ wires by mouse
    def port_at(self, pos: QPointF) -> PortItem | None:
        for item in self.items(pos, Qt.IntersectsItemShape, Qt.DescendingOrder, QTransform()):
            if isinstance(item, PortItem):
                return item
        return None

    def begin_wire(self, port: PortItem) -> None:
        """Start drawing a wire from ``port`` (from an input with a wire: pick up that
        wire's end to move or remove it)."""
        detached: Edge | None = None
        anchor = port
        if not port.is_output:
            wires = self.graph.incoming(port.node_id, port.port)
            if wires:
                detached = wires[-1]
                anchor = self.nodes[detached.src].port(detached.src_port, True)
        preview = QGraphicsPathItem()
        preview.setZValue(3)
        preview.setPen(QPen(QColor(PORT_COLORS.get(anchor.kind, "#888")), 2.2, Qt.DashLine,
                            Qt.RoundCap))
        self.addItem(preview)
        if detached is not None:
            self.edges[detached].setVisible(False)
        targets = self.graph.connection_targets(anchor.node_id, anchor.port)
        if detached is not None:  # the wire's own input is a valid place to drop it back
            targets[(detached.dst, detached.dst_port)] = Verdict(True)
        self._drag = {"anchor": anchor, "preview": preview, "detached": detached,
                      "targets": targets}
        for nid, item in self.nodes.items():
            for p in item.ports():
                if p.is_output == anchor.is_output:
                    p.set_state("invalid" if p is not anchor else "")
                else:
                    verdict = targets.get((nid, p.port))
                    p.set_state("valid" if verdict and verdict.ok else "invalid")

    def move_wire(self, pos: QPointF) -> None:
        drag = self._drag
        if drag is None:
            return
        anchor = drag["anchor"]
        start, end = anchor.scenePos(), pos
        if not anchor.is_output:
            start, end = end, start
        drag["preview"].setPath(wire_path(start, end))
        # Say, while dragging, whether the port under the cursor would take the wire.
        port = self.port_at(pos)
        hint = ""
        if port is not None and port is not anchor:
            verdict = drag["targets"].get((port.node_id, port.port))
            if port.is_output == anchor.is_output:
                hint = "A wire goes from an output (right side) to an input (left side)"
            elif verdict is not None and not verdict.ok:
                hint = f"Cannot connect here: {verdict.reason}"
            elif verdict is not None:
                hint = "Release to connect"
        if hint != drag.get("hint"):
            drag["hint"] = hint
            self.message.emit(hint)

    def _can_move(self, old: Edge, new: Edge):
        """Whether ``old`` could be replaced by ``new`` (checked on a copy of the graph,
        with ``old`` removed)."""
        from nncore.graph import Graph

        trial = Graph()
        trial.replace_with(self.graph)
        trial.disconnect(old)
        return trial.can_connect(new.src, new.src_port, new.dst, new.dst_port)

    def end_wire(self, pos: QPointF) -> bool:
        """Finish the wire at ``pos``: connect to a valid port (undoable), refuse an
        invalid one with the reason, or (for a picked-up wire) disconnect. Returns True
        if the model changed."""
        drag, self._drag = self._drag, None
        if drag is None:
            return False
        self.removeItem(drag["preview"])
        for item in self.nodes.values():
            for p in item.ports():
                p.set_state("")
        anchor, detached = drag["anchor"], drag["detached"]
        if detached is not None and detached in self.edges:
            self.edges[detached].setVisible(True)
        target = self.port_at(pos)
        if target is None or target.is_output == anchor.is_output:
            if detached is not None:  # dropped off any port: remove the wire
                self.document.push(commands.RemoveEdges(self.graph, [detached]))
                self.message.emit("Wire removed")
                return True
            if target is not None:
                self.message.emit("A wire goes from an output (right side) to an input "
                                  "(left side)")
            return False
        src, dst = (anchor, target) if anchor.is_output else (target, anchor)
        new = Edge(src.node_id, src.port, dst.node_id, dst.port)
        if new == detached:
            return False  # dropped back where it was
        if detached is not None:  # move the picked-up wire: one undo step
            verdict = self._can_move(detached, new)
            if not verdict:
                self.message.emit(f"Cannot connect: {verdict.reason}")
                return False
            with self.document.macro("Move wire") as allowed:
                if allowed:
                    self.document.push(commands.RemoveEdges(self.graph, [detached]))
                    self.document.push(commands.Connect(self.graph, new.src, new.src_port,
                                                        new.dst, new.dst_port))
            if not allowed:
                return False
        else:
            verdict = self.graph.can_connect(new.src, new.src_port, new.dst, new.dst_port)
            if not verdict:
                self.message.emit(f"Cannot connect: {verdict.reason}")
                return False
            if not self.document.push(commands.Connect(self.graph, new.src, new.src_port,
                                                       new.dst, new.dst_port)):
                return False
        self.message.emit(f"Connected {self.graph.node(new.src).name} → "
                          f"{self.graph.node(new.dst).name}")
        return True

    # ------------------------------------------------------------------ Qt events
    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if event.modifiers() & Qt.ShiftModifier:  # Shift-click adds to the selection, as Ctrl
            event.setModifiers(event.modifiers() | Qt.ControlModifier)
        if event.button() == Qt.LeftButton:
            port = self.port_at(event.scenePos())
            if port is not None:
                self.begin_wire(port)
                self.move_wire(event.scenePos())
                event.accept()
                return
        super().mousePressEvent(event)
        if event.button() == Qt.LeftButton:
            self._press_positions = {nid: QPointF(item.pos()) for nid, item in self.nodes.items()
                                     if item.isSelected()}

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._drag is not None:
            self.move_wire(event.scenePos())
            event.accept()
            return
        before = {nid: self.nodes[nid].pos() for nid in self._press_positions
                  if nid in self.nodes}
        super().mouseMoveEvent(event)
        moved = [self.nodes[nid] for nid, pos in before.items() if self.nodes[nid].pos() != pos]
        if moved:  # the cards being dragged: their wires follow
            self.node_items_moved(moved)

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if event.modifiers() & Qt.ShiftModifier:
            event.setModifiers(event.modifiers() | Qt.ControlModifier)
        if self._drag is not None and event.button() == Qt.LeftButton:
            self.end_wire(event.scenePos())
            event.accept()
            return
        super().mouseReleaseEvent(event)
        if event.button() == Qt.LeftButton:
            self.commit_moves()

    def commit_moves(self) -> None:
        """Turn the nodes moved by the last drag into one MoveNodes command."""
        moves = {}
        for nid, before in self._press_positions.items():
            item = self.nodes.get(nid)
            if item is None:
                continue
            after = item.pos()
            if after != before:
                moves[nid] = ((before.x(), before.y()), (round(after.x(), 1), round(after.y(), 1)))
        self._press_positions = {}
        if moves and not self.document.push(commands.MoveNodes(self.graph, moves)):
            for nid in moves:  # refused (training runs): back where the model has them
                self.nodes[nid].setPos(*self.graph.node(nid).position)
            self.node_items_moved([self.nodes[nid] for nid in moves])

    def dragEnterEvent(self, event: QGraphicsSceneDragDropEvent) -> None:
        if event.mimeData().hasFormat(NODE_MIME):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event: QGraphicsSceneDragDropEvent) -> None:
        if event.mimeData().hasFormat(NODE_MIME):
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event: QGraphicsSceneDragDropEvent) -> None:
        if event.mimeData().hasFormat(NODE_MIME):
            type_id = bytes(event.mimeData().data(NODE_MIME)).decode("utf-8")
            self.add_node(type_id, event.scenePos())
            event.acceptProposedAction()
        else:
            super().dropEvent(event)

    def items_rect(self) -> QRectF:
        """The bounding rectangle of every node card (empty for an empty graph)."""
        rect = QRectF()
        for item in self.nodes.values():
            rect = rect.united(item.sceneBoundingRect())
        return rect

