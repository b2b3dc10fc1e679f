"""Per-class views and records stay bounded with many classes: the confusion matrix is
cut to MAX_SHOWN_CLASSES classes with the rest summed as "other"
(nncore/confusion.py), the worker sends only that, and the decision boundary's
legend lists at most that many classes."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF

from nncore.confusion import MAX_SHOWN_CLASSES, summarize_confusion
from app.plots.boundary import LEGEND_CLASSES, OTHER, shown_classes


def _matrix(k: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    cm = np.diag(rng.integers(1, 20, size=k))
    for _ in range(4 * k):  # scattered mistakes
        cm[rng.integers(k), rng.integers(k)] += 1
    cm[7, 3] += 50  # class 7 mistaken for 3 most of all
    return cm


def test_a_small_matrix_is_kept_whole():
    cm = _matrix(12)
    s = summarize_confusion(cm)
    assert s.other == 0 and s.n_classes == 12
    np.testing.assert_array_equal(s.matrix, cm)
    np.testing.assert_array_equal(s.shown, np.arange(12))
    np.testing.assert_allclose(s.recall, np.diag(cm) / cm.sum(axis=1))
    assert s.names(["a", "b"])[:3] == ["a", "b", "2"] and len(s.names(None)) == 12


def test_a_large_matrix_keeps_the_most_confused_classes_and_sums_the_rest():
    k, limit = 200, MAX_SHOWN_CLASSES
    cm = _matrix(k)
    s = summarize_confusion(cm, limit=limit)
    m = limit
    assert s.matrix.shape == (m + 1, m + 1) and s.other == k - m
    assert s.matrix.sum() == cm.sum() == s.total and s.correct == np.trace(cm)
    mistakes = cm.sum(1) - np.diag(cm) + cm.sum(0) - np.diag(cm)
    assert {7, 3} <= set(s.shown.tolist())
    assert mistakes[s.shown].min() >= np.delete(mistakes, s.shown).max()  # the most confused
    assert list(s.shown) == sorted(s.shown)
    rest = np.setdiff1d(np.arange(k), s.shown)
    np.testing.assert_array_equal(s.matrix[:m, :m], cm[np.ix_(s.shown, s.shown)])
    np.testing.assert_array_equal(s.matrix[:m, m], cm[np.ix_(s.shown, rest)].sum(axis=1))
    np.testing.assert_array_equal(s.matrix[m, :m], cm[np.ix_(rest, s.shown)].sum(axis=0))
    assert s.matrix[m, m] == cm[np.ix_(rest, rest)].sum()
    np.testing.assert_allclose(s.recall, np.diag(cm)[s.shown] / cm.sum(1)[s.shown])
    assert s.names(None)[-1] == f"other ({k - m})"


def test_bad_matrices_are_refused_with_their_shape():
    with pytest.raises(ValueError, match=r"square \(K, K\), got shape \(2, 3\)"):
        summarize_confusion(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="per_class has shape"):
        summarize_confusion(np.eye(3), per_class=np.ones(2))


def test_the_confusion_view_draws_at_most_the_limit_and_notes_the_rest(plots_panel, store):
    view = plots_panel.confusion
    run = store.new_run({}, "many")
    run.task, run.classes = "classification", [f"c{i}" for i in range(200)]
    run.epochs = [{"epoch": 1, "loss": 1.0}]
    cm = _matrix(200)
    run.confusion = cm  # a plain matrix (from code) is cut by the view too
    store.changed(run.run_id)
    plots_panel.redraw_now()
    m = MAX_SHOWN_CLASSES
    assert view.matrix.shape == (m + 1, m + 1) and view.matrix.sum() == cm.sum()
    assert len(view.class_names) == m + 1 and view.class_names[-1] == f"other ({200 - m})"
    assert view.image.image.shape[0] <= 64 * (m + 1)  # not one pixel block per class
    assert len(view.texts) <= (m + 1) ** 2
    title = view.plot.titleLabel.text
    assert "most confused of 200 classes" in title and f"the other {200 - m}" in title
    ticks = view.plot.getAxis("right")._tickLevels[0]
    assert len(ticks) == m + 1
    # the worker's summary is drawn as it is
    summary = summarize_confusion(_matrix(50, seed=1))
    run.confusion = summary
    store.changed(run.run_id)
    plots_panel.redraw_now()
    assert view.summary is summary and view.matrix.shape == (m + 1, m + 1)


def test_a_few_classes_draw_as_before(plots_panel, store):
    view = plots_panel.confusion
    run = store.new_run({}, "three")
    run.task, run.classes = "classification", ["a", "b", "c"]
    run.epochs = [{"epoch": 1, "loss": 1.0}]
    run.confusion = np.array([[40, 2, 0], [5, 30, 5], [0, 0, 18]])
    store.changed(run.run_id)
    plots_panel.redraw_now()
    assert view.matrix.shape == (3, 3) and view.class_names == ["a", "b", "c"]
    assert "most confused" not in view.plot.titleLabel.text and len(view.texts) == 9


def test_training_many_classes_in_the_window_stays_bounded(window, tmp_path, qtbot):
    """A real run with 300 classes: the worker sends a summary, the trainer's epoch
    records keep no (K, K) matrix, both views draw at most the limit."""
    k, rows = 300, 1200
    rng = np.random.default_rng(0)
    labels = np.arange(rows) % k
    x = rng.normal(size=(rows, 2)) * 0.1 + np.c_[np.cos(labels), np.sin(labels)]
    with (tmp_path / "data.csv").open("w") as f:
        f.write("a,b,label\n")
        f.writelines(f"{a:.5f},{b:.5f},{y}\n" for (a, b), y in zip(x, labels))
    from app.editor.commands import SetSettings
    from nncore.project.settings import DatasetSettings

    doc = window.document
    window.new_file()
    assert window.save_to(tmp_path / "project.json")
    graph, scene = doc.graph, window.scene
    inp = graph.nodes[0].id
    ids = [inp] + [scene.add_node(t, QPointF(280 * i, 0))
                   for i, t in enumerate(["dense", "cross_entropy"], 1)]
    graph.connect(inp, "features", ids[1], "input")
    graph.connect(ids[1], "output", ids[2], "input")
    graph.connect(inp, "labels", ids[2], "target")
    graph.set_params(ids[1], {"units": k})
    doc.push(SetSettings(graph, {"dataset": DatasetSettings(source="csv", path="data.csv")
                                 .to_dict(), "training": {"epochs": 1, "batch_size": 128}}))
    assert doc.project.analysis().ok, doc.project.problems()
    with qtbot.waitSignal(window.controller.run_finished, timeout=60_000):
        run_id = window.start_training()
    run = window.runs.get(run_id)
    assert run.status == "finished", run.message
    m = MAX_SHOWN_CLASSES
    assert run.confusion.n_classes == k and run.confusion.matrix.shape == (m + 1, m + 1)
    assert run.confusion.total == rows * 0.2 and len(run.per_class) == m
    trainer = window.controller.worker.trainer  # the model is kept to continue
    assert trainer.epoch_records and all(r.confusion_matrix is None
                                         for r in trainer.epoch_records)
    assert trainer.confusion_matrix is None  # the window keeps no (K, K) after a run
    plots = window.plots
    plots.redraw_now()
    assert plots.confusion.matrix.shape == (m + 1, m + 1)
    boundary = plots.boundary
    n = LEGEND_CLASSES
    assert len(boundary.legend.items) == n + 1 and len(boundary.scatters) == n + 1
    assert boundary.legend.items[-1][1].text == f"other {k - n:,} classes"
    shown = [c for c in boundary.scatters if c != OTHER]
    assert sum(len(boundary.scatters[c].data) for c in boundary.scatters) == len(run.points[1])
    assert len(boundary.scatters[OTHER].data) == np.isin(run.points[1], shown, invert=True).sum()


def test_the_boundary_shows_the_most_frequent_classes_on_their_own():
    y = np.array([5] * 9 + [2] * 7 + [40] * 7 + list(range(100)))
    assert shown_classes(y, 100, limit=3) == [2, 5, 40]
    assert shown_classes(y, 3, limit=3) == [0, 1, 2]  # few classes: all of them
