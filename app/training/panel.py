"""The training panel: the project's dataset and training settings, and the run controls.

A wide, short panel for the window's bottom dock, in columns::

    DATA (source | split | preview) | OPTIMIZER (optimizer | schedule) | TRAINING | RUN

Its settings *are* the project's settings: every editor shows a value of
``document.graph.settings["dataset"]`` or ``["training"]`` (read through
:class:`~nncore.project.DatasetSettings` / :class:`~nncore.project.TrainingSettings`,
so what a file leaves out shows its default), and every committed change (Enter, focus
leaving a field, a click on a check box, a choice in a list) is one undoable
:class:`~app.editor.commands.SetSettings` command ("Optimizer: Adam → SGD") carrying the
new settings' ``to_dict()``. A value the settings refuse (a
:class:`~nncore.project.settings.SettingsError`) changes nothing: its message is shown in red
under the group and the editor gets the project's value back.

The panel follows the graph's ``settings_changed`` and ``graph_reset`` events (undo, redo,
open) and refreshes once per burst of events (a zero-delay timer).

The dataset preview loads the data the settings describe
(:func:`nncore.project.load_data`, relative paths against the project's folder): a line
like "1797 samples, 64 features, 10 classes (classification)", the split sizes, and for
1-D and 2-D data a small scatter plot coloured by class (or by target value). A file that
cannot be read shows its error (file, line and column) in red, never a traceback.

The run controls only emit signals (:attr:`TrainingPanel.train_requested`, ...); the
training controller does the work and tells the panel its state (:meth:`set_state`),
progress (:meth:`set_progress`) and last message (:meth:`set_message`).
"""

from __future__ import annotations

import csv
import html
import json
import os
import warnings
from functools import partial
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pyqtgraph as pg
import shiboken6
from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QFont, QPalette
from PySide6.QtWidgets import (QAbstractSpinBox, QApplication, QCheckBox, QComboBox,
                               QFileDialog, QFrame, QHBoxLayout, QLabel, QLineEdit, QScrollArea,
                               QSizePolicy, QSpinBox, QStackedWidget, QStyle, QToolButton,
                               QVBoxLayout, QWidget)

from app.editor.commands import SetSettings
from app.state import RunState, can
from app.training.optimizer_section import CONSTANT_SCHEDULE, OptimizerSection
from app.training.run_section import RunSection, format_progress
from app.training.section import Section, SettingsAccess
from app.training.section import form as _form
from app.training.section import label as _label
from app.training.training_section import TrainingSection
from app.widgets import tone
from app.widgets.fields import INT_MAX, NumberEdit, fmt, float_spin, int_spin, set_quietly
from nncore.data import DATASETS, Dataset, csv_columns, split
from nncore.project.settings import DatasetSettings, TrainingSettings
from nncore.project import dataset_for_graph, load_data_cached

__all__ = ["TrainingPanel", "CONSTANT_SCHEDULE", "CLASS_COLORS", "format_progress"]

#: Class colours of the dataset preview (cycled beyond ten classes).
CLASS_COLORS = ("#3a86ff", "#e63946", "#2a9d8f", "#f4a261", "#8e6cdb", "#6c8a5b", "#ff006e",
                "#8d99ae", "#ffbe0b", "#5e548e")

_MAX_POINTS = 3000    # the preview draws at most this many points (a fixed sample)
_DELIMITERS = ((",", "comma  ,"), (";", "semicolon  ;"), ("\t", "tab"), ("|", "bar  |"))
_TASKS = ((None, "automatic"), ("classification", "classification"),
          ("regression", "regression"))
#: What the file dialog offers for each file source.
_FILE_FILTERS = {"csv": "CSV files (*.csv *.tsv *.txt);;All files (*)",
                 "npz": "NumPy archives (*.npz);;All files (*)"}


# ============================================================================ helpers
def _guess_delimiter(path: str | os.PathLike) -> str:
    """The separator of a CSV file's first line: the most frequent of , ; tab |
    (a comma when none appears)."""
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as f:
            line = f.readline()
    except OSError:
        return ","
    counts = {d: line.count(d) for d, _ in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > counts[","] else ","


def _short(message: str, limit: int = 150) -> str:
    """A message cut to ``limit`` characters (with "…")."""
    return message if len(message) <= limit else message[:limit - 1].rstrip() + "…"


class _Preview(QStackedWidget):
    """The preview's frame: small by default, growing into the height the panel has."""

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(150, 96)


def _disconnect_all(callbacks: list[tuple[Any, Callable[..., Any]]], *args: Any) -> None:
    for event, callback in callbacks:
        event.disconnect(callback)


def _default_choose_file(parent: QWidget, kind: str, start: str) -> str | None:
    """Ask for a CSV (``kind="csv"``) or NPZ file with Qt's file dialog."""
    title = "Open a CSV data file" if kind == "csv" else "Open an NPZ data file"
    path, _ = QFileDialog.getOpenFileName(parent, title, start, _FILE_FILTERS[kind])
    return path or None


# ============================================================================ the panel
class TrainingPanel(QWidget):
    """The dataset and training settings of the project, and the run controls.

    Args:
        document: the :class:`~app.document.Document`; the panel shows and edits
            ``document.graph.settings`` through its undo stack.

    Signals:
        train_requested(): Train (start a run from the current weights' state).
        pause_requested(), resume_requested(): the Pause/Resume button or Ctrl+P.
        step_requested(str): ``"batch"`` or ``"epoch"``: run one more batch or epoch and
            pause (in the idle state: start a run that way).
        stop_requested(): Stop.
        reset_requested(): Reset weights (re-initialize the network).

    Attributes:
        choose_file: ``choose_file(parent, kind, start_dir) -> path or None`` asks for a
            data file (``kind``: ``"csv"`` or ``"npz"``); replace it in tests.
        preview_data: the loaded :class:`~nncore.data.Dataset`, or None.
        data_error: why the data cannot be loaded (text), or None.
        act_train, act_pause, act_step_batch, act_step_epoch, act_stop, act_reset:
            the actions of the controls (see :meth:`actions_for_window`).
    """

    train_requested = Signal()
    pause_requested = Signal()
    resume_requested = Signal()
    step_requested = Signal(str)
    stop_requested = Signal()
    reset_requested = Signal()

    def __init__(self, document: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trainingPanel")
        self.document = document
        self._graph = document.graph
        self.choose_file: Callable[[QWidget, str, str], str | None] = _default_choose_file
        self.preview_data: Dataset | None = None
        self.data_error: str | None = None
        self._preview_key: str | None = None
        self._columns_key: tuple | None = None
        self._columns: tuple[list[str], bool] = ([], False)
        self._shown: dict[str, Any] = {}
        self._tone_labels: list[tuple[QLabel, str]] = []  # (label, tone) to restyle
        self._groups: dict[str, Section] = {}  # "data", "optimizer", "training"
        self._access = SettingsAccess(document, lambda force: self._show_all(force=force),
                                      SetSettings)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._refresh)

        content = QWidget()
        content.setObjectName("trainingPanelContent")
        row = QHBoxLayout(content)
        row.setContentsMargins(8, 2, 8, 4)
        row.setSpacing(8)
        self.data_group = self._make_data_group()
        self.optimizer_group = OptimizerSection(self._access)
        self._groups["optimizer"] = self.optimizer_group
        for name in ("optimizer_combo", "opt_editors", "opt_labels", "decay_check", "flags_row",
                     "schedule_combo", "schedule_editors", "optimizer_form", "schedule_form"):
            setattr(self, name, getattr(self.optimizer_group, name))
        self.optimizer_error_label = self.optimizer_group.error_label
        self.training_group = TrainingSection(self._access)
        self._groups["training"] = self.training_group
        # its editors, as the panel's attributes (the tests use them)
        for name in ("batch_spin", "epochs_spin", "seed_spin", "clip_check", "clip_edit",
                     "es_check", "es_monitor", "es_mode", "es_patience", "es_min_delta",
                     "es_restore"):
            setattr(self, name, getattr(self.training_group, name))
        self.training_error_label = self.training_group.error_label
        self.controls_group = RunSection(self._commit_pending)
        run = self.controls_group
        for name in ("train", "pause", "resume", "step", "stop", "reset"):
            getattr(run, f"{name}_requested").connect(getattr(self, f"{name}_requested"))
        # the controls, as the panel's attributes (the window and the tests use them)
        for name in ("act_train", "act_pause", "act_step_batch", "act_step_epoch", "act_stop",
                     "act_reset", "buttons", "train_button", "pause_button",
                     "step_batch_button", "step_epoch_button", "stop_button", "reset_button",
                     "progress_bar", "progress_label", "message_label"):
            setattr(self, name, getattr(run, name))
        groups = (self.data_group, self.optimizer_group, self.training_group,
                  self.controls_group)
        for i, group in enumerate(groups):
            if i:
                line = QFrame()
                line.setFrameShape(QFrame.Shape.VLine)
                line.setFrameShadow(QFrame.Shadow.Sunken)
                row.addWidget(line)
            row.addWidget(group, 0 if group is not self.controls_group else 1)
        self._scroll = QScrollArea(self)
        self._scroll.setWidgetResizable(True)
        self._scroll.setFrameShape(QFrame.Shape.NoFrame)
        self._scroll.setWidget(content)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._scroll)
        for w in content.findChildren(QWidget):
            if isinstance(w, (QAbstractSpinBox, QComboBox)):
                w.installEventFilter(self)
        self._apply_tones()

        graph = self._graph
        self._callbacks = [(graph.settings_changed, self._on_graph_event),
                           (graph.graph_reset, self._on_graph_event)]
        for event, callback in self._callbacks:
            event.connect(callback)
        # The graph's events hold these callbacks: let go of them with the widget.
        self.destroyed.connect(partial(_disconnect_all, list(self._callbacks)))
        if hasattr(document, "path_changed"):
            document.path_changed.connect(self._on_graph_event)
        self.set_state(RunState.IDLE)
        self._refresh()

    # ================================================================ building
    def _group(self, title: str) -> tuple[Section, QHBoxLayout, QLabel]:
        """A titled group: header, a row of columns, an error line."""
        group = Section(title)
        self._groups[title.lower()] = group
        return group, group.columns, group.error_label

    @staticmethod
    def _column(columns: QHBoxLayout) -> QVBoxLayout:
        col = QVBoxLayout()
        col.setSpacing(4)
        columns.addLayout(col)
        return col

    def _bind(self, editor: QWidget, section: str, key: str, title: str,
              convert: Callable[[Any], Any] | None = None, group: str | None = None) -> None:
        """Bind ``editor`` to ``settings[section][key]`` (see :class:`Binding`); a refused
        value's reason goes to ``group``'s error line (the section's by default)."""
        group = group or ("data" if section == "dataset" else "training")
        self._access.bind(editor, section, key, title, convert, self._group_of(group))

    def _make_data_group(self) -> QWidget:
        group, columns, self.data_error_label = self._group("Data")

        # --- source and its options
        form = self.source_form = _form()
        self.source_combo = QComboBox()
        self.source_combo.setObjectName("dataSource")
        self.source_combo.setToolTip("The data the network is trained on")
        model = self.source_combo.model()
        for kind, title in (("real", "Real data"), ("synthetic", "Synthetic")):
            self.source_combo.addItem(title)
            item = model.item(self.source_combo.count() - 1)
            item.setEnabled(False)
            font = QFont(self.source_combo.font())
            font.setBold(True)
            item.setFont(font)
            for spec in DATASETS.values():
                if spec.kind == kind:
                    self.source_combo.addItem(spec.display_name, f"builtin:{spec.name}")
                    self.source_combo.setItemData(self.source_combo.count() - 1,
                                                  spec.description, Qt.ItemDataRole.ToolTipRole)
        self.source_combo.insertSeparator(self.source_combo.count())
        self.source_combo.addItem("CSV file…", "csv")
        self.source_combo.setItemData(self.source_combo.count() - 1,
                                      "Numbers in columns, one of them the target",
                                      Qt.ItemDataRole.ToolTipRole)
        self.source_combo.addItem("NPZ file…", "npz")
        self.source_combo.setItemData(self.source_combo.count() - 1,
                                      "A NumPy archive with arrays X and y",
                                      Qt.ItemDataRole.ToolTipRole)
        self.source_combo.setMinimumContentsLength(17)
        self.source_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.source_combo.activated.connect(self._source_activated)
        form.addRow(_label("Source", "The data the network is trained on"),
                    self.source_combo)

        # built-in options: every option any synthetic set has; rows shown as they apply
        self.option_editors: dict[str, QWidget] = {}
        self.option_labels: dict[str, QLabel] = {}
        names: list[str] = []
        for spec in DATASETS.values():
            for opt in spec.options:
                if opt.name not in names:
                    names.append(opt.name)
        names.sort(key=lambda n: n == "seed")  # as every spec lists them: the seed last
        for name in names:
            opt = next(o for s in DATASETS.values() for o in s.options if o.name == name)
            if opt.type is int:
                editor: QWidget = int_spin(opt.minimum, opt.maximum)
                editor.valueChanged.connect(partial(self._commit_data_option, name))
            else:
                editor = float_spin(opt.minimum, opt.maximum, 0.05, 3)
                editor.valueChanged.connect(partial(self._commit_data_option, name))
            editor.setObjectName(f"data_{name}")
            label = _label(opt.label)
            self.option_editors[name] = editor
            self.option_labels[name] = label
            form.addRow(label, editor)

        # file rows
        file_row = QHBoxLayout()
        file_row.setSpacing(2)
        self.file_edit = QLineEdit()
        self.file_edit.setReadOnly(True)
        self.file_edit.setObjectName("dataFile")
        self.file_edit.setMinimumWidth(90)
        self.browse_button = QToolButton()
        self.browse_button.setText("…")
        self.browse_button.setToolTip("Choose another file")
        self.browse_button.clicked.connect(self._browse)
        self.reload_button = QToolButton()
        self.reload_button.setIcon(self.style().standardIcon(
            QStyle.StandardPixmap.SP_BrowserReload))
        self.reload_button.setToolTip("Read the file again (after editing it)")
        self.reload_button.clicked.connect(self.reload_data)
        file_row.addWidget(self.file_edit, 1)
        file_row.addWidget(self.browse_button)
        file_row.addWidget(self.reload_button)
        self.file_row = QWidget()
        self.file_row.setLayout(file_row)
        file_row.setContentsMargins(0, 0, 0, 0)
        form.addRow(_label("File"), self.file_row)
        self.target_combo = QComboBox()
        self.target_combo.setObjectName("dataTarget")
        self.target_combo.setToolTip("The column to predict; the others are the features")
        self.target_combo.setMinimumContentsLength(10)
        self.target_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.target_combo.activated.connect(self._target_activated)
        form.addRow(_label("Target", "The column to predict"), self.target_combo)
        self.task_combo = QComboBox()
        self.task_combo.setObjectName("dataTask")
        for value, text in _TASKS:
            self.task_combo.addItem(text, value)
        self.task_combo.setToolTip("Automatic: whole-number or text targets are classes, "
                                   "numbers with a fraction are values to predict "
                                   "(a network ending in MSE reads numbers as values)")
        self.task_combo.activated.connect(self._task_activated)
        form.addRow(_label("Task"), self.task_combo)
        self.delimiter_combo = QComboBox()
        self.delimiter_combo.setObjectName("dataDelimiter")
        for value, text in _DELIMITERS:
            self.delimiter_combo.addItem(text, value)
        self.delimiter_combo.setToolTip("The character between two fields of a line")
        self.delimiter_combo.activated.connect(self._delimiter_activated)
        form.addRow(_label("Separator"), self.delimiter_combo)
        col = self._column(columns)
        col.addLayout(form)
        self.summary_label = QLabel()
        self.summary_label.setObjectName("dataSummary")
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary_label.setMaximumWidth(260)
        col.addWidget(self.summary_label)
        self.split_label = QLabel()
        self.split_label.setObjectName("dataSplit")
        self.split_label.setWordWrap(True)
        self.split_label.setMaximumWidth(260)
        self._tone_labels.append((self.split_label, "muted"))
        col.addWidget(self.split_label)
        col.addStretch(1)

        # --- split
        form = _form()
        self.val_spin = float_spin(0.0, 0.9, 0.05, 3)
        self.val_spin.setObjectName("dataValFraction")
        self._bind(self.val_spin, "dataset", "val_fraction", "Validation share", float)
        tip = ("Share of the samples held out to measure the network on data it does not "
               "train on (stratified by class)")
        self.val_spin.setToolTip(tip)
        form.addRow(_label("Validation", tip), self.val_spin)
        self.test_spin = float_spin(0.0, 0.9, 0.05, 3)
        self.test_spin.setObjectName("dataTestFraction")
        self._bind(self.test_spin, "dataset", "test_fraction", "Test share", float)
        tip = "Share of the samples kept aside for a final test, never used in training"
        self.test_spin.setToolTip(tip)
        form.addRow(_label("Test", tip), self.test_spin)
        self.standardize_check = QCheckBox("Standardize")
        self.standardize_check.setObjectName("dataStandardize")
        self.standardize_check.setToolTip(
            "Scale every feature to mean 0 and deviation 1, with the training part's "
            "statistics (helps most networks)")
        self._bind(self.standardize_check, "dataset", "standardize", "Standardize", bool)
        form.addRow(self.standardize_check)
        self.split_seed_spin = int_spin(0, INT_MAX)
        self.split_seed_spin.setObjectName("dataSplitSeed")
        tip = "Seed of the split: the same seed holds out the same samples"
        self.split_seed_spin.setToolTip(tip)
        self._bind(self.split_seed_spin, "dataset", "seed", "Split seed", int)
        form.addRow(_label("Split seed", tip), self.split_seed_spin)
        col = self._column(columns)
        col.addLayout(form)

        # --- preview, under the split
        self.preview_stack = _Preview()
        self.preview_stack.setMinimumSize(150, 96)
        self.preview_stack.setMaximumHeight(140)
        self.preview_stack.setSizePolicy(QSizePolicy.Policy.Preferred,
                                         QSizePolicy.Policy.Expanding)
        self.preview_plot = pg.PlotWidget()
        self.preview_plot.setObjectName("dataPreview")
        self.preview_plot.setMenuEnabled(False)
        self.preview_plot.setMouseEnabled(False, False)
        self.preview_plot.hideButtons()
        item = self.preview_plot.getPlotItem()
        item.hideAxis("left")
        item.hideAxis("bottom")
        item.setContentsMargins(2, 2, 2, 2)
        self.preview_plot.setFrameShape(QFrame.Shape.StyledPanel)
        self.scatter = pg.ScatterPlotItem(size=4, pen=None)
        self.preview_plot.addItem(self.scatter)
        self.preview_message = QLabel()
        self.preview_message.setObjectName("dataPreviewMessage")
        self.preview_message.setWordWrap(True)
        self.preview_message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview_message.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse)
        self.preview_message.setFrameShape(QFrame.Shape.StyledPanel)
        self.preview_stack.addWidget(self.preview_plot)
        self.preview_stack.addWidget(self.preview_message)
        col.addSpacing(2)
        col.addWidget(self.preview_stack, 1)
        return group

    # ================================================================ public
    @property
    def state(self) -> RunState:
        """The state last given to :meth:`set_state`."""
        return self.controls_group.state

    def actions_for_window(self) -> list[QAction]:
        """The controls as actions with their shortcuts, for the window's Training menu:
        Train (Ctrl+Return), Pause/Resume (Ctrl+P), Step One Batch (Ctrl+B), Step to End
        of Epoch (Ctrl+E), Stop (Ctrl+.), Reset Weights (Ctrl+Shift+R)."""
        return [self.act_train, self.act_pause, self.act_step_batch, self.act_step_epoch,
                self.act_stop, self.act_reset]

    def set_state(self, state: RunState | str) -> None:
        """Show the controller's :class:`~app.state.RunState`: each control is
        enabled when :func:`~app.state.can` allows its action (see
        :meth:`RunSection.set_state`); the settings are read-only unless idle.

        Raises:
            ValueError: for another state (also a run's end state: finished, ...).
        """
        self.controls_group.set_state(state)
        for group in (self.data_group, self.optimizer_group, self.training_group):
            group.setEnabled(can(self.state, "edit"))

    def set_progress(self, epoch: int, epochs: int, batch: int | None = None,
                     batches: int | None = None, samples_per_s: float | None = None,
                     eta_s: float | None = None) -> None:
        """Show where the run is (see :meth:`RunSection.set_progress`)."""
        self.controls_group.set_progress(epoch, epochs, batch, batches, samples_per_s, eta_s)

    def clear_progress(self, text: str = "Not trained yet") -> None:
        """Empty the bar and show ``text`` instead of the progress (e.g. after Reset
        weights)."""
        self.controls_group.clear_progress(text)

    def set_message(self, text: str, error: bool = False) -> None:
        """Show the last status (e.g. "Stopped early at epoch 12: best val_loss 0.08"),
        in red when ``error``."""
        self.controls_group.set_message(text, error)

    @property
    def _message_error(self) -> bool:
        return self.controls_group._message_error

    def refresh_now(self) -> None:
        """Show the project's settings at once instead of at the next event-loop turn."""
        self._timer.stop()
        self._refresh()

    def reload_data(self) -> None:
        """Read the data file again (its header and the preview)."""
        self._columns_key = None
        self._preview_key = None
        self.refresh_now()

    def dataset_settings(self) -> DatasetSettings:
        """The dataset settings shown (the project's, defaults filled in)."""
        return self._read_dataset()[0]

    def training_settings(self) -> TrainingSettings:
        """The training settings shown (the project's, defaults filled in)."""
        return self._read_training()[0]

    def shown_optimizer_options(self) -> dict[str, Any]:
        """The optimizer options whose editors are shown, with the values shown
        (``betas`` as a pair)."""
        return self.optimizer_group.shown_optimizer_options()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(1400, 260)

    # ================================================================ reading settings
    def _read_dataset(self) -> tuple[DatasetSettings, str | None]:
        return self._access.read("dataset")

    def _read_training(self) -> tuple[TrainingSettings, str | None]:
        return self._access.read("training")

    def _base_dir(self) -> Path | None:
        path = getattr(self.document, "path", None)
        return Path(path).parent if path else None

    # ================================================================ committing
    def _group_of(self, group: str) -> Section:
        return self._groups[group]

    def _error_label(self, group: str) -> QLabel:
        return self._group_of(group).error_label

    def _show_error(self, group: str, message: str) -> None:
        self._group_of(group).show_error(message)

    def _commit_dataset(self, changes: dict[str, Any], text: str) -> bool:
        """One SetSettings for a change of the dataset settings; False if refused."""
        return self._access.commit("dataset", changes, text, self.data_group)

    def _commit_training(self, changes: dict[str, Any], text: str, group: str) -> bool:
        """One SetSettings for a change of the training settings; False if refused."""
        return self._access.commit("training", changes, text, self._group_of(group))

    # --- data
    @staticmethod
    def _data_title(ds: DatasetSettings) -> str:
        if ds.source == "builtin":
            spec = DATASETS.get(ds.name)
            return spec.display_name if spec else ds.name
        return Path(ds.path or "?").name

    def _source_activated(self, index: int) -> None:
        key = self.source_combo.itemData(index)
        current, _ = self._read_dataset()
        if not isinstance(key, str):
            self._show_dataset(current)
            return
        if key.startswith("builtin:"):
            name = key.split(":", 1)[1]
            if current.source == "builtin" and current.name == name:
                return
            self._commit_dataset(
                {"source": "builtin", "name": name, "options": {}, "path": None,
                 "target": None, "task": None, "classes": None},
                f"Dataset: {self._data_title(current)} → {DATASETS[name].display_name}")
        else:
            self._choose_data_file(key)

    def _browse(self) -> None:
        current, _ = self._read_dataset()
        self._choose_data_file(current.source if current.source != "builtin" else "csv")

    def _choose_data_file(self, kind: str) -> None:
        current, _ = self._read_dataset()
        start = str(self._base_dir() or Path.home())
        if current.source != "builtin" and current.path:
            p = Path(current.path)
            p = p if p.is_absolute() or self._base_dir() is None else self._base_dir() / p
            start = str(p.parent)
        path = self.choose_file(self, kind, start)
        if not path:
            self._show_dataset(current)  # the list goes back to the source in use
            return
        stored = self._stored_path(Path(path))
        changes: dict[str, Any] = {"source": kind, "path": stored, "target": None,
                                   "task": None, "classes": None, "options": {}}
        if kind == "csv":
            changes["delimiter"] = _guess_delimiter(path)
        if not self._commit_dataset(changes, f"Dataset: {self._data_title(current)} → "
                                             f"{Path(path).name}"):
            return
        self.reload_data()

    def _stored_path(self, path: Path) -> str:
        """The path as saved: relative to the project's folder when the file is inside
        it, else absolute."""
        path = path.resolve()
        base = self._base_dir()
        if base is not None:
            try:
                return path.relative_to(base.resolve()).as_posix()
            except ValueError:
                pass
        return str(path)

    def _commit_data_option(self, name: str, value: Any) -> None:
        current, _ = self._read_dataset()
        spec = DATASETS.get(current.name)
        if current.source != "builtin" or spec is None:
            return
        value = int(value) if spec.option(name).type is int else float(value)
        old = spec.resolve(current.options)[name]
        if value == old:
            return
        self._commit_dataset({"options": {**current.options, name: value}},
                             f"{spec.display_name} {spec.option(name).label.lower()}: "
                             f"{fmt(old)} → {fmt(value)}")

    def _target_activated(self, index: int) -> None:
        current, _ = self._read_dataset()
        value = self.target_combo.itemData(index)
        shown = self._target_index(current)
        if index == shown and current.target is not None:
            return
        if current.target is None and index == len(self._columns[0]) - 1:
            return  # the last column is the target already
        before = self.target_combo.itemText(shown) if shown >= 0 else fmt(current.target)
        self._commit_dataset({"target": value, "classes": None},
                             f"Target column: {before} → {self.target_combo.itemText(index)}")

    def _task_activated(self, index: int) -> None:
        value = self.task_combo.itemData(index)
        current, _ = self._read_dataset()
        if value == current.task:
            return
        self._commit_dataset({"task": value, "classes": None},
                             f"Task: {current.task or 'automatic'} → {value or 'automatic'}")

    def _delimiter_activated(self, index: int) -> None:
        value = self.delimiter_combo.itemData(index)
        current, _ = self._read_dataset()
        if value == current.delimiter:
            return
        names = dict(_DELIMITERS)
        self._commit_dataset({"delimiter": value, "target": None, "classes": None},
                             f"Separator: "
                             f"{names.get(current.delimiter, current.delimiter).split()[0]} "
                             f"→ {names[value].split()[0]}")

    # --- controls
    def _commit_pending(self) -> None:
        """A field being typed in commits its text (before a run reads the settings)."""
        focused = QApplication.focusWidget()
        if isinstance(focused, NumberEdit) and self.isAncestorOf(focused) \
                and focused.isModified():
            focused.editingFinished.emit()

    # ================================================================ showing
    def _on_graph_event(self, *args: Any) -> None:
        if shiboken6.isValid(self) and not self._timer.isActive():
            self._timer.start()

    def _refresh(self) -> None:
        self._show_all()
        self._update_preview()

    def _show_all(self, force: bool = False) -> None:
        ds, ds_error = self._read_dataset()
        tr, tr_error = self._read_training()
        ds_dict, tr_dict = ds.to_dict(), tr.to_dict()
        if ds_dict != self._shown.get("dataset"):
            self.data_error_label.hide()
        if tr_dict != self._shown.get("training"):
            self.optimizer_error_label.hide()
            self.training_error_label.hide()
        self._shown = {"dataset": ds_dict, "training": tr_dict}
        self._show_dataset(ds, force)
        self._show_training(tr, force)
        if ds_error:
            self._show_error("data", f"The project's dataset settings are invalid ({ds_error}); "
                                     "the defaults are shown, a change here replaces them.")
        if tr_error:
            self._show_error("training", f"The project's training settings are invalid "
                                         f"({tr_error}); the defaults are shown, a change "
                                         "here replaces them.")

    def _show_dataset(self, ds: DatasetSettings, force: bool = False) -> None:
        key = f"builtin:{ds.name}" if ds.source == "builtin" else ds.source
        combo = self.source_combo
        blocked = combo.blockSignals(True)
        combo.setCurrentIndex(max(combo.findData(key), 0))
        combo.blockSignals(blocked)
        builtin = ds.source == "builtin"
        spec = DATASETS.get(ds.name) if builtin else None
        combo.setToolTip(spec.description if spec else
                         "CSV file: numbers in columns" if ds.source == "csv" else
                         "NPZ file: arrays X and y")
        values = spec.resolve(ds.options) if spec else {}
        form = self.source_form
        for name, editor in self.option_editors.items():
            shown = spec is not None and name in values
            form.setRowVisible(editor, shown)
            if shown:
                opt = spec.option(name)
                if isinstance(editor, QSpinBox):
                    editor.setRange(int(opt.minimum), min(int(opt.maximum), INT_MAX))
                else:
                    editor.setRange(float(opt.minimum), float(opt.maximum))
                set_quietly(editor, values[name])
                tip = f"{opt.help}\nAllowed: {opt.minimum:g} to {opt.maximum:g}; " \
                      f"default {opt.default:g}"
                editor.setToolTip(tip)
                self.option_labels[name].setText(opt.label)
                self.option_labels[name].setToolTip(tip)
        form.setRowVisible(self.file_row, not builtin)
        form.setRowVisible(self.target_combo, ds.source == "csv")
        form.setRowVisible(self.delimiter_combo, ds.source == "csv")
        form.setRowVisible(self.task_combo, not builtin)
        if not builtin:
            self.file_edit.setText(ds.path or "")
            self.file_edit.setCursorPosition(len(ds.path or ""))  # the file name shows
            full = Path(ds.path or "")
            if not full.is_absolute() and self._base_dir() is not None:
                full = self._base_dir() / full
            self.file_edit.setToolTip(str(full))
            set_quietly(self.task_combo, ds.task)
        if ds.source == "csv":
            set_quietly(self.delimiter_combo, ds.delimiter)
            self._fill_targets(ds)
        for binding in self.data_group.bindings:
            binding.show(force)

    def _csv_path(self, ds: DatasetSettings) -> Path:
        path = Path(ds.path or "")
        if not path.is_absolute() and self._base_dir() is not None:
            path = self._base_dir() / path
        return path

    def _fill_targets(self, ds: DatasetSettings) -> None:
        path = self._csv_path(ds)
        try:
            stamp = path.stat().st_mtime
        except OSError:
            stamp = None
        key = (str(path), ds.delimiter, stamp)
        if key != self._columns_key:
            self._columns_key = key
            try:
                self._columns = csv_columns(path, ds.delimiter)
            except (OSError, UnicodeDecodeError, csv.Error):
                self._columns = ([], False)
        names, header = self._columns
        combo = self.target_combo
        blocked = combo.blockSignals(True)
        combo.clear()
        for i, name in enumerate(names):
            combo.addItem(name, name if header else i)
        index = self._target_index(ds)
        if index < 0 and ds.target is not None:
            combo.addItem(f"{ds.target} (not in the file)", ds.target)
            index = combo.count() - 1
        combo.setCurrentIndex(index)
        combo.blockSignals(blocked)

    def _target_index(self, ds: DatasetSettings) -> int:
        names, header = self._columns
        n = len(names)
        if ds.target is None:
            return n - 1
        if isinstance(ds.target, int):
            t = ds.target + n if ds.target < 0 else ds.target
            return t if 0 <= t < n else -1
        if header and ds.target in names:
            return names.index(ds.target)
        return -1

    def _show_training(self, tr: TrainingSettings, force: bool = False) -> None:
        self.optimizer_group.show(tr, force)
        self.training_group.show(tr, force)

    # ================================================================ preview
    def _update_preview(self, force: bool = False) -> None:
        ds, _ = self._read_dataset()
        resolved = dataset_for_graph(ds, self._graph)
        base = self._base_dir()
        stamp = None
        if ds.source != "builtin":
            try:
                stamp = self._csv_path(ds).stat().st_mtime
            except OSError:
                stamp = None
        key = json.dumps([resolved.to_dict(), str(base), stamp], sort_keys=True, default=str)
        if key == self._preview_key and not force:
            return
        self._preview_key = key
        try:
            data = load_data_cached(resolved, base)
        except Exception as e:  # noqa: BLE001 - any failure is shown, never a traceback
            self.preview_data = None
            self.data_error = str(e) or type(e).__name__
            self.summary_label.setText(f"⚠ {_short(self.data_error)}")
            self.summary_label.setToolTip(f"<p>{html.escape(self.data_error)}</p>")
            self.summary_label.setStyleSheet(f"color: {tone('error')};")
            self.split_label.setText("")
            self._preview_text("no data")
            self.scatter.setData([], [])
            return
        self.preview_data = data
        self.data_error = None
        self.summary_label.setStyleSheet("")
        self.summary_label.setText(self._describe(data))
        self.summary_label.setToolTip("")
        text, tip = self._split_text(data, ds)
        self.split_label.setText(text)
        self.split_label.setToolTip(f"<p>{html.escape(tip)}</p>" if tip else "")
        self._plot(data)

    @staticmethod
    def _describe(data: Dataset) -> str:
        f = data.n_features
        features = f"{f} feature{'s' if f != 1 else ''}"
        if data.task == "classification":
            what = f"{data.num_classes} classes (classification)"
        else:
            t = data.n_outputs
            what = f"{t} target{'s' if t != 1 else ''} (regression)"
        return f"{data.n_samples} samples, {features}, {what}"

    @staticmethod
    def _split_text(data: Dataset, ds: DatasetSettings) -> tuple[str, str]:
        """The split's sizes (and a short warning), and the whole warning or error."""
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                parts = split(data, val_fraction=ds.val_fraction,
                              test_fraction=ds.test_fraction, seed=ds.seed)
        except ValueError as e:
            return f"⚠ {_short(str(e), 90)}", str(e)
        text = f"{len(parts.y_train)} train · {len(parts.y_val)} validation"
        if ds.test_fraction > 0:
            text += f" · {len(parts.y_test)} test"
        tip = "\n".join(str(w.message) for w in caught)
        if tip:
            text += " · ⚠ not stratified" if "not stratified" in tip else " · ⚠"
        return text, tip

    def _preview_text(self, text: str) -> None:
        self.preview_message.setText(text)
        self.preview_message.setStyleSheet(f"color: {tone('muted')}; padding: 6px;")
        self.preview_stack.setCurrentWidget(self.preview_message)

    def _plot(self, data: Dataset) -> None:
        f = data.n_features
        if f > 2:
            self.scatter.setData([], [])
            self._preview_text(f"{f} features: no picture (drawn for 1 or 2 features)")
            return
        n = data.n_samples
        index = np.arange(n)
        if n > _MAX_POINTS:
            index = np.sort(np.random.default_rng(0).choice(n, _MAX_POINTS, replace=False))
        X = data.X[index]
        if data.task == "classification":
            y = data.y[index]
            brushes = [pg.mkBrush(c) for c in CLASS_COLORS]
            brush = [brushes[int(c) % len(brushes)] for c in y]
            if f == 2:
                xs, ys = X[:, 0], X[:, 1]
            else:  # one feature: the feature against the class
                xs, ys = X[:, 0], y.astype(np.float64)
        else:
            t = data.y[index][:, 0]
            if f == 1:
                xs, ys = X[:, 0], t
                brush = pg.mkBrush(CLASS_COLORS[0])
            else:  # two features: coloured by the target, blue (low) to red (high)
                xs, ys = X[:, 0], X[:, 1]
                lo, hi = float(t.min()), float(t.max())
                u = (t - lo) / (hi - lo) if hi > lo else np.zeros_like(t)
                cold, hot = QColor(CLASS_COLORS[0]), QColor(CLASS_COLORS[1])
                brush = [pg.mkBrush(QColor.fromRgbF(
                    cold.redF() + (hot.redF() - cold.redF()) * v,
                    cold.greenF() + (hot.greenF() - cold.greenF()) * v,
                    cold.blueF() + (hot.blueF() - cold.blueF()) * v)) for v in u]
        self.scatter.setData(x=np.asarray(xs, np.float64), y=np.asarray(ys, np.float64),
                             brush=brush, pen=None, size=4)
        self.preview_plot.getPlotItem().enableAutoRange()
        self.preview_stack.setCurrentWidget(self.preview_plot)

    # ================================================================ theme
    def _apply_tones(self) -> None:
        for group in (*self._groups.values(), self.controls_group):
            group.apply_tones()
        for widget, name in self._tone_labels:
            widget.setStyleSheet(f"color: {tone(name)};")
        self.preview_message.setStyleSheet(f"color: {tone('muted')}; padding: 6px;")
        if self.data_error is not None:
            self.summary_label.setStyleSheet(f"color: {tone('error')};")
        palette = QApplication.palette()
        self.preview_plot.setBackground(palette.color(QPalette.ColorRole.Base))

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            if hasattr(self, "preview_plot"):
                self._apply_tones()
        super().changeEvent(event)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        # The wheel over a field that is not being edited scrolls the panel instead of
        # changing the value (one undo command per wheel step otherwise).
        if event.type() == QEvent.Type.Wheel and isinstance(
                watched, (QAbstractSpinBox, QComboBox)) and not watched.hasFocus():
            bar = self._scroll.horizontalScrollBar()
            if bar.isVisible():
                QApplication.sendEvent(bar, event)
            return True
        return super().eventFilter(watched, event)
