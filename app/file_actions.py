"""File → New, Open, Open Recent, Save, Save As and Export of the main window.

:class:`FileActions` does what the File menu asks of the window's
:class:`~app.document.Document`, with the dialogs around it, and never loses an edit
without the user's word:

* a save that fails, for any reason (an unwritable folder, a project that cannot be
  serialized), is reported in a message box; the project stays open and modified, and a
  close, New or Open that asked for the save does not happen;
* Save As into another folder keeps a relative data path naming the same file
  (:meth:`~app.document.Document.rebased_settings`; one undo step in the History);
* a file changed on disk since it was opened or saved here (another window, another
  program) is never overwritten silently: the window's ``ask_overwrite`` decides
  (Overwrite, Save As or Cancel).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QFileDialog, QMessageBox

from app.document import FileChangedError
from app.editor.commands import SetSettings
from app.editor.export import export_scene
from app.recent import add_recent, recent_files
from app.resources import examples_dir
from nncore.graph import GraphFileError

__all__ = ["FileActions", "FILE_FILTER", "ask_save", "ask_overwrite"]

FILE_FILTER = "NN Canvas graphs (*.json);;All files (*)"


def ask_save(parent: Any, title: str) -> int:
    """Ask whether to save the changes to ``title``: ``QMessageBox.Save``, ``Discard``
    or ``Cancel``."""
    return QMessageBox.question(
        parent, "Unsaved changes", f"Save the changes to {title}?",
        QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel, QMessageBox.Save)


def ask_overwrite(parent: Any, path: Path) -> int:
    """Ask what to do with ``path``, changed on disk since it was opened or saved here:
    ``QMessageBox.Save`` (overwrite it), ``QMessageBox.SaveAll`` (Save As) or
    ``QMessageBox.Cancel``."""
    box = QMessageBox(QMessageBox.Warning, "The file changed on disk",
                      f"{path.name} in {path.parent} was changed by another window or "
                      "program since it was opened here. Overwriting it loses those "
                      "changes.", QMessageBox.Save | QMessageBox.SaveAll | QMessageBox.Cancel,
                      parent)
    box.button(QMessageBox.Save).setText("Overwrite")
    box.button(QMessageBox.SaveAll).setText("Save As…")
    box.setDefaultButton(QMessageBox.Cancel)
    return box.exec()


class FileActions(QObject):
    """The File menu's work for ``window`` (a :class:`~app.main_window.MainWindow`).

    Reads of the window: ``document``, ``store`` (recent files), ``recent_menu``,
    ``statusBar()``, the hooks ``ask_save()`` and ``ask_overwrite(path)`` (tests replace
    them) and ``project_replaced()``, called after New or Open replaced the project.
    """

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.document = window.document

    def _status(self, text: str, ms: int = 5000) -> None:
        self.window.statusBar().showMessage(text, ms)

    # ------------------------------------------------------------------ new, open
    @Slot()
    def new_file(self) -> bool:
        """File → New; False if the user keeps the current project (or training runs)."""
        if not self.window.training.stop_for("new") or not self.maybe_save():
            return False
        self.document.new()
        self.window.project_replaced()
        return True

    @Slot()
    def open_dialog(self) -> None:
        """File → Open…: choose a file (starting in the project's folder)."""
        doc = self.document
        start = str(doc.path.parent if doc.path else examples_dir())
        path, _ = QFileDialog.getOpenFileName(self.window, "Open network", start, FILE_FILTER)
        if path:
            self.open_file(path)

    def open_file(self, path: str | Path) -> bool:
        """Open a graph file; an unreadable file is reported and changes nothing.
        While training runs, asks to stop it first. Returns whether it was opened."""
        if not self.window.training.stop_for("open") or not self.maybe_save():
            return False
        try:
            self.document.open(path)
        except GraphFileError as e:
            QMessageBox.warning(self.window, "Cannot open the file", str(e))
            self._status(f"Cannot open {path}: {e}", 10000)
            return False
        self.window.project_replaced()
        self.add_recent(Path(path))
        if self.document.example:  # an untitled copy: the example is never overwritten
            self._status(f"Opened a copy of the example {Path(path).name}: "
                         "Save asks where to keep it", 8000)
        else:
            self._status(f"Opened {Path(path).name}")
        return True

    # ------------------------------------------------------------------ save
    @Slot()
    def save(self) -> bool:
        """File → Save (Save As for a project without a file). Returns whether saved."""
        if self.document.path is None:
            return self.save_as()
        return self.save_to(self.document.path)

    @Slot()
    def save_as(self) -> bool:
        """File → Save As…: ask where, then save there. Returns whether saved."""
        doc = self.document
        start = str(doc.path or Path.home() / f"{doc.base_name}.json")
        path, _ = QFileDialog.getSaveFileName(self.window, "Save network", start, FILE_FILTER)
        if not path:
            return False
        if not path.endswith(".json"):
            path += ".json"
        return self.save_to(Path(path))

    def save_to(self, path: str | Path, overwrite: bool = False) -> bool:
        """Save the project to ``path``. Returns whether it was saved.

        Into another folder, a relative data path is rewritten to name the same file
        (:meth:`~app.document.Document.rebased_settings`): it is written so, and kept
        as one undo step once the file is saved. A file changed on disk since it was
        opened or saved here is overwritten only when ``overwrite`` is True or the
        window's ``ask_overwrite`` says so (it may choose Save As instead). Any failure
        is shown in a message box and changes nothing: the project stays modified."""
        path = Path(path)
        doc = self.document
        rebased = doc.rebased_settings(path)
        kept = doc.graph.settings
        try:
            if rebased is not None:  # written with the file; an undo step once saved
                doc.graph.set_settings(rebased)
            doc.save(path, overwrite=overwrite)
        except FileChangedError:
            changed = True
        except Exception as e:  # noqa: BLE001 - whatever fails, the edit is kept and said
            reason = e.strerror if isinstance(e, OSError) and e.strerror else \
                str(e) or type(e).__name__
            if isinstance(e, RecursionError):
                reason = "the project is nested too deeply to be written"
            QMessageBox.critical(self.window, "Cannot save",
                                 f"Cannot save {path.name} in {path.parent}:\n{reason}\n\n"
                                 "Your changes are still open here: nothing was lost.")
            self._status(f"Not saved: {reason}", 10000)
            return False
        else:
            changed = False
        finally:
            if rebased is not None:
                doc.graph.set_settings(kept)
        if changed:  # on disk since opened or saved here: never overwritten silently
            answer = self.window.ask_overwrite(path)
            if answer == QMessageBox.Save:
                return self.save_to(path, overwrite=True)
            if answer == QMessageBox.SaveAll:
                return self.save_as()
            self._status(f"Not saved: {path.name} changed on disk since it was opened", 8000)
            return False
        if rebased is not None:
            doc.undo_stack.push(SetSettings(doc.graph, rebased, "Data path for the new folder"))
            doc.undo_stack.setClean()
        self.add_recent(path)
        self._status(f"Saved {path.name}" + (": the data path names the same file from the "
                                             "new folder" if rebased is not None else ""))
        return True

    def maybe_save(self) -> bool:
        """Before the project is closed or replaced: ask to save unsaved changes. False
        if the user cancels, or chose Save and the save did not happen."""
        if not self.document.modified:
            return True
        answer = self.window.ask_save()
        if answer == QMessageBox.Save:
            return self.save()
        return answer == QMessageBox.Discard

    # ------------------------------------------------------------------ export
    def export_dialog(self, kind: str) -> None:
        """File → Export Canvas as PNG or SVG (``kind``): ask where, then export."""
        name = f"{self.document.base_name}.{kind}"
        path, _ = QFileDialog.getSaveFileName(self.window, f"Export canvas as {kind.upper()}",
                                              str(Path.home() / name), f"*.{kind}")
        if path:
            self.export_canvas(path)

    def export_canvas(self, path: str | Path) -> None:
        """Draw the whole network into a PNG (2x resolution) or SVG file
        (:func:`app.editor.export.export_scene`)."""
        export_scene(self.window.scene, path, self.document.title)
        self._status(f"Exported {Path(path).name}")

    # ------------------------------------------------------------------ export the network
    #: File → Export Network: format -> (what it is, file suffix)
    NETWORK_FORMATS = {"pytorch": ("PyTorch script", "py"), "numpy": ("NumPy script", "py"),
                       "onnx": ("ONNX model", "onnx")}

    def export_network_dialog(self, fmt: str) -> None:
        """File → Export Network → PyTorch/NumPy/ONNX…: the current trained run (the
        controller's ``trained_run()``), or a message saying there is none."""
        if self.window.controller.trained_run() is None:
            QMessageBox.information(
                self.window, "Nothing to export",
                "There is no trained network to export: train it first. The export "
                "takes the weights of the last run, for the network and settings as they "
                "are now.")
            return
        title, ext = self.NETWORK_FORMATS[fmt]
        name = f"{self.document.base_name}.{ext}"
        path, _ = QFileDialog.getSaveFileName(self.window, f"Export network as {title}",
                                              str(Path.home() / name), f"*.{ext}")
        if path:
            self.export_network(fmt, path)

    def export_network(self, fmt: str, path: str | Path) -> list[Path] | None:
        """Export the current trained run as ``fmt`` (:func:`nncore.export.export`);
        the files written, or None (nothing trained, or the export failed: said in a
        message box naming the node or file at fault)."""
        from nncore.export import export, plan_from_run

        trained = self.window.controller.trained_run()
        if trained is None:
            self._status("Nothing trained to export: train the network first")
            return None
        try:
            files = export(plan_from_run(trained[1]), fmt, path)
        except (ValueError, OSError, ImportError) as e:
            QMessageBox.warning(self.window, "Export failed", f"{Path(path).name}: {e}")
            return None
        self._status(f"Exported {', '.join(p.name for p in files)}")
        return files

    # ------------------------------------------------------------------ recent files
    def recent_files(self) -> list[str]:
        """The recent files, newest first, each once (:func:`app.recent.recent_files`)."""
        return recent_files(self.window.store)

    def add_recent(self, path: Path) -> None:
        """Put ``path`` first in Open Recent."""
        add_recent(self.window.store, path)
        self.update_recent_menu()

    def update_recent_menu(self) -> None:
        """Fill Open Recent with the recent files that exist (two of one name say their
        folder)."""
        menu = self.window.recent_menu
        menu.clear()
        files = [p for p in self.recent_files() if Path(p).exists()]
        names = [Path(p).name for p in files]
        for path, name in zip(files, names):
            if names.count(name) > 1:  # two files of one name: say which folder
                name = f"{name} — {Path(path).parent.name or Path(path).parent}"
            act = menu.addAction(name)
            act.setToolTip(path)
            act.triggered.connect(lambda _=False, p=path: self.open_file(p))
        menu.setEnabled(bool(files))
