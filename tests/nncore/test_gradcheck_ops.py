"""Numerical gradient check of every op in the registry (nncore.tensor.OPS).

Each op has cases over several shapes, including broadcasting and batch size 1. The
meta-test fails when an op is registered without a case, so a new op cannot ship
unchecked (HIPS/autograd ``check_grads``, Chainer ``check_backward``).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pytest

from nncore import OPS, Tensor
from nncore import functional as F
from nncore.gradcheck import GradcheckError, gradcheck

Case = tuple[str, Callable[[np.random.Generator, type], tuple[Callable, list]]]


def T(a, dtype=np.float64, grad=True):
    return Tensor(np.asarray(a, dtype=dtype), requires_grad=grad)


def away_from_zero(rng, shape, low=0.1, high=2.0):
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(low, high, size=shape)


def binary(op):
    def cases(sa, sb):
        def make(rng, dt):
            return op, [T(rng.standard_normal(sa), dt), T(rng.standard_normal(sb) + 3.0, dt)]
        return make
    return cases


BROADCAST_SHAPES = [((3, 4), (3, 4)), ((1, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1)),
                    ((), (2, 3)), ((1,), (1,))]

CASES: dict[str, list[Case]] = {}


def case(op: str, name: str):
    def register(fn):
        CASES.setdefault(op, []).append((name, fn))
        return fn
    return register


for _op, _fn in (("Add", lambda a, b: a + b), ("Sub", lambda a, b: a - b),
                 ("Mul", lambda a, b: a * b), ("Div", lambda a, b: a / b)):
    for _sa, _sb in BROADCAST_SHAPES:
        CASES.setdefault(_op, []).append((f"{_sa}x{_sb}", binary(_fn)(_sa, _sb)))
    CASES[_op].append(("with scalar constant",
                       lambda rng, dt, f=_fn: (lambda a: f(a, 2.5), [T(rng.standard_normal((2, 3)), dt)])))
    CASES[_op].append(("with array constant on the left",
                       lambda rng, dt, f=_fn: (lambda a: f(np.full((3,), 1.5), a),
                                               [T(rng.uniform(1, 2, (2, 3)), dt)])))


@case("Neg", "2x3")
def _(rng, dt):
    return (lambda a: -a), [T(rng.standard_normal((2, 3)), dt)]


@case("Pow", "square, cube, sqrt, reciprocal")
def _(rng, dt):
    return (lambda a: a ** 2 + a ** 3 + a ** 0.5 + a ** -1.0), [T(rng.uniform(0.5, 2, (3, 2)), dt)]


@case("Exp", "3x2")
def _(rng, dt):
    return (lambda a: a.exp()), [T(rng.standard_normal((3, 2)), dt)]


@case("Log", "positive 4")
def _(rng, dt):
    return (lambda a: a.log()), [T(rng.uniform(0.5, 3, (4,)), dt)]


for _sa, _sb in [((3, 4), (4, 2)), ((1, 4), (4, 1)), ((4,), (4, 3)), ((3, 4), (4,)),
                 ((2, 3, 4), (4, 5)), ((2, 3, 4), (1, 4, 2)), ((4,), (4,))]:
    CASES.setdefault("MatMul", []).append(
        (f"{_sa}@{_sb}", lambda rng, dt, sa=_sa, sb=_sb: (
            lambda a, b: a @ b, [T(rng.standard_normal(sa), dt), T(rng.standard_normal(sb), dt)])))

for _axis, _keep in [(None, False), (0, False), (1, True), ((0, 2), False), (-1, True)]:
    for _op in ("Sum", "Mean"):
        CASES.setdefault(_op, []).append(
            (f"axis={_axis} keepdims={_keep}", lambda rng, dt, ax=_axis, k=_keep, op=_op: (
                (lambda a: a.sum(axis=ax, keepdims=k)) if op == "Sum"
                else (lambda a: a.mean(axis=ax, keepdims=k)),
                [T(rng.standard_normal((2, 3, 4)), dt)])))


@case("Reshape", "(2,3,4)->(6,-1)")
def _(rng, dt):
    return (lambda a: a.reshape(6, -1) * np.arange(24.0).reshape(6, 4)), [T(rng.standard_normal((2, 3, 4)), dt)]


@case("Transpose", "reverse and permuted")
def _(rng, dt):
    w = np.arange(24.0).reshape(4, 3, 2)
    w2 = np.arange(24.0).reshape(3, 4, 2)
    return (lambda a: (a.T * w).sum() + a.transpose(1, 2, 0) * w2), [T(rng.standard_normal((2, 3, 4)), dt)]


@case("GetItem", "slices, integer arrays with repeats, boolean mask")
def _(rng, dt):
    mask = np.array([True, False, True, True])
    return (lambda a: a[1:, ::2].sum() + a[np.array([0, 0, 2]), 1] * 2.0 + a[:, mask].sum(axis=0)), \
        [T(rng.standard_normal((3, 4)), dt)]


@case("Concatenate", "axis 0 and axis 1, three inputs")
def _(rng, dt):
    a, b, c = T(rng.standard_normal((2, 3)), dt), T(rng.standard_normal((1, 3)), dt), T(rng.standard_normal((2, 2)), dt)
    w = np.arange(15.0).reshape(3, 5)
    return (lambda a, b, c: F.concatenate([F.concatenate([a, b]), F.concatenate([c, c[:1]], axis=0)],
                                          axis=1) * w), [a, b, c]


for _n in (1, 5):
    for _bias in (True, False):
        CASES.setdefault("Linear", []).append(
            (f"batch {_n} bias={_bias}", lambda rng, dt, n=_n, b=_bias: (
                (lambda x, w, *bb: F.linear(x, w, bb[0] if bb else None)),
                [T(rng.standard_normal((n, 4)), dt), T(rng.standard_normal((3, 4)), dt)]
                + ([T(rng.standard_normal(3), dt)] if b else []))))
CASES["Linear"].append(("3-D input", lambda rng, dt: (
    lambda x, w, b: F.linear(x, w, b),
    [T(rng.standard_normal((2, 3, 4)), dt), T(rng.standard_normal((5, 4)), dt), T(rng.standard_normal(5), dt)])))

for _op, _f in (("ReLU", F.relu), ("LeakyReLU", lambda x: F.leaky_relu(x, 0.2)),
                ("Sigmoid", F.sigmoid), ("Tanh", F.tanh)):
    for _shape in ((1, 3), (4, 5), (7,)):
        CASES.setdefault(_op, []).append(
            (f"{_shape}", lambda rng, dt, f=_f, s=_shape: (f, [T(away_from_zero(rng, s), dt)])))
CASES["Sigmoid"].append(("large |x|", lambda rng, dt: (F.sigmoid, [T([-30.0, -8.0, 8.0, 30.0], dt)])))

for _op, _f in (("Softmax", F.softmax), ("LogSoftmax", F.log_softmax)):
    for _shape, _axis in (((1, 3), -1), ((4, 5), 1), ((4, 5), 0), ((6,), 0)):
        CASES.setdefault(_op, []).append(
            (f"{_shape} axis {_axis}", lambda rng, dt, f=_f, s=_shape, a=_axis: (
                lambda x: f(x, axis=a), [T(rng.standard_normal(s) * 3, dt)])))


def _bn_case(n, training, affine):
    def make(rng, dt):
        c = 3
        rm, rv = rng.standard_normal(c).astype(dt), rng.uniform(0.5, 2, c).astype(dt)
        x = T(rng.standard_normal((n, c)) * 2 + 1, dt)
        params = [T(rng.uniform(0.5, 2, c), dt), T(rng.standard_normal(c), dt)] if affine else []

        def f(x, *wb):
            w, b = (wb if wb else (None, None))
            return F.batch_norm(x, rm, rv, w, b, training=training)
        return f, [x, *params]
    return make


for _n, _tr, _aff in ((4, True, True), (2, True, True), (5, True, False), (1, False, True), (3, False, True)):
    CASES.setdefault("BatchNorm", []).append((f"n={_n} training={_tr} affine={_aff}", _bn_case(_n, _tr, _aff)))


@case("Dropout", "p=0.3 fixed mask")
def _(rng, dt):
    return (lambda x: F.dropout(x, 0.3, True, np.random.default_rng(7))), [T(rng.standard_normal((4, 5)), dt)]


@case("Dropout", "p=1 drops everything")
def _(rng, dt):
    return (lambda x: F.dropout(x, 1.0, True, np.random.default_rng(7)) + x), [T(rng.standard_normal((2, 3)), dt)]


def _ce_case(n, c, kind, smoothing, reduction):
    def make(rng, dt):
        logits = T(rng.standard_normal((n, c)) * 2, dt)
        if kind == "index":
            target = rng.integers(0, c, n)
        else:
            target = rng.dirichlet(np.ones(c), n).astype(dt)
        return (lambda z: F.cross_entropy(z, target, label_smoothing=smoothing, reduction=reduction)), [logits]
    return make


for _args in ((4, 3, "index", 0.0, "mean"), (1, 5, "index", 0.0, "mean"), (4, 3, "index", 0.1, "sum"),
              (3, 4, "probs", 0.0, "mean"), (3, 4, "probs", 0.2, "none"), (2, 2, "index", 0.0, "none")):
    CASES.setdefault("CrossEntropy", []).append((" ".join(map(str, _args)), _ce_case(*_args)))


for _shape, _red in (((3, 2), "mean"), ((1, 1), "sum"), ((4,), "none")):
    CASES.setdefault("MSELoss", []).append(
        (f"{_shape} {_red}", lambda rng, dt, s=_shape, r=_red: (
            lambda p, t: F.mse_loss(p, t, reduction=r),
            [T(rng.standard_normal(s), dt), T(rng.standard_normal(s), dt)])))
    CASES.setdefault("BCELoss", []).append(
        (f"{_shape} {_red}", lambda rng, dt, s=_shape, r=_red: (
            (lambda p, y=rng.uniform(0, 1, s).astype(dt):  # noqa: B008 - drawn once
             F.binary_cross_entropy(p, y, reduction=r)),
            [T(rng.uniform(0.05, 0.95, s), dt)])))
    CASES.setdefault("BCEWithLogits", []).append(
        (f"{_shape} {_red}", lambda rng, dt, s=_shape, r=_red: (
            (lambda x, y=(rng.uniform(0, 1, s) > 0.5).astype(dt):  # noqa: B008 - drawn once
             F.binary_cross_entropy_with_logits(x, y, reduction=r)),
            [T(rng.standard_normal(s) * 3, dt)])))


ALL = [(op, name, make) for op, cases in sorted(CASES.items()) for name, make in cases]


def test_every_registered_op_has_a_gradient_check_case():
    missing = sorted(set(OPS) - set(CASES))
    assert not missing, f"ops without a gradient check case: {missing}"
    unknown = sorted(set(CASES) - set(OPS))
    assert not unknown, f"cases for ops that are not registered: {unknown}"
    for cases in CASES.values():
        assert len(cases) >= 1


@pytest.mark.parametrize("op,name,make", ALL, ids=[f"{op}-{name}" for op, name, _ in ALL])
def test_gradient_matches_central_differences(op, name, make):
    fn, inputs = make(np.random.default_rng(0), np.float64)
    result = gradcheck(fn, inputs, eps=1e-6, atol=1e-7, rtol=1e-5)
    assert result.ok
    assert result.max_rel_error < 1e-5


@pytest.mark.parametrize("op,name,make", ALL, ids=[f"{op}-{name}" for op, name, _ in ALL])
def test_float32_stays_float32(op, name, make):
    fn, inputs = make(np.random.default_rng(0), np.float32)
    out = fn(*inputs)
    assert out.dtype == np.float32, f"{op} returned {out.dtype} for float32 inputs"
    out.backward(np.ones(out.shape, dtype=np.float32))
    for t in inputs:
        assert t.grad is not None and t.grad.dtype == np.float32 and t.grad.shape == t.shape


def test_gradcheck_catches_a_wrong_backward():
    from nncore.tensor import Function

    class _WrongSquare(Function):  # private name: not registered in OPS
        def forward(self, x):
            self.x = x
            return x * x

        def backward(self, g):
            return (g * self.x,)  # should be 2 * x

    x = T([1.0, 2.0, 3.0])
    result = gradcheck(lambda a: _WrongSquare.apply(a), [x], raise_exception=False)
    assert not result.ok
    assert result.max_rel_error == pytest.approx(0.5, rel=1e-6)
    assert "input 0" in result.worst
    with pytest.raises(GradcheckError, match="relative error"):
        gradcheck(lambda a: _WrongSquare.apply(a), [x])
    assert "_WrongSquare" not in OPS


def test_gradcheck_rejects_float32_and_no_inputs():
    with pytest.raises(ValueError, match="float64"):
        gradcheck(lambda a: a * 2, [Tensor(np.ones(2, np.float32), requires_grad=True)])
    with pytest.raises(ValueError, match="requires_grad"):
        gradcheck(lambda a: a * 2, [Tensor(np.ones(2))])


def test_check_module_on_a_whole_model_names_parameters():
    from nncore import nn
    from nncore.gradcheck import check_module

    rng = np.random.default_rng(1)
    model = nn.Sequential(nn.Linear(3, 4, generator=rng), nn.BatchNorm1d(4), nn.Tanh(),
                          nn.Linear(4, 2, generator=rng)).double()
    x = Tensor(rng.standard_normal((5, 3)), requires_grad=True)
    y = np.array([0, 1, 1, 0, 1])
    result = check_module(model, x, lambda out: F.cross_entropy(out, y))
    assert result.ok
    assert set(result.per_input) == {"input 0 (0.weight)", "input 1 (0.bias)", "input 2 (1.weight)",
                                     "input 3 (1.bias)", "input 4 (3.weight)", "input 5 (3.bias)", "input 6"}


def test_check_module_leaves_the_module_as_it_was():
    from nncore import nn
    from nncore.gradcheck import check_module

    rng = np.random.default_rng(2)
    model = nn.Sequential(nn.Linear(3, 4, generator=rng), nn.BatchNorm1d(4), nn.ReLU(),
                          nn.Linear(4, 2, generator=rng)).double()
    for p in model.parameters():
        p.grad = np.full(p.shape, 7.0)
    before = model.state_dict()
    x = Tensor(rng.standard_normal((6, 3)))
    assert check_module(model, x, lambda out: out.sum()).ok
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k], err_msg=k)  # running stats too
    assert all(np.all(p.grad == 7.0) and p.name is None for p in model.parameters())


def test_check_module_refuses_dropout_in_training_mode():
    from nncore import nn
    from nncore.gradcheck import check_module

    model = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5)).double()
    with pytest.raises(ValueError, match="Dropout in training mode.*eval"):
        check_module(model, Tensor(np.ones((2, 3))))
    assert check_module(model.eval(), Tensor(np.ones((2, 3)))).ok


def test_gradcheck_restores_inputs_when_the_function_fails():
    x = T([1.0, 2.0])
    calls = {"n": 0}

    def fn(a):
        calls["n"] += 1
        if calls["n"] > 1:
            raise RuntimeError("boom")
        return a * 2.0

    with pytest.raises(RuntimeError, match="boom"):
        gradcheck(fn, [x])
    np.testing.assert_array_equal(x.data, [1.0, 2.0])


def test_a_nan_gradient_fails_the_check_and_is_named():
    """log(-1) is NaN in value and gradient: NaN compares False with any tolerance, so
    the check used to pass; now the element fails and is the worst one."""
    import warnings

    x = Tensor(np.array([2.0, -1.0]), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = gradcheck(lambda t: F.log(t), [x], raise_exception=False)
    # (the NaN output makes every central difference NaN: each element fails, the first
    # is named)
    assert not result.ok and result.max_rel_error == np.inf
    assert "index (0,)" in result.worst and "numeric nan" in result.worst
