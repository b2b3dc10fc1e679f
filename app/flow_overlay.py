"""View → Gradient Flow: while a run trains, the canvas draws the gradient of the loss
flowing back along each wire (issue 10).

With the overlay on, the training worker traces a minibatch a few times a second
(:meth:`~app.training.worker.TrainingWorker.set_flow`; the batch trains exactly as it
would have). Each measure (:class:`nncore.training.GradientFlow`) reaches the run
(:attr:`~app.training.runs.Run.flow`); this object then draws it: each wire's width and
colour by the L2 norm of dL/d(value) on a log scale (:mod:`app.editor.flow`), a legend
in the canvas' top-right corner, and badges on the cards for dead ReLU units, saturated
sigmoid/tanh outputs and the node where a NaN first appeared. Off, the canvas is drawn
as usual and the worker traces nothing.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, Slot
from PySide6.QtGui import QAction

from app.editor.flow import FlowLegend, FlowScale, flow_badges, flow_pens

__all__ = ["FlowOverlay", "MARGIN"]

#: The legend's distance from the canvas' top and right edges (pixels).
MARGIN = 12


class FlowOverlay(QObject):
    """The gradient-flow overlay of ``window`` (a :class:`~app.main_window.MainWindow`:
    its ``scene``, ``view``, ``runs`` and ``controller`` are used).

    Attributes:
        action: the checkable View-menu action.
        legend: the :class:`~app.editor.flow.FlowLegend` over the canvas.
        scale: the log scale of the run shown (it grows over the run, see
            :class:`~app.editor.flow.FlowScale`); a new run starts a new one.
        shown: the :class:`~nncore.training.GradientFlow` drawn, or None.
    """

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.action = QAction("&Gradient Flow", window, checkable=True)
        self.action.setStatusTip("While training, draw each wire by the size of the "
                                 "gradient flowing back along it")
        self.action.toggled.connect(self.set_enabled)
        self.legend = FlowLegend(window.view)
        self.legend.hide()
        self.scale = FlowScale()
        self.shown: Any = None
        self._run_id: int | None = None
        window.runs.run_changed.connect(self._run_changed)
        window.view.viewport().installEventFilter(self)

    @property
    def enabled(self) -> bool:
        return self.action.isChecked()

    @Slot(bool)
    def set_enabled(self, on: bool) -> None:
        """Switch the overlay on (the worker traces minibatches; the latest measure of
        the active run is drawn) or off (the canvas as usual)."""
        if self.action.isChecked() != on:
            self.action.setChecked(on)  # toggled comes back here
            return
        w = self.window
        w.controller.worker.set_flow(on)
        self.legend.setVisible(on)
        self._place()
        if on:
            run = w.runs.get(w.controller.active) if w.controller.active is not None else None
            self.show_flow(run)
        else:
            self.shown = None
            w.scene.set_flow({}, {})

    @Slot(int)
    def _run_changed(self, run_id: int) -> None:
        if self.enabled:
            self.show_flow(self.window.runs.get(run_id))

    def show_flow(self, run: Any) -> None:
        """Draw ``run``'s latest gradient flow (nothing new: nothing to do)."""
        theme = self.window.scene.theme
        if run is None or run.flow is None:
            self.legend.show_flow(None, None, theme)
            return
        if run.flow is self.shown:
            return
        if run.run_id != self._run_id:
            self._run_id, self.scale = run.run_id, FlowScale()
        flow = self.shown = run.flow
        bounds = flow.range()
        if bounds is not None:
            self.scale.include(*bounds)
        tips = {key: f"‖dL/d(value)‖ = {norm:.3g} on the minibatch of step {flow.step}"
                for key, norm in flow.norms.items()}
        self.window.scene.set_flow(flow_pens(flow.norms, self.scale, theme),
                                   flow_badges(flow, theme), tips)
        self.legend.show_flow(self.scale, flow.step, theme)

    def refresh(self) -> None:
        """Draw again (another theme)."""
        if self.enabled:
            self.shown = None
            self.show_flow(self.window.runs.get(self._run_id)
                           if self._run_id is not None else None)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if event.type() in (QEvent.Resize, QEvent.Show):
            self._place()
        return False

    def _place(self) -> None:
        viewport = self.window.view.viewport()
        geometry = viewport.geometry()  # in the view's coordinates
        self.legend.move(geometry.right() - self.legend.width() - MARGIN,
                         geometry.top() + MARGIN)
        self.legend.raise_()
