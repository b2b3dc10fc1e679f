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
from nncore.tensor import Tensor, no_grad

__all__ = ["Callback", "EarlyStopping", "Trainer", "TrainingError", "accuracy"]


class TrainingError(RuntimeError):
    """Training cannot go on (e.g. the loss became NaN or infinite); the message says
    at which epoch and batch."""


def accuracy(logits: np.ndarray, target: np.ndarray) -> float:
    """Fraction of rows whose arg-max equals the class index in ``target``.

    Shapes: logits ``(N, C)``, target ``(N,)`` of ints. Returns a float in [0, 1]
    (NaN for N = 0).
    """
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
        if patience < 0:
            raise ValueError(f"EarlyStopping: patience must be >= 0, got {patience}")
        if min_delta < 0:
            raise ValueError(f"EarlyStopping: min_delta must be >= 0, got {min_delta}")
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

    def on_epoch_end(self, trainer: "Trainer", epoch: int, logs: dict[str, float]) -> None:
        if self.monitor not in logs:
            raise ValueError(f"EarlyStopping monitors {self.monitor!r}, but the epoch "
                             f"metrics are {sorted(logs)}; add a validation split or "
                             "monitor another metric")
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
        classification: compute accuracy from arg-max of the outputs (default True).
        generator: random source for shuffling (default: the engine's).
    """

    def __init__(self, model: Any, loss_fn: Callable[[Tensor, Any], Tensor], optimizer: Any,
                 batch_size: int = 32, scheduler: Any = None,
                 callbacks: Sequence[Callback] = (), max_grad_norm: float | None = None,
                 classification: bool = True,
                 generator: np.random.Generator | None = None) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.batch_size, self.scheduler = int(batch_size), scheduler
        self.callbacks = list(callbacks)
        self.max_grad_norm = max_grad_norm
        self.classification = classification
        self.generator = generator if generator is not None else np.random.default_rng()
        self.history: list[dict[str, float]] = []
        self.stop_training = False

    def evaluate(self, X: np.ndarray, y: np.ndarray, batch_size: int = 1024) -> dict[str, float]:
        """Loss (mean over samples) and, for classification, accuracy, in eval mode.

        The model's mode is restored afterwards.
        """
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
        metrics = {"loss": total / max(len(X), 1)}
        if self.classification and outputs:
            metrics["accuracy"] = accuracy(np.concatenate(outputs), y)
        return metrics

    def train_epoch(self, X: np.ndarray, y: np.ndarray, epoch: int) -> dict[str, float]:
        """One pass over (X, y) in shuffled minibatches. Returns the epoch's training
        loss (sample-weighted mean of batch losses) and accuracy.

        Raises:
            TrainingError: if a batch loss is NaN or infinite.
        """
        model, opt = self.model, self.optimizer
        model.train()
        total, correct, seen = 0.0, 0, 0
        for b, idx in enumerate(minibatches(len(X), self.batch_size, self.generator), 1):
            xb, yb = X[idx], y[idx]
            out = model(Tensor(xb))
            loss = self.loss_fn(out, yb)
            value = float(loss.data)
            if not math.isfinite(value):
                raise TrainingError(f"the loss became {value} at epoch {epoch}, batch {b}; "
                                    "try a smaller learning rate or gradient clipping")
            opt.zero_grad()
            loss.backward()
            if self.max_grad_norm is not None:
                from nncore.nn import clip_grad_norm_
                clip_grad_norm_(model.parameters(), self.max_grad_norm)
            opt.step()
            total += value * len(idx)
            seen += len(idx)
            if self.classification:
                correct += int(np.sum(np.argmax(out.data, axis=1) == yb))
        logs = {"loss": total / max(seen, 1)}
        if self.classification:
            logs["accuracy"] = correct / max(seen, 1)
        return logs

    def fit(self, X: np.ndarray, y: np.ndarray, epochs: int,
            validation: tuple[np.ndarray, np.ndarray] | None = None) -> list[dict[str, float]]:
        """Train for up to ``epochs`` epochs (fewer if a callback stops training).

        Returns:
            the history: one dict of metrics per epoch (``epoch``, ``loss``,
            ``accuracy``, ``val_loss``, ``val_accuracy``, ``lr``, ``time`` in seconds).
        """
        self.stop_training = False
        for cb in self.callbacks:
            cb.on_train_begin(self)
        try:
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
            for cb in self.callbacks:
                cb.on_train_end(self)
        return self.history

    def _step_scheduler(self, logs: dict[str, float]) -> None:
        if self.scheduler is None:
            return
        if type(self.scheduler).__name__ == "ReduceLROnPlateau":
            self.scheduler.step(logs.get("val_loss", logs["loss"]))
        else:
            self.scheduler.step()
