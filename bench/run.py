"""The MLP training benchmark: nncore vs hand-written NumPy vs PyTorch CPU.

Run as ``python -m bench`` (``make bench``); ``python -m bench --help`` lists the
options. For each model size the parent process draws the initial weights once
(:func:`bench.mlp.init_params`) and makes the data, saves both to an .npz in a temporary
folder, and starts one worker process per implementation (``python -m bench.worker``),
so that imports and thread pools never interfere. It does that ``--rounds`` times,
interleaving the implementations, and reports for each the median samples/second of the
timed repeats pooled over the rounds.

The machine is shared (other developers' tests run on the same two cores), and a 2-thread
BLAS or OpenMP pool slows down many times over when another process takes a core. So each
timed repeat measures how much CPU other processes took meanwhile; disturbed repeats are
redone by the worker and left out of the median, and a figure that could not be measured
undisturbed is marked ``*`` (``"disturbed": true`` in the results file). Slow spells that
no counter inside the machine shows (a shared host) also happen, lasting seconds and
slowing every implementation alike: many short interleaved rounds spread them over all
implementations, figures whose repeats spread by more than 10% are marked ``~``, and the
best repeat of each is reported beside the median.

Results are printed as a table and merged into ``bench/results.json`` under the key
``"mlp"`` (other benchmarks keep their own keys there).

Goals measured: nncore at least as fast as PyTorch CPU (``nncore/torch >= 1``) and
within 15% of the hand-written NumPy step (``nncore/numpy >= 0.85``) on every size.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .mlp import SIZES, init_params, make_data, save_case
from .report import RESULTS, now_iso, save_section
from .worker import machine_busy_seconds

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
ORDER = ("nncore", "numpy", "torch")
GOAL_TORCH = 1.0  # nncore/torch at least this
GOAL_NUMPY = 0.85  # nncore/numpy at least this (within 15%)
SPREAD = 0.10  # interquartile range / median of the repeats above which a figure is unsteady
NOISY = 0.2  # cores taken by other processes that make a timed repeat 'disturbed'
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Train the same MLP with nncore, hand-written NumPy and PyTorch CPU; "
        "report samples/second.",
    )
    p.add_argument("--threads", type=int, default=2, help="BLAS/intra-op threads (default 2)")
    p.add_argument("--quick", action="store_true",
                   help="fast smoke run (short repeats; results.json is not written unless --json)")
    p.add_argument("--sizes", nargs="+", choices=list(SIZES), default=list(SIZES))
    p.add_argument("--impls", nargs="+", choices=list(ORDER), default=list(ORDER))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rounds", type=int,
                   help="processes per implementation and size, interleaved (default 5, quick 1)")
    p.add_argument("--repeats", type=int, help="timed repeats per process (default 2)")
    p.add_argument("--seconds", type=float, help="seconds per repeat (default 1.0, quick 0.2)")
    p.add_argument("--warmup", type=int, default=10, help="untimed steps first (default 10)")
    p.add_argument("--json", type=Path, help=f"results file to merge into (default {RESULTS})")
    p.add_argument("--no-json", action="store_true", help="do not write a results file")
    p.add_argument("--check", action="store_true", help="exit 1 if a goal is not met")
    p.add_argument("--max-wait", type=float, default=20.0,
                   help="seconds to wait for other processes to quiet down before each process "
                   "(default 20; 0 never waits)")
    args = p.parse_args(argv)
    if args.rounds is None:
        args.rounds = 1 if args.quick else 5
    if args.repeats is None:
        args.repeats = 2
    if args.seconds is None:
        args.seconds = 0.2 if args.quick else 1.0
    if args.json is None and not args.quick:
        args.json = RESULTS
    if args.no_json:
        args.json = None
    for opt in ("threads", "rounds", "repeats"):
        if getattr(args, opt) < 1:
            p.error(f"--{opt} must be at least 1")
    return args


def available(impl: str) -> str | None:
    """None if ``impl`` can run here, else the reason it cannot."""
    if impl == "torch":
        if importlib.util.find_spec("torch") is None:
            return "torch is not installed (pip install torch==2.13.0, or: make bench)"
    elif impl == "nncore":
        for mod in ("nncore.tensor", "nncore.functional", "nncore.nn", "nncore.optim"):
            try:
                if importlib.util.find_spec(mod) is None:
                    return f"{mod} does not exist yet"
            except ImportError as e:
                return f"{mod}: {e}"
    return None


def foreign_load(seconds=0.5):
    """Cores kept busy by other processes over the next ``seconds`` (this one sleeps)."""
    b0, t0 = machine_busy_seconds(), time.perf_counter()
    time.sleep(seconds)
    b1, t1 = machine_busy_seconds(), time.perf_counter()
    return None if b0 is None else (b1 - b0) / (t1 - t0)


def wait_for_quiet(max_wait, threshold=0.25):
    """Wait up to ``max_wait`` seconds until other processes use less than ``threshold``
    cores; returns the last load seen (None if unknown)."""
    deadline = time.perf_counter() + max_wait
    load = foreign_load()
    waited = False
    while load is not None and load > threshold and time.perf_counter() < deadline:
        if not waited:
            print(f"(waiting for other processes to quiet down: {load:.2f} cores busy)",
                  end=" ", flush=True)
            waited = True
        load = foreign_load(1.0)
    return load


def run_worker(impl, case, out, args):
    """Run one measurement in a new process; returns (result dict, None) or (None, error).
    The worker limits every thread pool to ``--threads`` (also through the environment,
    for pools started before threadpoolctl can reach them)."""
    env = dict(os.environ)
    for k in THREAD_ENV:
        env[k] = str(args.threads)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT)]
                                        + [p for p in [env.get("PYTHONPATH")] if p])
    cmd = [sys.executable, "-m", "bench.worker", "--impl", impl, "--case", str(case),
           "--out", str(out), "--threads", str(args.threads), "--warmup", str(args.warmup),
           "--repeats", str(args.repeats), "--seconds", str(args.seconds), "--noisy", str(NOISY)]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-12:])
        return None, f"worker failed (exit {proc.returncode}):\n{tail}"
    with open(out) as f:
        return json.load(f), None


def machine_info(workers):
    info = {
        "platform": platform.platform(),
        "processor": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "loadavg_before": [round(v, 2) for v in os.getloadavg()],
    }
    for w in workers:
        info.setdefault("numpy", w.get("numpy"))
        if w.get("impl") in ("numpy", "nncore") and "blas" not in info:
            blas = [t for t in w.get("threadpools", []) if t.get("internal_api") != "openmp"]
            if blas:
                info["blas"] = (f"{blas[0]['internal_api']} {blas[0]['version']} "
                                f"({blas[0]['architecture']})")
        if w.get("impl") == "torch":
            info["torch"] = w.get("torch")
    for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if os.environ.get(k):
            info[k] = os.environ[k]
    return info


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _fmt_rate(v):
    return "-" if v is None else f"{v:,.0f}"


def _fmt_ratio(v):
    return "-" if v is None else f"{v:.2f}"


def main(argv=None) -> int:
    args = parse_args(argv)
    skipped = {impl: why for impl in args.impls if (why := available(impl))}
    impls = [i for i in ORDER if i in args.impls and i not in skipped]
    for impl, why in skipped.items():
        print(f"note: skipping {impl}: {why}")
    print(f"MLP training step, float32, Adam, {args.threads} BLAS thread(s); per size, "
          f"{args.rounds} round(s) of one process per implementation, {args.repeats} timed "
          f"repeats of ~{args.seconds:g} s each; median samples/s", flush=True)

    results, workers, errors = {}, [], []
    with tempfile.TemporaryDirectory(prefix="nncanvas-bench-") as tmp:
        for name in args.sizes:
            size = SIZES[name]
            case = Path(tmp) / f"{name}.npz"
            x, y = make_data(size, seed=args.seed)
            save_case(case, size, init_params(size.dims, seed=args.seed), x, y)
            runs = {impl: [] for impl in impls}
            for rnd in range(args.rounds):
                # Interleave the implementations, in a rotating order, so that a slow spell
                # of the machine does not fall on one implementation only.
                order = impls[rnd % len(impls):] + impls[:rnd % len(impls)] if impls else []
                for impl in order:
                    print(f"  {name:<16} {impl:<7} round {rnd + 1}/{args.rounds} ...", end=" ",
                          flush=True)
                    if args.max_wait > 0:
                        wait_for_quiet(args.max_wait)
                    w, err = run_worker(impl, case, Path(tmp) / f"{name}-{impl}-{rnd}.json", args)
                    if err:
                        print("FAILED")
                        errors.append(f"{impl} on {name}: {err}")
                        continue
                    redone = len(w["samples_per_s_repeats"]) - w["clean_repeats"]
                    note = f"  [{redone} repeats disturbed by other processes]" if redone else ""
                    print(f"{w['samples_per_s']:>10,.0f} samples/s  ({w['ms_per_step']:.2f} "
                          f"ms/step){note}", flush=True)
                    workers.append(w)
                    runs[impl].append(w)
            summary = {impl: _summarize(ws, args) for impl, ws in runs.items() if ws}
            rates = {impl: v["samples_per_s"] for impl, v in summary.items()}
            best = {impl: v["best"] for impl, v in summary.items()}
            results[name] = {
                "batch": size.batch,
                "arch": size.arch,
                "data": "sklearn digits 1797x64, standardized" if size.data == "digits"
                        else f"random normal {size.n_samples}x{size.dims[0]}, random labels",
                "dtype": "float32",
                "threads": args.threads,
                "samples_per_s": {k: round(v, 1) for k, v in rates.items()},
                "ratios": _ratios(rates),
                "ms_per_step": {k: round(1e3 * size.batch / v, 4) for k, v in rates.items()},
                "samples_per_s_best": best,
                "ratios_best": _ratios(best),
                "spread": {k: v["spread"] for k, v in summary.items()},
                "repeats_used": {k: v["used"] for k, v in summary.items()},
                "disturbed": {k: v["disturbed"] for k, v in summary.items()},
                "warmup_loss_max_rel_diff": _loss_agreement(
                    {k: ws[0] for k, ws in runs.items() if ws}),
                "rounds": args.rounds,
                "repeats_per_round": args.repeats,
                "seconds_per_repeat": args.seconds,
            }
            if skipped:
                results[name]["skipped"] = skipped

    print()
    _print_table(results, impls)
    for e in errors:
        print(f"\nerror: {e}")
    met = _print_goals(results)

    if args.json is not None and results:
        print()
        _merge_results(args.json, results, machine_info(workers), args)
    return 1 if (args.check and not met) or errors else 0


def _ratios(rates):
    out = {}
    for other in ("torch", "numpy"):
        if "nncore" in rates and other in rates:
            out[f"nncore/{other}"] = round(rates["nncore"] / rates[other], 4)
    return out


def _summarize(ws, args):
    """Pool the timed repeats of every round of one implementation: the median of the
    undisturbed ones (of all, flagged ``disturbed``, when fewer than half the planned
    repeats were undisturbed), the best, and the spread (interquartile range / median)."""
    rates, clean = [], []
    for w in ws:
        for rate, load in zip(w["samples_per_s_repeats"], w["foreign_load_repeats"]):
            rates.append(rate)
            if load is None or load < NOISY:
                clean.append(rate)
    planned = args.rounds * args.repeats
    disturbed = len(clean) < (planned + 1) // 2
    used = rates if disturbed else clean
    med = statistics.median(used)
    q = statistics.quantiles(used, n=4) if len(used) >= 2 else [med, med, med]
    return {"samples_per_s": med, "best": round(max(used), 1),
            "spread": round((q[2] - q[0]) / med, 4), "used": len(used), "disturbed": disturbed}


def _loss_agreement(runs):
    """Largest relative difference of warm-up losses between implementations (float32:
    ~1e-6..1e-4 expected; larger means they are not doing the same work)."""
    losses = [r["warmup_losses"] for r in runs.values()]
    if len(losses) < 2:
        return None
    worst = 0.0
    for other in losses[1:]:
        for a, b in zip(losses[0], other):
            worst = max(worst, abs(a - b) / max(abs(a), 1e-12))
    return float(f"{worst:.3g}")


def _print_table(results, impls):
    cols = [*impls, "nncore/torch", "nncore/numpy"]
    head = f"{'size':<16}{'batch':>6}" + "".join(f"{c:>14}" for c in cols)
    for title, rates_key, ratios_key in (
            ("median samples/second (higher is better)", "samples_per_s", "ratios"),
            ("best repeat, samples/second (the least disturbed figure)", "samples_per_s_best",
             "ratios_best")):
        print(title)
        print(head + (f"{'loss agree':>12}" if rates_key == "samples_per_s" else ""))
        print("-" * (len(head) + 12))
        for name, r in results.items():
            row = f"{name:<16}{r['batch']:>6}"
            row += "".join(f"{_fmt_rate(r[rates_key].get(i)) + _mark(r, i):>14}" for i in impls)
            row += "".join(f"{_fmt_ratio(r[ratios_key].get(k)):>14}"
                           for k in ("nncore/torch", "nncore/numpy"))
            if rates_key == "samples_per_s":
                agree = r["warmup_loss_max_rel_diff"]
                row += f"{'-' if agree is None else f'{agree:.1e}':>12}"
            print(row)
        print()
    if any(_noisy(r, i) for r in results.values() for i in impls):
        print(f"* other processes kept >= {NOISY} cores busy during most repeats: the figure "
              "is unreliable (rerun on a quiet machine)")
    if any(_unsteady(r, i) for r in results.values() for i in impls):
        print(f"~ repeats spread by more than {SPREAD:.0%} (interquartile range / median): the "
              "machine was not steady (busy neighbours, or a shared host); the best-repeat "
              "table is the steadier comparison")
    print("loss agree: largest relative difference of the warm-up losses between the "
          "implementations (float32; same weights, same batches)")


def _unsteady(r, impl):
    spread = r.get("spread", {}).get(impl)
    return spread is not None and spread > SPREAD


def _noisy(r, impl):
    return bool(r.get("disturbed", {}).get(impl))


def _mark(r, impl):
    return ("*" if _noisy(r, impl) else "") + ("~" if _unsteady(r, impl) else "")


def _print_goals(results) -> bool:
    print("\ngoals (on the median figures):")
    all_met = True
    for key, goal, text in (
            ("nncore/torch", GOAL_TORCH, "nncore at least as fast as PyTorch CPU"),
            ("nncore/numpy", GOAL_NUMPY, "nncore within 15% of hand-written NumPy")):
        for name, r in results.items():
            v = r["ratios"].get(key)
            if v is None:
                status = "NOT MEASURED"
                all_met = False
            elif v >= goal:
                status = "MET"
            else:
                status = "NOT MET"
                all_met = False
            r.setdefault("goals", {})[key] = {"target": f">= {goal}",
                                               "met": None if v is None else v >= goal}
            a, b = key.split("/")
            if v is not None and (_noisy(r, a) or _noisy(r, b)):
                status += " (unreliable: machine busy)"
            print(f"  {text:<42} {name:<16} {key} = {_fmt_ratio(v):>5} (>= {goal}): {status}")
    return all_met


def _merge_results(path, results, machine, args):
    save_section(Path(path), "mlp", results, merge=True, machine=machine, date=now_iso())
