"""Help → Mouse and Keyboard and Help → About: the texts and their message boxes.

The training shortcuts are read from the training panel's actions each time, so the
help cannot drift from the keys that work.
"""

from __future__ import annotations

import html
from typing import Iterable

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMessageBox, QWidget

__all__ = ["HELP", "ABOUT", "help_text", "show_help", "show_about"]

#: The editing part of the help (HTML): mouse gestures and keys of the canvas.
HELP = """<h3>Building a network</h3>
<ul>
<li><b>Add</b> a node: drag it from the palette, double-click it there, or press
<b>Tab</b> on the canvas and type its name.</li>
<li><b>Wire</b>: drag from an output port (a card's right side) to an input port (left
side). Ports that would take the wire light up; the status bar says why others will not.
Drag a wire's end off its input to remove it, or onto another input to move it.</li>
<li>Select a node to edit it in the <b>Inspector</b>; with nothing selected it lists what
would stop training.</li>
</ul>
<h3>Keys</h3>
<table>
<tr><td>Ctrl+Z / Ctrl+Shift+Z, Ctrl+Y</td><td>undo / redo</td></tr>
<tr><td>Ctrl+X, C, V, D</td><td>cut, copy, paste, duplicate</td></tr>
<tr><td>Delete, Backspace</td><td>delete the selection</td></tr>
<tr><td>Ctrl+A</td><td>select all</td></tr>
<tr><td>F</td><td>fit the network in view</td></tr>
<tr><td>Ctrl+wheel, Ctrl+= / Ctrl+-</td><td>zoom (Ctrl+0: 100%)</td></tr>
<tr><td>wheel, Shift+wheel</td><td>scroll</td></tr>
<tr><td>middle button, Space+drag</td><td>pan</td></tr>
<tr><td>Ctrl+L</td><td>auto-layout</td></tr>
<tr><td>Ctrl+click, Shift+click, drag on empty canvas</td>
<td>add to the selection, select an area</td></tr>
</table>"""

#: Help → About (HTML).
ABOUT = ("<b>NN Canvas</b><br>Build neural networks by wiring nodes, train them with a "
         "NumPy backpropagation engine, and watch them learn.")


def help_text(training_actions: Iterable[QAction]) -> str:
    """:data:`HELP` followed by a table of ``training_actions``' shortcuts (HTML), each
    described by its status tip (or its text without the ``&``)."""
    rows = []
    for action in training_actions:
        keys = ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText)
                         for k in action.shortcuts())
        what = action.statusTip() or action.text().replace("&", "")
        rows.append(f"<tr><td>{html.escape(keys)}</td>"
                    f"<td>{html.escape(what[:1].lower() + what[1:])}</td></tr>")
    return f"{HELP}\n<h3>Training</h3>\n<table>\n" + "\n".join(rows) + "\n</table>"


def show_help(parent: QWidget, training_actions: Iterable[QAction]) -> None:
    """Show :func:`help_text` in a message box over ``parent``."""
    QMessageBox.information(parent, "Mouse and keyboard", help_text(training_actions))


def show_about(parent: QWidget) -> None:
    """Show :data:`ABOUT` over ``parent``."""
    QMessageBox.about(parent, "About NN Canvas", ABOUT)
