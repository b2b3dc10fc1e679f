"""What crosses from the training worker's thread to the GUI thread: one frozen record
type per signal of :class:`~app.training.worker.TrainingWorker`.

Each record is made in the worker thread from data the worker no longer touches (copies
of arrays), so the GUI thread reads it without a lock.

=================  ===========================  ==========================================
signal             record                       when
=================  ===========================  ==========================================
``run_started``    :class:`RunInfo`             the data is loaded and the model built
``batches``        :class:`BatchRecords`        at most every ``EMIT_INTERVAL`` seconds
``epochs``         a list of :class:`EpochRecord`  with the batches, after each epoch
``finished``       :class:`RunResult`           the run ended (finished or stopped)
``failed``         (message, node name)         the run failed
=================  ===========================  ==========================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nncore.confusion import ConfusionSummary

__all__ = ["RunInfo", "BatchRecords", "EpochRecord", "RunResult"]


@dataclass(frozen=True)
class RunInfo:
    """A run is about to train.

    Attributes:
        task: ``"classification"`` or ``"regression"``.
        classes: the class names (None for regression).
        parameters: every parameter's display name (``"Dense 2.weight"``).
        node_params: parameter display name -> its node's display name.
        points: for 2-D classification data, (X float32 (n, 2), y int64 (n,)) for the
            decision boundary plot; else None.
        batches: minibatches per epoch.
        epochs: epochs of the run so far plus those asked for (the progress' total).
        continuing: the run continues an earlier model (same project, data, settings).
    """

    task: str
    classes: list[str] | None
    parameters: list[str]
    node_params: dict[str, str]
    points: tuple[np.ndarray, np.ndarray] | None
    batches: int
    epochs: int
    continuing: bool


@dataclass(frozen=True)
class BatchRecords:
    """The batches trained since the last emit.

    Attributes:
        step, loss, lr: float64 arrays (n,): global step, minibatch loss, learning rate.
        grad_norms: parameter display name -> float64 array of its gradient L2 norms.
        progress: ``epoch``, ``batch``, ``batches``, ``epochs`` and, when known,
            ``samples_per_s`` and ``eta_s`` (seconds; NaN when unknown).
        warning: a warning that arose in these batches (the loss is diverging), or "".
        flow: the latest :class:`nncore.training.GradientFlow` measured in these
            batches (only while :meth:`TrainingWorker.set_flow` is on), or None.
    """

    step: np.ndarray
    loss: np.ndarray
    lr: np.ndarray
    grad_norms: dict[str, np.ndarray]
    progress: dict[str, float]
    warning: str = ""
    flow: Any = None


@dataclass(frozen=True)
class EpochRecord:
    """One epoch's figures.

    Attributes:
        logs: the epoch's metrics (``loss``, ``val_loss``, ``accuracy``, ``lr``, ``time``...).
        hist_epoch: the epoch number when histograms were recorded, else None.
        activation_hist, weight_hist: node output / parameter display name -> its
            histogram (edges, counts) for that epoch.
        unit_stats: node display name -> its unit figure (``{"dead": 0.1}``).
        confusion: the validation confusion matrix, cut to at most
            :data:`~nncore.confusion.MAX_SHOWN_CLASSES` classes with the rest
            summed as "other" (a :class:`~nncore.confusion.ConfusionSummary`:
            bounded whatever the number of classes), or None.
        per_class: float64 validation accuracy of the classes in ``confusion``
            (``confusion.recall``), or None.
        boundary: the decision boundary on a grid (2-D data), or None.
    """

    logs: dict[str, float]
    hist_epoch: int | None = None
    activation_hist: dict[str, Any] = field(default_factory=dict)
    weight_hist: dict[str, Any] = field(default_factory=dict)
    unit_stats: dict[str, dict[str, float]] = field(default_factory=dict)
    confusion: ConfusionSummary | None = None
    per_class: np.ndarray | None = None
    boundary: dict[str, Any] | None = None


@dataclass(frozen=True)
class RunResult:
    """How a run ended.

    Attributes:
        status: ``"finished"`` or ``"stopped"`` (by Stop or early stopping).
        best_epoch, stopped_epoch: from early stopping (0 without it).
        restored: the best epoch's weights were restored.
        val: the final validation metrics ({} without validation data).
        seconds: training time; samples_per_s: the mean speed.
    """

    status: str
    best_epoch: int
    stopped_epoch: int
    restored: bool
    val: dict[str, float]
    seconds: float
    samples_per_s: float
