"""No file action loses an edit without the user's word (app/file_actions.py,
app/document.py): a failing save keeps the window open and the project modified;
Save As into another folder keeps the data path naming the same file; a file changed on
disk since it was opened is never overwritten silently."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QMessageBox

from app.resources import examples_dir
from nncore.graph import dumps, load_graph
from nncore.project import Project
from nncore.project.data import resolve_path
from nncore.project.settings import DatasetSettings

EXAMPLES = examples_dir()


def _saved_project(window, folder: Path, name: str = "project.json") -> Path:
    """The moons example saved into ``folder`` (clean, with a file)."""
    folder.mkdir(parents=True, exist_ok=True)
    assert window.open_file(EXAMPLES / "moons_tanh.json")
    path = folder / name
    assert window.save_to(path)
    return path


def _edit(window) -> None:
    window.scene.add_node("relu", QPointF(900, 400))
    assert window.document.modified


# ---------------------------------------------------------------- a failing save
@pytest.mark.parametrize("error", [OSError(30, "Read-only file system"),
                                   RecursionError("maximum recursion depth exceeded"),
                                   TypeError("Object of type set is not JSON serializable")])
def test_close_with_save_that_fails_keeps_the_window_open_and_modified(
        window, tmp_path, monkeypatch, patch_dialogs, error):
    _, warned, _ = patch_dialogs(lambda: None)
    path = _saved_project(window, tmp_path)
    on_disk = path.read_bytes()
    _edit(window)
    edited = dumps(window.document.graph)

    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr("app.document.save_project", fail)
    window.ask_save = lambda: QMessageBox.Save
    assert not window.close()
    assert window.isVisible() and window.document.modified and window.isWindowModified()
    assert dumps(window.document.graph) == edited and path.read_bytes() == on_disk
    (text,) = warned
    assert f"Cannot save {path.name}" in text and "nothing was lost" in text
    if isinstance(error, RecursionError):
        assert "nested too deeply" in text
    # New and Open with "Save" keep the project too
    assert not window.new_file()
    assert not window.open_file(EXAMPLES / "digits_mlp.json")
    assert dumps(window.document.graph) == edited and len(warned) == 3
    assert window.document.path == path.resolve()


def test_save_as_into_a_path_under_a_regular_file_keeps_the_edit(window, tmp_path,
                                                                   patch_dialogs):
    """The folder cannot be made (its 'parent' is a file): works also as root."""
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    _, warned, asked = patch_dialogs(lambda: blocker / "mine.json")
    window.document.new()
    _edit(window)
    window.ask_save = lambda: QMessageBox.Save
    assert not window.close()  # Save -> Save As (untitled) -> fails
    assert asked and len(warned) == 1 and "Cannot save mine.json" in warned[0]
    assert window.isVisible() and window.document.modified and window.document.path is None
    window.ask_save = lambda: QMessageBox.Cancel
    assert not window.close()
    assert window.isVisible()


def test_a_project_with_settings_nested_600_deep_is_refused_with_a_message(window, tmp_path,
                                                                             patch_dialogs):
    _, warned, _ = patch_dialogs(lambda: None)
    path = _saved_project(window, tmp_path)
    deep: dict = {}
    inner = deep
    for _ in range(600):
        inner["x"] = {}
        inner = inner["x"]
    from app.editor.commands import SetSettings

    graph = window.document.graph
    window.document.push(SetSettings(graph, {**graph.settings, "extra": deep}))
    window.ask_save = lambda: QMessageBox.Save
    assert not window.close()  # the real serializer fails, whatever it raises
    assert window.isVisible() and window.document.modified
    assert len(warned) == 1 and "Cannot save" in warned[0]
    assert load_graph(path).settings.get("extra") is None  # the old file is untouched


# ---------------------------------------------------------------- Save As, another folder
def _csv_project(window, folder: Path, data_name: str = "data.csv") -> Path:
    """A project in ``folder`` trained on ``folder/data_name`` (relative path)."""
    data = folder / data_name
    data.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 2))
    with data.open("w") as f:
        f.write("a,b,label\n")
        for (a, b) in x:
            f.write(f"{a:.4f},{b:.4f},{int(a + b > 0)}\n")
    path = _saved_project(window, folder)
    from app.editor.commands import SetSettings

    graph = window.document.graph
    dataset = DatasetSettings(source="csv", path=data_name).to_dict()
    window.document.push(SetSettings(graph, {**graph.settings, "dataset": dataset}))
    assert window.save_to(path)
    assert window.document.project.describe_data().endswith("60 samples, 2 features, 2 classes")
    return path


def _data_path(path: Path) -> Path:
    project = Project(load_graph(path), path.parent)
    return resolve_path(project.dataset_settings, project.base_dir)


def test_save_as_into_another_folder_keeps_naming_the_same_data_file(window, tmp_path,
                                                                       patch_dialogs):
    a, b = tmp_path / "A", tmp_path / "B"
    _csv_project(window, a)
    b.mkdir()
    target = b / "project.json"
    patch_dialogs(lambda: target)
    count = window.document.undo_stack.count()
    assert window.files.save_as()
    saved = load_graph(target).settings["dataset"]["path"]
    assert Path(saved).is_absolute() and _data_path(target) == (a / "data.csv").resolve()
    proc = subprocess.run([sys.executable, "-m", "nncore.cli", "check", str(target)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "60 samples, 2 features, 2 classes" in proc.stdout
    # one undo step, and the window is clean: what it shows is what was saved
    assert window.document.undo_stack.count() == count + 1 and not window.document.modified
    assert window.document.graph.settings["dataset"]["path"] == saved
    assert "same file" in window.statusBar().currentMessage()
    window.document.undo_stack.undo()
    assert window.document.graph.settings["dataset"]["path"] == "data.csv"


def test_save_as_into_a_folder_holding_the_data_names_it_relative(window, tmp_path,
                                                                    patch_dialogs):
    a = tmp_path / "A"
    _csv_project(window, a, "sets/data.csv")
    target = a / "sets" / "project.json"
    patch_dialogs(lambda: target)
    assert window.files.save_as()
    assert load_graph(target).settings["dataset"]["path"] == "data.csv"
    assert _data_path(target) == (a / "sets" / "data.csv").resolve()
    # saved into the same folder again: nothing to rewrite, no undo step
    count = window.document.undo_stack.count()
    patch_dialogs(lambda: a / "sets" / "other.json")
    assert window.files.save_as() and window.document.undo_stack.count() == count


def test_a_failed_save_as_leaves_the_data_path_and_history_as_they_were(window, tmp_path,
                                                                          patch_dialogs):
    a = tmp_path / "A"
    _csv_project(window, a)
    blocker = tmp_path / "a file"
    blocker.write_text("")
    _, warned, _ = patch_dialogs(lambda: blocker / "project.json")
    count = window.document.undo_stack.count()
    assert not window.files.save_as()
    assert warned and window.document.undo_stack.count() == count
    assert window.document.graph.settings["dataset"]["path"] == "data.csv"


# ---------------------------------------------------------------- two windows, one file
@pytest.fixture
def second_window(qtbot):
    from app.main_window import MainWindow

    w = MainWindow(theme="light", persist=False)
    qtbot.addWidget(w)
    yield w
    w.document.undo_stack.setClean()
    w.close()


def test_two_windows_on_one_file_the_second_save_asks(window, second_window, tmp_path,
                                                      patch_dialogs):
    path = _saved_project(window, tmp_path)
    other = second_window
    assert other.open_file(path)
    window.scene.add_node("relu", QPointF(900, 400))
    assert window.save()  # unchanged since it opened it: no question
    first = path.read_bytes()
    other.scene.add_node("tanh", QPointF(900, 600))
    asked = []
    other.ask_overwrite = lambda p: asked.append(p) or QMessageBox.Cancel
    assert not other.save()
    assert asked == [path.resolve()] and path.read_bytes() == first
    assert other.document.modified and "changed on disk" in other.statusBar().currentMessage()
    # Save As: the other edit goes to a new file, the first one stays
    patch_dialogs(lambda: tmp_path / "mine.json")
    other.ask_overwrite = lambda p: QMessageBox.SaveAll
    assert other.save() and path.read_bytes() == first
    assert load_graph(tmp_path / "mine.json").node_by_name("Tanh") is not None
    # Overwrite, when the user says so
    window.scene.add_node("sigmoid", QPointF(900, 800))
    assert window.save()
    assert other.open_file(path)  # now the other window knows this content ...
    window.scene.add_node("relu", QPointF(1200, 800))
    assert window.save()  # ... and the first one changes it again
    other.scene.add_node("tanh", QPointF(900, 600))
    asked.clear()
    other.ask_overwrite = lambda p: asked.append(p) or QMessageBox.Save
    assert other.save() and asked
    assert load_graph(path).node_by_name("Tanh") is not None
    assert not other.document.modified
    assert other.save() and len(asked) == 1  # its own file now: no question


def test_a_file_rewritten_with_the_same_size_is_noticed(window, tmp_path):
    """Within one clock tick and of one size, only the content tells: it is compared."""
    path = _saved_project(window, tmp_path)
    text = path.read_text()
    stat = path.stat()
    changed = text.replace('"Tanh', '"Tonh', 1)
    assert changed != text and len(changed) == len(text)
    path.write_text(changed)
    import os

    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert window.document.changed_on_disk()
    _edit(window)
    window.ask_overwrite = lambda p: QMessageBox.Cancel
    assert not window.save() and path.read_text() == changed
