"""Modules, parameters and buffers, state dicts, initializers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nncore import Tensor, init, nn
from nncore import functional as F


def small_model(rng=None):
    rng = rng or np.random.default_rng(0)
    return nn.Sequential(nn.Linear(4, 8, generator=rng), nn.BatchNorm1d(8), nn.ReLU(),
                         nn.Dropout(0.5, generator=rng), nn.Linear(8, 3, generator=rng))


class TestModule:
    def test_parameters_and_buffers_are_separate(self):
        m = small_model()
        names = [n for n, _ in m.named_parameters()]
        assert names == ["0.weight", "0.bias", "1.weight", "1.bias", "4.weight", "4.bias"]
        assert [n for n, _ in m.named_buffers()] == ["1.running_mean", "1.running_var"]
        assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in m.parameters())
        assert m.num_parameters() == 4 * 8 + 8 + 8 + 8 + 8 * 3 + 3

    def test_shared_parameter_listed_once(self):
        lin = nn.Linear(3, 3)
        m = nn.Sequential(lin, nn.ReLU(), lin)
        assert len(list(m.parameters())) == 2

    def test_linear_shapes_and_pytorch_init_bounds(self):
        lin = nn.Linear(50, 20, generator=np.random.default_rng(0))
        assert lin.weight.shape == (20, 50) and lin.bias.shape == (20,)
        assert lin.weight.dtype == np.float32
        bound = 1 / math.sqrt(50)
        assert np.abs(lin.weight.data).max() <= bound and np.abs(lin.bias.data).max() <= bound
        assert np.abs(lin.weight.data).max() > 0.9 * bound  # uses the whole range
        assert lin(Tensor(np.ones((7, 50)))).shape == (7, 20)
        assert nn.Linear(3, 2, bias=False).bias is None
        with pytest.raises(ValueError, match="in_features must be a positive integer"):
            nn.Linear(0, 3)

    def test_same_generator_seed_gives_same_weights(self):
        a = small_model(np.random.default_rng(5)).state_dict()
        b = small_model(np.random.default_rng(5)).state_dict()
        for k in a:
            np.testing.assert_array_equal(a[k], b[k])

    def test_train_eval_propagate(self):
        m = small_model()
        m.eval()
        assert not any(x.training for x in m.modules())
        m.train()
        assert all(x.training for x in m.modules())

    def test_eval_mode_is_deterministic_and_uses_running_stats(self):
        m = small_model()
        x = Tensor(np.random.default_rng(1).standard_normal((6, 4)))
        m(x)
        m.eval()
        np.testing.assert_array_equal(m(x).data, m(x).data)
        one = m(Tensor(x.data[:1]))  # one sample is fine in eval mode
        np.testing.assert_allclose(one.data, m(x).data[:1], rtol=1e-5)

    def test_state_dict_round_trip_copies(self):
        m = small_model()
        m(Tensor(np.random.default_rng(1).standard_normal((6, 4))))
        state = m.state_dict()
        assert set(state) == {"0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean",
                              "1.running_var", "4.weight", "4.bias"}
        assert not np.shares_memory(state["0.weight"], m[0].weight.data)
        other = small_model(np.random.default_rng(99))
        other.load_state_dict(state)
        for k, v in other.state_dict().items():
            np.testing.assert_array_equal(v, state[k])
        state["0.weight"][...] = 0  # the loaded model does not share the arrays
        assert np.any(other[0].weight.data != 0)

    def test_load_state_dict_errors_change_nothing(self):
        m = small_model()
        before = m.state_dict()
        bad = dict(before)
        bad["4.weight"] = np.zeros((2, 8))
        with pytest.raises(ValueError, match=r"'4.weight' has shape \(2, 8\) in the state but \(3, 8\)"):
            m.load_state_dict(bad)
        for k, v in m.state_dict().items():
            np.testing.assert_array_equal(v, before[k])
        incomplete = {k: v for k, v in before.items() if k != "0.bias"}
        incomplete["extra"] = np.zeros(1)
        with pytest.raises(KeyError, match=r"missing keys \['0.bias'\], unexpected keys \['extra'\]"):
            m.load_state_dict(incomplete)
        missing, unexpected = m.load_state_dict(incomplete, strict=False)
        assert missing == ["0.bias"] and unexpected == ["extra"]

    def test_to_double_and_back(self):
        m = small_model().double()
        assert all(p.dtype == np.float64 for p in m.parameters())
        assert all(b.dtype == np.float64 for b in m.buffers())
        assert m(Tensor(np.ones((3, 4)))).dtype == np.float64
        m.float()
        assert all(p.dtype == np.float32 for p in m.parameters())

    def test_zero_grad(self):
        m = small_model()
        F.cross_entropy(m(Tensor(np.ones((4, 4)))), np.array([0, 1, 2, 0])).backward()
        assert all(p.grad is not None for p in m.parameters())
        m.zero_grad(set_to_none=False)
        assert all(np.all(p.grad == 0) for p in m.parameters())
        m.zero_grad()
        assert all(p.grad is None for p in m.parameters())

    def test_setattr_guards(self):
        class NoSuper(nn.Module):
            def __init__(self):
                self.x = 1

        with pytest.raises(AttributeError, match="super"):
            NoSuper()
        bn = nn.BatchNorm1d(2)
        with pytest.raises(TypeError, match="running_mean"):
            bn.running_mean = [0.0, 0.0]
        lin = nn.Linear(2, 2)
        with pytest.raises(TypeError, match="Parameter or None"):
            lin.weight = np.zeros((2, 2))

    def test_sequential(self):
        m = small_model()
        assert len(m) == 5 and isinstance(m[0], nn.Linear) and isinstance(m[-1], nn.Linear)
        assert len(m[1:3]) == 2
        with pytest.raises(TypeError, match="argument 1 is int"):
            nn.Sequential(nn.ReLU(), 3)
        assert "Linear(in_features=4, out_features=8, bias=True)" in repr(m)

    def test_batchnorm_input_checks(self):
        with pytest.raises(ValueError, match=r"BatchNorm1d\(3\) expects input of shape \(N, 3\), got \(4, 2\)"):
            nn.BatchNorm1d(3)(Tensor(np.ones((4, 2))))
        with pytest.raises(ValueError, match="momentum"):
            nn.BatchNorm1d(3, momentum=2)

    def test_batchnorm_without_running_stats_or_affine(self):
        bn = nn.BatchNorm1d(2, affine=False, track_running_stats=False).eval()
        out = bn(Tensor(np.array([[1.0, 2.0], [3.0, 6.0]])))
        np.testing.assert_allclose(out.data, [[-1, -1], [1, 1]], atol=1e-5)
        assert list(bn.parameters()) == [] and list(bn.buffers()) == []

    def test_activation_modules_match_functions(self):
        x = Tensor(np.linspace(-3, 3, 12).reshape(3, 4))
        for module, fn in ((nn.ReLU(), F.relu), (nn.Sigmoid(), F.sigmoid), (nn.Tanh(), F.tanh),
                           (nn.LeakyReLU(0.2), lambda t: F.leaky_relu(t, 0.2)),
                           (nn.Softmax(dim=-1), F.softmax), (nn.LogSoftmax(), F.log_softmax)):
            np.testing.assert_array_equal(module(x).data, fn(x).data)
        np.testing.assert_allclose(nn.LeakyReLU(0.2)(x).data[0, 0], -0.6)
        np.testing.assert_allclose(nn.Softmax()(x).data.sum(axis=1), 1.0)


class TestClipGradNorm:
    def test_scales_to_max_norm_and_returns_total(self):
        a, b = nn.Parameter(np.zeros(2)), nn.Parameter(np.zeros(1))
        a.grad, b.grad = np.array([3.0, 0.0]), np.array([4.0])
        original = a.grad
        total = nn.clip_grad_norm_([a, b], 1.0)
        assert total == pytest.approx(5.0)
        norm = math.sqrt(float((a.grad ** 2).sum() + (b.grad ** 2).sum()))
        assert norm == pytest.approx(1.0, rel=1e-5)
        np.testing.assert_array_equal(original, [3.0, 0.0])  # copies, not in place

    def test_below_max_untouched_and_bad_max(self):
        a = nn.Parameter(np.zeros(2))
        a.grad = np.array([0.3, 0.4])
        assert nn.clip_grad_norm_([a], 1.0) == pytest.approx(0.5)
        np.testing.assert_array_equal(a.grad, [0.3, 0.4])
        with pytest.raises(ValueError, match="max_norm"):
            nn.clip_grad_norm_([a], 0.0)


class TestInit:
    @pytest.mark.parametrize("fn,std", [
        (lambda w, g: init.xavier_uniform_(w, generator=g), math.sqrt(2 / (300 + 200))),
        (lambda w, g: init.xavier_normal_(w, generator=g), math.sqrt(2 / (300 + 200))),
        (lambda w, g: init.kaiming_uniform_(w, nonlinearity="relu", generator=g), math.sqrt(2 / 300)),
        (lambda w, g: init.kaiming_normal_(w, nonlinearity="relu", generator=g), math.sqrt(2 / 300)),
        (lambda w, g: init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu", generator=g), math.sqrt(2 / 200)),
    ])
    def test_standard_deviation(self, fn, std):
        w = np.empty((200, 300), dtype=np.float32)
        out = fn(w, np.random.default_rng(0))
        assert out is w and w.dtype == np.float32
        assert w.std() == pytest.approx(std, rel=0.02)
        assert abs(w.mean()) < 0.05 * std

    def test_uniform_bounds(self):
        w = init.xavier_uniform_(np.empty((10, 20)), gain=2.0, generator=np.random.default_rng(0))
        bound = 2.0 * math.sqrt(6 / 30)
        assert w.max() <= bound and w.min() >= -bound

    def test_gains(self):
        assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
        assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
        assert init.calculate_gain("sigmoid") == 1.0
        assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
        with pytest.raises(ValueError, match="unsupported"):
            init.calculate_gain("swish")

    def test_errors(self):
        with pytest.raises(ValueError, match="at least 2 dimensions"):
            init.xavier_uniform_(np.empty(5))
        with pytest.raises(TypeError, match="floating"):
            init.zeros_(np.empty(3, dtype=np.int64))
        with pytest.raises(ValueError, match="mode"):
            init.kaiming_normal_(np.empty((2, 2)), mode="fan_avg")

    def test_tensor_targets_and_constants(self):
        t = Tensor(np.empty((2, 3)))
        assert init.ones_(t) is t and np.all(t.data == 1)
        init.zeros_(t)
        assert np.all(t.data == 0)


def test_manual_seed_repeats_dropout_and_init():
    from nncore import manual_seed

    manual_seed(3)
    a = nn.Linear(4, 4).weight.data.copy()
    d1 = F.dropout(Tensor(np.ones(20)), 0.5).data
    manual_seed(3)
    np.testing.assert_array_equal(nn.Linear(4, 4).weight.data, a)
    np.testing.assert_array_equal(F.dropout(Tensor(np.ones(20)), 0.5).data, d1)
    with pytest.raises(ValueError, match="non-negative"):
        manual_seed(-1)


def test_loss_modules_match_the_functions():
    rng = np.random.default_rng(0)
    z = Tensor(rng.standard_normal((4, 3)))
    y = np.array([0, 2, 1, 1])
    assert nn.CrossEntropyLoss()(z, y).item() == F.cross_entropy(z, y).item()
    assert nn.CrossEntropyLoss(label_smoothing=0.1, reduction="sum")(z, y).item() == \
        F.cross_entropy(z, y, 0.1, "sum").item()
    t = rng.uniform(0, 1, (4, 3))
    assert nn.MSELoss()(z, t).item() == F.mse_loss(z, t).item()
    assert nn.BCEWithLogitsLoss(reduction="none")(z, t).shape == (4, 3)
    assert nn.BCELoss()(F.sigmoid(z), t).item() == pytest.approx(nn.BCEWithLogitsLoss()(z, t).item())
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="avg")


def test_flatten():
    x = Tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    out = nn.Flatten()(x)
    assert out.shape == (2, 12)
    out.sum().backward()
    assert x.grad.shape == (2, 3, 4)
    assert nn.Flatten(0)(x).shape == (24,)
