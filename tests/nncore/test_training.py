"""Trainer: data checks, seeding, metrics, failure handling."""

from __future__ import annotations

import numpy as np
import pytest

from nncore import manual_seed, nn, optim
from nncore import functional as F
from nncore.training import EarlyStopping, Trainer, TrainingError, accuracy


def data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3)).astype(np.float32)
    return X, (X[:, 0] > 0).astype(np.int64)


def model_and_trainer(lr=0.1, **kw):
    m = nn.Sequential(nn.Linear(3, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))
    return m, Trainer(m, F.cross_entropy, optim.SGD(m.parameters(), lr=lr), batch_size=8, **kw)


def test_manual_seed_makes_a_whole_run_repeatable():
    runs = []
    for _ in range(2):
        manual_seed(0)
        _, t = model_and_trainer()
        runs.append([h["loss"] for h in t.fit(*data(), epochs=3)])
    assert runs[0] == runs[1]


def test_lists_are_accepted_and_float64_features_follow_the_model_dtype():
    X, y = data()
    m, t = model_and_trainer()
    history = t.fit(X.astype(np.float64).tolist(), y.tolist(), epochs=1)
    assert np.isfinite(history[0]["loss"])
    assert all(p.dtype == np.float32 and p.grad.dtype == np.float32 for p in m.parameters())


@pytest.mark.parametrize("X,y,message", [
    (np.zeros((0, 3)), np.zeros(0), "no samples"),
    (np.zeros((4, 3)), np.zeros(3), "4 feature rows but 3 targets"),
    (np.zeros(4), np.zeros(4), r"shape \(samples, features\)"),
    (np.array([[0, 1, 2], [0, np.nan, 1]]), np.zeros(2), "features contain NaN or infinity \\(first in row 1\\)"),
    (np.zeros((2, 3)), np.array([0.0, np.inf]), "targets contain NaN"),
])
def test_bad_training_data_is_refused_before_training(X, y, message):
    m, t = model_and_trainer()
    before = m.state_dict()
    with pytest.raises(ValueError, match=message):
        t.fit(X, y, epochs=1)
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_string_data_and_bad_arguments():
    m, t = model_and_trainer()
    with pytest.raises(TypeError, match="numbers"):
        t.fit(np.array([["a", "b", "c"]]), np.zeros(1), epochs=1)
    with pytest.raises(TypeError, match="batch_size must be an integer"):
        Trainer(m, F.cross_entropy, optim.SGD(m.parameters()), batch_size=2.7)
    with pytest.raises(ValueError, match="epochs"):
        t.fit(*data(), epochs=-1)


def test_accuracy_shape_errors_happen_before_any_update():
    m = nn.Sequential(nn.Linear(3, 1))
    t = Trainer(m, F.binary_cross_entropy_with_logits, optim.SGD(m.parameters(), lr=0.1))
    X, y = data()
    before = m.state_dict()
    with pytest.raises(ValueError, match=r"accuracy needs outputs of shape \(N, C\).*classification=False"):
        t.fit(X, y[:, None].astype(np.float32), epochs=1)
    np.testing.assert_array_equal(m.state_dict()["0.weight"], before["0.weight"])
    t.classification = False
    history = t.fit(X, y[:, None].astype(np.float32), epochs=2)
    assert "accuracy" not in history[-1] and history[-1]["loss"] < history[0]["loss"] * 1.5


def test_accuracy_function():
    assert accuracy(np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([1, 1])) == 0.5
    assert np.isnan(accuracy(np.zeros((0, 2)), np.zeros(0)))


def test_early_stopping_misconfiguration_fails_before_training():
    m, t = model_and_trainer(callbacks=[EarlyStopping(monitor="val_acc")])
    before = m.state_dict()
    X, y = data()
    with pytest.raises(ValueError, match="'val_acc'.*val_accuracy"):
        t.fit(X, y, epochs=2, validation=(X, y))
    m2, t2 = model_and_trainer(callbacks=[EarlyStopping()])
    with pytest.raises(ValueError, match="add a validation split"):
        t2.fit(X, y, epochs=2)
    np.testing.assert_array_equal(m.state_dict()["0.weight"], before["0.weight"])


def test_diverging_training_reports_the_batch_and_keeps_buffers_finite():
    m, t = model_and_trainer(lr=1e30)
    with pytest.raises(TrainingError, match=r"loss became (nan|inf) at epoch \d+, batch \d+"):
        with np.errstate(all="ignore"):
            t.fit(*data(), epochs=20)
    assert np.all(np.isfinite(m[1].running_mean)) and np.all(np.isfinite(m[1].running_var))


def test_scheduler_is_stepped_per_epoch():
    m, t = model_and_trainer(lr=0.1)
    t.scheduler = optim.lr_scheduler.StepLR(t.optimizer, step_size=1, gamma=0.5)
    history = t.fit(*data(), epochs=3)
    assert [h["lr"] for h in history] == [0.1, 0.05, 0.025]


@pytest.mark.parametrize("max_norm", [None, 0.01])
def test_gradient_clipping_bounds_the_update(max_norm):
    manual_seed(1)
    m = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 2))
    lr = 1.0
    t = Trainer(m, F.cross_entropy, optim.SGD(m.parameters(), lr=lr), batch_size=40,
                max_grad_norm=max_norm)
    before = [p.data.copy() for p in m.parameters()]
    t.fit(*data(), epochs=1)  # one step: 40 samples, batch 40
    step = np.sqrt(sum(float(((p.data - b) ** 2).sum()) for p, b in zip(m.parameters(), before)))
    if max_norm is None:
        assert step > 0.05
    else:
        assert step == pytest.approx(lr * max_norm, rel=1e-3)
    with pytest.raises(ValueError, match="max_grad_norm"):
        model_and_trainer(max_grad_norm=0)


# =========================================================================== records
import threading  # noqa: E402
import time  # noqa: E402

from sklearn.metrics import r2_score as sk_r2  # noqa: E402

from nncore import Tensor  # noqa: E402
from nncore.metrics import histogram, nice_edges  # noqa: E402
from nncore.training import Callback, EpochRecord, StepRecord  # noqa: E402

WAIT = 10.0  # seconds any thread handshake may take before a test fails instead of hanging


def nncore_batches(n, b):
    from nncore.data import minibatches
    return minibatches(n, b, shuffle=False)


class Recorder(Callback):
    """Keeps every record and what the hooks saw."""

    def __init__(self, grads=False):
        self.steps, self.records, self.calls, self.grads = [], [], [], grads
        self.grad_norms = []

    def on_train_begin(self, trainer):
        self.calls.append("begin")

    def on_batch_end(self, trainer, record):
        self.steps.append(record)
        if self.grads:  # independently: the norm of each gradient as the model holds it
            self.grad_norms.append({n: float(np.linalg.norm(p.grad.astype(np.float64)))
                                    for n, p in trainer.model.named_parameters()})

    def on_epoch_end(self, trainer, epoch, logs):
        self.calls.append(("epoch", epoch))
        assert trainer.epoch_records[-1].epoch == epoch

    def on_epoch_record(self, trainer, record):
        self.records.append(record)

    def on_train_end(self, trainer):
        self.calls.append("end")


def test_sequential_forward_with_activations():
    manual_seed(0)
    m = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    x = Tensor(np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32))
    out, acts = m.forward_with_activations(x)
    assert list(acts) == ["0", "1", "2"]
    np.testing.assert_array_equal(out.data, m(x).data)
    np.testing.assert_array_equal(acts["0"], m[0](x).data)
    np.testing.assert_array_equal(acts["1"], np.maximum(acts["0"], 0))
    np.testing.assert_array_equal(acts["2"], out.data)


def test_validation_confusion_matrix_per_epoch_with_a_class_absent_from_validation():
    manual_seed(0)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((90, 3)).astype(np.float32)
    y = np.digitize(X[:, 0], [-0.5, 0.5])              # classes 0, 1, 2
    Xv, yv = X[:30][y[:30] != 2], y[:30][y[:30] != 2]  # validation without class 2
    m = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 3))
    rec = Recorder()
    t = Trainer(m, F.cross_entropy, optim.Adam(m.parameters(), lr=0.05), batch_size=16,
                callbacks=[rec])
    history = t.fit(X[30:], y[30:], epochs=3, validation=(Xv, yv))
    assert [r.epoch for r in t.epoch_records] == [1, 2, 3] and rec.records == t.epoch_records
    assert all(isinstance(r, EpochRecord) and r.complete for r in t.epoch_records)
    # by hand, from the final weights (the last record is taken after the last epoch)
    m.eval()
    pred = np.argmax(m(Tensor(Xv)).data, axis=1)
    expected = np.zeros((3, 3), np.int64)
    for true, p in zip(yv, pred):
        expected[true, p] += 1
    last = t.epoch_records[-1]
    np.testing.assert_array_equal(last.confusion_matrix, expected)
    np.testing.assert_array_equal(t.confusion_matrix, expected)
    assert last.confusion_matrix.dtype == np.int64 and last.confusion_matrix[2].sum() == 0
    recall = last.per_class_accuracy
    np.testing.assert_allclose(recall[:2], np.diag(expected)[:2] / expected.sum(axis=1)[:2])
    assert np.isnan(recall[2])
    assert np.trace(expected) / len(yv) == pytest.approx(history[-1]["val_accuracy"])
    # the float logs carry no arrays
    assert all(isinstance(v, (int, float)) for h in history for v in h.values())
    assert "confusion_matrix" not in history[-1]


def test_num_classes_from_the_dataset_and_label_check():
    X, y = data()
    m, t = model_and_trainer(num_classes=3)  # a 2-wide model but a 3-class dataset
    t.fit(X, y, epochs=1, validation=(X, y))
    assert t.epoch_records[-1].confusion_matrix.shape == (3, 3)
    m, t = model_and_trainer(num_classes=1)
    before = m.state_dict()
    with pytest.raises(ValueError, match=r"target 1 in row \d+ is not a class index in \[0, 1\)"):
        t.fit(X, y, epochs=1)
    np.testing.assert_array_equal(m.state_dict()["0.weight"], before["0.weight"])


def test_regression_reports_mse_and_r2_like_sklearn():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 3)).astype(np.float32)
    Y = np.stack([X @ [1.0, -2.0, 0.5], X[:, 0] * 3 + 10], axis=1).astype(np.float32)
    manual_seed(0)
    m = nn.Sequential(nn.Linear(3, 2))
    # lr 0: the weights do not move, so the training-mode metrics are those of one model
    t = Trainer(m, F.mse_loss, optim.SGD(m.parameters(), lr=0.0), batch_size=10,
                classification=False)
    h = t.fit(X, Y, epochs=1, validation=(X[:20], Y[:20]))[-1]
    assert set(h) == {"epoch", "loss", "mse", "r2", "lr", "time", "val_loss", "val_mse", "val_r2"}
    P = m(Tensor(X)).data.astype(np.float64)
    assert h["r2"] == pytest.approx(sk_r2(Y, P), rel=1e-9)
    assert h["mse"] == pytest.approx(np.mean((P - Y) ** 2), rel=1e-6)
    assert h["loss"] == pytest.approx(h["mse"], rel=1e-5)
    assert h["val_r2"] == pytest.approx(sk_r2(Y[:20], P[:20]), rel=1e-9)
    assert t.evaluate(X, Y)["r2"] == pytest.approx(sk_r2(Y, P), rel=1e-9)
    assert t.epoch_records[-1].confusion_matrix is None
    # and it learns: R² goes up with a learning rate
    t.optimizer.param_groups[0]["lr"] = 0.05
    assert t.fit(X, Y, epochs=5)[-1]["r2"] > h["r2"]


def test_step_records_and_gradient_norms_before_clipping():
    X, y = data(n=40)
    manual_seed(0)
    m = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 2))
    rec = Recorder(grads=True)
    opt = optim.SGD(m.parameters(), lr=0.1)
    t = Trainer(m, F.cross_entropy, opt, batch_size=16, callbacks=[rec],
                scheduler=optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5),
                record_grad_norms=True)
    t.fit(X, y, epochs=2)
    t.fit(X, y, epochs=1)  # global steps go on across fit calls
    per_epoch = len(nncore_batches(40, 16))  # 16, 16, 8
    assert [s.step for s in rec.steps] == list(range(1, 3 * per_epoch + 1))
    assert [s.epoch for s in rec.steps] == [e for e in (1, 2, 3) for _ in range(per_epoch)]
    assert [s.batch for s in rec.steps[:per_epoch]] == list(range(1, per_epoch + 1))
    assert [s.lr for s in rec.steps[::per_epoch]] == [0.1, 0.05, 0.025]
    assert sum(s.samples for s in rec.steps[:per_epoch]) == 40
    assert t.global_step == 3 * per_epoch and t.last_step is rec.steps[-1]
    for s, norms in zip(rec.steps, rec.grad_norms):
        assert isinstance(s, StepRecord) and set(s.grad_norms) == {"0.weight", "0.bias",
                                                                    "2.weight", "2.bias"}
        for name, value in norms.items():
            assert s.grad_norms[name] == pytest.approx(value, rel=1e-6)
        assert s.grad_norm_total == pytest.approx(np.sqrt(sum(v ** 2 for v in norms.values())),
                                                  rel=1e-6)
    # epoch loss is the sample-weighted mean of the batch losses
    first = rec.steps[:per_epoch]
    assert t.history[0]["loss"] == pytest.approx(sum(s.loss * s.samples for s in first) / 40)
    # with clipping, the record keeps the norm before clipping
    rec2 = Recorder(grads=True)
    t2 = Trainer(m, F.cross_entropy, optim.SGD(m.parameters(), lr=0.1), batch_size=40,
                 callbacks=[rec2], record_grad_norms=True, max_grad_norm=1e-3)
    t2.fit(X, y, epochs=1)
    clipped_total = np.sqrt(sum(v ** 2 for v in rec2.grad_norms[0].values()))
    assert clipped_total == pytest.approx(1e-3, rel=1e-3)
    assert rec2.steps[0].grad_norm_total > 10 * clipped_total



def test_step_records_cost_nothing_unless_asked():
    X, y = data()
    m, t = model_and_trainer(callbacks=[Callback()])
    t.fit(X, y, epochs=1)
    assert t.last_step is None and t.global_step > 0
    m, t = model_and_trainer(record_grad_norms=False, callbacks=[Recorder()])
    t.fit(X, y, epochs=1)
    assert t.last_step.grad_norms is None and t.last_step.grad_norm_total is None


def test_histograms_of_parameters_and_activations_with_fixed_edges():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    manual_seed(0)
    m = nn.Sequential(nn.Linear(3, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))
    snapshots = []

    class Snap(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            snapshots.append(trainer.model.state_dict())

    t = Trainer(m, F.cross_entropy, optim.Adam(m.parameters(), lr=0.05), batch_size=32,
                callbacks=[Snap()], record_histograms=True, histogram_bins=20)
    Xv, yv = X[:280], y[:280]
    t.fit(X, y, epochs=3, validation=(Xv, yv))
    records = t.epoch_records
    names = [n for n, _ in m.named_parameters()]
    for r, state in zip(records, snapshots):
        assert list(r.param_histograms) == names
        for name, h in r.param_histograms.items():
            assert h.edges.shape == (21,) and h.counts.sum() == state[name].size
            np.testing.assert_array_equal(h.edges, records[0].param_histograms[name].edges)
            v = state[name].astype(np.float64)
            expected = np.histogram(np.clip(v, h.edges[0], h.edges[-1]), h.edges)[0]
            np.testing.assert_array_equal(h.counts, expected)
        assert list(r.activation_histograms) == ["0", "1", "2", "3"]
    # the probe: 256 evenly spaced validation samples, eval mode
    probe = Xv[np.round(np.linspace(0, len(Xv) - 1, 256)).astype(int)]
    m.eval()
    out, acts = m.forward_with_activations(Tensor(probe))
    last = records[-1].activation_histograms
    for name, a in acts.items():
        expected = histogram(a, last[name].edges)
        np.testing.assert_array_equal(last[name].counts, expected.counts)
        assert last[name].counts.sum() == 256 * a.shape[1]
    # edges are fixed per tensor but each record owns its arrays
    e1, e3 = records[0].activation_histograms["0"].edges, last["0"].edges
    np.testing.assert_array_equal(e1, e3)
    assert not np.shares_memory(e1, e3)


def test_histogram_edges_per_epoch_follow_each_epochs_values():
    """histogram_edges="per_epoch": every histogram's edges are nice_edges of its own
    values (nothing clipped), while "fixed" keeps the first epoch's edges."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((200, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    snapshots = []

    class Snap(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            snapshots.append(trainer.model.state_dict())

    manual_seed(0)
    m = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 2))
    t = Trainer(m, F.cross_entropy, optim.SGD(m.parameters(), lr=2.0), batch_size=16,
                callbacks=[Snap()], record_histograms=True, histogram_bins=10,
                histogram_edges="per_epoch")
    t.fit(X, y, epochs=3)
    assert t._edges == {}  # nothing cached, nothing saved in checkpoints
    changed = False
    for r, state in zip(t.epoch_records, snapshots):
        for name, h in r.param_histograms.items():
            v = state[name]
            np.testing.assert_array_equal(h.edges, nice_edges(v, 10))
            assert h.edges[0] <= v.min() and v.max() <= h.edges[-1]
            changed |= not np.array_equal(h.edges, t.epoch_records[0].param_histograms[name].edges)
    assert changed  # lr=2 moves the weights out of the first epoch's range


def test_histogram_edges_must_be_a_known_mode():
    m = nn.Sequential(nn.Linear(3, 2))
    with pytest.raises(ValueError, match="histogram_edges must be one of fixed, per_epoch"):
        Trainer(m, F.cross_entropy, optim.SGD(m.parameters(), lr=0.1), histogram_edges="x")


def test_histogram_freq_records_every_kth_epoch_and_the_first_and_last():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((100, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    manual_seed(0)
    m = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    t = Trainer(m, F.cross_entropy, optim.SGD(m.parameters(), lr=0.1), batch_size=50,
                record_histograms=True, histogram_freq=3)
    t.fit(X, y, epochs=8)
    with_hist = [r.epoch for r in t.epoch_records if r.param_histograms]
    assert with_hist == [1, 3, 6, 8]  # first, multiples of 3, last
    # what recording them cost is measured where they were recorded, 0 elsewhere
    assert all((r.histogram_seconds > 0) == bool(r.param_histograms) for r in t.epoch_records)
    assert all(bool(r.activation_histograms) == bool(r.param_histograms)
               for r in t.epoch_records)
    t.histogram_freq = 1  # may change between fits (or epochs)
    t.fit(X, y, epochs=2)
    assert [r.epoch for r in t.epoch_records[8:] if r.param_histograms] == [9, 10]
    with pytest.raises(ValueError, match="histogram_freq"):
        Trainer(m, F.cross_entropy, optim.SGD(m.parameters(), lr=0.1), histogram_freq=0)


def test_models_without_forward_with_activations_get_parameter_histograms_only():
    class Wrapped(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))

        def forward(self, x):
            return self.net(x)

    manual_seed(0)
    m = Wrapped()
    t = Trainer(m, F.cross_entropy, optim.SGD(m.parameters(), lr=0.1), batch_size=8,
                record_histograms=True)
    X, y = data()
    t.fit(X, y, epochs=1)  # no validation: the probe comes from the training data
    r = t.epoch_records[-1]
    assert r.activation_histograms == {} and list(r.param_histograms) == [
        "net.0.weight", "net.0.bias", "net.2.weight", "net.2.bias"]
    assert r.confusion_matrix is None


def test_records_hold_copies():
    X, y = data(n=60)
    m, t = model_and_trainer(record_histograms=True, callbacks=[Recorder()])
    t.fit(X, y, epochs=2, validation=(X, y))
    r1, r2 = t.epoch_records
    saved = (dict(r1.logs), r1.confusion_matrix.copy(),
             {k: h.counts.copy() for k, h in r1.param_histograms.items()})
    r1.logs["loss"] = -1.0
    assert t.history[0]["loss"] == saved[0]["loss"] and t.history[0] is not r1.logs
    r1.logs["loss"] = saved[0]["loss"]
    # one confusion matrix per epoch (at 10,000 classes a copy is 800 MB): the trainer's
    # is the latest record's, read only
    assert not t.confusion_matrix.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        t.confusion_matrix[...] = -1
    assert r2.confusion_matrix.min() >= 0
    assert not np.shares_memory(r2.per_class_accuracy, t.per_class_accuracy)
    t.fit(X, y, epochs=2, validation=(X, y))  # training on changes nothing recorded
    assert r1.logs == saved[0]
    np.testing.assert_array_equal(r1.confusion_matrix, saved[1])
    for k, counts in saved[2].items():
        np.testing.assert_array_equal(r1.param_histograms[k].counts, counts)
        for p in m.parameters():
            assert not np.shares_memory(r1.param_histograms[k].edges, p.data)


# =========================================================================== divergence
def test_inf_weight_in_the_second_layer_names_that_node():
    manual_seed(0)
    m = nn.Sequential(nn.Linear(3, 8), nn.Linear(8, 2))
    m[1].weight.data[0, 0] = np.inf
    t = Trainer(m, F.cross_entropy, optim.SGD(m.parameters(), lr=0.1), batch_size=8)
    with np.errstate(all="ignore"), pytest.raises(TrainingError) as info:
        t.fit(*data(), epochs=1)
    msg = str(info.value)
    assert "at epoch 1, batch 1" in msg
    assert "first node whose output is not finite is '1' (Linear)" in msg
    assert "parameter '1.weight' already holds NaN or infinity" in msg
    assert info.value.node == "1" and info.value.parameters == ("1.weight",)
    assert (info.value.epoch, info.value.batch) == (1, 1)


def test_overflow_in_the_first_node_with_finite_parameters():
    manual_seed(0)
    m = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 2))
    m[0].weight.data[...] = 3e38
    t = Trainer(m, F.cross_entropy, optim.SGD(m.parameters(), lr=0.1), batch_size=8)
    with np.errstate(all="ignore"), pytest.raises(TrainingError) as info:
        t.fit(*data(), epochs=1)
    assert info.value.node == "0" and info.value.parameters == ()
    assert "already hold" not in str(info.value) and "'0' (Linear)" in str(info.value)


def test_loss_overflow_with_finite_activations_says_so():
    manual_seed(0)
    m = nn.Sequential(nn.Linear(3, 1))
    X, _ = data()
    y = np.full((len(X), 1), 1e30, np.float32)  # finite targets whose square overflows
    t = Trainer(m, F.mse_loss, optim.SGD(m.parameters(), lr=0.1), classification=False)
    with np.errstate(all="ignore"), pytest.raises(TrainingError,
                                                  match="every node's output is finite"):
        t.fit(X, y, epochs=1)


def test_diagnosis_draws_no_random_numbers_and_restores_buffers():
    class NoActivations(nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            return self.inner(x)

    states, buffers = [], []
    for wrap in (False, True):
        g = np.random.default_rng(5)
        manual_seed(0)
        m = nn.Sequential(nn.Linear(3, 8), nn.BatchNorm1d(8), nn.Dropout(0.5, generator=g),
                          nn.Linear(8, 2))
        m[3].weight.data[0, 0] = np.nan
        model = NoActivations(m) if wrap else m
        t = Trainer(model, F.cross_entropy, optim.SGD(m.parameters()), batch_size=8, generator=g)
        with np.errstate(all="ignore"), pytest.raises(TrainingError) as info:
            t.fit(*data(), epochs=1)
        assert (info.value.node == "3") != wrap
        states.append(g.bit_generator.state)
        buffers.append(m[1].running_mean.copy())
    assert states[0] == states[1]
    np.testing.assert_array_equal(buffers[0], 0.0)
    np.testing.assert_array_equal(buffers[1], 0.0)


# =========================================================================== stop and pause
def run_in_thread(fn):
    result = {}

    def target():
        try:
            result["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - handed to the test
            result["error"] = e

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, result


def finish(thread, result):
    thread.join(WAIT)
    assert not thread.is_alive(), "fit did not return"
    if "error" in result:
        raise result["error"]
    return result.get("value")


def test_stop_request_is_honoured_within_one_batch_and_ends_normally():
    X, y = data(n=80)
    es = EarlyStopping(patience=100)

    class StopAt(Recorder):
        def on_batch_end(self, trainer, record):
            super().on_batch_end(trainer, record)
            if record.epoch == 3 and record.batch == 2:
                trainer.request_stop()

    rec = StopAt()
    m, t = model_and_trainer(callbacks=[es, rec])
    history = t.fit(X, y, epochs=10, validation=(X, y))
    assert t.stopped_by_request and not t.stop_requested
    assert len(history) == 3 and rec.steps[-1].epoch == 3 and rec.steps[-1].batch == 2
    last = t.epoch_records[-1]
    assert not last.complete and last.batches == 2 and t.epoch_records[0].complete
    assert rec.calls[-1] == "end" and ("epoch", 3) in rec.calls
    # EarlyStopping restored the best epoch's weights
    best = es.best_state
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v, best[k])
    # the request is cleared: the next fit trains
    assert len(t.fit(X, y, epochs=1, validation=(X, y))) == 4 and not t.stopped_by_request


def test_stop_requested_before_fit_trains_nothing():
    m, t = model_and_trainer()
    before = m.state_dict()
    t.request_stop()
    assert t.fit(*data(), epochs=3) == [] and t.stopped_by_request
    np.testing.assert_array_equal(m.state_dict()["0.weight"], before["0.weight"])
    assert len(t.fit(*data(), epochs=1)) == 1


def test_pause_blocks_between_batches_without_busy_waiting_then_resume():
    X, y = data(n=80)
    paused = threading.Event()

    class PauseAt(Callback):
        def on_batch_end(self, trainer, record):
            if record.step == 3:
                trainer.pause()
                paused.set()

    m, t = model_and_trainer(callbacks=[PauseAt()])
    thread, result = run_in_thread(lambda: t.fit(X, y, epochs=2))
    assert paused.wait(WAIT)
    cpu = time.process_time()
    time.sleep(0.3)
    assert thread.is_alive() and t.paused and t.global_step == 3
    assert time.process_time() - cpu < 0.15  # waiting on an Event, not spinning
    t.resume()
    history = finish(thread, result)
    assert len(history) == 2 and not t.stopped_by_request
    assert t.global_step == 2 * len(nncore_batches(80, 8))


def test_stop_releases_a_paused_fit():
    X, y = data(n=80)
    paused = threading.Event()
    es = EarlyStopping(monitor="loss", patience=100)

    class PauseAt(Callback):
        def on_batch_end(self, trainer, record):
            if record.step == 3:
                trainer.pause()
                paused.set()

    m, t = model_and_trainer(callbacks=[PauseAt(), es])
    thread, result = run_in_thread(lambda: t.fit(X, y, epochs=5))
    assert paused.wait(WAIT)
    t.request_stop()
    history = finish(thread, result)
    assert t.stopped_by_request and t.global_step == 3 and len(history) == 1
    assert t.epoch_records[-1].batches == 3 and not t.paused
    assert es.best_epoch == 1


def test_pause_before_fit_waits_for_resume_from_another_thread():
    m, t = model_and_trainer()
    t.pause()
    thread, result = run_in_thread(lambda: t.fit(*data(), epochs=1))
    time.sleep(0.1)
    assert thread.is_alive() and t.global_step == 0
    timer = threading.Timer(0.05, t.resume)
    timer.start()
    assert len(finish(thread, result)) == 1
    timer.join(WAIT)


def test_grad_norms_of_huge_float32_gradients_do_not_overflow():
    """Norms are dot products in float32 (fast, after every batch); a float32 overflow
    (a norm above ~1.8e19, an exploding run) is redone in float64, not shown as inf."""
    from nncore.training.trainer import _grad_norms

    p = nn.Parameter(np.zeros(4, dtype=np.float32))
    p.grad = np.full(4, 1e20, dtype=np.float32)
    q = nn.Parameter(np.zeros(3, dtype=np.float32))
    q.grad = np.array([3.0, 4.0, 0.0], dtype=np.float32)
    norms, total = _grad_norms([("p", p), ("q", q), ("r", nn.Parameter(np.zeros(2)))])
    assert norms["p"] == pytest.approx(2e20, rel=1e-6) and norms["q"] == pytest.approx(5.0)
    assert norms["r"] == 0.0 and total == pytest.approx(2e20, rel=1e-6)
    p.grad[0] = np.inf  # a real inf stays inf
    assert _grad_norms([("p", p)])[0]["p"] == np.inf



def test_on_pause_is_called_before_fit_waits():
    """A pause taking hold calls every callback's on_pause in the training thread (the
    app's worker hands over what it collected there); here the callback itself resumes."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    m = nn.Sequential(nn.Linear(3, 2))

    class Resumer(Callback):
        def __init__(self) -> None:
            self.pauses: list[int] = []

        def on_pause(self, trainer) -> None:
            self.pauses.append(trainer.global_step)
            trainer.resume()

    cb = Resumer()
    t = Trainer(m, F.cross_entropy, optim.SGD(m.parameters(), lr=0.1), batch_size=10,
                callbacks=[cb])
    t.pause()
    t.fit(X, y, epochs=2)
    assert cb.pauses == [0] and t.global_step == 8


def test_a_divergence_with_a_huge_weight_decay_says_so():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    manual_seed(0)
    m = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 2))
    t = Trainer(m, F.cross_entropy, optim.SGD(m.parameters(), lr=0.1, weight_decay=1e12),
                batch_size=10)
    with np.errstate(all="ignore"), \
            pytest.raises(TrainingError, match=r"much smaller weight decay \(it is 1e\+12\)"):
        t.fit(X, y, epochs=5)
