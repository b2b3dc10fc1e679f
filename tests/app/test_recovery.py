"""Autosave and crash recovery (issue 12): unsaved work reaches a recovery file within a
few seconds, atomically; a clean exit and a save remove it; after a real ``kill -9`` the
next start offers it back, and restored it is the project's file with the edit as one
undo step. Stopping a run that trains before closing or opening another project."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from app.editor import commands
from app.recovery import AUTOSAVE_DELAY_MS, FORMAT, recoverable
from app.resources import example_path
from nncore.graph import load_graph, save_graph

WAIT = 10_000


@pytest.fixture
def project(tmp_path):
    """A copy of the moons example saved as the user's own file."""
    path = tmp_path / "mine.json"
    save_graph(path, load_graph(example_path("moons_tanh")))
    return path


def _recovery_files(window):
    return sorted(window.autosave.folder.glob("session-*.json"))


def test_an_edit_reaches_the_recovery_file_within_seconds_and_a_save_removes_it(
        window, project, qtbot):
    w = window
    assert w.open_file(project)
    assert not _recovery_files(w)  # nothing unsaved, nothing to recover
    graph = w.document.graph
    started = time.monotonic()
    w.document.push(commands.AddNode(graph, "relu", (400.0, 300.0)))
    qtbot.waitUntil(lambda: w.autosave.file.exists(), timeout=WAIT)
    assert time.monotonic() - started < AUTOSAVE_DELAY_MS / 1000 + 3
    data = json.loads(w.autosave.file.read_text())
    assert data["format"] == FORMAT and data["pid"] == os.getpid()
    assert data["path"] == str(project.resolve()) and data["title"] == "mine.json"
    assert len(data["project"]["nodes"]) == len(graph.nodes)  # the edit is in it
    assert not list(w.autosave.folder.glob("*.tmp*"))  # written whole (atomic)
    # a second edit rewrites it
    w.document.push(commands.AddNode(graph, "tanh", (600.0, 300.0)))
    qtbot.waitUntil(lambda: len(json.loads(w.autosave.file.read_text())["project"]["nodes"])
                    == len(graph.nodes), timeout=WAIT)
    assert w.save()
    qtbot.waitUntil(lambda: not w.autosave.file.exists(), timeout=WAIT)


def test_undoing_back_to_the_saved_file_removes_the_recovery_file(window, project, qtbot):
    w = window
    assert w.open_file(project)
    w.document.push(commands.AddNode(w.document.graph, "relu", (400.0, 300.0)))
    qtbot.waitUntil(lambda: w.autosave.file.exists(), timeout=WAIT)
    w.document.undo_stack.undo()
    qtbot.waitUntil(lambda: not w.autosave.file.exists(), timeout=WAIT)


def test_a_clean_exit_removes_the_recovery_file(qtbot, project):
    from app.main_window import MainWindow

    w = MainWindow(theme="light")
    qtbot.addWidget(w)
    w.ask_save = lambda: QMessageBox.Discard
    assert w.open_file(project)
    w.document.push(commands.AddNode(w.document.graph, "relu", (400.0, 300.0)))
    w.autosave.write_now()
    assert w.autosave.file.exists()
    assert w.close()
    assert not w.autosave.file.exists()


def _crashed_recovery(folder: Path, graph_path: Path | None, nodes_added: int = 1) -> Path:
    """A recovery file as a killed session leaves it: a pid that no longer runs."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # its pid is free now
    graph = load_graph(graph_path or example_path("moons_tanh"))
    for k in range(nodes_added):
        graph.add_node("relu", (100.0 * k, 500.0))
    from nncore.graph.io import to_dict

    folder.mkdir(parents=True, exist_ok=True)
    file = folder / f"session-{proc.pid}-1.json"
    file.write_text(json.dumps({
        "format": FORMAT, "version": 1, "saved_at": "2026-12-04T18:58:03+00:00",
        "pid": proc.pid, "path": str(graph_path) if graph_path else None,
        "example": None if graph_path else "moons_tanh", "stamp": None,
        "title": graph_path.name if graph_path else "moons_tanh (example)",
        "project": to_dict(graph)}))
    return file


def test_restore_opens_the_file_with_the_recovered_network_as_one_undo_step(
        window, project, qtbot):
    w = window
    file = _crashed_recovery(w.autosave.folder, project, nodes_added=2)
    saved_nodes = len(load_graph(project).nodes)
    asked = []
    w.ask_restore = lambda found: asked.append(found.describe()) or QMessageBox.Open
    assert w.offer_recovery()
    assert "mine.json (" in asked[0] and f"{saved_nodes + 2} nodes" in asked[0]
    assert "autosaved at" in asked[0]
    doc = w.document
    assert doc.path == project.resolve() and doc.modified
    assert len(doc.graph.nodes) == saved_nodes + 2 and len(w.scene.nodes) == saved_nodes + 2
    assert not file.exists()  # this session's autosave took it over
    assert w.autosave.file.exists()
    assert doc.undo_stack.count() == 1 and "Restore unsaved changes" in \
        doc.undo_stack.text(0)
    doc.undo_stack.undo()  # the file as it was saved
    assert len(doc.graph.nodes) == saved_nodes
    doc.undo_stack.redo()
    assert w.save()
    assert len(load_graph(project).nodes) == saved_nodes + 2


def test_discard_removes_the_recovery_and_not_now_keeps_it(window, project):
    w = window
    file = _crashed_recovery(w.autosave.folder, project)
    w.ask_restore = lambda found: QMessageBox.Cancel
    assert not w.offer_recovery() and file.exists()  # asked again next time
    w.ask_restore = lambda found: QMessageBox.Discard
    assert not w.offer_recovery() and not file.exists()
    asked = []
    w.ask_restore = lambda found: asked.append(1) or QMessageBox.Open
    assert not w.offer_recovery() and not asked  # nothing left to offer


def test_an_untitled_example_copy_is_restored_untitled(window):
    w = window
    _crashed_recovery(w.autosave.folder, None)
    w.ask_restore = lambda found: QMessageBox.Open
    assert w.offer_recovery()
    assert w.document.path is None and w.document.example == "moons_tanh"
    assert w.document.modified


def test_a_damaged_recovery_file_is_named_and_set_aside(window, project):
    w = window
    folder = w.autosave.folder
    file = _crashed_recovery(folder, project)
    file.write_text('{"format": "nncanvas-recovery", "saved_at": "yesterday"')
    found, problems = recoverable(folder)
    assert not found and len(problems) == 1 and file.name in problems[0]
    assert not file.exists() and file.with_suffix(".unreadable").exists()  # kept, not lost
    asked = []
    w.ask_restore = lambda found: asked.append(1) or QMessageBox.Open
    assert not w.offer_recovery() and not asked


def test_a_live_sessions_recovery_file_is_not_offered(window, project):
    w = window
    w.autosave.folder.mkdir(parents=True, exist_ok=True)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        file = _crashed_recovery(w.autosave.folder, project)
        file.rename(w.autosave.folder / f"session-{other.pid}-1.json")
        assert recoverable(w.autosave.folder) == ([], [])  # another open window's
    finally:
        other.kill()
        other.wait()
    assert len(recoverable(w.autosave.folder)[0]) == 1


@pytest.mark.slow
def test_after_a_real_kill_9_the_next_start_restores_the_edit(tmp_path, project):
    """A window with an unsaved edit is killed with SIGKILL; a new window in the same
    settings folder offers it back, and restored it holds the edit."""
    config = tmp_path / "config"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(config))
    script = textwrap.dedent(f"""
        import sys
        from PySide6.QtWidgets import QApplication
        from app.main_window import MainWindow
        from app.editor import commands
        app = QApplication([])
        w = MainWindow(theme="light")
        assert w.open_file({str(project)!r})
        node = w.document.graph.node_by_name("Dense")
        w.document.push(commands.RenameNode(w.document.graph, node.id, "killed edit"))
        print("EDITED", w.autosave.file, flush=True)
        app.exec()
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE,
                            text=True, cwd=str(Path(__file__).resolve().parents[2]))
    try:
        line = proc.stdout.readline()
        assert line.startswith("EDITED"), line
        recovery = Path(line.split(" ", 1)[1].strip())
        deadline = time.monotonic() + 20
        while not recovery.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert recovery.exists(), "the edit never reached the recovery file"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert recovery.exists()  # a kill leaves it behind
    restart = textwrap.dedent("""
        import sys
        from PySide6.QtWidgets import QApplication, QMessageBox
        from app.main_window import MainWindow
        app = QApplication([])
        w = MainWindow(theme="light")
        said = []
        w.ask_restore = lambda found: said.append(found.describe()) or QMessageBox.Open
        restored = w.offer_recovery()
        names = sorted(n.name for n in w.document.graph.nodes)
        print("RESULT", restored, w.document.modified, w.document.path, said, names)
        w.document.undo_stack.setClean()
        w.close()
    """)
    out = subprocess.run([sys.executable, "-c", restart], env=env, capture_output=True,
                         text=True, timeout=120, cwd=str(Path(__file__).resolve().parents[2]))
    result = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT")), "")
    assert result.startswith(f"RESULT True True {project.resolve()}"), out.stdout + out.stderr
    assert "'killed edit'" in result and "mine.json (" in result
    assert not recovery.exists()


# ---------------------------------------------------------------------------- while training
def _set_training(window, **values):
    graph = window.document.graph
    window.document.push(commands.SetSettings(graph, {**graph.settings, "training": {
        **graph.settings.get("training", {}), **values}}))


def test_closing_while_training_says_so_and_cancel_keeps_it_training(window, qtbot):
    w = window
    assert w.open_file(example_path("digits_mlp"))
    _set_training(w, epochs=500)
    w.document.undo_stack.setClean()
    asked = []
    w.ask_stop = lambda action="edit": asked.append(action) or QMessageBox.No
    w.start_training()
    qtbot.waitUntil(lambda: w.controller.state == "running", timeout=WAIT)
    assert not w.close()  # cancelled: the window stays, the run trains on
    assert asked == ["close"] and w.controller.state == "running"
    assert not w.open_file(example_path("moons_tanh")) and asked == ["close", "open"]
    assert not w.new_file() and asked[-1] == "new"
    assert w.document.example == "digits_mlp" and w.controller.state == "running"
    run = w.runs.current_run()
    qtbot.waitUntil(lambda: len(run.epochs) >= 1, timeout=WAIT)
    w.ask_stop = lambda action="edit": asked.append(action) or QMessageBox.Yes
    assert w.open_file(example_path("moons_tanh"))  # stops (and keeps) it, then opens
    assert run.status == "stopped" and run.epochs  # kept its epochs so far
    assert w.document.example == "moons_tanh"


def test_the_stop_question_names_what_stops_it(window):
    from app.training_actions import STOP_REASONS, ask_stop

    texts = []

    def fake_exec(box):
        texts.append((box.text(), [b.text() for b in box.buttons()]))
        return QMessageBox.No

    original = QMessageBox.exec
    QMessageBox.exec = fake_exec
    try:
        for action in ("close", "open", "new", "edit"):
            assert ask_stop(window, action, "paused") == QMessageBox.No
    finally:
        QMessageBox.exec = original
    for (text, buttons), action in zip(texts, ("close", "open", "new", "edit")):
        assert text.startswith(f"A run is paused. {STOP_REASONS[action]} stops it."), text
        assert sorted(buttons) == ["Cancel", "Stop and keep"]
