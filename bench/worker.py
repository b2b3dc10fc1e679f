"""One benchmark measurement in its own process: ``python -m bench.worker ...``.

Loads a case file (initial weights and data, see :func:`bench.mlp.save_case`), builds
one implementation, limits BLAS threads (threadpoolctl, and ``torch.set_num_threads``
for torch), runs ``--warmup`` steps, then ``--repeats`` timed repeats of about
``--seconds`` each, and writes a JSON result: median samples/second, every repeat, and
the losses of the warm-up steps (the same batches from the same weights for every
implementation, so they must agree to float32 rounding).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import sys
import time


def measure(impl, batches, batch_size, warmup, repeats, seconds):
    """Train ``impl`` on ``batches`` (cycled); returns a dict of timings and losses."""
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
    rates, times = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(steps):
            impl.step(*batches[i % n])
            i += 1
        dt = time.perf_counter() - t0
        times.append(dt)
        rates.append(steps * batch_size / dt)
    last = impl.step(*batches[i % n])
    return {
        "samples_per_s": statistics.median(rates),
        "samples_per_s_repeats": rates,
        "ms_per_step": 1e3 * statistics.median(times) / steps,
        "steps_per_repeat": steps,
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
        info.update(measure(impl, batches, batch, args.warmup, args.repeats, args.seconds))
    with open(args.out, "w") as f:
        json.dump(info, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
