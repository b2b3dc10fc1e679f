"""Editor widgets shared by the views: a typed number field, an elided one-line label,
spin boxes of the panels' style, and :func:`set_quietly` (show a value without emitting).
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QLocale, QObject, QSize, Qt, Signal
from PySide6.QtGui import QDoubleValidator, QPainter
from PySide6.QtWidgets import (QAbstractSpinBox, QCheckBox, QComboBox, QDoubleSpinBox,
                               QHBoxLayout, QLabel, QLineEdit, QSizePolicy, QSpinBox, QWidget)

from app.widgets.spin import FloatSpin

__all__ = ["INT_MAX", "FIELD_WIDTH", "number_validator", "NumberEdit", "FloatsEdit",
           "ElidedLabel", "int_spin", "float_spin", "set_quietly", "editor_value", "fmt"]

INT_MAX = 2**31 - 1  # QSpinBox holds a C int
FIELD_WIDTH = 70     # width of number fields


def fmt(value: Any) -> str:
    """A setting's value as text: 0.001, 1e-08, 3, on/off, (0.9, 0.999), none."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(fmt(v) for v in value) + ")"
    return str(value)


class ElidedLabel(QLabel):
    """One line of text cut with "…" to the width it gets (the whole text in the
    tooltip); it never widens its layout."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setTextFormat(Qt.TextFormat.PlainText)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(0, super().minimumSizeHint().height())

    def paintEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        painter = QPainter(self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        text = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight,
                                             self.contentsRect().width())
        painter.drawText(self.contentsRect(),
                         int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), text)


def number_validator(parent: QObject) -> QDoubleValidator:
    """A validator for a number typed in plain or scientific notation (``1e-5``), with
    a point as decimal separator whatever the locale, and no group separators."""
    validator = QDoubleValidator(parent)
    validator.setNotation(QDoubleValidator.Notation.ScientificNotation)
    locale = QLocale.c()
    locale.setNumberOptions(QLocale.NumberOption.RejectGroupSeparator)
    validator.setLocale(locale)
    return validator


class NumberEdit(QLineEdit):
    """A number typed as text (``0.001``, ``1e-8``): any float is accepted here and the
    settings decide. Emits :attr:`committed` on Enter or focus out when the number
    differs from the one shown; text that is not a number gets the shown value back."""

    committed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setValidator(number_validator(self))
        self.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.setFixedWidth(FIELD_WIDTH)
        self._value: float = 0.0
        self.editingFinished.connect(self._finish)

    def value(self) -> float:
        """The value shown (the project's, not a half-typed one)."""
        return self._value

    def set_value(self, value: float, force: bool = False) -> None:
        """Show ``value``; a field being typed in keeps its text unless ``force``."""
        self._value = value
        if force or not (self.hasFocus() and self.isModified()):
            self.setText(fmt(value))
            self.setModified(False)
            self.setCursorPosition(0)

    def _finish(self) -> None:
        self.setModified(False)
        try:
            value = float(self.text())
        except ValueError:
            self.setText(fmt(self._value))
            return
        if value == self._value:
            self.setText(fmt(value))
            return
        self.committed.emit(value)

    def focusOutEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        super().focusOutEvent(event)
        if not self.hasAcceptableInput():  # "", "1e": no editingFinished; put back
            self.setText(fmt(self._value))
            self.setModified(False)


class FloatsEdit(QWidget):
    """A fixed number of numbers typed side by side (Adam's ``betas``): one
    :class:`NumberEdit` each (``edit[i]``). Emits :attr:`committed` with every number (a
    tuple) when one of them is committed."""

    committed = Signal(object)

    def __init__(self, length: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self._edits = tuple(NumberEdit(self) for _ in range(length))
        for i, edit in enumerate(self._edits):
            edit.setFixedWidth(FIELD_WIDTH // 2 + 10)
            edit.committed.connect(lambda v, i=i: self._commit(i, v))
            layout.addWidget(edit)

    def __getitem__(self, index: int) -> NumberEdit:
        return self._edits[index]

    def __len__(self) -> int:
        return len(self._edits)

    def value(self) -> tuple[float, ...]:
        """The numbers shown (the project's, not half-typed ones)."""
        return tuple(e.value() for e in self._edits)

    def set_value(self, values: Any, force: bool = False) -> None:
        """Show ``values`` (one per field; see :meth:`NumberEdit.set_value`)."""
        for edit, v in zip(self._edits, values):
            edit.set_value(float(v), force)

    def setObjectName(self, name: str) -> None:  # noqa: N802 - Qt API
        """Name the row and each field (``name_0``, ``name_1``, ...)."""
        super().setObjectName(name)
        for i, edit in enumerate(self._edits):
            edit.setObjectName(f"{name}_{i}")

    def setToolTip(self, tip: str) -> None:  # noqa: N802 - Qt API
        """The tooltip of the row and of each field."""
        super().setToolTip(tip)
        for edit in self._edits:
            edit.setToolTip(tip)

    def _commit(self, index: int, value: float) -> None:
        self.committed.emit(tuple(value if i == index else e.value()
                                  for i, e in enumerate(self._edits)))


def _spin_common(spin: QAbstractSpinBox) -> None:
    spin.setKeyboardTracking(False)  # valueChanged on Enter, focus out and arrows only
    spin.setAccelerated(True)
    spin.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    spin.setAlignment(Qt.AlignmentFlag.AlignRight)
    spin.setFixedWidth(FIELD_WIDTH)


def int_spin(low: int, high: int) -> QSpinBox:
    """A spin box for whole numbers in [low, high] (clamped to a C int)."""
    spin = QSpinBox()
    spin.setRange(max(int(low), -INT_MAX), min(int(high), INT_MAX))
    _spin_common(spin)
    return spin


def float_spin(low: float, high: float, step: float, decimals: int) -> FloatSpin:
    """A spin box for numbers in [low, high] (C locale: a point before the decimals)."""
    spin = FloatSpin()
    spin.setLocale(QLocale.c())
    spin.setDecimals(decimals)
    spin.setRange(low, high)
    spin.setSingleStep(step)
    _spin_common(spin)
    return spin


def set_quietly(widget: QWidget, value: Any, force: bool = False) -> None:
    """Show ``value`` in an editor without it emitting anything (a combo box shows the
    item whose data is ``value``; a spin box widens its range to a value beyond it)."""
    if isinstance(widget, NumberEdit):
        widget.set_value(float(value), force)
        return
    if isinstance(widget, FloatsEdit):
        widget.set_value(value, force)
        return
    blocked = widget.blockSignals(True)
    try:
        if isinstance(widget, QCheckBox):
            widget.setChecked(bool(value))
        elif isinstance(widget, QComboBox):
            widget.setCurrentIndex(max(widget.findData(value), 0))
        elif isinstance(widget, QSpinBox):
            value = int(value)
            if value > widget.maximum():
                widget.setMaximum(min(value, INT_MAX))
            widget.setValue(value)
        elif isinstance(widget, QDoubleSpinBox):
            value = float(value)
            if value > widget.maximum():  # a file may hold more than the usual range
                widget.setMaximum(value)
            if value < widget.minimum():
                widget.setMinimum(value)
            widget.setValue(value)
    finally:
        widget.blockSignals(blocked)


def editor_value(editor: QWidget) -> Any:
    """The value an editor shows (a combo box: the current item's data)."""
    if isinstance(editor, QCheckBox):
        return editor.isChecked()
    if isinstance(editor, QComboBox):
        return editor.currentData()
    return editor.value()
