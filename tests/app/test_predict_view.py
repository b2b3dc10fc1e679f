"""The Predict and Misclassified tabs (issue 12, "Using"), driven in the window: a model
trained with the Train button, samples picked, typed, drawn with real mouse events and
clicked on the decision boundary and the confusion matrix, each compared with the
model's own predictions (:meth:`nncore.project.TrainingRun.predict_proba`)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from app.editor.commands import SetSettings
from app.plots.misclassified import LIMIT
from app.plots.trained import NO_MODEL
from app.resources import examples_dir
from nncore.tensor import Tensor, no_grad

EXAMPLES = examples_dir()
WAIT = 60_000
pytestmark = pytest.mark.gui


def set_training(window, **values) -> None:
    graph = window.document.graph
    training = {**graph.settings.get("training", {}), **values}
    window.document.push(SetSettings(graph, {**graph.settings, "training": training}))
    window.training_panel.refresh_now()


def train(window, qtbot, example: str, epochs: int):
    assert window.open_file(EXAMPLES / f"{example}.json")
    set_training(window, epochs=epochs)
    with qtbot.waitSignal(window.controller.run_finished, timeout=WAIT):
        QTest.mouseClick(window.training_panel.train_button, Qt.LeftButton)
    trained = window.controller.trained_run()
    assert trained is not None
    return trained[1]


@pytest.fixture
def digits(window, qtbot):
    run = train(window, qtbot, "digits_mlp", 2)
    yield window, run
    window.controller.shutdown(5.0)


def show(window, tab: str):
    assert window.plots.show_tab(tab)
    view = window.plots.tabs.currentWidget()
    view.draw_now()
    return view


def eval_probabilities(run, X_std: np.ndarray) -> np.ndarray:
    """The training path's evaluation: the compiled model in eval mode on standardized
    rows, its probabilities."""
    model = run.model
    was = model.training
    model.eval()
    try:
        with no_grad():
            return model.probabilities(model(Tensor(X_std)).data)
    finally:
        model.train(was)


def test_no_model_shows_train_first(window):
    view = show(window, "predict")
    assert view.stack.currentWidget() is view.placeholder
    assert view.placeholder.text() == NO_MODEL and view.placeholder.text().startswith("Train first")
    gallery = show(window, "misclassified")
    assert gallery.placeholder.text().startswith("Train first")
    assert len(gallery.indices) == 0


def test_predict_a_validation_index(digits, qtbot):
    w, run = digits
    view = show(w, "predict")
    assert view.stack.currentWidget() is view.content
    k = 17
    view.index_spin.setValue(k)
    assert view.index == k and view.true == run.split.y_val[k]
    expected = eval_probabilities(run, run.split.X_val[k:k + 1])[0]
    np.testing.assert_allclose(view.output, expected, rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(view.output, run.predict_proba(run.data.X[run.split.val_index[k]]
                                                                 [None])[0])
    np.testing.assert_allclose(view.output, eval_probabilities(run, run.split.X_val)[k],
                               rtol=1e-5, atol=1e-7)
    # the bars: every class, its probability, the true class named
    assert view.bar_classes() == list(range(10))
    np.testing.assert_array_equal(view.bar_values(), view.output)
    labels = view.bar_labels()
    true = int(run.split.y_val[k])
    assert labels[true] == f"{true} (true)"
    assert sum(label.endswith("(true)") for label in labels) == 1
    pred = int(np.argmax(expected))
    assert view.predicted == pred and f"predicted: <b>{pred}</b>" in view.result.text()


def test_typed_raw_features_equal_the_dataset_row(digits, qtbot):
    w, run = digits
    view = show(w, "predict")
    k = 5
    raw = run.data.X[run.split.val_index[k]]
    view.inputs.setCurrentWidget(view.table)
    view.show_validation(0)
    for i, v in enumerate(raw):  # typed value by value, as a user does
        view.table.item(i, 1).setText(f"{v:g}")
    np.testing.assert_array_equal(view.features, raw.astype(np.float64))
    assert view.index is None and view.origin == "Typed values"
    np.testing.assert_array_equal(view.output, run.predict_proba(raw[None])[0])
    np.testing.assert_allclose(view.output, eval_probabilities(run, run.split.X_val[k:k + 1])[0],
                               rtol=1e-6, atol=1e-9)
    # a value that is not a number is said, never raised
    view.table.item(3, 1).setText("abc")
    assert "pixel_0_3" in view.error and "not a number" in view.caption.text()


def test_drawing_on_the_pad_predicts_the_drawn_pixels(digits, qtbot):
    w, run = digits
    view = show(w, "predict")
    view.inputs.setCurrentWidget(view.pad_page)
    pad = view.pad
    qtbot.waitUntil(lambda: pad.width() > 100, timeout=5000)
    pad.clear()
    assert pad.shape == (8, 8) and pad.top == 16.0
    # a vertical stroke down column 4, rows 1..6, by real mouse events
    QTest.mousePress(pad, Qt.LeftButton, Qt.NoModifier, pad.cell_center(1, 4))
    for r in range(2, 7):
        QTest.mouseMove(pad, pad.cell_center(r, 4))
    QTest.mouseRelease(pad, Qt.LeftButton, Qt.NoModifier, pad.cell_center(6, 4))
    assert all(pad.values[r, 4] == 16 for r in range(1, 7))
    assert pad.values[0, 4] == 6 and pad.values[3, 3] == 6 and pad.values[3, 5] == 6
    assert pad.values[7, 4] == 6 and pad.values[3, 2] == 0 and pad.values[7, 3] == 0
    assert np.count_nonzero(pad.values) == 6 + 2 * 6 + 2
    qtbot.waitUntil(lambda: view.origin == "Drawn on the pad"
                    and np.array_equal(view.features, pad.values.ravel()), timeout=5000)
    np.testing.assert_array_equal(view.output, run.predict_proba(pad.values.ravel()[None])[0])
    assert view.true is None and not any(s.endswith("(true)") for s in view.bar_labels())
    # the right button erases
    QTest.mousePress(pad, Qt.RightButton, Qt.NoModifier, pad.cell_center(3, 4))
    QTest.mouseRelease(pad, Qt.RightButton, Qt.NoModifier, pad.cell_center(3, 4))
    assert pad.values[3, 4] == 0
    qtbot.waitUntil(lambda: view.features[3 * 8 + 4] == 0, timeout=5000)
    np.testing.assert_array_equal(view.output, run.predict_proba(pad.values.ravel()[None])[0])
    QTest.mouseClick(view.clear_button, Qt.LeftButton)
    assert not pad.values.any()
    qtbot.waitUntil(lambda: not view.features.any(), timeout=5000)


def test_the_gallery_holds_the_misclassified_validation_samples(digits, qtbot):
    w, run = digits
    gallery = show(w, "misclassified")
    p = eval_probabilities(run, run.split.X_val)
    wrong = np.flatnonzero(p.argmax(axis=1) != run.split.y_val)
    assert len(wrong) > 0
    assert sorted(gallery.indices.tolist()) == wrong.tolist()
    conf = gallery.model.val_confidence()[gallery.indices]
    assert np.all(np.diff(conf) <= 0)  # most confident mistake first
    np.testing.assert_allclose(conf, p.max(axis=1)[gallery.indices], rtol=1e-5)
    assert len(gallery.tiles) == min(len(wrong), LIMIT)
    i = int(gallery.indices[0])
    pred = int(np.argmax(p[i]))
    assert gallery.tiles[0].text() == f"{run.split.y_val[i]} → {pred}\n{100 * p[i, pred]:.0f}%"
    assert f"{len(wrong):,} of {len(run.split.y_val):,}" in gallery.caption.text()
    # a tile opens the sample in Predict
    QTest.mouseClick(gallery.tiles[0], Qt.LeftButton)
    assert w.plots.tabs.currentWidget() is w.plots.predict
    assert w.plots.predict.index == i and w.plots.predict.predicted == pred


def test_a_confusion_cell_click_shows_that_cell(digits, qtbot):
    w, run = digits
    w.plots.show_tab("confusion")
    w.plots.redraw_now()
    cm = w.plots.confusion
    assert cm.matrix is not None
    p = run.predict_proba(run.data.X[run.split.val_index])
    y = run.split.y_val
    pred = p.argmax(axis=1)
    # the most frequent mistake's cell, clicked at its centre
    off = cm.matrix.copy()
    np.fill_diagonal(off, 0)
    t, q = np.unravel_index(int(np.argmax(off)), off.shape)
    for true, predicted in ((int(t), int(q)), (3, 3)):
        scene = cm.plot.vb.mapViewToScene(QPointF(predicted + 0.5, true + 0.5))
        pos = cm.widget.mapFromScene(scene)
        QTest.mouseClick(cm.widget.viewport(), Qt.LeftButton, Qt.NoModifier, pos)
        gallery = w.plots.misclassified
        assert w.plots.tabs.currentWidget() is gallery
        assert gallery.cell == (true, predicted)
        expected = np.flatnonzero((y == true) & (pred == predicted))
        assert sorted(gallery.indices.tolist()) == expected.tolist()
        assert gallery.caption.text().startswith(f"Cell true {true}")
        assert gallery.back_button.isVisible()
        w.plots.show_tab("confusion")
    assert "(correct)" in gallery.caption.text()
    QTest.mouseClick(gallery.back_button, Qt.LeftButton)
    assert gallery.cell is None
    assert sorted(gallery.indices.tolist()) == np.flatnonzero(pred != y).tolist()


def test_step_through_a_sample(digits, qtbot):
    w, run = digits
    gallery = show(w, "misclassified")
    assert not gallery.step_button.isEnabled()
    QTest.mouseClick(gallery.tiles[1], Qt.LeftButton)
    k = int(gallery.indices[1])
    w.plots.show_tab("misclassified")
    QTest.mouseClick(gallery.step_button, Qt.LeftButton)
    panel = w.stepthrough
    assert w.stepthrough_dock.isVisible()
    assert panel.step is not None
    np.testing.assert_array_equal(panel.step.x, run.split.X_val[k:k + 1])
    assert panel.part_combo.currentData() == "val" and panel.size_spin.value() == 1
    assert panel.mode_combo.currentData() is False
    # from Predict too
    predict = show(w, "predict")
    predict.show_validation(9)
    QTest.mouseClick(predict.step_button, Qt.LeftButton)
    np.testing.assert_array_equal(panel.step.x, run.split.X_val[9:10])


def test_an_edited_network_makes_the_model_stale(digits, qtbot):
    w, run = digits
    set_training(w, epochs=3)
    view = show(w, "predict")
    assert view.stack.currentWidget() is view.placeholder
    assert "stale" in view.placeholder.text()
    w.document.undo_stack.undo()
    view.draw_now()
    assert view.stack.currentWidget() is view.content


def test_a_boundary_click_on_moons_sets_the_two_features(window, qtbot):
    run = train(window, qtbot, "moons_tanh", 3)
    try:
        window.plots.show_tab("boundary")
        window.plots.redraw_now()
        b = window.plots.boundary
        assert b.image.image is not None
        vb = b.plot.vb
        point = (0.4, -0.7)  # standardized, as the plot's axes are
        pos = b.widget.mapFromScene(vb.mapViewToScene(QPointF(*point)))
        QTest.mouseClick(b.widget.viewport(), Qt.LeftButton, Qt.NoModifier, pos)
        view = window.plots.predict
        assert window.plots.tabs.currentWidget() is view
        clicked = vb.mapSceneToView(b.widget.mapToScene(pos))
        raw = np.array([clicked.x(), clicked.y()]) * run.split.scale + run.split.mean
        np.testing.assert_allclose(view.features, raw, rtol=1e-9)
        assert abs(clicked.x() - point[0]) < 0.05 and abs(clicked.y() - point[1]) < 0.05
        assert view.origin.startswith("A point clicked")
        np.testing.assert_array_equal(view.output, run.predict_proba(view.features[None])[0])
        assert [view.table.item(i, 1).text() for i in range(2)] == [f"{v:.6g}" for v in raw]
    finally:
        window.controller.shutdown(5.0)


def test_regression_shows_the_predicted_value(window, qtbot):
    run = train(window, qtbot, "sine_regression", 3)
    try:
        view = show(window, "predict")
        view.show_validation(4)
        expected = run.predict_proba(run.data.X[run.split.val_index[4]][None])[0]
        np.testing.assert_array_equal(view.output, expected)
        assert not view.bars_widget.isVisible()
        assert f"predicted: <b>{expected[0]:.4g}</b>" in view.result.text()
        assert f"true: {float(run.split.y_val[4, 0]):.4g}" in view.result.text()
        gallery = show(window, "misclassified")
        assert "regression" in gallery.placeholder.text()
    finally:
        window.controller.shutdown(5.0)


def test_a_drawn_digit_stays_when_the_model_trains_on(digits, qtbot):
    w, run = digits
    view = show(w, "predict")
    drawn = np.zeros(64)
    drawn[[10, 18, 26, 34, 42]] = 16
    view.pad.set_values(drawn)
    qtbot.waitUntil(lambda: view.origin == "Drawn on the pad", timeout=5000)
    before = view.output.copy()
    with qtbot.waitSignal(w.controller.run_finished, timeout=WAIT):
        QTest.mouseClick(w.training_panel.train_button, Qt.LeftButton)  # 2 more epochs
    view.draw_now()
    assert view.origin == "Drawn on the pad"
    np.testing.assert_array_equal(view.features, drawn)
    np.testing.assert_array_equal(view.pad.values.ravel(), drawn)
    np.testing.assert_array_equal(view.output, run.predict_proba(drawn[None])[0])
    assert not np.array_equal(view.output, before)  # the trained-on model's
    assert [view.table.item(i, 1).text() for i in (10, 11)] == ["16", "0"]


def test_iris_mistakes_are_rows_and_open_in_predict(window, qtbot):
    run = train(window, qtbot, "iris_sigmoid", 2)
    try:
        gallery = show(window, "misclassified")
        p = run.predict_proba(run.data.X[run.split.val_index])
        wrong = np.flatnonzero(p.argmax(axis=1) != run.split.y_val)
        assert sorted(gallery.indices.tolist()) == wrong.tolist()
        if not len(wrong):
            pytest.skip("no mistake after 2 epochs")
        assert gallery.stack.currentWidget() is gallery.rows and not gallery.tiles
        assert gallery.rows.rowCount() == len(wrong)
        first = int(gallery.indices[0])
        names = [str(c) for c in run.data.classes]
        assert gallery.rows.item(0, 0).text() == str(first)
        assert gallery.rows.item(0, 1).text() == \
            f"{names[run.split.y_val[first]]} → {names[p[first].argmax()]}"
        rect = gallery.rows.visualItemRect(gallery.rows.item(0, 2))
        QTest.mouseClick(gallery.rows.viewport(), Qt.LeftButton, Qt.NoModifier, rect.center())
        view = window.plots.predict
        assert window.plots.tabs.currentWidget() is view and view.index == first
        assert view.bar_labels()[run.split.y_val[first]].endswith("(true)")
    finally:
        window.controller.shutdown(5.0)


def test_shown_bars_and_the_confidence_order():
    from app.plots.predict_view import shown_bars
    from app.plots.trained import confidence_order

    p = np.linspace(0, 1, 30)
    assert shown_bars(p[:5], 1) == [0, 1, 2, 3, 4]
    assert shown_bars(p, None, limit=3) == [27, 28, 29]
    assert shown_bars(p, 0, limit=3) == [0, 28, 29]  # the true class in place of the last
    conf = np.array([0.5, 0.9, 0.5, 0.7])
    assert confidence_order(np.array([0, 1, 2, 3]), conf).tolist() == [1, 3, 0, 2]
    assert confidence_order(np.array([], dtype=np.int64), conf).tolist() == []
