"""The run state: one value that the controller, the training panel, the runs table and
the status line all read.

:class:`RunState` is a :class:`~enum.StrEnum`: a member equals its value
(``RunState.PAUSED == "paused"``) and prints as it, so it is the text the runs table's
Status column shows.

The training controller (:class:`~app.training.controller.TrainingController`) is in one
of the *controller states* ``IDLE``, ``RUNNING``, ``PAUSED``, ``STEPPING`` and
``STOPPING``; a run (:attr:`app.training.runs.Run.status`) is in the state of the
controller while it trains, and in an *end state* (``FINISHED``, ``STOPPED``,
``FAILED``) once it ended.

======== ================================================ ==============================
state    means                                            actions allowed (:func:`can`)
======== ================================================ ==============================
idle     no run trains; the settings are editable         train, step, reset, edit
running  the worker trains batch after batch              pause, stop
paused   the worker waits before its next batch           resume, step, stop
stepping a Step (one batch, or to the end of the epoch)   resume, stop
         is under way; then the run is paused again
stopping Stop was asked; waiting for the run to end       (none)
finished the run trained all its epochs                   (a run's end state)
stopped  the run ended early: Stop, or early stopping     (a run's end state)
failed   the run ended with an error (``Run.message``)    (a run's end state)
======== ================================================ ==============================

Transitions of the controller: idle → running (train) or paused (a Step from idle starts
a paused run, which then steps); running → paused (pause); paused → running (resume),
stepping (step); stepping → paused (the step is done), running (resume); running,
paused, stepping → stopping (stop); any → idle (the run ended: its run takes
``FINISHED``, ``STOPPED`` or ``FAILED``).
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["RunState", "ACTIONS", "can"]


class RunState(StrEnum):
    """The state of the training controller and of a run (see the module's table)."""

    IDLE = "idle"
    RUNNING = "running"
    PAUSED = "paused"
    STEPPING = "stepping"
    STOPPING = "stopping"
    FINISHED = "finished"
    STOPPED = "stopped"
    FAILED = "failed"

    @property
    def busy(self) -> bool:
        """A run trains (or is ending): it cannot be deleted, the network not edited."""
        return self in _BUSY

    @property
    def ended(self) -> bool:
        """A run's end state: finished, stopped or failed."""
        return self in _ENDED

    @property
    def message(self) -> str:
        """The status line's text for this state of the controller."""
        return _MESSAGES.get(self, "Ready")


_BUSY = frozenset({RunState.RUNNING, RunState.PAUSED, RunState.STEPPING, RunState.STOPPING})
_ENDED = frozenset({RunState.FINISHED, RunState.STOPPED, RunState.FAILED})
_MESSAGES = {RunState.RUNNING: "Training…", RunState.PAUSED: "Paused",
             RunState.STEPPING: "Stepping…", RunState.STOPPING: "Stopping…"}

#: What each controller state allows (the table above); end states allow nothing.
ACTIONS: dict[RunState, frozenset[str]] = {
    RunState.IDLE: frozenset({"train", "step", "reset", "edit"}),
    RunState.RUNNING: frozenset({"pause", "stop"}),
    RunState.PAUSED: frozenset({"resume", "step", "stop"}),
    RunState.STEPPING: frozenset({"resume", "stop"}),
    RunState.STOPPING: frozenset(),
}


def can(state: str, action: str) -> bool:
    """Whether ``action`` (``"train"``, ``"pause"``, ``"resume"``, ``"step"``,
    ``"stop"``, ``"reset"`` or ``"edit"``) is allowed in ``state``.

    Raises:
        ValueError: for a state that is not a :class:`RunState`.
    """
    return action in ACTIONS.get(RunState(state), frozenset())
