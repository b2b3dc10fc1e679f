"""Property-based tests (hypothesis): broadcasting gradients, softmax and cross-entropy
invariants over many random shapes and extreme values."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nncore import Tensor
from nncore import functional as F

FINITE = st.floats(min_value=-1e150, max_value=1e150, allow_nan=False, allow_infinity=False,
                   allow_subnormal=False)


def _reference_grad(other: np.ndarray, shape: tuple[int, ...], out_shape: tuple[int, ...]) -> np.ndarray:
    """d/da sum(a * b) where a of ``shape`` is broadcast: sum b over the broadcast axes."""
    full = np.broadcast_to(other, out_shape)
    lead = len(out_shape) - len(shape)
    reduced = full.sum(axis=tuple(range(lead))) if lead else full
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and reduced.shape[i] != 1)
    return reduced.sum(axis=axes, keepdims=True) if axes else reduced


@settings(max_examples=60, deadline=None)
@given(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4),
       st.integers(0, 2**32 - 1))
def test_broadcast_gradients_match_explicit_reduction(shapes, seed):
    (sa, sb), out_shape = shapes.input_shapes, shapes.result_shape
    rng = np.random.default_rng(seed)
    a = Tensor(rng.standard_normal(sa), requires_grad=True)
    b = Tensor(rng.standard_normal(sb), requires_grad=True)
    (a * b).sum().backward()
    np.testing.assert_allclose(a.grad, _reference_grad(b.data, sa, out_shape), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(b.grad, _reference_grad(a.data, sb, out_shape), rtol=1e-12, atol=1e-12)
    assert a.grad.shape == sa and b.grad.shape == sb
    a.grad = b.grad = None
    (a + b).sum().backward()
    np.testing.assert_allclose(a.grad, _reference_grad(np.ones(sb), sa, out_shape))


@settings(max_examples=100, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=6),
                  elements=FINITE), st.floats(-1e100, 1e100))
def test_softmax_is_a_distribution_invariant_to_shifts_and_never_warns(x, shift):
    with np.errstate(all="raise"):
        p = F.softmax(Tensor(x)).data
        logp = F.log_softmax(Tensor(x)).data
    assert np.all(np.isfinite(p)) and np.all(p >= 0) and np.all(p <= 1)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
    assert np.all(logp <= 0) and np.all(np.isfinite(logp))
    x_small = np.clip(x, -1e3, 1e3)  # a shift of a huge row changes it by rounding
    shifted = x_small + np.clip(shift, -1e3, 1e3)
    np.testing.assert_allclose(F.softmax(Tensor(shifted)).data, F.softmax(Tensor(x_small)).data,
                               rtol=1e-9, atol=1e-300)


@settings(max_examples=100, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=6),
                  elements=FINITE), st.data())
def test_cross_entropy_is_finite_nonnegative_and_matches_log_softmax(x, data):
    n, c = x.shape
    y = np.array(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    z = Tensor(x, requires_grad=True)
    with np.errstate(all="raise"):
        loss = F.cross_entropy(z, y)
        loss.backward()
    expected = -F.log_softmax(Tensor(x)).data[np.arange(n), y].mean()
    assert np.isfinite(loss.item()) and loss.item() >= 0
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-12, atol=1e-300)
    assert np.all(np.isfinite(z.grad))
    np.testing.assert_allclose(z.grad.sum(axis=1), 0.0, atol=1e-12)  # softmax - onehot rows sum to 0


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.float32, hnp.array_shapes(min_dims=1, max_dims=3, max_side=5),
                  elements=st.floats(width=32, allow_nan=False, allow_infinity=False,
                                                   allow_subnormal=False)))
def test_sigmoid_and_bce_with_logits_are_finite_for_any_float32(x):
    with np.errstate(all="raise"):
        s = F.sigmoid(Tensor(x)).data
        loss = F.binary_cross_entropy_with_logits(Tensor(x), np.ones_like(x), reduction="none").data
    assert s.dtype == np.float32 and loss.dtype == np.float32
    assert np.all((s >= 0) & (s <= 1)) and np.all(np.isfinite(loss)) and np.all(loss >= 0)
