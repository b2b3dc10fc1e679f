"""Keeping what was trained (issue 12): a project file with its runs and the trained model
(nncore.project.saved). The digits trained 3 epochs, saved, reopened in a fresh
TrainingRun: the validation predictions are equal bit for bit, the history is equal,
training goes on exactly; every kind of bad weights file is said, naming the file, and the
project still opens."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from nncore.graph import load_graph
from nncore.graph.io import save_graph
from nncore.project import TrainingRun
from nncore.project.saved import (RunRecord, SavedModel, load_project, network_fingerprint,
                                  save_project)
from nncore.tensor import Tensor, no_grad

EXAMPLES = Path(__file__).resolve().parents[2] / "app" / "resources" / "examples"


def _scores(run: TrainingRun) -> np.ndarray:
    run.model.eval()
    with no_grad():
        return run.model(Tensor(run.split.X_val)).data.copy()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The digits example trained 3 epochs and saved with its run: (folder, run, scores)."""
    folder = tmp_path_factory.mktemp("saved")
    graph = load_graph(EXAMPLES / "digits_mlp.json")
    run = TrainingRun(graph)
    history = run.fit(3)
    record = RunRecord("Run 1: adam lr=0.002 · digits", dict(run.graph.settings), history,
                       trained=True,
                       curves={"step": np.arange(1.0, 70.0), "step_loss": np.linspace(2, 0.5, 69),
                               "step_lr": np.full(69, 0.002)})
    weights = save_project(folder / "digits.json", graph,
                           [RunRecord("Run 0: sgd", {}, [{"epoch": 1.0, "loss": float("nan")}],
                                      "failed", message="diverged"), record],
                           SavedModel.from_run(run, graph, None, record.name))
    assert weights == folder / "digits.npz"
    return folder, run, _scores(run), history


def _copy(trained, tmp_path):
    folder = trained[0]
    for name in ("digits.json", "digits.npz"):
        shutil.copy(folder / name, tmp_path / name)
    return tmp_path / "digits.json", tmp_path / "digits.npz"


def test_reopened_model_predicts_bit_for_bit_and_keeps_the_history(trained):
    folder, run, scores, history = trained
    pf = load_project(folder / "digits.json")
    assert pf.problem is None
    assert [r.name for r in pf.runs] == ["Run 0: sgd", "Run 1: adam lr=0.002 · digits"]
    assert pf.trained_run == 1 and pf.runs[1].trained and not pf.runs[0].trained
    assert pf.runs[1].history == history  # every value, exactly
    assert pf.runs[0].status == "failed" and pf.runs[0].message == "diverged"
    assert np.isnan(pf.runs[0].history[0]["loss"])  # NaN written as null, read back
    np.testing.assert_array_equal(pf.runs[1].curves["step_loss"], np.linspace(2, 0.5, 69))
    model = pf.model
    assert model.epoch == 3 and model.classes == [str(i) for i in range(10)]
    assert model.metrics["val_accuracy"] == run.evaluate("val")["accuracy"]
    again = TrainingRun(pf.graph)
    assert model.restore(again) is True  # the whole trainer state
    np.testing.assert_array_equal(_scores(again), scores)
    assert again.trainer.history == history
    # from the raw features, through the saved standardization
    raw = run.data.X[run.split.val_index]
    probabilities = model.predict(pf.graph, raw)
    np.testing.assert_array_equal(probabilities, run.model.probabilities(scores))
    assert probabilities.shape == (360, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(model.mean, run.split.mean)


def test_training_on_from_the_saved_state_equals_training_without_a_break(trained, tmp_path):
    graph = load_graph(EXAMPLES / "digits_mlp.json")
    straight = TrainingRun(graph)
    straight.fit(5)
    pf = load_project(trained[0] / "digits.json")
    resumed = TrainingRun(pf.graph)
    pf.model.restore(resumed)
    resumed.fit(2)
    strip = [{k: v for k, v in e.items() if k != "time"} for e in straight.trainer.history]
    assert [{k: v for k, v in e.items() if k != "time"} for e in resumed.trainer.history] \
        == strip
    for (k, a), (_, b) in zip(straight.model.state_dict().items(),
                              resumed.model.state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=k)


def test_save_load_save_is_byte_identical(trained, tmp_path):
    pf = load_project(trained[0] / "digits.json")
    save_project(tmp_path / "digits.json", pf.graph, pf.runs, pf.model)
    assert (tmp_path / "digits.json").read_bytes() == (trained[0] / "digits.json").read_bytes()
    pf2 = load_project(tmp_path / "digits.json")
    assert pf2.problem is None and pf2.model.epoch == 3


def test_file_layout_version_3_and_nothing_pickled(trained):
    data = json.loads((trained[0] / "digits.json").read_text())
    assert data["version"] == 3 and data["weights"] == "digits.npz"
    assert data["trained"]["network"] == network_fingerprint(load_graph(
        EXAMPLES / "digits_mlp.json"))
    assert data["runs"][0]["history"][0]["loss"] is None
    with np.load(trained[0] / "digits.npz", allow_pickle=False) as f:
        names = set(f.files)
        assert all(f[n].dtype != object for n in names)
    assert {"preprocessing/mean", "preprocessing/scale", "__meta__", "__saved__",
            "runs/1/step_loss"} <= names
    assert any(n.startswith("model/") for n in names)
    assert any(n.startswith("optimizer/") for n in names)


def test_an_old_format_file_opens_as_before(tmp_path):
    pf = load_project(EXAMPLES / "digits_mlp.json")  # version 2, no runs, no weights
    assert pf.runs == [] and pf.model is None and pf.problem is None
    assert len(pf.graph) == 6
    # and a graph without runs or weights is still written as version 2
    save_project(tmp_path / "plain.json", pf.graph)
    assert json.loads((tmp_path / "plain.json").read_text())["version"] == 2
    assert not (tmp_path / "plain.npz").exists()


def test_a_truncated_weights_file_is_said_and_the_project_opens(trained, tmp_path):
    project, weights = _copy(trained, tmp_path)
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    pf = load_project(project)
    assert pf.model is None and len(pf.graph) == 6 and len(pf.runs) == 2
    assert str(weights) in pf.problem and "without its trained model" in pf.problem
    assert "not a readable .npz" in pf.problem or "damaged" in pf.problem


def test_a_damaged_member_is_said(trained, tmp_path):
    project, weights = _copy(trained, tmp_path)
    data = bytearray(weights.read_bytes())
    with zipfile.ZipFile(weights) as z:
        info = z.getinfo("model/Dense.weight.npy") if "model/Dense.weight.npy" in \
            z.namelist() else z.infolist()[0]
    start = info.header_offset + 30 + len(info.filename) + 200
    data[start:start + 16] = b"\xff" * 16  # bits flipped inside an array
    weights.write_bytes(bytes(data))
    pf = load_project(project)
    assert pf.model is None and str(weights) in pf.problem
    assert "damaged" in pf.problem


def test_a_weights_array_of_the_wrong_shape_is_named(trained, tmp_path):
    project, weights = _copy(trained, tmp_path)
    with np.load(weights, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    name = next(k for k in arrays if k.startswith("model/") and k.endswith("weight"))
    arrays[name] = np.zeros((3, 3), np.float32)
    np.savez(weights, **arrays)
    pf = load_project(project)
    assert pf.model is None and len(pf.runs) == 2
    assert str(weights) in pf.problem
    assert "has shape (3, 3) in the file, the network needs" in pf.problem


def test_a_missing_weights_file_is_said(trained, tmp_path):
    project, weights = _copy(trained, tmp_path)
    weights.unlink()
    pf = load_project(project)
    assert pf.model is None and len(pf.runs) == 2 and len(pf.graph) == 6
    assert f"{weights}: the weights file is missing" in pf.problem
    assert pf.runs[1].curves == {}  # the per-batch curves were in it: the history stays
    assert len(pf.runs[1].history) == 3


def test_the_weights_of_another_network_are_refused(trained, tmp_path):
    project, weights = _copy(trained, tmp_path)
    other = load_graph(EXAMPLES / "digits_mlp.json")
    dense = other.node_by_name("Dense")
    other.set_param(dense.id, "units", 32)
    run = TrainingRun(other)
    run.fit(1)
    save_project(tmp_path / "other.json", other, (), SavedModel.from_run(run, other))
    shutil.copy(tmp_path / "other.npz", weights)  # another project's weights file
    pf = load_project(project)
    assert pf.model is None and str(weights) in pf.problem
    assert "weights of another network" in pf.problem


def test_a_network_edited_since_the_save_is_told(trained, tmp_path):
    project, weights = _copy(trained, tmp_path)
    data = json.loads(project.read_text())
    relu = next(n for n in data["nodes"] if n["type"] == "relu")
    relu["type"] = "tanh"  # same shapes: only the fingerprint tells
    project.write_text(json.dumps(data))
    pf = load_project(project)
    assert pf.model is None and len(pf.graph) == 6
    assert "another version of this network" in pf.problem


def test_weights_of_save_weights_without_preprocessing_still_load(tmp_path):
    graph = load_graph(EXAMPLES / "digits_mlp.json")
    run = TrainingRun(graph)
    run.fit(1)
    save_graph(tmp_path / "old.json", graph, weights=run.model.state_dict())
    pf = load_project(tmp_path / "old.json")
    assert pf.problem is None and pf.model is not None and pf.model.shape is None
    again = TrainingRun(pf.graph)
    assert pf.model.restore(again) is False  # weights only: no trainer state was saved
    np.testing.assert_array_equal(_scores(again), _scores(run))
    with pytest.raises(ValueError, match="saved without their data's shape"):
        pf.model.predict(pf.graph, run.split.X_val)


def test_a_wrong_feature_count_is_named():
    graph = load_graph(EXAMPLES / "digits_mlp.json")
    run = TrainingRun(graph)
    run.fit(1)
    model = SavedModel.from_run(run, graph)
    with pytest.raises(ValueError, match=r"needs 64 features per row \(pixel_0_0, .*got rows "
                                         r"of 63"):
        model.predict(graph, np.zeros((2, 63), np.float32))


def test_changed_settings_restore_the_weights_and_history_with_a_fresh_optimizer(trained):
    pf = load_project(trained[0] / "digits.json")
    graph = pf.graph
    graph.set_settings({**graph.settings, "training": {**graph.settings["training"],
                                                       "optimizer_options": {"lr": 0.01}}})
    run = TrainingRun(graph)
    assert pf.model.restore(run) is False  # not the settings it was trained with
    np.testing.assert_array_equal(_scores(run), trained[2])
    assert [e["epoch"] for e in run.trainer.history] == [1, 2, 3]
    steps = run.trainer.global_step
    assert steps == 3 * 23
    assert run.optimizer.state_dict()["state"] == {}  # the optimizer starts afresh
    run.fit(1)
    assert [e["epoch"] for e in run.trainer.history] == [1, 2, 3, 4]
    assert run.trainer.global_step == steps + 23
