"""Many-classes benchmark: the window's memory stays bounded with 10,000 classes.

A synthetic CSV of 20,000 rows, 2 features and 10,000 classes (two rows per class) is
trained for 2 epochs in the main window (Input -> Dense 32 -> ReLU -> Dense 10,000 ->
Cross-Entropy; the Train button's path, worker thread, every plot tab drawn once at the
end), each measurement in a fresh process so that ``ru_maxrss`` (the process' peak
resident memory) is this run's. The same is measured with 10 classes for the baseline,
and the confusion matrix's drawn cells and the decision boundary's legend entries are
counted.

Goals: peak memory with 10,000 classes <= 2x that with 10 classes (the trainer
summarizes the validation confusion without its ``(K, K)`` matrix beyond
``nncore.confusion.DENSE_CLASSES``; what remains is the data times the classes: the
validation scores ``(N_val, K)`` and the loss's softmax, 160 MB each here); memory held
after the run <= 1.5x; the confusion view
draws at most ``MAX_SHOWN_CLASSES + 1`` rows and columns; the boundary's legend at most
``LEGEND_CLASSES + 1`` entries.
Results go to ``bench/results.json`` under ``"many_classes"``.

Run: ``python -m bench.classes [--quick] [--no-json]`` (``make bench`` runs it too).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.report import now_iso, parse_args, print_goals, save_section

ROWS = 20_000


def write_project(folder: Path, classes: int, rows: int = ROWS) -> Path:
    """``folder/data.csv`` (``rows`` rows: features ``a``, ``b``; ``label`` cycling
    through ``classes`` classes) and ``folder/project.json`` training on it."""
    import numpy as np

    from nncore.graph import Graph, save_graph
    from nncore.project.settings import DatasetSettings

    rng = np.random.default_rng(0)
    labels = np.arange(rows) % classes
    x = rng.normal(size=(rows, 2)) * 0.1 + np.c_[np.cos(labels), np.sin(labels)]
    with (folder / "data.csv").open("w") as f:
        f.write("a,b,label\n")
        f.writelines(f"{a:.5f},{b:.5f},{y}\n" for (a, b), y in zip(x, labels))
    g = Graph()
    ids = [g.add_node("input", (0.0, 0.0)).id,
           g.add_node("dense", (280.0, 0.0), {"units": 32}).id,
           g.add_node("relu", (560.0, 0.0)).id,
           g.add_node("dense", (840.0, 0.0), {"units": classes}).id,
           g.add_node("cross_entropy", (1120.0, 0.0)).id]
    for a, b in zip(ids, ids[1:]):
        g.connect(a, g.node(a).type.outputs[0].name, b, g.node(b).type.inputs[0].name)
    g.connect(ids[0], "labels", ids[-1], "target")
    g.settings = {"dataset": DatasetSettings(source="csv", path="data.csv").to_dict(),
                  "training": {"epochs": 2, "batch_size": 256}}
    path = folder / "project.json"
    save_graph(path, g)
    return path


def measure(classes: int, rows: int = ROWS) -> dict:
    """Train ``classes`` classes in a window in this process; peak memory (MiB) before
    and after, the confusion view's and the legend's sizes."""
    import resource

    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow

    def rss_mib() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB

    def resident_mib() -> float:  # now, not the peak (Linux: /proc/self/statm, pages)
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20

    folder = Path(tempfile.mkdtemp(prefix="nncanvas-classes-"))
    path = write_project(folder, classes, rows)
    app = QApplication.instance() or QApplication([])
    window = MainWindow(theme="light", persist=False)
    window.resize(1400, 900)
    window.show()
    assert window.open_file(path)
    app.processEvents()
    before = rss_mib()
    loop = QEventLoop()
    window.controller.run_finished.connect(lambda _id: loop.quit())
    QTimer.singleShot(600_000, loop.quit)
    run_id = window.start_training()
    loop.exec()
    plots = window.plots
    for tab in ("confusion", "boundary"):
        plots.show_tab(tab)
        plots.redraw_now()
        app.processEvents()
    confusion, boundary = plots.confusion, plots.boundary
    import gc

    gc.collect()
    held = resident_mib()
    run = window.runs.get(run_id)
    result = {"classes": classes, "rows": rows, "epochs": len(run.epochs),
              "status": str(run.status), "rss_before_train_mib": round(before, 1),
              "rss_peak_mib": round(rss_mib(), 1), "rss_held_after_mib": round(held, 1),
              "confusion_rows_drawn": 0 if confusion.matrix is None else
              int(confusion.matrix.shape[0]),
              "confusion_cells_with_text": len(confusion.texts),
              "boundary_legend_entries": len(boundary.legend.items)}
    window.document.mark_unmodified()
    window.close()
    return result


def measure_in_subprocess(classes: int, rows: int = ROWS) -> dict:
    """:func:`measure` in a fresh Python process (its own peak memory)."""
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    code = ("import json, sys; from bench.classes import measure; "
            f"print('RESULT ' + json.dumps(measure({int(classes)}, {int(rows)})))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=900, env=env, cwd=str(Path(__file__).resolve().parents[1]))
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"the measurement failed:\n{proc.stderr[-3000:]}")
    return json.loads(line[len("RESULT "):])


def main(argv=None) -> int:
    from nncore.confusion import MAX_SHOWN_CLASSES
    from app.plots.boundary import LEGEND_CLASSES

    args = parse_args("python -m bench.classes", __doc__, "fewer rows; no results file", argv)
    rows = 4_000 if args.quick else ROWS
    many = 2_000 if args.quick else 10_000
    base = measure_in_subprocess(10, rows)
    big = measure_in_subprocess(many, rows)
    ratio = big["rss_peak_mib"] / base["rss_peak_mib"]
    held = big["rss_held_after_mib"] / base["rss_held_after_mib"]
    result = {"baseline": base, "many": big, "peak_ratio": round(ratio, 2),
              "held_ratio": round(held, 2)}
    goals = {"peak memory with many classes <= 2x that with 10":
             ratio <= 2.0,
             "memory held after the run <= 1.5x that with 10": held <= 1.5,
             "confusion view <= MAX_SHOWN_CLASSES + 1 rows":
             big["confusion_rows_drawn"] <= MAX_SHOWN_CLASSES + 1,
             "boundary legend <= LEGEND_CLASSES + 1 entries":
             big["boundary_legend_entries"] <= LEGEND_CLASSES + 1}
    result["goals"] = goals
    print(f"Many-classes benchmark (offscreen; {rows:,} rows, 2 features, 2 epochs)")
    for r in (base, big):
        print(f"  {r['classes']:>6,} classes: peak {r['rss_peak_mib']:,.0f} MiB, held after "
              f"the run {r['rss_held_after_mib']:,.0f} MiB (window open "
              f"{r['rss_before_train_mib']:,.0f} MiB); confusion {r['confusion_rows_drawn']} "
              f"rows, legend {r['boundary_legend_entries']} entries")
    print_goals(goals)
    if not (args.quick or args.no_json):
        save_section(args.json, "many_classes", {**result, "date": now_iso()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
