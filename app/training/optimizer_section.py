"""The OPTIMIZER section of the training panel: the optimizer and its arguments, the
learning-rate schedule and its arguments, all generated from the registries
(:data:`nncore.optim.OPTIMIZERS`, :data:`nncore.optim.SCHEDULES`): titles, kinds of
editor, ranges and help. Each change is one undoable command (see
:class:`~app.training.section.SettingsAccess`)."""

from __future__ import annotations

from functools import partial
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QGridLayout, QHBoxLayout, QLabel, QWidget

from app.training.section import Section, SettingsAccess
from app.training.section import form as _form
from app.training.section import label as _label
from app.widgets.fields import (FIELD_WIDTH, INT_MAX, NumberEdit, editor_value, fmt,
                                float_spin, int_spin, set_quietly)
from nncore.optim.registry import OPTIMIZERS, SCHEDULES, all_args
from nncore.project.settings import TrainingSettings
from nncore.spec import ParamSpec

__all__ = ["OptimizerSection", "CONSTANT_SCHEDULE"]

#: The schedule list's first entry, no schedule (``schedule`` None): title and tooltip.
#: The schedules, optimizers and metrics themselves come from their registries
#: (:data:`nncore.optim.SCHEDULES`, :data:`nncore.optim.OPTIMIZERS`,
#: :data:`nncore.metrics.METRICS`): titles, arguments, ranges and help.
CONSTANT_SCHEDULE = ("Constant", "The learning rate stays as set")


def _spin_spec(spec: ParamSpec) -> bool:
    """Whether a float argument is edited with a spin box: both bounds given and
    included (rho in [0, 1]); any other number is typed (``1e-5``) and the settings
    check it."""
    return (spec.type == "float" and not spec.log and spec.minimum is not None
            and spec.maximum is not None and not spec.exclusive_min and not spec.exclusive_max)


def _schedule_title(kind: str | None) -> str:
    return CONSTANT_SCHEDULE[0] if kind is None else SCHEDULES[kind].title


class OptimizerSection(Section):
    """The optimizer, its arguments and the learning-rate schedule.

    Args:
        access: the project's settings (read, commit, bind).
    """

    def __init__(self, access: SettingsAccess, parent: QWidget | None = None) -> None:
        super().__init__("Optimizer", parent)
        self._access = access
        self._row_shown: dict[str, bool] = {}  # optimizer option -> its editor is shown
        self._build()

    def _commit(self, changes: dict[str, Any], text: str) -> bool:
        return self._access.commit("training", changes, text, self)

    def shown_optimizer_options(self) -> dict[str, Any]:
        """The optimizer options whose editors are shown, with the values shown
        (``betas`` as a pair)."""
        shown: dict[str, Any] = {}
        for key, editor in self.opt_editors.items():
            if not self._row_shown.get(key, False):
                continue
            if isinstance(editor, tuple):  # a "floats" argument
                shown[key] = tuple(e.value() for e in editor)
            else:
                shown[key] = editor_value(editor)
        return shown

    def _build(self) -> None:
        form = self.optimizer_form = _form()
        self.optimizer_combo = QComboBox()
        self.optimizer_combo.setObjectName("optimizer")
        for name, info in OPTIMIZERS.items():
            self.optimizer_combo.addItem(info.title, name)
            self.optimizer_combo.setItemData(self.optimizer_combo.count() - 1,
                                             f"{info.help}.\n{info.paper}",
                                             Qt.ItemDataRole.ToolTipRole)
        self.optimizer_combo.setToolTip("How the weights are updated from the gradients "
                                        "(PyTorch's algorithms, names and defaults)")
        self.optimizer_combo.activated.connect(self._optimizer_activated)
        form.addRow(_label("Optimizer"), self.optimizer_combo)

        # one editor per argument of any registered optimizer (its kind from the
        # argument's spec); the current optimizer's rows are shown
        self.opt_editors: dict[str, Any] = {}
        self.opt_labels: dict[str, QLabel] = {}
        specs = all_args(OPTIMIZERS)
        self._flag_keys = [k for k, spec in specs.items() if spec.type == "bool"]
        order = [k for k in specs if k not in self._flag_keys]
        if "weight_decay" in order:  # last: the "decay biases too" box goes under it
            order.append(order.pop(order.index("weight_decay")))
        for key in order:
            spec = specs[key]
            label_text, tip = spec.title, f"{spec.help}\n({key})"
            if spec.type == "floats":
                pair = QWidget()
                pair_layout = QHBoxLayout(pair)
                pair_layout.setContentsMargins(0, 0, 0, 0)
                pair_layout.setSpacing(4)
                edits = tuple(NumberEdit() for _ in range(spec.length))
                for i, edit in enumerate(edits):
                    edit.setFixedWidth(FIELD_WIDTH // 2 + 10)
                    edit.setObjectName(f"opt_{key}_{i}")
                    edit.setToolTip(tip)
                    edit.committed.connect(partial(self._commit_item, key, i))
                    pair_layout.addWidget(edit)
                self.opt_editors[key] = edits
                field: QWidget = pair
            elif spec.type == "int":
                field = int_spin(-INT_MAX if spec.minimum is None else int(spec.minimum),
                                  INT_MAX if spec.maximum is None else int(spec.maximum))
                field.valueChanged.connect(partial(self._commit_option, key))
                self.opt_editors[key] = field
            elif _spin_spec(spec):
                field = float_spin(float(spec.minimum), float(spec.maximum), 0.01, 4)
                field.valueChanged.connect(partial(self._commit_option, key))
                self.opt_editors[key] = field
            else:
                field = NumberEdit()
                field.committed.connect(partial(self._commit_option, key))
                self.opt_editors[key] = field
            field.setObjectName(f"opt_{key}")
            field.setToolTip(tip)
            label = _label(label_text, tip)
            self.opt_labels[key] = label
            form.addRow(label, field)
            if key == "weight_decay":
                self.decay_check = QCheckBox("Decay biases and BatchNorm too")
                self.decay_check.setObjectName("decayBiasAndNorm")
                self.decay_check.setToolTip(
                    "Also apply weight decay to biases and BatchNorm's scale and shift.\n"
                    "Off by default, as usually recommended: decaying them does not reduce "
                    "overfitting\n(they hold few values and do not multiply inputs) and "
                    "can hurt BatchNorm.")
                self._access.bind(self.decay_check, "training", "decay_bias_and_norm",
                                  "Decay biases and BatchNorm", bool, self)
                form.addRow(self.decay_check)
        flags = QWidget()
        flags.setObjectName("opt_flags")
        grid = QGridLayout(flags)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(2)
        self._flags_grid = grid
        for key in self._flag_keys:
            box = QCheckBox(specs[key].title, flags)
            box.hide()
            box.setObjectName(f"opt_{key}")
            box.setToolTip(f"{specs[key].help}\n({key})")
            box.toggled.connect(partial(self._commit_option, key))
            self.opt_editors[key] = box
        self.flags_row = flags
        form.addRow(flags)
        col = self.column()
        col.addLayout(form)
        col.addStretch(1)

        # --- schedule
        form = self.schedule_form = _form()
        self.schedule_combo = QComboBox()
        self.schedule_combo.setObjectName("schedule")
        items = [(None, *CONSTANT_SCHEDULE)]
        items += [(kind, info.title, info.help) for kind, info in SCHEDULES.items()]
        for kind, title, tip in items:
            self.schedule_combo.addItem(title, kind)
            self.schedule_combo.setItemData(self.schedule_combo.count() - 1, tip,
                                            Qt.ItemDataRole.ToolTipRole)
        self.schedule_combo.setToolTip("How the learning rate changes from epoch to epoch")
        self.schedule_combo.activated.connect(self._schedule_activated)
        form.addRow(_label("LR schedule", "How the learning rate changes from epoch "
                                               "to epoch"), self.schedule_combo)
        self.schedule_editors: dict[str, QWidget] = {}
        for key, spec in all_args(SCHEDULES).items():
            tip = f"{spec.help}\n({key})"
            if spec.type == "int":
                editor = int_spin(0 if spec.minimum is None else int(spec.minimum),
                                   1_000_000 if spec.maximum is None else int(spec.maximum))
                editor.valueChanged.connect(partial(self._commit_schedule_arg, key))
            elif _spin_spec(spec):
                editor = float_spin(float(spec.minimum), float(spec.maximum), 0.01, 4)
                editor.valueChanged.connect(partial(self._commit_schedule_arg, key))
            else:
                editor = NumberEdit()
                editor.committed.connect(partial(self._commit_schedule_arg, key))
            editor.setObjectName(f"schedule_{key}")
            editor.setToolTip(tip)
            self.schedule_editors[key] = editor
            form.addRow(_label(spec.title, tip), editor)
        col = self.column()
        col.addLayout(form)
        col.addStretch(1)

    def _optimizer_activated(self, index: int) -> None:
        name = self.optimizer_combo.itemData(index)
        current, _ = self._access.read("training")
        if name == current.optimizer:
            return
        keep = OPTIMIZERS[name].specs
        options = {k: v for k, v in current.optimizer_options.items() if k in keep}
        self._commit({"optimizer": name, "optimizer_options": options},
                              f"Optimizer: {OPTIMIZERS[current.optimizer].title} → "
                              f"{OPTIMIZERS[name].title}")

    def _option_value(self, current: TrainingSettings, key: str) -> Any:
        return {**OPTIMIZERS[current.optimizer].defaults(),
                **current.optimizer_options}.get(key)

    def _commit_option(self, key: str, value: Any) -> None:
        current, _ = self._access.read("training")
        spec = OPTIMIZERS[current.optimizer].specs.get(key)
        if spec is None:
            return
        old = self._option_value(current, key)
        value = {"bool": bool, "int": int}.get(spec.type, float)(value)
        if value == old:
            return
        self._commit({"optimizer_options": {**current.optimizer_options, key: value}},
                              f"{spec.title}: {fmt(old)} → {fmt(value)}")

    def _commit_item(self, key: str, index: int, value: float) -> None:
        """One number of a ``floats`` argument (Adam's ``betas``) changed."""
        current, _ = self._access.read("training")
        spec = OPTIMIZERS[current.optimizer].specs.get(key)
        if spec is None:
            return
        old = tuple(self._option_value(current, key))
        new = tuple(value if i == index else b for i, b in enumerate(old))
        if new == old:
            return
        self._commit({"optimizer_options": {**current.optimizer_options,
                                                     key: list(new)}},
                              f"{spec.title}: {fmt(old)} → {fmt(new)}")

    # --- schedule
    def _schedule_activated(self, index: int) -> None:
        kind = self.schedule_combo.itemData(index)
        current, _ = self._access.read("training")
        old = current.schedule["type"] if current.schedule else None
        if kind == old:
            return
        self._commit({"schedule": {"type": kind} if kind else None},
                              f"LR schedule: {_schedule_title(old).lower()} → "
                              f"{_schedule_title(kind).lower()}")

    def _commit_schedule_arg(self, key: str, value: Any) -> None:
        current, _ = self._access.read("training")
        if not current.schedule:
            return
        kind = current.schedule["type"]
        info = SCHEDULES[kind]
        spec = info.specs.get(key)
        if spec is None:
            return
        value = int(value) if spec.type == "int" else float(value)
        old = {**info.defaults(), **current.schedule}[key]
        if value == old:
            return
        self._commit({"schedule": {**current.schedule, key: value}},
                              f"{info.title} {spec.title.lower()}: "
                              f"{fmt(old)} → {fmt(value)}")

    # --- training
    def show(self, tr: TrainingSettings, force: bool = False) -> None:
        """Show the project's optimizer and schedule of ``tr``: the rows of the chosen
        optimizer's and schedule's arguments (a number being typed keeps its text unless
        ``force``)."""
        set_quietly(self.optimizer_combo, tr.optimizer)
        info = OPTIMIZERS[tr.optimizer]
        defaults = info.defaults()
        values = {**defaults, **tr.optimizer_options}
        self._row_shown = {}
        for key, editor in self.opt_editors.items():
            shown = key in defaults
            self._row_shown[key] = shown
            widgets = editor if isinstance(editor, tuple) else (editor,)
            if key not in self._flag_keys:
                field = editor[0].parentWidget() if isinstance(editor, tuple) else editor
                self.optimizer_form.setRowVisible(field, shown)
            if not shown:
                continue
            if isinstance(editor, tuple):
                for w, v in zip(editor, values[key]):
                    set_quietly(w, v, force)
            else:
                set_quietly(editor, values[key], force)
            # the tooltip of this optimizer's argument: help, range, its default
            full = f"{info.specs[key].describe()}\n({key}, {info.title})"
            for w in (*widgets, *([self.opt_labels[key]] if key in self.opt_labels else [])):
                w.setToolTip(full)
        # the flags: two to a row, in the order of the signature
        grid = self._flags_grid
        while grid.count():
            grid.takeAt(0)
        flags = [k for k in defaults if k in self._flag_keys]
        for i, key in enumerate(flags):
            grid.addWidget(self.opt_editors[key], i // 2, i % 2)
        for key in self._flag_keys:
            self.opt_editors[key].setVisible(key in flags)
        self.optimizer_form.setRowVisible(self.flags_row, bool(flags))
        self.optimizer_form.setRowVisible(self.decay_check, "weight_decay" in defaults)

        kind = tr.schedule["type"] if tr.schedule else None
        set_quietly(self.schedule_combo, kind)
        args = {**SCHEDULES[kind].defaults(), **tr.schedule} if kind else {}
        for key, editor in self.schedule_editors.items():
            shown = key in args
            self.schedule_form.setRowVisible(editor, shown)
            if shown:
                spec = SCHEDULES[kind].specs[key]
                editor.setToolTip(f"{spec.describe()}\n({key}, {SCHEDULES[kind].title})")
            if shown:
                set_quietly(editor, args[key], force)

        for binding in self.bindings:
            binding.show(force)
