"""The open project: a graph, its file, and the undo history of its edits.

The :class:`Document` owns the :class:`nncore.graph.Graph` the whole window shows (the
single source of truth) and the :class:`QUndoStack` every edit goes through. It knows
whether there are unsaved changes (the undo stack's clean state) and loads and saves
files through :mod:`nncore.graph.io` (atomic saves; a failed load changes nothing).

A shipped example (:mod:`app.resources`) opens as an untitled copy: it has no path, its
title says ``digits_mlp (example)``, the first save asks where, and the example itself is
never written.

The file's content is remembered (:func:`file_stamp`) when it is opened or saved: a save
over a file that changed on disk since (another window, another program) raises
:class:`FileChangedError` instead of silently overwriting it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path
from typing import Any, Callable, Iterator

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from app.resources import is_example
from nncore.files import read_limited
from nncore.graph import Graph, GraphFileError, load_graph
from nncore.limits import MAX_PROJECT_BYTES
from nncore.project import Project
from nncore.project.data import LARGE_FILE_BYTES
from nncore.project.saved import ProjectFile, load_project, save_project

__all__ = ["Document", "FileChangedError", "file_stamp"]


class FileChangedError(OSError):
    """The file was changed on disk since this document opened or saved it.

    Attributes:
        path: the file.
    """

    def __init__(self, path: Path) -> None:
        super().__init__(f"{path}: changed on disk since it was opened or saved here")
        self.path = path


def file_stamp(path: str | os.PathLike) -> tuple[int, str] | None:
    """What identifies a file's content: (size in bytes, SHA-256 of the bytes), or None
    when there is no file to read. The content is hashed because two saves within the
    file system's clock tick can leave one modification time."""
    try:  # a FIFO or /dev/zero is never read (load_graph refuses it with a message)
        data = read_limited(path, "a project file", MAX_PROJECT_BYTES)
    except OSError:
        return None
    return len(data), hashlib.sha256(data).hexdigest()


class _ReplaceGraph(QUndoCommand):
    """Make the graph a copy of ``new`` (nodes, wires, settings); undo brings back what
    it was (:meth:`Document.restore`'s step)."""

    def __init__(self, graph: Graph, new: Graph, text: str) -> None:
        super().__init__(text)
        self.graph = graph
        self.new, self.old = Graph(), Graph()
        self.new.replace_with(new)
        self.old.replace_with(graph)

    def redo(self) -> None:
        self.graph.replace_with(self.new)

    def undo(self) -> None:
        self.graph.replace_with(self.old)


class Document(QObject):
    """The project being edited.

    Signals:
        path_changed(object): the file path (a ``Path``, or None for a new project).
        modified_changed(bool): whether there are unsaved changes.
        replaced(): another project took this one's place (New, Open, an example); the
            undo stack is empty, so no ``indexChanged`` tells of it.
    """

    path_changed = Signal(object)
    modified_changed = Signal(bool)
    replaced = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.graph = Graph()
        self.undo_stack = QUndoStack(self)
        self.path: Path | None = None
        #: The name of the shipped example this untitled project was opened from, or None.
        self.example: str | None = None
        #: :func:`file_stamp` of :attr:`path` when this document last read or wrote it.
        self.stamp: tuple[int, str] | None = None
        #: Called before every edit; returning False refuses it (the window asks to
        #: stop training first). None: always allowed.
        self.edit_guard: Callable[[], bool] | None = None
        #: Called by :meth:`save` with the folder saved to: (the runs, the trained
        #: model) to keep in the file (the window's ``TrainingController.kept``); None:
        #: the graph alone is saved.
        self.keeper: Callable[[Path], tuple[list, Any]] | None = None
        #: What :meth:`open` read beside the graph (runs, trained model, a problem with
        #: the weights file), for the window to restore; None for another project.
        self.saved: ProjectFile | None = None
        self._results = False  # a run ended since the last save or open
        self.undo_stack.cleanChanged.connect(self._clean_changed)

    def _clean_changed(self, clean: bool) -> None:
        self.modified_changed.emit(not clean or self._results)

    @property
    def modified(self) -> bool:
        """True when the graph differs from the file (or a new project has edits), or a
        training run ended since the project was saved or opened (its runs and weights
        are saved with it)."""
        return not self.undo_stack.isClean() or self._results

    def mark_unmodified(self) -> None:
        """Count the project as saved, edits and results alike, without writing it:
        closing then asks nothing (for checks and pictures that close the window
        themselves)."""
        self.undo_stack.setClean()
        if self._results:
            self._results = False
            self.modified_changed.emit(False)

    def results_changed(self) -> None:
        """A training run ended: the project has unsaved results (the title says so,
        closing asks to save)."""
        if not self._results:
            self._results = True
            if self.undo_stack.isClean():
                self.modified_changed.emit(True)

    @property
    def title(self) -> str:
        """The file's name, ``"NAME (example)"`` for a copy of a shipped example, or
        ``"Untitled"``."""
        if self.path:
            return self.path.name
        return f"{self.example} (example)" if self.example else "Untitled"

    @property
    def base_name(self) -> str:
        """The name to suggest for a file of this project (no suffix): the file's, the
        example's, or ``"network"``."""
        return self.path.stem if self.path else self.example or "network"

    def can_edit(self) -> bool:
        """Whether edits are allowed now (asks :attr:`edit_guard`)."""
        return self.edit_guard is None or bool(self.edit_guard())

    @contextlib.contextmanager
    def macro(self, text: str) -> Iterator[bool]:
        """Group the pushes inside into one undo step, after asking once whether edits
        are allowed; yields that answer (push nothing when it is False)."""
        if not self.can_edit():
            yield False
            return
        guard, self.edit_guard = self.edit_guard, None
        self.undo_stack.beginMacro(text)
        try:
            yield True
        finally:
            self.undo_stack.endMacro()
            self.edit_guard = guard

    def push(self, command: QUndoCommand) -> bool:
        """Do ``command`` and record it for undo. Returns False (and does nothing) if
        :attr:`edit_guard` refuses edits right now (e.g. while training runs).

        Raises:
            GraphError, ParamError: if the model refuses the edit; then nothing changes
                and nothing is recorded.
        """
        if not self.can_edit():
            return False
        self.undo_stack.push(command)
        error = getattr(command, "error", None)
        if error is not None:
            raise error
        return True

    @property
    def project(self) -> Project:
        """The graph with its folder, dataset and settings: what the canvas, the
        inspector and training ask for the data's shape and the problems on it."""
        # a large CSV is read by the Data section's worker thread, never here
        return Project(self.graph, self.path.parent if self.path else None,
                       defer_bytes=LARGE_FILE_BYTES)

    def new(self) -> None:
        """Start a new project: the default dataset (the digits) and an Input node,
        whose shapes follow that dataset."""
        from nncore.project.settings import DatasetSettings

        fresh = Graph()
        fresh.add_node("input", (0.0, 0.0))
        fresh.settings = {"dataset": DatasetSettings().to_dict()}
        self._replace(fresh, None)

    def open(self, path: str | Path) -> None:
        """Load a graph file, replacing the project. A shipped example opens as an
        untitled copy (:attr:`example` names it, :attr:`path` is None).

        Raises:
            GraphFileError: for a file that cannot be read; nothing changes then.
        """
        path = Path(path)
        stamp = file_stamp(path)  # before reading: a change in between is noticed later
        saved = load_project(path)  # its runs and trained model too (never refused for them)
        graph = saved.graph
        if is_example(path):
            self._replace(graph, None, example=path.stem)
        else:
            self._replace(graph, path.resolve(), stamp=stamp)
        self.saved = saved

    def restore(self, graph: Graph, path: Path | None, example: str | None = None,
                stamp: tuple[int, str] | None = None, text: str = "Restore unsaved changes"
                ) -> None:
        """Open work that was never saved (autosaved before a crash): the project's file
        as it is on disk (an empty project when there is none or it cannot be read),
        then ``graph`` as one undo step named ``text``, so that the project is
        modified, Save writes it to ``path`` and Undo shows the file as saved.

        Args:
            graph: the recovered network and settings.
            path: the project's file, or None (untitled or a copy of ``example``).
            stamp: the file's stamp when the crashed session read or wrote it: a file
                changed since is not overwritten without asking.
        """
        base = Graph()
        if path is not None:
            try:
                base = load_graph(path)
            except GraphFileError:
                pass  # gone or damaged: the recovered copy is all there is
        self._replace(base, path.resolve() if path is not None else None, example=example,
                      stamp=stamp if path is not None else None)
        self.undo_stack.push(_ReplaceGraph(self.graph, graph, text))

    def rebased_settings(self, target: str | Path) -> dict | None:
        """The settings to write when the project is saved as ``target``: a relative
        data path made to name the same file from ``target``'s folder, or None when
        nothing needs to change (no data file, an absolute path, the same folder).

        The data file found from the current folder (the project file's, else the
        working directory's, as :func:`nncore.project.data.resolve_path` reads it) is
        named relative to the new folder when it lies inside it, else by its absolute
        path (a path climbing out of the project's folder breaks when the folder
        moves)."""
        dataset = self.graph.settings.get("dataset")
        if not isinstance(dataset, dict):
            return None
        value = dataset.get("path")
        if not isinstance(value, str) or not value or "\0" in value:
            return None
        old = Path(value)
        if old.is_absolute():
            return None
        base = (self.path.parent if self.path is not None else Path.cwd()).resolve()
        folder = Path(target).parent.resolve()
        if folder == base:
            return None
        file = Path(os.path.normpath(base / old))
        try:
            new = file.relative_to(folder).as_posix()
        except ValueError:  # outside the new folder (or another drive)
            new = str(file)
        if new == value:
            return None
        return {**self.graph.settings, "dataset": {**dataset, "path": new}}

    def changed_on_disk(self) -> bool:
        """Whether :attr:`path` now holds something else than this document last read
        or wrote there (a missing file is no change: saving recreates it)."""
        if self.path is None or self.stamp is None:
            return False
        now = file_stamp(self.path)
        return now is not None and now != self.stamp

    def save(self, path: str | Path | None = None, overwrite: bool = False) -> Path:
        """Save to ``path`` (default: the current file) atomically and mark the project
        clean. Returns the path.

        Raises:
            ValueError: if there is no path yet, or ``path`` is a shipped example (never
                overwritten); OSError for a write failure (the old file is untouched).
            FileChangedError: when saving to the current file, which changed on disk
                since it was opened or saved here (:meth:`changed_on_disk`), unless
                ``overwrite``; nothing is written then.
            RecursionError, ValueError, TypeError: for settings that cannot be written
                as JSON (nothing is written).
        """
        target = Path(path) if path is not None else self.path
        if target is None:
            raise ValueError("the project has no file name yet: use Save As")
        if is_example(target):
            raise ValueError(f"{target.name} is an example that comes with NN Canvas: "
                             "save your copy under another name or in another folder")
        if not overwrite and self.path == target.resolve() and self.changed_on_disk():
            raise FileChangedError(self.path)
        runs, model = self.keeper(target.resolve().parent) if self.keeper else ([], None)
        save_project(target, self.graph, runs, model)  # with its runs and weights
        self.stamp = file_stamp(target)
        results, self._results = self._results, False
        if results and self.undo_stack.isClean():
            self.modified_changed.emit(False)
        self.undo_stack.setClean()
        if self.path != target.resolve():
            self.path = target.resolve()
            self.example = None
            self.path_changed.emit(self.path)
        return self.path

    def _replace(self, graph: Graph, path: Path | None, example: str | None = None,
                 stamp: tuple[int, str] | None = None) -> None:
        self.undo_stack.clear()
        self.saved, self._results = None, False
        self.graph.replace_with(graph)
        self.path = path
        self.example = example
        self.stamp = stamp
        self.undo_stack.setClean()
        self.replaced.emit()
        self.path_changed.emit(path)
        self.modified_changed.emit(False)
