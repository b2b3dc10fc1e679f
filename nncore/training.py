"""Training loops, callbacks, records for live plots, and checkpoints.

:class:`Trainer` runs epochs of shuffled minibatches with any optimizer (and optional
learning-rate scheduler), computes training and validation metrics per epoch, and calls
:class:`Callback` s; :class:`EarlyStopping` is one of them.

For a GUI that runs the trainer in a worker thread and plots what happens:

* after every optimizer step, callbacks get a small :class:`StepRecord` (loss, learning
  rate and, with ``record_grad_norms=True``, the gradient norm of every parameter);
* after every epoch, an :class:`EpochRecord` (the metrics, the validation confusion
  matrix and, with ``record_histograms=True``, histograms of every parameter and of every
  node's activations on a fixed probe batch, with bin edges fixed for the whole run);
* :meth:`Trainer.request_stop`, :meth:`Trainer.pause` and :meth:`Trainer.resume` may be
  called from another thread; they take effect between batches;
* :meth:`Trainer.save_checkpoint` / :meth:`Trainer.load_checkpoint` save and resume
  training exactly (weights, buffers, optimizer and scheduler state, history, early
  stopping, random generators) in one ``.npz`` file, without pickle.

Records hold copies, never views of arrays that training goes on changing. Metrics
live in :mod:`nncore.metrics` (``accuracy`` is re-exported here).
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from nncore.data import minibatches
from nncore.files import save_arrays
from nncore.metrics import (Histogram, _pair, _r2_from_sums, _recall, accuracy, computed_metrics,
                            confusion_matrix, direction, histogram, mse, nice_edges,
                            r2_score)
from nncore.nn import clip_grad_norm_
from nncore.random import default_generator
from nncore.tensor import Tensor, no_grad

__all__ = [
    "Callback", "EarlyStopping", "Trainer", "TrainingError", "CheckpointError",
    "StepRecord", "EpochRecord", "Divergence", "checkpoint_info", "accuracy",
    "CHECKPOINT_VERSION", "DIVERGENCE_FACTOR",
]

#: A run is reported as diverging when a batch loss exceeds this many times its first
#: batch loss (``Trainer(divergence_factor=...)``).
DIVERGENCE_FACTOR = 1000.0

#: Format version written into checkpoints; loading refuses newer versions.
CHECKPOINT_VERSION = 1
_CHECKPOINT_FORMAT = "nncore-checkpoint"
_META = "__meta__"


#: The ways a Trainer chooses histogram bin edges (see ``Trainer(histogram_edges=...)``).
HISTOGRAM_EDGES = ("fixed", "per_epoch")


class TrainingError(RuntimeError):
    """Training cannot go on (e.g. the loss became NaN or infinite); the message says
    at which epoch and batch, and where the non-finite values first appeared.

    Attributes (None when not known):
        epoch, batch: where it happened (1-based).
        node: the name of the first node (sub-module, e.g. ``"1"``) whose output held
            NaN or infinity on the failing batch.
        parameters: names of parameters that already held NaN or infinity (a tuple).
    """

    def __init__(self, message: str, *, epoch: int | None = None, batch: int | None = None,
                 node: str | None = None, parameters: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.epoch, self.batch, self.node = epoch, batch, node
        self.parameters = tuple(parameters)


class CheckpointError(ValueError):
    """A checkpoint file cannot be written or read: not a checkpoint, corrupt, of a
    newer format, or not matching the trainer (the message names the entry)."""


# ---------------------------------------------------------------------------- records
@dataclass(frozen=True)
class StepRecord:
    """What one optimizer step did, given to :meth:`Callback.on_batch_end`.

    Attributes:
        epoch: the epoch (1-based).
        batch: the batch within the epoch (1-based).
        step: the trainer's global step count after this step (1, 2, ...; it goes on
            across ``fit`` calls and checkpoints).
        samples: the batch's number of samples.
        loss: the batch loss (a float, computed before the update).
        lr: the learning rate of the first parameter group during this step.
        grad_norms: only with ``Trainer(record_grad_norms=True)``, else None: parameter
            name -> L2 norm of its gradient, after backward and *before* clipping and the
            update (0.0 for a parameter that got no gradient). Computed in float64.
        grad_norm_total: the L2 norm of all those gradients together (as
            :func:`nncore.nn.clip_grad_norm_` measures it), or None.
    """

    epoch: int
    batch: int
    step: int
    samples: int
    loss: float
    lr: float
    grad_norms: dict[str, float] | None = None
    grad_norm_total: float | None = None


@dataclass(eq=False)
class EpochRecord:
    """What one epoch produced, kept in :attr:`Trainer.epoch_records` and given to
    :meth:`Callback.on_epoch_record`. Every array is a copy owned by the record.

    Attributes:
        epoch: the epoch (1-based).
        logs: a copy of the epoch's metrics (the history entry).
        batches: how many batches were trained in this epoch.
        complete: False if :meth:`Trainer.request_stop` cut the epoch short (its
            training metrics then cover ``batches`` batches only).
        confusion_matrix: classification with a validation split: int64 ``(K, K)`` of
            the validation set at the end of the epoch (rows = true class, columns =
            predicted; see :func:`nncore.metrics.confusion_matrix`); else None.
        per_class_accuracy: float64 ``(K,)`` recall per class from it (NaN for a class
            absent from the validation split); else None.
        param_histograms: with ``record_histograms=True`` (in the epochs
            ``histogram_freq`` picks): parameter name ->
            :class:`~nncore.metrics.Histogram` of its values; else empty.
        activation_histograms: with ``record_histograms=True`` and a model that has
            ``forward_with_activations``: node name -> histogram of its output on the
            probe batch (eval mode, no gradients), in the model's order; else empty.
        histogram_seconds: how long recording those histograms took (seconds; 0.0 in
            an epoch without them), for a caller that spaces them out by their cost.
    """

    epoch: int
    logs: dict[str, float]
    batches: int = 0
    complete: bool = True
    confusion_matrix: np.ndarray | None = None
    per_class_accuracy: np.ndarray | None = None
    param_histograms: dict[str, Histogram] = field(default_factory=dict)
    activation_histograms: dict[str, Histogram] = field(default_factory=dict)
    histogram_seconds: float = 0.0


@dataclass(frozen=True)
class Divergence:
    """A run whose loss grew far beyond its start: reported (once per trainer) while
    it trains, through :meth:`Callback.on_divergence`; training goes on.

    Attributes:
        epoch, batch: where it was first seen (1-based).
        loss: that batch's loss; reference: the trainer's first batch loss.
        factor: the threshold, ``loss > factor * reference``.
    """

    epoch: int
    batch: int
    loss: float
    reference: float
    factor: float

    @property
    def message(self) -> str:
        """One line for the user, e.g. "the loss is diverging: 2.9e+11 at epoch 2,
        batch 3, 1.2e+11 times its first value 2.3; try a smaller learning rate ..."."""
        return (f"the loss is diverging: {self.loss:.3g} at epoch {self.epoch}, batch "
                f"{self.batch}, {self.loss / self.reference:.3g} times its first value "
                f"{self.reference:.3g} (more than {self.factor:g} times); try a smaller "
                "learning rate or gradient clipping")


# ---------------------------------------------------------------------------- callbacks
class Callback:
    """Hooks called by :class:`Trainer`; subclasses override what they need.

    ``on_epoch_end`` receives the epoch number (1-based) and the epoch's metrics
    (``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``, ``lr``, ...); setting
    ``trainer.stop_training = True`` ends training after this epoch.

    Hooks run in the thread that runs :meth:`Trainer.fit`. ``on_batch_end`` is only
    called (and its record only built) when a callback overrides it, so plain training
    pays nothing for it.
    """

    def on_train_begin(self, trainer: "Trainer") -> None:
        """Called once before the first epoch."""

    def on_batch_end(self, trainer: "Trainer", record: StepRecord) -> None:
        """Called after each optimizer step with a :class:`StepRecord`."""

    def on_pause(self, trainer: "Trainer") -> None:
        """Called in the training thread when :meth:`Trainer.pause` takes hold, just
        before ``fit`` waits for :meth:`Trainer.resume` (e.g. to hand over what was
        collected so far)."""

    def on_divergence(self, trainer: "Trainer", divergence: Divergence) -> None:
        """Called once per trainer, after the batch whose loss first exceeds
        ``divergence_factor`` times the first batch loss (see :class:`Divergence`)."""

    def on_epoch_end(self, trainer: "Trainer", epoch: int, logs: dict[str, float]) -> None:
        """Called after each epoch with its metrics (``trainer.epoch_records[-1]`` is
        already this epoch's record)."""

    def on_epoch_record(self, trainer: "Trainer", record: EpochRecord) -> None:
        """Called after every callback's ``on_epoch_end`` with the epoch's
        :class:`EpochRecord`."""

    def on_train_end(self, trainer: "Trainer") -> None:
        """Called once when training ends, however it ends (epoch limit, stop, error)."""

    def state_dict(self) -> dict[str, Any] | None:
        """State to keep in a checkpoint (arrays, numbers, strings, containers), or
        None (default) for a callback without state."""
        return None

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (default: nothing to do)."""


class EarlyStopping(Callback):
    """Stop training when a monitored metric stops improving, and restore the best weights.

    An epoch improves when ``best - current > min_delta`` (mode ``"min"``) or
    ``current - best > min_delta`` (mode ``"max"``). After ``patience`` epochs in a row
    without improvement, training stops (patience 0: at the first epoch that does not
    improve). With ``restore_best_weights`` (default True) the model's parameters and
    buffers are reset to copies taken at the best epoch *whenever training ends*, also
    when the epoch limit ends it (Keras 3 does the same: its ``on_train_end`` restores
    the best weights however training ended; Keras 2 did not, keras-team/keras#12511).

    The first monitored epoch is the reference, as in Keras 3 (``keras/src/callbacks/
    early_stopping.py``): its weights are kept as the best so far, patience counts from
    it, and training never stops at it (Keras: ``epoch > 0``), so an infinite first
    value followed by finite ones does not stop training after epoch 1. A value that is
    not finite (NaN, inf) never improves and never becomes ``best``: with NaN first, a
    later finite value improves on it. (Keras 3 takes even a NaN first value as its
    reference, after which no value compares as better; here ``best`` stays at
    ``inf``/``-inf`` instead.)

    ``mode="auto"`` (the default, as Keras') takes the direction from the metric
    registry (:func:`nncore.metrics.direction`): ``val_accuracy`` and ``r2`` are
    maximized, losses and ``mse`` minimized, and a name the registry does not know
    follows Keras' name rule (``...acc``, ``...accuracy``, ``...auc`` up, anything else
    down).

    Each ``fit`` starts afresh (:meth:`reset`), except the first ``fit`` after
    :meth:`load_state_dict` (e.g. :meth:`Trainer.load_checkpoint`), which continues from
    the loaded state.

    Args:
        monitor: the metric name (default ``"val_loss"``).
        mode: ``"auto"`` (default: the metric's direction), ``"min"`` or ``"max"``. The
            attribute ``mode`` holds the direction used, ``"min"`` or ``"max"``.
        patience: epochs without improvement tolerated (default 3, as PyTorch Lightning).
        min_delta: the smallest change that counts as an improvement (default 0).
        restore_best_weights: reload the best epoch's weights at the end (default True).

    Attributes:
        best: the best value seen; ``best_epoch``: its epoch (1-based, 0 before any);
        stopped_epoch: the epoch after which it stopped training (0 if it did not).

    Raises:
        ValueError: for a bad mode, negative patience or min_delta; and (when training)
            if the logs do not contain ``monitor``.
    """

    def __init__(self, monitor: str = "val_loss", mode: str = "auto", patience: int = 3,
                 min_delta: float = 0.0, restore_best_weights: bool = True) -> None:
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'auto', 'min' or 'max', got "
                             f"{mode!r}")
        if mode == "auto":
            mode = direction(monitor)
        if isinstance(patience, bool) or not isinstance(patience, (int, np.integer)) \
                or patience < 0:
            raise ValueError(f"EarlyStopping: patience must be an integer >= 0, got {patience!r}")
        if isinstance(min_delta, (bool, str, bytes)) or not min_delta >= 0:
            raise ValueError(f"EarlyStopping: min_delta must be a number >= 0, got {min_delta!r}")
        self.monitor, self.mode = monitor, mode
        self.patience, self.min_delta = int(patience), float(min_delta)
        self.restore_best_weights = restore_best_weights
        self._continue = False
        self.reset()

    def reset(self) -> None:
        """Forget any previous run."""
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = 0
        self.stopped_epoch = 0
        self.wait = 0
        self.best_state: dict[str, np.ndarray] | None = None

    def improved(self, current: float) -> bool:
        """Whether ``current`` improves on the best value by more than ``min_delta``."""
        if not math.isfinite(current):
            return False
        if self.mode == "min":
            return self.best - current > self.min_delta
        return current - self.best > self.min_delta

    def on_train_begin(self, trainer: "Trainer") -> None:
        if self._continue:
            self._continue = False
            self.stopped_epoch = 0
        else:
            self.reset()
        names = getattr(trainer, "metric_names", None)
        if names is not None and self.monitor not in names:
            raise ValueError(self._missing_message(names))

    def _missing_message(self, names: Sequence[str]) -> str:
        return (f"EarlyStopping monitors {self.monitor!r}, but the epoch metrics are "
                f"{sorted(names)}; add a validation split or monitor another metric")

    def on_epoch_end(self, trainer: "Trainer", epoch: int, logs: dict[str, float]) -> None:
        if self.monitor not in logs:
            raise ValueError(self._missing_message(list(logs)))
        current = float(logs[self.monitor])
        if self.best_epoch == 0:  # the first monitored epoch: the reference (Keras 3)
            self.best_epoch, self.wait = epoch, 0
            if math.isfinite(current):
                self.best = current
            if self.restore_best_weights:
                self.best_state = trainer.model.state_dict()
            return
        if self.improved(current):
            self.best, self.best_epoch, self.wait = current, epoch, 0
            if self.restore_best_weights:
                self.best_state = trainer.model.state_dict()  # copies, not views
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            trainer.stop_training = True

    def on_train_end(self, trainer: "Trainer") -> None:
        if self.restore_best_weights and self.best_state is not None:
            trainer.model.load_state_dict(self.best_state)

    def state_dict(self) -> dict[str, Any]:
        """The run so far: ``monitor``, ``mode``, ``best``, ``best_epoch``,
        ``stopped_epoch``, ``wait`` and ``best_state`` (copies of the best weights, or
        None)."""
        best_state = None if self.best_state is None else {
            k: np.array(v, copy=True) for k, v in self.best_state.items()}
        return {"monitor": self.monitor, "mode": self.mode, "best": float(self.best),
                "best_epoch": int(self.best_epoch), "stopped_epoch": int(self.stopped_epoch),
                "wait": int(self.wait), "best_state": best_state}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict`; the next ``fit`` continues from it instead of
        starting afresh.

        Raises:
            ValueError: if the state is incomplete or was saved for another ``monitor``
                or ``mode``.
        """
        keys = ("monitor", "mode", "best", "best_epoch", "stopped_epoch", "wait", "best_state")
        missing = [k for k in keys if k not in state]
        if missing:
            raise ValueError(f"EarlyStopping state lacks {missing}")
        if state["monitor"] != self.monitor or state["mode"] != self.mode:
            raise ValueError(f"EarlyStopping state was saved monitoring {state['monitor']!r} "
                             f"({state['mode']}), this callback monitors {self.monitor!r} "
                             f"({self.mode})")
        best_state = state["best_state"]
        self.best = float(state["best"])
        self.best_epoch = int(state["best_epoch"])
        self.stopped_epoch = int(state["stopped_epoch"])
        self.wait = int(state["wait"])
        self.best_state = None if best_state is None else {
            k: np.array(v, copy=True) for k, v in best_state.items()}
        self._continue = True


# ---------------------------------------------------------------------------- trainer
class _RegressionSums:
    """Streaming sums for the training split's MSE and R² over an epoch's batches
    (float64; targets shifted by the first batch's mean against cancellation)."""

    def __init__(self) -> None:
        self.n = 0
        self.shift: np.ndarray | None = None
        self.sse = self.s1 = self.s2 = 0.0
        self.ok = True

    def add(self, out: np.ndarray, target: np.ndarray) -> None:
        if not self.ok:
            return
        try:
            p, t = _pair(out, target, "regression metrics")
        except (ValueError, TypeError):
            self.ok = False
            return
        p, t = p.reshape(len(p), -1), t.reshape(len(t), -1)
        if self.shift is None:
            self.shift = t.mean(axis=0)
        d = p - t
        tc = t - self.shift
        self.sse = self.sse + np.sum(d * d, axis=0)
        self.s1 = self.s1 + tc.sum(axis=0)
        self.s2 = self.s2 + np.sum(tc * tc, axis=0)
        self.n += len(t)

    def result(self) -> dict[str, float]:
        if not self.ok or self.n == 0:
            return {"mse": math.nan, "r2": math.nan}
        sse = np.asarray(self.sse)
        value = float(sse.sum() / (self.n * sse.size)) if sse.size else math.nan
        if self.n < 2:
            return {"mse": value, "r2": math.nan}
        ss_tot = np.maximum(np.asarray(self.s2) - np.asarray(self.s1) ** 2 / self.n, 0.0)
        return {"mse": value, "r2": _r2_from_sums(sse, ss_tot)}


def _regression_metrics(out: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """Validation MSE and R², NaN when outputs and targets do not pair up."""
    try:
        p, t = _pair(out, target, "regression metrics")
    except (ValueError, TypeError):
        return {"mse": math.nan, "r2": math.nan}
    p, t = p.reshape(len(p), -1), t.reshape(len(t), -1)
    return {"mse": mse(p, t), "r2": r2_score(p, t)}


class Trainer:
    """Minibatch training of a model with an optimizer, metrics, callbacks and records.

    Args:
        model: an :class:`nncore.nn.Module` mapping ``(N, features)`` to outputs. If it
            has ``forward_with_activations(x) -> (output, {name: array})`` (as
            ``nn.Sequential`` and compiled graphs do), activation histograms and the
            diagnosis of a non-finite loss name its nodes.
        loss_fn: ``loss_fn(output, target) -> 0-d Tensor`` (e.g.
            :func:`nncore.functional.cross_entropy`).
        optimizer: an :class:`nncore.optim.Optimizer` over the model's parameters.
        batch_size: samples per minibatch (default 32); a last batch of one sample is
            merged into the previous one (see :func:`nncore.data.minibatches`).
        scheduler: optional learning-rate scheduler, stepped once per epoch (a
            ``ReduceLROnPlateau`` gets its ``monitor`` metric, default the validation
            loss; without a validation part, the same metric on the training part).
        callbacks: :class:`Callback` s, called in order.
        max_grad_norm: clip the global gradient norm to this value (None: no clipping).
        classification: report accuracy, the arg-max of ``(N, C)`` outputs against class
            indices (default True), and the validation confusion matrix per epoch; False
            for regression or one-column outputs: report ``mse`` and ``r2`` (NaN when
            outputs and targets differ in shape, e.g. logits against class indices).
        generator: random source for shuffling (default: the engine's, which
            :func:`nncore.manual_seed` seeds).

    Keyword-only args:
        record_grad_norms: put every parameter's gradient norm into the
            :class:`StepRecord` s (default False: costs a pass over the gradients).
        record_histograms: histograms of parameters and activations in each
            :class:`EpochRecord` (default False).
        histogram_freq: with ``record_histograms``, record them every this many epochs
            (default 1: every epoch), and always in the first and the last epoch of a
            :meth:`fit` (Keras' TensorBoard callback has the same option). An attribute
            that may be changed between epochs, e.g. to keep the cost of histograms a
            small share of very short epochs.
        histogram_bins: bins per histogram (default 40).
        histogram_edges: how bin edges are chosen, per tensor, by
            :func:`nncore.metrics.nice_edges`: ``"fixed"`` (default) at its first
            histogram, then kept for the trainer's life (and its checkpoints), so
            histograms over epochs line up bin for bin (values that drift out of the
            first range are only counted as out of range); ``"per_epoch"`` from each
            histogram's own values, so nothing is clipped (TensorBoard re-bins every
            step and draws the union of the ranges).
        probe_size: samples in the fixed probe batch for activation histograms (default
            256): evenly spaced validation samples, or training samples without a
            validation split. Picking them draws no random numbers.
        num_classes: K for confusion matrices (default: the model's output width C).
            Give the dataset's number of classes if the model's output is wider.
        divergence_factor: report the run as diverging (:attr:`divergence`, the
            callbacks' ``on_divergence``) when a batch loss exceeds this many times the
            trainer's first batch loss (default :data:`DIVERGENCE_FACTOR`, 1000; None:
            never). Only a positive first loss is a reference. A NaN or infinite loss
            is an error instead (:class:`TrainingError`).

    Attributes:
        history: one dict of metrics per epoch (see :meth:`fit`).
        epoch_records: one :class:`EpochRecord` per epoch trained by this trainer.
        global_step: optimizer steps taken (restored from checkpoints).
        confusion_matrix, per_class_accuracy: the latest validation ones (or None).
        stopped_by_request: whether the last ``fit`` ended by :meth:`request_stop`.
        reference_loss: the first batch loss this trainer saw (None before training).
        divergence: the :class:`Divergence` once reported, else None.
        last_step: the latest :class:`StepRecord` (only built when a callback takes
            ``on_batch_end`` or ``record_grad_norms`` is on; else None).

    Raises:
        TypeError, ValueError: for a batch size that is not a positive integer, a
            ``max_grad_norm`` that is not positive, or bad record options.
    """

    def __init__(self, model: Any, loss_fn: Callable[[Tensor, Any], Tensor], optimizer: Any,
                 batch_size: int = 32, scheduler: Any = None,
                 callbacks: Sequence[Callback] = (), max_grad_norm: float | None = None,
                 classification: bool = True,
                 generator: np.random.Generator | None = None, *,
                 record_grad_norms: bool = False, record_histograms: bool = False,
                 histogram_bins: int = 40, probe_size: int = 256,
                 num_classes: int | None = None, histogram_freq: int = 1,
                 histogram_edges: str = "fixed",
                 divergence_factor: float | None = DIVERGENCE_FACTOR) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
            raise TypeError(f"batch_size must be an integer, got {batch_size!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if max_grad_norm is not None and not max_grad_norm > 0:
            raise ValueError(f"max_grad_norm must be > 0 (or None), got {max_grad_norm!r}")
        for name, value in (("histogram_bins", histogram_bins), ("probe_size", probe_size),
                            ("histogram_freq", histogram_freq),
                            ("num_classes", 1 if num_classes is None else num_classes)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
                    or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if divergence_factor is not None and not (
                isinstance(divergence_factor, (int, float, np.floating))
                and not isinstance(divergence_factor, bool)
                and math.isfinite(divergence_factor) and divergence_factor > 1):
            raise ValueError("divergence_factor must be a finite number > 1 (or None), "
                             f"got {divergence_factor!r}")
        if histogram_edges not in HISTOGRAM_EDGES:
            raise ValueError(f"histogram_edges must be one of {', '.join(HISTOGRAM_EDGES)}, "
                             f"got {histogram_edges!r}")
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.batch_size, self.scheduler = int(batch_size), scheduler
        self.callbacks = list(callbacks)
        self.max_grad_norm = max_grad_norm
        self.classification = classification
        self.generator = generator if generator is not None else default_generator()
        self.record_grad_norms = bool(record_grad_norms)
        self.record_histograms = bool(record_histograms)
        self.histogram_bins = int(histogram_bins)
        self.histogram_freq = int(histogram_freq)
        self.histogram_edges = histogram_edges
        self.divergence_factor = None if divergence_factor is None else float(divergence_factor)
        self.reference_loss: float | None = None
        self.divergence: Divergence | None = None
        self.probe_size = int(probe_size)
        self.num_classes = None if num_classes is None else int(num_classes)
        self.history: list[dict[str, float]] = []
        self.epoch_records: list[EpochRecord] = []
        self.global_step = 0
        self.stop_training = False
        self.stopped_by_request = False
        self.metric_names: list[str] | None = None
        self.confusion_matrix: np.ndarray | None = None
        self.per_class_accuracy: np.ndarray | None = None
        self.last_step: StepRecord | None = None
        # Fixed histogram edges per tensor: ("param" | "act", name) -> edges.
        self._edges: dict[tuple[str, str], np.ndarray] = {}
        # Stop and pause: _wake is set unless paused (a stop request also sets it).
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._wake.set()
        self._paused = False

    # ------------------------------------------------------------------ stop and pause
    def request_stop(self) -> None:
        """Ask :meth:`fit` to stop (thread-safe; returns at once).

        The running ``fit`` finishes the batch in progress, records that epoch (cut
        short, see :attr:`EpochRecord.complete`), calls the callbacks' ``on_epoch_end``
        and ``on_train_end`` (so :class:`EarlyStopping` restores the best weights) and
        returns normally with :attr:`stopped_by_request` True. A paused ``fit`` is
        released. A request made while no ``fit`` runs applies to the next one (which
        then trains nothing); every ``fit`` clears pending requests when it returns.
        """
        with self._lock:
            self._stop.set()
            self._wake.set()

    def pause(self) -> None:
        """Make :meth:`fit` wait before its next batch until :meth:`resume` or
        :meth:`request_stop` (thread-safe; the waiting blocks on an Event, using no CPU).
        All state is kept. Ignored while a stop is pending."""
        with self._lock:
            if not self._stop.is_set():
                self._paused = True
                self._wake.clear()

    def resume(self) -> None:
        """End a :meth:`pause` (thread-safe)."""
        with self._lock:
            self._paused = False
            self._wake.set()

    @property
    def paused(self) -> bool:
        """Whether a pause is in effect (fit waits, or will wait, before its next batch)."""
        return self._paused and not self._stop.is_set()

    @property
    def stop_requested(self) -> bool:
        """Whether a stop has been requested and not yet honoured."""
        return self._stop.is_set()

    def _clear_requests(self) -> None:
        with self._lock:
            self._stop.clear()
            self._paused = False
            self._wake.set()

    # ------------------------------------------------------------------ data
    def _dtype(self) -> np.dtype:
        for p in self.model.parameters():
            return p.data.dtype
        return np.dtype(np.float32)

    def _check_data(self, X: Any, y: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
        """``(X, y)`` as arrays, X in the model's dtype; clear errors for bad data."""
        X, y = np.asarray(X), np.asarray(y)
        if X.dtype.kind not in "fiub" or y.dtype.kind not in "fiub":
            raise TypeError(f"{what}: features and targets must be numbers, got dtypes "
                            f"{X.dtype} and {y.dtype}")
        if X.ndim != 2:
            raise ValueError(f"{what}: features must have shape (samples, features), "
                             f"got {X.shape}")
        if len(X) != len(y):
            raise ValueError(f"{what}: {len(X)} feature rows but {len(y)} targets")
        if len(X) == 0:
            raise ValueError(f"{what}: no samples")
        for name, a in (("features", X), ("targets", y)):
            finite = np.isfinite(a)
            if not finite.all():
                row = int(np.flatnonzero(~finite.reshape(len(a), -1).all(axis=1))[0])
                raise ValueError(f"{what}: {name} contain NaN or infinity (first in row {row})")
        return X.astype(self._dtype(), copy=False), y

    def _check_labels(self, y: np.ndarray, what: str) -> None:
        """With an explicit ``num_classes``, class indices must lie in [0, K)."""
        k = self.num_classes
        if k is None or not self.classification or y.ndim != 1 or len(y) == 0:
            return
        bad = (y < 0) | (y >= k)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{what}: target {y[i].item()!r} in row {i} is not a class index in "
                             f"[0, {k}) (num_classes={k})")

    # ------------------------------------------------------------------ evaluation
    def _predictions(self, output: np.ndarray) -> np.ndarray:
        """What the metrics compare with the targets: the model's output, or what its
        ``predictions(output)`` method makes of it (a compiled graph whose sigmoid is
        fused into the loss returns logits and turns them into probabilities here)."""
        hook = getattr(self.model, "predictions", None)
        return output if hook is None else hook(output)

    def _evaluate(self, X: np.ndarray, y: np.ndarray, batch_size: int = 1024
                  ) -> tuple[dict[str, float], np.ndarray]:
        """Metrics and the concatenated outputs, in eval mode (mode restored)."""
        was_training = self.model.training
        self.model.eval()
        total, outputs = 0.0, []
        try:
            with no_grad():
                for start in range(0, len(X), batch_size):
                    xb, yb = X[start:start + batch_size], y[start:start + batch_size]
                    out = self.model(Tensor(xb))
                    total += float(self.loss_fn(out, yb).data) * len(xb)
                    outputs.append(self._predictions(out.data))
        finally:
            self.model.train(was_training)
        out = np.concatenate(outputs)
        metrics = {"loss": total / len(X)}
        if self.classification:
            metrics["accuracy"] = accuracy(out, y)
        else:
            metrics.update(_regression_metrics(out, y))
        for m in computed_metrics(self.classification):
            metrics[m.name] = float(m.compute(out, y))
        return metrics, out

    def evaluate(self, X: np.ndarray, y: np.ndarray, batch_size: int = 1024) -> dict[str, float]:
        """Loss (mean over samples) and, for classification, accuracy (else ``mse`` and
        ``r2``), and every registered metric with a ``compute`` function, in eval mode.
        The model's mode is restored afterwards.

        Raises:
            TypeError, ValueError: for data that is not numeric, of mismatched lengths,
                empty, or with NaN/infinite features.
        """
        X, y = self._check_data(X, y, "evaluate")
        return self._evaluate(X, y, batch_size)[0]

    # ------------------------------------------------------------------ training
    def train_epoch(self, X: np.ndarray, y: np.ndarray, epoch: int) -> dict[str, float]:
        """One pass over (X, y) in shuffled minibatches. Returns the epoch's training
        loss (sample-weighted mean of batch losses) and accuracy (classification) or
        ``mse`` and ``r2`` (regression; computed from each batch's training-mode outputs
        before its update).

        Honours :meth:`request_stop` and :meth:`pause` before each batch; after a stop,
        the metrics cover the batches trained (NaN if none).

        Raises:
            TrainingError: if a batch loss is NaN or infinite; the message names the
                first node whose output was not finite (see :meth:`fit`). The model is
                left as it was before that batch (its buffers, e.g. BatchNorm's running
                statistics, are restored; parameters are not updated).
            ValueError: if the outputs do not suit accuracy (before any update).
        """
        return self._train_epoch(X, y, epoch)[0]

    def _train_epoch(self, X: np.ndarray, y: np.ndarray, epoch: int
                     ) -> tuple[dict[str, float], int]:
        model, opt = self.model, self.optimizer
        model.train()
        buffers = list(model.buffers())
        step_callbacks = [cb for cb in self.callbacks
                          if type(cb).on_batch_end is not Callback.on_batch_end]
        records = bool(step_callbacks) or self.record_grad_norms
        named = list(model.named_parameters()) if self.record_grad_norms else None
        stop, wake = self._stop, self._wake
        classification = self.classification
        sums = None if classification else _RegressionSums()
        extra = computed_metrics(classification)
        extra_sums = dict.fromkeys((m.name for m in extra), 0.0)
        total, correct, seen, batches = 0.0, 0, 0, 0
        for b, idx in enumerate(minibatches(len(X), self.batch_size, self.generator), 1):
            if not wake.is_set():
                for cb in self.callbacks:
                    cb.on_pause(self)
                wake.wait()  # paused: blocks until resume() or request_stop()
            if stop.is_set():
                self.stopped_by_request = True
                break
            xb, yb = X[idx], y[idx]
            saved = [buf.copy() for buf in buffers]
            out = model(Tensor(xb))
            loss = self.loss_fn(out, yb)
            value = float(loss.data)
            if not math.isfinite(value):
                error = self._divergence(value, epoch, b, xb)
                for buf, old in zip(buffers, saved):
                    buf[...] = old
                raise error
            predictions = self._predictions(out.data)
            if classification:
                correct += round(accuracy(predictions, yb) * len(idx))
            else:
                sums.add(predictions, yb)
            for m in extra:
                extra_sums[m.name] += float(m.compute(predictions, yb)) * len(idx)
            opt.zero_grad()
            loss.backward()
            norms = total_norm = None
            if named is not None:
                norms, total_norm = _grad_norms(named)
            if self.max_grad_norm is not None:
                clip_grad_norm_(model.parameters(), self.max_grad_norm)
            opt.step()
            self.global_step += 1
            if self.divergence is None and self.divergence_factor is not None:
                self._watch_divergence(value, epoch, b)
            total += value * len(idx)
            seen += len(idx)
            batches = b
            if records:
                record = StepRecord(epoch=epoch, batch=b, step=self.global_step,
                                    samples=len(idx), loss=value,
                                    lr=float(opt.param_groups[0]["lr"]),
                                    grad_norms=norms, grad_norm_total=total_norm)
                self.last_step = record
                for cb in step_callbacks:
                    cb.on_batch_end(self, record)
        logs = {"loss": total / seen if seen else math.nan}
        if classification:
            logs["accuracy"] = correct / seen if seen else math.nan
        else:
            logs.update(sums.result())
        for name, value in extra_sums.items():
            logs[name] = value / seen if seen else math.nan
        return logs, batches

    def fit(self, X: np.ndarray, y: np.ndarray, epochs: int,
            validation: tuple[np.ndarray, np.ndarray] | None = None) -> list[dict[str, float]]:
        """Train for up to ``epochs`` more epochs (fewer if a callback stops training or
        :meth:`request_stop` is called). Epochs are numbered on from :attr:`history`.

        Per epoch: train, evaluate the validation split, append the metrics to the
        history, build the :class:`EpochRecord` (confusion matrix, histograms), step the
        scheduler, call ``on_epoch_end`` then ``on_epoch_record`` of every callback.

        Returns:
            the history: one dict of metrics per epoch: ``epoch`` (int), ``loss``,
            ``accuracy`` (classification) or ``mse`` and ``r2`` (regression), every
            registered metric with a ``compute`` function for the task
            (:func:`nncore.metrics.computed_metrics`), the same
            with a ``val_`` prefix given a validation split, ``lr`` (of the first group
            during the epoch) and ``time`` (seconds for training and validation).

        Raises:
            TypeError, ValueError: for bad data (see :meth:`evaluate`), targets outside
                ``num_classes``, or a callback that cannot work with these metrics,
                before any training.
            TrainingError: if the loss becomes NaN or infinite. The message names the
                epoch, the batch and the first node (in the order of
                ``forward_with_activations``) whose output is not finite when the batch
                is run again, or says that every output is finite (the loss itself
                overflowed), and which parameters already held NaN or infinity.
        """
        try:
            return self._fit(X, y, epochs, validation)
        finally:
            self._clear_requests()

    def _fit(self, X: Any, y: Any, epochs: int,
             validation: tuple[Any, Any] | None) -> list[dict[str, float]]:
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"epochs must be an integer >= 0, got {epochs!r}")
        X, y = self._check_data(X, y, "training data")
        self._check_labels(y, "training data")
        if validation is not None:
            validation = self._check_data(*validation, "validation data")
            self._check_labels(validation[1], "validation data")
        if self.classification:
            base = ["loss", "accuracy"]
        else:
            base = ["loss", "mse", "r2"]
        base += [m.name for m in computed_metrics(self.classification)]
        self.metric_names = ["epoch", *base, "lr", "time"]
        if validation is not None:
            self.metric_names += [f"val_{k}" for k in base]
        self.stop_training = False
        self.stopped_by_request = False
        probe = None
        if self.record_histograms:
            source = validation[0] if validation is not None else X
            k = min(self.probe_size, len(source))
            probe = source[np.round(np.linspace(0, len(source) - 1, k)).astype(np.int64)]
        begun: list[Callback] = []
        try:
            for cb in self.callbacks:
                cb.on_train_begin(self)
                begun.append(cb)
            first = len(self.history) + 1
            for epoch in range(first, first + epochs):
                if self._stop.is_set():
                    self.stopped_by_request = True
                    break
                start = time.perf_counter()
                logs: dict[str, float] = {"epoch": epoch}
                train_logs, batches = self._train_epoch(X, y, epoch)
                if batches == 0:  # stopped before the first batch: nothing to record
                    break
                logs.update(train_logs)
                val_out = None
                if validation is not None:
                    val, val_out = self._evaluate(*validation)
                    logs.update({f"val_{k}": v for k, v in val.items()})
                logs["lr"] = float(self.optimizer.param_groups[0]["lr"])
                logs["time"] = time.perf_counter() - start
                self.history.append(logs)
                due = probe is not None and (epoch in (first, first + epochs - 1)
                                             or epoch % max(1, self.histogram_freq) == 0)
                record = self._epoch_record(epoch, logs, batches, validation, val_out,
                                            probe if due else None)
                self.epoch_records.append(record)
                self._step_scheduler(logs)
                for cb in self.callbacks:
                    cb.on_epoch_end(self, epoch, logs)
                for cb in self.callbacks:
                    cb.on_epoch_record(self, record)
                if self.stop_training or self.stopped_by_request:
                    break
        finally:
            for cb in begun:
                cb.on_train_end(self)
        return self.history

    def _step_scheduler(self, logs: dict[str, float]) -> None:
        if self.scheduler is None:
            return
        if type(self.scheduler).__name__ == "ReduceLROnPlateau":
            # its monitored metric; without a validation part, the same metric on the
            # training part (same direction): val_loss -> loss
            monitor = getattr(self.scheduler, "monitor", "val_loss")
            name = monitor if monitor in logs else monitor.removeprefix("val_")
            if name not in logs:
                raise ValueError(f"ReduceLROnPlateau monitors {monitor!r}, but the epoch "
                                 f"metrics are {sorted(logs)}")
            self.scheduler.step(logs[name])
        else:
            self.scheduler.step()

    # ------------------------------------------------------------------ records
    def _epoch_record(self, epoch: int, logs: dict[str, float], batches: int,
                      validation: tuple[np.ndarray, np.ndarray] | None,
                      val_out: np.ndarray | None, probe: np.ndarray | None) -> EpochRecord:
        record = EpochRecord(epoch=epoch, logs=dict(logs), batches=batches,
                             complete=not self.stopped_by_request)
        if (self.classification and validation is not None and val_out is not None
                and val_out.ndim == 2 and val_out.shape[1] > 0):
            k = self.num_classes if self.num_classes is not None else val_out.shape[1]
            cm = confusion_matrix(val_out, validation[1], k)
            self.confusion_matrix = cm
            self.per_class_accuracy = _recall(cm)
            record.confusion_matrix = cm.copy()
            record.per_class_accuracy = self.per_class_accuracy.copy()
        if probe is not None:
            start = time.perf_counter()
            record.param_histograms = {
                name: self._histogram("param", name, p.data)
                for name, p in self.model.named_parameters()}
            record.activation_histograms = self._activation_histograms(probe)
            record.histogram_seconds = time.perf_counter() - start
        return record

    def _histogram(self, kind: str, name: str, values: np.ndarray) -> Histogram:
        if self.histogram_edges == "per_epoch":
            return histogram(values, nice_edges(values, self.histogram_bins))
        edges = self._edges.get((kind, name))
        if edges is None or len(edges) != self.histogram_bins + 1:
            edges = self._edges[(kind, name)] = nice_edges(values, self.histogram_bins)
        return histogram(values, edges)  # copies the edges

    def _activation_histograms(self, probe: np.ndarray) -> dict[str, Histogram]:
        forward = getattr(self.model, "forward_with_activations", None)
        if not callable(forward):
            return {}
        was_training = self.model.training
        self.model.eval()
        try:
            with no_grad(), np.errstate(all="ignore"):
                _, acts = forward(Tensor(probe))
            return {name: self._histogram("act", name, np.asarray(a))
                    for name, a in acts.items()}
        finally:
            self.model.train(was_training)

    # ------------------------------------------------------------------ divergence
    def _watch_divergence(self, value: float, epoch: int, batch: int) -> None:
        reference = self.reference_loss
        if reference is None:
            self.reference_loss = value
        elif reference > 0 and value > self.divergence_factor * reference:
            self.divergence = Divergence(epoch, batch, value, reference,
                                         self.divergence_factor)
            for cb in self.callbacks:
                cb.on_divergence(self, self.divergence)

    def _divergence(self, value: float, epoch: int, batch: int, xb: np.ndarray
                    ) -> TrainingError:
        """The error for a non-finite batch loss: which parameters are already not
        finite, and the first node whose output is not finite when the batch is run
        again (training mode, no gradients; random generators and, by the caller,
        buffers are restored afterwards)."""
        model = self.model
        bad_params = [name for name, p in model.named_parameters()
                      if not np.all(np.isfinite(p.data))]
        message = f"the loss became {value} at epoch {epoch}, batch {batch}"
        details, node = [], None
        forward = getattr(model, "forward_with_activations", None)
        if callable(forward):
            generators = _distinct_generators(self._named_generators())
            states = [(g, g.bit_generator.state) for g in generators]
            acts = None
            try:
                with no_grad(), np.errstate(all="ignore"):
                    _, acts = forward(Tensor(xb))
            except Exception:  # noqa: BLE001 - diagnosis only; the loss error stands
                acts = None
            finally:
                for g, st in states:
                    g.bit_generator.state = st
            if acts is not None:
                for name, a in acts.items():
                    if not np.all(np.isfinite(np.asarray(a))):
                        node = name
                        break
                if node is not None:
                    kind = _child_type(model, node)
                    details.append(f"the first node whose output is not finite is "
                                   f"{node!r}{f' ({kind})' if kind else ''}")
                else:
                    node = getattr(model, "loss_name", None)
                    where = f" ({node!r})" if node else ""
                    details.append(f"every node's output is finite, so the loss{where} "
                                   "itself overflowed (or the targets do not suit the loss)")
        if bad_params:
            label = getattr(model, "describe_parameter", lambda name: name)
            shown = ", ".join(repr(label(n)) for n in bad_params[:5])
            more = f" and {len(bad_params) - 5} more" if len(bad_params) > 5 else ""
            plural = len(bad_params) > 1
            details.append(f"parameter{'s' if plural else ''} {shown}{more} already "
                           f"hold{'' if plural else 's'} NaN or infinity")
        if details:
            message += ": " + "; ".join(details)
        message += "; try a smaller learning rate or gradient clipping"
        decay = max((float(g.get("weight_decay") or 0.0)
                     for g in getattr(self.optimizer, "param_groups", [])), default=0.0)
        if decay >= 1.0:  # far above the usual 1e-4..1e-1
            message += f", or a much smaller weight decay (it is {decay:g})"
        return TrainingError(message, epoch=epoch, batch=batch, node=node,
                             parameters=bad_params)

    # ------------------------------------------------------------------ checkpoints
    def _named_generators(self) -> dict[str, np.random.Generator]:
        """Every random generator training draws from, by name: ``"trainer"``
        (shuffling), ``"default"`` (the engine's, used by modules given none) and
        ``"model.<module path>.<attribute>"`` for each Generator a module holds (e.g.
        a Dropout's ``generator``). One object may appear under several names."""
        gens = {"trainer": self.generator, "default": default_generator()}
        for path, module in self.model.named_modules():
            for attr, value in vars(module).items():
                if isinstance(value, np.random.Generator):
                    gens[f"model.{path}.{attr}" if path else f"model.{attr}"] = value
        return gens

    def save_checkpoint(self, path: str | os.PathLike) -> None:
        """Save everything needed to resume training exactly, in one ``.npz`` file.

        Contents: the model's ``state_dict`` (parameters and buffers), the optimizer's
        ``state_dict`` (its nested state flattened into named arrays plus JSON), the
        scheduler's state, the history, the global step, the histogram edges, the state
        of every callback that has one (:class:`EarlyStopping`: best value, epoch and
        weights), and the state of every random generator (see
        :meth:`load_checkpoint`). The JSON part is stored as a 0-d unicode array
        ``__meta__`` with a format version; no object is pickled.

        Written atomically: to a temporary file in the same folder, then renamed over
        ``path`` (an existing checkpoint is never left half-written). The name is used
        as given (no ``.npz`` is appended).

        Save between epochs (after ``fit`` or from ``on_epoch_end``) for an exact
        resumption. A checkpoint saved mid-epoch (e.g. while paused) keeps the weights
        of that moment, but resumed training starts a new epoch.
        Call it from the training thread, or while training is paused or not running.

        Raises:
            CheckpointError: if some state cannot be stored (naming it).
            OSError: if the file cannot be written.
        """
        packer = _Packer()
        opt, sched = self.optimizer, self.scheduler
        meta: dict[str, Any] = {
            "format": _CHECKPOINT_FORMAT,
            "version": CHECKPOINT_VERSION,
            "model": packer.pack(dict(self.model.state_dict()), "model"),
            "optimizer": {"type": type(opt).__name__,
                          "state": packer.pack(opt.state_dict(), "optimizer")},
            "scheduler": None if sched is None else {
                "type": type(sched).__name__,
                "state": packer.pack(sched.state_dict(), "scheduler")},
            "trainer": {
                "epochs": len(self.history),
                "global_step": int(self.global_step),
                "reference_loss": self.reference_loss,
                "batch_size": self.batch_size,
                "classification": bool(self.classification),
                "history": packer.pack(self.history, "history"),
                "histogram_edges": [[kind, name, packer.pack(e, f"edges/{kind}/{name}")]
                                    for (kind, name), e in self._edges.items()],
            },
            "callbacks": [],
            "generators": {},
        }
        for i, cb in enumerate(self.callbacks):
            state = cb.state_dict()
            if state is not None:
                meta["callbacks"].append({"index": i, "type": type(cb).__name__,
                                          "state": packer.pack(state, f"callbacks/{i}")})
        first_name: dict[int, str] = {}
        for name, g in self._named_generators().items():
            if id(g) in first_name:
                meta["generators"][name] = {"same_as": first_name[id(g)]}
            else:
                first_name[id(g)] = name
                meta["generators"][name] = {
                    "bit_generator": type(g.bit_generator).__name__,
                    "state": packer.pack(g.bit_generator.state, f"generators/{name}")}
        packer.arrays[_META] = np.array(json.dumps(meta, allow_nan=False))
        save_arrays(os.fspath(path), packer.arrays)

    def load_checkpoint(self, path: str | os.PathLike) -> None:
        """Resume from a checkpoint written by :meth:`save_checkpoint`.

        Build the trainer first as the saved one was built (same model structure,
        optimizer type and parameter groups, scheduler type, callbacks with state at
        the same positions), then load: the model's parameters and buffers, the
        optimizer's and scheduler's state, the history (so ``fit`` numbers epochs on),
        the global step, histogram edges, callback states (the next ``fit`` continues
        :class:`EarlyStopping`'s run) and the random generators' states — the trainer's,
        the engine's default generator (which modules given no generator, e.g. a
        ``Dropout(generator=None)``, draw from; loading sets it, a process-wide effect)
        and every generator a module holds. Training on from here gives bit-identical
        weights and history (except ``time``) to a run that was never interrupted.
        :attr:`epoch_records` are not saved; loading clears them.

        Nothing changes unless everything fits.

        Raises:
            FileNotFoundError: if ``path`` does not exist.
            CheckpointError: if the file is not a checkpoint, is corrupt or of a newer
                format, or does not match this trainer; the message names the entry
                (e.g. ``model entry '1.weight' has shape (8, 3) in the checkpoint but
                (8, 4) in the model``).
        """
        path = os.fspath(path)
        meta, arrays = _read_checkpoint(path)
        try:
            self._load_checkpoint(path, meta, arrays)
        except CheckpointError:
            raise
        except (KeyError, TypeError, AttributeError, IndexError, ValueError, OverflowError) as e:
            # a well-formed file whose metadata has another structure (checked before
            # anything was changed; failures while applying are CheckpointErrors)
            raise CheckpointError(f"checkpoint {path!r} is malformed: {type(e).__name__}: "
                                  f"{e}") from e

    def _load_checkpoint(self, path: str, meta: dict[str, Any],
                         arrays: dict[str, np.ndarray]) -> None:
        unpacker = _Unpacker(arrays, path)

        def section(name: str) -> Any:
            if name not in meta:
                raise CheckpointError(f"checkpoint {path!r} has no {name!r} section")
            return meta[name]

        model_state = unpacker.unpack(section("model"), "model")
        opt_meta, sched_meta = section("optimizer"), section("scheduler")
        trainer_meta, cb_meta, gen_meta = (section("trainer"), section("callbacks"),
                                           section("generators"))
        if not isinstance(model_state, dict):
            raise CheckpointError(f"checkpoint {path!r}: the model state is not a mapping")
        # ---- check everything that can be checked before changing anything
        current = dict(self.model.state_dict())
        missing = [k for k in current if k not in model_state]
        unexpected = [k for k in model_state if k not in current]
        if missing or unexpected:
            raise CheckpointError(f"checkpoint {path!r} does not match the model: missing "
                                  f"entries {missing}, unexpected entries {unexpected}")
        for k, v in model_state.items():
            if np.shape(v) != current[k].shape:
                raise CheckpointError(f"checkpoint {path!r}: model entry {k!r} has shape "
                                      f"{np.shape(v)} in the checkpoint but "
                                      f"{current[k].shape} in the model")
        opt_type = type(self.optimizer).__name__
        if opt_meta.get("type") != opt_type:
            raise CheckpointError(f"checkpoint {path!r} holds the state of a "
                                  f"{opt_meta.get('type')} optimizer, this trainer's is "
                                  f"{opt_type}")
        opt_state = unpacker.unpack(opt_meta.get("state"), "optimizer")
        sched_state = None
        if (sched_meta is None) != (self.scheduler is None):
            raise CheckpointError(
                f"checkpoint {path!r} was saved "
                f"{'without' if sched_meta is None else 'with a ' + str(sched_meta.get('type'))}"
                f" scheduler, this trainer has "
                f"{'none' if self.scheduler is None else type(self.scheduler).__name__}")
        if sched_meta is not None:
            if sched_meta.get("type") != type(self.scheduler).__name__:
                raise CheckpointError(f"checkpoint {path!r} holds the state of a "
                                      f"{sched_meta.get('type')} scheduler, this trainer's "
                                      f"is {type(self.scheduler).__name__}")
            sched_state = unpacker.unpack(sched_meta.get("state"), "scheduler")
        cb_states: list[tuple[Callback, Any]] = []
        saved_cbs = {int(e["index"]): e for e in cb_meta}
        for i, cb in enumerate(self.callbacks):
            entry = saved_cbs.pop(i, None)
            has_state = cb.state_dict() is not None
            if entry is None:
                if has_state:
                    raise CheckpointError(f"checkpoint {path!r} has no state for callback "
                                          f"{i} ({type(cb).__name__})")
                continue
            if entry.get("type") != type(cb).__name__:
                raise CheckpointError(f"checkpoint {path!r}: callback {i} was a "
                                      f"{entry.get('type')}, here it is a "
                                      f"{type(cb).__name__}")
            cb_states.append((cb, unpacker.unpack(entry.get("state"), f"callbacks/{i}")))
        if saved_cbs:
            extra = ", ".join(f"{i} ({e.get('type')})" for i, e in sorted(saved_cbs.items()))
            raise CheckpointError(f"checkpoint {path!r} has state for callback(s) {extra} "
                                  "that this trainer does not have")
        gen_states = self._resolve_generator_states(gen_meta, unpacker, path)
        history = unpacker.unpack(trainer_meta.get("history", []), "history")
        if not isinstance(history, list) or not all(isinstance(h, dict) for h in history):
            raise CheckpointError(f"checkpoint {path!r}: the history is not a list of dicts")
        edges = {}
        for kind, name, packed in trainer_meta.get("histogram_edges", []):
            edges[(kind, name)] = np.asarray(unpacker.unpack(packed, "edges"), np.float64)
        global_step = int(trainer_meta.get("global_step", 0))
        reference = trainer_meta.get("reference_loss")
        if reference is not None and not isinstance(reference, (int, float)):
            raise CheckpointError(f"checkpoint {path!r}: reference_loss is {reference!r}, "
                                  "not a number")

        # ---- apply, undoing everything if a step fails
        undo: list[Callable[[], None]] = []
        try:
            old_model = self.model.state_dict()
            _wrap(lambda: self.model.load_state_dict(model_state), path, "model")
            undo.append(lambda: self.model.load_state_dict(old_model))
            old_opt = self.optimizer.state_dict()
            _wrap(lambda: self.optimizer.load_state_dict(opt_state), path, "optimizer")
            undo.append(lambda: self.optimizer.load_state_dict(old_opt))
            if self.scheduler is not None:
                old_sched = self.scheduler.state_dict()
                _wrap(lambda: self.scheduler.load_state_dict(sched_state), path, "scheduler")
                undo.append(lambda: self.scheduler.load_state_dict(old_sched))
            for cb, state in cb_states:
                old_cb = (cb.state_dict(), getattr(cb, "_continue", None))

                def restore(cb: Callback = cb, old: tuple = old_cb) -> None:
                    cb.load_state_dict(old[0])
                    if old[1] is not None:
                        cb._continue = old[1]  # type: ignore[attr-defined]
                _wrap(lambda: cb.load_state_dict(state), path,  # noqa: B023 - called at once
                      f"callback {self.callbacks.index(cb)} ({type(cb).__name__})")
                undo.append(restore)
            for g, state in gen_states:
                old_g = g.bit_generator.state
                _wrap(lambda: setattr(g.bit_generator, "state", state), path,  # noqa: B023
                      "random generator")
                undo.append(lambda g=g, old_g=old_g: setattr(g.bit_generator, "state", old_g))
        except BaseException:
            for step in reversed(undo):
                step()
            raise
        self.history = history
        self.global_step = global_step
        self.reference_loss = None if reference is None else float(reference)
        self.divergence = None
        self._edges = edges
        self.epoch_records = []
        self.confusion_matrix = self.per_class_accuracy = None
        self.last_step = None

    def _resolve_generator_states(self, gen_meta: Mapping[str, Any], unpacker: "_Unpacker",
                                  path: str) -> list[tuple[np.random.Generator, Any]]:
        current = self._named_generators()
        missing = [n for n in gen_meta if n not in current]
        extra = [n for n in current if n not in gen_meta]
        if missing or extra:
            raise CheckpointError(f"checkpoint {path!r} has random generators {sorted(gen_meta)},"
                                  f" this trainer has {sorted(current)} (missing here: "
                                  f"{missing}, not in the checkpoint: {extra})")
        states: dict[str, Any] = {}
        for name, entry in gen_meta.items():
            seen = set()
            while "same_as" in entry:
                ref = entry["same_as"]
                if ref in seen or ref not in gen_meta:
                    raise CheckpointError(f"checkpoint {path!r}: random generator {name!r} "
                                          f"refers to {ref!r}, which is not there")
                seen.add(ref)
                entry = gen_meta[ref]
            bit = entry.get("bit_generator")
            g = current[name]
            if bit != type(g.bit_generator).__name__:
                raise CheckpointError(f"checkpoint {path!r}: random generator {name!r} is a "
                                      f"{bit} in the checkpoint but a "
                                      f"{type(g.bit_generator).__name__} here")
            states[name] = unpacker.unpack(entry.get("state"), f"generators/{name}")
        out: list[tuple[np.random.Generator, Any]] = []
        owner: dict[int, str] = {}
        for name, g in current.items():
            if id(g) in owner:
                first = owner[id(g)]
                if _canonical(states[first]) != _canonical(states[name]):
                    raise CheckpointError(
                        f"checkpoint {path!r}: random generators {first!r} and {name!r} are "
                        "one generator in this trainer but had different states when saved; "
                        "build the trainer with separate generators as before")
                continue
            owner[id(g)] = name
            out.append((g, states[name]))
        return out


def checkpoint_info(path: str | os.PathLike) -> dict[str, Any]:
    """What a checkpoint holds, without loading it into a trainer: ``version``,
    ``epochs``, ``global_step``, ``optimizer`` and ``scheduler`` type names (None
    without one), ``model_entries`` (name -> shape) and ``history``.

    Raises:
        FileNotFoundError, CheckpointError: as :meth:`Trainer.load_checkpoint`.
    """
    path = os.fspath(path)
    meta, arrays = _read_checkpoint(path)
    unpacker = _Unpacker(arrays, path)
    try:
        model = unpacker.unpack(meta["model"], "model")
        trainer = meta["trainer"]
        return {
            "version": meta["version"],
            "epochs": int(trainer["epochs"]),
            "global_step": int(trainer["global_step"]),
            "optimizer": meta["optimizer"]["type"],
            "scheduler": None if meta["scheduler"] is None else meta["scheduler"]["type"],
            "model_entries": {k: tuple(np.shape(v)) for k, v in model.items()},
            "history": unpacker.unpack(trainer["history"], "history"),
        }
    except (KeyError, TypeError, AttributeError) as e:
        raise CheckpointError(f"checkpoint {path!r} lacks {e}") from None


# ---------------------------------------------------------------------------- helpers
def _grad_norms(named: list[tuple[str, Any]]) -> tuple[dict[str, float], float]:
    """Per-parameter L2 gradient norms and their combined norm (Python floats).

    A dot product in the gradient's own dtype (BLAS, no copy: this runs after every
    batch), redone in float64 only when float32 overflows (a norm above ~1.8e19)."""
    norms: dict[str, float] = {}
    total = 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        for name, p in named:
            g = p.grad
            if g is None:
                norms[name] = 0.0
                continue
            r = g.reshape(-1)
            sq = float(np.dot(r, r))
            if not math.isfinite(sq) and np.all(np.isfinite(r)):
                r = r.astype(np.float64)
                sq = float(np.dot(r, r))
            norms[name] = math.sqrt(sq)
            total += sq
    return norms, math.sqrt(total)


def _child_type(model: Any, name: str) -> str | None:
    try:
        child = dict(model.named_children()).get(name)
    except Exception:  # noqa: BLE001 - a model without named_children
        return None
    return None if child is None else type(child).__name__


def _distinct_generators(gens: Mapping[str, np.random.Generator]) -> list[np.random.Generator]:
    seen: dict[int, np.random.Generator] = {}
    for g in gens.values():
        seen.setdefault(id(g), g)
    return list(seen.values())


def _wrap(fn: Callable[[], Any], path: str, what: str) -> None:
    try:
        fn()
    except (KeyError, ValueError, TypeError) as e:
        text = e.args[0] if isinstance(e, KeyError) and e.args else e
        raise CheckpointError(f"checkpoint {path!r} does not fit the {what}: {text}") from e


def _canonical(obj: Any) -> Any:
    """A comparable form of a nested state (arrays as (dtype, shape, list))."""
    if isinstance(obj, np.ndarray):
        return ("array", str(obj.dtype), obj.shape, obj.tolist())
    if isinstance(obj, Mapping):
        return tuple(sorted((repr(k), _canonical(v)) for k, v in obj.items()))
    if isinstance(obj, (list, tuple)):
        return tuple(_canonical(v) for v in obj)
    return obj


class _Packer:
    """Nested Python state -> JSON-able structure plus named arrays.

    Arrays become ``{"__array__": name}`` (stored in :attr:`arrays`), non-finite floats
    ``{"__float__": "nan"|"inf"|"-inf"}``, tuples ``{"__tuple__": [...]}`` and dicts with
    keys that are not plain strings ``{"__items__": [[key, value], ...]}``.
    """

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def pack(self, obj: Any, path: str) -> Any:
        if isinstance(obj, Tensor):
            obj = obj.data
        if isinstance(obj, np.ndarray):
            if obj.dtype.kind not in "biuf":
                raise CheckpointError(f"cannot save {path!r}: arrays of dtype {obj.dtype} "
                                      "are not supported")
            name, i = path, 1
            while name in self.arrays or name == _META:
                name, i = f"{path}~{i}", i + 1
            self.arrays[name] = np.array(obj, copy=True)
            return {"__array__": name}
        if isinstance(obj, (bool, np.bool_)):
            return bool(obj)
        if isinstance(obj, (int, np.integer)):
            return int(obj)
        if isinstance(obj, (float, np.floating)):
            f = float(obj)
            return f if math.isfinite(f) else {"__float__": repr(f)}
        if obj is None or isinstance(obj, str):
            return obj
        if isinstance(obj, tuple):
            return {"__tuple__": [self.pack(v, f"{path}/{i}") for i, v in enumerate(obj)]}
        if isinstance(obj, list):
            return [self.pack(v, f"{path}/{i}") for i, v in enumerate(obj)]
        if isinstance(obj, Mapping):
            if all(isinstance(k, str) and not k.startswith("__") for k in obj):
                return {k: self.pack(v, f"{path}/{k}") for k, v in obj.items()}
            return {"__items__": [[self.pack(k, f"{path}/key{i}"), self.pack(v, f"{path}/{k}")]
                                  for i, (k, v) in enumerate(obj.items())]}
        raise CheckpointError(f"cannot save {path!r}: a {type(obj).__name__} is not an "
                              "array, number, string, None or container of them")


class _Unpacker:
    """The inverse of :class:`_Packer`, with errors naming the missing entry."""

    def __init__(self, arrays: Mapping[str, np.ndarray], path: str) -> None:
        self.arrays, self.path = arrays, path

    def unpack(self, obj: Any, where: str) -> Any:
        if isinstance(obj, list):
            return [self.unpack(v, where) for v in obj]
        if not isinstance(obj, dict):
            return obj
        if len(obj) == 1:
            (key, value), = obj.items()
            if key == "__array__":
                if value not in self.arrays:
                    raise CheckpointError(f"checkpoint {self.path!r} lacks the array entry "
                                          f"{value!r} ({where})")
                return self.arrays[value]
            if key == "__float__":
                if value not in ("nan", "inf", "-inf"):
                    raise CheckpointError(f"checkpoint {self.path!r}: bad number {value!r} "
                                          f"in {where}")
                return float(value)
            if key == "__tuple__":
                return tuple(self.unpack(v, where) for v in value)
            if key == "__items__":
                out = {}
                for k, v in value:
                    k = self.unpack(k, where)
                    out[k] = self.unpack(v, where)
                return out
        if any(isinstance(k, str) and k.startswith("__") for k in obj):
            raise CheckpointError(f"checkpoint {self.path!r}: unknown entry "
                                  f"{sorted(obj)!r} in {where}")
        return {k: self.unpack(v, where) for k, v in obj.items()}


def _read_checkpoint(path: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The metadata and every array of a checkpoint, read fully and closed; never
    unpickles. Errors name the file and what is wrong."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"checkpoint file not found: {path!r}")
    try:
        loaded = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, NotImplementedError) as e:
        raise CheckpointError(f"{path!r} is not a checkpoint (not a readable .npz "
                              f"archive: {e})") from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise CheckpointError(f"{path!r} is not a checkpoint (a single array, not an .npz "
                              "archive)")
    arrays: dict[str, np.ndarray] = {}
    try:
        with loaded:
            for name in loaded.files:
                try:
                    arrays[name] = loaded[name]
                except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile,
                        zlib.error, NotImplementedError) as e:
                    raise CheckpointError(f"checkpoint {path!r} is corrupt: entry {name!r} "
                                          f"cannot be read ({e})") from None
    except (OSError, zipfile.BadZipFile) as e:  # pragma: no cover - closing a bad file
        raise CheckpointError(f"checkpoint {path!r} is corrupt ({e})") from None
    raw = arrays.pop(_META, None)
    if raw is None:
        raise CheckpointError(f"{path!r} is not a checkpoint: it has no {_META!r} entry")
    if raw.ndim != 0 or raw.dtype.kind != "U":
        raise CheckpointError(f"checkpoint {path!r}: {_META!r} is not a 0-d string array")
    try:
        meta = json.loads(str(raw[()]))
    except json.JSONDecodeError as e:
        raise CheckpointError(f"checkpoint {path!r}: {_META!r} is not valid JSON ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != _CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path!r} is not an nncore checkpoint (format "
                              f"{meta.get('format') if isinstance(meta, dict) else None!r})")
    version = meta.get("version")
    if not isinstance(version, int) or version < 1:
        raise CheckpointError(f"checkpoint {path!r} has a bad format version {version!r}")
    if version > CHECKPOINT_VERSION:
        raise CheckpointError(f"checkpoint {path!r} has format version {version}, newer "
                              f"than this nncore reads ({CHECKPOINT_VERSION}); update nncore")
    return meta, arrays
