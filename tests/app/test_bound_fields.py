"""Every Training-panel field is a Binding, and each one round-trips: editing the widget as a
user does sets the project's setting (value asserted) as one undo step, undo restores the
setting and the widget, a change of the settings from elsewhere shows in the widget, and a
refused value shows its message and leaves the setting unchanged."""

from __future__ import annotations

import copy
import html
import re
from pathlib import Path
from typing import Any, Callable

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QSpinBox, QWidget

from app.editor.commands import SetSettings
from app.widgets.fields import FloatsEdit, NumberEdit, editor_value

CSV = "sepal;petal;width;species\n1;2;3;a\n2;3;1;b\n1.5;2.5;2;a\n3;1;2;c\n2;2;2;b\n1;1;1;c\n"


def _csv(tmp: Path) -> dict:
    path = tmp / "flowers.csv"
    path.write_text(CSV)
    return {"dataset": {"source": "csv", "path": str(path), "delimiter": ";"}}


# id: (setup, editor, the user's edit, path, stored, external value, shown, bad, message)
# setup: the project's settings first ({"dataset": ..., "training": ...}, or a function of
# a folder); the user's edit: typed text (a number field), (index, text) (betas), a value
# (spin box), the item's data (combo box), the state (check box).
CASES: dict[str, tuple] = {
    "optimizer": ({}, lambda p: p.optimizer_combo, "sgd", ("training", "optimizer"), "sgd",
                  "rmsprop", "rmsprop", "lbfgs", "unknown optimizer 'lbfgs'"),
    "lr": ({}, lambda p: p.opt_editors["lr"], "0.01", ("training", "optimizer_options", "lr"),
           0.01, 0.5, 0.5, -1.0, "lr must be >= 0, got -1"),
    "betas": ({}, lambda p: p.opt_editors["betas"], (1, "0.99"),
              ("training", "optimizer_options", "betas"), [0.9, 0.99], [0.8, 0.9], (0.8, 0.9),
              (0.9, 1.5), "betas[1] must be in [0, 1), got 1.5"),
    "momentum": ({"training": {"optimizer": "sgd"}}, lambda p: p.opt_editors["momentum"], "0.9",
                 ("training", "optimizer_options", "momentum"), 0.9, 0.5, 0.5, -0.1,
                 "momentum must be >= 0, got -0.1"),
    "rho": ({"training": {"optimizer": "adadelta"}}, lambda p: p.opt_editors["rho"], 0.5,
            ("training", "optimizer_options", "rho"), 0.5, 0.7, 0.7, 1.5,
            "rho must be in [0, 1], got 1.5"),
    "nesterov": ({"training": {"optimizer": "sgd", "optimizer_options": {"momentum": 0.9}}},
                 lambda p: p.opt_editors["nesterov"], True,
                 ("training", "optimizer_options", "nesterov"), True, False, False, None, None),
    "amsgrad": ({}, lambda p: p.opt_editors["amsgrad"], True,
                ("training", "optimizer_options", "amsgrad"), True, False, False, None, None),
    "decay": ({}, lambda p: p.decay_check, True, ("training", "decay_bias_and_norm"), True,
              False, False, None, None),
    "schedule": ({}, lambda p: p.schedule_combo, "cosine", ("training", "schedule"),
                 {"type": "cosine"}, {"type": "step"}, "step", "nope",
                 "training.schedule must be null or an object with a type among"),
    "T_max": ({"training": {"schedule": {"type": "cosine"}}},
              lambda p: p.schedule_editors["T_max"], 30, ("training", "schedule", "T_max"), 30,
              40, 40, 0, "T_max must be >= 1, got 0"),
    "factor": ({"training": {"schedule": {"type": "plateau"}}},
               lambda p: p.schedule_editors["factor"], "0.5", ("training", "schedule", "factor"),
               0.5, 0.2, 0.2, 2.0, "factor must be in [0, 1), got 2"),
    "clip on": ({}, lambda p: p.clip_check, True, ("training", "max_grad_norm"), 1.0, None,
                False, None, None),
    "clip norm": ({"training": {"max_grad_norm": 1.0}}, lambda p: p.clip_edit, "5",
                  ("training", "max_grad_norm"), 5.0, 2.0, 2.0, -1.0,
                  "max_grad_norm must be > 0, got -1.0"),
    "early stopping": ({}, lambda p: p.es_check, True, ("training", "early_stopping"),
                       {"monitor": "val_loss", "mode": "min", "patience": 3, "min_delta": 0.0,
                        "restore_best_weights": True}, None, False, None, None),
    "monitor": ({"training": {"early_stopping": {}}}, lambda p: p.es_monitor, "val_accuracy",
                ("training", "early_stopping", "monitor"), "val_accuracy", "loss", "loss",
                "nope", "monitor must be a metric"),
    "patience": ({"training": {"early_stopping": {}}}, lambda p: p.es_patience, 7,
                 ("training", "early_stopping", "patience"), 7, 2, 2, -1,
                 "patience must be an integer >= 0, got -1"),
    "min delta": ({"training": {"early_stopping": {}}}, lambda p: p.es_min_delta, "0.001",
                  ("training", "early_stopping", "min_delta"), 0.001, 0.01, 0.01, -1.0,
                  "min_delta must be a number >= 0"),
    "restore": ({"training": {"early_stopping": {}}}, lambda p: p.es_restore, False,
                ("training", "early_stopping", "restore_best_weights"), False, True, True,
                None, None),
    "source": ({}, lambda p: p.source_combo, "builtin:moons", ("dataset", "name"), "moons",
               "iris", "builtin:iris", "builtin:mnist", "'mnist' is not a built-in dataset"),
    "noise": ({"dataset": {"name": "moons"}}, lambda p: p.option_editors["noise"], 0.3,
              ("dataset", "options", "noise"), 0.3, 0.5, 0.5, 5.0,
              "noise must be in [0, 1], got 5"),
    "n_samples": ({"dataset": {"name": "moons"}}, lambda p: p.option_editors["n_samples"], 250,
                  ("dataset", "options", "n_samples"), 250, 300, 300, 10,
                  "n_samples must be in [20, 100000], got 10"),
    "classes": ({"dataset": {"name": "spiral"}}, lambda p: p.option_editors["classes"], 4,
                ("dataset", "options", "classes"), 4, 5, 5, 7, "classes must be in [2, 6], got 7"),
    "data seed": ({"dataset": {"name": "xor"}}, lambda p: p.option_editors["seed"], 3,
                  ("dataset", "options", "seed"), 3, 4, 4, -1,
                  "seed must be in [0, 4294967295], got -1"),
    "target": (_csv, lambda p: p.target_combo, "width", ("dataset", "target"), "width", "sepal",
               "sepal", True, "dataset.target must be a column name or index"),
    "task": (_csv, lambda p: p.task_combo, "regression", ("dataset", "task"), "regression",
             "classification", "classification", "nonsense",
             "dataset.task must be null, classification or regression"),
    "separator": (_csv, lambda p: p.delimiter_combo, ",", ("dataset", "delimiter"), ",", "\t",
                  "\t", "ab", "dataset.delimiter must be one character"),
}


def _get(settings: dict, path: tuple[str, ...]) -> Any:
    node: Any = settings
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def _set(settings: dict, path: tuple[str, ...], value: Any) -> dict:
    settings = copy.deepcopy(settings)
    node = settings
    for key in path[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    node[path[-1]] = value
    return settings


def _user_edit(editor: Any, value: Any) -> None:
    """Change ``editor`` as a user does: type and press Enter, click, pick an item."""
    if isinstance(editor, FloatsEdit):
        index, text = value
        editor, value = editor[index], text
    if isinstance(editor, NumberEdit):
        editor.setFocus()
        editor.selectAll()
        QTest.keyClicks(editor, value)
        QTest.keyClick(editor, Qt.Key_Return)
    elif isinstance(editor, QCheckBox):
        assert editor.isEnabled() and editor.isChecked() != value
        editor.click()
    elif isinstance(editor, QComboBox):
        index = editor.findData(value)
        assert index >= 0, value
        editor.setCurrentIndex(index)
        editor.activated.emit(index)
    else:
        assert isinstance(editor, (QSpinBox, QDoubleSpinBox)) and editor.isEnabled()
        editor.setValue(value)


def _binding(panel, editor):
    for group in (panel.data_group, panel.optimizer_group, panel.training_group):
        for binding in group.bindings:
            if binding.editor is editor:
                return binding, group
    raise AssertionError(f"{editor.objectName()} is not bound")


def _message(group) -> str:
    """The whole message of a section's error line (its tooltip, as plain text)."""
    return html.unescape(re.sub(r"<[^>]+>", "", group.error_label.toolTip()))


def _settle(panel, qtbot) -> None:
    """The panel has shown the settings' last change (it refreshes once per burst)."""
    qtbot.waitUntil(lambda: not panel._timer.isActive(), timeout=2000)


def _push(panel, qtbot, settings: dict) -> None:
    """The settings changed from elsewhere (not by the panel)."""
    doc = panel.document
    doc.push(SetSettings(doc.graph, settings))
    _settle(panel, qtbot)


@pytest.mark.parametrize("case", CASES)
def test_field_round_trip(make_training_panel, qtbot, tmp_path, case):
    setup, get_editor, edit, path, stored, external, shown, bad, message = CASES[case]
    panel = make_training_panel()
    doc = panel.document
    settings = setup(tmp_path) if callable(setup) else setup
    if settings:
        _push(panel, qtbot, {**doc.graph.settings, **settings})
    editor = get_editor(panel)
    binding, group = _binding(panel, editor)
    assert editor.isVisibleTo(panel) and binding.applies()
    before, shown_before = copy.deepcopy(doc.graph.settings), editor_value(editor)
    count = doc.undo_stack.count()

    _user_edit(editor, edit)  # the user's change: one command, the setting's new value
    assert _get(doc.graph.settings, path) == stored
    assert doc.undo_stack.count() == count + 1, doc.undo_stack.text(count)
    assert "→" in doc.undo_stack.text(count) and not group.error_label.isVisibleTo(panel)

    doc.undo_stack.undo()  # undo: the setting and the widget as before
    qtbot.waitUntil(lambda: editor_value(editor) == shown_before, timeout=2000)
    assert doc.graph.settings == before

    _push(panel, qtbot, _set(doc.graph.settings, path, external))  # from elsewhere
    assert editor_value(editor) == shown

    if bad is not None:  # refused: the message, nothing changed, the project's value shown
        settings, count = copy.deepcopy(doc.graph.settings), doc.undo_stack.count()
        assert binding.commit(bad) is False
        assert group.error_label.isVisibleTo(panel)
        assert message in _message(group), _message(group)
        assert doc.graph.settings == settings and doc.undo_stack.count() == count
        assert editor_value(editor) == shown


def test_every_editor_of_the_settings_is_bound(make_training_panel):
    """No hand-written commit handler is left: each editor of the three settings sections
    is some Binding's (the run controls are not settings)."""
    panel = make_training_panel()
    editors = (QSpinBox, QDoubleSpinBox, QCheckBox, QComboBox, NumberEdit)
    for group in (panel.data_group, panel.optimizer_group, panel.training_group):
        bound = {id(b.editor) for b in group.bindings}
        found = [w for w in group.findChildren(QWidget) if isinstance(w, editors)]
        assert len(found) >= 6
        for w in found:
            if isinstance(w, NumberEdit) and isinstance(w.parentWidget(), FloatsEdit):
                w = w.parentWidget()
            assert id(w) in bound, w.objectName()


def test_the_monitor_takes_its_direction_and_mode_refuses_the_other(make_training_panel, qtbot):
    panel = make_training_panel()
    doc = panel.document
    _push(panel, qtbot, {**doc.graph.settings, "training": {"early_stopping": {}}})
    _user_edit(panel.es_monitor, "val_accuracy")
    es = doc.graph.settings["training"]["early_stopping"]
    assert (es["monitor"], es["mode"]) == ("val_accuracy", "max")
    _settle(panel, qtbot)
    assert panel.es_mode.currentData() == "max"
    _user_edit(panel.es_mode, "min")  # would keep the worst accuracy
    assert doc.graph.settings["training"]["early_stopping"]["mode"] == "max"
    assert "would keep the worst val_accuracy" in _message(panel.training_group)
    assert panel.es_mode.currentData() == "max"


def test_fields_that_do_not_apply_are_hidden_and_ignore_edits(make_training_panel):
    panel = make_training_panel()  # Adam, digits, no schedule, early stopping off
    doc = panel.document
    settings, count = copy.deepcopy(doc.graph.settings), doc.undo_stack.count()
    for editor in (panel.opt_editors["momentum"], panel.schedule_editors["T_max"],
                   panel.option_editors["noise"], panel.target_combo):
        binding, _ = _binding(panel, editor)
        assert not editor.isVisibleTo(panel) and not binding.applies()
        assert binding.commit(editor_value(editor)) is True  # ignored
    binding, _ = _binding(panel, panel.es_patience)
    assert not panel.es_patience.isEnabled()
    assert binding.commit(9) is True  # early stopping is off: ignored
    assert doc.graph.settings == settings and doc.undo_stack.count() == count


def test_a_dataset_options_range_follows_the_chosen_dataset(make_training_panel, qtbot):
    panel = make_training_panel()
    doc = panel.document
    classes = panel.option_editors["classes"]
    for name, high in (("spiral", 6), ("blobs", 10)):
        _push(panel, qtbot, {**doc.graph.settings, "dataset": {"name": name}})
        assert classes.maximum() == high and classes.minimum() == 2
        assert f"in [2, {high}]" in classes.toolTip() and "(classes)" in classes.toolTip()


def test_no_edit_while_a_run_trains(make_training_panel):
    panel = make_training_panel()
    doc = panel.document
    panel.set_state("running")
    for group in (panel.data_group, panel.optimizer_group, panel.training_group):
        assert not group.isEnabled()
        assert all(not b.editor.isEnabled() for b in group.bindings)
    doc.edit_guard = lambda: False  # the document refuses too (the controller's guard)
    settings, count = copy.deepcopy(doc.graph.settings), doc.undo_stack.count()
    binding, _ = _binding(panel, panel.opt_editors["lr"])
    assert binding.commit(0.5) is False
    assert doc.graph.settings == settings and doc.undo_stack.count() == count
    assert panel.opt_editors["lr"].value() == 0.001


def test_choosing_a_file_cancelled_or_again(make_training_panel, tmp_path):
    panel = make_training_panel()
    doc = panel.document
    path = tmp_path / "flowers.csv"
    path.write_text(CSV)
    answers: list[Callable[[], Any]] = []
    panel.choose_file = lambda parent, kind, start: answers.pop(0)()
    answers.append(lambda: None)  # cancelled: nothing changes, the list shows digits
    _user_edit(panel.source_combo, "csv")
    assert doc.undo_stack.count() == 0 and panel.source_combo.currentData() == "builtin:digits"
    answers.append(lambda: str(path))
    _user_edit(panel.source_combo, "csv")
    d = doc.graph.settings["dataset"]
    assert (d["source"], d["path"], d["delimiter"]) == ("csv", str(path.resolve()), ";")
    assert doc.undo_stack.text(0) == "Dataset: Handwritten digits → flowers.csv"
    assert panel.summary_label.text().startswith("6 samples, 3 features, 3 classes")
    path.write_text(CSV + "4;4;4;d\n")  # the same file chosen again is read again
    answers.append(lambda: str(path))
    panel.browse_button.click()
    assert doc.undo_stack.count() == 1
    assert panel.summary_label.text().startswith("7 samples, 3 features, 4 classes")
