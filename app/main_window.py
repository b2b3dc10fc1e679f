"""The main window: canvas in the centre, palette left, inspector right, history, menus.

Everything the window shows is a view of one :class:`~app.document.Document`; every edit
goes through its undo stack. The dock layout, window geometry, recent files and theme
are remembered between runs (``QSettings``).

The window builds and lays out its parts; the work behind its menus lives beside it:
the File menu in :mod:`app.file_actions`, the window's side of training in
:mod:`app.training_actions`, the minimap's corner in :mod:`app.minimap_corner`, the help
texts in :mod:`app.help`.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (QApplication, QDockWidget, QLabel, QMainWindow, QMessageBox,
                               QUndoView, QWidget)

from app import help as app_help
from app.document import Document
from app.editor import commands
from app.editor.inspector import Inspector
from app.editor.items import TEXT_LOD, node_size
from app.editor.layout import auto_layout
from app.editor.minimap import Minimap
from app.editor.palette import Palette
from app.editor.scene import GraphScene
from app.editor.view import GraphView
from app.file_actions import FileActions, ask_overwrite, ask_save
from app.flow_overlay import FlowOverlay
from app.minimap_corner import MinimapCorner
from app.plots.panel import PlotsPanel
from app.resources import example_paths
from app.stepthrough_panel import StepThroughPanel
from app.theme import THEMES, apply_palette
from app.training.controller import TrainingController
from app.training.panel import TrainingPanel
from app.training.runs import RunStore
from app.recovery import Autosave, Recovered, ask_restore, recoverable, recovery_folder
from app.training_actions import TrainingActions, ask_stop

__all__ = ["MainWindow", "settings"]

#: A file opens, and auto-layout fits, at least this large: the zoom below which a card
#: is a blank bar (its texts are not drawn, see ``app.editor.items.TEXT_LOD``), with a
#: margin for rounding (a zoom set to 0.45 reads back as 0.4499...).
READABLE_ZOOM = TEXT_LOD + 0.01


def settings() -> QSettings:
    """The application's settings store (INI file in the user's config folder)."""
    return QSettings(QSettings.IniFormat, QSettings.UserScope, "NNCanvas", "NNCanvas")


class _MemoryStore:
    """The part of ``QSettings`` the window uses, kept in memory (``persist=False``)."""

    def __init__(self) -> None:
        self._values: dict[str, object] = {}

    def value(self, key: str, default: object = None) -> object:
        return self._values.get(key, default)

    def setValue(self, key: str, value: object) -> None:  # noqa: N802 - QSettings API
        self._values[key] = value

    def sync(self) -> None:
        pass


class MainWindow(QMainWindow):
    """The NN Canvas window.

    Attributes:
        document, scene, view, palette, inspector, minimap: the parts.
        files: File → New, Open, Save, Save As and Open Recent
            (:class:`app.file_actions.FileActions`).
        ask_save: called when closing or replacing a modified project; returns
            ``QMessageBox.Save``, ``Discard`` or ``Cancel`` (tests replace it).
        ask_overwrite: called with the path when a save would overwrite a file changed
            on disk since; returns ``QMessageBox.Save`` (overwrite), ``SaveAll`` (Save
            As) or ``Cancel`` (tests replace it).
        ask_stop: called with what stopping a run is for (``"edit"``, ``"open"``,
            ``"new"``, ``"close"``) while one trains; ``QMessageBox.Yes`` stops and
            keeps it, ``No`` cancels (:func:`app.training_actions.ask_stop`).
        autosave: the :class:`app.recovery.Autosave` of the project's unsaved changes
            (None with ``persist=False``); ask_restore: the question
            :meth:`offer_recovery` asks (:func:`app.recovery.ask_restore`).

    With ``persist=False`` (``--screenshot``) the window neither reads nor writes the
    saved layout, theme and recent files, and keeps no recovery file: it starts from
    the defaults and what it would remember is kept in memory only.
    """

    def __init__(self, theme: str | None = None, persist: bool = True) -> None:
        super().__init__()
        self.persist = persist
        self.store: QSettings | _MemoryStore = settings() if persist else _MemoryStore()
        self.theme_name = theme or str(self.store.value("theme", "light"))
        if self.theme_name not in THEMES:
            self.theme_name = "light"
        self.document = Document(self)
        self.scene = GraphScene(self.document, THEMES[self.theme_name], self)
        self.view = GraphView(self.scene, self)
        self.setCentralWidget(self.view)
        self.ask_save: Callable[[], int] = lambda: ask_save(self, self.document.title)
        self.ask_overwrite: Callable[[Path], int] = lambda path: ask_overwrite(self, path)
        self.files = FileActions(self)
        self.ask_stop: Callable[[str], int] = \
            lambda action="edit": ask_stop(self, action, str(self.controller.state))
        self._make_docks()
        self._make_actions()
        self._make_menus()
        self.training = TrainingActions(self)
        #: keeps unsaved work in a recovery file (none for a window that does not persist)
        self.autosave: Autosave | None = Autosave(
            self.document, recovery_folder(self.store.fileName()), self) if persist else None
        self.ask_restore: Callable[[Recovered], int] = lambda found: ask_restore(self, found)
        self.statusBar().showMessage("Drag a node from the palette, or press Tab on the canvas")
        self.zoom_label = QLabel("100%")
        self.statusBar().addPermanentWidget(self.zoom_label)
        self.view.zoom_changed.connect(self._zoom_changed)
        self.scene.selection_changed_nodes.connect(lambda _ids: self._selection_actions())
        self._selection_actions()
        self.scene.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.document.path_changed.connect(lambda _: self._update_title())
        self.document.modified_changed.connect(lambda _: self._update_title())
        self.set_theme(self.theme_name)
        self._shown = False
        self.resize(1400, 860)
        self.resizeDocks([self.palette_dock, self.inspector_dock],
                         [max(190, self.palette.entries_width()), 300], Qt.Horizontal)
        self._restore_layout()
        self._update_title()

    # ------------------------------------------------------------------ building
    def _make_docks(self) -> None:
        self.palette = Palette()
        self.palette.setMinimumWidth(170)
        self.palette.add_requested.connect(self.add_at_center)
        self.palette_dock = self._dock("Palette", "palette", self.palette, Qt.LeftDockWidgetArea)
        self.inspector = Inspector(self.document)
        self.inspector.node_activated.connect(self.select_and_show)
        self.scene.selection_changed_nodes.connect(self.inspector.show_nodes)
        self.inspector_dock = self._dock("Inspector", "inspector", self.inspector,
                                         Qt.RightDockWidgetArea)
        self.history = QUndoView(self.document.undo_stack)
        self.history.setEmptyLabel("(opened)")
        self.history_dock = self._dock("History", "history", self.history, Qt.RightDockWidgetArea)
        self.tabifyDockWidget(self.inspector_dock, self.history_dock)
        self.inspector_dock.raise_()
        # training: the runs, the worker, the settings and controls, the live views
        self.runs = RunStore(self)
        self.controller = TrainingController(self.document, self.runs, self)
        self.document.keeper = self.controller.kept  # Save keeps the runs and the model
        self.training_panel = TrainingPanel(self.document)
        self.training_dock = self._dock("Training", "training", self.training_panel,
                                        Qt.BottomDockWidgetArea)
        self.plots = PlotsPanel(self.runs)
        self.plots_dock = self._dock("Plots", "plots", self.plots, Qt.RightDockWidgetArea)
        self.tabifyDockWidget(self.history_dock, self.plots_dock)
        self.inspector_dock.raise_()
        self._connect_data_tab()
        self._connect_model_tabs()
        # one minibatch through the network, node by node (issue 10)
        self.stepthrough = StepThroughPanel(self)
        self.stepthrough_dock = self._dock("Step-through", "stepthrough", self.stepthrough,
                                           Qt.BottomDockWidgetArea)
        self.stepthrough_dock.hide()  # View → Step-through: a tab beside Training's
        self._stepthrough_placed = False
        self.stepthrough_dock.visibilityChanged.connect(self._place_stepthrough)
        self.minimap = Minimap(self.document.graph, self.view, self.view, sizes=node_size)
        self.minimap_corner = MinimapCorner(self.minimap, self.view, self.scene,
                                            self.document.graph, self)
        self.flow_overlay = FlowOverlay(self)  # View → Gradient Flow

    def _place_stepthrough(self, visible: bool) -> None:
        """The first time the Step-through dock shows in the bottom area: a tab beside the
        Training panel's, in front and tall enough for its table (side by side, both
        were squeezed to half a window). Tabified when it first shows, not before: a
        tab bar made while the dock is hidden stays drawn, empty, over the palette."""
        dock = self.stepthrough_dock
        if not visible or self._stepthrough_placed:
            return
        self._stepthrough_placed = True
        if dock.isFloating() or self.dockWidgetArea(dock) != Qt.BottomDockWidgetArea \
                or dock in self.tabifiedDockWidgets(self.training_dock) \
                or not self.training_dock.isVisible():
            return  # where a restored layout or the user put it
        self.tabifyDockWidget(self.training_dock, dock)
        QTimer.singleShot(0, self._front_stepthrough)  # once the layout has made the tab

    def _front_stepthrough(self) -> None:
        self.stepthrough_dock.raise_()
        if self.stepthrough_dock.height() < 330:  # room for three rows of its table
            self.resizeDocks([self.stepthrough_dock], [330], Qt.Vertical)

    def _connect_data_tab(self) -> None:
        """The Plots' Data tab shows the project's dataset (:meth:`Project.load_data`,
        the cache the canvas reads too); it is asked again after every change that may
        give another one: the dataset settings, another project or folder (relative
        paths), a loss added, removed or retyped (it decides a file's task)."""
        data = self.plots.data
        document = self.document
        data.set_source(lambda: document.project.load_data())
        graph = document.graph
        for event in (graph.settings_changed, graph.graph_reset, graph.node_added,
                      graph.node_removed):
            event.connect(data.data_changed)
        graph.node_changed.connect(lambda _node, what: what == "type" and data.data_changed())
        document.path_changed.connect(data.data_changed)
        # a large CSV read in the Data section's worker thread: the canvas, the
        # inspector and this tab asked before it was in (DataPending), so they ask again
        self.training_panel.data_group.loader.loaded.connect(self._data_read)
        # a cancelled or failed read: they say so (not "being read" any more)
        self.training_panel.data_group.loader.cancelled.connect(self._data_not_read)
        self.training_panel.data_group.loader.failed.connect(self._data_not_read)

    def _data_read(self, _data: object) -> None:
        self.controller.data_arrived()  # an opened file's model that waited for it
        self._data_not_read()

    def _data_not_read(self, *_: object) -> None:
        self.scene.refresh()
        self.inspector.refresh_now()
        self.plots.data.data_changed()

    def _connect_model_tabs(self) -> None:
        """The Plots' Predict and Misclassified tabs use the controller's trained model
        (:meth:`_trained_for_plots`), looked at again when a run ends or starts, the
        network changes or another project opens; their "Step through this sample" opens
        the Step-through panel on it (:meth:`step_through_sample`)."""
        plots = self.plots
        plots.set_model_source(self._trained_for_plots)
        for signal in (self.controller.run_finished, self.controller.state_changed,
                       self.document.undo_stack.indexChanged, self.document.replaced):
            signal.connect(plots.model_changed)
        plots.step_requested.connect(self.step_through_sample)

    def _trained_for_plots(self) -> tuple[int, object] | str | None:
        """The controller's ``trained_run()``, or why there is none (a sentence; None:
        nothing trained yet)."""
        controller = self.controller
        trained = controller.trained_run()
        if trained is not None:
            return trained
        if controller.state != "idle":
            return (f"A run is {controller.state}: the predictions use the trained model "
                    "once it ends.")
        if controller.has_stale_model():
            return ("The trained model is stale: the network or its settings changed since "
                    "it was trained. Train again to predict with this network.")
        return None

    def step_through_sample(self, index: int) -> None:
        """Open the Step-through panel on validation row ``index``: the validation part,
        that sample, a batch of 1, evaluation behaviour (as Predict computes it), Start."""
        panel = self.stepthrough
        self.stepthrough_dock.show()
        self.stepthrough_dock.raise_()
        panel.part_combo.setCurrentIndex(max(0, panel.part_combo.findData("val")))
        panel.start_spin.setValue(int(index))
        panel.size_spin.setValue(1)
        panel.mode_combo.setCurrentIndex(max(0, panel.mode_combo.findData(False)))
        panel.start()

    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{name}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _action(self, text: str, slot: Callable, shortcut: str | QKeySequence | list | None = None,
                tip: str = "") -> QAction:
        action = QAction(text, self)
        if isinstance(shortcut, list):
            action.setShortcuts(shortcut)
        elif shortcut is not None:
            action.setShortcut(shortcut)
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _make_actions(self) -> None:
        K = QKeySequence
        a = self._action
        self.act_new = a("&New", self.new_file, K.New, "Start a new network")
        self.act_open = a("&Open…", self.files.open_dialog, K.Open, "Open a network file")
        self.act_save = a("&Save", self.save, K.Save, "Save the network")
        self.act_save_as = a("Save &As…", self.files.save_as, K("Ctrl+Shift+S"))
        self.act_export_png = a("Export Canvas as &PNG…", lambda: self.files.export_dialog("png"))
        self.act_export_svg = a("Export Canvas as S&VG…", lambda: self.files.export_dialog("svg"))
        self.export_network_actions = {  # File → Export Network → PyTorch/NumPy/ONNX…
            fmt: a(f"{title.split()[0]}…",
                   lambda _=False, f=fmt: self.files.export_network_dialog(f),
                   tip=f"The trained network as a {title}, with its preprocessing")
            for fmt, (title, _) in self.files.NETWORK_FORMATS.items()}
        self.act_quit = a("&Quit", self.close, K.Quit)
        self.act_undo = self.document.undo_stack.createUndoAction(self, "&Undo")
        self.act_undo.setShortcuts([K("Ctrl+Z")])
        self.act_redo = self.document.undo_stack.createRedoAction(self, "&Redo")
        self.act_redo.setShortcuts([K("Ctrl+Shift+Z"), K("Ctrl+Y")])
        self.addActions([self.act_undo, self.act_redo])
        # undo and redo change the network too: while training they ask to stop first
        for action, step in ((self.act_undo, self.document.undo_stack.undo),
                             (self.act_redo, self.document.undo_stack.redo)):
            action.triggered.disconnect()
            action.triggered.connect(partial(self._guarded, step))
        self.act_cut = a("Cu&t", self.cut, K.Cut)
        self.act_copy = a("&Copy", self.scene.copy, K.Copy)
        self.act_paste = a("&Paste", lambda: self.scene.paste(), K.Paste)
        self.act_duplicate = a("&Duplicate", self.scene.duplicate, K("Ctrl+D"))
        self.act_delete = a("De&lete", self.scene.delete_selection, [K(Qt.Key_Delete),
                                                                    K(Qt.Key_Backspace)])
        self.act_select_all = a("Select &All", self.select_all, K.SelectAll)
        self.act_fit = a("&Fit View", self.view.fit, K("F"))
        self.act_zoom_in = a("Zoom &In", self.view.zoom_in, [K("Ctrl+="), K("Ctrl++")])
        self.act_zoom_out = a("Zoom &Out", self.view.zoom_out, K("Ctrl+-"))
        self.act_zoom_reset = a("&Actual Size", lambda: self.view.set_zoom(1.0), K("Ctrl+0"))
        self.act_layout = a("Auto-&layout", lambda: self.auto_layout("LR"), K("Ctrl+L"),
                            "Arrange the nodes in layers, left to right")
        self.act_layout_tb = a("Auto-layout Top to &Bottom", lambda: self.auto_layout("TB"))
        self.act_minimap = a("&Minimap", self.minimap_corner.set_enabled)
        self.act_minimap.setCheckable(True)
        self.act_minimap.setChecked(True)
        self.theme_actions = QActionGroup(self)
        for name in THEMES:
            act = QAction(name.capitalize(), self, checkable=True)
            act.setChecked(name == self.theme_name)
            act.triggered.connect(lambda _=False, n=name: self.set_theme(n))
            self.theme_actions.addAction(act)

    def _make_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addActions([self.act_new, self.act_open])
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.examples_menu = file_menu.addMenu("Open E&xample")
        for path in example_paths():
            act = self.examples_menu.addAction(path.stem.replace("_", " "))
            act.triggered.connect(lambda _=False, p=path: self.open_file(p))
        file_menu.addSeparator()
        file_menu.addActions([self.act_save, self.act_save_as])
        file_menu.addSeparator()
        file_menu.addActions([self.act_export_png, self.act_export_svg])
        self.export_network_menu = file_menu.addMenu("Export &Network")
        self.export_network_menu.addActions(list(self.export_network_actions.values()))
        file_menu.addSeparator()
        file_menu.addAction(self.act_quit)
        edit = bar.addMenu("&Edit")
        edit.addActions([self.act_undo, self.act_redo])
        edit.addSeparator()
        edit.addActions([self.act_cut, self.act_copy, self.act_paste, self.act_duplicate,
                         self.act_delete])
        edit.addSeparator()
        edit.addAction(self.act_select_all)
        view = bar.addMenu("&View")
        view.addActions([self.act_fit, self.act_zoom_in, self.act_zoom_out, self.act_zoom_reset])
        view.addSeparator()
        view.addActions([self.act_layout, self.act_layout_tb])
        view.addSeparator()
        view.addAction(self.act_minimap)
        view.addAction(self.flow_overlay.action)
        for dock in (self.palette_dock, self.inspector_dock, self.history_dock,
                     self.training_dock, self.stepthrough_dock):
            view.addAction(dock.toggleViewAction())
        theme_menu = view.addMenu("&Theme")
        theme_menu.addActions(self.theme_actions.actions())
        view.addAction(self.plots_dock.toggleViewAction())
        training = bar.addMenu("&Training")
        training.addActions(self.training_panel.actions_for_window())
        training.addSeparator()
        training.addAction(self._action("Export History as &CSV…", self.export_history))
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self._action("&Mouse and Keyboard", self.show_help,
                                         QKeySequence.HelpContents))
        help_menu.addAction(self._action("&About NN Canvas", self.about))
        self._update_recent_menu()

    # ------------------------------------------------------------------ files
    def _guarded(self, step: Callable[[], None], *_: object) -> None:
        """Undo or redo, once edits are allowed (training stopped, or not running)."""
        if self.document.can_edit():
            step()

    # File → New, Open, Save, Save As, Open Recent: app.file_actions.FileActions
    def new_file(self) -> bool:
        return self.files.new_file()

    def open_file(self, path: str | Path) -> bool:
        """Open a graph file (:meth:`app.file_actions.FileActions.open_file`)."""
        return self.files.open_file(path)

    def save(self) -> bool:
        return self.files.save()

    def save_to(self, path: str | Path) -> bool:
        """Save to ``path`` (:meth:`app.file_actions.FileActions.save_to`)."""
        return self.files.save_to(path)

    _save_to = save_to

    def recent_files(self) -> list[str]:
        return self.files.recent_files()

    def _update_recent_menu(self) -> None:
        self.files.update_recent_menu()

    def project_replaced(self) -> None:
        """New or Open replaced the project: its runs, plots, decision boundary and
        progress go with it (the trained weights too: the next Train starts fresh)."""
        self.controller.forget()
        self.scene.clear_failed_node()
        self.training_panel.clear_progress()
        self.training_panel.set_message("")
        self.statusBar().clearMessage()
        self.scene.refresh()
        self.view.fit(min_zoom=READABLE_ZOOM)
        self.controller.adopt(self.document.saved)  # an opened file's runs and model

    def export_canvas(self, path: str | Path) -> None:
        """The network as a PNG or SVG picture (:meth:`FileActions.export_canvas`)."""
        self.files.export_canvas(path)

    # ------------------------------------------------------------------ editing
    def add_at_center(self, type_id: str) -> None:
        """Add a node near the centre of the view, where it covers no other card."""
        center = self.view.mapToScene(self.view.viewport().rect().center())
        self.scene.add_node(type_id, self.scene.free_spot(type_id, center))

    def cut(self) -> None:
        if self.scene.copy():
            self.scene.delete_selection()

    def select_all(self) -> None:
        self.scene.select_all()

    def select_and_show(self, node_id: str) -> None:
        self.scene.select_nodes([node_id])
        item = self.scene.nodes.get(node_id)
        if item is not None:
            self.view.centerOn(item)

    def auto_layout(self, direction: str = "LR") -> None:
        """Arrange the nodes in layers (one undoable step)."""
        graph = self.document.graph
        if not len(graph):
            return
        sizes = {n.id: node_size(n) for n in graph.nodes}
        rect = self.scene.items_rect()
        positions = auto_layout(graph, sizes, direction, origin=(rect.left(), rect.top()))
        moves = {nid: (graph.node(nid).position, pos) for nid, pos in positions.items()
                 if graph.node(nid).position != pos}
        if moves:
            self.document.push(commands.MoveNodes(graph, moves, "Auto-layout"))
        self.view.fit(min_zoom=READABLE_ZOOM)

    # ------------------------------------------------------------------ training
    def start_training(self, epochs: int = 0) -> int | None:
        """Train (:meth:`app.training_actions.TrainingActions.start`); the run id or None."""
        return self.training.start(epochs)

    def export_history(self) -> None:
        self.training.export_history()

    def show_plots(self) -> None:
        """Bring the plots dock to the front, at least about 45% of the window wide."""
        if not self.plots_dock.isVisible():
            self.plots_dock.show()
        self.plots_dock.raise_()
        if self.plots_dock.width() < 480:  # about 45% of the window, the canvas keeps the rest
            self.resizeDocks([self.plots_dock], [max(560, int(0.45 * self.width()))],
                             Qt.Horizontal)

    # ------------------------------------------------------------------ appearance
    def set_theme(self, name: str) -> None:
        self.theme_name = name
        theme = THEMES[name]
        app = QApplication.instance()
        if app is not None:
            apply_palette(app, theme)
        self.scene.set_theme(theme)
        self.plots.set_theme(theme)
        self.view.viewport().update()
        self.minimap.update()
        self.flow_overlay.refresh()
        for act in self.theme_actions.actions():
            act.setChecked(act.text().lower() == name)
        self.store.setValue("theme", name)

    def _selection_actions(self) -> None:
        try:
            any_nodes = bool(self.scene.selected_node_ids())
            anything = any_nodes or bool(self.scene.selected_edges())
        except RuntimeError:  # pragma: no cover - during teardown
            return
        for act in (self.act_cut, self.act_copy, self.act_duplicate):
            act.setEnabled(any_nodes)
        self.act_delete.setEnabled(anything)

    def _zoom_changed(self, zoom: float) -> None:
        self.zoom_label.setText(f"{zoom:.0%}")

    def _update_title(self) -> None:
        self.setWindowTitle(f"{self.document.title}[*] — NN Canvas")
        self.setWindowModified(self.document.modified)

    def showEvent(self, event) -> None:  # noqa: ANN001
        super().showEvent(event)
        if not self._shown:  # a file opened before the window was shown was fitted to
            self._shown = True  # a view of a few pixels: fit it once the docks are laid out
            QTimer.singleShot(0, lambda: self.view.fit(min_zoom=READABLE_ZOOM))

    HELP = app_help.HELP

    def help_text(self) -> str:
        """Help → Mouse and Keyboard's text (:func:`app.help.help_text`)."""
        return app_help.help_text(self.training_panel.actions_for_window())

    def show_help(self) -> None:
        app_help.show_help(self, self.training_panel.actions_for_window())

    def about(self) -> None:
        app_help.show_about(self)

    # ------------------------------------------------------------------ recovery
    def offer_recovery(self) -> bool:
        """At start: if a session that crashed or was killed left unsaved work
        (:func:`app.recovery.recoverable`), offer to restore the newest
        (``ask_restore``: Restore, Discard, or Cancel to be asked again next time).
        Restored, it opens as its file with the recovered network as one undo step.
        Returns whether it was restored."""
        if self.autosave is None:
            return False
        found, problems = recoverable(self.autosave.folder)
        for problem in problems:
            self.statusBar().showMessage(f"A recovery file cannot be read: {problem}", 10000)
        if not found:
            return False
        newest = found[0]
        answer = self.ask_restore(newest)
        if answer == QMessageBox.Discard:
            newest.discard()
            return False
        if answer != QMessageBox.Open:
            return False  # kept for the next start
        self.document.restore(newest.graph, newest.path, newest.example, newest.stamp,
                              f"Restore unsaved changes (autosaved "
                              f"{newest.saved_at.astimezone():%H:%M:%S})")
        self.project_replaced()
        newest.discard()  # this session's autosave has it now
        self.autosave.write_now()
        self.statusBar().showMessage(f"Restored {newest.describe()}: Save keeps it", 10000)
        return True

    # ------------------------------------------------------------------ layout memory
    def _restore_layout(self) -> None:
        geometry = self.store.value("geometry")
        state = self.store.value("window_state")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        if isinstance(state, QByteArray):
            self.restoreState(state)

    def closeEvent(self, event: QCloseEvent) -> None:
        # a run that trains is stopped and kept first (or the close is cancelled), then
        # a failed or cancelled save keeps the window
        if not self.training.stop_for("close") or not self.files.maybe_save():
            event.ignore()
            return
        self.controller.shutdown()  # stop training and end the worker thread (R19)
        if self.autosave is not None:
            self.autosave.remove()  # a clean exit: nothing to recover
        self.store.setValue("geometry", self.saveGeometry())
        self.store.setValue("window_state", self.saveState())
        self.store.sync()
        event.accept()

