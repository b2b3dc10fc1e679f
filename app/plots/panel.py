"""All live views in one widget, redrawn by one GUI-side timer.

The :class:`~app.training.runs.RunStore` says which runs changed (its signals); the panel
only notes them, and its timer (about 30 Hz) hands the views what changed since the last
tick. A tick with nothing new does nothing, and the timer stops until the next change.
Views out of sight (another tab, a hidden dock) keep their changes until they are shown:
drawing and painting in the GUI thread holds Python's GIL, which the training worker needs.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QSplitter, QTabWidget, QVBoxLayout, QWidget

from app.plots.base import REDRAW_INTERVAL_MS, as_theme, write_history_csv
from app.plots.boundary import BoundaryView
from app.plots.confusion import ConfusionView
from app.plots.data_view import DataView
from app.plots.gradients import GradientView
from app.plots.histograms import HistogramView
from app.plots.loss import LossView
from app.plots.misclassified import MisclassifiedView
from app.plots.predict_view import PredictView
from app.plots.runs_table import RunsTable
from app.theme import Theme

__all__ = ["PlotsPanel"]


class _Pending:
    """What changed for one view since it last drew."""

    __slots__ = ("dirty", "removed", "current")

    def __init__(self, dirty: set[int] | None = None) -> None:
        self.dirty: set[int] = dirty if dirty is not None else set()
        self.removed: set[int] = set()
        self.current = dirty is not None  # a new panel draws the current run once

    def __bool__(self) -> bool:
        return bool(self.dirty or self.removed or self.current)


class PlotsPanel(QWidget):
    """Tabs with the loss, gradient, histogram, decision-boundary and confusion views,
    the dataset (the Data tab) and the trained model's use (Predict, Misclassified)
    above the runs table.

    Args:
        store: the session's :class:`~app.training.runs.RunStore`.

    Attributes:
        loss, gradients, histograms, boundary, confusion: the views
            (:class:`LossView`, :class:`GradientView`, :class:`HistogramView`,
            :class:`BoundaryView`, :class:`ConfusionView`).
        data: the Data tab (:class:`~app.plots.data_view.DataView`): the project's
            dataset, not a run's; the window gives it its source. It draws itself when
            shown after a change, not from the timer.
        predict, misclassified: the Predict and Misclassified tabs
            (:class:`~app.plots.predict_view.PredictView`,
            :class:`~app.plots.misclassified.MisclassifiedView`): the trained model the
            window gives them (:meth:`set_model_source`), not a run's records; they draw
            themselves when shown after :meth:`model_changed`. A gallery click opens the
            sample in Predict, a confusion-matrix cell click shows that cell in the
            gallery, a click on the decision boundary predicts that point.
        runs_table: the :class:`RunsTable`.
        tabs: the :class:`QTabWidget` of the views.
        timer: the redraw :class:`QTimer` (``REDRAW_INTERVAL_MS``, started by a change).
        redraw_count: ticks that redrew something; ``last_redraw_s``: how long the last
            one took.

    Signals:
        step_requested(int): "Step through this sample" for that validation row.
    """

    step_requested = Signal(int)

    def __init__(self, store: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.theme: Theme = as_theme(None)
        self.redraw_count = 0
        self.last_redraw_s = 0.0
        #: Called with True when a redraw starts and False when its painting is done (the
        #: training worker pauses between batches meanwhile); None: nobody to tell.
        self.gui_busy: Callable[[bool], None] | None = None
        self._continuing = False  # views are left for the next turns of the event loop
        self._left: list[Any] = []  # those views

        self.loss = LossView(store)
        self.gradients = GradientView(store)
        self.histograms = HistogramView(store)
        self.boundary = BoundaryView(store)
        self.confusion = ConfusionView(store)
        self.data = DataView()
        self.predict = PredictView()
        self.misclassified = MisclassifiedView()
        self.runs_table = RunsTable(store)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        for view, title, tip in [
                (self.loss, "Loss", "Loss, accuracy or R², learning rate of every shown run"),
                (self.gradients, "Gradients", "Gradient norm of every parameter tensor"),
                (self.histograms, "Histograms", "Activations and weights of one node"),
                (self.boundary, "Decision boundary", "What a 2-D classifier predicts where"),
                (self.confusion, "Confusion matrix", "Which classes get mistaken for which"),
                (self.data, "Data", "The dataset itself: classes, features, samples"),
                (self.predict, "Predict", "The trained model on one sample: pick, type or "
                 "draw it"),
                (self.misclassified, "Misclassified", "The validation samples the trained "
                 "model gets wrong")]:
            self.tabs.addTab(view, title)
            self.tabs.setTabToolTip(self.tabs.count() - 1, tip)
        splitter = QSplitter(Qt.Vertical)
        splitter.addWidget(self.tabs)
        splitter.addWidget(self.runs_table)
        splitter.setStretchFactor(0, 4)
        splitter.setStretchFactor(1, 1)
        splitter.setChildrenCollapsible(False)
        splitter.setSizes([700, 110])  # the table shows about three runs
        self.splitter = splitter
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

        # per view: (dirty run ids, removed run ids, current run changed) since it drew
        self._pending: dict[Any, _Pending] = {  # in drawing order: the runs table last
            view: _Pending(set(store.runs)) for view in (*self.views, self.runs_table)}
        self.timer = QTimer(self)
        self.timer.setInterval(REDRAW_INTERVAL_MS)
        self.timer.timeout.connect(self._tick)
        self.tabs.currentChanged.connect(lambda _: self._wake())
        store.run_added.connect(self._run_added)
        store.run_changed.connect(self._mark_dirty)
        store.run_removed.connect(self._mark_removed)
        store.current_changed.connect(self._mark_current)
        store.current_changed.connect(self.model_changed)  # a project's model restored
        self.misclassified.open_requested.connect(self.open_sample)
        self.misclassified.step_requested.connect(self.step_requested)
        self.predict.step_requested.connect(self.step_requested)
        self.confusion.cell_clicked.connect(self.show_cell)
        self.boundary.widget.scene().sigMouseClicked.connect(self._boundary_clicked)
        self.timer.start()

    # -- public API
    @property
    def views(self) -> list[Any]:
        return [self.loss, self.gradients, self.histograms, self.boundary, self.confusion]

    def show_tab(self, name: str) -> bool:
        """Bring a view to the front by a word of its title ("loss", "gradients",
        "histograms", "boundary", "confusion", "data"); False if none matches."""
        for i in range(self.tabs.count()):
            if name.lower() in self.tabs.tabText(i).lower():
                self.tabs.setCurrentIndex(i)
                return True
        return False

    def set_model_source(self, source: Callable[[], Any]) -> None:
        """Where the Predict and Misclassified tabs get the trained model: a callable
        returning ``(run id, TrainingRun)`` or why there is none (a str; see
        :class:`app.plots.trained.ModelSource`)."""
        self.predict.set_model_source(source)
        self.misclassified.set_model_source(source)

    def model_changed(self, *_: Any) -> None:
        """The trained model may have changed (a run ended, an edit, another project)."""
        self.predict.model_changed()
        self.misclassified.model_changed()

    def open_sample(self, index: int) -> None:
        """Validation row ``index`` in the Predict tab, brought to the front."""
        self.show_tab("predict")
        self.predict.show_validation(index)

    def show_cell(self, true: int, predicted: int) -> None:
        """The confusion cell's samples in the Misclassified tab, brought to the front."""
        self.misclassified.show_cell(true, predicted, self.confusion.other_classes())
        self.show_tab("misclassified")

    def _boundary_clicked(self, event: Any) -> None:
        """A click on the decision boundary's plot: Predict that point (the plot's axes
        are the model's standardized features; Predict shows them raw)."""
        b = self.boundary
        if event.button() != Qt.MouseButton.LeftButton or event.double() \
                or b.image.image is None or not b.caption.isVisibleTo(b):
            return
        vb = b.plot.vb
        if not vb.sceneBoundingRect().contains(event.scenePos()):
            return
        point = vb.mapSceneToView(event.scenePos())
        self.show_tab("predict")
        self.predict.set_model_point([point.x(), point.y()])

    def redraw_now(self) -> bool:
        """Redraw what changed since the last redraw, now, in every view (the timer
        redraws only the views in sight)."""
        return self._tick(everything=True)

    def set_theme(self, theme: Theme | str) -> None:
        """Light or dark (a :class:`~app.theme.Theme` or its name) for every plot."""
        self.theme = as_theme(theme)
        for view in self.views:
            view.apply_theme(self.theme)
        for other in (self.data, self.predict, self.misclassified):
            other.apply_theme(self.theme)

    def select_node(self, name: str) -> None:
        """Show node ``name``'s histograms (e.g. when it is clicked on the canvas)."""
        self.histograms.select_node(name)

    def set_node_colors(self, colors: dict[str, str]) -> None:
        """Node display name -> colour, for the gradient curves of its parameters."""
        self.gradients.set_node_colors(colors)

    def export_history_csv(self, path: str | Path) -> Path | None:
        """Write the current run's per-epoch history to ``path``; None without a run."""
        run = self.store.current_run()
        return None if run is None else write_history_csv(run, path)

    # -- store events
    def _wake(self) -> None:
        if not self.timer.isActive():
            self.timer.start()

    def _mark_dirty(self, run_id: int) -> None:
        for p in self._pending.values():
            p.dirty.add(run_id)
        self._wake()

    def _run_added(self, run_id: int) -> None:
        """A new run (Train was pressed): create its plot items now, in the click's
        event, rather than in the middle of the live updates that follow."""
        self._mark_dirty(run_id)
        if self.isVisible():
            self._tick()

    def _mark_removed(self, run_id: int) -> None:
        for p in self._pending.values():
            p.dirty.discard(run_id)
            p.removed.add(run_id)
        self._wake()

    def _mark_current(self, _run_id: int) -> None:
        for p in self._pending.values():
            p.current = True
        self._wake()

    def showEvent(self, event: Any) -> None:  # noqa: N802 (Qt)
        super().showEvent(event)
        self._wake()  # views kept their changes while hidden

    def _tick(self, everything: bool = False) -> bool:
        """Hand each view in sight (or every view) its changes; stop the timer when no
        view in sight has any."""
        self._busy(True)
        try:
            return self._redraw_views(everything)
        finally:
            self._after_drawing()

    def _busy(self, busy: bool) -> None:
        if self.gui_busy is not None:
            self.gui_busy(busy)

    def _after_paint(self) -> None:
        self._busy(False)

    def _continue(self) -> None:
        """The views left by the last tick, one per turn of the event loop."""
        self._busy(True)
        try:
            self._redraw_views(False, first=False)
        finally:
            self._after_drawing()

    def _after_drawing(self) -> None:
        """Say the drawing is done once its paint events are (unless a view is left
        for the next turn: then after that one)."""
        if not self._continuing:
            QTimer.singleShot(0, self._after_paint)

    def _redraw_views(self, everything: bool, first: bool = True) -> bool:
        """Redraw the views in sight that have changes (all views when ``everything``):
        one per turn of the event loop (the others are left for the next turns, which
        draw only those), so that other events (a click, a key, another timer) get in
        between."""
        start = time.perf_counter()
        if first:
            order = [v for v, p in self._pending.items() if p and (everything or v.isVisible())]
        else:
            order = [v for v in self._left if self._pending[v] and v.isVisible()]
        if everything:
            self._left = []
        else:
            order, self._left = order[:1], order[1:]
        drew = False
        for view in order:
            p = self._pending[view]
            dirty, removed, current = p.dirty, p.removed, p.current
            self._pending[view] = _Pending()
            view.immediate = everything
            try:
                view.redraw(dirty, removed, current)
            finally:
                view.immediate = False
            later = getattr(view, "deferred", None)
            if later:  # left for a later tick (epochs arriving very fast)
                self._pending[view].dirty |= later
                later.clear()
            drew = True
        self._continuing = bool(self._left)
        if self._continuing:
            QTimer.singleShot(0, self._continue)
        if not first:
            return drew
        if not drew:
            self.timer.stop()  # idle until a change, a tab change or the panel is shown
            return False
        self.last_redraw_s = time.perf_counter() - start
        self.redraw_count += 1
        return True
