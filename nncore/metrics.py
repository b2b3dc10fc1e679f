"""Metrics of predictions against targets, and fixed-edge histograms for plots.

Everything here is plain NumPy on arrays (no autograd): pass ``tensor.data`` or any
array-like. Results are Python floats or new arrays (never views of the inputs).

Classification (outputs ``(N, C)`` of logits or probabilities, or ``(N,)`` predicted
class indices, against ``(N,)`` class indices):

* :func:`accuracy`: the fraction of correct arg-max predictions;
* :func:`confusion_matrix`: counts, rows = true class, columns = predicted class;
* :func:`per_class_accuracy`: recall of each class (NaN for a class without samples).

Regression (outputs against targets of the same shape):

* :func:`mse`: mean squared error over every element;
* :func:`r2_score`: the coefficient of determination, scikit-learn's definition.

Histograms (TensorBoard's "distributions" view: one histogram per epoch with edges that
stay fixed for the whole run, so that a heat map of them over time lines up):

* :func:`nice_edges`: choose the edges once, from a first look at the data;
* :func:`histogram`: count finite values between fixed edges into a :class:`Histogram`.

Argument order: every function takes the *prediction first and the target second*, as
the loss functions (``loss_fn(output, target)``) do; scikit-learn's ``r2_score`` and
``confusion_matrix`` take ``(y_true, y_pred)``, the other way round.

The metrics an epoch reports, with their direction (Keras' ``MonitorCallback``: a loss
goes down, an accuracy up), are declared once in :data:`METRICS`; :func:`monitors` lists
the names callbacks can watch (``val_loss``, ..., ``loss``, ...), :func:`direction` says
whether a monitored name is minimized or maximized. ``EarlyStopping`` and
``ReduceLROnPlateau`` (``mode="auto"``), the project settings and the training panel
all ask them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from nncore.registry import Registry

__all__ = [
    "accuracy", "confusion_matrix", "per_class_accuracy", "mse", "r2_score",
    "Histogram", "histogram", "nice_edges", "Metric", "METRICS", "register_metric",
    "monitors", "metric_of", "direction", "VALIDATION_PREFIX", "computed_metrics",
]


# ---------------------------------------------------------------------------- the registry
@dataclass(frozen=True)
class Metric:
    """A metric an epoch reports.

    Attributes:
        name: the key in the epoch's logs (``"accuracy"``); ``"val_" + name`` is the same
            metric on the validation part.
        title: the name shown to people (``"Accuracy"``).
        direction: ``"max"`` when higher is better (accuracy, R²), ``"min"`` when lower
            is (a loss, an error).
        help: one line saying what it measures.
        task: ``"classification"``, ``"regression"``, or None for both (the loss).
        compute: ``compute(predictions, targets) -> float`` for a metric the Trainer
            does not know by itself: predictions are the model's scores ``(N, classes)``
            (classification) or values ``(N, k)`` (regression), targets the class
            indices ``(N,)`` or values. The training figure is the mean over the
            epoch's minibatches weighted by their size (Keras' ``MeanMetricWrapper``),
            the validation figure is computed on the whole validation part. None for
            the built-ins (loss, accuracy, mse, r2), which the Trainer sums as it goes.
    """

    name: str
    title: str
    direction: str
    help: str
    task: str | None = None
    compute: Callable[[np.ndarray, np.ndarray], float] | None = None

    def __post_init__(self) -> None:
        if self.direction not in ("min", "max"):
            raise ValueError(f"metric {self.name!r}: direction must be 'min' or 'max', got "
                             f"{self.direction!r}")


#: Every metric, in the order lists show them.
METRICS: Registry[Metric] = Registry("metric")
#: The prefix of a metric measured on the validation part.
VALIDATION_PREFIX = "val_"


def register_metric(metric: Metric) -> Metric:
    """Add a metric under ``metric.name``: it appears in the monitor choices (plain and
    ``val_``) of the settings and the training panel, and callbacks in ``mode="auto"``
    follow its direction. Returns ``metric``.

    Raises:
        ValueError: if the name is taken.
    """
    return METRICS.register(metric.name, metric)


register_metric(Metric("loss", "Loss", "min", "The loss function's value, the mean over "
                       "the samples"))
register_metric(Metric("accuracy", "Accuracy", "max", "Share of the samples whose predicted "
                       "class is the true one", "classification"))
register_metric(Metric("mse", "MSE", "min", "Mean squared error of the predictions",
                       "regression"))
register_metric(Metric("r2", "R²", "max", "Coefficient of determination: 1 is perfect, 0 "
                       "is as good as predicting the mean", "regression"))


def computed_metrics(classification: bool) -> list[Metric]:
    """The registered metrics with a ``compute`` function that apply to the task, in
    registration order (what the Trainer adds to the built-in ones)."""
    task = "classification" if classification else "regression"
    return [m for m in METRICS.values() if m.compute is not None and m.task in (None, task)]


def monitors() -> tuple[str, ...]:
    """The names a callback can monitor: every metric on the validation part first
    (``val_loss``, ``val_accuracy``, ...), then on the training part (``loss``, ...)."""
    return (*(VALIDATION_PREFIX + m for m in METRICS), *METRICS)


def metric_of(monitor: str) -> Metric | None:
    """The registered metric a monitored name refers to (``"val_r2"`` -> R²), or None."""
    if not isinstance(monitor, str):
        return None
    name = monitor.removeprefix(VALIDATION_PREFIX)
    return METRICS[name] if name in METRICS else None


def direction(monitor: str) -> str:
    """``"min"`` or ``"max"``: how ``monitor`` (``"val_accuracy"``) should change.

    A registered metric answers itself (Keras 3 asks the metric object's ``_direction``).
    For an unknown name, Keras' name rule decides (tf.keras 2's ``mode="auto"``): names
    ending in ``acc``, ``accuracy`` or ``auc`` are maximized, anything else minimized.
    """
    metric = metric_of(monitor)
    if metric is not None:
        return metric.direction
    name = str(monitor).removeprefix(VALIDATION_PREFIX)
    return "max" if name.endswith(("acc", "accuracy", "auc")) else "min"


# ---------------------------------------------------------------------------- classification
def accuracy(logits: np.ndarray, target: np.ndarray) -> float:
    """Fraction of rows whose arg-max equals the class index in ``target``.

    Shapes: logits ``(N, C)``, target ``(N,)`` of class indices. Returns a float in
    [0, 1] (NaN for N = 0). Ties go to the lowest class index (``np.argmax``).

    Raises:
        ValueError: for other shapes (e.g. a one-column output for binary
            cross-entropy, or one-hot targets), naming them.
    """
    logits, target = np.asarray(logits), np.asarray(target)
    if logits.ndim != 2 or target.shape != (logits.shape[0],):
        raise ValueError(f"accuracy needs outputs of shape (N, C) and class indices of "
                         f"shape (N,), got {logits.shape} and {target.shape}; train with "
                         "classification=False for regression or one-column outputs")
    if len(target) == 0:
        return math.nan
    return float(np.mean(np.argmax(logits, axis=1) == target))


def _num_classes(num_classes: Any) -> int:
    if isinstance(num_classes, (bool, np.bool_)) or not isinstance(num_classes,
                                                                   (int, np.integer)) \
            or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
    return int(num_classes)


def _class_indices(a: np.ndarray, what: str, k: int) -> np.ndarray:
    """``a`` (1-D) as int64 class indices in [0, k); ValueError naming the first bad one."""
    if a.dtype.kind == "f":
        bad = ~np.isfinite(a) | (a != np.round(a))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{what} must be whole class indices, got {a[i].item()!r} "
                             f"at position {i}")
    elif a.dtype.kind not in "iub":
        raise TypeError(f"{what} must be class indices (integers), got dtype {a.dtype}")
    out = a.astype(np.int64)
    bad = (out < 0) | (out >= k)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{what} hold class {out[i].item()} at position {i}, outside "
                         f"[0, {k}) for num_classes={k}")
    return out


def confusion_matrix(logits_or_pred: Any, target: Any, num_classes: int) -> np.ndarray:
    """Count how often each true class was predicted as each class.

    Args:
        logits_or_pred: ``(N, C)`` scores (logits or probabilities; the prediction is
            the arg-max of each row, ties to the lower index) or ``(N,)`` predicted
            class indices.
        target: ``(N,)`` true class indices (integers, or floats holding whole numbers).
        num_classes: K, the number of classes *of the dataset* (not of these samples): a
            class absent from this split still gets its (zero) row and column.

    Returns:
        an int64 array of shape ``(K, K)``: entry ``[i, j]`` counts the samples of true
        class ``i`` predicted as class ``j`` (rows = true class, columns = predicted, as
        scikit-learn). Row sums are the class sizes; the trace is the number correct.
        ``N = 0`` gives all zeros.

    Raises:
        ValueError: for a ``num_classes`` that is not a positive integer, mismatched or
            unsupported shapes, or a class index outside ``[0, K)`` (naming it and its
            position) in either argument.
        TypeError: for targets that are not numbers.
    """
    k = _num_classes(num_classes)
    pred, target = np.asarray(logits_or_pred), np.asarray(target)
    if target.ndim != 1:
        raise ValueError(f"confusion_matrix: target must be class indices of shape (N,), "
                         f"got {target.shape}")
    if pred.ndim == 2:
        if pred.shape[0] != len(target):
            raise ValueError(f"confusion_matrix: {pred.shape[0]} output rows but "
                             f"{len(target)} targets")
        pred = (np.argmax(pred, axis=1) if pred.shape[1] > 0 and len(pred)
                else np.zeros(len(pred), np.int64))
    elif pred.ndim != 1 or pred.shape != target.shape:
        raise ValueError(f"confusion_matrix needs outputs (N, C) or predicted classes (N,) "
                         f"and targets (N,), got {pred.shape} and {target.shape}")
    t = _class_indices(target, "confusion_matrix: targets", k)
    p = _class_indices(pred, "confusion_matrix: predictions", k)
    return np.bincount(t * k + p, minlength=k * k).reshape(k, k).astype(np.int64, copy=False)


def per_class_accuracy(logits_or_pred: Any, target: Any, num_classes: int) -> np.ndarray:
    """Accuracy within each true class, i.e. the recall of each class.

    Arguments as :func:`confusion_matrix`. Returns a float64 array of shape ``(K,)``:
    ``cm[i, i] / cm[i, :].sum()``, NaN for a class with no samples in ``target``.

    Raises:
        ValueError, TypeError: as :func:`confusion_matrix`.
    """
    return _recall(confusion_matrix(logits_or_pred, target, num_classes))


def _recall(cm: np.ndarray) -> np.ndarray:
    support = cm.sum(axis=1)
    out = np.full(len(cm), np.nan)
    has = support > 0
    out[has] = np.diag(cm)[has] / support[has]
    return out


# ---------------------------------------------------------------------------- regression
def _pair(pred: Any, target: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
    """``(pred, target)`` as float64 arrays of one shape; ``(N, 1)`` against ``(N,)`` (either
    way round) is accepted as one output column."""
    pred, target = np.asarray(pred), np.asarray(target)
    for name, a in (("outputs", pred), ("targets", target)):
        if a.dtype.kind not in "fiub":
            raise TypeError(f"{what}: {name} must be real numbers, got dtype {a.dtype}")
    if pred.shape != target.shape:
        if pred.ndim == 2 and pred.shape[1] == 1 and target.shape == pred.shape[:1]:
            target = target[:, None]
        elif target.ndim == 2 and target.shape[1] == 1 and pred.shape == target.shape[:1]:
            pred = pred[:, None]
        else:
            raise ValueError(f"{what}: outputs of shape {pred.shape} and targets of shape "
                             f"{target.shape} differ")
    return pred.astype(np.float64, copy=False), target.astype(np.float64, copy=False)


def mse(pred: Any, target: Any) -> float:
    """Mean squared error ``mean((pred - target)**2)`` over every element, in float64.

    Shapes: equal, or ``(N, 1)`` against ``(N,)``. Returns a float (NaN when empty).

    Raises:
        ValueError: for other shapes; TypeError: for non-numeric input.
    """
    pred, target = _pair(pred, target, "mse")
    if pred.size == 0:
        return math.nan
    d = pred - target
    return float(np.mean(d * d))


def _r2_from_sums(ss_res: np.ndarray, ss_tot: np.ndarray) -> float:
    """scikit-learn's R² (``force_finite=True``, ``multioutput="uniform_average"``) from
    per-output residual and total sums of squares."""
    ss_res, ss_tot = np.atleast_1d(ss_res), np.atleast_1d(ss_tot)
    scores = np.ones(ss_res.shape)
    ok = ss_tot != 0
    scores[ok] = 1.0 - ss_res[ok] / ss_tot[ok]
    scores[~ok & (ss_res != 0)] = 0.0
    return float(np.mean(scores)) if scores.size else math.nan


def r2_score(pred: Any, target: Any) -> float:
    """Coefficient of determination R² (scikit-learn's ``r2_score``, default options).

    ``R² = 1 - SS_res / SS_tot`` with ``SS_res = sum((target - pred)**2)`` and
    ``SS_tot = sum((target - mean(target))**2)``, per output column, then the plain mean
    over columns (``multioutput="uniform_average"``). 1 is a perfect fit, 0 is as good as
    predicting the mean, and it is unbounded below. Computed in float64.

    A *constant target* (``SS_tot = 0``) follows scikit-learn's ``force_finite=True``:
    the column scores 1.0 if the predictions are exact (``SS_res = 0``) and 0.0
    otherwise, instead of NaN or -inf. Fewer than two samples give NaN (R² is not
    defined; scikit-learn warns and returns NaN too).

    Note the order: prediction first, target second (as the losses); scikit-learn's is
    ``r2_score(y_true, y_pred)``.

    Shapes: ``(N,)`` or ``(N, K)``, equal, or ``(N, 1)`` against ``(N,)``.

    Raises:
        ValueError: for other shapes or more than two dimensions; TypeError: for
            non-numeric input.
    """
    pred, target = _pair(pred, target, "r2_score")
    if pred.ndim > 2:
        raise ValueError(f"r2_score takes (N,) or (N, K) arrays, got {pred.shape}")
    if len(target) < 2:
        return math.nan
    ss_res = np.sum((target - pred) ** 2, axis=0)
    ss_tot = np.sum((target - target.mean(axis=0)) ** 2, axis=0)
    return _r2_from_sums(ss_res, ss_tot)


# ---------------------------------------------------------------------------- histograms
@dataclass(frozen=True, eq=False)
class Histogram:
    """Counts of values between fixed bin edges (what :func:`histogram` returns).

    Attributes:
        edges: float64 ``(bins + 1,)``, strictly increasing. Bin ``i`` is
            ``[edges[i], edges[i+1])``, the last bin also includes its right edge
            (``np.histogram``'s convention).
        counts: int64 ``(bins,)``: finite values per bin, the clipped ones included.
        nonfinite: how many values were NaN or ±infinity (not in ``counts``).
        clipped: how many finite values lay outside ``[edges[0], edges[-1]]`` and were
            counted in the first or last bin.

    ``counts.sum() + nonfinite`` is the number of values given. Instances own their
    arrays (never views of live data).
    """

    edges: np.ndarray
    counts: np.ndarray
    nonfinite: int = 0
    clipped: int = 0

    @property
    def total(self) -> int:
        """Every value given: ``counts.sum() + nonfinite``."""
        return int(self.counts.sum()) + self.nonfinite

    @property
    def centers(self) -> np.ndarray:
        """Bin centres, float64 ``(bins,)`` (for a ``stepMode="center"`` plot use
        :attr:`edges`)."""
        return (self.edges[:-1] + self.edges[1:]) / 2


def _check_edges(edges: Any) -> np.ndarray:
    e = np.array(edges, dtype=np.float64)  # a copy: the Histogram owns it
    if e.ndim != 1 or len(e) < 2:
        raise ValueError(f"histogram edges must be a 1-D array of at least 2 values, "
                         f"got shape {e.shape}")
    if not np.all(np.isfinite(e)) or not np.all(np.diff(e) > 0):
        raise ValueError("histogram edges must be finite and strictly increasing")
    return e


def histogram(values: Any, edges: Any) -> Histogram:
    """Count the finite ``values`` (any shape, flattened) between fixed ``edges``.

    Non-finite values (NaN, ±inf) are not binned but counted in ``nonfinite``. Finite
    values below ``edges[0]`` or above ``edges[-1]`` are clipped into the first or last
    bin and counted in ``clipped``, so no value silently disappears and the edges can
    stay fixed for a whole run. An empty or all-NaN input gives zero counts (never an
    error). Within the edges the counts equal ``np.histogram(values, edges)``'s.

    Args:
        values: real numbers, any shape (booleans and integers are accepted).
        edges: ``(bins + 1,)`` finite, strictly increasing bin edges (e.g. from
            :func:`nice_edges`); copied into the result as float64.

    Returns:
        a :class:`Histogram`.

    Raises:
        ValueError: for edges that are not 1-D, finite and strictly increasing, with
            fewer than 2 entries; TypeError: for non-numeric values.
    """
    e = _check_edges(edges)
    v = np.asarray(values)
    if v.dtype.kind not in "fiub":
        raise TypeError(f"histogram needs real numbers, got dtype {v.dtype}")
    v = v.reshape(-1)
    if v.dtype.kind == "f":
        finite = np.isfinite(v)
        nonfinite = int(v.size - np.count_nonzero(finite))
        if nonfinite:
            v = v[finite]
    else:
        nonfinite = 0
    lo, hi = e[0], e[-1]
    clipped = 0
    if v.size:
        # Compare in float64: a float32 value just above hi must not round onto it.
        outside = int(np.count_nonzero(v < lo)) + int(np.count_nonzero(v > hi))
        if outside:
            clipped = outside
            v = np.clip(v.astype(np.float64), lo, hi)
    counts = _bin_counts(v, e)
    return Histogram(edges=e, counts=counts, nonfinite=nonfinite, clipped=clipped)


def _bin_counts(v: np.ndarray, e: np.ndarray) -> np.ndarray:
    """``np.histogram(v, e)[0]`` for ``v`` within ``[e[0], e[-1]]``, in O(n) when the edges
    are evenly spaced (as :func:`nice_edges` makes them): the bin is estimated from the
    spacing, then corrected by comparing with the edges themselves, as NumPy does for
    ``bins=int`` (so a value exactly on an edge lands where ``np.histogram`` puts it).
    Other edges go through ``np.histogram`` (sorting, O(n log n))."""
    bins = len(e) - 1
    width = np.diff(e)
    if not v.size or not np.allclose(width, width[0], rtol=1e-9, atol=0.0):
        return np.histogram(v, bins=e)[0].astype(np.int64, copy=False)
    x = v.astype(np.float64, copy=False)
    idx = ((x - e[0]) * (bins / (e[-1] - e[0]))).astype(np.intp)
    np.clip(idx, 0, bins - 1, out=idx)
    idx -= x < e[idx]  # [a, b) bins, the last one closed
    idx += (x >= e[idx + 1]) & (idx != bins - 1)
    return np.bincount(idx, minlength=bins).astype(np.int64, copy=False)


def _nice_ceil(x: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten that is >= x (x > 0)."""
    exp = math.floor(math.log10(x))
    base = 10.0 ** exp
    for m in (1.0, 2.0, 5.0, 10.0):
        if m * base >= x * (1 - 1e-12):
            return m * base
    return 10.0 * base  # pragma: no cover (rounding)


def _nice_step_up(step: float) -> float:
    """The next 1-2-5 number above ``step`` (itself a 1-2-5 number)."""
    return _nice_ceil(step * 1.5)


def nice_edges(values: Any, bins: int = 40) -> np.ndarray:
    """Choose ``bins + 1`` fixed histogram edges for a tensor from a first look at it.

    The range of the finite values is rounded *outward* to "nice" numbers (1, 2 or 5
    times a power of ten), leaving room for the values to drift during training:

    * values on both sides of 0 (``min < 0 < max``): symmetric ``[-m, m]`` with
      ``m = nice(max(|min|, max))``, so 0 is an edge (for an even ``bins``);
    * values on one side, close to 0 (``0 <= min <= max - min``): ``[0, nice(max)]``
      (e.g. ReLU outputs), mirrored for negative values;
    * values on one side, far from 0 (e.g. BatchNorm weights in [0.9, 1.1]): the
      smallest nice step ``s`` with ``[floor(min/s)*s, floor(min/s)*s + bins*s]``
      covering them;
    * degenerate ranges: all values equal to ``v != 0`` are treated as the range
      between 0 and ``2v`` (BatchNorm's initial weights, all 1, give [0, 2]); all zero,
      empty input or no finite value gives ``[-1, 1]``.

    Args:
        values: real numbers, any shape; non-finite ones are ignored.
        bins: the number of bins (default 40), a positive integer.

    Returns:
        float64 ``(bins + 1,)`` strictly increasing, equally spaced edges.

    Raises:
        ValueError: if ``bins`` is not a positive integer; TypeError: for non-numeric
            values.
    """
    if isinstance(bins, (bool, np.bool_)) or not isinstance(bins, (int, np.integer)) \
            or bins < 1:
        raise ValueError(f"nice_edges: bins must be a positive integer, got {bins!r}")
    v = np.asarray(values)
    if v.dtype.kind not in "fiub":
        raise TypeError(f"nice_edges needs real numbers, got dtype {v.dtype}")
    v = v.reshape(-1)
    if v.dtype.kind == "f":
        v = v[np.isfinite(v)]
    if v.size == 0:
        return np.linspace(-1.0, 1.0, bins + 1)
    lo, hi = float(np.min(v)), float(np.max(v))
    if lo == hi:
        if lo == 0.0:
            return np.linspace(-1.0, 1.0, bins + 1)
        lo, hi = min(0.0, 2 * lo), max(0.0, 2 * hi)
    if lo < 0.0 < hi:
        m = _safe_nice(max(-lo, hi))
        return np.linspace(-m, m, bins + 1)
    flip = hi <= 0.0  # all values <= 0: work on the mirror image
    if flip:
        lo, hi = -hi, -lo
    if lo <= hi - lo:
        a, b = 0.0, _safe_nice(hi)
    else:
        step = _nice_ceil((hi - lo) / bins)
        while True:
            a = math.floor(lo / step) * step
            if a > lo:  # floating-point rounding of the product
                a -= step
            b = a + bins * step
            if b >= hi or not math.isfinite(b):
                break
            step = _nice_step_up(step)
        if not (math.isfinite(a) and math.isfinite(b) and b > a):
            a, b = lo, hi  # pragma: no cover (range near the float64 limits)
    edges = np.linspace(a, b, bins + 1)
    return -edges[::-1].copy() if flip else edges


def _safe_nice(x: float) -> float:
    m = _nice_ceil(x)
    return m if math.isfinite(m) else x
