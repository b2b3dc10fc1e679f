"""Tests for nncore.optim's optimizers (reference cases R04-R08 of /work/shared/reference-cases.md).

Expected values are derived by hand from the published update rules (the arithmetic is
written out next to each value) or computed by the small reference implementations at
the top of this file, written directly from PyTorch's documented algorithms with plain
out-of-place NumPy expressions. When ``torch`` is importable (a bench-only dependency),
every optimizer and option combination is also compared with ``torch.optim``.
"""

from __future__ import annotations

import copy
import itertools
import json
import math

import numpy as np
import pytest

from nncore import Tensor, nn, no_grad, optim
from nncore.nn import Parameter


# ============================================================================ helpers
def P(values, dtype=np.float64) -> Parameter:
    return Parameter(np.array(values, dtype=dtype))


def trajectory(cls, p0, grads, dtype=np.float64, **kw) -> list[np.ndarray]:
    """Parameter values after each step of ``cls`` fed the given gradients."""
    p = P(p0, dtype)
    opt = cls([p], **kw)
    out = []
    for g in grads:
        p.grad = np.array(g, dtype=dtype)
        opt.step()
        out.append(p.data.copy())
    return out


def combos():
    """(class name, kwargs) for every optimizer and option combination."""
    out = []
    for wd, mx in itertools.product([0.0, 0.1], [False, True]):
        out.append(("SGD", dict(lr=0.1, weight_decay=wd, maximize=mx)))
        for mom, damp, nest in [(0.9, 0.0, False), (0.9, 0.0, True), (0.9, 0.5, False)]:
            out.append(("SGD", dict(lr=0.1, momentum=mom, dampening=damp, nesterov=nest,
                                    weight_decay=wd, maximize=mx)))
        for lrd, iav in itertools.product([0.0, 0.1], [0.0, 0.5]):
            out.append(("Adagrad", dict(lr=0.1, lr_decay=lrd, initial_accumulator_value=iav,
                                        weight_decay=wd, maximize=mx)))
        for centered, mom in itertools.product([False, True], [0.0, 0.9]):
            out.append(("RMSprop", dict(lr=0.01, centered=centered, momentum=mom,
                                        weight_decay=wd, maximize=mx)))
        out.append(("Adadelta", dict(lr=1.0, weight_decay=wd, maximize=mx)))
        for ams in (False, True):
            out.append(("Adam", dict(lr=0.01, amsgrad=ams, weight_decay=wd, maximize=mx)))
            out.append(("AdamW", dict(lr=0.01, amsgrad=ams, weight_decay=wd, maximize=mx)))
    return out


COMBOS = combos()
COMBO_IDS = [f"{n}-" + ",".join(f"{k}={v}" for k, v in kw.items() if k != "lr")
             for n, kw in COMBOS]


# ---------------------------------------------------------------- reference implementations
# Written from the algorithm boxes of PyTorch's documentation, out of place, in the
# textbook form (e.g. Adam's m = b1*m + (1-b1)*g rather than torch.lerp).

def ref_sgd(p, grads, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
            maximize=False):
    p = np.array(p, dtype=float)
    b = None
    out = []
    for g in grads:
        g = -np.asarray(g) if maximize else np.asarray(g)
        if weight_decay:
            g = g + weight_decay * p
        if momentum:
            b = g.copy() if b is None else momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        p = p - lr * g
        out.append(p)
    return out


def ref_adagrad(p, grads, lr, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
                eps=1e-10, maximize=False):
    p = np.array(p, dtype=float)
    s = np.full_like(p, initial_accumulator_value)
    out = []
    for t, g in enumerate(grads, 1):
        g = -np.asarray(g) if maximize else np.asarray(g)
        if weight_decay:
            g = g + weight_decay * p
        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g * g
        p = p - clr * g / (np.sqrt(s) + eps)
        out.append(p)
    return out


def ref_rmsprop(p, grads, lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                centered=False, maximize=False):
    p = np.array(p, dtype=float)
    v = np.zeros_like(p)
    m = np.zeros_like(p)
    b = np.zeros_like(p)
    out = []
    for g in grads:
        g = -np.asarray(g) if maximize else np.asarray(g)
        if weight_decay:
            g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g * g
        if centered:
            m = alpha * m + (1 - alpha) * g
            avg = np.sqrt(v - m * m) + eps
        else:
            avg = np.sqrt(v) + eps
        if momentum:
            b = momentum * b + g / avg
            p = p - lr * b
        else:
            p = p - lr * g / avg
        out.append(p)
    return out


def ref_adadelta(p, grads, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False):
    p = np.array(p, dtype=float)
    v = np.zeros_like(p)
    u = np.zeros_like(p)
    out = []
    for g in grads:
        g = -np.asarray(g) if maximize else np.asarray(g)
        if weight_decay:
            g = g + weight_decay * p
        v = rho * v + (1 - rho) * g * g
        delta = np.sqrt(u + eps) / np.sqrt(v + eps) * g
        u = rho * u + (1 - rho) * delta * delta
        p = p - lr * delta
        out.append(p)
    return out


def ref_adam(p, grads, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
             amsgrad=False, maximize=False, decoupled=False):
    b1, b2 = betas
    p = np.array(p, dtype=float)
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    vmax = np.zeros_like(p)
    out = []
    for t, g in enumerate(grads, 1):
        g = -np.asarray(g) if maximize else np.asarray(g)
        if decoupled:
            p = p * (1 - lr * weight_decay)
        elif weight_decay:
            g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        if amsgrad:
            vmax = np.maximum(vmax, v)
            vv = vmax
        else:
            vv = v
        m_hat = m / (1 - b1 ** t)
        p = p - lr * m_hat / (np.sqrt(vv) / math.sqrt(1 - b2 ** t) + eps)
        out.append(p)
    return out


def reference(name, p0, grads, kw):
    kw = dict(kw)
    if name == "SGD":
        return ref_sgd(p0, grads, **kw)
    if name == "Adagrad":
        return ref_adagrad(p0, grads, **kw)
    if name == "RMSprop":
        return ref_rmsprop(p0, grads, **kw)
    if name == "Adadelta":
        return ref_adadelta(p0, grads, **kw)
    if name == "Adam":
        return ref_adam(p0, grads, **kw)
    if name == "AdamW":
        return ref_adam(p0, grads, decoupled=True, **kw)
    raise AssertionError(name)


# ============================================================================ R04: Adam eps
class TestR04AdamEpsilon:
    def test_eps_after_sqrt_of_bias_corrected_moment(self):
        # m_hat = 1, v_hat = 1: p = 1 - 0.1 * 1 / (1 + 1e-8)
        (p,) = trajectory(optim.Adam, [1.0], [[1.0]], lr=0.1)
        assert p[0] == pytest.approx(0.900000001, abs=1e-12)

    def test_large_eps_halves_the_step(self):
        # p = 1 - 0.1 * 1 / (1 + 1) = 0.95 (TensorFlow's eps-hat form would give 0.9999...)
        (p,) = trajectory(optim.Adam, [1.0], [[1.0]], lr=0.1, eps=1.0)
        assert p[0] == pytest.approx(0.95, abs=1e-15)

    def test_two_steps_of_half_gradient(self):
        # Both steps: m_hat = 0.5, sqrt(v_hat) = 0.5 -> step 0.1 * 0.5 / (0.5 + 1e-8)
        p1, p2 = trajectory(optim.Adam, [1.0], [[0.5], [0.5]], lr=0.1)
        assert p1[0] == pytest.approx(0.900000002, abs=1e-12)
        assert p2[0] == pytest.approx(0.800000004, abs=1e-12)


# ============================================================================ R05: decay
class TestR05WeightDecay:
    def test_adam_l2_decay_enters_the_moments(self):
        # g = 0 + 0.1*1 = 0.1; m_hat = 0.1, sqrt(v_hat) = 0.1 -> p = 1 - 0.1*0.1/(0.1+1e-8)
        (p,) = trajectory(optim.Adam, [1.0], [[0.0]], lr=0.1, weight_decay=0.1)
        assert p[0] == pytest.approx(0.90000001, abs=1e-12)

    def test_adamw_decoupled_decay_with_zero_gradient(self):
        # p = 1 * (1 - 0.1*0.1) = 0.99; the Adam step of a zero gradient is 0 / eps = 0
        (p,) = trajectory(optim.AdamW, [1.0], [[0.0]], lr=0.1, weight_decay=0.1)
        assert p[0] == pytest.approx(0.99, abs=1e-15)

    def test_adamw_decays_before_the_adam_step(self):
        # 0.99 - 0.1 * 1/(1 + 1e-8) = 0.890000001; decaying afterwards would give 0.891
        (p,) = trajectory(optim.AdamW, [1.0], [[1.0]], lr=0.1, weight_decay=0.1)
        assert p[0] == pytest.approx(0.890000001, abs=1e-12)
        assert abs(p[0] - 0.891) > 1e-4

    def test_adamw_default_weight_decay_is_1e_2(self):
        p = P([1.0])
        assert optim.AdamW([p]).defaults["weight_decay"] == 0.01
        assert optim.Adam([p]).defaults["weight_decay"] == 0.0

    @pytest.mark.parametrize("name,kw", COMBOS, ids=COMBO_IDS)
    @pytest.mark.parametrize("wd", [0.0, 0.1, 5.0])
    def test_lr_zero_leaves_parameters_bit_for_bit(self, name, kw, wd):
        rng = np.random.default_rng(5)
        kw = dict(kw, lr=0.0, weight_decay=wd)
        p0 = rng.standard_normal((3, 2))
        p = P(p0)
        opt = getattr(optim, name)([p], **kw)
        for _ in range(3):
            p.grad = rng.standard_normal((3, 2))
            opt.step()
        assert np.array_equal(p.data, p0)
        assert p.data.tobytes() == p0.tobytes()


# ============================================================================ R06: which decay
class TestR06DecayedParameters:
    def test_sgd_weight_decay_on_zero_gradient(self):
        # p - 0.1 * (0 + 0.1 * p) = 0.99 p
        (p,) = trajectory(optim.SGD, [1.0, 2.0], [[0.0, 0.0]], lr=0.1, weight_decay=0.1)
        np.testing.assert_allclose(p, [0.99, 1.98], rtol=0, atol=1e-15)

    @staticmethod
    def _model():
        return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))

    @staticmethod
    def _zero_grad_step(model, groups):
        before = {n: p.data.copy() for n, p in model.named_parameters()}
        opt = optim.SGD(groups, lr=0.1)
        for p in model.parameters():
            p.grad = np.zeros_like(p.data)
        opt.step()
        return before, {n: p.data.copy() for n, p in model.named_parameters()}

    def test_default_excludes_biases_and_batchnorm(self):
        model = self._model()
        groups = optim.param_groups_for_weight_decay(model, 0.1)
        assert len(groups) == 2
        assert groups[0]["weight_decay"] == 0.1 and groups[1]["weight_decay"] == 0.0
        by_id = {id(p): n for n, p in model.named_parameters()}
        assert [by_id[id(p)] for p in groups[0]["params"]] == ["0.weight", "3.weight"]
        assert [by_id[id(p)] for p in groups[1]["params"]] == [
            "0.bias", "1.weight", "1.bias", "3.bias"]
        before, after = self._zero_grad_step(model, groups)
        for name in before:
            factor = 0.99 if name.endswith("weight") and name != "1.weight" else 1.0
            np.testing.assert_allclose(after[name], factor * before[name], rtol=1e-6)
        # BatchNorm's gamma stays exactly 1, biases exactly unchanged
        assert np.array_equal(after["1.weight"], before["1.weight"])
        assert np.array_equal(after["0.bias"], before["0.bias"])

    def test_including_everything(self):
        model = self._model()
        groups = optim.param_groups_for_weight_decay(model, 0.1, exclude_bias_and_norm=False)
        assert len(groups) == 1 and groups[0]["weight_decay"] == 0.1
        assert len(groups[0]["params"]) == len(list(model.parameters()))
        before, after = self._zero_grad_step(model, groups)
        for name in before:
            np.testing.assert_allclose(after[name], 0.99 * before[name], rtol=1e-6)

    def test_accepts_named_parameters_and_plain_parameters_and_dedupes(self):
        w, b = P(np.ones((2, 2))), P([1.0, 2.0])
        g1 = optim.param_groups_for_weight_decay([("w", w), ("b", b), ("w2", w)], 0.5)
        g2 = optim.param_groups_for_weight_decay([w, b, w], 0.5)
        for g in (g1, g2):
            assert g[0]["params"] == [w] and g[1]["params"] == [b]
        model = self._model()
        g3 = optim.param_groups_for_weight_decay(model.named_parameters(), 0.5)
        assert len(g3[0]["params"]) == 2

    def test_groups_work_with_adamw_and_negative_decay_is_rejected(self):
        model = self._model()
        opt = optim.AdamW(optim.param_groups_for_weight_decay(model, 0.05), lr=1e-3)
        assert [g["weight_decay"] for g in opt.param_groups] == [0.05, 0.0]
        with pytest.raises(ValueError, match="weight_decay"):
            optim.param_groups_for_weight_decay(model, -1.0)
        with pytest.raises(TypeError):
            optim.param_groups_for_weight_decay([1, 2], 0.1)

    def test_docstring_states_the_default(self):
        doc = optim.param_groups_for_weight_decay.__doc__
        assert "default True" in doc and "Goyal" in doc and "Loshchilov" in doc


# ============================================================================ R07: Adagrad
class TestR07Adagrad:
    def test_zero_gradient_on_zero_accumulator_is_not_nan(self):
        with np.errstate(all="raise"):
            (p,) = trajectory(optim.Adagrad, [1.0], [[0.0]], lr=0.1)
        assert p[0] == 1.0

    def test_two_steps(self):
        # s = 4: p = 1 - 0.1*2/2 = 0.9; s = 8: p = 0.9 - 0.1*2/sqrt(8) = 0.82928932
        p1, p2 = trajectory(optim.Adagrad, [1.0], [[2.0], [2.0]], lr=0.1)
        assert p1[0] == pytest.approx(0.9, abs=1e-9)
        assert p2[0] == pytest.approx(0.82928932, abs=1e-8)

    def test_lr_decay(self):
        # step 2: clr = 0.1 / (1 + 1*0.5); p = 0.9 - (0.1/1.5) * 2/sqrt(8)
        p1, p2 = trajectory(optim.Adagrad, [1.0], [[2.0], [2.0]], lr=0.1, lr_decay=0.5)
        assert p1[0] == pytest.approx(0.9, abs=1e-9)
        assert p2[0] == pytest.approx(0.85285954792089683, abs=1e-9)

    def test_initial_accumulator_value(self):
        # s = 1 + 1 = 2: p = 1 - 0.1 / sqrt(2)
        (p,) = trajectory(optim.Adagrad, [1.0], [[1.0]], lr=0.1, initial_accumulator_value=1.0)
        assert p[0] == pytest.approx(0.92928932188134524, abs=1e-9)


# ============================================================================ R08: Adadelta
class TestR08Adadelta:
    def test_rho_zero_eps_one(self):
        # v = 1; delta = sqrt(0 + 1)/sqrt(1 + 1) * 1 = 0.70710678
        (p,) = trajectory(optim.Adadelta, [0.0], [[1.0]], lr=1.0, rho=0.0, eps=1.0)
        assert p[0] == pytest.approx(-0.70710678, abs=1e-8)

    def test_two_steps(self):
        # step 1: v = 0.1*4 = 0.4; delta = sqrt(1e-6)/sqrt(0.400001) * 2 = 0.00316227
        #         u = 0.1 * delta^2 = 1.0e-6 (approx.)
        # step 2: v = 0.36 + 0.9 = 1.26; delta = sqrt(u + 1e-6)/sqrt(1.260001) * 3
        p1, p2 = trajectory(optim.Adadelta, [0.0], [[2.0], [3.0]], lr=1.0, rho=0.9, eps=1e-6)
        assert p1[0] == pytest.approx(-0.00316227, abs=1e-8)
        assert p2[0] == pytest.approx(-0.00694191, abs=1e-8)

    def test_lr_scales_the_update(self):
        (a,) = trajectory(optim.Adadelta, [0.0], [[1.0]], lr=1.0, rho=0.0, eps=1.0)
        (b,) = trajectory(optim.Adadelta, [0.0], [[1.0]], lr=0.5, rho=0.0, eps=1.0)
        assert b[0] == pytest.approx(a[0] / 2, abs=1e-15)


# ============================================================================ golden steps
class TestGoldenSGD:
    def test_plain_step(self):
        (p,) = trajectory(optim.SGD, [1.0, 2.0], [[0.5, -1.0]], lr=0.1)
        np.testing.assert_allclose(p, [0.95, 2.1], rtol=0, atol=1e-15)

    def test_maximize(self):
        (p,) = trajectory(optim.SGD, [1.0, 2.0], [[0.5, -1.0]], lr=0.1, maximize=True)
        np.testing.assert_allclose(p, [1.05, 1.9], rtol=0, atol=1e-15)

    def test_momentum_three_steps(self):
        # b = 1, 0.9*1+2 = 2.9, 0.9*2.9+3 = 5.61; p = 1-0.1, -0.29, -0.561
        ps = trajectory(optim.SGD, [1.0], [[1.0], [2.0], [3.0]], lr=0.1, momentum=0.9)
        np.testing.assert_allclose([x[0] for x in ps], [0.9, 0.61, 0.049], atol=1e-14)

    def test_first_momentum_step_copies_the_gradient_without_dampening(self):
        # b = 1 (clone, no dampening), 0.9*1 + 0.5*2 = 1.9, 0.9*1.9 + 0.5*3 = 3.21
        ps = trajectory(optim.SGD, [1.0], [[1.0], [2.0], [3.0]], lr=0.1, momentum=0.9,
                        dampening=0.5)
        np.testing.assert_allclose([x[0] for x in ps], [0.9, 0.71, 0.389], atol=1e-14)

    def test_nesterov_three_steps(self):
        # update g + 0.9*b: 1 + 0.9 = 1.9, 2 + 0.9*2.9 = 4.61, 3 + 0.9*5.61 = 8.049
        ps = trajectory(optim.SGD, [1.0], [[1.0], [2.0], [3.0]], lr=0.1, momentum=0.9,
                        nesterov=True)
        np.testing.assert_allclose([x[0] for x in ps], [0.81, 0.349, -0.4559], atol=1e-14)

    def test_momentum_with_weight_decay(self):
        # d_p = 1 + 0.1*1 = 1.1 -> p = 0.89; d_p = 1 + 0.089 = 1.089, b = 0.99 + 1.089
        ps = trajectory(optim.SGD, [1.0], [[1.0], [1.0]], lr=0.1, momentum=0.9,
                        weight_decay=0.1)
        np.testing.assert_allclose([x[0] for x in ps], [0.89, 0.6821], atol=1e-14)

    def test_pytorch_2_default_lr(self):
        assert optim.SGD([P([1.0])]).defaults["lr"] == 1e-3


class TestGoldenRMSprop:
    def test_plain(self):
        # v = 0.01*1 = 0.01; p = 1 - 0.01 * 1/(0.1 + 1e-8)
        (p,) = trajectory(optim.RMSprop, [1.0], [[1.0]], lr=0.01)
        assert p[0] == pytest.approx(1 - 0.01 / 0.10000001, abs=1e-15)
        assert p[0] == pytest.approx(0.90000001, abs=1e-12)

    def test_centered_eps_after_the_sqrt(self):
        # m = 0.01, v - m^2 = 0.01 - 0.0001 = 0.0099 -> avg = sqrt(0.0099) + 1e-8
        (p,) = trajectory(optim.RMSprop, [1.0], [[1.0]], lr=0.01, centered=True)
        assert p[0] == pytest.approx(1 - 0.01 / (0.099498743710662 + 1e-8), abs=1e-12)
        # eps inside the sqrt would give a visibly different value with a large eps
        (q,) = trajectory(optim.RMSprop, [1.0], [[1.0]], lr=0.01, centered=True, eps=0.01)
        assert q[0] == pytest.approx(1 - 0.01 / (0.099498743710662 + 0.01), abs=1e-12)

    def test_momentum_two_steps(self):
        # b1 = 1/(0.1 + 1e-8); v2 = 0.99*0.01 + 0.01 = 0.0199; b2 = 0.9 b1 + 1/(sqrt(0.0199)+1e-8)
        p1, p2 = trajectory(optim.RMSprop, [1.0], [[1.0], [1.0]], lr=0.01, momentum=0.9)
        b1 = 1 / (0.1 + 1e-8)
        b2 = 0.9 * b1 + 1 / (0.14106735979665885 + 1e-8)
        assert p1[0] == pytest.approx(1 - 0.01 * b1, abs=1e-13)
        assert p2[0] == pytest.approx(1 - 0.01 * b1 - 0.01 * b2, abs=1e-13)

    def test_centered_rmsprop_stays_finite_in_float32_with_a_steady_gradient(self):
        # v - m*m is mathematically >= 0 but rounds below 0 once both are ~g^2 (PyTorch
        # returns NaN there); nncore clamps at 0.
        p = P(np.zeros(1000), np.float32)
        opt = optim.RMSprop([p], lr=0.01, centered=True)
        g = (0.1 * np.linspace(0.5, 2.0, 1000)).astype(np.float32)
        for _ in range(1500):
            p.grad = g
            opt.step()
        assert np.all(np.isfinite(p.data))


class TestGoldenAdam:
    def test_amsgrad_keeps_the_larger_second_moment(self):
        # step 1 (g=1): v = 0.001 -> p = 0.900000001
        # step 2 (g=0.01): m = 0.09 + 0.001 = 0.091, v = 0.000999 + 1e-7 = 0.0009991,
        #   vmax = 0.001; bc1 = 0.19, bc2 = 0.001999
        p1, p2 = trajectory(optim.Adam, [1.0], [[1.0], [0.01]], lr=0.1, amsgrad=True)
        q1, q2 = trajectory(optim.Adam, [1.0], [[1.0], [0.01]], lr=0.1)
        assert p1[0] == pytest.approx(0.900000001, abs=1e-12)
        expected = 0.900000001 - 0.1 / 0.19 * 0.091 / (math.sqrt(0.001 / 0.001999) + 1e-8)
        plain = 0.900000001 - 0.1 / 0.19 * 0.091 / (math.sqrt(0.0009991 / 0.001999) + 1e-8)
        assert p2[0] == pytest.approx(expected, abs=1e-9)
        assert q2[0] == pytest.approx(plain, abs=1e-9)
        assert abs(p2[0] - q2[0]) > 1e-5

    def test_maximize(self):
        (p,) = trajectory(optim.Adam, [1.0], [[1.0]], lr=0.1, maximize=True)
        assert p[0] == pytest.approx(1.099999999, abs=1e-12)

    def test_bias_correction_uses_each_parameters_own_step_count(self):
        a, b = P([1.0]), P([1.0])
        opt = optim.Adam([a, b], lr=0.1)
        a.grad = np.array([1.0])
        opt.step()  # b has no gradient: skipped, no state
        assert b not in opt.state and b.data[0] == 1.0
        b.grad = np.array([1.0])
        opt.step()
        assert opt.state[a]["step"] == 2 and opt.state[b]["step"] == 1
        assert b.data[0] == pytest.approx(0.900000001, abs=1e-12)  # a first step


class TestAdamWIsComposed:
    def test_adamw_is_adam_with_decoupled_decay(self):
        assert issubclass(optim.AdamW, optim.Adam)
        assert optim.AdamW.step is optim.Adam.step
        rng = np.random.default_rng(0)
        grads = rng.standard_normal((5, 4))
        a = trajectory(optim.AdamW, np.ones(4), grads, lr=0.01, weight_decay=0.2)
        b = trajectory(optim.Adam, np.ones(4), grads, lr=0.01, weight_decay=0.2,
                       decoupled_weight_decay=True)
        assert all(np.array_equal(x, y) for x, y in zip(a, b))

    def test_adamw_without_decay_equals_adam(self):
        rng = np.random.default_rng(1)
        grads = rng.standard_normal((5, 4))
        a = trajectory(optim.AdamW, np.ones(4), grads, lr=0.01, weight_decay=0.0)
        b = trajectory(optim.Adam, np.ones(4), grads, lr=0.01)
        assert all(np.array_equal(x, y) for x, y in zip(a, b))


# ============================================================================ multi-step
@pytest.mark.parametrize("name,kw", COMBOS, ids=COMBO_IDS)
def test_matches_the_reference_formulas_over_ten_steps(name, kw):
    rng = np.random.default_rng(42)
    p0 = rng.standard_normal(6)
    grads = rng.standard_normal((10, 6))
    got = trajectory(getattr(optim, name), p0, grads, **kw)
    want = reference(name, p0, grads, kw)
    for step, (g, w) in enumerate(zip(got, want), 1):
        np.testing.assert_allclose(g, w, rtol=1e-11, atol=1e-13, err_msg=f"step {step}")


@pytest.mark.parametrize("name,kw", COMBOS, ids=COMBO_IDS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_matches_torch_over_twenty_steps(name, kw, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    p0 = rng.standard_normal((3, 4)).astype(dtype)
    grads = rng.standard_normal((20, 3, 4)).astype(dtype)
    p = Parameter(p0.copy())
    opt = getattr(optim, name)([p], **kw)
    tp = torch.tensor(p0.copy(), requires_grad=True)
    topt = getattr(torch.optim, name)([tp], foreach=False, **kw)
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == "float64" else dict(rtol=2e-5, atol=2e-6)
    for step, g in enumerate(grads, 1):
        p.grad = g.copy()
        opt.step()
        tp.grad = torch.tensor(g.copy())
        topt.step()
        np.testing.assert_allclose(p.data, tp.detach().numpy(), **tol, err_msg=f"step {step}")
    assert p.data.dtype == np.dtype(dtype)


def test_torch_state_dict_layout_is_the_same():
    torch = pytest.importorskip("torch")
    w, b = P(np.ones((2, 3))), P(np.ones(2))
    tw, tb = torch.ones(2, 3, requires_grad=True), torch.ones(2, requires_grad=True)
    opt = optim.Adam([{"params": [w]}, {"params": [b], "lr": 0.1}], amsgrad=True)
    topt = torch.optim.Adam([{"params": [tw]}, {"params": [tb], "lr": 0.1}], amsgrad=True)
    for x, tx in ((w, tw), (b, tb)):
        x.grad = np.ones_like(x.data)
        tx.grad = torch.ones_like(tx)
    opt.step()
    topt.step()
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert set(sd["state"]) == set(tsd["state"]) == {0, 1}
    assert set(sd["state"][0]) == set(tsd["state"][0])
    assert [g["params"] for g in sd["param_groups"]] == [g["params"] for g in tsd["param_groups"]]
    for key in ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"):
        assert [g[key] for g in sd["param_groups"]] == [g[key] for g in tsd["param_groups"]]


def test_defaults_and_signatures_match_torch():
    torch = pytest.importorskip("torch")
    import inspect
    for name in ("SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW"):
        ours = inspect.signature(getattr(optim, name).__init__).parameters
        theirs = inspect.signature(getattr(torch.optim, name).__init__).parameters
        positional = [a for a, p in ours.items() if p.kind == p.POSITIONAL_OR_KEYWORD]
        assert positional == list(theirs)[:len(positional)], name  # same order
        for arg, param in ours.items():
            if arg in ("self", "params"):
                continue
            assert arg in theirs, (name, arg)
            assert param.default == theirs[arg].default, (name, arg)


# ============================================================================ dtype, in place
@pytest.mark.parametrize("name,kw", COMBOS, ids=COMBO_IDS)
def test_float32_parameters_and_state_stay_float32(name, kw):
    rng = np.random.default_rng(3)
    p = Parameter(rng.standard_normal((4, 3)).astype(np.float32))
    q = Parameter(rng.standard_normal(3).astype(np.float32))
    opt = getattr(optim, name)([p, q], **kw)
    data_before = p.data
    for i in range(4):
        p.grad = rng.standard_normal((4, 3)).astype(np.float32)
        # a float64 gradient (e.g. set by hand) must not promote the parameter either
        q.grad = rng.standard_normal(3) if i % 2 else rng.standard_normal(3).astype(np.float32)
        opt.step()
    assert p.data.dtype == np.float32 and q.data.dtype == np.float32
    assert p.data is data_before  # updated in place
    for st in opt.state.values():
        for key, value in st.items():
            if isinstance(value, np.ndarray):
                assert value.dtype == np.float32, key
    assert np.all(np.isfinite(p.data))


@pytest.mark.parametrize("name,kw", COMBOS, ids=COMBO_IDS)
def test_grad_is_never_modified_and_state_arrays_are_reused(name, kw):
    rng = np.random.default_rng(4)
    p = P(rng.standard_normal(5))
    opt = getattr(optim, name)([p], **kw)
    g = rng.standard_normal(5)
    g_copy = g.copy()
    p.grad = g
    opt.step()
    arrays = {k: v for k, v in opt.state[p].items() if isinstance(v, np.ndarray)}
    p.grad = g
    opt.step()
    assert p.grad is g and np.array_equal(g, g_copy)
    for key, arr in arrays.items():
        assert opt.state[p][key] is arr, key  # preallocated, updated in place


def test_sgd_momentum_buffer_is_a_copy_not_the_gradient():
    p = P([1.0, 2.0])
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    g = np.array([1.0, 1.0])
    p.grad = g
    opt.step()
    buf = opt.state[p]["momentum_buffer"]
    assert buf is not g and not np.shares_memory(buf, g)
    opt.step()
    np.testing.assert_array_equal(g, [1.0, 1.0])


@pytest.mark.parametrize("name,kw", COMBOS, ids=COMBO_IDS)
def test_no_floating_point_warnings_on_ordinary_steps(name, kw):
    rng = np.random.default_rng(6)
    p = P(rng.standard_normal(5))
    opt = getattr(optim, name)([p], **kw)
    with np.errstate(all="raise"):
        p.grad = np.zeros(5)
        opt.step()
        for _ in range(3):
            p.grad = rng.standard_normal(5)
            opt.step()


def test_replaced_data_of_the_same_shape_keeps_training():
    p = P([1.0, 2.0], np.float32)
    opt = optim.Adam([p], lr=0.1)
    p.grad = np.ones(2, np.float32)
    opt.step()
    new = np.array([5.0, 6.0], np.float32)
    p.data = new
    opt.step()
    assert p.data is new  # the new array is updated in place
    assert opt.state[p]["step"] == 2
    # step 2 with g=1: m_hat = 1, v_hat = 1 -> -0.1 / (1 + 1e-8)
    np.testing.assert_allclose(new, [4.9, 5.9], rtol=1e-6)


def test_replaced_data_of_a_new_dtype_converts_the_state():
    p = P([1.0, 2.0], np.float32)
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = np.ones(2, np.float32)
    opt.step()
    p.data = p.data.astype(np.float64)
    p.grad = np.ones(2)
    opt.step()
    assert p.data.dtype == np.float64
    assert opt.state[p]["momentum_buffer"].dtype == np.float64
    np.testing.assert_allclose(p.data, [1 - 0.1 - 0.19, 2 - 0.1 - 0.19], rtol=1e-6)


def test_replaced_data_of_another_shape_is_a_clear_error():
    p = P([1.0, 2.0])
    opt = optim.Adam([p])
    p.grad = np.ones(2)
    opt.step()
    p.data = np.ones(3)
    p.grad = np.ones(3)
    with pytest.raises(ValueError, match=r"shape \(3,\).*exp_avg.*\(2,\)"):
        opt.step()


def test_gradient_of_the_wrong_shape_is_a_clear_error():
    p = P([1.0, 2.0, 3.0])
    opt = optim.SGD([p], lr=0.1)
    p.grad = np.ones(1)  # would silently broadcast
    with pytest.raises(ValueError, match=r"grad has shape \(1,\)"):
        opt.step()


def test_zero_dimensional_parameters():
    p = P(3.0)
    opt = optim.Adam([p], lr=0.1)
    p.grad = np.array(1.0)
    opt.step()
    assert p.data.shape == () and p.data == pytest.approx(2.900000001, abs=1e-12)


def test_scratch_buffers_handle_parameters_of_growing_sizes():
    rng = np.random.default_rng(8)
    ps = [P(rng.standard_normal(n)) for n in (2, 7, 3)]
    opt = optim.RMSprop(ps, lr=0.01, momentum=0.9, centered=True, weight_decay=0.1)
    grads = [[rng.standard_normal(p.data.shape) for p in ps] for _ in range(4)]
    p0 = [p.data.copy() for p in ps]
    for gs in grads:
        for p, g in zip(ps, gs):
            p.grad = g
        opt.step()
    # then a larger replacement array for one parameter's data is not allowed to break
    # the others: compare each with a single-parameter run
    for i, p in enumerate(ps):
        want = ref_rmsprop(p0[i], [gs[i] for gs in grads], lr=0.01, momentum=0.9,
                           centered=True, weight_decay=0.1)[-1]
        np.testing.assert_allclose(p.data, want, rtol=1e-11)


# ============================================================================ skipping
@pytest.mark.parametrize("name,kw", COMBOS, ids=COMBO_IDS)
def test_parameters_without_grad_are_skipped(name, kw):
    a, b = P([1.0, 2.0]), P([3.0])
    opt = getattr(optim, name)([a, b], **kw)
    a.grad = np.array([0.5, -0.5])
    opt.step()
    opt.step()
    assert b.data[0] == 3.0 and b not in opt.state
    assert not np.array_equal(a.data, [1.0, 2.0])


# ============================================================================ state_dict
@pytest.mark.parametrize("name,kw", COMBOS, ids=COMBO_IDS)
def test_state_dict_round_trip_continues_bit_for_bit(name, kw):
    rng = np.random.default_rng(9)
    w0, b0 = rng.standard_normal((3, 2)), rng.standard_normal(2)
    grads = [(rng.standard_normal((3, 2)), rng.standard_normal(2)) for _ in range(6)]
    cls = getattr(optim, name)

    def make(w_data, b_data):
        w, b = P(w_data), P(b_data)
        groups = [{"params": [w]}, {"params": [b], "lr": kw["lr"] / 2}]
        return w, b, cls(groups, **kw)

    w, b, opt = make(w0, b0)
    for gw, gb in grads:
        w.grad, b.grad = gw, gb
        opt.step()
    straight = (w.data.copy(), b.data.copy())

    w, b, opt = make(w0, b0)
    for gw, gb in grads[:3]:
        w.grad, b.grad = gw, gb
        opt.step()
    saved = opt.state_dict()
    saved_params = (w.data.copy(), b.data.copy())
    for gw, gb in grads[3:]:  # later steps must not change the saved copy
        w.grad, b.grad = gw, gb
        opt.step()

    w2, b2, opt2 = make(*saved_params)
    opt2.load_state_dict(saved)
    for gw, gb in grads[3:]:
        w2.grad, b2.grad = gw, gb
        opt2.step()
    assert np.array_equal(w2.data, straight[0]) and np.array_equal(b2.data, straight[1])
    assert opt2.param_groups[1]["lr"] == kw["lr"] / 2


def test_state_dict_layout_and_copies():
    w, b = P(np.ones((2, 2))), P([1.0, 2.0])
    opt = optim.Adam([{"params": [w]}, {"params": [b], "weight_decay": 0.1}], lr=0.01)
    w.grad, b.grad = np.ones((2, 2)), np.ones(2)
    opt.step()
    sd = opt.state_dict()
    assert list(sd) == ["state", "param_groups"]
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1]]
    assert sd["param_groups"][1]["weight_decay"] == 0.1
    assert sd["state"][0]["step"] == 1 and set(sd["state"][0]) == {"step", "exp_avg",
                                                                    "exp_avg_sq"}
    snapshot = sd["state"][0]["exp_avg"].copy()
    assert not np.shares_memory(sd["state"][0]["exp_avg"], opt.state[w]["exp_avg"])
    opt.step()
    assert np.array_equal(sd["state"][0]["exp_avg"], snapshot)
    sd["param_groups"][0]["lr"] = 5.0
    assert opt.param_groups[0]["lr"] == 0.01


def test_load_state_dict_copies_the_arrays_and_casts_them():
    p = P([1.0, 2.0])
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = np.ones(2)
    opt.step()
    sd = opt.state_dict()
    q = P([1.0, 2.0], np.float32)
    opt2 = optim.SGD([q], lr=0.1, momentum=0.9)
    opt2.load_state_dict(sd)
    buf = opt2.state[q]["momentum_buffer"]
    assert buf.dtype == np.float32 and not np.shares_memory(buf, sd["state"][0]["momentum_buffer"])


def test_load_state_dict_after_a_json_round_trip():
    w = P([[1.0, 2.0]])
    opt = optim.Adam([w], lr=0.01, betas=(0.8, 0.9))
    w.grad = np.ones((1, 2))
    opt.step()
    sd = opt.state_dict()
    text = json.dumps({"state": {k: {n: (v.tolist() if isinstance(v, np.ndarray) else v)
                                     for n, v in s.items()} for k, s in sd["state"].items()},
                       "param_groups": sd["param_groups"]})
    w2 = P(w.data.copy())
    opt2 = optim.Adam([w2])
    opt2.load_state_dict(json.loads(text))  # string keys, lists, betas as a list
    assert opt2.param_groups[0]["betas"] == (0.8, 0.9)
    w.grad = w2.grad = np.full((1, 2), 0.5)
    opt.step()
    opt2.step()
    np.testing.assert_array_equal(w.data, w2.data)


def test_load_state_dict_errors_are_precise():
    a, b = P([1.0]), P([1.0, 2.0])
    opt = optim.Adam([a, b])
    a.grad, b.grad = np.ones(1), np.ones(2)
    opt.step()
    sd = opt.state_dict()
    two_groups = {"state": {}, "param_groups": [dict(sd["param_groups"][0], params=[0]),
                                                dict(sd["param_groups"][0], params=[1])]}
    with pytest.raises(ValueError, match="2 parameter groups, this optimizer has 1"):
        optim.Adam([P([1.0]), P([1.0, 2.0])]).load_state_dict(two_groups)
    with pytest.raises(ValueError, match="1 parameter group, this optimizer has 2"):
        optim.Adam([{"params": [P([1.0])]}, {"params": [P([1.0, 2.0])]}]).load_state_dict(sd)
    with pytest.raises(ValueError, match="group 0 has 2 parameters in the state dict, 3 in"):
        optim.Adam([P([1.0]), P([1.0, 2.0]), P([3.0])]).load_state_dict(sd)
    swapped = optim.Adam([P([1.0, 2.0]), P([1.0])])
    with pytest.raises(ValueError, match=r"parameter 0: 'exp_avg' has shape \(1,\), the "
                                         r"parameter has shape \(2,\)"):
        swapped.load_state_dict(sd)
    assert swapped.state == {}  # nothing changed
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        opt.load_state_dict({"state": {}})
    bad = copy.deepcopy(sd)
    bad["param_groups"][0]["lr"] = -1.0
    with pytest.raises(ValueError, match="Invalid learning rate: -1.0"):
        opt.load_state_dict(bad)
    bad = copy.deepcopy(sd)
    bad["state"][7] = bad["state"][0]
    with pytest.raises(ValueError, match="state for parameter 7"):
        opt.load_state_dict(bad)


# ============================================================================ validation
INVALID = [
    (optim.SGD, dict(lr=-0.1), "Invalid learning rate: -0.1 .*lr"),
    (optim.SGD, dict(lr=float("nan")), "Invalid learning rate: nan"),
    (optim.SGD, dict(momentum=-0.5), "Invalid momentum value: -0.5 .*momentum"),
    (optim.SGD, dict(weight_decay=-1e-4), "Invalid weight_decay value: -0.0001 .*weight_decay"),
    (optim.SGD, dict(nesterov=True), "Nesterov momentum requires a momentum and zero "
                                     "dampening .*momentum=0"),
    (optim.SGD, dict(nesterov=True, momentum=0.9, dampening=0.1), "Nesterov.*dampening=0.1"),
    (optim.Adagrad, dict(lr=-1), "Invalid learning rate: -1 .*lr"),
    (optim.Adagrad, dict(lr_decay=-0.1), "Invalid lr_decay value: -0.1 .*lr_decay"),
    (optim.Adagrad, dict(weight_decay=-1), "Invalid weight_decay value: -1"),
    (optim.Adagrad, dict(initial_accumulator_value=-1),
     "Invalid initial_accumulator_value value: -1 .*initial_accumulator_value"),
    (optim.Adagrad, dict(eps=-1e-10), "Invalid epsilon value: -1e-10 .*eps"),
    (optim.RMSprop, dict(lr=-0.01), "Invalid learning rate: -0.01"),
    (optim.RMSprop, dict(alpha=-0.5), "Invalid alpha value: -0.5 .*alpha"),
    (optim.RMSprop, dict(eps=-1.0), "Invalid epsilon value: -1.0 .*eps"),
    (optim.RMSprop, dict(momentum=-0.9), "Invalid momentum value: -0.9"),
    (optim.RMSprop, dict(weight_decay=-0.1), "Invalid weight_decay value: -0.1"),
    (optim.Adadelta, dict(lr=-1.0), "Invalid learning rate: -1.0"),
    (optim.Adadelta, dict(rho=1.5), r"Invalid rho value: 1.5 .*rho must be in \[0, 1\]"),
    (optim.Adadelta, dict(rho=-0.1), "Invalid rho value: -0.1"),
    (optim.Adadelta, dict(eps=-1e-6), "Invalid epsilon value: -1e-06"),
    (optim.Adadelta, dict(weight_decay=-1.0), "Invalid weight_decay value: -1.0"),
    (optim.Adam, dict(lr=-1e-3), "Invalid learning rate: -0.001 .*lr"),
    (optim.Adam, dict(eps=-1e-8), "Invalid epsilon value: -1e-08"),
    (optim.Adam, dict(betas=(1.0, 0.999)),
     r"Invalid beta parameter at index 0: 1.0 .*betas\[0\] must be in \[0, 1\)"),
    (optim.Adam, dict(betas=(-0.1, 0.999)), "Invalid beta parameter at index 0: -0.1"),
    (optim.Adam, dict(betas=(0.9, 1.0)), r"Invalid beta parameter at index 1: 1.0 .*betas\[1\]"),
    (optim.Adam, dict(betas=(0.9,)), "betas must be a pair"),
    (optim.Adam, dict(weight_decay=-0.1), "Invalid weight_decay value: -0.1"),
    (optim.AdamW, dict(weight_decay=-0.01), "Invalid weight_decay value: -0.01 .*weight_decay"),
    (optim.AdamW, dict(betas=(0.9, 2.0)), "Invalid beta parameter at index 1: 2.0"),
]


@pytest.mark.parametrize("cls,kw,message", INVALID,
                         ids=[f"{c.__name__}-{k}" for c, k, _ in INVALID])
def test_invalid_hyperparameters_raise_value_error_naming_them(cls, kw, message):
    with pytest.raises(ValueError, match=message):
        cls([P([1.0])], **kw)


def test_invalid_hyperparameter_in_a_group_names_the_group():
    with pytest.raises(ValueError, match="Invalid learning rate: -1 .*parameter group 1"):
        optim.SGD([{"params": [P([1.0])]}, {"params": [P([2.0])], "lr": -1}], lr=0.1)
    opt = optim.SGD([P([1.0])], lr=0.1)
    with pytest.raises(ValueError, match="Invalid momentum value: -1"):
        opt.add_param_group({"params": [P([2.0])], "momentum": -1})
    assert len(opt.param_groups) == 1


def test_wrong_types_are_type_errors():
    with pytest.raises(TypeError, match="lr must be a number"):
        optim.SGD([P([1.0])], lr="fast")
    with pytest.raises(TypeError, match="amsgrad must be True or False"):
        optim.Adam([P([1.0])], amsgrad="yes")


def test_empty_parameter_list():
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        optim.Adam(iter([]))
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        optim.Adam([{"params": []}])


def test_duplicate_parameters_are_rejected():
    p = P([1.0])
    with pytest.raises(ValueError, match="more than once"):
        optim.SGD([p, p], lr=0.1)
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter "
                                         "group"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    opt = optim.SGD([p], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [P([2.0]), p]})


def test_bad_parameter_containers():
    p = P([1.0])
    with pytest.raises(TypeError, match="single Tensor"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD({p}, lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        optim.SGD([p, np.ones(2)], lr=0.1)
    x = P([1.0])
    y = x * 2.0
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([y], lr=0.1)


# ============================================================================ groups, API
def test_parameter_groups_use_their_own_options():
    w, b = P([1.0]), P([1.0])
    opt = optim.SGD([{"params": [w], "lr": 0.1}, {"params": b}], lr=0.01, momentum=0.0)
    assert opt.param_groups[1]["lr"] == 0.01 and opt.param_groups[1]["params"] == [b]
    w.grad, b.grad = np.ones(1), np.ones(1)
    opt.step()
    assert w.data[0] == pytest.approx(0.9) and b.data[0] == pytest.approx(0.99)


def test_named_parameters_are_accepted_as_pytorch_does():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    opt = optim.SGD(model.named_parameters(), lr=0.1)
    assert opt.param_groups[0]["param_names"] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert opt.param_groups[0]["params"] == list(model.parameters())
    with pytest.raises(ValueError, match="with/without names"):
        optim.SGD([("w", P([1.0])), P([2.0])], lr=0.1)
    sd = opt.state_dict()
    assert sd["param_groups"][0]["param_names"][0] == "0.weight"
    opt.load_state_dict(sd)
    assert opt.param_groups[0]["param_names"][-1] == "2.bias"


def test_groups_are_copied_and_extra_keys_kept():
    w = P([1.0])
    group = {"params": [w], "name": "weights"}
    opt = optim.Adam([group], lr=0.1)
    assert "lr" not in group  # the user's dict is not modified
    assert opt.param_groups[0]["name"] == "weights"


def test_add_param_group_and_changing_lr_between_steps():
    w, b = P([1.0]), P([1.0])
    opt = optim.SGD([w], lr=0.1)
    opt.add_param_group({"params": [b], "lr": 0.5})
    w.grad, b.grad = np.ones(1), np.ones(1)
    opt.step()
    assert b.data[0] == pytest.approx(0.5)
    opt.param_groups[0]["lr"] = 0.2
    opt.step()
    assert w.data[0] == pytest.approx(0.7)


def test_zero_grad():
    w = P([1.0, 2.0])
    opt = optim.SGD([w], lr=0.1)
    g = np.ones(2)
    w.grad = g
    opt.zero_grad(set_to_none=False)
    assert w.grad is g and np.array_equal(g, [0.0, 0.0])
    opt.zero_grad()
    assert w.grad is None
    opt.zero_grad(set_to_none=False)  # no grad: stays None
    assert w.grad is None


def test_step_with_closure_returns_the_loss_and_records_gradients():
    w = P([3.0])
    opt = optim.SGD([w], lr=0.1)
    calls = []

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        calls.append(float(loss.data))
        return loss

    with no_grad():  # the closure runs with gradients enabled, as in PyTorch
        loss = opt.step(closure)
    assert calls == [9.0] and float(loss.data) == 9.0
    assert w.data[0] == pytest.approx(3.0 - 0.1 * 6.0)
    assert opt.step() is None


def test_repr_lists_groups():
    text = repr(optim.Adam([P([1.0])], lr=0.5))
    assert text.startswith("Adam (") and "Parameter Group 0" in text and "lr: 0.5" in text


def test_namespace():
    from nncore.optim import lr_scheduler
    assert optim.StepLR is optim.lr_scheduler.StepLR is lr_scheduler.StepLR
    for name in ("Optimizer", "SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW",
                 "param_groups_for_weight_decay", "ExponentialLR", "CosineAnnealingLR",
                 "ReduceLROnPlateau"):
        assert hasattr(optim, name)


@pytest.mark.parametrize("obj", [optim.Optimizer, optim.SGD, optim.Adagrad, optim.RMSprop,
                                 optim.Adadelta, optim.Adam, optim.AdamW,
                                 optim.param_groups_for_weight_decay])
def test_public_docstrings_cite_defaults_and_sources(obj):
    doc = obj.__doc__
    assert doc and len(doc) > 200
    sources = {"SGD": ["Robbins", "Polyak", "Sutskever"], "Adagrad": ["Duchi"],
               "RMSprop": ["Tieleman", "Hinton"], "Adadelta": ["Zeiler"],
               "Adam": ["Kingma", "Reddi"], "AdamW": ["Loshchilov"]}
    for word in sources.get(obj.__name__, []):
        assert word in doc, (obj.__name__, word)
    if obj.__name__ in sources:
        assert "default" in doc


# ============================================================================ training a model
def test_trains_a_small_network_end_to_end():
    from nncore import functional as F
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 2)).astype(np.float32)
    y = (x[:, 0] * x[:, 1] > 0).astype(np.int64)
    model = nn.Sequential(nn.Linear(2, 16, generator=rng), nn.ReLU(),
                          nn.Linear(16, 2, generator=rng))
    opt = optim.AdamW(optim.param_groups_for_weight_decay(model, 1e-3), lr=0.05)
    first = None
    for _ in range(150):
        loss = F.cross_entropy(model(Tensor(x)), y)
        first = first if first is not None else float(loss.data)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.data) < 0.5 * first
    assert all(p.data.dtype == np.float32 for p in model.parameters())


# ============================================================================ convergence
def rosenbrock(p):
    x, y = p[0], p[1]
    return (1.0 - x) ** 2 + 100.0 * (y - x ** 2) ** 2


PARABOLA_SCALE = np.array([1.0, 100.0])  # condition number 100
PARABOLA_MIN = np.array([1.0, -2.0])


def parabola(p):
    d = p - PARABOLA_MIN
    return 0.5 * (d * d * PARABOLA_SCALE).sum()


def minimize(fn, cls, start, target, tol, budget, schedule=None, **kw):
    """Steps taken until every coordinate is within tol of target (None if never)."""
    p = P(start)
    opt = cls([p], **kw)
    sched = schedule(opt) if schedule else None
    for step in range(1, budget + 1):
        opt.zero_grad()
        fn(p).backward()  # gradients through nncore's autodiff
        opt.step()
        if sched:
            sched.step()
        assert np.all(np.isfinite(p.data)), f"diverged at step {step}"
        if np.max(np.abs(p.data - target)) < tol:
            return step
    return None


PARABOLA_CASES = [
    ("SGD", dict(lr=0.015)),
    ("SGD-momentum", dict(lr=0.01, momentum=0.9)),
    ("SGD-nesterov", dict(lr=0.01, momentum=0.9, nesterov=True)),
    ("SGD-dampening", dict(lr=0.01, momentum=0.9, dampening=0.5)),
    ("Adagrad", dict(lr=0.5)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop-centered-momentum", dict(lr=1e-3, centered=True, momentum=0.9)),
    ("Adadelta", dict(lr=1.0)),
    ("Adam", dict(lr=0.05)),
    ("Adam-amsgrad", dict(lr=0.05, amsgrad=True)),
    ("AdamW", dict(lr=0.05, weight_decay=0.0)),
]


@pytest.mark.parametrize("label,kw", PARABOLA_CASES, ids=[c[0] for c in PARABOLA_CASES])
def test_minimizes_an_ill_conditioned_parabola(label, kw):
    cls = getattr(optim, label.split("-")[0])
    steps = minimize(parabola, cls, [-1.5, 2.0], PARABOLA_MIN, 1e-3, 3000, **kw)
    assert steps is not None, f"{label} did not reach the minimum in 3000 steps"


ROSENBROCK_CASES = [
    ("SGD", dict(lr=1.9e-3), None),  # the largest stable lr is 2/lambda_max ~ 2e-3
    ("SGD-momentum", dict(lr=1e-3, momentum=0.9), None),
    ("SGD-nesterov", dict(lr=1e-3, momentum=0.9, nesterov=True), None),
    ("Adagrad", dict(lr=1.5), None),
    ("RMSprop", dict(lr=3e-3), None),
    ("RMSprop-momentum", dict(lr=1e-3, momentum=0.9), None),
    ("RMSprop-centered", dict(lr=1e-3, centered=True, momentum=0.9), None),
    # Adadelta's effective step does not shrink: it ends up oscillating across the
    # narrow valley unless its lr decays (the paper's method has no such schedule).
    ("Adadelta", dict(lr=1.0), lambda opt: optim.ExponentialLR(opt, gamma=0.9993)),
    ("Adam", dict(lr=0.05, betas=(0.9, 0.99)), None),
    ("Adam-amsgrad", dict(lr=0.05, amsgrad=True), None),
    ("AdamW", dict(lr=0.05, betas=(0.9, 0.99), weight_decay=1e-4), None),
]


@pytest.mark.parametrize("label,kw,schedule", ROSENBROCK_CASES,
                         ids=[c[0] for c in ROSENBROCK_CASES])
def test_minimizes_rosenbrock(label, kw, schedule):
    cls = getattr(optim, label.split("-")[0])
    steps = minimize(rosenbrock, cls, [-1.5, 2.0], np.array([1.0, 1.0]), 1e-2, 7000,
                     schedule, **kw)
    assert steps is not None, f"{label} did not reach (1, 1) in 7000 steps"


# --------------------------------------------------------------------------- multi-tensor path
def _flat_run(cls, kw, max_size, steps=8, drop=None, reload_at=None, dtype=np.float32):
    """Train small parameters of mixed shapes; returns the parameter values per step."""
    from nncore.optim.optimizers import _FlatGroup

    rng = np.random.default_rng(0)
    shapes = [(4, 3), (4,), (2, 4), (2,), ()]
    params = [Parameter(rng.standard_normal(s).astype(dtype)) for s in shapes]
    old = _FlatGroup.max_size
    _FlatGroup.max_size = max_size
    try:
        opt = cls(params, **kw)
        values = []
        for t in range(steps):
            for i, p in enumerate(params):
                p.grad = None if (drop and t in drop and i == 1) else rng.standard_normal(p.shape).astype(dtype)
            if reload_at == t:
                saved = opt.state_dict()
                opt = cls(params, **kw)
                opt.load_state_dict(saved)
            opt.step()
            values.append([p.data.copy() for p in params])
        return values, opt
    finally:
        _FlatGroup.max_size = old


@pytest.mark.parametrize("cls,kw", [(optim.Adam, {"lr": 0.01}), (optim.AdamW, {"lr": 0.01, "weight_decay": 0.1}),
                                    (optim.Adam, {"lr": 0.01, "betas": (0.5, 0.9), "eps": 1e-3})])
@pytest.mark.parametrize("drop,reload_at", [(None, None), ({2, 3}, None), (None, 4), ({5}, 3)])
def test_multi_tensor_path_is_bit_identical_to_the_per_parameter_path(cls, kw, drop, reload_at):
    flat, opt = _flat_run(cls, kw, max_size=1 << 18, drop=drop, reload_at=reload_at)
    loop, _ = _flat_run(cls, kw, max_size=0, drop=drop, reload_at=reload_at)
    for step, (a, b) in enumerate(zip(flat, loop)):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y, err_msg=f"step {step}")
            assert x.dtype == np.float32
    if drop is None:
        assert 0 in opt._flat_groups  # the flat path really ran
        state = opt.state[opt.param_groups[0]["params"][0]]
        assert state["exp_avg"].base is opt._flat_groups[0].buffers["exp_avg"]


def test_multi_tensor_state_is_saved_per_parameter():
    _, opt = _flat_run(optim.Adam, {"lr": 0.01}, max_size=1 << 18)
    saved = opt.state_dict()
    assert [saved["state"][i]["exp_avg"].shape for i in range(5)] == [(4, 3), (4,), (2, 4), (2,), ()]
    before = saved["state"][0]["exp_avg"].copy()
    for p in opt.param_groups[0]["params"]:
        p.grad = np.ones(p.shape, np.float32)
    opt.step()
    np.testing.assert_array_equal(saved["state"][0]["exp_avg"], before)  # a copy, not a view


# --------------------------------------------------------------------------- failing steps change nothing
@pytest.mark.parametrize("cls", [optim.SGD, optim.Adagrad, optim.RMSprop, optim.Adadelta, optim.Adam, optim.AdamW])
def test_a_step_that_fails_changes_nothing(cls):
    a, b = P([1.0, 1.0, 1.0]), P([1.0, 1.0])
    opt = cls([a, b], lr=0.1)
    a.grad, b.grad = np.ones(3), np.ones(3)  # b's gradient has the wrong shape
    with pytest.raises(ValueError, match=r"parameter 1 of group 0 has shape \(2,\) but its grad has shape \(3,\)"):
        opt.step()
    np.testing.assert_array_equal(a.data, [1.0, 1.0, 1.0])
    assert opt.state.get(a, {}) == {} and opt.state.get(b, {}) == {}
    b.grad = np.ones(2)
    opt.step()  # and it recovers
    assert np.all(a.data != 1.0)


def test_replaced_data_of_another_shape_fails_before_any_update():
    a, b = P([1.0, 1.0]), P([1.0, 1.0])
    opt = optim.Adam([a, b], lr=0.1)
    a.grad, b.grad = np.ones(2), np.ones(2)
    opt.step()
    before = a.data.copy()
    b.data = np.ones(3)
    b.grad = np.ones(3)
    with pytest.raises(ValueError, match="exp_avg"):
        opt.step()
    np.testing.assert_array_equal(a.data, before)


def test_string_hyperparameters_are_refused():
    with pytest.raises(TypeError, match="lr must be a number"):
        optim.SGD([P([1.0])], lr="0.1")


def test_loaded_state_missing_a_moment_is_refused_at_load():
    p = P([1.0, 2.0])
    opt = optim.Adam([p])
    p.grad = np.ones(2)
    opt.step()
    saved = opt.state_dict()
    del saved["state"][0]["exp_avg"]
    fresh = optim.Adam([p])
    with pytest.raises(ValueError, match=r"lacks \['exp_avg'\]"):
        fresh.load_state_dict(saved)
