"""Training in a worker thread.

:class:`TrainingWorker` is a ``QObject`` moved to its own ``QThread`` (Orange3's
``concurrent.py``, napari's ``thread_worker``): it builds a
:class:`~nncore.project.TrainingRun` from a copy of the graph (the JSON text, so it
shares nothing with the GUI), trains it with BLAS limited to one thread (so the GUI keeps
a core), and reports what happens through signals carrying *copies* of small arrays,
coalesced to at most ~30 emissions a second. It never touches a widget. Stop, pause,
resume and step are thread-safe calls from the GUI thread (the Trainer polls them
between batches); every signal carries the run id, so a stale run's late signals can be
ignored.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import replace
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from nncore.confusion import summarize_confusion
from app.training.records import BatchRecords, EpochRecord, RunInfo, RunResult
from nncore.graph import GraphError, GraphFileError, loads
from nncore.project.settings import SettingsError
from nncore.tensor import Tensor, no_grad
from nncore.training import Callback, GradientFlow, TrainingError

__all__ = ["TrainingWorker", "EMIT_INTERVAL"]

#: At most this many seconds between two emissions' worth of coalesced records.
EMIT_INTERVAL = 1.0 / 30.0
#: The decision boundary is recomputed at most this often (seconds), and at most about
#: once per BOUNDARY_COST_RATIO times the time its last computation took (so that it
#: stays a small share of the training time on a large network).
BOUNDARY_INTERVAL = 0.1
BOUNDARY_COST_RATIO = 20.0
#: Histograms (and unit statistics) are recorded every epoch unless that would cost more
#: than HISTOGRAM_SHARE of the training time (their cost is measured) or come more often
#: than every HISTOGRAM_INTERVAL seconds; then every few epochs (the heat map shows each
#: one until the next).
HISTOGRAM_SHARE = 0.06
HISTOGRAM_INTERVAL = 0.01
GRID = 90
#: The decision boundary's grid is evaluated this many points at a time (its scores are
#: points x classes: 80 MB a chunk at 10,000 classes instead of 650 MB at once).
BOUNDARY_ROWS = 1024
#: While the GUI thread draws (it clears :attr:`TrainingWorker.gui_free`), the worker
#: waits between batches, at most this long (seconds), instead of sharing Python's GIL
#: with it: the drawing then takes its own time, not twice that.
GUI_WAIT_MAX = 0.02
#: With the gradient-flow overlay on (:meth:`TrainingWorker.set_flow`), a minibatch is
#: traced (:meth:`nncore.training.Trainer.request_flow`) at most this often (seconds).
FLOW_INTERVAL = 0.2


def _node_name(graph_json: str, error: Exception) -> str:
    """The display name of the node an error is about (``node_name``, or ``node_id``
    looked up in the graph), or ""."""
    name = getattr(error, "node_name", "") or ""
    node_id = getattr(error, "node_id", None)
    if name or not node_id:
        return name
    try:
        node = loads(graph_json, "the network").node(node_id)
    except Exception:  # noqa: BLE001 - a graph that cannot be read names no node
        return ""
    return getattr(node, "name", "") or ""


class _Recorder(Callback):
    """Collects step and epoch records in the worker thread and hands them to the worker
    to emit, coalesced."""

    def __init__(self, worker: "TrainingWorker") -> None:
        self.worker = worker

    def on_batch_end(self, trainer: Any, record: Any) -> None:
        self.worker._on_batch(trainer, record)
        if not self.worker.gui_free.is_set():  # the GUI is drawing: let it have the GIL
            self.worker.gui_free.wait(GUI_WAIT_MAX)

    def on_divergence(self, trainer: Any, divergence: Any) -> None:
        self.worker._pending_warning = divergence.message  # sent with the next batches

    def on_epoch_record(self, trainer: Any, record: Any) -> None:
        self.worker._on_epoch(trainer, record)

    def on_pause(self, trainer: Any) -> None:
        self.worker._pause_began(trainer)
        # a pause that came after the last batch's (coalesced) emission: show it all now
        self.worker._flush(self.worker._run_id, force=True)


class TrainingWorker(QObject):
    """Trains networks in the thread it lives in.

    Signals (all carry the run id first):
        run_started(int, RunInfo): what the views need up front.
        batches(int, BatchRecords): the batches trained since the last emit.
        epochs(int, list[EpochRecord]): the epochs ended since the last emit.
        finished(int, RunResult): how the run ended.
        (The records: :mod:`app.training.records`.)
        failed(int, str, str): the message and the name of the node at fault ("" if
            none).
        step_done(int): the Step asked for (:meth:`step`) was taken and the run paused
            again (after the step's records were sent).
    """

    run_started = Signal(int, object)
    batches = Signal(int, object)
    epochs = Signal(int, object)
    finished = Signal(int, object)
    failed = Signal(int, str, str)
    step_done = Signal(int)

    def __init__(self) -> None:
        super().__init__()
        self._run: Any = None
        self._key: str | None = None
        self._model_run = 0  # the run id the model was trained under
        self._run_id = 0
        self._lock = threading.Lock()
        self._step_batches = 0
        self._step_epoch = False
        # time spent paused in this fit (seconds), and when the current pause began
        # (None: not paused): speed and time left count training time only
        self._paused_s = 0.0
        self._paused_at: float | None = None
        self._pending_steps: list[tuple[int, float, float]] = []
        self._pending_warning = ""
        self._pending_norms: dict[str, list[float]] = {}
        self._pending_epochs: list[dict[str, Any]] = []
        self._last_emit = 0.0
        self._last_boundary = 0.0
        self._boundary_cost = 0.0
        self._hist_cost = 0.0
        self.gui_free = threading.Event()
        self.gui_free.set()
        self._flow_on = False
        self._flow_asked = 0.0  # when a traced batch was last asked for
        self._pending_flow: Any = None
        self._last_flow: Any = None  # the latest GradientFlow of this run
        self._samples = 0
        self._progress: dict[str, float] = {}
        self._epochs_total = 0
        #: The run to stop (even if its work has not begun yet), -1 for any (closing).
        self._stop_run: int | None = None
        #: (graph JSON, base folder) the model is trained as, set by the controller
        self._source: tuple[str, str] | None = None

    # ------------------------------------------------------------------ control (any thread)
    @property
    def trainer(self) -> Any:
        run = self._run
        return run.trainer if run is not None else None

    def request_stop(self, run_id: int | None = None) -> None:
        """Stop run ``run_id`` at its next batch boundary, also when the worker has not
        started it yet (a Stop right after Train); None: whatever runs and anything
        queued (the window is closing). Thread-safe."""
        with self._lock:
            self._stop_run = -1 if run_id is None else run_id
            current = self._run_id
        trainer = self.trainer
        if trainer is not None and (run_id is None or run_id == current):
            trainer.request_stop()

    def _stop_wanted(self, run_id: int) -> bool:
        with self._lock:
            return self._stop_run in (-1, run_id)

    def set_flow(self, on: bool) -> None:
        """Measure the gradient flow (a traced minibatch every FLOW_INTERVAL seconds,
        sent with the batches as :attr:`BatchRecords.flow`) or not. Thread-safe: a plain
        attribute the worker reads between batches."""
        self._flow_on = bool(on)

    def pause(self) -> None:
        trainer = self.trainer
        if trainer is not None:
            trainer.pause()

    def resume(self) -> None:
        with self._lock:
            self._step_batches, self._step_epoch = 0, False
            self._pause_ended()
            trainer = self.trainer
            if trainer is not None:
                trainer.resume()

    def step(self, kind: str) -> None:
        """While paused: run one more batch (``"batch"``) or to the end of the epoch
        (``"epoch"``), then pause again."""
        with self._lock:
            if kind == "epoch":
                self._step_epoch = True
            else:
                self._step_batches = 1
            self._pause_ended()
            trainer = self.trainer
            if trainer is not None:
                trainer.resume()

    def _pause_began(self, trainer: Any) -> None:
        """The trainer is about to wait in a pause (worker thread)."""
        with self._lock:  # resume() takes the lock too: either it resumed already, or
            if trainer.paused:  # it will end this pause
                self._paused_at = time.perf_counter()

    def _pause_ended(self) -> None:
        """Count the pause that ends now (called with the lock held)."""
        if self._paused_at is not None:
            self._paused_s += time.perf_counter() - self._paused_at
            self._paused_at = None

    def _clock(self) -> float:
        """Seconds of training: ``time.perf_counter()`` minus the time spent paused (it
        stands still during a pause)."""
        with self._lock:
            now = self._paused_at if self._paused_at is not None else time.perf_counter()
            return now - self._paused_s

    # ------------------------------------------------------------------ the work (worker thread)
    @Slot(int, str, str, int, bool)
    def train(self, run_id: int, graph_json: str, base_dir: str, epochs: int,
              start_paused: bool) -> None:
        """Train ``graph_json`` (continuing the previous model if the same network and
        settings were trained last) for ``epochs`` epochs (0: the settings' number)."""
        from threadpoolctl import threadpool_limits

        with self._lock:
            self._run_id = run_id
        self._progress = {}  # a run that fails before its first batch shows no old progress
        self._pending_steps, self._pending_norms, self._pending_epochs = [], {}, []
        self._pending_warning, self._pending_flow, self._flow_asked = "", None, 0.0
        self._last_flow = None
        try:
            with threadpool_limits(1), np.errstate(all="ignore"):
                self._train(run_id, graph_json, base_dir, epochs, start_paused)
        except TrainingError as e:
            self._flow_failed(e.node)
            self._flush(run_id, force=True)
            self.failed.emit(run_id, str(e), e.node or "")
        except (GraphError, GraphFileError, SettingsError, ValueError, OSError) as e:
            self._flush(run_id, force=True)
            self.failed.emit(run_id, str(e), _node_name(graph_json, e))
        except Exception as e:  # noqa: BLE001 - a bug must reach the GUI, not kill the thread
            self._flush(run_id, force=True)
            self.failed.emit(run_id, f"unexpected error: {type(e).__name__}: {e}", "")
        finally:
            with self._lock:  # a Stop for this run is spent (one for all is kept)
                if self._stop_run == run_id:
                    self._stop_run = None

    def _flow_failed(self, node_name: str | None) -> None:
        """The loss became NaN or infinite: with the overlay on, send the last measured
        flow (or an empty one) marking the node whose output was first not finite."""
        run = self._run
        if not self._flow_on or not node_name or run is None:
            return
        model = run.model
        ids = {name: nid for nid, name in model.node_names.items()}
        ids[model.loss_name] = model.loss_id
        nid = ids.get(node_name)
        if nid is not None:
            last = self._last_flow or GradientFlow(step=run.trainer.global_step + 1)
            self._pending_flow = replace(last, first_nonfinite=(nid, "value"))

    def reset(self) -> None:
        """Forget the trained model: the next run starts from fresh weights."""
        self._run, self._key = None, None

    def make_run(self, graph: Any, base_dir: str | None) -> Any:
        """The :class:`~nncore.project.TrainingRun` this worker trains ``graph`` in
        (recording what the views show). Raises as TrainingRun does."""
        from nncore.project import TrainingRun

        return TrainingRun(graph, base_dir=base_dir or None, callbacks=[_Recorder(self)],
                           record_grad_norms=True, record_histograms=True,
                           # edges follow the data over time, as in TensorBoard
                           # (fixed first-epoch edges piled drifting weights up in
                           # the end bins: 116 of 128 BatchNorm weights after 10 epochs)
                           histogram_edges="per_epoch")

    def adopt(self, run_id: int, run: Any, key: str, source: tuple[str, str]) -> None:
        """Take ``run`` (made by :meth:`make_run`, its saved weights restored) as the
        model of run ``run_id`` trained under ``key`` as ``source`` (graph JSON, base
        folder): the next Train of that run with that key continues it. Call it while
        idle (from the GUI thread)."""
        self._run, self._key, self._model_run, self._source = run, key, run_id, source

    def _train(self, run_id: int, graph_json: str, base_dir: str, epochs: int,
               start_paused: bool) -> None:
        from nncore.project import run_key

        graph = loads(graph_json, "the network")
        key = run_key(graph_json, base_dir or None)
        # the same network and settings under the same run id (the controller gives a new
        # id to a new run: after a change, a Reset, or the last run deleted)
        continuing = self._run is not None and self._key == key and self._model_run == run_id
        if not continuing:
            self._run = None
            run = self.make_run(graph, base_dir)
            self._run, self._key, self._model_run = run, key, run_id
        run = self._run
        trainer = run.trainer
        epochs = epochs or run.settings.epochs
        self._epochs_total = len(trainer.history) + epochs
        sp = run.split
        n, b = len(sp.y_train), run.settings.batch_size
        batches = max(1, n // b if n % b == 1 and n > b else -(-n // b))
        self._batches = batches
        model = run.model
        labels = {name: model.describe_parameter(name) for name, _ in model.named_parameters()}
        self._labels = labels
        points = None
        if sp.X_train.shape[1] == 2 and model.task == "classification":
            X = np.concatenate([sp.X_train, sp.X_val])
            y = np.concatenate([sp.y_train, sp.y_val])
            points = (X.astype(np.float32).copy(), y.astype(np.int64).copy())
        self._points = points
        self._probe = (sp.X_val if len(sp.y_val) else sp.X_train)[:256]
        self.run_started.emit(run_id, RunInfo(
            task=model.task, classes=list(run.data.classes) if run.data.classes else None,
            parameters=list(labels.values()),
            node_params={label: label.rsplit(".", 1)[0] for label in labels.values()},
            points=points, batches=batches, epochs=self._epochs_total,
            continuing=continuing))
        self._pending_steps, self._pending_norms, self._pending_epochs = [], {}, []
        self._last_emit = self._last_boundary = self._boundary_cost = self._hist_cost = 0.0
        with self._lock:
            self._paused_s, self._paused_at = 0.0, None
        self._samples, self._fit_batches, self._t0 = 0, 0, self._clock()
        self._rate_t, self._rate_samples, self._rate = self._t0, 0, None
        with self._lock:
            if not start_paused:  # a Step left over from an earlier pause does not apply
                self._step_batches, self._step_epoch = 0, False
            # Step pressed while idle starts a paused run with the step already asked for
            stepping = self._step_batches > 0 or self._step_epoch
        if start_paused and not stepping:
            trainer.pause()
        if self._stop_wanted(run_id):
            trainer.request_stop()
        start = self._clock()
        trainer.fit(sp.X_train, sp.y_train, epochs, validation=run.validation)
        seconds = self._clock() - start
        self._flush(run_id, force=True, ended=True)
        es = run.early_stopping
        val = run.evaluate("val") if len(sp.y_val) else {}
        self.finished.emit(run_id, RunResult(
            status="stopped" if trainer.stopped_by_request or (es and es.stopped_epoch)
            else "finished",
            best_epoch=es.best_epoch if es else 0,
            stopped_epoch=es.stopped_epoch if es else 0,
            restored=bool(es and es.restore_best_weights and es.best_epoch),
            val=val, seconds=seconds,
            samples_per_s=self._samples / seconds if seconds > 0 else 0.0))

    # ------------------------------------------------------------------ records (worker thread)
    def _on_batch(self, trainer: Any, record: Any) -> None:
        self._pending_steps.append((record.step, record.loss, record.lr))
        for name, value in (record.grad_norms or {}).items():
            self._pending_norms.setdefault(self._labels.get(name, name), []).append(value)
        if record.flow is not None:
            self._pending_flow = self._last_flow = record.flow  # the latest is shown
        if self._flow_on:
            now = time.perf_counter()
            if now - self._flow_asked >= FLOW_INTERVAL:
                self._flow_asked = now
                trainer.request_flow()
        self._samples += record.samples
        self._fit_batches += 1
        self._progress = {"epoch": record.epoch, "batch": record.batch,
                          "batches": self._batches, "epochs": self._epochs_total}
        stepped = False
        with self._lock:
            if self._step_batches > 0:
                self._step_batches -= 1
                if self._step_batches == 0:
                    trainer.pause()
                    stepped = True
        # about to wait in a pause: show everything up to here now
        self._flush(self._run_id, force=trainer.paused)
        if stepped:
            self.step_done.emit(self._run_id)

    def _on_epoch(self, trainer: Any, record: Any) -> None:
        run = self._run
        has_hist = bool(record.activation_histograms or record.param_histograms)
        confusion = record.confusion_summary
        if confusion is None and record.confusion_matrix is not None:
            confusion = summarize_confusion(record.confusion_matrix, record.per_class_accuracy)
        # summarized: neither the trainer nor its epoch_records keep a (K, K) matrix
        record.confusion_matrix = trainer.confusion_matrix = None
        fields: dict[str, Any] = {
            "logs": dict(record.logs),
            "hist_epoch": record.epoch if has_hist else None,
            "activation_hist": dict(record.activation_histograms or {}),
            "weight_hist": {self._labels.get(k, k): v
                            for k, v in (record.param_histograms or {}).items()},
            # bounded: at most MAX_SHOWN_CLASSES classes cross, never a (K, K) copy
            "confusion": confusion,
            "per_class": None if confusion is None else confusion.recall,
            "unit_stats": self._unit_stats(run.model) if has_hist else {},
        }
        # short epochs: histograms every few epochs, by their cost and at most so often
        seconds = max(float(record.logs.get("time") or 0.0), 1e-6)
        if has_hist:
            self._hist_cost = record.histogram_seconds
        trainer.histogram_freq = max(1, int(np.ceil(HISTOGRAM_INTERVAL / seconds)),
                                     int(np.ceil(self._hist_cost / (HISTOGRAM_SHARE * seconds))))
        now = time.perf_counter()
        last = record.epoch >= self._epochs_total
        wait = max(BOUNDARY_INTERVAL, BOUNDARY_COST_RATIO * self._boundary_cost)
        if self._points is not None and (now - self._last_boundary >= wait or last):
            fields["boundary"] = {**self._boundary(run.model), "epoch": record.epoch}
            self._last_boundary = time.perf_counter()
            self._boundary_cost = self._last_boundary - now
        self._pending_epochs.append(EpochRecord(**fields))
        stepped = False
        with self._lock:
            if self._step_epoch:
                self._step_epoch = False
                trainer.pause()
                stepped = True
        self._flush(self._run_id, force=last or trainer.paused)
        if stepped:
            self.step_done.emit(self._run_id)

    def _unit_stats(self, model: Any) -> dict[str, dict[str, float]]:
        """Each node type's figure of its units' health on the probe batch, per node, in
        evaluation mode (:meth:`~nncore.graph.types.NodeType.unit_stat`: dead ReLU
        units, saturated sigmoid/tanh outputs)."""
        types = {name: model.node_types[nid] for nid, name in model.node_names.items()}
        wanted = {n for n, t in types.items() if t.has_unit_stat}
        if not wanted:
            return {}
        was = model.training
        model.eval()
        try:
            with no_grad():
                _, acts = model.forward_with_activations(Tensor(self._probe))
        finally:
            model.train(was)
        stats: dict[str, dict[str, float]] = {}
        for name in wanted:
            figure = types[name].unit_stat(np.asarray(acts.get(name)))
            if figure:
                stats[name] = figure
        return stats

    def _boundary(self, model: Any) -> dict[str, np.ndarray]:
        """The predicted class (and its probability) on a grid over the 2-D data."""
        X = self._points[0]
        lo, hi = X.min(axis=0), X.max(axis=0)
        pad = (hi - lo) * 0.08 + 1e-6
        xs = np.linspace(lo[0] - pad[0], hi[0] + pad[0], GRID, dtype=np.float32)
        ys = np.linspace(lo[1] - pad[1], hi[1] + pad[1], GRID, dtype=np.float32)
        gx, gy = np.meshgrid(xs, ys)
        grid = np.stack([gx.ravel(), gy.ravel()], axis=1)
        was = model.training
        model.eval()
        classes = np.empty(len(grid), dtype=np.int64)
        confidence = np.empty(len(grid), dtype=np.float32)
        try:
            with no_grad():  # in chunks: with many classes the scores are rows x classes
                for start in range(0, len(grid), BOUNDARY_ROWS):
                    part = slice(start, start + BOUNDARY_ROWS)
                    scores = model(Tensor(grid[part])).data.astype(np.float64)
                    scores -= scores.max(axis=1, keepdims=True)
                    classes[part] = scores.argmax(axis=1)
                    # the top class's softmax probability: exp(0) over the sum
                    confidence[part] = 1.0 / np.exp(scores).sum(axis=1)
        finally:
            model.train(was)
        return {"x": xs, "y": ys, "classes": classes.reshape(GRID, GRID),
                "confidence": confidence.reshape(GRID, GRID)}

    def _flush(self, run_id: int, force: bool = False, ended: bool = False) -> None:
        """Emit what was collected, at most every EMIT_INTERVAL (always when forced).

        The progress' speed (``samples_per_s``) is measured over training time only
        (:meth:`_clock`: pauses, e.g. between two Steps, do not count), over at least
        0.2 s with new samples (else the last measure stays); the time left (``eta_s``)
        is the batches left times this fit's training time per batch, NaN before the
        speed is known and once the run ``ended`` (finished or stopped: nothing is
        left)."""
        now = time.perf_counter()
        if not force and now - self._last_emit < EMIT_INTERVAL:
            return
        if self._pending_steps or self._progress:
            steps = np.array(self._pending_steps, dtype=np.float64).reshape(-1, 3)
            clock = self._clock()
            elapsed = clock - self._rate_t
            new = self._samples - self._rate_samples
            if elapsed > 0.2 and new > 0:
                self._rate_t, self._rate_samples, self._rate = clock, self._samples, \
                    new / elapsed
            if self._rate:  # every update says it (the line used to lose it in between)
                self._progress["samples_per_s"] = self._rate
            done = ((self._progress.get("epoch", 1) - 1) * self._batches
                    + self._progress.get("batch", 0))
            total = self._epochs_total * self._batches
            per_batch = (clock - self._t0) / self._fit_batches if self._fit_batches else 0.0
            self._progress["eta_s"] = max(total - done, 0) * per_batch \
                if per_batch > 0 and self._progress.get("samples_per_s") and not ended \
                else math.nan
            self.batches.emit(run_id, BatchRecords(
                step=steps[:, 0].copy(), loss=steps[:, 1].copy(), lr=steps[:, 2].copy(),
                grad_norms={k: np.array(v) for k, v in self._pending_norms.items()},
                progress=dict(self._progress), warning=self._pending_warning,
                flow=self._pending_flow))
            self._pending_steps, self._pending_norms = [], {}
            self._pending_warning, self._pending_flow = "", None
        if self._pending_epochs:
            self.epochs.emit(run_id, self._pending_epochs)
            self._pending_epochs = []
        self._last_emit = now

