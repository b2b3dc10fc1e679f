"""The training controller: the GUI-thread side of training.

:class:`TrainingController` owns the worker thread, starts, pauses, steps and stops runs,
and turns the worker's signals into :class:`~app.training.runs.Run` records in the
:class:`~app.training.runs.RunStore` that the live views draw. Every worker signal is
connected to a bound method of this object, which lives in the GUI thread, so the slots
run there (a lambda would run in the worker thread); signals of a run that is no longer
the active one are ignored.
"""

from __future__ import annotations

import atexit
import sys
import weakref
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from app.training.collector import collect_in_gui_thread
from app.training.runs import Run, RunStore
from app.state import RunState, can
from app.training.records import BatchRecords, EpochRecord, RunInfo, RunResult
from app.training.worker import TrainingWorker
from nncore.graph import dumps
from nncore.graph import loads as loads_graph
from nncore.project.data import DataPending
from nncore.text import plural

__all__ = ["TrainingController", "GIL_SWITCH_INTERVAL"]

#: Python's thread switch interval while a training thread exists (seconds; Python's
#: default is 0.005). The worker holds the GIL between NumPy calls; the GUI thread,
#: waiting to paint, gets it back after at most this long instead of 5 ms, which keeps
#: the window's event loop on time (measured in bench/gui.py) at no cost in speed.
GIL_SWITCH_INTERVAL = 0.001


#: Every controller not yet collected, for the exit hook below.
_LIVE: "weakref.WeakSet[TrainingController]" = weakref.WeakSet()


@atexit.register
def _end_threads_at_exit() -> None:
    """At interpreter exit, end the worker thread of every controller still alive."""
    for controller in list(_LIVE):
        try:
            controller.shutdown(2.0)
        except RuntimeError:  # pragma: no cover - its Qt objects are already gone
            pass


class TrainingController(QObject):
    """Starts and controls training runs of ``document``'s graph.

    Signals:
        state_changed(RunState): :attr:`state`'s new value (idle, running, paused,
            stepping or stopping; a :class:`~app.state.RunState`, equal to its
            string).
        message(str, bool): a status text, and whether it is an error.
        node_failed(str): the display name of the node a failed run blames.
        run_finished(int): a run ended (finished, stopped or failed).
    """

    state_changed = Signal(object)
    message = Signal(str, bool)
    node_failed = Signal(str)
    run_finished = Signal(int)
    _start = Signal(int, str, str, int, bool)

    def __init__(self, document: Any, store: RunStore | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.store = store or RunStore(self)
        #: idle, running, paused, stepping or stopping; the active run's status follows it
        self.state = RunState.IDLE
        self.active: int | None = None  # the run the worker is training
        self._last: tuple[int, str] | None = None  # (run id, training key) of the model
        #: an opened file's model waiting for its large data file to be read
        self._pending_model: tuple[Any, list[int], int, bool] | None = None
        self.finished_signals: dict[int, int] = {}  # run id -> finished/failed count
        self.worker_thread = QThread()
        self.worker_thread.setObjectName("nncanvas-training")
        self.worker = TrainingWorker()
        self.worker.moveToThread(self.worker_thread)
        self._start.connect(self.worker.train)
        self.worker.run_started.connect(self._on_run_started)
        self.worker.batches.connect(self._on_batches)
        self.worker.epochs.connect(self._on_epochs)
        self.worker.finished.connect(self._on_finished)
        self.worker.failed.connect(self._on_failed)
        self.worker.step_done.connect(self._on_step_done)
        self.store.run_removed.connect(self._on_run_removed)
        if sys.getswitchinterval() > GIL_SWITCH_INTERVAL:
            sys.setswitchinterval(GIL_SWITCH_INTERVAL)
        collect_in_gui_thread()  # never in the worker: see app.training.collector
        self.worker_thread.start()
        app = QCoreApplication.instance()
        if app is not None:  # a safety net: the thread never outlives the event loop
            app.aboutToQuit.connect(self.shutdown)
        # and a script that never runs the event loop (offscreen, tests) ends it at exit:
        # a QThread destroyed while running aborts the process (exit code 134)
        _LIVE.add(self)

    # ------------------------------------------------------------------ commands
    def train(self, epochs: int = 0, start_paused: bool = False) -> int | None:
        """Train the document's graph in the worker: continue the last model if the
        network and settings are unchanged (and it was not reset), else a new run from
        fresh weights. Returns the run id.

        The settings and the data are checked here first, in the GUI thread (with the
        cached loader the training panel's preview uses, relative paths against the
        document's folder): if they cannot be read, no run is made, :attr:`message`
        carries the reason (file, line and column) as an error, and None is returned.
        None is also returned while a run is active."""
        if not can(self.state, "train"):
            return None
        graph = self.document.graph
        project = self.document.project
        base = str(project.base_dir or "")
        try:
            settings = project.training_settings
            data_settings = project.dataset_settings
            project.load_data()
            text = dumps(graph)  # checks every setting (values pushed from code too)
        except Exception as e:  # noqa: BLE001 - DataFileError, SettingsError, ...: all shown
            self.message.emit(f"Cannot train: {str(e) or type(e).__name__}", True)
            return None
        # a run belongs to its project: same graph, settings, data file and content
        key = project.run_key(text)
        if self._last is not None and self._last[1] == key and self._last[0] in self.store.runs:
            run_id = self._last[0]
            run = self.store.runs[run_id]
            run.status = RunState.RUNNING
        else:
            dataset = data_settings.name if data_settings.source == "builtin" else \
                Path(data_settings.path or "data").name
            lr = settings.optimizer_options.get("lr")
            label = f"{settings.optimizer}" + (f" lr={lr:g}" if lr is not None else "") + \
                f" · {dataset}"
            run = self.store.new_run(dict(graph.settings), label)
            run_id = run.run_id
            self._last = (run_id, key)
        self.active = run_id
        self.store.set_current(run_id)
        self._set_state(RunState.PAUSED if start_paused else RunState.RUNNING)
        self.worker._source = (text, base)  # what the model is trained as (Save keeps it)
        self._start.emit(run_id, text, base, int(epochs), bool(start_paused))
        return run_id

    def pause(self) -> None:
        if can(self.state, "pause"):
            self.worker.pause()
            self._set_state(RunState.PAUSED)

    def resume(self) -> None:
        if can(self.state, "resume"):  # paused, or a Step under way
            self.worker.resume()
            self._set_state(RunState.RUNNING)

    def step(self, kind: str = "batch") -> None:
        """One batch (or the rest of the epoch) and pause again; from idle, a new run
        that starts paused and takes that step. The state is ``STEPPING`` until the
        worker says the step is done (then ``PAUSED``)."""
        if self.state == RunState.IDLE:
            if self.train(start_paused=True) is None:
                return
        if self.state == RunState.PAUSED:
            self._set_state(RunState.STEPPING)
            self.worker.step(kind)

    def stop(self) -> None:
        if can(self.state, "stop"):
            self._set_state(RunState.STOPPING)
            self.worker.request_stop(self.active)
            self.worker.resume()

    def reset(self) -> None:
        """Forget the trained weights: the next Train starts a new run."""
        if can(self.state, "reset"):
            self._last = None
            self.worker.reset()
            self.message.emit("Weights reset: the next run starts from fresh weights", False)

    def forget(self) -> bool:
        """Another project replaces this one: drop its trained weights and every run
        in the store (their plots, the decision boundary and the runs table empty), so
        the next Train starts a new run. Only when idle; returns whether it was done."""
        if self.state != RunState.IDLE:
            return False
        self._last = None
        self._pending_model = None
        self.worker.reset()
        self.finished_signals.clear()
        self.store.clear()
        return True

    def trained_run(self) -> tuple[int, Any] | None:
        """The model the next Train would continue, as ``(run id, its
        nncore.project.TrainingRun)``: only while idle, and only when it was trained
        for the document's network, settings and data as they are now; None otherwise
        (nothing trained yet, weights reset, the network or a setting changed since, a
        run active or paused). Read it, do not change it: the step-through steps in a
        copy (:func:`nncore.stepthrough.copy_weights`)."""
        if self.state != RunState.IDLE or self._last is None \
                or self._last[0] not in self.store.runs:
            return None
        run, worker = self.worker._run, self.worker
        if run is None or worker._model_run != self._last[0]:
            return None
        try:
            key = self.document.project.run_key(dumps(self.document.graph))
        except Exception:  # noqa: BLE001 - a setting that cannot be saved: no match
            return None
        return (self._last[0], run) if key == self._last[1] == worker._key else None

    def has_stale_model(self) -> bool:
        """Whether a model was trained but :meth:`trained_run` does not give it: the
        network, a setting or the data changed since (an undo may bring it back)."""
        return self.worker._run is not None and self._last is not None \
            and self.trained_run() is None

    def kept(self, folder: Path | None = None) -> tuple[list[Any], Any]:
        """What Save keeps in the project file: every run of the store
        (:func:`app.training.keeping.records_of`) and the trained model
        (:class:`nncore.project.saved.SavedModel`) of the run the next Train would
        continue, when there is one: idle, trained for the document's network, settings
        and data as they are now (the data path may name the file from ``folder``, where
        the project is being saved), else None."""
        from app.training.keeping import records_of
        from nncore.graph import loads
        from nncore.project.saved import SavedModel, network_fingerprint

        model, trained = None, None
        worker = self.worker
        if self.state == RunState.IDLE and self._last is not None \
                and self._last[0] in self.store.runs and worker._run is not None \
                and worker._model_run == self._last[0] and worker._key == self._last[1] \
                and worker._source is not None:
            text, base = worker._source
            try:
                graph = loads(text, "the network")  # as it was trained
                same = network_fingerprint(graph) == network_fingerprint(self.document.graph)
            except Exception:  # noqa: BLE001 - a graph that cannot be read: no model
                same = False
            if same:  # settings changed since: kept, Train then goes on with a fresh optimizer
                trained = self._last[0]
                model = SavedModel.from_run(worker._run, graph, base or None,
                                            self.store.runs[trained].name)
        return records_of(self.store, trained), model

    def adopt(self, saved: Any) -> None:
        """An opened project file's runs and trained model
        (:class:`nncore.project.saved.ProjectFile`, or None): the runs go to the store
        (the loss view and the runs table show them), the model becomes the trained run
        (:meth:`trained_run`: the step-through and the predictions use it; Train
        continues it). What cannot be restored is said in :attr:`message`; the runs
        stay. A model whose large data file is still being read (DataPending) waits for
        :meth:`data_arrived`."""
        from app.training.keeping import restore_runs

        if saved is None or (not saved.runs and saved.model is None and not saved.problem):
            return
        from nncore.project.saved import RunRecord

        model = saved.model
        runs, index = list(saved.runs), saved.trained_run
        legacy = model is not None and index is None  # weights alone (--save-weights)
        if legacy:
            runs.append(RunRecord("", dict(self.document.graph.settings), trained=True))
            index = len(runs) - 1
        ids = restore_runs(self.store, runs, model)
        if legacy:
            file = saved.weights_path.name if saved.weights_path else "the file"
            self.store.runs[ids[index]].name += f"weights from {file}"
        self._pending_model = None
        if model is not None and index is not None and self.state == RunState.IDLE:
            try:  # a large CSV is read in the Data section's thread, never here
                self.document.project.load_data()
            except DataPending as e:
                self._pending_model = (saved, ids, index, legacy)
                self.message.emit(f"{e.args[0].split(':')[0]}: the trained model is restored "
                                  "once it is in", False)
                return
            except (ValueError, OSError):
                pass  # said below, by the run that cannot be made
        self._restore_model(saved, ids, index, legacy)

    def data_arrived(self) -> None:
        """A large data file is in (the Data section's worker read it): an opened
        file's trained model that waited for it is restored now."""
        pending, self._pending_model = self._pending_model, None
        if pending is not None and self.state == RunState.IDLE:
            self._restore_model(*pending)

    def _restore_model(self, saved: Any, ids: list[int], index: int | None,
                       legacy: bool) -> None:
        """The model part of :meth:`adopt`: build the run, restore the weights, say so."""
        from app.training.keeping import confusion_of
        from nncore.project import run_key

        model = saved.model
        fresh = ""
        problem = saved.problem
        if model is not None and index is not None and self.state == RunState.IDLE:
            run_id = ids[index]
            project = self.document.project
            base = str(project.base_dir or "")
            try:
                text = dumps(self.document.graph)
                run = self.worker.make_run(loads_graph(text), base)
                exact = model.restore(run, self.document.graph, project.base_dir)
            except Exception as e:  # noqa: BLE001 - data gone, a changed file...: said
                problem = (f"{saved.weights_path.name if saved.weights_path else 'weights'}: "
                           f"the trained model cannot be restored: {str(e) or type(e).__name__}"
                           "; Train starts a new run")
            else:
                key = run_key(text, base or None)
                self.worker.adopt(run_id, run, key, (text, base))
                self._last = (run_id, key)
                record = self.store.runs[run_id]
                record.task = run.model.task
                record.classes = list(run.data.classes) if run.data.classes else None
                confusion = confusion_of(run)
                if confusion is not None:
                    record.confusion, record.per_class = confusion
                self.store.set_current(run_id)
                self.store.changed(run_id)
                fresh = "" if exact else (" (its settings or data changed after training: "
                                          "the optimizer starts afresh)")
        if problem:
            self.message.emit(problem, True)
        elif legacy:
            self.message.emit(f"{self.store.runs[ids[index]].name}: the weights are restored "
                              "(saved without their history); Train continues them", False)
        elif model is not None and index is not None:
            m = model.metrics
            acc = m.get("val_accuracy")
            self.message.emit(f"{self.store.runs[ids[index]].name}: restored after "
                              f"{plural(model.epoch, 'epoch')}"
                              + (f", validation accuracy {acc:.2%}" if acc is not None
                                 and acc == acc else "")
                              + "; Train continues it" + fresh, False)

    def shutdown(self, timeout_s: float = 3.0) -> bool:
        """Stop any run and end the worker thread (the window is closing). Returns True
        if the thread ended within ``timeout_s``."""
        self.worker.request_stop()
        self.worker.resume()
        self.worker_thread.quit()
        ok = self.worker_thread.wait(int(timeout_s * 1000))
        self._set_state(RunState.IDLE)
        return bool(ok)

    # ------------------------------------------------------------------ worker signals (GUI thread)
    def _run(self, run_id: int) -> Run | None:
        if run_id != self.active:
            return None  # a stale run's late signal
        return self.store.get(run_id)

    @Slot(int, object)
    def _on_run_started(self, run_id: int, info: RunInfo) -> None:
        run = self._run(run_id)
        if run is None:
            return
        run.task, run.classes = info.task, info.classes
        run.points = info.points
        run.progress = {"epoch": 0, "batch": 0, "batches": info.batches,
                        "epochs": info.epochs}
        self.store.changed(run_id)

    @Slot(int, object)
    def _on_batches(self, run_id: int, data: BatchRecords) -> None:
        run = self._run(run_id)
        if run is None:
            return
        run.step.extend(data.step)
        run.step_loss.extend(data.loss)
        run.step_lr.extend(data.lr)
        norms = data.grad_norms
        if norms:
            n = len(next(iter(norms.values())))
            run.grad_steps.extend(data.step[-n:])
            for label, values in norms.items():
                series = run.grad_norms.get(label)
                if series is None:
                    from app.training.runs import Series

                    series = run.grad_norms[label] = Series()
                    missing = len(run.grad_steps) - n
                    if missing:
                        series.extend([float("nan")] * missing)
                series.extend(values)
        run.progress = dict(data.progress)
        if data.flow is not None:
            run.flow = data.flow
        if data.warning and not run.warning:
            run.warning = data.warning
            self.message.emit(f"{run.name}: {data.warning}", True)
        self.store.changed(run_id)

    @Slot(int, object)
    def _on_epochs(self, run_id: int, records: list[EpochRecord]) -> None:
        run = self._run(run_id)
        if run is None:
            return
        for p in records:
            run.epochs.append(p.logs)
            if p.hist_epoch is not None:
                run.hist_epochs.append(int(p.hist_epoch))
            for store, hists in ((run.activation_hist, p.activation_hist),
                                 (run.weight_hist, p.weight_hist)):
                for name, hist in hists.items():
                    store.setdefault(name, []).append(hist)
            for name, stat in p.unit_stats.items():
                run.unit_stats.setdefault(name, []).append(stat)
            if p.confusion is not None:
                run.confusion, run.per_class = p.confusion, p.per_class
            if p.boundary is not None:
                run.boundary = p.boundary
        self.store.changed(run_id)

    @Slot(int, object)
    def _on_finished(self, run_id: int, summary: RunResult) -> None:
        self.finished_signals[run_id] = self.finished_signals.get(run_id, 0) + 1
        run = self._run(run_id)
        if run is None:
            self._end_deleted(run_id)
            return
        run.status = RunState(summary.status)
        run.best_epoch, run.stopped_epoch = summary.best_epoch, summary.stopped_epoch
        val = summary.val
        text = f"{run.name}: {run.status} after {plural(len(run.epochs), 'epoch')}"
        if "accuracy" in val:
            text += f", validation accuracy {val['accuracy']:.2%}"
        elif "r2" in val:
            text += f", validation R² {val['r2']:.4f}"
        if summary.restored:
            text += f" (best epoch {run.best_epoch} restored)"
        if run.warning:
            text += f"; {run.warning}"
        self._end(run_id, text, bool(run.warning))

    @Slot(int, str, str)
    def _on_failed(self, run_id: int, message: str, node: str) -> None:
        self.finished_signals[run_id] = self.finished_signals.get(run_id, 0) + 1
        run = self._run(run_id)
        if run is None:
            self._end_deleted(run_id)
            return
        run.status, run.message = RunState.FAILED, message
        self._last = None  # a failed model is not continued
        self.worker.reset()
        if node:
            self.node_failed.emit(node)
        self._end(run_id, f"Training stopped: {message}", True)

    def _on_run_removed(self, run_id: int) -> None:
        """A run deleted while it trains (from code: the runs table refuses): stop it."""
        if run_id == self.active:
            self.stop()

    def _end_deleted(self, run_id: int) -> None:
        if run_id == self.active:  # its run was deleted while it trained
            self._last = None
            self.worker.reset()
            self._end(run_id, "Training stopped: its run was deleted", False)

    def _end(self, run_id: int, text: str, error: bool) -> None:
        self.active = None
        self.store.changed(run_id)
        results = getattr(self.document, "results_changed", None)
        if results is not None:  # the runs and weights to save: the project is modified
            results()
        self._set_state(RunState.IDLE)
        self.message.emit(text, error)
        self.run_finished.emit(run_id)

    @Slot(int)
    def _on_step_done(self, run_id: int) -> None:
        """The worker took the Step asked for and paused again."""
        if run_id == self.active and self.state == RunState.STEPPING:
            self._set_state(RunState.PAUSED)

    def _set_state(self, state: RunState) -> None:
        """The controller's state, and the active run's status while it trains (the runs
        table shows it)."""
        state = RunState(state)
        if state != self.state:
            self.state = state
            run = self.store.get(self.active) if self.active is not None else None
            if run is not None and state.busy:
                run.status = state
                self.store.changed(run.run_id)
            self.state_changed.emit(state)
