"""The RUN section of the training panel: the run controls (Train, Pause/Resume, Step One
Batch, Step to End of Epoch, Stop, Reset Weights) as actions with shortcuts and buttons,
the progress bar and line, and the last message.

The controls only emit signals; the training controller does the work and tells the
section its state (:meth:`RunSection.set_state`), progress and last message.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any, Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QFont, QKeySequence
from PySide6.QtWidgets import (QGridLayout, QLabel, QProgressBar, QSizePolicy, QStyle,
                               QToolButton, QWidget)

from app.state import RunState, can
from app.training.section import Section
from app.widgets import tone
from app.widgets.fields import INT_MAX

__all__ = ["RunSection", "format_progress"]


def _duration(seconds: float) -> str:
    seconds = max(0.0, float(seconds))
    if seconds < 0.5:
        return "<1 s"
    if seconds < 59.5:
        return f"{round(seconds)} s"
    if seconds < 3600:
        m, s = divmod(int(round(seconds)), 60)
        return f"{m} min {s} s" if s else f"{m} min"
    h, rest = divmod(int(round(seconds)), 3600)
    return f"{h} h {rest // 60} min"


def _rate(samples_per_s: float) -> str:
    """41234.5 -> '41,200' (three significant figures above 1000), 512.3 -> '512'."""
    if samples_per_s >= 1000:
        digits = int(math.floor(math.log10(samples_per_s))) - 2
        return f"{int(round(samples_per_s, -digits)):,}"
    if samples_per_s >= 10:
        return f"{samples_per_s:.0f}"
    return f"{samples_per_s:.2g}"


def format_progress(epoch: int, epochs: int, batch: int | None = None,
                    batches: int | None = None, samples_per_s: float | None = None,
                    eta_s: float | None = None) -> str:
    """The progress line: ``epoch 3/30 · batch 12/23 · 41,000 samples/s · 4 s left``
    (parts that are not known, None, are left out)."""
    parts = [f"epoch {epoch}/{epochs}"]
    if batch is not None and batches:
        parts.append(f"batch {batch}/{batches}")
    if samples_per_s is not None and math.isfinite(samples_per_s) and samples_per_s > 0:
        parts.append(f"{_rate(samples_per_s)} samples/s")
    if eta_s is not None and math.isfinite(eta_s):
        parts.append(f"{_duration(eta_s)} left")
    return " · ".join(parts)


class RunSection(Section):
    """The run controls, the progress and the last message.

    Args:
        commit_pending: called before a run starts or the state leaves idle (a number
            being typed in the settings commits its text).

    Signals: as :class:`~app.training.panel.TrainingPanel`'s (``train_requested``, ...).
    """

    train_requested = Signal()
    pause_requested = Signal()
    resume_requested = Signal()
    step_requested = Signal(str)
    stop_requested = Signal()
    reset_requested = Signal()

    def __init__(self, commit_pending: Callable[[], None] = lambda: None,
                 parent: QWidget | None = None) -> None:
        super().__init__("Run", parent)
        self._commit_pending = commit_pending
        self._state = RunState.IDLE
        self.message_error = False  # the last message is an error (shown in red)
        self._make_actions()
        self._make_controls()

    @property
    def state(self) -> RunState:
        """The state last given to :meth:`set_state`."""
        return self._state

    def _make_actions(self) -> None:
        style = self.style()
        icon = style.standardIcon
        P = QStyle.StandardPixmap

        def make(text: str, icon_text: str, shortcut: list[str], pixmap: Any,
                 slot: Callable[[], None], tip: str) -> QAction:
            action = QAction(icon(pixmap), text, self)
            action.setIconText(icon_text)
            action.setShortcuts([QKeySequence(s) for s in shortcut])
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            keys = QKeySequence(shortcut[0]).toString(QKeySequence.SequenceFormat.NativeText)
            action.setToolTip(f"{tip} ({keys})")
            action.setStatusTip(tip)
            action.triggered.connect(slot)
            self.addAction(action)
            return action

        self.act_train = make("&Train", "Train", ["Ctrl+Return", "Ctrl+Enter"],
                              P.SP_MediaPlay, self._train, "Start training")
        self.act_pause = make("&Pause", "Pause", ["Ctrl+P"], P.SP_MediaPause, self._pause,
                              "Pause or resume training")
        self.act_step_batch = make("Step One &Batch", "Step batch", ["Ctrl+B"],
                                   P.SP_MediaSeekForward, partial(self._step, "batch"),
                                   "Train one more batch, then pause")
        self.act_step_epoch = make("Step to End of &Epoch", "Step epoch", ["Ctrl+E"],
                                   P.SP_MediaSkipForward, partial(self._step, "epoch"),
                                   "Train to the end of the current epoch, then pause "
                                   "(paused mid-epoch: only the rest of that epoch)")
        self.act_stop = make("&Stop", "Stop", ["Ctrl+."], P.SP_MediaStop, self._stop,
                             "Stop training (the weights stay as they are)")
        self.act_reset = make("&Reset Weights", "Reset weights", ["Ctrl+Shift+R"],
                              P.SP_BrowserReload, self._reset,
                              "Start again from new random weights (the training seed's)")

    def _make_controls(self) -> None:
        col = self.column()
        grid = QGridLayout()
        grid.setHorizontalSpacing(4)
        grid.setVerticalSpacing(4)
        self.buttons: dict[str, QToolButton] = {}
        layout = (("train", self.act_train, 0, 0), ("pause", self.act_pause, 0, 1),
                  ("step_batch", self.act_step_batch, 1, 0),
                  ("step_epoch", self.act_step_epoch, 1, 1),
                  ("stop", self.act_stop, 2, 0), ("reset", self.act_reset, 2, 1))
        for key, action, r, c in layout:
            button = QToolButton()
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            button.setObjectName(f"{key}Button")
            grid.addWidget(button, r, c)
            self.buttons[key] = button
        self.train_button = self.buttons["train"]
        self.pause_button = self.buttons["pause"]
        self.step_batch_button = self.buttons["step_batch"]
        self.step_epoch_button = self.buttons["step_epoch"]
        self.stop_button = self.buttons["stop"]
        self.reset_button = self.buttons["reset"]
        font = QFont(self.train_button.font())
        font.setBold(True)
        self.train_button.setFont(font)
        col.addLayout(grid)
        col.addSpacing(4)
        self.progress_bar = QProgressBar()
        self.progress_bar.setObjectName("trainingProgress")
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.progress_bar.setTextVisible(False)
        self.progress_bar.setFixedHeight(10)
        col.addWidget(self.progress_bar)
        self.progress_label = QLabel("Not trained yet")
        self.progress_label.setObjectName("progressText")
        self.progress_label.setWordWrap(True)
        self.add_tone(self.progress_label, "muted")
        col.addWidget(self.progress_label)
        self.message_label = QLabel()
        self.message_label.setObjectName("trainingMessage")
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        col.addWidget(self.message_label)
        col.addStretch(1)
        self.setMinimumWidth(228)
        self.setMaximumWidth(340)

    def set_state(self, state: RunState | str) -> None:
        """Show the controller's :class:`~app.state.RunState`: each control is
        enabled when :func:`~app.state.can` allows its action: idle (settings
        editable; Train, Step and Reset), running (Pause and Stop), paused (Resume, Step,
        Stop), stepping (Resume and Stop) or stopping (waiting for the run to end:
        nothing). The settings are read-only unless idle.

        Raises:
            ValueError: for another state (also a run's end state: finished, ...).
        """
        try:
            state = RunState(state)
        except ValueError:
            state = None
        if state is None or state.ended:
            names = ", ".join(s for s in RunState if not s.ended)
            raise ValueError(f"state must be one of {names}, got {state!r}")
        if state != RunState.IDLE:
            self._commit_pending()
        self._state = state
        resume = can(state, "resume")
        self.act_train.setEnabled(can(state, "train"))
        self.act_pause.setEnabled(can(state, "pause") or resume)
        self.act_pause.setText("&Resume" if resume else "&Pause")
        self.act_pause.setIconText("Resume" if resume else "Pause")
        self.act_pause.setIcon(self.style().standardIcon(
            QStyle.StandardPixmap.SP_MediaPlay if resume else QStyle.StandardPixmap.SP_MediaPause))
        self.act_step_batch.setEnabled(can(state, "step"))
        self.act_step_epoch.setEnabled(can(state, "step"))
        self.act_stop.setEnabled(can(state, "stop"))
        self.act_reset.setEnabled(can(state, "reset"))

    def set_progress(self, epoch: int, epochs: int, batch: int | None = None,
                     batches: int | None = None, samples_per_s: float | None = None,
                     eta_s: float | None = None) -> None:
        """Show where the run is: "epoch 3/30 · batch 12/23 · 41,000 samples/s · 4 s left"
        (``epoch`` and ``batch`` count from 1; parts given as None are left out) and the
        bar at the share of all batches done, ``((epoch - 1) · batches + batch) /
        (epochs · batches)`` (or ``epoch / epochs`` without batches)."""
        text = format_progress(epoch, epochs, batch, batches, samples_per_s, eta_s)
        # wrapped between the parts only, never inside "41,000 samples/s"
        self.progress_label.setText(" · ".join(part.replace(" ", "\u00a0")
                                               for part in text.split(" · ")))
        if epochs <= 0:
            self.progress_bar.setRange(0, 1)
            self.progress_bar.setValue(0)
            return
        if batches:
            total = epochs * batches
            done = (max(epoch, 1) - 1) * batches + (batch or 0)
        else:
            total, done = epochs, epoch
        scale = 1.0 if total <= INT_MAX else INT_MAX / total
        self.progress_bar.setRange(0, int(total * scale))
        self.progress_bar.setValue(int(min(max(done, 0), total) * scale))

    def clear_progress(self, text: str = "Not trained yet") -> None:
        """Empty the bar and show ``text`` instead of the progress (e.g. after Reset
        weights)."""
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.progress_label.setText(text)

    def set_message(self, text: str, error: bool = False) -> None:
        """Show the last status (e.g. "Stopped early at epoch 12: best val_loss 0.08"),
        in red when ``error``."""
        self.message_label.setText(text)
        self.message_error = error
        self.message_label.setStyleSheet(f"color: {tone('error')};" if error else "")

    def _train(self) -> None:
        if can(self._state, "train"):
            self._commit_pending()
            self.train_requested.emit()

    def _pause(self) -> None:
        if can(self._state, "pause"):
            self.pause_requested.emit()
        elif can(self._state, "resume"):
            self.resume_requested.emit()

    def _step(self, unit: str) -> None:
        if can(self._state, "step"):
            self._commit_pending()
            self.step_requested.emit(unit)

    def _stop(self) -> None:
        if can(self._state, "stop"):
            self.stop_requested.emit()

    def _reset(self) -> None:
        if can(self._state, "reset"):
            self.reset_requested.emit()

    def apply_tones(self) -> None:
        super().apply_tones()
        if self.message_error:
            self.message_label.setStyleSheet(f"color: {tone('error')};")
