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
                               QHBoxLayout, QLabel, QLineEdit, QSizePolicy, QSpinBox,
                               QStackedWidget, QStyle, QToolButton, QWidget)

from app.training.section import Section, SettingsAccess
from app.training.section import form as _form
from app.training.section import label as _label
from app.widgets import tone
from app.widgets.fields import INT_MAX, fmt, float_spin, int_spin, set_quietly
from nncore.data import DATASETS, Dataset, csv_columns, split
from nncore.project import dataset_for_graph, load_data_cached
from nncore.project.data import file_stamp
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



def _guess_delimiter(path: str | os.PathLike) -> str:
    """The separator of a CSV file's first line: the most frequent of , ; tab |
    (a comma when none appears)."""
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as f:
            line = f.readline()
    except OSError:
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
        preview_data: the loaded :class:`~nncore.data.Dataset`, or None.
        data_error: why the data cannot be loaded (text), or None.
    """

    def __init__(self, access: SettingsAccess, refresh_now: Callable[[], None],
                 parent: QWidget | None = None) -> None:
        super().__init__("Data", parent)
        self._access = access
        self._refresh_now = refresh_now
        self.choose_file: Callable[[QWidget, str, str], str | None] = _default_choose_file
        self.preview_data: Dataset | None = None
        self.data_error: str | None = None
        self._preview_key: str | None = None
        self._columns_key: tuple | None = None
        self._columns: tuple[list[str], bool] = ([], False)
        self._build()

    def reload_data(self) -> None:
        """Read the data file again (its header and the preview)."""
        self._columns_key = None
        self._preview_key = None
        self._refresh_now()

    def _commit(self, changes: dict[str, Any], text: str) -> bool:
        return self._access.commit("dataset", changes, text, self)

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
        self.source_combo.activated.connect(self._source_activated)
        form.addRow(_label("Source", "The data the network is trained on"),
                    self.source_combo)

        # built-in options: every option any synthetic set has; rows shown as they apply
        self.option_editors: dict[str, QWidget] = {}
        self.option_labels: dict[str, QLabel] = {}
        names: list[str] = []
        for spec in DATASETS.values():
            for opt in spec.options:
                if opt.name not in names:
                    names.append(opt.name)
        names.sort(key=lambda n: n == "seed")  # as every spec lists them: the seed last
        for name in names:
            opt = next(o for s in DATASETS.values() for o in s.options if o.name == name)
            if opt.type == "int":
                editor: QWidget = int_spin(opt.minimum, opt.maximum)
                editor.valueChanged.connect(partial(self._commit_data_option, name))
            else:
                editor = float_spin(opt.minimum, opt.maximum, 0.05, 3)
                editor.valueChanged.connect(partial(self._commit_data_option, name))
            editor.setObjectName(f"data_{name}")
            label = _label(opt.label)
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
        file_row.addWidget(self.file_edit, 1)
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
        self.target_combo.activated.connect(self._target_activated)
        form.addRow(_label("Target", "The column to predict"), self.target_combo)
        self.task_combo = QComboBox()
        self.task_combo.setObjectName("dataTask")
        for value, text in _TASKS:
            self.task_combo.addItem(text, value)
        self.task_combo.setToolTip("Automatic: whole-number or text targets are classes, "
                                   "numbers with a fraction are values to predict "
                                   "(a network ending in MSE reads numbers as values)")
        self.task_combo.activated.connect(self._task_activated)
        form.addRow(_label("Task"), self.task_combo)
        self.delimiter_combo = QComboBox()
        self.delimiter_combo.setObjectName("dataDelimiter")
        for value, text in _DELIMITERS:
            self.delimiter_combo.addItem(text, value)
        self.delimiter_combo.setToolTip("The character between two fields of a line")
        self.delimiter_combo.activated.connect(self._delimiter_activated)
        form.addRow(_label("Separator"), self.delimiter_combo)
        col = self.column()
        col.addLayout(form)
        self.summary_label = QLabel()
        self.summary_label.setObjectName("dataSummary")
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary_label.setMaximumWidth(260)
        col.addWidget(self.summary_label)
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
    def _data_title(ds: DatasetSettings) -> str:
        if ds.source == "builtin":
            spec = DATASETS.get(ds.name)
            return spec.display_name if spec else ds.name
        return Path(ds.path or "?").name

    def _source_activated(self, index: int) -> None:
        key = self.source_combo.itemData(index)
        current, _ = self._access.read("dataset")
        if not isinstance(key, str):
            self.show(current)
            return
        if key.startswith("builtin:"):
            name = key.split(":", 1)[1]
            if current.source == "builtin" and current.name == name:
                return
            self._commit(
                {"source": "builtin", "name": name, "options": {}, "path": None,
                 "target": None, "task": None, "classes": None},
                f"Dataset: {self._data_title(current)} → {DATASETS[name].display_name}")
        else:
            self._choose_data_file(key)

    def _browse(self) -> None:
        current, _ = self._access.read("dataset")
        self._choose_data_file(current.source if current.source != "builtin" else "csv")

    def _choose_data_file(self, kind: str) -> None:
        current, _ = self._access.read("dataset")
        start = str(self._base_dir() or Path.home())
        if current.source != "builtin" and current.path:
            p = Path(current.path)
            p = p if p.is_absolute() or self._base_dir() is None else self._base_dir() / p
            start = str(p.parent)
        path = self.choose_file(self, kind, start)
        if not path:
            self.show(current)  # the list goes back to the source in use
            return
        stored = self._stored_path(Path(path))
        changes: dict[str, Any] = {"source": kind, "path": stored, "target": None,
                                   "task": None, "classes": None, "options": {}}
        if kind == "csv":
            changes["delimiter"] = _guess_delimiter(path)
        if not self._commit(changes, f"Dataset: {self._data_title(current)} → "
                                             f"{Path(path).name}"):
            return
        self.reload_data()

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

    def _commit_data_option(self, name: str, value: Any) -> None:
        current, _ = self._access.read("dataset")
        spec = DATASETS.get(current.name)
        if current.source != "builtin" or spec is None:
            return
        value = int(value) if spec.option(name).type == "int" else float(value)
        old = spec.validate(current.options)[name]
        if value == old:
            return
        self._commit({"options": {**current.options, name: value}},
                             f"{spec.display_name} {spec.option(name).label.lower()}: "
                             f"{fmt(old)} → {fmt(value)}")

    def _target_activated(self, index: int) -> None:
        current, _ = self._access.read("dataset")
        value = self.target_combo.itemData(index)
        shown = self._target_index(current)
        if index == shown and current.target is not None:
            return
        if current.target is None and index == len(self._columns[0]) - 1:
            return  # the last column is the target already
        before = self.target_combo.itemText(shown) if shown >= 0 else fmt(current.target)
        self._commit({"target": value, "classes": None},
                             f"Target column: {before} → {self.target_combo.itemText(index)}")

    def _task_activated(self, index: int) -> None:
        value = self.task_combo.itemData(index)
        current, _ = self._access.read("dataset")
        if value == current.task:
            return
        self._commit({"task": value, "classes": None},
                             f"Task: {current.task or 'automatic'} → {value or 'automatic'}")

    def _delimiter_activated(self, index: int) -> None:
        value = self.delimiter_combo.itemData(index)
        current, _ = self._access.read("dataset")
        if value == current.delimiter:
            return
        names = dict(_DELIMITERS)
        self._commit({"delimiter": value, "target": None, "classes": None},
                             f"Separator: "
                             f"{names.get(current.delimiter, current.delimiter).split()[0]} "
                             f"→ {names[value].split()[0]}")

    def show(self, ds: DatasetSettings, force: bool = False) -> None:
        key = f"builtin:{ds.name}" if ds.source == "builtin" else ds.source
        combo = self.source_combo
        blocked = combo.blockSignals(True)
        combo.setCurrentIndex(max(combo.findData(key), 0))
        combo.blockSignals(blocked)
        builtin = ds.source == "builtin"
        spec = DATASETS.get(ds.name) if builtin else None
        combo.setToolTip(spec.description if spec else
                         "CSV file: numbers in columns" if ds.source == "csv" else
                         "NPZ file: arrays X and y")
        values = spec.validate(ds.options) if spec else {}
        form = self.source_form
        for name, editor in self.option_editors.items():
            shown = spec is not None and name in values
            form.setRowVisible(editor, shown)
            if shown:
                opt = spec.option(name)
                if isinstance(editor, QSpinBox):
                    editor.setRange(int(opt.minimum), min(int(opt.maximum), INT_MAX))
                else:
                    editor.setRange(float(opt.minimum), float(opt.maximum))
                set_quietly(editor, values[name])
                tip = f"{opt.help}\nAllowed: {opt.minimum:g} to {opt.maximum:g}; " \
                      f"default {opt.default:g}"
                editor.setToolTip(tip)
                self.option_labels[name].setText(opt.label)
                self.option_labels[name].setToolTip(tip)
        form.setRowVisible(self.file_row, not builtin)
        form.setRowVisible(self.target_combo, ds.source == "csv")
        form.setRowVisible(self.delimiter_combo, ds.source == "csv")
        form.setRowVisible(self.task_combo, not builtin)
        if not builtin:
            self.file_edit.setText(ds.path or "")
            self.file_edit.setCursorPosition(len(ds.path or ""))  # the file name shows
            full = Path(ds.path or "")
            if not full.is_absolute() and self._base_dir() is not None:
                full = self._base_dir() / full
            self.file_edit.setToolTip(str(full))
            set_quietly(self.task_combo, ds.task)
        if ds.source == "csv":
            set_quietly(self.delimiter_combo, ds.delimiter)
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
        index = self._target_index(ds)
        if index < 0 and ds.target is not None:
            combo.addItem(f"{ds.target} (not in the file)", ds.target)
            index = combo.count() - 1
        combo.setCurrentIndex(index)
        combo.blockSignals(blocked)

    def _target_index(self, ds: DatasetSettings) -> int:
        names, header = self._columns
        n = len(names)
        if ds.target is None:
            return n - 1
        if isinstance(ds.target, int):
            t = ds.target + n if ds.target < 0 else ds.target
            return t if 0 <= t < n else -1
        if header and ds.target in names:
            return names.index(ds.target)
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
        try:
            data = load_data_cached(resolved, base)
        except Exception as e:  # noqa: BLE001 - any failure is shown, never a traceback
            self.preview_data = None
            self.data_error = str(e) or type(e).__name__
            self.summary_label.setText(f"⚠ {_short(self.data_error)}")
            self.summary_label.setToolTip(f"<p>{html.escape(self.data_error)}</p>")
            self.summary_label.setStyleSheet(f"color: {tone('error')};")
            self.split_label.setText("")
            self._preview_text("no data")
            self.scatter.setData([], [])
            return
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
