"""Every edit of the network as an undoable command on the graph model.

Each command changes :class:`nncore.graph.Graph` only (the canvas follows the graph's
events), stores what its undo needs, and can be redone after an undo with exactly the
same ids, names and places (Ryven's ``FlowCommands``, NodeGraphQt's ``commands``).
Multi-step edits (delete a selection, paste) are one command or a macro, so one Ctrl+Z
undoes them whole.
"""

from __future__ import annotations

from typing import Any, Iterable

from PySide6.QtGui import QUndoCommand as _QUndoCommand

from nncore.graph import Edge, Graph, GraphError, ParamError, RemovedNode


class QUndoCommand(_QUndoCommand):
    """A command whose first ``redo`` may be refused by the model (a GraphError or
    ParamError; the model changes nothing then): the command marks itself obsolete, so
    the undo stack drops it instead of keeping an entry that did nothing, and keeps the
    error in :attr:`error` for :meth:`app.document.Document.push` to raise."""

    error: Exception | None = None

    def redo(self) -> None:  # noqa: D102 - see the class docstring
        try:
            self._redo()
        except (GraphError, ParamError) as e:
            self.error = e
            self.setObsolete(True)

    def _redo(self) -> None:  # pragma: no cover - every command overrides it
        raise NotImplementedError

__all__ = ["AddNode", "RemoveNodes", "RemoveEdges", "MoveNodes", "Connect", "SetParams",
           "RenameNode", "SetType", "AddSubgraph", "SetSettings"]


class AddNode(QUndoCommand):
    """Add one node of ``type_id`` at ``position``; undo removes it."""

    def __init__(self, graph: Graph, type_id: str, position: tuple[float, float],
                 params: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.graph, self.type_id, self.position = graph, type_id, position
        self.params = dict(params or {})
        self.node_id: str | None = None
        self.name: str | None = None
        self.setText(f"Add {type_id}")

    def _redo(self) -> None:
        node = self.graph.add_node(self.type_id, self.position, self.params, self.name,
                                   self.node_id)
        self.node_id, self.name = node.id, node.name
        self.setText(f"Add {node.name}")

    def undo(self) -> None:
        self.graph.remove_node(self.node_id)


class RemoveNodes(QUndoCommand):
    """Remove nodes with every wire they touch; undo puts back the nodes and exactly
    those wires, at their places (reference cases R15, R16)."""

    def __init__(self, graph: Graph, node_ids: Iterable[str]) -> None:
        super().__init__()
        self.graph = graph
        self.node_ids = list(node_ids)
        self.records: list[RemovedNode] = []
        names = [graph.node(n).name for n in self.node_ids]
        self.setText(f"Delete {names[0]}" if len(names) == 1 else f"Delete {len(names)} nodes")

    def _redo(self) -> None:
        self.records = [self.graph.remove_node(n) for n in self.node_ids]

    def undo(self) -> None:
        self.graph.restore_nodes(reversed(self.records))  # one check, not one per node


class RemoveEdges(QUndoCommand):
    """Remove wires; undo reconnects them at their places in the edge list."""

    def __init__(self, graph: Graph, edges: Iterable[Edge], text: str = "") -> None:
        super().__init__()
        self.graph = graph
        self.edges = list(edges)
        self.indices: list[int] = []
        self.setText(text or ("Disconnect" if len(self.edges) == 1
                              else f"Disconnect {len(self.edges)} wires"))

    def _redo(self) -> None:
        self.indices = [self.graph.disconnect(e) for e in self.edges]

    def undo(self) -> None:
        for edge, index in reversed(list(zip(self.edges, self.indices))):
            self.graph.connect(edge.src, edge.src_port, edge.dst, edge.dst_port, index=index)


class MoveNodes(QUndoCommand):
    """Move nodes (one command per drag, not per pixel)."""

    def __init__(self, graph: Graph, moves: dict[str, tuple[tuple[float, float],
                                                            tuple[float, float]]],
                 text: str = "") -> None:
        super().__init__()
        self.graph = graph
        self.moves = dict(moves)  # node id -> (old position, new position)
        self.setText(text or (f"Move {graph.node(next(iter(moves))).name}" if len(moves) == 1
                              else f"Move {len(moves)} nodes"))

    def _redo(self) -> None:
        for node_id, (_, new) in self.moves.items():
            self.graph.move_node(node_id, new)

    def undo(self) -> None:
        for node_id, (old, _) in self.moves.items():
            self.graph.move_node(node_id, old)


class Connect(QUndoCommand):
    """Add a wire; undo removes it."""

    def __init__(self, graph: Graph, src: str, src_port: str, dst: str, dst_port: str) -> None:
        super().__init__()
        self.graph = graph
        self.edge = Edge(src, src_port, dst, dst_port)
        self.index: int | None = None
        self.setText(f"Connect {graph.node(src).name} → {graph.node(dst).name}")

    def _redo(self) -> None:
        e = self.edge
        self.graph.connect(e.src, e.src_port, e.dst, e.dst_port, index=self.index)
        self.index = self.graph.edges.index(e)

    def undo(self) -> None:
        self.graph.disconnect(self.edge)


class SetParams(QUndoCommand):
    """Change parameters of a node; undo restores the previous values."""

    def __init__(self, graph: Graph, node_id: str, params: dict[str, Any]) -> None:
        super().__init__()
        self.graph, self.node_id = graph, node_id
        self.new = dict(params)
        self.old = {k: graph.node(node_id).params[k] for k in params}
        node = graph.node(node_id)
        what = ", ".join(f"{k} = {v}" for k, v in params.items())
        self.setText(f"{node.name}: {what}")

    def _redo(self) -> None:
        self.graph.set_params(self.node_id, self.new)

    def undo(self) -> None:
        self.graph.set_params(self.node_id, self.old)


class RenameNode(QUndoCommand):
    """Give a node another display name."""

    def __init__(self, graph: Graph, node_id: str, name: str) -> None:
        super().__init__()
        self.graph, self.node_id, self.name = graph, node_id, name
        self.old = graph.node(node_id).name
        self.setText(f"Rename {self.old} to {name}")

    def _redo(self) -> None:
        self.graph.rename_node(self.node_id, self.name)

    def undo(self) -> None:
        self.graph.rename_node(self.node_id, self.old)


class SetType(QUndoCommand):
    """Change a node's type in place, keeping its id, position and wires (ReLU → Tanh:
    :meth:`nncore.graph.Graph.set_type`); undo gives back the type, parameters and name."""

    def __init__(self, graph: Graph, node_id: str, type_id: str) -> None:
        super().__init__()
        self.graph, self.node_id, self.type_id = graph, node_id, type_id
        self.old: tuple[str, dict[str, Any], str] | None = None
        self.new: tuple[str, dict[str, Any], str] | None = None
        self.setText(f"{graph.node(node_id).name}: make it {type_id}")

    def _redo(self) -> None:
        if self.new is None:  # the first time: the model picks the parameters and name
            self.old = self.graph.set_type(self.node_id, self.type_id)
            node = self.graph.node(self.node_id)
            self.new = (node.type_id, dict(node.params), node.name)
            self.setText(f"{self.old[2]} → {node.type.display_name}")
        else:
            self.graph.set_type(self.node_id, *self.new)

    def undo(self) -> None:
        self.graph.set_type(self.node_id, *self.old)


class AddSubgraph(QUndoCommand):
    """Add copies of nodes and the wires between them (paste, duplicate).

    ``nodes``: dicts with ``type``, ``params``, ``position``, ``name`` and the ``id`` they
    had; ``edges``: (src id, src port, dst id, dst port) among those ids. The copies get
    new ids and names (never the originals'), shifted by ``offset``; wires to nodes
    outside the copied set are not made.
    """

    def __init__(self, graph: Graph, nodes: list[dict[str, Any]],
                 edges: list[tuple[str, str, str, str]], offset: tuple[float, float],
                 text: str = "Paste") -> None:
        super().__init__()
        self.graph, self.nodes, self.edges, self.offset = graph, nodes, edges, offset
        self.created: dict[str, tuple[str, str]] = {}  # old id -> (new id, new name)
        self.setText(f"{text} {len(nodes)} node{'s' if len(nodes) != 1 else ''}")

    @property
    def new_ids(self) -> list[str]:
        """The ids of the copies, in the order of ``nodes``."""
        return [self.created[n["id"]][0] for n in self.nodes if n["id"] in self.created]

    def _redo(self) -> None:
        before = dict(self.created)
        try:
            self._add_all()
        except (GraphError, ParamError):  # all or nothing: take back what was added
            self.undo()
            self.created = before
            raise

    def _add_all(self) -> None:
        dx, dy = self.offset
        self.created = dict(self.created)
        for n in self.nodes:
            again = self.created.get(n["id"])
            base = n.get("name") or None
            node = self.graph.add_node(
                n["type"], (n["position"][0] + dx, n["position"][1] + dy), n.get("params"),
                again[1] if again else (self.graph.unique_name(base) if base else None),
                again[0] if again else None)
            self.created[n["id"]] = (node.id, node.name)
        for src, sp, dst, dp in self.edges:
            if src in self.created and dst in self.created:
                self.graph.connect(self.created[src][0], sp, self.created[dst][0], dp)

    def undo(self) -> None:
        for new_id, _ in reversed(list(self.created.values())):
            if self.graph.has_node(new_id):
                self.graph.remove_node(new_id)


class SetSettings(QUndoCommand):
    """Replace the dataset/training settings."""

    def __init__(self, graph: Graph, settings: dict[str, Any],
                 text: str = "Change settings") -> None:
        super().__init__()
        self.graph, self.new, self.old = graph, dict(settings), dict(graph.settings)
        self.setText(text)

    def _redo(self) -> None:
        self.graph.set_settings(self.new)

    def undo(self) -> None:
        self.graph.set_settings(self.old)
