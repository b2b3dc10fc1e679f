"""The ``nncore`` command.

``nncore demo`` trains a small MLP with batch normalization on a real built-in dataset
(scikit-learn's handwritten digits by default) and prints the metrics of every epoch.
Later subcommands (check, train, export) work on saved canvas graphs.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

import numpy as np

__all__ = ["main", "build_parser", "demo"]

OPTIMIZERS = ("sgd", "momentum", "adagrad", "rmsprop", "adadelta", "adam", "adamw")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``nncore`` command."""
    parser = argparse.ArgumentParser(prog="nncore", description="NN Canvas engine: train "
                                     "neural networks with a NumPy backpropagation core.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo_p = sub.add_parser("demo", help="train an MLP on a built-in dataset and print progress")
    demo_p.add_argument("--dataset", default="digits",
                        choices=("digits", "iris", "wine", "breast_cancer"))
    demo_p.add_argument("--hidden", type=int, default=128, help="hidden units (default 128)")
    demo_p.add_argument("--activation", default="relu",
                        choices=("relu", "leaky_relu", "sigmoid", "tanh"))
    demo_p.add_argument("--no-batchnorm", action="store_true", help="leave out BatchNorm1d")
    demo_p.add_argument("--optimizer", default="adam", choices=OPTIMIZERS)
    demo_p.add_argument("--lr", type=float, default=None,
                        help="learning rate (default: the optimizer's PyTorch default; 0.1 for SGD)")
    demo_p.add_argument("--weight-decay", type=float, default=0.0)
    demo_p.add_argument("--epochs", type=int, default=20)
    demo_p.add_argument("--batch-size", type=int, default=32)
    demo_p.add_argument("--patience", type=int, default=None,
                        help="early stopping on validation loss with this patience")
    demo_p.add_argument("--seed", type=int, default=0)
    return parser


def _positive(value: int, name: str) -> None:
    if value < 1:
        raise SystemExit(f"nncore demo: --{name} must be at least 1, got {value}")


def demo(args: argparse.Namespace, out=sys.stdout) -> list[dict[str, float]]:
    """Train the demo network described by ``args``; print and return the history."""
    from sklearn.model_selection import train_test_split

    from nncore import nn, optim
    from nncore import functional as F
    from nncore.data import load_builtin, standardize
    from nncore.training import Callback, EarlyStopping, Trainer

    for name in ("hidden", "epochs", "batch_size"):
        _positive(getattr(args, name), name.replace("_", "-"))
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

    groups = optim.param_groups_for_weight_decay(model, args.weight_decay)
    kind = args.optimizer
    lr_default = {"sgd": 0.1, "momentum": 0.05}.get(kind)
    kwargs = {} if args.lr is None and lr_default is None else {"lr": args.lr or lr_default}
    if kind in ("sgd", "momentum"):
        opt = optim.SGD(groups, momentum=0.9 if kind == "momentum" else 0.0, **kwargs)
    else:
        cls = {"adagrad": optim.Adagrad, "rmsprop": optim.RMSprop, "adadelta": optim.Adadelta,
               "adam": optim.Adam, "adamw": optim.AdamW}[kind]
        opt = cls(groups, **kwargs)
    callbacks = [EarlyStopping(patience=args.patience)] if args.patience is not None else []

    print(f"{data.name}: {len(X_tr)} training and {len(X_val)} validation samples, "
          f"{X_tr.shape[1]} features, {data.num_classes} classes", file=out)
    print(model, file=out)
    print(f"{model.num_parameters()} parameters; optimizer {type(opt).__name__} "
          f"lr={opt.param_groups[0]['lr']}", file=out)
    print(f"{'epoch':>5} {'loss':>8} {'acc':>7} {'val_loss':>9} {'val_acc':>8} {'time':>7}",
          file=out)

    class _Printer(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            print(f"{epoch:5d} {logs['loss']:8.4f} {logs['accuracy']:7.2%} "
                  f"{logs['val_loss']:9.4f} {logs['val_accuracy']:8.2%} "
                  f"{logs['time'] * 1000:5.0f}ms", file=out, flush=True)

    trainer = Trainer(model, F.cross_entropy, opt, batch_size=args.batch_size,
                      callbacks=[_Printer(), *callbacks], generator=rng)
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
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        demo(args)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
