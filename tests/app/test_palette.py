"""The node palette: catalogue by category, search, add by double-click/Enter, drag data."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QMimeData, Qt
from PySide6.QtGui import QColor

from app.editor import palette as palette_module
from app.editor.palette import (MIME_TYPE, Palette, glyph_pixmap, mime_data, type_id_from_mime,
                                type_tooltip)
from app.theme import CATEGORY_COLORS
from nncore.graph import CATALOGUE, CATEGORIES

pytestmark = pytest.mark.gui

TYPE_ROLE = Qt.ItemDataRole.UserRole + 1


@pytest.fixture
def palette(qtbot):
    widget = Palette()
    qtbot.addWidget(widget)
    widget.resize(260, 600)
    widget.show()
    qtbot.waitExposed(widget, timeout=2000)
    return widget


def entry(palette: Palette, type_id: str):
    tree = palette.tree
    for i in range(tree.topLevelItemCount()):
        header = tree.topLevelItem(i)
        for j in range(header.childCount()):
            if header.child(j).data(0, TYPE_ROLE) == type_id:
                return header.child(j)
    raise AssertionError(f"no entry for {type_id}")


def test_every_type_under_its_category_in_catalogue_order(palette):
    tree = palette.tree
    headers = [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
    assert [h.text(0) for h in headers] == list(CATEGORIES)
    for header in headers:
        assert header.isExpanded()
        children = [header.child(j) for j in range(header.childCount())]
        expected = [t for t in CATALOGUE.values() if t.category == header.text(0)]
        assert [c.data(0, TYPE_ROLE) for c in children] == [t.type_id for t in expected]
        assert [c.text(0) for c in children] == [t.display_name for t in expected]
        for child, ntype in zip(children, expected):
            assert not child.icon(0).isNull()
            assert ntype.summary in child.toolTip(0)
    assert sorted(palette.type_ids_shown()) == sorted(CATALOGUE)
    assert set(CATEGORY_COLORS) == set(CATEGORIES)


def test_search_filters_case_insensitively_and_hides_empty_categories(palette, qtbot):
    assert palette.search.placeholderText() == "Search nodes…"
    assert palette.search.isClearButtonEnabled()
    qtbot.keyClicks(palette.search, "relu")
    assert palette.type_ids_shown() == ["relu", "leaky_relu"]
    visible = [palette.tree.topLevelItem(i).text(0) for i in range(palette.tree.topLevelItemCount())
               if not palette.tree.topLevelItem(i).isHidden()]
    assert visible == ["Activations"]

    palette.search.setText("LOSS")  # the losses, then the operators that write one by hand
    assert palette.type_ids_shown() == ["cross_entropy", "mse", "bce", "targets", "objective"]
    palette.search.setText("normalization")  # by category
    assert palette.type_ids_shown() == ["batchnorm"]
    palette.search.setText("residual")  # by summary
    assert palette.type_ids_shown() == ["add"]
    palette.search.setText("matmul")  # issue 10: the operators are found by what they are
    assert palette.type_ids_shown() == ["matmul"]
    palette.search.setText("leaky_relu")  # by type id
    assert palette.type_ids_shown() == ["leaky_relu"]
    palette.search.setText("zzz")
    assert palette.type_ids_shown() == []
    palette.search.clear()
    assert sorted(palette.type_ids_shown()) == sorted(CATALOGUE)
    assert all(not palette.tree.topLevelItem(i).isHidden()
               for i in range(palette.tree.topLevelItemCount()))


def test_enter_in_search_adds_the_first_match(palette, qtbot):
    qtbot.keyClicks(palette.search, "relu")
    with qtbot.waitSignal(palette.add_requested, timeout=1000) as blocker:
        qtbot.keyClick(palette.search, Qt.Key.Key_Return)
    assert blocker.args == ["relu"]


def test_double_click_and_enter_on_an_entry_emit_add_requested(palette, qtbot):
    item = entry(palette, "dense")
    rect = palette.tree.visualItemRect(item)
    with qtbot.waitSignal(palette.add_requested, timeout=1000) as blocker:
        qtbot.mouseDClick(palette.tree.viewport(), Qt.MouseButton.LeftButton,
                          pos=rect.center())
    assert blocker.args == ["dense"]

    palette.tree.setCurrentItem(entry(palette, "batchnorm"))
    with qtbot.waitSignal(palette.add_requested, timeout=1000) as blocker:
        qtbot.keyClick(palette.tree, Qt.Key.Key_Return)
    assert blocker.args == ["batchnorm"]


def test_double_click_on_a_category_adds_nothing(palette, qtbot):
    header = palette.tree.topLevelItem(0)
    rect = palette.tree.visualItemRect(header)
    with qtbot.assertNotEmitted(palette.add_requested, wait=50):
        qtbot.mouseDClick(palette.tree.viewport(), Qt.MouseButton.LeftButton,
                          pos=rect.center())


def test_mime_data_carries_the_type_id():
    data = mime_data("leaky_relu")
    assert data.hasFormat(MIME_TYPE)
    assert MIME_TYPE == "application/x-nncanvas-node-type"
    assert bytes(data.data(MIME_TYPE)) == "leaky_relu".encode("utf-8")
    assert data.text() == "leaky_relu"
    assert type_id_from_mime(data) == "leaky_relu"
    other = QMimeData()
    other.setText("dense")
    assert type_id_from_mime(other) is None  # plain text is not a palette drag
    unknown = QMimeData()
    unknown.setData(MIME_TYPE, b"no_such_type")
    assert type_id_from_mime(unknown) is None


def test_dragging_an_entry_starts_a_drag_with_the_type(palette, monkeypatch):
    started = {}

    class FakeDrag:
        def __init__(self, source):
            started["source"] = source

        def setMimeData(self, data):  # noqa: N802 - Qt API
            started["mime"] = data

        def setPixmap(self, pixmap):  # noqa: N802 - Qt API
            started["pixmap"] = pixmap

        def setHotSpot(self, point):  # noqa: N802 - Qt API
            pass

        def exec(self, *actions):
            started["actions"] = actions
            return Qt.DropAction.CopyAction

    monkeypatch.setattr(palette_module, "QDrag", FakeDrag)
    palette.tree.setCurrentItem(entry(palette, "concatenate"))
    palette.tree.startDrag(Qt.DropAction.CopyAction)
    assert started["source"] is palette.tree
    assert bytes(started["mime"].data(MIME_TYPE)) == b"concatenate"
    assert not started["pixmap"].isNull()
    assert started["actions"][0] == Qt.DropAction.CopyAction


def test_glyph_icon_is_drawn_in_the_category_colour():
    for type_id, ntype in CATALOGUE.items():
        pixmap = glyph_pixmap(type_id, 24)
        assert pixmap.width() == 24 and not pixmap.isNull()
        image = pixmap.toImage()
        # the top edge, inside the border, away from the glyph and the corners
        assert image.pixelColor(12, 2) == QColor(CATEGORY_COLORS[ntype.category])
    sharp = glyph_pixmap("dense", 20, 2.0)
    assert sharp.width() == 40 and sharp.devicePixelRatio() == 2.0


def test_tooltip_has_bold_summary_and_learner_text_with_a_width():
    tip = type_tooltip(CATALOGUE["dense"])
    assert "<b>Fully connected layer: y = x W^T + b (PyTorch's Linear).</b>" in tip
    assert "Every output unit is a weighted sum" in tip
    assert "width=" in tip
    # text is escaped: "x < 0" in a learner text can never become a tag
    # (a node type is a class: a subclass with another learner text, not registered)
    odd = type("OddReLU", (type(CATALOGUE["relu"]),), {"learn": "0 for x <b and x>a"})()
    assert "0 for x &lt;b and x&gt;a" in type_tooltip(odd)


def test_down_moves_from_search_to_the_list_and_escape_clears(palette, qtbot):
    qtbot.keyClicks(palette.search, "norm")
    qtbot.keyClick(palette.search, Qt.Key.Key_Down)
    assert palette.tree.currentItem() is entry(palette, "batchnorm")
    qtbot.keyClick(palette.search, Qt.Key.Key_Escape)
    assert palette.search.text() == ""
    assert sorted(palette.type_ids_shown()) == sorted(CATALOGUE)


def test_every_entry_name_shows_whole_in_the_window(window):
    """The palette dock opens wide enough for its longest name ("Binary Cross-Entropy"),
    not cut to "Binary Cross-Entro…": the text rectangle the style draws each entry's
    name in holds the whole name."""
    from PySide6.QtWidgets import QStyle, QStyleOptionViewItem

    tree = window.palette.tree
    fm = tree.fontMetrics()
    names = []
    for header in window.palette._categories:
        for i in range(header.childCount()):
            entry = header.child(i)
            tree.scrollToItem(entry)  # in sight: its rectangle is the one drawn
            index = tree.indexFromItem(entry)
            option = QStyleOptionViewItem()
            tree.itemDelegate().initStyleOption(option, index)
            option.rect = tree.visualRect(index).intersected(tree.viewport().rect())
            text = tree.style().subElementRect(QStyle.SubElement.SE_ItemViewItemText,
                                               option, tree)
            need = fm.horizontalAdvance(entry.text(0))
            names.append(entry.text(0))
            assert text.width() >= need, (entry.text(0), text.width(), need)
            assert text.left() + need <= tree.viewport().width(), entry.text(0)
    assert "Binary Cross-Entropy" in names
    # with room for the scroll bar and the style's padding, whatever the font
    assert window.palette.tree.width() >= window.palette.entries_width() - 8
