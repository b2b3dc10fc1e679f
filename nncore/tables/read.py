"""Reading a table file with pandas: encoding, delimiter, header, NA markers, progress.

:func:`read_table` is the one reader of CSV-like files in NN Canvas. It looks at the
head of the file (the first 64 KiB) to decide the text encoding, the delimiter and the
header row (:func:`guess_header`, the one header rule), then lets ``pandas.read_csv``
(C engine) parse the whole file in chunks, reporting ``progress(fraction)`` after each
chunk and stopping when ``cancel`` is set, so that a caller can load in a worker thread.

A chunk is about :data:`CHUNK_BYTES` of the file, so that no parse call holds the GIL
long (the GUI thread waits for it), and each chunk goes at once into the table's final
arrays (:class:`_Column`): numbers as int64/float64, text as pandas categories (a code
per row, each distinct string once), so that memory stays near the table's own size.

What pandas cannot read becomes a :class:`~nncore.data.DataFileError` naming the file
and the line: ``"data.csv: line 3 has 7 fields, expected 5"``.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from nncore import limits
from nncore.data import DataFileError
from nncore.files import regular_file
from nncore.limits import excerpt

__all__ = ["Table", "ReadCancelled", "read_table", "guess_header", "is_header",
           "sniff_delimiter", "NA_VALUES", "DELIMITERS", "HeaderGuess"]

#: The texts read as a missing value (exactly, after stripping spaces); pandas' own
#: longer default list is not used (it holds "n/a", "NULL", "-nan" and more).
NA_VALUES = ("", "NA", "N/A", "n/a", "NaN", "nan", "?", "null", "NULL", "None", "#N/A")
#: The delimiters :func:`sniff_delimiter` considers, in order of preference.
DELIMITERS = (",", ";", "\t", "|")
_HEAD_BYTES = 64 * 1024
_HEAD_ROWS = 50


class ReadCancelled(Exception):
    """:func:`read_table` was cancelled by its ``cancel`` check; nothing was kept."""


@dataclass
class Table:
    """A table as read from a file.

    Attributes:
        frame: a ``pandas.DataFrame``, one column per field, named by the header (an
            empty name becomes ``x<column>``; a repeated name gets pandas' ``.1``
            suffix) or ``x1, x2, ...`` without a header. Numbers are float64/int64
            columns; text is a pandas ``category`` column of strings with spaces
            around stripped (True/False as ``"True"``/``"False"`` when the column has
            missing values, else a bool column); missing values (:data:`NA_VALUES`)
            are NaN. A column is typed as if pandas read the file in one piece.
            Rows with every field empty are left out.
        path: the file.
        delimiter: the field separator used.
        encoding: the text encoding used (``"utf-8"``, ``"utf-8-sig"``, ``"utf-16"``,
            ``"cp1252"``).
        header: the 0-based row (among non-blank rows) holding the column names, or
            None when the file has none.
        skip_lines: physical lines before the data (and header) that were not read.
        class_names: names of the target's classes given by a scikit-learn style first
            line (``150,4,setosa,versicolor,virginica``), else None.
        notes: what the reader decided and why, as sentences for the column report.
        header_names: the names exactly as in the header (repeats kept), or None.
    """

    frame: Any
    path: Path
    delimiter: str
    encoding: str
    header: int | None
    skip_lines: int = 0
    class_names: list[str] | None = None
    notes: list[str] = field(default_factory=list)
    header_names: list[str] | None = None
    _lines: list[int] | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        """The file's name, as messages start."""
        return self.path.name

    def line_of(self, row: Any) -> int | None:
        """The 1-based line of the file where the row labelled ``row`` in
        :attr:`frame`'s index starts (blank lines and quoted line breaks counted, as a
        text editor shows), or None when it cannot be told. The index labels are the
        rows as pandas read them, and stay with a row through any selection. Computed on
        first use (an error path), by re-reading the file."""
        if self._lines is None:
            self._lines = _data_lines(self)
        try:
            index = int(row)
        except (TypeError, ValueError):
            return None
        if not 0 <= index < len(self._lines):
            return None
        return self._lines[index]


def _decode_head(raw: bytes, encoding: str) -> str:
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    return decoder.decode(raw, final=False)


def _encoding_of(head: bytes, encoding: str | None) -> str:
    if encoding is not None:
        codecs.lookup(encoding)  # LookupError for a name Python does not know
        return encoding
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return "utf-8"


def _head_rows(text: str, delimiter: str, limit: int = _HEAD_ROWS
               ) -> list[tuple[int, list[str]]]:
    """The first non-blank rows of ``text`` as (1-based line, stripped fields); the last
    line is left out when the head was cut in the middle of it."""
    rows: list[tuple[int, list[str]]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    previous = 0
    try:
        for fields in reader:
            start, previous = previous + 1, reader.line_num
            fields = [f.strip() for f in fields]
            if any(fields):
                rows.append((start, fields))
            if len(rows) > limit:
                break
    except csv.Error:
        pass  # an unclosed quote in the head: pandas will say where
    return rows[:limit]


def sniff_delimiter(text: str, candidates: Sequence[str] = DELIMITERS) -> str:
    """The delimiter of a table whose first lines are ``text``: the candidate that
    splits the most rows into the same number (> 1) of fields, ties going to the
    earlier candidate (``,`` before ``;``, tab and ``|``); ``,`` when none does."""
    best, best_score = ",", (0, 0)
    for d in candidates:
        rows = [f for _, f in _head_rows(text, d, 20)]
        if not rows:
            continue
        counts = [len(r) for r in rows]
        modal = max(set(counts), key=counts.count)
        if modal < 2:
            continue
        score = (counts.count(modal), modal)
        if score > best_score:
            best, best_score = d, score
    return best


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def is_header(first: Sequence[str], second: Sequence[str] | None) -> bool:
    """The one header rule of NN Canvas: the first row is a header when some column
    holds text in it (not empty, not a number) and a number in the second row. A first
    row of only numbers and empty fields (``,2,3``) is data; a single row with text is a
    header; text over text (``1,2,cat`` over ``3,4,dog``) is data."""
    if all(_is_number(v) or v == "" for v in first):
        return False
    if second is None:
        return True
    return any(a != "" and not _is_number(a) and _is_number(b) for a, b in zip(first, second))


@dataclass(frozen=True)
class HeaderGuess:
    """What :func:`guess_header` decided.

    Attributes:
        header: index (into the rows given) of the row of column names, or None.
        skip: rows before the data that are neither names nor data (the scikit-learn
            count line), when ``header`` is None.
        class_names: the class names such a count line gives, else None.
        note: a sentence saying what was decided and why, or None.
    """

    header: int | None
    skip: int = 0
    class_names: list[str] | None = None
    note: str | None = None


def _sklearn_counts(rows: Sequence[Sequence[str]]) -> tuple[int, int, list[str]] | None:
    """(n_samples, n_features, class names) when the first row is a scikit-learn count
    line: two whole numbers, then two or more names, over data rows of n_features + 1
    fields whose last is a class index below the number of names (the head's rows no
    more than n_samples)."""
    if len(rows) < 2 or len(rows[0]) < 2:
        return None
    first = rows[0]
    if not (first[0].isdigit() and first[1].isdigit()):
        return None
    names = [v for v in first[2:]]
    if len(names) < 2 or any(v == "" or _is_number(v) for v in names):
        return None
    n_samples, n_features = int(first[0]), int(first[1])
    data = rows[1:]
    if n_samples < len(data) or not all(len(r) == n_features + 1 for r in data):
        return None
    # the last column holds the class indices the names name
    if not all(r[-1].isdigit() and int(r[-1]) < len(names) for r in data):
        return None
    return n_samples, n_features, names


def guess_header(rows: Sequence[Sequence[str]], header: str | int | None = "auto",
                 first_line: int = 1) -> HeaderGuess:
    """Where the column names are, from the first non-blank rows (stripped fields).

    ``header="auto"``: :func:`is_header` on the first two rows, except that a first line
    of two whole numbers then names over rows of ``n_features + 1`` fields
    (scikit-learn's raw ``iris.csv``: ``150,4,setosa,versicolor,virginica``) is neither
    names nor data: it is skipped and its names become the class names. ``None``: no
    header (such a count line is still skipped: it is not data). An int ``N``: row N
    holds the names; the rows before it are skipped.

    Raises:
        ValueError: for another ``header`` value.
    """
    counts = _sklearn_counts(rows) if header in ("auto", None) else None
    if counts is not None:
        n, f, names = counts
        note = (f"line {first_line} ({excerpt(','.join(rows[0]))}) holds counts ({n} rows, {f} "
                f"features) and class names, not column names (a scikit-learn style "
                f"file): read without a header, the names taken as the target's classes")
        return HeaderGuess(None, 1, names or None, note)
    if header == "auto":
        if rows and is_header(rows[0], rows[1] if len(rows) > 1 else None):
            return HeaderGuess(0, note=f"line {first_line} holds column names (text "
                                      f"over numbers)")
        return HeaderGuess(None, note=f"no header row (line {first_line} holds data): "
                                      f"columns named x1, x2, ...")
    if header is None:
        return HeaderGuess(None)
    if isinstance(header, bool) or not isinstance(header, int) or header < 0:
        raise ValueError(f"header must be 'auto', None (no header) or a row number >= 0, "
                         f"got {header!r}")
    return HeaderGuess(header)


_FIELDS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_EOF_QUOTE = re.compile(r"EOF inside string")


def _names(raw: Sequence[str], ncols: int) -> list[str]:
    """Unique column names: an empty one is ``x<column>``; a repeat gets ``.1``, ``.2``
    (as pandas names repeats)."""
    names, seen = [], set()
    for j in range(ncols):
        name = raw[j] if j < len(raw) and raw[j] != "" else f"x{j + 1}"
        base, k = name, 0
        while name in seen:
            k += 1
            name = f"{base}.{k}"
        seen.add(name)
        names.append(name)
    return names


def _check_cancel(cancel: Any) -> None:
    if cancel is None:
        return
    stop = cancel.is_set() if isinstance(cancel, threading.Event) else cancel()
    if stop:
        raise ReadCancelled("reading the table was cancelled")


class _Counting(io.RawIOBase):
    """A binary file whose position can be asked while pandas reads it."""

    def __init__(self, f: Any) -> None:
        self.f, self.done = f, 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        n = self.f.readinto(b)
        self.done += n or 0
        return n


#: The bytes of the file pandas parses in one call: short calls, so that a thread
#: waiting for the GIL (the GUI's event loop) gets it between them.
CHUNK_BYTES = 1 << 20


def _line_bytes(head: bytes) -> float:
    """The head's bytes per line."""
    return len(head) / max(head.count(b"\n"), 1)


def _chunk_rows(head: bytes, chunk_rows: int) -> int:
    """Rows per chunk: ``chunk_rows``, or fewer so that a chunk is about
    :data:`CHUNK_BYTES` of the file (at the head's bytes per line), at least 1,000."""
    return max(1, min(chunk_rows, max(1_000, int(CHUNK_BYTES / _line_bytes(head)))))


def _text_names(values: Any) -> list[Any]:
    """Distinct values of a text column as :func:`read_table` gives them: ``str(v)``
    with spaces around stripped, :data:`NA_VALUES` missing (NaN)."""
    out = []
    for v in values:
        t = str(v).strip()
        out.append(np.nan if t in NA_VALUES else t)
    return out


def _compatible(kinds: set[str]) -> bool:
    """Whether pieces of these kinds make one column as pandas reads the file whole:
    missing values go with anything; True/False with True/False."""
    kinds = kinds - {"nan"}
    return len(kinds) <= 1 or kinds <= {"bool", "bools"}


class _Column:
    """One column gathered chunk by chunk into one array allocated for the rows
    expected (grown when more come): numbers as int64/float64, True/False as bool,
    text as category codes (int32, -1 missing; the names in :attr:`names`)."""

    def __init__(self, capacity: int, rows: int = 0) -> None:
        self.capacity = max(capacity, rows, 1)
        self.rows = rows  # rows so far (leading missing values before a type is known)
        self.kinds: set[str] = {"nan"} if rows else set()
        self.data: np.ndarray | None = None
        self.text = False
        self.names: dict[str, int] = {}

    def add(self, kind: str, part: np.ndarray) -> bool:
        """Append a piece of this column (``kind``: ``nan`` for only missing values,
        ``number``, ``bool``, ``text``/``bools`` as codes); False when it cannot join
        the pieces before (numbers and text)."""
        self.kinds.add(kind)
        if not _compatible(self.kinds):
            return False
        if kind == "nan":
            if self.data is not None and not self.text:
                if self.data.dtype == bool:
                    self._to_text()
                elif self.data.dtype.kind in "iu":
                    self._retype(np.dtype(np.float64))
            self._put(None, len(part))
        elif kind == "number":
            want = part.dtype if self.data is None else np.result_type(self.data.dtype,
                                                                       part.dtype)
            if self.data is None and self.rows:  # missing values before: NaN
                want = np.result_type(want, np.float64)
            self._retype(want)
            self._put(part, len(part))
        elif kind == "bool":
            if self.data is None and not self.rows:
                self._retype(np.dtype(bool))
            elif self.data is None or self.text:  # with missing values: text
                self._to_text()
            if self.text:
                part = self._bool_codes(part)
            self._put(part, len(part))
        else:
            self._to_text()
            self._put(part, len(part))
        return True

    def _retype(self, dtype: np.dtype) -> None:
        if self.data is None:
            self.data = np.empty(self.capacity, dtype=dtype)
            self.data[:self.rows] = np.nan if self.rows else 0
        elif self.data.dtype != dtype:  # whole numbers, then fractions or NaN
            data = np.empty(self.capacity, dtype=dtype)
            data[:self.rows] = self.data[:self.rows]
            self.data = data

    def _to_text(self) -> None:
        if self.text:
            return
        codes = np.empty(self.capacity, dtype=np.int32)
        if self.data is None:
            codes[:self.rows] = -1
        else:
            codes[:self.rows] = self._bool_codes(self.data[:self.rows])
        self.data, self.text = codes, True

    def _bool_codes(self, part: np.ndarray) -> np.ndarray:
        """True/False as codes of ``"True"``/``"False"`` (as ``str`` writes them)."""
        codes = np.empty(len(part), dtype=np.int32)
        if part.any():
            codes[part] = self.names.setdefault("True", len(self.names))
        if not part.all():
            codes[~part] = self.names.setdefault("False", len(self.names))
        return codes

    def _put(self, values: np.ndarray | None, n: int) -> None:
        end = self.rows + n
        if self.data is not None:
            if end > self.capacity:  # more rows than expected: grow by a quarter
                self.capacity = max(end, int(self.capacity * 1.25))
                grown = np.empty(self.capacity, dtype=self.data.dtype)
                grown[:self.rows] = self.data[:self.rows]
                self.data = grown
            if values is None:
                self.data[self.rows:end] = -1 if self.text else np.nan
            else:
                self.data[self.rows:end] = values
        self.rows = end

    def values(self) -> Any:
        """The column: an array, or a pandas Categorical for text."""
        import pandas as pd

        if self.data is None:
            return np.full(self.rows, np.nan)
        data, self.data = self.data[:self.rows], None
        if not self.text:
            return data
        k = len(self.names)
        small = np.int8 if k < 127 else (np.int16 if k < 32_767 else np.int32)
        return pd.Categorical.from_codes(data.astype(small),
                                         categories=pd.Index(list(self.names),
                                                             dtype=object),
                                         validate=False)


class _Columns:
    """The columns of a table gathered chunk by chunk (:class:`_Column`): no list of
    chunks joined at the end, no Python string per row. A column's type is decided as
    pandas decides it for the whole file in one piece; numbers in one chunk and text
    in another are reported by :meth:`add`, so that the column is read again as the
    file's text (as pandas reads such a column whole)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.columns: list[_Column] = []
        self.rows = 0

    def add(self, chunk: Any) -> set[int]:
        """Take one chunk (a DataFrame); returns the columns whose pieces disagree,
        empty when all is well."""
        import pandas as pd

        ncols = chunk.shape[1]
        while len(self.columns) < ncols:  # a column first seen now: missing before
            self.columns.append(_Column(self.capacity, self.rows))
        conflicts = set()
        for j, column in enumerate(self.columns):
            if j >= ncols:
                kind, part = "nan", np.empty(len(chunk))
            else:
                col = chunk.iloc[:, j]
                dtype = col.dtype
                if pd.api.types.is_bool_dtype(dtype):
                    kind, part = "bool", col.to_numpy(dtype=bool)
                elif pd.api.types.is_numeric_dtype(dtype):
                    part = col.to_numpy()
                    kind = "nan" if part.dtype.kind == "f" and np.isnan(part).all() \
                        else "number"
                else:
                    codes, uniques = pd.factorize(col.to_numpy(dtype=object),
                                                  use_na_sentinel=True)
                    kind = "bools" if len(uniques) and all(
                        isinstance(u, (bool, np.bool_)) for u in uniques) else "text"
                    names = column.names
                    lookup = np.empty(len(uniques) + 1, dtype=np.int32)
                    lookup[-1] = -1  # a missing value's code, -1, picks this
                    for k, name in enumerate(_text_names(uniques)):
                        lookup[k] = -1 if name is np.nan else names.setdefault(name,
                                                                               len(names))
                    part = lookup[codes]
                    if not len(uniques):
                        kind = "nan"
            if not column.add(kind, part):
                conflicts.add(j)
        self.rows += len(chunk)
        return conflicts

    def frame(self, raw_names: Sequence[str]) -> Any:
        """The DataFrame (columns named by :func:`_names`), or None when no row was
        read."""
        import pandas as pd

        if not self.rows:
            return None
        names = _names(raw_names, len(self.columns))
        data = {name: column.values() for name, column in zip(names, self.columns)}
        self.columns = []
        return pd.DataFrame(data, copy=False)


def read_table(path: str | os.PathLike, *, header: str | int | None = "auto",
               delimiter: str | None = None, encoding: str | None = None,
               progress: Callable[[float], Any] | None = None,
               cancel: threading.Event | Callable[[], bool] | None = None,
               chunk_rows: int = 100_000, max_bytes: int | None = None,
               nrows: int | None = None) -> Table:
    """Read a CSV-like table with pandas.

    Args:
        path: the file.
        header: ``"auto"`` (detected: :func:`guess_header`), None (no header: columns
            ``x1, x2, ...``) or the 0-based row of the names among the non-blank rows
            (rows before it are skipped), as pandas' ``header=N``.
        delimiter: one character, or None to detect it from the first lines
            (:func:`sniff_delimiter`: ``,``, ``;``, tab or ``|``).
        encoding: a Python codec name, or None: a byte-order mark says UTF-8 or
            UTF-16; else UTF-8, and a file that is not valid UTF-8 is read as
            Windows-1252 (said in :attr:`Table.notes`).
        progress: called with the fraction of the file read (0..1) after each chunk.
        cancel: a ``threading.Event`` or a callable returning True to stop; checked
            before each chunk.
        chunk_rows: rows per chunk at most (progress granularity); fewer when
            :data:`CHUNK_BYTES` of the file hold fewer rows (at the head's line
            length).
        max_bytes: size limit (default :data:`~nncore.limits.MAX_CSV_BYTES`).
        nrows: read only the first ``nrows`` data rows (a preview), or all (None).

    Returns:
        a :class:`Table`. Missing values (:data:`NA_VALUES`) are NaN; a row with fewer
        fields than the others gets NaN for the fields it lacks (as pandas reads it).

    Raises:
        FileNotFoundError, OSError: for a file that cannot be read;
            :class:`nncore.files.FileRefused` for a folder, device, FIFO, kernel file or
            a file over the limit (refused before it is opened).
        DataFileError: with the line at fault: an empty file; a header without data
            rows; a row with more fields than the first (``"data.csv: line 3 has 7
            fields, expected 5"``); a quote that is never closed; a header row beyond
            the rows of the file.
        ValueError: for a bad ``header``, ``delimiter``, ``encoding`` or ``nrows``.
        ReadCancelled: when ``cancel`` asked to stop.
    """
    import pandas as pd

    path = Path(path)
    if nrows is not None and (isinstance(nrows, bool) or not isinstance(nrows, int)
                              or nrows < 1):
        raise ValueError(f"nrows must be None (every row) or a number >= 1, got {nrows!r}")
    if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter) != 1
                                  or delimiter in "\"\r\n"):
        raise ValueError(f"delimiter must be one character (not a quote or newline), "
                         f"got {delimiter!r}")
    if header not in ("auto", None) and (isinstance(header, bool)
                                         or not isinstance(header, int) or header < 0):
        raise ValueError(f"header must be 'auto', None (no header) or a row number >= 0, "
                         f"got {header!r}")
    size = regular_file(path, "the CSV file", limits.MAX_CSV_BYTES if max_bytes is None
                        else max_bytes).st_size
    label = path.name
    with open(path, "rb") as f:
        head_raw = f.read(_HEAD_BYTES)
    try:
        enc = _encoding_of(head_raw, encoding)
    except LookupError:
        raise ValueError(f"encoding {encoding!r} is not a text encoding Python knows") from None
    notes: list[str] = []
    head = _decode_head(head_raw, enc)
    if head.startswith("\ufeff"):
        head = head[1:]
    if delimiter is None:
        delimiter = sniff_delimiter(head)
        if delimiter != ",":
            notes.append(f"fields separated by {delimiter!r} (detected)")
    rows = _head_rows(head, delimiter)
    if not rows:
        raise DataFileError(f"{label} is empty: no rows", path)
    guess = guess_header([r for _, r in rows], header, rows[0][0])
    if guess.note:
        notes.append(guess.note)
    if guess.header is not None and guess.header >= len(rows):
        raise DataFileError(f"{label}: the header is to be row {guess.header} but the file's "
                            f"first {len(rows)} rows end at line {rows[-1][0]}", path)
    first = guess.header if guess.header is not None else guess.skip
    if first >= len(rows):
        raise DataFileError(f"{label} has no data rows after line {rows[-1][0]}", path,
                            rows[-1][0])
    names_line = rows[first][0]
    # physical lines not given to pandas: up to and including the header line
    skip_lines = names_line if guess.header is not None else names_line - 1
    header_names = rows[guess.header][1] if guess.header is not None else None

    rows_per_chunk = _chunk_rows(head_raw, chunk_rows)
    expected = int(size / _line_bytes(head_raw) * 1.1) + 1_000
    if nrows is not None:
        expected = min(expected, nrows)

    def read(enc: str) -> Any:
        as_text: set[int] = set()
        while True:
            columns = _Columns(expected)
            with open(path, "rb") as raw:
                counting = _Counting(raw)
                handle = io.BufferedReader(counting)
                reader = pd.read_csv(handle, sep=delimiter, header=None, skiprows=skip_lines,
                                     index_col=False, skipinitialspace=True,
                                     keep_default_na=False, na_values=list(NA_VALUES),
                                     encoding=enc, encoding_errors="strict",
                                     chunksize=rows_per_chunk,
                                     dtype={j: str for j in as_text} or None, nrows=nrows)
                with reader:
                    while True:
                        _check_cancel(cancel)
                        try:
                            chunk = next(reader)
                        except StopIteration:
                            break
                        conflicts = columns.add(chunk)
                        del chunk
                        if conflicts:
                            break
                        if progress is not None:
                            progress(min(1.0, counting.done / max(size, 1)))
                        time.sleep(0)  # let a waiting thread (the GUI's) have the GIL
            if not conflicts:
                return columns.frame(header_names or [])
            as_text |= conflicts  # read again, those columns as the file's text

    try:
        try:
            frame = read(enc)
        except UnicodeDecodeError as e:
            if encoding is not None or enc != "utf-8":
                raise DataFileError(f"{label}: not valid {enc} text ({e.reason}); save it "
                                    f"as UTF-8", path) from None
            line = _bad_utf8_line(path)
            notes.append(f"not UTF-8 text (line {line}): read as Windows-1252")
            enc = "cp1252"
            frame = read(enc)
    except pd.errors.EmptyDataError:
        frame = None
    except pd.errors.ParserError as e:
        text = str(e)
        m = _FIELDS.search(text)
        if m:
            expected, line, saw = (int(g) for g in m.groups())
            hint = (f"; if line {names_line} is a title, not column names or data, give "
                    f"the header's row (header=N, --header N)" if saw > expected else "")
            raise DataFileError(f"{label}: line {line} has {saw} fields, expected {expected}"
                                f" (as on line {names_line}){hint}", path, line) from None
        if _EOF_QUOTE.search(text):
            line = _unclosed_quote_line(path, enc, delimiter)
            raise DataFileError(f"{label}: line {line}: a quoted field is never closed (an "
                                f"unclosed quote?)", path, line) from None
        raise DataFileError(f"{label}: {text}", path) from None
    if frame is None or len(frame) == 0:
        if guess.header is not None:
            raise DataFileError(f"{label} has a header (line {names_line}) but no data "
                                f"rows", path, names_line)
        raise DataFileError(f"{label} is empty: no rows", path)
    empty = frame.isna().all(axis=1)
    if empty.any():
        frame = frame[~empty]
    if len(frame) == 0:
        raise DataFileError(f"{label} is empty: no rows", path)
    if progress is not None:
        progress(1.0)
    return Table(frame, path, delimiter, enc, guess.header, skip_lines, guess.class_names,
                 notes, list(header_names) if header_names is not None else None)


def _bad_utf8_line(path: Path) -> int:
    raw = path.read_bytes()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return raw[:e.start].count(b"\n") + 1
    return 1


def _unclosed_quote_line(path: Path, encoding: str, delimiter: str) -> int:
    """The line where the quoted field that is never closed starts."""
    text = path.read_text(encoding=encoding, errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    previous = 0
    try:
        for _ in reader:
            previous = reader.line_num
    except csv.Error:
        return previous + 1
    return previous + 1


def _data_lines(table: Table) -> list[int]:
    """The starting line of each row pandas made (blank lines skipped as pandas skips
    them), by position in the unfiltered frame."""
    text = table.path.read_text(encoding=table.encoding, errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=table.delimiter)
    lines: list[int] = []
    previous = 0
    try:
        for fields in reader:
            start, previous = previous + 1, reader.line_num
            if start <= table.skip_lines:
                continue
            if len(fields) <= 1 and (not fields or not fields[0].strip()):
                continue  # a blank line: pandas skips it
            lines.append(start)
    except csv.Error:
        pass
    return lines
