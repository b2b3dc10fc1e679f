"""``nncore export PROJECT.json --format pytorch|numpy|onnx -o OUT``.

The export needs trained weights: the project's saved model when it holds one
(:func:`nncore.project.load_project`; ``--retrain`` ignores it), otherwise the
project's settings are trained first, for its epochs or ``--epochs N``, and that run
is exported. The first line says which.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from nncore.export.plan import FORMATS

__all__ = ["add_parser", "export_command"]


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """The ``export`` subcommand's parser."""
    p = sub.add_parser(
        "export", help="export a project's trained network to PyTorch, NumPy or ONNX",
        description="Export the trained network of PROJECT.json: a standalone PyTorch "
        "script (model, preprocessing, training loop, torchrun) with its weights, a "
        "standalone NumPy inference script with its weights, or an ONNX model. Every export "
        "takes the raw features. Uses the project's saved weights; without them, trains the "
        "project first (its epochs, or --epochs).")
    p.add_argument("graph", metavar="PROJECT.json")
    p.add_argument("--format", required=True, choices=FORMATS, help="what to write")
    p.add_argument("-o", "--out", required=True, metavar="OUT",
                   help="the script (.py) or model (.onnx) to write; weights go beside it")
    p.add_argument("--epochs", type=int, metavar="N", help="train N epochs when the project "
                   "holds no weights (default: the project's epochs)")
    p.add_argument("--retrain", action="store_true",
                   help="train the project afresh even if it holds trained weights")
    return p


def _raw_split(graph, base):  # type: ignore[no-untyped-def]
    import warnings

    from nncore.data import SplitWarning, split
    from nncore.project.data import dataset_for_graph, load_data
    from nncore.project.settings import DatasetSettings

    ds = dataset_for_graph(DatasetSettings.from_dict(graph.settings.get("dataset")), graph)
    data = load_data(ds, base)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SplitWarning)
        parts = split(data, val_fraction=ds.val_fraction, test_fraction=ds.test_fraction,
                      seed=ds.seed)
    return {k: getattr(parts, k) for k in ("X_train", "y_train", "X_val", "y_val", "X_test",
                                           "y_test")}


def export_command(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Run ``nncore export``; returns 0.

    Raises:
        ValueError: for a project that cannot be read, trained or exported (naming the
            node, setting or file), or a missing ``onnx`` package.
    """
    from nncore.export import export
    from nncore.export.plan import plan_from_run, plan_from_saved
    from nncore.project.saved import load_project

    out = sys.stdout if out is None else out
    if args.epochs is not None and args.epochs < 1:
        raise ValueError(f"--epochs must be at least 1, got {args.epochs}")
    path = Path(args.graph)
    base = path.parent
    project = load_project(path)
    model = project.model
    if model is not None and model.shape is not None and not args.retrain:
        plan = plan_from_saved(project.graph, model, _raw_split(project.graph, base))
        said = (f"{path}: exporting its saved weights ({model.epoch} epochs"
                + "".join(f", {k} {v:.4g}" for k, v in list(model.metrics.items())[:1]) + ")")
    else:
        from nncore.project import TrainingRun

        why = ("--retrain" if args.retrain and model is not None else
               f"its saved weights cannot be used ({project.problem})" if project.problem else
               "its weights have no preprocessing" if model is not None else
               "it holds no trained weights")
        run = TrainingRun(project.graph, base_dir=base)
        epochs = args.epochs or run.settings.epochs
        print(f"{path}: {why}: training {epochs} epochs with its settings, then exporting "
              "that run", file=out, flush=True)
        history = run.fit(epochs)
        plan = plan_from_run(run)
        last = history[-1] if history else {}
        said = (f"trained {len(history)} epochs" + (f", val_loss {last['val_loss']:.4g}"
                                                    if "val_loss" in last else ""))
    try:
        files = export(plan, args.format, args.out)
    except ImportError as e:
        raise ValueError(f"the {args.format} export needs the {e.name} package "
                         f"(pip install {e.name})") from None
    print(f"{said}; wrote " + ", ".join(str(f) for f in files), file=out)
    return 0
