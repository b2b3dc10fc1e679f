"""Trainer: data checks, seeding, metrics, failure handling."""

from __future__ import annotations

import numpy as np
import pytest

from nncore import manual_seed, nn, optim
from nncore import functional as F
from nncore.training import EarlyStopping, Trainer, TrainingError, accuracy


def data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3)).astype(np.float32)
    return X, (X[:, 0] > 0).astype(np.int64)


def model_and_trainer(lr=0.1, **kw):
    m = nn.Sequential(nn.Linear(3, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))
    return m, Trainer(m, F.cross_entropy, optim.SGD(m.parameters(), lr=lr), batch_size=8, **kw)


def test_manual_seed_makes_a_whole_run_repeatable():
    runs = []
    for _ in range(2):
        manual_seed(0)
        _, t = model_and_trainer()
        runs.append([h["loss"] for h in t.fit(*data(), epochs=3)])
    assert runs[0] == runs[1]


def test_lists_are_accepted_and_float64_features_follow_the_model_dtype():
    X, y = data()
    m, t = model_and_trainer()
    history = t.fit(X.astype(np.float64).tolist(), y.tolist(), epochs=1)
    assert np.isfinite(history[0]["loss"])
    assert all(p.dtype == np.float32 and p.grad.dtype == np.float32 for p in m.parameters())


@pytest.mark.parametrize("X,y,message", [
    (np.zeros((0, 3)), np.zeros(0), "no samples"),
    (np.zeros((4, 3)), np.zeros(3), "4 feature rows but 3 targets"),
    (np.zeros(4), np.zeros(4), r"shape \(samples, features\)"),
    (np.array([[0, 1, 2], [0, np.nan, 1]]), np.zeros(2), "features contain NaN or infinity \\(first in row 1\\)"),
    (np.zeros((2, 3)), np.array([0.0, np.inf]), "targets contain NaN"),
])
def test_bad_training_data_is_refused_before_training(X, y, message):
    m, t = model_and_trainer()
    before = m.state_dict()
    with pytest.raises(ValueError, match=message):
        t.fit(X, y, epochs=1)
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_string_data_and_bad_arguments():
    m, t = model_and_trainer()
    with pytest.raises(TypeError, match="numbers"):
        t.fit(np.array([["a", "b", "c"]]), np.zeros(1), epochs=1)
    with pytest.raises(TypeError, match="batch_size must be an integer"):
        Trainer(m, F.cross_entropy, optim.SGD(m.parameters()), batch_size=2.7)
    with pytest.raises(ValueError, match="epochs"):
        t.fit(*data(), epochs=-1)


def test_accuracy_shape_errors_happen_before_any_update():
    m = nn.Sequential(nn.Linear(3, 1))
    t = Trainer(m, F.binary_cross_entropy_with_logits, optim.SGD(m.parameters(), lr=0.1))
    X, y = data()
    before = m.state_dict()
    with pytest.raises(ValueError, match=r"accuracy needs outputs of shape \(N, C\).*classification=False"):
        t.fit(X, y[:, None].astype(np.float32), epochs=1)
    np.testing.assert_array_equal(m.state_dict()["0.weight"], before["0.weight"])
    t.classification = False
    history = t.fit(X, y[:, None].astype(np.float32), epochs=2)
    assert "accuracy" not in history[-1] and history[-1]["loss"] < history[0]["loss"] * 1.5


def test_accuracy_function():
    assert accuracy(np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([1, 1])) == 0.5
    assert np.isnan(accuracy(np.zeros((0, 2)), np.zeros(0)))


def test_early_stopping_misconfiguration_fails_before_training():
    m, t = model_and_trainer(callbacks=[EarlyStopping(monitor="val_acc")])
    before = m.state_dict()
    X, y = data()
    with pytest.raises(ValueError, match="'val_acc'.*val_accuracy"):
        t.fit(X, y, epochs=2, validation=(X, y))
    m2, t2 = model_and_trainer(callbacks=[EarlyStopping()])
    with pytest.raises(ValueError, match="add a validation split"):
        t2.fit(X, y, epochs=2)
    np.testing.assert_array_equal(m.state_dict()["0.weight"], before["0.weight"])


def test_diverging_training_reports_the_batch_and_keeps_buffers_finite():
    m, t = model_and_trainer(lr=1e30)
    with pytest.raises(TrainingError, match=r"loss became (nan|inf) at epoch \d+, batch \d+"):
        with np.errstate(all="ignore"):
            t.fit(*data(), epochs=20)
    assert np.all(np.isfinite(m[1].running_mean)) and np.all(np.isfinite(m[1].running_var))


def test_scheduler_is_stepped_per_epoch():
    m, t = model_and_trainer(lr=0.1)
    t.scheduler = optim.lr_scheduler.StepLR(t.optimizer, step_size=1, gamma=0.5)
    history = t.fit(*data(), epochs=3)
    assert [h["lr"] for h in history] == [0.1, 0.05, 0.025]


@pytest.mark.parametrize("max_norm", [None, 0.01])
def test_gradient_clipping_bounds_the_update(max_norm):
    manual_seed(1)
    m = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 2))
    lr = 1.0
    t = Trainer(m, F.cross_entropy, optim.SGD(m.parameters(), lr=lr), batch_size=40,
                max_grad_norm=max_norm)
    before = [p.data.copy() for p in m.parameters()]
    t.fit(*data(), epochs=1)  # one step: 40 samples, batch 40
    step = np.sqrt(sum(float(((p.data - b) ** 2).sum()) for p, b in zip(m.parameters(), before)))
    if max_norm is None:
        assert step > 0.05
    else:
        assert step == pytest.approx(lr * max_norm, rel=1e-3)
    with pytest.raises(ValueError, match="max_grad_norm"):
        model_and_trainer(max_grad_norm=0)
