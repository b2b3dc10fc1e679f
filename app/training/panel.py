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

The panel is a thin container: each column group is a section in its own module
(:mod:`~app.training.data_section` with the dataset preview,
:mod:`~app.training.optimizer_section`, :mod:`~app.training.training_section`,
:mod:`~app.training.run_section`), editing the settings through one
:class:`~app.training.section.SettingsAccess`; every field is a
:class:`~app.widgets.binding.Binding` (one declaration: the setting, its editor, its
undoable change, when it applies). The panel lays them out, forwards their signals
and keeps their editors as its attributes.

The run controls only emit signals (:attr:`TrainingPanel.train_requested`, ...); the
training controller does the work and tells the panel its state (:meth:`set_state`),
progress (:meth:`set_progress`) and last message (:meth:`set_message`).
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable

import shiboken6
from PySide6.QtCore import QEvent, QObject, QSize, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QAbstractSpinBox, QApplication, QComboBox, QFrame,
                               QHBoxLayout, QScrollArea, QVBoxLayout, QWidget)

from app.editor.commands import SetSettings
from app.state import RunState, can
from app.training.data_section import CLASS_COLORS, DataSection
from app.training.optimizer_section import CONSTANT_SCHEDULE, OptimizerSection
from app.training.run_section import RunSection, format_progress
from app.training.section import Section, SettingsAccess
from app.training.training_section import TrainingSection
from app.widgets.fields import NumberEdit
from nncore.data import Dataset
from nncore.project.settings import DatasetSettings, TrainingSettings

__all__ = ["TrainingPanel", "CONSTANT_SCHEDULE", "CLASS_COLORS", "format_progress"]


# ============================================================================ helpers
def _disconnect_all(callbacks: list[tuple[Any, Callable[..., Any]]], *args: Any) -> None:
    for event, callback in callbacks:
        event.disconnect(callback)


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
        self._shown: dict[str, Any] = {}
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
        self.data_group = DataSection(self._access, self.refresh_now)
        self._groups["data"] = self.data_group
        # its editors and labels, as the panel's attributes (the tests use them)
        for name in ("source_combo", "source_form", "option_editors", "option_labels",
                     "file_edit", "file_row", "browse_button", "reload_button", "target_combo",
                     "task_combo", "delimiter_combo", "summary_label", "split_label",
                     "val_spin", "test_spin", "standardize_check", "split_seed_spin",
                     "preview_stack", "preview_plot", "preview_message", "scatter"):
            setattr(self, name, getattr(self.data_group, name))
        self.data_error_label = self.data_group.error_label
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
        return self.controls_group.message_error

    def refresh_now(self) -> None:
        """Show the project's settings at once instead of at the next event-loop turn."""
        self._timer.stop()
        self._refresh()

    def reload_data(self) -> None:
        """Read the data file again (its header and the preview)."""
        self.data_group.reload_data()

    @property
    def choose_file(self) -> Callable[[QWidget, str, str], str | None]:
        """``choose_file(parent, kind, start_dir) -> path or None`` asks for a data file
        (``kind``: ``"csv"`` or ``"npz"``); replace it in tests."""
        return self.data_group.choose_file

    @choose_file.setter
    def choose_file(self, value: Callable[[QWidget, str, str], str | None]) -> None:
        self.data_group.choose_file = value

    @property
    def preview_data(self) -> Dataset | None:
        """The loaded :class:`~nncore.data.Dataset`, or None."""
        return self.data_group.preview_data

    @property
    def data_error(self) -> str | None:
        """Why the data cannot be loaded (text), or None."""
        return self.data_group.data_error

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

    def _show_error(self, group: str, message: str) -> None:
        self._groups[group].show_error(message)

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
        self.data_group.update_preview()

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
        self.data_group.show(ds, force)
        self._show_training(tr, force)
        if ds_error:
            self._show_error("data", f"The project's dataset settings are invalid ({ds_error}); "
                                     "the defaults are shown, a change here replaces them.")
        if tr_error:
            self._show_error("training", f"The project's training settings are invalid "
                                         f"({tr_error}); the defaults are shown, a change "
                                         "here replaces them.")

    def _show_training(self, tr: TrainingSettings, force: bool = False) -> None:
        self.optimizer_group.show(tr, force)
        self.training_group.show(tr, force)

    # ================================================================ theme
    def _apply_tones(self) -> None:
        for group in (*self._groups.values(), self.controls_group):
            group.apply_tones()

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
