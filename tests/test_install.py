"""NN Canvas installs: a wheel built from this tree, installed into a fresh virtual
environment, starts ``nncanvas`` on the digits example from anywhere, with nothing
from the source tree (the examples ship as package data, found with importlib.resources).

The fresh environment gets no packages from the index: its dependencies (NumPy,
PySide6, ...) are the test environment's, put on its path by a ``.pth`` line. (A venv
made with ``--system-site-packages`` would see the base interpreter's packages, not the
test venv's.) That directory's own ``.pth`` files, among them the editable install of
this tree, are not run, so ``app`` and ``nncore`` can only come from the wheel.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Not part of a build: environments, caches, earlier builds, version control.
IGNORED = (".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache",
           ".hypothesis", "out")

pytestmark = pytest.mark.slow


def _run(cmd, **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                          timeout=kwargs.pop("timeout", 300), **kwargs)
    assert proc.returncode == 0, f"{cmd} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel of a copy of this tree (a build writes into its source folder)."""
    work = tmp_path_factory.mktemp("build")
    src = work / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(*IGNORED))
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
          "--no-index", "-q", "-w", work / "dist", src], cwd=work)
    (found,) = (work / "dist").glob("nncanvas-*.whl")
    return found


@pytest.fixture(scope="module")
def fresh_venv(wheel, tmp_path_factory) -> Path:
    """A new venv with the wheel installed (no dependencies: those of the test venv)."""
    venv = tmp_path_factory.mktemp("venv") / "env"
    _run([sys.executable, "-m", "venv", "--without-pip", venv])
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps",
          "--no-index", "-q", wheel])
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
                .stdout.strip())
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "_test_deps.pth").write_text("\n".join(sorted(deps)) + "\n")
    return venv


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path / "config"),
               HOME=str(tmp_path / "home"))
    return env


def test_the_wheel_ships_the_examples_and_no_source_tree_folders(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    examples = sorted(n for n in names if n.startswith("app/resources/examples/"))
    expected = sorted(f"app/resources/examples/{p.name}"
                      for p in (ROOT / "app" / "resources" / "examples").glob("*.json"))
    assert examples == expected and "app/resources/examples/digits_mlp.json" in examples
    assert "app/resources/__init__.py" in names and "nncore/cli.py" in names
    tops = {n.split("/")[0] for n in names}
    assert tops == {"app", "nncore", "nncanvas-0.1.0.dist-info"}, tops
    entry_points = zipfile.ZipFile(wheel).read("nncanvas-0.1.0.dist-info/entry_points.txt")
    assert b"nncanvas = app.__main__:main" in entry_points


def test_installed_nncanvas_opens_the_digits_example_outside_the_tree(fresh_venv, tmp_path):
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    shot = cwd / "shot.png"
    proc = subprocess.run([fresh_venv / "bin" / "nncanvas", "--screenshot", shot,
                           "--size", "900x600"], cwd=cwd, env=_env(tmp_path),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "cannot open" not in proc.stderr
    from PySide6.QtGui import QImage

    image = QImage(str(shot))
    assert (image.width(), image.height()) == (900, 600)


def test_installed_window_shows_the_installed_example(fresh_venv, tmp_path):
    """What ``nncanvas --screenshot`` opened, seen from inside the installed app."""
    probe = textwrap.dedent("""
        import sys
        import app.main_window as main_window
        grab = main_window.MainWindow.grab
        def watched(self, *args):
            import app, nncore
            from app.resources import examples_dir
            print("title:", self.windowTitle())
            print("nodes:", len(self.document.graph))
            print("example:", self.document.example, self.document.path)
            print("app:", app.__file__)
            print("nncore:", nncore.__file__)
            print("examples:", examples_dir())
            print("path:", *sys.path, sep="\\n  ")
            return grab(self, *args)
        main_window.MainWindow.grab = watched
        from app.__main__ import main
        sys.exit(main(sys.argv[1:]))
    """)
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    proc = subprocess.run([fresh_venv / "bin" / "python", "-I", "-c", probe,
                           "--screenshot", cwd / "shot.png"], cwd=cwd, env=_env(tmp_path),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    lines = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
    assert lines["title"] == "digits_mlp (example)[*] — NN Canvas", out
    assert lines["nodes"] == "6" and lines["example"] == "digits_mlp None", out
    site = Path(fresh_venv).resolve()
    for key in ("app", "nncore", "examples"):
        assert Path(lines[key]).resolve().is_relative_to(site), (key, out)
    assert str(ROOT) not in [p.strip() for p in out.split("path:", 1)[1].splitlines()], out
