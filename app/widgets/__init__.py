"""Widgets shared by the views (editor, training, plots): the only way the views share
code, so that they stay independent of each other (an import-linter contract in
``pyproject.toml`` checks it)."""

from app.widgets.binding import Binding, Unchanged, spec_editor, spec_value
from app.widgets.fields import (ElidedLabel, FloatsEdit, NumberEdit, float_spin, int_spin,
                                number_validator, set_quietly)
from app.widgets.spin import FloatSpin
from app.widgets.text import TONES, is_dark, section_label, tone

__all__ = ["Binding", "ElidedLabel", "FloatSpin", "FloatsEdit", "NumberEdit", "TONES",
           "Unchanged", "float_spin", "int_spin", "is_dark", "number_validator",
           "section_label", "set_quietly", "spec_editor", "spec_value", "tone"]
