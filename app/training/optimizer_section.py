"""The OPTIMIZER section of the training panel: the optimizer and its arguments, the
learning-rate schedule and its arguments, all generated from the registries
(:data:`nncore.optim.OPTIMIZERS`, :data:`nncore.optim.SCHEDULES`): titles, kinds of
editor, ranges and help. Each change is one undoable command (see
:class:`~app.training.section.SettingsAccess`)."""

from __future__ import annotations

from functools import partial
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QGridLayout, QLabel, QWidget

from app.training.section import Section, SettingsAccess
from app.training.section import form as _form
from app.training.section import label as _label
from app.widgets.binding import Binding, spec_editor
from app.widgets.fields import editor_value
from nncore.optim.registry import OPTIMIZERS, SCHEDULES, all_args
from nncore.project.settings import TrainingSettings
from nncore.spec import ParamSpec

__all__ = ["OptimizerSection", "CONSTANT_SCHEDULE"]

#: The schedule list's first entry, no schedule (``schedule`` None): title and tooltip.
#: The schedules, optimizers and metrics themselves come from their registries
#: (:data:`nncore.optim.SCHEDULES`, :data:`nncore.optim.OPTIMIZERS`,
#: :data:`nncore.metrics.METRICS`): titles, arguments, ranges and help.
CONSTANT_SCHEDULE = ("Constant", "The learning rate stays as set")

Settings = dict[str, Any]


# --- what the bindings read from the training settings shown (a dict, defaults filled in)
def _optimizer_arg(key: str, tr: Settings) -> ParamSpec | None:
    """The chosen optimizer's spec of argument ``key`` (None: it has no such argument)."""
    return OPTIMIZERS[tr["optimizer"]].specs.get(key)


def _schedule_arg(key: str, tr: Settings) -> ParamSpec | None:
    """The chosen schedule's spec of argument ``key`` (None: no schedule, or no such
    argument)."""
    return SCHEDULES[tr["schedule"]["type"]].specs.get(key) if tr["schedule"] else None


def _optimizer_tip(key: str, tr: Settings, spec: ParamSpec | None) -> str:
    return f"{spec.describe()}\n({key}, {OPTIMIZERS[tr['optimizer']].title})" if spec else ""


def _schedule_tip(key: str, tr: Settings, spec: ParamSpec | None) -> str:
    title = SCHEDULES[tr["schedule"]["type"]].title if tr["schedule"] else ""
    return f"{spec.describe()}\n({key}, {title})" if spec else ""


def _schedule_arg_title(key: str, tr: Settings) -> str:
    info = SCHEDULES[tr["schedule"]["type"]]
    return f"{info.title} {info.specs[key].title.lower()}"


def _write_optimizer(tr: Settings, name: str) -> None:
    """Another optimizer: the options it shares with the old one are kept."""
    if name == tr["optimizer"]:
        return
    keep = OPTIMIZERS[name].specs
    tr["optimizer_options"] = {k: v for k, v in tr["optimizer_options"].items() if k in keep}
    tr["optimizer"] = name


def _write_schedule(tr: Settings, kind: str | None) -> None:
    """Another schedule, with its default arguments (None: a constant rate)."""
    old = tr["schedule"]["type"] if tr["schedule"] else None
    if kind != old:
        tr["schedule"] = {"type": kind} if kind else None


def _combo(name: str, items: list[tuple[Any, str, str]], tip: str) -> QComboBox:
    """A combo box of ``(value, title, tooltip)`` items."""
    combo = QComboBox()
    combo.setObjectName(name)
    for value, title, item_tip in items:
        combo.addItem(title, value)
        combo.setItemData(combo.count() - 1, item_tip, Qt.ItemDataRole.ToolTipRole)
    combo.setToolTip(tip)
    return combo


class OptimizerSection(Section):
    """The optimizer, its arguments and the learning-rate schedule.

    Every editor is a :class:`~app.widgets.binding.Binding`; an argument's editor is made
    from its spec (:func:`~app.widgets.binding.spec_editor`) and shows while the chosen
    optimizer or schedule has that argument.

    Args:
        access: the project's settings (read, commit, bind).
    """

    def __init__(self, access: SettingsAccess, parent: QWidget | None = None) -> None:
        super().__init__("Optimizer", parent)
        self._access = access
        self._arg_bindings: dict[str, Binding] = {}  # optimizer argument -> its binding
        self._build()

    def shown_optimizer_options(self) -> dict[str, Any]:
        """The optimizer options whose editors are shown, with the values shown
        (``betas`` as a pair)."""
        return {key: editor_value(self.opt_editors[key])
                for key, binding in self._arg_bindings.items() if binding.applies()}

    def _bind_arg(self, editor: QWidget, path: tuple[str, str], spec: Any, title: Any,
                  tip: Any) -> Binding:
        return self._access.bind(editor, "training", path, title, None, self, spec=spec,
                                 tip=tip)

    def _build(self) -> None:
        bind = self._access.bind
        form = self.optimizer_form = _form()
        self.optimizer_combo = _combo(
            "optimizer", [(name, info.title, f"{info.help}.\n{info.paper}")
                          for name, info in OPTIMIZERS.items()],
            "How the weights are updated from the gradients (PyTorch's algorithms, names "
            "and defaults)")
        bind(self.optimizer_combo, "training", "optimizer", "Optimizer", None, self,
             write=_write_optimizer)
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
        flags = QWidget()
        flags.setObjectName("opt_flags")
        self._flags_grid = QGridLayout(flags)
        self._flags_grid.setContentsMargins(0, 0, 0, 0)
        self._flags_grid.setHorizontalSpacing(10)
        self._flags_grid.setVerticalSpacing(2)
        for key in order + self._flag_keys:
            spec = specs[key]
            editor = spec_editor(spec)
            editor.setObjectName(f"opt_{key}")
            self.opt_editors[key] = editor
            self._arg_bindings[key] = self._bind_arg(
                editor, ("optimizer_options", key), partial(_optimizer_arg, key),
                lambda tr, k=key: OPTIMIZERS[tr["optimizer"]].specs[k].title,
                partial(_optimizer_tip, key))
            if key in self._flag_keys:  # laid out in the grid by show()
                editor.setParent(flags)
                editor.hide()
                continue
            label = _label(spec.title, f"{spec.help}\n({key})")
            self.opt_labels[key] = label
            form.addRow(label, editor)
            if key == "weight_decay":
                self.decay_check = spec_editor(ParamSpec(
                    "decay_bias_and_norm", "bool", False, label="Decay biases and BatchNorm too"))
                self.decay_check.setObjectName("decayBiasAndNorm")
                self.decay_check.setToolTip(
                    "Also apply weight decay to biases and BatchNorm's scale and shift.\n"
                    "Off by default, as usually recommended: decaying them does not reduce "
                    "overfitting\n(they hold few values and do not multiply inputs) and "
                    "can hurt BatchNorm.")
                bind(self.decay_check, "training", "decay_bias_and_norm",
                     "Decay biases and BatchNorm", bool, self,
                     shown=lambda tr: "weight_decay" in OPTIMIZERS[tr["optimizer"]].specs)
                form.addRow(self.decay_check)
        self.flags_row = flags
        form.addRow(flags)
        col = self.column()
        col.addLayout(form)
        col.addStretch(1)

        # --- schedule
        form = self.schedule_form = _form()
        tip = "How the learning rate changes from epoch to epoch"
        self.schedule_combo = _combo(
            "schedule", [(None, *CONSTANT_SCHEDULE)] + [(kind, info.title, info.help)
                                                        for kind, info in SCHEDULES.items()],
            tip)
        bind(self.schedule_combo, "training", "schedule", "LR schedule", None, self,
             read=lambda tr: tr["schedule"]["type"] if tr["schedule"] else None,
             write=_write_schedule)
        form.addRow(_label("LR schedule", tip), self.schedule_combo)
        self.schedule_editors: dict[str, QWidget] = {}
        for key, spec in all_args(SCHEDULES).items():
            editor = spec_editor(spec)
            editor.setObjectName(f"schedule_{key}")
            self.schedule_editors[key] = editor
            self._bind_arg(editor, ("schedule", key), partial(_schedule_arg, key),
                           partial(_schedule_arg_title, key), partial(_schedule_tip, key))
            form.addRow(_label(spec.title, f"{spec.help}\n({key})"), editor)
        col = self.column()
        col.addLayout(form)
        col.addStretch(1)

    def show(self, tr: TrainingSettings, force: bool = False) -> None:
        """Show the project's optimizer and schedule of ``tr``: the rows of the chosen
        optimizer's and schedule's arguments (a number being typed keeps its text unless
        ``force``)."""
        # the flags: two to a row, in the order of the signature
        grid = self._flags_grid
        while grid.count():
            grid.takeAt(0)
        flags = [k for k in OPTIMIZERS[tr.optimizer].specs if k in self._flag_keys]
        for i, key in enumerate(flags):
            grid.addWidget(self.opt_editors[key], i // 2, i % 2)
        self.optimizer_form.setRowVisible(self.flags_row, bool(flags))
        for binding in self.bindings:
            binding.show(force)
