"""One binding from a setting to its editor: the Orange-style ``gui.spin(self, "epochs")``.

A :class:`Binding` joins an editor (a spin box, a check box, a combo box, a
:class:`~app.widgets.fields.NumberEdit` or :class:`~app.widgets.fields.FloatsEdit`) to a
path in the project's settings dict, e.g. ``("training", "batch_size")`` or
``("training", "optimizer_options", "lr")``. It shows the value found there
(:meth:`Binding.show`: the value, whether the field applies, its range and tooltip), and a
change in the editor becomes one undoable command on the document ("Batch size: 32 →
64"). A value the settings refuse changes nothing: the reason goes to ``error`` and the
editor shows the project's value again.

A field whose rule comes from a :class:`~nncore.spec.ParamSpec` (an optimizer's argument,
a dataset's option) is bound with ``spec``: the spec in force for the settings shown
gives the default, the type, the spin box's range and the tooltip, and no spec means the
field does not apply (its row is hidden, an edit is ignored). :func:`spec_editor` makes
the editor a spec asks for.

The command is made by ``command(graph, settings, text)`` (the editor's
:class:`~app.editor.commands.SetSettings`, given by the view: shared widgets do not import
the views). The view keeps its bindings (a list): the editor's signal is connected to a
bound method, which Qt lets go of with the binding.
"""

from __future__ import annotations

import copy
from typing import Any, Callable, Sequence

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QSpinBox,
                               QWidget)

from app.widgets.fields import (INT_MAX, FloatsEdit, NumberEdit, float_spin, fmt, int_spin,
                                set_quietly)
from nncore.spec import ParamSpec

__all__ = ["Binding", "Unchanged", "spec_editor", "spec_value"]

Section = dict[str, Any]


class Unchanged(Exception):
    """Raised by a binding's ``write`` to leave the settings as they are (the user
    cancelled a file dialog): nothing is committed and the editor shows the project's
    value again."""


def spec_editor(spec: ParamSpec) -> QWidget:
    """The editor a spec asks for: a check box (``"bool"``, titled), a combo box of the
    choices (``"choice"``), a spin box (``"int"``; a ``"float"`` with both bounds included
    and not ``log``), a :class:`~app.widgets.fields.NumberEdit` for any other float (typed:
    ``1e-5``; the settings check it) or a :class:`~app.widgets.fields.FloatsEdit` of
    ``spec.length`` numbers (``"floats"``)."""
    if spec.type == "bool":
        return QCheckBox(spec.title)
    if spec.type == "choice":
        combo = QComboBox()
        for choice in spec.choices:
            combo.addItem(str(choice), choice)
        return combo
    if spec.type == "floats":
        return FloatsEdit(spec.length)
    if spec.type == "int":
        return int_spin(-INT_MAX if spec.minimum is None else int(spec.minimum),
                        INT_MAX if spec.maximum is None else int(spec.maximum))
    if _spin_spec(spec):
        return float_spin(float(spec.minimum), float(spec.maximum), spec.step or 0.01, 4)
    return NumberEdit()


def spec_value(spec: ParamSpec, value: Any) -> Any:
    """An editor's value as the spec's type (an int spin box's ``3`` stays ``3``, a check
    box's state a bool, a pair of numbers a tuple)."""
    if spec.type == "bool":
        return bool(value)
    if spec.type == "int":
        return int(value)
    if spec.type == "float":
        return float(value)
    if spec.type == "floats":
        return tuple(float(v) for v in value)
    return value


def _spin_spec(spec: ParamSpec) -> bool:
    """Whether a float is edited with a spin box: both bounds given and included (rho in
    [0, 1]); any other number is typed (``1e-5``) and the settings check it."""
    return (spec.type == "float" and not spec.log and spec.minimum is not None
            and spec.maximum is not None and not spec.exclusive_min and not spec.exclusive_max)


def _form_of(widget: QWidget) -> QFormLayout | None:
    """The form layout ``widget`` is a row of, or None."""
    parent = widget.parentWidget()
    if parent is not None:
        for form in parent.findChildren(QFormLayout):
            if form.getWidgetPosition(widget)[0] >= 0:
                return form
    return None


def _set_row_visible(widget: QWidget, shown: bool) -> None:
    """Show or hide ``widget`` with its label when it is a row of a form layout."""
    form = _form_of(widget)
    if form is not None:
        form.setRowVisible(widget, shown)
    else:
        widget.setVisible(shown)


class Binding:
    """A setting at ``path`` shown and edited by ``editor``.

    Args:
        editor: the widget; its change signal is connected here (``valueChanged`` of a
            spin box, ``toggled`` of a check box, ``activated`` of a combo box, whose items
            carry the values as data, ``committed`` of a number field).
        path: the keys from ``document.graph.settings`` to the value, e.g.
            ``("training", "batch_size")``; missing dicts on the way are made.
        document: has ``graph.settings`` and ``push(command) -> bool``.
        command: ``command(graph, settings, text)`` -> the undo command setting
            ``settings`` (all of them).
        title: the setting's name in the command's text (``"Batch size"``), or
            ``title(section)`` for a name that depends on the settings.
        normalize: ``normalize(section) -> dict``: the first key's section checked and
            with its defaults filled in; raises for a refused value (its message is
            shown). Without it the section is stored as edited.
        convert: the editor's value to the setting's (``int``, ``float``, ``bool``).
        error: ``error(message)`` shows why a value was refused, ``error(None)`` hides it.

    The hooks below take the section (normalized, as :meth:`section` returns it):

    Args:
        spec: ``spec(section) -> ParamSpec | None``: the rule of the value for these
            settings (the chosen optimizer's ``lr``); it gives the default, the type
            (``convert``), the range of a spin box and the tooltip. None: the field does
            not apply (hidden, edits ignored).
        default: ``default(section)``: the value shown when the path holds none.
        read, write: ``read(section) -> value`` and ``write(section, value)`` (changing
            the section in place; may raise :class:`Unchanged`) instead of the path, for
            a value that is not one entry (the data source: ``source`` and ``name``) or
            a change that resets others (a new separator forgets the target column).
        shown: ``shown(section) -> bool``: the field applies (its form row shows);
            edits of a hidden field are ignored.
        enabled: ``enabled(section) -> bool``: the field can be edited now (early
            stopping's patience while it is on).
        text: ``text(old_section, new_section) -> str``: the command's text (default
            ``"<title>: <old> → <new>"``, a combo box's values by their item text).
        tip: ``tip(section, spec) -> str``: the tooltip (default with a spec: its
            :meth:`~nncore.spec.ParamSpec.describe` and name).
        after: ``after()`` runs after a commit that was not refused (also when nothing
            changed: a file chosen again is read again).
    """

    def __init__(self, editor: QWidget, path: Sequence[str], document: Any, *,
                 command: Callable[[Any, dict[str, Any], str], Any],
                 title: str | Callable[[Section], str],
                 normalize: Callable[[Any], dict[str, Any]] | None = None,
                 convert: Callable[[Any], Any] | None = None,
                 error: Callable[[str | None], None] | None = None,
                 spec: Callable[[Section], ParamSpec | None] | None = None,
                 default: Callable[[Section], Any] | None = None,
                 read: Callable[[Section], Any] | None = None,
                 write: Callable[[Section, Any], None] | None = None,
                 shown: Callable[[Section], bool] | None = None,
                 enabled: Callable[[Section], bool] | None = None,
                 text: Callable[[Section, Section], str] | None = None,
                 tip: Callable[[Section, ParamSpec | None], str] | None = None,
                 after: Callable[[], None] | None = None) -> None:
        if len(path) < 2:
            raise ValueError(f"path must name a section and a key, got {tuple(path)!r}")
        self.editor = editor
        self.path = tuple(path)
        self.document = document
        self._title = title
        self._command = command
        self._normalize = normalize
        self._convert = convert
        self._error = error
        self._spec, self._default, self._read, self._write = spec, default, read, write
        self._shown, self._enabled, self._text, self._tip = shown, enabled, text, tip
        self._after = after
        if isinstance(editor, (NumberEdit, FloatsEdit)):
            editor.committed.connect(self.commit)
        elif isinstance(editor, QCheckBox):
            editor.toggled.connect(self.commit)
        elif isinstance(editor, QComboBox):
            editor.activated.connect(self._activated)
        elif isinstance(editor, (QSpinBox, QDoubleSpinBox)):
            editor.valueChanged.connect(self.commit)
        else:
            raise TypeError(f"no binding for a {type(editor).__name__}")

    @property
    def title(self) -> str:
        """The setting's name for the project's settings now."""
        return self._title(self.section()) if callable(self._title) else self._title

    def _activated(self, index: int) -> None:
        self.commit(self.editor.itemData(index))

    # ---------------------------------------------------------------- reading
    def section(self) -> dict[str, Any]:
        """The project's section (the path's first key), defaults filled in; invalid
        settings read as the defaults."""
        raw = copy.deepcopy(self.document.graph.settings.get(self.path[0]))
        if self._normalize is None:
            return raw if isinstance(raw, dict) else {}
        try:
            return self._normalize(raw)
        except Exception:  # noqa: BLE001 - invalid settings show the defaults
            return self._normalize(None)

    def spec(self, section: Section | None = None) -> ParamSpec | None:
        """The spec in force for ``section`` (default: the project's), or None."""
        if self._spec is None:
            return None
        return self._spec(self.section() if section is None else section)

    def applies(self, section: Section | None = None) -> bool:
        """Whether the field applies to ``section`` (default: the project's): it has a
        spec (when bound with one) and ``shown`` allows it."""
        section = self.section() if section is None else section
        if self._spec is not None and self._spec(section) is None:
            return False
        return self._shown is None or bool(self._shown(section))

    def _editable(self, section: Section) -> bool:
        return self.applies(section) and (self._enabled is None or bool(self._enabled(section)))

    def _value_in(self, section: Section) -> Any:
        if self._read is not None:
            return self._read(section)
        value: Any = section
        for key in self.path[1:]:
            value = value.get(key) if isinstance(value, dict) else None
        if value is None:
            spec = self.spec(section)
            if spec is not None:
                return spec.default
            if self._default is not None:
                return self._default(section)
        return value

    def value(self) -> Any:
        """The setting's value in the project (its default when absent; None when it is
        not there and has no default)."""
        return self._value_in(self.section())

    def show(self, force: bool = False) -> None:
        """Show the project's value in the editor, without emitting (a number being typed
        keeps its text unless ``force``), and whether the field applies and can be
        edited, its range and tooltip."""
        section = self.section()
        if self._spec is not None or self._shown is not None:
            shown = self.applies(section)
            _set_row_visible(self.editor, shown)
            if not shown:
                return
        if self._enabled is not None:
            self.editor.setEnabled(bool(self._enabled(section)))
        spec = self.spec(section)
        if spec is not None and isinstance(self.editor, (QSpinBox, QDoubleSpinBox)):
            low, high = self.editor.minimum(), self.editor.maximum()
            if spec.minimum is not None:
                low = int(spec.minimum) if isinstance(self.editor, QSpinBox) else spec.minimum
            if spec.maximum is not None:
                high = (min(int(spec.maximum), INT_MAX) if isinstance(self.editor, QSpinBox)
                        else spec.maximum)
            blocked = self.editor.blockSignals(True)
            self.editor.setRange(low, high)
            self.editor.blockSignals(blocked)
        if self._tip is not None or spec is not None:
            tip = (self._tip(section, spec) if self._tip is not None
                   else f"{spec.describe()}\n({spec.name})")
            self.editor.setToolTip(tip)
            form = _form_of(self.editor)
            label = form.labelForField(self.editor) if form is not None else None
            if label is not None:
                label.setToolTip(tip)
        value = self._value_in(section)
        if value is not None or isinstance(self.editor, QComboBox):
            set_quietly(self.editor, value, force)

    # ---------------------------------------------------------------- committing
    def _describe(self, section: Section) -> str:
        value = self._value_in(section)
        if isinstance(self.editor, QComboBox):
            index = self.editor.findData(value)
            if index >= 0:
                return self.editor.itemText(index)
        return fmt(value)

    def commit(self, value: Any) -> bool:
        """Set the setting to ``value``: one command on the document's undo stack (none
        when the settings stay as they are). False if refused: nothing changes, the
        reason goes to ``error`` and the editor shows the project's value. An edit of a
        field that does not apply now is ignored (True)."""
        section = self.section()
        if not self._editable(section):
            self.show(force=True)
            return True
        spec = self.spec(section)
        if self._convert is not None:
            value = self._convert(value)
        elif spec is not None:
            value = spec_value(spec, value)
        if self._write is None and value == self._value_in(section):
            return self._done()
        new = copy.deepcopy(section)
        try:
            if self._write is not None:
                self._write(new, value)
            else:
                node = new
                for key in self.path[1:-1]:
                    if not isinstance(node.get(key), dict):
                        node[key] = {}
                    node = node[key]
                node[self.path[-1]] = value
            if self._normalize is not None:
                new = self._normalize(new)
            if new == self.document.graph.settings.get(self.path[0]):
                return self._done()
            settings = {**self.document.graph.settings, self.path[0]: new}
            if self._text is not None:
                text = self._text(section, new)
            else:
                text = f"{self.title}: {self._describe(section)} → {self._describe(new)}"
            done = self.document.push(self._command(self.document.graph, settings, text))
        except Unchanged:
            self.show(force=True)
            return False
        except Exception as e:  # noqa: BLE001 - the settings refused: say why, change nothing
            self.show(force=True)
            if self._error is not None:  # a KeyError's str() is its message quoted
                self._error(str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e))
            return False
        if done is False:  # the document refuses edits now (e.g. while training runs)
            self.show(force=True)
            return False
        return self._done()

    def _done(self) -> bool:
        if self._error is not None:
            self._error(None)
        if self._after is not None:
            self._after()
        return True
