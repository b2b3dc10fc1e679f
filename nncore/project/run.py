"""From a project to a training run: data, model, optimizer, trainer.

:class:`TrainingRun` is what ``nncore train`` and the application's training worker
share: it loads the dataset the settings name (:mod:`nncore.project.data`), splits and
standardizes it, compiles the graph for the data's shape with the seed, and builds the
optimizer, schedule, early stopping and :class:`~nncore.training.Trainer`.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import replace
from typing import Any, Sequence

import numpy as np

from nncore.data import SplitWarning, split
from nncore.graph.compile import CompiledGraph, compile_graph
from nncore.graph.model import Graph, GraphError
from nncore.project.settings import DatasetSettings, SettingsError, TrainingSettings
from nncore.project.data import data_shape, dataset_for_graph, load_data
from nncore.project.project import memory_problem

__all__ = ["TrainingRun"]


class TrainingRun:
    """Everything needed to train one graph on its dataset.

    Args:
        graph: the network; the run works on its own copy (the caller's graph is never
            changed: edits made while it trains are the next run's).
        dataset: dataset settings (default: the graph's).
        training: training settings (default: the graph's).
        base_dir: folder for relative data paths (the graph file's).
        callbacks: extra :class:`~nncore.training.Callback` s.
        trainer_options: extra keyword arguments for the Trainer (e.g. recording flags).

    Attributes:
        graph: the run's copy of the network, with the settings used (and the label
            mapping of a CSV/NPZ dataset, so that saving it keeps class i the same
            class: reference case R14).
        dataset_settings, settings: the dataset and training settings used.
        data, split: the dataset and its (standardized) split.
        shape: the data's :class:`~nncore.graph.shapes.DataShape` (what the Input has).
        model: the :class:`~nncore.graph.compile.CompiledGraph`.
        optimizer, scheduler, early_stopping, trainer: as built from the settings.

    Raises:
        ValueError: for data that cannot be loaded or split.
        SettingsError: for invalid settings.
        GraphError: for a graph that cannot be trained (names the node), or that would
            need more memory than the machine has available
            (:func:`~nncore.project.project.memory_problem`).
    """

    def __init__(self, graph: Graph, dataset: DatasetSettings | None = None,
                 training: TrainingSettings | None = None,
                 base_dir: str | os.PathLike | None = None,
                 callbacks: Sequence[Any] = (), **trainer_options: Any) -> None:
        from nncore.training import Trainer

        self.graph = Graph()
        self.graph.replace_with(graph)
        graph = self.graph
        self.dataset_settings = dataset or DatasetSettings.from_dict(graph.settings.get("dataset"))
        self.settings = training or TrainingSettings.from_dict(graph.settings.get("training"))
        self.data = load_data(dataset_for_graph(self.dataset_settings, graph), base_dir)
        ds = self.dataset_settings
        with warnings.catch_warnings():  # reported through split.warning instead
            warnings.simplefilter("ignore", SplitWarning)
            parts = split(self.data, val_fraction=ds.val_fraction,
                          test_fraction=ds.test_fraction, seed=ds.seed)
        self.split = parts.standardized() if ds.standardize else parts
        self.shape = data_shape(self.data)
        if self.data.classes is not None and self.dataset_settings.source != "builtin" \
                and self.dataset_settings.classes != self.data.classes:
            # The label mapping belongs to the project: saved with it, so that class i
            # means the same class when the file is loaded again (reference case R14).
            self.dataset_settings = replace(self.dataset_settings,
                                            classes=list(self.data.classes))
        graph.set_settings({**graph.settings, "dataset": self.dataset_settings.to_dict(),
                            "training": self.settings.to_dict()})
        memory = memory_problem(graph, graph.analysis(self.shape), self.settings.batch_size,
                                self.data.n_samples)
        if memory is not None:  # refused before the weights are made
            raise GraphError(memory[1], memory[0])
        rng = np.random.default_rng(self.settings.seed)
        self.model: CompiledGraph = compile_graph(graph, self.shape, rng)
        s = self.settings
        small = self.model.too_small_batch(s.batch_size)
        if small is not None:
            ntype = self.model.node_types[small]
            raise GraphError(f"{self.model.node_names[small]}: {ntype.display_name} needs at "
                             f"least {ntype.min_batch} samples per batch in training, but "
                             f"training.batch_size is {s.batch_size}", small)
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

    def predict_proba(self, X: Any, batch_size: int = 1024) -> np.ndarray:
        """The trained model on *raw* features (as the data file has them: the digits'
        pixels 0..16), through the run's own preprocessing (:meth:`Split.transform
        <nncore.data.Split.transform>`: the training part's standardization, when on)
        and in evaluation mode (BatchNorm's running statistics, no Dropout; the mode is
        restored), as :meth:`~nncore.training.Trainer.evaluate` computes the metrics.

        Shapes: X ``(N, *features)`` or one sample ``features`` (made ``(1, ...)``).

        Returns:
            a classifier's class probabilities ``(N, classes)`` (float64, rows summing
            to 1, :meth:`~nncore.graph.compile.CompiledGraph.probabilities`), or a
            regression's predicted values ``(N, targets)`` (the model's dtype).

        Raises:
            ValueError: for rows that are not of the features' shape (naming both).
        """
        from nncore.tensor import Tensor, no_grad

        model = self.model
        X = np.asarray(X, dtype=self.split.X_train.dtype)
        if X.shape == tuple(model.features):
            X = X[None]
        X = model._check(self.split.transform(X)).data
        was = model.training
        model.eval()
        try:
            with no_grad():
                out = [model(Tensor(X[s:s + batch_size])).data
                       for s in range(0, len(X), batch_size)]
        finally:
            model.train(was)
        width = max(model.num_classes or 0, 1) if model.task == "classification" else None
        if not out:
            return np.zeros((0, width or 1), np.float64)
        out_all = np.concatenate(out)
        if model.task == "classification":
            return model.probabilities(out_all)
        return model.predictions(out_all)

    def evaluate(self, part: str = "val") -> dict[str, float]:
        """Loss and accuracy (or regression metrics) on ``"train"``, ``"val"`` or
        ``"test"``."""
        X, y = getattr(self.split, f"X_{part}"), getattr(self.split, f"y_{part}")
        return self.trainer.evaluate(X, y)
