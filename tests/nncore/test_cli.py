"""The `nncore` command line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from nncore.cli import main


def test_demo_trains_and_reports(capsys):
    assert main(["demo", "--dataset", "iris", "--epochs", "3", "--hidden", "16"]) == 0
    out = capsys.readouterr().out
    assert "iris: 120 training and 30 validation samples, 4 features, 3 classes" in out
    assert "optimizer Adam lr=0.001 weight_decay=0" in out
    assert out.count("ms\n") == 3 and "final validation accuracy" in out


def test_explicit_zero_learning_rate_is_respected(capsys):
    assert main(["demo", "--dataset", "iris", "--epochs", "2", "--optimizer", "sgd", "--lr", "0",
                 "--no-batchnorm"]) == 0
    out = capsys.readouterr().out
    assert "optimizer SGD lr=0 " in out
    val_losses = [line.split()[3] for line in out.splitlines() if line.endswith("ms")]
    assert len(val_losses) == 2 and val_losses[0] == val_losses[1]  # nothing moves with lr 0


def test_adamw_uses_pytorch_default_decay_and_patience_restores(capsys):
    assert main(["demo", "--dataset", "wine", "--optimizer", "adamw", "--epochs", "40",
                 "--patience", "1", "--lr", "0.05"]) == 0
    out = capsys.readouterr().out
    assert "AdamW lr=0.05 weight_decay=0.01" in out
    assert "restored)" in out


@pytest.mark.parametrize("args,message", [
    (["--lr", "-1"], "--lr must be a finite number >= 0, got -1"),
    (["--lr", "nan"], "--lr must be a finite number >= 0, got nan"),
    (["--seed", "-5"], "--seed must be a finite number >= 0"),
    (["--epochs", "0"], "--epochs must be a finite number >= 1"),
    (["--hidden", "2.5"], "--hidden must be an integer"),
    (["--max-grad-norm", "0"], "--max-grad-norm must be a finite number > 0"),
    (["--optimizer", "lbfgs"], "invalid choice: 'lbfgs'"),
])
def test_bad_options_exit_2_with_a_message(capsys, args, message):
    with pytest.raises(SystemExit) as e:
        main(["demo", *args])
    assert e.value.code == 2
    assert message in capsys.readouterr().err


def test_diverging_training_exits_1_without_traceback():
    proc = subprocess.run([sys.executable, "-m", "nncore", "demo", "--dataset", "iris",
                           "--optimizer", "sgd", "--lr", "1e30", "--epochs", "5"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "nncore demo: training stopped: the loss became" in proc.stderr
    assert "Traceback" not in proc.stderr and "RuntimeWarning" not in proc.stderr


def test_version():
    proc = subprocess.run([sys.executable, "-m", "nncore", "--version"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.startswith("nncore ")


def test_module_docstring_names_exactly_the_parsers_subcommands():
    # The docstring is the command's first documentation: it must not announce a
    # subcommand that does not exist, nor miss one.
    import re

    import nncore.cli as cli
    sub = next(a for a in cli.build_parser()._actions
               if a.__class__.__name__ == "_SubParsersAction")
    announced = set(re.findall(r"``nncore (\w+)", cli.__doc__))
    assert announced == set(sub.choices) == {"demo", "check", "train", "predict", "export"}
