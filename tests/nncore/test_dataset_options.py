"""Dataset options are ParamSpecs (nncore.data.DATASETS): the command line's
--data-option, the project settings' check and load_dataset all read the one spec."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from nncore.cli import _data_options, _train_settings, build_parser
from nncore.data import DATASETS, load_dataset
from nncore.graph import load_graph
from nncore.project.settings import DatasetSettings, SettingsError
from nncore.spec import ParamSpec

EXAMPLES = Path(__file__).resolve().parents[2] / "app" / "resources" / "examples"


def test_every_option_is_a_paramspec_and_load_dataset_uses_it():
    spiral = DATASETS["spiral"]
    assert all(isinstance(o, ParamSpec) for s in DATASETS.values() for o in s.options)
    assert list(spiral.specs) == ["n_samples", "noise", "classes", "seed"]
    assert spiral.option("classes").maximum == 6 and DATASETS["blobs"].option("classes").maximum == 10
    assert spiral.validate({"classes": 3.0}) == {"n_samples": 400, "noise": 0.1, "classes": 3,
                                                 "seed": 0}
    # a tighter spec is enforced by load_dataset itself: the spec is the only rule
    assert len(load_dataset("spiral", classes=6, n_samples=60).classes) == 6
    with pytest.raises(ValueError, match=r"^classes must be in \[2, 6\], got 7$"):
        load_dataset("spiral", classes=7)


def test_settings_check_options_by_the_spec_with_a_path_and_normalize_them():
    s = DatasetSettings.from_dict({"source": "builtin", "name": "moons",
                                   "options": {"n_samples": 100.0, "noise": 0}})
    assert s.options == {"n_samples": 100, "noise": 0.0}  # only what was given, normalized
    assert type(s.options["n_samples"]) is int and type(s.options["noise"]) is float
    with pytest.raises(SettingsError) as info:
        DatasetSettings.from_dict({"name": "moons", "options": {"noise": 2}})
    assert str(info.value) == "dataset.options.noise must be in [0, 1], got 2"
    assert info.value.path == "dataset.options.noise"
    with pytest.raises(SettingsError, match=r"^dataset.options Iris flowers has no setting "
                                            r"'seed' \(it takes none\)$"):
        DatasetSettings.from_dict({"name": "iris", "options": {"seed": 1}})


def test_cli_data_options_are_parsed_by_their_spec():
    assert _data_options(["n_samples=100", " noise = 0.25"], "moons") == {
        "n_samples": 100, "noise": 0.25}
    assert type(_data_options(["noise=1"], "moons")["noise"]) is float  # a float spec
    with pytest.raises(ValueError, match=r"^--data-option n_samples: '2.5' is not a whole "
                                         r"number$"):
        _data_options(["n_samples=2.5"], "moons")
    with pytest.raises(ValueError, match=r"^--data-option classes: Two moons has no such "
                                         r"option \(known: n_samples, noise, seed\)$"):
        _data_options(["classes=3"], "moons")
    with pytest.raises(ValueError, match=r"it takes no options"):
        _data_options(["seed=1"], "iris")
    with pytest.raises(ValueError, match="needs KEY=VALUE"):
        _data_options(["noise"], "moons")


def test_cli_data_option_help_lists_every_datasets_options():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    text = sub.choices["train"].format_help()
    for name, spec in DATASETS.items():
        if spec.options:
            assert f"{name}: {', '.join(spec.specs)}" in " ".join(text.split())


def test_cli_data_option_reaches_the_settings_checked(tmp_path):
    graph = load_graph(EXAMPLES / "moons_tanh.json")
    args = build_parser().parse_args(["train", "x.json", "--dataset", "spiral",
                                      "--data-option", "classes=4"])
    ds, _ = _train_settings(args, graph)
    assert ds.name == "spiral" and ds.options == {"classes": 4}
    args = build_parser().parse_args(["train", "x.json", "--csv", str(tmp_path / "d.csv"),
                                      "--data-option", "noise=0.1"])
    with pytest.raises(ValueError, match="--data-option needs a built-in dataset"):
        _train_settings(args, graph)
    args = build_parser().parse_args(["train", "x.json", "--dataset", "spiral",
                                      "--data-option", "classes=9"])
    with pytest.raises(SettingsError, match=r"dataset.options.classes must be in \[2, 6\], "
                                            r"got 9"):
        _train_settings(args, graph)


def test_a_dataset_kind_is_one_declaration_with_its_make():
    """Each DatasetSpec carries how its data is made: load_dataset and load_builtin call
    it, and the list of real datasets is derived from the specs."""
    import numpy as np

    from nncore.data import BUILTIN_DATASETS, DATASETS, load_dataset

    assert BUILTIN_DATASETS == tuple(n for n, s in DATASETS.items() if s.kind == "real")
    for name, spec in DATASETS.items():
        assert callable(spec.make), name
        data = load_dataset(name)
        if spec.kind == "real":
            bunch = spec.make()
            np.testing.assert_array_equal(data.X, bunch.data.astype(np.float32))
        else:
            X, y = spec.make(**spec.defaults())
            np.testing.assert_array_equal(data.X, np.asarray(X, dtype=np.float32))
            assert data.X.shape[1] == spec.n_features
