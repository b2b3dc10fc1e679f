"""Regression test for the PySide6 pin in pyproject.toml (``PySide6-Essentials>=6.11,<6.12``).

Why the pin: PySide6 6.12.0 on CPython 3.11 loses one reference to ``True`` on every
``Signal.emit(True)`` delivered to a Python slot. ``True`` is an ordinary refcounted object
on 3.11, so after enough emits its count reaches zero and the interpreter aborts with
``Fatal Python error: bool_dealloc: deallocating True``. A GUI that reports training
progress through signals would crash within minutes. PySide6 6.11.3 is fine.

To lift the pin: install the candidate release in the venv under Python 3.11
(``.venv/bin/pip install 'PySide6-Essentials==X.Y.Z'``) and run this file
(``QT_QPA_PLATFORM=offscreen .venv/bin/python -m pytest tests/app/test_pyside_signal_refcount.py``).
If it passes (rather than failing or killing pytest), widen the range in pyproject.toml.
On Python 3.12+ ``True`` is immortal and its count never moves, so there only the
``Signal(object)`` check below can see a leak: run it under 3.11.
"""

from __future__ import annotations

import gc
import sys

import pytest
from PySide6.QtCore import QObject, Signal, Slot

pytestmark = pytest.mark.gui

EMITS = 5_000
# sys.getrefcount(True) counts references held anywhere in the process, so the
# interpreter itself may take or drop a couple of them between the two readings
# (e.g. a cached frame or a boolean stored by pytest or gc). A leak of one reference
# per emit moves the count by thousands, so a slack of a few cannot hide it.
TOLERANCE = 3


class Emitter(QObject):
    changed = Signal(bool)
    payload = Signal(object)


class Receiver(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.bool_calls = 0
        self.object_calls = 0

    @Slot(bool)
    def on_changed(self, value: bool) -> None:
        assert value is True
        self.bool_calls += 1

    @Slot(object)
    def on_payload(self, value: object) -> None:
        self.object_calls += 1


def test_emitting_true_keeps_its_refcount(qapp):
    emitter, receiver = Emitter(), Receiver()  # both live in this (the GUI) thread
    emitter.changed.connect(receiver.on_changed)

    gc.collect()
    before = sys.getrefcount(True)
    for _ in range(EMITS):
        emitter.changed.emit(True)
    gc.collect()
    after = sys.getrefcount(True)

    assert receiver.bool_calls == EMITS
    assert abs(after - before) <= TOLERANCE, (
        f"refcount of True went from {before} to {after} over {EMITS} emits: "
        "this PySide6 leaks references on Signal.emit (see the module docstring)"
    )


def test_emitting_an_object_keeps_its_refcount(qapp):
    emitter, receiver = Emitter(), Receiver()
    emitter.payload.connect(receiver.on_payload)
    sentinel = object()  # refcounted on every Python version, only we hold it

    gc.collect()
    before = sys.getrefcount(sentinel)
    for _ in range(EMITS):
        emitter.payload.emit(sentinel)
    gc.collect()
    after = sys.getrefcount(sentinel)

    assert receiver.object_calls == EMITS
    assert after == before, f"refcount of the payload went from {before} to {after}"
