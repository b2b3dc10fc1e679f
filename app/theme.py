"""Colours and sizes of the canvas, for a light and a dark theme.

One place for every colour the editor draws with, so both themes stay consistent:
category colours (node headers, palette icons, minimap), port-kind colours (tensor,
labels, loss: a wire has the colour of what it carries), and the canvas, card, text,
selection and error colours.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

__all__ = ["Theme", "LIGHT", "DARK", "THEMES", "CATEGORY_COLORS", "PORT_COLORS",
           "apply_palette"]

#: Node category -> colour (headers, palette icons, minimap).
CATEGORY_COLORS = {"Data": "#2a9d8f", "Layers": "#3a86ff", "Activations": "#f4a261",
                   "Normalization": "#8e6cdb", "Merge": "#6c8a5b", "Losses": "#e63946",
                   "Operators": "#c05299"}
#: Port kind -> colour (ports and the wires that carry that kind).
PORT_COLORS = {"tensor": "#3a86ff", "target": "#2a9d8f", "loss": "#e63946"}


@dataclass(frozen=True)
class Theme:
    """The colours of one theme (hex strings)."""

    name: str
    canvas: str
    grid_minor: str
    grid_major: str
    card: str
    card_border: str
    text: str
    text_dim: str
    selection: str
    error: str
    wire_label_bg: str
    dim: str
    #: the step-through's current node and its wires: green, a hue the gradient-flow
    #: colour map (plasma: blue, purple, orange) never takes, so the two never mix up
    focus: str = "#00a651"

    def color(self, field: str) -> QColor:
        return QColor(getattr(self, field))


LIGHT = Theme("light", canvas="#f5f6f8", grid_minor="#e8eaee", grid_major="#d9dce3",
              card="#ffffff", card_border="#c9ced8", text="#1f2430", text_dim="#667085",
              selection="#ff9f1c", error="#d62828", wire_label_bg="#ffffffd8", dim="#b8bec9")
DARK = Theme("dark", canvas="#1e2128", grid_minor="#262a33", grid_major="#2f3440",
             card="#2b303b", card_border="#434a59", text="#e6e9ef", text_dim="#9aa3b5",
             selection="#ffb347", error="#ff5c5c", wire_label_bg="#2b303bd8", dim="#4a5060",
             focus="#4ade80")
THEMES = {"light": LIGHT, "dark": DARK}


def apply_palette(app: QApplication, theme: Theme) -> None:
    """Give the application's widgets (docks, menus, inspector) colours that match the
    canvas theme (Fusion style: the same look on every platform)."""
    app.setStyle("Fusion")
    if theme.name == "light":
        app.setPalette(app.style().standardPalette())
        return
    p = QPalette()
    base, window, text = QColor("#1b1e24"), QColor("#262a32"), QColor(theme.text)
    for role, color in [(QPalette.Window, window), (QPalette.WindowText, text),
                        (QPalette.Base, base), (QPalette.AlternateBase, window),
                        (QPalette.ToolTipBase, QColor("#333844")),
                        (QPalette.ToolTipText, text), (QPalette.Text, text),
                        (QPalette.Button, window), (QPalette.ButtonText, text),
                        (QPalette.BrightText, QColor("#ff6b6b")),
                        (QPalette.Highlight, QColor("#3a86ff")),
                        (QPalette.HighlightedText, QColor("#ffffff")),
                        (QPalette.PlaceholderText, QColor(theme.text_dim))]:
        p.setColor(role, color)
    # disabled fields (settings locked while training, unchecked options) must look it:
    # dim text on the window colour instead of the fields' dark base
    disabled_text = QColor(theme.text_dim).darker(140)
    for role in (QPalette.Text, QPalette.ButtonText, QPalette.WindowText):
        p.setColor(QPalette.Disabled, role, disabled_text)
    p.setColor(QPalette.Disabled, QPalette.Base, window)
    p.setColor(QPalette.Disabled, QPalette.Button, QColor("#2c3038"))
    app.setPalette(p)
