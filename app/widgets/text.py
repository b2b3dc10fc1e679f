"""Text styles shared by the views: the colours of error, ok and muted text for the
current theme, and the small section headers."""

from __future__ import annotations

from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import QApplication, QLabel

__all__ = ["TONES", "is_dark", "tone", "section_label"]

#: Text colours on a light and on a dark window background.
TONES = {
    "light": {"error": "#c62828", "ok": "#2e7d32", "muted": "#6b6b6b"},
    "dark": {"error": "#ff6b6b", "ok": "#6fcf77", "muted": "#9aa3b5"},
}


def is_dark() -> bool:
    """Whether the application's window background is dark (the dark theme)."""
    return QApplication.palette().color(QPalette.ColorRole.Window).lightness() < 128


def tone(name: str) -> str:
    """The colour of ``"error"``, ``"ok"`` or ``"muted"`` text for the current theme."""
    return TONES["dark" if is_dark() else "light"][name]


def section_label(text: str) -> QLabel:
    """A small bold capitalised header (``DATA``, ``PARAMETERS``): the inspector's and
    the training panel's sections. The caller colours it (``tone("muted")``)."""
    label = QLabel(text.upper())
    font = QFont(label.font())
    font.setBold(True)
    font.setPointSizeF(max(font.pointSizeF() * 0.85, 7.0))
    font.setLetterSpacing(QFont.SpacingType.PercentageSpacing, 108)
    label.setFont(font)
    return label
