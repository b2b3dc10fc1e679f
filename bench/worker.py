"""One benchmark measurement in its own process: ``python -m bench.worker ...``.

Loads a case file (initial weights and data, see :func:`bench.mlp.save_case`), builds
one implementation, limits BLAS threads (threadpoolctl, and ``torch.set_num_threads``
for torch), runs ``--warmup`` steps, then ``--repeats`` timed repeats of about
``--seconds`` each, and writes a JSON result: median samples/second, every repeat, and
the losses of the warm-up steps (the same batches from the same weights for every
implementation, so they must agree to float32 rounding). Repeats during which other
processes took CPU are set aside and run again (see :func:`measure`).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time


def machine_busy_seconds():
    """CPU seconds the whole machine has spent busy (all cores), from /proc/stat; None
    where there is none."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
    except OSError:
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = (int(v) for v in fields[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def measure(impl, batches, batch_size, warmup, repeats, seconds, noisy=0.2, max_tries=3):
    """Train ``impl`` on ``batches`` (cycled); returns a dict of timings and losses.

    Each timed repeat also measures how many cores *other* processes kept busy meanwhile
    (machine busy time from /proc/stat minus this process's CPU time, over wall time).
    On a shared 2-core machine a busy neighbour can slow a 2-thread BLAS or OpenMP pool
    several times over, so a repeat with ``noisy`` cores or more taken is set aside and
    run again, up to ``max_tries * repeats`` repeats in all; the figure is the median of
    the undisturbed repeats (of all of them, flagged ``disturbed``, if too few were).
    """
    n = len(batches)
    i = 0
    warm_losses = []
    for _ in range(warmup):
        warm_losses.append(impl.step(*batches[i % n]))
        i += 1
    # Calibrate: steps per repeat so that one repeat takes about `seconds`.
    t0 = time.perf_counter()
    k = 0
    while True:
        impl.step(*batches[i % n])
        i += 1
        k += 1
        dt = time.perf_counter() - t0
        if dt >= min(0.25, seconds / 4) and k >= 3:
            break
    steps = max(3, math.ceil(seconds / (dt / k)))
    rates, loads, clean = [], [], []
    while len(clean) < repeats and len(rates) < max_tries * repeats:
        b0, c0, t0 = machine_busy_seconds(), time.process_time(), time.perf_counter()
        for _ in range(steps):
            impl.step(*batches[i % n])
            i += 1
        b1, c1, t1 = machine_busy_seconds(), time.process_time(), time.perf_counter()
        rate = steps * batch_size / (t1 - t0)
        load = None if b0 is None else max(0.0, ((b1 - b0) - (c1 - c0)) / (t1 - t0))
        rates.append(rate)
        loads.append(load)
        if load is None or load < noisy:
            clean.append(rate)
    disturbed = len(clean) < (repeats + 1) // 2
    rate = statistics.median(rates if disturbed else clean)
    last = impl.step(*batches[i % n])
    return {
        "samples_per_s": rate,
        "ms_per_step": 1e3 * batch_size / rate,
        "steps_per_repeat": steps,
        "samples_per_s_repeats": [round(r, 1) for r in rates],
        "foreign_load_repeats": [None if v is None else round(v, 3) for v in loads],
        "clean_repeats": len(clean),
        "disturbed": disturbed,
        "warmup_losses": [float(v) for v in warm_losses],
        "final_loss": float(last),
        "steps_total": i + 1,
    }


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.worker")
    p.add_argument("--impl", required=True)
    p.add_argument("--case", required=True, help=".npz written by bench.mlp.save_case")
    p.add_argument("--out", required=True, help="JSON result file")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--seconds", type=float, default=1.0)
    p.add_argument("--noisy", type=float, default=0.2,
                   help="cores taken by other processes that make a repeat disturbed")
    args = p.parse_args(argv)

    import numpy as np
    from threadpoolctl import threadpool_info, threadpool_limits

    from .impls import load_impl
    from .mlp import load_case, make_batches

    info = {"impl": args.impl, "python": platform.python_version(), "numpy": np.__version__}
    cls = load_impl(args.impl)
    if args.impl == "torch":
        import torch

        torch.set_num_threads(args.threads)
        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
        info["torch_blas"] = torch.backends.mkl.is_available() and "mkl" or "other"
    dims, batch, params, x, y = load_case(args.case)
    with threadpool_limits(limits=args.threads):
        info["threadpools"] = [
            {k: d.get(k) for k in ("internal_api", "num_threads", "version", "architecture")}
            for d in threadpool_info()
        ]
        impl = cls(params, dims, dtype=np.float32)
        batches = impl.prepare(make_batches(x, y, batch, dtype=np.float32))
        info.update(measure(impl, batches, batch, args.warmup, args.repeats, args.seconds,
                            noisy=args.noisy))
    with open(args.out, "w") as f:
        json.dump(info, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
