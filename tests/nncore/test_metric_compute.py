"""A new metric is one declaration: registered with a compute function, the Trainer
reports it for training (the size-weighted mean over minibatches, Keras' rule) and
validation (on the whole part), and EarlyStopping follows its direction."""

from __future__ import annotations

import numpy as np
import pytest

from nncore import nn, optim
from nncore.metrics import METRICS, Metric, direction, register_metric
from nncore.training import EarlyStopping, Trainer


def top2(scores: np.ndarray, y: np.ndarray) -> float:
    best2 = np.argsort(scores, axis=1)[:, -2:]
    return float(np.mean(np.any(best2 == y[:, None], axis=1)))


@pytest.fixture
def top2_metric():
    register_metric(Metric("top2", "Top-2 accuracy", "max", "the true class among the two "
                           "highest scores", "classification", compute=top2))
    yield
    METRICS.unregister("top2")


def test_a_registered_metric_is_computed_reported_and_followed(top2_metric):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((90, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0)
    Xv, yv = X[60:], y[60:]
    model = nn.Sequential(nn.Linear(4, 3, generator=np.random.default_rng(1)))
    es = EarlyStopping(monitor="val_top2", patience=50)
    assert direction("val_top2") == "max" and es.mode == "max"  # mode="auto" by default
    t = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), batch_size=16,
                callbacks=[es], generator=np.random.default_rng(2))
    history = t.fit(X[:60], y[:60], epochs=3, validation=(Xv, yv))
    assert "top2" in t.metric_names and "val_top2" in t.metric_names
    model.eval()
    expected = top2(model(Xv).data, yv)  # the final weights (patience not reached)
    assert history[-1]["val_top2"] == pytest.approx(expected)
    assert 0.0 <= history[-1]["top2"] <= 1.0
    assert t.evaluate(Xv, yv)["top2"] == pytest.approx(expected)
    assert es.best == max(h["val_top2"] for h in history)  # maximized, not minimized


def test_a_metric_for_the_other_task_is_not_computed(top2_metric):
    model = nn.Sequential(nn.Linear(2, 1))
    t = Trainer(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.01), classification=False)
    t.fit(np.zeros((8, 2), np.float32), np.zeros((8, 1), np.float32), epochs=1)
    assert "top2" not in t.metric_names
