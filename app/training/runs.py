"""What the live views show: every training run's settings and history, in the GUI thread.

The worker (in its own thread) sends small copies of what happened; the controller
appends them to a :class:`Run` in the :class:`RunStore` (GUI thread only), and the plots
read the runs from a GUI-side timer. Numeric series live in :class:`Series`, arrays that
grow by doubling so appending is amortized O(1) and a plot can take a view of the filled
part without copying.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from app.state import RunState

__all__ = ["Series", "Run", "RunStore", "RUN_COLORS"]

#: Colours of successive runs (loss curves, legend, runs table).
RUN_COLORS = ("#3a86ff", "#e63946", "#2a9d8f", "#f4a261", "#8e6cdb", "#6c8a5b", "#ff006e",
              "#8d99ae")


class Series:
    """A growing float64 array (capacity doubles when full).

    Attributes:
        values: the filled part (a view; valid until the next append).
    """

    def __init__(self, capacity: int = 256) -> None:
        self._data = np.empty(max(capacity, 1), dtype=np.float64)
        self._n = 0

    def __len__(self) -> int:
        return self._n

    @property
    def values(self) -> np.ndarray:
        return self._data[: self._n]

    def append(self, value: float) -> None:
        if self._n == len(self._data):
            self._grow(self._n + 1)
        self._data[self._n] = value
        self._n += 1

    def extend(self, values: Any) -> None:
        values = np.asarray(values, dtype=np.float64).ravel()
        needed = self._n + len(values)
        if needed > len(self._data):
            self._grow(needed)
        self._data[self._n: needed] = values
        self._n = needed

    def _grow(self, needed: int) -> None:
        capacity = len(self._data)
        while capacity < needed:
            capacity *= 2
        data = np.empty(capacity, dtype=np.float64)
        data[: self._n] = self._data[: self._n]
        self._data = data


@dataclass
class Run:
    """One training run: its settings and everything recorded while it trained.

    Attributes:
        run_id: unique, increasing.
        name: e.g. ``"Run 2: Adam lr=0.001"``.
        color: its colour in every plot.
        settings: the dataset and training settings it used (a copy).
        task: ``"classification"`` or ``"regression"``; ``classes``: class names.
        status: a :class:`~app.state.RunState`: the controller's state while
            the run trains (running, paused, stepping, stopping), then finished, stopped
            or failed.
        visible: shown in the plots.
        step, step_loss, step_lr: per batch (global step number, loss, learning rate).
        grad_norms: parameter label (``"Dense 2.weight"``) -> per-step gradient L2 norms
            (with ``grad_steps`` the steps they were recorded at).
        epochs: one dict of metrics per epoch (``epoch``, ``loss``, ``accuracy`` or
            ``r2``, ``val_loss``, ``val_accuracy``..., ``lr``, ``time``).
        activation_hist, weight_hist: name -> list of :class:`nncore.metrics.Histogram`
            (each with edges chosen from its own values: the heat map re-bins them onto
            the union of their ranges), one per epoch in ``hist_epochs``.
        hist_epochs: the epochs that have histograms (every epoch, or every few when
            epochs are very short: see ``HISTOGRAM_INTERVAL`` in the worker).
        unit_stats: node name -> list over ``hist_epochs`` of ``{"dead": fraction}``
            (ReLU) or ``{"saturated": fraction}`` (sigmoid, tanh).
        confusion: the latest validation confusion matrix (K x K) or None;
            per_class: per-class accuracy (K,) or None.
        boundary: the latest decision-boundary grid for 2-D data, a dict with ``x``,
            ``y`` (1-D grid coordinates), ``classes`` (int, (ny, nx)) and ``confidence``
            ((ny, nx) in [0, 1]) and ``epoch`` (the epoch after which it was computed);
            ``points``: (X, y) of the data shown under it.
        best_epoch, stopped_epoch: from early stopping (0 if none).
        message: the error of a failed run.
        warning: what went wrong while it trained without failing (the loss is
            diverging: :class:`nncore.training.Divergence`), or "".
        progress: the latest progress dict (epoch, batch, batches, samples_per_s, eta_s).
        flow: the latest :class:`nncore.training.GradientFlow` (while the gradient-flow
            overlay is on), or None.
    """

    run_id: int
    name: str
    color: str
    settings: dict[str, Any]
    task: str = "classification"
    classes: list[str] | None = None
    status: RunState = RunState.RUNNING
    visible: bool = True
    step: Series = field(default_factory=Series)
    step_loss: Series = field(default_factory=Series)
    step_lr: Series = field(default_factory=Series)
    grad_steps: Series = field(default_factory=Series)
    grad_norms: dict[str, Series] = field(default_factory=dict)
    epochs: list[dict[str, float]] = field(default_factory=list)
    activation_hist: dict[str, list[Any]] = field(default_factory=dict)
    weight_hist: dict[str, list[Any]] = field(default_factory=dict)
    hist_epochs: list[int] = field(default_factory=list)
    unit_stats: dict[str, list[dict[str, float]]] = field(default_factory=dict)
    confusion: np.ndarray | None = None
    per_class: np.ndarray | None = None
    boundary: dict[str, np.ndarray] | None = None
    points: tuple[np.ndarray, np.ndarray] | None = None
    best_epoch: int = 0
    stopped_epoch: int = 0
    message: str = ""
    warning: str = ""
    progress: dict[str, float] = field(default_factory=dict)
    flow: Any = None

    def best(self, key: str = "val_loss", mode: str = "min") -> tuple[int, float] | None:
        """The (epoch, value) with the best ``key``, or None."""
        values = [(e["epoch"], e[key]) for e in self.epochs if key in e and np.isfinite(e[key])]
        if not values:
            return None
        return (min if mode == "min" else max)(values, key=lambda ev: ev[1])

    def epoch_series(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """(epochs, values) of one per-epoch metric (NaN where missing)."""
        x = np.array([e["epoch"] for e in self.epochs], dtype=np.float64)
        y = np.array([e.get(key, np.nan) for e in self.epochs], dtype=np.float64)
        return x, y

    def history_csv(self) -> str:
        """The per-epoch metrics as CSV text (a header line, one row per epoch)."""
        keys: list[str] = []
        for e in self.epochs:
            keys += [k for k in e if k not in keys]
        lines = [",".join(keys)]
        for e in self.epochs:
            lines.append(",".join("" if e.get(k) is None else f"{e[k]:.10g}" for k in keys))
        return "\n".join(lines) + "\n"


class RunStore(QObject):
    """Every run of the session, in the GUI thread.

    Signals:
        run_added(int), run_changed(int), run_removed(int): a run's id.
        current_changed(int): the run the views follow (the newest by default).
    """

    run_added = Signal(int)
    run_changed = Signal(int)
    run_removed = Signal(int)
    current_changed = Signal(int)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runs: dict[int, Run] = {}
        self.current: int | None = None
        self._next = 1

    def new_run(self, settings: dict[str, Any], label: str) -> Run:
        """Start a run record (its id, name and colour)."""
        run_id = self._next
        self._next += 1
        run = Run(run_id, f"Run {run_id}: {label}", RUN_COLORS[(run_id - 1) % len(RUN_COLORS)],
                  dict(settings))
        self.runs[run_id] = run
        self.current = run_id
        self.run_added.emit(run_id)
        self.current_changed.emit(run_id)
        return run

    def get(self, run_id: int | None) -> Run | None:
        return self.runs.get(run_id) if run_id is not None else None

    def current_run(self) -> Run | None:
        return self.get(self.current)

    def visible_runs(self) -> list[Run]:
        return [r for r in self.runs.values() if r.visible]

    def changed(self, run_id: int) -> None:
        """Announce that a run's data changed (the views redraw on their timer)."""
        if run_id in self.runs:
            self.run_changed.emit(run_id)

    def set_visible(self, run_id: int, visible: bool) -> None:
        run = self.runs.get(run_id)
        if run is not None and run.visible != visible:
            run.visible = visible
            self.run_changed.emit(run_id)

    def remove(self, run_id: int) -> None:
        """Delete a run (not the one training now: the controller refuses that)."""
        if self.runs.pop(run_id, None) is not None:
            if self.current == run_id:
                self.current = max(self.runs) if self.runs else None
                self.current_changed.emit(self.current or 0)
            self.run_removed.emit(run_id)

    def clear(self) -> None:
        """Delete every run (a new project was opened: its plots start empty). Run ids
        keep counting, so a later run never takes an old run's name or colour slot."""
        for run_id in list(self.runs):
            self.remove(run_id)

    def set_current(self, run_id: int) -> None:
        if run_id in self.runs and run_id != self.current:
            self.current = run_id
            self.current_changed.emit(run_id)
