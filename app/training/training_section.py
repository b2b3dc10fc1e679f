"""The TRAINING section of the training panel: batch size, epochs, seed, gradient
clipping and early stopping, each editor the project's setting (one undoable command per
change; see :class:`~app.training.section.SettingsAccess`)."""

from __future__ import annotations

import inspect
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QWidget

from app.training.section import Section, SettingsAccess
from app.training.section import form as _form
from app.training.section import label as _label
from app.widgets.fields import INT_MAX, NumberEdit, fmt, int_spin, set_quietly
from nncore.metrics import direction, metric_of, monitors
from nncore.project.settings import TrainingSettings

__all__ = ["TrainingSection"]


def _early_stopping_defaults() -> dict[str, Any]:
    from nncore.training import EarlyStopping

    defaults = {p.name: p.default for p in inspect.signature(EarlyStopping.__init__)
                .parameters.values() if p.default is not inspect.Parameter.empty}
    if defaults.get("mode") == "auto":  # shown as the direction it stands for
        defaults["mode"] = direction(defaults["monitor"])
    return defaults


def _row() -> tuple[QWidget, QHBoxLayout]:
    """A widget holding a tight row of fields (a check box and what it enables)."""
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(4)
    return row, layout


class TrainingSection(Section):
    """Batch size, epochs, seed, clip norm and early stopping.

    Args:
        access: the project's settings (read, commit, bind).
    """

    def __init__(self, access: SettingsAccess, parent: QWidget | None = None) -> None:
        super().__init__("Training", parent)
        self._access = access
        self._last_es: dict[str, Any] = {}  # early stopping's last settings, to turn it on
        self._clip_value = 1.0
        self._es_defaults = _early_stopping_defaults()
        self._build()

    def _commit(self, changes: dict[str, Any], text: str) -> bool:
        return self._access.commit("training", changes, text, self)

    def _build(self) -> None:
        form = _form()
        self.batch_spin = int_spin(1, 1_000_000)
        self.batch_spin.setObjectName("batchSize")
        tip = "Samples per gradient step"
        self.batch_spin.setToolTip(tip)
        self._access.bind(self.batch_spin, "training", "batch_size", "Batch size", int, self)
        form.addRow(_label("Batch size", tip), self.batch_spin)
        self.epochs_spin = int_spin(1, 1_000_000)
        self.epochs_spin.setObjectName("epochs")
        tip = "Passes over the training data (early stopping may end sooner)"
        self.epochs_spin.setToolTip(tip)
        self._access.bind(self.epochs_spin, "training", "epochs", "Epochs", int, self)
        form.addRow(_label("Epochs", tip), self.epochs_spin)
        self.seed_spin = int_spin(0, INT_MAX)
        self.seed_spin.setObjectName("trainingSeed")
        tip = "Seed of the initial weights and of the shuffling: the same seed, the same run"
        self.seed_spin.setToolTip(tip)
        self._access.bind(self.seed_spin, "training", "seed", "Training seed", int, self)
        form.addRow(_label("Seed", tip), self.seed_spin)
        clip, clip_layout = _row()
        self.clip_check = QCheckBox()
        self.clip_check.setObjectName("clipGradients")
        tip = ("Clip gradients: scale all gradients down together when their global norm "
               "exceeds this (tames exploding gradients)")
        self.clip_check.setToolTip(tip)
        self.clip_check.toggled.connect(self._clip_toggled)
        self.clip_edit = NumberEdit()
        self.clip_edit.setObjectName("maxGradNorm")
        self.clip_edit.setToolTip(tip)
        self.clip_edit.committed.connect(self._clip_committed)
        clip_layout.addWidget(self.clip_check)
        clip_layout.addWidget(self.clip_edit)
        form.addRow(_label("Clip norm", tip), clip)

        es, es_layout = _row()
        self.es_check = QCheckBox()
        self.es_check.setObjectName("earlyStopping")
        tip = ("Stop when the watched metric has not improved for 'patience' epochs "
               "(and go back to the best weights)")
        self.es_check.setToolTip(tip)
        self.es_check.toggled.connect(self._early_stopping_toggled)
        self.es_monitor = QComboBox()
        self.es_monitor.setObjectName("esMonitor")
        for m in monitors():
            self.es_monitor.addItem(m.replace("_", " "), m)
            metric = metric_of(m)
            part = "validation" if m.startswith("val_") else "training"
            self.es_monitor.setItemData(
                self.es_monitor.count() - 1,
                f"{metric.title} on the {part} part: {metric.help} "
                f"({'higher' if metric.direction == 'max' else 'lower'} is better)",
                Qt.ItemDataRole.ToolTipRole)
        self.es_monitor.setToolTip("The metric watched (val: on the validation part)")
        self.es_monitor.setMinimumContentsLength(8)
        self.es_monitor.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.es_monitor.activated.connect(self._monitor_activated)
        self.es_mode = QComboBox()
        self.es_mode.setObjectName("esMode")
        self.es_mode.addItem("min", "min")
        self.es_mode.addItem("max", "max")
        self.es_mode.setToolTip("min: lower is better (a loss); max: higher is better (an "
                                "accuracy, R²). Follows the metric when it is chosen.")
        self.es_mode.activated.connect(
            lambda i: self._commit_es("mode", self.es_mode.itemData(i), "mode"))
        es_layout.addWidget(self.es_check)
        es_layout.addWidget(self.es_monitor, 1)
        es_layout.addWidget(self.es_mode)
        form.addRow(_label("Stop early", tip), es)
        self.es_patience = int_spin(0, 1_000_000)
        self.es_patience.setObjectName("esPatience")
        tip = "Epochs without improvement before stopping"
        self.es_patience.setToolTip(tip)
        self.es_patience.valueChanged.connect(
            lambda v: self._commit_es("patience", int(v), "patience"))
        form.addRow(_label("Patience", tip), self.es_patience)
        self.es_min_delta = NumberEdit()
        self.es_min_delta.setObjectName("esMinDelta")
        tip = "The smallest change that counts as an improvement (min_delta)"
        self.es_min_delta.setToolTip(tip)
        self.es_min_delta.committed.connect(
            lambda v: self._commit_es("min_delta", float(v), "min delta"))
        form.addRow(_label("Min change", tip), self.es_min_delta)
        self.es_restore = QCheckBox("Restore best weights")
        self.es_restore.setObjectName("esRestore")
        self.es_restore.setToolTip("When training ends, go back to the weights of the best "
                                   "epoch")
        self.es_restore.toggled.connect(
            lambda on: self._commit_es("restore_best_weights", bool(on), "restore best"))
        form.addRow(self.es_restore)
        self._es_widgets = (self.es_monitor, self.es_mode, self.es_patience,
                            self.es_min_delta, self.es_restore)
        col = self.column()
        col.addLayout(form)
        col.addStretch(1)

    def _clip_toggled(self, on: bool) -> None:
        value = self._clip_value if on else None
        current, _ = self._access.read("training")
        self._commit({"max_grad_norm": value},
                     f"Gradient clipping: {fmt(current.max_grad_norm)} → {fmt(value)}")

    def _clip_committed(self, value: float) -> None:
        current, _ = self._access.read("training")
        if current.max_grad_norm is None:  # typed while off: remembered for later
            self._clip_value = value
            return
        if self._commit({"max_grad_norm": value},
                        f"Gradient clipping: {fmt(current.max_grad_norm)} → {fmt(value)}"):
            self._clip_value = value

    def _early_stopping_toggled(self, on: bool) -> None:
        current, _ = self._access.read("training")
        if current.early_stopping is not None:  # turned off: remembered for turning on
            self._last_es = dict(current.early_stopping)
        es = {**self._es_defaults, **self._last_es} if on else None
        self._commit({"early_stopping": es},
                     f"Early stopping: {fmt(current.early_stopping is not None)} → {fmt(on)}")

    def _commit_es(self, key: str, value: Any, title: str, extra: dict | None = None) -> None:
        current, _ = self._access.read("training")
        if current.early_stopping is None:
            return
        old = {**self._es_defaults, **current.early_stopping}[key]
        if value == old and not extra:
            return
        self._commit({"early_stopping": {**current.early_stopping, key: value,
                                         **(extra or {})}},
                     f"Early stopping {title}: {fmt(old)} → {fmt(value)}")

    def _monitor_activated(self, index: int) -> None:
        monitor = self.es_monitor.itemData(index)
        current, _ = self._access.read("training")
        if current.early_stopping is None:
            return
        es = {**self._es_defaults, **current.early_stopping}
        if monitor == es["monitor"]:
            return
        # a loss goes down, an accuracy or R² up: the mode follows the metric
        mode = direction(monitor)
        self._commit_es("monitor", monitor, "monitor",
                        {"mode": mode} if mode != es["mode"] else None)

    def show(self, tr: TrainingSettings, force: bool = False) -> None:
        """Show the project's training settings ``tr`` (a number being typed keeps its
        text unless ``force``)."""
        for binding in self.bindings:
            binding.show(force)
        clip = tr.max_grad_norm is not None
        if clip:
            self._clip_value = tr.max_grad_norm
        set_quietly(self.clip_check, clip)
        set_quietly(self.clip_edit, self._clip_value, force)
        self.clip_edit.setEnabled(clip)
        es_on = tr.early_stopping is not None
        es = {**self._es_defaults, **(tr.early_stopping or self._last_es)}
        if es_on:
            self._last_es = dict(tr.early_stopping)
        set_quietly(self.es_check, es_on)
        set_quietly(self.es_monitor, es["monitor"])
        set_quietly(self.es_mode, es["mode"])
        set_quietly(self.es_patience, es["patience"])
        set_quietly(self.es_min_delta, es["min_delta"], force)
        set_quietly(self.es_restore, es["restore_best_weights"])
        for w in self._es_widgets:
            w.setEnabled(es_on)
