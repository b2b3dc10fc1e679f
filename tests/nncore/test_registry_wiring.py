"""The project settings and the `nncore` command are generated from the registries of
optimizers, schedules and metrics: what the registry says is what they accept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nncore.cli import build_parser, main
from nncore.project.settings import SettingsError, TrainingSettings
from nncore.metrics import monitors
from nncore.optim import OPTIMIZERS, SCHEDULES

EXAMPLES = Path(__file__).resolve().parents[2] / "app" / "resources" / "examples"


def _choices(parser, command, option):
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    return next(a for a in sub._actions if option in a.option_strings).choices


# ---------------------------------------------------------------------------- settings
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_settings_accept_every_registered_optimizer_and_build_it(name):
    from nncore import nn

    s = TrainingSettings.from_dict({"optimizer": name})
    opt = s.make_optimizer(nn.Sequential(nn.Linear(2, 2)))
    info = OPTIMIZERS[name]
    assert type(opt) is info.cls
    group = opt.param_groups[0]
    for key, value in info.defaults().items():  # the entry's defaults reach the engine
        if key != "weight_decay":
            assert group[key] == (tuple(value) if isinstance(value, list) else value), key
    assert group["weight_decay"] == info.defaults()["weight_decay"]


def test_settings_range_check_optimizer_options_with_the_setting_named():
    with pytest.raises(SettingsError) as e:
        TrainingSettings.from_dict({"optimizer": "adadelta", "optimizer_options": {"rho": 2}})
    assert e.value.path == "training.optimizer_options.rho"
    assert str(e.value) == "training.optimizer_options.rho must be in [0, 1], got 2"
    with pytest.raises(SettingsError, match="Adagrad has no setting 'momentum'"):
        TrainingSettings.from_dict({"optimizer": "adagrad",
                                    "optimizer_options": {"momentum": 0.9}})
    with pytest.raises(SettingsError, match="must be one of sgd, momentum, adagrad"):
        TrainingSettings.from_dict({"optimizer": "lbfgs"})


def test_settings_keep_what_the_file_says_normalized():
    raw = {"optimizer": "adam", "optimizer_options": {"lr": 1, "betas": [0.8, 0.9]},
           "schedule": {"type": "cosine", "T_max": 30.0}}
    s = TrainingSettings.from_dict(raw)
    assert s.optimizer_options == {"lr": 1.0, "betas": (0.8, 0.9)}
    assert s.schedule == {"type": "cosine", "T_max": 30} and type(s.schedule["T_max"]) is int
    d = s.to_dict()
    assert d["optimizer_options"] == {"lr": 1.0, "betas": [0.8, 0.9]}  # no defaults added
    assert TrainingSettings.from_dict(d).to_dict() == d


@pytest.mark.parametrize("kind", list(SCHEDULES))
def test_settings_build_every_registered_schedule_with_its_defaults(kind):
    from nncore import nn

    s = TrainingSettings.from_dict({"schedule": {"type": kind}})
    sched = s.make_scheduler(s.make_optimizer(nn.Sequential(nn.Linear(2, 2))))
    assert type(sched) is SCHEDULES[kind].cls
    for key, value in SCHEDULES[kind].defaults().items():
        attr = {"min_lr": "default_min_lr"}.get(key, key)
        assert getattr(sched, attr) == value, key


def test_settings_range_check_schedule_arguments():
    with pytest.raises(SettingsError) as e:
        TrainingSettings.from_dict({"schedule": {"type": "step", "step_size": 0}})
    assert e.value.path == "training.schedule.step_size"
    assert "must be >= 1, got 0" in str(e.value)
    with pytest.raises(SettingsError, match="the Cosine schedule has no setting 'gamma'"):
        TrainingSettings.from_dict({"schedule": {"type": "cosine", "gamma": 0.5}})


@pytest.mark.parametrize("monitor", monitors())
def test_settings_early_stopping_mode_follows_the_metric(monitor):
    from nncore.metrics import direction

    s = TrainingSettings.from_dict({"early_stopping": {"monitor": monitor}})
    assert s.early_stopping["mode"] == direction(monitor)
    assert s.make_early_stopping().mode == direction(monitor)
    auto = TrainingSettings.from_dict({"early_stopping": {"monitor": monitor, "mode": "auto"}})
    assert auto.early_stopping["mode"] == direction(monitor)


def test_saved_files_with_explicit_modes_load_unchanged():
    for es in ({"monitor": "val_loss", "mode": "min", "patience": 3, "min_delta": 0.0,
                "restore_best_weights": True},
               {"monitor": "val_accuracy", "mode": "max", "patience": 5, "min_delta": 0.0,
                "restore_best_weights": False}):
        s = TrainingSettings.from_dict({"early_stopping": dict(es)})
        assert s.to_dict()["early_stopping"] == es


# ---------------------------------------------------------------------------- command line
def test_cli_optimizer_choices_are_the_registry():
    parser = build_parser()
    assert _choices(parser, "demo", "--optimizer") == OPTIMIZERS.names()
    assert _choices(parser, "train", "--optimizer") == OPTIMIZERS.names()


def test_cli_train_momentum_preset_and_optimizer_options(tmp_path, capsys):
    graph = EXAMPLES / "iris_sigmoid.json"
    out = tmp_path / "m.json"
    assert main(["train", str(graph), "--optimizer", "momentum", "--epochs", "1",
                 "--metrics-out", str(out)]) == 0
    assert "SGD lr=0.001" in capsys.readouterr().out  # SGD, PyTorch's lr, momentum 0.9
    assert main(["train", str(graph), "--optimizer", "adam", "--optimizer-option",
                 "betas=0.8,0.9", "--optimizer-option", "amsgrad=true", "--epochs", "1"]) == 0
    assert json.loads(out.read_text())["history"][0]["epoch"] == 1


@pytest.mark.parametrize("args,message", [
    (["--optimizer", "adam", "--optimizer-option", "rho=0.5"],
     "rho: Adam has no such argument"),
    (["--optimizer", "adadelta", "--optimizer-option", "rho=1.5"],
     "training.optimizer_options.rho must be in [0, 1], got 1.5"),
    (["--optimizer", "sgd", "--optimizer-option", "nesterov=maybe"],
     "'maybe' is not true or false"),
    (["--optimizer-option", "lr"], "needs KEY=VALUE"),
])
def test_cli_refuses_bad_optimizer_options_in_one_line(args, message, capsys):
    assert main(["train", str(EXAMPLES / "iris_sigmoid.json"), "--epochs", "1", *args]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
