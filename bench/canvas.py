"""Canvas benchmark: how fast the editor opens and redraws large networks.

Builds a layered network of N nodes through the graph model (Dense/ReLU/BatchNorm blocks
with skip connections into Add nodes, laid out by the auto-layout), then measures, on the
offscreen platform:

* ``open_s``: creating the scene's items for the graph and showing its analysis;
* ``fit_s``: fitting the view to the whole graph and drawing it once;
* ``zoom_step_ms``: one zoom step (x1.15) plus drawing the viewport, at the fitted zoom
  (every node visible) — the median over many steps in and out;
* ``pan_step_ms``: one pan step (a scroll of 40 pixels) plus drawing, at 100% zoom.

For N = 250 and 500. The step ratios at 500 over 250 nodes show how redrawing scales
(everything is visible when fitted, so about 2 means linear). Goals: 500 nodes open in
under 1 s; a zoom or pan step under 16 ms (60 frames a second). Results go to
``bench/results.json`` under ``"canvas"``.

Then, through the real :class:`~app.main_window.MainWindow` (offscreen, shown), the
editing of a saved file of N = 250, 500, 1,000 and 2,000 nodes, each timed until the
event loop has nothing left to do (the scene, the inspector, the minimap and the
window are up to date and drawn): ``open_s`` (File → Open of the file), ``select_all_s``
(Edit → Select All), ``copy_s`` and ``paste_s`` (Edit → Copy, Edit → Paste of every
node), ``undo_paste_s``, ``delete_s`` (Edit → Delete of every node) and
``undo_delete_s``. The ratio per doubling of N shows how each scales (2 is linear, 4
quadratic). Goals: each under 1 s at 2,000 nodes, and at most 2.2 per doubling (the
geometric mean from 250 to 2,000). Each figure is the best of three runs; the CPU time
of the process (``*_cpu_s``) is kept too, as the machine may be shared.

Run: ``python -m bench.canvas [--quick] [--no-json]`` (``make bench`` runs it too).
"""

from __future__ import annotations

import os
import statistics
import sys
import time

from bench.report import now_iso, parse_args, print_goals, save_section



def build_graph(n: int):
    """A wide network of about ``n`` nodes: parallel branches of Dense -> ReLU blocks
    from one Input, joined by a Concatenate, then a Dense and a Cross-Entropy. Laid out,
    it is about as wide as it is tall, so fitting the view shows every node."""
    from nncore.graph import Graph

    g = Graph()
    inp = g.add_node("input")  # its shapes come from the dataset (the digits)
    branches = max(2, round((n / 2) ** 0.5 * 0.8))
    depth = max(1, (n - 4) // branches)
    cat = g.add_node("concatenate")
    for _ in range(branches):
        prev, port = inp.id, "features"
        for k in range(depth):
            node = g.add_node("dense" if k % 2 == 0 else "relu",
                              params={"units": 16} if k % 2 == 0 else None)
            g.connect(prev, port, node.id, "input")
            prev, port = node.id, "output"
        g.connect(prev, port, cat.id, "inputs")
    out = g.add_node("dense", params={"units": 10})
    loss = g.add_node("cross_entropy")
    g.connect(cat.id, "output", out.id, "input")
    g.connect(out.id, "output", loss.id, "input")
    g.connect(inp.id, "labels", loss.id, "target")
    from nncore.project.settings import DatasetSettings

    g.settings = {"dataset": DatasetSettings().to_dict()}
    return g


def laid_out_graph(n: int):
    """:func:`build_graph` of ``n`` nodes, auto-laid out as the window does."""
    from app.editor.items import node_size
    from app.editor.layout import auto_layout

    g = build_graph(n)
    positions = auto_layout(g, {node.id: node_size(node) for node in g.nodes},
                            gap=(100.0, 40.0))
    for nid, pos in positions.items():
        g.move_node(nid, pos)
    return g


def measure(n: int, zoom_steps: int, pan_steps: int) -> dict:
    from PySide6.QtWidgets import QApplication

    from app.document import Document
    from app.editor.scene import GraphScene
    from app.editor.view import GraphView

    app = QApplication.instance() or QApplication([])
    g = laid_out_graph(n)
    doc = Document()
    view_holder = []

    start = time.perf_counter()
    doc.graph.replace_with(g)  # what opening a file does (rebuilds the scene's items)
    scene = GraphScene(doc)
    scene.refresh()
    open_s = time.perf_counter() - start

    view = GraphView(scene)
    view_holder.append(view)
    view.resize(1280, 800)
    view.show()
    app.processEvents()
    start = time.perf_counter()
    view.fit()
    view.viewport().grab()
    fit_s = time.perf_counter() - start

    def timed(step) -> float:
        t = time.perf_counter()
        step()
        view.viewport().grab()  # draw what is visible now
        return (time.perf_counter() - t) * 1000

    fitted = view.zoom()
    zoom_times = []
    for i in range(zoom_steps):
        zoom_times.append(timed(view.zoom_in if (i // 4) % 2 == 0 else view.zoom_out))
    view.set_zoom(fitted)
    view.set_zoom(1.0)
    view.centerOn(scene.items_rect().center())
    bar = view.horizontalScrollBar()
    pan_times = []
    for i in range(pan_steps):
        delta = 40 if (i // 10) % 2 == 0 else -40
        pan_times.append(timed(lambda d=delta: bar.setValue(bar.value() + d)))
    visible = sum(1 for item in scene.nodes.values()
                  if view.visible_scene_rect().intersects(item.sceneBoundingRect()))
    view.close()
    assert fitted > 0.05, "the graph does not fit the view"
    return {"nodes": len(g), "wires": len(g.edges), "open_s": round(open_s, 4),
            "fit_s": round(fit_s, 4), "fitted_zoom": round(fitted, 3),
            "zoom_step_ms": round(statistics.median(zoom_times), 3),
            "zoom_step_p95_ms": round(sorted(zoom_times)[int(0.95 * len(zoom_times))], 3),
            "pan_step_ms": round(statistics.median(pan_times), 3),
            "pan_step_p95_ms": round(sorted(pan_times)[int(0.95 * len(pan_times))], 3),
            "nodes_visible_at_100pct": visible}


#: The sizes of the window benchmark, each twice the one before.
WINDOW_SIZES = (250, 500, 1000, 2000)
#: What the window benchmark times, in the order it does it.
WINDOW_OPS = ("open_s", "select_all_s", "copy_s", "paste_s", "undo_paste_s", "delete_s",
              "undo_delete_s")


def _settle(app) -> None:
    """Run the event loop until nothing is pending: the coalesced refreshes (zero-time
    timers that may start others), posted events and the painting of the window."""
    for _ in range(4):
        app.sendPostedEvents()
        app.processEvents()


def measure_window(n: int, folder) -> dict:
    """Open a saved file of about ``n`` nodes in a MainWindow and time the edits of
    :data:`WINDOW_OPS` (seconds, each until the window is up to date)."""
    from pathlib import Path

    from PySide6.QtWidgets import QApplication, QMessageBox

    from app.main_window import MainWindow
    from nncore.graph import save_graph

    app = QApplication.instance() or QApplication([])
    g = laid_out_graph(n)
    path = Path(folder) / f"canvas_{n}.json"
    save_graph(path, g)
    win = MainWindow(persist=False)
    win.ask_save = lambda: QMessageBox.Discard
    win.resize(1400, 860)
    win.show()
    _settle(app)
    graph = win.document.graph

    r = {"nodes": len(g), "wires": len(g.edges)}
    cpu = {}

    def timed(step) -> float:
        t, c = time.perf_counter(), time.process_time()
        step()
        _settle(app)
        cpu[len(cpu)] = time.process_time() - c
        return round(time.perf_counter() - t, 4)

    r["open_s"] = timed(lambda: win.open_file(path))
    assert len(win.scene.nodes) == len(g), "the file did not open"
    r["select_all_s"] = timed(win.act_select_all.trigger)
    assert len(win.scene.selected_node_ids()) == len(g), "Select All missed nodes"
    r["copy_s"] = timed(win.act_copy.trigger)
    r["paste_s"] = timed(win.act_paste.trigger)
    assert len(graph) == 2 * len(g), "Paste did not add every node"
    r["undo_paste_s"] = timed(win.act_undo.trigger)
    assert len(graph) == len(g), "undoing the paste left nodes"
    win.act_select_all.trigger()
    _settle(app)
    r["delete_s"] = timed(win.act_delete.trigger)
    assert len(graph) == 0 and not win.scene.nodes, "Delete left nodes"
    r["undo_delete_s"] = timed(win.act_undo.trigger)
    assert len(graph) == len(g) and len(graph.edges) == len(g.edges), "undo lost wires"
    for i, op in enumerate(WINDOW_OPS):  # this process's CPU time: the machine is shared
        r[op.replace("_s", "_cpu_s")] = round(cpu[i], 4)
    win.close()
    win.deleteLater()
    _settle(app)
    return r


def window_ratios(sizes: dict) -> dict:
    """Per operation: the time ratio of each size over the one before (``"500/250"``)
    and the geometric mean per doubling (``"per_doubling"``)."""
    ns = sorted(int(k) for k in sizes)
    out = {}
    for op in WINDOW_OPS:
        steps = {f"{b}/{a}": round(sizes[str(b)][op] / max(sizes[str(a)][op], 1e-6), 2)
                 for a, b in zip(ns, ns[1:])}
        whole = sizes[str(ns[-1])][op] / max(sizes[str(ns[0])][op], 1e-6)
        steps["per_doubling"] = round(whole ** (1 / max(len(ns) - 1, 1)), 2)
        out[op] = steps
    return out


def main_window_bench(quick: bool, repeats: int = 3) -> tuple[dict, dict, dict]:
    """Run :func:`measure_window` ``repeats`` times for every size (once, for 250 and 500
    only, with ``quick``), keeping each figure's best (least disturbed) run; print the
    table and the ratios; return (sizes, ratios, goals)."""
    import tempfile

    ns = WINDOW_SIZES[:2] if quick else WINDOW_SIZES
    repeats = 1 if quick else repeats
    sizes = {}
    with tempfile.TemporaryDirectory() as folder:
        measure_window(60, folder)  # warm up (fonts, caches, imports)
        for n in ns:
            runs = [measure_window(n, folder) for _ in range(repeats)]
            sizes[str(n)] = {k: min(r[k] for r in runs) for k in runs[0]}
    ratios = window_ratios(sizes)
    print("canvas benchmark in the main window (offscreen, 1400x860), seconds")
    print(f"{'nodes':>6} " + " ".join(f"{op[:-2]:>12}" for op in WINDOW_OPS))
    for n in ns:
        r = sizes[str(n)]
        print(f"{r['nodes']:>6} " + " ".join(f"{r[op]:>12.3f}" for op in WINDOW_OPS))
    print(f"{'x/2x':>6} " + " ".join(f"{ratios[op]['per_doubling']:>12.2f}"
                                     for op in WINDOW_OPS))
    print("CPU time of this process (the machine may be shared):")
    for n in ns:
        r = sizes[str(n)]
        print(f"{r['nodes']:>6} " + " ".join(f"{r[op.replace('_s', '_cpu_s')]:>12.3f}"
                                             for op in WINDOW_OPS))
    largest = sizes[str(ns[-1])]
    goals = {f"{op[:-2]} of {ns[-1]} nodes < 1 s": largest[op] < 1.0 for op in WINDOW_OPS}
    goals.update({f"{op[:-2]} <= 2.2x per doubling": ratios[op]["per_doubling"] <= 2.2
                  for op in WINDOW_OPS})
    return sizes, ratios, goals


def main(argv=None) -> int:
    args = parse_args("python -m bench.canvas", __doc__, "fewer steps; no results file", argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    steps = (16, 20) if args.quick else (64, 80)
    sizes = {}
    for n in (250, 500):
        measure(n, 4, 4)  # warm up (fonts, caches)
        sizes[str(n)] = measure(n, *steps)
    a, b = sizes["250"], sizes["500"]
    ratios = {"zoom_step_500/250": round(b["zoom_step_ms"] / a["zoom_step_ms"], 2),
              "pan_step_500/250": round(b["pan_step_ms"] / a["pan_step_ms"], 2),
              "open_500/250": round(b["open_s"] / a["open_s"], 2)}
    print("canvas benchmark (offscreen, 1280x800 view)")
    print(f"{'nodes':>6} {'wires':>6} {'open':>8} {'fit':>8} {'zoom step':>10} {'p95':>7} "
          f"{'pan step':>9} {'p95':>7}")
    for r in (a, b):
        print(f"{r['nodes']:>6} {r['wires']:>6} {r['open_s'] * 1000:>6.0f}ms "
              f"{r['fit_s'] * 1000:>6.0f}ms "
              f"{r['zoom_step_ms']:>8.1f}ms {r['zoom_step_p95_ms']:>5.1f}ms "
              f"{r['pan_step_ms']:>7.1f}ms "
              f"{r['pan_step_p95_ms']:>5.1f}ms")
    print(f"ratios 500/250: zoom step {ratios['zoom_step_500/250']}, pan step "
          f"{ratios['pan_step_500/250']}, open {ratios['open_500/250']}")
    goals = {"open 500 nodes < 1 s": b["open_s"] < 1.0,
             "zoom step < 16 ms": b["zoom_step_ms"] < 16.0,
             "pan step < 16 ms": b["pan_step_ms"] < 16.0}
    print_goals(goals)
    window_sizes, window_ratios_, window_goals = main_window_bench(args.quick)
    print_goals(window_goals)
    if not (args.quick or args.no_json):
        save_section(args.json, "canvas", {"sizes": sizes, "ratios": ratios, "goals": goals,
                                           "window": {"sizes": window_sizes,
                                                      "ratios": window_ratios_,
                                                      "goals": window_goals},
                                           "date": now_iso()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
