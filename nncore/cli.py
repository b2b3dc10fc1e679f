"""The ``nncore`` command (also ``python -m nncore``).

``nncore demo`` trains a small MLP (Linear - BatchNorm1d - activation - Linear) on a real
built-in dataset (scikit-learn's handwritten digits by default) and prints the metrics
of every epoch. Later subcommands (check, train, export) will work on saved canvas
graphs.

Exit codes: 0 on success, 1 when training fails (e.g. the loss becomes NaN), 2 for bad
arguments (argparse's convention).
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Callable, Sequence, TextIO

import numpy as np

__all__ = ["main", "build_parser", "demo"]

OPTIMIZERS = ("sgd", "momentum", "adagrad", "rmsprop", "adadelta", "adam", "adamw")
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
        "dataset (80%% training, 20%% validation, stratified, standardized with the "
        "training statistics) and print the metrics of every epoch.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    demo_p.add_argument("--dataset", default="digits", choices=DATASETS)
    demo_p.add_argument("--hidden", type=_number_type("--hidden", 1, integer=True),
                        default=128, help="hidden units")
    demo_p.add_argument("--activation", default="relu", choices=ACTIVATIONS)
    demo_p.add_argument("--no-batchnorm", action="store_true", help="leave out BatchNorm1d")
    demo_p.add_argument("--optimizer", default="adam", choices=OPTIMIZERS,
                        help="'momentum' is SGD with momentum 0.9")
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
    return parser


def _make_optimizer(args: argparse.Namespace, model) -> object:
    from nncore import optim

    kind = args.optimizer
    cls = {"sgd": optim.SGD, "momentum": optim.SGD, "adagrad": optim.Adagrad,
           "rmsprop": optim.RMSprop, "adadelta": optim.Adadelta, "adam": optim.Adam,
           "adamw": optim.AdamW}[kind]
    kwargs: dict[str, float] = {}
    lr = args.lr if args.lr is not None else DEMO_LR.get(kind)
    if lr is not None:
        kwargs["lr"] = lr
    if kind == "momentum":
        kwargs["momentum"] = 0.9
    weight_decay = args.weight_decay
    if weight_decay is None:
        weight_decay = 0.01 if kind == "adamw" else 0.0
    groups = optim.param_groups_for_weight_decay(model, weight_decay)
    return cls(groups, **kwargs)


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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``nncore`` command. Returns the process exit code."""
    from nncore.training import TrainingError

    args = build_parser().parse_args(argv)
    try:
        if args.command == "demo":
            with np.errstate(over="ignore", invalid="ignore"):  # reported as TrainingError
                demo(args)
    except TrainingError as e:
        print(f"nncore {args.command}: training stopped: {e}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # e.g. `nncore demo | head`
        sys.stderr.close()
        return 0
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
