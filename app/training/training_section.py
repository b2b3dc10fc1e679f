"""The TRAINING section of the training panel: batch size, epochs, seed, gradient
clipping and early stopping, each editor a :class:`~app.widgets.binding.Binding` to the
project's setting (one undoable command per change; see
:class:`~app.training.section.SettingsAccess`)."""

from __future__ import annotations

import inspect
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QWidget

from app.training.section import Section, SettingsAccess
from app.training.section import form as _form
from app.training.section import label as _label
from app.widgets.fields import INT_MAX, NumberEdit, fmt, int_spin
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


def _clip_text(old: dict[str, Any], new: dict[str, Any]) -> str:
    """The text of a change of the clip norm (none: off)."""
    return f"Gradient clipping: {fmt(old['max_grad_norm'])} → {fmt(new['max_grad_norm'])}"


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

    def _es(self, tr: dict[str, Any]) -> dict[str, Any]:
        """Early stopping's settings shown: the project's, or the last ones while it is
        off, with EarlyStopping's defaults filled in."""
        return {**self._es_defaults, **(tr["early_stopping"] or self._last_es)}

    def _write_early_stopping(self, tr: dict[str, Any], on: bool) -> None:
        if tr["early_stopping"] is not None:  # turned off: remembered for turning on
            self._last_es = dict(tr["early_stopping"])
        tr["early_stopping"] = self._es(tr) if on else None

    def _bind_es(self, editor: QWidget, key: str, title: str, convert: Any = None,
                 **hooks: Any) -> None:
        """Bind an early-stopping field: editable while early stopping is on."""
        self._access.bind(editor, "training", ("early_stopping", key),
                          f"Early stopping {title}", convert, self,
                          default=lambda tr: self._es(tr)[key],
                          enabled=lambda tr: tr["early_stopping"] is not None, **hooks)

    def _build(self) -> None:
        bind = self._access.bind
        form = _form()
        self.batch_spin = int_spin(1, 1_000_000)
        self.batch_spin.setObjectName("batchSize")
        tip = "Samples per gradient step"
        self.batch_spin.setToolTip(tip)
        bind(self.batch_spin, "training", "batch_size", "Batch size", int, self)
        form.addRow(_label("Batch size", tip), self.batch_spin)
        self.epochs_spin = int_spin(1, 1_000_000)
        self.epochs_spin.setObjectName("epochs")
        tip = "Passes over the training data (early stopping may end sooner)"
        self.epochs_spin.setToolTip(tip)
        bind(self.epochs_spin, "training", "epochs", "Epochs", int, self)
        form.addRow(_label("Epochs", tip), self.epochs_spin)
        self.seed_spin = int_spin(0, INT_MAX)
        self.seed_spin.setObjectName("trainingSeed")
        tip = "Seed of the initial weights and of the shuffling: the same seed, the same run"
        self.seed_spin.setToolTip(tip)
        bind(self.seed_spin, "training", "seed", "Training seed", int, self)
        form.addRow(_label("Seed", tip), self.seed_spin)

        # clipping: on/off (the last norm remembered) and the norm
        clip, clip_layout = _row()
        self.clip_check = QCheckBox()
        self.clip_check.setObjectName("clipGradients")
        tip = ("Clip gradients: scale all gradients down together when their global norm "
               "exceeds this (tames exploding gradients)")
        self.clip_check.setToolTip(tip)
        bind(self.clip_check, "training", "max_grad_norm", "Gradient clipping", bool, self,
             read=lambda tr: tr["max_grad_norm"] is not None,
             write=lambda tr, on: tr.update(max_grad_norm=self._clip_value if on else None),
             text=_clip_text)
        self.clip_edit = NumberEdit()
        self.clip_edit.setObjectName("maxGradNorm")
        self.clip_edit.setToolTip(tip)
        bind(self.clip_edit, "training", "max_grad_norm", "Gradient clipping", float, self,
             default=lambda tr: self._clip_value,
             enabled=lambda tr: tr["max_grad_norm"] is not None, text=_clip_text)
        clip_layout.addWidget(self.clip_check)
        clip_layout.addWidget(self.clip_edit)
        form.addRow(_label("Clip norm", tip), clip)

        # early stopping: on/off (the last settings remembered) and its arguments
        es, es_layout = _row()
        self.es_check = QCheckBox()
        self.es_check.setObjectName("earlyStopping")
        tip = ("Stop when the watched metric has not improved for 'patience' epochs "
               "(and go back to the best weights)")
        self.es_check.setToolTip(tip)
        bind(self.es_check, "training", "early_stopping", "Early stopping", bool, self,
             read=lambda tr: tr["early_stopping"] is not None,
             write=self._write_early_stopping)
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
        # a loss goes down, an accuracy or R² up: the mode follows the metric
        self._bind_es(self.es_monitor, "monitor", "monitor",
                      write=lambda tr, m: tr["early_stopping"].update(monitor=m,
                                                                      mode=direction(m)))
        self.es_mode = QComboBox()
        self.es_mode.setObjectName("esMode")
        self.es_mode.addItem("min", "min")
        self.es_mode.addItem("max", "max")
        self.es_mode.setToolTip("min: lower is better (a loss); max: higher is better (an "
                                "accuracy, R²). Follows the metric when it is chosen.")
        self._bind_es(self.es_mode, "mode", "mode")
        es_layout.addWidget(self.es_check)
        es_layout.addWidget(self.es_monitor, 1)
        es_layout.addWidget(self.es_mode)
        form.addRow(_label("Stop early", tip), es)
        self.es_patience = int_spin(0, 1_000_000)
        self.es_patience.setObjectName("esPatience")
        tip = "Epochs without improvement before stopping"
        self.es_patience.setToolTip(tip)
        self._bind_es(self.es_patience, "patience", "patience", int)
        form.addRow(_label("Patience", tip), self.es_patience)
        self.es_min_delta = NumberEdit()
        self.es_min_delta.setObjectName("esMinDelta")
        tip = "The smallest change that counts as an improvement (min_delta)"
        self.es_min_delta.setToolTip(tip)
        self._bind_es(self.es_min_delta, "min_delta", "min delta", float)
        form.addRow(_label("Min change", tip), self.es_min_delta)
        self.es_restore = QCheckBox("Restore best weights")
        self.es_restore.setObjectName("esRestore")
        self.es_restore.setToolTip("When training ends, go back to the weights of the best "
                                   "epoch")
        self._bind_es(self.es_restore, "restore_best_weights", "restore best", bool)
        form.addRow(self.es_restore)
        col = self.column()
        col.addLayout(form)
        col.addStretch(1)

    def show(self, tr: TrainingSettings, force: bool = False) -> None:
        """Show the project's training settings ``tr`` (a number being typed keeps its
        text unless ``force``); the clip norm and early stopping's settings in force are
        remembered, for turning them on again."""
        if tr.max_grad_norm is not None:
            self._clip_value = tr.max_grad_norm
        if tr.early_stopping is not None:
            self._last_es = dict(tr.early_stopping)
        for binding in self.bindings:
            binding.show(force)
