"""The window's minimap: in the view's bottom-right corner, shown only while part of the
network is out of view and View → Minimap is on (app/minimap_corner.py)."""

from __future__ import annotations

from app.minimap_corner import MARGIN
from app.resources import examples_dir


def test_minimap_sits_in_the_corner_and_shows_only_when_needed(window, qtbot):
    assert window.open_file(examples_dir() / "digits_mlp.json")
    window.view.set_zoom(2.0)  # part of the network out of view
    qtbot.waitUntil(lambda: window.minimap.isVisible(), timeout=5000)
    vp = window.view.viewport().geometry()
    geo = window.minimap.geometry()
    assert (geo.left(), geo.top()) == (vp.right() - geo.width() - MARGIN,
                                       vp.bottom() - geo.height() - MARGIN)
    window.resize(1100, 700)  # follows the view's corner
    qtbot.waitUntil(lambda: window.view.viewport().geometry() != vp, timeout=5000)
    vp = window.view.viewport().geometry()
    geo = window.minimap.geometry()
    assert (geo.left(), geo.top()) == (vp.right() - geo.width() - MARGIN,
                                       vp.bottom() - geo.height() - MARGIN)
    window.act_minimap.trigger()  # View → Minimap off
    assert not window.act_minimap.isChecked() and not window.minimap.isVisible()
    window.act_minimap.trigger()
    assert window.minimap.isVisible()
    window.view.fit()  # everything in view: it would only cover the canvas
    qtbot.waitUntil(lambda: not window.minimap.isVisible(), timeout=5000)
