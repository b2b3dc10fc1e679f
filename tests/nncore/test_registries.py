"""The registries of optimizers, schedules and metrics (nncore.optim.registry,
nncore.metrics): each entry is true to its engine class (PyTorch's names, defaults and
ranges), and the callbacks take a metric's direction from the registry."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from nncore import nn, optim
from nncore import functional as F
from nncore.metrics import METRICS, Metric, direction, monitors, register_metric
from nncore.optim import OPTIMIZERS, SCHEDULES
from nncore.optim.registry import all_args
from nncore.registry import Registry
from nncore.spec import SpecError
from nncore.training import EarlyStopping, Trainer


def _signature_defaults(cls):
    return {p.name: p.default for p in inspect.signature(cls.__init__).parameters.values()
            if p.default is not inspect.Parameter.empty}


def _param():
    return [nn.Parameter(np.zeros(3))]


# ---------------------------------------------------------------------------- optimizers
def test_the_optimizers_offered():
    assert OPTIMIZERS.names() == ("sgd", "momentum", "adagrad", "rmsprop", "adadelta",
                                  "adam", "adamw")
    assert [OPTIMIZERS[n].title for n in OPTIMIZERS] == [
        "SGD", "Momentum", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW"]
    for info in OPTIMIZERS.values():
        assert info.help and info.paper and all(s.help for s in info.args), info.name


@pytest.mark.parametrize("name", [n for n in OPTIMIZERS if n != "momentum"])
def test_each_optimizer_declares_exactly_its_constructor_with_pytorch_defaults(name):
    info = OPTIMIZERS[name]
    assert info.defaults() == _signature_defaults(info.cls)
    # the constructor's order (keyword-only ones last)
    assert list(info.defaults()) == list(_signature_defaults(info.cls))


def test_momentum_is_sgd_with_momentum_0_9():
    info = OPTIMIZERS["momentum"]
    assert info.cls is optim.SGD
    assert info.defaults() == {**_signature_defaults(optim.SGD), "momentum": 0.9}
    opt = info.build(_param())
    assert type(opt) is optim.SGD and opt.param_groups[0]["momentum"] == 0.9
    assert OPTIMIZERS["sgd"].build(_param()).param_groups[0]["momentum"] == 0.0


@pytest.mark.parametrize("name,options,path,reason", [
    ("adam", {"betas": [0.5, 1.0]}, "training.optimizer_options.betas[1]",
     "must be in [0, 1), got 1"),
    ("sgd", {"lr": -0.1}, "training.optimizer_options.lr", "must be >= 0, got -0.1"),
    ("rmsprop", {"alpha": -1}, "training.optimizer_options.alpha", "must be >= 0, got -1"),
    ("adadelta", {"rho": 1.5}, "training.optimizer_options.rho", "must be in [0, 1], got 1.5"),
    ("adamw", {"amsgrad": 1}, "training.optimizer_options.amsgrad",
     "must be true or false, got 1"),
])
def test_arguments_are_range_checked_with_the_path(name, options, path, reason):
    with pytest.raises(SpecError) as info:
        OPTIMIZERS[name].validate(options, "training.optimizer_options")
    assert (info.value.path, info.value.reason) == (path, reason)


def test_unknown_argument_names_the_optimizer_and_the_known_ones():
    with pytest.raises(SpecError, match=r"Adagrad has no setting 'betas' \(known: lr, lr_decay"):
        OPTIMIZERS["adagrad"].validate({"betas": (0.9, 0.99)})


def test_build_fills_in_the_entry_defaults_and_the_class_checks_the_rest():
    opt = OPTIMIZERS["adamw"].build(_param(), lr=0.01)
    group = opt.param_groups[0]
    assert type(opt) is optim.AdamW and group["lr"] == 0.01 and group["weight_decay"] == 0.01
    with pytest.raises(ValueError, match="Nesterov momentum requires a momentum"):
        OPTIMIZERS["sgd"].build(_param(), nesterov=True)


def test_an_argument_shared_by_optimizers_has_one_type_and_label():
    """The training panel holds one editor per argument name."""
    first = all_args(OPTIMIZERS)
    for info in OPTIMIZERS.values():
        for spec in info.args:
            assert (spec.type, spec.title) == (first[spec.name].type, first[spec.name].title)
    sgd = OPTIMIZERS["sgd"]  # the first one keeps its order (the others, where they can)
    assert [k for k in first if k in sgd.specs] == [s.name for s in sgd.args]


# ---------------------------------------------------------------------------- schedules
def test_the_schedules_offered_build_with_their_defaults():
    assert SCHEDULES.names() == ("step", "exponential", "cosine", "plateau")
    assert SCHEDULES["cosine"].defaults() == {"T_max": 50, "eta_min": 0.0}
    assert SCHEDULES["step"].defaults() == {"step_size": 10, "gamma": 0.1}
    for info in SCHEDULES.values():
        assert info.title and info.help and all(s.help and s.label for s in info.args)
        params = inspect.signature(info.cls.__init__).parameters
        assert set(info.defaults()) <= set(params), info.name
        for k, v in _signature_defaults(info.cls).items():  # PyTorch's where it has one
            if k in info.defaults():
                assert info.defaults()[k] == v, (info.name, k)
        opt = optim.SGD(_param(), lr=0.1)
        assert type(info.build(opt)) is info.cls


def test_schedule_arguments_are_range_checked():
    with pytest.raises(SpecError) as e:
        SCHEDULES["plateau"].validate({"factor": 1.0}, "training.schedule")
    assert str(e.value) == "training.schedule.factor must be in [0, 1), got 1"
    with pytest.raises(SpecError, match="step_size must be a whole number, got 2.5"):
        SCHEDULES["step"].validate({"step_size": 2.5})


def test_registry_unregister():
    r = Registry("thing")
    r.register("a", 1)
    assert r.unregister("a") == 1 and "a" not in r
    with pytest.raises(KeyError, match="unknown thing 'a'"):
        r.unregister("a")


# ---------------------------------------------------------------------------- metrics
def test_metrics_know_their_direction():
    assert METRICS.names() == ("loss", "accuracy", "mse", "r2")
    assert monitors() == ("val_loss", "val_accuracy", "val_mse", "val_r2",
                          "loss", "accuracy", "mse", "r2")
    assert [direction(m) for m in monitors()] == ["min", "max", "min", "max"] * 2
    # Keras' name rule for names the registry does not know
    assert direction("val_acc") == "max" and direction("val_auc") == "max"
    assert direction("val_top5_accuracy") == "max" and direction("val_mae") == "min"
    with pytest.raises(ValueError, match="direction must be"):
        Metric("x", "X", "up", "")


class _Scripted:
    def __init__(self, values, monitor):
        self.values, self.monitor = values, monitor
        self.model = nn.Linear(1, 1, bias=False).double()
        self.stop_training = False

    def run(self, es):
        es.on_train_begin(self)
        ran = 0
        for epoch, value in enumerate(self.values, 1):
            self.model.weight.data[...] = epoch
            ran = epoch
            es.on_epoch_end(self, epoch, {self.monitor: value})
            if self.stop_training:
                break
        es.on_train_end(self)
        return ran


def test_early_stopping_on_val_accuracy_alone_maximizes_and_keeps_the_best_epoch():
    t = _Scripted([0.5, 0.8, 0.7, 0.6, 0.9], "val_accuracy")
    es = EarlyStopping(monitor="val_accuracy", patience=2)
    assert es.mode == "max"
    assert t.run(es) == 4  # 0.7 and 0.6 do not improve on 0.8
    assert es.best == 0.8 and es.best_epoch == 2
    assert t.model.weight.data[0, 0] == 2.0  # the best (highest) epoch's weights


def test_early_stopping_auto_mode_per_metric_and_explicit_mode_wins():
    assert EarlyStopping().mode == "min"
    assert EarlyStopping(monitor="r2").mode == "max"
    assert EarlyStopping(monitor="val_mse").mode == "min"
    assert EarlyStopping(monitor="val_accuracy", mode="min").mode == "min"
    with pytest.raises(ValueError, match="'auto', 'min' or 'max'"):
        EarlyStopping(mode="up")


def test_reduce_lr_on_plateau_auto_mode_follows_its_monitor():
    opt = optim.SGD(_param(), lr=1.0)
    sched = optim.ReduceLROnPlateau(opt, monitor="val_accuracy", patience=0, factor=0.5)
    assert sched.mode == "max" and sched.monitor == "val_accuracy"
    sched.step(0.5)
    sched.step(0.6)  # higher: better
    assert opt.param_groups[0]["lr"] == 1.0
    sched.step(0.55)
    assert opt.param_groups[0]["lr"] == 0.5
    assert optim.ReduceLROnPlateau(optim.SGD(_param(), lr=1.0)).mode == "min"


def test_trainer_steps_plateau_with_its_monitored_metric():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    model = nn.Sequential(nn.Linear(3, 2, generator=rng))
    opt = optim.SGD(model.parameters(), lr=0.1)
    sched = optim.ReduceLROnPlateau(opt, monitor="val_accuracy")
    seen = []
    sched.step = lambda value: seen.append(value)
    trainer = Trainer(model, F.cross_entropy, opt, batch_size=8, scheduler=sched,
                      generator=rng)
    history = trainer.fit(X[:30], y[:30], 2, validation=(X[30:], y[30:]))
    assert seen == [h["val_accuracy"] for h in history]
    seen.clear()
    history = trainer.fit(X, y, 1)  # no validation: the training accuracy
    assert seen == [history[-1]["accuracy"]]


def test_a_registered_metric_gives_its_direction_to_the_callbacks():
    register_metric(Metric("toy_score", "Toy score", "max", "A metric of the test"))
    try:
        assert "val_toy_score" in monitors() and "toy_score" in monitors()
        assert EarlyStopping(monitor="val_toy_score").mode == "max"
        opt = optim.SGD(_param(), lr=1.0)
        assert optim.ReduceLROnPlateau(opt, monitor="toy_score").mode == "max"
    finally:
        METRICS.unregister("toy_score")
    assert "val_toy_score" not in monitors()
    assert EarlyStopping(monitor="val_toy_score").mode == "min"  # Keras' name rule
