"""The CSV import dialog (app/training/import_dialog.py) driven through its real widgets,
and the Data section's use of it: one undoable command on OK, nothing on Cancel."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sklearn.datasets
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemDelegate

from app.training.import_dialog import PREVIEW_ROWS, ImportDialog
from nncore.project.settings import DatasetSettings

TABLES = Path(__file__).resolve().parents[1] / "data" / "tables"
IRIS = Path(sklearn.datasets.__file__).parent / "data" / "iris.csv"


@pytest.fixture
def dialog(qtbot):
    def make(path, settings=None, keep=False):
        d = ImportDialog(path, settings or {}, keep=keep)
        qtbot.addWidget(d)
        return d
    return make


def _row(d: ImportDialog, name: str) -> int:
    return [i.name for i in d.infos].index(name)


def _edit(qtbot, d: ImportDialog, name: str, column: int, value: str) -> None:
    """Set a cell of the column list through its combo-box editor, as a user does."""
    view = d.columns_view
    index = d.columns_model.index(_row(d, name), column)
    view.setCurrentIndex(index)
    view.edit(index)
    editor = view.indexWidget(index) or view.focusWidget()
    assert editor is not None and editor.findText(value) >= 0
    editor.setCurrentIndex(editor.findText(value))
    editor.activated.emit(editor.currentIndex())  # the delegate commits the choice
    view.closeEditor(editor, QAbstractItemDelegate.EndEditHint.NoHint)


def test_animals_defaults_then_roles_changed(dialog, qtbot):
    d = dialog(TABLES / "animals.csv")
    assert d.target == "species" and d.error is None and d.ok_button.isEnabled()
    roles = {i.name: d.role(i.name) for i in d.infos}
    assert roles["id"] == roles["observed"] == roles["site"] == "ignore"
    assert roles["island"] == "feature"
    model = d.columns_model
    kind = model.index(_row(d, "id"), 2)
    assert kind.data() == "identifier" and "distinct" in kind.data(Qt.ItemDataRole.ToolTipRole)
    assert model.index(_row(d, "sex"), 3).data() == "2"  # missing count
    assert d.preview_model.rowCount() == 90 and d.preview_model.columnCount() == 10
    assert "9 features" in d.summary_label.text()
    _edit(qtbot, d, "island", 1, "ignore")
    assert d.role("island") == "ignore" and "6 features" in d.summary_label.text()
    _edit(qtbot, d, "sex", 4, "ordinal")
    assert "5 features" in d.summary_label.text()
    d.dates_check.setChecked(True)  # the date column becomes 4 numbers
    c = d.choices()
    assert c["target"] == "species" and c["expand_dates"] is True
    assert c["columns"]["island"] == {"role": "ignore"}
    assert c["columns"]["sex"] == {"encoding": "ordinal"}


def test_no_target_guessed_disables_ok_until_chosen(dialog, qtbot, tmp_path):
    path = tmp_path / "ids.csv"
    path.write_text("a,b,code\n" + "".join(f"{i},{i * 2 % 7},K{i}\n" for i in range(30)))
    d = dialog(path)
    assert d.target is None and not d.ok_button.isEnabled()
    assert "choose one" in d.summary_label.text()
    _edit(qtbot, d, "b", 1, "target")
    assert d.target == "b" and d.ok_button.isEnabled()
    _edit(qtbot, d, "b", 1, "feature")  # the target made a feature: none again
    assert d.target is None and not d.ok_button.isEnabled()


def test_sklearn_iris_count_line_is_no_header(dialog):
    d = dialog(IRIS)
    names = [i.name for i in d.infos]
    assert "150" not in names and "4" not in names and "setosa" not in names
    assert len(names) == 5 and d.ok_button.isEnabled()
    assert "scikit-learn" in d.summary_label.text()


def test_header_and_separator_switchable(dialog, qtbot):
    d = dialog(TABLES / "semicolon.csv")
    assert d.table.delimiter == ";"
    width = d.preview_model.columnCount()
    d.delimiter_combo.setCurrentIndex(d.delimiter_combo.findData(","))
    assert d.preview_model.columnCount() < width or d.error is not None
    d.delimiter_combo.setCurrentIndex(0)  # detected again
    assert d.preview_model.columnCount() == width
    d.header_combo.setCurrentIndex(d.header_combo.findData(None))
    assert [i.name for i in d.infos][0] == "x1"


def test_malformed_file_shows_the_engine_message(dialog, tmp_path):
    path = tmp_path / "broken.csv"
    path.write_text('a,b,label\n1,2,0\n3,"4,1\n5,6,1\n')
    d = dialog(path)
    assert d.error is not None and "line" in d.error and "Traceback" not in d.error
    assert d.summary_label.text() == d.error and not d.ok_button.isEnabled()


def test_wide_file_preview_is_quick(dialog, tmp_path):
    import time
    path = tmp_path / "wide.csv"
    cols = 1000
    path.write_text(",".join(f"c{i}" for i in range(cols)) + ",label\n" + "".join(
        ",".join(str((r * 7 + i) % 11) for i in range(cols)) + f",{r % 3}\n"
        for r in range(PREVIEW_ROWS + 50)))
    t = time.perf_counter()
    d = dialog(path)
    d.show()
    assert time.perf_counter() - t < 20
    assert d.preview_model.columnCount() == cols + 1 and d.preview_model.rowCount() == PREVIEW_ROWS
    assert d.target == "label" and d.summary_label.text().startswith(f"First {PREVIEW_ROWS} rows")


# --- the Data section


def _section(make_training_panel):
    panel = make_training_panel()
    return panel, panel.data_group


def _accept_with(section, qtbot, act=None, cancel=False):
    """The section's import dialog seam: the REAL dialog, driven, then OK or Cancel."""
    seen = []

    def open_import(parent, path, settings, keep):
        d = ImportDialog(path, settings, keep=keep, parent=parent)
        qtbot.addWidget(d)
        seen.append(d)
        if act is not None:
            act(d)
        if cancel:
            d.buttons.button(d.buttons.StandardButton.Cancel).click()
            return None
        d.ok_button.click()
        assert d.result() == ImportDialog.DialogCode.Accepted
        return d.choices()
    section.open_import = open_import
    return seen


def test_section_ok_is_one_undoable_command(make_training_panel, qtbot, tmp_path):
    panel, section = _section(make_training_panel)
    doc = panel.document
    path = tmp_path / "animals.csv"
    shutil.copy(TABLES / "animals.csv", path)
    section.choose_file = lambda *a: str(path)
    _accept_with(section, qtbot, act=lambda d: _edit(qtbot, d, "island", 1, "ignore"))
    section.source_binding.commit("csv")
    ds = DatasetSettings.from_dict(doc.graph.settings["dataset"])
    assert ds.source == "csv" and ds.target == "species"
    assert ds.columns == {"island": {"role": "ignore"}}
    assert doc.undo_stack.count() == 1
    panel.refresh_now()
    data = section.preview_data
    assert data is not None and data.n_features == 6
    assert list(data.classes) == ["Adelie", "Chinstrap", "Gentoo"]
    assert section.columns_button.isVisible()
    # reopened with Columns…: the choices kept, sex ordinal now
    _accept_with(section, qtbot, act=lambda d: (
        assert_kept(d), _edit(qtbot, d, "sex", 4, "ordinal")))
    section.columns_button.click()
    assert doc.undo_stack.count() == 2
    assert doc.graph.settings["dataset"]["columns"]["sex"] == {"encoding": "ordinal"}
    doc.undo_stack.undo()
    doc.undo_stack.undo()  # the previous source again
    assert doc.graph.settings.get("dataset", {}).get("source", "builtin") == "builtin"


def assert_kept(d):
    assert d.role("island") == "ignore" and d.target == "species"


def test_section_cancel_changes_nothing(make_training_panel, qtbot, tmp_path):
    panel, section = _section(make_training_panel)
    doc = panel.document
    before = dict(doc.graph.settings)
    section.choose_file = lambda *a: str(TABLES / "animals.csv")
    seen = _accept_with(section, qtbot, cancel=True)
    section.source_binding.commit("csv")
    assert seen and doc.undo_stack.count() == 0 and doc.graph.settings == before
    assert panel.source_combo.currentData() == "builtin:digits"


# --- loading in a worker thread


def _big_csv(path: Path, rows: int = 30_000) -> Path:
    path.write_text("a,b,c,species\n" + "".join(
        f"{i % 7},{i % 5}.5,{i % 3},{('x', 'y', 'z')[i % 3]}\n" for i in range(rows)))
    return path


def test_threaded_load_then_cancel_keeps_the_previous_preview(make_training_panel, qtbot,
                                                              tmp_path):
    panel, section = _section(make_training_panel)
    panel.refresh_now()
    before = section.preview_data
    assert before is not None and before.n_features == 64  # digits
    section.thread_bytes = 0  # every CSV loads in the worker thread
    path = _big_csv(tmp_path / "big.csv")
    section.choose_file = lambda *a: str(path)
    section.open_import = lambda parent, p, settings, keep: {"target": "species"}
    with qtbot.waitSignal(section.loader.loaded, timeout=20000):
        section.source_binding.commit("csv")
        panel.refresh_now()
        assert section.loader.running and not section.load_row.isHidden()
    assert section.load_row.isHidden()
    data = section.preview_data
    assert data.n_features == 3 and list(data.classes) == ["x", "y", "z"]
    assert section.summary_label.text().startswith("30000 samples")
    # another file, cancelled at once: the preview stays the one shown
    other = _big_csv(tmp_path / "other.csv", rows=40_000)
    section.choose_file = lambda *a: str(other)
    with qtbot.waitSignal(section.loader.cancelled, timeout=20000):
        section.source_binding.commit("csv")
        panel.refresh_now()
        assert section.loader.running
        section.load_cancel.click()
    assert section.preview_data is data and section.load_row.isHidden()
    assert "cancelled" in section.split_label.text()
    section.loader.wait()


# --- training through the window, then save and reopen


def test_train_with_text_classes_then_reopen_applies_the_same_pipeline(window, qtbot,
                                                                       tmp_path):
    from PySide6.QtCore import QPointF

    from nncore.project import load_data

    doc = window.document
    window.new_file()
    shutil.copy(TABLES / "animals.csv", tmp_path / "animals.csv")
    assert window.save_to(tmp_path / "project.json")
    graph, scene = doc.graph, window.scene
    inp = graph.nodes[0].id
    ids = [inp] + [scene.add_node(t, QPointF(280 * i, 0))
                   for i, t in enumerate(["dense", "cross_entropy"], 1)]
    graph.connect(inp, "features", ids[1], "input")
    graph.connect(ids[1], "output", ids[2], "input")
    graph.connect(inp, "labels", ids[2], "target")
    graph.set_params(ids[1], {"units": 3})
    section = window.training_panel.data_group
    section.choose_file = lambda *a: str(tmp_path / "animals.csv")

    def act(d):
        _edit(qtbot, d, "island", 1, "ignore")
        d.missing_combo.setCurrentText("most_frequent")
    _accept_with(section, qtbot, act=act)
    section.source_binding.commit("csv")
    ds = doc.graph.settings["dataset"]
    assert ds["path"] == "animals.csv" and ds["target"] == "species"
    assert ds["columns"] == {"island": {"role": "ignore"}} and ds["missing"] == "most_frequent"
    window.training_panel.epochs_spin.setValue(2)
    assert doc.project.analysis().ok, doc.project.problems()
    with qtbot.waitSignal(window.controller.run_finished, timeout=60_000):
        run_id = window.start_training()
    run = window.runs.get(run_id)
    assert run.status == "finished", run.message
    window.plots.redraw_now()
    assert list(window.plots.confusion.class_names) == ["Adelie", "Chinstrap", "Gentoo"]
    data = doc.project.load_data()
    assert data.n_features == 6 and data.classes == ["Adelie", "Chinstrap", "Gentoo"]
    assert window.save_to(tmp_path / "project.json")
    assert window.open_file(tmp_path / "project.json")
    again = load_data(DatasetSettings.from_dict(doc.graph.settings["dataset"]), tmp_path)
    assert again.pipeline.to_dict() == data.pipeline.to_dict()
    assert again.X.tobytes() == data.X.tobytes() and again.classes == data.classes
