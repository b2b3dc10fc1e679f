"""Edit → Copy leaves the program able to exit cleanly (offscreen): the clipboard's data
is destroyed after Python has finalized, which crashed with SIGSEGV (exit code 139)
while that data was a QMimeData made in Python."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv)
from app.main_window import MainWindow
w = MainWindow(persist=False)
w.show()
w.document.new()
w.select_all()
w.act_copy.trigger()
mime = QApplication.clipboard().mimeData()
assert mime.hasFormat("application/x-nncanvas-nodes"), mime.formats()
app.processEvents()
w.document.undo_stack.setClean()
{ending}
"""

ENDINGS = {
    # the window closed, then Python ends (no event loop: no aboutToQuit)
    "close-and-return": "w.close()",
    # the event loop quits (aboutToQuit), as when the user quits
    "event-loop-quits": "QTimer.singleShot(50, w.close)\nsys.exit(app.exec())",
    # a script that never closes the window nor runs the event loop: the training
    # thread is ended at exit (it aborted with "QThread: Destroyed while thread is
    # still running", exit code 134)
    "window-left-open": "pass",
}


@pytest.mark.parametrize("ending", list(ENDINGS))
def test_the_program_exits_0_after_copy(ending):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    code = textwrap.dedent(SCRIPT).replace("{ending}", ENDINGS[ending])
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120,
                          cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])


def test_the_copied_nodes_stay_pasteable_as_text_after_the_hand_over(qapp):
    """At exit the clipboard keeps the nodes as plain text; Paste reads that text."""
    from app.document import Document
    from app.editor import scene as scene_module
    from app.editor.scene import GraphScene
    from PySide6.QtWidgets import QApplication

    doc = Document()
    doc.new()
    scene = GraphScene(doc)
    scene.select_all()
    assert scene.copy()
    scene_module._hand_over_clipboard()
    mime = QApplication.clipboard().mimeData()
    assert not mime.hasFormat(scene_module.CLIPBOARD_MIME) and mime.hasText()
    assert len(scene.paste()) == 1 and len(doc.graph) == 2
