"""Automatic layout of the network: a layered (Sugiyama-style) drawing, without Qt.

:func:`auto_layout` gives every node of an :class:`nncore.graph.Graph` a new top-left
position so that data flows one way (left to right, or top to bottom), every node sits
after all the nodes that feed it, and no two nodes overlap. It only computes positions;
the canvas applies them as one undoable ``MoveNodes`` command.

The algorithm is the classic layered drawing of Sugiyama, Tagawa & Toda, "Methods for
visual understanding of hierarchical system structures", IEEE Trans. SMC 11(2), 1981,
in the variant of Gansner, Koutsofios, North & Vo, "A technique for drawing directed
graphs", IEEE Trans. Software Eng. 19(3), 1993 (the ``dot`` algorithm):

1. **Layering** by longest path from the sources, in topological order (iterative, so a
   chain of thousands of nodes is fine): a source (the Input node, any node with no
   input wire) is in layer 0, every other node one layer after its latest input. A loss
   is therefore after everything that feeds it, including the Input's labels wire.
2. **Dummy vertices**: a wire spanning several layers (such as Input.labels -> loss) is
   split into a chain of dummy vertices, one per layer it crosses, so that the ordering
   step sees it (Sugiyama et al. 1981, section 3). Dummies take no space in the drawing.
3. **Ordering** within layers by the barycenter heuristic (Sugiyama et al. 1981; the
   ``wmedian`` loop of Gansner et al. 1993 with the barycenter instead of the median):
   alternate down and up sweeps, each vertex placed at the mean relative position of its
   neighbours in the layer before; ties (and vertices with no neighbour there) keep their
   current order. The initial order is the nodes' current position across the flow
   (their y for ``"LR"``, x for ``"TB"``), and an ordering only replaces the best one
   found so far when it has strictly fewer wire crossings (counted per pair of layers as
   inversions, Barth, Juenger & Mutzel 2002) — so a tidy graph keeps its order and a
   layout of a layout is the same layout.
4. **Coordinates**: layer ``k`` starts after the thickness (widest node) of each earlier
   layer plus the layer gap; within a layer the nodes are stacked in order with the node
   gap, each node centred in its layer's band, and every layer centred on the same axis
   line. (``dot`` instead solves a network-simplex problem to straighten long wires; a
   centred stack is enough for the mostly chain-like networks drawn here.)

Nodes with no wire at all go in one extra layer after the last, ordered by their
current position. The whole run is O((V + D) log(V + D)) per sweep for V nodes and D
dummy vertices: a chain of 5,000 nodes or a 500-node random DAG take well under a second.
"""

from __future__ import annotations

import math
from bisect import bisect_right, insort
from typing import Iterable, Mapping

from nncore.limits import MAX_POSITION

__all__ = ["auto_layout", "overlaps", "DEFAULT_SIZE"]

#: The size (width, height) assumed for a node whose size is not given.
DEFAULT_SIZE: tuple[float, float] = (180.0, 110.0)

_MAX_ITERATIONS = 12   # down+up sweep pairs at most
_PATIENCE = 3          # stop after this many iterations without a better ordering


def auto_layout(graph, sizes: Mapping[str, tuple[float, float]] | None = None,
                direction: str = "LR", gap: tuple[float, float] = (80.0, 40.0),
                origin: tuple[float, float] = (0.0, 0.0)) -> dict[str, tuple[float, float]]:
    """New top-left positions for every node of ``graph``, as a layered drawing.

    Args:
        graph: an :class:`nncore.graph.Graph` (read only; nothing is changed).
        sizes: node id -> (width, height) in scene units; nodes not in it are
            :data:`DEFAULT_SIZE` (180 x 110).
        direction: ``"LR"`` (layers are columns, data flows left to right) or ``"TB"``
            (layers are rows, data flows top to bottom).
        gap: (between layers, between nodes in a layer) in scene units: for ``"LR"`` the
            horizontal gap between columns and the vertical gap between stacked nodes,
            for ``"TB"`` the vertical gap between rows and the horizontal one between
            nodes side by side.
        origin: the top-left corner of the drawing's bounding box (moved, if need be,
            so that every position stays within :data:`nncore.limits.MAX_POSITION`).

    Returns:
        node id -> (x, y) of the node's new top-left corner, for every node, in the
        graph's node order. Node rectangles do not overlap; for every wire ``a -> b``
        the whole of ``b`` is after the whole of ``a`` along the flow.

    Raises:
        ValueError: for an unknown direction, a negative or non-finite gap or origin, or
            a size that is not two positive finite numbers.
        nncore.graph.GraphError: if the wires contain a cycle (only possible in a graph
            built without the graph's own checks).
    """
    if direction not in ("LR", "TB"):
        raise ValueError(f"direction must be 'LR' or 'TB', got {direction!r}")
    layer_gap, node_gap = _pair(gap, "gap")
    if layer_gap < 0 or node_gap < 0:
        raise ValueError(f"gap must not be negative, got {gap!r}")
    ox, oy = _pair(origin, "origin")
    horizontal = direction == "LR"

    ids = [n.id for n in graph.nodes]
    if not ids:
        return {}
    index = {nid: i for i, nid in enumerate(ids)}
    n = len(ids)
    # (thickness along the flow, extent across it) and current centres.
    along_size: list[float] = []
    across_size: list[float] = []
    across_pos: list[float] = []   # current centre across the flow (y for LR)
    along_pos: list[float] = []    # current centre along the flow (x for LR)
    for node in graph.nodes:
        w, h = _size(sizes, node.id)
        x, y = node.position
        if horizontal:
            along_size.append(w), across_size.append(h)
            along_pos.append(x + w / 2), across_pos.append(y + h / 2)
        else:
            along_size.append(h), across_size.append(w)
            along_pos.append(y + h / 2), across_pos.append(x + w / 2)

    # Wires as (src, dst) index pairs, parallel wires merged, in edge order.
    pairs: list[tuple[int, int]] = []
    seen: set[tuple[int, int]] = set()
    for e in graph.edges:
        p = (index[e.src], index[e.dst])
        if p not in seen:
            seen.add(p)
            pairs.append(p)
    preds: list[list[int]] = [[] for _ in range(n)]
    wired = [False] * n
    for s, d in pairs:
        preds[d].append(s)
        wired[s] = wired[d] = True

    # 1. Layering: longest path from the sources, in topological order.
    layer = [-1] * n
    for nid in graph.topological_order():
        v = index[nid]
        if wired[v]:
            layer[v] = max((layer[u] + 1 for u in preds[v]), default=0)
    n_layers = max(layer) + 1 if any(wired) else 0

    # 2. Dummy vertices for wires spanning several layers. Vertex v < n is a node,
    # v >= n a dummy; each vertex has its neighbours in the layer before (up) and after
    # (down), and a current position used for the initial order.
    up: list[list[int]] = [[] for _ in range(n)]
    down: list[list[int]] = [[] for _ in range(n)]
    vlayer = list(layer)
    key_across = list(across_pos)
    key_along = list(along_pos)
    for s, d in pairs:
        span = layer[d] - layer[s]
        prev = s
        for k in range(1, span):
            v = len(vlayer)
            t = k / span
            vlayer.append(layer[s] + k)
            key_across.append(across_pos[s] + t * (across_pos[d] - across_pos[s]))
            key_along.append(along_pos[s] + t * (along_pos[d] - along_pos[s]))
            up.append([prev])
            down.append([])
            down[prev].append(v)
            prev = v
        down[prev].append(d)
        up[d].append(prev)

    layers: list[list[int]] = [[] for _ in range(n_layers)]
    for v, k in enumerate(vlayer):
        if k >= 0:
            layers[k].append(v)
    for members in layers:
        members.sort(key=lambda v: (key_across[v], key_along[v], v))

    # 3. Ordering: barycenter sweeps, keeping the ordering with the fewest crossings.
    if n_layers > 1:
        layers = _order(layers, up, down, len(vlayer))

    # 4. Coordinates: real nodes only; unwired nodes in one extra layer at the end.
    placed = [[v for v in members if v < n] for members in layers]
    lonely = sorted((v for v in range(n) if not wired[v]),
                    key=lambda v: (across_pos[v], along_pos[v], v))
    if lonely:
        placed.append(lonely)
    extents = [sum(across_size[v] for v in members) + node_gap * (len(members) - 1)
               for members in placed]
    axis = max(extents) / 2
    result_xy: list[tuple[float, float]] = [(0.0, 0.0)] * n
    start = 0.0
    for members, extent in zip(placed, extents):
        thickness = max(along_size[v] for v in members)
        cursor = axis - extent / 2
        for v in members:
            a = start + (thickness - along_size[v]) / 2
            result_xy[v] = (ox + a, oy + cursor) if horizontal else (ox + cursor, oy + a)
            cursor += across_size[v] + node_gap
        start += thickness + layer_gap
    # A drawing that would reach past the graph's position limit (an origin near it) is
    # moved back inside, whole: the graph refuses positions beyond it.
    xs, ys = [p[0] for p in result_xy], [p[1] for p in result_xy]
    shift = [0.0, 0.0]
    for k, (lo, hi) in enumerate(((min(xs), max(xs)), (min(ys), max(ys)))):
        if hi > MAX_POSITION:
            shift[k] = MAX_POSITION - hi
        elif lo < -MAX_POSITION:
            shift[k] = -MAX_POSITION - lo
    if shift != [0.0, 0.0]:
        result_xy = [(x + shift[0], y + shift[1]) for x, y in result_xy]
    return {nid: result_xy[i] for i, nid in enumerate(ids)}


def _order(layers: list[list[int]], up: list[list[int]], down: list[list[int]],
           n_vertices: int) -> list[list[int]]:
    """Barycenter ordering (down and up sweeps); returns the ordering with the fewest
    crossings, the initial one unless another has strictly fewer."""
    pos = [0.0] * n_vertices  # relative position in its layer, in (0, 1)

    def place(members: list[int]) -> None:
        size = len(members)
        for i, v in enumerate(members):
            pos[v] = (i + 0.5) / size

    for members in layers:
        place(members)
    best = [list(m) for m in layers]
    best_crossings = _crossings(layers, down, pos)
    if best_crossings == 0:
        return best
    stale = 0
    for _ in range(_MAX_ITERATIONS):
        for neighbours, sweep in ((up, range(1, len(layers))),
                                  (down, range(len(layers) - 2, -1, -1))):
            for k in sweep:
                members = layers[k]
                if len(members) < 2:
                    continue
                keys = {}
                for v in members:
                    nb = neighbours[v]
                    keys[v] = (sum(pos[u] for u in nb) / len(nb) if nb else pos[v], pos[v])
                members.sort(key=keys.__getitem__)
                place(members)
        crossings = _crossings(layers, down, pos)
        if crossings < best_crossings:
            best, best_crossings, stale = [list(m) for m in layers], crossings, 0
            if crossings == 0:
                break
        else:
            stale += 1
            if stale >= _PATIENCE:
                break
    return best


def _crossings(layers: list[list[int]], down: list[list[int]], pos: list[float]) -> int:
    """Total wire crossings between consecutive layers: for each pair of layers, the
    inversions of the lower ends when the segments are sorted by their upper ends
    (Barth, Juenger & Mutzel, "Simple and efficient bilayer cross counting", 2002)."""
    total = 0
    for members in layers[:-1]:
        lows: list[float] = []
        for v in members:  # members are in order, so upper ends are sorted
            ends = sorted(pos[u] for u in down[v])
            for p in ends:
                # segments already seen with a lower end strictly after p cross this one
                total += len(lows) - bisect_right(lows, p)
            for p in ends:
                insort(lows, p)
    return total


def overlaps(positions: Mapping[str, tuple[float, float]],
             sizes: Mapping[str, tuple[float, float]] | None = None) -> list[tuple[str, str]]:
    """Pairs of node rectangles that overlap (touching edges do not count).

    Args:
        positions: node id -> (x, y) top-left corner.
        sizes: node id -> (width, height); missing ones are :data:`DEFAULT_SIZE`.

    Returns:
        (id a, id b) for each overlapping pair, ``a`` before ``b`` in ``positions``'
        order, sorted by that order; empty when nothing overlaps. A sweep over x, so
        cheap for laid-out graphs (quadratic only when many rectangles share an x range).
    """
    order = {nid: i for i, nid in enumerate(positions)}
    rects = []
    for nid, (x, y) in positions.items():
        w, h = _size(sizes, nid)
        rects.append((x, x + w, y, y + h, nid))
    rects.sort(key=lambda r: r[0])
    found: list[tuple[str, str]] = []
    for i, (x0, x1, y0, y1, a) in enumerate(rects):
        for j in range(i + 1, len(rects)):
            bx0, bx1, by0, by1, b = rects[j]
            if bx0 >= x1:
                break
            if by0 < y1 and y0 < by1 and x0 < bx1:
                found.append((a, b) if order[a] < order[b] else (b, a))
    found.sort(key=lambda p: (order[p[0]], order[p[1]]))
    return found


def _size(sizes: Mapping[str, tuple[float, float]] | None, node_id: str) -> tuple[float, float]:
    size = sizes.get(node_id) if sizes is not None else None
    if size is None:
        return DEFAULT_SIZE
    w, h = _pair(size, f"the size of {node_id!r}")
    if w <= 0 or h <= 0:
        raise ValueError(f"the size of {node_id!r} must be positive, got {size!r}")
    return w, h


def _pair(value: Iterable[float], what: str) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be two numbers, got {value!r}") from None
    if not (math.isfinite(a) and math.isfinite(b)):
        raise ValueError(f"{what} must be finite, got {value!r}")
    return a, b
