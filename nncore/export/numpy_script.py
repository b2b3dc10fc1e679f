"""Export a trained network as a standalone NumPy inference script.

:func:`export_numpy` writes ``NAME.py`` (NumPy and the standard library only) and
``NAME.npz`` beside it (the weights, buffers and standardization, by the names the
script uses; read with ``allow_pickle=False``). The script's ``forward`` runs the
network's nodes in their topological order with the same NumPy operations as nncore
(evaluation mode: BatchNorm's running statistics, Dropout passes its input), so its
output equals nncore's bit for bit on the same machine; ``predict(X)`` takes raw features
(the standardization is in the script), ``predict_table(path)`` a CSV (the project's
column pipeline is in the script). Run it as ``python NAME.py FEATURES.(npy|npz|csv)
[-o OUT.(csv|npy)]``.
"""

from __future__ import annotations

import os
import pprint
from pathlib import Path
from typing import Any

import numpy as np

from nncore.export._tables import SOURCE as TABLES_SOURCE
from nncore.export.plan import ExportError, ExportPlan, Step, plan_from_run

__all__ = ["export_numpy", "numpy_source", "step_code"]


def _w(s: Step, key: str) -> str:
    return f'w["{s.attr}.{key}"]'


def step_code(s: Step) -> list[str]:
    """The NumPy lines computing one node (its output named ``s.output``).

    Raises:
        ExportError: for an operator the NumPy export does not know (naming the node).
    """
    op, args, out = s.spec.op, s.spec.args, s.output
    ins = [v for names in s.inputs.values() for v in names]
    x = ins[0] if ins else None
    if op == "Linear":
        bias = f"\n{out} += {_w(s, 'bias')}" if "bias" in s.state else ""
        return [f"{out} = {x} @ {_w(s, 'weight')}.T{bias}"]
    if op == "BatchNorm1d":  # evaluation: the running statistics
        return [f"{out} = ({x} - {_w(s, 'running_mean')}) * "
                f"(1.0 / np.sqrt({_w(s, 'running_var')} + {float(args['eps'])!r}) "
                f"* {_w(s, 'weight')})",
                f"{out} += {_w(s, 'bias')}"]
    if op in ("Dropout", "Identity"):
        return [f"{out} = {x}  # evaluation: passes its input"]
    if op == "ReLU":
        return [f"{out} = np.maximum({x}, 0)"]
    if op == "LeakyReLU":
        a = float(args.get("negative_slope", 0.01))
        return [f"{out} = {x} * np.maximum(({x} > 0).astype({x}.dtype), {a!r})"]
    if op == "Sigmoid":
        return [f"{out} = sigmoid({x})"]
    if op == "Tanh":
        return [f"{out} = np.tanh({x})"]
    if op == "Softmax":
        return [f"{out} = softmax({x}, axis={int(args.get('dim', -1))})"]
    if op == "add":
        return [f"{out} = " + " + ".join(ins)]
    if op == "cat":
        return [f"{out} = np.concatenate([{', '.join(ins)}], axis={int(args.get('dim', -1))})"]
    if op == "Parameter":
        return [f"{out} = {_w(s, 'value')}"]
    if op == "tensor":
        return [f"{out} = np.float32({float(args['data'])!r})"]
    if op in _BINARY:
        return [f"{out} = {s.inputs['a'][0]} {_BINARY[op]} {s.inputs['b'][0]}"]
    if op == "pow":
        return [f"{out} = {x} ** {float(args['exponent'])!r}"]
    if op == "square":
        return [f"{out} = {x} ** 2.0"]
    if op in ("exp", "log"):
        return [f"{out} = np.{op}({x})"]
    if op in ("sum", "mean"):
        axis = f"axis={int(args['dim'])}" if "dim" in args else ""
        return [f"{out} = np.asarray({x}.{op}({axis}))"]
    if op == "transpose":
        return [f"{out} = np.swapaxes({x}, -1, -2)"]
    raise ExportError(f"{s.where()}: the NumPy export has no operation for PyTorch's "
                      f"{op!r}", s.node_id)


_BINARY = {"matmul": "@", "sub": "-", "mul": "*", "div": "/"}

_HEAD = {
    "softmax": "{v} = softmax({v}.astype(np.float64), axis=-1)",
    "zero_and": "{v} = np.concatenate([np.zeros_like({v}), {v}], axis=-1)",
    "one_minus_and": "{v} = np.concatenate([np.float32(1.0) - {v}, {v}], axis=-1)",
    "clip01": "{v} = np.clip({v}.astype(np.float64), 0.0, 1.0)",
    "sigmoid": "{v} = sigmoid({v})",
}


def _literal(value: Any) -> str:
    """A Python literal of JSON-like data (None, True, lists, dicts), wrapped."""
    return pprint.pformat(value, width=92, compact=True, sort_dicts=False)


def numpy_source(plan: ExportPlan, weights_name: str) -> str:
    """The script's text (see the module docstring)."""
    body: list[str] = []
    for s in plan.inference:
        body.append(f"    # {s.name} ({s.type_name}, node {s.node_id}): "
                    f"{s.spec.op}({', '.join(f'{k}={v!r}' for k, v in s.spec.args.items())})")
        for line in step_code(s):
            body.extend("    " + part for part in line.split("\n"))
    v = "out"
    body.append(f"    {v} = {plan.prediction}")
    for h in plan.head:
        if h not in _HEAD:
            raise ExportError(f"the NumPy export does not know the output step {h!r} of "
                              f"{plan.loss_name!r}")
        body.append("    " + _HEAD[h].format(v=v))
    body.append(f"    return {v}")
    what = ("the class probabilities (N, classes), float64, column i for CLASSES[i]"
            if plan.task == "classification" else "the prediction (N, targets), float32")
    script_name = Path(weights_name).stem + ".py"
    standardize = ("    x = ((np.asarray(X, dtype=np.float32) - w[\"standardize.mean\"])\n"
                   "         / w[\"standardize.scale\"]).astype(np.float32)"
                   if plan.mean is not None else "    x = np.asarray(X, dtype=np.float32)")
    return f'''#!/usr/bin/env python3
"""A network made with NN Canvas, trained on {plan.source or "its data"}: inference with NumPy.

Standalone: NumPy and the standard library. The weights are in {weights_name} beside
this file. Every node of the network is one step of forward(), in the graph's order.

    python {script_name} FEATURES.npy|FEATURES.npz|TABLE.csv [-o OUT.csv|OUT.npy]

or, in Python, predict(X) with X the raw features (N, {", ".join(map(str, plan.features))})
as the project's data has them (the standardization is done here), predict_table(path)
for a CSV table with the project's columns. The output is {what}.
"""

import os
import sys

import numpy as np

WEIGHTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), {weights_name!r})
TASK = {plan.task!r}
CLASSES = {_literal(plan.classes)}
FEATURE_NAMES = {_literal(plan.feature_names)}
FEATURES = {tuple(plan.features)!r}
#: the table's fitted column pipeline (None: the features are the table's columns)
PIPELINE = {_literal(plan.pipeline) if plan.pipeline else "None"}


def load_weights(path=WEIGHTS):
    """The weights and buffers by name ("n2.weight") and the standardization."""
    with np.load(path, allow_pickle=False) as f:
        return {{k: f[k] for k in f.files}}


def sigmoid(x):
    """1 / (1 + e^-x) without overflow (e^-|x| only)."""
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z)).astype(x.dtype, copy=False)


def softmax(x, axis=-1):
    """e^x / sum(e^x) along axis, the maximum subtracted first."""
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def forward(X, w):
    """The network on raw features X (N, {", ".join(map(str, plan.features))}): {what}."""
{standardize}
{chr(10).join(body)}


def predict(X, w=None):
    """forward() with the weights of {weights_name} (loaded once)."""
    global _WEIGHTS
    if w is None:
        if _WEIGHTS is None:
            _WEIGHTS = load_weights()
        w = _WEIGHTS
    X = np.asarray(X, dtype=np.float32)
    if X.shape[1:] != FEATURES:
        raise ValueError(f"expected features of shape (N, {{', '.join(map(str, FEATURES))}}), "
                         f"got {{X.shape}}")
    return forward(X, w)


_WEIGHTS = None
{TABLES_SOURCE}

def predict_table(path):
    """predict() for a CSV table with the project's columns."""
    return predict(encode(read_table(path)))


def _read(path):
    if path.endswith(".npy"):
        return np.load(path, allow_pickle=False)
    if path.endswith(".npz"):
        with np.load(path, allow_pickle=False) as f:
            return f["X"] if "X" in f.files else f[f.files[0]]
    return encode(read_table(path))


def main(argv=None):
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("features", help="raw features: .npy, .npz (array X) or .csv")
    parser.add_argument("-o", "--out", help="write the output here (.npy, else CSV); "
                        "default: print it as CSV")
    args = parser.parse_args(argv)
    out = predict(_read(args.features))
    if args.out and args.out.endswith(".npy"):
        np.save(args.out, out)
        return 0
    names = CLASSES if TASK == "classification" else [f"prediction{{i}}" for i in
                                                       range(out.shape[1])]
    lines = [",".join(list(names) + (["predicted"] if TASK == "classification" else []))]
    for row in out:
        cells = [repr(float(v)) for v in row]
        if TASK == "classification":
            cells.append(str(CLASSES[int(np.argmax(row))]))
        lines.append(",".join(cells))
    text = "\\n".join(lines) + "\\n"
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''


def _weights(plan: ExportPlan) -> dict[str, np.ndarray]:
    arrays = {k: np.ascontiguousarray(v) for k, v in plan.state().items()}
    if plan.mean is not None:
        arrays["standardize.mean"] = plan.mean
        arrays["standardize.scale"] = plan.scale
    return arrays


def _write(path: Path, text: str | None = None, arrays: dict[str, np.ndarray] | None = None
           ) -> None:
    tmp = path.with_name(path.name + ".part")
    if arrays is not None:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
    else:
        tmp.write_text(text or "", encoding="utf-8")
    os.replace(tmp, path)


def export_numpy(source: Any, path: str | os.PathLike) -> list[Path]:
    """Write the NumPy script of ``source`` (a trained
    :class:`~nncore.project.TrainingRun` or an :class:`~nncore.export.plan.ExportPlan`)
    to ``path`` (``.py`` added when missing) and its weights beside it (same name,
    ``.npz``). Returns ``[script, weights]``.

    Raises:
        ExportError: for a node the NumPy export cannot write (naming it).
        OSError: if a file cannot be written.
    """
    plan = source if isinstance(source, ExportPlan) else plan_from_run(source)
    script = Path(path)
    if script.suffix != ".py":
        script = script.with_name(script.name + ".py")
    weights = script.with_suffix(".npz")
    text = numpy_source(plan, weights.name)
    _write(weights, arrays=_weights(plan))
    _write(script, text)
    return [script, weights]
