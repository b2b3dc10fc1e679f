"""Engine defects found by comparing with PyTorch (issue 8), and EarlyStopping against
Keras 3 when the first monitored value is not finite.

PyTorch is not installed in the test environment, so the expected values are written
out (computed by hand, or with PyTorch 2.x where the docstring says so).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from nncore import Tensor, nn
from nncore import functional as F
from nncore.gradcheck import gradcheck
from nncore.training import EarlyStopping


def T(a, grad=True, dtype=np.float64):
    return Tensor(np.asarray(a, dtype=dtype), requires_grad=grad)


# --------------------------------------------------------------------------- transpose
def test_transpose_backward_normalizes_negative_axes():
    """torch.permute(x, (0, -1, 1)): the gradient is permuted back by [0, 2, 1]. The
    shapes coincide on a (2, 2, 2) tensor, so a wrong inverse is silently wrong."""
    rng = np.random.default_rng(0)
    x = T(rng.standard_normal((2, 2, 2)))
    w = rng.standard_normal((2, 2, 2))
    y = F.transpose(x, (0, -1, 1))
    np.testing.assert_array_equal(y.data, np.transpose(x.data, (0, 2, 1)))
    (y * Tensor(w)).sum().backward()
    np.testing.assert_array_equal(x.grad, np.transpose(w, (0, 2, 1)))


def test_transpose_negative_axes_gradcheck_4d():
    rng = np.random.default_rng(1)
    x = T(rng.standard_normal((2, 2, 2, 2)))
    gradcheck(lambda a: F.transpose(a, (-3, 0, -1, 2)), [x])
    gradcheck(lambda a: F.transpose(a, (0, -1, 1, -2)), [x])


# --------------------------------------------------------------------------- batch norm
def test_batch_norm_float16_accumulates_in_float32():
    """PyTorch (CPU, float16 input and module): [[0], [200], [400], [600]] normalizes to
    ±1.341, ±0.447; in float16 the squared deviations (90000) would overflow."""
    bn = nn.BatchNorm1d(1)
    bn.weight.data = bn.weight.data.astype(np.float16)
    bn.bias.data = bn.bias.data.astype(np.float16)
    bn.running_mean = bn.running_mean.astype(np.float16)
    bn.running_var = bn.running_var.astype(np.float16)
    x = Tensor(np.array([[0.0], [200.0], [400.0], [600.0]], dtype=np.float16),
               requires_grad=True)
    out = bn(x)
    assert out.dtype == np.float16
    np.testing.assert_allclose(out.data[:, 0], [-1.3416, -0.4472, 0.4472, 1.3416], rtol=2e-3)
    w = np.array([[1.0], [2.0], [4.0], [8.0]], dtype=np.float16)
    (out * Tensor(w)).sum().backward()
    # expected in float64: dx = (g - mean(g) - x_hat * mean(g * x_hat)) / std
    xd = np.array([0.0, 200.0, 400.0, 600.0])
    std = math.sqrt(xd.var() + 1e-5)
    x_hat = (xd - xd.mean()) / std
    g = w[:, 0].astype(np.float64)
    dx = (g - g.mean() - x_hat * np.mean(g * x_hat)) / std
    assert x.grad.dtype == np.float16 and bn.weight.grad.dtype == np.float16
    assert np.all(x.grad != 0)
    np.testing.assert_allclose(x.grad[:, 0], dx, rtol=1e-2)
    np.testing.assert_allclose(bn.weight.grad, [np.sum(g * x_hat)], rtol=1e-3)
    np.testing.assert_allclose(bn.bias.grad, [g.sum()], rtol=1e-3)
    # running statistics: 0.9 * init + 0.1 * batch (unbiased variance 66666.7)
    assert bn.running_mean.dtype == np.float16
    np.testing.assert_allclose(bn.running_mean, [30.0], rtol=1e-3)
    np.testing.assert_allclose(bn.running_var, [0.9 + 0.1 * 200000 / 3], rtol=1e-3)


def test_batch_norm_float16_eval_mode_matches_float32():
    rm, rv = np.array([300.0], np.float16), np.array([50000.0], np.float16)
    x = np.array([[0.0], [600.0]], dtype=np.float16)
    out = F.batch_norm(Tensor(x), rm, rv, training=False)
    assert out.dtype == np.float16
    np.testing.assert_allclose(out.data[:, 0], [-1.3416, 1.3416], rtol=2e-3)


# --------------------------------------------------------------------------- relu
def test_relu_gradient_passes_through_nan_input():
    """torch.relu(nan) is nan and its gradient there is the incoming gradient
    (threshold_backward: grad where not output <= 0), so the NaN stays visible."""
    x = T([math.nan, -1.0, 2.0, 0.0])
    y = F.relu(x)
    assert math.isnan(y.data[0])
    y.backward(np.array([5.0, 5.0, 5.0, 5.0]))
    np.testing.assert_array_equal(x.grad, [5.0, 0.0, 5.0, 0.0])
    x2 = T([math.nan, 1.0])
    F.relu(x2).sum().backward()
    assert x2.grad[0] == 1.0  # and a NaN incoming gradient would stay NaN


# --------------------------------------------------------------------------- cross entropy
def test_cross_entropy_unbatched_logits_with_scalar_target():
    """PyTorch: F.cross_entropy(torch.tensor([1., 2., 3.]), torch.tensor(2)) is
    log(e + e^2 + e^3) - 3 = 0.40760596, a 0-d tensor; the gradient softmax - one_hot."""
    z = T([1.0, 2.0, 3.0])
    loss = F.cross_entropy(z, np.array(2))
    assert loss.shape == ()
    assert loss.item() == pytest.approx(0.40760596444438, rel=1e-12)
    loss.backward()
    p = np.exp([1.0, 2.0, 3.0]) / np.exp([1.0, 2.0, 3.0]).sum()
    np.testing.assert_allclose(z.grad, p - [0.0, 0.0, 1.0], rtol=1e-12)
    assert z.grad.shape == (3,)
    # a plain int and reduction="none" (also 0-d in PyTorch)
    assert F.cross_entropy(T([1.0, 2.0, 3.0]), 2).item() == pytest.approx(0.40760596444438)
    assert F.cross_entropy(T([1.0, 2.0, 3.0]), 0, reduction="none").shape == ()


def test_cross_entropy_unbatched_gradcheck_and_probability_target():
    rng = np.random.default_rng(2)
    z = T(rng.standard_normal(4))
    gradcheck(lambda a: F.cross_entropy(a, np.array(1)), [z])
    gradcheck(lambda a: F.cross_entropy(a, np.array(3), label_smoothing=0.1), [z])
    probs = np.array([0.1, 0.2, 0.3, 0.4])
    gradcheck(lambda a: F.cross_entropy(a, probs), [z])
    batched = F.cross_entropy(Tensor(z.data[None]), probs[None]).item()
    assert F.cross_entropy(Tensor(z.data), probs).item() == pytest.approx(batched, rel=1e-12)


def test_cross_entropy_unbatched_refuses_bad_targets():
    with pytest.raises(ValueError, match="out of range for 3 classes"):
        F.cross_entropy(T([1.0, 2.0, 3.0]), np.array(3))
    with pytest.raises(ValueError, match="does not fit"):
        F.cross_entropy(T([1.0, 2.0, 3.0]), np.array([0, 1]))


# --------------------------------------------------------------------------- early stopping
class _Scripted:
    """A stand-in trainer: the weight records the epoch, the monitored values are given."""

    def __init__(self, values, monitor="val_loss"):
        self.values, self.monitor = values, monitor
        self.model = nn.Linear(1, 1, bias=False).double()
        self.stop_training = False

    def run(self, es, epochs=None):
        es.on_train_begin(self)
        ran = 0
        for epoch in range(1, (epochs or len(self.values)) + 1):
            self.model.weight.data[...] = epoch
            ran = epoch
            es.on_epoch_end(self, epoch, {self.monitor: self.values[epoch - 1]})
            if self.stop_training:
                break
        es.on_train_end(self)
        return ran


def test_early_stopping_inf_first_does_not_stop_after_epoch_1():
    """Keras 3: the first monitored value is the reference (even inf) and training never
    stops at the first epoch; a finite value then improves on inf."""
    t = _Scripted([math.inf, 1.0, 2.0, 3.0])
    es = EarlyStopping(patience=1)
    assert t.run(es) == 3
    assert es.best == 1.0 and es.best_epoch == 2 and es.stopped_epoch == 3
    assert t.model.weight.data[0, 0] == 2.0  # the best epoch's weights restored


@pytest.mark.parametrize("first", [math.nan, math.inf])
def test_early_stopping_nonfinite_first_patience_0(first):
    t = _Scripted([first, 1.0, 1.5])
    es = EarlyStopping(patience=0)
    assert t.run(es) == 3  # not after epoch 1 (Keras: `epoch > 0`), after the first bad one
    assert es.best_epoch == 2


def test_early_stopping_nan_never_improves():
    """A NaN is never an improvement (every comparison with NaN is false) and never the
    best value: a later finite value improves."""
    t = _Scripted([math.nan, 1.0, 2.0, 3.0])
    es = EarlyStopping(patience=1)
    assert t.run(es) == 3 and es.best == 1.0 and es.best_epoch == 2
    t = _Scripted([1.0, math.nan, 0.5, 0.7])
    es = EarlyStopping(patience=2)
    assert t.run(es) == 4 and es.best == 0.5 and es.best_epoch == 3 and es.stopped_epoch == 0


def test_early_stopping_all_nan_runs_patience_plus_one_epochs_like_keras():
    """Keras 3 counts patience from the first monitored epoch: all-NaN values with
    patience 2 stop after epoch 3, keeping the first epoch's weights."""
    t = _Scripted([math.nan] * 6)
    es = EarlyStopping(patience=2)
    assert t.run(es) == 3
    assert es.stopped_epoch == 3 and es.best_epoch == 1
    assert t.model.weight.data[0, 0] == 1.0


def test_early_stopping_minus_inf_first_in_max_mode():
    t = _Scripted([-math.inf, 0.5, 0.4], monitor="val_accuracy")
    es = EarlyStopping(monitor="val_accuracy", mode="max", patience=1)
    assert t.run(es) == 3 and es.best == 0.5 and es.best_epoch == 2
