"""The ``nncore`` command (also ``python -m nncore``).

``nncore demo`` trains a small MLP (Linear - BatchNorm1d - activation - Linear) on a real
built-in dataset (scikit-learn's handwritten digits by default) and prints the metrics
of every epoch.

``nncore check GRAPH.json`` validates a saved canvas graph and prints every node with its
output shape and parameter count.

``nncore train GRAPH.json`` trains a saved canvas graph on its dataset (options override
the file's settings) and prints the metrics of every epoch; a project holding trained
weights continues from them (``--fresh`` starts over), and ``--save OUT.json`` writes
the project with its runs and the trained weights, as the window's Save does.

``nncore predict PROJECT.json --csv FILE | --npz FILE --out predictions.csv`` runs the
saved model on new rows, through the saved preprocessing: one column per class
probability, named by the class, then ``predicted``.

``nncore export PROJECT.json --format pytorch|numpy|onnx -o OUT`` writes the trained
network as a standalone PyTorch script (with its training loop), a NumPy inference
script or an ONNX model, each taking the raw features (:mod:`nncore.export`); a project
without saved weights is trained first.

Exit codes: 0 on success, 1 when training fails (e.g. the loss becomes NaN), 2 for bad
arguments (argparse's convention).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence, TextIO

import numpy as np

from nncore.optim.registry import OPTIMIZERS
from nncore.text import plural
from nncore.training import Callback

__all__ = ["main", "build_parser", "demo", "check", "train", "predict"]

ACTIVATIONS = ("relu", "leaky_relu", "sigmoid", "tanh")
DATASETS = ("digits", "iris", "wine", "breast_cancer")
#: Learning rates where PyTorch has no default that suits this demo (SGD's is 1e-3).
DEMO_LR = {"sgd": 0.1, "momentum": 0.05}


def _number_type(name: str, low: float, low_inclusive: bool = True,
                 integer: bool = False) -> Callable[[str], float]:
    """An argparse ``type`` that accepts finite numbers >= (or >) ``low``."""
    def parse(text: str) -> float:
        try:
            value = int(text) if integer else float(text)
        except ValueError:
            kind = "an integer" if integer else "a number"
            raise argparse.ArgumentTypeError(f"{name} must be {kind}, got {text!r}") from None
        ok = math.isfinite(value) and (value >= low if low_inclusive else value > low)
        if not ok:
            bound = f">= {low:g}" if low_inclusive else f"> {low:g}"
            raise argparse.ArgumentTypeError(f"{name} must be a finite number {bound}, "
                                             f"got {text}")
        return value
    return parse


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``nncore`` command."""
    from nncore import __version__

    parser = argparse.ArgumentParser(
        prog="nncore", description="NN Canvas engine: train neural networks with a NumPy "
        "backpropagation core.")
    parser.add_argument("--version", action="version", version=f"nncore {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo_p = sub.add_parser(
        "demo", help="train an MLP on a built-in dataset and print progress",
        description="Train Linear - BatchNorm1d - activation - Linear on a real built-in "
        "dataset (80 percent training, 20 percent validation, stratified, standardized "
        "with the training statistics) and print the metrics of every epoch.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    demo_p.add_argument("--dataset", default="digits", choices=DATASETS)
    demo_p.add_argument("--hidden", type=_number_type("--hidden", 1, integer=True),
                        default=128, help="hidden units")
    demo_p.add_argument("--activation", default="relu", choices=ACTIVATIONS)
    demo_p.add_argument("--no-batchnorm", action="store_true", help="leave out BatchNorm1d")
    demo_p.add_argument("--optimizer", default="adam", choices=OPTIMIZERS.names(),
                        help=_optimizer_help())
    demo_p.add_argument("--lr", type=_number_type("--lr", 0), default=None,
                        help="learning rate; default: PyTorch's for the optimizer, but 0.1 "
                        "for sgd and 0.05 for momentum")
    demo_p.add_argument("--weight-decay", type=_number_type("--weight-decay", 0),
                        default=None, help="weight decay on Linear weights (biases and "
                        "BatchNorm parameters are never decayed); default: PyTorch's for "
                        "the optimizer (0.01 for adamw, 0 otherwise)")
    demo_p.add_argument("--epochs", type=_number_type("--epochs", 1, integer=True), default=20)
    demo_p.add_argument("--batch-size", type=_number_type("--batch-size", 1, integer=True),
                        default=32)
    demo_p.add_argument("--max-grad-norm", type=_number_type("--max-grad-norm", 0, False),
                        default=None, help="clip the global gradient norm to this value")
    demo_p.add_argument("--patience", type=_number_type("--patience", 0, integer=True),
                        default=None, help="early stopping on validation loss with this "
                        "patience (the best epoch's weights are restored)")
    demo_p.add_argument("--seed", type=_number_type("--seed", 0, integer=True), default=0)
    demo_p.add_argument("--threads", type=_number_type("--threads", 1, integer=True), default=1,
                        help="BLAS threads")

    check_p = sub.add_parser(
        "check", help="validate a graph file and print its nodes, shapes and parameters",
        description="Validate a graph file: print every node with its output shape and "
        "parameter count, and the total; exit 1 with the problem otherwise.")
    check_p.add_argument("graph", metavar="GRAPH.json")
    check_p.add_argument("--no-data", action="store_true",
                         help="do not load the dataset: check the wiring only (without data the "
                         "Input and what follows it have no shapes)")

    train_p = sub.add_parser(
        "train", help="train a graph file on its dataset and print progress",
        description="Train the network in GRAPH.json. The dataset and training settings "
        "saved in the file are the defaults; options override them.")
    train_p.add_argument("graph", metavar="GRAPH.json")
    data_g = train_p.add_mutually_exclusive_group()
    data_g.add_argument("--dataset", metavar="NAME", help="a built-in dataset: "
                        + ", ".join(_dataset_names()))
    data_g.add_argument("--csv", metavar="FILE", help="a CSV file of features and a target")
    data_g.add_argument("--npz", metavar="FILE", help="an NPZ file with arrays X and y")
    train_p.add_argument("--target", metavar="COLUMN",
                         help="the CSV's target column: a name, or a number counted from 0 "
                         "(negative from the end; default: the last column)")
    train_p.add_argument("--task", choices=("classification", "regression"),
                         help="what the CSV/NPZ targets are (default: whole numbers are "
                         "classes, unless the network ends in MSE)")
    train_p.add_argument("--delimiter", metavar="CHAR", help="the CSV field separator "
                         "(default: detected from the first lines: , ; tab or |)")
    train_p.add_argument("--header", metavar="N|none", type=_header_type, default="auto",
                         help="where the CSV's column names are: the row number N counted "
                         "from 0 (rows before it are skipped), or 'none' for a file without "
                         "a header (default: auto, detected; a scikit-learn count line such as "
                         "'150,4,setosa,versicolor,virginica' is skipped)")
    train_p.add_argument("--ignore", metavar="COLUMN", action="append", default=[],
                         help="leave this CSV column out (repeatable); identifier-like, date, "
                         "constant and free-text columns are left out by default")
    train_p.add_argument("--categorical", metavar="COLUMN", action="append", default=[],
                         help="read this CSV column as categories, one-hot encoded, even if "
                         "it holds numbers (repeatable); text columns are categories by "
                         "default")
    train_p.add_argument("--missing", choices=("drop", "mean", "median", "most_frequent"),
                         help="what to do with missing CSV values (empty, NA, NaN, N/A, ?, "
                         "null): drop the rows (default), or fill them with the training "
                         "rows' mean, median or most frequent value")
    train_p.add_argument("--data-option", metavar="KEY=VALUE", action="append", default=[],
                         help="an option of the built-in dataset (repeatable), e.g. "
                         "noise=0.3 or n_samples=1000; " + _data_option_help())
    train_p.add_argument("--epochs", type=_number_type("--epochs", 0, integer=True))
    train_p.add_argument("--batch-size", type=_number_type("--batch-size", 1, integer=True))
    train_p.add_argument("--optimizer", choices=OPTIMIZERS.names(),
                         help=_optimizer_help() + " (its arguments start from their "
                         "defaults unless the file's optimizer is the same)")
    train_p.add_argument("--optimizer-option", metavar="KEY=VALUE", action="append",
                         default=[], help="an argument of the optimizer (repeatable), e.g. "
                         "momentum=0.9, betas=0.9,0.99 or nesterov=true; "
                         + "; ".join(f"{name}: {', '.join(info.specs)}"
                                     for name, info in OPTIMIZERS.items()))
    train_p.add_argument("--lr", type=_number_type("--lr", 0))
    train_p.add_argument("--weight-decay", type=_number_type("--weight-decay", 0))
    train_p.add_argument("--patience", type=_number_type("--patience", 0, integer=True),
                         help="early stopping on the validation loss with this patience")
    train_p.add_argument("--max-grad-norm", type=_number_type("--max-grad-norm", 0, False),
                         help="clip the global gradient norm to this value")
    train_p.add_argument("--threads", type=_number_type("--threads", 1, integer=True),
                         default=1, help="BLAS threads (default 1: steadier and as fast on "
                         "small networks; more may help large ones)")
    train_p.add_argument("--seed", type=_number_type("--seed", 0, integer=True),
                         help="seed of the weights, the shuffling and the split")
    train_p.add_argument("--metrics-out", metavar="FILE.json",
                         help="write the per-epoch history as JSON")
    train_p.add_argument("--save-weights", metavar="FILE.npz",
                         help="write the trained weights and buffers")
    train_p.add_argument("--save", metavar="OUT.json",
                         help="write the project with its runs and the trained weights "
                         "(OUT.npz beside it), as the window's Save does; may be GRAPH.json")
    train_p.add_argument("--fresh", action="store_true",
                         help="start from fresh weights even if the project holds trained ones")

    predict_p = sub.add_parser(
        "predict", help="predict new rows with a project's saved model",
        description="Run the trained model saved in PROJECT.json on the rows of a CSV "
        "(through the saved column pipeline and standardization) or the X array of an NPZ; "
        "write one column per class probability, named by the class, and 'predicted' (the "
        "class name; for regression the value).")
    predict_p.add_argument("graph", metavar="PROJECT.json")
    rows_g = predict_p.add_mutually_exclusive_group(required=True)
    rows_g.add_argument("--csv", metavar="FILE", help="a CSV with the feature columns (a "
                        "target column, if there, is left out)")
    rows_g.add_argument("--npz", metavar="FILE", help="an NPZ with an array X (n, features)")
    predict_p.add_argument("--out", metavar="FILE.csv",
                           help="where to write the predictions (default: standard output)")
    predict_p.add_argument("--delimiter", metavar="CHAR", help="the CSV field separator "
                           "(default: detected)")
    predict_p.add_argument("--header", metavar="N|none", type=_header_type, default="auto",
                           help="the CSV's header row, or 'none' (default: detected)")
    from nncore.export.command import add_parser as add_export_parser
    add_export_parser(sub)
    return parser


def _header_type(text: str) -> int | str | None:
    """``--header``: a row number >= 0, ``none`` or ``auto`` (the default)."""
    if text.strip().lower() in ("none", "auto"):
        return None if text.strip().lower() == "none" else "auto"
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"--header must be a row number >= 0, 'none' or "
                                         f"'auto', "
                                         f"got {text!r}")
    return value


def _dataset_names() -> list[str]:
    from nncore.data import DATASETS
    return list(DATASETS)


def _optimizer_help() -> str:
    """``sgd: SGD; momentum: SGD with momentum (sgd, momentum=0.9); ...``: a preset (the
    class of an earlier entry with other defaults) says what differs."""
    parts = []
    for name, info in OPTIMIZERS.items():
        base = next(b for b in OPTIMIZERS.values() if b.cls is info.cls)
        changed = [f"{k}={v}" for k, v in info.defaults().items()
                   if base.defaults().get(k, v) != v]
        note = f" ({base.name}, {', '.join(changed)})" if base is not info and changed else ""
        parts.append(f"{name}: {info.title}{note}")
    return "; ".join(parts)


def _parse_option(spec: Any, key: str, text: str, flag: str) -> Any:
    """The text of ``FLAG KEY=VALUE`` (``--optimizer-option``, ``--data-option``) as a
    value of ``spec``'s type (the range is checked by the settings)."""
    try:
        if spec.type == "bool":
            words = {"true": True, "on": True, "1": True, "yes": True,
                     "false": False, "off": False, "0": False, "no": False}
            return words[text.strip().lower()]
        if spec.type == "int":
            return int(text)
        if spec.type == "floats":
            return [float(v) for v in text.split(",")]
        if spec.type == "float":
            return float(text)
        return text
    except (KeyError, ValueError):
        kind = {"bool": "true or false", "int": "a whole number", "floats":
                f"{spec.length} numbers separated by commas"}.get(spec.type, "a number")
        raise ValueError(f"{flag} {key}: {text!r} is not {kind}") from None


def _optimizer_options(pairs: Sequence[str], optimizer: str) -> dict[str, Any]:
    """``--optimizer-option`` pairs as the optimizer's arguments (parsed by their specs).

    Raises:
        ValueError: for a malformed pair, an argument the optimizer does not have or a
            value of the wrong type.
    """
    if not pairs:
        return {}
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"--optimizer-option: {OPTIMIZERS.unknown(optimizer)}")
    info = OPTIMIZERS[optimizer]
    return _spec_pairs(pairs, info.specs, "--optimizer-option", info.title, "argument")


def _spec_pairs(pairs: Sequence[str], specs: Mapping[str, Any], flag: str, owner: str,
                what: str) -> dict[str, Any]:
    """``KEY=VALUE`` pairs of ``flag`` as values, each parsed by its spec.

    Raises:
        ValueError: for a malformed pair, a key ``owner`` does not have (listing the
            known ones) or a value of the wrong type.
    """
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"{flag} needs KEY=VALUE, got {pair!r}")
        if key not in specs:
            known = f"known: {', '.join(specs)}" if specs else f"it takes no {what}s"
            raise ValueError(f"{flag} {key}: {owner} has no such {what} ({known})")
        options[key] = _parse_option(specs[key], key, text, flag)
    return options


def _make_optimizer(args: argparse.Namespace, model) -> object:
    from nncore import optim

    info = OPTIMIZERS[args.optimizer]
    kwargs: dict[str, float] = {}
    lr = args.lr if args.lr is not None else DEMO_LR.get(args.optimizer)
    if lr is not None:
        kwargs["lr"] = lr
    weight_decay = args.weight_decay
    if weight_decay is None:
        weight_decay = info.defaults().get("weight_decay", 0.0)
    groups = optim.param_groups_for_weight_decay(model, weight_decay)
    return info.build(groups, **kwargs)


def demo(args: argparse.Namespace, out: TextIO | None = None) -> list[dict[str, float]]:
    """Train the demo network described by ``args``; print (to ``out``, default
    standard output) and return the history.

    Raises:
        nncore.training.TrainingError: if the loss becomes NaN or infinite.
    """
    out = sys.stdout if out is None else out
    from sklearn.model_selection import train_test_split

    from nncore import nn
    from nncore import functional as F
    from nncore.data import load_builtin, standardize
    from nncore.training import Callback, EarlyStopping, Trainer

    rng = np.random.default_rng(args.seed)
    data = load_builtin(args.dataset)
    X_tr, X_val, y_tr, y_val = train_test_split(data.X, data.y, test_size=0.2,
                                                stratify=data.y, random_state=args.seed)
    X_tr, X_val = standardize(X_tr, X_val)
    act = {"relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "sigmoid": nn.Sigmoid,
           "tanh": nn.Tanh}[args.activation]
    layers: list[nn.Module] = [nn.Linear(X_tr.shape[1], args.hidden, generator=rng)]
    if not args.no_batchnorm:
        layers.append(nn.BatchNorm1d(args.hidden))
    layers += [act(), nn.Linear(args.hidden, data.num_classes, generator=rng)]
    model = nn.Sequential(*layers)
    opt = _make_optimizer(args, model)
    callbacks = [EarlyStopping(patience=args.patience)] if args.patience is not None else []

    group = opt.param_groups[0]
    print(f"{data.name}: {len(X_tr)} training and {len(X_val)} validation samples, "
          f"{X_tr.shape[1]} features, {data.num_classes} classes", file=out)
    print(model, file=out)
    print(f"{model.num_parameters()} parameters; optimizer {type(opt).__name__} "
          f"lr={group['lr']:g} weight_decay={group.get('weight_decay', 0):g}", file=out)
    print(f"{'epoch':>5} {'loss':>10} {'acc':>7} {'val_loss':>10} {'val_acc':>8} {'time':>7}",
          file=out)

    class _Printer(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            print(f"{epoch:5d} {logs['loss']:10.4g} {logs['accuracy']:7.2%} "
                  f"{logs['val_loss']:10.4g} {logs['val_accuracy']:8.2%} "
                  f"{logs['time'] * 1000:5.0f}ms", file=out, flush=True)

    trainer = Trainer(model, F.cross_entropy, opt, batch_size=args.batch_size,
                      callbacks=[_Printer(), *callbacks], max_grad_norm=args.max_grad_norm,
                      generator=rng)
    history = trainer.fit(X_tr, y_tr, args.epochs, validation=(X_val, y_val))
    final = trainer.evaluate(X_val, y_val)
    note = ""
    if callbacks and callbacks[0].best_epoch:
        note = f" (weights of epoch {callbacks[0].best_epoch} restored)"
    print(f"final validation accuracy {final['accuracy']:.2%}, loss {final['loss']:.4f}{note}",
          file=out)
    return history


def check(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """``nncore check``: print the graph's nodes with shapes and parameter counts, after
    matching the Input node to the dataset the settings name (as ``train`` does).

    Returns 0 when the graph can be trained, 1 otherwise (the problems are printed).

    Raises:
        GraphFileError, SettingsError, ValueError: for a bad file, settings or data.
    """
    from nncore.project import Project
    from nncore.project.saved import load_project

    out = sys.stdout if out is None else out
    saved = load_project(args.graph)
    graph = saved.graph
    project = Project(graph, Path(args.graph).resolve().parent)
    tr = project.training_settings
    shape = None
    if not args.no_data:
        project.load_data()  # a dataset that cannot be read is an error, named here
        shape = project.data_shape()
        print(f"dataset: {project.describe_data()}", file=out)
    options = {k: v for k, v in tr.optimizer_options.items()}
    print(f"training: {tr.optimizer} {options or '(PyTorch defaults)'}, batch size "
          f"{tr.batch_size}, up to {plural(tr.epochs, 'epoch')}"
          + (", early stopping" if tr.early_stopping else "")
          + (f", {tr.schedule['type']} schedule" if tr.schedule else ""), file=out)
    analysis = graph.analysis(shape)
    rows = []
    for nid in analysis.order or [n.id for n in graph.nodes]:
        node = graph.node(nid)
        shapes = [str(analysis.shapes[(nid, p.name)]) for p in node.type.outputs
                  if (nid, p.name) in analysis.shapes]
        shape = "; ".join(shapes) if shapes else ("error" if nid in analysis.errors else "?")
        count = analysis.params.get(nid)
        rows.append((node.name, node.type.display_name, shape, "" if count is None else str(count)))
    widths = [max(len(r[i]) for r in rows + [("node", "type", "output", "parameters")])
              for i in range(4)]
    for row in [("node", "type", "output", "parameters"), *rows]:
        print(f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:<{widths[2]}}  "
              f"{row[3]:>{widths[3]}}", file=out)
    print(f"total: {plural(len(graph), 'node')}, {plural(len(graph.edges), 'wire')}, "
          f"{analysis.total_params} trainable parameters", file=out)
    # with the data, the project's problems: the graph's and whether training fits in memory
    problems = analysis.problems if args.no_data else project.problems()
    if saved.model is not None:
        print(f"weights: {_weights_line(saved)}", file=out)
    elif saved.runs:
        print(f"runs: {len(saved.runs)} kept, no trained weights", file=out)
    if saved.problem:
        problems = [*problems, (None, saved.problem)]
    if problems:
        for _, message in problems:
            print(f"problem: {message}", file=sys.stderr)
        return 1
    print("ok: the network can be trained", file=out)
    return 0


def _data_options(pairs: Sequence[str], name: Any) -> dict[str, Any]:
    """``--data-option`` pairs as options of the built-in dataset ``name``, parsed by
    their specs (:data:`nncore.data.DATASETS`).

    Raises:
        ValueError: for a malformed pair, a dataset that is not built in, an option the
            dataset does not have or a value of the wrong type.
    """
    from nncore.data import DATASETS

    if not pairs:
        return {}
    if name not in DATASETS:
        raise ValueError(f"--data-option needs a built-in dataset (--dataset NAME), "
                         f"got {name!r}")
    spec = DATASETS[name]
    return _spec_pairs(pairs, spec.specs, "--data-option", spec.display_name, "option")


def _data_option_help() -> str:
    """``moons: n_samples, noise, seed; ...``: the options of each built-in dataset."""
    from nncore.data import DATASETS

    return "; ".join(f"{name}: {', '.join(spec.specs)}" for name, spec in DATASETS.items()
                     if spec.options)


def _train_settings(args: argparse.Namespace, graph: Any) -> tuple[Any, Any]:
    """The graph's settings with the command-line overrides applied.

    Raises:
        SettingsError: for overrides that do not fit (named as the setting).
    """
    from nncore.project import DatasetSettings, TrainingSettings

    ds = dict(graph.settings.get("dataset") or {})
    if args.dataset and (ds.get("source", "builtin") != "builtin"
                         or ds.get("name") != args.dataset):
        ds = {**ds, "source": "builtin", "name": args.dataset, "options": {}, "classes": None}
    elif args.csv or args.npz:
        ds = {**ds, "source": "csv" if args.csv else "npz",
              "path": str(Path(args.csv or args.npz).resolve()), "classes": None,
              "target": None}
    if args.data_option:
        if ds.get("source", "builtin") != "builtin":
            raise ValueError("--data-option needs a built-in dataset (--dataset NAME)")
        ds["options"] = {**(ds.get("options") or {}),
                         **_data_options(args.data_option, ds.get("name", "digits"))}
    if args.target is not None:
        if ds.get("source") != "csv":
            raise ValueError("--target needs a CSV dataset (--csv FILE)")
        try:
            ds["target"] = int(args.target)
        except ValueError:
            ds["target"] = args.target
    for key in ("task", "delimiter", "missing"):
        if getattr(args, key) is not None:
            ds[key] = getattr(args, key)
    table_options = args.ignore or args.categorical or args.missing or \
        args.header != "auto"
    if table_options and ds.get("source") != "csv":
        raise ValueError("--ignore, --categorical, --missing and --header need a CSV "
                         "dataset (--csv FILE)")
    if args.header != "auto":
        ds["header"] = args.header
    if args.csv and args.delimiter is None:
        from nncore import limits
        from nncore.files import regular_file
        from nncore.tables import sniff_delimiter
        from nncore.tables.read import _HEAD_BYTES, _decode_head, _encoding_of

        regular_file(ds["path"], "the CSV file", limits.MAX_CSV_BYTES)  # never a FIFO
        with open(ds["path"], "rb") as f:
            head = f.read(_HEAD_BYTES)
        ds["delimiter"] = sniff_delimiter(_decode_head(head, _encoding_of(head, None)))
    if args.ignore or args.categorical:
        columns = {k: dict(v) for k, v in (ds.get("columns") or {}).items()}
        for name in args.ignore:
            columns.setdefault(name, {})["role"] = "ignore"
        for name in args.categorical:
            if name in args.ignore:
                raise ValueError(f"--categorical {name} and --ignore {name}: choose one")
            columns.setdefault(name, {}).update(kind="category", role="feature")
        ds["columns"] = columns
    tr = dict(graph.settings.get("training") or {})
    if args.optimizer and args.optimizer != tr.get("optimizer", "adam"):
        # The file's options were chosen for another optimizer: start from the new one's
        # PyTorch defaults (learning rate included).
        tr["optimizer"], tr["optimizer_options"] = args.optimizer, {}
    options = dict(tr.get("optimizer_options") or {})
    options.update(_optimizer_options(args.optimizer_option, tr.get("optimizer", "adam")))
    if args.lr is not None:
        options["lr"] = args.lr
    if args.weight_decay is not None:
        options["weight_decay"] = args.weight_decay
    tr["optimizer_options"] = options
    for key in ("epochs", "batch_size", "max_grad_norm"):
        if getattr(args, key) is not None:
            tr[key] = getattr(args, key)
    if args.patience is not None:
        tr["early_stopping"] = {**(tr.get("early_stopping") or {}), "patience": args.patience}
    if args.seed is not None:
        tr["seed"] = ds["seed"] = args.seed
    return DatasetSettings.from_dict(ds), TrainingSettings.from_dict(tr)


def _json_safe(value: Any) -> Any:
    """``value`` with NaN and infinities as null (standard JSON has no NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def _writable(path: str, option: str) -> None:
    folder = Path(path).resolve().parent
    if not folder.is_dir():
        raise ValueError(f"{option} {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise ValueError(f"{option} {path}: the folder {folder} is not writable")


class _Progress(Callback):
    """Prints one line per epoch; on a terminal also a progress bar within the epoch."""

    def __init__(self, run: Any, out: TextIO) -> None:
        self.run, self.out = run, out
        self.tty = out.isatty()
        n, b = len(run.split.y_train), run.settings.batch_size
        self.batches = max(1, n // b if n % b == 1 and n > b else -(-n // b))
        #: epochs trained before (a continued run), and the last one this fit reaches
        self.first = len(run.trainer.history)
        self.epochs = self.first + run.settings.epochs
        #: per-batch step, loss and learning rate (the loss curve --save keeps)
        self.curves: dict[str, list[float]] = {"step": [], "step_loss": [], "step_lr": []}

    def on_batch_end(self, trainer: Any, record: Any) -> None:
        self.curves["step"].append(float(record.step))
        self.curves["step_loss"].append(float(record.loss))
        self.curves["step_lr"].append(float(record.lr))
        if self.tty:
            done = int(20 * record.batch / self.batches)
            if done == getattr(self, "_drawn", None):
                return  # redraw only when the bar grows
            self._drawn = done
            print(f"\repoch {record.epoch}/{self.epochs} [{'#' * done}{'.' * (20 - done)}] "
                  f"loss {record.loss:.4g}", end="", file=self.out, flush=True)

    def on_divergence(self, trainer: Any, divergence: Any) -> None:
        print(("\r\033[K" if self.tty else "") + f"warning: {divergence.message}",
              file=sys.stderr, flush=True)

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, float]) -> None:
        parts = [f"epoch {epoch:>{len(str(self.epochs))}}/{self.epochs}",
                 f"loss {logs['loss']:.4f}"]
        for key, label in (("accuracy", "acc"), ("r2", "R2"), ("val_loss", "val_loss"),
                           ("val_accuracy", "val_acc"), ("val_r2", "val_R2")):
            if key in logs:
                value = logs[key]
                parts.append(f"{label} {value:.2%}" if "acc" in key else f"{label} {value:.4f}")
        parts.append(f"lr {logs['lr']:.3g}")
        parts.append(f"{logs['time']:.2f}s")
        print(("\r\033[K" if self.tty else "") + "  ".join(parts), file=self.out, flush=True)


def train(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """``nncore train``: train a graph file on its dataset (see the subcommand's help)."""
    import json
    import time

    from threadpoolctl import threadpool_limits

    from nncore.files import atomic_write, save_arrays
    from nncore.project import TrainingRun
    from nncore.project.saved import load_project

    out = sys.stdout if out is None else out
    for option in ("metrics_out", "save_weights", "save"):
        if getattr(args, option):
            _writable(getattr(args, option), "--" + option.replace("_", "-"))
    saved = load_project(args.graph)
    graph = saved.graph
    base = Path(args.graph).resolve().parent
    dataset, training = _train_settings(args, graph)
    run = TrainingRun(graph, dataset, training, base_dir=base)
    previous = _continue(saved, run, base, args, out)
    progress = _Progress(run, out)
    run.trainer.callbacks.insert(0, progress)
    data, sp = run.data, run.split
    print(f"{Path(args.graph).name}: "
          f"{len(graph)} nodes, {run.model.num_parameters()} parameters; dataset "
          f"{data.name}: {len(sp.y_train)} training, {len(sp.y_val)} validation"
          + (f", {len(sp.y_test)} test" if len(sp.y_test) else "")
          + f" samples, {data.n_features} features"
          + (f", {data.num_classes} classes" if data.task == "classification" else ""),
          file=out)
    if data.pipeline is not None and getattr(data.pipeline, "report", None) is not None:
        print(data.pipeline.report.summary(), file=out)
    if sp.warning:
        print(f"note: {sp.warning}", file=out)
    opt = run.optimizer
    print(f"{type(opt).__name__} lr={opt.param_groups[0]['lr']:g}, batch size "
          f"{training.batch_size}, up to {plural(training.epochs, 'epoch')}", file=out)
    start = time.perf_counter()
    with threadpool_limits(args.threads):
        run.fit()
    history = run.trainer.history
    seconds = time.perf_counter() - start
    summary = [f"trained {plural(len(history) - progress.first, 'epoch')} in {seconds:.1f}s"
               + (f" (epochs {progress.first + 1}-{len(history)})" if progress.first else "")]
    if run.trainer.divergence is not None:
        summary[0] += " (diverged: see the warning)"
    final: dict[str, Any] = {"epochs": len(history), "seconds": seconds}
    if run.trainer.divergence is not None:
        final["diverging"] = run.trainer.divergence.message
    es = run.early_stopping
    if es is not None and es.best_epoch:
        summary.append(f"best epoch {es.best_epoch} "
                       + ("restored" if es.restore_best_weights else "(not restored)"))
    for part in ("val", "test"):
        if len(getattr(sp, f"y_{part}")):
            m = run.evaluate(part)
            final[part] = m
            name = "validation" if part == "val" else "test"
            if "accuracy" in m:
                summary.append(f"{name} accuracy {m['accuracy']:.2%} (loss {m['loss']:.4f})")
            else:
                summary.append(f"{name} loss {m['loss']:.4f}"
                               + (f", R2 {m['r2']:.4f}" if "r2" in m else ""))
    print("; ".join(summary), file=out)
    names = run.split.classes
    if names and len(names) <= 12 and len(sp.y_val):
        from nncore.metrics import per_class_accuracy
        from nncore.tensor import no_grad

        run.model.eval()
        with no_grad():  # the final weights (the restored best ones, with early stopping)
            scores = run.model(sp.X_val).data
        per_class = per_class_accuracy(scores, sp.y_val, len(names))
        final["val_per_class_accuracy"] = {
            name: None if np.isnan(acc) else float(acc) for name, acc in zip(names, per_class)}
        print("validation accuracy per class: " + ", ".join(
            f"{name} {'-' if np.isnan(acc) else f'{acc:.0%}'}"
            for name, acc in zip(names, per_class)), file=out)
    if args.metrics_out:
        atomic_write(args.metrics_out, json.dumps(_json_safe({"history": history, "final": final}),
                                                  indent=2, allow_nan=False) + "\n")
        print(f"wrote {args.metrics_out}", file=out)
    if args.save_weights:
        save_arrays(args.save_weights, run.model.state_dict())
        print(f"wrote {args.save_weights}", file=out)
    if args.save:
        weights = _save_project(args.save, saved, run, previous, progress, base)
        print(f"wrote {args.save} and {weights.name} (the runs and the trained weights)",
              file=out)
    return 0


def _weights_line(saved: Any) -> str:
    """``digits.npz: epoch 3 of 'Run 1: adam · digits', validation accuracy 95.00%``."""
    model = saved.model
    metrics = model.metrics
    parts = [f"{saved.weights_path.name}: epoch {model.epoch}"
             + (f" of {model.run!r}" if model.run else "")]
    for key, label in (("val_accuracy", "validation accuracy"), ("val_r2", "validation R2"),
                       ("val_loss", "validation loss"), ("accuracy", "training accuracy"),
                       ("loss", "training loss")):
        value = metrics.get(key)
        if value is not None and math.isfinite(value):
            parts.append(f"{label} {value:.2%}" if "accuracy" in key else
                         f"{label} {value:.4f}")
    if model.shape is None:
        parts.append("no preprocessing saved (written by --save-weights)")
    return ", ".join(parts)


def _continue(saved: Any, run: Any, base: Path, args: argparse.Namespace,
              out: TextIO) -> Any:
    """Put the project's saved model into ``run`` unless ``--fresh``, and say so first.
    Returns the kept run record it continues, or None."""
    if saved.problem:
        print(f"note: {saved.problem}", file=sys.stderr)
    if saved.model is None or args.fresh:
        if saved.model is not None:
            print(f"starting over from fresh weights (--fresh; {saved.weights_path.name} "
                  "is not used)", file=out)
        return None
    from nncore.graph import Graph
    from nncore.project.saved import WeightsError

    # the number of epochs to train now is no change of the run
    same = Graph()
    same.replace_with(run.graph)
    kept = saved.graph.settings.get("training") or {}
    training = dict(same.settings.get("training") or {})
    if "epochs" in kept:
        training["epochs"] = kept["epochs"]
    same.set_settings({**same.settings, "training": training})
    try:
        exact = saved.model.restore(run, same, base)
    except WeightsError as e:
        print(f"note: {saved.weights_path.name}: {e}; training starts from fresh weights",
              file=sys.stderr)
        return None
    line = f"continuing from the saved weights ({_weights_line(saved)})"
    if not exact:
        line += "; the settings or the data changed since, so the optimizer starts afresh"
    print(line, file=out)
    index = saved.trained_run
    return saved.runs[index] if index is not None else None


def _run_label(run: Any) -> str:
    """``adam lr=0.001 · digits``, as the window names its runs."""
    s, ds = run.settings, run.dataset_settings
    dataset = ds.name if ds.source == "builtin" else Path(ds.path or "data").name
    lr = s.optimizer_options.get("lr")
    return f"{s.optimizer}" + (f" lr={lr:g}" if lr is not None else "") + f" · {dataset}"


def _save_project(target: str, saved: Any, run: Any, previous: Any, progress: "_Progress",
                  base: Path) -> Path:
    """``--save``: the project as trained (the settings used) with its runs, this one
    last (or the one it continued, grown), and the trained weights."""
    import re

    from nncore.graph import Graph
    from nncore.project.saved import RunRecord, SavedModel, save_project

    graph = Graph()
    graph.replace_with(run.graph)
    folder = Path(target).resolve().parent
    dataset = dict(graph.settings.get("dataset") or {})
    path = dataset.get("path")
    if isinstance(path, str) and path and not Path(path).is_absolute() and folder != base:
        dataset["path"] = str((base / path).resolve())  # names the same file from there
        graph.set_settings({**graph.settings, "dataset": dataset})
    runs = list(saved.runs)
    for r in runs:
        r.trained = False
    es = run.early_stopping
    curves = {k: np.asarray(v, dtype=np.float64) for k, v in progress.curves.items()}
    if previous is not None:
        name = previous.name
        curves = {k: np.concatenate([previous.curves.get(k, np.zeros(0)), v])
                  for k, v in curves.items()}
    else:
        numbers = [int(m.group(1)) for r in runs if (m := re.match(r"Run (\d+):", r.name))]
        name = f"Run {max(numbers, default=0) + 1}: {_run_label(run)}"
    status = "stopped" if run.trainer.stopped_by_request or (es and es.stopped_epoch) \
        else "finished"
    record = RunRecord(name, {k: graph.settings[k] for k in ("dataset", "training")},
                       list(run.trainer.history), status,
                       best_epoch=es.best_epoch if es else 0,
                       stopped_epoch=es.stopped_epoch if es else 0, trained=True,
                       curves=curves)
    model = SavedModel.from_run(run, graph, folder, name)
    if previous is not None:  # the run continued keeps its place
        runs[runs.index(previous)] = record
    else:
        runs.append(record)
    weights = save_project(target, graph, runs, model)
    assert weights is not None
    return weights


def predict(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """``nncore predict``: the saved model's predictions for new rows, as CSV.

    Raises:
        ValueError: for a project without usable weights, rows that do not fit the model
            (naming the columns), or a file that cannot be read.
    """
    import csv
    import io

    from nncore.files import atomic_write
    from nncore.project.saved import load_project

    out = sys.stdout if out is None else out
    if args.out:
        _writable(args.out, "--out")
    saved = load_project(args.graph)
    model = saved.model
    if model is None:
        if saved.problem:
            raise ValueError(f"{args.graph}: no usable trained weights: {saved.problem}")
        raise ValueError(f"{args.graph} holds no trained weights: train it and save it "
                         f"(nncore train {args.graph} --save {args.graph}, or Save in the "
                         "window after training)")
    if model.shape is None:
        raise ValueError(f"{args.graph}: {saved.weights_path.name} was saved without its "
                         "preprocessing (nncore train --save-weights): train and save the "
                         f"project again (nncore train {args.graph} --save OUT.json)")
    where = args.csv or args.npz
    if args.csv:
        from nncore import limits
        from nncore.files import regular_file
        from nncore.tables import read_table

        regular_file(args.csv, "the CSV file", limits.MAX_CSV_BYTES)
        table = read_table(args.csv, header=args.header, delimiter=args.delimiter)
        try:
            X = model.features_of_table(table.frame, table)
        except (KeyError, ValueError) as e:
            text = str(e.args[0] if isinstance(e, KeyError) else e)
            # a message naming the file's line already names the file: not twice
            raise ValueError(text if text.startswith(f"{Path(where).name}:")
                             else f"{where}: {text}") from None
    else:
        X = _npz_rows(args.npz)
    if X.ndim == 2 and X.size and not np.all(np.isfinite(X)):
        r, c = np.argwhere(~np.isfinite(X))[0]
        name = (model.feature_names or [])[c] if c < len(model.feature_names or []) else c
        raise ValueError(f"{where}: row {r + 1}, feature {name}: a missing or non-finite "
                         "value (the model needs every feature)")
    try:
        values = model.predict(saved.graph, X)
    except ValueError as e:
        raise ValueError(f"{where}: {e}") from None
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    if model.task == "classification":
        classes = model.classes or [str(i) for i in range(values.shape[1])]
        writer.writerow([*classes, "predicted"])
        for row, k in zip(values, values.argmax(axis=1) if len(values) else []):
            writer.writerow([*(f"{p:.9g}" for p in row), classes[int(k)]])
    else:
        width = values.shape[1] if values.ndim == 2 else 1
        writer.writerow(["predicted"] if width == 1 else
                        [f"predicted_{i + 1}" for i in range(width)])
        for row in values.reshape(len(values), width):
            writer.writerow([f"{v:.9g}" for v in row])
    if args.out:
        atomic_write(args.out, text.getvalue())
        what = (f"{len(values)} predictions ({len(model.classes or [])} class probabilities "
                "and the predicted class)" if model.task == "classification" else
                f"{len(values)} predicted values")
        print(f"wrote {args.out}: {what}", file=out)
    else:
        out.write(text.getvalue())
    return 0


def _npz_rows(path: str) -> np.ndarray:
    """The array ``X`` (or the only array) of an NPZ file, read without pickle."""
    from nncore import limits
    from nncore.files import check_npz, regular_file

    regular_file(path, "the NPZ file", limits.MAX_NPZ_BYTES)
    check_npz(path, "the NPZ file", limits.MAX_NPZ_BYTES, limits.MAX_ARRAY_VALUES)
    try:
        with np.load(path, allow_pickle=False) as f:
            names = list(f.files)
            name = "X" if "X" in names else names[0] if len(names) == 1 else None
            if name is None:
                raise ValueError(f"{path}: no array X (it holds {', '.join(names)})")
            X = f[name]
    except (OSError, EOFError, AttributeError) as e:
        raise ValueError(f"{path}: not a readable .npz file ({e})") from None
    if X.dtype.kind not in "fiub":
        raise ValueError(f"{path}: X holds {X.dtype} values, not numbers")
    return X.astype(np.float32)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``nncore`` command. Returns the process exit code: 0 on
    success, 1 for a bad file, data, graph or a training failure (one line on standard
    error, never a traceback), 2 for bad arguments."""
    from nncore.training import TrainingError

    args = build_parser().parse_args(argv)
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if args.command == "demo":
                from threadpoolctl import threadpool_limits

                with threadpool_limits(args.threads):
                    demo(args)
            elif args.command == "check":
                return check(args)
            elif args.command == "train":
                return train(args)
            elif args.command == "predict":
                return predict(args)
            elif args.command == "export":
                from nncore.export.command import export_command
                return export_command(args)
    except TrainingError as e:
        print(f"nncore {args.command}: training stopped: {e}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # e.g. `nncore demo | head`
        sys.stderr.close()
        return 0
    except (ValueError, OSError) as e:  # bad files, data, settings, graphs: one line
        print(f"nncore {args.command}: error: {e}", file=sys.stderr)
        return 1
    except (MemoryError, RecursionError) as e:  # the limits (nncore.limits) should prevent it
        what = "memory" if isinstance(e, MemoryError) else "stack"
        print(f"nncore {args.command}: error: out of {what} ({type(e).__name__}: "
              f"{str(e)[:200]})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
