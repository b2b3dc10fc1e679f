"""Reading a table file with pandas: encoding, delimiter, header, NA markers, progress.

:func:`read_table` is the one reader of CSV-like files in NN Canvas. It looks at the
head of the file (the first 64 KiB) to decide the text encoding, the delimiter and the
header row (:func:`guess_header`, the one header rule), then lets ``pandas.read_csv``
(C engine) parse the whole file in chunks, reporting ``progress(fraction)`` after each
chunk and stopping when ``cancel`` is set, so that a caller can load in a worker thread.

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
            columns; text is strings with spaces around stripped; missing values
            (:data:`NA_VALUES`) are NaN. Rows with every field empty are left out.
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
        chunk_rows: rows per chunk (memory and progress granularity).
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

    def read(enc: str) -> Any:
        chunks = []
        with open(path, "rb") as raw:
            counting = _Counting(raw)
            handle = io.BufferedReader(counting)
            reader = pd.read_csv(handle, sep=delimiter, header=None, skiprows=skip_lines,
                                 index_col=False, skipinitialspace=True,
                                 keep_default_na=False, na_values=list(NA_VALUES),
                                 encoding=enc, encoding_errors="strict",
                                 chunksize=chunk_rows, dtype=None, nrows=nrows)
            with reader:
                while True:
                    _check_cancel(cancel)
                    try:
                        chunk = next(reader)
                    except StopIteration:
                        break
                    chunks.append(chunk)
                    if progress is not None:
                        progress(min(1.0, counting.done / max(size, 1)))
        if not chunks:
            return None
        return chunks[0] if len(chunks) == 1 else pd.concat(chunks, ignore_index=True)

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
    ncols = frame.shape[1]
    frame.columns = _names(header_names or [], ncols)
    for name in frame.columns:
        col = frame[name]
        if not pd.api.types.is_numeric_dtype(col.dtype):
            values = col.astype(object)
            present = values.notna()
            stripped = values[present].map(lambda v: str(v).strip())
            stripped[stripped.isin(NA_VALUES)] = np.nan
            values[present] = stripped
            frame[name] = values
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
