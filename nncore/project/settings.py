"""The dataset and training settings saved with a graph, and what they build.

Settings are plain JSON-able dicts in the graph file (``graph.settings["dataset"]`` and
``graph.settings["training"]``); :class:`DatasetSettings` and :class:`TrainingSettings`
read them with defaults filled in and every value checked (a clear error names the
setting), write them back, and build the optimizer, scheduler and early stopping the
:class:`~nncore.training.Trainer` uses.

The optimizers, schedules, metrics and built-in datasets allowed, their arguments,
defaults and ranges come from the registries (:data:`nncore.optim.OPTIMIZERS`,
:data:`nncore.optim.SCHEDULES`, :data:`nncore.metrics.METRICS`,
:data:`nncore.data.DATASETS`): the optimizer options are exactly the engine's
constructor arguments (PyTorch's names and defaults) and the dataset options those of
:func:`nncore.data.load_dataset`, each checked by its :class:`~nncore.spec.ParamSpec`.
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from nncore.limits import MAX_BATCH_SIZE, MAX_EPOCHS
from nncore.metrics import direction, metric_of, monitors
from nncore.optim.registry import OPTIMIZERS, SCHEDULES
from nncore.spec import SpecError

__all__ = ["DatasetSettings", "TrainingSettings", "SettingsError", "MAX_SEED"]


class SettingsError(SpecError):
    """A setting is invalid; the message names it (e.g. ``training.lr``).

    A :class:`~nncore.spec.SpecError`: ``path`` says which setting when it is known
    (``"training.optimizer_options.lr"``), ``reason`` what is wrong.
    """


def _refused(error: SpecError) -> SettingsError:
    return SettingsError(error.reason, error.path)


#: The largest seed: 2**31 - 1 (NumPy takes any, but a seed must also fit the GUI's
#: integer fields, which are 32-bit signed).
MAX_SEED = 2**31 - 1


def _number(section: str, key: str, value: Any, low: float | None = None,
            high: float | None = None, integer: bool = False, positive: bool = False,
            allow_none: bool = False) -> Any:
    name = f"{section}.{key}"
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SettingsError(f"{name} must be a number, got {value!r}")
    try:
        as_float = float(value)
    except OverflowError:
        raise SettingsError(f"{name} is far too large ({len(str(value))} digits)") from None
    if not math.isfinite(as_float):
        raise SettingsError(f"{name} must be finite, got {value!r}")
    if integer:
        if as_float != int(value):
            raise SettingsError(f"{name} must be a whole number, got {value!r}")
        value = int(value)
    if (low is not None and value < low) or (high is not None and value > high) or \
            (positive and value <= 0):
        bound = "> 0" if positive else f"in [{low}, {high}]" if high is not None else f">= {low}"
        raise SettingsError(f"{name} must be {bound}, got {value!r}")
    return value


def _unknown(section: str, data: dict[str, Any], known: set[str]) -> None:
    extra = sorted(set(data) - known)
    if extra:
        raise SettingsError(f"{section}: unknown setting {extra[0]!r} (known: "
                            f"{', '.join(sorted(known))})")


@dataclass
class DatasetSettings:
    """Where the data comes from and how it is split.

    Attributes:
        source: ``"builtin"`` (``name`` with ``options``), ``"csv"`` or ``"npz"``
            (``path``, relative to the graph file or absolute).
        name: a built-in dataset (``"digits"``, ``"moons"``, ...).
        options: the built-in dataset's options (``noise``, ``n_samples``, ``seed``...),
            checked by the dataset's :class:`~nncore.spec.ParamSpec` s
            (:data:`nncore.data.DATASETS`); only those given are kept, normalized.
        path: the CSV/NPZ file.
        target: the CSV target column (name or 0-based index, negative from the end;
            default the last).
        task: ``"classification"``, ``"regression"`` or None (decided from the data:
            whole-number targets are classes) for a CSV/NPZ file.
        delimiter: the CSV field separator (default ``","``; None: detected from the
            first lines; ``nncore train --csv`` records the one it detects).
        header: where the CSV's column names are: ``"auto"`` (detected), None (no header
            row) or the 0-based row holding them (rows before it are skipped).
        columns, missing, category_encoding, fill_value, expand_dates: the recorded
            preprocessing of a CSV table (:class:`nncore.tables.PipelineSpec`): per
            column ``{"role", "kind", "encoding", "missing", "fill_value", "expand"}``
            (each optional), and for all columns the missing-value strategy (``"drop"``,
            ``"mean"``, ``"median"``, ``"most_frequent"``, ``"constant"``), the
            categorical encoding (``"one-hot"``, ``"ordinal"``), the constant and whether
            dates are expanded.
        classes: the class names in index order (the label mapping, saved with the
            project so that indices mean the same after reloading).
        val_fraction, test_fraction: shares of the samples held out (stratified).
        standardize: scale features with the training split's mean and deviation.
        seed: seed of the split.
    """

    source: str = "builtin"
    name: str = "digits"
    options: dict[str, Any] = field(default_factory=dict)
    path: str | None = None
    target: str | int | None = None
    task: str | None = None
    delimiter: str | None = ","
    header: str | int | None = "auto"
    columns: dict[str, dict[str, Any]] = field(default_factory=dict)
    missing: str = "drop"
    category_encoding: str = "one-hot"
    fill_value: float | str | None = None
    expand_dates: bool = False
    classes: list[str] | None = None
    val_fraction: float = 0.2
    test_fraction: float = 0.0
    standardize: bool = True
    seed: int = 0

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "DatasetSettings":
        """Read settings (defaults for what is missing).

        Raises:
            SettingsError: naming the first invalid or unknown setting.
        """
        if data is not None and not isinstance(data, dict):
            raise SettingsError(f"dataset settings must be an object, got {data!r}")
        data = copy.deepcopy(data or {})
        _unknown("dataset", data, {f.name for f in fields(cls)})
        s = cls(**data)
        if s.source not in ("builtin", "csv", "npz"):
            raise SettingsError(f"dataset.source must be builtin, csv or npz, got {s.source!r}")
        if s.source == "builtin" and not isinstance(s.name, str):
            raise SettingsError(f"dataset.name must be a text, got {s.name!r}")
        if s.source != "builtin" and not (isinstance(s.path, str) and s.path):
            raise SettingsError(f"dataset.path is needed for a {s.source} dataset")
        if isinstance(s.path, str) and "\0" in s.path:  # no file name holds one
            raise SettingsError(f"dataset.path cannot hold a NUL byte (character "
                                f"{s.path.index(chr(0)) + 1})")
        if not isinstance(s.options, dict):
            raise SettingsError(f"dataset.options must be an object, got {s.options!r}")
        if s.target is not None and (isinstance(s.target, bool)
                                     or not isinstance(s.target, (str, int))):
            raise SettingsError(f"dataset.target must be a column name or index, got {s.target!r}")
        if s.task not in (None, "classification", "regression"):
            raise SettingsError(f"dataset.task must be null, classification or regression, "
                                f"got {s.task!r}")
        if s.delimiter is not None and (not isinstance(s.delimiter, str)
                                        or len(s.delimiter) != 1):
            raise SettingsError(f"dataset.delimiter must be one character (or null: "
                                f"detected), got {s.delimiter!r}")
        if s.header != "auto" and s.header is not None and (
                isinstance(s.header, bool) or not isinstance(s.header, int) or s.header < 0):
            raise SettingsError(f"dataset.header must be \"auto\", null (no header row) or a "
                                f"row number >= 0, got {s.header!r}")
        try:
            s.pipeline_spec()
        except SpecError as e:
            raise _refused(e) from None
        if s.source == "builtin":
            from nncore.data import DATASETS
            if s.name not in DATASETS:
                raise SettingsError(f"dataset.name {s.name!r} is not a built-in dataset; "
                                    f"choose one of {', '.join(DATASETS)}")
            try:
                checked = DATASETS[s.name].validate(s.options, "dataset.options")
            except SpecError as e:
                raise _refused(e) from None
            # only what was given is kept (a file stays as it was), normalized
            s.options = {k: checked[k] for k in s.options}
        if s.classes is not None and (not isinstance(s.classes, list)
                                      or not all(isinstance(c, str) for c in s.classes)):
            raise SettingsError("dataset.classes must be a list of class names")
        s.val_fraction = _number("dataset", "val_fraction", s.val_fraction, 0.0, 0.9)
        s.test_fraction = _number("dataset", "test_fraction", s.test_fraction, 0.0, 0.9)
        if s.val_fraction + s.test_fraction >= 1.0:
            raise SettingsError("dataset.val_fraction + dataset.test_fraction must be < 1")
        if not isinstance(s.standardize, bool):
            raise SettingsError(f"dataset.standardize must be true or false, got {s.standardize!r}")
        s.seed = _number("dataset", "seed", s.seed, 0, MAX_SEED, integer=True)
        return s

    def to_dict(self) -> dict[str, Any]:
        """The settings as saved in the graph file."""
        return asdict(self)

    def pipeline_spec(self) -> Any:
        """The CSV preprocessing these settings record, as a
        :class:`nncore.tables.PipelineSpec`.

        Raises:
            SpecError: naming the invalid choice (``dataset.columns.age.missing must be
                one of drop, mean, median, most_frequent, constant, got 'avg'``).
        """
        from nncore.tables.pipeline import SPEC_KEYS, PipelineSpec

        return PipelineSpec.from_dict({k: getattr(self, k) for k in SPEC_KEYS}, "dataset")


@dataclass
class TrainingSettings:
    """How to train.

    Attributes:
        optimizer: a name in :data:`nncore.optim.OPTIMIZERS`.
        optimizer_options: the optimizer's keyword arguments (engine names: ``lr``,
            ``momentum``, ``nesterov``, ``betas``, ``eps``, ``weight_decay``...); missing
            ones take the engine's (PyTorch's) defaults.
        decay_bias_and_norm: also apply weight decay to biases and BatchNorm parameters
            (default False: they are excluded, the common recommendation).
        batch_size, epochs: minibatch size and the epoch limit.
        max_grad_norm: clip the global gradient norm (None: no clipping).
        schedule: None or ``{"type": "step" | "exponential" | "cosine" | "plateau", ...}``
            with the scheduler's arguments (:data:`nncore.optim.SCHEDULES`).
        early_stopping: None or ``{"monitor", "mode", "patience", "min_delta",
            "restore_best_weights"}`` (EarlyStopping's arguments); ``monitor`` one of
            :func:`nncore.metrics.monitors`, ``mode`` filled in from the metric's
            direction when missing or ``"auto"``.
        seed: seed of the weights' initialization and the shuffling.
    """

    optimizer: str = "adam"
    optimizer_options: dict[str, Any] = field(default_factory=dict)
    decay_bias_and_norm: bool = False
    batch_size: int = 32
    epochs: int = 20
    max_grad_norm: float | None = None
    schedule: dict[str, Any] | None = None
    early_stopping: dict[str, Any] | None = None
    seed: int = 0

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "TrainingSettings":
        """Read settings (defaults for what is missing).

        Raises:
            SettingsError: naming the first invalid or unknown setting.
        """
        if data is not None and not isinstance(data, dict):
            raise SettingsError(f"training settings must be an object, got {data!r}")
        data = copy.deepcopy(data or {})  # never change the caller's nested dicts
        _unknown("training", data, {f.name for f in fields(cls)})
        s = cls(**data)
        if s.optimizer not in OPTIMIZERS:
            raise SettingsError(f"training.optimizer must be one of {', '.join(OPTIMIZERS)}, "
                                f"got {s.optimizer!r}")
        if not isinstance(s.optimizer_options, dict):
            raise SettingsError("training.optimizer_options must be an object")
        s._check_optimizer()
        if not isinstance(s.decay_bias_and_norm, bool):
            raise SettingsError("training.decay_bias_and_norm must be true or false")
        s.batch_size = _number("training", "batch_size", s.batch_size, 1, None, integer=True)
        s.epochs = _number("training", "epochs", s.epochs, 1, None, integer=True)
        for key, limit in (("batch_size", MAX_BATCH_SIZE), ("epochs", MAX_EPOCHS)):
            if getattr(s, key) > limit:  # nncore.limits: the window's fields are 32-bit
                raise SettingsError(f"training.{key} is at most {limit:,}, got "
                                    f"{getattr(s, key):.3g}")
        s.max_grad_norm = _number("training", "max_grad_norm", s.max_grad_norm, positive=True,
                                  allow_none=True)
        s.seed = _number("training", "seed", s.seed, 0, MAX_SEED, integer=True)
        if s.schedule is not None:
            s._check_schedule()
        if s.early_stopping is not None:
            s._check_early_stopping()
        return s

    def to_dict(self) -> dict[str, Any]:
        """The settings as saved in the graph file (tuples as lists, for JSON)."""
        d = asdict(self)
        d["optimizer_options"] = {k: list(v) if isinstance(v, tuple) else v
                                  for k, v in self.optimizer_options.items()}
        return d

    # -- checks: the registry's specs, then the engine's objects built once, so that
    # -- their own validation (rules between arguments) applies too
    def _check_optimizer(self) -> None:
        from nncore.nn import Parameter
        import numpy as np

        info = OPTIMIZERS[self.optimizer]
        for key, value in self.optimizer_options.items():
            values = value if isinstance(value, (list, tuple)) else [value]
            for v in values:
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    try:
                        finite = math.isfinite(float(v))
                    except OverflowError:
                        finite = False
                    if not finite:
                        raise SettingsError(f"training.optimizer_options.{key} must be a "
                                            f"finite number, got {str(value)[:40]}")

        try:
            checked = info.validate(self.optimizer_options, "training.optimizer_options")
        except SpecError as e:
            raise _refused(e) from None
        # only what was given is kept (a file stays as it was), normalized
        self.optimizer_options = {k: checked[k] for k in self.optimizer_options}
        try:
            info.build([Parameter(np.zeros(1))], **self.optimizer_options)
        except (TypeError, ValueError) as e:
            raise SettingsError(f"training.optimizer_options: {e}") from None

    def _check_schedule(self) -> None:
        from nncore.nn import Parameter
        import numpy as np

        if not isinstance(self.schedule, dict) or self.schedule.get("type") not in SCHEDULES:
            raise SettingsError(f"training.schedule must be null or an object with a type "
                                f"among {', '.join(SCHEDULES)}, got {self.schedule!r}")
        kind = self.schedule["type"]
        args = {k: v for k, v in self.schedule.items() if k != "type"}
        try:
            checked = SCHEDULES[kind].validate(args, "training.schedule")
        except SpecError as e:
            raise _refused(e) from None
        self.schedule = {"type": kind, **{k: checked[k] for k in args}}
        try:
            self.make_scheduler(OPTIMIZERS["sgd"].build([Parameter(np.zeros(1))], lr=0.1))
        except (TypeError, ValueError) as e:
            raise SettingsError(f"training.schedule: {e}") from None

    def _check_early_stopping(self) -> None:
        if not isinstance(self.early_stopping, dict):
            raise SettingsError("training.early_stopping must be null or an object")
        monitor = self.early_stopping.get("monitor", "val_loss")
        if metric_of(monitor) is None:
            raise SettingsError(f"training.early_stopping.monitor must be a metric "
                                f"({', '.join(monitors())}), got {monitor!r}")
        best = direction(monitor)
        mode = self.early_stopping.get("mode")
        if mode in (None, "auto"):  # the direction follows the metric
            self.early_stopping["mode"] = best
        elif mode in ("min", "max") and mode != best:
            raise SettingsError(f"training.early_stopping.mode {mode!r} would keep the worst "
                                f"{monitor}: use {best}")
        try:
            self.make_early_stopping()
        except (TypeError, ValueError) as e:
            raise SettingsError(f"training.early_stopping: {e}") from None

    # -- building --------------------------------------------------------------
    def make_optimizer(self, model: Any) -> Any:
        """The optimizer over ``model``'s parameters, biases and BatchNorm parameters
        excluded from weight decay unless ``decay_bias_and_norm``."""
        from nncore import optim

        info = OPTIMIZERS[self.optimizer]
        options = dict(self.optimizer_options)
        if "weight_decay" not in info.specs:  # an optimizer without weight decay
            return info.build(list(model.parameters()), **options)
        wd = options.pop("weight_decay", info.specs["weight_decay"].default)
        groups = optim.param_groups_for_weight_decay(
            model, wd, exclude_bias_and_norm=not self.decay_bias_and_norm)
        return info.build(groups, **options)

    def make_scheduler(self, optimizer: Any) -> Any:
        """The learning-rate scheduler, or None.

        Raises:
            SpecError: for an unknown or invalid schedule argument.
        """
        if self.schedule is None:
            return None
        args = {k: v for k, v in self.schedule.items() if k != "type"}
        return SCHEDULES[self.schedule["type"]].build(optimizer, **args)

    def make_early_stopping(self) -> Any:
        """The EarlyStopping callback, or None."""
        if self.early_stopping is None:
            return None
        from nncore.training import EarlyStopping

        return EarlyStopping(**self.early_stopping)
