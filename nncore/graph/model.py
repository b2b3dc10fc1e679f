"""The user's network as plain data: nodes, ports, wires, and the events views follow.

A :class:`Graph` holds :class:`Node` s (a type from the catalogue, a unique display name,
parameters and a position on the canvas) and :class:`Edge` s from ``(node, output
port)`` to ``(node, input port)``. Every edit is validated before it changes anything,
and announces itself through the graph's events (plain callbacks, no Qt), which the
canvas subscribes to: the graph is the single source of truth; views never keep their
own copy of positions or parameters (unlike the pyqtgraph Flowchart habit of asking a
graphics item where a node is).

Editing operations return what an undo needs: :meth:`Graph.remove_node` returns the node
with the wires it broke and their places, :meth:`Graph.disconnect` the wire's place, so
that :meth:`Graph.restore_node` and :meth:`Graph.connect` put back exactly what was
there (Ryven's ``FlowCommands``, NodeGraphQt's ``commands``).
"""

from __future__ import annotations

import bisect
import heapq
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from nncore.graph.shapes import DataShape, PortShape, ShapeError
from nncore.limits import MAX_NAME_CHARS, MAX_POSITION, excerpt
from nncore.graph.types import CATALOGUE, LOSS_KIND, TARGET, NodeType, PortSpec, node_type

__all__ = ["Graph", "Node", "Edge", "GraphError", "Verdict", "RemovedNode", "Analysis",
           "Event"]


class GraphError(ValueError):
    """An edit or a file is refused; the message says why.

    Attributes:
        node_id: the node at fault, when there is one (the canvas highlights it).
    """

    def __init__(self, message: str, node_id: str | None = None) -> None:
        super().__init__(message)
        self.node_id = node_id


class Event:
    """A list of callbacks called with the event's arguments (a plain-Python signal).

    A callback that raises does not stop the others; the first exception is re-raised
    after all have run, so a broken view cannot leave the others out of date.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._callbacks: list[Callable[..., Any]] = []

    def connect(self, callback: Callable[..., Any]) -> None:
        """Call ``callback`` on every emit (once, however often it is connected)."""
        if callback not in self._callbacks:
            self._callbacks.append(callback)

    def disconnect(self, callback: Callable[..., Any]) -> None:
        """Stop calling ``callback``; unknown callbacks are ignored."""
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def emit(self, *args: Any) -> None:
        """Call every connected callback with ``args``."""
        error: BaseException | None = None
        for callback in list(self._callbacks):
            try:
                callback(*args)
            except Exception as e:  # noqa: BLE001 - re-raised below
                error = error or e
        if error is not None:
            raise error


@dataclass
class Node:
    """One node on the canvas.

    Attributes:
        id: stable unique id (saved in files; edges refer to it).
        type_id: the catalogue entry (``"dense"``, ``"relu"`` ...).
        name: unique display name (``"Dense 2"``).
        params: validated parameter values, every parameter present.
        position: (x, y) of the node's top-left corner in canvas coordinates.
    """

    id: str
    type_id: str
    name: str
    params: dict[str, Any]
    position: tuple[float, float]

    @property
    def type(self) -> NodeType:
        """The node's catalogue entry."""
        return CATALOGUE[self.type_id]


@dataclass(frozen=True)
class Edge:
    """A wire from an output port to an input port."""

    src: str
    src_port: str
    dst: str
    dst_port: str

    def __str__(self) -> str:
        return f"{self.src}.{self.src_port} -> {self.dst}.{self.dst_port}"


@dataclass(frozen=True)
class Verdict:
    """The answer of :meth:`Graph.can_connect`: ``ok``, or the ``reason`` it is refused."""

    ok: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.ok


@dataclass(frozen=True)
class RemovedNode:
    """What :meth:`Graph.remove_node` took away: the node, its place in the node order,
    and the wires it broke with their places in the edge list (for an exact undo)."""

    node: Node
    index: int
    edges: tuple[tuple[int, Edge], ...]


@dataclass
class Analysis:
    """Shapes, parameter counts and problems of a graph (see :meth:`Graph.analysis`).

    Attributes:
        shapes: (node id, output port) -> shape, for every port that could be inferred.
        input_shapes: (node id, input port) -> list of the shapes wired in.
        errors: node id -> what is wrong at that node (shape or wiring).
        params: node id -> trainable parameter count (nodes with known shapes).
        problems: every problem that would stop training, as (node id or None, text),
            node errors first.
        order: node ids in topological order.
        data: the dataset shape the Input's shapes came from (None: no dataset).
    """

    shapes: dict[tuple[str, str], PortShape] = field(default_factory=dict)
    input_shapes: dict[tuple[str, str], list[PortShape]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    params: dict[str, int] = field(default_factory=dict)
    problems: list[tuple[str | None, str]] = field(default_factory=list)
    order: list[str] = field(default_factory=list)
    data: DataShape | None = None

    @property
    def total_params(self) -> int:
        """The number of trainable parameters of the whole network."""
        return sum(self.params.values())

    @property
    def ok(self) -> bool:
        """True when the network can be compiled and trained."""
        return not self.problems


_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


class Graph:
    """A network of nodes and wires, with validation, shape inference and events.

    Events (each an :class:`Event`; callbacks receive the arguments shown):
    ``node_added(node)``, ``node_removed(node)``, ``node_changed(node, what)`` with
    ``what`` one of ``"params"``, ``"name"``, ``"position"``, ``"type"``; ``edge_added(edge)``,
    ``edge_removed(edge)``, ``settings_changed(settings)``, ``graph_reset()``.
    Every edit is validated first and changes nothing when refused (:class:`GraphError`
    or :class:`~nncore.graph.types.ParamError`).

    Attributes:
        settings: the dataset and training settings saved with the graph (a JSON-able
            dict; see :mod:`nncore.project.settings`).
    """

    def __init__(self) -> None:
        self._nodes: dict[str, Node] = {}
        self._node_keys: list[float] = []  # increasing along the node order
        self._node_key: dict[str, float] = {}
        self._edges: list[Edge] = []
        # a key per wire, increasing along the edge list: a wire's place is found by
        # bisection (O(log E)), not by comparing it with every wire before it
        self._edge_keys: list[float] = []
        self._key_of: dict[Edge, float] = {}
        self.settings: dict[str, Any] = {}
        self._next_id = 1
        self._analyses: dict[DataShape | None, Analysis] = {}
        self._index: tuple[dict[str, list[Edge]], dict[str, list[Edge]]] | None = None
        self._by_name: dict[str, str] = {}  # display name -> node id
        self._name_hints: dict[str, int] = {}  # base name -> lowest number maybe free
        for name in ("node_added", "node_removed", "node_changed", "edge_added",
                     "edge_removed", "settings_changed", "graph_reset"):
            setattr(self, name, Event(name))

    # ------------------------------------------------------------------ reading
    @property
    def nodes(self) -> list[Node]:
        """The nodes, in the order they were added."""
        return list(self._nodes.values())

    @property
    def edges(self) -> list[Edge]:
        """The wires, in the order they were made (Concatenate joins in this order)."""
        return list(self._edges)

    def node(self, node_id: str) -> Node:
        """The node with id ``node_id``.

        Raises:
            GraphError: if there is none.
        """
        try:
            return self._nodes[node_id]
        except KeyError:
            raise GraphError(f"there is no node {node_id!r}") from None

    def has_node(self, node_id: str) -> bool:
        return node_id in self._nodes

    def node_by_name(self, name: str) -> Node | None:
        """The node whose display name is ``name``, or None."""
        node_id = self._by_name.get(name)
        return None if node_id is None else self._nodes[node_id]

    def _wires(self) -> tuple[dict[str, list[Edge]], dict[str, list[Edge]]]:
        """(wires into each node, wires out of each node), in edge order, so lookups
        cost O(degree) instead of O(edges). Kept up to date by appends and removals;
        rebuilt after an insertion in the middle (undo) or a reset."""
        if self._index is None:
            into: dict[str, list[Edge]] = {}
            out: dict[str, list[Edge]] = {}
            for e in self._edges:
                into.setdefault(e.dst, []).append(e)
                out.setdefault(e.src, []).append(e)
            self._index = (into, out)
        return self._index

    def edges_of(self, node_id: str) -> list[Edge]:
        """Every wire into or out of ``node_id``, in edge order."""
        into, out = self._wires()
        mine = set(into.get(node_id, [])) | set(out.get(node_id, []))
        return sorted(mine, key=self._key_of.__getitem__)

    def incoming(self, node_id: str, port: str | None = None) -> list[Edge]:
        """The wires into ``node_id`` (into ``port`` only, if given), in order."""
        return [e for e in self._wires()[0].get(node_id, [])
                if port is None or e.dst_port == port]

    def outgoing(self, node_id: str, port: str | None = None) -> list[Edge]:
        """The wires out of ``node_id`` (out of ``port`` only, if given), in order."""
        return [e for e in self._wires()[1].get(node_id, [])
                if port is None or e.src_port == port]

    def __len__(self) -> int:
        return len(self._nodes)

    def __contains__(self, node_id: object) -> bool:
        return node_id in self._nodes

    # ------------------------------------------------------------------ nodes
    def new_id(self) -> str:
        """A node id never used in this graph (``"n7"``): ids of deleted nodes are not
        handed out again, so an undo can always bring a node back under its own id."""
        while f"n{self._next_id}" in self._nodes:
            self._next_id += 1
        node_id = f"n{self._next_id}"
        self._next_id += 1
        return node_id

    def _note_id(self, node_id: str) -> None:
        """Keep :meth:`new_id` ahead of an id given explicitly (``"n12"`` -> 13)."""
        match = re.fullmatch(r"n(\d+)", node_id)
        if match and int(match.group(1)) >= self._next_id:
            self._next_id = int(match.group(1)) + 1

    def unique_name(self, base: str) -> str:
        """A display name no node has yet: ``base`` itself (``"Dense"``), else numbered
        from 2 (``"Dense 2"``, ``"Dense 3"``...)."""
        base = re.sub(r"\s+\d+$", "", base.strip()) or "Node"
        taken = self._by_name
        if base not in taken:
            return base
        # every "base k" below the hint is taken (a name freed since dropped the hint),
        # so N pastes of one type look at O(N) names, not O(N^2)
        i = self._name_hints.get(base, 2)
        while f"{base} {i}" in taken:
            i += 1
        self._name_hints[base] = i
        return f"{base} {i}"

    def _forget_name(self, name: str) -> None:
        """``name`` is free again: :meth:`unique_name` searches its base from 2."""
        self._name_hints.pop(re.sub(r"\s+\d+$", "", name.strip()) or "Node", None)

    def add_node(self, type_id: str, position: tuple[float, float] = (0.0, 0.0),
                 params: dict[str, Any] | None = None, name: str | None = None,
                 node_id: str | None = None, index: int | None = None) -> Node:
        """Add a node of catalogue type ``type_id``.

        Args:
            position: canvas coordinates of its top-left corner.
            params: parameter values; missing ones get their defaults.
            name: display name (default: the type's name numbered, e.g. ``"Dense 2"``).
            node_id: id to use (default: a new one); used by paste and undo.
            index: place in the node order (default: the end); used by undo.

        Returns:
            the new node.

        Raises:
            GraphError: for an unknown type, a taken or malformed id, a taken name.
            ParamError: for an invalid parameter.
        """
        try:
            ntype = node_type(type_id)
        except KeyError as e:
            raise GraphError(str(e.args[0])) from None
        clean = ntype.validate_params(dict(params or {}))
        if node_id is None:
            node_id = self.new_id()
        elif not isinstance(node_id, str) or not _ID.match(node_id):
            raise GraphError(f"node id {node_id!r} is not valid (letters, digits, _ and -, "
                             "starting with a letter or _)")
        elif node_id in self._nodes:
            raise GraphError(f"there is already a node with id {node_id!r}", node_id)
        else:
            self._note_id(node_id)
        if name is None:
            name = self.unique_name(ntype.display_name)
        else:
            self.check_name(name, None)
        node = Node(node_id, type_id, name, clean, _position(position))
        self._insert_node(node, index)
        self.node_added.emit(node)
        return node

    def _insert_node(self, node: Node, index: int | None) -> None:
        if index is None or index >= len(self._nodes):
            key = self._node_keys[-1] + 1.0 if self._node_keys else 0.0
            self._nodes[node.id] = node
            self._node_keys.append(key)
            self._node_key[node.id] = key
        else:
            items = list(self._nodes.items())
            items.insert(max(index, 0), (node.id, node))
            self._nodes = dict(items)
            self._renumber_nodes()
        self._by_name[node.name] = node.id
        self._changed()

    def check_name(self, name: Any, node_id: str | None = None) -> None:
        """Raise GraphError unless ``name`` could be the display name of ``node_id``
        (a new node when None): non-empty valid text that no other node has."""
        if not isinstance(name, str) or not name.strip():
            raise GraphError("a node name must be a non-empty text", node_id)
        if len(name) > MAX_NAME_CHARS:
            raise GraphError(f"a node name is at most {MAX_NAME_CHARS} characters, got "
                             f"{len(name):,} ({excerpt(name)})", node_id)
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            raise GraphError(f"a node name must be valid text, got {name!r}", node_id) from None
        hidden = next((c for c in name if unicodedata.category(c)[0] == "C"), None)
        if hidden is not None:  # NUL, a line break, a right-to-left override...
            raise GraphError(f"a node name cannot hold control or format characters, got "
                             f"U+{ord(hidden):04X} in {excerpt(name)}", node_id)
        other = self.node_by_name(name)
        if other is not None and other.id != node_id:
            raise GraphError(f"there is already a node called {name!r}", node_id)

    def remove_node(self, node_id: str) -> RemovedNode:
        """Remove a node and every wire into or out of it.

        Returns:
            a :class:`RemovedNode` for :meth:`restore_node` (undo).
        """
        node = self.node(node_id)
        index = bisect.bisect_left(self._node_keys, self._node_key[node_id])
        into, out = self._wires()
        mine = dict.fromkeys([*into.get(node_id, ()), *out.get(node_id, ())])
        # the wires' places by bisection, not a scan of every wire: a delete of N nodes
        # stays about linear
        broken = tuple(sorted((self._edge_index(e), e) for e in mine))
        for _, edge in reversed(broken):
            self._remove_edge(edge)
            self.edge_removed.emit(edge)
        del self._nodes[node_id]
        del self._node_keys[index]
        del self._node_key[node_id]
        del self._by_name[node.name]
        self._forget_name(node.name)
        self._changed()
        self.node_removed.emit(node)
        return RemovedNode(node, index, broken)

    def restore_node(self, removed: RemovedNode) -> None:
        """Put back a node taken away by :meth:`remove_node`, at its place, with its
        wires at their places (wires to nodes that are gone are skipped).

        Raises:
            GraphError: if it cannot all be put back (its id or name is taken, or a wire
                is refused because of later edits); then nothing changes.
        """
        self.restore_nodes([removed])

    def restore_nodes(self, removed: Iterable[RemovedNode]) -> None:
        """:meth:`restore_node` for each record in turn (the last removed first, for an
        undo of several removals), all or nothing: checked on one copy of the graph, so
        putting back N nodes costs O(N), not N copies.

        Raises:
            GraphError: as :meth:`restore_node`; then nothing changes.
        """
        records = list(removed)
        # The node order they had, worked out on a list of ids (the same rule as
        # add_node's index); the nodes are added at the end and put in order once, so
        # the dict of nodes is not rebuilt per node.
        order = list(self._nodes)
        for record in records:
            if record.index >= len(order):
                order.append(record.node.id)
            else:
                order.insert(max(record.index, 0), record.node.id)
        trial = Graph()
        trial.replace_with(self)
        for record in records:
            trial._restore(record)  # raises before this graph is touched
        trial.topological_order()  # one check for cycles (GraphError), not one per wire
        for record in records:
            self._restore(record)
        self._nodes = {nid: self._nodes[nid] for nid in order}
        self._renumber_nodes()
        self._changed()  # an analysis made meanwhile had the nodes in another order

    def _restore(self, removed: RemovedNode) -> None:
        """Add the node back at the end and its wires at their places; cycles are left
        to the caller's one check (:meth:`restore_nodes`)."""
        node = removed.node
        self.add_node(node.type_id, node.position, node.params, node.name, node.id)
        for index, edge in removed.edges:
            if (edge.src in self._nodes and edge.dst in self._nodes
                    and edge not in self._key_of):
                self._connect(edge.src, edge.src_port, edge.dst, edge.dst_port, index,
                              cycles=False)

    def set_params(self, node_id: str, params: dict[str, Any]) -> dict[str, Any]:
        """Change some parameters of a node.

        Returns:
            the previous values of the parameters changed (for undo).

        Raises:
            ParamError: for an unknown parameter or an invalid value (nothing changes).
        """
        node = self.node(node_id)
        merged = node.type.validate_params({**node.params, **params})
        old = {k: node.params[k] for k in params}
        node.params = merged
        self._changed()
        self.node_changed.emit(node, "params")
        return old

    def set_type(self, node_id: str, type_id: str, params: dict[str, Any] | None = None,
                 name: str | None = None) -> tuple[str, dict[str, Any], str]:
        """Change a node's type in place, keeping its id, position and wires: swap an
        activation's kind (ReLU → Tanh) without rewiring.

        Args:
            params: the new type's parameters; by default, each parameter the old type
                had under the same name with a value the new type accepts is kept, the
                others get their defaults.
            name: the node's new name; by default a name that was the old type's
                (``"ReLU 2"``) follows the type (``"Tanh"``), any other name stays.

        Returns:
            the old (type id, parameters, name), for undo.

        Raises:
            GraphError: for an unknown type, or a wired port the new type does not have
                (or has with another kind), naming the port; nothing changes.
            ParamError: for invalid ``params``.
        """
        node = self.node(node_id)
        if type_id not in CATALOGUE:
            raise GraphError(f"unknown node type {type_id!r}", node_id)
        new = CATALOGUE[type_id]
        for e in self.edges_of(node_id):
            if e.dst == node_id:
                spec, have = new.input(e.dst_port), node.type.input(e.dst_port)
            else:
                spec, have = new.output(e.src_port), node.type.output(e.src_port)
            port = e.dst_port if e.dst == node_id else e.src_port
            if spec is None or have is None or spec.kind != have.kind:
                raise GraphError(f"{node.name} cannot become {new.display_name}: its wired "
                                 f"port {port!r} does not exist there (disconnect it first)",
                                 node_id)
        if params is None:
            params = {}
            for p in new.params:
                if p.name in node.params:
                    try:
                        params[p.name] = p.validate(node.params[p.name])
                    except ValueError:
                        pass
        validated = new.validate_params(params)
        if name is None:
            base = re.escape(node.type.display_name)
            name = node.name
            if re.fullmatch(rf"{base}( \d+)?", node.name):
                name = self.unique_name(new.display_name)
        if name != node.name:
            self.check_name(name, node_id)
        old = (node.type_id, dict(node.params), node.name)
        node.type_id, node.params = type_id, validated
        if name != node.name:
            del self._by_name[node.name]
            self._forget_name(node.name)
            node.name = name
            self._by_name[name] = node_id
        self._changed()
        self.node_changed.emit(node, "type")
        return old

    def set_param(self, node_id: str, name: str, value: Any) -> Any:
        """Change one parameter; returns its previous value."""
        return self.set_params(node_id, {name: value})[name]

    def rename_node(self, node_id: str, name: str) -> str:
        """Give a node another unique display name; returns the old one."""
        node = self.node(node_id)
        self.check_name(name, node_id)
        old, node.name = node.name, name
        del self._by_name[old]
        self._forget_name(old)
        self._by_name[name] = node_id
        self._changed()  # problem messages name nodes
        self.node_changed.emit(node, "name")
        return old

    def move_node(self, node_id: str, position: tuple[float, float]) -> tuple[float, float]:
        """Move a node; returns its previous position."""
        node = self.node(node_id)
        old, node.position = node.position, _position(position)
        self.node_changed.emit(node, "position")
        return old

    # ------------------------------------------------------------------ wires
    def can_connect(self, src: str, src_port: str, dst: str, dst_port: str) -> Verdict:
        """Whether a wire from ``src.src_port`` to ``dst.dst_port`` would be accepted,
        and why not (the canvas asks while a wire is dragged)."""
        return self._verdict(src, src_port, dst, dst_port, lambda: self._path(dst, src))

    def connection_targets(self, node_id: str, port: str) -> dict[tuple[str, str], Verdict]:
        """For a wire dragged from ``node_id.port``: every port at the other end, as
        ``(node id, port) -> Verdict`` (the same verdicts as :meth:`can_connect`, except
        that a cycle is not spelled out node by node). One traversal of the graph, so a
        canvas can light up all valid targets of a 500-node graph at once.

        From an output port, the candidates are all input ports; from an input port,
        all output ports (the wire is drawn backwards).
        """
        node = self.node(node_id)
        from_output = node.type.output(port) is not None
        reach = self._reachable(node_id, forward=not from_output)  # nodes that close a cycle
        cycle = ["this wire would make a cycle"]
        result: dict[tuple[str, str], Verdict] = {}
        for other in self._nodes.values():
            specs = other.type.inputs if from_output else other.type.outputs
            closes = other.id in reach
            for spec in specs:
                if from_output:
                    args = (node_id, port, other.id, spec.name)
                else:
                    args = (other.id, spec.name, node_id, port)
                result[(other.id, spec.name)] = self._verdict(
                    *args, lambda c=closes: cycle if c else None)
        return result

    def _reachable(self, start: str, forward: bool) -> set[str]:
        """``start`` and every node reachable from it along (or against) the wires."""
        into, out = self._wires()
        seen, stack = {start}, [start]
        while stack:
            current = stack.pop()
            for e in (out if forward else into).get(current, []):
                nxt = e.dst if forward else e.src
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return seen

    def _verdict(self, src: str, src_port: str, dst: str, dst_port: str,
                 cycle_path: Callable[[], list[str] | None]) -> Verdict:
        if src not in self._nodes or dst not in self._nodes:
            missing = src if src not in self._nodes else dst
            return Verdict(False, f"there is no node {missing!r}")
        a, b = self._nodes[src], self._nodes[dst]
        out_spec = a.type.output(src_port)
        in_spec = b.type.input(dst_port)
        if out_spec is None:
            if a.type.input(src_port) is not None and b.type.input(dst_port) is not None:
                return Verdict(False, "both ports are inputs: a wire goes from an output "
                                      "to an input")
            return Verdict(False, f"{a.name} has no output {src_port!r}")
        if in_spec is None:
            if b.type.output(dst_port) is not None:
                return Verdict(False, "both ports are outputs: a wire goes from an output "
                                      "to an input")
            return Verdict(False, f"{b.name} has no input {dst_port!r}")
        reason = _kind_mismatch(out_spec, in_spec, a, b)
        if reason:
            return Verdict(False, reason)
        if src == dst:
            return Verdict(False, f"a wire from {a.name} to itself would make a cycle")
        edge = Edge(src, src_port, dst, dst_port)
        if edge in self._key_of:
            return Verdict(False, "these ports are already connected")
        if not in_spec.multi:
            taken = self.incoming(dst, dst_port)
            if taken:
                source = self._nodes[taken[0].src].name
                return Verdict(False, f"{b.name}.{in_spec.title} already has a wire from "
                                      f"{source}; remove it first")
        path = cycle_path()
        if path == ["this wire would make a cycle"]:
            return Verdict(False, path[0])
        if path is not None:
            names = [self._nodes[n].name for n in [src, *path]]
            if len(names) > 12:
                names = names[:6] + [f"... {len(names) - 10} more ..."] + names[-4:]
            return Verdict(False, f"this wire would make a cycle: {' → '.join(names)}")
        return Verdict(True)

    def connect(self, src: str, src_port: str, dst: str, dst_port: str,
                index: int | None = None) -> Edge:
        """Add a wire from ``src.src_port`` to ``dst.dst_port``.

        Args:
            index: place in the edge list (default: the end); used by undo.

        Raises:
            GraphError: with :meth:`can_connect`'s reason (nothing changes).
        """
        return self._connect(src, src_port, dst, dst_port, index)

    def _connect(self, src: str, src_port: str, dst: str, dst_port: str,
                 index: int | None, cycles: bool = True) -> Edge:
        """:meth:`connect`; with ``cycles=False`` a cycle is not looked for (the caller
        checks the whole graph once)."""
        verdict = (self.can_connect(src, src_port, dst, dst_port) if cycles
                   else self._verdict(src, src_port, dst, dst_port, lambda: None))
        if not verdict:
            raise GraphError(verdict.reason, dst if dst in self._nodes else None)
        edge = Edge(src, src_port, dst, dst_port)
        at_end = index is None or index >= len(self._edges)
        self._store_edge(edge, None if at_end else max(index, 0))
        if self._index is not None:
            for wires, key in ((self._index[0], dst), (self._index[1], src)):
                mine = wires.setdefault(key, [])
                mine.append(edge)
                if not at_end and len(mine) > 1:  # kept in edge order
                    mine.sort(key=self._key_of.__getitem__)
        self._changed()
        self.edge_added.emit(edge)
        return edge

    def _renumber_nodes(self) -> None:
        """Keys 0, 1, 2... along the node order (a node's place is found by bisection
        of its key: a delete of N nodes does not scan the node list per node)."""
        self._node_keys = [float(i) for i in range(len(self._nodes))]
        self._node_key = dict(zip(self._nodes, self._node_keys))

    def _store_edge(self, edge: Edge, index: int | None) -> None:
        """Put ``edge`` at ``index`` of the edge list (None: at the end), with its key."""
        keys = self._edge_keys
        if index is None or index >= len(keys):
            key = keys[-1] + 1.0 if keys else 0.0
            self._edges.append(edge)
            keys.append(key)
        else:
            before = keys[index - 1] if index > 0 else keys[0] - 2.0
            key = (before + keys[index]) / 2
            if not before < key < keys[index]:  # no float left in between: renumber
                self._renumber_edges()
                self._store_edge(edge, index)
                return
            self._edges.insert(index, edge)
            keys.insert(index, key)
        self._key_of[edge] = key

    def _renumber_edges(self) -> None:
        self._edge_keys = [float(i) for i in range(len(self._edges))]
        self._key_of = dict(zip(self._edges, self._edge_keys))

    def _edge_index(self, edge: Edge) -> int:
        """The place of ``edge`` (a wire of this graph) in the edge list."""
        return bisect.bisect_left(self._edge_keys, self._key_of[edge])

    def disconnect(self, edge: Edge) -> int:
        """Remove a wire; returns its place in the edge list (for undo).

        Raises:
            GraphError: if there is no such wire.
        """
        if edge not in self._key_of:
            raise GraphError(f"there is no wire {edge}")
        index = self._remove_edge(edge)
        self.edge_removed.emit(edge)
        return index

    def _path(self, start: str, goal: str) -> list[str] | None:
        """Node ids of a directed path start -> ... -> goal, or None (iterative)."""
        parent: dict[str, str | None] = {start: None}
        stack = [start]
        while stack:
            current = stack.pop()
            if current == goal:
                path = [current]
                while parent[path[-1]] is not None:
                    path.append(parent[path[-1]])  # type: ignore[arg-type]
                return path[::-1]
            for e in self._wires()[1].get(current, []):
                if e.dst not in parent:
                    parent[e.dst] = current
                    stack.append(e.dst)
        return None

    # ------------------------------------------------------------------ whole graph
    def set_settings(self, settings: dict[str, Any]) -> dict[str, Any]:
        """Replace the dataset/training settings; returns the old ones."""
        old, self.settings = self.settings, dict(settings)
        self.settings_changed.emit(self.settings)
        return old

    def clear(self) -> None:
        """Remove everything (nodes, wires, settings) and announce ``graph_reset``."""
        self._nodes.clear()
        self._renumber_nodes()
        self._edges.clear()
        self._renumber_edges()
        self._by_name.clear()
        self._name_hints.clear()
        self._index = None
        self.settings = {}
        self._next_id = 1
        self._changed()
        self.graph_reset.emit()

    def replace_with(self, other: "Graph") -> None:
        """Make this graph a copy of ``other`` (used by open and undo of big edits),
        announcing ``graph_reset`` once."""
        self._nodes = {n.id: Node(n.id, n.type_id, n.name, dict(n.params), n.position)
                       for n in other._nodes.values()}
        self._renumber_nodes()
        self._edges = list(other._edges)
        self._renumber_edges()
        self._by_name = {n.name: n.id for n in self._nodes.values()}
        self._name_hints = {}
        self._index = None
        self.settings = dict(other.settings)
        self._next_id = other._next_id
        self._changed()
        self.graph_reset.emit()

    def _remove_edge(self, edge: Edge) -> int:
        index = self._edge_index(edge)
        del self._edges[index]
        del self._edge_keys[index]
        del self._key_of[edge]
        if self._index is not None:
            self._index[0][edge.dst].remove(edge)
            self._index[1][edge.src].remove(edge)
        self._changed()
        return index

    def _changed(self) -> None:
        """Forget the analyses (shapes, problems) after an edit."""
        self._analyses.clear()

    # ------------------------------------------------------------------ analysis
    def labels_dependent(self) -> set[str]:
        """The ids of the nodes whose value depends on the dataset's labels: wired from
        the Input's target port (through One-hot or Targets, and on), losses included."""
        stack = [e.dst for n in self._nodes.values() if n.type.reads_data
                 for e in self.outgoing(n.id)
                 if getattr(n.type.output(e.src_port), "kind", None) == TARGET]
        seen: set[str] = set()
        while stack:
            nid = stack.pop()
            if nid not in seen:
                seen.add(nid)
                stack.extend(e.dst for e in self.outgoing(nid))
        return seen

    def topological_order(self) -> list[str]:
        """Node ids so that every wire goes forward (Kahn's algorithm, iterative; ties
        broken by the node order, so the result is deterministic).

        Raises:
            GraphError: if the wires contain a cycle (only possible in a graph built
                without :meth:`connect`'s checks), naming the nodes on it.
        """
        position = {nid: i for i, nid in enumerate(self._nodes)}
        indegree = dict.fromkeys(self._nodes, 0)
        children: dict[str, list[str]] = {nid: [] for nid in self._nodes}
        for e in self._edges:
            indegree[e.dst] += 1
            children[e.src].append(e.dst)
        ready = [(position[n], n) for n, d in indegree.items() if d == 0]
        heapq.heapify(ready)
        order: list[str] = []
        while ready:
            _, n = heapq.heappop(ready)
            order.append(n)
            for c in children[n]:
                indegree[c] -= 1
                if indegree[c] == 0:
                    heapq.heappush(ready, (position[c], c))
        if len(order) < len(self._nodes):
            done = set(order)
            stuck = [self._nodes[n].name for n in self._nodes if n not in done]
            more = f" and {len(stuck) - 10} more" if len(stuck) > 10 else ""
            shown = ", ".join(stuck[:10]) + more
            raise GraphError("the wires form a cycle through " + shown,
                             next(n for n in self._nodes if n not in done))
        return order

    def analysis(self, data: DataShape | None = None) -> Analysis:
        """Shapes, parameter counts and problems for a dataset of shape ``data``,
        recomputed after each edit (cached per ``data``).

        The graph stores no shape of its own: the Input node's shapes come from
        ``data`` (the project's dataset, see :class:`nncore.project.Project`), so the
        widths, counts and problems always agree with the data; without data the
        Input says so and nothing downstream of it has a shape.

        Shape inference runs in topological order with a symbolic batch dimension;
        each node gets its output shapes or an error pinned to it (an unconnected input,
        a wrong width...). A node whose inputs are unknown because of an error upstream
        gets no error of its own. Problems that would stop training are added: not
        exactly one Input, not exactly one loss, a loss not reachable from the Input.
        """
        result = self._analyses.get(data)
        if result is None:
            if len(self._analyses) > 8:  # a few datasets tried in turn, not unbounded
                self._analyses.clear()
            result = self._analyses[data] = self._analyse(data)
        return result

    def _analyse(self, data: DataShape | None) -> Analysis:
        result = Analysis(data=data)
        try:
            result.order = self.topological_order()
        except GraphError as e:
            result.problems.append((e.node_id, str(e)))
            return result
        incoming: dict[str, list[Edge]] = {}
        for e in self._edges:
            incoming.setdefault(e.dst, []).append(e)
        for nid in result.order:
            node = self._nodes[nid]
            ntype = node.type
            shapes: dict[str, list[PortShape]] = {p.name: [] for p in ntype.inputs}
            blocked = False
            for e in incoming.get(nid, []):
                s = result.shapes.get((e.src, e.src_port))
                if s is None:
                    blocked = True
                else:
                    shapes[e.dst_port].append(s)
            for port, found in shapes.items():
                result.input_shapes[(nid, port)] = found
            unwired = [p.title for p in ntype.inputs if p.name not in
                       {e.dst_port for e in incoming.get(nid, [])}]
            if unwired:  # named as the canvas shows them ("logits", not "input")
                result.errors[nid] = "nothing is connected to " + " and ".join(
                    repr(t) for t in unwired)
                continue
            if blocked:
                continue
            try:
                if ntype.reads_data:
                    outputs = ntype.infer_data(node.params, data)
                else:
                    outputs = ntype.infer(node.params, shapes)
                result.params[nid] = ntype.count(node.params, shapes)
            except ShapeError as e:
                result.errors[nid] = str(e)
                continue
            for port, shape in outputs.items():
                result.shapes[(nid, port)] = shape
        for nid, message in result.errors.items():
            result.problems.append((nid, f"{self._nodes[nid].name}: {message}"))
        self._graph_problems(result)
        return result

    def _graph_problems(self, result: Analysis) -> None:
        inputs = [n for n in self._nodes.values() if n.type.reads_data]
        losses = [n for n in self._nodes.values() if n.type.is_loss]
        def named(nodes: list[Node]) -> str:
            return f" ({', '.join(n.name for n in nodes)})" if nodes else ""

        if len(inputs) != 1:
            result.problems.append((None, "the network needs exactly one Input node, it has "
                                          f"{len(inputs)}{named(inputs)}"))
        if len(losses) != 1:
            result.problems.append((None, "the network needs exactly one loss node (what "
                                          f"training minimizes), it has {len(losses)}"
                                          f"{named(losses)}"))
        if len(inputs) == 1 and len(losses) == 1:
            loss = losses[0]
            if self._path(inputs[0].id, loss.id) is None:
                result.problems.append((loss.id, f"{loss.name} is not connected "
                                                 f"to {inputs[0].name}"))
            wired = self.incoming(loss.id, loss.type.prediction_port)
            if wired and wired[0].src in self.labels_dependent():
                result.problems.append((loss.id, f"{loss.name}: its prediction is computed "
                                                 "from the labels (the answers); the network "
                                                 "must predict them from the features alone"))


def _kind_mismatch(out_spec: PortSpec, in_spec: PortSpec, a: Node, b: Node) -> str:
    if out_spec.kind == in_spec.kind:
        return ""
    if out_spec.kind == LOSS_KIND:
        return (f"{a.name} is a loss: a single number that training minimizes; it cannot "
                f"feed {b.name}")
    if out_spec.kind == TARGET:
        takers = [t.display_name for t in CATALOGUE.values()
                  if not t.is_loss and any(p.kind == TARGET for p in t.inputs)]
        return (f"{a.name}.{out_spec.title} carries the dataset's labels; only a loss's "
                "target input can take them" + (f" (or {' and '.join(takers)}, which turn "
                                                "them into a tensor)" if takers else ""))
    return (f"{b.name}.{in_spec.title} takes the dataset's labels (from Input.labels), not "
            f"{a.name}.{out_spec.title}")


def _position(position: Iterable[Any]) -> tuple[float, float]:
    try:
        x, y = (float(v) for v in position)
    except (TypeError, ValueError, OverflowError):
        raise GraphError(f"a position is two numbers (x, y), got {excerpt(position)}") from None
    if x != x or y != y or abs(x) == float("inf") or abs(y) == float("inf"):
        raise GraphError(f"a position must be finite, got {excerpt(position)}")
    if abs(x) > MAX_POSITION or abs(y) > MAX_POSITION:
        raise GraphError(f"a position is at most {MAX_POSITION:,.0f} from the origin in x and "
                         f"y, got ({x:g}, {y:g})")
    return (x, y)
