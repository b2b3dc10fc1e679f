"""nncore.tables: tables read with pandas, column kinds and roles, the recorded pipeline
fitted on the training rows, the CLI's table options (issue 11)."""

from __future__ import annotations

import pathlib
import threading
from importlib import resources

import numpy as np
import pytest

from nncore.cli import main
from nncore.data import DataFileError, load_builtin, load_csv, split
from nncore.graph import Graph, load_graph, save_graph
from nncore.project import TrainingRun, load_data
from nncore.project.settings import DatasetSettings, SettingsError
from nncore.spec import SpecError
from nncore.tables import (Pipeline, PipelineSpec, ReadCancelled, describe_columns,
                           guess_header, read_table, table_dataset)

TABLES = pathlib.Path(__file__).resolve().parent.parent / "data" / "tables"
EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "app" / "resources" / "examples"
SKLEARN = resources.files("sklearn.datasets") / "data"


def network(units: int) -> Graph:
    g = Graph()
    inp = g.add_node("input")
    d = g.add_node("dense", (200, 0), {"units": 16})
    act = g.add_node("relu", (300, 0))
    d2 = g.add_node("dense", (400, 0), {"units": units})
    out = g.add_node("cross_entropy", (500, 0))
    g.connect(inp.id, "features", d.id, "input")
    g.connect(d.id, "output", act.id, "input")
    g.connect(act.id, "output", d2.id, "input")
    g.connect(d2.id, "output", out.id, "input")
    g.connect(inp.id, "labels", out.id, "target")
    return g


def csv_run(path, units: int, epochs: int = 60, **dataset) -> TrainingRun:
    g = network(units)
    g.set_settings({"dataset": {"source": "csv", "path": str(path), **dataset},
                    "training": {"epochs": epochs, "batch_size": 16,
                                 "optimizer_options": {"lr": 0.01}}})
    return TrainingRun(g)


# --------------------------------------------------------------------------- reading

class TestReading:
    def test_sklearn_raw_files_read_as_the_builtin_datasets(self):
        """The count line (150,4,setosa,versicolor,virginica) is neither names nor data:
        skipped, its names the classes; the numbers are exactly the built-in ones."""
        for file, name in (("iris.csv", "iris"), ("wine_data.csv", "wine"),
                           ("breast_cancer.csv", "breast_cancer")):
            builtin = load_builtin(name)
            for header in ("auto", None):
                d = load_csv(SKLEARN / file, header=header)
                np.testing.assert_array_equal(d.X, builtin.X)
                np.testing.assert_array_equal(d.y, builtin.y)
                assert d.classes == builtin.classes
                assert d.feature_names[:2] == ["x1", "x2"]
                notes = d.pipeline.report.notes
                assert any("holds counts" in n and "not column names" in n for n in notes)
                assert "line 1 is a scikit-learn count line, not a header" in \
                    d.pipeline.report.summary()

    @pytest.mark.parametrize("file, example, name", [
        ("iris.csv", "iris_sigmoid.json", "iris"), ("wine_data.csv", "wine_leaky.json", "wine"),
        ("breast_cancer.csv", "breast_cancer_bce.json", "breast_cancer")])
    def test_sklearn_raw_files_train_as_well_as_the_builtin(self, file, example, name):
        graph = load_graph(EXAMPLES / example)
        accuracies = []
        for dataset in ({"source": "builtin", "name": name},
                        {"source": "csv", "path": str(SKLEARN / file)}):
            settings = DatasetSettings.from_dict({**graph.settings.get("dataset", {}),
                                                  **dataset})
            run = TrainingRun(graph, settings)
            run.fit(15)
            accuracies.append(run.evaluate("val")["accuracy"])
        assert accuracies[1] > 0.85
        assert abs(accuracies[0] - accuracies[1]) <= 0.03, accuracies

    def test_header_at_a_row_skips_a_title(self):
        with pytest.raises(DataFileError, match=r"titled.csv: line 3 has 3 fields, expected "
                                                r"2 \(as on line 1\); if line 1 is a title"):
            read_table(TABLES / "titled.csv")
        t = read_table(TABLES / "titled.csv", header=1)
        assert list(t.frame.columns) == ["a", "b", "label"] and len(t.frame) == 40
        assert t.line_of(t.frame.index[0]) == 4
        d = load_csv(TABLES / "titled.csv", header=1)
        assert d.X.shape == (40, 2) and d.classes == ["0", "1"]

    def test_the_header_rule(self):
        assert guess_header([["a", "b"], ["1", "2"]]).header == 0
        assert guess_header([["1", "2"], ["3", "4"]]).header is None
        assert guess_header([["a", "b"], ["1", "2"]], None).header is None
        assert guess_header([["t"], ["a", "b"], ["1", "2"]], 1).header == 1
        g = guess_header([["150", "4", "setosa", "versicolor", "virginica"],
                          ["5.1", "3.5", "1.4", "0.2", "0"]])
        assert (g.header, g.skip, g.class_names) == (None, 1, ["setosa", "versicolor",
                                                               "virginica"])
        # not a count line: one name only, or a last column that is no class index
        assert guess_header([["1", "2", "cat"], ["3", "4", "dog"]]).skip == 0
        assert guess_header([["10", "2", "a", "b"], ["1", "2", "7.5"]]).skip == 0
        with pytest.raises(ValueError, match="header must be 'auto', None"):
            guess_header([["a"]], -1)

    @pytest.mark.parametrize("file, delimiter, encoding", [
        ("semicolon.csv", ";", "utf-8"), ("bom_crlf.csv", ",", "utf-8-sig"),
        ("utf16.csv", "\t", "utf-16"), ("quoted.csv", ",", "utf-8")])
    def test_delimiters_encodings_and_quotes(self, file, delimiter, encoding):
        t = read_table(TABLES / file)
        assert (t.delimiter, t.encoding) == (delimiter, encoding)
        assert t.frame.shape == (40, 3) and t.frame.columns[-1] == "label"
        assert t.frame.iloc[0, 0] == pytest.approx(0.509)
        if file == "quoted.csv":
            assert list(t.frame.columns) == ["size, cm", "weight", "label"]
            assert sorted(set(t.frame["label"])) == ["big, cat", 'small "dog"']

    def test_na_markers_are_missing(self):
        t = read_table(TABLES / "na_markers.csv")
        assert int(t.frame["a"].isna().sum()) == 5  # "", NA, NaN, N/A, ? (null: row 40)
        d = load_csv(TABLES / "na_markers.csv")
        assert d.pipeline.report.dropped == {"missing values": 5} and len(d.X) == 35

    def test_progress_and_cancel(self, tmp_path):
        path = tmp_path / "big.csv"
        rows = "\n".join(f"{i},{i % 7},{i % 2}" for i in range(200_000))
        path.write_text("a,b,label\n" + rows + "\n")
        seen: list[float] = []
        t = read_table(path, progress=seen.append, chunk_rows=20_000)
        assert len(t.frame) == 200_000 and t.frame["a"].iloc[-1] == 199_999
        assert len(seen) >= 5 and seen == sorted(seen) and seen[-1] == 1.0
        assert 0 < seen[0] < 1
        stop = threading.Event()
        stop.set()
        with pytest.raises(ReadCancelled):
            read_table(path, cancel=stop, chunk_rows=1000)
        calls = []
        with pytest.raises(ReadCancelled):
            read_table(path, cancel=lambda: calls.append(1) or len(calls) > 2, chunk_rows=1000)
        assert len(calls) == 3
        preview = read_table(path, nrows=25)
        assert len(preview.frame) == 25 and preview.frame["a"].iloc[-1] == 24

    def test_what_pandas_refuses_is_said_with_the_line(self, tmp_path):
        path = tmp_path / "data.csv"
        path.write_text("a,b,c,d,e\n1,2,3,4,5\n1,2,3,4,5,6,7\n")
        with pytest.raises(DataFileError) as e:
            read_table(path)
        assert str(e.value).startswith("data.csv: line 3 has 7 fields, expected 5")
        assert e.value.line == 3


# --------------------------------------------------------------------------- columns

class TestColumns:
    def test_kinds_reasons_and_default_roles(self):
        infos = {c.name: c for c in describe_columns(read_table(TABLES / "animals.csv").frame)}
        assert infos["species"].role == "target"  # named like a target, not the last
        assert (infos["id"].kind, infos["id"].role) == ("identifier", "ignore")
        assert infos["id"].reason == "every value is distinct (90 rows): an identifier"
        assert (infos["observed"].kind, infos["observed"].role) == ("date", "ignore")
        assert infos["observed"].reason.startswith("parses as dates: 2008/08/08, 2009/06/30")
        assert "year, month, day of year and weekday" in infos["observed"].note
        assert (infos["site"].kind, infos["site"].role) == ("constant", "ignore")
        assert infos["island"].kind == "category" and infos["island"].role == "feature"
        assert infos["island"].reason == "3 distinct strings in 90 rows: Biscoe, Dream, Torgersen"
        assert (infos["sex"].kind, infos["sex"].missing) == ("category", 2)
        assert (infos["bill_length_mm"].kind, infos["bill_length_mm"].missing) == ("number", 2)

    def test_target_defaults(self, tmp_path):
        frame = read_table(TABLES / "weather.csv").frame
        assert describe_columns(frame)[-1].role == "target"  # the last column
        infos = describe_columns(frame, "temp_max")
        assert [c.role for c in infos].count("target") == 1 and infos[2].role == "target"
        for name in ("Class", "LABEL", "y", "target"):
            path = tmp_path / f"{name}.csv"
            path.write_text(f"a,{name},b\n1,0,2\n3,1,4\n")
            assert describe_columns(read_table(path).frame)[1].role == "target"


# --------------------------------------------------------------------------- the tables

class TestHandMadeTables:
    def test_animals_train_from_text_columns_and_missing_values(self):
        run = csv_run(TABLES / "animals.csv", 3)
        d = run.data
        assert d.classes == ["Adelie", "Chinstrap", "Gentoo"]
        assert d.feature_names == ["island=Biscoe", "island=Dream", "island=Torgersen",
                                   "bill_length_mm", "bill_depth_mm", "flipper_length_mm",
                                   "body_mass_g", "sex=female", "sex=male"]
        assert d.pipeline.report.summary() == (
            "animals.csv: 90 rows, 5 dropped (missing values: 5); 2 columns encoded (island "
            "one-hot, sex one-hot); 3 ignored (id: every value is distinct, an identifier; "
            "observed: a date (it can be expanded into year, month, day of year and weekday "
            "instead); site: constant, it tells the rows nothing apart)")
        run.fit()
        assert run.evaluate("val")["accuracy"] > 0.9
        assert run.graph.settings["dataset"]["classes"] == ["Adelie", "Chinstrap", "Gentoo"]

    def test_weather_dates_expanded(self):
        run = csv_run(TABLES / "weather.csv", 3, expand_dates=True)
        names = run.data.feature_names
        assert names[:4] == ["date.year", "date.month", "date.dayofyear", "date.weekday"]
        t = read_table(TABLES / "weather.csv")
        X = run.data.pipeline.apply(t.frame.iloc[:2])
        # 2012/01/01 was a Sunday (weekday 6), 2012/01/02 a Monday
        np.testing.assert_array_equal(X[:, :4], [[2012, 1, 1, 6], [2012, 1, 2, 0]])
        run.fit()
        assert run.evaluate("val")["accuracy"] > 0.9

    @pytest.mark.parametrize("file, classes", [
        ("quoted.csv", ["big, cat", 'small "dog"']), ("semicolon.csv", ["x", "y"]),
        ("bom_crlf.csv", ["0", "1"]), ("utf16.csv", ["0", "1"]), ("na_markers.csv", ["0", "1"])])
    def test_small_tables_train(self, file, classes):
        run = csv_run(TABLES / file, 2, epochs=30, delimiter=None)  # None: detected
        assert run.data.classes == classes and run.data.n_features == 2
        run.fit()
        assert run.evaluate("val")["accuracy"] >= 0.85

    @pytest.mark.parametrize("file, message", [
        ("one_class.csv", "one_class.csv: the target column 3 ('label') holds only one class "
                          "('same'); is it the right column?"),
        ("single_row.csv", "single_row.csv has only 1 usable data row (line 2); training "
                           "needs at least 2")])
    def test_tables_that_cannot_train_say_why(self, file, message):
        with pytest.raises(DataFileError) as e:
            csv_run(TABLES / file, 2)
        assert str(e.value) == message

    def test_no_feature_left(self, tmp_path):
        path = tmp_path / "ids.csv"
        path.write_text("id,label\n" + "".join(f"r{i},{i % 2}\n" for i in range(10)))
        with pytest.raises(DataFileError, match=r"ids.csv: no feature column is left: id: "
                                                r"every value is distinct, an identifier"):
            load_csv(path)


# --------------------------------------------------------------------------- pipeline

def two_part_table(tmp_path) -> pathlib.Path:
    """x has missing values; its training rows and validation rows have different
    means, so a fill from all rows would differ from one from the training rows."""
    rows = []
    for i in range(40):
        x = "" if i % 5 == 0 else f"{i * 1.5:.1f}"
        rows.append(f"{x},{'red' if i % 3 else 'blue'},{i % 2}")
    path = tmp_path / "parts.csv"
    path.write_text("x,color,label\n" + "\n".join(rows) + "\n")
    return path


class TestPipeline:
    def test_fill_values_come_from_the_training_rows_only(self, tmp_path):
        path = two_part_table(tmp_path)
        settings = DatasetSettings.from_dict({"source": "csv", "path": str(path),
                                              "missing": "mean", "val_fraction": 0.25,
                                              "seed": 3})
        d = load_data(settings)
        t = read_table(path)
        parts = split(d, 0.25, seed=3)
        x = t.frame["x"].to_numpy(dtype=float)
        train_mean = np.nanmean(x[parts.train_index])
        assert abs(train_mean - np.nanmean(x)) > 0.1  # the parts really differ
        fitted = d.pipeline.to_dict()["columns"][0]
        assert fitted["name"] == "x" and fitted["fill"] == pytest.approx(train_mean)
        missing = np.isnan(x)
        np.testing.assert_allclose(d.X[missing, 0], np.float32(train_mean))
        # and the run's split is the one the pipeline was fitted on
        run = csv_run(path, 2, missing="mean", val_fraction=0.25, seed=3)
        np.testing.assert_array_equal(run.split.train_index, parts.train_index)

    def test_categories_from_training_rows_and_unknown_ones_all_zero(self, tmp_path):
        path = two_part_table(tmp_path)
        t = read_table(path)
        infos = describe_columns(t.frame)
        p = Pipeline.fit(t.frame, PipelineSpec(missing="median"), infos,
                         rows=t.frame.index[:10], table=t)
        assert p.feature_names == ["x", "color=blue", "color=red"]
        new = t.frame.iloc[:3].copy()
        new["color"] = ["red", "green", "blue"]
        X = p.apply(new)
        np.testing.assert_array_equal(X[:, 1:], [[0, 1], [0, 0], [1, 0]])
        assert X[0, 0] == np.float32(np.nanmedian(t.frame["x"].to_numpy(float)[:10]))
        ordinal = Pipeline.fit(t.frame, PipelineSpec(missing="median",
                                                     category_encoding="ordinal"), infos)
        np.testing.assert_array_equal(ordinal.apply(new)[:, 1], [1, -1, 0])

    def test_the_fitted_state_round_trips_as_json(self, tmp_path):
        import json

        path = two_part_table(tmp_path)
        d = load_csv(path, spec=PipelineSpec(missing="most_frequent"), val_fraction=0.2)
        state = json.loads(json.dumps(d.pipeline.to_dict()))
        again = Pipeline.from_dict(state)
        t = read_table(path)
        assert again.to_dict() == d.pipeline.to_dict()
        np.testing.assert_array_equal(again.apply(t.frame), d.X)

    def test_the_saved_project_reopens_with_the_same_pipeline_bit_for_bit(self, tmp_path):
        import shutil

        shutil.copy(TABLES / "animals.csv", tmp_path / "animals.csv")
        g = network(3)
        g.set_settings({"dataset": {"source": "csv", "path": "animals.csv",
                                    "missing": "median", "expand_dates": True,
                                    "columns": {"island": {"encoding": "ordinal"},
                                                "sex": {"missing": "constant",
                                                        "fill_value": "unknown"},
                                                "body_mass_g": {"role": "ignore"}}},
                        "training": {"epochs": 2}})
        first = TrainingRun(g, base_dir=tmp_path)
        save_graph(tmp_path / "project.json", first.graph)
        reopened = load_graph(tmp_path / "project.json")
        second = TrainingRun(reopened, base_dir=tmp_path)
        assert second.data.pipeline.to_dict() == first.data.pipeline.to_dict()
        assert first.data.X.tobytes() == second.data.X.tobytes()
        assert first.split.X_train.tobytes() == second.split.X_train.tobytes()
        names = first.data.feature_names
        assert "island" in names and "body_mass_g" not in names and "sex=unknown" in names
        assert names[-4:] == ["observed.year", "observed.month", "observed.dayofyear",
                              "observed.weekday"]
        assert first.data.pipeline.report.dropped == {}  # every gap filled

    def test_choices_are_checked_with_their_paths(self):
        with pytest.raises(SettingsError, match=r"dataset.columns.age.missing must be one of "
                                                r"drop, mean, median, most_frequent, "
                                                r"constant, got 'avg'"):
            DatasetSettings.from_dict({"columns": {"age": {"missing": "avg"}}})
        with pytest.raises(SettingsError, match=r"dataset.category_encoding must be one of "
                                                r"one-hot, ordinal"):
            DatasetSettings.from_dict({"category_encoding": "binary"})
        with pytest.raises(SpecError, match=r"columns.sex.missing mean needs numbers"):
            load_csv(TABLES / "animals.csv",
                     spec=PipelineSpec(columns={"sex": {"missing": "mean"}}))
        with pytest.raises(DataFileError, match=r"names 'wingspan' \(dataset.columns\), "
                                                r"which is not a column"):
            load_csv(TABLES / "animals.csv",
                     spec=PipelineSpec(columns={"wingspan": {"role": "ignore"}}))

    def test_a_value_that_is_not_a_number_is_named(self, tmp_path):
        path = tmp_path / "typo.csv"
        path.write_text("a,b,label\n" + "".join(f"{i},{i * 2},{i % 2}\n" for i in range(9))
                        + "4,x7,1\n")
        with pytest.raises(DataFileError) as e:
            load_csv(path)
        assert str(e.value).startswith("typo.csv: line 11, column 2 ('b'): 'x7' is not a "
                                       "number")
        d = load_csv(path, spec=PipelineSpec(columns={"b": {"kind": "category"}}))
        assert "b=x7" in d.feature_names

    def test_table_dataset_takes_a_saved_label_mapping(self):
        t = read_table(TABLES / "semicolon.csv")
        d = table_dataset(t, classes=["y", "x"])
        assert d.classes == ["y", "x"] and d.y[0] == 1  # row 1 is class 'x'
        with pytest.raises(ValueError, match=r"labels \['x'\] are not in the project's"):
            table_dataset(t, classes=["y", "z"])


# --------------------------------------------------------------------------- CLI

class TestCli:
    def test_one_summary_line_and_the_table_options(self, capsys, tmp_path):
        graph = str(EXAMPLES / "iris_sigmoid.json")
        animals = str(TABLES / "animals.csv")
        assert main(["train", graph, "--csv", animals, "--target", "species",
                     "--epochs", "2"]) == 0
        out = capsys.readouterr().out
        lines = [s for s in out.splitlines() if s.startswith("animals.csv:")]
        assert lines == ["animals.csv: 90 rows, 5 dropped (missing values: 5); 2 columns "
                         "encoded (island one-hot, sex one-hot); 3 ignored (id: every value "
                         "is distinct, an identifier; observed: a date (it can be expanded "
                         "into year, month, day of year and weekday instead); site: constant, "
                         "it tells the rows nothing apart)"]
        assert "9 features, 3 classes" in out
        assert main(["train", graph, "--csv", animals, "--ignore", "island", "--ignore",
                     "sex", "--missing", "median", "--epochs", "1"]) == 0
        out = capsys.readouterr().out
        assert "animals.csv: 90 rows, none dropped; no column encoded; 5 ignored (id: every " \
               "value is distinct, an identifier; island: ignored by choice; sex: ignored by " \
               "choice; observed:" in out
        assert "4 features, 3 classes" in out
        assert main(["train", graph, "--csv", animals, "--categorical", "flipper_length_mm",
                     "--epochs", "1"]) == 0
        assert "flipper_length_mm one-hot" in capsys.readouterr().out
        sk = str(SKLEARN / "iris.csv")
        assert main(["train", graph, "--csv", sk, "--header", "none", "--epochs", "1"]) == 0
        assert "iris.csv: 150 rows, none dropped" in capsys.readouterr().out
        assert main(["train", graph, "--csv", animals, "--ignore", "wingspan"]) == 1
        assert "'wingspan' (dataset.columns), which is not a column" in capsys.readouterr().err
        saved = tmp_path / "g.json"
        assert main(["train", graph, "--dataset", "iris", "--missing", "mean"]) == 1
        assert "need a CSV dataset" in capsys.readouterr().err
        assert not saved.exists()

    def test_help_documents_the_options(self, capsys):
        with pytest.raises(SystemExit):
            main(["train", "--help"])
        text = " ".join(capsys.readouterr().out.split())
        for words in ("--header N|none", "--ignore COLUMN", "--categorical COLUMN",
                      "--missing {drop,mean,median,most_frequent}", "drop the rows (default)",
                      "detected from the first lines"):
            assert words in text
