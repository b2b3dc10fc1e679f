"""The DATA section of the training panel: the data source (a built-in set and its
options, or a CSV or NPZ file with its target column, task and separator), the split
(validation and test shares, standardization, seed) and a preview of the data.

Each editor is the project's dataset setting (one undoable command per change; see
:class:`~app.training.section.SettingsAccess`). The preview loads the data the settings
describe (:func:`nncore.project.load_data`, relative paths against the project's folder):
a line like "1797 samples, 64 features, 10 classes (classification)", the split sizes,
and for 1-D and 2-D data a small scatter plot coloured by class (or by target value). A
file that cannot be read shows its error (file, line and column) in red, never a
traceback.
"""

from __future__ import annotations

import csv
import html
import json
import os
import warnings
from functools import partial
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import (QApplication, QCheckBox, QComboBox, QFileDialog, QFrame,
                               QHBoxLayout, QLabel, QLineEdit, QProgressBar, QSizePolicy,
                               QStackedWidget, QStyle, QToolButton, QWidget)

from app.training.loader import DataLoader
from app.training.section import Section, SettingsAccess
from app.training.section import form as _form
from app.training.section import label as _label
from app.widgets import tone
from app.widgets.binding import Unchanged, spec_editor
from app.widgets.fields import INT_MAX, float_spin, int_spin
from nncore.data import DATASETS, Dataset, csv_columns, split
from nncore.files import regular_file
from nncore.limits import MAX_CSV_BYTES
from nncore.project import dataset_for_graph, load_data_cached
from nncore.project.data import LARGE_FILE_BYTES, file_stamp, forget_read
from nncore.project.settings import DatasetSettings

__all__ = ["DataSection", "CLASS_COLORS"]

#: Class colours of the dataset preview (cycled beyond ten classes).
CLASS_COLORS = ("#3a86ff", "#e63946", "#2a9d8f", "#f4a261", "#8e6cdb", "#6c8a5b", "#ff006e",
                "#8d99ae", "#ffbe0b", "#5e548e")

_MAX_POINTS = 3000    # the preview draws at most this many points (a fixed sample)
_DELIMITERS = ((",", "comma  ,"), (";", "semicolon  ;"), ("\t", "tab"), ("|", "bar  |"))
_TASKS = ((None, "automatic"), ("classification", "classification"),
          ("regression", "regression"))
#: What the file dialog offers for each file source.
_FILE_FILTERS = {"csv": "CSV files (*.csv *.tsv *.txt);;All files (*)",
                 "npz": "NumPy archives (*.npz);;All files (*)"}



def _source_key(ds: dict[str, Any]) -> str:
    """The source list's item data of the dataset settings ``ds``: ``"builtin:<name>"``,
    ``"csv"`` or ``"npz"``."""
    return f"builtin:{ds['name']}" if ds["source"] == "builtin" else ds["source"]


def _source_tip(ds: dict[str, Any]) -> str:
    if ds["source"] == "builtin" and ds["name"] in DATASETS:
        return DATASETS[ds["name"]].description
    return "CSV file: numbers in columns" if ds["source"] == "csv" else "NPZ file: arrays X and y"


def _option_spec(name: str, ds: dict[str, Any]) -> Any:
    """The chosen built-in dataset's spec of option ``name`` (None: not a built-in set, or
    one without that option)."""
    spec = DATASETS.get(ds["name"]) if ds["source"] == "builtin" else None
    return spec.specs.get(name) if spec is not None else None


def _option_title(name: str, ds: dict[str, Any]) -> str:
    spec = DATASETS[ds["name"]]
    return f"{spec.display_name} {spec.option(name).title.lower()}"


def _delimiter_name(delimiter: str) -> str:
    return dict(_DELIMITERS).get(delimiter, delimiter).split()[0]


def _guess_delimiter(path: str | os.PathLike) -> str:
    """The separator of a CSV file's first line: the most frequent of , ; tab |
    (a comma when none appears)."""
    try:  # a FIFO or a device is never opened (FileRefused is an OSError)
        regular_file(path, "the CSV file", MAX_CSV_BYTES)
        with open(path, encoding="utf-8-sig", errors="replace") as f:
            line = f.readline(1 << 16)
    except (OSError, ValueError):
        return ","
    counts = {d: line.count(d) for d, _ in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > counts[","] else ","


def _short(message: str, limit: int = 150) -> str:
    """A message cut to ``limit`` characters (with "…")."""
    return message if len(message) <= limit else message[:limit - 1].rstrip() + "…"


class _Preview(QStackedWidget):
    """The preview's frame: small by default, growing into the height the panel has."""

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(150, 96)


def _default_open_import(parent: QWidget, path: str, settings: dict[str, Any],
                         keep: bool) -> dict[str, Any] | None:
    """Show the CSV import dialog; its choices (OK) or None (Cancel)."""
    from app.training.import_dialog import ImportDialog
    dialog = ImportDialog(path, settings, keep=keep, parent=parent)
    return dialog.choices() if dialog.exec() == ImportDialog.DialogCode.Accepted else None


def _default_choose_file(parent: QWidget, kind: str, start: str) -> str | None:
    """Ask for a CSV (``kind="csv"``) or NPZ file with Qt's file dialog."""
    title = "Open a CSV data file" if kind == "csv" else "Open an NPZ data file"
    path, _ = QFileDialog.getOpenFileName(parent, title, start, _FILE_FILTERS[kind])
    return path or None


class DataSection(Section):
    """The data source, the split and the preview.

    Args:
        access: the project's settings (read, commit, bind).
        refresh_now: shows the project's settings at once (after Reload).

    Attributes:
        choose_file: ``choose_file(parent, kind, start_dir) -> path or None`` asks for a
            data file (``kind``: ``"csv"`` or ``"npz"``); replace it in tests.
        open_import: ``open_import(parent, path, settings, keep) -> choices or None``
            shows the CSV import dialog (:class:`~app.training.import_dialog.ImportDialog`)
            for ``path`` (absolute) with the dataset ``settings`` (a dict; ``keep``: start
            from their choices); what it returns goes into the settings (None: Cancel,
            nothing changes). Replace it in tests.
        preview_data: the loaded :class:`~nncore.data.Dataset`, or None.
        data_error: why the data cannot be loaded (text), or None.
    """

    def __init__(self, access: SettingsAccess, refresh_now: Callable[[], None],
                 parent: QWidget | None = None) -> None:
        super().__init__("Data", parent)
        self._access = access
        self._refresh_now = refresh_now
        self.choose_file: Callable[[QWidget, str, str], str | None] = _default_choose_file
        self.open_import: Callable[..., dict[str, Any] | None] = _default_open_import
        self.preview_data: Dataset | None = None
        self.data_error: str | None = None
        self._preview_key: str | None = None
        self._columns_key: tuple | None = None
        self._columns: tuple[list[str], bool] = ([], False)
        self._chose_file = False  # the source's last change chose a file: read it
        #: CSV files larger than this (bytes) load in a worker thread (:attr:`loader`)
        self.thread_bytes = LARGE_FILE_BYTES
        self.loader = DataLoader(self)
        self.loader.progress.connect(lambda f: self.load_bar.setValue(round(100 * f)))
        self.loader.loaded.connect(self._loaded)
        self.loader.failed.connect(self._load_failed)
        self.loader.cancelled.connect(self._load_cancelled)
        self._build()

    def reload_data(self) -> None:
        """Read the data file again (its header and the preview), even when its last
        read failed or was cancelled."""
        ds, _ = self._access.read("dataset")
        forget_read(dataset_for_graph(ds, self._access.graph), self._base_dir())
        self._columns_key = None
        self._preview_key = None
        self._refresh_now()

    def _base_dir(self) -> Path | None:
        path = getattr(self._access.document, "path", None)
        return Path(path).parent if path else None

    def _build(self) -> None:

        # --- source and its options
        form = self.source_form = _form()
        self.source_combo = QComboBox()
        self.source_combo.setObjectName("dataSource")
        self.source_combo.setToolTip("The data the network is trained on")
        model = self.source_combo.model()
        for kind, title in (("real", "Real data"), ("synthetic", "Synthetic")):
            self.source_combo.addItem(title)
            item = model.item(self.source_combo.count() - 1)
            item.setEnabled(False)
            font = QFont(self.source_combo.font())
            font.setBold(True)
            item.setFont(font)
            for spec in DATASETS.values():
                if spec.kind == kind:
                    self.source_combo.addItem(spec.display_name, f"builtin:{spec.name}")
                    self.source_combo.setItemData(self.source_combo.count() - 1,
                                                  spec.description, Qt.ItemDataRole.ToolTipRole)
        self.source_combo.insertSeparator(self.source_combo.count())
        self.source_combo.addItem("CSV file…", "csv")
        self.source_combo.setItemData(self.source_combo.count() - 1,
                                      "Numbers in columns, one of them the target",
                                      Qt.ItemDataRole.ToolTipRole)
        self.source_combo.addItem("NPZ file…", "npz")
        self.source_combo.setItemData(self.source_combo.count() - 1,
                                      "A NumPy archive with arrays X and y",
                                      Qt.ItemDataRole.ToolTipRole)
        self.source_combo.setMinimumContentsLength(17)
        self.source_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.source_binding = self._access.bind(
            self.source_combo, "dataset", "source", "Dataset", None, self,
            read=_source_key, write=self._write_source,
            text=lambda a, b: f"Dataset: {self._data_title(a)} → {self._data_title(b)}",
            tip=lambda ds, spec: _source_tip(ds), after=self._after_source)
        form.addRow(_label("Source", "The data the network is trained on"),
                    self.source_combo)

        # built-in options: an editor per option any dataset has (made from its spec),
        # its row shown while the chosen dataset has the option
        self.option_editors: dict[str, QWidget] = {}
        self.option_labels: dict[str, QLabel] = {}
        specs: dict[str, Any] = {}
        for spec in DATASETS.values():
            for opt in spec.options:
                specs.setdefault(opt.name, opt)
        for name in sorted(specs, key=lambda n: n == "seed"):  # as each lists them: seed last
            editor = spec_editor(specs[name])
            editor.setObjectName(f"data_{name}")
            self._access.bind(editor, "dataset", ("options", name),
                              partial(_option_title, name), None, self,
                              spec=partial(_option_spec, name))
            label = _label(specs[name].title)
            self.option_editors[name] = editor
            self.option_labels[name] = label
            form.addRow(label, editor)

        # file rows
        file_row = QHBoxLayout()
        file_row.setSpacing(2)
        self.file_edit = QLineEdit()
        self.file_edit.setReadOnly(True)
        self.file_edit.setObjectName("dataFile")
        self.file_edit.setMinimumWidth(90)
        self.browse_button = QToolButton()
        self.browse_button.setText("…")
        self.browse_button.setToolTip("Choose another file")
        self.browse_button.clicked.connect(self._browse)
        self.reload_button = QToolButton()
        self.reload_button.setIcon(self.style().standardIcon(
            QStyle.StandardPixmap.SP_BrowserReload))
        self.reload_button.setToolTip("Read the file again (after editing it)")
        self.reload_button.clicked.connect(self.reload_data)
        self.columns_button = QToolButton()
        self.columns_button.setObjectName("dataColumns")
        self.columns_button.setText("Columns…")
        self.columns_button.setToolTip("Choose the target, the features and how they are "
                                       "encoded (the import dialog)")
        self.columns_button.clicked.connect(self._edit_columns)
        file_row.addWidget(self.file_edit, 1)
        file_row.addWidget(self.columns_button)
        file_row.addWidget(self.browse_button)
        file_row.addWidget(self.reload_button)
        self.file_row = QWidget()
        self.file_row.setLayout(file_row)
        file_row.setContentsMargins(0, 0, 0, 0)
        form.addRow(_label("File"), self.file_row)
        self.target_combo = QComboBox()
        self.target_combo.setObjectName("dataTarget")
        self.target_combo.setToolTip("The column to predict; the others are the features")
        self.target_combo.setMinimumContentsLength(10)
        self.target_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self._access.bind(self.target_combo, "dataset", "target", "Target column", None, self,
                          read=self._target_value,
                          write=lambda ds, v: ds.update(target=v, classes=None),
                          shown=lambda ds: ds["source"] == "csv")
        form.addRow(_label("Target", "The column to predict"), self.target_combo)
        self.task_combo = QComboBox()
        self.task_combo.setObjectName("dataTask")
        for value, text in _TASKS:
            self.task_combo.addItem(text, value)
        self.task_combo.setToolTip("Automatic: whole-number or text targets are classes, "
                                   "numbers with a fraction are values to predict "
                                   "(a network ending in MSE reads numbers as values)")
        self._access.bind(self.task_combo, "dataset", "task", "Task", None, self,
                          write=lambda ds, v: ds.update(task=v, classes=None),
                          shown=lambda ds: ds["source"] != "builtin")
        form.addRow(_label("Task"), self.task_combo)
        self.delimiter_combo = QComboBox()
        self.delimiter_combo.setObjectName("dataDelimiter")
        for value, text in _DELIMITERS:
            self.delimiter_combo.addItem(text, value)
        self.delimiter_combo.setToolTip("The character between two fields of a line")
        self._access.bind(self.delimiter_combo, "dataset", "delimiter", "Separator", None,
                          self, write=lambda ds, v: ds.update(delimiter=v, target=None,
                                                              classes=None),
                          shown=lambda ds: ds["source"] == "csv",
                          text=lambda a, b: f"Separator: {_delimiter_name(a['delimiter'])} → "
                                            f"{_delimiter_name(b['delimiter'])}")
        form.addRow(_label("Separator"), self.delimiter_combo)
        col = self.column()
        col.addLayout(form)
        self.summary_label = QLabel()
        self.summary_label.setObjectName("dataSummary")
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary_label.setMaximumWidth(260)
        col.addWidget(self.summary_label)
        # a big file loads in a worker thread: its progress and Cancel
        self.load_row = QWidget()
        load_layout = QHBoxLayout(self.load_row)
        load_layout.setContentsMargins(0, 0, 0, 0)
        self.load_bar = QProgressBar()
        self.load_bar.setObjectName("dataLoadProgress")
        self.load_bar.setRange(0, 100)
        self.load_bar.setMaximumWidth(200)
        self.load_cancel = QToolButton()
        self.load_cancel.setObjectName("dataLoadCancel")
        self.load_cancel.setText("Cancel")
        self.load_cancel.setToolTip("Stop reading the file (the data shown stays)")
        self.load_cancel.clicked.connect(lambda: self.loader.cancel())
        load_layout.addWidget(self.load_bar)
        load_layout.addWidget(self.load_cancel)
        self.load_row.hide()
        col.addWidget(self.load_row)
        self.split_label = QLabel()
        self.split_label.setObjectName("dataSplit")
        self.split_label.setWordWrap(True)
        self.split_label.setMaximumWidth(260)
        self.add_tone(self.split_label, "muted")
        col.addWidget(self.split_label)
        col.addStretch(1)

        # --- split
        form = _form()
        self.val_spin = float_spin(0.0, 0.9, 0.05, 3)
        self.val_spin.setObjectName("dataValFraction")
        self._access.bind(self.val_spin, "dataset", "val_fraction", "Validation share", float, self)
        tip = ("Share of the samples held out to measure the network on data it does not "
               "train on (stratified by class)")
        self.val_spin.setToolTip(tip)
        form.addRow(_label("Validation", tip), self.val_spin)
        self.test_spin = float_spin(0.0, 0.9, 0.05, 3)
        self.test_spin.setObjectName("dataTestFraction")
        self._access.bind(self.test_spin, "dataset", "test_fraction", "Test share", float, self)
        tip = "Share of the samples kept aside for a final test, never used in training"
        self.test_spin.setToolTip(tip)
        form.addRow(_label("Test", tip), self.test_spin)
        self.standardize_check = QCheckBox("Standardize")
        self.standardize_check.setObjectName("dataStandardize")
        self.standardize_check.setToolTip(
            "Scale every feature to mean 0 and deviation 1, with the training part's "
            "statistics (helps most networks)")
        self._access.bind(self.standardize_check, "dataset", "standardize", "Standardize",
                          bool, self)
        form.addRow(self.standardize_check)
        self.split_seed_spin = int_spin(0, INT_MAX)
        self.split_seed_spin.setObjectName("dataSplitSeed")
        tip = "Seed of the split: the same seed holds out the same samples"
        self.split_seed_spin.setToolTip(tip)
        self._access.bind(self.split_seed_spin, "dataset", "seed", "Split seed", int, self)
        form.addRow(_label("Split seed", tip), self.split_seed_spin)
        col = self.column()
        col.addLayout(form)

        # --- preview, under the split
        self.preview_stack = _Preview()
        self.preview_stack.setMinimumSize(150, 96)
        self.preview_stack.setMaximumHeight(140)
        self.preview_stack.setSizePolicy(QSizePolicy.Policy.Preferred,
                                         QSizePolicy.Policy.Expanding)
        self.preview_plot = pg.PlotWidget()
        self.preview_plot.setObjectName("dataPreview")
        self.preview_plot.setMenuEnabled(False)
        self.preview_plot.setMouseEnabled(False, False)
        self.preview_plot.hideButtons()
        item = self.preview_plot.getPlotItem()
        item.hideAxis("left")
        item.hideAxis("bottom")
        item.setContentsMargins(2, 2, 2, 2)
        self.preview_plot.setFrameShape(QFrame.Shape.StyledPanel)
        self.scatter = pg.ScatterPlotItem(size=4, pen=None)
        self.preview_plot.addItem(self.scatter)
        self.preview_message = QLabel()
        self.preview_message.setObjectName("dataPreviewMessage")
        self.preview_message.setWordWrap(True)
        self.preview_message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview_message.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse)
        self.preview_message.setFrameShape(QFrame.Shape.StyledPanel)
        self.preview_stack.addWidget(self.preview_plot)
        self.preview_stack.addWidget(self.preview_message)
        col.addSpacing(2)
        col.addWidget(self.preview_stack, 1)

    @staticmethod
    def _data_title(ds: dict[str, Any]) -> str:
        """The data's name for people: the built-in set's title or the file's name."""
        if ds["source"] == "builtin":
            spec = DATASETS.get(ds["name"])
            return spec.display_name if spec else str(ds["name"])
        return Path(ds["path"] or "?").name

    def _write_source(self, ds: dict[str, Any], key: Any) -> None:
        """A built-in set (``"builtin:<name>"``, its default options) or a file asked for
        (``"csv"``: then the import dialog's choices; ``"npz"``), or the import dialog
        again on the CSV in use (``"columns"``); Unchanged when none is chosen (Cancel)."""
        self._chose_file = False
        if not isinstance(key, str):  # a heading of the list
            raise Unchanged
        if key == "columns":
            if ds["source"] != "csv" or not ds["path"]:
                raise Unchanged
            path = str(self._csv_path(DatasetSettings.from_dict(ds)))
            choices = self.open_import(self, path, ds, True)
            if choices is None:
                raise Unchanged
            ds.update(choices)
            self._chose_file = True
            return
        reset = {"options": {}, "target": None, "task": None, "classes": None,
                 "columns": {}}
        if key.startswith("builtin:"):
            name = key.split(":", 1)[1]
            if ds["source"] != "builtin" or ds["name"] != name:
                ds.update(source="builtin", name=name, path=None, **reset)
            return
        path = self.choose_file(self, key, self._start_dir(ds))
        if not path:
            raise Unchanged  # the list goes back to the source in use
        if key == "csv":
            choices = self.open_import(self, str(path), ds, False)
            if choices is None:
                raise Unchanged  # Cancel: the project's data source stays
        ds.update(source=key, path=self._stored_path(Path(path)), **reset)
        if key == "csv":
            ds.update(choices)
        self._chose_file = True

    def _after_source(self) -> None:
        if self._chose_file:  # read it (again, if it is the same file)
            self._chose_file = False
            self.reload_data()

    def _start_dir(self, ds: dict[str, Any]) -> str:
        """Where the file dialog opens: the current file's folder, or the project's."""
        base = self._base_dir()
        if ds["source"] != "builtin" and ds["path"]:
            p = Path(ds["path"])
            return str((p if p.is_absolute() or base is None else base / p).parent)
        return str(base or Path.home())

    def _edit_columns(self) -> None:
        """Reopen the import dialog on the CSV in use (one undoable command on OK)."""
        self.source_binding.commit("columns")

    def _browse(self) -> None:
        current, _ = self._access.read("dataset")
        self.source_binding.commit(current.source if current.source != "builtin" else "csv")

    def _stored_path(self, path: Path) -> str:
        """The path as saved: relative to the project's folder when the file is inside
        it, else absolute."""
        path = path.resolve()
        base = self._base_dir()
        if base is not None:
            try:
                return path.relative_to(base.resolve()).as_posix()
            except ValueError:
                pass
        return str(path)

    def _target_value(self, ds: dict[str, Any]) -> Any:
        """The target column as the list's item data (None: the last column)."""
        index = self._target_index(ds["target"])
        return self.target_combo.itemData(index) if index >= 0 else ds["target"]

    def show(self, ds: DatasetSettings, force: bool = False) -> None:
        """Show the project's dataset settings ``ds``: the source, the rows that apply to
        it and the file's columns."""
        builtin = ds.source == "builtin"
        self.source_form.setRowVisible(self.file_row, not builtin)
        self.columns_button.setVisible(ds.source == "csv")
        if not builtin:
            self.file_edit.setText(ds.path or "")
            self.file_edit.setCursorPosition(len(ds.path or ""))  # the file name shows
            self.file_edit.setToolTip(str(self._csv_path(ds)))
        if ds.source == "csv":
            self._fill_targets(ds)
        for binding in self.bindings:
            binding.show(force)

    def _csv_path(self, ds: DatasetSettings) -> Path:
        path = Path(ds.path or "")
        if not path.is_absolute() and self._base_dir() is not None:
            path = self._base_dir() / path
        return path

    def _fill_targets(self, ds: DatasetSettings) -> None:
        path = self._csv_path(ds)
        try:
            stamp = path.stat().st_mtime
        except OSError:
            stamp = None
        key = (str(path), ds.delimiter, stamp)
        if key != self._columns_key:
            self._columns_key = key
            try:
                self._columns = csv_columns(path, ds.delimiter)
            except (OSError, UnicodeDecodeError, csv.Error):
                self._columns = ([], False)
        names, header = self._columns
        combo = self.target_combo
        blocked = combo.blockSignals(True)
        combo.clear()
        for i, name in enumerate(names):
            combo.addItem(name, name if header else i)
        index = self._target_index(ds.target)
        if index < 0 and ds.target is not None:
            combo.addItem(f"{ds.target} (not in the file)", ds.target)
            index = combo.count() - 1
        combo.setCurrentIndex(index)
        combo.blockSignals(blocked)

    def _target_index(self, target: str | int | None) -> int:
        """The target column's index among the file's columns (-1: not in the file)."""
        names, header = self._columns
        n = len(names)
        if target is None:
            return n - 1
        if isinstance(target, int):
            t = target + n if target < 0 else target
            return t if 0 <= t < n else -1
        if header and target in names:
            return names.index(target)
        return -1

    def update_preview(self, force: bool = False) -> None:
        ds, _ = self._access.read("dataset")
        resolved = dataset_for_graph(ds, self._access.graph)
        base = self._base_dir()
        key = json.dumps([resolved.to_dict(), str(base), file_stamp(resolved, base)],
                         sort_keys=True, default=str)
        if key == self._preview_key and not force:
            return
        self._preview_key = key
        stamp = file_stamp(resolved, base)
        if resolved.source == "csv" and stamp and (stamp[2] or 0) > self.thread_bytes:
            self.loader.start(resolved, base, tag=ds)
            self.load_bar.setValue(0)
            self.load_bar.setFormat(f"reading {Path(stamp[0]).name}… %p%")
            self.load_row.show()
            return
        self.loader.cancel(quiet=True)
        self.load_row.hide()
        try:
            data = load_data_cached(resolved, base)
        except Exception as e:  # noqa: BLE001 - any failure is shown, never a traceback
            self._load_failed(str(e) or type(e).__name__)
            return
        self._show_data(data, ds)

    def _loaded(self, data: Dataset) -> None:
        self.load_row.hide()
        self._show_data(data, self.loader.tag)

    def _load_cancelled(self) -> None:
        """The threaded load stopped: the data shown before stays."""
        self.load_row.hide()
        self.split_label.setText("Reading cancelled: the data shown is the previous one "
                                 "(Reload to read the file)")

    def _load_failed(self, message: str) -> None:
        self.load_row.hide()
        self.preview_data = None
        self.data_error = message
        self.summary_label.setText(f"⚠ {_short(self.data_error)}")
        self.summary_label.setToolTip(f"<p>{html.escape(self.data_error)}</p>")
        self.summary_label.setStyleSheet(f"color: {tone('error')};")
        self.split_label.setText("")
        self._preview_text("no data")
        self.scatter.setData([], [])

    def _show_data(self, data: Dataset, ds: DatasetSettings) -> None:
        self.preview_data = data
        self.data_error = None
        self.summary_label.setStyleSheet("")
        self.summary_label.setText(self._describe(data))
        self.summary_label.setToolTip("")
        text, tip = self._split_text(data, ds)
        self.split_label.setText(text)
        self.split_label.setToolTip(f"<p>{html.escape(tip)}</p>" if tip else "")
        self._plot(data)

    @staticmethod
    def _describe(data: Dataset) -> str:
        f = data.n_features
        features = f"{f} feature{'s' if f != 1 else ''}"
        if data.task == "classification":
            what = f"{data.num_classes} classes (classification)"
        else:
            t = data.n_outputs
            what = f"{t} target{'s' if t != 1 else ''} (regression)"
        return f"{data.n_samples} samples, {features}, {what}"

    @staticmethod
    def _split_text(data: Dataset, ds: DatasetSettings) -> tuple[str, str]:
        """The split's sizes (and a short warning), and the whole warning or error."""
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                parts = split(data, val_fraction=ds.val_fraction,
                              test_fraction=ds.test_fraction, seed=ds.seed)
        except ValueError as e:
            return f"⚠ {_short(str(e), 90)}", str(e)
        text = f"{len(parts.y_train)} train · {len(parts.y_val)} validation"
        if ds.test_fraction > 0:
            text += f" · {len(parts.y_test)} test"
        tip = "\n".join(str(w.message) for w in caught)
        if tip:
            text += " · ⚠ not stratified" if "not stratified" in tip else " · ⚠"
        return text, tip

    def _preview_text(self, text: str) -> None:
        self.preview_message.setText(text)
        self.preview_message.setStyleSheet(f"color: {tone('muted')}; padding: 6px;")
        self.preview_stack.setCurrentWidget(self.preview_message)

    def _plot(self, data: Dataset) -> None:
        f = data.n_features
        if f > 2:
            self.scatter.setData([], [])
            self._preview_text(f"{f} features: no picture (drawn for 1 or 2 features)")
            return
        n = data.n_samples
        index = np.arange(n)
        if n > _MAX_POINTS:
            index = np.sort(np.random.default_rng(0).choice(n, _MAX_POINTS, replace=False))
        X = data.X[index]
        if data.task == "classification":
            y = data.y[index]
            brushes = [pg.mkBrush(c) for c in CLASS_COLORS]
            brush = [brushes[int(c) % len(brushes)] for c in y]
            if f == 2:
                xs, ys = X[:, 0], X[:, 1]
            else:  # one feature: the feature against the class
                xs, ys = X[:, 0], y.astype(np.float64)
        else:
            t = data.y[index][:, 0]
            if f == 1:
                xs, ys = X[:, 0], t
                brush = pg.mkBrush(CLASS_COLORS[0])
            else:  # two features: coloured by the target, blue (low) to red (high)
                xs, ys = X[:, 0], X[:, 1]
                lo, hi = float(t.min()), float(t.max())
                u = (t - lo) / (hi - lo) if hi > lo else np.zeros_like(t)
                cold, hot = QColor(CLASS_COLORS[0]), QColor(CLASS_COLORS[1])
                brush = [pg.mkBrush(QColor.fromRgbF(
                    cold.redF() + (hot.redF() - cold.redF()) * v,
                    cold.greenF() + (hot.greenF() - cold.greenF()) * v,
                    cold.blueF() + (hot.blueF() - cold.blueF()) * v)) for v in u]
        self.scatter.setData(x=np.asarray(xs, np.float64), y=np.asarray(ys, np.float64),
                             brush=brush, pen=None, size=4)
        self.preview_plot.getPlotItem().enableAutoRange()
        self.preview_stack.setCurrentWidget(self.preview_plot)

    def apply_tones(self) -> None:
        super().apply_tones()
        self.preview_message.setStyleSheet(f"color: {tone('muted')}; padding: 6px;")
        if self.data_error is not None:
            self.summary_label.setStyleSheet(f"color: {tone('error')};")
        palette = QApplication.palette()
        self.preview_plot.setBackground(palette.color(QPalette.ColorRole.Base))
