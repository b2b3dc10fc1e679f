"""Make the README's pictures and a set of pictures of every example training.

    .venv/bin/python tools/make_screenshots.py            # README pictures only
    .venv/bin/python tools/make_screenshots.py --all DIR  # and each example, during and after

Everything goes through the real window, offscreen: the Train button's path
(:meth:`app.main_window.MainWindow.start_training`), the plots' own redraws.

* ``resources/screenshots/canvas.png``: the digits example, a Dense node selected;
* ``resources/screenshots/training.png``: the digits example trained twice, with Adam and
  with plain SGD (learning rate 0.01), the two runs overlaid in the loss plot;
* ``resources/screenshots/stepthrough.png``: the operator-built logistic regression stepped
  forward through one sample and back to its MatMul, the numbers on the wires;
* ``resources/screenshots/stepthrough-digits.png``: the operator-built digits network after
  5 epochs, a batch of 8 stepped back to its ReLU (heat maps of the large wires);
* ``resources/screenshots/import-dialog.png``: the CSV import dialog on a penguins-like
  table (``--import-dialog``: this picture only);
* ``resources/screenshots/data-tab.png`` and ``data-tab-iris.png``: the Plots' Data tab
  on the digits (class counts, a pixel's histogram, two pixels against each other, 32
  sample pictures) and on iris (``--data-tab``: these pictures only);
* ``resources/screenshots/predict.png`` and ``misclassified.png``: the digits example after
  10 epochs, a 7 drawn on the Predict tab's pad with the mouse and its class
  probabilities, then the gallery of the misclassified validation samples
  (``--predict``: these pictures only);
* with ``--all DIR``: for each example, ``NAME-during.png`` (half way through its epochs,
  taken while the worker trains) and ``NAME-after.png``, on the tab that teaches most for
  it (decision boundary for 2-D sets, confusion matrix for digits and breast cancer, the
  histograms heat map of the first activation for iris, loss for the others), plus
  ``digits-gradients.png``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SCREENSHOTS = ROOT / "resources" / "screenshots"
SIZE = (1500, 950)
WAIT_MS = 300_000

#: example -> (epochs, tab, node whose histograms to show or None)
EXAMPLE_VIEWS = {
    "digits_mlp": (30, "confusion", None),
    "moons_tanh": (200, "boundary", None),
    "spiral_relu": (300, "boundary", None),
    "iris_sigmoid": (100, "histograms", "Sigmoid"),
    "wine_leaky": (100, "loss", None),
    "breast_cancer_bce": (50, "confusion", None),
    "sine_regression": (200, "loss", None),
}


def _fresh_settings() -> None:
    """A new, empty settings folder: the pictures show the layout a first start has,
    not one an earlier window saved in the user's settings."""
    import tempfile

    from PySide6.QtCore import QSettings

    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope,
                      tempfile.mkdtemp(prefix="nncanvas-shots-"))


def _window(example: str):
    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow
    from app.resources import example_path

    app = QApplication.instance() or QApplication([])
    _fresh_settings()
    window = MainWindow(theme="light")
    window.resize(*SIZE)
    window.show()
    if not window.open_file(example_path(example)):
        raise SystemExit(f"cannot open the example {example}")
    app.processEvents()
    return app, window


def _set_training(window, **values) -> None:
    from app.editor.commands import SetSettings

    graph = window.document.graph
    training = {**graph.settings.get("training", {}), **values}
    window.document.push(SetSettings(graph, {**graph.settings, "training": training}))
    window.training_panel.refresh_now()


def _train(window, epochs: int, during=None) -> None:
    """Train ``epochs`` epochs and wait; ``during(window)`` is called once, in the GUI
    thread, when the run has reached half its epochs (the worker still training)."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    window.controller.run_finished.connect(loop.quit)
    state = {"done": during is None}

    def changed(run_id: int) -> None:
        run = window.runs.get(run_id)
        if not state["done"] and run is not None and len(run.epochs) >= epochs // 2:
            state["done"] = True
            during(window)

    window.runs.run_changed.connect(changed)
    QTimer.singleShot(WAIT_MS, loop.quit)
    window.start_training(epochs)
    loop.exec()
    window.runs.run_changed.disconnect(changed)
    window.controller.run_finished.disconnect(loop.quit)


def _grab(window, tab: str | None, out: Path, node: str | None = None) -> None:
    from PySide6.QtWidgets import QApplication

    from app.main_window import READABLE_ZOOM

    if node:
        found = window.document.graph.node_by_name(node)
        if found is not None:
            window.scene.select_nodes([found.id])
    window.plots.redraw_now()
    if tab:
        window.plots.show_tab(tab)
    window.view.fit(min_zoom=READABLE_ZOOM)
    QApplication.processEvents()
    if not window.grab().save(str(out)):
        raise SystemExit(f"cannot write {out}")
    print(f"wrote {out}")


def _close(window) -> None:
    from PySide6.QtWidgets import QMessageBox

    window.document.mark_unmodified()
    window.ask_save = lambda: QMessageBox.StandardButton.Discard  # a run marks it unsaved
    window.close()


def readme_pictures() -> None:
    from app.main_window import READABLE_ZOOM

    app, window = _window("digits_mlp")
    node = window.document.graph.node_by_name("Dense")
    if node is not None:
        window.scene.select_nodes([node.id])
    window.view.fit(min_zoom=READABLE_ZOOM)
    app.processEvents()
    window.grab().save(str(SCREENSHOTS / "canvas.png"))
    print(f"wrote {SCREENSHOTS / 'canvas.png'}")
    _train(window, 30)  # the example's own settings: Adam
    _set_training(window, optimizer="sgd", optimizer_options={"lr": 0.01})
    _train(window, 30)
    _grab(window, "loss", SCREENSHOTS / "training.png")
    _close(window)
    stepthrough_picture()
    stepthrough_digits_picture()
    flow_picture()


def _open_stepthrough(app, window) -> None:
    """View → Step-through: its tab beside the Training panel's, in front (as a first
    start opens it, whatever layout an earlier run of the window saved)."""
    window.stepthrough_dock.show()
    for _ in range(3):  # the tab is made, then brought to the front
        app.processEvents()
    window.stepthrough_dock.raise_()
    app.processEvents()


def stepthrough_picture() -> None:
    """The Step-through dock on logistic_operators, stepped back to the MatMul."""

    app, window = _window("logistic_operators")
    _open_stepthrough(app, window)
    panel = window.stepthrough
    panel.size_spin.setValue(4)
    panel.start_button.click()
    matmul = window.document.graph.node_by_name("MatMul").id
    while panel.step.can_forward:
        panel.forward_button.click()
    while panel.step.current != matmul:
        panel.backward_button.click()
    window.inspector_dock.raise_()
    window.view.set_zoom(1.0)  # 100%: the numbers on the wires readable
    window.view.centerOn(window.scene.nodes[matmul])
    app.processEvents()
    out = SCREENSHOTS / "stepthrough.png"
    window.grab().save(str(out))
    print(f"wrote {out}")
    _close(window)


def stepthrough_digits_picture() -> None:
    """The Step-through dock on digits_operators after 5 epochs of training (it steps in a
    copy of the trained weights), a batch of 8 stepped back to the ReLU: the heat maps
    of the (8, 64) wires and ReLU's chain rule."""
    from PySide6.QtCore import Qt

    app, window = _window("digits_operators")
    _set_training(window, epochs=5)
    _train(window, 5)
    _open_stepthrough(app, window)
    window.resizeDocks([window.stepthrough_dock], [330], Qt.Orientation.Vertical)
    panel = window.stepthrough
    panel.size_spin.setValue(8)
    panel.start_button.click()
    relu = window.document.graph.node_by_name("ReLU").id
    while panel.step.can_forward:
        panel.forward_button.click()
    while panel.step.current != relu:
        panel.backward_button.click()
    x = panel.step.node_step(relu).x()
    first = next((i, j) for i, j in zip(*(x > 0).nonzero()))  # an element ReLU passes on
    panel.element_edit.setText(f"{first[0]}, {first[1]}")
    panel.element_edit.editingFinished.emit()
    window.inspector_dock.raise_()
    window.view.set_zoom(1.0)  # 100%: the numbers on the wires readable
    window.view.centerOn(window.scene.nodes[relu])
    app.processEvents()
    out = SCREENSHOTS / "stepthrough-digits.png"
    window.grab().save(str(out))
    print(f"wrote {out}")
    _close(window)


def flow_picture() -> None:
    """View → Gradient Flow on spiral_relu halfway through training: the wires by their
    gradient norm, the legend, a dead-ReLU badge."""
    from app.main_window import READABLE_ZOOM

    app, window = _window("spiral_relu")
    window.flow_overlay.set_enabled(True)
    out = SCREENSHOTS / "gradient_flow.png"

    def picture(w) -> None:  # the canvas alone, as wide as the window (Train showed the plots)
        for dock in (w.plots_dock, w.palette_dock, w.inspector_dock, w.history_dock,
                     w.training_dock):
            dock.hide()
        app.processEvents()
        w.view.fit(min_zoom=READABLE_ZOOM)
        app.processEvents()
        w.grab().save(str(out))
        print(f"wrote {out}")

    _train(window, 60, during=picture)
    _close(window)


def import_dialog_picture() -> None:
    """The CSV import dialog on tests/data/tables/animals.csv (a penguins-like table: an
    identifier, categories with missing values, a date, a constant column)."""
    from PySide6.QtWidgets import QApplication

    from app.training.import_dialog import ImportDialog

    app = QApplication.instance() or QApplication([])
    dialog = ImportDialog(ROOT / "tests" / "data" / "tables" / "animals.csv", {})
    dialog.show()
    app.processEvents()
    out = SCREENSHOTS / "import-dialog.png"
    dialog.grab().save(str(out))
    print(f"wrote {out}")
    dialog.close()
    dialog.deleteLater()


def data_tab_pictures() -> None:
    """The Plots dock's Data tab on the digits example (with its sample pictures) and
    on the iris example (no pictures: the scatter takes the whole row), before any
    training: what a user sees when first looking at the data."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from app.main_window import READABLE_ZOOM

    for example, name in (("digits_mlp", "data-tab.png"), ("iris_sigmoid", "data-tab-iris.png")):
        app, window = _window(example)
        window.show_plots()
        window.resizeDocks([window.plots_dock], [760], Qt.Orientation.Horizontal)
        window.plots.show_tab("data")
        window.plots.data.draw_now()
        for _ in range(10):  # the axes and the legend take a few layout passes to settle
            QTest.qWait(30)
        window.view.fit(min_zoom=READABLE_ZOOM)
        QTest.qWait(30)
        out = SCREENSHOTS / name
        if not window.grab().save(str(out)):
            raise SystemExit(f"cannot write {out}")
        print(f"wrote {out}")
        _close(window)


#: The 7 the Predict picture draws on the 8×8 pad: strokes of (row, column) cells.
SEVEN = [[(1, 1), (1, 6)], [(1, 6), (6, 3)], [(3, 3), (3, 6)]]


def predict_pictures() -> None:
    """The Predict tab with a digit drawn by mouse events on its pad (the prediction
    follows while drawing), and the Misclassified gallery, on the digits after 10
    epochs."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from app.main_window import READABLE_ZOOM

    app, window = _window("digits_mlp")
    _train(window, 10)
    window.show_plots()
    window.resizeDocks([window.plots_dock], [820], Qt.Orientation.Horizontal)
    window.plots.show_tab("predict")
    view = window.plots.predict
    view.draw_now()
    view.inputs.setCurrentWidget(view.pad_page)
    QTest.qWait(50)
    pad = view.pad
    pad.clear()
    for stroke in SEVEN:
        (r0, c0), (r1, c1) = stroke
        QTest.mousePress(pad, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         pad.cell_center(r0, c0))
        QTest.mouseMove(pad, pad.cell_center(r1, c1))
        QTest.mouseRelease(pad, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                           pad.cell_center(r1, c1))
    for _ in range(10):  # the throttled prediction and a few layout passes
        QTest.qWait(30)
    window.view.fit(min_zoom=READABLE_ZOOM)
    for name, tab in (("predict.png", "predict"), ("misclassified.png", "misclassified")):
        window.plots.show_tab(tab)
        for _ in range(5):
            QTest.qWait(30)
        out = SCREENSHOTS / name
        if not window.grab().save(str(out)):
            raise SystemExit(f"cannot write {out}")
        print(f"wrote {out}")
    _close(window)


def example_pictures(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for example, (epochs, tab, node) in EXAMPLE_VIEWS.items():
        _, window = _window(example)
        _train(window, epochs,
               during=lambda w, e=example, t=tab, n=node: _grab(w, t, out / f"{e}-during.png", n))
        _grab(window, tab, out / f"{example}-after.png", node)
        if example == "digits_mlp":
            _grab(window, "gradients", out / "digits-gradients.png")
        _close(window)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--import-dialog", action="store_true",
                        help="only the import dialog's picture (import-dialog.png)")
    parser.add_argument("--data-tab", action="store_true",
                        help="only the Data tab's pictures (data-tab.png, data-tab-iris.png)")
    parser.add_argument("--predict", action="store_true",
                        help="only the Predict and Misclassified pictures (predict.png, "
                             "misclassified.png)")
    parser.add_argument("--all", metavar="DIR", type=Path,
                        help="also picture every example during and after training, in DIR")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    # The window as a new user first sees it: not the dock sizes remembered here.
    os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="nncanvas-shots-")
    if args.import_dialog:
        import_dialog_picture()
        return 0
    if args.data_tab:
        data_tab_pictures()
        return 0
    if args.predict:
        predict_pictures()
        return 0
    readme_pictures()
    import_dialog_picture()
    data_tab_pictures()
    predict_pictures()
    if args.all:
        example_pictures(args.all)
    return 0


if __name__ == "__main__":
    sys.exit(main())
