"""The inspector: the selected node's name, parameters, shapes and text for learners, or a
summary of the whole network.

:meth:`Inspector.show_nodes` is called with the canvas selection:

* one node: its name (editable), type and category, one editor per parameter with the
  catalogue's range, its ports with the inferred shapes, its trainable parameter count,
  what is wrong with it, and what it computes (summary and learner text);
* nothing: the network: nodes, wires, trainable parameters, and every problem that would
  stop training (click one that names a node to select it), or "Ready to train";
* several nodes: how many, and their parameters.

Every committed edit (Enter, focus leaving a field, a click on a check box, a choice in
a list; never a single keystroke) is one undoable command on the document
(:class:`~app.editor.commands.SetParams`, :class:`~app.editor.commands.RenameNode`).
A value the model refuses changes nothing: its reason is shown in red by the field.

The inspector follows the graph's events and refreshes once per burst of edits (a
zero-delay timer). While the same node stays selected its editors are updated in place,
so the field being edited keeps the focus.
"""

from __future__ import annotations

import html
import math
from functools import partial
from typing import Any, Callable

import shiboken6
from PySide6.QtCore import QEvent, QLocale, QObject, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QColor, QFont, QMouseEvent
from PySide6.QtWidgets import (QAbstractSpinBox, QApplication, QCheckBox, QComboBox,
                               QDoubleSpinBox, QFormLayout, QFrame, QHBoxLayout, QLabel,
                               QLineEdit, QPushButton, QScrollArea, QSpinBox, QVBoxLayout,
                               QWidget)

from app.editor.commands import RenameNode, SetParams, SetType
from app.editor.palette import glyph_pixmap
from app.theme import CATEGORY_COLORS
from app.widgets import FloatSpin, is_dark, number_validator, section_label, tone
from nncore.graph import (Analysis, Graph, GraphError, Node, ParamError, ParamSpec,
                          interchangeable)
from nncore.text import plural

__all__ = ["Inspector", "uses_line_edit", "format_float"]


def category_text_color(category: str) -> QColor:
    """A category's colour made readable as text on the current window background."""
    color = QColor(CATEGORY_COLORS.get(category, "#7a7a7a"))
    return color.lighter(125) if is_dark() else color.darker(130)

#: A float parameter whose range spans more than this ratio (e.g. eps in [1e-12, 1]) is
#: edited as text in scientific notation; a spin box cannot step through such a range.
_MAX_SPIN_RATIO = 1e3
#: ... as is one whose range is wider than this, or unbounded.
_MAX_SPIN_SPAN = 1e6
_INT_LIMIT = 2**31 - 1  # QSpinBox holds a C int


def uses_line_edit(spec: ParamSpec) -> bool:
    """Whether a float parameter is edited as text (scientific notation allowed) rather
    than with a spin box: when its range is unbounded, wider than 1e6, or positive and
    spanning more than three orders of magnitude (max / min > 1e3, e.g. eps)."""
    low, high = spec.minimum, spec.maximum
    if low is None or high is None:
        return True
    if high - low > _MAX_SPIN_SPAN:
        return True
    return low > 0 and high / low > _MAX_SPIN_RATIO


def format_float(value: float) -> str:
    """A float as the inspector shows it in a text field: ``%g`` (``1e-05``, ``0.1``)."""
    return f"{value:g}"


def _error_style(label: QLabel) -> None:
    label.setStyleSheet(f"color: {tone('error')};")
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)


def _section(text: str) -> QLabel:
    """A small bold header above a group of rows."""
    label = section_label(text)
    label.setStyleSheet(f"color: {tone('muted')};")
    label.setContentsMargins(0, 10, 0, 0)
    label.setObjectName("inspectorSection")
    return label


def _wrapped(text: str = "", rich: bool = False) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText if rich else Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _count(n: int) -> str:
    return f"{n:,}"


class _ProblemRow(QWidget):
    """One problem of the network: a warning sign and the text, wrapped with a hanging
    indent. When it names a node (``node_id``), a click emits ``clicked``."""

    clicked = Signal()

    def __init__(self, text: str, node_id: str | None = None) -> None:
        super().__init__()
        self.node_id = node_id
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(5)
        sign = QLabel("⚠")
        sign.setStyleSheet(f"color: {tone('error')};")
        layout.addWidget(sign, 0, Qt.AlignmentFlag.AlignTop)
        self.text_label = QLabel(text)
        self.text_label.setWordWrap(True)
        self.text_label.setStyleSheet(f"color: {tone('error')};")
        layout.addWidget(self.text_label, 1)
        if node_id is not None:
            self.setCursor(Qt.CursorShape.PointingHandCursor)

    def text(self) -> str:
        return self.text_label.text()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        if (self.node_id is not None and event.button() == Qt.MouseButton.LeftButton
                and self.rect().contains(event.position().toPoint())):
            self.clicked.emit()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def _underline(self, on: bool) -> None:
        if self.node_id is not None:
            font = self.text_label.font()
            font.setUnderline(on)
            self.text_label.setFont(font)

    def enterEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        self._underline(True)
        super().enterEvent(event)

    def leaveEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        self._underline(False)
        super().leaveEvent(event)


# ============================================================================ pages
class _Page(QWidget):
    """One view of the inspector; ``key`` says what it shows."""

    key: tuple = ()

    def __init__(self, inspector: "Inspector") -> None:
        super().__init__()
        self.inspector = inspector
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(10, 4, 10, 10)
        self.layout_.setSpacing(4)

    def refresh(self, graph: Graph, analysis: Analysis) -> None:
        """Show the graph as it is now (without losing the focus of a field)."""

    def finish(self) -> None:
        self.layout_.addStretch(1)


def gradient_check(document: Any, node_id: str | None = None) -> tuple[str, bool]:
    """Check backpropagation against float64 central differences on 32 training
    samples, in the weights a run starts from (at most 64 elements of each input and
    weight): of one node, or (``node_id`` None) of every node and the whole network.

    Returns:
        (the result as a sentence, passed); a network that cannot be run gives
        ("Cannot check: <why>", False).
    """
    from nncore.project import TrainingRun
    from nncore.stepthrough import StepThrough

    QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        run = TrainingRun(document.graph, base_dir=document.project.base_dir)
        size = max(1, min(32, len(run.split.y_train)))
        step = StepThrough.from_run(run, size=size, training=size > 1)
        if node_id is not None and node_id not in step.forward_order:
            name = document.graph.node(node_id).name
            raise ValueError(f"{name} is not on the way to the loss: nothing flows back "
                             "through it")
        result = step.check_gradients(node=node_id, elements=64)
    except (GraphError, ParamError, ValueError, OSError) as e:
        return f"Cannot check: {e}", False
    finally:
        QApplication.restoreOverrideCursor()
    text = str(result)
    failed = [document.graph.node(n).name for n in result.failed_nodes
              if document.graph.has_node(n)]
    if failed:
        text += f"; wrong backward in {', '.join(failed)}"
    return ("✓ " if result.ok else "✗ ") + text[0].upper() + text[1:], result.ok


class _GradientCheckRow(QWidget):
    """A button that runs :func:`gradient_check` and the line that shows its result."""

    def __init__(self, page: "_Page", title: str, node_id: str | None) -> None:
        super().__init__()
        self.page, self.node_id = page, node_id
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.button = QPushButton(title)
        self.button.setObjectName("inspectorCheckGradient")
        self.button.setToolTip(
            "Compare the gradients backpropagation gives with float64 central differences, "
            "on a batch of 32 training samples in the weights a run starts from (at most "
            "64 elements of each input and weight)")
        self.button.clicked.connect(self.check)
        layout.addWidget(self.button, 0, Qt.AlignmentFlag.AlignLeft)
        self.label = _wrapped()
        self.label.setObjectName("inspectorCheckResult")
        self.label.hide()
        layout.addWidget(self.label)

    def check(self) -> None:
        """Run the check and show its result in green or red."""
        text, ok = gradient_check(self.page.inspector.document, self.node_id)
        self.label.setText(text)
        self.label.setStyleSheet(f"color: {tone('ok' if ok else 'error')};")
        self.label.show()


class _NodePage(_Page):
    """One node: name, type, parameter editors, ports and shapes, learner text."""

    def __init__(self, inspector: "Inspector", node: Node) -> None:
        super().__init__(inspector)
        self.node_id = node.id
        self.key = ("node", node.id, node.type_id)  # another type: another page
        ntype = node.type
        self.active = True  # False once the page is replaced: late signals are ignored
        self.editors: dict[str, QWidget] = {}
        self.errors: dict[str, QLabel] = {}
        self._shown_values: dict[str, Any] = dict(node.params)
        self._shown_name = node.name

        # --- type and category, with the palette's icon
        head = QHBoxLayout()
        head.setSpacing(8)
        icon = QLabel()
        icon.setPixmap(glyph_pixmap(ntype.type_id, 30, self.devicePixelRatioF()))
        icon.setFixedSize(30, 30)
        head.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        titles = QVBoxLayout()
        titles.setSpacing(0)
        self.type_label = QLabel(ntype.display_name)
        font = QFont(self.type_label.font())
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self.type_label.setFont(font)
        self.category_label = QLabel(ntype.category)
        self.category_label.setStyleSheet(
            f"color: {category_text_color(ntype.category).name()};")
        titles.addWidget(self.type_label)
        titles.addWidget(self.category_label)
        head.addLayout(titles, 1)
        self.layout_.addSpacing(6)
        self.layout_.addLayout(head)

        # --- its kind, where others fit the same wires (an activation: ReLU, Tanh...)
        self.kind_combo: QComboBox | None = None
        kinds = interchangeable(ntype)
        if len(kinds) > 1:
            self.layout_.addWidget(_section("Kind"))
            combo = QComboBox()
            combo.setObjectName("inspectorKind")
            for kind in kinds:
                combo.addItem(kind.display_name, kind.type_id)
            combo.setCurrentIndex(combo.findData(ntype.type_id))
            combo.setToolTip("Make this node another kind of the same category, keeping its "
                             "wires (one undo step): compare activations without rewiring")
            combo.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            combo.installEventFilter(self)  # no change by the wheel while scrolling
            combo.activated.connect(self._commit_kind)
            self.layout_.addWidget(combo)
            self.kind_combo = combo
            self.kind_error = QLabel()
            _error_style(self.kind_error)
            self.kind_error.hide()
            self.layout_.addWidget(self.kind_error)

        # --- name
        self.layout_.addWidget(_section("Name"))
        self.name_edit = QLineEdit(node.name)
        self.name_edit.setCursorPosition(0)  # a long name shows its beginning
        self.name_edit.setObjectName("inspectorName")
        self.name_edit.setToolTip("The node's name on the canvas (unique). Enter to apply.")
        self.name_edit.editingFinished.connect(self._commit_name)
        self.layout_.addWidget(self.name_edit)
        self.name_error = QLabel()
        _error_style(self.name_error)
        self.name_error.hide()
        self.layout_.addWidget(self.name_error)

        # --- parameters
        if ntype.params:
            self.layout_.addWidget(_section("Parameters"))
            form = QFormLayout()
            form.setContentsMargins(0, 0, 0, 0)
            form.setHorizontalSpacing(10)
            form.setVerticalSpacing(6)
            form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
            form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
            form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
            for spec in ntype.params:
                editor = self._make_editor(spec, node.params[spec.name])
                tip = spec.help
                if spec.type in ("int", "float"):
                    tip += f"\nAllowed: {spec.range_text()}"
                editor.setToolTip(tip)
                editor.setObjectName(f"param_{spec.name}")
                error = QLabel()
                _error_style(error)
                error.hide()
                cell = QWidget()
                cell_layout = QVBoxLayout(cell)
                cell_layout.setContentsMargins(0, 0, 0, 0)
                cell_layout.setSpacing(2)
                cell_layout.addWidget(editor)
                cell_layout.addWidget(error)
                label = QLabel(spec.title)
                label.setToolTip(tip)
                label.setBuddy(editor)
                form.addRow(label, cell)
                self.editors[spec.name] = editor
                self.errors[spec.name] = error
            self.layout_.addLayout(form)

        # --- ports, shapes, parameter count, problems
        self.layout_.addWidget(_section("Shapes"))
        self.port_labels: list[QLabel] = []
        for _ in (*ntype.inputs, *ntype.outputs):
            label = _wrapped()
            self.port_labels.append(label)
            self.layout_.addWidget(label)
        self.count_label = _wrapped()
        self.count_label.setObjectName("inspectorParamCount")
        self.layout_.addSpacing(4)
        self.layout_.addWidget(self.count_label)
        self.error_label = _wrapped()
        _error_style(self.error_label)
        self.error_label.setObjectName("inspectorNodeError")
        self.error_label.hide()
        self.layout_.addWidget(self.error_label)

        # --- does backpropagation through it match central differences?
        self.layout_.addWidget(_section("Gradient check"))
        self.check_row = _GradientCheckRow(self, "Check this node's gradient", node.id)
        self.layout_.addWidget(self.check_row)

        # --- what it computes
        self.layout_.addWidget(_section("About"))
        self.about_label = _wrapped(
            f"<p style='margin-top:0'><b>{html.escape(ntype.summary)}</b></p>"
            f"<p style='margin-bottom:0'>{html.escape(ntype.learn)}</p>", rich=True)
        self.about_label.setObjectName("inspectorAbout")
        self.layout_.addWidget(self.about_label)
        self.finish()

    # ------------------------------------------------------------------ editors
    def _make_editor(self, spec: ParamSpec, value: Any) -> QWidget:
        commit = partial(self._commit_param, spec.name)
        if spec.type == "bool":
            box = QCheckBox()
            box.setChecked(bool(value))
            box.toggled.connect(lambda checked: commit(bool(checked)))
            return box
        if spec.type == "choice":
            combo = QComboBox()
            for choice in spec.choices:
                combo.addItem(choice.replace("_", " "), choice)
            combo.setCurrentIndex(max(combo.findData(value), 0))
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)
            combo.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            combo.installEventFilter(self)
            combo.activated.connect(lambda index: commit(combo.itemData(index)))
            return combo
        if spec.type == "int":
            spin = QSpinBox()
            low = -_INT_LIMIT if spec.minimum is None else max(int(math.ceil(spec.minimum)),
                                                               -_INT_LIMIT)
            high = _INT_LIMIT if spec.maximum is None else min(int(math.floor(spec.maximum)),
                                                              _INT_LIMIT)
            if spec.exclusive_max and spec.maximum is not None and high == spec.maximum:
                high -= 1
            spin.setRange(low, high)
            spin.setValue(int(value))
            self._spin_common(spin)
            spin.valueChanged.connect(lambda v: commit(int(v)))
            spin.editingFinished.connect(lambda: commit(spin.value()))
            return spin
        if uses_line_edit(spec):
            edit = QLineEdit(format_float(value))
            edit.setValidator(number_validator(edit))
            edit.setPlaceholderText("a number, e.g. 1e-5")
            edit.setAlignment(Qt.AlignmentFlag.AlignRight)
            edit.editingFinished.connect(lambda: self._commit_text(spec.name, edit))
            edit.inputRejected.connect(lambda: self._show_error(
                spec.name, "type a number, e.g. 1e-5 or 0.001"))
            edit.installEventFilter(self)
            return edit
        spin = FloatSpin()
        spin.setLocale(QLocale.c())
        span = spec.maximum - spec.minimum
        step = 10.0 ** math.floor(math.log10(span)) / 100 if span > 0 else 0.01
        spin.setDecimals(max(2, -math.floor(math.log10(step)) + 2))
        spin.setSingleStep(step)
        spin.setRange(spec.minimum, spec.maximum)
        spin.setValue(float(value))
        self._spin_common(spin)
        spin.valueChanged.connect(lambda v: commit(float(v)))
        spin.editingFinished.connect(lambda: commit(spin.value()))
        return spin

    def _spin_common(self, spin: QAbstractSpinBox) -> None:
        spin.setKeyboardTracking(False)  # valueChanged on Enter / focus out / arrows only
        spin.setAccelerated(True)
        spin.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        spin.setAlignment(Qt.AlignmentFlag.AlignRight)
        spin.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        # The wheel over a field that is not being edited scrolls the inspector instead
        # of changing the value (one undo command per wheel step otherwise).
        if event.type() == QEvent.Type.Wheel and isinstance(
                watched, (QAbstractSpinBox, QComboBox)) and not watched.hasFocus():
            QApplication.sendEvent(self.inspector._scroll.verticalScrollBar(), event)
            return True
        # A float text field left with text that is not a number (an empty field, "1e")
        # gets the model's value back; QLineEdit sends no editingFinished for it.
        if event.type() == QEvent.Type.FocusOut and isinstance(watched, QLineEdit):
            if not watched.hasAcceptableInput() and self.active:
                name = next((k for k, w in self.editors.items() if w is watched), None)
                graph = self.inspector.document.graph
                if name is not None and graph.has_node(self.node_id):
                    watched.setText(format_float(graph.node(self.node_id).params[name]))
        return super().eventFilter(watched, event)

    def _editor_shows(self, name: str, value: Any) -> bool:
        """Whether the editor of ``name`` already shows ``value``."""
        editor = self.editors[name]
        if isinstance(editor, QCheckBox):
            return editor.isChecked() == bool(value)
        if isinstance(editor, QComboBox):
            return editor.currentData() == value
        if isinstance(editor, QDoubleSpinBox):
            return editor.value() == round(float(value), editor.decimals())
        if isinstance(editor, QSpinBox):
            return editor.value() == value
        try:
            return float(editor.text()) == float(value)
        except ValueError:
            return False

    def _set_editor(self, name: str, value: Any) -> None:
        """Show ``value`` in the editor of ``name`` without it emitting anything."""
        editor = self.editors[name]
        blocked = editor.blockSignals(True)
        try:
            if isinstance(editor, QCheckBox):
                editor.setChecked(bool(value))
            elif isinstance(editor, QComboBox):
                editor.setCurrentIndex(max(editor.findData(value), 0))
            elif isinstance(editor, (QSpinBox, QDoubleSpinBox)):
                editor.setValue(value)
            else:
                editor.setText(format_float(value))
        finally:
            editor.blockSignals(blocked)

    def _show_error(self, name: str, message: str) -> None:
        label = self.errors[name]
        label.setText(message)
        label.show()

    def _node(self) -> Node | None:
        graph = self.inspector.document.graph
        if not self.active or not graph.has_node(self.node_id):
            return None
        return graph.node(self.node_id)

    def _commit_text(self, name: str, edit: QLineEdit) -> None:
        try:
            value = float(edit.text())
        except ValueError:
            node = self._node()
            if node is not None:
                self._show_error(name, f"{edit.text()!r} is not a number")
                self._set_editor(name, node.params[name])
            return
        self._commit_param(name, value)

    def _commit_param(self, name: str, value: Any) -> None:
        """Push one SetParams for a committed edit, unless it changes nothing; show the
        model's reason, and put the editor back, when it refuses the value."""
        node = self._node()
        if node is None:
            return
        current = node.params[name]
        editor = self.editors[name]
        if isinstance(editor, QDoubleSpinBox):  # it rounds to its decimals
            unchanged = value == round(float(current), editor.decimals())
        else:
            unchanged = value == current
        if isinstance(editor, QLineEdit):
            editor.setModified(False)
        if unchanged:  # focus left a field, Enter twice, a refused value put back...
            return
        try:
            node.type.validate_params({**node.params, name: value})
        except ParamError as e:
            self._show_error(name, str(e))
            self._set_editor(name, current)
            return
        self.errors[name].hide()
        self.inspector.document.push(SetParams(self.inspector.document.graph, node.id,
                                               {name: value}))

    def _commit_kind(self, index: int) -> None:
        node = self._node()
        type_id = self.kind_combo.itemData(index) if self.kind_combo is not None else None
        if node is None or type_id is None or type_id == node.type_id:
            return
        try:
            done = self.inspector.document.push(
                SetType(self.inspector.document.graph, node.id, type_id))
        except (GraphError, ParamError) as e:  # a rule of the model: say it here
            done = False
            self.kind_error.setText(str(e).split("redo(): ", 1)[-1])
            self.kind_error.show()
        if not done:  # refused (or no edits now, while training): show the node's kind
            self.kind_combo.setCurrentIndex(self.kind_combo.findData(node.type_id))

    def _commit_name(self) -> None:
        node = self._node()
        if node is None:
            return
        text = self.name_edit.text().strip()
        self.name_edit.setModified(False)
        if text == node.name:  # unchanged (or a refused name put back): keep any message
            self.name_edit.setText(node.name)
            return
        graph = self.inspector.document.graph
        other = graph.node_by_name(text)
        problem = ("a node name must be a non-empty text" if not text else
                   f"there is already a node called {text!r}"
                   if other is not None and other.id != node.id else "")
        if not problem:
            try:
                self.inspector.document.push(RenameNode(graph, node.id, text))
            except (GraphError, ParamError) as e:  # a rule this check does not know
                problem = str(e).split("redo(): ", 1)[-1]
        if problem:
            self.name_error.setText(problem)
            self.name_error.show()
            self.name_edit.setText(node.name)
            return
        self.name_error.hide()

    # ------------------------------------------------------------------ refresh
    def refresh(self, graph: Graph, analysis: Analysis) -> None:
        node = graph.node(self.node_id)
        if node.name != self._shown_name:
            self._shown_name = node.name
            self.name_error.hide()
        if not (self.name_edit.hasFocus() and self.name_edit.isModified()):
            if self.name_edit.text() != node.name:
                self.name_edit.setText(node.name)
                if not self.name_edit.hasFocus():
                    self.name_edit.setCursorPosition(0)
        for name, value in node.params.items():
            if value != self._shown_values.get(name):
                self.errors[name].hide()
            editor = self.editors[name]
            typing = (isinstance(editor, QLineEdit) and editor.hasFocus()
                      and editor.isModified())
            if not typing and not self._editor_shows(name, value):
                self._set_editor(name, value)
        self._shown_values = dict(node.params)

        ntype = node.type
        i = 0
        for port in ntype.inputs:
            wires = graph.incoming(node.id, port.name)
            shapes = analysis.input_shapes.get((node.id, port.name), [])
            if not wires:
                text, muted = "not connected", True
            elif len(shapes) < len(wires):
                text, muted = "unknown (fix the nodes before it)", True
            else:
                text, muted = ", ".join(str(s) for s in shapes), False
            self._set_port(self.port_labels[i], f"{port.title} ←", text, muted)
            i += 1
        for port in ntype.outputs:
            shape = analysis.shapes.get((node.id, port.name))
            self._set_port(self.port_labels[i], f"{port.title} →",
                           "unknown" if shape is None else str(shape), shape is None)
            i += 1
        count = analysis.params.get(node.id)
        if count is not None:
            count_text = _count(count)
        elif node.id in analysis.errors:
            count_text = "— (see the problem below)"
        else:
            count_text = "unknown until its inputs are known"
        self.count_label.setText(f"Trainable parameters: {count_text}")
        messages = []
        if node.id in analysis.errors:
            messages.append(analysis.errors[node.id])
        own = f"{node.name}: {analysis.errors.get(node.id)}"
        messages += [text for nid, text in analysis.problems if nid == node.id and text != own]
        self.error_label.setText("\n".join(f"⚠ {m}" for m in messages))
        self.error_label.setVisible(bool(messages))

    @staticmethod
    def _set_port(label: QLabel, head: str, text: str, muted: bool) -> None:
        label.setTextFormat(Qt.TextFormat.RichText)
        style = " style='color:%s'" % tone("muted") if muted else ""
        label.setText(f"{html.escape(head)} <span{style}>{html.escape(text)}</span>")


class _NetworkPage(_Page):
    """Nothing selected: the whole network and what stops it from training."""

    key = ("network",)

    def __init__(self, inspector: "Inspector") -> None:
        super().__init__(inspector)
        self.layout_.addWidget(_section("Network"))
        self.counts_label = _wrapped()
        self.counts_label.setObjectName("inspectorCounts")
        self.params_label = _wrapped()
        self.params_label.setObjectName("inspectorTotalParams")
        self.layout_.addWidget(self.counts_label)
        self.layout_.addWidget(self.params_label)
        self.dataset_label = _wrapped()
        self.dataset_label.setObjectName("inspectorDataset")
        self.layout_.addWidget(self.dataset_label)
        self.layout_.addWidget(_section("Before training"))
        self.status_label = _wrapped()
        self.status_label.setObjectName("inspectorStatus")
        self.layout_.addWidget(self.status_label)
        self.problems_box = QVBoxLayout()
        self.problems_box.setContentsMargins(0, 0, 0, 0)
        self.problems_box.setSpacing(6)
        self.layout_.addLayout(self.problems_box)
        self.problem_labels: list[_ProblemRow] = []
        self.layout_.addWidget(_section("Gradient check"))
        self.check_row = _GradientCheckRow(self, "Check every node's gradient", None)
        self.layout_.addWidget(self.check_row)
        hint = _wrapped("Select a node on the canvas to see and edit its parameters.")
        hint.setStyleSheet(f"color: {tone('muted')};")
        hint.setContentsMargins(0, 14, 0, 0)
        self.layout_.addWidget(hint)
        self.finish()

    def refresh(self, graph: Graph, analysis: Analysis) -> None:
        self.counts_label.setText(f"{plural(len(graph), 'node')}, "
                                  f"{plural(len(graph.edges), 'wire')}")
        self.params_label.setText(f"Trainable parameters: {_count(analysis.total_params)}")
        for label in self.problem_labels:
            self.problems_box.removeWidget(label)
            label.deleteLater()
        self.problem_labels = []
        # Checked against the project's dataset, as training will see the network.
        project = self.inspector.document.project
        dataset, problems = project.describe_data(), project.problems()
        self.dataset_label.setText(f"Dataset: {dataset}" if dataset else "Dataset: —")
        if not problems:
            self.status_label.setText("✓ Ready to train")
            self.status_label.setStyleSheet(f"color: {tone('ok')}; font-weight: bold;")
            return
        n = len(problems)
        self.status_label.setText(f"{plural(n, 'problem')} to fix before training:")
        self.status_label.setStyleSheet("font-weight: bold;")
        for node_id, text in problems:
            known = node_id is not None and graph.has_node(node_id)
            row = _ProblemRow(text, node_id if known else None)
            if known:
                row.setToolTip(f"Click to select {graph.node(node_id).name} on the canvas")
                row.clicked.connect(partial(self.inspector.node_activated.emit, node_id))
            self.problems_box.addWidget(row)
            self.problem_labels.append(row)


#: The selection page lists the names of at most this many selected nodes.
MAX_NAMES_LISTED = 40


class _SelectionPage(_Page):
    """Several nodes selected: how many and their trainable parameters."""

    def __init__(self, inspector: "Inspector", node_ids: list[str]) -> None:
        super().__init__(inspector)
        self.node_ids = list(node_ids)
        self.key = ("selection", tuple(node_ids))
        self.layout_.addWidget(_section("Selection"))
        self.title_label = _wrapped(f"{len(node_ids)} nodes selected")
        font = QFont(self.title_label.font())
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self.title_label.setFont(font)
        self.params_label = _wrapped()
        self.params_label.setObjectName("inspectorTotalParams")
        self.names_label = _wrapped()
        self.names_label.setStyleSheet(f"color: {tone('muted')};")
        for w in (self.title_label, self.params_label, self.names_label):
            self.layout_.addWidget(w)
        self.finish()

    def refresh(self, graph: Graph, analysis: Analysis) -> None:
        nodes = [graph.node(n) for n in self.node_ids]
        known = [analysis.params[n.id] for n in nodes if n.id in analysis.params]
        text = f"Trainable parameters: {_count(sum(known))}"
        if len(known) < len(nodes):
            text += f" ({plural(len(nodes) - len(known), 'node')} not counted: shapes unknown)"
        self.params_label.setText(text)
        shown = ", ".join(n.name for n in nodes[:MAX_NAMES_LISTED])
        if len(nodes) > MAX_NAMES_LISTED:  # a wrapped label of 2,000 names costs a second
            shown += f" and {_count(len(nodes) - MAX_NAMES_LISTED)} more"
        self.names_label.setText(shown)


# ============================================================================ inspector
class Inspector(QWidget):
    """Shows and edits the selected node, or summarizes the network.

    Args:
        document: the :class:`~app.document.Document` whose graph is shown; edits are
            pushed on its undo stack.

    Signals:
        node_activated(str): a problem naming a node was clicked (its node id); the main
            window selects that node.
    """

    node_activated = Signal(str)

    _EVENTS = ("node_added", "node_removed", "node_changed", "edge_added", "edge_removed",
               "graph_reset", "settings_changed")

    def __init__(self, document: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("inspector")
        self.document = document
        self._shown: list[str] = []
        self._page: _Page | None = None
        self._restyle = False  # the theme changed: rebuild the page with its colours
        self._scroll = QScrollArea(self)
        self._scroll.setWidgetResizable(True)
        self._scroll.setFrameShape(QFrame.Shape.NoFrame)
        self._scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._scroll)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._refresh)

        graph = document.graph
        self._callbacks: list[tuple[Any, Callable[..., Any]]] = []
        for name in self._EVENTS:
            event = getattr(graph, name)
            callback = self._on_node_changed if name == "node_changed" else self._on_graph_event
            event.connect(callback)
            self._callbacks.append((event, callback))
        if hasattr(document, "path_changed"):  # relative data paths follow the folder
            document.path_changed.connect(self._on_path_changed)
        # Graph events hold these callbacks: let go of them with the widget.
        self.destroyed.connect(partial(_disconnect_all, list(self._callbacks)))
        self._refresh()

    # ------------------------------------------------------------------ public
    def show_nodes(self, node_ids: list[str]) -> None:
        """Show these nodes (the canvas selection): one node's details, several nodes'
        summary, or the network when the list is empty. Unknown ids are ignored."""
        self._shown = list(dict.fromkeys(node_ids))
        self._timer.stop()
        self._refresh()

    def shown_node_ids(self) -> list[str]:
        """The ids of the nodes shown (those of :meth:`show_nodes` that still exist)."""
        graph = self.document.graph
        return [n for n in self._shown if graph.has_node(n)]

    @property
    def mode(self) -> str:
        """``"node"``, ``"selection"`` or ``"network"``: what the inspector shows."""
        return self._page.key[0] if self._page is not None else "network"

    @property
    def page(self) -> QWidget | None:
        """The page shown (for tests and screenshots)."""
        return self._page

    def refresh_now(self) -> None:
        """Bring the view up to date at once instead of at the next event-loop turn."""
        self._timer.stop()
        self._refresh()

    # ------------------------------------------------------------------ updating
    @Slot(object)
    def _on_path_changed(self, _path: Any) -> None:
        # a declared slot: Qt drops the connection when the inspector is destroyed
        self._on_graph_event()

    def _on_graph_event(self, *args: Any) -> None:
        if shiboken6.isValid(self) and not self._timer.isActive():
            self._timer.start()

    def _on_node_changed(self, node: Node, what: str) -> None:
        if what != "position":  # nothing shown here depends on where a node is
            self._on_graph_event()

    def _refresh(self) -> None:
        graph = self.document.graph
        shown = self.shown_node_ids()
        self._shown = shown
        if len(shown) == 1:
            key: tuple = ("node", shown[0], graph.node(shown[0]).type_id)
        elif shown:
            key = ("selection", tuple(shown))
        else:
            key = ("network",)
        if self._page is None or self._page.key != key or self._restyle:
            self._restyle = False
            self._replace_page(key)
        self._page.refresh(graph, self.document.project.analysis())

    def _replace_page(self, key: tuple) -> None:
        old = self._page
        if old is not None:
            # A field with an edit not yet committed commits it while its node exists.
            focused = QApplication.focusWidget()
            if focused is not None and old.isAncestorOf(focused):
                focused.clearFocus()
            if isinstance(old, _NodePage):
                old.active = False
            scroll_value = self._scroll.verticalScrollBar().value()
        graph = self.document.graph
        if key[0] == "node":
            page: _Page = _NodePage(self, graph.node(key[1]))
        elif key[0] == "selection":
            page = _SelectionPage(self, list(key[1]))
        else:
            page = _NetworkPage(self)
        taken = self._scroll.takeWidget()
        if taken is not None:
            taken.hide()
            taken.deleteLater()
        self._page = page
        self._scroll.setWidget(page)
        if old is not None and old.key[0] == key[0] == "network":
            self._scroll.verticalScrollBar().setValue(scroll_value)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self._restyle = True
            if not self._timer.isActive():
                self._timer.start()
        super().changeEvent(event)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(300, 500)


def _disconnect_all(callbacks: list[tuple[Any, Callable[..., Any]]], *args: Any) -> None:
    for event, callback in callbacks:
        event.disconnect(callback)
