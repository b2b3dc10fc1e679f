"""GUI benchmark: is the window smooth while it trains, and how much does the GUI cost?

In one process, on the offscreen platform:

* the main window opens the digits example and trains it for 300 epochs (about 3 s) at
  full speed through the Train button's path (worker thread); meanwhile a 5 ms QTimer
  in the GUI thread records how late each tick fires (lateness = interval - 5 ms) from
  the worker's first report on (before it, pressing Train builds the run's plot items:
  about 15 ms, once), and the plots' redraw timer is counted (redraws per second);
* the loss view's redraw time with 1,000 and with 100,000 loss points;
* the same training with View → Gradient Flow on (a minibatch traced 5 times a second,
  the canvas' wires redrawn by their gradient norms), against the run with it off;
* the same training run by the command-line path (:class:`nncore.project.TrainingRun`,
  one BLAS thread, as ``nncore train``) in this process, for the samples-per-second
  ratio app / command line.

Goals: timer lateness p99 <= 10 ms while training; plots redrawn at >= 25 Hz; redraw
time at 100k points <= 2x that at 1k; training samples per second in the app >= 80% of
the command line's; with the gradient-flow overlay on, training samples per second >= 95%
of those with it off (median of two runs each, alternated). Results go to
``bench/results.json`` under ``"gui"``.

Run: ``python -m bench.gui [--quick] [--no-json]`` (``make bench`` runs it too).
"""

from __future__ import annotations

import os
import statistics
import sys
import time

from app.resources import example_path
from bench.report import now_iso, parse_args, print_goals, save_section

EXAMPLE = example_path("digits_mlp")


def cli_rate(epochs: int) -> float:
    """Samples per second of the command-line path on the digits example."""
    from threadpoolctl import threadpool_limits

    from nncore.graph import load_graph
    from nncore.project import TrainingRun

    run = TrainingRun(load_graph(EXAMPLE))
    n = len(run.split.y_train)
    with threadpool_limits(1):
        start = time.perf_counter()
        run.fit(epochs)
        seconds = time.perf_counter() - start
    return n * epochs / seconds


def app_run(epochs: int, flow: bool = False) -> dict:
    """Train in the window (the Train button's path) under the real event loop; measure
    the 5 ms timer's lateness, the plots' redraws and the run's speed; with ``flow``,
    the gradient-flow overlay is on (View → Gradient Flow)."""
    from PySide6.QtCore import QElapsedTimer, QEventLoop, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    window = MainWindow(theme="light")
    window.resize(1400, 900)
    window.show()
    window.open_file(EXAMPLE)
    app.processEvents()
    settings = dict(window.document.graph.settings)
    settings["training"] = {**settings["training"], "epochs": epochs}
    window.document.graph.set_settings(settings)
    window.flow_overlay.set_enabled(flow)
    flows: set[int] = set()  # the traced steps drawn
    window.runs.run_changed.connect(
        lambda rid: flows.add(window.flow_overlay.shown.step) if flow and
        window.flow_overlay.shown is not None else None)

    lateness: list[float] = []
    clock = QElapsedTimer()
    timer = QTimer()
    timer.setTimerType(Qt.PreciseTimer)
    timer.setInterval(5)
    last: list[float | None] = [None]

    training = [False]  # lateness counts from the worker's first report (the run changes):
    # pressing Train first builds the run's plot items (about 15 ms, once, before training)

    def tick() -> None:
        now = clock.nsecsElapsed() / 1e6
        if last[0] is not None and training[0]:
            lateness.append(now - last[0] - 5.0)
        last[0] = now

    def started(*_: object) -> None:
        training[0] = True

    timer.timeout.connect(tick)
    plots = window.plots
    redraw_ms: list[float] = []
    seen = [plots.redraw_count]

    def after_plot_tick() -> None:  # connected after the panel's own slot: runs after it
        if plots.redraw_count != seen[0]:
            seen[0] = plots.redraw_count
            redraw_ms.append(plots.last_redraw_s * 1000)

    plots.timer.timeout.connect(after_plot_tick)
    results: list = []  # the worker's RunResult
    window.controller.worker.finished.connect(lambda run_id, r: results.append(r))
    loop = QEventLoop()
    window.controller.run_finished.connect(lambda run_id: loop.quit())
    window.runs.run_changed.connect(started)  # in the GUI thread, once the worker reports
    QTimer.singleShot(600_000, loop.quit)
    clock.start()
    timer.start()
    start = time.perf_counter()
    run_id = window.start_training()
    loop.exec()
    seconds = time.perf_counter() - start
    timer.stop()
    run = window.runs.get(run_id)
    window.document.mark_unmodified()
    window.close()
    lateness.sort()
    redraw_ms.sort()

    def pct(values: list[float], q: float) -> float:
        return round(values[min(len(values) - 1, int(q * len(values)))], 3) if values else 0.0

    return {"epochs": len(run.epochs), "seconds": round(seconds, 3),
            "samples_per_s": round(results[-1].samples_per_s if results else 0.0, 1),
            "timer_ticks": len(lateness),
            "lateness_p50_ms": pct(lateness, 0.5), "lateness_p95_ms": pct(lateness, 0.95),
            "lateness_p99_ms": pct(lateness, 0.99), "lateness_max_ms": pct(lateness, 1.0),
            "redraws": len(redraw_ms),
            "redraws_per_s": round(len(redraw_ms) / seconds, 1),
            "redraw_ms_p50": pct(redraw_ms, 0.5), "redraw_ms_p95": pct(redraw_ms, 0.95),
            "final_val_accuracy": run.epochs[-1].get("val_accuracy"),
            "flows_drawn": len(flows)}


def redraw_times(points: int, repeats: int = 30) -> float:
    """Median milliseconds to bring the loss view up to date after new loss values
    arrive (the panel's redraw tick) and paint it, with ``points`` loss values."""
    import numpy as np
    from PySide6.QtWidgets import QApplication

    from app.plots.panel import PlotsPanel
    from app.training.runs import RunStore

    app = QApplication.instance() or QApplication([])
    store = RunStore()
    panel = PlotsPanel(store)
    panel.resize(560, 860)
    panel.show()
    run = store.new_run({}, "bench")
    batches = 23  # as the digits example
    rng = np.random.default_rng(0)

    def add(n: int) -> None:
        start = len(run.step)
        steps = np.arange(start + 1, start + n + 1, dtype=np.float64)
        run.step.extend(steps)
        run.step_loss.extend(2.0 * np.exp(-steps / max(points / 5, 1)) + 0.05 * rng.random(n))
        run.step_lr.extend(np.full(n, 1e-3))
        epochs = int(steps[-1] // batches)
        while len(run.epochs) < epochs:
            e = len(run.epochs) + 1
            run.epochs.append({"epoch": e, "loss": 1.0 / e, "accuracy": 1 - 0.5 / e,
                               "val_loss": 1.1 / e, "val_accuracy": 1 - 0.6 / e,
                               "lr": 1e-3, "time": 0.01})
        run.progress = {"epoch": max(epochs, 1), "batch": int(steps[-1] % batches) or batches,
                        "batches": batches, "epochs": int(points / batches * 1.2) + 1}

    add(points)
    panel.redraw_now()
    app.processEvents()
    viewport = panel.loss.widget.viewport()
    times = []
    for _ in range(repeats):
        add(7)  # about what one tick brings while the digits example trains
        store.changed(run.run_id)
        t = time.perf_counter()
        panel._tick()
        viewport.repaint()
        times.append((time.perf_counter() - t) * 1000)
    panel.close()
    return statistics.median(times)


def main(argv=None) -> int:
    args = parse_args("python -m bench.gui", __doc__, "a short run; no results file", argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    epochs = 10 if args.quick else 300
    cli = cli_rate(epochs)
    app_run(3)  # warm-up: first window, fonts, caches
    runs = {False: [], True: []}
    for flow in (False, True, False, True):  # alternated: drifts hit both alike
        runs[flow].append(app_run(epochs, flow))
    app = runs[False][0]
    rate = {f: statistics.median(r["samples_per_s"] for r in runs[f]) for f in runs}
    r1k, r100k = redraw_times(1_000), redraw_times(100_000)
    result = {"training": app, "cli_samples_per_s": round(cli, 1),
              "app_over_cli": round(app["samples_per_s"] / cli, 3) if cli else None,
              "redraw_ms_1k": round(r1k, 3), "redraw_ms_100k": round(r100k, 3),
              "redraw_100k_over_1k": round(r100k / r1k, 2) if r1k else None,
              "flow_off_samples_per_s": round(rate[False], 1),
              "flow_on_samples_per_s": round(rate[True], 1),
              "flow_on_over_off": round(rate[True] / rate[False], 3) if rate[False] else None,
              "flow_timer_lateness_p99_ms": runs[True][0]["lateness_p99_ms"],
              "flows_drawn": runs[True][0]["flows_drawn"]}
    goals = {"timer lateness p99 <= 10 ms": app["lateness_p99_ms"] <= 10.0,
             "plots redrawn >= 25 Hz": app["redraws_per_s"] >= 25.0,
             "redraw 100k <= 2x 1k": (result["redraw_100k_over_1k"] or 99) <= 2.0,
             "app >= 80% of command line": (result["app_over_cli"] or 0) >= 0.8,
             "gradient flow on >= 95% of off": (result["flow_on_over_off"] or 0) >= 0.95}
    result["goals"] = goals
    print("GUI benchmark (offscreen; digits example, %d epochs)" % epochs)
    print(f"  training in the app: {app['samples_per_s']:,.0f} samples/s; command line "
          f"{cli:,.0f} samples/s; ratio {result['app_over_cli']}")
    print(f"  5 ms timer lateness: p50 {app['lateness_p50_ms']:.2f} ms, p95 "
          f"{app['lateness_p95_ms']:.2f} ms, p99 {app['lateness_p99_ms']:.2f} ms "
          f"({app['timer_ticks']} ticks)")
    print(f"  plot redraws: {app['redraws_per_s']:.1f} per second")
    print(f"  loss view redraw: {r1k:.2f} ms at 1k points, {r100k:.2f} ms at 100k "
          f"(ratio {result['redraw_100k_over_1k']})")
    print(f"  validation accuracy after training: {app['final_val_accuracy']}")
    print(f"  gradient flow overlay: on {rate[True]:,.0f} samples/s, off {rate[False]:,.0f} "
          f"(ratio {result['flow_on_over_off']}; {result['flows_drawn']} flows drawn, "
          f"timer p99 {result['flow_timer_lateness_p99_ms']:.2f} ms)")
    print_goals(goals)
    if not (args.quick or args.no_json):
        save_section(args.json, "gui", {**result, "date": now_iso()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
