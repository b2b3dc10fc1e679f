"""app.widgets.binding.Binding: one setting shown by its editor, a change one undo step,
a refused value shows its reason and changes nothing."""

from __future__ import annotations

import copy

import pytest
from PySide6.QtWidgets import QCheckBox, QComboBox, QSpinBox, QWidget

from app.document import Document
from app.editor.commands import SetSettings
from app.widgets.binding import Binding
from app.widgets.fields import NumberEdit, int_spin
from nncore.project.settings import TrainingSettings


def normalize(section):
    return TrainingSettings.from_dict(copy.deepcopy(section)).to_dict()


_HOLDER: list[QWidget] = []


@pytest.fixture(autouse=True)
def holder(qtbot):
    """A widget owning the test's editors, deleted with the test: an editor left alive
    keeps a connection to its dead Binding, which PySide may later resolve against an
    unrelated object at the same address (seen as "Slot 'GraphScene::' not found")."""
    widget = QWidget()
    qtbot.addWidget(widget)
    _HOLDER[:] = [widget]
    yield widget
    _HOLDER.clear()


@pytest.fixture
def doc(qtbot):
    d = Document()
    d.new()
    return d


def bind(doc, editor, key, title, **kwargs):
    editor.setParent(_HOLDER[0])
    errors: list[str | None] = []
    binding = Binding(editor, ("training", key), doc, command=SetSettings, title=title,
                      normalize=normalize, error=errors.append, **kwargs)
    binding.show()
    return binding, errors


def test_shows_the_projects_value(doc):
    spin = int_spin(1, 1_000_000)
    binding, _ = bind(doc, spin, "batch_size", "Batch size", convert=int)
    assert spin.value() == TrainingSettings().batch_size == binding.value()
    doc.push(SetSettings(doc.graph, {**doc.graph.settings,
                                     "training": {**normalize(None), "batch_size": 7}}))
    binding.show()
    assert spin.value() == 7


def test_a_commit_is_one_undo_step_and_undo_shows_the_old_value(doc):
    spin = int_spin(1, 1_000_000)
    binding, errors = bind(doc, spin, "epochs", "Epochs", convert=int)
    old = spin.value()
    before = doc.undo_stack.count()
    spin.setValue(old + 5)  # the user's change
    assert doc.undo_stack.count() == before + 1
    assert doc.undo_stack.text(before) == f"Epochs: {old} → {old + 5}"
    assert doc.graph.settings["training"]["epochs"] == old + 5
    assert errors == [None]
    spin.setValue(old + 5)  # the same value: no second command
    assert doc.undo_stack.count() == before + 1
    doc.undo_stack.undo()
    binding.show()
    assert spin.value() == old and binding.value() == old


def test_a_refused_value_shows_its_message_and_changes_nothing(doc):
    edit = NumberEdit()
    binding, errors = bind(doc, edit, "max_grad_norm", "Clip norm")
    settings = copy.deepcopy(doc.graph.settings)
    count = doc.undo_stack.count()
    assert binding.commit(-1.0) is False
    assert doc.graph.settings == settings and doc.undo_stack.count() == count
    assert errors and errors[-1] and "max_grad_norm" in errors[-1]


def test_a_refused_push_shows_the_projects_value(doc):
    spin = int_spin(1, 1_000_000)
    binding, _ = bind(doc, spin, "batch_size", "Batch size", convert=int)
    shown = spin.value()
    doc.edit_guard = lambda: False  # e.g. while a run trains
    spin.setValue(shown + 1)
    assert spin.value() == shown
    assert doc.graph.settings.get("training", {}).get("batch_size", shown) == shown


def test_check_box_and_combo_box(doc):
    box = QCheckBox()
    _, errors = bind(doc, box, "decay_bias_and_norm", "Decay biases and BatchNorm",
                     convert=bool)
    box.click()
    assert errors == [None], errors
    assert doc.graph.settings["training"]["decay_bias_and_norm"] is box.isChecked()
    combo = QComboBox()
    for name in ("sgd", "adam"):
        combo.addItem(name, name)
    binding, _ = bind(doc, combo, "optimizer", "Optimizer")
    assert combo.currentData() == binding.value()
    other = combo.findData("sgd" if binding.value() != "sgd" else "adam")
    combo.activated.emit(other)
    assert doc.graph.settings["training"]["optimizer"] == combo.itemData(other)


def test_unknown_editor_and_short_path_are_refused(doc):
    with pytest.raises(ValueError):
        Binding(QSpinBox(), ("training",), doc, command=SetSettings, title="x")
    from PySide6.QtWidgets import QLabel
    with pytest.raises(TypeError):
        Binding(QLabel(), ("training", "epochs"), doc, command=SetSettings, title="x")
