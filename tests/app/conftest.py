"""Fixtures for the GUI tests: settings in a temporary folder, a window, helpers to drive
the canvas with real mouse events."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtTest import QTest


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path_factory):
    """Keep QSettings (layout, recent files, theme) out of the user's config."""
    folder = tmp_path_factory.mktemp("settings")
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(folder))
    yield folder


@pytest.fixture(autouse=True)
def stop_and_keep_without_asking(monkeypatch):
    """A window closed (or another project opened) while a run trains asks whether to
    stop it, in a modal box no one answers offscreen: here it answers "Stop and keep".
    Tests of the question replace ``window.ask_stop`` or call
    :func:`app.training_actions.ask_stop` themselves."""
    from PySide6.QtWidgets import QMessageBox

    import app.main_window

    monkeypatch.setattr(app.main_window, "ask_stop",
                        lambda parent, action="edit", state="running": QMessageBox.Yes)


@pytest.fixture(autouse=True)
def no_import_dialog(monkeypatch):
    """A CSV file chosen in a test takes its detected separator only, with no import
    dialog (a modal dialog no one answers offscreen); tests/app/test_import_dialog.py
    drives the real one (``DataSection.open_import``)."""
    from app.training import data_section

    monkeypatch.setattr(data_section, "_default_open_import",
                        lambda parent, path, settings, keep:
                        {"delimiter": data_section._guess_delimiter(path)})


@pytest.fixture
def patch_dialogs(monkeypatch):
    """Replace the save dialog and the message boxes (no one can answer them offscreen).

    ``shown, warned, asked = patch_dialogs(target)``: the lists that collect the texts of
    the information boxes, of the warnings and critical errors, and the file name each
    save dialog suggested; each save dialog answers ``target()`` (read at each save;
    None: the user cancels)."""
    from PySide6.QtWidgets import QFileDialog, QMessageBox

    def patch(target):
        shown, warned, asked = [], [], []

        def save(*args, **kwargs):
            asked.append(args[2])
            path = target()
            return ("" if path is None else str(path), "")

        monkeypatch.setattr(QMessageBox, "information", lambda *a, **k: shown.append(a[2]))
        monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: warned.append(a[2]))
        monkeypatch.setattr(QMessageBox, "critical", lambda *a, **k: warned.append(a[2]))
        monkeypatch.setattr(QFileDialog, "getSaveFileName", save)
        return shown, warned, asked

    return patch


@pytest.fixture
def window(qtbot):
    from app.main_window import MainWindow

    w = MainWindow(theme="light")
    w.ask_save = lambda: __import__("PySide6.QtWidgets", fromlist=["QMessageBox"]).QMessageBox.Discard
    qtbot.addWidget(w)
    w.resize(1300, 800)
    w.show()
    qtbot.waitExposed(w, timeout=5000)
    yield w
    w.document.undo_stack.setClean()
    w.close()


def view_point(view, scene_point) -> QPoint:
    return view.mapFromScene(scene_point)


def drag(view, start, end, steps: int = 6, button=Qt.LeftButton, modifier=Qt.NoModifier) -> None:
    """Press at ``start``, move in steps, release at ``end`` (scene points), on the view."""
    vp = view.viewport()
    a, b = view_point(view, start), view_point(view, end)
    QTest.mousePress(vp, button, modifier, a)
    for i in range(1, steps + 1):
        p = a + (b - a) * (i / steps)
        QTest.mouseMove(vp, p)
    QTest.mouseRelease(vp, button, modifier, b)


def click(view, scene_point, modifier=Qt.NoModifier) -> None:
    QTest.mouseClick(view.viewport(), Qt.LeftButton, modifier, view_point(view, scene_point))


@pytest.fixture
def mouse():
    """``mouse.drag(view, start, end)`` and ``mouse.click(view, point)`` in scene points."""
    from types import SimpleNamespace

    return SimpleNamespace(drag=drag, click=click, view_point=view_point)


@pytest.fixture
def canvas(qtbot):
    """A document with a scene and a view (no main window)."""
    from types import SimpleNamespace

    from app.document import Document
    from app.editor.scene import GraphScene
    from app.editor.view import GraphView

    doc = Document()
    scene = GraphScene(doc)
    view = GraphView(scene)
    qtbot.addWidget(view)
    view.resize(1200, 700)
    view.show()
    qtbot.waitExposed(view, timeout=5000)
    view.set_zoom(1.0)
    view.centerOn(500, 100)
    return SimpleNamespace(doc=doc, scene=scene, view=view, graph=doc.graph)


@pytest.fixture
def make_training_panel(qtbot):
    """``make_training_panel()``: a Training panel on a new project, shown at the size
    of the window's bottom dock."""
    from app.document import Document
    from app.training.panel import TrainingPanel

    def make():
        doc = Document()
        doc.new()
        panel = TrainingPanel(doc)
        qtbot.addWidget(panel)
        panel.resize(1400, 260)
        panel.show()
        qtbot.waitExposed(panel)
        return panel
    return make


@pytest.fixture
def store():
    """An empty run store."""
    from app.training.runs import RunStore

    return RunStore()


@pytest.fixture
def plots_panel(qtbot, store):
    """The Plots panel over ``store``."""
    from app.plots.panel import PlotsPanel

    p = PlotsPanel(store)
    qtbot.addWidget(p)
    p.resize(1000, 750)
    return p
