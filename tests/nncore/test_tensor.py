"""The autodiff machinery: graph traversal, accumulation, aliasing, modes and dtypes."""

from __future__ import annotations

import numpy as np
import pytest

from nncore import Function, Tensor, no_grad, enable_grad, is_grad_enabled, unbroadcast
from nncore import functional as F


def T(a, grad=True, dtype=np.float64):
    return Tensor(np.asarray(a, dtype=dtype), requires_grad=grad)


class TestConstruction:
    def test_integers_and_python_numbers_become_float32(self):
        assert Tensor([1, 2, 3]).dtype == np.float32
        assert Tensor(np.array([1, 2], dtype=np.int64)).dtype == np.float32
        assert Tensor(np.array([True, False])).dtype == np.float32
        assert Tensor(2.5).dtype == np.float32
        np.testing.assert_array_equal(Tensor(np.array([7, -3])).data, [7.0, -3.0])  # not truncated

    def test_floating_arrays_keep_their_dtype_and_memory(self):
        a = np.ones(3, dtype=np.float64)
        t = Tensor(a)
        assert t.dtype == np.float64 and t.data is a
        assert Tensor(a, dtype=np.float32).dtype == np.float32

    def test_bad_data_is_refused(self):
        with pytest.raises(TypeError, match="real numbers"):
            Tensor(np.array(["a", "b"]))
        with pytest.raises(TypeError, match="floating"):
            Tensor([1.0], dtype=np.int32)
        with pytest.raises(TypeError, match="real numbers"):
            Tensor("3.5", dtype=np.float64)  # strings are never parsed
        with pytest.raises(TypeError, match="complex"):
            Tensor(np.array([1 + 2j]), dtype=np.float64)  # no silent loss of the imaginary part
        with pytest.raises(TypeError, match="object"):
            Tensor([1.0, None])

    def test_numpy_scalars_keep_their_dtype(self):
        assert Tensor(np.float64(0.1)).dtype == np.float64
        assert Tensor(np.array(0.1)).dtype == np.float64
        assert Tensor(0.1).dtype == np.float32

    def test_integer_data_through_ops_is_promoted_not_truncated(self):
        out = F.relu(np.array([-1, 2, 3]))
        assert out.dtype == np.float32
        assert (F.mean(np.array([1, 2])).item()) == 1.5


class TestBackward:
    def test_deep_graph_has_no_recursion_limit(self):
        x = T(1.0)
        y = x
        for _ in range(20000):
            y = y * 1.0 + 0.0
        y.backward()
        assert x.grad == 1.0

    def test_diamond_graph_sums_in_topological_order(self):
        x = T(2.0)
        a = x * 3.0
        b = a * a      # d/dx = 2*a*3 = 36
        c = a + b      # d/dx = 3 + 36
        d = c * a      # product rule: c'*a + c*a' = 39*6 + (6+36)*3 = 360
        d.backward()
        assert x.grad == pytest.approx(360.0)

    def test_second_backward_needs_retain_graph(self):
        x = T([1.0, 2.0])
        y = (x * x).sum()
        y.backward(retain_graph=True)
        y.backward()
        np.testing.assert_array_equal(x.grad, [4.0, 8.0])
        with pytest.raises(RuntimeError, match="second time"):
            y.backward()

    def test_non_scalar_needs_grad_argument(self):
        y = T([1.0, 2.0]) * 2.0
        with pytest.raises(RuntimeError, match="one-element"):
            y.backward()
        with pytest.raises(RuntimeError, match="shape"):
            y.backward(np.ones(3))

    def test_backward_on_constant_fails_clearly(self):
        with pytest.raises(RuntimeError, match="does not require grad"):
            (Tensor([1.0]) * 2).sum().backward()

    def test_engine_checks_gradient_shapes(self):
        class _BadShape(Function):
            def forward(self, x):
                return x.sum()

            def backward(self, g):
                return (np.ones(7),)

        x = T([1.0, 2.0])
        with pytest.raises(RuntimeError, match=r"_BadShape.backward returned a gradient of shape \(7,\)"):
            _BadShape.apply(x).backward()

    def test_failed_backward_leaves_gradients_unchanged(self):
        x = T([1.0, 2.0])
        y = x * x
        z1, z2 = y.sum(), (y + x).sum()
        z1.backward()
        with pytest.raises(RuntimeError, match="second time"):
            z2.backward()  # x's own contribution would come first; nothing may be added
        np.testing.assert_array_equal(x.grad, [2.0, 4.0])

    def test_leaf_gradients_never_share_memory(self):
        a, b = T([1.0, 2.0]), T([3.0, 4.0])
        (a + b).sum().backward()
        assert not np.shares_memory(a.grad, b.grad)
        a.grad *= 10  # modifying one gradient in place leaves the other alone
        np.testing.assert_array_equal(b.grad, [1.0, 1.0])

    def test_leaf_used_directly_and_through_a_chain_is_not_corrupted(self):
        a, b = T([1.0]), T([2.0])
        s = a + b           # Add hands the same gradient array to a and to s's consumer chain
        out = (s * 3.0 + a * 5.0).sum()
        out.backward()
        assert a.grad[0] == 8.0 and b.grad[0] == 3.0

    def test_retain_grad_on_intermediate(self):
        x = T([1.0, 2.0])
        h = (x * 3.0).retain_grad()
        (h * h).sum().backward()
        np.testing.assert_array_equal(h.grad, [6.0, 12.0])
        assert x.grad is not None

    def test_only_needed_input_gradients_are_computed(self):
        seen = {}

        class _Spy(Function):
            def forward(self, a, b):
                return a * b

            def backward(self, g):
                seen["needs"] = self.needs_input_grad
                return (g * 2.0 if self.needs_input_grad[0] else None, None)

        _Spy.apply(T([1.0]), Tensor([2.0], dtype=np.float64)).sum().backward()
        assert list(seen["needs"]) == [True, False]


class TestModes:
    def test_no_grad_records_nothing_and_restores(self):
        x = T([1.0])
        with no_grad():
            assert not is_grad_enabled()
            y = x * 2.0
            with enable_grad():
                z = x * 2.0
        assert is_grad_enabled()
        assert not y.requires_grad and y.is_leaf
        assert z.requires_grad

    def test_no_grad_is_per_thread(self):
        import threading
        result = {}
        with no_grad():
            t = threading.Thread(target=lambda: result.setdefault("enabled", is_grad_enabled()))
            t.start()
            t.join(5)
        assert result["enabled"] is True

    def test_detach_cuts_the_graph(self):
        x = T([2.0])
        y = (x * x).detach() * x
        y.sum().backward()
        assert x.grad[0] == 4.0


class TestOperators:
    def test_numpy_array_on_the_left_defers_to_tensor(self):
        x = T([1.0, 2.0])
        y = np.array([3.0, 4.0]) * x
        assert isinstance(y, Tensor)
        y.sum().backward()
        np.testing.assert_array_equal(x.grad, [3.0, 4.0])

    def test_float64_constant_keeps_float32_tensor_float32(self):
        x = T([1.0, 2.0], dtype=np.float32)
        for y in (x * np.array([3.0, 4.0]), x + np.float64(2.0), np.array([1.0, 1.0]) - x, x / 3.0, x ** 2):
            assert y.dtype == np.float32

    def test_comparisons_give_boolean_arrays(self):
        x = Tensor([1.0, -1.0])
        np.testing.assert_array_equal(x > 0, [True, False])

    def test_pow_needs_a_scalar(self):
        with pytest.raises(TypeError, match="scalar"):
            Tensor([1.0]) ** Tensor([2.0])

    def test_unbroadcast(self):
        g = np.ones((2, 3, 4))
        np.testing.assert_array_equal(unbroadcast(g, (3, 1)), np.full((3, 1), 8.0))
        np.testing.assert_array_equal(unbroadcast(g, ()), 24.0)
        assert unbroadcast(g, (2, 3, 4)) is g

    def test_indexing_with_repeats_accumulates(self):
        x = T([1.0, 2.0, 3.0])
        x[np.array([0, 0, 2])].sum().backward()
        np.testing.assert_array_equal(x.grad, [2.0, 0.0, 1.0])


class TestFunctionalErrors:
    def test_linear_shape_mismatch_names_shapes(self):
        with pytest.raises(ValueError, match=r"\(2, 5\).*4 features"):
            F.linear(Tensor(np.ones((2, 5))), Tensor(np.ones((3, 4))))

    def test_cross_entropy_bad_targets(self):
        z = Tensor(np.zeros((3, 4)))
        with pytest.raises(ValueError, match=r"target\[1\] = 4 is out of range for 4 classes"):
            F.cross_entropy(z, np.array([0, 4, 1]))
        with pytest.raises(ValueError, match=r"target\[2\] = 0.5 is not a class index"):
            F.cross_entropy(z, np.array([0.0, 1.0, 0.5]))
        with pytest.raises(ValueError, match="does not fit logits"):
            F.cross_entropy(z, np.zeros((3, 5)))
        with pytest.raises(ValueError, match="reduction"):
            F.cross_entropy(z, np.array([0, 1, 2]), reduction="avg")
        with pytest.raises(ValueError, match="label_smoothing"):
            F.cross_entropy(z, np.array([0, 1, 2]), label_smoothing=1.5)
        with pytest.raises(ValueError, match="target.detach"):
            F.cross_entropy(z, Tensor(np.zeros((3, 4)), requires_grad=True))

    def test_float_class_indices_are_accepted(self):
        z = T([[1.0, 2.0, 3.0]])
        assert F.cross_entropy(z, np.array([2.0])).item() == pytest.approx(F.cross_entropy(z, np.array([2])).item())

    def test_label_smoothing_value(self):
        z = T([[1.0, 2.0, 3.0]])
        logp = np.log(np.exp([1, 2, 3]) / np.exp([1, 2, 3]).sum())
        expected = -(0.9 * logp[2] + 0.1 / 3 * logp.sum())
        assert F.cross_entropy(z, np.array([2]), label_smoothing=0.1).item() == pytest.approx(expected, rel=1e-12)

    def test_bce_rejects_values_outside_unit_interval(self):
        with pytest.raises(ValueError, match=r"input\[0, 1\] = 1.5"):
            F.binary_cross_entropy(Tensor(np.array([[0.5, 1.5]])), np.zeros((1, 2)))

    def test_bce_clamps_logs_like_pytorch(self):
        p = T([0.0, 1.0])
        loss = F.binary_cross_entropy(p, np.array([1.0, 0.0]), reduction="none")
        np.testing.assert_array_equal(loss.data, [100.0, 100.0])
        loss.sum().backward()
        assert np.all(np.isfinite(p.grad))

    def test_bce_with_logits_matches_the_probability_form(self):
        x = np.array([-3.0, -0.5, 0.0, 2.0])
        y = np.array([0.0, 1.0, 1.0, 0.0])
        a = F.binary_cross_entropy_with_logits(T(x), y).item()
        b = F.binary_cross_entropy(F.sigmoid(T(x)), y).item()
        assert a == pytest.approx(b, rel=1e-12)

    def test_dropout(self):
        x = Tensor(np.ones((1000, 10)))
        out = F.dropout(x, 0.25, True, np.random.default_rng(0)).data
        kept = out != 0
        assert abs(kept.mean() - 0.75) < 0.02
        np.testing.assert_allclose(out[kept], 1 / 0.75)
        assert F.dropout(x, 0.5, training=False) is x
        with pytest.raises(ValueError, match="probability"):
            F.dropout(x, 1.5)

    def test_batch_norm_checks_parameter_shapes(self):
        with pytest.raises(ValueError, match=r"weight has shape \(4,\), expected \(3,\)"):
            F.batch_norm(Tensor(np.ones((2, 3))), None, None, weight=np.ones(4), training=True)
        with pytest.raises(ValueError, match=r"\(N, C\)"):
            F.batch_norm(Tensor(np.ones((2, 3, 4))), None, None, training=True)

    def test_concatenate_needs_inputs(self):
        with pytest.raises(ValueError, match="at least one"):
            F.concatenate([])


class TestEdgeCases:
    def test_nan_passes_through_sigmoid_and_bce_with_logits(self):
        x = T([np.nan, 1.0])
        s = F.sigmoid(x)
        assert np.isnan(s.data[0]) and not np.isnan(s.data[1])
        s.sum().backward()
        assert np.isnan(x.grad[0])
        assert np.isnan(F.binary_cross_entropy_with_logits(T([np.nan]), np.ones(1)).item())
        with pytest.raises(ValueError, match="probabilities"):
            F.binary_cross_entropy(F.sigmoid(T([np.nan])), np.ones(1))
        assert np.isnan(F.softmax(T([[np.nan, 1.0]])).data).all()

    def test_empty_batch_mean_loss_is_nan_not_zero(self):
        for loss in (F.cross_entropy(T(np.zeros((0, 3))), np.zeros(0, dtype=np.int64)),
                     F.mse_loss(T(np.zeros((0, 2))), np.zeros((0, 2))),
                     F.binary_cross_entropy_with_logits(T(np.zeros((0, 1))), np.zeros((0, 1)))):
            assert np.isnan(loss.item())
        assert F.mse_loss(T(np.zeros((0, 2))), np.zeros((0, 2)), reduction="sum").item() == 0.0

    def test_zero_dimensional_inputs(self):
        x = T(-2.0)
        y = F.leaky_relu(x, 0.1)
        assert y.item() == pytest.approx(-0.2)
        y.backward()
        assert x.grad == pytest.approx(0.1)
        with pytest.raises(ValueError, match="axis 0 is out of range for a tensor with 0 dimensions"):
            Tensor(5.0).sum(axis=0)
        with pytest.raises(ValueError, match="axis 2 is out of range"):
            Tensor(np.ones((2, 2))).mean(axis=2)

    def test_softmax_of_empty_rows(self):
        assert F.softmax(Tensor(np.zeros((2, 0)))).shape == (2, 0)

    def test_pow_zero_has_zero_gradient_at_zero(self):
        x = T([0.0, 2.0])
        (x ** 0).sum().backward()
        np.testing.assert_array_equal(x.grad, [0.0, 0.0])

    def test_bad_targets_are_named(self):
        with pytest.raises(TypeError, match="mse_loss: target"):
            F.mse_loss(T([1.0, 2.0]), [1.0, None])
        with pytest.raises(TypeError, match="mse_loss: target.*complex"):
            F.mse_loss(T([1.0]), np.array([1j]))
        with pytest.raises(ValueError, match="label_smoothing"):
            F.cross_entropy(T([[1.0, 2.0]]), [0], label_smoothing="0.1")
