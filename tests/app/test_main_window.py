"""The main window: files, close prompt, recent files, examples, export, layout memory,
and the application's entry point."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QMessageBox

from app.resources import examples_dir
from nncore.graph import dumps, load_graph

EXAMPLES = examples_dir()


def test_every_example_opens_without_problems(window):
    for path in sorted(EXAMPLES.glob("*.json")):
        assert window.open_file(path)
        assert window.document.path is None and window.document.example == path.stem
        assert len(window.scene.nodes) == len(load_graph(path))
        # shapes derived from the example's own dataset: nothing would stop training
        assert window.document.project.analysis().ok
        assert window.document.project.problems() == [], path.name
        assert not window.isWindowModified()
        assert window.windowTitle().startswith(f"{path.stem} (example)")


def test_build_save_close_reopen(window, tmp_path, qtbot):
    """The done-when path: Input -> Dense -> ReLU -> Dense -> Cross-Entropy from the
    palette's actions, wired, saved, reopened identical."""
    window.document.new()
    scene, graph = window.scene, window.document.graph
    inp = graph.nodes[0].id
    ids = [inp]
    for i, t in enumerate(["dense", "relu", "dense", "cross_entropy"], 1):
        ids.append(scene.add_node(t, QPointF(280 * i + 95, 60)))
    for a, b in zip(ids, ids[1:]):
        na, nb = graph.node(a), graph.node(b)
        scene.begin_wire(scene.nodes[a].port(na.type.outputs[0].name, True))
        scene.end_wire(scene.nodes[b].port(nb.type.inputs[0].name, False).scenePos())
    scene.begin_wire(scene.nodes[inp].port("labels", True))
    scene.end_wire(scene.nodes[ids[-1]].port("target", False).scenePos())
    graph.set_params(ids[1], {"units": 32})
    from app.editor.commands import SetParams

    window.document.push(SetParams(graph, ids[3], {"units": 2}))
    # The new network's Input matches the default dataset (digits: 10 classes), so the
    # inspector says what training would: the last Dense needs 10 units.
    window.scene.clearSelection()
    window.inspector.refresh_now()
    page = window.inspector.page
    assert "Dataset: digits: 1797 samples, 64 features, 10 classes" in page.dataset_label.text()
    assert any("give the last Dense 10 units" in row.text() for row in page.problem_labels)
    window.document.push(SetParams(graph, ids[3], {"units": 10}))
    window.inspector.refresh_now()
    assert "Ready to train" in window.inspector.page.status_label.text()
    assert window.document.project.analysis().ok, window.document.project.problems()
    assert window.isWindowModified() and "*" in window.windowTitle().replace("[*]", "*")
    path = tmp_path / "mine.json"
    assert window._save_to(path)
    assert not window.isWindowModified()
    saved = dumps(graph)
    window.close()
    from app.main_window import MainWindow

    again = MainWindow(theme="light")
    qtbot.addWidget(again)
    assert again.open_file(path)
    assert dumps(again.document.graph) == saved
    assert str(path.resolve()) == again.recent_files()[0]
    # shapes shown on the wires after reopening
    again.scene.refresh()
    labels = sorted(w.label for w in again.scene.edges.values())
    assert "(N, 32)" in labels and "(N, 10)" in labels and "labels" in labels


def test_closing_with_unsaved_changes_asks(window):
    window.scene.add_node("relu", QPointF(0, 0))
    asked = []
    window.ask_save = lambda: asked.append(1) or QMessageBox.Cancel
    assert not window.close()
    assert asked and window.isVisible()
    window.ask_save = lambda: QMessageBox.Discard
    assert window.close()


def test_opening_a_bad_file_changes_nothing(window, tmp_path, monkeypatch):
    window.open_file(EXAMPLES / "iris_sigmoid.json")
    before = dumps(window.document.graph)
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "nncanvas-graph", "version": 1, "nodes": [{"id": "n1", "type": "lstm"}]}')
    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a: warnings.append(a[2]))
    assert not window.open_file(bad)
    assert "unknown node type 'lstm'" in warnings[0]
    assert dumps(window.document.graph) == before


def test_export_png_and_svg(window, tmp_path):
    window.open_file(EXAMPLES / "spiral_relu.json")
    window.export_canvas(tmp_path / "net.png")
    window.export_canvas(tmp_path / "net.svg")
    from PySide6.QtGui import QImage

    image = QImage(str(tmp_path / "net.png"))
    assert image.width() > 1000 and image.height() > 200
    text = (tmp_path / "net.svg").read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text and "Input" in text


def test_auto_layout_is_one_undoable_step_without_overlaps(window):
    from app.editor.items import node_size
    from app.editor.layout import overlaps

    window.open_file(EXAMPLES / "wine_leaky.json")
    graph = window.document.graph
    for i, node in enumerate(graph.nodes):  # scramble
        graph.move_node(node.id, ((i * 37) % 5 * 50.0, (i * 53) % 7 * 40.0))
    before = {n.id: n.position for n in graph.nodes}
    count = window.document.undo_stack.count()
    window.auto_layout()
    assert window.document.undo_stack.count() == count + 1
    positions = {n.id: n.position for n in graph.nodes}
    assert not overlaps(positions, {n.id: node_size(n) for n in graph.nodes})
    for e in graph.edges:  # left to right along every wire
        assert positions[e.src][0] < positions[e.dst][0]
    window.document.undo_stack.undo()
    assert {n.id: n.position for n in graph.nodes} == before


def test_selection_drives_the_inspector(window):
    window.open_file(EXAMPLES / "digits_mlp.json")
    dense = next(n for n in window.document.graph.nodes if n.type_id == "dense")
    window.scene.select_nodes([dense.id])
    assert window.inspector.shown_node_ids() == [dense.id]
    window.scene.clearSelection()
    assert window.inspector.shown_node_ids() == []


def test_layout_and_theme_are_remembered(window, qtbot):
    window.set_theme("dark")
    window.palette_dock.hide()
    window.close()
    from app.main_window import MainWindow

    again = MainWindow()
    qtbot.addWidget(again)
    again.show()
    assert again.theme_name == "dark"
    assert not again.palette_dock.isVisible()
    again.set_theme("light")
    again.palette_dock.show()


def _run_app(*args, env_extra=None, timeout=60):
    env = dict(os.environ)
    env.update({"QT_QPA_PLATFORM": "offscreen",
                "XDG_CONFIG_HOME": env.get("XDG_CONFIG_HOME", "/tmp/nncanvas-test-config")})
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def test_screenshot_option_saves_the_window(tmp_path):
    out = tmp_path / "shot.png"
    proc = _run_app(str(EXAMPLES / "moons_tanh.json"), "--screenshot", str(out), "--size", "1000x700")
    assert proc.returncode == 0, proc.stderr
    from PySide6.QtGui import QImage

    image = QImage(str(out))
    assert (image.width(), image.height()) == (1000, 700)


def test_the_app_starts_offscreen_and_exits_cleanly_when_closed():
    proc = _run_app("--quit-after", "500")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr


def test_without_a_display_it_explains(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    proc = subprocess.run([sys.executable, "-m", "app"], capture_output=True, text=True, timeout=60, env=env)
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        assert proc.returncode == 1 and "no display found" in proc.stderr
    else:  # pragma: no cover - a developer machine with a screen
        pytest.skip("a display is available")


def test_screenshot_of_a_bad_file_says_why_and_exits_without_waiting(tmp_path):
    """No one can close a message box offscreen: the file is checked first."""
    bad = tmp_path / "bad.json"
    bad.write_text('{"nodes": 3')
    for path, reason in ((bad, "not valid JSON at line 1, column 12"), (tmp_path / "none.json", "no such file")):
        proc = _run_app(str(path), "--screenshot", str(tmp_path / "x.png"), timeout=60)
        assert proc.returncode == 1 and reason in proc.stderr, proc.stderr
        assert not (tmp_path / "x.png").exists()


def test_a_bad_size_is_refused_before_the_window_opens(tmp_path):
    proc = _run_app("--screenshot", str(tmp_path / "x.png"), "--size", "big", timeout=60)
    assert proc.returncode == 2 and "--size must look like 1400x860" in proc.stderr
    assert "QThread" not in proc.stderr


def test_help_lists_the_training_shortcuts_from_the_panels_actions(window, monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "information",
                        lambda parent, title, text: shown.append(text))
    window.show_help()
    (text,) = shown
    for keys, what in (("Ctrl+Return", "start training"), ("Ctrl+P", "pause or resume"),
                       ("Ctrl+B", "one more batch"), ("Ctrl+E", "end of the current epoch"),
                       ("Ctrl+.", "stop training"), ("Ctrl+Shift+R", "new random weights")):
        assert f"<td>{keys}" in text and what in text, (keys, what)
    assert "Ctrl+Enter" in text and text.startswith(window.HELP)
    # read from the actions: a changed shortcut shows in the help
    window.training_panel.act_step_batch.setShortcut("Ctrl+Alt+B")
    assert "Ctrl+Alt+B" in window.help_text() and "<td>Ctrl+B<" not in window.help_text()


def test_step_epoch_says_it_trains_to_the_end_of_the_current_epoch(window):
    action = window.training_panel.act_step_epoch
    assert "end of the current epoch, then pause" in action.toolTip()
    assert "only the rest of that epoch" in action.toolTip()
    assert action.text().replace("&", "") == "Step to End of Epoch"
    assert action.iconText() == "Step epoch"


def test_a_window_that_does_not_persist_neither_reads_nor_writes_the_settings(
        qtbot, isolated_settings):
    from app.main_window import MainWindow, settings

    first = MainWindow()
    qtbot.addWidget(first)
    first.set_theme("dark")
    assert first.open_file(EXAMPLES / "moons_tanh.json")
    first.palette_dock.hide()
    first.close()
    ini = Path(settings().fileName())
    assert ini.is_file() and str(isolated_settings) in str(ini)
    saved = ini.read_bytes()
    recent = [str((EXAMPLES / "moons_tanh.json").resolve())]

    picture = MainWindow(persist=False)
    qtbot.addWidget(picture)
    picture.show()
    assert picture.theme_name == "light" and picture.recent_files() == []
    assert picture.palette_dock.isVisible()  # the saved layout is not restored
    assert not picture.recent_menu.isEnabled()
    assert picture.open_file(EXAMPLES / "digits_mlp.json")
    picture.set_theme("light")
    assert picture.recent_files() == [str((EXAMPLES / "digits_mlp.json").resolve())]
    picture.close()
    assert ini.read_bytes() == saved  # nothing written
    again = MainWindow()
    qtbot.addWidget(again)
    assert again.theme_name == "dark" and again.recent_files() == recent
    again.set_theme("light")


def test_tab_takes_only_the_plots_tabs():
    proc = _run_app("--tab", "bogus", "--quit-after", "100")
    assert proc.returncode == 2 and "invalid choice: 'bogus'" in proc.stderr, proc.stderr
    assert "QThread" not in proc.stderr


def test_tab_without_train_shows_that_tab_in_the_picture(tmp_path):
    """``--screenshot --tab confusion`` without ``--train``: the plots dock is in the
    picture, on that tab (the entry point run in its own process, with the window's
    state printed as the picture is taken)."""
    import textwrap

    script = textwrap.dedent("""
        import sys
        import app.main_window as main_window
        grab = main_window.MainWindow.grab
        def watched(self, *args):
            tabs = self.plots.tabs
            print("tab:", tabs.tabText(tabs.currentIndex()))
            print("plots shown:", not self.plots.visibleRegion().isEmpty())
            print("persist:", self.persist, flush=True)
            return grab(self, *args)
        main_window.MainWindow.grab = watched
        from app.__main__ import main
        sys.exit(main(sys.argv[1:]))
    """)
    out = tmp_path / "tab.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path / "config"))
    proc = subprocess.run([sys.executable, "-c", script, str(EXAMPLES / "moons_tanh.json"),
                           "--screenshot", str(out), "--tab", "confusion", "--size", "1000x700"],
                          capture_output=True, text=True, timeout=60, env=env,
                          cwd=str(EXAMPLES.parents[1]))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "plots shown: True" in lines and "persist: False" in lines, proc.stdout
    tab = next(line for line in lines if line.startswith("tab:"))
    assert "confusion" in tab.lower() and out.is_file()


def test_screenshot_neither_reads_nor_writes_the_saved_settings(tmp_path):
    """A picture does not depend on earlier sessions (theme, layout) and adds nothing to
    Open Recent; a normal session does remember."""
    config = {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    ini = tmp_path / "config" / "NNCanvas" / "NNCanvas.ini"
    proc = _run_app(str(EXAMPLES / "moons_tanh.json"), "--theme", "dark", "--quit-after", "500",
                    env_extra=config)
    assert proc.returncode == 0, proc.stderr
    saved = ini.read_bytes()  # a normal session wrote its theme, layout and recent file
    assert b"theme=dark" in saved and b"moons_tanh.json" in saved
    out = tmp_path / "shot.png"
    proc = _run_app(str(EXAMPLES / "digits_mlp.json"), "--screenshot", str(out),
                    "--size", "900x600", env_extra=config)
    assert proc.returncode == 0, proc.stderr
    assert ini.read_bytes() == saved  # not even the recent file
    from PySide6.QtGui import QImage

    image = QImage(str(out)).convertToFormat(QImage.Format_RGB32)
    import numpy as np

    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), -1, 4)
    assert pixels[:, :image.width(), :3].mean() > 150  # the default light theme, not dark
