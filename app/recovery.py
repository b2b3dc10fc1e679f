"""Autosave and crash recovery (issue 12).

While a project has unsaved changes, :class:`Autosave` writes it, a couple of seconds
after the last change, to a recovery file of this session in the recovery folder (beside
the settings file: ``~/.config/NNCanvas/recovery/``), atomically (a temporary file, then
a rename: a kill in the middle leaves the previous copy whole). When the project is
saved, or its changes undone, the recovery file is removed: the file on disk holds it
all. A clean exit removes it too. So a recovery file left behind by a session that is
no longer running is the work of a session that crashed or was killed: the next start
offers to restore it (:func:`recoverable`, :meth:`app.main_window.MainWindow.offer_recovery`).

A restored project opens as its file (or untitled) with the recovered network as one
undoable step, "Restore unsaved changes": Save writes it to its file, Undo shows the
file as it was saved.

A recovery file (JSON)::

    {"format": "nncanvas-recovery", "version": 1, "saved_at": "2026-12-04T18:58:03+00:00",
     "pid": 4242, "path": "/home/me/net.json" | null, "example": "digits_mlp" | null,
     "stamp": [size, sha256] | null, "title": "net.json", "project": {...the project...}}
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtWidgets import QMessageBox

from nncore.graph import Graph
from nncore.graph.io import atomic_write, from_dict, to_dict

__all__ = ["Autosave", "Recovered", "recoverable", "recovery_folder", "ask_restore",
           "AUTOSAVE_DELAY_MS", "FORMAT"]

#: How long after the last change the recovery file is written (ms).
AUTOSAVE_DELAY_MS = 2000
FORMAT = "nncanvas-recovery"
VERSION = 1


def recovery_folder(settings_file: str | os.PathLike) -> Path:
    """The recovery folder: ``recovery/`` beside the settings file (``QSettings.fileName()``),
    so that a test's or a user's own settings folder holds its own recovery files."""
    return Path(settings_file).resolve().parent / "recovery"


def _alive(pid: int) -> bool:
    """Whether process ``pid`` still runs and is a Python (an NN Canvas) process; a
    number reused by another program after a crash does not hide the crash."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc: trust the signal
    return b"python" in cmdline or b"nncanvas" in cmdline


@dataclass
class Recovered:
    """A recovery file left by a session that is no longer running.

    Attributes:
        file: the recovery file.
        saved_at: when it was written (aware ``datetime``, UTC).
        path: the project's own file, or None (untitled, or a copy of an example).
        example: the example it was copied from, or None.
        stamp: the project file's stamp when that session read or wrote it.
        title: the project's title then ("net.json", "digits_mlp (example)").
        graph: the network with its settings, as it was.
    """

    file: Path
    saved_at: datetime
    path: Path | None
    example: str | None
    stamp: tuple[int, str] | None
    title: str
    graph: Graph

    def describe(self, now: datetime | None = None) -> str:
        """One sentence for the restore question: what and when, e.g. "net.json (7
        nodes, 7 wires), autosaved at 18:58:03 on 2026-12-04, 3 minutes ago"."""
        now = now or datetime.now(timezone.utc)
        ago = max(0, int((now - self.saved_at).total_seconds()))
        if ago < 90:
            since = f"{ago} seconds ago"
        elif ago < 90 * 60:
            since = f"{round(ago / 60)} minutes ago"
        elif ago < 36 * 3600:
            since = f"{round(ago / 3600)} hours ago"
        else:
            since = f"{round(ago / 86400)} days ago"
        local = self.saved_at.astimezone()
        n, e = len(self.graph.nodes), len(self.graph.edges)
        return (f"{self.title} ({n} node{'s' * (n != 1)}, {e} wire{'s' * (e != 1)}), "
                f"autosaved at {local:%H:%M:%S} on {local:%Y-%m-%d}, {since}")

    def discard(self) -> None:
        """Remove the recovery file (restored, or declined)."""
        self.file.unlink(missing_ok=True)


def _read(file: Path) -> Recovered:
    """Read a recovery file; ValueError (naming the file) for anything malformed."""
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{file.name}: not a readable recovery file ({e})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"{file.name}: not an NN Canvas recovery file")
    try:
        saved_at = datetime.fromisoformat(data["saved_at"])
        stamp = data.get("stamp")
        return Recovered(file=file, saved_at=saved_at,
                         path=Path(data["path"]) if data.get("path") else None,
                         example=data.get("example"),
                         stamp=(int(stamp[0]), str(stamp[1])) if stamp else None,
                         title=str(data.get("title") or "Untitled"),
                         graph=from_dict(data["project"], file.name))
    except (KeyError, TypeError, ValueError, IndexError) as e:
        raise ValueError(f"{file.name}: a damaged recovery file ({e})") from None


def recoverable(folder: Path) -> tuple[list[Recovered], list[str]]:
    """The recovery files in ``folder`` of sessions no longer running, newest first,
    and the problems of those that cannot be read (each named; such a file is left
    where it is, renamed ``*.unreadable``, so that it is neither lost nor asked about
    at every start)."""
    found, problems = [], []
    if not folder.is_dir():
        return found, problems
    for file in sorted(folder.glob("session-*.json")):
        try:
            pid = int(file.stem.split("-")[1])
        except (IndexError, ValueError):
            pid = -1
        if pid > 0 and _alive(pid):
            continue  # another window's, still open
        try:
            found.append(_read(file))
        except ValueError as e:
            problems.append(str(e))
            try:
                file.rename(file.with_suffix(".unreadable"))
            except OSError:
                pass
    found.sort(key=lambda r: r.saved_at, reverse=True)
    return found, problems


def ask_restore(parent: Any, found: Recovered) -> int:
    """Ask whether to restore ``found``: ``QMessageBox.Open`` (Restore),
    ``QMessageBox.Discard`` (remove it) or ``QMessageBox.Cancel`` (ask again at the
    next start)."""
    box = QMessageBox(QMessageBox.Question, "Restore unsaved work?",
                      "NN Canvas did not close properly last time. Unsaved changes can be "
                      f"restored:\n\n{found.describe()}.",
                      QMessageBox.Open | QMessageBox.Discard | QMessageBox.Cancel, parent)
    box.button(QMessageBox.Open).setText("Restore")
    box.button(QMessageBox.Cancel).setText("Not now")
    box.setDefaultButton(QMessageBox.Open)
    return box.exec()


class Autosave(QObject):
    """Keeps this session's recovery file up to date with ``document``.

    Every change (an edit, an undo, a save, another project) restarts a
    :data:`AUTOSAVE_DELAY_MS` timer; when it fires, a project with unsaved edits is
    written to :attr:`file`, and one without has its file removed.

    Args:
        document: the window's :class:`~app.document.Document`.
        folder: the recovery folder (created when first needed).

    Attributes:
        file: this session's recovery file (``session-<pid>-<start>.json``).
        writes: how many times it was written (for tests).
        error: why the last write failed (an ``OSError``'s text), or None; a failed
            write is retried at the next change and never interrupts the user.
    """

    def __init__(self, document: Any, folder: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.folder = folder
        self.file = folder / f"session-{os.getpid()}-{time.time_ns()}.json"
        self.writes = 0
        self.error: str | None = None
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(AUTOSAVE_DELAY_MS)
        self.timer.timeout.connect(self.write_now)
        document.undo_stack.indexChanged.connect(self._changed)
        document.undo_stack.cleanChanged.connect(self._changed)
        document.replaced.connect(self._changed)
        # a settings edit made outside the undo stack (none today) would still be seen
        document.graph.settings_changed.connect(self._changed)

    @Slot()
    @Slot(int)
    @Slot(bool)
    def _changed(self, *_: Any) -> None:
        self.timer.start()

    @Slot()
    def write_now(self) -> None:
        """Write the recovery file now (a modified project) or remove it (a clean one)."""
        self.timer.stop()
        doc = self.document
        if doc.undo_stack.isClean():  # the file holds the network (a run's results
            self.remove()             # are not recovered: only what the user made)
            return
        data = {"format": FORMAT, "version": VERSION,
                "saved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "pid": os.getpid(), "path": str(doc.path) if doc.path else None,
                "example": doc.example, "stamp": list(doc.stamp) if doc.stamp else None,
                "title": doc.title, "project": to_dict(doc.graph)}
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            atomic_write(self.file, json.dumps(data, indent=1) + "\n")
        except (OSError, ValueError, TypeError) as e:
            self.error = getattr(e, "strerror", None) or str(e)
            return
        self.error = None
        self.writes += 1

    def remove(self) -> None:
        """Remove this session's recovery file (saved, or a clean exit)."""
        self.timer.stop()
        try:
            self.file.unlink(missing_ok=True)
        except OSError:
            pass
