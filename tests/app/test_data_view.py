"""The Data tab (app/plots/data_view.py): what it draws of a dataset, number by number,
and that the window keeps it on the project's current dataset (issue 11)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QColor

from app.plots.base import CLASS_COLORS, legend_labels
from app.plots.data_view import (GRID, MAX_SCATTER_POINTS, DataView, class_counts,
                                 feature_edges, grid_rows, image_shape, scatter_rows)
from app.resources import example_path
from nncore.data import Dataset, load_dataset

WAIT = 5000


def choose(combo, data) -> None:
    """Pick the item holding ``data`` as a user does (``activated``)."""
    index = combo.findData(data)
    assert index >= 0, data
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


@pytest.fixture
def view(qtbot):
    v = DataView()
    qtbot.addWidget(v)
    v.resize(900, 700)
    v.show()
    qtbot.waitExposed(v, timeout=WAIT)
    return v


def shown(widget) -> bool:
    return not widget.isHidden()


# ---------------------------------------------------------------------- the pieces
def test_image_shape_from_pixel_names():
    assert image_shape(load_dataset("digits")) == (8, 8)
    assert image_shape(load_dataset("iris")) is None
    assert image_shape(None) is None
    X = np.zeros((3, 6), np.float32)
    y = np.array([0, 1, 0])
    names = [f"pixel_{r}_{c}" for r in range(2) for c in range(3)]
    assert image_shape(Dataset(X, y, "t", ["a", "b"], names)) == (2, 3)
    # out of order, or a missing pixel: not a picture
    assert image_shape(Dataset(X, y, "t", ["a", "b"], names[::-1])) is None
    assert image_shape(Dataset(X[:, :5], y, "t", ["a", "b"], names[:5])) is None
    # MNIST tables: pixel0 ... pixel783 (Kaggle) or pixel1 ... pixel784 (OpenML)
    X = np.zeros((2, 784), np.float32)
    y = np.array([0, 1])
    for first in (0, 1):
        flat = [f"pixel{i}" for i in range(first, first + 784)]
        assert image_shape(Dataset(X, y, "mnist", ["a", "b"], flat)) == (28, 28)
    flat = [f"pixel{i}" for i in range(783)] + ["label2"]
    assert image_shape(Dataset(X, y, "mnist", ["a", "b"], flat)) is None
    assert image_shape(Dataset(X[:, :783], y, "m", ["a", "b"], flat[:783])) is None


def test_feature_edges():
    # whole numbers: one bin per value, centred on it
    np.testing.assert_array_equal(feature_edges([0, 1, 1, 16]), np.arange(-0.5, 17.0))
    edges = feature_edges(np.linspace(0, 1, 1000))
    assert 2 <= len(edges) - 1 <= 30 and edges[0] == 0 and edges[-1] == 1
    np.testing.assert_array_equal(feature_edges([2.5, 2.5]), [2.0, 3.0])
    np.testing.assert_array_equal(feature_edges([np.nan]), [0.0, 1.0])


def test_scatter_rows_and_grid_rows():
    np.testing.assert_array_equal(scatter_rows(10), np.arange(10))
    rows = scatter_rows(20_000)
    assert len(rows) == MAX_SCATTER_POINTS and len(set(rows)) == MAX_SCATTER_POINTS
    assert np.all(np.diff(rows) > 0)
    np.testing.assert_array_equal(rows, scatter_rows(20_000))  # the same sample each time
    digits = load_dataset("digits")
    picked = grid_rows(digits)
    assert len(picked) == GRID[0] * GRID[1]
    # the classes in turn: 0, 1, ..., 9, 0, 1, ...
    np.testing.assert_array_equal(digits.y[picked], np.arange(len(picked)) % 10)


# ---------------------------------------------------------------------- the view
@pytest.mark.parametrize("name", ["iris", "digits"])
def test_counts_are_bincount_with_class_names(view, name):
    data = load_dataset(name)
    view.set_dataset(data)
    expected = np.bincount(data.y, minlength=data.num_classes)
    np.testing.assert_array_equal(view.bar_counts(), expected)
    np.testing.assert_array_equal(class_counts(data), expected)
    np.testing.assert_array_equal(view.counts_bars.opts["y"], np.arange(data.num_classes))
    assert view.count_labels() == data.classes  # strings: "setosa", ..., or "0", ..., "9"
    assert [t.toPlainText().strip() for t in view.count_texts] == [f"{c:,}" for c in expected]
    assert view.stack.currentWidget() is view.content
    assert "whole dataset" in view.caption.text()
    assert f"{data.n_samples:,} samples" in view.caption.text()


def test_feature_histogram_follows_the_combo(view):
    data = load_dataset("iris")
    view.set_dataset(data)
    assert view.hist_combo.count() == 4
    assert [view.hist_combo.itemText(i) for i in range(4)] == data.feature_names
    for col in (1, 3):
        view.hist_combo.setCurrentIndex(col)
        edges, counts = view.histogram_data()
        expected, _ = np.histogram(data.X[:, col], edges)
        np.testing.assert_array_equal(counts, expected)
        np.testing.assert_array_equal(edges, feature_edges(data.X[:, col]))
        assert counts.sum() == data.n_samples
        assert view.hist_plot.getAxis("bottom").labelText == data.feature_names[col]
    # digits' pixels are whole numbers 0-16: one bin per value
    digits = load_dataset("digits")
    view.set_dataset(digits)
    view.hist_combo.setCurrentText("pixel_3_3")
    edges, counts = view.histogram_data()
    np.testing.assert_array_equal(edges, np.arange(-0.5, 17.0))
    np.testing.assert_array_equal(counts, np.bincount(
        digits.X[:, digits.feature_names.index("pixel_3_3")].astype(int), minlength=17))


def test_scatter_one_colour_group_per_class_at_the_chosen_columns(view):
    data = load_dataset("iris")
    view.set_dataset(data)
    view.x_combo.setCurrentText("petal length (cm)")
    view.y_combo.setCurrentText("sepal width (cm)")
    assert sorted(view.scatters) == [0, 1, 2]
    assert legend_labels(view.legend) == data.classes
    for k, item in view.scatters.items():
        x, y = item.getData()
        mask = data.y == k
        np.testing.assert_array_equal(x, data.X[mask, 2])
        np.testing.assert_array_equal(y, data.X[mask, 1])
        color = item.opts["brush"].color()
        assert color.rgb() == QColor(CLASS_COLORS[k]).rgb()
    assert view.scatter_plot.getAxis("bottom").labelText == "petal length (cm)"
    assert view.scatter_plot.getAxis("left").labelText == "sepal width (cm)"
    # by default the two columns of most variance (for the digits: no blank corner pixel)
    digits = load_dataset("digits")
    view.set_dataset(digits)
    var = digits.X.var(axis=0)
    assert view.x_combo.currentIndex() == int(np.argmax(var))
    assert var[view.y_combo.currentIndex()] > 0
    assert sorted(view.scatters) == list(range(10))
    assert legend_labels(view.legend) == digits.classes


def test_scatter_draws_at_most_5000_points_of_the_data(view):
    rng = np.random.default_rng(1)
    n = 12_000
    X = rng.normal(size=(n, 3)).astype(np.float32)
    y = rng.integers(0, 3, n)
    data = Dataset(X, y, "big", ["a", "b", "c"], ["f0", "f1", "f2"])
    view.set_dataset(data)
    view.x_combo.setCurrentIndex(2)
    view.y_combo.setCurrentIndex(0)
    rows = scatter_rows(n)
    total = 0
    for k, item in view.scatters.items():
        x, yy = item.getData()
        total += len(x)
        chosen = rows[y[rows] == k]
        np.testing.assert_array_equal(x, X[chosen, 2])
        np.testing.assert_array_equal(yy, X[chosen, 0])
    assert total == MAX_SCATTER_POINTS
    assert "5,000 of 12,000" in view.scatter_plot.titleLabel.text


def test_digits_show_pictures_iris_does_not(view):
    digits = load_dataset("digits")
    view.set_dataset(digits)
    assert shown(view.images_box)
    picked = grid_rows(digits)
    assert view.image_texts() == [digits.classes[k] for k in digits.y[picked]]
    mosaic = view.image.image
    # the first picture is row picked[0] as 8 x 8 pixels, the second beside it after a gap
    np.testing.assert_array_equal(mosaic[:8, :8], digits.X[picked[0]].reshape(8, 8))
    np.testing.assert_array_equal(mosaic[:8, 9:17], digits.X[picked[1]].reshape(8, 8))
    assert np.isnan(mosaic[:8, 8]).all()
    assert "8×8 pictures" in view.caption.text()
    view.set_dataset(load_dataset("iris"))
    assert not shown(view.images_box)
    assert view.image_texts() == []
    # the scatter takes the whole row then
    assert view._grid.getItemPosition(view._grid.indexOf(view.scatter_box)) == (1, 0, 1, 2)


def test_regression_shows_a_target_histogram(view):
    data = load_dataset("sine")
    view.set_dataset(data)
    assert not view.counts_bars.isVisible() and len(view.bar_counts()) == 0
    x, counts = view.target_curve.xData, view.target_curve.yData
    expected, _ = np.histogram(data.y[:, 0], x)
    np.testing.assert_array_equal(counts, expected)
    assert counts.sum() == data.n_samples
    assert view.counts_plot.titleLabel.text.startswith("Target")
    # one feature: drawn against the target, in one colour
    assert view.y_combo.currentText() == "target"
    x, y = view.scatters[0].getData()
    np.testing.assert_array_equal(x, data.X[:, 0])
    np.testing.assert_array_equal(y, data.y[:, 0])
    assert not view.legend.isVisible()
    # back to classes: bars again
    view.set_dataset(load_dataset("iris"))
    np.testing.assert_array_equal(view.bar_counts(), [50, 50, 50])
    assert view.target_curve.xData is None or len(view.target_curve.xData) == 0


def test_no_data_shows_a_placeholder(view):
    view.set_dataset(None)
    assert view.stack.currentWidget() is view.placeholder
    assert "No dataset" in view.placeholder.text()
    empty = Dataset(np.zeros((0, 2), np.float32), np.zeros(0, np.int64), "empty",
                    ["a", "b"], ["x1", "x2"])
    view.set_dataset(empty)
    assert view.stack.currentWidget() is view.placeholder
    assert "no samples" in view.placeholder.text()

    def broken():
        raise ValueError("data.csv: line 3: not a number")

    view.set_source(broken)
    view.draw_now()
    assert view.stack.currentWidget() is view.placeholder
    assert "line 3: not a number" in view.placeholder.text()
    view.set_dataset(load_dataset("iris"))
    assert view.stack.currentWidget() is view.content


def test_dark_theme_keeps_the_numbers(view, qtbot):
    data = load_dataset("digits")
    view.set_dataset(data)
    before = view.draw_count
    view.apply_theme("dark")
    qtbot.waitUntil(lambda: view.draw_count == before + 1, timeout=WAIT)
    assert view.image_labels[0].color.name() == QColor(view.colors.foreground).name()
    assert view.counts_widget.backgroundBrush().color() != QColor("#ffffff")
    np.testing.assert_array_equal(view.bar_counts(), np.bincount(data.y))
    assert view.image_texts()[:3] == ["0", "1", "2"]


def test_hidden_view_draws_only_when_shown(qtbot):
    v = DataView()
    qtbot.addWidget(v)
    calls = []
    iris = load_dataset("iris")

    def source():
        calls.append(1)
        return iris

    v.set_source(source)
    v.data_changed()
    qtbot.wait(20)
    assert calls == [] and v.draw_count == 0  # out of sight: not even loaded
    v.show()
    qtbot.waitUntil(lambda: v.draw_count == 1, timeout=WAIT)
    np.testing.assert_array_equal(v.bar_counts(), [50, 50, 50])
    v.data_changed()  # the same dataset object: nothing redrawn
    qtbot.waitUntil(lambda: len(calls) == 2, timeout=WAIT)
    assert v.draw_count == 1
    v.hide()
    v.apply_theme("dark")  # out of sight: restyled when shown again
    qtbot.wait(20)
    assert v.draw_count == 1
    v.show()
    qtbot.waitUntil(lambda: v.draw_count == 2, timeout=WAIT)


# ---------------------------------------------------------------------- in the window
def data_tab(window, qtbot):
    window.show_plots()
    assert window.plots.show_tab("data")
    view = window.plots.data
    qtbot.waitUntil(view.isVisible, timeout=WAIT)
    return view


def test_switching_the_dataset_in_the_window_updates_the_tab(window, qtbot, tmp_path):
    assert window.open_file(example_path("digits_mlp"))
    view = data_tab(window, qtbot)
    qtbot.waitUntil(lambda: view.data is not None and view.data.name == "digits",
                    timeout=WAIT)
    assert shown(view.images_box)
    np.testing.assert_array_equal(view.bar_counts(), np.bincount(load_dataset("digits").y))
    panel = window.training_panel
    choose(panel.source_combo, "builtin:iris")
    qtbot.waitUntil(lambda: view.data is not None and view.data.name == "iris", timeout=WAIT)
    np.testing.assert_array_equal(view.bar_counts(), [50, 50, 50])
    assert view.count_labels() == ["setosa", "versicolor", "virginica"]
    assert not shown(view.images_box)
    # undo goes back to the digits
    window.document.undo_stack.undo()
    qtbot.waitUntil(lambda: view.data.name == "digits", timeout=WAIT)
    # a CSV file with named classes
    csv = tmp_path / "pets.csv"
    csv.write_text("weight,height,kind\n" + "\n".join(
        f"{i % 7},{i % 5},{['cat', 'dog', 'bird'][i % 3]}" for i in range(30)) + "\n")
    panel.choose_file = lambda parent, kind, start: str(csv)
    choose(panel.source_combo, "csv")
    qtbot.waitUntil(lambda: view.data is not None and view.data.name == "pets", timeout=WAIT)
    assert sorted(view.count_labels()) == ["bird", "cat", "dog"]
    np.testing.assert_array_equal(view.bar_counts(), [10, 10, 10])
    assert [view.hist_combo.itemText(i) for i in range(2)] == ["weight", "height"]
    # another example replaces the project: its dataset
    assert window.open_file(example_path("sine_regression"))
    qtbot.waitUntil(lambda: view.data is not None and view.data.name == "sine", timeout=WAIT)
    assert view.counts_plot.titleLabel.text.startswith("Target")


def test_the_tab_out_of_sight_costs_nothing(window, qtbot):
    assert window.open_file(example_path("digits_mlp"))
    window.show_plots()
    window.plots.show_tab("loss")
    view = window.plots.data
    before = view.draw_count
    choose(window.training_panel.source_combo, "builtin:wine")
    qtbot.wait(50)
    assert view.draw_count == before  # hidden: not drawn
    window.plots.show_tab("data")
    qtbot.waitUntil(lambda: view.data is not None and view.data.name == "wine", timeout=WAIT)
    assert view.count_labels() == ["class_0", "class_1", "class_2"]


def test_many_classes_name_every_nth_bar_and_cut_long_names(view):
    rng = np.random.default_rng(2)
    n, k = 3000, 60
    X = rng.normal(size=(n, 2)).astype(np.float32)
    y = rng.integers(0, k, n)
    classes = [f"a rather long class name {i}" for i in range(k)]
    view.set_dataset(Dataset(X, y, "many", classes, ["f0", "f1"]))
    np.testing.assert_array_equal(view.bar_counts(), np.bincount(y, minlength=k))
    labels = view.count_labels()
    assert len(labels) == k
    named = [i for i, t in enumerate(labels) if t]
    step = named[1] - named[0]
    assert named == list(range(0, k, step)) and step > 1
    assert all(len(labels[i]) <= 18 and labels[i].endswith("…") for i in named)
    assert len(view.count_texts) == len(named)
    # the scatter: the 12 largest classes in colour, the others as one grey group
    assert len(view.scatters) == 13
    assert legend_labels(view.legend)[-1] == "48 other classes"
    assert sum(len(s.getData()[0]) for s in view.scatters.values()) == n
