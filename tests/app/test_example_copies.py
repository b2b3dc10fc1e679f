"""The shipped examples are never overwritten: one opens as an untitled copy, and the
first save asks where (issue 8: Ctrl+S on digits_mlp wrote into the install)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest

from app.editor.commands import RenameNode
from app.resources import example_path, example_paths, is_example
from nncore.graph import load_graph


def _rename(window, old: str = "Dense", new: str = "Hidden") -> None:
    graph = window.document.graph
    window.document.push(RenameNode(graph, graph.node_by_name(old).id, new))


def _press_ctrl_s(window, qtbot) -> None:
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    assert window.act_save.shortcut() == QKeySequence(QKeySequence.StandardKey.Save)
    QTest.keyClick(window.view, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)


def test_ctrl_s_on_an_example_asks_where_and_leaves_the_example_unchanged(
        window, qtbot, tmp_path, patch_dialogs):
    example = example_path("digits_mlp")
    before = example.read_bytes()
    mine = tmp_path / "my_digits.json"
    target = [mine]
    shown, warned, asked = patch_dialogs(lambda: target[0])
    assert window.open_file(example)
    assert window.document.path is None and window.document.example == "digits_mlp"
    assert window.windowTitle() == "digits_mlp (example)[*] — NN Canvas"
    _rename(window)
    assert window.isWindowModified()

    _press_ctrl_s(window, qtbot)
    assert len(asked) == 1, "the first save of an example must ask where (Save As)"
    assert asked[0] == str(example.home() / "digits_mlp.json")  # not in the install
    assert example.read_bytes() == before
    assert load_graph(mine).node_by_name("Hidden") is not None
    assert window.document.path == mine.resolve() and window.document.example is None
    assert window.windowTitle() == "my_digits.json[*] — NN Canvas"
    assert not window.isWindowModified() and not warned

    _rename(window, "Hidden", "Wide")
    _press_ctrl_s(window, qtbot)  # from now on Ctrl+S saves to the copy, without asking
    assert len(asked) == 1
    assert load_graph(mine).node_by_name("Wide") is not None
    assert example.read_bytes() == before


def test_cancelling_the_first_save_of_an_example_writes_nothing(window, patch_dialogs):
    example = example_path("moons_tanh")
    before = example.read_bytes()
    _, _, asked = patch_dialogs(lambda: None)  # the user cancels the dialog
    assert window.open_file(example)
    _rename(window)
    assert not window.save()
    assert asked and example.read_bytes() == before
    assert window.document.modified and window.document.example == "moons_tanh"


def test_save_as_onto_the_example_itself_is_refused(window, patch_dialogs):
    example = example_path("iris_sigmoid")
    before = example.read_bytes()
    _, warned, asked = patch_dialogs(lambda: example)  # the user picks the example file
    assert window.open_file(example)
    _rename(window)
    assert not window.save()
    assert asked and example.read_bytes() == before
    assert len(warned) == 1 and "iris_sigmoid.json is an example" in warned[0]
    assert window.document.path is None and window.document.modified


def test_every_example_opens_as_an_untitled_copy(window):
    paths = example_paths()
    assert [p.stem for p in paths] == sorted(p.stem for p in paths) and len(paths) >= 7
    for path in paths:
        assert is_example(path) and window.open_file(path)
        assert window.document.path is None
        assert window.document.title == f"{path.stem} (example)"
        assert window.document.base_name == path.stem


def test_a_copy_of_an_example_elsewhere_is_an_ordinary_file(window, tmp_path):
    copy = tmp_path / "digits_mlp.json"
    copy.write_bytes(example_path("digits_mlp").read_bytes())
    assert not is_example(copy)
    assert window.open_file(copy)
    assert window.document.path == copy.resolve() and window.document.example is None
    _rename(window)
    assert window.save() and load_graph(copy).node_by_name("Hidden") is not None


def test_example_path_names_the_examples_there_are():
    with pytest.raises(FileNotFoundError, match="digits_mlp"):
        example_path("no_such_example")
    assert example_path("digits_mlp.json") == example_path("digits_mlp")
