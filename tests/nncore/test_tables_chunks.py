"""nncore.tables read in small chunks (issue 11: a big file never blocks the GUI thread):
the table, its column report and the Dataset are those of the file read in one piece,
whatever the chunk boundaries; text columns are pandas categories."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nncore.tables import PipelineSpec, describe_columns, read_table, table_dataset
from nncore.tables.read import CHUNK_BYTES

ROWS = 3_000


def awkward_table(path):
    """Columns whose type a chunk alone would get wrong: numbers with a text value late,
    True/False with missing values late, text with spaces and NA markers after strip,
    text missing in the first rows, an all-missing column, whole numbers with a missing
    value late, numbers used as categories, dates."""
    rng = np.random.default_rng(5)
    lines = ["x,mixed,flag,flag_na,spaced,sparse,empty,whole,day,label"]
    for i in range(ROWS):
        mixed = "abc" if i == ROWS - 7 else f"{i}.50"
        flag = "True" if i % 3 else "false"
        flag_na = ("TRUE" if i % 2 else "False") if i < ROWS - 100 else ("" if i % 5 else "true")
        spaced = ["red ", " blue", "green", "red", "NA ", " ?"][i % 6]
        sparse = "" if i < ROWS // 2 else "uv"[i % 2]
        whole = "NA" if i == ROWS - 3 else str(i % 50)
        day = f"2020-{1 + i % 12:02d}-{1 + i % 28:02d}"
        lines.append(f"{rng.normal():.3f},{mixed},{flag},{flag_na},{spaced},{sparse},,"
                     f"{whole},{day},{'abc'[i % 3]}")
    path.write_text("\n".join(lines) + "\n")
    return path


def as_objects(frame):
    return {c: [None if v != v else (type(v).__name__, v) for v in frame[c].astype(object)]
            for c in frame.columns}


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    path = awkward_table(tmp_path_factory.mktemp("chunks") / "awkward.csv")
    assert path.stat().st_size < CHUNK_BYTES  # one chunk by default
    return path, read_table(path)


@pytest.mark.parametrize("chunk_rows", [37, 1_000, 2_999])
def test_any_chunking_reads_the_table_read_whole(whole, chunk_rows):
    path, one = whole
    t = read_table(path, chunk_rows=chunk_rows)
    assert list(t.frame.columns) == list(one.frame.columns)
    assert t.frame.dtypes.astype(str).tolist() == one.frame.dtypes.astype(str).tolist()
    assert as_objects(t.frame) == as_objects(one.frame)
    assert t.frame["mixed"].iloc[12] == "12.50"  # read again as the file's text
    assert [repr(i) for i in describe_columns(t.frame)] == \
        [repr(i) for i in describe_columns(one.frame)]
    for spec in (PipelineSpec(columns={"mixed": {"kind": "category"}},
                              missing="most_frequent", expand_dates=True),
                 PipelineSpec(columns={"mixed": {"role": "ignore"}},
                              category_encoding="ordinal")):
        a = table_dataset(one, spec=spec, val_fraction=0.25, seed=2)
        b = table_dataset(t, spec=spec, val_fraction=0.25, seed=2)
        assert a.X.tobytes() == b.X.tobytes() and a.y.tobytes() == b.y.tobytes()
        assert (a.classes, a.feature_names) == (b.classes, b.feature_names)
        assert a.pipeline.to_dict() == b.pipeline.to_dict()
        assert a.pipeline.report.summary() == b.pipeline.report.summary()


def test_columns_typed_as_pandas_reads_the_file_whole(whole):
    _, t = whole
    f = t.frame
    # numbers with one text value: text, each value as written ("12.50", not "12.5")
    assert isinstance(f["mixed"].dtype, pd.CategoricalDtype)
    assert f["mixed"].iloc[12] == "12.50" and f["mixed"].iloc[ROWS - 7] == "abc"
    assert f["flag"].dtype == bool  # True/False without a missing value
    assert set(f["flag_na"].dropna()) == {"True", "False"}  # with missing values: text
    assert sorted(set(f["spaced"].dropna())) == ["blue", "green", "red"]  # NA, ? missing
    assert f["sparse"].isna().sum() == ROWS // 2 and f["empty"].isna().all()
    assert f["whole"].dtype == np.float64 and np.isnan(f["whole"].iloc[ROWS - 3])
    assert f["x"].dtype == np.float64 and f["label"].cat.categories.tolist() == ["a", "b", "c"]
