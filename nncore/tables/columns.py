"""What each column of a table is: its kind, why, its missing values, its default role.

:func:`describe_columns` is what the column report (the CLI's summary, the import
dialog) shows, and what the pipeline starts from when the user has not chosen.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np

from nncore.limits import excerpt

__all__ = ["ColumnInfo", "describe_columns", "column_kind", "default_target", "KINDS",
           "ROLES", "TARGET_NAMES", "IGNORED_KINDS", "number_values"]

#: The kinds a column can have.
KINDS = ("number", "category", "date", "identifier", "constant", "text")
#: The roles a column can play.
ROLES = ("feature", "target", "ignore")
#: Names that make a column the default target (compared case-insensitively, first
#: match wins); without one the last column is the target.
TARGET_NAMES = ("target", "class", "label", "species", "y")
#: Kinds ignored unless the user says otherwise.
IGNORED_KINDS = ("date", "identifier", "constant", "text")
_DATE_LOOK = re.compile(r"\d.*[-/:.]|[-/:.].*\d")
_MONTHS = re.compile(r"(?i)\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b")


@dataclass(frozen=True)
class ColumnInfo:
    """One column as :func:`describe_columns` sees it.

    Attributes:
        name: the column's name (unique in the table).
        index: its 0-based position.
        kind: one of :data:`KINDS`.
        reason: why, in words ("3 distinct strings in 150 rows: setosa, versicolor,
            virginica").
        missing: how many values are missing (empty or an NA marker).
        distinct: how many different values are present.
        role: the default role: ``"target"``, ``"feature"`` or ``"ignore"``.
        note: why the role was given when it is not plain ("ignored: every value is
            distinct, an identifier"), else ``""``.
        numeric: every present value is a number.
    """

    name: str
    index: int
    kind: str
    reason: str
    missing: int
    distinct: int
    role: str
    note: str = ""
    numeric: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The description as plain JSON values."""
        return asdict(self)


def number_values(values: Any) -> Any:
    """``values`` (a pandas Series) as float64, text that is not a number as NaN (and
    True/False too: they are categories)."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(values.dtype):  # True/False: categories, not 1/0
        return pd.Series(np.nan, index=values.index)
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values.astype("float64")
    if isinstance(values.dtype, pd.CategoricalDtype):  # each distinct string once
        names = values.cat.categories.to_numpy(dtype=object)
        numbers = pd.to_numeric(pd.Series(names, dtype=object),
                                errors="coerce").to_numpy(dtype="float64")
        codes = values.cat.codes.to_numpy()
        return pd.Series(np.append(numbers, np.nan)[codes], index=values.index)
    return pd.to_numeric(values, errors="coerce").astype("float64")


def _shown(values: Sequence[Any], k: int = 3) -> str:
    return ", ".join(excerpt(str(v), 30).strip("'") for v in values[:k]) + \
        (" ..." if len(values) > k else "")


def column_kind(values: Any) -> tuple[str, str]:
    """The kind of one column (a pandas Series) and the reason, in words.

    Rules, in order: no value present, or one distinct value in two or more rows:
    ``constant``. At least half the present values numbers: ``number`` (the others
    are errors when the column is used as numbers). Strings that all parse as dates
    (and look like dates: digits with ``-``, ``/``, ``:`` or a month name): ``date``.
    Every value distinct (three or more rows): ``identifier``. More than 50 distinct
    values making more than half the rows: ``text``. Otherwise ``category``.
    """
    import pandas as pd

    present = values.dropna()
    n = len(present)
    if n == 0:
        return "constant", "every value is missing"
    distinct = present.nunique()
    if distinct == 1 and n >= 2:
        return "constant", f"one value in every row ({excerpt(str(present.iloc[0]), 30)})"
    numbers = number_values(present)
    numeric = int(numbers.notna().sum())
    if numeric == n:
        return "number", f"numbers, {distinct:,} distinct in {n:,} rows"
    if numeric * 2 >= n:
        bad = present[numbers.isna()]
        return "number", (f"{numeric:,} of {n:,} values are numbers; {len(bad):,} are not "
                          f"({_shown(list(bad.unique()))})")
    categorical = isinstance(present.dtype, pd.CategoricalDtype)
    strings = present if categorical else present.astype(str)  # categories are strings
    sample = strings.iloc[:200].astype(str) if categorical else strings.iloc[:200]
    if all(_DATE_LOOK.search(s) or _MONTHS.search(s) for s in sample):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
        if parsed.notna().all():
            return "date", f"parses as dates: {_shown(list(sample))}"
    if distinct == n and n >= 3:
        return "identifier", f"every value is distinct ({n:,} rows): an identifier"
    if distinct > 50 and distinct * 2 > n:
        return "text", f"free text: {distinct:,} distinct values in {n:,} rows"
    uniq = sorted(str(v) for v in strings.unique()) if categorical else sorted(strings.unique())
    return "category", f"{distinct:,} distinct strings in {n:,} rows: {_shown(uniq)}"


def default_target(names: Sequence[str]) -> int:
    """The index of the default target column: the first named like one of
    :data:`TARGET_NAMES` (case-insensitively), else the last column."""
    lowered = [n.strip().lower() for n in names]
    for wanted in TARGET_NAMES:
        if wanted in lowered:
            return lowered.index(wanted)
    return len(names) - 1


def describe_columns(frame: Any, target: str | int | None = None) -> list[ColumnInfo]:
    """Each column of ``frame`` (a pandas DataFrame, as :func:`read_table` makes it)
    with its kind, reason, missing count and default role.

    Args:
        frame: the table.
        target: the target column (name or 0-based index, negative from the end), or
            None for :func:`default_target`.

    Returns:
        one :class:`ColumnInfo` per column, in order. Roles: the target; columns of
        the kinds in :data:`IGNORED_KINDS` are ``"ignore"`` with a note (a date column
        can be expanded instead: year, month, day of year, weekday); the rest
        ``"feature"``.

    Raises:
        KeyError: for a target name that is not a column; IndexError for an index out
            of range.
    """
    names = [str(c) for c in frame.columns]
    if target is None:
        t = default_target(names)
    elif isinstance(target, str):
        if target not in names:
            raise KeyError(target)
        t = names.index(target)
    else:
        t = int(target)
        if not -len(names) <= t < len(names):
            raise IndexError(t)
        t %= len(names)
    out = []
    for j, name in enumerate(names):
        values = frame.iloc[:, j]
        kind, reason = column_kind(values)
        missing = int(values.isna().sum())
        distinct = int(values.nunique())
        if j == t:
            role, note = "target", ("the target" + ("" if target is not None else
                                                    (" (named like one)"
                                                     if t != len(names) - 1 or
                                                     names[t].strip().lower() in TARGET_NAMES
                                                     else " (the last column)")))
        elif kind in IGNORED_KINDS:
            role = "ignore"
            note = {"date": "ignored: a date (it can be expanded into year, month, day of "
                            "year and weekday instead)",
                    "identifier": "ignored: every value is distinct, an identifier",
                    "constant": "ignored: constant, it tells the rows nothing apart",
                    "text": "ignored: free text"}[kind]
        else:
            role, note = "feature", ""
        numeric = bool(number_values(values.dropna()).notna().all())
        out.append(ColumnInfo(name, j, kind, reason, missing, distinct, role, note, numeric))
    return out
