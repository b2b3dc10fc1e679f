"""nncore.data: built-in and synthetic datasets, CSV and NPZ files, splits (R13, R14)."""

from __future__ import annotations

import math
import pathlib

import numpy as np
import pytest

from nncore import functional as F, nn
from nncore.data import (BUILTIN_DATASETS, DATASETS, DataFileError, Dataset, DatasetSpec,
                         Split, SplitWarning, load_builtin, load_csv, load_dataset, load_npz,
                         minibatches, split, standardize)
from nncore.spec import ParamSpec, SpecError
from nncore.tensor import Tensor

SYNTHETIC = [n for n, s in DATASETS.items() if s.kind == "synthetic"]
CLASSIFIERS = [n for n in SYNTHETIC if DATASETS[n].task == "classification"]
REGRESSIONS = [n for n in SYNTHETIC if DATASETS[n].task == "regression"]


def write(tmp_path: pathlib.Path, text: str | bytes, name: str = "data.csv") -> pathlib.Path:
    path = tmp_path / name
    if isinstance(text, str):
        text = text.encode("utf-8")
    path.write_bytes(text)
    return path


def csv_error(tmp_path, text, **kwargs) -> DataFileError:
    with pytest.raises(DataFileError) as e:
        load_csv(write(tmp_path, text), **kwargs)
    return e.value


# --------------------------------------------------------------------------- reference cases

class TestR13CsvFiles:
    def test_header_detected_and_values(self, tmp_path):
        d = load_csv(write(tmp_path, "x1,x2,label\n1,2,0\n3,4,1\n"))
        assert d.feature_names == ["x1", "x2"]
        np.testing.assert_array_equal(d.X, [[1, 2], [3, 4]])
        np.testing.assert_array_equal(d.y, [0, 1])
        assert d.X.dtype == np.float32 and d.y.dtype == np.int64
        assert d.task == "classification" and d.classes == ["0", "1"]

    def test_empty_field_is_dropped_visibly_or_named_by_line_and_column(self, tmp_path):
        """R13: a missing value is either an explicit, reported choice (rows dropped by
        default, counted in the summary) or, where no row may be dropped (a pipeline
        applied to new rows), an error naming the line and column."""
        path = write(tmp_path, "x1,x2,label\n1,2,0\n1,,0\n5,6,1\n")
        d = load_csv(path)
        np.testing.assert_array_equal(d.X, [[1, 2], [5, 6]])
        assert d.pipeline.report.dropped == {"missing values": 1}
        assert "3 rows, 1 dropped (missing values: 1)" in d.pipeline.report.summary()
        from nncore.tables import read_table
        table = read_table(path)
        with pytest.raises(DataFileError) as e:
            d.pipeline.apply(table.frame, table)
        err = e.value
        assert (err.line, err.column, err.column_name) == (3, 2, "x2")
        assert "line 3, column 2 ('x2'): a missing value" in str(err)

    def test_empty_field_without_header_filled_with_the_mean(self, tmp_path):
        from nncore.tables import PipelineSpec
        d = load_csv(write(tmp_path, "1,2,0\n1,,0\n3,6,1\n"), spec=PipelineSpec(missing="mean"))
        np.testing.assert_array_equal(d.X, [[1, 2], [1, 4], [3, 6]])


class TestR14ClassLabels:
    def test_string_labels_sorted_and_saved(self, tmp_path):
        d = load_csv(write(tmp_path, "a,label\n1,cat\n2,dog\n3,cat\n"))
        assert d.classes == ["cat", "dog"]
        np.testing.assert_array_equal(d.y, [0, 1, 0])
        assert d.label_mapping == {"cat": 0, "dog": 1}
        meta = d.metadata()
        assert meta["classes"] == ["cat", "dog"] and meta["task"] == "classification"
        assert meta["origin"]["loader"] == "csv"

    def test_numeric_labels_one_two_three_are_three_classes(self, tmp_path):
        d = load_csv(write(tmp_path, "a,label\n1,1\n2,2\n3,3\n"))
        assert d.classes == ["1", "2", "3"] and d.num_classes == 3
        np.testing.assert_array_equal(d.y, [0, 1, 2])
        z = np.savez(tmp_path / "d.npz", X=np.ones((3, 1)), y=np.array([1, 2, 3]))
        assert z is None and load_npz(tmp_path / "d.npz").num_classes == 3

    def test_validation_missing_a_class_keeps_the_output_width(self):
        X = np.arange(22, dtype=np.float32).reshape(11, 2)
        y = np.array([0] * 5 + [1] * 5 + [2], dtype=np.int64)  # class 2: one sample
        d = Dataset(X, y, "tiny", ["a", "b", "c"], ["u", "v"])
        for seed in range(20):  # a seed whose random validation part misses class 'c'
            with pytest.warns(SplitWarning, match="class 'c' has only 1 sample"):
                s = split(d, val_fraction=0.3, seed=seed)
            if 2 not in s.y_val:
                break
        assert 2 not in s.y_val and len(s.y_val) == 4
        assert not s.stratified and "not stratified" in s.warning
        assert s.num_classes == 3 == d.num_classes and s.classes == ["a", "b", "c"]
        model = nn.Linear(2, s.num_classes)
        out = model(Tensor(s.X_val))
        assert out.shape == (len(s.X_val), 3)
        assert np.isfinite(F.cross_entropy(out, s.y_val).item())


# --------------------------------------------------------------------------- registry

class TestRegistry:
    def test_every_dataset_described_and_loadable(self):
        assert set(BUILTIN_DATASETS) < set(DATASETS)
        for name, spec in DATASETS.items():
            assert isinstance(spec, DatasetSpec) and spec.name == name
            assert spec.display_name and spec.source
            assert spec.description and "\n" not in spec.description
            assert spec.task in ("classification", "regression")
            assert spec.kind in ("real", "synthetic")
            for o in spec.options:  # the one spec type of every setting
                assert isinstance(o, ParamSpec) and o.type in ("int", "float")
                assert o.minimum <= o.default <= o.maximum and o.help and o.label
                assert o.validate(o.default) == o.default
                assert type(o.validate(o.default)) is {"int": int, "float": float}[o.type]
            d = load_dataset(name)
            assert d.task == spec.task and d.n_features == spec.n_features
            assert d.X.dtype == np.float32 and d.name == name
            assert d.origin == {"loader": "builtin", "name": name, "options": spec.defaults()}
        assert {n for n in DATASETS if DATASETS[n].kind == "real"} == set(BUILTIN_DATASETS)
        assert set(SYNTHETIC) == {"moons", "circles", "spiral", "xor", "blobs", "sine",
                                  "surface"}
        with pytest.raises(TypeError):
            DATASETS["new"] = DATASETS["iris"]  # read-only

    def test_real_datasets(self):
        iris = load_dataset("iris")
        assert iris.X.shape == (150, 4) and iris.classes == ["setosa", "versicolor", "virginica"]
        assert np.bincount(iris.y).tolist() == [50, 50, 50] and iris.y.dtype == np.int64
        bc = load_builtin("breast_cancer")
        assert bc.X.shape == (569, 30) and bc.classes == ["malignant", "benign"]
        assert len(bc.feature_names) == 30 and bc.n_outputs == 2
        with pytest.raises(ValueError, match="unknown built-in dataset 'mnist'"):
            load_builtin("mnist")

    @pytest.mark.parametrize("options, message", [
        ({"noise": 2}, r"^noise must be in \[0, 1\], got 2$"),
        ({"noise": -0.5}, r"^noise must be in \[0, 1\], got -0.5$"),
        ({"noise": "a lot"}, r"^noise must be a number, got 'a lot'$"),
        ({"noise": float("nan")}, r"^noise must be a finite number, got nan$"),
        ({"n_samples": 10}, r"^n_samples must be in \[20, 100000\], got 10$"),
        ({"n_samples": 25.5}, r"^n_samples must be a whole number, got 25.5$"),
        ({"n_samples": True}, r"^n_samples must be a whole number, got True$"),
        ({"seed": -1}, r"^seed must be in \[0, 4294967295\], got -1$"),
        ({"classes": 3}, r"^Two moons has no setting 'classes' \(known: n_samples, noise, "
                         r"seed\)$"),
        ({"nosie": 0.1, "sead": 1}, r"^Two moons has no settings 'nosie', 'sead' \(known: "),
    ])
    def test_option_errors_name_the_option(self, options, message):
        with pytest.raises(SpecError, match=message) as info:  # a ValueError
            load_dataset("moons", **options)
        assert isinstance(info.value, ValueError)
        if len(options) == 1 and "classes" not in options:
            assert info.value.path == next(iter(options))  # the GUI pins it to its field

    def test_other_option_errors(self):
        with pytest.raises(ValueError, match=r"classes must be in \[2, 6\], got 7"):
            load_dataset("spiral", classes=7)
        with pytest.raises(ValueError, match=r"Iris flowers has no setting 'seed' \(it takes "
                                             r"none\)"):
            load_dataset("iris", seed=1)
        with pytest.raises(ValueError, match="unknown dataset 'mnist'; choose one of digits"):
            load_dataset("mnist")
        # integer-valued floats (as JSON may give them) and NumPy integers are accepted
        d = load_dataset("moons", n_samples=40.0, seed=np.int64(3), noise=0)
        assert len(d.X) == 40 and d.origin["options"] == {"n_samples": 40, "noise": 0.0,
                                                          "seed": 3}


# --------------------------------------------------------------------------- synthetic

class TestSynthetic:
    @pytest.mark.parametrize("name", CLASSIFIERS)
    def test_shape_dtype_balance(self, name):
        kwargs = {"classes": 3} if DATASETS[name].options and any(
            o.name == "classes" for o in DATASETS[name].options) else {}
        d = load_dataset(name, n_samples=301, noise=0, **kwargs)
        k = kwargs.get("classes", 2)
        assert d.X.shape == (301, 2) and d.X.dtype == np.float32
        assert d.y.shape == (301,) and d.y.dtype == np.int64
        assert d.classes == [str(i) for i in range(k)] and d.feature_names == ["x1", "x2"]
        counts = np.bincount(d.y, minlength=k)
        assert counts.max() - counts.min() <= 1, counts
        # noise does not unbalance the generators either (xor only flips labels near axes)
        counts = np.bincount(load_dataset(name, n_samples=400, **kwargs).y, minlength=k)
        assert counts.min() >= 0.4 * 400 / k

    @pytest.mark.parametrize("name", REGRESSIONS)
    def test_regression_shape_dtype(self, name):
        d = load_dataset(name, n_samples=50)
        assert d.task == "regression" and d.classes is None and d.num_classes == 0
        assert d.y.shape == (50, 1) and d.y.dtype == np.float32
        assert d.X.shape == (50, DATASETS[name].n_features) and d.X.dtype == np.float32
        assert d.n_outputs == 1

    @pytest.mark.parametrize("name", SYNTHETIC)
    def test_deterministic_per_seed(self, name):
        a = load_dataset(name, n_samples=60, seed=7)
        b = load_dataset(name, n_samples=60, seed=7)
        c = load_dataset(name, n_samples=60, seed=8)
        assert a.X.tobytes() == b.X.tobytes() and a.y.tobytes() == b.y.tobytes()
        assert not np.array_equal(a.X, c.X)

    def test_circles_radii(self):
        d = load_dataset("circles", n_samples=100, noise=0)
        r = np.hypot(d.X[:, 0], d.X[:, 1])
        np.testing.assert_allclose(r[d.y == 0], 1.0, atol=1e-6)
        np.testing.assert_allclose(r[d.y == 1], 0.5, atol=1e-6)

    def test_moons_geometry(self):
        d = load_dataset("moons", n_samples=100, noise=0)
        upper, lower = d.X[d.y == 0], d.X[d.y == 1]
        np.testing.assert_allclose(np.hypot(*upper.T), 1.0, atol=1e-6)
        assert np.all(upper[:, 1] >= -1e-6)
        np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1.0, atol=1e-6)
        assert np.all(lower[:, 1] <= 0.5 + 1e-6)

    def test_xor_quadrant_labels(self):
        d = load_dataset("xor", n_samples=400, noise=0)
        x1, x2 = d.X.T
        np.testing.assert_array_equal(d.y, ((x1 > 0) != (x2 > 0)).astype(np.int64))
        assert np.all(np.abs(d.X) >= 0.3 - 1e-6) and np.all(np.abs(d.X) <= 5.3 + 1e-6)
        quadrants = np.bincount((x1 > 0) * 2 + (x2 > 0))
        assert quadrants.tolist() == [100, 100, 100, 100]
        noisy = load_dataset("xor", n_samples=400, noise=0.5)
        flipped = noisy.y != ((noisy.X[:, 0] > 0) != (noisy.X[:, 1] > 0))
        assert 0 < flipped.sum() < 200  # noise flips labels near the axes

    def test_spiral_formula(self):
        k = 3
        d = load_dataset("spiral", n_samples=300, noise=0, classes=k)
        r = np.hypot(*d.X.T.astype(np.float64))
        assert r.max() < 5
        t = np.arctan2(d.X[:, 0], d.X[:, 1]).astype(np.float64)  # x = r sin t, y = r cos t
        expected = 1.75 * 2 * np.pi * r / 5 + 2 * np.pi * d.y / k
        diff = np.angle(np.exp(1j * (t - expected)))
        keep = r > 1e-3  # the angle of the centre point is undefined
        np.testing.assert_allclose(diff[keep], 0, atol=1e-4)
        assert np.bincount(d.y).tolist() == [100, 100, 100]

    def test_blobs_centres(self):
        d = load_dataset("blobs", n_samples=60, noise=0, classes=4)
        angles = np.pi / 4 + 2 * np.pi * np.arange(4) / 4
        centres = 2 * np.column_stack([np.cos(angles), np.sin(angles)])
        np.testing.assert_allclose(d.X, centres[d.y], atol=1e-6)

    def test_regression_formulas(self):
        d = load_dataset("sine", n_samples=100, noise=0)
        assert np.all(np.abs(d.X) <= np.pi)
        np.testing.assert_allclose(d.y[:, 0], np.sin(d.X[:, 0]), atol=1e-6)
        d = load_dataset("surface", n_samples=100, noise=0)
        np.testing.assert_allclose(d.y[:, 0], np.sin(d.X[:, 0]) * np.cos(d.X[:, 1]), atol=1e-6)
        noisy = load_dataset("sine", n_samples=2000, noise=0.5)
        assert np.std(noisy.y[:, 0] - np.sin(noisy.X[:, 0])) == pytest.approx(0.5, rel=0.1)


# --------------------------------------------------------------------------- Dataset

def test_dataset_checks_itself():
    X = np.zeros((3, 2), dtype=np.float32)
    with pytest.raises(ValueError, match="class indices must be in"):
        Dataset(X, np.array([0, 1, 2]), "d", ["a", "b"], ["u", "v"])
    with pytest.raises(ValueError, match="NaN"):
        Dataset(np.array([[np.nan, 0]] * 3, dtype=np.float32), np.array([0, 1, 0]), "d",
                ["a", "b"], ["u", "v"])
    with pytest.raises(ValueError, match="regression targets"):
        Dataset(X, np.zeros(3, dtype=np.float32), "d", None, ["u", "v"])
    with pytest.raises(ValueError, match="3 rows but y has 2"):
        Dataset(X, np.array([0, 1]), "d", ["a", "b"], ["u", "v"])
    with pytest.raises(ValueError, match="1 feature names for 2 features"):
        Dataset(X, np.array([0, 1, 0]), "d", ["a", "b"], ["u"])


# --------------------------------------------------------------------------- CSV

class TestCsv:
    def test_no_header_when_first_row_is_numeric(self, tmp_path):
        d = load_csv(write(tmp_path, "1,2,0\n3,4,1\n"))
        assert d.feature_names == ["x1", "x2"] and d.origin["has_header"] is False
        np.testing.assert_array_equal(d.X, [[1, 2], [3, 4]])

    def test_string_labels_without_header(self, tmp_path):
        d = load_csv(write(tmp_path, "1,2,cat\n3,4,dog\n"))
        assert d.classes == ["cat", "dog"] and len(d.X) == 2
        assert d.feature_names == ["x1", "x2"]

    def test_header_over_string_labels(self, tmp_path):
        d = load_csv(write(tmp_path, "x1,x2,label\n1,2,cat\n3,4,dog\n"))
        assert d.feature_names == ["x1", "x2"] and d.classes == ["cat", "dog"]

    def test_header_forced_and_refused(self, tmp_path):
        path = write(tmp_path, "10,20,30\n1,2,0\n3,4,1\n")
        assert len(load_csv(path).X) == 3
        d = load_csv(path, has_header=True)
        assert d.feature_names == ["10", "20"] and len(d.X) == 2
        err = csv_error(tmp_path, "a,b,c\n1,2,0\n3,4,1\n", has_header=False)
        assert err.line == 1 and "line 1, column 1 ('x1'): 'a' is not a number" in str(err)

    def test_single_text_row_is_a_header_without_data(self, tmp_path):
        err = csv_error(tmp_path, "x1,x2,label\n\n")
        assert "header (line 1) but no data rows" in str(err)

    @pytest.mark.parametrize("text", ["", "\n\n", "\r\n", "  \n,,\n"])
    def test_empty_file(self, tmp_path, text):
        assert "is empty" in str(csv_error(tmp_path, text))

    def test_target_by_name_and_index(self, tmp_path):
        path = write(tmp_path, "label,x1,x2\n0,1.5,2\n1,3,4\n")
        for target in ("label", 0, -3):
            d = load_csv(path, target=target)
            assert d.feature_names == ["x1", "x2"]
            np.testing.assert_array_equal(d.X, [[1.5, 2], [3, 4]])
            np.testing.assert_array_equal(d.y, [0, 1])
        d = load_csv(path, target="x1")  # fractional numbers: regression
        assert d.task == "regression" and d.y.shape == (2, 1) and d.y.dtype == np.float32
        np.testing.assert_array_equal(d.y[:, 0], [1.5, 3])
        assert d.feature_names == ["label", "x2"] and d.origin["target"] == "x1"
        with pytest.raises(DataFileError, match="no column named 'y'; the columns are "
                                                "'label', 'x1', 'x2'"):
            load_csv(path, target="y")
        with pytest.raises(ValueError, match="index 3 is out of range for 3 columns"):
            load_csv(path, target=3)
        with pytest.raises(TypeError):
            load_csv(path, target=1.0)
        with pytest.raises(DataFileError, match="no header row"):
            load_csv(write(tmp_path, "1,2,0\n3,4,1\n", "n.csv"), target="label")

    def test_integer_features_promoted_and_numeric_classes_sorted_by_value(self, tmp_path):
        d = load_csv(write(tmp_path, "a,b,y\n1,2,10\n3,4,9\n5,6,1\n7,8,9.0\n"))
        assert d.X.dtype == np.float32 and d.X.flags.c_contiguous
        assert d.classes == ["1", "9", "10"]
        np.testing.assert_array_equal(d.y, [2, 1, 0, 1])

    def test_forcing_the_task(self, tmp_path):
        path = write(tmp_path, "a,y\n1,0\n2,1\n3,2\n")
        d = load_csv(path, task="regression")
        assert d.task == "regression" and d.y[:, 0].tolist() == [0, 1, 2]
        d = load_csv(write(tmp_path, "a,y\n1,0.5\n2,1.5\n3,0.5\n", "f.csv"),
                     task="classification")
        assert d.classes == ["0.5", "1.5"] and d.y.tolist() == [0, 1, 0]
        err = csv_error(tmp_path, "a,y\n1,0\n2,cat\n", task="regression")
        assert (err.line, err.column) == (3, 2) and "'cat' is not a number" in str(err)
        with pytest.raises(ValueError, match="task must be"):
            load_csv(path, task="clustering")

    @pytest.mark.parametrize("text, line, column, words", [
        ("x1,x2,y\n1,2,0\n1,abc,1\n", 3, 2, "'abc' is not a number"),
        ("x1,x2,y\n1,2,0\n1,-inf,1\n", 3, 2, "'-inf' is not a finite number"),
        ("x1,x2,y\n1,2,0\n1,1e39,1\n", 3, 2, "'1e+39' is too large for float32"),
        ("x1,x2,y\n1,2,0.5\n1,2,inf\n", 3, 3, "'inf' is not a finite number"),
    ])
    def test_bad_values_name_line_and_column(self, tmp_path, text, line, column, words):
        err = csv_error(tmp_path, text)
        assert (err.line, err.column) == (line, column)
        assert f"line {line}, column {column}" in str(err) and words in str(err)

    @pytest.mark.parametrize("text", ["x1,x2,y\n1,2,0\nNA,2,1\n4,5,1\n",
                                      "x1,x2,y\n1,2,0\n1,2,\n4,5,1\n",
                                      "x1,x2,y\n1,2,0\n1,2,nan\n4,5,1\n",
                                      "x1,x2,y\n1,2,0\n?,2,1\n4,5,1\n"])
    def test_na_markers_are_missing_values_dropped_and_counted(self, tmp_path, text):
        d = load_csv(write(tmp_path, text))
        np.testing.assert_array_equal(d.X, [[1, 2], [4, 5]])
        assert sum(d.pipeline.report.dropped.values()) == 1

    def test_ragged_rows(self, tmp_path):
        """A row with too many fields is an error (pandas' 'Expected 3 fields in line 3,
        saw 4' in our words); one with too few has missing values, as pandas reads it."""
        err = csv_error(tmp_path, "x1,x2,y\n1,2,0\n1,2,3,4\n3,4,1\n")
        assert err.line == 3 and "data.csv: line 3 has 4 fields, expected 3" in str(err)
        err = csv_error(tmp_path, "1,2,0\n3,4,1,\n")
        assert err.line == 2 and "4 fields" in str(err)
        d = load_csv(write(tmp_path, "x1,x2,y\n1,2,0\n1,2\n3,4,1\n", "short.csv"))
        assert d.pipeline.report.dropped == {"no target": 1} and len(d.X) == 2

    def test_one_column_and_delimiter_hint(self, tmp_path):
        err = csv_error(tmp_path, "x1;x2;y\n1;2;0\n", delimiter=",")
        assert "at least 2" in str(err) and "delimiter=';'" in str(err)
        d = load_csv(write(tmp_path, "x1;x2;y\n1;2;0\n3;4;1\n", "sniffed.csv"))
        assert d.X.shape == (2, 2) and d.origin["delimiter"] == ";"
        d = load_csv(write(tmp_path, "x1;x2;y\n1;2;0\n3;4;1\n", "semi.csv"), delimiter=";")
        assert d.X.shape == (2, 2)

    def test_not_utf8_is_read_as_windows_1252_and_utf16_with_its_bom(self, tmp_path):
        d = load_csv(write(tmp_path, b"x1,x2,y\n1,2,th\xe9\n3,4,caf\xe9\n"))
        assert d.classes == ["café", "thé"] and d.origin["encoding"] == "cp1252"
        assert "not UTF-8 text (line 2): read as Windows-1252" in d.pipeline.report.notes
        d = load_csv(write(tmp_path, "x,y\n1,0\n2,1\n".encode("utf-16"), "u16.csv"))
        assert d.origin["encoding"] == "utf-16" and d.X[:, 0].tolist() == [1, 2]

    def test_quoted_fields(self, tmp_path):
        text = '"x 1","x,2",label\n"1",2,"big, cat"\n3,"4","dog"\n5,6,"big, cat"\n'
        d = load_csv(write(tmp_path, text))
        assert d.feature_names == ["x 1", "x,2"] and d.classes == ["big, cat", "dog"]
        np.testing.assert_array_equal(d.X, [[1, 2], [3, 4], [5, 6]])
        np.testing.assert_array_equal(d.y, [0, 1, 0])

    def test_quoted_newline_keeps_line_numbers(self, tmp_path):
        err = csv_error(tmp_path, 'a,label\n1,"two\nlines"\nabc,x\n5,x\n')
        assert err.line == 4 and err.column == 1
        err = csv_error(tmp_path, 'a,label\n1,"open\n2,x\n')
        assert err.line == 2 and "line 2" in str(err)

    def test_bom_crlf_and_trailing_blank_lines(self, tmp_path):
        text = "\ufeffx1,x2,label\r\n1,2,0\r\n3,4,1\r\n\r\n\r\n"
        d = load_csv(write(tmp_path, text))
        assert d.feature_names == ["x1", "x2"]
        np.testing.assert_array_equal(d.X, [[1, 2], [3, 4]])
        np.testing.assert_array_equal(d.y, [0, 1])
        d = load_csv(write(tmp_path, "x1,x2,label\r1,2,0\r3,4,1", "mac.csv"))  # old Mac, no
        assert len(d.X) == 2  # final newline

    def test_blank_lines_in_the_middle_are_skipped_but_counted(self, tmp_path):
        path = write(tmp_path, "\nx1,x2,label\n1,2,0\n\n   \n,,\n3,4,1\n")
        d = load_csv(path)
        np.testing.assert_array_equal(d.X, [[1, 2], [3, 4]])
        err = csv_error(tmp_path, "x1,x2,label\n1,2,0\n\n\n3,x,1\n")
        assert err.line == 5 and err.column == 2

    def test_one_class_is_an_error(self, tmp_path):
        err = csv_error(tmp_path, "x1,label\n1,cat\n2,cat\n")
        assert "only one class ('cat')" in str(err)

    def test_argument_errors(self, tmp_path):
        path = write(tmp_path, "x,x,y\n1,2,0\n3,4,1\n")
        with pytest.raises(DataFileError, match="2 columns are named 'x' \\(columns 1, 2\\)"):
            load_csv(path, target="x")
        with pytest.raises(ValueError, match="has_header must be"):
            load_csv(path, has_header="yes")
        with pytest.raises(ValueError, match="delimiter must be one character"):
            load_csv(path, delimiter=",,")
        with pytest.raises(FileNotFoundError):
            load_csv(tmp_path / "missing.csv")

    def test_whitespace_around_fields(self, tmp_path):
        d = load_csv(write(tmp_path, "x1 , x2 , label\n 1 , 2 , cat \n3,4,dog\n"))
        assert d.feature_names == ["x1", "x2"] and d.classes == ["cat", "dog"]


# --------------------------------------------------------------------------- NPZ

class TestNpz:
    def test_happy_path(self, tmp_path):
        path = tmp_path / "d.npz"
        np.savez(path, X=np.arange(6).reshape(3, 2), y=np.array([2, 0, 2]))
        d = load_npz(path)
        assert d.X.dtype == np.float32 and d.X.shape == (3, 2) and d.name == "d"
        assert d.classes == ["0", "2"] and d.y.tolist() == [1, 0, 1]
        assert d.feature_names == ["x1", "x2"] and d.origin["loader"] == "npz"

    def test_classes_and_feature_names(self, tmp_path):
        path = tmp_path / "d.npz"
        np.savez(path, X=np.ones((3, 2), np.float32), y=np.array([0, 2, 0]),
                 classes=np.array(["cat", "dog", "eel"]), feature_names=np.array(["a", "b"]))
        d = load_npz(path)
        assert d.classes == ["cat", "dog", "eel"] and d.num_classes == 3
        assert d.y.tolist() == [0, 2, 0] and d.feature_names == ["a", "b"]
        np.savez(path, X=np.ones((3, 2)), y=np.array(["dog", "cat", "dog"]),
                 classes=np.array(["dog", "cat"]))
        assert load_npz(path).y.tolist() == [0, 1, 0]
        np.savez(path, X=np.ones((3, 2)), y=np.array([0, 5, 0]), classes=np.array(["a", "b"]))
        with pytest.raises(DataFileError, match=r"y\[1\] = 5 is not a class index in \[0, 2\)"):
            load_npz(path)

    def test_string_labels_and_regression(self, tmp_path):
        path = tmp_path / "d.npz"
        np.savez(path, X=np.ones((3, 1)), y=np.array(["dog", "cat", "dog"]))
        d = load_npz(path)
        assert d.classes == ["cat", "dog"] and d.y.tolist() == [1, 0, 1]
        np.savez(path, X=np.ones((3, 1)), y=np.array([0.5, 1.0, 2.0]))
        d = load_npz(path)
        assert d.task == "regression" and d.y.shape == (3, 1) and d.y.dtype == np.float32
        np.savez(path, X=np.ones((3, 1)), y=np.ones((3, 2)))
        assert load_npz(path).y.shape == (3, 2)
        np.savez(path, X=np.ones((3, 1)), y=np.array([[0], [1], [1]]))
        assert load_npz(path, task="classification").y.tolist() == [0, 1, 1]

    @pytest.mark.parametrize("arrays, message", [
        ({"X": np.ones((3, 2))}, r"missing array 'y'; the file holds 'X'"),
        ({"y": np.ones(3)}, r"missing array 'X'"),
        ({"X": np.ones(3), "y": np.ones(3)}, r"X must have shape \(n_samples, n_features\)"),
        ({"X": np.ones((0, 2)), "y": np.ones(0)}, r"at least one of each, got \(0, 2\)"),
        ({"X": np.ones((3, 2)), "y": np.ones(4)}, r"X has 3 rows but y has 4"),
        ({"X": np.ones((3, 2)), "y": np.ones((3, 2, 1))}, r"y must have shape"),
        ({"X": np.array([["a", "b"]] * 3), "y": np.ones(3)}, r"X must hold numbers"),
        ({"X": np.array([[1, np.nan]] * 3), "y": np.ones(3)}, r"X\[0, 1\] = .*nan.* is not finite"),
        ({"X": np.array([[1, 1e300]] * 3), "y": np.ones(3)}, r"too large for float32"),
        ({"X": np.ones((3, 2)), "y": np.array([0, np.inf, 1])}, r"y\[1\] = .*inf.* not finite"),
        ({"X": np.ones((3, 2)), "y": np.ones(3)}, r"only one class"),
        ({"X": np.ones((3, 2)), "y": np.arange(3), "feature_names": np.array(["a"])},
         r"feature_names must be 2 strings"),
    ])
    def test_errors(self, tmp_path, arrays, message):
        path = tmp_path / "bad.npz"
        np.savez(path, **arrays)
        with pytest.raises(DataFileError, match=message):
            load_npz(path)

    def test_object_array_is_never_unpickled(self, tmp_path):
        marker = tmp_path / "unpickled"

        class Payload:
            def __reduce__(self):
                return (pathlib.Path.touch, (marker,))

        path = tmp_path / "evil.npz"
        X = np.empty((2, 1), dtype=object)
        X[0, 0], X[1, 0] = Payload(), 1.0
        np.savez(path, X=X, y=np.array([0, 1]))
        with pytest.raises(DataFileError, match="Python objects.*never unpickled"):
            load_npz(path)
        assert not marker.exists()
        np.load(path, allow_pickle=True)["X"]  # the payload is real: unpickling runs it
        assert marker.exists()

    def test_not_an_npz(self, tmp_path):
        np.save(tmp_path / "a.npy", np.ones((3, 2)))
        with pytest.raises(DataFileError, match="single array"):
            load_npz(tmp_path / "a.npy")
        (tmp_path / "b.npz").write_text("x1,x2\n1,2\n")
        with pytest.raises(DataFileError, match=r"not an \.npz archive .*text \(a CSV"):
            load_npz(tmp_path / "b.npz")
        with pytest.raises(FileNotFoundError):
            load_npz(tmp_path / "missing.npz")


# --------------------------------------------------------------------------- splits

def labelled(n_per_class=(30, 30, 40), seed=0) -> Dataset:
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(len(n_per_class)), n_per_class).astype(np.int64)
    X = rng.standard_normal((len(y), 3)).astype(np.float32)
    return Dataset(X, y, "labelled", [f"c{i}" for i in range(len(n_per_class))],
                   ["a", "b", "c"])


class TestSplit:
    def test_sizes_disjoint_and_complete(self):
        d = labelled()
        s = split(d, val_fraction=0.2, test_fraction=0.1, seed=3)
        assert isinstance(s, Split) and s.stratified and s.warning is None
        assert (len(s.X_train), len(s.X_val), len(s.X_test)) == (70, 20, 10)
        everything = np.concatenate([s.train_index, s.val_index, s.test_index])
        assert sorted(everything.tolist()) == list(range(100))
        np.testing.assert_array_equal(s.X_val, d.X[s.val_index])
        np.testing.assert_array_equal(s.y_test, d.y[s.test_index])
        assert s.X_train.dtype == np.float32 and s.y_train.dtype == np.int64
        assert s.num_classes == 3 and s.feature_names == ["a", "b", "c"]

    def test_no_test_part_by_default(self):
        s = split(labelled())
        assert (len(s.X_train), len(s.X_val), len(s.X_test)) == (80, 20, 0)
        assert s.X_test.shape == (0, 3) and s.y_test.dtype == np.int64

    def test_stratified_proportions(self):
        s = split(labelled((30, 30, 40)), val_fraction=0.2, test_fraction=0.1)
        assert np.bincount(s.y_val).tolist() == [6, 6, 8]
        assert np.bincount(s.y_test).tolist() == [3, 3, 4]

    def test_deterministic(self):
        d = labelled()
        a, b, c = split(d, seed=1), split(d, seed=1), split(d, seed=2)
        np.testing.assert_array_equal(a.val_index, b.val_index)
        assert not np.array_equal(a.val_index, c.val_index)

    def test_same_as_train_test_split(self):
        from sklearn.model_selection import train_test_split
        d = labelled()
        s = split(d, 0.2, seed=5)
        X_tr, X_val, y_tr, y_val = train_test_split(d.X, d.y, test_size=0.2, stratify=d.y,
                                                    random_state=5)
        np.testing.assert_array_equal(s.X_val, X_val)
        np.testing.assert_array_equal(s.y_train, y_tr)

    def test_too_small_to_stratify_falls_back(self):
        d = labelled((10, 10, 10))
        with pytest.warns(SplitWarning, match="cannot each hold all 3 classes"):
            s = split(d, val_fraction=0.05)  # 2 validation samples, 3 classes
        assert not s.stratified and len(s.X_val) == 2 and s.num_classes == 3

    def test_regression_and_raw_arrays(self):
        d = load_dataset("sine", n_samples=50)
        s = split(d, val_fraction=0.2)
        assert s.task == "regression" and not s.stratified and s.warning is None
        assert s.y_val.shape == (10, 1) and s.num_classes == 0
        X, y = np.ones((20, 2), np.float32), np.array([0, 3] * 10)
        s = split((X, y), val_fraction=0.5)
        assert s.task == "classification" and s.num_classes == 4 and s.classes is None
        assert np.bincount(s.y_val).tolist() == [5, 0, 0, 5]
        with pytest.raises(ValueError, match="20 rows but y has 19"):
            split((X, y[:-1]))

    @pytest.mark.parametrize("kwargs, message", [
        ({"val_fraction": 1.0}, r"val_fraction must be in \[0, 1\), got 1"),
        ({"val_fraction": -0.1}, r"val_fraction must be in \[0, 1\), got -0.1"),
        ({"test_fraction": 1.5}, r"test_fraction must be in \[0, 1\), got 1.5"),
        ({"val_fraction": "0.2"}, r"val_fraction must be a number"),
        ({"val_fraction": 0.6, "test_fraction": 0.4}, r"must be less than 1"),
        ({"seed": -1}, r"seed must be an integer"),
        ({"seed": 1.5}, r"seed must be an integer"),
    ])
    def test_fraction_validation(self, kwargs, message):
        with pytest.raises(ValueError, match=message):
            split(labelled(), **kwargs)

    def test_empty_training_part(self):
        d = Dataset(np.zeros((3, 1), np.float32), np.array([0, 1, 0]), "t", ["a", "b"], ["u"])
        with pytest.raises(ValueError, match="training part would be empty: 3 samples, 2 for"):
            split(d, val_fraction=0.5, test_fraction=0.3)

    def test_fraction_zero_everywhere_trains_on_all(self):
        s = split(labelled(), val_fraction=0)
        assert len(s.X_train) == 100 and len(s.X_val) == 0

    def test_standardized_with_training_statistics_only(self):
        d = labelled()
        X = d.X.copy()
        X[:, 1] = 0.1  # a constant float32 column
        d = Dataset(X * 10 + 3, d.y, d.name, d.classes, d.feature_names)
        s = split(d, val_fraction=0.2, test_fraction=0.1).standardized()
        assert s.X_train.dtype == np.float32 and np.all(np.isfinite(s.X_train))
        np.testing.assert_allclose(s.X_train.mean(axis=0), 0, atol=1e-6)
        np.testing.assert_allclose(s.X_train.std(axis=0), [1, 0, 1], atol=1e-5)
        np.testing.assert_array_equal(s.X_val[:, 1], 0)
        raw = d.X[s.val_index]
        np.testing.assert_allclose(s.X_val, (raw - s.mean) / s.scale, rtol=1e-6)
        np.testing.assert_allclose(s.transform(raw), s.X_val)
        assert s.X_test.shape == (10, 3)


def test_standardize_keeps_its_behaviour():
    rng = np.random.default_rng(0)
    train = rng.normal(5, 3, (50, 2)).astype(np.float32)
    train[:, 1] = 0.1
    other = np.ones((4, 2), dtype=np.float32)
    a, b = standardize(train, other)
    assert a.dtype == b.dtype == np.float32
    np.testing.assert_allclose(a[:, 0].mean(), 0, atol=1e-6)
    assert np.all(a[:, 1] == 0) and np.all(np.isfinite(b))
    with pytest.raises(ValueError, match="NaN"):
        standardize(np.array([[np.nan], [1.0]]))


def test_minibatches_merge_a_last_single_sample():  # R03
    assert [len(b) for b in minibatches(17, 16, np.random.default_rng(0))] == [17]
    batches = minibatches(33, 16, shuffle=False)
    assert [len(b) for b in batches] == [16, 17] and batches[1][-1] == 32
    assert math.isclose(sum(len(b) for b in minibatches(10, 3, np.random.default_rng(1))), 10)


def test_the_stratified_draw_is_scikit_learns_train_test_split_exactly():
    """The array-built stratified draw (no Python list of millions of indices, which
    stalled the window loading a large table) gives scikit-learn's parts, index for
    index, over random class mixes, sizes, index sets and seeds."""
    from sklearn.model_selection import train_test_split

    from nncore.data import _stratified_draw

    rng = np.random.default_rng(1)
    checked = 0
    for _ in range(60):
        n, k = int(rng.integers(20, 3000)), int(rng.integers(2, 8))
        y = rng.choice(k, n, p=rng.dirichlet(np.ones(k)))
        if np.bincount(y, minlength=k).min() < 2:
            continue
        index = np.sort(rng.choice(10 * n, n, replace=False)).astype(np.int64)
        size, seed = int(rng.integers(k, n - k)), int(rng.integers(0, 2**31))
        want = train_test_split(index, test_size=size, random_state=seed, stratify=y)
        got = _stratified_draw(index, y, size, seed)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
        checked += 1
    assert checked >= 40
