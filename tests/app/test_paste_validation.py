"""Paste is checked whole first: foreign or malformed clipboard data is refused with a
message and changes nothing (nodes, wires, undo history); a valid paste is one undo step.
Pasted through the real Edit → Paste action of the main window, from the clipboard."""

from __future__ import annotations

import json

import pytest
from PySide6.QtWidgets import QApplication

from app.editor.scene import CLIPBOARD_MIME
from nncore.graph import dumps
from nncore.graph.io import FORMAT, VERSION


def _file(nodes, edges=(), **extra):
    return json.dumps({"format": FORMAT, "version": VERSION, "nodes": list(nodes),
                       "edges": list(edges), **extra})


def _node(nid, type_="dense", **extra):
    return {"id": nid, "type": type_, "name": extra.pop("name", nid.upper()),
            "position": extra.pop("position", [0.0, 0.0]), **extra}


def _wire(a, pa, b, pb):
    return {"from": [a, pa], "to": [b, pb]}


GOOD_PAIR = [_node("a"), _node("b", "relu")]
GOOD_WIRE = [_wire("a", "output", "b", "input")]

#: (label, clipboard text, words the refusal must contain)
BAD = [
    ("not JSON", "this is {not json", "not valid JSON"),
    ("JSON list", "[1, 2, 3]", "not a graph"),
    ("wrong version", _file(GOOD_PAIR, version=99), "newer NN Canvas"),
    ("node without type", _file([{"id": "a", "name": "A", "position": [0, 0]}]), "node 1"),
    ("unknown type", _file([_node("a", "warp_drive")]), "warp_drive"),
    ("unknown port", _file(GOOD_PAIR, [_wire("a", "output", "b", "nope")]), "nope"),
    ("wire to a missing node", _file(GOOD_PAIR, [_wire("a", "output", "zz", "input")]),
     "'zz'"),
    ("duplicate ids", _file([_node("a"), _node("a", "relu", name="Other")]), "'a'"),
    ("param of the wrong type", _file([_node("a", params={"units": "many"})]), "units"),
    ("NaN position", _file([_node("a", position=[float("nan"), 0.0])]), "finite"),
    ("huge position", _file([_node("a", position=[1e30, 0.0])]), "position"),
    ("a 50 MB string", json.dumps("x" * 50_000_000), "more than NN Canvas reads"),
    ("deeply nested JSON", "[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ("another app's JSON", json.dumps({"type": "drawing", "shapes": [{"circle": 3}]}),
     "not an NN Canvas graph"),
    ("empty", "", "Nothing to paste"),
    ("no nodes", _file([]), "no nodes"),
    ("a cycle", _file(GOOD_PAIR, [*GOOD_WIRE, _wire("b", "output", "a", "input")]), "cycle"),
    ("wires not a list", _file(GOOD_PAIR, edges=()).replace('"edges": []', '"edges": 7'),
     "must be lists"),
    ("the old clipboard format", json.dumps({"nodes": GOOD_PAIR,
                                             "edges": [["a", "output", "b", "input"]]}),
     "not an NN Canvas graph"),
]


@pytest.fixture(scope="module")
def shared_window(qapp):
    """One main window for the module (opening one per payload costs seconds)."""
    from PySide6.QtWidgets import QMessageBox

    from app.main_window import MainWindow

    w = MainWindow(theme="light", persist=False)
    w.ask_save = lambda: QMessageBox.Discard
    w.show()
    yield w
    w.document.undo_stack.setClean()
    w.close()
    w.deleteLater()


@pytest.fixture
def win(shared_window):
    """The main window with a 3-node network (Input → Dense → ReLU) and an empty
    history."""
    w = shared_window
    w.document.new()  # one Input, the digits
    g = w.document.graph
    a = g.nodes[0]
    b = g.add_node("dense", (300, 0))
    c = g.add_node("relu", (600, 0))
    g.connect(a.id, "features", b.id, "input")
    g.connect(b.id, "output", c.id, "input")
    w.document.undo_stack.clear()
    w.statusBar().clearMessage()
    yield w
    w.document.undo_stack.clear()


def _put_on_clipboard(text: str, ours: bool) -> None:
    """The text as our mime type (as Copy puts it) or as plain text (another app);
    through a Qt-made QMimeData (setText), then our format set on that same object."""
    clipboard = QApplication.clipboard()
    clipboard.setText(text)
    if ours:
        clipboard.mimeData().setData(CLIPBOARD_MIME, text.encode("utf-8"))


def _state(w):
    return dumps(w.document.graph), len(w.scene.nodes), w.document.undo_stack.count()


@pytest.mark.parametrize("ours", [True, False], ids=["our-mime-type", "plain-text"])
@pytest.mark.parametrize("label, text, words", BAD, ids=[b[0] for b in BAD])
def test_a_bad_paste_is_refused_with_a_message_and_changes_nothing(win, label, text, words,
                                                                   ours):
    _put_on_clipboard(text, ours)
    before = _state(win)
    messages = []
    win.scene.message.connect(messages.append)
    try:
        win.act_paste.trigger()  # the Paste slot itself: it must not raise
    finally:
        win.scene.message.disconnect(messages.append)
    assert _state(win) == before, f"{label}: the paste changed the graph or the history"
    assert len(win.document.graph) == 3 and len(win.document.graph.edges) == 2
    assert win.document.undo_stack.count() == 0
    assert messages and words in messages[-1], (label, messages)
    assert len(messages[-1]) < 400, "a refusal quotes the clipboard at length"
    assert words in win.statusBar().currentMessage()


def test_a_valid_paste_is_one_undo_step(win):
    _put_on_clipboard(_file(GOOD_PAIR, GOOD_WIRE), ours=True)
    before = dumps(win.document.graph)
    win.act_paste.trigger()
    g = win.document.graph
    assert len(g) == 5 and len(g.edges) == 3
    assert win.document.undo_stack.count() == 1
    pasted = [g.node(n) for n in win.scene.selected_node_ids()]
    assert sorted(n.type_id for n in pasted) == ["dense", "relu"]
    assert sorted(n.position for n in pasted) == [(40.0, 40.0), (40.0, 40.0)]
    win.act_undo.trigger()
    assert dumps(g) == before
    win.act_redo.trigger()
    assert len(g) == 5 and len(g.edges) == 3


def test_copy_then_paste_round_trips_through_the_checks(win):
    g = win.document.graph
    win.select_all()
    win.act_copy.trigger()
    win.act_paste.trigger()
    assert len(g) == 6 and len(g.edges) == 4 and win.document.undo_stack.count() == 1
    names = sorted(n.name for n in g.nodes)
    assert names == ["Dense", "Dense 2", "Input", "Input 2", "ReLU", "ReLU 2"]


def test_a_paste_refused_by_the_model_midway_leaves_nothing_behind(win):
    """Checked whole but refused while applying (a name that the model turns down when
    numbered): the nodes already added are taken back, nothing is recorded."""
    from app.editor import commands
    from nncore.graph import GraphError

    g = win.document.graph
    before = dumps(g)
    cmd = commands.AddSubgraph(g, [_node("a"), _node("b", "warp_drive")], [], (0, 0))
    with pytest.raises(GraphError):
        win.document.push(cmd)
    assert dumps(g) == before and win.document.undo_stack.count() == 0
