"""The engine never imports Qt, pyqtgraph or the app (DESIGN.md: the arrows point one way).

A fresh interpreter gets an import hook that refuses those packages and records every
attempt, then imports ``nncore`` and every module under it. An import that is caught
with ``try/except ImportError`` still counts as a violation, since it was attempted.
"""

from __future__ import annotations

import functools
import subprocess
import sys
import textwrap
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

BLOCKED = ("PySide6", "PyQt5", "PyQt6", "shiboken6", "pyqtgraph", "app")

CHILD = textwrap.dedent(
    """
    import importlib
    import importlib.abc
    import pkgutil
    import sys

    BLOCKED = {blocked!r}
    attempts = []
    importing = "nncore"

    class BlockGui(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in BLOCKED:
                attempts.append(f"{{name}} (while importing {{importing}})")
                raise ImportError(f"blocked by test_no_qt_import: {{name}}")
            return None

    already = sorted(m for m in sys.modules if m.partition(".")[0] in BLOCKED)
    assert not already, f"imported before the hook was installed: {{already}}"
    sys.meta_path.insert(0, BlockGui())

    # The hook must really block, or the checks below prove nothing.
    try:
        import PySide6
    except ImportError as exc:
        assert "blocked by test_no_qt_import" in str(exc), exc
        print("BLOCKED PySide6", flush=True)
    else:
        raise AssertionError("the import hook did not block PySide6")
    attempts.clear()

    def fail(name):
        raise  # walk_packages ignores ImportError unless told otherwise

    import nncore

    names = ["nncore"]
    for info in pkgutil.walk_packages(nncore.__path__, "nncore.", onerror=fail):
        if info.name.rpartition(".")[2] == "__main__":
            continue  # importing __main__ would run the program
        importing = info.name
        importlib.import_module(info.name)
        names.append(info.name)

    assert not attempts, f"nncore tried to import {{attempts}}"
    leaked = sorted(m for m in sys.modules if m.partition(".")[0] in BLOCKED)
    assert not leaked, f"loaded while importing nncore: {{leaked}}"
    print("IMPORTED", " ".join(names))

    """
).format(blocked=BLOCKED)


@functools.cache  # one child process serves both tests
def run_child() -> subprocess.CompletedProcess[str]:
    # cwd = repository root, so `python -c` imports this checkout's nncore.
    return subprocess.run(
        [sys.executable, "-c", CHILD],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_nncore_and_all_submodules_import_without_qt():
    proc = run_child()
    assert proc.returncode == 0, (
        f"importing nncore without Qt failed (exit {proc.returncode}):\n"
        f"--- stderr ---\n{proc.stderr}\n--- stdout ---\n{proc.stdout}"
    )
    imported = next(
        line.split()[1:] for line in proc.stdout.splitlines() if line.startswith("IMPORTED")
    )
    assert imported[0] == "nncore"
    # Every module file in the package was walked (catches a walk that silently stops).
    on_disk = {
        "nncore." + ".".join(p.relative_to(REPO_ROOT / "nncore").with_suffix("").parts)
        for p in (REPO_ROOT / "nncore").rglob("*.py")
        if p.name not in ("__init__.py", "__main__.py")
    }
    assert on_disk <= set(imported), f"not imported: {sorted(on_disk - set(imported))}"


def test_import_hook_really_blocks_qt():
    proc = run_child()
    assert "BLOCKED PySide6" in proc.stdout.splitlines(), (
        f"the import hook did not demonstrably block PySide6 (exit {proc.returncode}):\n"
        f"--- stderr ---\n{proc.stderr}\n--- stdout ---\n{proc.stdout}"
    )
