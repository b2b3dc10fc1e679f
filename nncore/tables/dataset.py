"""From a table to a :class:`~nncore.data.Dataset`: target, rows kept, pipeline fitted on
the training rows, and a report of what was done (:class:`LoadReport`)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from nncore.data import DataFileError, Dataset, SplitWarning, split
from nncore.limits import excerpt
from nncore.tables.columns import ColumnInfo, describe_columns, number_values
from nncore.tables.pipeline import Pipeline, PipelineSpec, RowView, category_codes
from nncore.tables.read import Table
from nncore.text import plural

__all__ = ["LoadReport", "table_dataset", "resolve_target"]

_TASKS = (None, "classification", "regression")


@dataclass
class LoadReport:
    """What loading a table did, for the summary line and the column report.

    Attributes:
        file: the file's name.
        rows_read: data rows in the file (blank rows not counted).
        dropped: reason -> rows left out (``"no target"``, ``"missing values"``).
        encoded: ``(column, encoding)`` of each column turned into numbers other than
            as a number (``("island", "one-hot")``, ``("day", "date")``).
        ignored: ``(column, why)`` of each column left out.
        columns: every column's :class:`~nncore.tables.columns.ColumnInfo`.
        notes: what the reader decided (header, delimiter, encoding).
    """

    file: str
    rows_read: int
    dropped: dict[str, int] = field(default_factory=dict)
    encoded: list[tuple[str, str]] = field(default_factory=list)
    ignored: list[tuple[str, str]] = field(default_factory=list)
    columns: list[ColumnInfo] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def rows_used(self) -> int:
        return self.rows_read - sum(self.dropped.values())

    def summary(self) -> str:
        """One line: rows read and dropped (why), columns encoded, columns ignored (why).

        ``"penguins.csv: 344 rows, 11 dropped (missing values); 2 columns one-hot
        encoded (island, sex); 1 ignored (id: every value is distinct, an identifier)"``
        """
        dropped = sum(self.dropped.values())
        why = ", ".join(f"{k}: {v:,}" for k, v in self.dropped.items() if v)
        parts = [f"{self.file}: {plural(self.rows_read, 'row')}, "
                 + (f"{dropped:,} dropped ({why})" if dropped else "none dropped")]
        if self.encoded:
            parts.append(f"{plural(len(self.encoded), 'column')} encoded ("
                         + ", ".join(f"{n} {how}" for n, how in self.encoded) + ")")
        else:
            parts.append("no column encoded")
        if self.ignored:
            parts.append(f"{len(self.ignored):,} ignored ("
                         + "; ".join(f"{n}: {why}" for n, why in self.ignored) + ")")
        else:
            parts.append("none ignored")
        line = "; ".join(parts)
        header = [n for n in self.notes if "scikit-learn" in n]
        if header:
            line += "; line 1 is a scikit-learn count line, not a header"
        return line

    def report(self) -> str:
        """Several lines: the notes, then one line per column (name, kind, role, missing,
        reason)."""
        lines = list(self.notes)
        for c in self.columns:
            lines.append(f"{c.name}: {c.kind}, {c.role}"
                         + (f", {c.missing:,} missing" if c.missing else "")
                         + f" ({c.reason})" + (f"; {c.note}" if c.note else ""))
        return "\n".join(lines)


def resolve_target(table: Table, target: str | int | None) -> int:
    """The 0-based index of the target column.

    Raises:
        DataFileError: for a name that is no column, a name given twice in the header,
            or a name when the file has no header.
        ValueError: for an index out of range; TypeError for another type.
    """
    from nncore.tables.columns import default_target

    names = [str(c) for c in table.frame.columns]
    n = len(names)
    if target is None:
        return default_target(names)
    if isinstance(target, bool) or not isinstance(target, (int, np.integer, str)):
        raise TypeError(f"target must be None (the default), a column index or a column "
                        f"name, got {target!r}")
    if isinstance(target, str):
        raw = table.header_names
        if raw is not None:
            matches = [j for j, v in enumerate(raw) if v == target]
            if len(matches) > 1:
                raise DataFileError(f"{table.label}: {len(matches)} columns are named "
                                    f"{target!r} (columns "
                                    f"{', '.join(str(j + 1) for j in matches)}); give a "
                                    f"column index", table.path)
        if target in names:
            return names.index(target)
        if table.header is None and not any(target == f"x{j + 1}" for j in range(n)):
            raise DataFileError(f"{table.label}: target {target!r} is a column name, but "
                                f"the file has no header row; give a column index",
                                table.path)
        raise DataFileError(f"{table.label}: no column named {excerpt(target)}; the columns "
                            f"are {', '.join(excerpt(c) for c in names[:20])}"
                            + (f" and {n - 20:,} more" if n > 20 else ""), table.path)
    t = int(target)
    if not -n <= t < n:
        raise ValueError(f"target column index {t} is out of range for {n} columns "
                         f"(use 0..{n - 1} or -{n}..-1)")
    return t % n


def table_dataset(table: Table, *, target: str | int | None = None, task: str | None = None,
                  spec: PipelineSpec | None = None, val_fraction: float | None = None,
                  test_fraction: float = 0.0, seed: int = 0,
                  classes: Sequence[str] | None = None) -> Dataset:
    """A :class:`~nncore.data.Dataset` from a table, the pipeline fitted on its training
    rows.

    Rows without a target are left out, and so are rows with a missing value in a used
    column whose strategy is ``drop`` (the default); both are counted in the report.
    The training rows are those :func:`nncore.data.split` will give with
    ``val_fraction``, ``test_fraction`` and ``seed`` (the project's split settings): the
    pipeline learns its categories and fill values from them only. With
    ``val_fraction=None`` every row is a training row (no split is known).

    Task (``task=None``): a target of whole numbers or text is classification (classes:
    the sorted distinct values as strings, numbers sorted by value; a scikit-learn count
    line's class names name the indices 0..K-1); numbers with fractions are
    regression. ``classes`` (a project's saved label mapping) orders the classes
    instead, before the split is drawn, so that class i stays class i.

    Returns:
        the Dataset, with ``pipeline`` (the fitted :class:`~nncore.tables.Pipeline`)
        whose ``report`` is the :class:`LoadReport`.

    Raises:
        DataFileError: fewer than 2 columns (with a delimiter hint); a target that is no
            column; a value that is not a finite number in a number column or in a
            regression target (with line and column); a classification target with one
            class; no feature left.
        SpecError: for a choice that does not fit its column.
        ValueError: for a bad task, a split that leaves nothing to train on, or labels
            that ``classes`` does not hold.
    """
    if task not in _TASKS:
        raise ValueError(f"task must be None (automatic), 'classification' or "
                         f"'regression', got {task!r}")
    spec = spec or PipelineSpec()
    frame = table.frame
    label = table.label
    if frame.shape[1] < 2:
        first = str(frame.iloc[0, 0]) if len(frame) else ""
        header = table.header_names[0] if table.header_names else first
        hint = ""
        for d in (";", "\t", "|", ","):
            if d != table.delimiter and (d in header or d in first):
                hint = f"; the fields look separated by {d!r}: pass delimiter={d!r}"
                break
        raise DataFileError(f"{label}: the table has 1 column; a dataset needs at least 2 "
                            f"(features and a target){hint}", table.path)
    t = resolve_target(table, target)
    names = [str(c) for c in frame.columns]
    strangers = [c for c in spec.columns if c not in names]
    if strangers:
        raise DataFileError(f"{label}: the preprocessing names {excerpt(strangers[0])} "
                            f"(dataset.columns), which is not a column; the columns are "
                            f"{', '.join(excerpt(c) for c in names[:20])}"
                            + (f" and {len(names) - 20:,} more" if len(names) > 20 else ""),
                            table.path)
    infos = describe_columns(frame, t)
    tname = infos[t].name
    report = LoadReport(label, len(frame), columns=infos, notes=list(table.notes))
    # rows without a target
    no_target = frame[tname].isna().to_numpy()
    if no_target.any():
        report.dropped["no target"] = int(no_target.sum())
    used, ignored = Pipeline.plan(spec, infos)
    drop = np.zeros(len(frame), dtype=bool)
    for name, _how, missing in used:
        if missing == "drop":
            drop |= frame[name].isna().to_numpy()
    drop &= ~no_target
    if drop.any():
        report.dropped["missing values"] = int(drop.sum())
    drop |= no_target
    del no_target
    if drop.any():  # the rows kept, read a column at a time (no copy of the table)
        frame = RowView(frame, np.flatnonzero(~drop))
    del drop
    if len(frame) == 0:
        raise DataFileError(f"{label}: no row is left: every row misses the target or a "
                            f"value of a column whose missing values are dropped (choose "
                            f"a fill: mean, median, most_frequent or constant)", table.path)
    if len(frame) == 1:
        line = table.line_of(frame.index[0])
        raise DataFileError(f"{label} has only 1 usable data row" + (f" (line {line})" if line
                                                                    else "")
                            + "; training needs at least 2", table.path, line)
    y, found, task = _targets(table, frame, tname, task)
    if classes and found is not None and list(classes) != found:
        unknown = [c for c in found if c not in classes]
        if unknown:
            raise ValueError(f"{table.path}: labels {unknown} are not in the project's "
                             f"classes {list(classes)}")
        remap = np.array([list(classes).index(c) for c in found], dtype=np.int64)
        y, found = remap[y], list(classes)
    classes = found
    if val_fraction is None:
        train_rows = None  # every row
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SplitWarning)
            parts = split((np.zeros((len(frame), 0), np.float32), y), val_fraction,
                          test_fraction, seed)
        train_rows = parts.train_index
        del parts
    pipeline = Pipeline.fit(frame, spec, infos, table=table, positions=train_rows)
    del train_rows
    if not pipeline.features:
        raise DataFileError(f"{label}: no feature column is left: "
                            + "; ".join(f"{n}: {why}" for n, why in ignored)
                            + f" (the target is {tname!r}); use a column as a feature",
                            table.path)
    X = pipeline.apply(frame, table)
    report.ignored = list(pipeline.ignored)
    for c in pipeline._columns:
        if c.kind == "category":
            report.encoded.append((c.name, c.encoding or ""))
        elif c.kind == "date":
            report.encoded.append((c.name, "date"))
    pipeline.report = report
    origin = {"loader": "csv", "path": str(table.path),
              "target": tname if table.header is not None else t,
              "has_header": table.header is not None, "header": table.header,
              "task": task, "delimiter": table.delimiter, "encoding": table.encoding}
    return Dataset(X, y, table.path.stem, classes, pipeline.feature_names, origin,
                   pipeline=pipeline)


def _targets(table: Table, frame: Any, name: str, task: str | None
             ) -> tuple[np.ndarray, list[str] | None, str]:
    """y, classes and the task from the target column (no missing values in it)."""
    from nncore.tables.pipeline import _value_error

    raw = frame[name]
    numbers = number_values(raw).to_numpy()
    text = bool(np.isnan(numbers).any())
    if not text and np.isinf(numbers).any():
        i = int(np.flatnonzero(np.isinf(numbers))[0])
        raise _value_error(table, frame, i, name, f"{excerpt(str(raw.iloc[i]))} is not a "
                                                  f"finite number")
    if task == "regression" and text:
        i = int(np.flatnonzero(np.isnan(numbers))[0])
        raise _value_error(table, frame, i, name, f"{excerpt(str(raw.iloc[i]))} is not a "
                                                  f"number (a regression target must be "
                                                  f"numeric)")
    if task is None:
        task = "classification" if text or bool(np.all(numbers == np.round(numbers))) \
            else "regression"
    if task == "regression":
        with np.errstate(over="ignore"):
            y = numbers.astype(np.float32)
        if not np.all(np.isfinite(y)):
            i = int(np.flatnonzero(~np.isfinite(y))[0])
            raise _value_error(table, frame, i, name, f"{excerpt(str(raw.iloc[i]))} is too "
                                                      f"large for float32")
        return y.reshape(-1, 1), None, task
    names = table.class_names
    if not text and names and np.all(numbers == np.round(numbers)) and \
            numbers.min() >= 0 and numbers.max() < len(names):
        y = numbers.astype(np.int64)
        classes = list(names)
    elif text:
        codes, names = category_codes(raw)
        seen = np.unique(codes)
        classes = sorted(names[k] for k in seen)  # as strings, as before: "10" < "9" stays
        index = {c: i for i, c in enumerate(classes)}
        lookup = np.array([index.get(n, -1) for n in names], dtype=np.int64)
        y = lookup[codes]
    else:
        uniq = np.unique(numbers)
        y = np.searchsorted(uniq, numbers).astype(np.int64)
        classes = [str(int(u)) if float(u).is_integer() else repr(float(u)) for u in uniq]
    if not (y != y[0]).any():  # one class
        j = list(table.frame.columns).index(name)
        raise DataFileError(f"{table.label}: the target column {j + 1} ({excerpt(name)}) "
                            f"holds only one class ({excerpt(classes[int(y[0])])}); is it "
                            f"the right column?", table.path)
    return y, classes, task
