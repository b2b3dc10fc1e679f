"""A titled section of the training panel (DATA, OPTIMIZER, TRAINING, RUN): a small bold
header, the line where a refused value's reason shows, and a row of columns."""

from __future__ import annotations

import copy
import html
import re
from typing import Any, Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.widgets import Binding, ElidedLabel, section_label, tone
from nncore.project.settings import DatasetSettings, SettingsError, TrainingSettings

__all__ = ["Section", "SettingsAccess", "form", "label"]

#: The settings' sections and the classes that read them (defaults filled in).
_KINDS: dict[str, Any] = {"dataset": DatasetSettings, "training": TrainingSettings}


def form() -> QFormLayout:
    """A compact form: labels left, fields at their size, no wrapping."""
    layout = QFormLayout()
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setHorizontalSpacing(8)
    layout.setVerticalSpacing(3)
    layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
    layout.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
    layout.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    layout.setFormAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    return layout


def label(text: str, tip: str = "") -> QLabel:
    """A form row's label (with a tooltip)."""
    widget = QLabel(text)
    if tip:
        widget.setToolTip(tip)
    return widget


class Section(QWidget):
    """A titled group: header, a row of columns (:meth:`column`), an error line.

    Attributes:
        header: the section's title (``objectName`` ``panelSection``).
        error_label: a refused value's reason, on the header's line (``dataError``, ...).
        columns: the row the columns go in.
    """

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(4)
        head = QHBoxLayout()
        head.setSpacing(10)
        self.header = section_label(title)
        self.header.setObjectName("panelSection")
        head.addWidget(self.header)
        # a refused value's reason, on the header's line (costs no height)
        self.error_label = ElidedLabel()
        self.error_label.setObjectName(f"{title.lower()}Error")
        self.error_label.hide()
        head.addWidget(self.error_label, 1)
        box.addLayout(head)
        self.columns = QHBoxLayout()
        self.columns.setSpacing(12)
        box.addLayout(self.columns, 1)
        self._tones: list[tuple[QLabel, str]] = [(self.error_label, "error")]
        self.bindings: list[Binding] = []  # its editors bound to settings (SettingsAccess)

    def column(self) -> QVBoxLayout:
        """A new column at the right of the others."""
        col = QVBoxLayout()
        col.setSpacing(4)
        self.columns.addLayout(col)
        return col

    def show_error(self, message: str) -> None:
        """Show why a value was refused on the header's line (the whole message in the
        tooltip): "training.optimizer_options: Invalid beta ..." shows the reason,
        "training.optimizer_options.betas[0] must be ..." shows "betas[0] must be ..."."""
        match = re.match(r"(?:dataset|training)\.\w+(?: \(\w+\))?: (.+)", message, re.S) \
            or re.match(r"(?:dataset|training)\.(?:\w+\.)*(\S+ .+)", message, re.S)
        self.error_label.setText(f"⚠ {match.group(1) if match else message}")
        self.error_label.setToolTip(f"<p>{html.escape(message)}</p>")  # rich text: wrapped
        self.error_label.show()

    def add_tone(self, widget: QLabel, name: str) -> None:
        """Colour ``widget`` with the theme's ``name`` tone (again at a theme change)."""
        self._tones.append((widget, name))

    def apply_tones(self) -> None:
        """Colour the header and the toned labels for the current theme."""
        self.header.setStyleSheet(f"color: {tone('muted')};")
        for widget, name in self._tones:
            widget.setStyleSheet(f"color: {tone(name)};")


class SettingsAccess:
    """The sections' way to the project's settings: read a section, and bind an editor
    to a setting (:meth:`bind`): every change in the panel is a
    :class:`~app.widgets.binding.Binding`'s one undoable command.

    Args:
        document: the :class:`~app.document.Document`.
        show_all: ``show_all(force)`` shows the project's settings in every section (after
            a refused change).
        command: ``command(graph, settings, text)``, the undo command
            (:class:`~app.editor.commands.SetSettings`, given by the panel: the one place
            training imports from the editor).
    """

    def __init__(self, document: Any, show_all: Callable[[bool], None],
                 command: Callable[[Any, dict[str, Any], str], Any]) -> None:
        self.document = document
        self.command = command
        self._show_all = show_all

    @property
    def graph(self) -> Any:
        return self.document.graph

    def read(self, section: str) -> tuple[Any, str | None]:
        """The section's settings (defaults filled in) and None, or the defaults and why
        the project's are invalid."""
        kind = _KINDS[section]
        try:
            return kind.from_dict(copy.deepcopy(self.graph.settings.get(section))), None
        except SettingsError as e:
            return kind(), str(e)

    def refuse(self, target: Section, message: str) -> None:
        """Show the project's settings again and why a value was refused."""
        self._show_all(True)
        target.show_error(message)

    def bind(self, editor: QWidget, section: str, key: str | tuple[str, ...],
             title: str | Callable[[dict[str, Any]], str],
             convert: Callable[[Any], Any] | None, target: Section,
             **hooks: Any) -> Binding:
        """Bind ``editor`` to ``settings[section][key]`` (``key`` a name, or the keys
        below the section: ``("optimizer_options", "lr")``), kept in ``target.bindings``;
        refusals show on ``target``. ``hooks`` are :class:`~app.widgets.binding.Binding`'s
        (``spec``, ``default``, ``read``, ``write``, ``shown``, ``enabled``, ``text``,
        ``tip``, ``after``)."""
        kind = _KINDS[section]

        def error(message: str | None) -> None:
            if message is None:
                target.error_label.hide()
            else:
                self.refuse(target, message)

        keys = (key,) if isinstance(key, str) else tuple(key)
        binding = Binding(editor, (section, *keys), self.document, command=self.command,
                          title=title,
                          normalize=lambda d: kind.from_dict(copy.deepcopy(d)).to_dict(),
                          convert=convert, error=error, **hooks)
        target.bindings.append(binding)
        return binding
