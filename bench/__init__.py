"""Benchmarks: nncore vs hand-written NumPy vs PyTorch CPU (``python -m bench``).

Modules: :mod:`bench.mlp` (sizes, initial weights, data), :mod:`bench.impl_numpy`,
:mod:`bench.impl_nncore`, :mod:`bench.impl_torch` (the three implementations, one
interface: ``Impl(params, dims, dtype)``, ``.step(x, y) -> loss``, ``.state()``),
:mod:`bench.worker` (one timed run in its own process) and :mod:`bench.run` (the harness,
table and ``bench/results.json``).
"""
