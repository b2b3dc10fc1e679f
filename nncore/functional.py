"""Every differentiable operation of the engine, and the functions that apply them.

Each op is one :class:`~nncore.tensor.Function` subclass with a ``forward`` on arrays and
a ``backward`` that returns the gradient of each input; the functions in lower case
(``linear``, ``relu``, ``cross_entropy``, ...) are the public way to call them, with
PyTorch's names, arguments and defaults.

Every numerically delicate formula lives here, once:

* :func:`_exp_nonpositive` — ``exp`` of values ``<= 0`` that returns exact zeros instead
  of underflowing (no floating-point warning even under ``np.errstate(all="raise")``);
* log-sum-exp with the maximum subtracted, for ``softmax``, ``log_softmax`` and
  ``cross_entropy`` (Goodfellow, Bengio & Courville, *Deep Learning*, 2016, §4.1);
* the logistic sigmoid evaluated as ``1/(1+e^-x)`` for ``x >= 0`` and ``e^x/(1+e^x)`` for
  ``x < 0``, so it never overflows;
* ``log(1 + e^-|x|)`` for the binary cross-entropy with logits;
* logarithms of probabilities clamped at -100, as PyTorch's ``binary_cross_entropy``.

All ops keep the floating dtype of their inputs (float32 in, float32 out); constants
(Python numbers) never promote it. Gradients are checked numerically, in float64, for
every op in :data:`nncore.tensor.OPS` by ``tests/nncore/test_gradcheck_ops.py``.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Sequence

import numpy as np

from nncore.tensor import Function, Tensor, as_array, unbroadcast

__all__ = [
    "add", "sub", "mul", "div", "neg", "pow", "matmul", "exp", "log", "sum", "mean",
    "reshape", "transpose", "concatenate", "linear", "relu", "leaky_relu", "sigmoid",
    "tanh", "softmax", "log_softmax", "batch_norm", "dropout", "cross_entropy",
    "mse_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
]

_REDUCTIONS = ("mean", "sum", "none")


# ----------------------------------------------------------------------------- helpers
def _exp_nonpositive(z: np.ndarray) -> np.ndarray:
    """``exp(z)`` for ``z <= 0`` without underflow: values whose result would be below the
    smallest normal number of the dtype come out as exact zeros, and no floating-point
    warning is raised even under ``np.errstate(under="raise")`` (for normal inputs: NumPy's
    exp flags a subnormal *input* as underflow although its result, 1, is exact)."""
    lowest = _LOG_TINY[z.dtype.type] if z.dtype.type in _LOG_TINY else -700.0
    # ``not (z <= lowest)`` rather than ``z > lowest``: NaN must stay NaN, never become 0.
    return np.exp(z, out=np.zeros_like(z), where=np.logical_not(z <= lowest))


_LOG_TINY = {t: float(np.log(np.finfo(t).tiny)) for t in (np.float16, np.float32, np.float64)}


def _tensor(x: Any) -> Tensor:
    """``x`` as a Tensor (integers promoted to float32, floating arrays kept)."""
    return x if isinstance(x, Tensor) else Tensor(x)


def _shape(x: Any) -> tuple[int, ...]:
    return x.shape if isinstance(x, np.ndarray) else np.shape(x)


def _check_reduction(reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _stable_sigmoid(x: np.ndarray) -> np.ndarray:
    z = _exp_nonpositive(-np.abs(x))  # e^-|x| in (0, 1]
    return np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z)).astype(x.dtype, copy=False)


def _log_softmax(x: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(log_softmax(x), softmax(x))`` along ``axis``, stably (max subtracted)."""
    if x.size == 0:
        return x.copy(), x.copy()
    shifted = x - x.max(axis=axis, keepdims=True)
    e = _exp_nonpositive(shifted)
    total = e.sum(axis=axis, keepdims=True)  # >= 1: the maximum contributes e^0
    return shifted - np.log(total), e / total


# ----------------------------------------------------------------------------- arithmetic
class Add(Function):
    """``a + b`` with broadcasting."""

    def forward(self, a, b):
        self.shapes = (_shape(a), _shape(b))
        return a + b

    def backward(self, g):
        sa, sb = self.shapes
        na, nb = self.needs_input_grad
        return (unbroadcast(g, sa) if na else None, unbroadcast(g, sb) if nb else None)


class Sub(Function):
    """``a - b`` with broadcasting."""

    def forward(self, a, b):
        self.shapes = (_shape(a), _shape(b))
        return a - b

    def backward(self, g):
        sa, sb = self.shapes
        na, nb = self.needs_input_grad
        return (unbroadcast(g, sa) if na else None, unbroadcast(-g, sb) if nb else None)


class Mul(Function):
    """``a * b`` with broadcasting."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, g):
        a, b = self.a, self.b
        na, nb = self.needs_input_grad
        return (unbroadcast(g * b, _shape(a)) if na else None,
                unbroadcast(g * a, _shape(b)) if nb else None)


class Div(Function):
    """``a / b`` with broadcasting."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, g):
        a, b = self.a, self.b
        na, nb = self.needs_input_grad
        ga = unbroadcast(g / b, _shape(a)) if na else None
        gb = unbroadcast(-g * a / (b * b), _shape(b)) if nb else None
        return ga, gb


class Neg(Function):
    """``-x``."""

    def forward(self, x):
        return -x

    def backward(self, g):
        return (-g,)


class Pow(Function):
    """``x ** exponent`` for a scalar exponent; d/dx = exponent * x**(exponent-1)."""

    def forward(self, x, *, exponent):
        self.x, self.exponent = x, exponent
        return x ** exponent

    def backward(self, g):
        p = self.exponent
        if p == 0.0:  # x**0 is constant (also at x = 0, where p * x**-1 would be NaN)
            return (np.zeros_like(g),)
        return (g * (p * self.x ** (p - 1.0)),)


class Exp(Function):
    """Elementwise ``e**x``; d/dx = e**x."""

    def forward(self, x):
        self.out = np.exp(x)
        return self.out

    def backward(self, g):
        return (g * self.out,)


class Log(Function):
    """Elementwise natural logarithm, domain ``x > 0`` (as ``np.log``); d/dx = 1/x.

    For logs of probabilities use the fused losses, which never take ``log(0)``.
    """

    def forward(self, x):
        self.x = x
        return np.log(x)

    def backward(self, g):
        return (g / self.x,)


class MatMul(Function):
    """Matrix product ``a @ b`` with NumPy's rules (1-D operands, broadcast batch axes)."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return np.matmul(a, b)

    def backward(self, g):
        a, b = self.a, self.b
        na, nb = self.needs_input_grad
        if a.ndim == 1 and b.ndim == 1:  # inner product
            return (g * b if na else None), (g * a if nb else None)
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        if a.ndim == 1:
            g = np.expand_dims(g, -2)
        if b.ndim == 1:
            g = np.expand_dims(g, -1)
        ga = gb = None
        if na:
            ga = np.matmul(g, np.swapaxes(b2, -1, -2))
            ga = unbroadcast(ga, a2.shape).reshape(a.shape)
        if nb:
            gb = np.matmul(np.swapaxes(a2, -1, -2), g)
            gb = unbroadcast(gb, b2.shape).reshape(b.shape)
        return ga, gb


# ----------------------------------------------------------------------------- reductions, shapes
def _normalize_axes(axis: Any, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    for a in axes:
        if not -ndim <= int(a) < ndim:
            raise ValueError(f"axis {a} is out of range for a tensor with {ndim} "
                             f"dimension{'s' if ndim != 1 else ''}")
    return tuple(sorted(int(a) % ndim for a in axes))


class Sum(Function):
    """Sum over ``axis`` (default: all); the gradient is broadcast back."""

    def _remember(self, x, axis, keepdims):
        self.shape, self.keepdims = x.shape, keepdims
        self.axes = _normalize_axes(axis, x.ndim)

    def forward(self, x, *, axis=None, keepdims=False):
        self._remember(x, axis, keepdims)
        return np.asarray(x.sum(axis=axis, keepdims=keepdims))

    def backward(self, g):
        if not self.keepdims:
            g = np.expand_dims(g, self.axes)
        return (np.broadcast_to(g, self.shape),)


class Mean(Sum):
    """Mean over ``axis`` (default: all): the sum divided by the number of elements
    reduced, so the gradient is the sum's divided by the same count."""

    def forward(self, x, *, axis=None, keepdims=False):
        self._remember(x, axis, keepdims)
        self.count = math.prod(self.shape[a] for a in self.axes)
        return np.asarray(x.mean(axis=axis, keepdims=keepdims))

    def backward(self, g):
        return super().backward(g / self.count if self.count else g)


class Reshape(Function):
    """The same values in another shape."""

    def forward(self, x, *, shape):
        self.shape = x.shape
        return x.reshape(shape)

    def backward(self, g):
        return (g.reshape(self.shape),)


class Transpose(Function):
    """Permute axes (reverse them when ``axes`` is None). Negative axes count from the
    end, as in NumPy and ``torch.permute``; the backward pass applies the inverse
    permutation of the *normalized* axes (``(0, -1, 1)`` is ``(0, 2, 1)``, its own
    inverse)."""

    def forward(self, x, *, axes=None):
        out = np.transpose(x, axes)  # NumPy checks the axes (range, repeats)
        self.axes = None if axes is None else tuple(int(a) % x.ndim for a in axes)
        return out

    def backward(self, g):
        if self.axes is None:
            return (np.transpose(g),)
        return (np.transpose(g, np.argsort(self.axes)),)


class GetItem(Function):
    """Indexing ``x[index]`` (basic slicing and integer/boolean arrays); repeated indices
    accumulate their gradients (``np.add.at``)."""

    def forward(self, x, *, index):
        self.shape, self.dtype, self.index = x.shape, x.dtype, index
        return np.asarray(x[index])

    def backward(self, g):
        out = np.zeros(self.shape, dtype=g.dtype)
        np.add.at(out, self.index, g)
        return (out,)


class Concatenate(Function):
    """Join tensors along an existing axis (``np.concatenate``)."""

    def forward(self, *xs, axis=0):
        self.axis = axis
        self.splits = np.cumsum([x.shape[axis] for x in xs])[:-1]
        return np.concatenate(xs, axis=axis)

    def backward(self, g):
        parts = np.split(g, self.splits, axis=self.axis)
        return tuple(p if need else None for p, need in zip(parts, self.needs_input_grad))


# ----------------------------------------------------------------------------- layers
class Linear(Function):
    """Affine map ``y = x @ weight.T + bias`` (PyTorch's ``F.linear``), fused.

    Backward: dx = g @ W, dW = g.T @ x, db = sum of g over every axis but the last.
    """

    def forward(self, x, weight, bias=None):
        self.x, self.weight = x, weight
        out = x @ weight.T
        if bias is not None:
            out += bias
        return out

    def backward(self, g):
        nx, nw, nb = self.needs_input_grad
        x = self.x
        g2 = g.reshape(-1, g.shape[-1]) if g.ndim != 2 else g
        gx = (g @ self.weight) if nx else None
        gw = (g2.T @ x.reshape(-1, x.shape[-1])) if nw else None
        gb = g2.sum(axis=0) if nb else None
        return gx, gw, gb


@functools.lru_cache(maxsize=64)
def _zeros(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """A read-only array of zeros (``np.maximum`` against an array is about three times
    faster than against the scalar 0 in NumPy 2.x)."""
    z = np.zeros(shape, dtype)
    z.flags.writeable = False
    return z


class ReLU(Function):
    """``max(x, 0)``; derivative 1 for x > 0, else 0 (0 at x = 0, as PyTorch).

    At a NaN input the output is NaN and the incoming gradient passes unchanged, as
    PyTorch's ``threshold_backward`` (the gradient is zeroed only where ``out <= 0``):
    a NaN stays visible in the gradients instead of being silenced.
    """

    def forward(self, x):
        self.out = np.maximum(x, _zeros(x.shape, x.dtype))
        return self.out

    def backward(self, g):
        return (np.where(self.out <= 0, _zeros((), g.dtype), g),)


class LeakyReLU(Function):
    """``x`` for x > 0 else ``negative_slope * x``; derivative 1 or ``negative_slope``."""

    def forward(self, x, *, negative_slope=0.01):
        # The derivative as an array: 1 where x > 0, negative_slope elsewhere.
        slope = np.array(x > 0, dtype=x.dtype)  # an array also for 0-d input
        if 0.0 <= negative_slope <= 1.0:  # exact: max(1, a) = 1 and max(0, a) = a
            np.maximum(slope, negative_slope, out=slope)
        else:
            slope *= 1.0 - negative_slope
            slope += negative_slope
        self.slope = slope
        return x * slope

    def backward(self, g):
        return (g * self.slope,)


class Sigmoid(Function):
    """Logistic ``1 / (1 + e^-x)``, overflow-free; derivative s(1 - s)."""

    def forward(self, x):
        self.out = _stable_sigmoid(x)
        return self.out

    def backward(self, g):
        s = self.out
        return (g * s * (1.0 - s),)


class Tanh(Function):
    """Hyperbolic tangent; derivative 1 - tanh(x)^2."""

    def forward(self, x):
        self.out = np.tanh(x)
        return self.out

    def backward(self, g):
        t = self.out
        return (g * (1.0 - t * t),)


class Softmax(Function):
    """``e^x_i / sum_j e^x_j`` along ``axis``, with the maximum subtracted first.

    Backward: dx = y * (g - sum(g * y)).
    """

    def forward(self, x, *, axis=-1):
        self.axis = axis
        self.out = _log_softmax(x, axis)[1]
        return self.out

    def backward(self, g):
        y = self.out
        return (y * (g - (g * y).sum(axis=self.axis, keepdims=True)),)


class LogSoftmax(Function):
    """``x_i - log sum_j e^x_j`` along ``axis`` (log-sum-exp with the maximum subtracted).

    Backward: dx = g - softmax(x) * sum(g).
    """

    def forward(self, x, *, axis=-1):
        self.axis = axis
        out, self.probs = _log_softmax(x, axis)
        return out

    def backward(self, g):
        return (g - self.probs * g.sum(axis=self.axis, keepdims=True),)


class BatchNorm(Function):
    """Batch normalization over the batch axis of an ``(N, C)`` input, fused.

    Training: normalizes with the batch mean and the biased batch variance, and updates
    ``running_mean``/``running_var`` in place with ``momentum`` as the weight of the new
    statistic and the *unbiased* batch variance, as PyTorch does. Evaluation: normalizes
    with the running statistics. Ioffe & Szegedy, "Batch Normalization", ICML 2015,
    Algorithm 1 and §3.1; the backward pass is the paper's chain rule, simplified to
    dx = (w / sqrt(var + eps)) * (g - mean(g) - x_hat * mean(g * x_hat)).

    Inputs narrower than float32 (float16) are computed in float32 and the results
    (output, gradients, running-statistic updates) cast back to their dtypes, as PyTorch
    accumulates half-precision batch norm in float32: the squared deviations of
    ``[[0], [200], [400], [600]]`` (90000) would overflow float16 and give zeros.
    """

    def forward(self, x, weight=None, bias=None, *, running_mean=None, running_var=None,
                training=True, momentum=0.1, eps=1e-5):
        if x.ndim != 2:
            raise ValueError(f"batch_norm expects input of shape (N, C), got {x.shape}")
        n = x.shape[0]
        self.training = training
        self.dtypes = (x.dtype, None if weight is None else weight.dtype,
                       None if bias is None else bias.dtype)
        if x.dtype.kind == "f" and x.dtype.itemsize < 4:  # accumulate in float32
            x = x.astype(np.float32)
            weight = None if weight is None else weight.astype(np.float32)
            bias = None if bias is None else bias.astype(np.float32)
        if training:
            if n < 2:
                raise ValueError(
                    f"batch norm needs more than one sample per feature in training, got "
                    f"input of shape {x.shape} (use eval mode, or a batch of 2 or more)")
            mean = np.add.reduce(x, axis=0) / n
            xc = x - mean
            var = np.einsum("ij,ij->j", xc, xc) / n  # biased batch variance
            if running_mean is not None:
                _update_running(running_mean, mean, momentum, momentum)
            if running_var is not None:
                _update_running(running_var, var, momentum, momentum * n / (n - 1))
        else:
            if running_mean is None or running_var is None:
                raise ValueError("batch_norm in eval mode needs running_mean and running_var")
            xc = x - running_mean.astype(x.dtype, copy=False)
            var = running_var.astype(x.dtype, copy=False)
        inv_std = 1.0 / np.sqrt(var + eps)
        scale = inv_std if weight is None else inv_std * weight
        # Saved: the centred input and 1/std; x_hat = xc * inv_std is never materialized.
        self.xc, self.inv_std, self.scale = xc, inv_std, scale
        out = xc * scale
        if bias is not None:
            out += bias
        return out.astype(self.dtypes[0], copy=False)

    def backward(self, g):
        nx, nw, nb = self.needs_input_grad
        xc, inv_std = self.xc, self.inv_std
        g = g.astype(xc.dtype, copy=False)
        gb = np.add.reduce(g, axis=0)
        gw = np.einsum("ij,ij->j", g, xc) * inv_std  # sum(g * x_hat)
        gx = None
        if nx:
            if self.training:
                n = g.shape[0]
                # dx = scale * (g - mean(g) - x_hat * mean(g * x_hat))
                gx = xc * (inv_std * gw / n)
                np.subtract(g, gx, out=gx)
                gx -= gb / n
                gx *= self.scale
            else:
                gx = g * self.scale
        dx, dw, db = self.dtypes
        return (None if gx is None else gx.astype(dx, copy=False),
                gw.astype(dw, copy=False) if nw else None,
                gb.astype(db, copy=False) if nb else None)


def _update_running(stat: np.ndarray, batch: np.ndarray, momentum: float,
                    weight: float) -> None:
    """``stat = (1 - momentum) * stat + weight * batch`` in place (PyTorch's running
    average; ``weight`` is momentum, times n/(n-1) for the unbiased variance), computed
    in the batch statistic's precision and stored in ``stat``'s dtype."""
    if stat.dtype == batch.dtype:
        stat *= 1.0 - momentum
        stat += weight * batch
    else:
        stat[...] = stat.astype(batch.dtype) * (1.0 - momentum) + weight * batch


class Dropout(Function):
    """Inverted dropout: zero each element with probability ``p`` and scale the rest by
    ``1/(1-p)`` (Srivastava et al., JMLR 2014; scaling at training time as PyTorch)."""

    def forward(self, x, *, p, generator):
        if p >= 1.0:
            self.mask = np.zeros_like(x)
        else:
            keep = generator.random(x.shape, dtype=np.float64) >= p
            self.mask = keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - p))
        return x * self.mask

    def backward(self, g):
        return (g * self.mask,)


# ----------------------------------------------------------------------------- losses
class _Loss(Function):
    """Shared reduction logic of the loss functions."""

    def _reduce(self, losses: np.ndarray, reduction: str) -> np.ndarray:
        self.reduction, self.loss_shape = reduction, losses.shape
        if reduction == "mean":
            if losses.size == 0:  # the mean of nothing is undefined (PyTorch: NaN)
                return np.full((), np.nan, dtype=losses.dtype)
            return np.asarray(np.add.reduce(losses, axis=None) / losses.size)
        if reduction == "sum":
            return np.asarray(np.add.reduce(losses, axis=None))
        return losses

    def _expand(self, g: np.ndarray) -> np.ndarray:
        """Gradient of the reduced loss with respect to each element loss."""
        if self.reduction == "mean":
            size = math.prod(self.loss_shape)
            return g / size if size else g
        return g


class CrossEntropy(_Loss):
    """Cross-entropy of softmax(logits) against class indices or class probabilities,
    fused with log-softmax so that no log of zero is ever taken."""

    def forward(self, logits, target, *, label_smoothing=0.0, reduction="mean"):
        n, c = logits.shape
        eps = label_smoothing
        shifted = logits - logits.max(axis=1, keepdims=True)
        probs = _exp_nonpositive(shifted)
        total = np.add.reduce(probs, axis=1, keepdims=True)  # >= 1: the max gives e^0
        log_total = np.log(total)
        probs /= total
        if target.ndim == 1:  # class indices: loss_i = log(total_i) - shifted[i, y_i]
            self.index = target
            losses = (log_total[:, 0] - shifted[np.arange(n), target]) * (1.0 - eps)
            if eps:  # the uniform part: -(eps/C) * sum_j log p_ij
                losses += (eps / c) * (c * log_total[:, 0] - np.add.reduce(shifted, axis=1))
            self.target = None
        else:
            t = target if not eps else target * (1.0 - eps) + eps / c
            losses = -np.einsum("ij,ij->i", t, shifted - log_total)
            self.target = t
        self.probs, self.eps = probs, eps
        return self._reduce(losses.astype(logits.dtype, copy=False), reduction)

    def backward(self, g):
        gl = self._expand(g)
        probs = self.probs
        if self.target is None:
            n, c = probs.shape
            if np.ndim(gl):  # reduction "none": one weight per sample
                grad = probs * gl[:, None]
                grad[np.arange(n), self.index] -= gl * (1.0 - self.eps)
                if self.eps:
                    grad -= gl[:, None] * (self.eps / c)
            else:
                grad = probs * gl
                grad[np.arange(n), self.index] -= gl * (1.0 - self.eps)
                if self.eps:
                    grad -= gl * (self.eps / c)
        else:
            t = self.target
            grad = probs * t.sum(axis=1, keepdims=True) - t
            grad *= gl[:, None] if np.ndim(gl) else gl
        return grad, None


class MSELoss(_Loss):
    """Mean squared error ``(pred - target)^2``; prediction and target must have the same
    shape (no silent broadcasting, unlike PyTorch's warning-only behaviour)."""

    def forward(self, pred, target, *, reduction="mean"):
        self.diff = pred - target
        return self._reduce(self.diff * self.diff, reduction)

    def backward(self, g):
        gp = (2.0 * self._expand(g)) * self.diff
        np_, nt = self.needs_input_grad
        return (gp if np_ else None), (-gp if nt else None)


class BCELoss(_Loss):
    """Binary cross-entropy ``-(y log p + (1-y) log(1-p))`` on probabilities ``p``.

    As PyTorch: each log is clamped at -100, so p = 0 or 1 gives a finite loss, and the
    gradient ``(p - y) / max(p (1 - p), 1e-12)`` stays finite.
    """

    def forward(self, p, y, *, reduction="mean"):
        log_p = np.maximum(np.log(p, out=np.full_like(p, -100.0), where=p > 0), -100.0)
        log_q = np.maximum(np.log1p(-p, out=np.full_like(p, -100.0), where=p < 1), -100.0)
        self.p, self.y = p, y
        return self._reduce(-(y * log_p + (1.0 - y) * log_q), reduction)

    def backward(self, g):
        p, y = self.p, self.y
        denom = np.maximum(p * (1.0 - p), 1e-12)
        return self._expand(g) * (p - y) / denom, None


class BCEWithLogits(_Loss):
    """Binary cross-entropy on logits, ``max(x, 0) - x y + log(1 + e^-|x|)``: the stable
    form of ``BCE(sigmoid(x), y)``; gradient ``sigmoid(x) - y``."""

    def forward(self, x, y, *, reduction="mean"):
        self.x, self.y = x, y
        losses = np.maximum(x, 0) - x * y + np.log1p(_exp_nonpositive(-np.abs(x)))
        return self._reduce(losses, reduction)

    def backward(self, g):
        return self._expand(g) * (_stable_sigmoid(self.x) - self.y), None


# ----------------------------------------------------------------------------- public functions
def add(a: Any, b: Any) -> Tensor:
    """``a + b`` with NumPy broadcasting. Shapes: broadcast-compatible."""
    return _tensor(a) + b


def sub(a: Any, b: Any) -> Tensor:
    """``a - b`` with NumPy broadcasting."""
    return _tensor(a) - b


def mul(a: Any, b: Any) -> Tensor:
    """``a * b`` (elementwise) with NumPy broadcasting."""
    return _tensor(a) * b


def div(a: Any, b: Any) -> Tensor:
    """``a / b`` (elementwise) with NumPy broadcasting."""
    return _tensor(a) / b


def neg(x: Any) -> Tensor:
    """``-x``."""
    return -_tensor(x)


def pow(x: Any, exponent: float) -> Tensor:  # noqa: A001 - mirrors torch.pow
    """``x ** exponent`` for a scalar exponent."""
    return _tensor(x) ** exponent


def matmul(a: Any, b: Any) -> Tensor:
    """Matrix product ``a @ b`` (NumPy's ``matmul`` rules, batch axes broadcast)."""
    return _tensor(a) @ b


def exp(x: Any) -> Tensor:
    """Elementwise ``e**x``."""
    return Exp.apply(_tensor(x))


def log(x: Any) -> Tensor:
    """Elementwise natural logarithm (domain x > 0, as ``np.log``)."""
    return Log.apply(_tensor(x))


def sum(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Sum over ``axis`` (all axes by default)."""
    return _tensor(x).sum(axis=axis, keepdims=keepdims)


def mean(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Mean over ``axis`` (all axes by default)."""
    return _tensor(x).mean(axis=axis, keepdims=keepdims)


def reshape(x: Any, shape: Sequence[int]) -> Tensor:
    """``x`` with a new shape (one entry may be -1)."""
    return _tensor(x).reshape(tuple(shape))


def transpose(x: Any, axes: Sequence[int] | None = None) -> Tensor:
    """Permute the axes of ``x`` (reverse them by default)."""
    return Transpose.apply(_tensor(x), axes=None if axes is None else tuple(axes))


def concatenate(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """Join tensors along an existing ``axis`` (PyTorch: ``torch.cat``).

    Raises:
        ValueError: for an empty sequence or shapes that differ off ``axis``.
    """
    if len(tensors) == 0:
        raise ValueError("concatenate needs at least one tensor")
    return Concatenate.apply(*[_tensor(t) for t in tensors], axis=axis)


def linear(x: Any, weight: Any, bias: Any = None) -> Tensor:
    """``x @ weight.T + bias`` (PyTorch's ``F.linear``).

    Shapes: x ``(*, in_features)``, weight ``(out_features, in_features)``, bias
    ``(out_features,)`` or None; result ``(*, out_features)``.

    Raises:
        ValueError: if the last axis of ``x`` is not ``in_features``.
    """
    x, weight = _tensor(x), _tensor(weight)
    if x.ndim == 0 or x.shape[-1] != weight.shape[-1]:
        raise ValueError(f"linear: input has shape {x.shape} but the weight expects "
                         f"{weight.shape[-1]} features on the last axis (weight shape "
                         f"{weight.shape})")
    return Linear.apply(x, weight, None if bias is None else _tensor(bias))


def relu(x: Any) -> Tensor:
    """Rectified linear unit ``max(x, 0)`` (Nair & Hinton, ICML 2010)."""
    return ReLU.apply(_tensor(x))


def leaky_relu(x: Any, negative_slope: float = 0.01) -> Tensor:
    """Leaky ReLU: ``x`` if x > 0 else ``negative_slope * x`` (Maas et al., ICML 2013).

    Default ``negative_slope=0.01`` as PyTorch.
    """
    return LeakyReLU.apply(_tensor(x), negative_slope=float(negative_slope))


def sigmoid(x: Any) -> Tensor:
    """Logistic sigmoid ``1 / (1 + e^-x)``, exact to rounding for any finite x, never
    overflowing; saturates to 0 and 1 (where its derivative vanishes)."""
    return Sigmoid.apply(_tensor(x))


def tanh(x: Any) -> Tensor:
    """Hyperbolic tangent."""
    return Tanh.apply(_tensor(x))


def _axis(axis: int, dim: int | None) -> int:
    return axis if dim is None else dim


def softmax(x: Any, axis: int = -1, *, dim: int | None = None) -> Tensor:
    """Softmax along ``axis`` (``dim`` is accepted as PyTorch's name for it).

    Stable for any finite input: the maximum is subtracted before exponentiating
    (``softmax([[1000, 0]]) == [[1, 0]]``, no overflow or underflow warning).
    """
    return Softmax.apply(_tensor(x), axis=_axis(axis, dim))


def log_softmax(x: Any, axis: int = -1, *, dim: int | None = None) -> Tensor:
    """Logarithm of the softmax along ``axis``, via log-sum-exp (never ``log(0)``)."""
    return LogSoftmax.apply(_tensor(x), axis=_axis(axis, dim))


def batch_norm(x: Any, running_mean: np.ndarray | None, running_var: np.ndarray | None,
               weight: Any = None, bias: Any = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalization of an ``(N, C)`` input (PyTorch's ``F.batch_norm`` signature).

    Args:
        x: input, shape ``(N, C)``.
        running_mean, running_var: arrays of shape ``(C,)`` updated in place when
            ``training`` (may be None in training to skip the update); used for
            normalization when not training.
        weight, bias: the affine parameters gamma and beta, shape ``(C,)``, or None.
        training: use batch statistics (True) or the running ones (False). Default False,
            as PyTorch's functional form.
        momentum: weight of the new batch statistic in the running average (PyTorch's
            convention; Keras uses ``1 - momentum``). Default 0.1.
        eps: added to the variance inside the square root. Default 1e-5.

    Source: Ioffe & Szegedy, ICML 2015. The running variance uses the unbiased batch
    variance (``n/(n-1)`` correction) while the output uses the biased one, as PyTorch.

    Raises:
        ValueError: for an input that is not 2-D, for ``N < 2`` in training ("needs more
            than one sample per feature"), for missing running statistics in eval mode,
            or for statistics/parameters whose length is not ``C``.
    """
    x = _tensor(x)
    if x.ndim == 2:
        c = x.shape[1]
        for name, value in (("running_mean", running_mean), ("running_var", running_var),
                            ("weight", weight), ("bias", bias)):
            if value is not None and np.shape(_value(value)) != (c,):
                raise ValueError(f"batch_norm: {name} has shape {np.shape(_value(value))}, "
                                 f"expected ({c},) for an input with {c} features")
    return BatchNorm.apply(x, weight, bias, running_mean=running_mean,
                           running_var=running_var, training=training,
                           momentum=momentum, eps=eps)


def _value(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


def dropout(x: Any, p: float = 0.5, training: bool = True,
            generator: np.random.Generator | None = None) -> Tensor:
    """Inverted dropout (Srivastava et al., JMLR 2014): in training, zero each element
    with probability ``p`` and scale the others by ``1/(1-p)``; otherwise the identity.

    Args:
        p: drop probability in [0, 1]. Default 0.5 (PyTorch's).
        generator: the random source; default :func:`nncore.random.default_generator`.

    Raises:
        ValueError: if ``p`` is outside [0, 1].
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability p must be in [0, 1], got {p}")
    x = _tensor(x)
    if not training or p == 0.0:
        return x
    if generator is None:
        from nncore.random import default_generator
        generator = default_generator()
    return Dropout.apply(x, p=float(p), generator=generator)


def _target_array(target: Any, what: str) -> np.ndarray:
    if isinstance(target, Tensor):
        if target.requires_grad:
            raise ValueError(f"{what}: the gradient with respect to the target is not "
                             "supported; pass target.detach()")
        return target.data
    return np.asarray(target)


def cross_entropy(logits: Any, target: Any, label_smoothing: float = 0.0,
                  reduction: str = "mean") -> Tensor:
    """Cross-entropy loss of ``softmax(logits)`` against ``target`` (PyTorch's
    ``F.cross_entropy``), computed from logits with log-sum-exp: stable for any finite
    logits (``[[1000, 0]]`` with class 1 gives exactly 1000).

    Args:
        logits: shape ``(N, C)``, unnormalized scores; or ``(C,)``, one unbatched sample
            (PyTorch's semantics: the target is then a 0-d class index or ``(C,)``
            probabilities, and the loss is 0-d for every reduction).
        target: class indices, shape ``(N,)``, integers in ``[0, C)`` (floats holding
            whole numbers are accepted); or class probabilities (one-hot or soft), shape
            ``(N, C)``. Not differentiated.
        label_smoothing: epsilon in [0, 1]; the target becomes ``(1-eps) t + eps/C``
            (Szegedy et al., "Rethinking the Inception Architecture", CVPR 2016, §7).
        reduction: ``"mean"`` (default, over the N samples), ``"sum"`` or ``"none"``.

    Returns:
        a 0-d tensor (or ``(N,)`` for ``reduction="none"``) of the logits' dtype.

    Raises:
        ValueError: for logits that are not 1-D or 2-D, a target of the wrong shape, a
            class index out of range (naming the sample), a non-integer index, or a bad
            ``label_smoothing``/``reduction``.
    """
    logits = _tensor(logits)
    _check_reduction(reduction)
    if isinstance(label_smoothing, (str, bytes, bool)) or not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be a number in [0, 1], got {label_smoothing!r}")
    if logits.ndim == 1:  # one unbatched sample: a batch of one, the loss 0-d
        t = _target_array(target, "cross_entropy")
        c = logits.shape[0]
        if t.shape not in ((), (c,)):
            raise ValueError(f"cross_entropy: target of shape {t.shape} does not fit "
                             f"unbatched logits of shape ({c},); expected a class index "
                             f"(shape ()) or probabilities ({c},)")
        loss = cross_entropy(reshape(logits, (1, c)), t.reshape((1, *t.shape)),
                             label_smoothing, reduction)
        return reshape(loss, ()) if reduction == "none" else loss
    if logits.ndim != 2:
        raise ValueError(f"cross_entropy expects logits of shape (N, C) or (C,), got "
                         f"{logits.shape}")
    n, c = logits.shape
    t = _target_array(target, "cross_entropy")
    if t.shape == (n,):
        if t.dtype.kind == "f":
            if not np.all(np.isfinite(t)) or np.any(t != np.round(t)):
                bad = int(np.flatnonzero(~np.isfinite(t) | (t != np.round(t)))[0])
                raise ValueError(f"cross_entropy: target[{bad}] = {t[bad]} is not a class "
                                 "index (a whole number)")
            t = t.astype(np.int64)
        elif t.dtype.kind not in "iu":
            raise ValueError(f"cross_entropy: class-index target must be integer, got {t.dtype}")
        if n and (t.min() < 0 or t.max() >= c):
            bad = int(np.flatnonzero((t < 0) | (t >= c))[0])
            raise ValueError(f"cross_entropy: target[{bad}] = {t[bad]} is out of range for "
                             f"{c} classes (valid: 0..{c - 1})")
    elif t.shape == (n, c):
        t = t.astype(logits.dtype, copy=False)
    else:
        raise ValueError(f"cross_entropy: target of shape {t.shape} does not fit logits of "
                         f"shape {logits.shape}; expected class indices ({n},) or "
                         f"probabilities ({n}, {c})")
    return CrossEntropy.apply(logits, t, label_smoothing=float(label_smoothing),
                              reduction=reduction)


def _same_shape(pred: Tensor, target: Any, what: str) -> Any:
    if isinstance(target, Tensor):
        t = target
    else:
        try:
            t = as_array(target, pred.dtype)
        except TypeError as e:
            raise TypeError(f"{what}: target: {e}") from None
    if t.shape != pred.shape:
        raise ValueError(f"{what}: prediction has shape {pred.shape} but target has shape "
                         f"{t.shape}; they must be equal (reshape one of them, e.g. "
                         f"target.reshape({', '.join(map(str, pred.shape))}))")
    return t


def mse_loss(pred: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Mean squared error ``mean((pred - target)^2)`` (PyTorch's ``F.mse_loss``).

    Shapes: ``pred`` and ``target`` must be equal. PyTorch only warns and broadcasts
    (so ``(3, 1)`` against ``(3,)`` silently compares every pair); here it is an error.
    The target may be a tensor that requires grad.

    Raises:
        ValueError: for different shapes or an unknown ``reduction``.
    """
    pred = _tensor(pred)
    _check_reduction(reduction)
    target = _same_shape(pred, target, "mse_loss")
    return MSELoss.apply(pred, target, reduction=reduction)


def binary_cross_entropy(p: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy on probabilities (PyTorch's ``F.binary_cross_entropy``).

    ``p`` and ``target`` have the same shape, values in [0, 1]; logs clamped at -100 as
    PyTorch. Prefer :func:`binary_cross_entropy_with_logits` on raw scores.

    Raises:
        ValueError: for different shapes, ``p`` outside [0, 1] (naming the first bad
            value) or an unknown ``reduction``.
    """
    p = _tensor(p)
    _check_reduction(reduction)
    y = _target_array(_same_shape(p, target, "binary_cross_entropy"), "binary_cross_entropy")
    y = y.astype(p.dtype, copy=False)
    bad = ~((p.data >= 0) & (p.data <= 1))
    if bad.any():
        where = tuple(int(i) for i in np.unravel_index(int(np.flatnonzero(bad)[0]), p.shape))
        raise ValueError(f"binary_cross_entropy: input must be probabilities in [0, 1]; "
                         f"input{list(where)} = {p.data[where]}")
    return BCELoss.apply(p, y, reduction=reduction)


def binary_cross_entropy_with_logits(logits: Any, target: Any,
                                     reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of ``sigmoid(logits)`` against ``target`` in [0, 1], fused
    (PyTorch's ``F.binary_cross_entropy_with_logits``): finite for any finite logits.

    Raises:
        ValueError: for different shapes or an unknown ``reduction``.
    """
    logits = _tensor(logits)
    _check_reduction(reduction)
    y = _target_array(_same_shape(logits, target, "binary_cross_entropy_with_logits"),
                      "binary_cross_entropy_with_logits")
    return BCEWithLogits.apply(logits, y.astype(logits.dtype, copy=False), reduction=reduction)
