"""Hooks into a training run: :class:`Callback`, and :class:`EarlyStopping` (Keras' rules)."""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

from nncore.metrics import (direction)
from typing import TYPE_CHECKING

from nncore.training.records import Divergence, EpochRecord, StepRecord

if TYPE_CHECKING:
    from nncore.training.trainer import Trainer

__all__ = ["Callback", "EarlyStopping"]


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
