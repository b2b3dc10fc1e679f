"""One binding from a setting to its editor: the Orange-style ``gui.spin(self, "epochs")``.

A :class:`Binding` joins an editor (a spin box, a check box, a combo box or a
:class:`~app.widgets.fields.NumberEdit`) to a path in the project's settings dict, e.g.
``("training", "batch_size")``. It shows the value found there (:meth:`Binding.show`), and
a change in the editor becomes one undoable command on the document ("Batch size: 32 →
64"). A value the settings refuse changes nothing: the reason goes to ``error`` and the
editor shows the project's value again.

The command is made by ``command(graph, settings, text)`` (the editor's
:class:`~app.editor.commands.SetSettings`, given by the view: shared widgets do not import
the views). The view keeps its bindings (a list): the editor's signal is connected to a
bound method, which Qt lets go of with the binding.
"""

from __future__ import annotations

import copy
from typing import Any, Callable, Sequence

from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QSpinBox, QWidget

from app.widgets.fields import NumberEdit, fmt, set_quietly

__all__ = ["Binding"]


class Binding:
    """A setting at ``path`` shown and edited by ``editor``.

    Args:
        editor: the widget; its change signal is connected here (``valueChanged`` of a
            spin box, ``toggled`` of a check box, ``activated`` of a combo box, whose items
            carry the values as data, ``committed`` of a number field).
        path: the keys from ``document.graph.settings`` to the value, e.g.
            ``("training", "batch_size")``.
        document: has ``graph.settings`` and ``push(command) -> bool``.
        command: ``command(graph, settings, text)`` -> the undo command setting
            ``settings`` (all of them).
        title: the setting's name in the command's text (``"Batch size"``).
        normalize: ``normalize(section) -> dict``: the first key's section checked and
            with its defaults filled in; raises for a refused value (its message is
            shown). Without it the section is stored as edited.
        convert: the editor's value to the setting's (``int``, ``float``, ``bool``).
        error: ``error(message)`` shows why a value was refused, ``error(None)`` hides it.
    """

    def __init__(self, editor: QWidget, path: Sequence[str], document: Any, *,
                 command: Callable[[Any, dict[str, Any], str], Any], title: str,
                 normalize: Callable[[Any], dict[str, Any]] | None = None,
                 convert: Callable[[Any], Any] | None = None,
                 error: Callable[[str | None], None] | None = None) -> None:
        if len(path) < 2:
            raise ValueError(f"path must name a section and a key, got {tuple(path)!r}")
        self.editor = editor
        self.path = tuple(path)
        self.document = document
        self.title = title
        self._command = command
        self._normalize = normalize
        self._convert = convert
        self._error = error
        if isinstance(editor, NumberEdit):
            editor.committed.connect(self.commit)
        elif isinstance(editor, QCheckBox):
            editor.toggled.connect(self.commit)
        elif isinstance(editor, QComboBox):
            editor.activated.connect(lambda i: self.commit(editor.itemData(i)))
        elif isinstance(editor, (QSpinBox, QDoubleSpinBox)):
            editor.valueChanged.connect(self.commit)
        else:
            raise TypeError(f"no binding for a {type(editor).__name__}")

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

    def value(self) -> Any:
        """The setting's value in the project (None when it is not there)."""
        value: Any = self.section()
        for key in self.path[1:]:
            if not isinstance(value, dict):
                return None
            value = value.get(key)
        return value

    def show(self, force: bool = False) -> None:
        """Show the project's value in the editor, without emitting (a number being typed
        keeps its text unless ``force``)."""
        value = self.value()
        if value is not None:
            set_quietly(self.editor, value, force)

    # ---------------------------------------------------------------- committing
    def commit(self, value: Any) -> bool:
        """Set the setting to ``value``: one command on the document's undo stack (none
        when the value is the project's already). False if refused: nothing changes,
        the reason goes to ``error`` and the editor shows the project's value."""
        if self._convert is not None:
            value = self._convert(value)
        old = self.value()
        if value == old:
            return True
        section = self.section()
        node = section
        for key in self.path[1:-1]:
            node = node.setdefault(key, {})
        node[self.path[-1]] = value
        try:
            if self._normalize is not None:
                section = self._normalize(section)
            if section == self.document.graph.settings.get(self.path[0]):
                return True
            settings = {**self.document.graph.settings, self.path[0]: section}
            text = f"{self.title}: {fmt(old)} → {fmt(value)}"
            done = self.document.push(self._command(self.document.graph, settings, text))
        except Exception as e:  # noqa: BLE001 - the settings refused: say why, change nothing
            self.show(force=True)
            if self._error is not None:
                self._error(str(e))
            return False
        if done is False:  # the document refuses edits now (e.g. while training runs)
            self.show(force=True)
            return False
        if self._error is not None:
            self._error(None)
        return True

