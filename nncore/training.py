"""Training loops, callbacks and metrics.

:class:`Trainer` runs epochs of shuffled minibatches with any optimizer (and optional
learning-rate scheduler), computes training and validation metrics per epoch, and calls
:class:`Callback` s; :class:`EarlyStopping` is one of them.
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable, Sequence

import numpy as np

from nncore.data import minibatches
from nncore.nn import clip_grad_norm_
from nncore.random import default_generator
from nncore.tensor import Tensor, no_grad

__all__ = ["Callback", "EarlyStopping", "Trainer", "TrainingError", "accuracy"]


class TrainingError(RuntimeError):
    """Training cannot go on (e.g. the loss became NaN or infinite); the message says
    at which epoch and batch."""


def accuracy(logits: np.ndarray, target: np.ndarray) -> float:
    """Fraction of rows whose arg-max equals the class index in ``target``.

    Shapes: logits ``(N, C)``, target ``(N,)`` of class indices. Returns a float in
    [0, 1] (NaN for N = 0).

    Raises:
        ValueError: for other shapes (e.g. a one-column output for binary
            cross-entropy, or one-hot targets), naming them.
    """
    logits, target = np.asarray(logits), np.asarray(target)
    if logits.ndim != 2 or target.shape != (logits.shape[0],):
        raise ValueError(f"accuracy needs outputs of shape (N, C) and class indices of "
                         f"shape (N,), got {logits.shape} and {target.shape}; train with "
                         "classification=False for regression or one-column outputs")
    if len(target) == 0:
        return math.nan
    return float(np.mean(np.argmax(logits, axis=1) == target))


class Callback:
    """Hooks called by :class:`Trainer`; subclasses override what they need.

    ``on_epoch_end`` receives the epoch number (1-based) and the epoch's metrics
    (``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``, ``lr``, ...); setting
    ``trainer.stop_training = True`` ends training after this epoch.
    """

    def on_train_begin(self, trainer: "Trainer") -> None:
        """Called once before the first epoch."""

    def on_epoch_end(self, trainer: "Trainer", epoch: int, logs: dict[str, float]) -> None:
        """Called after each epoch with its metrics."""

    def on_train_end(self, trainer: "Trainer") -> None:
        """Called once when training ends, however it ends (epoch limit, stop, error)."""


class EarlyStopping(Callback):
    """Stop training when a monitored metric stops improving, and restore the best weights.

    An epoch improves when ``best - current > min_delta`` (mode ``"min"``) or
    ``current - best > min_delta`` (mode ``"max"``). After ``patience`` epochs in a row
    without improvement, training stops (patience 0: at the first epoch that does not
    improve). With ``restore_best_weights`` (default True) the model's parameters and
    buffers are reset to copies taken at the best epoch *whenever training ends* — also
    when the epoch limit ends it, which Keras' callback does not do
    (keras-team/keras#12511).

    Args:
        monitor: the metric name (default ``"val_loss"``).
        mode: ``"min"`` (default) or ``"max"``.
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

    def __init__(self, monitor: str = "val_loss", mode: str = "min", patience: int = 3,
                 min_delta: float = 0.0, restore_best_weights: bool = True) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'min' or 'max', got {mode!r}")
        if isinstance(patience, bool) or not isinstance(patience, (int, np.integer)) \
                or patience < 0:
            raise ValueError(f"EarlyStopping: patience must be an integer >= 0, got {patience!r}")
        if isinstance(min_delta, (bool, str, bytes)) or not min_delta >= 0:
            raise ValueError(f"EarlyStopping: min_delta must be a number >= 0, got {min_delta!r}")
        self.monitor, self.mode = monitor, mode
        self.patience, self.min_delta = int(patience), float(min_delta)
        self.restore_best_weights = restore_best_weights
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


class Trainer:
    """Minibatch training of a model with an optimizer, metrics and callbacks.

    Args:
        model: an :class:`nncore.nn.Module` mapping ``(N, features)`` to outputs.
        loss_fn: ``loss_fn(output, target) -> 0-d Tensor`` (e.g.
            :func:`nncore.functional.cross_entropy`).
        optimizer: an :class:`nncore.optim.Optimizer` over the model's parameters.
        batch_size: samples per minibatch (default 32); a last batch of one sample is
            merged into the previous one (see :func:`nncore.data.minibatches`).
        scheduler: optional learning-rate scheduler, stepped once per epoch (a
            ``ReduceLROnPlateau`` gets the validation loss, or the training loss).
        callbacks: :class:`Callback` s, called in order.
        max_grad_norm: clip the global gradient norm to this value (None: no clipping).
        classification: report accuracy, the arg-max of ``(N, C)`` outputs against class
            indices (default True); False for regression or one-column outputs.
        generator: random source for shuffling (default: the engine's, which
            :func:`nncore.manual_seed` seeds).

    Raises:
        TypeError, ValueError: for a batch size that is not a positive integer or a
            ``max_grad_norm`` that is not positive.
    """

    def __init__(self, model: Any, loss_fn: Callable[[Tensor, Any], Tensor], optimizer: Any,
                 batch_size: int = 32, scheduler: Any = None,
                 callbacks: Sequence[Callback] = (), max_grad_norm: float | None = None,
                 classification: bool = True,
                 generator: np.random.Generator | None = None) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
            raise TypeError(f"batch_size must be an integer, got {batch_size!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if max_grad_norm is not None and not max_grad_norm > 0:
            raise ValueError(f"max_grad_norm must be > 0 (or None), got {max_grad_norm!r}")
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.batch_size, self.scheduler = int(batch_size), scheduler
        self.callbacks = list(callbacks)
        self.max_grad_norm = max_grad_norm
        self.classification = classification
        self.generator = generator if generator is not None else default_generator()
        self.history: list[dict[str, float]] = []
        self.stop_training = False
        self.metric_names: list[str] | None = None

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

    def evaluate(self, X: np.ndarray, y: np.ndarray, batch_size: int = 1024) -> dict[str, float]:
        """Loss (mean over samples) and, for classification, accuracy, in eval mode.

        The model's mode is restored afterwards.

        Raises:
            TypeError, ValueError: for data that is not numeric, of mismatched lengths,
                empty, or with NaN/infinite features.
        """
        X, y = self._check_data(X, y, "evaluate")
        was_training = self.model.training
        self.model.eval()
        total, outputs = 0.0, []
        try:
            with no_grad():
                for start in range(0, len(X), batch_size):
                    xb, yb = X[start:start + batch_size], y[start:start + batch_size]
                    out = self.model(Tensor(xb))
                    total += float(self.loss_fn(out, yb).data) * len(xb)
                    outputs.append(out.data)
        finally:
            self.model.train(was_training)
        metrics = {"loss": total / len(X)}
        if self.classification:
            metrics["accuracy"] = accuracy(np.concatenate(outputs), y)
        return metrics

    def train_epoch(self, X: np.ndarray, y: np.ndarray, epoch: int) -> dict[str, float]:
        """One pass over (X, y) in shuffled minibatches. Returns the epoch's training
        loss (sample-weighted mean of batch losses) and accuracy.

        Raises:
            TrainingError: if a batch loss is NaN or infinite. The model is left as it
                was before that batch (its buffers, e.g. BatchNorm's running statistics,
                are restored; parameters are not updated).
            ValueError: if the outputs do not suit accuracy (before any update).
        """
        model, opt = self.model, self.optimizer
        model.train()
        buffers = list(model.buffers())
        total, correct, seen = 0.0, 0, 0
        for b, idx in enumerate(minibatches(len(X), self.batch_size, self.generator), 1):
            xb, yb = X[idx], y[idx]
            saved = [buf.copy() for buf in buffers]
            out = model(Tensor(xb))
            loss = self.loss_fn(out, yb)
            value = float(loss.data)
            if not math.isfinite(value):
                for buf, old in zip(buffers, saved):
                    buf[...] = old
                raise TrainingError(f"the loss became {value} at epoch {epoch}, batch {b}; "
                                    "try a smaller learning rate or gradient clipping")
            if self.classification:
                correct += round(accuracy(out.data, yb) * len(idx))
            opt.zero_grad()
            loss.backward()
            if self.max_grad_norm is not None:
                clip_grad_norm_(model.parameters(), self.max_grad_norm)
            opt.step()
            total += value * len(idx)
            seen += len(idx)
        logs = {"loss": total / seen}
        if self.classification:
            logs["accuracy"] = correct / seen
        return logs

    def fit(self, X: np.ndarray, y: np.ndarray, epochs: int,
            validation: tuple[np.ndarray, np.ndarray] | None = None) -> list[dict[str, float]]:
        """Train for up to ``epochs`` epochs (fewer if a callback stops training).

        Returns:
            the history: one dict of metrics per epoch (``epoch``, ``loss``,
            ``accuracy``, ``val_loss``, ``val_accuracy``, ``lr``, ``time`` in seconds).

        Raises:
            TypeError, ValueError: for bad data (see :meth:`evaluate`) or a callback
                that cannot work with these metrics, before any training.
            TrainingError: if the loss becomes NaN or infinite.
        """
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"epochs must be an integer >= 0, got {epochs!r}")
        X, y = self._check_data(X, y, "training data")
        if validation is not None:
            validation = self._check_data(*validation, "validation data")
        base = ["loss"] + (["accuracy"] if self.classification else [])
        self.metric_names = ["epoch", *base, "lr", "time"]
        if validation is not None:
            self.metric_names += [f"val_{k}" for k in base]
        self.stop_training = False
        begun: list[Callback] = []
        try:
            for cb in self.callbacks:
                cb.on_train_begin(self)
                begun.append(cb)
            for epoch in range(len(self.history) + 1, len(self.history) + epochs + 1):
                start = time.perf_counter()
                logs: dict[str, float] = {"epoch": epoch}
                logs.update(self.train_epoch(X, y, epoch))
                if validation is not None:
                    val = self.evaluate(*validation)
                    logs.update({f"val_{k}": v for k, v in val.items()})
                logs["lr"] = float(self.optimizer.param_groups[0]["lr"])
                logs["time"] = time.perf_counter() - start
                self.history.append(logs)
                self._step_scheduler(logs)
                for cb in self.callbacks:
                    cb.on_epoch_end(self, epoch, logs)
                if self.stop_training:
                    break
        finally:
            for cb in begun:
                cb.on_train_end(self)
        return self.history

    def _step_scheduler(self, logs: dict[str, float]) -> None:
        if self.scheduler is None:
            return
        if type(self.scheduler).__name__ == "ReduceLROnPlateau":
            self.scheduler.step(logs.get("val_loss", logs["loss"]))
        else:
            self.scheduler.step()
