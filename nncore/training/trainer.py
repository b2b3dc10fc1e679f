"""The training loop: :class:`Trainer` (minibatches, metrics, callbacks, records, stop and
pause from another thread)."""

from __future__ import annotations

import math
import threading
import time
from typing import Any, Callable, Sequence

import numpy as np

from nncore.confusion import DENSE_CLASSES, class_recall, summarize_predictions
from nncore.data import minibatches
from nncore.metrics import (Histogram, _pair, _r2_from_sums, _recall, accuracy, computed_metrics,
                            confusion_matrix, histogram, mse, nice_edges,
                            r2_score)
from nncore.nn import clip_grad_norm_
from nncore.random import default_generator
from nncore.tensor import Tensor, no_grad
from nncore.training.callbacks import Callback
from nncore.training.checkpoint import Checkpoints, _distinct_generators
from nncore.training.flow import measure_flow
from nncore.training.records import Divergence, EpochRecord, StepRecord, TrainingError

__all__ = ["Trainer", "DIVERGENCE_FACTOR", "HISTOGRAM_EDGES"]

#: A run is reported as diverging when a batch loss exceeds this many times its first
#: batch loss (``Trainer(divergence_factor=...)``).
DIVERGENCE_FACTOR = 1000.0

#: The ways a Trainer chooses histogram bin edges (see ``Trainer(histogram_edges=...)``).
HISTOGRAM_EDGES = ("fixed", "per_epoch")


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


class Trainer(Checkpoints):
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
        confusion_matrix, per_class_accuracy: the latest validation ones (or None); the
            confusion matrix is a read-only view of the latest epoch record's.
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
        self._flow = threading.Event()  # request_flow(): trace the next minibatch

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

    def request_flow(self) -> None:
        """Trace the next training minibatch and put its gradient flow (each wire's
        gradient norm, the units' health, the first non-finite node: a
        :class:`~nncore.training.flow.GradientFlow`) in its :attr:`StepRecord.flow`
        (thread-safe; returns at once). The batch trains exactly as it would have.
        Ignored when the model cannot trace (it is not a compiled graph with its own
        loss)."""
        self._flow.set()

    def _can_trace(self) -> bool:
        model = self.model
        return hasattr(model, "trace") and self.loss_fn == getattr(model, "loss", None)

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
            traced = None
            if self._flow.is_set() and self._can_trace():
                self._flow.clear()
                # the same operations as model(x) then loss_fn: training is unchanged
                traced, out, loss = model.trace(Tensor(xb), yb)
                for t in traced.values():
                    if t.requires_grad and not t.is_leaf:
                        t.retain_grad()
            else:
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
            flow = None if traced is None else measure_flow(model, traced,
                                                            self.global_step + 1)
            traced = None  # the batch's tensors go now, not at the next batch
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
                                    grad_norms=norms, grad_norm_total=total_norm,
                                    flow=flow)
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
            if k > DENSE_CLASSES:  # the (K, K) matrix would take 8 K^2 bytes: summarize
                predicted = np.argmax(val_out, axis=1)
                record.confusion_summary = summarize_predictions(predicted, validation[1], k)
                self.confusion_matrix = None
                self.per_class_accuracy = class_recall(predicted, validation[1], k)
            else:
                # one matrix: the record's, which the trainer shows read only
                cm = confusion_matrix(val_out, validation[1], k)
                record.confusion_matrix = cm
                self.confusion_matrix = cm.view()
                self.confusion_matrix.flags.writeable = False
                self.per_class_accuracy = _recall(cm)
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
