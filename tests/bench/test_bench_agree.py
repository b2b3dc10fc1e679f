"""The benchmark's implementations do the same work: same losses, same weights.

nncore, the hand-written NumPy step and PyTorch (when installed) train the benchmark
MLP (64-128-128-10: Linear-BatchNorm1d-ReLU x2, Linear; Adam; cross-entropy) for a few
steps in float64 from the same initial weights on the same batches. Their losses,
parameters and BatchNorm running statistics must agree to ~1e-10 relative; anything
short of that (a missing bias gradient, eps in the wrong place, biased running variance,
sum instead of mean) shows up as a difference of 1e-4 or more.

One exception, by the mathematics and not the code: the bias of a Linear that feeds a
BatchNorm has an exactly zero gradient (BatchNorm subtracts the batch mean), so each
implementation computes roundoff there, ~1e-17, and Adam turns that into an update of
lr * g / (|g| + eps), ~1e-12 per step, different in each. For those biases, and the
running means they enter, the test allows an absolute 1e-9 (a real gradient moves a
parameter by ~lr = 1e-3 a step) and checks that they did not really move.
"""

import numpy as np
import pytest

from bench.impl_numpy import NumpyMLP
from bench.mlp import SIZES, init_params, make_batches

DIMS = SIZES["64-128-128-10"].dims
STEPS = 5
BATCH = 32
RTOL = 1e-10
ATOL_ROUNDOFF = 1e-9
# Linear biases feeding a BatchNorm, and the running means they enter.
PRE_BN = {f"{3 * i}.bias" for i in range(len(DIMS) - 2)} | {
    f"{3 * i + 1}.running_mean" for i in range(len(DIMS) - 2)}


@pytest.fixture(scope="module")
def setup():
    rng = np.random.default_rng(123)
    x = rng.standard_normal((STEPS * BATCH, DIMS[0]))
    y = rng.integers(0, DIMS[-1], size=STEPS * BATCH)
    batches = make_batches(x, y, BATCH, dtype=np.float64)
    return init_params(DIMS, seed=7), batches


def train(cls, params, batches):
    impl = cls(params, DIMS, dtype=np.float64)
    batches = impl.prepare(batches)
    losses = [impl.step(xb, yb) for xb, yb in batches]
    return np.array(losses), impl.state()


def rel_err(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30)


def assert_same(got, ref, who):
    (loss_g, state_g), (loss_r, state_r) = got, ref
    assert rel_err(loss_g, loss_r) < RTOL, f"{who}: losses {loss_g} vs {loss_r}"
    assert sorted(state_g) == sorted(state_r), f"{who}: state keys differ"
    for k in state_r:
        assert state_g[k].shape == state_r[k].shape, f"{who}: {k} shape"
        assert state_g[k].dtype == np.float64, f"{who}: {k} is {state_g[k].dtype}, not float64"
        if k in PRE_BN:
            diff = np.max(np.abs(state_g[k] - state_r[k]))
            assert diff < ATOL_ROUNDOFF + RTOL * np.max(np.abs(state_r[k])), (
                f"{who}: {k} differs by {diff:.3g} (its gradient is zero up to roundoff)")
        else:
            err = rel_err(state_g[k], state_r[k])
            assert err < RTOL, f"{who}: {k} differs by {err:.3g} relative"


@pytest.fixture(scope="module")
def numpy_run(setup):
    params, batches = setup
    return train(NumpyMLP, params, batches)


def test_numpy_step_moves_every_parameter_with_a_gradient(setup, numpy_run):
    params, _ = setup
    losses, state = numpy_run
    assert np.all(np.isfinite(losses))
    for k, v in state.items():
        moved = np.max(np.abs(v - params[k]))
        if k.endswith(".bias") and k in PRE_BN:
            assert moved < ATOL_ROUNDOFF, f"{k} moved by {moved:.3g}: its gradient is zero"
        else:
            assert moved > 1e-4, f"{k} moved by only {moved:.3g}"


def test_nncore_agrees_with_numpy(setup, numpy_run):
    from bench.impl_nncore import NNCoreMLP

    params, batches = setup
    assert_same(train(NNCoreMLP, params, batches), numpy_run, "nncore vs numpy")


def test_torch_agrees_with_numpy(setup, numpy_run):
    pytest.importorskip("torch")
    from bench.impl_torch import TorchMLP

    params, batches = setup
    assert_same(train(TorchMLP, params, batches), numpy_run, "torch vs numpy")
