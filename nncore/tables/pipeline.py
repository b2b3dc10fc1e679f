"""The recorded preprocessing: the user's choices per column, fitted on the training rows.

A :class:`PipelineSpec` is what the user chose (JSON, saved in the project's dataset
settings): per column a role (feature or ignore), a kind override, a categorical
encoding (one-hot or ordinal), a missing-value strategy (drop, mean, median,
most_frequent, constant) and whether a date is expanded; and the same choices for all
columns. :meth:`Pipeline.fit` learns from the *training rows only* what the choices need
(categories, fill values); :meth:`Pipeline.apply` then turns any rows of the same table
layout into features, identically in training, evaluation and prediction.
:meth:`Pipeline.to_dict` is the fitted state as plain JSON for exports.

Standardization is not here: it stays the split's one rule
(:meth:`nncore.data.Split.standardized`, training statistics only), applied to the
pipeline's output.
"""

from __future__ import annotations

import copy
import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from nncore.data import DataFileError
from nncore.limits import excerpt
from nncore.spec import SpecError
from nncore.tables.columns import KINDS, ColumnInfo, number_values

__all__ = ["PipelineSpec", "Pipeline", "RowView", "MISSING", "ENCODINGS", "COLUMN_CHOICES",
           "DATE_PARTS", "SPEC_KEYS"]

#: Missing-value strategies: drop the row, or fill with a statistic of the training
#: rows (mean and median for numbers; most_frequent for any kind) or a constant.
MISSING = ("drop", "mean", "median", "most_frequent", "constant")
#: How a category becomes numbers: one column per category (1 for the row's category)
#: or one column of the category's index in the sorted categories.
ENCODINGS = ("one-hot", "ordinal")
#: What a date expands into (numbers).
DATE_PARTS = ("year", "month", "dayofyear", "weekday")
#: The choices one column can carry, with what each may be.
COLUMN_CHOICES = {"role": ("feature", "ignore"), "kind": KINDS, "encoding": ENCODINGS,
                  "missing": MISSING, "fill_value": "a number or a text",
                  "expand": "true or false"}
#: The keys of a :class:`PipelineSpec` (as saved in the dataset settings).
SPEC_KEYS = ("columns", "missing", "category_encoding", "fill_value", "expand_dates")


def _one_of(value: Any, allowed: Sequence[str], path: str) -> str:
    if value not in allowed:
        raise SpecError(f"must be one of {', '.join(allowed)}, got {value!r}", path)
    return value


def _fill(value: Any, path: str) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(float(value)):
        raise SpecError(f"must be a finite number or a text, got {value!r}", path)
    return value


@dataclass
class PipelineSpec:
    """The user's preprocessing choices (JSON-able).

    Attributes:
        columns: column name -> choices, each optional: ``role`` (``"feature"`` or
            ``"ignore"``; the target is the dataset's ``target`` setting), ``kind`` (one
            of :data:`~nncore.tables.columns.KINDS`, overriding the detected one),
            ``encoding`` (:data:`ENCODINGS`), ``missing`` (:data:`MISSING`),
            ``fill_value`` (for ``missing="constant"``), ``expand`` (a date used as
            year, month, day of year and weekday). A choice not given takes the
            setting below for all columns, or the detected default.
        missing: the strategy for every column without its own (default ``"drop"``);
            ``mean`` and ``median`` chosen for all fill category columns with their most
            frequent value (chosen for a category column itself, they are refused), and
            ``constant`` for all fills dates with their most frequent parts.
        category_encoding: the categorical encoding for every column without its own
            (default ``"one-hot"``).
        fill_value: the constant for ``missing="constant"`` (default 0 for numbers,
            ``"missing"`` for categories).
        expand_dates: use date columns as features, expanded (default False: ignored).
    """

    columns: dict[str, dict[str, Any]] = field(default_factory=dict)
    missing: str = "drop"
    category_encoding: str = "one-hot"
    fill_value: float | str | None = None
    expand_dates: bool = False

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, path: str = "") -> "PipelineSpec":
        """Read and check a spec.

        Args:
            path: where it sits, for messages (``"dataset"``: errors then read
                ``"dataset.columns.age.missing must be one of drop, mean, ..."``).

        Raises:
            SpecError: (a ValueError) naming the first invalid choice by its path.
        """
        def at(*keys: str) -> str:
            return ".".join(k for k in (path, *keys) if k)

        data = copy.deepcopy(dict(data or {}))
        known = set(SPEC_KEYS)
        extra = sorted(set(data) - known)
        if extra:
            raise SpecError(f"unknown setting {extra[0]!r} (known: {', '.join(sorted(known))})",
                            path)
        spec = cls(**data)
        _one_of(spec.missing, MISSING, at("missing"))
        _one_of(spec.category_encoding, ENCODINGS, at("category_encoding"))
        _fill(spec.fill_value, at("fill_value"))
        if not isinstance(spec.expand_dates, bool):
            raise SpecError(f"must be true or false, got {spec.expand_dates!r}",
                            at("expand_dates"))
        if not isinstance(spec.columns, dict):
            raise SpecError(f"must be an object (column name -> choices), got "
                            f"{excerpt(repr(spec.columns))}", at("columns"))
        for name, choice in spec.columns.items():
            where = at("columns", str(name))
            if not isinstance(choice, dict):
                raise SpecError(f"must be an object of choices ({', '.join(COLUMN_CHOICES)}), "
                                f"got {excerpt(repr(choice))}", where)
            extra = sorted(set(choice) - set(COLUMN_CHOICES))
            if extra:
                raise SpecError(f"unknown choice {extra[0]!r} (known: "
                                f"{', '.join(COLUMN_CHOICES)})", where)
            for key in ("role", "kind", "encoding", "missing"):
                if choice.get(key) is not None:
                    _one_of(choice[key], COLUMN_CHOICES[key], f"{where}.{key}")
            _fill(choice.get("fill_value"), f"{where}.fill_value")
            if choice.get("expand") is not None and not isinstance(choice["expand"], bool):
                raise SpecError(f"must be true or false, got {choice['expand']!r}",
                                f"{where}.expand")
        return spec

    def to_dict(self) -> dict[str, Any]:
        """The spec as saved (plain JSON values)."""
        return {"columns": copy.deepcopy(self.columns), "missing": self.missing,
                "category_encoding": self.category_encoding, "fill_value": self.fill_value,
                "expand_dates": self.expand_dates}

    def choice(self, column: str, key: str) -> Any:
        """The column's own choice ``key``, or None."""
        return (self.columns.get(column) or {}).get(key)


def _number_name(v: float) -> str:
    f = float(v)
    return str(int(f)) if f.is_integer() and abs(f) < 1e15 else repr(f)


def category_strings(values: Any) -> Any:
    """A column's present values as category names (numbers written as ``3``, ``0.5``;
    text as it is), missing values NaN."""
    import pandas as pd

    if pd.api.types.is_numeric_dtype(values.dtype) and \
            not pd.api.types.is_bool_dtype(values.dtype):
        out = values.astype(object)
        present = values.notna()
        out[present] = [_number_name(v) for v in values[present]]
        return out
    out = values.astype(object)
    present = out.notna()
    out[present] = out[present].map(str)
    return out


def category_codes(values: Any) -> tuple[np.ndarray, list[str]]:
    """:func:`category_strings` as codes: ``(codes, names)``, ``names[codes[i]]`` being
    row i's category name (distinct names), code -1 a missing value. Each distinct
    value is named once (a read table's text columns are pandas categories already),
    not once per row."""
    import pandas as pd

    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy().astype(np.int64)
        uniques = list(values.cat.categories)
    elif pd.api.types.is_numeric_dtype(values.dtype):  # numbers and True/False
        codes, uniques = pd.factorize(values.to_numpy(), use_na_sentinel=True)
        codes = codes.astype(np.int64, copy=False)
        uniques = list(uniques)
    else:  # text or anything (1 and True are one key to pandas, not one name)
        codes, uniques = pd.factorize(category_strings(values).to_numpy(),
                                      use_na_sentinel=True)
        codes = codes.astype(np.int64, copy=False)
        uniques = list(uniques)
    numeric = pd.api.types.is_numeric_dtype(values.dtype) and \
        not pd.api.types.is_bool_dtype(values.dtype)
    raw = [_number_name(u) if numeric else str(u) for u in uniques]
    index: dict[str, int] = {}
    remap = np.array([index.setdefault(name, len(index)) for name in raw] + [-1],
                     dtype=np.int64)
    if len(index) != len(raw):  # two values with one name (1 and "1"): one category
        codes = remap[codes]
    return codes, list(index)


def _dates(values: Any) -> Any:
    import warnings

    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if isinstance(values.dtype, pd.CategoricalDtype):  # each distinct value once
            codes = values.cat.codes.to_numpy()
            seen = np.unique(codes[codes >= 0])
            names = values.cat.categories.to_numpy(dtype=object)[seen]
            parsed = pd.to_datetime(pd.Series(names, dtype=object), errors="coerce",
                                    format="mixed")
            where = np.full(len(values.cat.categories) + 1, len(seen), dtype=np.int64)
            where[seen] = np.arange(len(seen))
            full = pd.concat([parsed, pd.Series([pd.NaT], dtype=parsed.dtype)],
                             ignore_index=True)
            out = full.take(where[codes])
            out.index = values.index
            return out
        return pd.to_datetime(values.astype(object), errors="coerce", format="mixed")


class RowView:
    """Some rows of a DataFrame, by position, read one column at a time: what
    :meth:`Pipeline.fit` and :meth:`Pipeline.apply` take in place of the selected frame
    (``frame.iloc[positions]``) without copying every column at once.

    Attributes:
        columns, index: as the selected frame's (the rows' labels).
    """

    def __init__(self, frame: Any, positions: np.ndarray) -> None:
        self.frame, self.positions = frame, np.asarray(positions, dtype=np.int64)
        self.columns = frame.columns

    @property
    def index(self) -> Any:
        return self.frame.index[self.positions]  # made when asked (an error's line)

    def __len__(self) -> int:
        return len(self.positions)

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.positions), self.frame.shape[1]

    def __getitem__(self, name: str) -> Any:
        return self.frame[name].iloc[self.positions]

    def column(self, name: str, positions: np.ndarray | None = None) -> Any:
        """Column ``name`` of these rows, or of the rows at ``positions`` among them."""
        return self.frame[name].iloc[self.positions if positions is None
                                     else self.positions[positions]]


def _column(frame: Any, name: str, positions: np.ndarray | None = None) -> Any:
    """Column ``name`` of ``frame`` (a DataFrame or a :class:`RowView`), of the rows at
    ``positions`` when given."""
    if isinstance(frame, RowView):
        return frame.column(name, positions)
    return frame[name] if positions is None else frame[name].iloc[positions]


@dataclass
class _Column:
    name: str
    kind: str            # "number", "category" or "date": how it becomes numbers
    encoding: str | None
    missing: str
    fill: Any = None
    categories: list[str] | None = None
    outputs: list[str] = field(default_factory=list)


class Pipeline:
    """A fitted preprocessing: from table rows to a float32 feature matrix.

    Build it with :meth:`fit`; rebuild a saved one with :meth:`from_dict`.

    Attributes:
        spec: the :class:`PipelineSpec` it was fitted from.
        target: the target column's name.
        features: the input columns used, in order.
        ignored: ``(column, reason)`` for each column left out.
        feature_names: the output columns' names (``age``, ``color=red``,
            ``day.year``), one per column of :meth:`apply`'s result.
    """

    def __init__(self, spec: PipelineSpec, target: str, columns: list[_Column],
                 ignored: list[tuple[str, str]]) -> None:
        self.spec, self.target, self._columns, self.ignored = spec, target, columns, ignored

    @property
    def features(self) -> list[str]:
        return [c.name for c in self._columns]

    @property
    def feature_names(self) -> list[str]:
        return [o for c in self._columns for o in c.outputs]

    @property
    def encoded(self) -> list[str]:
        """The category columns (encoded one-hot or ordinal) and expanded dates."""
        return [c.name for c in self._columns if c.kind != "number"]

    def strategy(self, column: str) -> str:
        """The missing-value strategy of a used column."""
        return next(c.missing for c in self._columns if c.name == column)

    @staticmethod
    def plan(spec: PipelineSpec, infos: Sequence[ColumnInfo]
             ) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
        """Which columns are used and how, before fitting: ``([(name, kind, missing)],
        [(ignored name, reason)])``, kind being ``number``, ``category`` or ``date``.
        The target (role ``"target"`` in ``infos``) is neither."""
        used, ignored = [], []
        for info in infos:
            if info.role == "target":
                continue
            kind = spec.choice(info.name, "kind") or info.kind
            role = spec.choice(info.name, "role")
            expand = spec.choice(info.name, "expand")
            if expand is None:
                expand = spec.expand_dates
            if role is None:
                if spec.choice(info.name, "kind") is not None:
                    role = "feature" if kind in ("number", "category") or \
                        (kind == "date" and expand) else "ignore"
                elif info.kind == "date":
                    role = "feature" if expand else "ignore"
                else:
                    role = info.role
            if role == "ignore":
                reason = ("ignored by choice" if spec.choice(info.name, "role") == "ignore"
                          else (info.note.removeprefix("ignored: ") or f"a {kind} column"))
                ignored.append((info.name, reason))
                continue
            if kind == "number" or (kind == "constant" and info.numeric):
                how = "number"
            elif kind == "date":
                how = "date"
            else:
                how = "category"
            used.append((info.name, how, spec.choice(info.name, "missing") or spec.missing))
        return used, ignored

    @classmethod
    def fit(cls, frame: Any, spec: PipelineSpec, infos: Sequence[ColumnInfo],
            rows: Any = None, table: Any = None, *,
            positions: np.ndarray | None = None) -> "Pipeline":
        """Learn what the choices need from the training rows.

        Args:
            frame: the table (pandas DataFrame).
            spec: the choices.
            infos: :func:`~nncore.tables.columns.describe_columns` of ``frame`` (the
                target marked by its role).
            rows: index labels of the training rows (default: every row). Categories,
                means, medians and most frequent values come from these rows only.
            table: the :class:`~nncore.tables.read.Table`, to name file lines in errors.
            positions: the training rows by position instead of ``rows`` (in this
                order); ``frame`` may then be a :class:`RowView`.

        Raises:
            SpecError: for a choice that does not fit the column (``mean`` of a
                category), naming ``columns.<name>.missing``.
            DataFileError: for a value of a number column that is not a finite number,
                naming the line and column.
        """
        used, ignored = cls.plan(spec, infos)
        if positions is None and rows is not None:
            positions = frame.index.get_indexer_for(rows)
            if (positions < 0).any():
                raise KeyError(f"rows {list(np.asarray(rows)[positions < 0][:5])} are not "
                               f"in the table")
        columns = []
        for name, how, missing in used:
            col = _Column(name, how, None, missing)
            where = f"columns.{name}.missing"
            own_fill = spec.choice(name, "fill_value")
            fill_value = own_fill if own_fill is not None else spec.fill_value
            if how == "category":
                col.encoding = spec.choice(name, "encoding") or spec.category_encoding
                codes, names = category_codes(_column(frame, name, positions))
                counts = np.bincount(codes[codes >= 0], minlength=len(names))
                del codes
                if missing in ("mean", "median") and spec.choice(name, "missing") is None:
                    missing = col.missing = "most_frequent"  # the choice for all: numbers
                if missing in ("mean", "median"):
                    raise SpecError(f"{missing} needs numbers, but {name!r} is used as "
                                    f"a category (use most_frequent, constant or drop)",
                                    where)
                if missing == "most_frequent" and counts.sum():
                    best = counts.max()  # the most frequent; ties go to the smallest
                    col.fill = min(n for n, k in zip(names, counts) if k == best)
                elif missing == "constant":
                    col.fill = "missing" if fill_value is None else str(fill_value)
                cats = {n for n, k in zip(names, counts) if k}
                if col.fill is not None:
                    cats.add(col.fill)
                col.categories = _sorted_categories(cats)
                col.outputs = ([f"{name}={c}" for c in col.categories]
                               if col.encoding == "one-hot" else [name])
            elif how == "number":
                values = _checked_numbers(frame, name, table, positions)
                present = values.dropna()
                if missing == "constant":
                    if isinstance(fill_value, str):
                        raise SpecError(f"fill_value {fill_value!r} is not a number, but "
                                        f"{name!r} holds numbers", f"columns.{name}")
                    col.fill = 0.0 if fill_value is None else float(fill_value)
                elif missing != "drop":
                    col.fill = _statistic(present.to_numpy(), missing)
                col.outputs = [name]
            else:
                parts = _date_parts(_dates(_column(frame, name, positions)))
                if missing == "constant" and spec.choice(name, "missing") is None:
                    missing = col.missing = "most_frequent"
                if missing == "constant":
                    raise SpecError(f"constant cannot fill a date ({name!r}): use drop, "
                                    f"mean, median or most_frequent", where)
                if missing != "drop":
                    col.fill = [_statistic(p[~np.isnan(p)], missing) for p in parts]
                col.outputs = [f"{name}.{p}" for p in DATE_PARTS]
            columns.append(col)
        return cls(spec, infos_target(infos), columns, ignored)

    def missing_rows(self, frame: Any) -> Any:
        """A boolean Series: rows with a missing value in a column whose strategy is
        ``drop`` (the rows the loader leaves out)."""
        import pandas as pd

        mask = pd.Series(False, index=frame.index)
        for c in self._columns:
            if c.missing == "drop":
                mask |= frame[c.name].isna()
        return mask

    def apply(self, frame: Any, table: Any = None) -> np.ndarray:
        """The features of every row of ``frame`` (same columns as fitted), float32 of
        shape ``(len(frame), len(feature_names))``.

        Numbers pass through (missing values filled as fitted); a category becomes its
        one-hot columns, or (ordinal) its index among the training categories, sorted (by
        value when all are numbers). A category not seen in the training rows gives an
        all-zero one-hot row (ordinal: -1). A date becomes year, month, day of year
        (1..366) and weekday (Monday 0).

        Raises:
            KeyError: for a column the pipeline uses that ``frame`` lacks.
            ValueError: for a missing value in a column whose strategy is ``drop`` (the
                loader removes such rows first; for new rows, fill them in);
                DataFileError for a value of a number column that is not a finite
                number or too large for float32, or a date that does not parse, naming
                the line (with ``table``) and column.
        """
        n = len(frame)
        X = np.empty((n, len(self.feature_names)), dtype=np.float32)
        k = 0  # the first column of X the next block fills
        for c in self._columns:
            if c.name not in frame.columns:
                raise KeyError(f"column {c.name!r} is missing (the pipeline uses "
                               f"{', '.join(map(repr, self.features))})")
            width = len(c.outputs)
            if c.kind == "number":
                v = _checked_numbers(frame, c.name, table).to_numpy(dtype=np.float64)
                v = self._filled(c, v, np.isnan(v), frame, table)
                with np.errstate(over="ignore"):
                    X[:, k] = v
                del v
            elif c.kind == "category":
                import pandas as pd

                codes, names = category_codes(_column(frame, c.name))
                missing = codes < 0
                categories = pd.Index(c.categories)
                lookup = np.append(categories.get_indexer(names), -1).astype(np.int64)
                if missing.any():
                    if c.fill is None:
                        self._missing_error(c, frame, missing, table)
                    lookup[-1] = categories.get_indexer([c.fill])[0]
                codes = lookup[codes]
                if c.encoding == "one-hot":
                    X[:, k:k + width] = 0.0
                    known = np.flatnonzero(codes >= 0)
                    X[known, k + codes[known]] = 1.0
                    del known
                else:
                    X[:, k] = codes.astype(np.float64)
                del codes, missing
            else:
                raw = _column(frame, c.name)
                dates = _dates(raw)
                bad = dates.isna().to_numpy() & raw.notna().to_numpy()
                if bad.any():
                    i = int(np.flatnonzero(bad)[0])
                    raise _value_error(table, frame, i, c.name,
                                       f"{excerpt(str(raw.iloc[i]))} is not a date")
                parts = _date_parts(dates)
                missing = np.isnan(parts[0])
                block = np.stack(parts, axis=1)
                if missing.any():
                    if c.fill is None:
                        self._missing_error(c, frame, missing, table)
                    block[missing] = c.fill
                with np.errstate(over="ignore"):
                    X[:, k:k + width] = block
                del block, parts, dates, raw
            k += width
        if not np.all(np.isfinite(X)):
            r, k = np.argwhere(~np.isfinite(X))[0]
            name = self._output_column(int(k))
            raise _value_error(table, frame, int(r), name,
                               f"{excerpt(str(_column(frame, name).iloc[int(r)]))} is too "
                               f"large for float32")
        return np.ascontiguousarray(X)

    def _output_column(self, k: int) -> str:
        for c in self._columns:
            if k < len(c.outputs):
                return c.name
            k -= len(c.outputs)
        raise IndexError(k)

    def _filled(self, c: _Column, v: np.ndarray, missing: np.ndarray, frame: Any,
                table: Any) -> np.ndarray:
        if missing.any():
            if c.fill is None:
                self._missing_error(c, frame, missing, table)
            v = np.where(missing, c.fill, v)
        return v

    @staticmethod
    def _missing_error(c: _Column, frame: Any, missing: np.ndarray, table: Any) -> None:
        i = int(np.flatnonzero(missing)[0])
        why = ("rows missing this column are dropped when the table is loaded; fill it "
               "in, or choose a fill (mean, median, most_frequent, constant)"
               if c.missing == "drop" else "the training rows gave no value to fill it with")
        raise _value_error(table, frame, i, c.name,
                           f"a missing value ({int(missing.sum()):,} in this column): {why}")

    def to_dict(self) -> dict[str, Any]:
        """The fitted state as plain JSON values: the spec, the target, the ignored
        columns with why, and per used column its kind, encoding, missing strategy,
        fill value, categories (in output order) and output names."""
        return {"version": 1, "spec": self.spec.to_dict(), "target": self.target,
                "ignored": [list(p) for p in self.ignored],
                "columns": [{"name": c.name, "kind": c.kind, "encoding": c.encoding,
                             "missing": c.missing, "fill": c.fill,
                             "categories": c.categories, "outputs": list(c.outputs)}
                            for c in self._columns]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Pipeline":
        """The pipeline :meth:`to_dict` described (no refit).

        Raises:
            ValueError: for a dict that is not such a description.
        """
        try:
            columns = [_Column(d["name"], d["kind"], d["encoding"], d["missing"], d["fill"],
                               d["categories"], list(d["outputs"])) for d in data["columns"]]
            return cls(PipelineSpec.from_dict(data["spec"]), data["target"], columns,
                       [tuple(p) for p in data["ignored"]])
        except (KeyError, TypeError) as e:
            raise ValueError(f"not a fitted pipeline description ({e})") from None

    def __repr__(self) -> str:
        return (f"Pipeline(target={self.target!r}, features={self.features!r}, "
                f"outputs={len(self.feature_names)})")


def infos_target(infos: Sequence[ColumnInfo]) -> str:
    return next(i.name for i in infos if i.role == "target")


def _sorted_categories(cats: set[str]) -> list[str]:
    """Categories in order: by value when every one is a number (``2 < 10``), else as
    strings."""
    try:
        return sorted(cats, key=float)
    except ValueError:
        return sorted(cats)


def _mode(values: list[Any]) -> Any:
    """The most frequent value; ties go to the smallest."""
    counts: dict[Any, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    best = max(counts.values())
    return min(v for v, k in counts.items() if k == best)


def _statistic(values: np.ndarray, how: str) -> float | None:
    """mean, median or most_frequent of the present training values (float64); None
    when there are none."""
    if values.size == 0:
        return None
    if how == "mean":
        return float(np.mean(values, dtype=np.float64))
    if how == "median":
        return float(np.median(values))
    return float(_mode(values.tolist()))


def _date_parts(dates: Any) -> list[np.ndarray]:
    """year, month, day of year, weekday (Monday 0) as float64, NaN where missing."""
    out = []
    for part in ("year", "month", "day_of_year", "day_of_week"):
        values = getattr(dates.dt, part)
        out.append(values.astype("float64").to_numpy())
    return out


def _value_error(table: Any, frame: Any, i: int, column: str, what: str) -> DataFileError:
    """An error for row position ``i`` of ``frame`` in ``column``: with the file's line
    when ``table`` says it."""
    j = list(frame.columns).index(column)
    label = frame.index[i]
    line = table.line_of(label) if table is not None else None
    where = (f"{table.label}: line {line}, column {j + 1} ({excerpt(column)})" if line
             else f"row {i + 1}, column {excerpt(column)}")
    return DataFileError(f"{where}: {what}", getattr(table, "path", None), line, j + 1,
                         column)


def _checked_numbers(frame: Any, name: str, table: Any,
                     positions: np.ndarray | None = None) -> Any:
    """The column as float64 (NaN where missing), of the rows at ``positions`` when
    given; text that is not a number and non-finite numbers are errors naming the line
    and column."""
    raw = _column(frame, name, positions)
    values = number_values(raw)
    present = raw.notna().to_numpy()
    bad = present & values.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        i = int(positions[i]) if positions is not None else i
        raise _value_error(table, frame, i, name,
                           f"{excerpt(str(_column(frame, name).iloc[i]))} is not a number "
                           f"(make the column a category, or the value missing: NA)")
    arr = values.to_numpy()
    inf = np.isinf(arr)
    if inf.any():
        i = int(np.flatnonzero(inf)[0])
        i = int(positions[i]) if positions is not None else i
        raise _value_error(table, frame, i, name,
                           f"{excerpt(str(_column(frame, name).iloc[i]))} is not a finite "
                           f"number")
    return values
