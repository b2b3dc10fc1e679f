"""A titled section of the training panel (DATA, OPTIMIZER, TRAINING, RUN): a small bold
header, the line where a refused value's reason shows, and a row of columns."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.widgets import ElidedLabel, section_label, tone

__all__ = ["Section", "form"]


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

    def column(self) -> QVBoxLayout:
        """A new column at the right of the others."""
        col = QVBoxLayout()
        col.setSpacing(4)
        self.columns.addLayout(col)
        return col

    def add_tone(self, widget: QLabel, name: str) -> None:
        """Colour ``widget`` with the theme's ``name`` tone (again at a theme change)."""
        self._tones.append((widget, name))

    def apply_tones(self) -> None:
        """Colour the header and the toned labels for the current theme."""
        self.header.setStyleSheet(f"color: {tone('muted')};")
        for widget, name in self._tones:
            widget.setStyleSheet(f"color: {tone(name)};")
