"""nncore.metrics: classification and regression metrics, fixed-edge histograms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import r2_score as sk_r2

import nncore.training
from nncore.metrics import (Histogram, accuracy, confusion_matrix, histogram, mse,
                            nice_edges, per_class_accuracy, r2_score)


# ---------------------------------------------------------------------------- accuracy
def test_accuracy_moved_and_reexported():
    assert nncore.training.accuracy is accuracy
    assert accuracy(np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([1, 1])) == 0.5
    assert math.isnan(accuracy(np.zeros((0, 3)), np.zeros(0)))
    with pytest.raises(ValueError, match=r"accuracy needs outputs of shape \(N, C\)"):
        accuracy(np.zeros((4, 1)).ravel(), np.zeros(4))


# ---------------------------------------------------------------------------- confusion
def test_confusion_matrix_by_hand_with_an_absent_class():
    logits = np.array([[5.0, 0, 0, 0],    # true 0 -> 0
                       [0, 5.0, 0, 0],    # true 0 -> 1
                       [0, 5.0, 0, 0],    # true 1 -> 1
                       [0, 0, 5.0, 0],    # true 2 -> 2
                       [5.0, 0, 0, 0],    # true 2 -> 0
                       [0, 0, 0, 5.0]])   # true 1 -> 3 (class 3 never true)
    target = np.array([0, 0, 1, 2, 2, 1])
    expected = np.array([[1, 1, 0, 0],
                         [0, 1, 0, 1],
                         [1, 0, 1, 0],
                         [0, 0, 0, 0]])
    cm = confusion_matrix(logits, target, num_classes=4)
    assert cm.dtype == np.int64 and cm.shape == (4, 4)
    np.testing.assert_array_equal(cm, expected)
    # the same from predicted class indices, and with float targets holding whole numbers
    np.testing.assert_array_equal(
        confusion_matrix(np.array([0, 1, 1, 2, 0, 3]), target.astype(np.float32), 4), expected)
    # a class absent from the split still has its row and column (5 classes here)
    cm5 = confusion_matrix(logits, target, num_classes=5)
    assert cm5.shape == (5, 5) and cm5[4].sum() == 0 and cm5[:, 4].sum() == 0
    np.testing.assert_array_equal(cm5[:4, :4], expected)
    pca = per_class_accuracy(logits, target, 5)
    np.testing.assert_array_equal(pca[:3], [0.5, 0.5, 0.5])
    assert np.isnan(pca[3]) and np.isnan(pca[4]) and pca.dtype == np.float64


def test_confusion_matrix_empty_and_errors():
    np.testing.assert_array_equal(confusion_matrix(np.zeros((0, 3)), np.zeros(0, int), 3),
                                  np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"class 3 at position 1, outside \[0, 3\)"):
        confusion_matrix(np.zeros((2, 3)), np.array([0, 3]), 3)
    with pytest.raises(ValueError, match="predictions hold class 4"):
        confusion_matrix(np.array([0, 4]), np.array([0, 1]), 3)
    with pytest.raises(ValueError, match="whole class indices, got 0.5"):
        confusion_matrix(np.zeros((1, 2)), np.array([0.5]), 2)
    with pytest.raises(ValueError, match="num_classes must be a positive integer"):
        confusion_matrix(np.zeros((1, 2)), np.array([0]), 0)
    with pytest.raises(ValueError, match="2 output rows but 3 targets"):
        confusion_matrix(np.zeros((2, 2)), np.array([0, 1, 1]), 2)


# ---------------------------------------------------------------------------- regression
def test_mse_by_hand_and_shapes():
    assert mse([1.0, 2.0, 3.0], [1.0, 0.0, 0.0]) == pytest.approx(13 / 3)
    assert mse(np.array([[1.0], [2.0]]), np.array([0.0, 0.0])) == pytest.approx(2.5)
    assert math.isnan(mse(np.zeros(0), np.zeros(0)))
    with pytest.raises(ValueError, match=r"\(3,\) and targets of shape \(2,\)"):
        mse(np.zeros(3), np.zeros(2))


def test_r2_matches_sklearn():
    rng = np.random.default_rng(0)
    y = rng.standard_normal(50)
    p = y + 0.3 * rng.standard_normal(50)
    assert r2_score(p, y) == pytest.approx(sk_r2(y, p), rel=1e-12)
    Y = rng.standard_normal((40, 3)) * [1.0, 10.0, 0.1] + [0.0, 100.0, -5.0]
    P = Y + rng.standard_normal((40, 3))
    assert r2_score(P, Y) == pytest.approx(sk_r2(Y, P), rel=1e-12)
    # (N, 1) outputs against (N,) targets, float32 inputs
    assert r2_score(p[:, None].astype(np.float32), y) == pytest.approx(
        sk_r2(y, p.astype(np.float32)), rel=1e-6)
    # worse than the mean: negative
    assert r2_score(-y, y) == pytest.approx(sk_r2(y, -y)) and r2_score(-y, y) < 0


def test_r2_constant_target_follows_sklearn_force_finite():
    c = np.full(5, 2.0)
    assert r2_score(c, c) == 1.0 == sk_r2(c, c)
    assert r2_score(c + 1, c) == 0.0 == sk_r2(c, c + 1)
    # one constant column among others: averaged as sklearn does
    Y = np.stack([np.full(6, 3.0), np.arange(6.0)], axis=1)
    P = Y + np.array([[0.5, 0.1]] * 6)
    assert r2_score(P, Y) == pytest.approx(sk_r2(Y, P))
    assert math.isnan(r2_score([1.0], [2.0]))


# ---------------------------------------------------------------------------- histograms
def test_histogram_counts_finite_values_as_numpy_and_clips_the_rest():
    rng = np.random.default_rng(1)
    v = (rng.standard_normal(1000) * 2).astype(np.float32)
    v[:7] = np.nan
    v[7:10] = [np.inf, -np.inf, np.inf]
    edges = np.linspace(-3, 3, 13)
    h = histogram(v.reshape(10, 100), edges)
    finite = v[np.isfinite(v)]
    assert h.nonfinite == 10
    assert h.clipped == int(np.sum(finite < -3) + np.sum(finite > 3))
    inside = finite[(finite >= -3) & (finite <= 3)]
    expected_inside = np.histogram(inside, edges)[0]
    expected = np.histogram(np.clip(finite.astype(np.float64), -3, 3), edges)[0]
    np.testing.assert_array_equal(h.counts, expected)
    assert h.counts[0] - expected_inside[0] == np.sum(finite < -3)
    assert h.counts[-1] - expected_inside[-1] == np.sum(finite > 3)
    np.testing.assert_array_equal(h.counts[1:-1], expected_inside[1:-1])
    assert h.counts.dtype == np.int64 and h.edges.dtype == np.float64
    assert h.total == 1000 and h.counts.sum() == 990
    assert not np.shares_memory(h.edges, edges)
    np.testing.assert_allclose(h.centers, (edges[:-1] + edges[1:]) / 2)


@pytest.mark.parametrize("seed", range(6))
def test_histogram_fast_path_equals_numpy_even_on_the_edges(seed):
    """Evenly spaced edges take an O(n) path; it must count exactly as np.histogram,
    values lying exactly on an edge included (bins [a, b), the last one closed)."""
    rng = np.random.default_rng(seed)
    dtype = (np.float32, np.float64)[seed % 2]
    scale = 10.0 ** rng.integers(-4, 4)
    v = (rng.standard_normal(5000) * scale).astype(dtype)
    edges = nice_edges(v, int(rng.integers(3, 60)))
    on_edges = rng.choice(edges, 500).astype(dtype)  # on an edge (as close as dtype can)
    v = np.concatenate([v, on_edges, edges.astype(dtype)])
    h = histogram(v, edges)
    inside = np.clip(v.astype(np.float64), edges[0], edges[-1])
    np.testing.assert_array_equal(h.counts, np.histogram(inside, edges)[0])
    # uneven edges go the sorting way, with the same result
    uneven = np.sort(np.concatenate([edges[:1], rng.uniform(edges[0], edges[-1], 9), edges[-1:]]))
    np.testing.assert_array_equal(histogram(v, uneven).counts,
                                  np.histogram(np.clip(v.astype(np.float64), uneven[0], uneven[-1]),
                                               uneven)[0])


def test_histogram_empty_and_all_nan_never_raise():
    edges = np.array([0.0, 1.0, 2.0])
    for values in (np.zeros(0), np.full((3, 4), np.nan), np.array([np.inf, -np.inf])):
        h = histogram(values, edges)
        assert isinstance(h, Histogram)
        np.testing.assert_array_equal(h.counts, [0, 0])
        assert h.nonfinite == values.size and h.clipped == 0
    h = histogram(np.array([0, 1, 2, 2, 5]), edges)  # integers; 2 is in the last bin
    np.testing.assert_array_equal(h.counts, [1, 4]) and h.clipped == 1


@pytest.mark.parametrize("edges", [[1.0], [[0.0, 1.0]], [0.0, 0.0, 1.0], [0.0, np.nan], [1.0, 0.0]])
def test_histogram_bad_edges(edges):
    with pytest.raises(ValueError, match="edges"):
        histogram(np.zeros(3), edges)


@pytest.mark.parametrize("values,expected", [
    ([-0.3, 0.2, 0.7], (-1.0, 1.0)),          # spans 0: symmetric
    ([-7.0, 0.1], (-10.0, 10.0)),
    ([0.0, 0.5, 3.2], (0.0, 5.0)),            # ReLU-like: from 0
    ([-3.0, -0.1], (-5.0, 0.0)),              # mirrored
    ([1.0, 1.0, 1.0], (0.0, 2.0)),            # all equal (BatchNorm weight at init)
    ([-0.25] * 4, (-0.5, 0.0)),
    ([0.0, 0.0], (-1.0, 1.0)),                # all zero
    ([], (-1.0, 1.0)),                        # empty
    ([np.nan, np.inf], (-1.0, 1.0)),          # nothing finite
    ([0.003, 0.0042, np.nan], (0.003, 0.005)),  # far from 0: nice step 2e-4
])
def test_nice_edges_examples(values, expected):
    e = nice_edges(np.array(values, dtype=np.float64), bins=10)
    assert e.shape == (11,) and e.dtype == np.float64
    assert e[0] == pytest.approx(expected[0]) and e[-1] == pytest.approx(expected[-1])
    np.testing.assert_allclose(np.diff(e), np.diff(e)[0])


def test_nice_edges_far_from_zero_and_coverage():
    e = nice_edges(np.array([0.9, 1.0, 1.1]), bins=40)
    assert e[0] <= 0.9 and e[-1] >= 1.1 and e[0] > 0  # does not stretch to 0
    step = e[1] - e[0]
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert min(abs(mantissa - m) for m in (1, 2, 5, 10)) < 1e-9
    rng = np.random.default_rng(2)
    for _ in range(200):  # every finite value is inside the chosen edges
        scale = 10.0 ** rng.uniform(-6, 6)
        v = rng.standard_normal(rng.integers(1, 20)) * scale + rng.normal() * scale * rng.integers(0, 5)
        e = nice_edges(v.astype(np.float32), bins=int(rng.integers(1, 50)))
        assert e[0] <= v.astype(np.float32).min() and e[-1] >= v.astype(np.float32).max()
        assert np.all(np.diff(e) > 0)
        assert histogram(v.astype(np.float32), e).clipped == 0
    with pytest.raises(ValueError, match="bins must be a positive integer"):
        nice_edges(np.zeros(3), bins=0)


@pytest.mark.parametrize("k,limit", [(300, 30), (12, 30), (40, 5)])
def test_a_summary_from_predictions_equals_the_summary_of_the_matrix(k, limit):
    """summarize_predictions never builds the (K, K) matrix, and gives the summary
    summarize_confusion makes of it (issue 9: 10,000 classes)."""
    from nncore.confusion import class_recall, summarize_confusion, summarize_predictions

    rng = np.random.default_rng(k)
    target = rng.integers(0, k, 3 * k)
    predicted = np.where(rng.random(3 * k) < 0.6, target, rng.integers(0, k, 3 * k))
    dense = confusion_matrix(predicted, target, k)
    a = summarize_predictions(predicted, target, k, limit)
    b = summarize_confusion(dense, limit=limit)
    np.testing.assert_array_equal(a.matrix, b.matrix)
    np.testing.assert_array_equal(a.shown, b.shown)
    np.testing.assert_array_equal(a.recall, b.recall)
    assert (a.n_classes, a.total, a.correct) == (b.n_classes, b.total, b.correct) == \
        (k, 3 * k, int(np.trace(dense)))
    np.testing.assert_array_equal(class_recall(predicted, target, k),
                                  per_class_accuracy(predicted, target, k))
    with pytest.raises(ValueError, match=rf"a prediction outside \[0, {k}\): {k}"):
        summarize_predictions(np.r_[predicted[:-1], k], target, k)


def test_the_trainer_summarizes_a_confusion_beyond_dense_classes():
    """Beyond DENSE_CLASSES the Trainer records the summary, not the (K, K) matrix; the
    summary equals the one of the matrix it would have built."""
    from nncore import functional as F
    from nncore import nn, optim
    from nncore.confusion import DENSE_CLASSES, summarize_confusion
    from nncore.training import Trainer

    k = DENSE_CLASSES + 1
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2 * k, 3)).astype(np.float32)
    y = np.arange(2 * k) % k
    m = nn.Sequential(nn.Linear(3, k))
    t = Trainer(m, F.cross_entropy, optim.SGD(m.parameters(), lr=0.1), batch_size=256)
    t.fit(X, y, epochs=1, validation=(X, y))
    r = t.epoch_records[-1]
    assert r.confusion_matrix is None and t.confusion_matrix is None
    m.eval()
    dense = confusion_matrix(m(X).data, y, k)
    expected = summarize_confusion(dense)
    np.testing.assert_array_equal(r.confusion_summary.matrix, expected.matrix)
    np.testing.assert_array_equal(r.per_class_accuracy, per_class_accuracy(m(X).data, y, k))
