"""From a saved graph to a training run: data, the Input node, model, optimizer, trainer.

:class:`TrainingRun` is what ``nncore train`` and the application's training worker
share: it loads the dataset the settings name, splits and standardizes it, makes the
Input node match the data (features, task, classes), compiles the graph with the seed,
and builds the optimizer, schedule, early stopping and :class:`~nncore.training.Trainer`.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from nncore.data import Dataset, Split, SplitWarning, load_csv, load_dataset, load_npz, split
from nncore.graph.compile import CompiledGraph, compile_graph
from nncore.graph.model import Graph, GraphError
from nncore.graph.settings import DatasetSettings, SettingsError, TrainingSettings

__all__ = ["TrainingRun", "load_data", "load_data_cached", "fit_input_to_data",
           "dataset_for_graph", "training_problems"]


def load_data(settings: DatasetSettings, base_dir: str | os.PathLike | None = None) -> Dataset:
    """Load the dataset ``settings`` describe.

    A relative CSV/NPZ path is taken relative to ``base_dir`` (the graph file's folder).
    For a CSV with a saved label mapping (``settings.classes``), class indices follow
    that mapping, so they mean what they meant when the project was saved.

    Raises:
        ValueError (nncore.data.DataFileError among them): for a dataset that cannot be
            loaded, naming the file, line and column or the option at fault; or labels
            the saved mapping does not know.
    """
    if settings.source == "builtin":
        return load_dataset(settings.name, **settings.options)
    path = Path(settings.path or "")
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    if path.is_dir():
        raise ValueError(f"{path}: is a folder, not a data file (the dataset of this project)")
    if not path.is_file():
        raise ValueError(f"{path}: no such file (the dataset of this project)")
    if settings.source == "npz":
        data = load_npz(path, task=settings.task)
    else:
        data = load_csv(path, target=settings.target, task=settings.task,
                        delimiter=settings.delimiter)
    if settings.classes and data.classes is not None and data.classes != settings.classes:
        unknown = [c for c in data.classes if c not in settings.classes]
        if unknown:
            raise ValueError(f"{path}: labels {unknown} are not in the project's classes "
                             f"{settings.classes}")
        remap = np.array([settings.classes.index(c) for c in data.classes], dtype=np.int64)
        data = Dataset(data.X, remap[data.y], data.name, list(settings.classes),
                       data.feature_names, data.origin)
    return data


def dataset_for_graph(settings: DatasetSettings, graph: Graph) -> DatasetSettings:
    """``settings`` with the task of a CSV/NPZ file decided by the graph when the settings
    leave it open: a graph ending in MSE wants numeric targets, so whole-number targets
    (ages, counts) are read as values, not classes."""
    if settings.source == "builtin" or settings.task is not None:
        return settings
    if any(n.type_id == "mse" for n in graph.nodes):
        return replace(settings, task="regression")
    return settings


_DATA_CACHE: dict[str, Dataset] = {}


def load_data_cached(settings: DatasetSettings,
                     base_dir: str | os.PathLike | None = None) -> Dataset:
    """:func:`load_data`, remembered per settings (and the file's modification time):
    the inspector and the training panel ask often. Treat the result as read-only."""
    import json

    stamp = None
    if settings.source != "builtin":
        path = Path(settings.path or "")
        if not path.is_absolute() and base_dir is not None:
            path = Path(base_dir) / path
        stamp = (str(path), path.stat().st_mtime if path.is_file() else None)
    key = json.dumps([settings.to_dict(), stamp], sort_keys=True, default=str)
    data = _DATA_CACHE.get(key)
    if data is None:
        if len(_DATA_CACHE) > 8:
            _DATA_CACHE.clear()
        data = _DATA_CACHE[key] = load_data(settings, base_dir)
    return data


def training_problems(graph: Graph, base_dir: str | os.PathLike | None = None
                      ) -> tuple[str | None, list[tuple[str | None, str]]]:
    """What would stop training this graph on its project's dataset.

    The graph is checked as training would run it: on a copy whose Input node has been
    matched to the dataset (features, task, classes), so a "ready" verdict is true for
    the data (a last Dense with 2 units is a problem for the 10 digit classes).

    Returns:
        (a one-line description of the dataset, or None if it cannot be loaded; the
        problems as (node id or None, text)). A dataset that cannot be loaded is itself
        a problem.
    """
    trial = Graph()
    trial.replace_with(graph)
    try:
        ds = dataset_for_graph(DatasetSettings.from_dict(graph.settings.get("dataset")), graph)
        data = load_data_cached(ds, base_dir)
    except (ValueError, OSError) as e:
        return None, [*trial.analysis().problems, (None, f"dataset: {e}")]
    fit_input_to_data(trial, data)
    what = (f"{data.num_classes} classes" if data.task == "classification"
            else f"{data.n_outputs} target{'s' if data.n_outputs != 1 else ''} (regression)")
    description = (f"{data.name}: {data.n_samples} samples, {data.n_features} features, "
                   f"{what}")
    return description, list(trial.analysis().problems)


def fit_input_to_data(graph: Graph, data: Dataset | Split) -> list[str]:
    """Set the Input node's features, task, classes and targets to the data's (an
    ordinary, validated edit: views are told). Returns what changed, as text."""
    inputs = [n for n in graph.nodes if n.type_id == "input"]
    if len(inputs) != 1:
        return []
    node = inputs[0]
    if isinstance(data, Split):
        features, task = data.X_train.shape[1], data.task
        classes, outputs = data.num_classes, (data.y_train.shape[1] if data.task == "regression" else 1)
    else:
        features, task, classes, outputs = data.n_features, data.task, data.num_classes, data.n_outputs
    wanted: dict[str, Any] = {"features": features, "task": task}
    if task == "classification":
        wanted["classes"] = classes
    else:
        wanted["targets"] = outputs
    changes = {k: v for k, v in wanted.items() if node.params[k] != v}
    if changes:
        graph.set_params(node.id, changes)
    return [f"{node.name}.{k} = {v}" for k, v in changes.items()]


class TrainingRun:
    """Everything needed to train one graph on its dataset.

    Args:
        graph: the network (its Input node is adapted to the data).
        dataset: dataset settings (default: the graph's).
        training: training settings (default: the graph's).
        base_dir: folder for relative data paths (the graph file's).
        callbacks: extra :class:`~nncore.training.Callback` s.
        trainer_options: extra keyword arguments for the Trainer (e.g. recording flags).

    The graph's settings become the ones used (so that saving the graph afterwards saves
    them, with the label mapping of a CSV/NPZ dataset).

    Attributes:
        data, split: the dataset and its (standardized) split.
        model: the :class:`~nncore.graph.compile.CompiledGraph`.
        optimizer, scheduler, early_stopping, trainer: as built from the settings.
        input_changes: what :func:`fit_input_to_data` changed in the graph.

    Raises:
        ValueError: for data that cannot be loaded or split.
        SettingsError: for invalid settings.
        GraphError: for a graph that cannot be trained (names the node).
    """

    def __init__(self, graph: Graph, dataset: DatasetSettings | None = None,
                 training: TrainingSettings | None = None,
                 base_dir: str | os.PathLike | None = None,
                 callbacks: Sequence[Any] = (), **trainer_options: Any) -> None:
        from nncore.training import Trainer

        self.graph = graph
        self.dataset_settings = dataset or DatasetSettings.from_dict(graph.settings.get("dataset"))
        self.settings = training or TrainingSettings.from_dict(graph.settings.get("training"))
        self.data = load_data(dataset_for_graph(self.dataset_settings, graph), base_dir)
        ds = self.dataset_settings
        with warnings.catch_warnings():  # reported through split.warning instead
            warnings.simplefilter("ignore", SplitWarning)
            parts = split(self.data, val_fraction=ds.val_fraction,
                          test_fraction=ds.test_fraction, seed=ds.seed)
        self.split = parts.standardized() if ds.standardize else parts
        self.input_changes = fit_input_to_data(graph, self.data)
        if self.data.classes is not None and self.dataset_settings.source != "builtin" \
                and self.dataset_settings.classes != self.data.classes:
            # The label mapping belongs to the project: saved with it, so that class i
            # means the same class when the file is loaded again (reference case R14).
            self.dataset_settings = replace(self.dataset_settings,
                                            classes=list(self.data.classes))
        graph.set_settings({**graph.settings, "dataset": self.dataset_settings.to_dict(),
                            "training": self.settings.to_dict()})
        rng = np.random.default_rng(self.settings.seed)
        self.model: CompiledGraph = compile_graph(graph, rng)
        s = self.settings
        if not any(True for _ in self.model.parameters()):
            raise GraphError("the network has nothing to train: no node has weights (add "
                             "a Dense layer between the Input and the loss)")
        self.optimizer = s.make_optimizer(self.model)
        self.scheduler = s.make_scheduler(self.optimizer)
        self.early_stopping = s.make_early_stopping()
        if self.early_stopping is not None and len(self.split.y_val) == 0 and \
                self.early_stopping.monitor.startswith("val_"):
            raise SettingsError("training.early_stopping monitors "
                                f"{self.early_stopping.monitor!r} but dataset.val_fraction is 0")
        extra = [self.early_stopping] if self.early_stopping is not None else []
        self.trainer = Trainer(self.model, self.model.loss, self.optimizer,
                               batch_size=s.batch_size, scheduler=self.scheduler,
                               callbacks=[*callbacks, *extra], max_grad_norm=s.max_grad_norm,
                               classification=self.model.task == "classification",
                               num_classes=self.model.num_classes or None,
                               generator=rng, **trainer_options)

    @property
    def validation(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The validation part, or None when there is none."""
        if len(self.split.y_val) == 0:
            return None
        return self.split.X_val, self.split.y_val

    def fit(self, epochs: int | None = None) -> list[dict[str, float]]:
        """Train for ``epochs`` (default: the settings') epochs; returns the history."""
        return self.trainer.fit(self.split.X_train, self.split.y_train,
                                self.settings.epochs if epochs is None else epochs,
                                validation=self.validation)

    def evaluate(self, part: str = "val") -> dict[str, float]:
        """Loss and accuracy (or regression metrics) on ``"train"``, ``"val"`` or
        ``"test"``."""
        X, y = getattr(self.split, f"X_{part}"), getattr(self.split, f"y_{part}")
        return self.trainer.evaluate(X, y)
