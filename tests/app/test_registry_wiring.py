"""A new optimizer, schedule or metric is one declaration: registered (here, for the
test, and removed afterwards), it appears in the `nncore` command's choices, the
project settings accept it with its arguments range-checked, and the training panel
offers it with its argument editors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox, QLineEdit, QSpinBox

from nncore import optim
from nncore.cli import build_parser, main
from nncore.project.settings import SettingsError, TrainingSettings
from nncore.metrics import METRICS, Metric, register_metric
from nncore.optim import OPTIMIZERS, SCHEDULES, OptimizerInfo, ScheduleInfo
from nncore.optim.registry import lr, register_optimizer, register_schedule
from nncore.spec import ParamSpec
from nncore.training import EarlyStopping

EXAMPLE = Path(__file__).resolve().parents[2] / "app" / "resources" / "examples" / "iris_sigmoid.json"


class Toy(optim.Optimizer):
    """A toy optimizer: ``p -= lr * shrink * g``."""

    def __init__(self, params, lr=0.1, shrink=0.5, steps=3, *, jitter=False):
        super().__init__(params, dict(lr=lr, shrink=shrink, steps=steps, jitter=jitter))

    def step(self, closure=None):
        loss = self._evaluate(closure)
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.data -= group["lr"] * group["shrink"] * p.grad
        return loss


TOY = OptimizerInfo(
    "toy", Toy, "Toy descent",
    (lr(0.1),
     ParamSpec("shrink", "float", 0.5, "Shrinks the step", label="Shrink", minimum=0.0,
               maximum=1.0),
     ParamSpec("steps", "int", 3, "Steps of nothing", label="Steps", minimum=1, maximum=10),
     ParamSpec("jitter", "bool", False, "Jitters nothing", label="Jitter")),
    "A toy of the test", "Nobody, 'A toy' (2024)")


@pytest.fixture
def toy_optimizer():
    register_optimizer(TOY)
    yield TOY
    OPTIMIZERS.unregister("toy")


@pytest.fixture
def toy_metric():
    metric = register_metric(Metric("toy_score", "Toy score", "max", "A metric of the test"))
    yield metric
    METRICS.unregister("toy_score")


@pytest.fixture
def make_panel(make_training_panel):
    return make_training_panel


def _choices(command):
    sub = next(a for a in build_parser()._actions if a.dest == "command").choices[command]
    return next(a for a in sub._actions if "--optimizer" in a.option_strings).choices


def _choose(combo, data):
    index = combo.findData(data)
    assert index >= 0, data
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


def _type(edit, text):
    edit.setFocus()
    edit.selectAll()
    QTest.keyClicks(edit, text)
    QTest.keyClick(edit, Qt.Key_Return)


def _training(panel):
    return panel.document.graph.settings["training"]


def test_a_new_optimizer_is_one_declaration(toy_optimizer, make_panel, capsys):
    # the command line
    assert "toy" in _choices("train") and "toy" in _choices("demo")
    assert main(["train", str(EXAMPLE), "--optimizer", "toy", "--optimizer-option",
                 "shrink=0.25", "--epochs", "1"]) == 0
    assert "Toy lr=0.1" in capsys.readouterr().out
    assert main(["train", str(EXAMPLE), "--optimizer", "toy", "--optimizer-option",
                 "steps=11", "--epochs", "1"]) == 1
    assert "training.optimizer_options.steps must be in [1, 10], got 11" in capsys.readouterr().err

    # the settings: accepted, built, and every argument range-checked by its spec
    s = TrainingSettings.from_dict({"optimizer": "toy", "optimizer_options": {"shrink": 0.25}})
    from nncore import nn
    opt = s.make_optimizer(nn.Sequential(nn.Linear(2, 2)))
    assert type(opt) is Toy
    assert {k: opt.param_groups[0][k] for k in ("lr", "shrink", "steps", "jitter")} == {
        "lr": 0.1, "shrink": 0.25, "steps": 3, "jitter": False}
    for options, path, reason in [({"shrink": 1.5}, "shrink", "must be in [0, 1], got 1.5"),
                                  ({"steps": 0}, "steps", "must be in [1, 10], got 0"),
                                  ({"jitter": "yes"}, "jitter", "must be true or false"),
                                  ({"momentum": 0.9}, "", "Toy descent has no setting")]:
        with pytest.raises(SettingsError) as e:
            TrainingSettings.from_dict({"optimizer": "toy", "optimizer_options": options})
        assert e.value.path == "training.optimizer_options" + (f".{path}" if path else "")
        assert reason in e.value.reason

    # the training panel: in the combo, with one editor per argument, of the spec's kind
    panel = make_panel()
    combo = panel.optimizer_combo
    assert combo.itemText(combo.findData("toy")) == "Toy descent"
    assert "A toy of the test" in combo.itemData(combo.findData("toy"), Qt.ItemDataRole.ToolTipRole)
    _choose(combo, "toy")
    assert _training(panel)["optimizer"] == "toy"
    panel.refresh_now()
    assert panel.shown_optimizer_options() == {"lr": 0.1, "shrink": 0.5, "steps": 3,
                                               "jitter": False}
    editors = panel.opt_editors
    assert isinstance(editors["lr"], QLineEdit)
    assert isinstance(editors["shrink"], QDoubleSpinBox)
    assert (editors["shrink"].minimum(), editors["shrink"].maximum()) == (0.0, 1.0)
    assert isinstance(editors["steps"], QSpinBox)
    assert (editors["steps"].minimum(), editors["steps"].maximum()) == (1, 10)
    assert isinstance(editors["jitter"], QCheckBox) and editors["jitter"].text() == "Jitter"
    for key in ("lr", "shrink", "steps", "jitter"):
        assert editors[key].isVisibleTo(panel), key
    assert panel.opt_labels["shrink"].text().startswith("Shrink")
    assert "Shrinks the step" in editors["shrink"].toolTip()
    assert "Toy descent" in editors["shrink"].toolTip()
    assert not editors["betas"][0].isVisibleTo(panel)
    assert not panel.decay_check.isVisibleTo(panel)  # the toy has no weight decay
    editors["shrink"].setValue(0.25)
    editors["steps"].setValue(7)
    editors["jitter"].click()
    _type(editors["lr"], "0.05")
    assert _training(panel)["optimizer_options"] == {"shrink": 0.25, "steps": 7,
                                                     "jitter": True, "lr": 0.05}
    assert panel.document.undo_stack.text(1) == "Shrink: 0.5 → 0.25"
    _type(editors["lr"], "-1")  # refused by the spec, named in the panel
    assert "lr must be >= 0" in panel.optimizer_error_label.text()
    assert _training(panel)["optimizer_options"]["lr"] == 0.05


def test_a_new_schedule_is_one_declaration(make_panel):
    info = register_schedule(ScheduleInfo(
        "toy_exp", optim.ExponentialLR, "Toy exponential",
        (ParamSpec("gamma", "float", 0.5, "Toy factor", label="Gamma", minimum=0.0,
                   exclusive_min=True),),
        "A toy schedule of the test"))
    try:
        s = TrainingSettings.from_dict({"schedule": {"type": "toy_exp"}})
        sched = s.make_scheduler(optim.SGD([_param()], lr=1.0))
        assert type(sched) is optim.ExponentialLR and sched.gamma == 0.5
        with pytest.raises(SettingsError, match=r"training\.schedule\.gamma must be > 0"):
            TrainingSettings.from_dict({"schedule": {"type": "toy_exp", "gamma": 0}})
        panel = make_panel()
        combo = panel.schedule_combo
        assert combo.itemText(combo.findData("toy_exp")) == "Toy exponential"
        _choose(combo, "toy_exp")
        panel.refresh_now()
        shown = {k for k, w in panel.schedule_editors.items() if w.isVisibleTo(panel)}
        assert shown == {"gamma"}
        assert panel.schedule_editors["gamma"].text() == "0.5"
        assert "Toy factor" in panel.schedule_editors["gamma"].toolTip()
        _type(panel.schedule_editors["gamma"], "0.25")
        assert _training(panel)["schedule"] == {"type": "toy_exp", "gamma": 0.25}
    finally:
        SCHEDULES.unregister(info.name)


def _param():
    from nncore import nn
    return nn.Parameter(np.zeros(2))


def test_a_new_metric_is_one_declaration(toy_metric, make_panel):
    assert EarlyStopping(monitor="val_toy_score").mode == "max"
    s = TrainingSettings.from_dict({"early_stopping": {"monitor": "val_toy_score"}})
    assert s.early_stopping["mode"] == "max" and s.make_early_stopping().mode == "max"
    with pytest.raises(SettingsError, match="would keep the worst val_toy_score: use max"):
        TrainingSettings.from_dict({"early_stopping": {"monitor": "val_toy_score",
                                                       "mode": "min"}})
    panel = make_panel()
    monitors = [panel.es_monitor.itemData(i) for i in range(panel.es_monitor.count())]
    assert "val_toy_score" in monitors and "toy_score" in monitors
    tip = panel.es_monitor.itemData(monitors.index("val_toy_score"), Qt.ItemDataRole.ToolTipRole)
    assert "Toy score" in tip and "higher is better" in tip
    panel.es_check.click()
    assert _training(panel)["early_stopping"]["mode"] == "min"  # val_loss
    _choose(panel.es_monitor, "val_toy_score")
    es = _training(panel)["early_stopping"]
    assert es["monitor"] == "val_toy_score" and es["mode"] == "max"


def test_panel_lists_come_from_the_registries(make_panel):
    from nncore.metrics import monitors

    panel = make_panel()
    combo = panel.optimizer_combo
    assert [combo.itemData(i) for i in range(combo.count())] == list(OPTIMIZERS)
    assert [combo.itemText(i) for i in range(combo.count())] == [
        info.title for info in OPTIMIZERS.values()]
    sched = panel.schedule_combo
    assert [sched.itemData(i) for i in range(sched.count())] == [None, *SCHEDULES]
    es = panel.es_monitor
    assert [es.itemData(i) for i in range(es.count())] == list(monitors())
    # every argument of every optimizer has its editor
    keys = {spec.name for info in OPTIMIZERS.values() for spec in info.args}
    assert set(panel.opt_editors) == keys
    assert set(panel.schedule_editors) == {s.name for i in SCHEDULES.values() for s in i.args}
