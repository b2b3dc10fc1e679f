"""nncore.spec (ParamSpec, SpecError, validate_all) and nncore.registry (Registry)."""

import numpy as np
import pytest

from nncore.registry import Registry
from nncore.spec import ParamSpec, SpecError, fmt_number, validate_all


def test_int_spec_normalizes_and_refuses():
    units = ParamSpec("units", "int", 16, "neurons", minimum=1, maximum=100)
    assert units.validate(3.0) == 3 and type(units.validate(3.0)) is int
    assert units.validate(np.int64(7)) == 7
    with pytest.raises(SpecError) as info:
        units.validate(0)
    assert str(info.value) == "units must be in [1, 100], got 0"
    assert info.value.path == "units" and info.value.reason == "must be in [1, 100], got 0"
    with pytest.raises(SpecError, match="whole number, got 2.5"):
        units.validate(2.5)
    with pytest.raises(SpecError, match="must be a whole number, got True"):
        units.validate(True)
    with pytest.raises(SpecError, match="got a number of about 5000 digits"):
        units.validate(10 ** 4999)


def test_float_bounds_exclusive_and_one_sided():
    lr = ParamSpec("lr", "float", 1e-3, minimum=0.0, exclusive_min=True, log=True)
    assert lr.validate(1) == 1.0 and type(lr.validate(1)) is float
    with pytest.raises(SpecError, match=r"^training\.lr must be > 0, got 0$"):
        lr.validate(0, "training.lr")
    with pytest.raises(SpecError, match="finite"):
        lr.validate(float("nan"))
    p = ParamSpec("p", "float", 0.5, minimum=0.0, maximum=1.0, exclusive_max=True)
    assert p.range_text() == "in [0, 1)"
    with pytest.raises(SpecError, match=r"in \[0, 1\), got 1$"):
        p.validate(1.0)


def test_floats_choice_bool():
    betas = ParamSpec("betas", "floats", (0.9, 0.999), minimum=0.0, maximum=1.0,
                      exclusive_max=True, length=2)
    assert betas.validate([0.5, 0.25]) == (0.5, 0.25)
    with pytest.raises(SpecError, match=r"betas\[1\] must be in \[0, 1\), got 1$"):
        betas.validate([0.5, 1])
    with pytest.raises(SpecError, match="must be 2 numbers, got 3"):
        betas.validate([0.1, 0.2, 0.3])
    init = ParamSpec("init", "choice", "a", choices=("a", "b"))
    with pytest.raises(SpecError, match="must be one of a, b; got 'c'"):
        init.validate("c")
    with pytest.raises(SpecError, match="one of a, b"):
        init.validate([1])  # unhashable: refused, not a TypeError
    flag = ParamSpec("bias", "bool", True)
    assert flag.validate(np.bool_(False)) is False
    with pytest.raises(SpecError, match="true or false, got 1"):
        flag.validate(1)


def test_validate_all_fills_defaults_and_names_unknown():
    specs = (ParamSpec("a", "int", 1, minimum=0), ParamSpec("b", "float", 0.5))
    assert validate_all(specs, {"b": 2}) == {"a": 1, "b": 2.0}
    with pytest.raises(SpecError) as info:
        validate_all(specs, {"c": 1}, "training.optimizer_options", "Adam")
    assert str(info.value) == ("training.optimizer_options Adam has no setting 'c' "
                               "(known: a, b)")
    with pytest.raises(SpecError, match=r"^x\.a must be >= 0, got -1$"):
        validate_all(specs, {"a": -1}, "x")
    with pytest.raises(SpecError, match="must be an object"):
        validate_all(specs, [1, 2], "x")


def test_spec_error_within_and_describe():
    e = SpecError("must be > 0, got -1", "lr").within("training.optimizer_options")
    assert e.path == "training.optimizer_options.lr"
    assert str(e) == "training.optimizer_options.lr must be > 0, got -1"
    spec = ParamSpec("noise", "float", 0.1, "Gaussian noise", minimum=0, maximum=1)
    assert spec.describe() == "Gaussian noise; in [0, 1]; default 0.1"
    assert fmt_number(100000.0) == "100000" and fmt_number(0.001) == "0.001"
    with pytest.raises(ValueError, match="type must be one of"):
        ParamSpec("x", "text", "")


def test_registry_lookup_order_and_errors():
    reg: Registry[int] = Registry("optimizer")
    reg.register("sgd", 1)

    @reg.register("adam")
    def adam():  # the decorator form returns what it decorates
        return 2

    assert reg.names() == ("sgd", "adam") and list(reg) == ["sgd", "adam"]
    assert reg["adam"] is adam and "sgd" in reg and len(reg) == 2
    assert [] not in reg  # unhashable: simply not a member
    with pytest.raises(KeyError, match="unknown optimizer 'adamax'; known: sgd, adam"):
        reg["adamax"]
    assert reg.get("adamax", 5) == 5
    with pytest.raises(ValueError, match="registered twice"):
        reg.register("sgd", 3)


def test_validate_all_names_every_unknown_setting_and_an_empty_set():
    specs = (ParamSpec("a", "int", 1), ParamSpec("b", "float", 0.5))
    with pytest.raises(SpecError) as info:
        validate_all(specs, {"x": 1, "a": 2, "y": 3}, "dataset.options", "Two moons")
    assert str(info.value) == ("dataset.options Two moons has no settings 'x', 'y' "
                               "(known: a, b)")
    with pytest.raises(SpecError) as info:
        validate_all((), {"seed": 1}, "", "Iris flowers")
    assert str(info.value) == "Iris flowers has no setting 'seed' (it takes none)"
    assert validate_all((), {}) == {}


def test_step_is_an_editor_hint_that_validation_ignores():
    noise = ParamSpec("noise", "float", 0.1, minimum=0.0, maximum=1.0, step=0.05)
    assert noise.step == 0.05 and ParamSpec("x", "float", 0.0).step is None
    assert noise.validate(0.12) == 0.12  # not a multiple of the step: still valid
    assert noise.with_(step=0.1).step == 0.1
