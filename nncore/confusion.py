"""A confusion matrix cut to a readable number of classes, the rest summed as "other".

With many classes (10,000) a full ``(K, K)`` matrix per epoch costs ``8 K^2`` bytes
(800 MB) each time it is copied, and no one can read it drawn. What crosses from the
training worker to the window, and what the confusion view draws, is a
:class:`ConfusionSummary`: at most :data:`MAX_SHOWN_CLASSES` classes (those with the most
mistakes, then the most samples) with their counts among each other, one "other" row and
column summing every other class, and the totals of the whole matrix. It is NumPy only
(no Qt): the trainer makes one for many classes, the worker and the view use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

__all__ = ["MAX_SHOWN_CLASSES", "DENSE_CLASSES", "ConfusionSummary", "summarize_confusion",
           "summarize_predictions", "class_recall"]

#: The most classes a confusion matrix shows with their own row and column; the rest
#: are summed in one "other" row and column.
MAX_SHOWN_CLASSES = 30
#: Up to this many classes the Trainer records the whole ``(K, K)`` matrix (8 MB at
#: 1,000); beyond, only its summary (:func:`summarize_predictions`).
DENSE_CLASSES = 1000


@dataclass(frozen=True, eq=False)  # compared by identity: a new epoch, a new summary
class ConfusionSummary:
    """At most ``limit`` classes of a ``(K, K)`` confusion matrix, the rest as "other".

    Attributes:
        matrix: int64 ``(m, m)``, or ``(m + 1, m + 1)`` when :attr:`other` > 0, whose
            last row and column are "other": rows = true class, columns = predicted
            (scikit-learn's convention), as in the full matrix.
        shown: int64 ``(m,)``: the full matrix's class indices of the first ``m`` rows,
            ascending.
        recall: float64 ``(m,)``: each shown class's validation accuracy (recall) over
            the whole matrix (its row's diagonal share; NaN for a class without samples).
        n_classes: K.
        total, correct: the whole matrix's sum and trace.
    """

    matrix: np.ndarray
    shown: np.ndarray
    recall: np.ndarray
    n_classes: int
    total: int
    correct: int

    @property
    def other(self) -> int:
        """How many classes are summed in the "other" row and column (0: none)."""
        return self.n_classes - len(self.shown)

    def names(self, classes: Sequence[str] | None) -> list[str]:
        """The row and column names: the shown classes' names (their index where
        ``classes`` has none), then ``"other (N)"`` when classes are summed."""
        given = list(classes or [])
        names = [str(given[i]) if i < len(given) else str(i) for i in self.shown.tolist()]
        return names + ([f"other ({self.other})"] if self.other else [])


def summarize_confusion(matrix: Any, per_class: Any = None,
                        limit: int = MAX_SHOWN_CLASSES) -> ConfusionSummary:
    """Cut a confusion matrix to at most ``limit`` classes (all of them when K <= limit).

    The classes kept are those with the most mistakes (samples of the class predicted as
    another, plus samples of other classes predicted as it), then the most samples, then
    the lowest index; they are shown in index order. Every count of the other classes is
    kept in the "other" row and column, so the summary's sum is the matrix's. Allocates
    O(K + limit^2) beyond reading ``matrix`` once.

    Args:
        matrix: ``(K, K)`` counts (integers, or floats holding whole numbers).
        per_class: optional ``(K,)`` recall per class; default: from the matrix.
        limit: the most classes shown (>= 1).

    Raises:
        ValueError: for a matrix that is not square and 2-D, a ``per_class`` of another
            length, or a ``limit`` below 1.
    """
    cm = np.asarray(matrix)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"a confusion matrix is square (K, K), got shape {cm.shape}")
    if int(limit) < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    k = cm.shape[0]
    rows = cm.sum(axis=1, dtype=np.int64)
    cols = cm.sum(axis=0, dtype=np.int64)
    diag = np.rint(np.diagonal(cm)).astype(np.int64)
    if per_class is None:
        recall = _recall(rows, diag)
    else:
        recall = np.asarray(per_class, dtype=np.float64)
        if recall.shape != (k,):
            raise ValueError(f"per_class has shape {recall.shape}, the matrix {k} classes")
    return _summary(rows, cols, diag, recall, int(limit),
                    lambda shown: np.rint(cm[np.ix_(shown, shown)]).astype(np.int64))


def summarize_predictions(predicted: Any, target: Any, num_classes: int,
                          limit: int = MAX_SHOWN_CLASSES) -> ConfusionSummary:
    """The summary :func:`summarize_confusion` makes of the confusion matrix of these
    predictions, without building the ``(K, K)`` matrix: O(N + K + limit^2) memory
    (10,000 classes: kilobytes instead of 800 MB).

    Args:
        predicted, target: ``(N,)`` class indices in ``[0, num_classes)``.
        num_classes: K.
        limit: the most classes shown (>= 1).

    Raises:
        ValueError: for shapes that differ, an index outside ``[0, K)``, or a ``limit``
            below 1.
    """
    pred = np.asarray(predicted).astype(np.int64, copy=False).reshape(-1)
    true = np.asarray(target).astype(np.int64, copy=False).reshape(-1)
    k = int(num_classes)
    if pred.shape != true.shape:
        raise ValueError(f"{pred.size} predictions for {true.size} targets")
    for name, a in (("prediction", pred), ("target", true)):
        if a.size and (a.min() < 0 or a.max() >= k):
            raise ValueError(f"a {name} outside [0, {k}): {int(a[(a < 0) | (a >= k)][0])}")
    if int(limit) < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    rows = np.bincount(true, minlength=k).astype(np.int64)
    cols = np.bincount(pred, minlength=k).astype(np.int64)
    diag = np.bincount(true[pred == true], minlength=k).astype(np.int64)

    def sub_of(shown: np.ndarray) -> np.ndarray:
        place = np.full(k, -1, dtype=np.int64)
        place[shown] = np.arange(len(shown))
        t, p = place[true], place[pred]
        both = (t >= 0) & (p >= 0)
        sub = np.zeros((len(shown), len(shown)), dtype=np.int64)
        np.add.at(sub, (t[both], p[both]), 1)
        return sub

    return _summary(rows, cols, diag, _recall(rows, diag), int(limit), sub_of)


def class_recall(predicted: Any, target: Any, num_classes: int) -> np.ndarray:
    """float64 ``(K,)``: each true class's share predicted right (NaN for a class
    without samples), in O(N + K) memory. Indices as :func:`summarize_predictions`."""
    pred = np.asarray(predicted).astype(np.int64, copy=False).reshape(-1)
    true = np.asarray(target).astype(np.int64, copy=False).reshape(-1)
    k = int(num_classes)
    return _recall(np.bincount(true, minlength=k), np.bincount(true[pred == true], minlength=k))


def _recall(rows: np.ndarray, diag: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(rows > 0, diag / np.where(rows > 0, rows, 1), np.nan)


def _summary(rows: np.ndarray, cols: np.ndarray, diag: np.ndarray, recall: np.ndarray,
             limit: int, sub_of: Any) -> ConfusionSummary:
    """The summary from the matrix's row sums, column sums and diagonal; ``sub_of(shown)``
    gives the counts among the shown classes."""
    k = len(rows)
    if k <= limit:
        shown = np.arange(k, dtype=np.int64)
    else:
        mistakes = (rows - diag) + (cols - diag)
        # lexsort: the last key first; negatives for "most first", the index breaks ties
        order = np.lexsort((np.arange(k), -rows, -mistakes))
        shown = np.sort(order[:limit]).astype(np.int64)
    sub = sub_of(shown)
    total, correct = int(rows.sum()), int(diag.sum())
    if len(shown) < k:
        m = len(shown)
        out = np.zeros((m + 1, m + 1), dtype=np.int64)
        out[:m, :m] = sub
        out[:m, m] = rows[shown] - sub.sum(axis=1)  # shown classes predicted as another
        out[m, :m] = cols[shown] - sub.sum(axis=0)  # other classes predicted as shown
        out[m, m] = total - out[:m].sum() - out[m, :m].sum()
        sub = out
    return ConfusionSummary(matrix=sub, shown=shown, recall=recall[shown].copy(),
                            n_classes=k, total=total, correct=correct)
