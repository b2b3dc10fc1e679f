"""The Step-through dock: one minibatch through the network, node by node, with the
numbers on the wires (issue 10).

Over :class:`nncore.stepthrough.StepThrough`: choose the batch (part, first sample, size,
training or evaluation behaviour), then Forward and Backward step through the nodes (the
current node and its wires lit on the canvas: ``GraphScene.set_focus``), Run to end,
Apply update (one real optimizer step, described term by term) and Start again. The
table lists the current node's wires (into it and out of it) with their value and, once
known, their gradient dL/d(value): the numbers for small tensors, a summary (shape,
mean, std, min, max) and a small heat map for large ones; a double-click shows every
number (:mod:`app.stepthrough_arrays`). The text shows the node's chain rule with the
live numbers.

It steps in the current weights: a copy of the trained model and its optimizer state
when the window has one for this network (so Apply update leaves the real run alone),
else those a new run starts from; the status says which. An edit of the network makes
it stale (Start again). It sits at ``app/`` level because it drives the canvas
(``app.editor``) and reads the training controller.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QSize, Qt, Slot
from PySide6.QtGui import QFont, QHideEvent, QShowEvent
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit,
                               QPushButton,
                               QSpinBox, QSplitter, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from app.state import RunState
from app.stepthrough_arrays import ArrayDialog, heat_pixmap
from app.widgets import tone
from nncore.graph import GraphError, ParamError
from nncore.stepthrough import PARTS, StepThrough, copy_weights, summarize
from nncore.text import plural

__all__ = ["StepThroughPanel", "wire_text", "wire_note", "cell_text", "SMALL"]

#: A tensor of at most this many values is shown as its numbers.
SMALL = 12
#: What the status says before Start.
READY_TEXT = ("Press Start: one minibatch in the current weights (a copy of the trained "
              "model's, or those a new run starts from).")


def wire_note(value: Any, gradient: Any) -> str:
    """The short text a wire shows on the canvas while stepping: its value (the number,
    or the mean ``μ`` of many) and, once known, its gradient (``∇``)."""
    def short(a: Any) -> str:
        a = np.asarray(a, dtype=np.float64)
        if a.size == 1:
            return f"{a.item():.3g}"
        finite = a[np.isfinite(a)]
        return f"μ {finite.mean():.3g}" if finite.size else "not finite"
    text = "" if value is None else short(value)
    return text if gradient is None else f"{text} | ∇ {short(gradient)}"


def wire_text(array: Any) -> str:
    """How a wire's tensor reads in the table: its numbers when small (4 significant
    digits), else its shape and statistics (NaN and infinities counted apart)."""
    if array is None:
        return "—"
    a = np.asarray(array)
    if a.size <= SMALL:
        with np.printoptions(precision=4, suppress=True, threshold=SMALL):
            return np.array2string(a, separator=", ").replace("\n", " ")
    s = summarize(a)
    shape = " × ".join(map(str, s["shape"]))
    text = (f"{shape}: mean {s['mean']:.4g}, std {s['std']:.4g}, "
            f"min {s['min']:.4g}, max {s['max']:.4g}")
    return text + (f", {s['nonfinite']} not finite" if s["nonfinite"] else "")


def cell_text(array: Any) -> str:
    """:func:`wire_text` as a table cell shows it: a summary on three lines (the shape;
    mean and std; min and max), beside its heat map."""
    text = wire_text(array)
    if array is None or np.size(array) <= SMALL:
        return text
    return text.replace(": ", "\n", 1).replace(", min", "\nmin", 1)


class StepThroughPanel(QWidget):
    """The dock's widget (see the module docstring).

    Args:
        window: the main window (its document, scene and project).

    Attributes:
        step: the :class:`~nncore.stepthrough.StepThrough`, or None before Start.
    """

    def __init__(self, window: Any) -> None:
        super().__init__()
        self.window = window
        self.document = window.document
        self.step: StepThrough | None = None
        self._run: Any = None  # the TrainingRun the batches (and the clipping) come from
        self._weights: tuple[Any, Any] | None = None  # the (model, optimizer) stepped in
        self._source: tuple[Any, ...] | None = None  # where they came from
        self._updates = 0  # Apply updates since
        self._weights_text = ""
        layout = QVBoxLayout(self)
        controls = QHBoxLayout()
        self.part_combo = QComboBox()
        for part in PARTS:
            self.part_combo.addItem("training part" if part == "train" else "validation part",
                                    part)
        self.start_spin = QSpinBox()
        self.start_spin.setRange(0, 10**7)
        self.start_spin.setPrefix("first sample ")
        self.size_spin = QSpinBox()
        self.size_spin.setRange(1, 1024)
        self.size_spin.setValue(4)
        self.size_spin.setPrefix("batch of ")
        self.size_spin.setToolTip("How many samples go through this pass. Training takes "
                                  "the batch size of the Training panel (32 by default); "
                                  "a few samples keep every number readable")
        self.mode_combo = QComboBox()
        self.mode_combo.addItem("training behaviour", True)
        self.mode_combo.addItem("evaluation behaviour", False)
        self.mode_combo.setToolTip("Training: BatchNorm uses the batch's statistics and "
                                   "Dropout drops; evaluation: running statistics, no drop")
        self.start_button = QPushButton("Start")
        self.forward_button = QPushButton("Forward ▶")
        self.backward_button = QPushButton("◀ Backward")
        self.end_button = QPushButton("Run to end")
        self.update_button = QPushButton("Apply update")
        # two rows: the batch, then the steps (one row would widen the window)
        for w in (self.part_combo, self.start_spin, self.size_spin, self.mode_combo):
            controls.addWidget(w)
        controls.addStretch(1)
        layout.addLayout(controls)
        steps = QHBoxLayout()
        for w in (self.start_button, self.forward_button, self.backward_button,
                  self.end_button, self.update_button):
            steps.addWidget(w)
        self.element_edit = QLineEdit()
        self.element_edit.setPlaceholderText("element, e.g. 2, 0")
        self.element_edit.setToolTip("Which element of the node's output the explanation "
                                     "plugs in: sample, unit (empty: the first)")
        self.element_edit.setMaximumWidth(160)
        self.element_edit.editingFinished.connect(self._element_changed)
        steps.addWidget(QLabel("explain"))
        steps.addWidget(self.element_edit)
        steps.addStretch(1)
        layout.addLayout(steps)
        self.status = QLabel(READY_TEXT)
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        split = QSplitter(Qt.Orientation.Horizontal)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["wire", "value", "gradient dL/d(value)"])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setIconSize(QSize(64, 44))  # the heat maps of large tensors
        self.table.verticalHeader().setDefaultSectionSize(54)  # three lines of a summary
        self.table.setWordWrap(False)
        self.table.cellDoubleClicked.connect(self.show_array)
        self._rows: list[tuple[str, Any, Any]] = []  # (wire, value, gradient) per row
        self.array_dialog: ArrayDialog | None = None
        split.addWidget(self.table)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.text.setFont(mono)
        split.addWidget(self.text)
        split.setStretchFactor(0, 3)  # the table's heat maps and summaries need the room
        split.setStretchFactor(1, 2)
        split.setSizes([640, 360])
        layout.addWidget(split, 1)
        self.start_button.clicked.connect(self.start)
        self.forward_button.clicked.connect(self.forward)
        self.backward_button.clicked.connect(self.backward)
        self.end_button.clicked.connect(self.run_to_end)
        self.update_button.clicked.connect(self.apply_update)
        self.document.undo_stack.indexChanged.connect(self._network_changed)
        self.document.replaced.connect(self._network_changed)  # File → New / Open
        window.controller.state_changed.connect(self._training_state)
        self._buttons()

    # ------------------------------------------------------------------ actions
    @Slot()
    def start(self) -> None:
        """Put a batch at the start, in the current weights: a copy of the trained model
        and its optimizer state when the window has one for this network (the
        controller's :meth:`~app.training.controller.TrainingController.trained_run`),
        else the weights a new run starts from. Refused while a run trains or is paused.
        After Apply update, Start keeps the updated weights as long as their source is
        unchanged (no edit, no further training)."""
        from nncore.project import TrainingRun

        controller = self.window.controller
        if controller.state != RunState.IDLE:
            self._put_out(f"Cannot step through while a run is {controller.state}: stop it or "
                          "let it finish, then Start (the step-through steps in a copy of its "
                          "weights).", error=True)
            return
        trained = controller.trained_run()
        try:
            if trained is not None:
                run_id, run = trained
                source: tuple[Any, ...] = ("trained", run_id, id(run), run.trainer.global_step)
                if source != self._source:
                    self._run, self._weights = run, copy_weights(run)
                    self._source, self._updates = source, 0
                epochs = len(run.trainer.history)
                self._weights_text = f"weights after {plural(epochs, 'epoch')} (run {run_id})"
            else:
                if self._source is None or self._source[0] != "fresh":
                    self._run = TrainingRun(self.document.graph,
                                            base_dir=self.document.project.base_dir)
                    self._weights = (self._run.model, self._run.optimizer)
                    self._source, self._updates = ("fresh",), 0
                self._weights_text = "the initial weights (nothing trained yet)"
            part = self.part_combo.currentData()
            self.step = StepThrough.from_run(
                self._run, part=part, start=self.start_spin.value(),
                size=self.size_spin.value(), training=bool(self.mode_combo.currentData()),
                weights=self._weights)
        except (GraphError, ParamError, ValueError, OSError) as e:
            # nothing of an earlier pass stays beside the refusal
            self._put_out(f"Cannot step through: {str(e).removeprefix('step-through: ')}",
                          error=True)
            return
        self.window.scene.set_wire_notes({})
        self.window.scene.set_focus(None)
        self._say(f"Ready: {self.size_spin.value()} sample(s) of the "
                  f"{self.part_combo.currentText()} in {self.weights_text()}. Step Forward.")
        self.text.setPlainText("")
        self.table.setRowCount(0)
        self._rows = []
        self._buttons()

    def weights_text(self) -> str:
        """Which weights the step-through steps in: ``"weights after 30 epochs (run 3)"``
        or ``"the initial weights (nothing trained yet)"``, with the updates applied
        here since (``", plus 1 update applied here"``); "" before Start."""
        if not self._weights_text:
            return ""
        extra = f", plus {plural(self._updates, 'update')} applied here" if self._updates else ""
        return self._weights_text + extra

    @Slot()
    def forward(self) -> None:
        """One node forward (topological order)."""
        if self.step is not None and self.step.can_forward:
            self.step.forward_step()
            self._show()

    @Slot()
    def backward(self) -> None:
        """One node back (reverse order)."""
        if self.step is not None and self.step.can_backward:
            self.step.backward_step()
            self._show()

    @Slot()
    def run_to_end(self) -> None:
        """Every remaining step."""
        if self.step is not None:
            self.step.run_to_end()
            self._show()

    @Slot()
    def apply_update(self) -> None:
        """One real optimizer step; the text shows every parameter's terms."""
        if self.step is None or not self.step.can_update:
            return
        lines = []
        for update in self.step.apply_update():
            lines.append(f"{update.title} ({update.optimizer})")
            for term in update.terms:  # the value, then how it was computed
                lines.append(f"  {term.symbol} = {wire_text(term.after)}")
                if term.formula:
                    lines.append(f"      {term.formula}")
            lines.append("")
        self.text.setPlainText("\n".join(lines))
        self._updates += 1
        copy = f" in the copy (run {self._source[1]} is unchanged)" \
            if self._source is not None and self._source[0] == "trained" else ""
        self._say(f"Updated: one optimizer step taken{copy}. Start again to step the same "
                  "batch in the new weights.")
        self._buttons()

    # ------------------------------------------------------------------ showing
    def _show(self) -> None:
        step = self.step
        nid = step.current
        graph = self.document.graph
        name = graph.node(nid).name if graph.has_node(nid) else nid
        going = "Backward" if step.phase in ("backward", "done") else "Forward"
        done = len(step.backward_known if going == "Backward" else step.forward_known)
        total = len(step.backward_order if going == "Backward" else step.forward_order)
        loss = f"; loss {step.loss:.4g}" if step.loss is not None else ""
        status = f"{going} {done}/{total}: {name}{loss} · {self.weights_text()}"
        self.window.scene.set_focus(nid)  # the current node and its wires, lit on the canvas
        rows = []
        for e in graph.incoming(nid):
            rows.append((f"{graph.node(e.src).name}.{e.src_port}\n→ {e.dst_port}",
                         (e.src, e.src_port)))
        for port in graph.node(nid).type.outputs:
            rows.append((f"{name}.{port.name}", (nid, port.name)))
        self.table.setRowCount(len(rows))
        self._rows = []
        for r, (title, (node, port)) in enumerate(rows):
            value = step.value(node, port)
            grad = step.gradient(node, port) if step.gradient_known(node, port) else None
            self._rows.append((title.replace("\n", " "), value, grad))
            self.table.setItem(r, 0, QTableWidgetItem(title))
            for c, array in ((1, value), (2, grad)):
                item = QTableWidgetItem(cell_text(array))
                if array is not None:
                    item.setToolTip(f"{wire_text(array)}\nDouble-click: every number in a "
                                    "table")
                    if np.size(array) > SMALL:  # a summary: its heat map beside it
                        item.setData(Qt.ItemDataRole.DecorationRole,
                                     heat_pixmap(array, self.table.iconSize()))
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        notes = {}
        for node_id, port in step.wires:  # every known value (and gradient) on the canvas
            if node_id in step.forward_known and graph.has_node(node_id):
                known = step.gradient_known(node_id, port)
                notes[(node_id, port)] = wire_note(
                    step.value(node_id, port), step.gradient(node_id, port) if known else None)
        self.window.scene.set_wire_notes(notes)
        problems = self._nonfinite()
        try:
            self.text.setPlainText(step.explain(nid, self.element()))
        except (KeyError, ValueError, IndexError) as e:
            why = str(e).removeprefix("step-through: ")
            self.text.setPlainText(why)
            problems.append(why)
        self._say(" · ".join([status, *problems]), error=bool(problems))
        self._buttons()

    def _nonfinite(self) -> list[str]:
        """Where a NaN or an infinity first appeared in the values and in the gradients
        known so far, as sentences naming the wire ("node.port")."""
        step, graph = self.step, self.document.graph
        found = []
        for gradients, what in ((False, "value"), (True, "gradient")):
            wire = step.first_nonfinite(gradients=gradients)
            if wire is not None:
                node = graph.node(wire[0]).name if graph.has_node(wire[0]) else wire[0]
                found.append(f"a NaN or infinity first appears in the {what} of "
                             f"{node}.{wire[1]}")
        return found

    @Slot(int, int)
    def show_array(self, row: int, column: int) -> None:
        """The whole array of a table row in a window (:class:`ArrayDialog`): its
        gradient when the gradient column is clicked, else its value."""
        if not 0 <= row < len(self._rows):
            return
        title, value, grad = self._rows[row]
        which, array = ("gradient dL/d(value)", grad) if column == 2 else ("value", value)
        if array is None:
            self._say(f"{title}: its {which.split(' ')[0]} is not known yet")
            return
        if self.array_dialog is None:
            self.array_dialog = ArrayDialog(self)
        self.array_dialog.show_array(f"{title}, {which}", array)

    def element(self) -> tuple[int, ...] | None:
        """The element the explanation is about, from the field ("2, 0"), or None (the
        node's default: its first element).

        Raises:
            ValueError: naming the text when it is not whole numbers separated by commas.
        """
        text = self.element_edit.text().strip()
        if not text:
            return None
        try:
            return tuple(int(part) for part in text.replace(";", ",").split(","))
        except ValueError:
            raise ValueError(f"explain: {text!r} is not an element; write its indices as "
                             "whole numbers separated by commas (sample, unit), e.g. "
                             "2, 0") from None

    @Slot()
    def _element_changed(self) -> None:
        if self.step is not None and self.step.current is not None:
            self._show()

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {tone('error')};" if error else "")

    def _buttons(self) -> None:
        step = self.step
        self.forward_button.setEnabled(step is not None and step.can_forward)
        self.backward_button.setEnabled(step is not None and step.can_backward)
        self.end_button.setEnabled(step is not None and (step.can_forward or step.can_backward))
        self.update_button.setEnabled(step is not None and step.can_update)

    @Slot(object)
    def _network_changed(self, _what: Any = None) -> None:
        """An edit, an undo, a dataset switch or another file: the run no longer matches
        the network, and nothing shown of the old pass stays (not even an explanation
        or a refusal's message)."""
        stale = self._run is not None or self.step is not None
        self._run = self._weights = self._source = None
        self._weights_text = ""
        self._put_out("The network changed: press Start to step through it again." if stale
                      else READY_TEXT)

    @Slot(object)
    def _training_state(self, state: Any) -> None:
        """A run starts (or continues) training: the pass is put out, the canvas is the
        training's; Start after it steps in the weights it leaves."""
        if RunState(state).busy and self.step is not None:
            self._put_out("A run is training: press Start when it ends to step in the "
                          "weights it leaves.")

    def _put_out(self, message: str, error: bool = False) -> None:
        """Forget the pass: the table, the text, the canvas's light and numbers; say
        ``message`` (in the error colour with ``error``)."""
        self.step = None
        self.table.setRowCount(0)
        self.text.setPlainText("")
        self._rows = []
        self.window.scene.set_wire_notes({})
        self.window.scene.set_focus(None)
        self._say(message, error)
        self._buttons()

    def hideEvent(self, event: QHideEvent) -> None:
        """The dock closed (View → Step-through): the canvas loses the current node's
        light and the wires' numbers (they come back when it opens again)."""
        super().hideEvent(event)
        if not event.spontaneous():  # not the window being minimised
            self.window.scene.set_focus(None)
            self.window.scene.set_wire_notes({})

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not event.spontaneous() and self.step is not None and self.step.current is not None:
            self._show()
