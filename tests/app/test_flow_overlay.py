"""The canvas' overlays of issue 10: the step-through's focus (the current node's card
and wires lit) and the gradient flow while training (wire width and colour by gradient
norm, badges on the cards)."""

from __future__ import annotations

from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor, QPen

from tests.app.test_canvas import build_chain


def test_the_focus_lights_the_node_and_only_its_wires(canvas):
    ids = build_chain(canvas, "input", "dense", "relu", "dense")
    scene = canvas.scene
    scene.set_focus(ids[1])
    assert scene.nodes[ids[1]].focused and not scene.nodes[ids[2]].focused
    lit = {(e.src, e.dst) for e, w in scene.edges.items() if w.overlay is not None}
    assert lit == {(ids[0], ids[1]), (ids[1], ids[2])}
    assert all(w.overlay.color() == QColor(scene.theme.focus)
               for w in scene.edges.values() if w.overlay is not None)
    scene.set_focus(None)
    assert not any(w.overlay for w in scene.edges.values())
    assert not any(item.focused for item in scene.nodes.values())


def test_flow_pens_and_badges_go_where_they_are_said_and_under_the_focus(canvas):
    ids = build_chain(canvas, "input", "dense", "relu", "dense")
    scene = canvas.scene
    pen = QPen(QColor("#123456"), 5.0)
    scene.set_flow({(ids[2], "output"): pen}, {ids[2]: [("dead 40%", "#d62828")]})
    wire = next(w for e, w in scene.edges.items() if e.src == ids[2])
    assert wire.overlay is pen
    assert scene.nodes[ids[2]].badges == (("dead 40%", "#d62828"),)
    scene.set_focus(ids[3])  # the focus wins on the wire both touch
    assert wire.overlay.color() == QColor(scene.theme.focus)
    scene.set_focus(None)
    assert wire.overlay is pen
    # a wire added later gets its pen at the next refresh
    extra = scene.add_node("tanh", QPointF(1500, 300))
    canvas.graph.connect(ids[2], "output", extra, "input")
    scene.refresh()
    assert sum(w.overlay is pen for w in scene.edges.values()) == 2
    scene.set_flow({}, {})
    assert not any(w.overlay for w in scene.edges.values())
    assert scene.nodes[ids[2]].badges == ()
