"""The training panel: its editors are the project's settings, edited as undoable commands;
the dataset preview; the run controls, state, shortcuts and progress."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QCheckBox

from app.document import Document
from app.editor.commands import SetSettings
from app.resources import example_path
from app.training.panel import TrainingPanel, format_progress
from nncore.data import DATASETS
from nncore.optim import OPTIMIZERS, SCHEDULES


@pytest.fixture
def panel(make_training_panel):
    return make_training_panel()


def training(panel) -> dict:
    return panel.document.graph.settings.get("training") or {}


def dataset(panel) -> dict:
    return panel.document.graph.settings["dataset"]


def stack(panel):
    return panel.document.undo_stack


def set_training(panel, settings: dict) -> None:
    g = panel.document.graph
    panel.document.push(SetSettings(g, {**g.settings, "training": settings}))
    panel.refresh_now()


def set_dataset(panel, settings: dict) -> None:
    g = panel.document.graph
    panel.document.push(SetSettings(g, {**g.settings, "dataset": settings}))
    panel.refresh_now()


def type_number(edit, text: str) -> None:
    """Type into a number field and press Enter, as a user does."""
    edit.setFocus()
    edit.selectAll()
    QTest.keyClicks(edit, text)
    QTest.keyClick(edit, Qt.Key_Return)


def choose(combo, data) -> None:
    """Pick the item holding ``data`` as a user does (``activated``)."""
    index = combo.findData(data)
    assert index >= 0, data
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


def undo(panel, qtbot) -> None:
    stack(panel).undo()
    qtbot.waitUntil(lambda: not panel._timer.isActive(), timeout=2000)


# ============================================================================ optimizer
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_each_optimizer_shows_exactly_its_arguments_with_engine_defaults(panel, name):
    if name != "adam":  # chosen in the list, as a user does
        choose(panel.optimizer_combo, name)
        assert training(panel)["optimizer"] == name
    panel.refresh_now()
    expected = {k: tuple(v) if isinstance(v, (list, tuple)) else v
                for k, v in OPTIMIZERS[name].defaults().items()}
    assert panel.shown_optimizer_options() == expected
    for key, editor in panel.opt_editors.items():  # the others are hidden
        widgets = editor if isinstance(editor, tuple) else (editor,)
        for w in widgets:
            assert w.isVisibleTo(panel) == (key in expected), key
        if isinstance(editor, QCheckBox):
            assert editor.isChecked() == bool(expected.get(key, False))


def test_editing_lr_is_one_command_and_undo_shows_the_old_value(panel, qtbot):
    edit = panel.opt_editors["lr"]
    assert edit.text() == "0.001"  # Adam's default, the settings leave it out
    type_number(edit, "0.01")
    assert stack(panel).count() == 1
    assert stack(panel).text(0) == "Learning rate: 0.001 → 0.01"
    assert training(panel)["optimizer_options"] == {"lr": 0.01}
    edit.clearFocus()
    assert stack(panel).count() == 1  # focus leaving commits nothing more
    undo(panel, qtbot)
    assert "training" not in panel.document.graph.settings
    assert edit.text() == "0.001"
    stack(panel).redo()
    panel.refresh_now()
    assert edit.text() == "0.01"


def test_the_saved_settings_are_the_settings_to_dict(panel):
    type_number(panel.opt_editors["betas"][1], "0.99")
    saved = training(panel)
    assert saved["optimizer_options"] == {"betas": [0.9, 0.99]}  # a list, for JSON
    assert json.loads(json.dumps(saved)) == saved
    assert stack(panel).text(0) == "Betas: (0.9, 0.999) → (0.9, 0.99)"


def test_switching_optimizer_keeps_shared_options_and_drops_others(panel):
    set_training(panel, {"optimizer": "adam", "optimizer_options": {
        "lr": 0.02, "weight_decay": 0.1, "amsgrad": True, "betas": [0.8, 0.99]}})
    before = stack(panel).count()
    choose(panel.optimizer_combo, "sgd")
    assert stack(panel).count() == before + 1
    assert stack(panel).text(before) == "Optimizer: Adam → SGD"
    assert training(panel)["optimizer"] == "sgd"
    assert training(panel)["optimizer_options"] == {"lr": 0.02, "weight_decay": 0.1}
    panel.refresh_now()
    shown = panel.shown_optimizer_options()
    assert shown["lr"] == 0.02 and shown["momentum"] == 0 and "amsgrad" not in shown


def test_switching_optimizer_takes_its_default_lr_unless_the_user_set_one(panel):
    choose(panel.optimizer_combo, "adadelta")
    panel.refresh_now()
    assert panel.opt_editors["lr"].text() == "1"  # Adadelta's default
    choose(panel.optimizer_combo, "adamw")
    panel.refresh_now()
    assert panel.opt_editors["lr"].text() == "0.001"
    assert panel.opt_editors["weight_decay"].text() == "0.01"  # AdamW's default


def test_a_refused_value_shows_the_message_and_changes_nothing(panel):
    before = json.dumps(panel.document.graph.settings, sort_keys=True)
    beta1 = panel.opt_editors["betas"][0]
    type_number(beta1, "1.5")
    label = panel.optimizer_error_label
    assert label.isVisibleTo(panel)
    assert "beta" in label.text() and "1.5" in label.text()
    assert stack(panel).count() == 0
    assert json.dumps(panel.document.graph.settings, sort_keys=True) == before
    assert beta1.text() == "0.9"  # the project's value again
    type_number(panel.opt_editors["lr"], "-1")
    assert "lr" in label.text() and stack(panel).count() == 0
    type_number(panel.opt_editors["lr"], "0.005")  # a good value clears the message
    assert not label.isVisibleTo(panel) and stack(panel).count() == 1


def test_nesterov_without_momentum_is_refused_by_the_engine(panel):
    choose(panel.optimizer_combo, "sgd")
    panel.refresh_now()
    count = stack(panel).count()
    panel.opt_editors["nesterov"].click()
    assert stack(panel).count() == count
    assert panel.optimizer_error_label.isVisibleTo(panel)
    assert not panel.opt_editors["nesterov"].isChecked()
    type_number(panel.opt_editors["momentum"], "0.9")
    panel.refresh_now()
    panel.opt_editors["nesterov"].click()
    assert training(panel)["optimizer_options"] == {"momentum": 0.9, "nesterov": True}


def test_decay_biases_checkbox_is_off_by_default_and_explained(panel):
    box = panel.decay_check
    assert not box.isChecked()
    assert "recommended" in box.toolTip()
    box.click()
    assert training(panel)["decay_bias_and_norm"] is True
    assert stack(panel).count() == 1


# ============================================================================ schedule, training
def test_schedule_editors_round_trip(panel, qtbot):
    choose(panel.schedule_combo, "cosine")
    assert training(panel)["schedule"] == {"type": "cosine"}
    panel.refresh_now()
    t_max = panel.schedule_editors["T_max"]
    assert t_max.isVisibleTo(panel) and t_max.value() == SCHEDULES["cosine"].defaults()["T_max"]
    assert not panel.schedule_editors["gamma"].isVisibleTo(panel)
    t_max.setValue(30)
    assert training(panel)["schedule"] == {"type": "cosine", "T_max": 30}
    type_number(panel.schedule_editors["eta_min"], "1e-5")
    assert training(panel)["schedule"] == {"type": "cosine", "T_max": 30, "eta_min": 1e-5}
    choose(panel.schedule_combo, "plateau")
    panel.refresh_now()
    shown = {k for k, w in panel.schedule_editors.items() if w.isVisibleTo(panel)}
    assert shown == set(SCHEDULES["plateau"].defaults())
    type_number(panel.schedule_editors["factor"], "0.5")
    assert training(panel)["schedule"] == {"type": "plateau", "factor": 0.5}
    type_number(panel.schedule_editors["factor"], "2")  # factor must be < 1
    assert panel.optimizer_error_label.isVisibleTo(panel)
    assert training(panel)["schedule"] == {"type": "plateau", "factor": 0.5}
    choose(panel.schedule_combo, None)
    assert training(panel)["schedule"] is None
    undo(panel, qtbot)
    assert panel.schedule_combo.currentData() == "plateau"
    assert panel.schedule_editors["factor"].text() == "0.5"


def test_early_stopping_editors_round_trip(panel, qtbot):
    assert not panel.es_patience.isEnabled()
    panel.es_check.click()
    es = training(panel)["early_stopping"]
    assert es == {"monitor": "val_loss", "mode": "min", "patience": 3, "min_delta": 0.0,
                  "restore_best_weights": True}
    panel.refresh_now()
    assert panel.es_patience.isEnabled()
    panel.es_patience.setValue(7)
    choose(panel.es_monitor, "val_accuracy")  # an accuracy: higher is better
    es = training(panel)["early_stopping"]
    assert es["patience"] == 7 and es["monitor"] == "val_accuracy" and es["mode"] == "max"
    type_number(panel.es_min_delta, "0.001")
    panel.es_restore.click()
    es = training(panel)["early_stopping"]
    assert es["min_delta"] == 0.001 and es["restore_best_weights"] is False
    panel.es_check.click()
    assert training(panel)["early_stopping"] is None
    panel.refresh_now()
    panel.es_check.click()  # back on: the last settings again
    assert training(panel)["early_stopping"]["patience"] == 7
    undo(panel, qtbot)
    undo(panel, qtbot)
    assert panel.es_check.isChecked() and panel.es_patience.value() == 7
    assert panel.es_monitor.currentData() == "val_accuracy"


def test_training_fields_and_clipping_round_trip(panel):
    panel.batch_spin.setValue(64)
    panel.epochs_spin.setValue(5)
    panel.seed_spin.setValue(3)
    t = training(panel)
    assert (t["batch_size"], t["epochs"], t["seed"]) == (64, 5, 3)
    assert stack(panel).count() == 3
    assert stack(panel).text(0) == "Batch size: 32 → 64"
    assert not panel.clip_edit.isEnabled()
    panel.clip_check.click()
    assert training(panel)["max_grad_norm"] == 1.0
    panel.refresh_now()
    type_number(panel.clip_edit, "5")
    assert training(panel)["max_grad_norm"] == 5.0
    panel.clip_check.click()
    assert training(panel)["max_grad_norm"] is None


def test_the_panel_follows_undo_and_open(panel, qtbot, tmp_path):
    example = example_path("iris_sigmoid")
    panel.document.open(example)
    qtbot.waitUntil(lambda: panel.optimizer_combo.currentData() == "sgd", timeout=2000)
    assert panel.opt_editors["lr"].text() == "0.1"
    assert panel.opt_editors["momentum"].value() == 0.9
    assert panel.batch_spin.value() == 16 and panel.epochs_spin.value() == 100
    assert panel.source_combo.currentData() == "builtin:iris"
    assert panel.summary_label.text() == "150 samples, 4 features, 3 classes (classification)"


def test_invalid_settings_in_a_file_show_defaults_and_say_so(panel):
    g = panel.document.graph
    g.set_settings({**g.settings, "training": {"optimizer": "lbfgs"}})
    panel.refresh_now()
    assert panel.optimizer_combo.currentData() == "adam"
    assert "lbfgs" in panel.training_error_label.text()
    choose(panel.optimizer_combo, "sgd")  # a change replaces them
    assert training(panel)["optimizer"] == "sgd"


# ============================================================================ data
def test_builtin_dataset_preview_and_scatter(panel):
    assert panel.summary_label.text() == "1797 samples, 64 features, 10 classes (classification)"
    assert panel.preview_stack.currentWidget() is panel.preview_message
    choose(panel.source_combo, "builtin:moons")
    assert stack(panel).text(0) == "Dataset: Handwritten digits → Two moons"
    assert dataset(panel)["name"] == "moons" and dataset(panel)["options"] == {}
    panel.refresh_now()
    assert panel.summary_label.text() == "400 samples, 2 features, 2 classes (classification)"
    assert "320 train · 80 validation" in panel.split_label.text()
    assert panel.preview_stack.currentWidget() is panel.preview_plot
    assert len(panel.scatter.data) == 400
    shown = {n for n, w in panel.option_editors.items() if w.isVisibleTo(panel)}
    assert shown == {"n_samples", "noise", "seed"}
    assert panel.option_editors["noise"].value() == DATASETS["moons"].option("noise").default
    panel.option_editors["n_samples"].setValue(250)
    assert dataset(panel)["options"] == {"n_samples": 250}
    panel.refresh_now()
    assert len(panel.scatter.data) == 250
    choose(panel.source_combo, "builtin:sine")  # 1-D regression: y against x
    panel.refresh_now()
    assert panel.summary_label.text() == "200 samples, 1 feature, 1 target (regression)"
    assert len(panel.scatter.data) == 200


def test_builtin_list_is_grouped_with_descriptions(panel):
    combo = panel.source_combo
    texts = [combo.itemText(i) for i in range(combo.count())]
    assert texts.index("Real data") < texts.index("Handwritten digits") < \
        texts.index("Synthetic") < texts.index("Two moons")
    assert "CSV file…" in texts and "NPZ file…" in texts
    i = combo.findData("builtin:moons")
    assert combo.itemData(i, Qt.ToolTipRole) == DATASETS["moons"].description
    header = combo.model().item(texts.index("Synthetic"))
    assert not header.isEnabled()


def test_split_fractions_refused_together(panel):
    panel.val_spin.setValue(0.5)
    count = stack(panel).count()
    panel.test_spin.setValue(0.6)
    assert stack(panel).count() == count
    assert "val_fraction + dataset.test_fraction" in panel.data_error_label.text()
    assert panel.test_spin.value() == 0.0
    panel.standardize_check.click()
    panel.split_seed_spin.setValue(4)
    d = dataset(panel)
    assert (d["val_fraction"], d["standardize"], d["seed"]) == (0.5, False, 4)


def test_csv_from_an_injected_file_chooser(panel, tmp_path):
    path = tmp_path / "flowers.csv"
    path.write_text("sepal,petal,width,species\n1,2,3,a\n2,3,1,b\n1.5,2.5,2,a\n3,1,2,c\n"
                    "2,2,2,b\n1,1,1,c\n")
    asked = []
    panel.choose_file = lambda parent, kind, start: asked.append(kind) or str(path)
    choose(panel.source_combo, "csv")
    assert asked == ["csv"]
    d = dataset(panel)
    assert d["source"] == "csv" and d["path"] == str(path.resolve())
    assert d["target"] is None and d["classes"] is None
    panel.refresh_now()
    combo = panel.target_combo
    assert [combo.itemText(i) for i in range(combo.count())] == \
        ["sepal", "petal", "width", "species"]
    assert combo.currentText() == "species"  # the last column by default
    assert panel.summary_label.text() == "6 samples, 3 features, 3 classes (classification)"
    choose(combo, "width")
    assert dataset(panel)["target"] == "width"
    choose(panel.task_combo, "regression")
    assert dataset(panel)["task"] == "regression"
    panel.refresh_now()
    # species (text) is now a feature, one-hot encoded (issue 11): 2 numbers + 3 columns
    assert panel.data_error is None
    assert panel.summary_label.text().startswith("6 samples, 5 features")


def test_csv_path_saved_relative_to_the_project(panel, tmp_path):
    panel.document.save(tmp_path / "net.json")
    (tmp_path / "data").mkdir()
    path = tmp_path / "data" / "points.csv"
    path.write_text("a;b;y\n0;1;0\n1;0;1\n1;1;0\n0;0;1\n")
    panel.choose_file = lambda *args: str(path)
    choose(panel.source_combo, "csv")
    assert dataset(panel)["path"] == "data/points.csv"
    assert dataset(panel)["delimiter"] == ";"  # guessed from the first line
    panel.refresh_now()
    assert panel.data_error is None
    assert panel.summary_label.text().startswith("4 samples, 2 features, 2 classes")


def test_cancelled_file_choice_changes_nothing(panel):
    panel.choose_file = lambda *args: None
    choose(panel.source_combo, "npz")
    assert stack(panel).count() == 0
    assert panel.source_combo.currentData() == "builtin:digits"


def test_csv_with_a_bad_value_shows_line_and_column(panel, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("x1,x2,label\n0.1,0.2,0\n0.5,abc,1\n0.9,0.3,0\n")
    panel.choose_file = lambda *args: str(path)
    choose(panel.source_combo, "csv")  # never raises
    panel.refresh_now()
    assert panel.data_error is not None
    assert "line 3" in panel.data_error and "column 2" in panel.data_error
    assert "line 3" in panel.summary_label.text()
    assert panel.preview_data is None
    assert "Traceback" not in panel.summary_label.text()
    # fixed on disk, read again
    path.write_text("x1,x2,label\n0.1,0.2,0\n0.5,0.7,1\n0.9,0.3,0\n0.2,0.1,1\n")
    panel.reload_data()
    assert panel.data_error is None
    assert len(panel.scatter.data) == 4


def test_missing_file_is_reported(panel, tmp_path):
    set_dataset(panel, {"source": "npz", "path": str(tmp_path / "gone.npz")})
    assert "no such file" in panel.data_error
    assert panel.file_edit.text().endswith("gone.npz")
    assert not panel.target_combo.isVisibleTo(panel)
    assert panel.task_combo.isVisibleTo(panel)


# ============================================================================ controls
def test_set_state_enables_the_right_controls(panel):
    settings = (panel.data_group, panel.optimizer_group, panel.training_group)
    expect = {  # train, pause, step, stop, reset, settings editable
        "idle": (True, False, True, False, True, True),
        "running": (False, True, False, True, False, False),
        "paused": (False, True, True, True, False, False),
        "stopping": (False, False, False, False, False, False),
    }
    for state, (train, pause, step, stop, reset, editable) in expect.items():
        panel.set_state(state)
        assert panel.state == state
        assert panel.train_button.isEnabled() == train, state
        assert panel.pause_button.isEnabled() == pause, state
        assert panel.step_batch_button.isEnabled() == step, state
        assert panel.step_epoch_button.isEnabled() == step, state
        assert panel.stop_button.isEnabled() == stop, state
        assert panel.reset_button.isEnabled() == reset, state
        assert all(g.isEnabled() == editable for g in settings), state
    panel.set_state("running")
    assert panel.pause_button.text() == "Pause"
    panel.set_state("paused")
    assert panel.pause_button.text() == "Resume"
    with pytest.raises(ValueError):
        panel.set_state("flying")


def test_buttons_emit_the_signals(panel, qtbot):
    def click(button):
        QTest.mouseClick(button, Qt.LeftButton)

    with qtbot.waitSignal(panel.train_requested, timeout=1000):
        click(panel.train_button)
    with qtbot.waitSignal(panel.reset_requested, timeout=1000):
        click(panel.reset_button)
    with qtbot.waitSignal(panel.step_requested, timeout=1000) as blocker:
        click(panel.step_batch_button)
    assert blocker.args == ["batch"]
    panel.set_state("running")
    with qtbot.waitSignal(panel.pause_requested, timeout=1000):
        click(panel.pause_button)
    panel.set_state("paused")
    with qtbot.waitSignal(panel.resume_requested, timeout=1000):
        click(panel.pause_button)
    with qtbot.waitSignal(panel.step_requested, timeout=1000) as blocker:
        click(panel.step_epoch_button)
    assert blocker.args == ["epoch"]
    with qtbot.waitSignal(panel.stop_requested, timeout=1000):
        click(panel.stop_button)
    panel.set_state("running")
    with qtbot.assertNotEmitted(panel.train_requested):
        panel.act_train.trigger()  # Ctrl+Return while running does nothing


def test_train_commits_a_value_being_typed(panel, qtbot):
    edit = panel.opt_editors["lr"]
    edit.setFocus()
    edit.selectAll()
    QTest.keyClicks(edit, "0.05")
    seen = []
    panel.train_requested.connect(lambda: seen.append(training(panel)["optimizer_options"]))
    panel.act_train.trigger()
    assert seen == [{"lr": 0.05}]


def test_actions_have_distinct_shortcuts_free_in_the_window(panel):
    actions = panel.actions_for_window()
    assert [a.iconText() for a in actions] == ["Train", "Pause", "Step batch", "Step epoch",
                                               "Stop", "Reset weights"]
    keys = [s.toString() for a in actions for s in a.shortcuts()]
    assert len(keys) == len(set(keys)) and all(keys)
    window_keys = {QKeySequence(k).toString() for k in (
        "Ctrl+N", "Ctrl+O", "Ctrl+S", "Ctrl+Shift+S", "Ctrl+Z", "Ctrl+Shift+Z", "Ctrl+Y",
        "Ctrl+X", "Ctrl+C", "Ctrl+V", "Ctrl+D", "Ctrl+A", "Ctrl+L", "F", "Ctrl+0", "Ctrl+=",
        "Ctrl++", "Ctrl+-", "Ctrl+Q", "F1", "Del", "Backspace")}
    assert not window_keys & set(keys)
    assert panel.act_train.shortcut().toString() == QKeySequence("Ctrl+Return").toString()


def test_set_progress_text_and_bar(panel):
    panel.set_progress(3, 30, 12, 23, 41_000, 4)
    text = panel.progress_label.text().replace("\u00a0", " ")
    assert text == "epoch 3/30 · batch 12/23 · 41,000 samples/s · 4 s left"
    bar = panel.progress_bar
    assert bar.maximum() == 30 * 23 and bar.value() == 2 * 23 + 12
    panel.set_progress(30, 30, 23, 23)
    assert bar.value() == bar.maximum()
    assert format_progress(1, 10) == "epoch 1/10"
    assert format_progress(2, 10, None, None, 512.4, 125) == \
        "epoch 2/10 · 512 samples/s · 2 min 5 s left"
    panel.set_progress(0, 0)  # nothing to do: an empty bar, no division by zero
    assert bar.value() == 0
    panel.set_progress(2, 4, 1, 10, 1e6, 3600 * 2 + 61)
    assert panel.progress_label.text().replace("\u00a0", " ") == \
        "epoch 2/4 · batch 1/10 · 1,000,000 samples/s · 2 h 1 min left"
    panel.clear_progress()
    assert panel.progress_label.text() == "Not trained yet" and bar.value() == 0


def test_set_message_in_red_for_an_error(panel):
    panel.set_message("Stopped early at epoch 12")
    assert panel.message_label.text() == "Stopped early at epoch 12"
    assert panel.message_label.styleSheet() == ""
    panel.set_message("Training failed: NaN loss", error=True)
    assert "color" in panel.message_label.styleSheet()


def test_edits_refused_by_the_document_change_nothing(panel):
    panel.document.edit_guard = lambda: False  # e.g. while training runs
    type_number(panel.opt_editors["lr"], "0.5")
    assert stack(panel).count() == 0
    assert panel.opt_editors["lr"].text() == "0.001"


def test_panel_fits_a_bottom_dock(panel):
    content = panel._scroll.widget()
    hint = content.minimumSizeHint()
    assert hint.height() <= 240, hint
    assert hint.width() <= 1400, hint


def test_a_closed_panel_lets_go_of_the_graph(qtbot):
    from PySide6.QtCore import QCoreApplication, QEvent

    doc = Document()
    doc.new()
    p = TrainingPanel(doc)
    p.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)
    g = doc.graph
    g.set_settings({**g.settings, "training": {"epochs": 3}})  # no error from a dead view
    doc.new()
