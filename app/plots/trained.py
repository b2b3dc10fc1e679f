"""The trained model as the Predict and Misclassified views use it.

The window gives the views a *model source*: a callable returning the controller's
``trained_run()`` — ``(run id, nncore.project.TrainingRun)`` — or, when there is none, a
sentence saying why (nothing trained yet, a run training, a model trained for another
network). :class:`ModelSource` wraps it: :meth:`ModelSource.get` returns a
:class:`Trained` (the same object while the model is unchanged, so the validation
probabilities are computed once per trained state) or that sentence.

Every prediction goes through :meth:`nncore.project.TrainingRun.predict_proba`: raw
features (as the data file has them), the run's own standardization, evaluation mode.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from app.plots.base import DrawnWhenShown
from app.plots.data_view import image_shape

__all__ = ["Trained", "ModelSource", "ModelView", "NO_MODEL", "confidence_order"]

#: What the views say when nothing is trained.
NO_MODEL = ("Train first: press Train in the Training panel; the trained model's "
            "predictions appear here when it finishes.")


def confidence_order(indices: np.ndarray, confidence: np.ndarray) -> np.ndarray:
    """``indices`` sorted by ``confidence[indices]``, highest first; ties by index
    (ascending). int64."""
    indices = np.asarray(indices, dtype=np.int64)
    if not len(indices):
        return indices
    return indices[np.lexsort((indices, -np.asarray(confidence)[indices]))]


class Trained:
    """One trained state of a model, and its validation part.

    Args:
        run_id: the run's id in the run store.
        run: the :class:`nncore.project.TrainingRun` (read, never changed).

    Attributes:
        run_id, run: as given.
        task: ``"classification"`` or ``"regression"``.
        classes: the class names (strings; the index where the data has none), or [].
        feature_names: the features' names (strings).
        shape: ``(height, width)`` when the rows are pictures
            (:func:`app.plots.data_view.image_shape`), else None.
        val_index: the validation rows' indices into the dataset (int64).
        val_raw: the validation features as the data file has them (``(n, features)``).
        val_y: the validation targets (class indices, or values ``(n, targets)``).
    """

    def __init__(self, run_id: int, run: Any) -> None:
        self.run_id, self.run = run_id, run
        data, sp = run.data, run.split
        self.task: str = run.model.task
        k = int(run.model.num_classes or 0)
        names = [str(c) for c in (data.classes or [])][:k]
        self.classes: list[str] = names + [str(i) for i in range(len(names), k)]
        self.feature_names = [str(n) for n in data.feature_names] if data.feature_names \
            is not None else [f"x{i + 1}" for i in range(data.X.shape[1])]
        self.shape = image_shape(data)
        self.val_index = np.asarray(sp.val_index, dtype=np.int64)
        self.val_raw = data.X[self.val_index]
        self.val_y = sp.y_val
        self._val_out: np.ndarray | None = None

    @property
    def n_features(self) -> int:
        return int(self.val_raw.shape[1]) if self.val_raw.ndim == 2 else len(self.feature_names)

    @property
    def n_val(self) -> int:
        return int(len(self.val_y))

    def predict(self, X: Any) -> np.ndarray:
        """Class probabilities ``(N, classes)`` or predicted values ``(N, targets)`` for raw
        features ``X`` (:meth:`~nncore.project.TrainingRun.predict_proba`)."""
        return self.run.predict_proba(X)

    def val_output(self) -> np.ndarray:
        """:meth:`predict` of every validation row, computed once."""
        if self._val_out is None:
            self._val_out = self.predict(self.val_raw)
        return self._val_out

    def val_predicted(self) -> np.ndarray:
        """The predicted class of every validation row (int64; classification)."""
        return self.val_output().argmax(axis=1).astype(np.int64)

    def val_confidence(self) -> np.ndarray:
        """The predicted class's probability for every validation row (classification)."""
        return self.val_output().max(axis=1)

    def misclassified(self) -> np.ndarray:
        """The validation rows the model gets wrong, most confident mistake first."""
        wrong = np.flatnonzero(self.val_predicted() != np.asarray(self.val_y))
        return confidence_order(wrong, self.val_confidence())

    def in_cell(self, true: int, predicted: int) -> np.ndarray:
        """The validation rows of true class ``true`` predicted as ``predicted`` (-1 for
        either: any class), most confident first."""
        y, p = np.asarray(self.val_y), self.val_predicted()
        mask = np.ones(len(y), dtype=bool)
        if true >= 0:
            mask &= y == true
        if predicted >= 0:
            mask &= p == predicted
        return confidence_order(np.flatnonzero(mask), self.val_confidence())

    def standardized_to_raw(self, point: Any) -> np.ndarray:
        """A point in the model's input space (standardized features, as the decision
        boundary's axes are) back in raw features: ``point * scale + mean``."""
        p = np.asarray(point, dtype=np.float64)
        sp = self.run.split
        if sp.mean is None:
            return p
        return p * sp.scale + sp.mean

    def label(self, value: Any) -> str:
        """A target as text: the class name, or the value(s) of a regression."""
        if self.task == "classification":
            k = int(value)
            return self.classes[k] if 0 <= k < len(self.classes) else str(k)
        v = np.atleast_1d(np.asarray(value, dtype=np.float64))
        return ", ".join(f"{x:.4g}" for x in v)


class ModelSource:
    """The window's model source (see the module docstring), cached by trained state.

    Args:
        source: returns ``(run id, TrainingRun)``, a str (why there is none; None: the
            default :data:`NO_MODEL`), or raises (the error is shown as the reason).
    """

    def __init__(self, source: Callable[[], Any] | None = None) -> None:
        self.source: Callable[[], Any] = source or (lambda: None)
        self._key: Any = None
        self._trained: Trained | None = None

    def get(self) -> Trained | str:
        try:
            got = self.source()
        except Exception as e:  # noqa: BLE001 - shown as the placeholder, never a traceback
            return f"No model: {str(e) or type(e).__name__}"
        if got is None:
            return NO_MODEL
        if isinstance(got, str):
            return got
        run_id, run = got
        trainer = getattr(run, "trainer", None)
        key = (run_id, id(run), getattr(trainer, "global_step", None),
               len(getattr(trainer, "history", ()) or ()))
        if key != self._key or self._trained is None:
            self._key, self._trained = key, Trained(run_id, run)
        return self._trained


class ModelView(DrawnWhenShown):
    """A view of the trained model (Predict, Misclassified): its :attr:`source` (a
    :class:`ModelSource`), looked at again when in sight after :meth:`model_changed`."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.source = ModelSource()

    def set_model_source(self, source: Callable[[], Any]) -> None:
        """Where the trained model comes from (:class:`ModelSource`)."""
        self.source = ModelSource(source)
        self.model_changed()

    def model_changed(self, *_: Any) -> None:
        """The model may have changed (a run ended, an edit, another project): looked at
        again at the next turn of the event loop when in sight, else when shown."""
        self.changed()
