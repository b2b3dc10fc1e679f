"""Widgets shared by the views (editor, training, plots): the only way the views share
code, so that they stay independent of each other (an import-linter contract in
``pyproject.toml`` checks it)."""

from app.widgets.spin import FloatSpin
from app.widgets.text import TONES, is_dark, section_label, tone

__all__ = ["FloatSpin", "TONES", "is_dark", "section_label", "tone"]
