"""Loading a dataset in a worker thread, with progress and cancel.

:class:`DataLoader` runs :func:`nncore.project.load_data_cached` in a ``QThread`` (as
:mod:`app.training.worker` runs training: a ``QObject`` moved to its thread, talking only
through signals): the reader's ``progress`` callback becomes the :attr:`progress` signal
and :meth:`cancel` sets the ``threading.Event`` the reader checks before each chunk
(:class:`nncore.tables.ReadCancelled`). The loaded data lands in the project's data
cache, so the canvas and the training start that ask for it next get it at once.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from nncore.project import load_data_cached
from nncore.project.settings import DatasetSettings
from nncore.tables import ReadCancelled

__all__ = ["DataLoader"]


class _Job(QObject):
    """The load itself (in the worker thread); every signal carries its stop event, which
    tells a current load's answer from a cancelled one's."""

    progress = Signal(object, float)
    done = Signal(object, object)      # the Dataset
    failed = Signal(object, str)       # why (the engine's message)
    cancelled = Signal(object)

    def __init__(self, settings: DatasetSettings, base: Path | None,
                 stop: threading.Event) -> None:
        super().__init__()
        self._settings = settings
        self._base = base
        self._stop = stop

    @Slot()
    def run(self) -> None:
        try:
            data = load_data_cached(self._settings, self._base,
                                    progress=lambda f: self.progress.emit(self._stop, f),
                                    cancel=self._stop)
        except ReadCancelled:
            self.cancelled.emit(self._stop)
        except Exception as e:  # noqa: BLE001 - any failure is said, never a traceback
            self.failed.emit(self._stop, str(e) or type(e).__name__)
        else:
            self.done.emit(self._stop, data)


class DataLoader(QObject):
    """One dataset load at a time off the GUI thread.

    Signals:
        progress(float): the fraction of the file read (0..1).
        loaded(object): the :class:`~nncore.data.Dataset` (with the ``tag`` given to
            :meth:`start` as :attr:`tag`).
        failed(str): why it cannot be loaded.
        cancelled(): :meth:`cancel` stopped it; nothing changed.
    """

    progress = Signal(float)
    loaded = Signal(object)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: QThread | None = None
        self._job: _Job | None = None
        self._stop = threading.Event()
        self._retired: list[tuple[QThread, _Job]] = []  # cancelled loads still ending
        self.tag: Any = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self, settings: DatasetSettings, base: Path | None, tag: Any = None) -> None:
        """Load ``settings``' data (paths relative to ``base``); a load under way is
        cancelled first (its result is dropped)."""
        self.cancel(quiet=True)
        self.tag = tag
        self._stop = threading.Event()
        thread = QThread()
        job = _Job(settings, base, self._stop)
        job.moveToThread(thread)
        thread.started.connect(job.run)
        job.progress.connect(self._on_progress)   # queued: slots of this GUI object
        job.done.connect(self._on_done)
        job.failed.connect(self._on_failed)
        job.cancelled.connect(self._on_cancelled)
        for signal in (job.done, job.failed, job.cancelled):
            # in the worker thread, as the job ends: the thread ends without waiting
            # for this (GUI) thread's event loop, so :meth:`wait` can wait for it
            signal.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        thread.finished.connect(self._on_thread_end)
        self._thread, self._job = thread, job
        thread.start()

    @Slot(object, float)
    def _on_progress(self, stop: threading.Event, fraction: float) -> None:
        if stop is self._stop and not stop.is_set():
            self.progress.emit(fraction)

    @Slot(object, object)
    def _on_done(self, stop: threading.Event, data: Any) -> None:
        self._finish(stop, self.loaded, data)

    @Slot(object, str)
    def _on_failed(self, stop: threading.Event, message: str) -> None:
        self._finish(stop, self.failed, message)

    @Slot(object)
    def _on_cancelled(self, stop: threading.Event) -> None:
        self._finish(stop, None, None)

    @Slot()
    def _on_thread_end(self) -> None:
        for pair in list(self._retired):
            if pair[0].isFinished():
                self._retired.remove(pair)
                pair[1].deleteLater()
                pair[0].deleteLater()

    def _finish(self, stop: threading.Event, signal: Any, value: Any) -> None:
        if stop is not self._stop or self._thread is None:  # a cancelled load's answer
            return
        self._retired.append((self._thread, self._job))
        self._thread = self._job = None
        if stop.is_set():
            self.cancelled.emit()
        elif signal is not None:
            signal.emit(value)

    def cancel(self, quiet: bool = False) -> None:
        """Stop the load under way (the reader stops before its next chunk); emits
        :attr:`cancelled` unless ``quiet``."""
        if self._thread is None:
            return
        self._stop.set()
        if quiet:
            self._retired.append((self._thread, self._job))
            self._thread = self._job = None
            self._stop = threading.Event()

    def wait(self, ms: int = 5000) -> None:
        """Wait for the thread to end (closing)."""
        for thread in [self._thread] + [t for t, _ in self._retired]:
            if thread is not None:
                thread.wait(ms)
