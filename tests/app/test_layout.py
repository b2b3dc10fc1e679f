"""Auto-layout (app/editor/layout.py): layered drawing, no overlaps, stable, fast, no Qt."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.editor.layout import DEFAULT_SIZE, auto_layout, overlaps
from app.resources import example_paths
from nncore.graph import Graph, load_graph

REPO_ROOT = Path(__file__).resolve().parents[2]


def _out(node) -> str:
    return "features" if node.type_id == "input" else "output"


def chain(n: int, scatter: bool = False, seed: int = 0) -> Graph:
    rng = random.Random(seed)
    g = Graph()
    prev = g.add_node("input", (0.0, 0.0))
    for _ in range(n - 1):
        pos = (rng.uniform(-2000, 2000), rng.uniform(-2000, 2000)) if scatter else (0.0, 0.0)
        node = g.add_node("relu", pos)
        g.connect(prev.id, _out(prev), node.id, "input")
        prev = node
    return g


def diamond(a_above_b: bool = True) -> tuple[Graph, dict[str, str]]:
    """Input -> Dense a, Dense b -> Add -> Dense -> loss, with Input.labels -> loss, on
    the iris (4 features, 3 classes)."""
    g = Graph()
    g.set_settings({"dataset": {"source": "builtin", "name": "iris"}})
    inp = g.add_node("input", (0, 0))
    a = g.add_node("dense", (300, -200 if a_above_b else 200), name="a")
    b = g.add_node("dense", (300, 200 if a_above_b else -200), name="b")
    add = g.add_node("add", (600, 0))
    out = g.add_node("dense", (900, 0), {"units": 3})
    loss = g.add_node("cross_entropy", (1200, 0))
    g.connect(inp.id, "features", a.id, "input")
    g.connect(inp.id, "features", b.id, "input")
    g.connect(a.id, "output", add.id, "inputs")
    g.connect(b.id, "output", add.id, "inputs")
    g.connect(add.id, "output", out.id, "input")
    g.connect(out.id, "output", loss.id, "input")
    g.connect(inp.id, "labels", loss.id, "target")
    return g, {"input": inp.id, "a": a.id, "b": b.id, "add": add.id, "out": out.id,
               "loss": loss.id}


def random_dag(n: int, seed: int) -> Graph:
    """A connected random DAG: each node takes 1-3 inputs from earlier nodes."""
    rng = random.Random(seed)
    g = Graph()
    nodes = [g.add_node("input", (rng.uniform(0, 4000), rng.uniform(0, 4000)))]
    for _ in range(n - 1):
        node = g.add_node("add", (rng.uniform(0, 4000), rng.uniform(0, 4000)))
        pool = nodes if rng.random() < 0.5 else nodes[-15:]
        for src in rng.sample(pool, min(len(pool), rng.randint(1, 3))):
            g.connect(src.id, _out(src), node.id, "inputs")
        nodes.append(node)
    return g


def size_of(sizes, nid):
    return (sizes or {}).get(nid, DEFAULT_SIZE)


def assert_forward(g: Graph, pos, sizes=None, direction="LR") -> None:
    """For every wire, the whole destination is after the whole source along the flow."""
    axis = 0 if direction == "LR" else 1
    for e in g.edges:
        end_of_src = pos[e.src][axis] + size_of(sizes, e.src)[axis]
        assert pos[e.dst][axis] > end_of_src - 1e-9, (e, pos[e.src], pos[e.dst])
        assert pos[e.dst][axis] > pos[e.src][axis]


def apply(g: Graph, pos) -> None:
    for nid, p in pos.items():
        g.move_node(nid, p)


# --------------------------------------------------------------------------- chains
def test_chain_left_to_right_in_order_same_y():
    g = chain(6, scatter=True)
    pos = auto_layout(g)
    ids = [n.id for n in g.nodes]
    assert list(pos) == ids
    xs = [pos[i][0] for i in ids]
    assert xs == sorted(xs) and len(set(xs)) == len(xs)
    assert len({pos[i][1] for i in ids}) == 1
    # default gap: 180 wide + 80 between columns
    assert xs[1] - xs[0] == pytest.approx(DEFAULT_SIZE[0] + 80.0)
    assert pos[ids[0]] == (0.0, 0.0)


def test_chain_top_to_bottom():
    g = chain(5, scatter=True)
    pos = auto_layout(g, direction="TB", gap=(50.0, 30.0), origin=(10.0, 20.0))
    ids = [n.id for n in g.nodes]
    ys = [pos[i][1] for i in ids]
    assert ys == sorted(ys) and len(set(ys)) == len(ys)
    assert ys[1] - ys[0] == pytest.approx(DEFAULT_SIZE[1] + 50.0)
    assert {pos[i][0] for i in ids} == {10.0}
    assert ys[0] == 20.0
    assert_forward(g, pos, direction="TB")


def test_origin_is_top_left_of_the_drawing():
    g, _ = diamond()
    pos = auto_layout(g, origin=(-500.0, 300.0))
    assert min(x for x, _ in pos.values()) == pytest.approx(-500.0)
    assert min(y for _, y in pos.values()) == pytest.approx(300.0)


def test_empty_graph():
    assert auto_layout(Graph()) == {}


# --------------------------------------------------------------------------- branching
@pytest.mark.parametrize("direction", ["LR", "TB"])
def test_diamond_every_node_after_its_inputs(direction):
    g, ids = diamond()
    pos = auto_layout(g, direction=direction)
    assert_forward(g, pos, direction=direction)
    axis = 0 if direction == "LR" else 1
    # layers: Input | a, b | Add | Dense | loss (the labels wire does not pull the loss in)
    along = [pos[ids[k]][axis] for k in ("input", "a", "add", "out", "loss")]
    assert along == sorted(along) and len(set(along)) == 5
    assert pos[ids["a"]][axis] == pos[ids["b"]][axis]
    assert overlaps(pos) == []
    # the single-node layers sit on the common axis line, a and b straddle it
    across = 1 - axis
    centres = {k: pos[v][across] + DEFAULT_SIZE[across] / 2 for k, v in ids.items()}
    assert centres["input"] == centres["add"] == centres["out"] == centres["loss"]
    assert centres["a"] < centres["input"] < centres["b"]
    assert centres["input"] - centres["a"] == pytest.approx(centres["b"] - centres["input"])


def test_mixed_sizes_no_overlap_and_forward():
    g, ids = diamond()
    sizes = {ids["input"]: (120.0, 300.0), ids["a"]: (260.0, 90.0), ids["b"]: (150.0, 220.0),
             ids["add"]: (60.0, 60.0), ids["loss"]: (300.0, 40.0)}  # "out" gets the default
    for direction in ("LR", "TB"):
        pos = auto_layout(g, sizes, direction=direction)
        assert overlaps(pos, sizes) == []
        assert_forward(g, pos, sizes, direction)
    # even with no gap at all nothing overlaps (rectangles may touch)
    pos = auto_layout(g, sizes, gap=(0.0, 0.0))
    assert overlaps(pos, sizes) == []
    assert_forward(g, pos, sizes)


def test_deterministic():
    g = random_dag(120, seed=3)
    first = auto_layout(g)
    assert auto_layout(g) == first
    copy = Graph()
    copy.replace_with(g)
    assert auto_layout(copy) == first


def test_tidy_graph_keeps_its_order_and_layout_is_idempotent():
    for a_above_b in (True, False):
        g, ids = diamond(a_above_b)
        pos = auto_layout(g)
        assert (pos[ids["a"]][1] < pos[ids["b"]][1]) == a_above_b
        apply(g, pos)
        assert auto_layout(g) == pos
    # TB keeps the left-right order the same way
    g, ids = diamond(True)
    for nid in ids.values():  # turn the drawing: y -> x
        x, y = g.node(nid).position
        g.move_node(nid, (y, x))
    pos = auto_layout(g, direction="TB")
    assert pos[ids["a"]][0] < pos[ids["b"]][0]
    apply(g, pos)
    assert auto_layout(g, direction="TB") == pos


def test_tidy_chain_with_the_same_spacing_is_unchanged():
    g = chain(7)
    for i, n in enumerate(g.nodes):
        g.move_node(n.id, (i * 280.0, 0.0))
    before = {n.id: n.position for n in g.nodes}
    assert auto_layout(g, gap=(280.0 - DEFAULT_SIZE[0], 40.0)) == before


def test_examples_lay_out_without_overlaps():
    for path in sorted(example_paths()):
        g = load_graph(path)
        pos = auto_layout(g)
        assert len(pos) == len(g) and overlaps(pos) == [], path.name
        assert_forward(g, pos)


def test_crossings_are_removed():
    """Two parallel chains drawn crossed (a1 above b1 but a2 below b2) get untangled."""
    g = Graph()
    inp = g.add_node("input", (0, 0))
    a1 = g.add_node("dense", (300, -200))
    b1 = g.add_node("dense", (300, 200))
    a2 = g.add_node("relu", (600, 200))
    b2 = g.add_node("relu", (600, -200))
    g.connect(inp.id, "features", a1.id, "input")
    g.connect(inp.id, "features", b1.id, "input")
    g.connect(a1.id, "output", a2.id, "input")
    g.connect(b1.id, "output", b2.id, "input")
    pos = auto_layout(g)
    assert (pos[a1.id][1] < pos[b1.id][1]) == (pos[a2.id][1] < pos[b2.id][1])


def test_unconnected_nodes_get_their_own_column_at_the_end():
    g, ids = diamond()
    lonely = [g.add_node("relu", (50, y)) for y in (500, -500, 0)]
    sizes = {lonely[0].id: (400.0, 250.0)}
    pos = auto_layout(g, sizes)
    assert overlaps(pos, sizes) == []
    right_edge = max(pos[v][0] + size_of(sizes, v)[0] for v in ids.values())
    xs = {pos[n.id][0] + size_of(sizes, n.id)[0] / 2 for n in lonely}
    assert len(xs) == 1 and min(pos[n.id][0] for n in lonely) >= right_edge + 80.0 - 1e-9
    # stacked in the order of their current y
    assert pos[lonely[1].id][1] < pos[lonely[2].id][1] < pos[lonely[0].id][1]
    # a graph of unconnected nodes only: one column
    g2 = Graph()
    for y in (0, 10, 20):
        g2.add_node("relu", (y * 7, y))
    pos2 = auto_layout(g2)
    assert len({x for x, _ in pos2.values()}) == 1 and overlaps(pos2) == []


def test_overlaps_finds_pairs():
    pos = {"a": (0, 0), "b": (100, 50), "c": (180, 0), "d": (1000, 1000)}
    assert overlaps(pos) == [("a", "b"), ("b", "c")]  # a and c only touch
    assert overlaps(pos, {"a": (50, 40), "b": (10, 10)}) == []


def test_bad_arguments():
    g = chain(3)
    with pytest.raises(ValueError, match="direction"):
        auto_layout(g, direction="RL")
    with pytest.raises(ValueError, match="gap"):
        auto_layout(g, gap=(-1.0, 5.0))
    with pytest.raises(ValueError, match="size"):
        auto_layout(g, {g.nodes[0].id: (0.0, 10.0)})
    with pytest.raises(ValueError, match="origin"):
        auto_layout(g, origin=(float("nan"), 0.0))


# --------------------------------------------------------------------------- big graphs
def test_chain_of_5000(capsys):
    g = chain(5000, scatter=True, seed=1)
    t = time.perf_counter()
    pos = auto_layout(g)
    elapsed = time.perf_counter() - t
    with capsys.disabled():
        print(f"\nauto_layout: chain of 5000 nodes in {elapsed * 1000:.0f} ms")
    ids = [n.id for n in g.nodes]
    xs = [pos[i][0] for i in ids]
    assert all(b > a for a, b in zip(xs, xs[1:]))
    assert len({pos[i][1] for i in ids}) == 1


def test_random_dag_of_500(capsys):
    g = random_dag(500, seed=7)
    sizes = {n.id: (120.0 + (i * 37) % 140, 60.0 + (i * 53) % 120)
             for i, n in enumerate(g.nodes)}
    t = time.perf_counter()
    pos = auto_layout(g, sizes)
    elapsed = time.perf_counter() - t
    with capsys.disabled():
        print(f"\nauto_layout: random DAG of 500 nodes, {len(g.edges)} wires "
              f"in {elapsed * 1000:.0f} ms")
    assert len(pos) == 500
    assert overlaps(pos, sizes) == []
    assert_forward(g, pos, sizes)


def test_module_imports_no_qt():
    code = ("import sys; import app.editor.layout; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6')]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True)


@pytest.mark.parametrize("origin", [(1e7 - 100, 1e7 - 10), (-1e7, -1e7)])
def test_a_drawing_near_the_position_limit_stays_inside_it(origin):
    """Auto-layout of nodes near the limit (issue 9: the graph refuses positions beyond
    1e7) moves the whole drawing back inside, keeping its shape."""
    from nncore.limits import MAX_POSITION

    g = Graph()
    prev = g.add_node("input", (origin[0], origin[1]))
    for i in range(6):
        node = g.add_node("dense", (origin[0], origin[1]))
        g.connect(prev.id, "features" if i == 0 else "output", node.id, "input")
        prev = node
    far = auto_layout(g, origin=origin)
    near = auto_layout(g, origin=(0.0, 0.0))
    assert all(abs(x) <= MAX_POSITION and abs(y) <= MAX_POSITION for x, y in far.values())
    dx = far[prev.id][0] - near[prev.id][0]
    dy = far[prev.id][1] - near[prev.id][1]
    for nid in near:  # the same drawing, moved
        assert far[nid] == pytest.approx((near[nid][0] + dx, near[nid][1] + dy))
    for nid, pos in far.items():
        g.move_node(nid, pos)  # the graph takes every position
