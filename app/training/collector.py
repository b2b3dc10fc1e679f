"""Python's cyclic garbage collector runs in the GUI thread only.

Python collects reference cycles in whichever thread happens to allocate when a
threshold is crossed. When that is the training worker and the garbage holds Qt objects
of the GUI thread (a closed window's widgets, plot items), their C++ destructors run in
the worker: Qt's object mutexes and Python's GIL are then taken in opposite orders by the
two threads and both wait forever (seen here as a hung test: the worker in
``gc_collect_main`` -> ``QObject::~QObject`` waiting for the GIL, the GUI thread in
``QObject::~QObject`` waiting for a Qt mutex). pyqtgraph's
:class:`~pyqtgraph.util.garbage_collector.GarbageCollector` turns automatic collection
off and collects on a GUI-thread timer instead (the same generations, by the same
thresholds).
"""

from __future__ import annotations

import gc

from pyqtgraph.util.garbage_collector import GarbageCollector

__all__ = ["collect_in_gui_thread", "COLLECT_INTERVAL_S"]

#: How often the GUI thread looks at the collector's counts (seconds).
COLLECT_INTERVAL_S = 0.5

_collector: GarbageCollector | None = None


def collect_in_gui_thread() -> GarbageCollector:
    """Turn automatic garbage collection off and collect on a timer in the calling
    (GUI) thread, once per process; returns the collector. Call it from the GUI thread,
    with a ``QApplication``, before any worker thread starts."""
    global _collector
    if _collector is None:
        _collector = GarbageCollector(interval=COLLECT_INTERVAL_S)
    elif gc.isenabled():  # someone turned it back on
        gc.disable()
    return _collector
