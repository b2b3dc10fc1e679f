"""Opening hostile files in the window (issue 9): a project file beyond the limits is
refused within a second with a message box naming the file and the problem, and the
project open before is untouched; a project whose data path is a device, a FIFO or a
kernel file opens at once and says why its data cannot be read; ``--screenshot`` never
waits on a message box."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nncore.graph import dumps

EXAMPLE = Path(__file__).parents[2] / "app" / "resources" / "examples" / "digits_mlp.json"


def base() -> dict:
    return json.loads(EXAMPLE.read_text())


def _file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


BAD_PROJECTS = {
    "digits.json": (lambda: json.dumps(base()).replace('"units": 128', '"units": ' + "9" * 5000),
                    "a whole number of 5,000 digits; the limit is 30"),
    "batch.json": (lambda: json.dumps({**base(), "settings": {"training": {"batch_size": 1e18}}}),
                   "training.batch_size is at most 2,147,483,647"),
    "deep.json": (lambda: json.dumps({**base(), "settings": {**base()["settings"], "x": "N"}})
                  .replace('"N"', "[" * 600 + "]" * 600), "nested more than 32 levels deep"),
    "nan.json": (lambda: json.dumps({**base(), "settings": {**base()["settings"],
                                                            "x": float("nan")}}),
                 "settings.x holds nan, which a project file cannot hold"),
    "name.json": (lambda: json.dumps(base()).replace('"name": "Dense"',
                                                     '"name": "' + "N" * 50_000_000 + '"'),
                  "a project file is 47.7 MiB; the limit is 16 MiB"),
    "nul.json": (lambda: json.dumps({**base(), "settings": {"dataset": {
        "source": "csv", "path": "data\0.csv"}}}), "dataset.path cannot hold a NUL byte"),
    "far.json": (lambda: json.dumps(base()).replace('"position": [280.0, 0.0]',
                                                    '"position": [1e30, 0.0]'),
                 "a position is at most 10,000,000 from the origin"),
}


@pytest.fixture
def opened(window, tmp_path, patch_dialogs):
    """The window with a project of the user's open, and the message boxes collected."""
    own = tmp_path / "mine.json"
    own.write_text(EXAMPLE.read_text())
    assert window.open_file(own)
    _, warned, _ = patch_dialogs(lambda: None)
    return window, own, warned


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", list(BAD_PROJECTS))
def test_a_bad_project_file_is_refused_at_once_and_the_open_project_kept(opened, tmp_path,
                                                                          qtbot, name):
    window, own, warned = opened
    make, problem = BAD_PROJECTS[name]
    path = _file(tmp_path, name, make())
    before = dumps(window.document.graph)
    start = time.perf_counter()
    assert window.open_file(path) is False
    qtbot.wait(10)
    assert time.perf_counter() - start < 1.0
    (text,) = warned
    assert str(path) in text and problem in text, text
    assert len(text) < 400
    assert window.document.path == own.resolve() and dumps(window.document.graph) == before


@pytest.mark.timeout(60)
def test_a_fifo_or_a_device_as_the_project_file_is_refused_at_once(opened, tmp_path, qtbot):
    window, own, warned = opened
    os.mkfifo(tmp_path / "pipe.json")
    for path, problem in ((tmp_path / "pipe.json", "is a FIFO (named pipe), not a regular file"),
                          (Path("/dev/zero"), "cannot be a device or kernel file (in /dev)")):
        start = time.perf_counter()
        assert window.open_file(path) is False
        assert time.perf_counter() - start < 1.0
        assert str(path) in warned[-1] and problem in warned[-1]
    assert window.document.path == own.resolve()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("data", ["fifo", "/dev/zero", "/proc/kmsg"])
def test_a_project_whose_data_is_a_device_or_fifo_opens_at_once_and_says_why(
        window, tmp_path, qtbot, patch_dialogs, data):
    if data == "/proc/kmsg" and not os.path.exists(data):
        pytest.skip("no /proc/kmsg here")
    patch_dialogs(lambda: None)
    if data == "fifo":
        os.mkfifo(tmp_path / "fifo")
    d = base()
    d["settings"]["dataset"] = {"source": "csv", "path": data}
    path = _file(tmp_path, "p.json", json.dumps(d))
    start = time.perf_counter()
    assert window.open_file(path)
    qtbot.wait(50)  # the panel, the inspector and the canvas ask for the data
    assert time.perf_counter() - start < 1.0
    problems = [text for _, text in window.document.project.problems()]
    why = {"fifo": "is a FIFO (named pipe)", "/dev/zero": "cannot be a device or kernel file",
           "/proc/kmsg": "cannot be a device or kernel file"}
    assert any(why[data] in text for text in problems), problems


def test_screenshot_of_a_hostile_file_prints_the_problem_and_exits(tmp_path):
    path = _file(tmp_path, "digits.json", BAD_PROJECTS["digits.json"][0]())
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "app", str(path), "--screenshot",
                           str(tmp_path / "x.png")], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert time.perf_counter() - start < 30
    assert proc.returncode == 1
    assert "a whole number of 5,000 digits; the limit is 30" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "x.png").exists()


_WARN_THEN_OPEN = """
import sys
from PySide6.QtWidgets import QMessageBox
from app.main_window import MainWindow
real_open = MainWindow.open_file
def open_and_warn(self, path):
    QMessageBox.warning(self, "Cannot do that", "something only a person could answer")
    return real_open(self, path)
MainWindow.open_file = open_and_warn
import app.__main__ as entry
sys.exit(entry.main(sys.argv[1:]))
"""


def test_screenshot_never_waits_on_a_message_box(tmp_path):
    """A message box shown in --screenshot mode (none can be clicked offscreen) prints
    its text and makes the exit code 1 instead of waiting. In its own process: the
    entry point sets up the application (message boxes, settings) for good."""
    out = tmp_path / "x.png"
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _WARN_THEN_OPEN, str(EXAMPLE),
                           "--screenshot", str(out)], capture_output=True, text=True,
                          timeout=60, env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
    assert time.perf_counter() - start < 30
    assert proc.returncode == 1, proc.stderr
    assert "nncanvas: Cannot do that: something only a person could answer" in proc.stderr
    assert out.exists()


@pytest.mark.timeout(30)
def test_choosing_a_fifo_as_the_csv_file_does_not_block_the_separator_guess(tmp_path):
    from app.training.data_section import _guess_delimiter

    os.mkfifo(tmp_path / "pipe.csv")
    (tmp_path / "semi.csv").write_text("a;b;c\n1;2;3\n")
    start = time.perf_counter()
    assert _guess_delimiter(tmp_path / "pipe.csv") == ","
    assert _guess_delimiter("/dev/zero") == ","
    assert time.perf_counter() - start < 0.5
    assert _guess_delimiter(tmp_path / "semi.csv") == ";"
