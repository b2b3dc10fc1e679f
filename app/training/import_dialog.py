"""The CSV import dialog: a preview of a table's first rows and, per column, its role
(feature, target, ignore), detected kind (with the reason), missing count, category
encoding and missing-value strategy; a live summary line of what loading will do.

Model/view throughout (a wide table of 1000 columns makes no per-cell widgets). The
dialog edits a copy of the dataset settings; :meth:`ImportDialog.choices` gives what OK
writes (header, delimiter, target, columns, missing, category_encoding, expand_dates),
the Data section commits it as one undoable command. Cancel changes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QDialog,
                               QDialogButtonBox, QFormLayout, QHBoxLayout, QHeaderView,
                               QLabel, QStyledItemDelegate, QTableView, QVBoxLayout, QWidget)

from nncore.tables import (ENCODINGS, IGNORED_KINDS, MISSING, PipelineSpec, describe_columns,
                           read_table, table_dataset)

__all__ = ["ImportDialog", "import_choices", "PREVIEW_ROWS"]

#: Rows the dialog reads for its preview and summary.
PREVIEW_ROWS = 200
_DELIMITERS = ((",", "comma  ,"), (";", "semicolon  ;"), ("\t", "tab"), ("|", "bar  |"))
_HEADERS = [("auto", "detected"), (None, "none")] + [(i, f"row {i + 1}") for i in range(10)]
_ROLE, _KIND, _MISSING_COUNT, _ENCODING, _STRATEGY, _WHY = range(1, 7)
_COLUMN_TITLES = ("Column", "Role", "Kind", "Missing", "Encoding", "If missing", "Why")
_DEFAULT = "(default)"


class _FrameModel(QAbstractTableModel):
    """A pandas DataFrame's cells as text (read-only)."""

    def __init__(self, frame: Any = None) -> None:
        super().__init__()
        self.frame = frame

    def set_frame(self, frame: Any) -> None:
        self.beginResetModel()
        self.frame = frame
        self.endResetModel()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if self.frame is None or parent.isValid() else len(self.frame)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if self.frame is None or parent.isValid() else self.frame.shape[1]

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and index.isValid():
            v = self.frame.iat[index.row(), index.column()]
            return "" if v != v else str(v)  # NaN: empty
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole or self.frame is None:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return str(self.frame.columns[section])
        return str(section + 1)


class _ColumnsModel(QAbstractTableModel):
    """One row per column: name, role, kind, missing count, encoding, missing strategy
    and why it is of its kind (or ignored).

    ``infos`` are :class:`~nncore.tables.ColumnInfo`; ``choices`` column name -> the
    user's ``{"role", "encoding", "missing"}`` (the target is ``target``)."""

    def __init__(self, dialog: "ImportDialog") -> None:
        super().__init__()
        self.dialog = dialog
        self.infos: list[Any] = []

    def set_infos(self, infos: list[Any]) -> None:
        self.beginResetModel()
        self.infos = infos
        self.endResetModel()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.infos)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(_COLUMN_TITLES)

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return _COLUMN_TITLES[section] if orientation == Qt.Orientation.Horizontal \
                else str(section + 1)
        return None

    def options(self, row: int, column: int) -> tuple[str, ...]:
        """The values an editable cell can take (empty: not editable)."""
        info = self.infos[row]
        if column == _ROLE:
            return ("feature", "target", "ignore")
        if column == _ENCODING and info.kind == "category" and info.name != self.dialog.target:
            return (_DEFAULT, *ENCODINGS)
        if column == _STRATEGY and info.missing:
            return (_DEFAULT, *MISSING)
        return ()

    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.isValid() and self.options(index.row(), index.column()):
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def value(self, row: int, column: int) -> str:
        info = self.infos[row]
        d = self.dialog
        if column == 0:
            return info.name
        if column == _ROLE:
            return d.role(info.name)
        if column == _KIND:
            return info.kind
        if column == _MISSING_COUNT:
            return f"{info.missing:,}"
        if column == _WHY:
            return info.note or info.reason
        key = "encoding" if column == _ENCODING else "missing"
        if not self.options(row, column):
            return ""
        return d.column_choices.get(info.name, {}).get(key, _DEFAULT)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, column = index.row(), index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return self.value(row, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            info = self.infos[row]
            return "\n".join(t for t in (info.reason, info.note) if t)
        return None

    def setData(self, index: QModelIndex, value: Any,  # noqa: N802
                role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or value not in self.options(index.row(),
                                                                         index.column()):
            return False
        name = self.infos[index.row()].name
        if index.column() == _ROLE:
            self.dialog.set_role(name, value)
        else:
            key = "encoding" if index.column() == _ENCODING else "missing"
            self.dialog.set_choice(name, key, None if value == _DEFAULT else value)
        return True

    def refresh(self) -> None:
        if self.infos:
            self.dataChanged.emit(self.index(0, 0),
                                  self.index(len(self.infos) - 1, len(_COLUMN_TITLES) - 1))


class _ChoiceDelegate(QStyledItemDelegate):
    """A combo box editing a cell of :class:`_ColumnsModel` (made only while editing)."""

    def createEditor(self, parent: QWidget, option: Any, index: QModelIndex) -> QWidget:  # noqa: N802
        combo = QComboBox(parent)
        combo.addItems(list(index.model().options(index.row(), index.column())))
        combo.activated.connect(lambda _i, c=combo: self.commitData.emit(c))
        return combo

    def setEditorData(self, editor: QWidget, index: QModelIndex) -> None:  # noqa: N802
        editor.setCurrentText(str(index.data()))

    def setModelData(self, editor: QWidget, model: Any, index: QModelIndex) -> None:  # noqa: N802
        model.setData(index, editor.currentText())


class ImportDialog(QDialog):
    """Choose how a CSV file becomes features and a target.

    Args:
        path: the file (absolute).
        settings: the project's dataset settings as a dict (``DatasetSettings.to_dict()``);
            its header, delimiter, target and preprocessing are the starting choices
            when ``keep`` (reopening for the same file), else the detected defaults.
        keep: start from ``settings``' choices.

    Attributes:
        table: the preview :class:`~nncore.tables.Table` (first :data:`PREVIEW_ROWS`
            rows), or None when the file cannot be read.
        error: why the file cannot be read or loaded (the engine's message), or None.
        target: the chosen target column's name, or None (OK is disabled).
        column_choices: column name -> ``{"role": "ignore", "encoding", "missing"}``.
    """

    def __init__(self, path: str | Path, settings: dict[str, Any], keep: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("importDialog")
        self.path = Path(path)
        self.setWindowTitle(f"Import {self.path.name}")
        self.table: Any = None
        self.error: str | None = None
        self.infos: list[Any] = []
        self.target: str | None = settings.get("target") if keep else None
        self.column_choices: dict[str, dict[str, Any]] = (
            {k: dict(v) for k, v in (settings.get("columns") or {}).items()} if keep else {})
        self._keep_target = keep and self.target is not None
        self._build(settings if keep else {})
        self.reread()

    # --- building
    def _build(self, settings: dict[str, Any]) -> None:
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.header_combo = QComboBox()
        self.header_combo.setObjectName("importHeader")
        for value, title in _HEADERS:
            self.header_combo.addItem(title, value)
        self.header_combo.setToolTip("The row holding the column names")
        self.header_combo.setCurrentIndex(max(0, self.header_combo.findData(
            settings.get("header", "auto"))))
        self.delimiter_combo = QComboBox()
        self.delimiter_combo.setObjectName("importDelimiter")
        self.delimiter_combo.addItem("detected", None)
        for value, title in _DELIMITERS:
            self.delimiter_combo.addItem(title, value)
        delimiter = settings.get("delimiter")
        self.delimiter_combo.setCurrentIndex(max(0, self.delimiter_combo.findData(delimiter))
                                             if delimiter else 0)
        top.addWidget(QLabel("Header"))
        top.addWidget(self.header_combo)
        top.addSpacing(12)
        top.addWidget(QLabel("Separator"))
        top.addWidget(self.delimiter_combo)
        top.addSpacing(12)
        self.missing_combo = QComboBox()
        self.missing_combo.setObjectName("importMissing")
        self.missing_combo.addItems(list(MISSING))
        self.missing_combo.setCurrentText(settings.get("missing", "drop"))
        self.missing_combo.setToolTip("What to do with a missing value (every column "
                                      "without its own choice)")
        top.addWidget(QLabel("If missing"))
        top.addWidget(self.missing_combo)
        self.encoding_combo = QComboBox()
        self.encoding_combo.setObjectName("importEncoding")
        self.encoding_combo.addItems(list(ENCODINGS))
        self.encoding_combo.setCurrentText(settings.get("category_encoding", "one-hot"))
        self.encoding_combo.setToolTip("How categories become numbers (every category "
                                       "column without its own choice)")
        top.addWidget(QLabel("Categories"))
        top.addWidget(self.encoding_combo)
        self.dates_check = QCheckBox("Use dates (year, month, day, weekday)")
        self.dates_check.setObjectName("importDates")
        self.dates_check.setChecked(bool(settings.get("expand_dates", False)))
        top.addWidget(self.dates_check)
        top.addStretch(1)
        layout.addLayout(top)

        self.notes_label = QLabel()
        self.notes_label.setWordWrap(True)
        layout.addWidget(self.notes_label)
        self.preview_model = _FrameModel()
        self.preview_view = QTableView()
        self.preview_view.setObjectName("importPreview")
        self.preview_view.setModel(self.preview_model)
        self.preview_view.verticalHeader().setDefaultSectionSize(22)
        self.preview_view.horizontalHeader().setDefaultSectionSize(90)
        layout.addWidget(self.preview_view, 3)

        self.columns_model = _ColumnsModel(self)
        self.columns_view = QTableView()
        self.columns_view.setObjectName("importColumns")
        self.columns_view.setModel(self.columns_model)
        self.columns_view.setItemDelegate(_ChoiceDelegate(self.columns_view))
        self.columns_view.setEditTriggers(QAbstractItemView.EditTrigger.AllEditTriggers)
        self.columns_view.verticalHeader().setDefaultSectionSize(24)
        header = self.columns_view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in enumerate((150, 80, 85, 65, 85, 110)):
            header.resizeSection(column, width)
        header.setStretchLastSection(True)
        layout.addWidget(self.columns_view, 3)

        form = QFormLayout()
        self.summary_label = QLabel()
        self.summary_label.setObjectName("importSummary")
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow(self.summary_label)
        layout.addLayout(form)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.resize(1000, 640)

        self.header_combo.currentIndexChanged.connect(lambda _i: self.reread())
        self.delimiter_combo.currentIndexChanged.connect(lambda _i: self.reread())
        self.missing_combo.currentIndexChanged.connect(lambda _i: self.update_summary())
        self.encoding_combo.currentIndexChanged.connect(lambda _i: self.update_summary())
        self.dates_check.toggled.connect(lambda _c: self.update_summary())

    # --- reading and the summary
    def reread(self) -> None:
        """Read the preview rows again with the header and separator chosen."""
        try:
            self.table = read_table(self.path, header=self.header_combo.currentData(),
                                    delimiter=self.delimiter_combo.currentData(),
                                    nrows=PREVIEW_ROWS)
        except Exception as e:  # noqa: BLE001 - the engine's message, never a traceback
            self.table = None
            self.infos = []
            self.error = str(e)
            self.preview_model.set_frame(None)
            self.columns_model.set_infos([])
            self.notes_label.setText("")
            self._show_summary()
            return
        frame = self.table.frame
        names = [str(c) for c in frame.columns]
        if not self._keep_target or self.target not in names:
            self.target = None
        self.infos = describe_columns(frame, target=self.target)
        if self.target is None:
            guessed = next((i for i in self.infos if i.role == "target"), None)
            if guessed is not None and guessed.kind not in IGNORED_KINDS:
                self.target = guessed.name
        self._keep_target = True
        self.preview_model.set_frame(frame)
        if frame.shape[1] <= 60:  # a wide table keeps the fixed width (no measuring)
            self.preview_view.resizeColumnsToContents()
        self.columns_model.set_infos(self.infos)
        self.notes_label.setText(" ".join(self.table.notes))
        self.update_summary()

    def role(self, name: str) -> str:
        """The column's role now: target, ignore or feature."""
        if name == self.target:
            return "target"
        chosen = self.column_choices.get(name, {}).get("role")
        if chosen:
            return chosen
        info = next((i for i in self.infos if i.name == name), None)
        if info is not None and info.role == "ignore":
            return "ignore"
        return "feature"

    def set_role(self, name: str, role: str) -> None:
        """Make ``name`` the target, a feature or ignored (a new target makes the old one
        a feature)."""
        choice = self.column_choices.setdefault(name, {})
        if role == "target":
            self.target = name
            choice.pop("role", None)
        else:
            if self.target == name:
                self.target = None
            choice["role"] = role
        if not choice:
            self.column_choices.pop(name)
        self.columns_model.refresh()
        self.update_summary()

    def set_choice(self, name: str, key: str, value: Any) -> None:
        """A column's ``encoding`` or ``missing`` choice (None: the default)."""
        choice = self.column_choices.setdefault(name, {})
        if value is None:
            choice.pop(key, None)
        else:
            choice[key] = value
        if not choice:
            self.column_choices.pop(name)
        self.columns_model.refresh()
        self.update_summary()

    def spec(self) -> PipelineSpec:
        """The preprocessing chosen (columns' roles as the dialog shows them)."""
        columns: dict[str, dict[str, Any]] = {}
        for info in self.infos:
            choice = dict(self.column_choices.get(info.name, {}))
            choice.pop("role", None)
            if info.name == self.target:
                continue
            role = self.role(info.name)
            if role != (info.role if info.role != "target" else "feature"):
                choice["role"] = role
            if choice:
                columns[info.name] = choice
        return PipelineSpec(columns=columns, missing=self.missing_combo.currentText(),
                            category_encoding=self.encoding_combo.currentText(),
                            expand_dates=self.dates_check.isChecked())

    def update_summary(self) -> None:
        """Load the preview rows as chosen: the summary line, or why it fails."""
        self.error = None
        if self.table is not None and self.target is not None:
            try:
                data = table_dataset(self.table, target=self.target, spec=self.spec())
                report = data.pipeline.report
                self.summary_text = (f"{report.summary()}  →  {len(data.feature_names)} "
                                     f"features")
            except Exception as e:  # noqa: BLE001 - the engine's message
                self.error = str(e)
        self._show_summary()

    def _show_summary(self) -> None:
        if self.error is not None:
            text, color, ok = self.error, "#c0392b", False
        elif self.target is None:
            text = ("No target column found: choose one (Role → target) in the "
                    "column list.") if self.table is not None else ""
            color, ok = "#b9770e", False
        else:
            text, color, ok = (f"First {PREVIEW_ROWS} rows: {self.summary_text}"
                               if len(self.table.frame) >= PREVIEW_ROWS
                               else self.summary_text), "", True
        self.summary_label.setText(text)
        self.summary_label.setStyleSheet(f"color: {color};" if color else "")
        self.ok_button.setEnabled(ok)

    # --- the result
    def choices(self) -> dict[str, Any]:
        """What OK writes into the dataset settings."""
        spec = self.spec().to_dict()
        return {"header": self.header_combo.currentData(),
                "delimiter": self.delimiter_combo.currentData() or self.table.delimiter,
                "target": self.target, "columns": spec["columns"],
                "missing": spec["missing"], "category_encoding": spec["category_encoding"],
                "expand_dates": spec["expand_dates"]}


def import_choices(path: str | Path, settings: dict[str, Any],
                   keep: bool = False) -> dict[str, Any] | None:
    """What the import dialog's OK would write with its defaults (no dialog shown), or
    None when OK is disabled (no target, or the file cannot be loaded): the seam for
    tests and scripts that pick a file without a person at the screen."""
    dialog = ImportDialog(path, settings, keep=keep)
    try:
        return dialog.choices() if dialog.ok_button.isEnabled() else None
    finally:
        dialog.deleteLater()
