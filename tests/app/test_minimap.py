"""Minimap (app/editor/minimap.py): fitted overview drawn from the model, moves the view."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QMouseEvent, QPen
from PySide6.QtWidgets import QApplication, QGraphicsScene, QGraphicsView, QWidget

from app.editor.minimap import DEFAULT_NODE_SIZE, Minimap
from app.theme import CATEGORY_COLORS
from app.resources import example_path
from nncore.graph import Graph, load_graph

pytestmark = pytest.mark.gui

REPO_ROOT = Path(__file__).resolve().parents[2]
W, H = DEFAULT_NODE_SIZE


def build_graph() -> Graph:
    """Input -> 10 Dense/ReLU in a row -> loss, and a branch below."""
    g = Graph()
    prev = g.add_node("input", (0.0, 0.0))
    first = prev
    for i in range(1, 11):
        node = g.add_node("dense" if i % 2 else "relu", (i * 260.0, 0.0))
        g.connect(prev.id, "features" if prev.type_id == "input" else "output", node.id,
                  "input")
        prev = node
    loss = g.add_node("mse", (11 * 260.0, 0.0))
    g.connect(prev.id, "output", loss.id, "input")
    g.connect(first.id, "labels", loss.id, "target")
    side = g.add_node("batchnorm", (1300.0, 600.0))
    g.connect(g.nodes[4].id, "output", side.id, "input")
    return g


def make_view(qtbot, g: Graph, size=(520, 360)) -> QGraphicsView:
    scene = QGraphicsScene()
    for n in g.nodes:
        scene.addRect(QRectF(n.position[0], n.position[1], W, H), QPen(QColor("#888")),
                      QBrush(QColor("#fff")))
    scene.setSceneRect(scene.itemsBoundingRect().adjusted(-1500, -1500, 1500, 1500))
    view = QGraphicsView(scene)
    scene.setParent(view)  # keep the scene alive as long as the view
    view.resize(*size)
    qtbot.addWidget(view)
    return view


@pytest.fixture
def setup(qtbot):
    g = build_graph()
    view = make_view(qtbot, g)
    minimap = Minimap(g, view, parent=view)
    minimap.move(view.width() - minimap.width() - 10, view.height() - minimap.height() - 10)
    view.show()
    qtbot.waitExposed(view)
    view.centerOn(QPointF(0, 0))
    qtbot.waitUntil(lambda: minimap.paint_count > 0)
    return g, view, minimap


def centre_of(g: Graph, node_id: str) -> QPointF:
    x, y = g.node(node_id).position
    return QPointF(x + W / 2, y + H / 2)


def visible_centre(view: QGraphicsView) -> QPointF:
    return view.mapToScene(view.viewport().rect()).boundingRect().center()


def scale_of(minimap: Minimap) -> float:
    a = minimap.scene_to_map(QPointF(0, 0))
    b = minimap.scene_to_map(QPointF(1000, 0))
    return (b.x() - a.x()) / 1000


def send_mouse(widget: QWidget, kind: QEvent.Type, pos: QPointF,
               buttons: Qt.MouseButton) -> None:
    """A mouse event with buttons held (QTest's mouseMove does not hold any)."""
    event = QMouseEvent(kind, pos, widget.mapToGlobal(pos), Qt.MouseButton.LeftButton
                        if kind != QEvent.Type.MouseMove else Qt.MouseButton.NoButton,
                        buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def test_fixed_size_and_everything_fitted_inside(setup):
    g, view, minimap = setup
    assert minimap.size().width() == 200 and minimap.size().height() == 140
    inner = QRectF(minimap.rect()).adjusted(minimap.margin - 0.01, minimap.margin - 0.01,
                                            0.01 - minimap.margin, 0.01 - minimap.margin)
    for n in g.nodes:
        x, y = n.position
        for corner in (QPointF(x, y), QPointF(x + W, y + H)):
            assert inner.contains(minimap.scene_to_map(corner))
    seen = view.mapToScene(view.viewport().rect()).boundingRect()
    assert inner.contains(minimap.scene_to_map(seen.topLeft()))
    assert inner.contains(minimap.scene_to_map(seen.bottomRight()))
    # the aspect is kept: a scene square is a map square
    a, b = minimap.scene_to_map(QPointF(0, 0)), minimap.scene_to_map(QPointF(500, 500))
    assert b.x() - a.x() == pytest.approx(b.y() - a.y())


def test_scene_to_map_and_map_to_scene_are_inverse(setup):
    _, _, minimap = setup
    for p in (QPointF(0, 0), QPointF(1234.5, -77.25), QPointF(2860, 655), QPointF(-300, 900)):
        back = minimap.map_to_scene(minimap.scene_to_map(p))
        assert back.x() == pytest.approx(p.x()) and back.y() == pytest.approx(p.y())
    for q in (QPointF(0, 0), QPointF(100, 70), QPointF(199, 139)):
        back = minimap.scene_to_map(minimap.map_to_scene(q))
        assert back.x() == pytest.approx(q.x()) and back.y() == pytest.approx(q.y())


def test_click_centres_the_view_on_that_point(setup, qtbot):
    g, view, minimap = setup
    target = g.nodes[8].id
    goal = centre_of(g, target)
    assert (visible_centre(view) - goal).manhattanLength() > 1000
    tolerance = 1.5 / scale_of(minimap)  # a minimap pixel and a half, in scene units
    at = minimap.scene_to_map(goal).toPoint()
    qtbot.mouseClick(minimap, Qt.MouseButton.LeftButton, pos=at)
    centre = visible_centre(view)
    assert abs(centre.x() - goal.x()) < tolerance and abs(centre.y() - goal.y()) < tolerance


def test_drag_follows_the_mouse_with_a_still_map(setup, qtbot):
    g, view, minimap = setup
    start = minimap.scene_to_map(centre_of(g, g.nodes[2].id))
    end = minimap.scene_to_map(centre_of(g, g.nodes[9].id))
    send_mouse(minimap, QEvent.Type.MouseButtonPress, start, Qt.MouseButton.LeftButton)
    steps = 6
    for i in range(1, steps + 1):
        p = start + (end - start) * (i / steps)
        send_mouse(minimap, QEvent.Type.MouseMove, p, Qt.MouseButton.LeftButton)
        qtbot.wait(1)
        # the map does not rescale under the mouse while dragging
        assert minimap.scene_to_map(centre_of(g, g.nodes[9].id)) == end
    send_mouse(minimap, QEvent.Type.MouseButtonRelease, end, Qt.MouseButton.NoButton)
    goal = centre_of(g, g.nodes[9].id)
    tolerance = 1.5 / scale_of(minimap)
    centre = visible_centre(view)
    assert abs(centre.x() - goal.x()) < tolerance and abs(centre.y() - goal.y()) < tolerance


def test_repaints_after_graph_edits_coalesced(setup, qtbot):
    g, _, minimap = setup
    qtbot.wait(20)
    before = minimap.paint_count
    far = g.add_node("tanh", (6000.0, 2500.0))
    qtbot.waitUntil(lambda: minimap.paint_count > before)
    # the new node is in the fitted area
    assert minimap.rect().contains(minimap.scene_to_map(centre_of(g, far.id)).toPoint())
    # fifty edits in one go: one repaint, not fifty
    qtbot.wait(20)
    before = minimap.paint_count
    for i in range(50):
        g.move_node(far.id, (6000.0 + i, 2500.0))
    qtbot.waitUntil(lambda: minimap.paint_count > before)
    qtbot.wait(30)
    assert minimap.paint_count - before <= 2
    # removal, wires and a reset count too
    for edit in (lambda: g.remove_node(far.id),
                 lambda: g.disconnect(g.edges[0]),
                 lambda: g.replace_with(build_graph())):
        before = minimap.paint_count
        edit()
        qtbot.waitUntil(lambda: minimap.paint_count > before)  # noqa: B023 - waited for at once


def test_repaints_when_the_view_scrolls_or_zooms(setup, qtbot):
    g, view, minimap = setup
    qtbot.wait(20)
    before = minimap.paint_count
    view.horizontalScrollBar().setValue(view.horizontalScrollBar().value() + 300)
    qtbot.waitUntil(lambda: minimap.paint_count > before)
    seen = view.mapToScene(view.viewport().rect()).boundingRect()
    width_on_map = seen.width() * scale_of(minimap)
    before = minimap.paint_count
    view.scale(0.5, 0.5)  # zoom out
    minimap.update_view()
    qtbot.waitUntil(lambda: minimap.paint_count > before)
    seen = view.mapToScene(view.viewport().rect()).boundingRect()
    assert seen.width() * scale_of(minimap) > width_on_map * 1.5


def test_small_pans_keep_the_map_still(setup, qtbot):
    """Panning a little does not rescale the map (the cached drawing is reused); a pan
    that takes the view outside the fitted area refits it."""
    g, view, minimap = setup
    probe = QPointF(1000, 300)
    before = minimap.scene_to_map(probe)
    count = minimap.paint_count
    view.horizontalScrollBar().setValue(view.horizontalScrollBar().value() + 60)
    qtbot.waitUntil(lambda: minimap.paint_count > count)
    assert minimap.scene_to_map(probe) == before
    view.centerOn(QPointF(-9000, -6000))
    count = minimap.paint_count
    minimap.update_view()
    qtbot.waitUntil(lambda: minimap.paint_count > count)
    assert minimap.scene_to_map(probe) != before
    seen = view.mapToScene(view.viewport().rect()).boundingRect()
    assert minimap.rect().contains(minimap.scene_to_map(seen.topLeft()).toPoint())


def test_set_graph_and_deleted_minimap(qtbot):
    g = build_graph()
    view = make_view(qtbot, g)
    holder = QWidget()
    minimap = Minimap(g, view, parent=holder)
    other = Graph()
    other.add_node("input", (10_000.0, 10_000.0))
    minimap.set_graph(other)
    p = minimap.scene_to_map(QPointF(10_000 + W / 2, 10_000 + H / 2))
    assert minimap.rect().contains(p.toPoint())
    minimap.set_graph(g)
    holder.deleteLater()
    qtbot.waitUntil(lambda: not _alive(minimap))
    # editing the graph after the minimap is gone must not raise
    g.add_node("relu", (0.0, 900.0))
    g.add_node("relu", (0.0, 1200.0))
    assert minimap.graph is None  # it stopped following the graph


def _alive(widget: QWidget) -> bool:
    try:
        widget.objectName()
        return True
    except RuntimeError:
        return False


def test_sizes_mapping_or_function(qtbot):
    g = build_graph()
    view = make_view(qtbot, g)
    big = {g.nodes[0].id: (2000.0, 2000.0)}
    minimap = Minimap(g, view, sizes=big)
    qtbot.addWidget(minimap)
    far = minimap.scene_to_map(QPointF(1990, 1990))
    assert minimap.rect().contains(far.toPoint())
    minimap.set_sizes(lambda node: (50.0, 50.0))
    assert minimap.map_to_scene(minimap.scene_to_map(QPointF(3, 4))).x() == pytest.approx(3)


def test_example_renders_nodes_in_category_colours(qtbot, tmp_path):
    g = load_graph(example_path("spiral_relu"))
    view = make_view(qtbot, g, size=(700, 450))
    minimap = Minimap(g, view, parent=view)
    minimap.move(view.width() - minimap.width() - 12, view.height() - minimap.height() - 12)
    view.show()
    qtbot.waitExposed(view)
    first = g.nodes[0]
    view.centerOn(centre_of(g, first.id))
    qtbot.waitUntil(lambda: minimap.paint_count > 0)
    qtbot.wait(20)
    image = minimap.grab().toImage()
    image.save(str(tmp_path / "minimap.png"))
    for node in g.nodes:
        p = minimap.scene_to_map(centre_of(g, node.id)) * image.devicePixelRatio()
        want = QColor(CATEGORY_COLORS[node.type.category])
        got = image.pixelColor(p.toPoint())
        if minimap.visible_rect().contains(centre_of(g, node.id)):
            assert abs(got.red() - want.red()) <= 8, (node.name, got.name(), want.name())
            assert abs(got.green() - want.green()) <= 8
            assert abs(got.blue() - want.blue()) <= 8
        else:  # off screen: veiled, but still clearly that hue
            assert got.hue() == pytest.approx(want.hue(), abs=25) or want.saturation() < 40
    # a background pixel is not a node colour
    corner = image.pixelColor(QPoint(4, minimap.height() // 2))
    assert corner.name() not in {QColor(c).name() for c in CATEGORY_COLORS.values()}
