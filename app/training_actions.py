"""The window's side of training: the Training panel's buttons, the controller's
messages and state, the canvas and the plots around a run.

:class:`TrainingActions` wires the :class:`~app.training.panel.TrainingPanel` to the
:class:`~app.training.controller.TrainingController` and shows what the controller says
in the other views: the canvas is read-only while training runs (an edit first asks to
stop, through the document's ``edit_guard``), the node a failed run blames is outlined,
the progress bar follows the active run, the plots follow the selected node. It lives
beside the window rather than in ``app.training`` because it reaches the editor's and
the plots' views, which the training views never import.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QDeadlineTimer, QObject, QTimer, Slot
from PySide6.QtWidgets import QApplication, QMessageBox

from app.plots.base import runs_history_csv, save_csv_dialog
from app.state import RunState
from app.theme import CATEGORY_COLORS

__all__ = ["TrainingActions", "ask_stop", "STOP_WAIT_MS"]

#: How long an edit waits for a stopping run to end before it is refused (ms).
STOP_WAIT_MS = 5000


#: What stopping a run is for (the ``action`` of :func:`ask_stop`), and its words.
STOP_REASONS = {"edit": "Changing the network", "open": "Opening another project",
                "new": "Starting a new project", "close": "Closing the window"}


def ask_stop(parent: Any, action: str = "edit", state: str = "running") -> int:
    """Ask whether to stop the run that trains (or is paused) so that ``action`` (a
    key of :data:`STOP_REASONS`) can happen: ``QMessageBox.Yes`` (stop it and keep it:
    its epochs so far stay in the runs, to save with the project) or ``No`` (cancel:
    the run goes on)."""
    box = QMessageBox(QMessageBox.Question, "A run is training",
                      f"A run is {state}. {STOP_REASONS.get(action, action)} stops it.\n\n"
                      "Stop and keep: the run stops and keeps its epochs so far and its "
                      "weights (save the project to keep them for good). Cancel: it goes "
                      "on.", QMessageBox.Yes | QMessageBox.No, parent)
    box.button(QMessageBox.Yes).setText("Stop and keep")
    box.button(QMessageBox.No).setText("Cancel")
    box.setDefaultButton(QMessageBox.No)
    return box.exec()


class TrainingActions(QObject):
    """Training in ``window`` (a :class:`~app.main_window.MainWindow`).

    Reads of the window: ``document``, ``scene``, ``history``, ``training_panel``,
    ``controller``, ``runs``, ``plots``, ``statusBar()``, ``show_plots()``,
    ``select_and_show(node_id)`` and the hook ``ask_stop()`` (tests replace it).
    """

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        w, panel, ctl = window, window.training_panel, window.controller
        # while the plots draw, the worker waits between batches (see TrainingWorker.gui_free)
        free = ctl.worker.gui_free
        w.plots.gui_busy = lambda busy: free.clear() if busy else free.set()
        # every connection goes to a declared slot: Qt drops it with its receiver
        panel.train_requested.connect(self._train)
        panel.pause_requested.connect(ctl.pause)
        panel.resume_requested.connect(ctl.resume)
        panel.step_requested.connect(self.step)
        panel.stop_requested.connect(ctl.stop)
        panel.reset_requested.connect(self.reset)
        ctl.state_changed.connect(self._state)
        ctl.message.connect(self._message)
        ctl.node_failed.connect(self._failed_node)
        w.runs.run_changed.connect(self._progress)
        w.scene.selection_changed_nodes.connect(self._follow_selection)
        w.document.edit_guard = self.allow_edit
        # once per burst of edits (per node it made a paste of N nodes O(N^2))
        self._colors_timer = QTimer(self)
        self._colors_timer.setSingleShot(True)
        self._colors_timer.setInterval(0)
        self._colors_timer.timeout.connect(self._node_colors)
        for event in ("node_added", "node_changed", "graph_reset"):
            getattr(w.document.graph, event).connect(self._colors_later)
        self._node_colors()

    # ------------------------------------------------------------------ the panel's buttons
    def start(self, epochs: int = 0) -> int | None:
        """Train the network (the panel's Train button); the plots come to the front.
        A node marked by a failed run is unmarked. Data that cannot be read starts no
        run (the controller says why) and empties the progress bar; returns None then."""
        w = self.window
        w.scene.refresh()
        w.scene.clear_failed_node()
        w.show_plots()
        run_id = w.controller.train(epochs)
        self._refused(run_id is None)
        return run_id

    @Slot()
    def _train(self) -> None:
        self.start()

    @Slot(str)
    def step(self, kind: str) -> None:
        """One batch (``"batch"``) or the rest of the epoch (``"epoch"``), then pause."""
        w = self.window
        w.scene.clear_failed_node()
        w.show_plots()
        idle = w.controller.state == RunState.IDLE
        w.controller.step(kind)
        self._refused(idle and w.controller.state == RunState.IDLE)

    @Slot()
    def reset(self) -> None:
        """Forget the trained weights: the next Train starts fresh."""
        self.window.controller.reset()
        self.window.training_panel.clear_progress("Weights reset: the next run starts fresh")

    def _refused(self, refused: bool) -> None:
        if refused and self.window.controller.state == RunState.IDLE:
            self.window.training_panel.clear_progress("Not trained: see the message below")

    def allow_edit(self) -> bool:
        """The document's edit guard: an edit while training runs first offers to stop
        it (waiting up to :data:`STOP_WAIT_MS`); refused otherwise."""
        return self.stop_for("edit")

    def stop_for(self, action: str) -> bool:
        """Before ``action`` (a key of :data:`STOP_REASONS`: an edit, opening another
        project, a new one, closing the window): a run that trains or is paused is
        stopped and kept if the window's ``ask_stop(action)`` says so, waiting up to
        :data:`STOP_WAIT_MS` for it to end. Returns whether ``action`` may go on."""
        ctl = self.window.controller
        if ctl.state == RunState.IDLE:
            return True
        if self.window.ask_stop(action) != QMessageBox.Yes:
            return False
        ctl.stop()
        deadline = QDeadlineTimer(STOP_WAIT_MS)
        while ctl.state != RunState.IDLE and not deadline.hasExpired():
            QApplication.processEvents()
        return ctl.state == RunState.IDLE

    def export_history(self) -> None:
        """Training → Export History as CSV: the epochs of every run in one CSV file
        (a first column ``run`` names the run; runs without epochs are left out). A
        file that cannot be written is reported, never raised."""
        w = self.window
        runs = [r for r in w.runs.runs.values() if r.epochs]
        if not runs:
            w.statusBar().showMessage("No training history yet", 5000)
            return
        path = save_csv_dialog(w, "Export history as CSV",
                               str(Path.home() / "history.csv"), runs_history_csv(runs))
        if path is None:
            return
        n = len(runs)
        w.statusBar().showMessage(
            f"Saved the history of {n} run{'s' if n != 1 else ''} to {path}", 5000)

    # ------------------------------------------------------------------ what the controller says
    @Slot(object)
    def _state(self, state: RunState) -> None:
        w = self.window
        state = RunState(state)
        w.training_panel.set_state(state)
        busy = state != RunState.IDLE
        for item in w.scene.nodes.values():  # read-only while training
            item.setFlag(item.GraphicsItemFlag.ItemIsMovable, not busy)
        w.history.setEnabled(not busy)  # a click there would jump in the history
        w.statusBar().showMessage(state.message, 4000)

    @Slot(str, bool)
    def _message(self, text: str, error: bool) -> None:
        self.window.training_panel.set_message(text, error)
        self.window.statusBar().showMessage(text, 15000)

    @Slot(int)
    def _progress(self, run_id: int) -> None:
        w = self.window
        if run_id != w.controller.active:
            return
        run = w.runs.get(run_id)
        p = run.progress if run else {}
        if p.get("epochs"):
            w.training_panel.set_progress(int(p.get("epoch") or 0), int(p["epochs"]),
                                          int(p.get("batch") or 0) or None,
                                          int(p.get("batches") or 0) or None,
                                          p.get("samples_per_s"), p.get("eta_s"))

    @Slot(str)
    def _failed_node(self, name: str) -> None:
        """A run failed at node ``name``: select it and outline it in red, with the
        failure as its error text, until training starts again or the graph changes."""
        w = self.window
        node = w.document.graph.node_by_name(name)
        if node is not None:
            run = w.runs.get(w.controller.active)  # the failed run, still active here
            message = run.message if run is not None and run.message else "training failed here"
            w.scene.set_failed_node(node.id, message)
            w.select_and_show(node.id)

    @Slot(list)
    def _follow_selection(self, node_ids: list) -> None:
        graph = self.window.document.graph
        if len(node_ids) == 1 and graph.has_node(node_ids[0]):
            self.window.plots.select_node(graph.node(node_ids[0]).name)

    def _colors_later(self, *_: object) -> None:
        self._colors_timer.start()

    @Slot()
    def _node_colors(self, *_: object) -> None:
        """Gradient curves in the colour of their node's category."""
        self.window.plots.set_node_colors(
            {n.name: CATEGORY_COLORS.get(n.type.category, "#888888")
             for n in self.window.document.graph.nodes})
