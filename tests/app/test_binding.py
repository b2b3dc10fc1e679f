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


# ---------------------------------------------------------------- spec-made editors and hooks
def test_spec_editor_makes_the_editor_the_spec_asks_for(holder):
    from PySide6.QtWidgets import QDoubleSpinBox

    from app.widgets.binding import spec_editor
    from app.widgets.fields import FloatsEdit
    from nncore.spec import ParamSpec

    kinds = {
        ParamSpec("on", "bool", False, label="Turn on"): QCheckBox,
        ParamSpec("kind", "choice", "a", choices=("a", "b")): QComboBox,
        ParamSpec("n", "int", 3, minimum=1, maximum=10): QSpinBox,
        ParamSpec("rho", "float", 0.9, minimum=0.0, maximum=1.0, step=0.05): QDoubleSpinBox,
        ParamSpec("lr", "float", 1e-3, minimum=0.0, log=True): NumberEdit,
        ParamSpec("p", "float", 0.5, minimum=0.0, maximum=1.0, exclusive_max=True): NumberEdit,
        ParamSpec("betas", "floats", (0.9, 0.999), length=2): FloatsEdit,
    }
    for spec, kind in kinds.items():
        editor = spec_editor(spec)
        editor.setParent(holder)
        assert type(editor) is kind or (kind is QDoubleSpinBox and isinstance(editor, kind)), spec
    box = spec_editor(ParamSpec("on", "bool", False, label="Turn on"))
    assert box.text() == "Turn on"
    spin = spec_editor(ParamSpec("n", "int", 3, minimum=1, maximum=10))
    assert (spin.minimum(), spin.maximum()) == (1, 10)
    rho = spec_editor(ParamSpec("rho", "float", 0.9, minimum=0.0, maximum=1.0, step=0.05))
    assert rho.singleStep() == 0.05 and (rho.minimum(), rho.maximum()) == (0.0, 1.0)
    combo = spec_editor(ParamSpec("kind", "choice", "a", choices=("a", "b")))
    assert [combo.itemData(i) for i in range(combo.count())] == ["a", "b"]
    for w in (box, spin, rho, combo):
        w.setParent(holder)


def test_a_spec_binding_defaults_types_and_hides(doc):
    """The optimizer's argument: its default shows while the file leaves it out, the
    value keeps the spec's type, and another optimizer without it hides and ignores it."""
    from nncore.optim.registry import OPTIMIZERS

    edit = NumberEdit(_HOLDER[0])
    errors: list[str | None] = []
    binding = Binding(edit, ("training", "optimizer_options", "momentum"), doc,
                      command=SetSettings, title="Momentum", normalize=normalize,
                      error=errors.append,
                      spec=lambda tr: OPTIMIZERS[tr["optimizer"]].specs.get("momentum"))
    assert binding.spec() is None and not binding.applies()  # Adam has no momentum
    assert binding.commit(0.5) is True and "training" not in doc.graph.settings
    doc.push(SetSettings(doc.graph, {**doc.graph.settings, "training": {"optimizer": "sgd"}}))
    binding.show()
    assert binding.applies() and binding.value() == 0.0 and edit.value() == 0.0
    assert "momentum" in edit.toolTip() and ">= 0" in edit.toolTip()
    assert binding.commit(0.9) is True
    assert doc.graph.settings["training"]["optimizer_options"] == {"momentum": 0.9}
    assert doc.undo_stack.text(doc.undo_stack.count() - 1) == "Momentum: 0 → 0.9"


def test_read_write_and_unchanged(doc):
    """A value that is not one entry (early stopping on/off), and a write that cancels."""
    from app.widgets.binding import Unchanged

    box = QCheckBox()
    box.setParent(_HOLDER[0])
    cancel = []

    def write(tr, on):
        if cancel:
            raise Unchanged
        tr["early_stopping"] = {"patience": 4} if on else None

    binding = Binding(box, ("training", "early_stopping"), doc, command=SetSettings,
                      title="Early stopping", normalize=normalize,
                      read=lambda tr: tr["early_stopping"] is not None, write=write)
    binding.show()
    assert not box.isChecked() and binding.value() is False
    box.click()
    assert doc.graph.settings["training"]["early_stopping"]["patience"] == 4
    assert doc.undo_stack.text(0) == "Early stopping: off → on"
    cancel.append(True)
    count = doc.undo_stack.count()
    box.click()  # cancelled: still on, the box shows it
    assert box.isChecked() and doc.undo_stack.count() == count
    assert doc.graph.settings["training"]["early_stopping"] is not None


def test_floats_edit_commits_all_its_numbers(holder):
    from app.widgets.fields import FloatsEdit

    pair = FloatsEdit(2)
    pair.setParent(holder)
    pair.setObjectName("opt_betas")
    assert [pair[i].objectName() for i in range(2)] == ["opt_betas_0", "opt_betas_1"]
    pair.set_value((0.9, 0.999))
    got = []
    pair.committed.connect(got.append)
    pair[1].setText("0.99")
    pair[1].editingFinished.emit()
    assert got == [(0.9, 0.99)] and pair.value() == (0.9, 0.999)  # the project decides
