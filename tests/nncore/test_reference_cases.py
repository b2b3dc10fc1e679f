"""Reference cases R01-R03 and R09-R12 from shared/reference-cases.md (engine numerics).

R04-R08 (optimizers) are in test_optim.py. Each case comes from a fault reported in a
real framework; the docstrings name it.
"""

from __future__ import annotations

import numpy as np
import pytest

from nncore import Tensor, nn, optim
from nncore import functional as F
from nncore.data import minibatches
from nncore.training import EarlyStopping, Trainer


def T(a, grad=True, dtype=np.float64):
    return Tensor(np.asarray(a, dtype=dtype), requires_grad=grad)


# --------------------------------------------------------------------------- R01
class TestR01StableSoftmaxCrossEntropy:
    """pytorch/pytorch#11752: softmax/cross-entropy must not overflow or underflow."""

    def test_huge_logit_correct_class_is_zero_loss_without_any_fp_warning(self):
        with np.errstate(all="raise"):
            z = T([[1000.0, 0.0]])
            loss = F.cross_entropy(z, np.array([0]))
            loss.backward()
        assert loss.item() == 0.0
        np.testing.assert_array_equal(z.grad, [[0.0, 0.0]])

    def test_huge_logit_wrong_class(self):
        with np.errstate(all="raise"):
            z = T([[1000.0, 0.0]])
            loss = F.cross_entropy(z, np.array([1]))
            loss.backward()
        assert loss.item() == 1000.0
        np.testing.assert_allclose(z.grad, [[1.0, -1.0]], rtol=0, atol=1e-15)

    def test_float32_equal_huge_logits(self):
        with np.errstate(all="raise"):
            z = T([[1e8, 1e8]], dtype=np.float32)
            loss = F.cross_entropy(z, np.array([1]))
            loss.backward()
        assert loss.dtype == np.float32 and z.grad.dtype == np.float32
        assert loss.item() == pytest.approx(0.6931472, abs=1e-7)
        np.testing.assert_allclose(z.grad, [[0.5, -0.5]], atol=1e-7)

    def test_very_negative_logits(self):
        with np.errstate(all="raise"):
            z = T([[-1000.0, -1000.0]])
            np.testing.assert_allclose(F.softmax(z).data, [[0.5, 0.5]])
            assert F.cross_entropy(z, np.array([0])).item() == pytest.approx(0.6931472, abs=1e-7)
            np.testing.assert_allclose(F.log_softmax(z).data, [[-np.log(2)] * 2])

    def test_batch_values(self):
        z = T([[1, 2, 3], [1, 2, 3]])
        loss = F.cross_entropy(z, np.array([2, 0]))
        loss.backward()
        assert loss.item() == pytest.approx(1.40760596, abs=1e-8)
        np.testing.assert_allclose(z.grad, [[0.04501529, 0.12236424, -0.16737952],
                                            [-0.45498471, 0.12236424, 0.33262048]], atol=1e-8)

    def test_one_hot_and_class_index_targets_agree(self):
        z = T([[1, 2, 3], [1, 2, 3]])
        assert F.cross_entropy(z, np.eye(3)[[2, 0]]).item() == pytest.approx(1.40760596, abs=1e-8)

    def test_extreme_inputs_to_every_activation_and_loss_stay_finite_and_silent(self):
        x = T([[-1e4, -800.0, -100.0, 0.0, 100.0, 800.0, 1e4]])
        with np.errstate(all="raise"):
            s = F.sigmoid(x)
            outs = [s, F.tanh(x), F.softmax(x), F.log_softmax(x), F.relu(x), F.leaky_relu(x),
                    F.binary_cross_entropy_with_logits(x, np.ones(x.shape)),
                    F.binary_cross_entropy(s, np.ones(x.shape)),
                    F.cross_entropy(x, np.array([0]), label_smoothing=0.1)]
            for out in outs:
                assert np.all(np.isfinite(out.data)), out
                out.sum().backward(retain_graph=True)
        assert np.all(np.isfinite(x.grad))
        np.testing.assert_array_equal(s.data[0, [0, 1]], [0.0, 0.0])
        np.testing.assert_array_equal(s.data[0, [5, 6]], [1.0, 1.0])

    def test_sigmoid_and_log_softmax_match_scipy_references(self):
        special = pytest.importorskip("scipy.special")
        x = np.linspace(-50, 50, 101)
        np.testing.assert_allclose(F.sigmoid(x.copy()).data, special.expit(x), rtol=1e-15, atol=0)
        z = np.random.default_rng(0).standard_normal((4, 6)) * 30
        np.testing.assert_allclose(F.log_softmax(z).data, special.log_softmax(z, axis=-1), rtol=1e-13)

    def test_dense_softmax_then_log_never_produces_nan_through_fused_loss(self):
        """The canvas wires Dense -> Softmax -> CrossEntropy; the engine offers the fused
        cross_entropy on logits, which stays finite where log(softmax) does not."""
        with np.errstate(all="ignore"):
            naive = np.log(F.softmax(T([[1000.0, 0.0]])).data)
        assert np.isneginf(naive[0, 1])
        assert np.isfinite(F.cross_entropy(T([[1000.0, 0.0]]), np.array([1])).item())


# --------------------------------------------------------------------------- R02
class TestR02BatchNormRunningStatistics:
    """pytorch/pytorch#60528: momentum convention and unbiased running variance."""

    def test_train_then_eval(self):
        bn = nn.BatchNorm1d(1).double()
        out = bn(T([[1.0], [3.0]], grad=False))
        np.testing.assert_allclose(out.data, [[-0.999995], [0.999995]], rtol=0, atol=1e-6)
        np.testing.assert_allclose(out.data, [[-1 / np.sqrt(1 + 1e-5)], [1 / np.sqrt(1 + 1e-5)]], rtol=1e-14)
        np.testing.assert_allclose(bn.running_mean, [0.2], rtol=1e-14)
        np.testing.assert_allclose(bn.running_var, [1.1], rtol=1e-14)
        bn.eval()
        out = bn(T([[2.0]], grad=False))
        assert out.data[0, 0] == pytest.approx(1.7162249, abs=1e-7)
        np.testing.assert_allclose(bn.running_mean, [0.2], rtol=1e-14)
        np.testing.assert_allclose(bn.running_var, [1.1], rtol=1e-14)

    def test_eval_never_changes_running_statistics(self):
        bn = nn.BatchNorm1d(3)
        bn(T(np.random.default_rng(0).standard_normal((8, 3)), grad=False))
        before = bn.state_dict()
        bn.eval()
        for _ in range(3):
            bn(T(np.random.default_rng(1).standard_normal((5, 3)) * 10, grad=False))
        for k, v in bn.state_dict().items():
            np.testing.assert_array_equal(v, before[k], err_msg=k)


# --------------------------------------------------------------------------- R03
class TestR03BatchNormOneSample:
    """pytorch/pytorch#4534: one sample in training must fail clearly, not give NaN."""

    def test_single_sample_in_training_raises_clear_error(self):
        bn = nn.BatchNorm1d(1)
        with pytest.raises(ValueError, match="more than one sample per feature in training"):
            bn(T([[5.0]]))
        assert np.all(np.isfinite(bn.running_var)) and bn.running_var[0] == 1.0

    def test_single_sample_in_eval_is_fine(self):
        bn = nn.BatchNorm1d(1).eval()
        assert np.isfinite(bn(T([[5.0]])).data).all()

    def test_17_samples_batch_16_trains_without_nan(self):
        batches = minibatches(17, 16, np.random.default_rng(0))
        assert [len(b) for b in batches] == [17]  # the last batch of one is merged
        assert sorted(np.concatenate(batches)) == list(range(17))
        assert [len(b) for b in minibatches(33, 16, np.random.default_rng(0))] == [16, 17]
        rng = np.random.default_rng(0)
        X = rng.standard_normal((17, 3)).astype(np.float32)
        y = rng.integers(0, 2, 17)
        model = nn.Sequential(nn.Linear(3, 4, generator=rng), nn.BatchNorm1d(4), nn.ReLU(),
                              nn.Linear(4, 2, generator=rng))
        trainer = Trainer(model, F.cross_entropy, optim.SGD(model.parameters(), lr=0.1),
                          batch_size=16, generator=rng)
        history = trainer.fit(X, y, epochs=3)
        assert len(history) == 3 and all(np.isfinite(h["loss"]) for h in history)
        for name, value in model.state_dict().items():
            assert np.all(np.isfinite(value)), name


# --------------------------------------------------------------------------- R09
class TestR09FanOut:
    """karpathy/micrograd#2: a tensor used twice gets the sum of both gradients."""

    def test_scalar_expression(self):
        x, a = T(1.0), T(1.0)
        f = x * (x * a) + (x * x) * a + x * (x * a)
        f.backward()
        assert x.grad == 6.0
        assert a.grad == 3.0

    def test_dense_feeding_two_consumers(self):
        x = T([[1.0, 2.0]], grad=False)
        lin = nn.Linear(2, 1, bias=False).double()
        lin.weight.data = np.array([[1.0, 1.0]])
        h = lin(x)
        loss = h.sum() + (h * 1.0).sum()
        loss.backward()
        np.testing.assert_array_equal(lin.weight.grad, [[2.0, 4.0]])

    def test_gradients_are_reset_per_step(self):
        x = T([[1.0, 2.0]], grad=False)
        lin = nn.Linear(2, 1, bias=False).double()
        lin.weight.data = np.array([[1.0, 1.0]])
        opt = optim.SGD(lin.parameters(), lr=0.0)
        grads = []
        for _ in range(2):
            opt.zero_grad()
            h = lin(x)
            (h.sum() + h.sum()).backward()
            grads.append(lin.weight.grad.copy())
            opt.step()
        np.testing.assert_array_equal(grads[0], grads[1])
        np.testing.assert_array_equal(grads[0], [[2.0, 4.0]])

    def test_without_zero_grad_gradients_accumulate(self):
        w = T([3.0])
        for _ in range(2):
            (w * 2.0).sum().backward()
        assert w.grad[0] == 4.0


# --------------------------------------------------------------------------- R10
def test_r10_bias_gradient_is_reduced_over_the_batch():
    """jimfleming/differentiation#1: bias grad sums over the batch, keeps shape (2,)."""
    lin = nn.Linear(4, 2).double()
    lin.weight.data = np.zeros((2, 4))
    lin.bias.data = np.array([1.0, 2.0])
    lin(T(np.zeros((3, 4)), grad=False)).sum().backward()
    assert lin.bias.grad.shape == (2,)
    np.testing.assert_array_equal(lin.bias.grad, [3.0, 3.0])
    optim.SGD(lin.parameters(), lr=0.1).step()
    assert lin.bias.data.shape == (2,)
    np.testing.assert_allclose(lin.bias.data, [0.7, 1.7], rtol=1e-15)


# --------------------------------------------------------------------------- R11
class TestR11MSEShapes:
    """pytorch/pytorch#16045: (3,1) vs (3,) must not silently broadcast to (3,3)."""

    def test_mismatched_shapes_are_a_clear_error(self):
        with pytest.raises(ValueError, match=r"\(3, 1\).*\(3,\)"):
            F.mse_loss(T([[1.0], [2.0], [3.0]]), np.array([1.0, 2.0, 4.0]))

    def test_value_and_gradient(self):
        p = T([[1.0, 2.0]])
        loss = F.mse_loss(p, np.array([[0.0, 0.0]]))
        loss.backward()
        assert loss.item() == 2.5
        np.testing.assert_array_equal(p.grad, [[1.0, 2.0]])

    def test_matching_shapes_give_the_right_value(self):
        loss = F.mse_loss(T([[1.0], [2.0], [3.0]]), np.array([[1.0], [2.0], [4.0]]))
        assert loss.item() == pytest.approx(0.33333333, abs=1e-8)


# --------------------------------------------------------------------------- R12
class _Scripted:
    """A stand-in trainer whose model's only weight is the epoch number, and whose
    validation loss is read from a script by that weight (so re-evaluating after a
    restore tells which epoch's weights are loaded)."""

    def __init__(self, losses):
        self.losses = losses
        self.model = nn.Linear(1, 1, bias=False).double()
        self.stop_training = False

    def val_loss(self):
        return self.losses[int(self.model.weight.data[0, 0]) - 1]

    def run(self, es, epochs):
        es.on_train_begin(self)
        ran = 0
        for epoch in range(1, epochs + 1):
            self.model.weight.data[...] = epoch  # "training" changes the live array in place
            ran = epoch
            es.on_epoch_end(self, epoch, {"val_loss": self.val_loss()})
            if self.stop_training:
                break
        es.on_train_end(self)
        return ran


class TestR12EarlyStopping:
    """keras-team/keras#12511: restore the best weights also when the epoch limit ends."""

    def test_restores_best_at_epoch_limit(self):
        t = _Scripted([0.5, 0.3, 0.4, 0.45, 0.5])
        es = EarlyStopping(patience=10, restore_best_weights=True)
        assert t.run(es, 5) == 5
        assert es.stopped_epoch == 0 and es.best_epoch == 2
        assert t.model.weight.data[0, 0] == 2.0
        assert t.val_loss() == 0.3

    def test_best_weights_are_copies_not_views(self):
        t = _Scripted([0.5, 0.3, 0.4, 0.45, 0.5])
        es = EarlyStopping(patience=10)
        t.run(es, 5)
        assert es.best_state["weight"][0, 0] == 2.0  # in-place training did not alter it
        assert not np.shares_memory(es.best_state["weight"], t.model.weight.data)

    @pytest.mark.parametrize("losses,patience,min_delta,stopped,best", [
        ([1.0, 0.9, 0.95, 0.97, 0.8], 2, 0.0, 4, 2),
        ([1.0, 1.1, 0.5], 0, 0.0, 2, 1),
        ([1.0, 0.9995, 0.999], 1, 0.001, 2, 1),
    ])
    def test_patience_and_min_delta(self, losses, patience, min_delta, stopped, best):
        t = _Scripted(losses)
        es = EarlyStopping(monitor="val_loss", mode="min", patience=patience, min_delta=min_delta)
        assert t.run(es, len(losses)) == stopped
        assert es.stopped_epoch == stopped and es.best_epoch == best
        assert t.model.weight.data[0, 0] == best

    def test_max_mode(self):
        t = _Scripted([0.1, 0.5, 0.4, 0.3])
        es = EarlyStopping(monitor="val_loss", mode="max", patience=1)
        assert t.run(es, 4) == 3 and es.best_epoch == 2

    def test_missing_monitor_and_bad_arguments(self):
        with pytest.raises(ValueError, match="mode"):
            EarlyStopping(mode="lowest")
        with pytest.raises(ValueError, match="patience"):
            EarlyStopping(patience=-1)
        es = EarlyStopping(monitor="val_accuracy")
        with pytest.raises(ValueError, match="val_accuracy.*validation split"):
            es.on_epoch_end(_Scripted([1.0]), 1, {"loss": 1.0})

    def test_real_trainer_restores_best_weights_when_epochs_run_out(self):
        rng = np.random.default_rng(3)
        X = rng.standard_normal((60, 4)).astype(np.float32)
        y = (X[:, 0] > 0).astype(np.int64)
        Xv, yv = X[:20] + rng.standard_normal((20, 4)).astype(np.float32), y[:20]
        model = nn.Sequential(nn.Linear(4, 16, generator=rng), nn.ReLU(), nn.Linear(16, 2, generator=rng))
        es = EarlyStopping(patience=100)
        trainer = Trainer(model, F.cross_entropy, optim.Adam(model.parameters(), lr=0.05),
                          batch_size=8, callbacks=[es], generator=rng)
        history = trainer.fit(X[20:], y[20:], epochs=15, validation=(Xv, yv))
        best = min(h["val_loss"] for h in history)
        assert len(history) == 15 and es.best == best
        assert trainer.evaluate(Xv, yv)["loss"] == pytest.approx(best, rel=1e-6)
