"""Learning-rate schedules: StepLR, ExponentialLR, CosineAnnealingLR, ReduceLROnPlateau.

PyTorch 2.x's ``torch.optim.lr_scheduler`` semantics:

* A scheduler wraps an optimizer. Its constructor records each group's starting lr as
  ``group["initial_lr"]`` (kept if already there) and ``base_lrs``, and performs the
  first ``step()``, which sets ``last_epoch`` to 0 and leaves the lr unchanged.
* Call ``scheduler.step()`` once per epoch, *after* ``optimizer.step()``. Each call adds 1
  to ``last_epoch`` and writes the new lr into every group's ``"lr"``.
* The epoch schedules are computed recursively from the group's current lr, as PyTorch
  does (so schedulers can be chained and a manual lr change carries on); without outside
  changes they equal the closed forms given in each docstring.
* ``get_last_lr()`` returns the lrs the last step set; ``state_dict()`` /
  ``load_state_dict()`` save and restore everything but the optimizer.

:class:`ReduceLROnPlateau` instead reacts to a metric: ``step(val_loss)``.
"""

from __future__ import annotations

import copy
import math
from typing import Any, Mapping, Sequence

from nncore.optim.optimizers import Optimizer

__all__ = ["LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR",
           "ReduceLROnPlateau"]


def _check_optimizer(optimizer: Any) -> None:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) and not (
            hasattr(value, "__index__") and not isinstance(value, float)):
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    value = int(value)
    if value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def _nonnegative_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    value = int(value)
    if value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return value


def _finite(value: Any, name: str, low: float | None = None, low_open: bool = False,
            high: float | None = None, high_open: bool = False) -> float:
    """``value`` as a finite Python float within the given bounds, else ValueError."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number, got {value!r}")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    ok = math.isfinite(x)
    if ok and low is not None:
        ok = x > low if low_open else x >= low
    if ok and high is not None:
        ok = x < high if high_open else x <= high
    if not ok:
        lo = "" if low is None else f"{'(' if low_open else '['}{low}, "
        hi = "" if high is None else f"{high}{')' if high_open else ']'}"
        if low is not None and high is None:
            rule = f"> {low}" if low_open else f">= {low}"
        elif low is None and high is not None:
            rule = f"< {high}" if high_open else f"<= {high}"
        elif low is not None:
            rule = f"in {lo}{hi}"
        else:
            rule = "finite"
        raise ValueError(f"Invalid {name} value: {value} ({name} must be {rule})")
    return x


class LRScheduler:
    """Base class of the epoch-based schedules (PyTorch's ``LRScheduler``).

    Args:
        optimizer: the :class:`~nncore.optim.Optimizer` whose groups' ``"lr"`` it sets.
        last_epoch: the index of the last epoch done (default -1: start). To resume
            without a saved state, pass the last epoch; the groups must then already
            have ``"initial_lr"`` (saved with the optimizer's state).

    Attributes:
        base_lrs (list[float]): each group's ``initial_lr``.
        last_epoch (int): the number of ``step()`` calls so far, counted from 0 after
            construction.

    Raises:
        TypeError: if ``optimizer`` is not an Optimizer.
        KeyError: resuming (``last_epoch != -1``) when a group has no ``initial_lr``.
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        if isinstance(last_epoch, bool) or not hasattr(last_epoch, "__index__") \
                or int(last_epoch) < -1:
            raise ValueError(f"last_epoch must be an integer >= -1, got {last_epoch!r}")
        last_epoch = int(last_epoch)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"param 'initial_lr' is not specified in "
                                   f"param_groups[{i}] when resuming an optimizer")
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self.step()

    def get_lr(self) -> list[float]:
        """The lrs for epoch ``last_epoch`` (called by :meth:`step`; subclasses define it)."""
        raise NotImplementedError  # pragma: no cover

    def step(self) -> None:
        """Advance one epoch: ``last_epoch += 1`` and set every group's lr."""
        self._step_count += 1
        self.last_epoch += 1
        values = self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The learning rates set by the last :meth:`step`, one per group."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """A copy of the scheduler's state: every attribute except the optimizer."""
        return {k: copy.deepcopy(v) for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore a state from :meth:`state_dict` (copied).

        Raises:
            ValueError: if it was saved for another number of parameter groups.
        """
        base = state_dict.get("base_lrs")
        if base is not None and len(base) != len(self.optimizer.param_groups):
            raise ValueError(f"loaded scheduler state has {len(base)} base_lrs, the "
                             f"optimizer has {len(self.optimizer.param_groups)} parameter "
                             "groups")
        self.__dict__.update({k: copy.deepcopy(v) for k, v in state_dict.items()
                              if k != "optimizer"})

    def _current(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, lr={self._last_lr})"


class StepLR(LRScheduler):
    """Multiply each group's lr by ``gamma`` every ``step_size`` epochs.

    Closed form: ``lr = initial_lr * gamma ** (last_epoch // step_size)``.

    Args:
        optimizer: the optimizer.
        step_size: the period in epochs (a positive int).
        gamma: the multiplicative factor (default 0.1), > 0.
        last_epoch: see :class:`LRScheduler` (default -1).

    Raises:
        ValueError: for a non-positive or non-integer step_size, or gamma <= 0 / not
            finite, naming the argument.
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        self.step_size = _positive_int(step_size, "step_size")
        self.gamma = _finite(gamma, "gamma", low=0.0, low_open=True)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """PyTorch's recursive form: the current lr, times gamma when an epoch
        ``last_epoch > 0`` is a multiple of step_size."""
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current()
        return [lr * self.gamma for lr in self._current()]


class ExponentialLR(LRScheduler):
    """Multiply each group's lr by ``gamma`` every epoch.

    Closed form: ``lr = initial_lr * gamma ** last_epoch``.

    Args:
        optimizer: the optimizer.
        gamma: the multiplicative factor per epoch, > 0.
        last_epoch: see :class:`LRScheduler` (default -1).

    Raises:
        ValueError: for gamma <= 0 or not finite ("Invalid gamma value").
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = _finite(gamma, "gamma", low=0.0, low_open=True)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """The current lr times gamma (unchanged at epoch 0)."""
        if self.last_epoch == 0:
            return self._current()
        return [lr * self.gamma for lr in self._current()]


class CosineAnnealingLR(LRScheduler):
    r"""Cosine annealing from each group's initial lr down to ``eta_min`` in ``T_max``
    epochs (without the restarts of SGDR).

    Closed form: ``lr = eta_min + (initial_lr - eta_min) * (1 + cos(pi * last_epoch /
    T_max)) / 2``; past ``T_max`` it rises again along the cosine (period ``2 * T_max``),
    as PyTorch's.

    Computed recursively as PyTorch does::

        lr_t = eta_min + (lr_{t-1} - eta_min) * (1 + cos(pi t / T)) / (1 + cos(pi (t-1) / T))

    with the special case ``lr_t = lr_{t-1} + (initial_lr - eta_min) * (1 - cos(pi / T)) / 2``
    when ``(t - 1 - T) % (2T) == 0`` (where the ratio would divide by zero).

    Args:
        optimizer: the optimizer.
        T_max: the number of epochs of the half cosine (a positive int).
        eta_min: the minimum lr (default 0), >= 0.
        last_epoch: see :class:`LRScheduler` (default -1).

    Source: Loshchilov & Hutter, "SGDR: Stochastic gradient descent with warm restarts"
    (ICLR 2017).

    Raises:
        ValueError: for a non-positive or non-integer T_max, or eta_min < 0 / not finite.
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        self.T_max = _positive_int(T_max, "T_max")
        self.eta_min = _finite(eta_min, "eta_min", low=0.0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """PyTorch's recursive cosine step (see the class docstring)."""
        t, T, eta = self.last_epoch, self.T_max, self.eta_min
        groups = self.optimizer.param_groups
        if t == 0:
            return self._current()
        if self._step_count == 1 and t > 0:  # resumed with last_epoch: closed form
            return [eta + (base - eta) * (1 + math.cos(t * math.pi / T)) / 2
                    for base in self.base_lrs]
        if (t - 1 - T) % (2 * T) == 0:
            return [g["lr"] + (base - eta) * (1 - math.cos(math.pi / T)) / 2
                    for base, g in zip(self.base_lrs, groups)]
        return [(1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
                * (g["lr"] - eta) + eta for g in groups]


class ReduceLROnPlateau:
    """Reduce the learning rate when a metric has stopped improving.

    Call ``step(metric)`` once per epoch with the monitored value (e.g. the validation
    loss). When it has not improved for more than ``patience`` epochs, every group's lr
    becomes ``max(lr * factor, min_lr)`` (skipped if that changes it by eps or less),
    then ``cooldown`` epochs pass before bad epochs count again.

    Improvement of ``a`` over the best value so far, ``best``:

    * mode "min", threshold_mode "rel": ``a < best * (1 - threshold)``
    * mode "min", threshold_mode "abs": ``a < best - threshold``
    * mode "max", threshold_mode "rel": ``a > best * (1 + threshold)``
    * mode "max", threshold_mode "abs": ``a > best + threshold``

    A NaN metric never improves (it counts as a bad epoch).

    Args:
        optimizer: the optimizer.
        mode: "auto" (default: the direction of ``monitor``'s metric, from
            :func:`nncore.metrics.direction`, as Keras' ``ReduceLROnPlateau``; for the
            default ``val_loss`` that is PyTorch's default "min"), "min" (the metric
            should decrease) or "max". The attribute ``mode`` holds the direction used.
        factor: multiplier of the lr on a plateau (default 0.1), in [0, 1).
        patience: the number of bad epochs tolerated (default 10): the lr drops at the
            (patience+1)-th consecutive epoch without improvement. A non-negative int.
        threshold: the minimal significant change (default 1e-4), >= 0.
        threshold_mode: "rel" (default) or "abs", see above.
        cooldown: epochs after a reduction during which bad epochs are not counted
            (default 0). A non-negative int.
        min_lr: lower bound of the lr (default 0), a number for all groups or a list
            with one per group; each >= 0.
        eps: minimal lr change (default 1e-8): smaller reductions are skipped; >= 0.
        monitor: (keyword only) the name of the metric passed to :meth:`step` (default
            ``"val_loss"``, Keras' name): the :class:`~nncore.training.Trainer` steps
            with that value of the epoch's logs, and ``mode="auto"`` takes its direction.

    Attributes:
        best, num_bad_epochs, cooldown_counter, last_epoch: as PyTorch.
        monitor: the monitored metric's name.

    Raises:
        ValueError: for an unknown mode or threshold_mode, factor outside [0, 1)
            ("Factor should be < 1.0"), a negative patience/cooldown/threshold/min_lr/eps,
            or a min_lr list of the wrong length, naming the argument.
        TypeError: if ``optimizer`` is not an Optimizer.
    """

    def __init__(self, optimizer: Optimizer, mode: str = "auto", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: str = "rel",
                 cooldown: int = 0, min_lr: float | Sequence[float] = 0,
                 eps: float = 1e-8, *, monitor: str = "val_loss") -> None:
        _check_optimizer(optimizer)
        if not isinstance(monitor, str) or not monitor:
            raise ValueError(f"monitor must be a metric name, got {monitor!r}")
        self.monitor = monitor
        if mode == "auto":
            from nncore.metrics import direction

            mode = direction(monitor)
        factor_f = _finite(factor, "factor", low=0.0)
        if factor_f >= 1.0:
            raise ValueError(f"Factor should be < 1.0 (factor={factor})")
        self.factor = factor_f
        self.optimizer = optimizer
        n = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n:
                raise ValueError(f"expected {n} min_lrs, got {len(min_lr)} (min_lr)")
            self.default_min_lr = None
            self.min_lrs = [_finite(v, "min_lr", low=0.0) for v in min_lr]
        else:
            self.default_min_lr = _finite(min_lr, "min_lr", low=0.0)
            self.min_lrs = [self.default_min_lr] * n
        self.patience = _nonnegative_int(patience, "patience")
        self.cooldown = _nonnegative_int(cooldown, "cooldown")
        self.cooldown_counter = 0
        self.threshold = _finite(threshold, "threshold", low=0.0)
        self.eps = _finite(eps, "eps", low=0.0)
        self.mode = mode
        self.threshold_mode = threshold_mode
        self._init_is_better(mode, threshold_mode)
        self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]
        self._reset()

    def _init_is_better(self, mode: str, threshold_mode: str) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"mode {mode!r} is unknown: use 'auto', 'min' or 'max'")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"threshold mode {threshold_mode!r} is unknown: use 'rel' "
                             "or 'abs' (threshold_mode)")
        self.mode_worse = math.inf if mode == "min" else -math.inf

    def _reset(self) -> None:
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    @property
    def in_cooldown(self) -> bool:
        """Whether bad epochs are currently ignored after a reduction."""
        return self.cooldown_counter > 0

    def is_better(self, a: float, best: float) -> bool:
        """Whether ``a`` improves on ``best`` (see the class docstring)."""
        if self.mode == "min" and self.threshold_mode == "rel":
            return a < best * (1.0 - self.threshold)
        if self.mode == "min":
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    def step(self, metrics: Any) -> None:
        """Record one epoch's metric and reduce the lr if it has plateaued.

        Args:
            metrics: the monitored value (a number, or a one-element array/Tensor).
        """
        if hasattr(metrics, "item"):
            metrics = metrics.item()
        current = float(metrics)
        self.last_epoch += 1
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs in cooldown are ignored
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _reduce_lr(self) -> None:
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(f"the optimizer now has {len(groups)} parameter groups "
                                   f"but min_lr lists {len(self.min_lrs)}")
            self.min_lrs = [self.default_min_lr] * len(groups)
        for i, group in enumerate(groups):
            old_lr = float(group["lr"])
            new_lr = max(old_lr * self.factor, self.min_lrs[i])
            if old_lr - new_lr > self.eps:
                group["lr"] = new_lr

    def get_last_lr(self) -> list[float]:
        """The learning rates after the last :meth:`step`, one per group."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """A copy of the scheduler's state: every attribute except the optimizer."""
        return {k: copy.deepcopy(v) for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore a state from :meth:`state_dict` (copied; mode and threshold_mode are
        re-checked)."""
        self.__dict__.update({k: copy.deepcopy(v) for k, v in state_dict.items()
                              if k != "optimizer"})
        self._init_is_better(self.mode, self.threshold_mode)

    def __repr__(self) -> str:
        return (f"ReduceLROnPlateau(mode={self.mode!r}, factor={self.factor}, "
                f"patience={self.patience}, best={self.best}, lr={self._last_lr})")
