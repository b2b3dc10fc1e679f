"""Tests for nncore.optim.lr_scheduler: PyTorch's closed forms and ReduceLROnPlateau's
patience / cooldown / threshold behaviour on fixed metric lists (expected learning rates
derived by hand, epoch by epoch, in the comments)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nncore import Tensor, optim
from nncore.nn import Parameter
from nncore.optim import lr_scheduler


def make_opt(lrs=(0.1,), cls=optim.SGD, **kw):
    groups = [{"params": [Parameter(np.ones(2))], "lr": lr} for lr in lrs]
    return cls(groups, **kw)


def lrs(opt):
    return [g["lr"] for g in opt.param_groups]


# ============================================================================ epoch schedules
class TestConstruction:
    def test_records_initial_lr_and_starts_at_epoch_zero(self):
        opt = make_opt((0.1, 1.0))
        sched = optim.StepLR(opt, step_size=2)
        assert sched.last_epoch == 0
        assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 1.0]
        assert sched.base_lrs == [0.1, 1.0]
        assert lrs(opt) == [0.1, 1.0] and sched.get_last_lr() == [0.1, 1.0]

    def test_existing_initial_lr_is_kept(self):
        opt = make_opt((0.1,))
        opt.param_groups[0]["initial_lr"] = 0.5
        sched = optim.ExponentialLR(opt, gamma=0.5)
        assert sched.base_lrs == [0.5]

    def test_resuming_needs_initial_lr(self):
        with pytest.raises(KeyError, match="initial_lr.*param_groups\\[0\\]"):
            optim.StepLR(make_opt(), step_size=2, last_epoch=3)

    def test_resuming_cosine_uses_the_closed_form(self):
        opt = make_opt((0.123,))
        opt.param_groups[0]["initial_lr"] = 1.0
        sched = optim.CosineAnnealingLR(opt, T_max=10, last_epoch=4)
        assert sched.last_epoch == 5
        assert lrs(opt)[0] == pytest.approx((1 + math.cos(math.pi * 5 / 10)) / 2, rel=1e-12)

    def test_get_last_lr_is_a_copy(self):
        sched = optim.StepLR(make_opt(), step_size=1)
        sched.get_last_lr().append(5.0)
        assert sched.get_last_lr() == [0.1]


class TestClosedForms:
    def test_step_lr(self):
        opt = make_opt((0.1, 1.0))
        sched = optim.StepLR(opt, step_size=3, gamma=0.5)
        for epoch in range(1, 40):
            sched.step()
            assert sched.last_epoch == epoch
            want = [base * 0.5 ** (epoch // 3) for base in (0.1, 1.0)]
            np.testing.assert_allclose(lrs(opt), want, rtol=1e-12)
            assert sched.get_last_lr() == lrs(opt)

    def test_step_lr_default_gamma(self):
        opt = make_opt((1.0,))
        sched = optim.StepLR(opt, step_size=2)
        seen = []
        for _ in range(5):
            sched.step()
            seen.append(lrs(opt)[0])
        np.testing.assert_allclose(seen, [1.0, 0.1, 0.1, 0.01, 0.01], rtol=1e-12)

    def test_exponential_lr(self):
        opt = make_opt((0.1, 2.0))
        sched = optim.ExponentialLR(opt, gamma=0.9)
        for epoch in range(1, 100):
            sched.step()
            np.testing.assert_allclose(lrs(opt), [0.1 * 0.9 ** epoch, 2.0 * 0.9 ** epoch],
                                       rtol=1e-12)

    @pytest.mark.parametrize("T_max,eta_min", [(10, 0.0), (10, 0.01), (7, 0.0), (1, 0.001)])
    def test_cosine_annealing_over_several_periods(self, T_max, eta_min):
        opt = make_opt((0.1, 1.0))
        sched = optim.CosineAnnealingLR(opt, T_max=T_max, eta_min=eta_min)
        for epoch in range(1, 4 * T_max + 3):
            sched.step()
            want = [eta_min + (base - eta_min) * (1 + math.cos(math.pi * epoch / T_max)) / 2
                    for base in (0.1, 1.0)]
            np.testing.assert_allclose(lrs(opt), want, rtol=1e-9, atol=1e-15,
                                       err_msg=f"epoch {epoch}")

    def test_cosine_reaches_eta_min_at_t_max(self):
        opt = make_opt((1.0,))
        sched = optim.CosineAnnealingLR(opt, T_max=5, eta_min=0.1)
        for _ in range(5):
            sched.step()
        assert lrs(opt)[0] == pytest.approx(0.1, abs=1e-15)
        sched.step()  # past T_max it rises again (period 2*T_max), as PyTorch's
        assert lrs(opt)[0] == pytest.approx(0.1 + 0.9 * (1 + math.cos(math.pi * 6 / 5)) / 2,
                                            rel=1e-12)


def test_scheduler_drives_the_optimizer():
    p = Parameter(np.array([1.0]))
    opt = optim.SGD([p], lr=0.1)
    sched = optim.StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(3):
        p.grad = np.array([1.0])
        opt.step()
        sched.step()
    # p = 1 - 0.1 - 0.05 - 0.025
    assert p.data[0] == pytest.approx(0.825, abs=1e-15)


def test_chained_schedulers_multiply_as_in_pytorch():
    opt = make_opt((1.0,))
    a = optim.StepLR(opt, step_size=2, gamma=0.5)
    b = optim.ExponentialLR(opt, gamma=0.9)
    for _ in range(4):
        a.step()
        b.step()
    assert lrs(opt)[0] == pytest.approx(0.5 ** 2 * 0.9 ** 4, rel=1e-12)


@pytest.mark.parametrize("make", [
    lambda o: optim.StepLR(o, step_size=3, gamma=0.3),
    lambda o: optim.ExponentialLR(o, gamma=0.8),
    lambda o: optim.CosineAnnealingLR(o, T_max=6, eta_min=0.001),
], ids=["StepLR", "ExponentialLR", "CosineAnnealingLR"])
def test_state_dict_round_trip(make):
    opt = make_opt((0.1, 0.5), cls=optim.Adam)
    sched = make(opt)
    straight = []
    for _ in range(17):
        sched.step()
        straight.append(lrs(opt))

    opt = make_opt((0.1, 0.5), cls=optim.Adam)
    sched = make(opt)
    for _ in range(7):
        sched.step()
    saved_opt, saved_sched = opt.state_dict(), sched.state_dict()
    assert "optimizer" not in saved_sched
    sched.step()  # later steps do not change the saved state
    opt2 = make_opt((0.1, 0.5), cls=optim.Adam)
    opt2.load_state_dict(saved_opt)
    sched2 = make(opt2)
    sched2.load_state_dict(saved_sched)
    assert sched2.last_epoch == 7 and sched2.get_last_lr() == straight[6]
    resumed = []
    for _ in range(10):
        sched2.step()
        resumed.append(lrs(opt2))
    assert resumed == straight[7:]


def test_load_state_dict_checks_group_count():
    sched = optim.StepLR(make_opt((0.1, 0.2)), step_size=2)
    other = optim.StepLR(make_opt((0.1,)), step_size=2)
    with pytest.raises(ValueError, match="2 base_lrs, the optimizer has 1"):
        other.load_state_dict(sched.state_dict())


@pytest.mark.parametrize("make,message", [
    (lambda o: optim.StepLR(o, step_size=0), "step_size must be a positive integer, got 0"),
    (lambda o: optim.StepLR(o, step_size=-2), "step_size.*-2"),
    (lambda o: optim.StepLR(o, step_size=1.5), "step_size.*1.5"),
    (lambda o: optim.StepLR(o, step_size=2, gamma=0.0), "Invalid gamma value: 0.0"),
    (lambda o: optim.StepLR(o, step_size=2, gamma=float("nan")), "gamma"),
    (lambda o: optim.ExponentialLR(o, gamma=-0.5), "Invalid gamma value: -0.5 .*gamma must"),
    (lambda o: optim.CosineAnnealingLR(o, T_max=0), "T_max must be a positive integer"),
    (lambda o: optim.CosineAnnealingLR(o, T_max=10, eta_min=-1e-3),
     "Invalid eta_min value: -0.001"),
    (lambda o: optim.StepLR(o, step_size=2, last_epoch=-5), "last_epoch"),
], ids=["step0", "step-neg", "step-float", "gamma0", "gamma-nan", "exp-gamma", "tmax0",
        "eta-neg", "last-epoch"])
def test_invalid_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make(make_opt())


@pytest.mark.parametrize("make", [
    lambda o: optim.StepLR(o, step_size=2),
    lambda o: optim.ExponentialLR(o, gamma=0.5),
    lambda o: optim.CosineAnnealingLR(o, T_max=5),
    lambda o: optim.ReduceLROnPlateau(o),
], ids=["StepLR", "ExponentialLR", "CosineAnnealingLR", "ReduceLROnPlateau"])
def test_needs_an_optimizer(make):
    with pytest.raises(TypeError, match="str is not an Optimizer"):
        make("adam")


def test_docstrings():
    for cls in (lr_scheduler.LRScheduler, optim.StepLR, optim.ExponentialLR,
                optim.CosineAnnealingLR, optim.ReduceLROnPlateau):
        assert cls.__doc__ and "default" in cls.__doc__.lower(), cls.__name__
    assert "SGDR" in optim.CosineAnnealingLR.__doc__
    assert "Loshchilov" in optim.CosineAnnealingLR.__doc__


# ============================================================================ plateau
def run_plateau(metrics, lr=1.0, groups=1, **kw):
    opt = make_opt((lr,) * groups)
    sched = optim.ReduceLROnPlateau(opt, **kw)
    out = []
    for m in metrics:
        sched.step(m)
        out.append(lrs(opt) if groups > 1 else lrs(opt)[0])
    return out, sched


class TestReduceLROnPlateau:
    def test_defaults(self):
        sched = optim.ReduceLROnPlateau(make_opt())
        assert (sched.mode, sched.factor, sched.patience, sched.threshold,
                sched.threshold_mode, sched.cooldown, sched.min_lrs, sched.eps) == (
            "min", 0.1, 10, 1e-4, "rel", 0, [0.0], 1e-8)
        assert sched.best == math.inf and sched.last_epoch == 0

    def test_patience(self):
        # epoch 1 improves on inf; bad epochs 2, 3, 4 -> the 3rd (> patience 2) reduces
        got, sched = run_plateau([1.0] * 10, patience=2, factor=0.5)
        assert got == [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125]
        assert sched.last_epoch == 10 and sched.best == 1.0

    def test_improvement_resets_the_count(self):
        # 2 bad (3, 4), improvement at 5 resets, bad 6, 7, 8 -> reduce at 8
        got, _ = run_plateau([5, 4, 4, 4, 3, 3, 3, 3], patience=2, factor=0.5)
        assert got == [1, 1, 1, 1, 1, 1, 1, 0.5]

    def test_cooldown(self):
        # reduce at 4 (counter=2); 5 and 6 are cooldown (bad epochs ignored); 7, 8, 9
        # bad -> reduce at 9; cooldown 10, 11; bad 12, 13, 14 -> reduce at 14
        got, _ = run_plateau([1.0] * 14, patience=2, cooldown=2, factor=0.5)
        assert got == [1, 1, 1] + [0.5] * 5 + [0.25] * 5 + [0.125]

    def test_relative_threshold_min(self):
        # improvement needs a < best * 0.9: 0.95 no, 0.91 no (2 bad > 1: reduce),
        # 0.89 < 0.9 yes (best 0.89), 0.85 < 0.801 no
        got, sched = run_plateau([1.0, 0.95, 0.91, 0.89, 0.85], patience=1, threshold=0.1)
        assert got == pytest.approx([1, 1, 0.1, 0.1, 0.1])
        assert sched.best == 0.89 and sched.num_bad_epochs == 1

    def test_absolute_threshold_min(self):
        # improvement needs a < best - 0.05: 0.96 no, 0.94 yes, 0.90 no, 0.86 yes
        got, sched = run_plateau([1.0, 0.96, 0.94, 0.90, 0.86], patience=1, threshold=0.05,
                                 threshold_mode="abs")
        assert got == [1, 1, 1, 1, 1] and sched.best == 0.86
        got, _ = run_plateau([1.0, 0.96, 0.94, 0.90, 0.86], patience=0, threshold=0.05,
                             threshold_mode="abs")
        assert got == pytest.approx([1, 0.1, 0.1, 0.01, 0.01])

    def test_max_mode_relative_and_absolute(self):
        # best 10: rel needs > 11 (10.5 is not), abs needs > 10.1 (10.5 is)
        got_rel, _ = run_plateau([10.0, 10.5], mode="max", patience=0, threshold=0.1)
        got_abs, s = run_plateau([10.0, 10.5], mode="max", patience=0, threshold=0.1,
                                 threshold_mode="abs")
        assert got_rel == pytest.approx([1, 0.1]) and got_abs == [1, 1] and s.best == 10.5
        # in max mode a falling metric is bad
        got, _ = run_plateau([3.0, 2.0, 1.0], mode="max", patience=1)
        assert got == pytest.approx([1, 1, 0.1])

    def test_min_lr_floor_and_eps(self):
        # 1 -> max(0.1, 0.05) = 0.1 -> max(0.01, 0.05) = 0.05 -> 0.05 (no change)
        got, _ = run_plateau([1.0] * 4, patience=0, min_lr=0.05)
        assert got == pytest.approx([1, 0.1, 0.05, 0.05])
        # a reduction smaller than eps is skipped
        got, _ = run_plateau([1.0] * 3, lr=1e-8, patience=0, factor=0.5)
        assert got == [1e-8, 1e-8, 1e-8]
        got, _ = run_plateau([1.0] * 3, lr=1e-8, patience=0, factor=0.5, eps=0.0)
        assert got == [1e-8, 5e-9, 2.5e-9]

    def test_min_lr_per_group(self):
        got, _ = run_plateau([1.0, 1.0], groups=2, patience=0, min_lr=[0.5, 0.0])
        assert got[-1] == pytest.approx([0.5, 0.1])
        with pytest.raises(ValueError, match="expected 2 min_lrs, got 3"):
            optim.ReduceLROnPlateau(make_opt((1.0, 1.0)), min_lr=[0, 0, 0])

    def test_nan_metric_is_a_bad_epoch(self):
        got, _ = run_plateau([1.0, float("nan"), float("nan")], patience=1)
        assert got == pytest.approx([1, 1, 0.1])

    def test_metric_may_be_a_tensor_or_array(self):
        opt = make_opt((1.0,))
        sched = optim.ReduceLROnPlateau(opt, patience=0)
        sched.step(Tensor(np.array(0.5)))
        sched.step(np.array([0.7]))
        assert sched.best == 0.5 and lrs(opt) == [pytest.approx(0.1)]

    def test_state_dict_round_trip(self):
        metrics = [1.0, 0.9, 0.95, 0.97, 0.99, 0.8, 0.85, 0.86, 0.87, 0.88, 0.9, 0.91]
        straight, _ = run_plateau(metrics, patience=1, cooldown=1, factor=0.5)
        opt = make_opt((1.0,))
        sched = optim.ReduceLROnPlateau(opt, patience=1, cooldown=1, factor=0.5)
        for m in metrics[:5]:
            sched.step(m)
        saved_opt, saved = opt.state_dict(), sched.state_dict()
        assert "optimizer" not in saved
        opt2 = make_opt((1.0,))
        opt2.load_state_dict(saved_opt)
        sched2 = optim.ReduceLROnPlateau(opt2)
        sched2.load_state_dict(saved)
        assert sched2.patience == 1 and sched2.best == sched.best
        resumed = []
        for m in metrics[5:]:
            sched2.step(m)
            resumed.append(lrs(opt2)[0])
        assert resumed == straight[5:]

    @pytest.mark.parametrize("kw,message", [
        (dict(factor=1.0), "Factor should be < 1.0"),
        (dict(factor=-0.1), "Invalid factor value: -0.1"),
        (dict(mode="minimum"), "mode 'minimum' is unknown"),
        (dict(threshold_mode="relative"), "threshold mode 'relative' is unknown"),
        (dict(patience=-1), "patience must be a non-negative integer, got -1"),
        (dict(patience=1.5), "patience"),
        (dict(cooldown=-2), "cooldown must be a non-negative integer, got -2"),
        (dict(threshold=-1e-4), "Invalid threshold value"),
        (dict(min_lr=-1.0), "Invalid min_lr value: -1.0"),
        (dict(eps=-1.0), "Invalid eps value"),
    ])
    def test_invalid_arguments(self, kw, message):
        with pytest.raises(ValueError, match=message):
            optim.ReduceLROnPlateau(make_opt(), **kw)


# ============================================================================ torch
@pytest.mark.parametrize("name,kw", [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("ExponentialLR", dict(gamma=0.93)),
    ("CosineAnnealingLR", dict(T_max=9, eta_min=0.002)),
])
def test_epoch_schedules_match_torch(name, kw):
    torch = pytest.importorskip("torch")
    opt = make_opt((0.1, 0.7))
    tparams = [torch.zeros(2, requires_grad=True) for _ in range(2)]
    topt = torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(tparams, (0.1, 0.7))])
    sched = getattr(optim.lr_scheduler, name)(opt, **kw)
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, **kw)
    for _ in range(50):
        topt.step()
        sched.step()
        tsched.step()
        np.testing.assert_allclose(sched.get_last_lr(), tsched.get_last_lr(), rtol=1e-12)


def test_plateau_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    metrics = np.cumsum(rng.normal(0, 1, 200)) * 0.01 + 1.0
    for kw in (dict(patience=3, cooldown=2, factor=0.5),
               dict(mode="max", patience=2, threshold=0.01, threshold_mode="abs"),
               dict(patience=0, min_lr=0.01)):
        opt = make_opt((1.0,))
        topt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        sched = optim.ReduceLROnPlateau(opt, **kw)
        tsched = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kw)
        for m in metrics:
            sched.step(float(m))
            tsched.step(float(m))
            assert sched.get_last_lr() == tsched.get_last_lr(), kw
