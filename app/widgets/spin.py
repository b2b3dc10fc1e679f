"""Spin boxes shared by the inspector and the training panel."""

from __future__ import annotations

from PySide6.QtWidgets import QDoubleSpinBox

__all__ = ["FloatSpin"]


class FloatSpin(QDoubleSpinBox):
    """A spin box that shows ``0.01`` rather than ``0.0100`` (the inspector's and the
    training panel's)."""

    def textFromValue(self, value: float) -> str:  # noqa: N802 - Qt API
        text = f"{value:.{self.decimals()}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return "0" if text in ("-0", "") else text
