"""Numerical faults are named: a diverging loss is reported while it trains, and a
BatchNorm given batches of one sample names its node (issue 9)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.resources import example_path
from nncore import manual_seed, nn, optim
from nncore import functional as F
from nncore.cli import main
from nncore.graph import load_graph
from nncore.graph.model import GraphError
from nncore.project import TrainingRun
from nncore.training import DIVERGENCE_FACTOR, Callback, Divergence, Trainer


class Seen(Callback):
    def __init__(self) -> None:
        self.divergences: list[Divergence] = []
        self.first_loss = None

    def on_batch_end(self, trainer, record):
        if self.first_loss is None:
            self.first_loss = record.loss

    def on_divergence(self, trainer, divergence):
        self.divergences.append(divergence)


def _data(n=256, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 4)).astype(np.float32)
    return X, (X[:, 0] + X[:, 1] > 0).astype(np.int64)


def _trainer(lr, **options):
    manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
    seen = Seen()
    t = Trainer(m, F.cross_entropy, optim.Adam(m.parameters(), lr=lr), batch_size=16,
                callbacks=[seen], **options)
    return t, seen


def test_a_loss_far_beyond_its_start_is_reported_once_while_training_goes_on():
    X, y = _data()
    t, seen = _trainer(lr=1e6)
    history = t.fit(X, y, epochs=3)
    assert len(history) == 3  # reported, not stopped
    assert len(seen.divergences) == 1 and t.divergence is seen.divergences[0]
    d = t.divergence
    assert d.reference == pytest.approx(seen.first_loss) == t.reference_loss
    assert d.loss > DIVERGENCE_FACTOR * d.reference and d.factor == DIVERGENCE_FACTOR
    assert d.epoch == 1 and d.batch >= 2  # the first batch is the reference
    assert "the loss is diverging" in d.message and f"{d.loss:.3g}" in d.message
    assert "smaller learning rate" in d.message


def test_a_converging_run_and_a_disabled_watch_report_nothing():
    X, y = _data()
    t, seen = _trainer(lr=1e-2)
    t.fit(X, y, epochs=3)
    assert t.divergence is None and seen.divergences == []
    t, seen = _trainer(lr=1e6, divergence_factor=None)
    t.fit(X, y, epochs=2)
    assert t.divergence is None and seen.divergences == []


def test_the_factor_is_a_threshold():
    """With a factor above the growth seen, no report; the same run with a smaller one
    reports it."""
    X, y = _data()
    t, _ = _trainer(lr=1.0)
    t.fit(X, y, epochs=2)
    growth = max(r["loss"] for r in t.history) / t.reference_loss
    assert growth > 1.5
    t, seen = _trainer(lr=1.0, divergence_factor=1e12)
    t.fit(X, y, epochs=2)
    assert seen.divergences == []


@pytest.mark.parametrize("factor", [0.5, 1, float("nan"), float("inf"), True, "10"])
def test_bad_divergence_factor(factor):
    with pytest.raises(ValueError, match="divergence_factor must be a finite number > 1"):
        _trainer(lr=0.1, divergence_factor=factor)


def test_the_reference_loss_survives_a_checkpoint(tmp_path):
    X, y = _data()
    t, _ = _trainer(lr=1e-2)
    t.fit(X, y, epochs=1)
    t.save_checkpoint(tmp_path / "c.npz")
    t2, _ = _trainer(lr=1e-2)
    t2.load_checkpoint(tmp_path / "c.npz")
    assert t2.reference_loss == t.reference_loss is not None


def test_cli_train_warns_while_training_and_records_it(tmp_path, capsys):
    metrics = tmp_path / "m.json"
    code = main(["train", str(example_path("digits_mlp")), "--lr", "1e6", "--epochs", "2",
                 "--metrics-out", str(metrics)])
    assert code == 0
    captured = capsys.readouterr()
    assert "warning: the loss is diverging" in captured.err
    assert "(diverged: see the warning)" in captured.out
    final = json.loads(metrics.read_text())["final"]
    assert final["diverging"].startswith("the loss is diverging")


def test_cli_train_at_a_normal_rate_does_not_warn(capsys):
    assert main(["train", str(example_path("digits_mlp")), "--epochs", "1"]) == 0
    captured = capsys.readouterr()
    assert "diverg" not in captured.err + captured.out


def test_batch_size_one_with_batchnorm_names_the_node():
    graph = load_graph(example_path("digits_mlp"))
    bn = next(n for n in graph.nodes if n.type_id == "batchnorm")
    graph.set_settings({**graph.settings,
                        "training": {**graph.settings["training"], "batch_size": 1}})
    with pytest.raises(GraphError) as info:
        TrainingRun(graph, base_dir=example_path("digits_mlp").parent)
    assert info.value.node_id == bn.id
    assert str(info.value).startswith(f"{bn.name}: BatchNorm needs at least 2 samples")
    assert "training.batch_size is 1" in str(info.value)


def test_a_node_refusing_its_batch_at_run_time_is_named():
    """Past the batch-size check (e.g. a one-sample batch given by hand), the compiled
    graph names the node whose forward refused its input."""
    graph = load_graph(example_path("digits_mlp"))
    bn = next(n for n in graph.nodes if n.type_id == "batchnorm")
    run = TrainingRun(graph, base_dir=example_path("digits_mlp").parent)
    run.model.train()
    with pytest.raises(GraphError) as info:
        run.model(run.split.X_train[:1])
    assert info.value.node_id == bn.id and str(info.value).startswith(f"{bn.name}: ")
    assert "more than one sample" in str(info.value)


def test_cli_batch_size_one_names_the_node(capsys):
    assert main(["train", str(example_path("digits_mlp")), "--batch-size", "1",
                 "--epochs", "1"]) == 1
    err = capsys.readouterr().err
    assert "BatchNorm needs at least 2 samples per batch" in err and "Traceback" not in err
