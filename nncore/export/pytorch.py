"""Export a trained network as one readable, standalone PyTorch script.

:func:`export_pytorch` writes three files:

* ``NAME.py``: an ``nn.Module`` equal to the graph (one attribute per node with
  weights, ``forward`` in the graph's topological order, the standardization of the
  raw features as its first operation), the table preprocessing, and the training loop
  with the project's settings: the optimizer and its options, weight-decay groups
  (biases and BatchNorm parameters excluded unless the project decays them), the
  learning-rate schedule, gradient clipping, early stopping (best weights restored),
  nncore's batch order (its generator's state) and, when launched by ``torchrun``,
  DistributedDataParallel over gloo (CPU) — each process takes its share of every
  minibatch, the gradients are averaged, rank 0 writes the results.
* ``NAME.npz``: the trained weights and buffers, the initial ones (``initial/...``:
  what the project's seed made) and the standardization, written with NumPy (no pickle).
* ``NAME_data.npz``: the project's split, raw (``X_train``, ``y_train``, ``X_val``,
  ``y_val``, ``X_test``, ``y_test``).

``python NAME.py predict FEATURES.(npy|npz|csv) [-o OUT]`` predicts with the trained
weights; ``python NAME.py train [--epochs N] [--init initial|trained] [--out DIR]``
trains (from the initial weights by default: the run follows nncore's loss curve) and
writes ``history.json`` and ``trained.npz``; ``torchrun --nproc_per_node 2 NAME.py
train ...`` trains on two processes.
"""

from __future__ import annotations

import os
import pprint
from pathlib import Path
from typing import Any

import numpy as np

from nncore.export._tables import SOURCE as TABLES_SOURCE
from nncore.export.plan import ExportError, ExportPlan, Step, plan_from_run

__all__ = ["export_pytorch", "pytorch_source"]


def _literal(value: Any) -> str:
    return pprint.pformat(value, width=92, compact=True, sort_dicts=False)


def _args(args: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in args.items())


def _module(s: Step) -> str | None:
    """The ``nn`` module a node holds (``__init__``), or None for a function."""
    op, args = s.spec.op, s.spec.args
    if op == "Linear":
        return (f"nn.Linear({args['in_features']}, {args['out_features']}, "
                f"bias={args['bias']!r})")
    if op == "BatchNorm1d":
        return f"nn.BatchNorm1d({args['num_features']}, eps={args['eps']!r}, " \
               f"momentum={args['momentum']!r})"
    if op in ("Dropout", "ReLU", "Sigmoid", "Tanh", "LeakyReLU", "Softmax"):
        return f"nn.{op}({_args(args)})"
    if op == "Parameter":
        return f"Tensor({tuple(args['shape'])!r})"
    return None


def _call(s: Step) -> str:
    """The right-hand side computing a node's output."""
    op, args = s.spec.op, s.spec.args
    ins = [v for names in s.inputs.values() for v in names]
    if _module(s) is not None:
        return f"self.{s.attr}()" if op == "Parameter" else f"self.{s.attr}({ins[0]})"
    if op == "add":
        return " + ".join(ins)
    if op == "cat":
        return f"torch.cat([{', '.join(ins)}], dim={int(args.get('dim', -1))})"
    if op == "tensor":
        return f"torch.tensor({float(args['data'])!r})"
    if op in _BINARY:
        return f"{s.inputs['a'][0]} {_BINARY[op]} {s.inputs['b'][0]}"
    if op == "pow":
        return f"torch.pow({ins[0]}, {float(args['exponent'])!r})"
    if op in ("square", "exp", "log"):
        return f"torch.{op}({ins[0]})"
    if op in ("sum", "mean"):
        return f"{ins[0]}.{op}({'dim=' + str(int(args['dim'])) if 'dim' in args else ''})"
    if op == "transpose":
        return f"{ins[0]}.transpose({int(args['dim0'])}, {int(args['dim1'])})"
    if op == "one_hot":
        return f"F.one_hot({ins[0]}.long(), {int(args['num_classes'])}).float()"
    if op == "reshape":
        return f"{ins[0]}.float().reshape({', '.join(map(str, args['shape']))})"
    if op == "Identity":
        return ins[0]
    raise ExportError(f"{s.where()}: the PyTorch export does not know PyTorch's {op!r}",
                      s.node_id)


_BINARY = {"matmul": "@", "sub": "-", "mul": "*", "div": "/"}

_HEAD = {
    "softmax": "{v} = torch.softmax({v}.double(), dim=-1)",
    "zero_and": "{v} = torch.cat([torch.zeros_like({v}), {v}], dim=-1)",
    "one_minus_and": "{v} = torch.cat([1.0 - {v}, {v}], dim=-1)",
    "clip01": "{v} = {v}.double().clamp(0.0, 1.0)",
    "sigmoid": "{v} = torch.sigmoid({v})",
}


def _loss_lines(plan: ExportPlan) -> list[str]:
    """The body of ``Network.loss(prediction, y)`` (not for an Objective)."""
    op, args = plan.loss.op, plan.loss.args
    if op == "cross_entropy":
        return [f"return F.cross_entropy(prediction, y.long(), "
                f"label_smoothing={float(args.get('label_smoothing', 0.0))!r})"]
    if op == "mse_loss":
        return ["return F.mse_loss(prediction, y.to(prediction.dtype).reshape(prediction.shape))"]
    if op == "binary_cross_entropy":
        target = ("y.to(prediction.dtype).reshape(-1, 1)" if plan.task == "classification"
                  else "y.to(prediction.dtype).reshape(prediction.shape)")
        fn = "binary_cross_entropy_with_logits" if plan.fused else "binary_cross_entropy"
        return [f"return F.{fn}(prediction, {target})"]
    raise ExportError(f"{plan.loss_name!r}: the PyTorch export does not know the loss "
                      f"{op!r}")


def _optimizer(plan: ExportPlan) -> tuple[str, dict[str, Any], bool]:
    """(torch.optim class name, its options, whether it takes weight-decay groups)."""
    from nncore.optim.registry import OPTIMIZERS

    s = plan.training
    info = OPTIMIZERS[s.optimizer]
    options = dict(info.validate(s.optimizer_options))
    options = {k: list(v) if isinstance(v, tuple) else v for k, v in options.items()}
    return info.cls.__name__, options, "weight_decay" in info.specs


def _schedule(plan: ExportPlan) -> str:
    from nncore.optim.registry import SCHEDULES

    sched = plan.training.schedule
    if sched is None:
        return "None"
    info = SCHEDULES[sched["type"]]
    args = info.validate({k: v for k, v in sched.items() if k != "type"})
    name = info.cls.__name__
    if name == "ReduceLROnPlateau":
        args = {"mode": "min", **args}
    return f'("{name}", {_literal(dict(args))})'


_MONITORS = ("loss", "accuracy", "mse", "r2")


def _early_stopping(plan: ExportPlan) -> str:
    es = plan.training.early_stopping
    if es is None:
        return "None"
    from nncore.metrics import direction

    monitor = es.get("monitor", "val_loss")
    if monitor.removeprefix("val_") not in _MONITORS:
        raise ExportError(f"training.early_stopping monitors {monitor!r}: the PyTorch "
                          f"export computes {', '.join(_MONITORS)} (and val_ of them)")
    mode = es.get("mode") or "auto"
    return _literal({"monitor": monitor, "mode": direction(monitor) if mode == "auto" else mode,
                     "patience": int(es.get("patience", 3)),
                     "min_delta": float(es.get("min_delta", 0.0)),
                     "restore_best_weights": bool(es.get("restore_best_weights", True))})


def pytorch_source(plan: ExportPlan, weights_name: str, data_name: str) -> str:
    """The script's text (see the module docstring).

    Raises:
        ExportError: for a node, loss or setting the PyTorch export cannot write.
    """
    init: list[str] = []
    if plan.mean is not None:
        init.append(f"        # the raw features' standardization (the training rows' mean "
                    f"and deviation)\n        self.standardize = Standardize({plan.features[-1]})")
    for s in (*plan.steps, *plan.loss_steps):
        m = _module(s)
        if m is not None:
            kind = f" ({s.type_name})" if s.type_name != s.name.rstrip(" 0123456789") else ""
            init.append(f"        self.{s.attr} = {m}  # {s.name}{kind}")
    x = "self.standardize(features)" if plan.mean is not None else "features.float()"

    def lines(steps: list[Step]) -> list[str]:
        return [f"        {s.output} = {_call(s)}  # {s.name}" for s in steps]

    forward = [f"        x = {x}", *lines(plan.inference), f"        return {plan.prediction}"]
    signature = "features"
    forward_doc = "Raw features (N, {dims}) -> what the loss reads: {meaning}."
    if plan.loss_value is not None:  # through forward(), so DistributedDataParallel syncs
        signature = "features, y=None"
        forward_doc += " With the targets y: objective(features, y)."
        forward = ["        if y is not None:", "            return self.objective(features, y)",
                   *forward]
    if plan.loss_value is not None:  # an Objective: the loss written with nodes
        loss_def = ["    def objective(self, features, y):",
                    '        """(the prediction, the loss written with operator nodes) for a '
                    'batch."""', f"        x = {x}", *lines(plan.steps), *lines(plan.loss_steps),
                    f"        return {plan.prediction}, {plan.loss_value}"]
    else:
        loss_def = ["    @staticmethod", "    def loss(prediction, y):",
                    f'        """The loss ({plan.loss_name}) of forward()\'s output and the '
                    'targets."""', *("        " + ln for ln in _loss_lines(plan))]
    head = []
    for h in plan.head:
        if h not in _HEAD:
            raise ExportError(f"the PyTorch export does not know the output step {h!r} of "
                              f"{plan.loss_name!r}")
        head.append("    " + _HEAD[h].format(v="v"))
    head.append("    return v")
    opt_name, opt_options, groups = _optimizer(plan)
    s = plan.training
    what = ("the class probabilities (N, classes), column i for CLASSES[i]"
            if plan.task == "classification" else "the prediction (N, targets)")
    meaning = {"cross_entropy": "the logits (the Softmax before Cross-Entropy is fused into "
                                "it)" if plan.fused else "the logits",
               "binary_cross_entropy": "the logit z (the Sigmoid is fused into the loss)"
               if plan.fused else "the probability",
               }.get(plan.loss.op, "the prediction")
    dims = ", ".join(map(str, plan.features))
    script_name = Path(weights_name).stem + ".py"
    summary = f"{opt_name} {_args(opt_options)}, batch size {s.batch_size}, {s.epochs} epochs"
    if s.max_grad_norm:
        summary += f", gradient norm clipped at {s.max_grad_norm!r}"
    if s.schedule:
        summary += f", schedule {s.schedule['type']}"
    if s.early_stopping:
        summary += f", early stopping on {s.early_stopping.get('monitor', 'val_loss')}"
    return f'''#!/usr/bin/env python3
"""A network made with NN Canvas, trained on {plan.source or "its data"}, in PyTorch.

Files beside this one: {weights_name} (trained and initial weights, the standardization)
and {data_name} (the project's split, raw features). Needs torch and NumPy.

    python {script_name} predict FEATURES.npy|FEATURES.npz|TABLE.csv [-o OUT.csv|OUT.npy]
    python {script_name} train [--epochs N] [--init initial|trained] [--out DIR]
    torchrun --nproc_per_node 2 {script_name} train ...   (DistributedDataParallel, gloo)

predict() takes the raw features (N, {dims}) as the project's data has them and
gives {what}. train runs the project's training: {summary}.
"""

import argparse
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
WEIGHTS = os.path.join(HERE, {weights_name!r})
DATA = os.path.join(HERE, {data_name!r})
TASK = {plan.task!r}
CLASSES = {_literal(plan.classes)}
FEATURE_NAMES = {_literal(plan.feature_names)}
FEATURES = {tuple(plan.features)!r}
#: the table's fitted column pipeline (None: the features are the table's columns)
PIPELINE = {_literal(plan.pipeline) if plan.pipeline else "None"}

# The project's training settings.
OPTIMIZER = "{opt_name}"
OPTIMIZER_OPTIONS = {_literal(opt_options)}
#: biases and BatchNorm parameters (ndim <= 1) get no weight decay unless True
DECAY_BIAS_AND_NORM = {bool(s.decay_bias_and_norm)!r}
WEIGHT_DECAY_GROUPS = {groups!r}
BATCH_SIZE = {int(s.batch_size)}
EPOCHS = {int(s.epochs)}
MAX_GRAD_NORM = {s.max_grad_norm!r}
SCHEDULE = {_schedule(plan)}
EARLY_STOPPING = {_early_stopping(plan)}
#: NumPy's PCG64 state when nncore began training: the batches come in nncore's order
SHUFFLE_STATE = {_literal(plan.shuffle_state)}


class Standardize(nn.Module):
    """(x - mean) / scale in float64, then float32, as NN Canvas standardizes."""

    def __init__(self, n):
        super().__init__()
        self.register_buffer("mean", torch.zeros(n, dtype=torch.float64))
        self.register_buffer("scale", torch.ones(n, dtype=torch.float64))

    def forward(self, x):
        return ((x.double() - self.mean) / self.scale).float()


class Tensor(nn.Module):
    """A Parameter node: one learnable tensor, ``value``."""

    def __init__(self, shape):
        super().__init__()
        self.value = nn.Parameter(torch.zeros(shape))

    def forward(self):
        return self.value


class Network(nn.Module):
    """The graph, node by node in its topological order."""

    def __init__(self):
        super().__init__()
{chr(10).join(init)}

    def forward(self, {signature}):
        """{forward_doc.format(dims=dims, meaning=meaning)}"""
{chr(10).join(forward)}

{chr(10).join(loss_def)}

    def output(self, features):
        """{what[0].upper() + what[1:]} (evaluation mode is up to the caller)."""
        return head(self(features))


def head(v):
    """forward()'s output -> {what}."""
{chr(10).join(head)}


def load_weights(model, which="trained", path=WEIGHTS):
    """Load the ``trained`` or ``initial`` weights (and the standardization) of {weights_name}."""
    with np.load(path, allow_pickle=False) as f:
        arrays = {{k: f[k] for k in f.files}}
    prefix = "" if which == "trained" else "initial/"
    state = model.state_dict()
    for key in state:
        name = prefix + key if not key.startswith("standardize.") else key
        if name in arrays:
            state[key] = torch.from_numpy(np.array(arrays[name]))
        elif not key.endswith("num_batches_tracked"):
            raise KeyError(f"{{path}} has no {{name}}")
    model.load_state_dict(state)
    return model


_MODEL = None


def predict(X):
    """The trained network on raw features X: {what}, as a NumPy array."""
    global _MODEL
    if _MODEL is None:
        _MODEL = load_weights(Network()).eval()
    X = np.asarray(X, dtype=np.float32)
    if X.shape[1:] != FEATURES:
        raise ValueError(f"expected features of shape (N, {{', '.join(map(str, FEATURES))}}), "
                         f"got {{X.shape}}")
    with torch.no_grad():
        return _MODEL.output(torch.from_numpy(X)).numpy()
{TABLES_SOURCE}

def predict_table(path):
    """predict() for a CSV table with the project's columns."""
    return predict(encode(read_table(path)))


# --------------------------------------------------------------------------- training
def batch_loss(model, xb, yb):
    """(what the loss reads, the loss) of one batch."""
    net = model.module if hasattr(model, "module") else model
    if hasattr(net, "objective"):  # the loss written with nodes, through forward()
        return model(xb, yb)
    out = model(xb)
    return out, net.loss(out, yb)


def minibatches(n, batch_size, rng):
    """nncore's batches: a permutation cut in batch_size pieces, a last batch of one
    sample merged into the one before it."""
    order = rng.permutation(n)
    batches = [order[i:i + batch_size] for i in range(0, n, batch_size)]
    if len(batches) > 1 and len(batches[-1]) == 1:
        last = batches.pop()
        batches[-1] = np.concatenate([batches[-1], last])
    return batches


def metrics(net, out, y):
    """accuracy (classification) or mse and r2 (regression) of forward()'s output."""
    with torch.no_grad():
        pred = head(out)
        if TASK == "classification":
            return {{"accuracy": float((pred.argmax(-1) == y.long()).double().mean())}}
        pred = pred.double()
        t = y.double().reshape(pred.shape)
        mse = float(((pred - t) ** 2).mean())
        var = float(((t - t.mean(0)) ** 2).sum()) / t.numel()
        return {{"mse": mse, "r2": 1.0 - mse / var if var > 0 else float("nan")}}


def evaluate(model, X, y, batch_size=1024):
    """Loss (mean over samples) and metrics in evaluation mode."""
    net = model.module if hasattr(model, "module") else model
    was = net.training
    net.eval()
    total, outs = 0.0, []
    with torch.no_grad():
        for i in range(0, len(X), batch_size):
            out, loss = batch_loss(net, X[i:i + batch_size], y[i:i + batch_size])
            total += float(loss) * len(X[i:i + batch_size])
            outs.append(out)
    net.train(was)
    return {{"loss": total / len(X), **metrics(net, torch.cat(outs), y)}}


def make_optimizer(net):
    """{opt_name} with the project's options; weight decay on weight matrices only
    (ndim >= 2) unless DECAY_BIAS_AND_NORM."""
    options = dict(OPTIMIZER_OPTIONS)
    if "betas" in options:
        options["betas"] = tuple(options["betas"])
    params = [p for p in net.parameters()]
    if WEIGHT_DECAY_GROUPS:
        wd = options.pop("weight_decay", 0.0)
        if DECAY_BIAS_AND_NORM:
            groups = [{{"params": params, "weight_decay": wd}}]
        else:
            groups = [{{"params": [p for p in params if p.ndim >= 2], "weight_decay": wd}},
                      {{"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}}]
        params = [g for g in groups if g["params"]]
    return getattr(torch.optim, OPTIMIZER)(params, **options)


def make_scheduler(optimizer):
    if SCHEDULE is None:
        return None
    name, args = SCHEDULE
    return getattr(torch.optim.lr_scheduler, name)(optimizer, **args)


def train(epochs=EPOCHS, init="initial", out_dir=None):
    """Train as the project does; returns the per-epoch history. Under torchrun
    (WORLD_SIZE > 1): DistributedDataParallel over gloo, each process taking its share
    of every minibatch."""
    import copy
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if world > 1:
        import torch.distributed as dist
        dist.init_process_group("gloo")
    torch.manual_seed(0)
    net = load_weights(Network(), init)
    model = net
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel
        model = DistributedDataParallel(net)
    with np.load(DATA, allow_pickle=False) as f:
        data = {{k: f[k] for k in f.files}}
    X = torch.from_numpy(data["X_train"].astype(np.float32))
    y = torch.from_numpy(data["y_train"])
    Xv = torch.from_numpy(data["X_val"].astype(np.float32))
    yv = torch.from_numpy(data["y_val"])
    rng = np.random.default_rng()
    if SHUFFLE_STATE is not None:
        rng.bit_generator.state = SHUFFLE_STATE
    optimizer = make_optimizer(net)
    scheduler = make_scheduler(optimizer)
    es = EARLY_STOPPING
    best = math.inf if es is None or es["mode"] == "min" else -math.inf
    best_epoch, wait, best_state = 0, 0, None
    history = []
    for epoch in range(1, epochs + 1):
        net.train()
        total = torch.zeros(3, dtype=torch.float64)  # loss sum, samples, metric sum
        for idx in minibatches(len(X), BATCH_SIZE, rng):
            mine = idx[rank::world]  # this process's share of the batch
            xb, yb = X[mine], y[mine]
            out, loss = batch_loss(model, xb, yb)
            m = metrics(net, out.detach(), yb)
            optimizer.zero_grad()
            loss.backward()
            if MAX_GRAD_NORM is not None:
                torch.nn.utils.clip_grad_norm_(net.parameters(), MAX_GRAD_NORM)
            optimizer.step()
            total += torch.tensor([float(loss.detach()) * len(mine), len(mine),
                                   next(iter(m.values())) * len(mine)], dtype=torch.float64)
        if world > 1:
            dist.all_reduce(total)
        logs = {{"epoch": epoch, "loss": float(total[0] / total[1]),
                "accuracy" if TASK == "classification" else "mse": float(total[2] / total[1])}}
        if len(Xv):
            logs.update({{f"val_{{k}}": v for k, v in evaluate(net, Xv, yv).items()}})
        logs["lr"] = optimizer.param_groups[0]["lr"]
        history.append(logs)
        if rank == 0:
            print(json.dumps(logs), flush=True)
        if scheduler is not None:
            if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                scheduler.step(logs["val_loss"] if "val_loss" in logs else logs["loss"])
            else:
                scheduler.step()
        if es is not None:  # nncore's EarlyStopping: the first epoch is the reference
            current = logs[es["monitor"]]
            improved = math.isfinite(current) and (
                best - current > es["min_delta"] if es["mode"] == "min"
                else current - best > es["min_delta"])
            if best_epoch == 0 or improved:
                if math.isfinite(current):
                    best = current
                best_epoch, wait = epoch, 0
                best_state = copy.deepcopy(net.state_dict())
            else:
                wait += 1
                if wait >= es["patience"]:
                    break
    if es is not None and es["restore_best_weights"] and best_state is not None:
        net.load_state_dict(best_state)
    if rank == 0 and out_dir:
        os.makedirs(out_dir, exist_ok=True)
        with open(os.path.join(out_dir, "history.json"), "w") as f:
            json.dump({{"world_size": world, "history": history}}, f, indent=1)
        np.savez(os.path.join(out_dir, "trained.npz"),
                 **{{k: v.detach().cpu().numpy() for k, v in net.state_dict().items()}})
    if world > 1:
        dist.destroy_process_group()
    return history


def _read(path):
    if path.endswith(".npy"):
        return np.load(path, allow_pickle=False)
    if path.endswith(".npz"):
        with np.load(path, allow_pickle=False) as f:
            return f["X"] if "X" in f.files else f[f.files[0]]
    return encode(read_table(path))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("predict", help="predict with the trained weights")
    p.add_argument("features", help="raw features: .npy, .npz (array X) or .csv")
    p.add_argument("-o", "--out", help="write the output here (.npy, else CSV)")
    t = sub.add_parser("train", help="train with the project's settings")
    t.add_argument("--epochs", type=int, default=EPOCHS)
    t.add_argument("--init", choices=("initial", "trained"), default="initial",
                   help="start from the project's initial weights (default) or the trained")
    t.add_argument("--out", help="folder for history.json and trained.npz")
    args = parser.parse_args(argv)
    if args.command == "train":
        train(args.epochs, args.init, args.out)
        return 0
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


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
    os.replace(tmp, path)


def export_pytorch(source: Any, path: str | os.PathLike) -> list[Path]:
    """Write the PyTorch script of ``source`` (a trained
    :class:`~nncore.project.TrainingRun` or an :class:`~nncore.export.plan.ExportPlan`)
    to ``path`` (``.py`` added when missing), its weights (``.npz``) and the project's
    split (``_data.npz``) beside it. Returns ``[script, weights, data]`` (no data file
    when the plan has no split).

    Raises:
        ExportError: for a node, loss or setting the PyTorch export cannot write
            (naming it), or a plan without training settings.
        OSError: if a file cannot be written.
    """
    plan = source if isinstance(source, ExportPlan) else plan_from_run(source)
    if plan.training is None:
        raise ExportError("the PyTorch export needs the project's training settings")
    script = Path(path)
    if script.suffix != ".py":
        script = script.with_name(script.name + ".py")
    weights = script.with_suffix(".npz")
    data = script.with_name(script.stem + "_data.npz")
    text = pytorch_source(plan, weights.name, data.name)
    arrays = {k: np.ascontiguousarray(v) for k, v in plan.state().items()}
    for k, v in (plan.initial or plan.state()).items():
        arrays[f"initial/{k}"] = np.ascontiguousarray(v)
    if plan.mean is not None:
        arrays["standardize.mean"] = plan.mean
        arrays["standardize.scale"] = plan.scale
    _write_npz(weights, arrays)
    written = [script, weights]
    if plan.data is not None:
        _write_npz(data, {k: np.ascontiguousarray(v) for k, v in plan.data.items()})
        written.append(data)
    tmp = script.with_name(script.name + ".part")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, script)
    return written
