"""The canvas' overlays of issue 10: the step-through's focus (the current node's card
and wires lit) and the gradient flow while training (wire width and colour by gradient
norm, badges on the cards)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPen

from tests.app.test_canvas import build_chain
from app.theme import DARK, LIGHT


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


# ---------------------------------------------------------------- the scale, pens, badges
def test_pens_grow_with_the_norm_on_a_log_scale_and_not_finite_is_dashed_red():
    import math

    from app.editor.flow import LEVELS, WIDTHS, FlowScale, flow_pens
    from app.theme import LIGHT

    scale = FlowScale()
    scale.include(2e-4, 0.7)
    assert (scale.lo, scale.hi) == (-4, 0)
    assert scale.fraction(1e-2) == 0.5 and scale.fraction(1e-6) == 0.0
    assert scale.fraction(5.0) == 1.0 and scale.fraction(0.0) == 0.0
    scale.include(1e-2, 30.0)  # it only grows
    assert (scale.lo, scale.hi) == (-4, 2)
    pens = flow_pens({("a", "o"): 1e-4, ("b", "o"): 1e-1, ("c", "o"): 100.0,
                      ("d", "o"): math.nan}, scale, LIGHT)
    assert pens["a", "o"].widthF() == WIDTHS[0] and pens["c", "o"].widthF() == WIDTHS[1]
    assert WIDTHS[0] < pens["b", "o"].widthF() < WIDTHS[1]
    assert pens["b", "o"].widthF() == pytest.approx(
        WIDTHS[0] + (WIDTHS[1] - WIDTHS[0]) * round(0.5 * (LEVELS - 1)) / (LEVELS - 1))
    assert pens["a", "o"].color() != pens["c", "o"].color()
    assert pens["d", "o"].color() == QColor(LIGHT.error)
    assert pens["d", "o"].style() == Qt.DashLine


def test_badges_say_the_share_and_where_a_nan_came_first():
    from app.editor.flow import flow_badges
    from app.theme import LIGHT
    from nncore.training import GradientFlow

    flow = GradientFlow(step=9, unit_stats={"r": {"dead": 0.6}, "s": {"saturated": 0.1},
                                            "t": {"dead": 0.3}},
                        first_nonfinite=("s", "gradient"))
    badges = flow_badges(flow, LIGHT)
    assert badges["r"] == [("dead 60%", LIGHT.error)]
    assert badges["t"] == [("dead 30%", "#d98a04")]
    assert badges["s"] == [("∇ NaN first here", LIGHT.error), ("saturated 10%", LIGHT.text_dim)]


def test_legend_labels_the_decades_of_the_scale():
    from app.editor.flow import FlowLegend, FlowScale, decade_text
    from app.theme import LIGHT

    scale = FlowScale()
    scale.include(3e-6, 0.5)
    legend = FlowLegend()
    legend.show_flow(scale, 12, LIGHT)
    assert legend.decades() == [-6, -4, -2, 0]
    from app.editor.flow import flow_pens
    from app.theme import DARK

    wire = flow_pens({("n", "o"): 1e-2}, scale, LIGHT)["n", "o"]
    assert legend.sample_pen(-2) is wire  # the legend shows what a wire of 0.01 gets
    dark = flow_pens({("n", "o"): 1e-6}, scale, DARK)["n", "o"]
    light = flow_pens({("n", "o"): 1e-6}, scale, LIGHT)["n", "o"]
    assert dark.color().lightness() > light.color().lightness()  # seen on each canvas
    assert [decade_text(d) for d in (-6, -2, 0, 1, 3)] == ["1e-6", "0.01", "1", "10", "1e3"]


# ---------------------------------------------------------------- while training
WAIT = 60_000


@pytest.fixture
def digits(window):
    from app.resources import examples_dir

    assert window.open_file(examples_dir() / "digits_mlp.json")
    yield window
    window.controller.shutdown(5.0)


def test_the_overlay_draws_the_flow_while_training_and_goes_away_when_off(digits, qtbot):
    from app.editor.commands import SetSettings

    w = digits
    graph = w.document.graph
    w.document.push(SetSettings(graph, {**graph.settings, "training": {
        **graph.settings["training"], "epochs": 60}}))
    overlay = w.flow_overlay
    from PySide6.QtWidgets import QMenu

    view_menu = next(m for m in w.menuBar().findChildren(QMenu) if m.title() == "&View")
    assert overlay.action in view_menu.actions()
    w.show()
    overlay.action.trigger()  # View → Gradient Flow
    assert overlay.enabled and w.controller.worker._flow_on and overlay.legend.isVisible()
    steps = []
    w.runs.run_changed.connect(lambda rid: steps.append(getattr(w.runs.get(rid).flow,
                                                                "step", None)))
    with qtbot.waitSignal(w.controller.run_finished, timeout=WAIT):
        w.start_training()
    run = w.runs.current_run()
    assert run.status == "finished" and run.flow is not None
    seen = sorted({s for s in steps if s is not None})
    assert len(seen) >= 2  # refreshed while it trained
    assert overlay.shown is run.flow and overlay.legend.step == run.flow.step
    scene = w.scene
    # every wire whose source has a norm is drawn with that norm's pen: wider for a
    # larger norm
    drawn = {}
    for edge, wire in scene.edges.items():
        norm = run.flow.norms.get((edge.src, edge.src_port))
        if norm is not None:
            assert wire.overlay is not None, edge
            drawn[norm] = wire.overlay.widthF()
            assert wire.toolTip() == f"‖dL/d(value)‖ = {norm:.3g} on the minibatch of step " \
                f"{run.flow.step}"
    assert len(drawn) >= 3
    ordered = [drawn[k] for k in sorted(drawn)]
    assert ordered == sorted(ordered) and ordered[0] < ordered[-1]
    relu = next(n.id for n in graph.nodes if n.type.type_id == "relu")
    assert scene.nodes[relu].badges[0][0].startswith("dead ")
    path = w.grab()
    assert not path.isNull()
    overlay.action.trigger()  # off
    assert not w.controller.worker._flow_on and not overlay.legend.isVisible()
    assert not any(wire.overlay or wire.toolTip() for wire in scene.edges.values())
    assert all(item.badges == () for item in scene.nodes.values())


def test_with_the_overlay_off_nothing_is_traced(digits, qtbot):
    w = digits
    from app.editor.commands import SetSettings

    graph = w.document.graph
    w.document.push(SetSettings(graph, {**graph.settings, "training": {
        **graph.settings["training"], "epochs": 3}}))
    with qtbot.waitSignal(w.controller.run_finished, timeout=WAIT):
        w.start_training()
    assert w.runs.current_run().flow is None
    assert not any(wire.overlay for wire in w.scene.edges.values())


def test_a_run_whose_loss_becomes_nan_gets_the_badge_where_it_came_first(digits, qtbot):
    from app.editor.commands import SetSettings

    w = digits
    graph = w.document.graph
    w.document.push(SetSettings(graph, {**graph.settings, "training": {
        **graph.settings["training"], "optimizer": "sgd", "optimizer_options": {"lr": 1e6},
        "epochs": 3}}))
    w.flow_overlay.set_enabled(True)
    assert w.flow_overlay.action.isChecked()
    with qtbot.waitSignal(w.controller.run_finished, timeout=WAIT):
        w.start_training()
    run = w.runs.current_run()
    assert run.status == "failed" and "loss became" in run.message
    failed = w.scene.failed_node
    assert failed is not None and run.flow.first_nonfinite == (failed, "value")
    assert w.scene.nodes[failed].badges[0] == ("NaN first here", w.scene.theme.error)


@pytest.mark.parametrize("theme", [LIGHT, DARK], ids=["light", "dark"])
def test_the_step_through_focus_colour_is_a_hue_the_flow_never_draws(theme):
    """The lit node and wires of the step-through stay apart from every gradient-flow
    colour (at least 60° of hue), so a lit wire is never read as a gradient's norm."""
    from PySide6.QtGui import QColor

    from app.editor.flow import _color

    focus = QColor(theme.focus).hslHueF() * 360
    for k in range(101):
        flow = _color(k / 100, theme)
        if flow.hslSaturationF() < 0.2:
            continue  # a grey has no hue to mix up
        gap = abs(flow.hslHueF() * 360 - focus)
        assert min(gap, 360 - gap) >= 60, (theme.name, k, flow.name())
