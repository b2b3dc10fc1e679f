"""The Predict tab: the trained model on one sample (issue 12, "Using").

A sample is a validation row (by its index, or opened from the Misclassified gallery),
values typed in the features' table, a digit drawn on the pad (image-shaped data:
:func:`app.plots.data_view.image_shape`), or a point clicked on the decision boundary
(2-D sets). What the user gives is *raw* features, as the data file has them (the
digits' pixels 0..16); the model's own preprocessing and evaluation mode apply
(:meth:`nncore.project.TrainingRun.predict_proba`, through
:class:`app.plots.trained.Trained`). A classifier's class probabilities are horizontal
bars with the class names, the predicted class in the accent colour, the true class
(when known) outlined and named "(true)"; a regression shows the predicted value.
Without a trained model (or with one for another network) the tab says why.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QPushButton, QSpinBox, QStackedWidget,
                               QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout,
                               QWidget)

from app.plots.base import (as_theme, configure_plot, plot_colors, set_plot_labels,
                            style_plot, with_alpha)
from app.plots.trained import ModelView, Trained
from app.theme import Theme
from app.widgets.digit_pad import DigitPad

__all__ = ["PredictView", "MAX_BARS", "PAD_INTERVAL_MS", "shown_bars"]

#: At most this many class bars (the most probable, and the true class).
MAX_BARS = 20
#: While drawing, the prediction is updated at most this often (milliseconds).
PAD_INTERVAL_MS = 60
#: The bar colour of the classes not predicted.
OTHER_BAR = "#9aa5b8"


def shown_bars(p: np.ndarray, true: int | None, limit: int = MAX_BARS) -> list[int]:
    """The classes given a bar: all when there are at most ``limit``, else the ``limit``
    most probable (the true class in place of the last when it is not among them), in
    class order."""
    k = len(p)
    if k <= limit:
        return list(range(k))
    top = [int(i) for i in np.lexsort((np.arange(k), -np.asarray(p)))[:limit]]
    if true is not None and 0 <= true < k and true not in top:
        top[-1] = true
    return sorted(top)


class PredictView(ModelView):
    """The Predict tab (see the module docstring).

    Signals:
        step_requested(int): "Step through this sample" for validation row ``index``.

    Attributes:
        model: the :class:`~app.plots.trained.Trained` shown, or None (``reason`` says
            why: the placeholder's text).
        features: the raw features predicted (float64 ``(features,)``), or None.
        output: the model's output for them: class probabilities ``(classes,)`` or the
            predicted values ``(targets,)``; None without a model.
        true: the true target when known (a class index, or the values), else None.
        index: the validation row shown, or None (typed, drawn, clicked).
        origin: what the sample is, in words (the caption).
        index_spin, step_button: the validation row and "Step through this sample".
        pad, clear_button: the drawing pad (image-shaped data) and its Clear.
        table: the features' values (editable: type them).
        inputs: the pad's and the table's tabs.
        bars_plot, bars: the probabilities (a horizontal :class:`pyqtgraph.BarGraphItem`,
            class ``i``'s bar at ``y = row``, class names on the left axis).
        result: the prediction in words (a regression's value, big).
        predict_count: how many predictions were computed (for tests).
    """

    step_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme: Theme = as_theme(None)
        self.colors = plot_colors(self.theme)
        self.model: Trained | None = None
        self.reason = ""
        self.features: np.ndarray | None = None
        self.output: np.ndarray | None = None
        self.true: Any = None
        self.index: int | None = None
        self.origin = ""
        self.predict_count = 0
        self.error = ""
        self._bar_classes: list[int] = []
        self._pad_timer = QTimer(self)  # throttles the predictions while drawing
        self._pad_timer.setSingleShot(True)
        self._pad_timer.setInterval(PAD_INTERVAL_MS)
        self._pad_timer.timeout.connect(self._from_pad)

        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setContentsMargins(8, 4, 8, 2)
        self.placeholder = QLabel()
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)

        # the sample: a validation row
        self.index_spin = QSpinBox()
        self.index_spin.setPrefix("validation sample ")
        self.index_spin.setToolTip("A row of the validation part (its position in it)")
        self.index_spin.setKeyboardTracking(False)
        self.index_spin.valueChanged.connect(self.show_validation)
        self.step_button = QPushButton("Step through this sample")
        self.step_button.setToolTip("This validation sample alone through the network, node "
                                    "by node, in the Step-through panel")
        self.step_button.clicked.connect(self._step)
        top = QHBoxLayout()
        top.setContentsMargins(6, 0, 6, 0)
        top.addWidget(self.index_spin)
        top.addWidget(self.step_button)
        top.addStretch(1)

        # the inputs: the pad (pictures) and the table of values
        self.pad = DigitPad()
        self.pad.changed.connect(self._pad_changed)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Erase the pad")
        self.clear_button.clicked.connect(self.pad.clear)
        pad_hint = QLabel("Draw with the left button, erase with the right one.")
        pad_hint.setWordWrap(True)
        self.pad_hint = pad_hint
        pad_page = QWidget()
        pad_layout = QVBoxLayout(pad_page)
        pad_layout.setContentsMargins(4, 4, 4, 4)
        pad_layout.addWidget(self.pad, 1)
        row = QHBoxLayout()
        row.addWidget(pad_hint, 1)
        row.addWidget(self.clear_button)
        pad_layout.addLayout(row)
        self.pad_page = pad_page
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["feature", "value (raw)"])
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setToolTip("Type a value: the prediction follows")
        self.table.itemChanged.connect(self._typed)
        self.inputs = QTabWidget()
        self.inputs.setDocumentMode(True)
        self.inputs.addTab(pad_page, "Draw")
        self.inputs.addTab(self.table, "Values")

        # the result
        self.bars_widget = pg.PlotWidget()
        self.bars_plot = self.bars_widget.getPlotItem()
        configure_plot(self.bars_plot, "Class probabilities", "probability", "class",
                       grid=False)
        self.bars_plot.showGrid(x=True, y=False, alpha=0.18)
        self.bars_plot.hideButtons()
        self.bars_plot.setMenuEnabled(False)
        self.bars_plot.vb.setMouseEnabled(False, False)
        self.bars_plot.vb.invertY(True)
        self.bars_plot.getAxis("left").setStyle(textFillLimits=[(0, 1.0)], tickLength=0)
        self.bars = pg.BarGraphItem(x0=[], y=[], height=0.7, width=[])
        self.bars_plot.addItem(self.bars)
        self.bar_texts: list[pg.TextItem] = []
        self.result = QLabel()
        self.result.setWordWrap(True)
        self.result.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.result.setContentsMargins(8, 4, 8, 4)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.result)
        right_layout.addWidget(self.bars_widget, 1)
        body = QHBoxLayout()
        body.setContentsMargins(2, 0, 2, 2)
        body.addWidget(self.inputs, 2)
        body.addWidget(right, 3)

        self.content = QWidget()
        content_layout = QVBoxLayout(self.content)
        content_layout.setContentsMargins(0, 0, 0, 0)
        content_layout.addLayout(top)
        content_layout.addLayout(body, 1)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.placeholder)
        self.stack.addWidget(self.content)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.caption)
        layout.addWidget(self.stack, 1)
        self.apply_theme(self.theme)
        self._show_placeholder("Train first: the predictions of the trained model appear "
                               "here.")

    # ------------------------------------------------------------------ the model
    def draw_now(self) -> None:
        """Ask the source for the model and show the current sample's prediction
        (whether or not the tab is in sight)."""
        self._dirty = False
        got = self.source.get()
        if isinstance(got, str):
            self.model, self.output = None, None
            self._show_placeholder(got)
            return
        if got is not self.model:
            self.model = got
            self._set_up(got)
            keep = self.features is not None and len(self.features) == got.n_features
            if self.index is not None and got.n_val:
                # a validation row: read again (another split may hold another row there)
                self.show_validation(min(self.index, got.n_val - 1))
            elif keep:  # typed, drawn or clicked: the same values, the new model
                self._set(self.features, self.true, None, self.origin)
            elif got.n_val:
                self.show_validation(min(self.index_spin.value(), got.n_val - 1))
            else:
                self.set_features(np.zeros(got.n_features), origin="zeros")
            return
        self.stack.setCurrentWidget(self.content)
        self._predict()

    def _set_up(self, model: Trained) -> None:
        """The inputs for this model's data: the validation rows' range, the pad (for
        pictures) and the features' table."""
        self.stack.setCurrentWidget(self.content)
        self.index_spin.blockSignals(True)
        self.index_spin.setRange(0, max(model.n_val - 1, 0))
        self.index_spin.setEnabled(model.n_val > 0)
        self.index_spin.setSuffix(f" of {model.n_val:,}")
        self.index_spin.blockSignals(False)
        picture = model.shape is not None
        self.inputs.setTabVisible(0, picture)
        if picture:
            top = float(np.max(model.run.data.X)) if model.run.data.X.size else 16.0
            self.pad.blockSignals(True)
            self.pad.set_shape(model.shape, top if top > 0 else 16.0)
            self.pad.blockSignals(False)
            self.pad_hint.setText(f"Draw with the left button, erase with the right one "
                                  f"({model.shape[0]}×{model.shape[1]} pixels, 0 to "
                                  f"{self.pad.top:g}).")
            self.inputs.setCurrentIndex(0)
        else:
            self.inputs.setCurrentIndex(1)
        self.table.blockSignals(True)
        self.table.setRowCount(model.n_features)
        for i, name in enumerate(model.feature_names):
            item = QTableWidgetItem(name)
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.table.setItem(i, 0, item)
            self.table.setItem(i, 1, QTableWidgetItem(""))
        self.table.resizeColumnToContents(0)
        self.table.blockSignals(False)
        self.bars_widget.setVisible(model.task == "classification")

    # ------------------------------------------------------------------ samples
    def show_validation(self, index: int) -> None:
        """Validation row ``index`` (its raw features and true target)."""
        model = self.model if self.model is not None else self._model()
        if model is None or not 0 <= int(index) < model.n_val:
            return
        index = int(index)
        self.index_spin.blockSignals(True)
        self.index_spin.setValue(index)
        self.index_spin.blockSignals(False)
        true = model.val_y[index]
        self._set(model.val_raw[index], true, index,
                  f"Validation sample {index} (dataset row {int(model.val_index[index])}), "
                  f"true: {model.label(true)}")

    def set_features(self, values: Any, true: Any = None, origin: str = "typed") -> None:
        """Predict raw features ``values`` (``(features,)``); ``true`` when known.
        ``origin``: ``"typed"``, ``"drawn"``, ``"boundary"``, ``"zeros"`` or a caption."""
        captions = {"typed": "Typed values", "drawn": "Drawn on the pad",
                    "boundary": "A point clicked on the decision boundary",
                    "zeros": "All features 0"}
        self._set(np.asarray(values, dtype=np.float64).ravel(), true, None,
                  captions.get(origin, origin))

    def set_model_point(self, point: Any) -> None:
        """A point in the model's input space (the decision boundary's axes: standardized
        features), shown as its raw features."""
        model = self.model if self.model is not None else self._model()
        if model is not None:
            self.set_features(model.standardized_to_raw(point), origin="boundary")

    def _model(self) -> Trained | None:
        if self._dirty or self.model is None:
            self.draw_now()
        return self.model

    def _set(self, values: Any, true: Any, index: int | None, origin: str) -> None:
        self.features = np.asarray(values, dtype=np.float64).ravel().copy()
        self.true, self.index, self.origin = true, index, origin
        model = self.model
        if model is not None:
            self.table.blockSignals(True)
            for i, v in enumerate(self.features[:self.table.rowCount()]):
                self.table.item(i, 1).setText(f"{v:.6g}")
            self.table.blockSignals(False)
            if model.shape is not None and len(self.features) == np.prod(model.shape):
                self.pad.blockSignals(True)
                self.pad.set_values(self.features)
                self.pad.blockSignals(False)
        self._predict()

    def _pad_changed(self) -> None:
        """The pad changed under the mouse: predicted at most every PAD_INTERVAL_MS."""
        if not self._pad_timer.isActive():
            self._pad_timer.start()

    def _from_pad(self) -> None:
        self.set_features(self.pad.values.ravel(), origin="drawn")

    def _typed(self, item: QTableWidgetItem) -> None:
        if item.column() != 1 or self.model is None:
            return
        values = []
        for i in range(self.table.rowCount()):
            text = self.table.item(i, 1).text().strip() if self.table.item(i, 1) else ""
            try:
                values.append(float(text.replace(",", ".")) if text else 0.0)
            except ValueError:
                name = self.model.feature_names[i]
                self._say_error(f"{name}: {text!r} is not a number")
                return
        self.error = ""
        self.set_features(values, origin="typed")

    def _step(self) -> None:
        if self.index is not None:
            self.step_requested.emit(self.index)

    # ------------------------------------------------------------------ predicting
    def _predict(self) -> None:
        model = self.model
        self.step_button.setEnabled(self.index is not None)
        if model is None or self.features is None:
            return
        try:
            out = model.predict(self.features[None])[0]
        except (ValueError, FloatingPointError) as e:
            self.output = None
            self._say_error(str(e) or type(e).__name__)
            return
        self.predict_count += 1
        self.output = out
        self.error = ""
        self.caption.setText(f"{self.origin} · run {model.run_id}: raw features through "
                             "the model's own standardization, in evaluation mode")
        self.caption.show()
        if model.task == "classification":
            self._draw_bars(model, out)
        else:
            text = ", ".join(f"{v:.4g}" for v in np.atleast_1d(out))
            true = "" if self.true is None else \
                f"<br><span style='font-size:11pt'>true: {model.label(self.true)}</span>"
            self.result.setText(f"<span style='font-size:20pt'>predicted: <b>{text}</b></span>"
                                f"{true}")

    def _say_error(self, text: str) -> None:
        self.error = text
        self.caption.setText(f"Cannot predict: {text}")
        self.caption.show()

    def _draw_bars(self, model: Trained, p: np.ndarray) -> None:
        true = None if self.true is None else int(self.true)
        pred = int(np.argmax(p))
        classes = shown_bars(p, true)
        self._bar_classes = classes
        n = len(classes)
        c = self.colors
        brushes = [pg.mkBrush(c.accent if k == pred else OTHER_BAR) for k in classes]
        pens = [pg.mkPen(c.foreground, width=2.5) if k == true else pg.mkPen(None)
                for k in classes]
        self.bars.setOpts(x0=np.zeros(n), y=np.arange(n, dtype=np.float64),
                          width=np.asarray(p, dtype=np.float64)[classes], height=0.7,
                          brushes=brushes, pens=pens)
        names = [model.classes[k] + (" (true)" if k == true else "") for k in classes]
        self.bars_plot.getAxis("left").setTicks([[(float(i), s) for i, s in enumerate(names)],
                                                 []])
        while len(self.bar_texts) > n:
            self.bars_plot.removeItem(self.bar_texts.pop())
        while len(self.bar_texts) < n:
            t = pg.TextItem("", anchor=(0, 0.5))
            self.bars_plot.addItem(t, ignoreBounds=True)
            self.bar_texts.append(t)
        font = QFont()
        font.setPointSizeF(8.5)
        for i, (t, k) in enumerate(zip(self.bar_texts, classes)):
            t.setFont(font)
            t.setText(f" {100 * p[k]:.1f}%", color=c.foreground)
            t.setPos(float(p[k]), float(i))
        self.bars_plot.vb.setRange(xRange=(0, 1.16), yRange=(-0.6, n - 0.4), padding=0)
        more = f" ({n} of {len(p)} classes: the most probable)" if n < len(p) else ""
        set_plot_labels(self.bars_plot, self.colors, title=f"Class probabilities{more}")
        verdict = ""
        if true is not None:
            verdict = " — right" if pred == true else f" — wrong, true: {model.classes[true]}"
        self.result.setText(f"<span style='font-size:14pt'>predicted: <b>{model.classes[pred]}"
                            f"</b> ({100 * p[pred]:.1f}%){verdict}</span>")

    # ------------------------------------------------------------------ reading back
    def bar_values(self) -> np.ndarray:
        """The bars' lengths drawn (probabilities of :meth:`bar_classes`)."""
        width = self.bars.opts.get("width")
        return np.asarray([] if width is None else width, dtype=np.float64)

    def bar_classes(self) -> list[int]:
        """The classes of the bars, top to bottom."""
        return list(self._bar_classes)

    def bar_labels(self) -> list[str]:
        levels = self.bars_plot.getAxis("left")._tickLevels
        return [text for _, text in levels[0]] if levels else []

    @property
    def predicted(self) -> int | None:
        """The predicted class (classification), else None."""
        if self.output is None or self.model is None or self.model.task != "classification":
            return None
        return int(np.argmax(self.output))

    # ------------------------------------------------------------------ showing
    def _show_placeholder(self, text: str) -> None:
        self.caption.hide()
        self.placeholder.setText(text)
        self.stack.setCurrentWidget(self.placeholder)

    def apply_theme(self, theme: Theme | str) -> None:
        self.theme = as_theme(theme)
        c = self.colors = plot_colors(self.theme)
        self.bars_widget.setBackground(c.background)
        style_plot(self.bars_plot, c)
        dark = self.theme.name == "dark"
        self.pad.set_colors(ink="#e8ecf3" if dark else "#1f2430",
                            paper="#2b303b" if dark else "#f4f6fa",
                            grid=with_alpha(c.muted, 0.5).name())
        self.caption.setStyleSheet(f"color: {c.muted};")
        self.pad_hint.setStyleSheet(f"color: {c.muted};")
        self.placeholder.setStyleSheet(f"color: {c.muted}; padding: 12px;")
        if self.model is not None and self.output is not None:
            self._predict()
