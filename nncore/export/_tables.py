"""The table preprocessing the NumPy and PyTorch scripts carry (a CSV project's fitted
:class:`nncore.tables.Pipeline`, as data): Python source written into the scripts,
NumPy and the standard library only."""

from __future__ import annotations

#: Defines ``read_table(path)`` (a CSV with a header row -> {column: [text, ...]}) and
#: ``encode(table)`` ({column: values} -> the float32 feature matrix, as
#: ``Pipeline.apply``) for the module-level ``PIPELINE`` (None: the table's columns are
#: the features, in ``FEATURE_NAMES`` order).
SOURCE = r'''
# --------------------------------------------------------------------------- tables
# A table's rows become the network's features as NN Canvas's column pipeline made them
# (nncore.tables.Pipeline.apply): numbers pass (missing values filled as fitted), a
# category becomes its one-hot columns (or its ordinal index; a category unseen in
# training: all zeros, ordinal -1), a date its year, month, day of year and weekday.
# Dates are read as ISO dates (YYYY-MM-DD[ HH:MM:SS]); NN Canvas also reads other
# formats with pandas.
_MISSING = {"", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None", "#N/A", "-NaN",
            "-nan", "<NA>"}


def read_table(path):
    """A CSV file with a header row: {column name: [cell text, ...]}."""
    import csv
    with open(path, newline="", encoding="utf-8-sig") as f:
        sample = f.read(65536)
        f.seek(0)
        try:
            dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
        except csv.Error:
            dialect = csv.excel
        rows = list(csv.reader(f, dialect))
    header, body = rows[0], [r for r in rows[1:] if r]
    return {name.strip(): [r[i].strip() if i < len(r) else "" for r in body]
            for i, name in enumerate(header)}


def _number_name(v):
    return str(int(v)) if float(v).is_integer() and abs(v) < 1e15 else repr(float(v))


def _as_float(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _category_names(values):
    present = [v for v in values if not _missing(v)]
    if present and all(isinstance(v, (int, float)) or _as_float(v) is not None
                       for v in present) and not all(str(v) in ("True", "False")
                                                      for v in present):
        return [None if _missing(v) else _number_name(float(v)) for v in values]
    return [None if _missing(v) else str(v) for v in values]


def _missing(v):
    return v is None or (isinstance(v, float) and v != v) or (isinstance(v, str)
                                                             and v.strip() in _MISSING)


def _date_parts(text):
    d = np.datetime64(str(text).strip().replace(" ", "T"), "D")
    year = d.astype("datetime64[Y]").astype(int) + 1970
    month = d.astype("datetime64[M]").astype(int) % 12 + 1
    day_of_year = (d - d.astype("datetime64[Y]")).astype(int) + 1
    weekday = (d.astype(int) - 4) % 7  # 1970-01-01 was a Thursday (3)
    return [float(year), float(month), float(day_of_year), float(weekday)]


def encode(table):
    """{column: values} (text or numbers) -> float32 features (rows, len(FEATURE_NAMES))."""
    if PIPELINE is None:
        return np.column_stack([np.asarray(table[name], dtype=np.float64)
                                for name in FEATURE_NAMES]).astype(np.float32)
    columns = PIPELINE["columns"]
    n = len(table[columns[0]["name"]]) if columns else 0
    blocks = []
    for c in columns:
        if c["name"] not in table:
            raise KeyError(f"column {c['name']!r} is missing (the network uses "
                           + ", ".join(repr(d["name"]) for d in columns) + ")")
        values = table[c["name"]]
        width = len(c["outputs"])
        if c["kind"] == "number":
            v = np.array([np.nan if _missing(x) else float(x) for x in values])
            if np.isnan(v).any():
                if c["fill"] is None:
                    raise ValueError(f"column {c['name']!r}: a missing value (fill it in)")
                v = np.where(np.isnan(v), c["fill"], v)
            blocks.append(v.reshape(-1, 1))
        elif c["kind"] == "category":
            names = _category_names(values)
            index = {name: i for i, name in enumerate(c["categories"])}
            codes = []
            for name in names:
                if name is None:
                    if c["fill"] is None:
                        raise ValueError(f"column {c['name']!r}: a missing value")
                    name = c["fill"]
                codes.append(index.get(name, -1))
            codes = np.array(codes, dtype=np.int64)
            if c["encoding"] == "one-hot":
                block = np.zeros((n, width))
                known = np.flatnonzero(codes >= 0)
                block[known, codes[known]] = 1.0
            else:
                block = codes.astype(np.float64).reshape(-1, 1)
            blocks.append(block)
        else:
            rows = []
            for x in values:
                if _missing(x):
                    if c["fill"] is None:
                        raise ValueError(f"column {c['name']!r}: a missing date")
                    fill = c["fill"]  # per part (year, month, ...) or one value
                    rows.append([float(v) for v in fill] if isinstance(fill, list)
                                else [float(fill)] * width)
                else:
                    rows.append(_date_parts(x))
            blocks.append(np.array(rows, dtype=np.float64).reshape(n, width))
    return np.ascontiguousarray(np.hstack(blocks).astype(np.float32))
'''
