"""TrainingRun.predict_proba: raw features through the run's own standardization, in
evaluation mode, equal to what the training path evaluates."""

from __future__ import annotations

import numpy as np
import pytest

from app.resources import examples_dir
from nncore.graph import loads
from nncore.project import TrainingRun
from nncore.tensor import Tensor, no_grad


def _run(name: str, epochs: int = 2) -> TrainingRun:
    run = TrainingRun(loads((examples_dir() / f"{name}.json").read_text()))
    run.fit(epochs)
    return run


def test_raw_validation_rows_give_the_training_paths_probabilities():
    run = _run("digits_mlp")
    sp = run.split
    raw = run.data.X[sp.val_index]
    assert raw.max() == 16.0  # raw pixels, not standardized
    p = run.predict_proba(raw)
    run.model.eval()
    with no_grad():
        expected = run.model.probabilities(run.model(Tensor(sp.X_val)).data)
    run.model.train()
    np.testing.assert_array_equal(p, expected)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
    assert run.model.training  # the mode is restored
    assert np.mean(p.argmax(axis=1) == sp.y_val) == pytest.approx(run.evaluate("val")["accuracy"])
    # one sample, as a 1-D row (another BLAS path for one row: equal to rounding)
    np.testing.assert_allclose(run.predict_proba(raw[3]), p[3:4], rtol=1e-5, atol=1e-7)


def test_regression_gives_the_predicted_values():
    run = _run("sine_regression", 3)
    sp = run.split
    raw = run.data.X[sp.val_index]
    out = run.predict_proba(raw)
    assert out.shape == (len(sp.y_val), 1)
    mse = float(np.mean((out.astype(np.float64) - sp.y_val) ** 2))
    assert mse == pytest.approx(run.evaluate("val")["mse"], rel=1e-5)


def test_rows_of_another_width_are_refused():
    run = _run("digits_mlp", 1)
    with pytest.raises(ValueError, match="64"):
        run.predict_proba(np.zeros((2, 5)))
