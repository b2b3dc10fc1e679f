"""What training reports: :class:`StepRecord` after each optimizer step, :class:`EpochRecord`
after each epoch, :class:`Divergence` when the loss runs away, and
:class:`TrainingError` when it becomes NaN or infinite."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from nncore.metrics import Histogram

if TYPE_CHECKING:
    from nncore.confusion import ConfusionSummary

__all__ = ["TrainingError", "StepRecord", "EpochRecord", "Divergence"]


class TrainingError(RuntimeError):
    """Training cannot go on (e.g. the loss became NaN or infinite); the message says
    at which epoch and batch, and where the non-finite values first appeared.

    Attributes (None when not known):
        epoch, batch: where it happened (1-based).
        node: the name of the first node (sub-module, e.g. ``"1"``) whose output held
            NaN or infinity on the failing batch.
        parameters: names of parameters that already held NaN or infinity (a tuple).
    """

    def __init__(self, message: str, *, epoch: int | None = None, batch: int | None = None,
                 node: str | None = None, parameters: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.epoch, self.batch, self.node = epoch, batch, node
        self.parameters = tuple(parameters)


# ---------------------------------------------------------------------------- records
@dataclass(frozen=True)
class StepRecord:
    """What one optimizer step did, given to :meth:`Callback.on_batch_end`.

    Attributes:
        epoch: the epoch (1-based).
        batch: the batch within the epoch (1-based).
        step: the trainer's global step count after this step (1, 2, ...; it goes on
            across ``fit`` calls and checkpoints).
        samples: the batch's number of samples.
        loss: the batch loss (a float, computed before the update).
        lr: the learning rate of the first parameter group during this step.
        grad_norms: only with ``Trainer(record_grad_norms=True)``, else None: parameter
            name -> L2 norm of its gradient, after backward and *before* clipping and the
            update (0.0 for a parameter that got no gradient). Computed in float64.
        grad_norm_total: the L2 norm of all those gradients together (as
            :func:`nncore.nn.clip_grad_norm_` measures it), or None.
        flow: after :meth:`Trainer.request_flow`, the
            :class:`~nncore.training.flow.GradientFlow` of this batch; else None.
    """

    epoch: int
    batch: int
    step: int
    samples: int
    loss: float
    lr: float
    grad_norms: dict[str, float] | None = None
    grad_norm_total: float | None = None
    flow: Any = None


@dataclass(eq=False)
class EpochRecord:
    """What one epoch produced, kept in :attr:`Trainer.epoch_records` and given to
    :meth:`Callback.on_epoch_record`. Every array is a copy owned by the record.

    Attributes:
        epoch: the epoch (1-based).
        logs: a copy of the epoch's metrics (the history entry).
        batches: how many batches were trained in this epoch.
        complete: False if :meth:`Trainer.request_stop` cut the epoch short (its
            training metrics then cover ``batches`` batches only).
        confusion_matrix: classification with a validation split: int64 ``(K, K)`` of
            the validation set at the end of the epoch (rows = true class, columns =
            predicted; see :func:`nncore.metrics.confusion_matrix`); else None.
            With more than :data:`nncore.confusion.DENSE_CLASSES` classes (the matrix
            would take 8 K² bytes) it is None and :attr:`confusion_summary` holds the
            most confused classes instead.
        confusion_summary: with more than ``DENSE_CLASSES`` classes, the
            :class:`~nncore.confusion.ConfusionSummary` of the validation predictions;
            else None.
        per_class_accuracy: float64 ``(K,)`` recall per class (NaN for a class
            absent from the validation split); else None.
        param_histograms: with ``record_histograms=True`` (in the epochs
            ``histogram_freq`` picks): parameter name ->
            :class:`~nncore.metrics.Histogram` of its values; else empty.
        activation_histograms: with ``record_histograms=True`` and a model that has
            ``forward_with_activations``: node name -> histogram of its output on the
            probe batch (eval mode, no gradients), in the model's order; else empty.
        histogram_seconds: how long recording those histograms took (seconds; 0.0 in
            an epoch without them), for a caller that spaces them out by their cost.
    """

    epoch: int
    logs: dict[str, float]
    batches: int = 0
    complete: bool = True
    confusion_matrix: np.ndarray | None = None
    confusion_summary: ConfusionSummary | None = None
    per_class_accuracy: np.ndarray | None = None
    param_histograms: dict[str, Histogram] = field(default_factory=dict)
    activation_histograms: dict[str, Histogram] = field(default_factory=dict)
    histogram_seconds: float = 0.0


@dataclass(frozen=True)
class Divergence:
    """A run whose loss grew far beyond its start: reported (once per trainer) while
    it trains, through :meth:`Callback.on_divergence`; training goes on.

    Attributes:
        epoch, batch: where it was first seen (1-based).
        loss: that batch's loss; reference: the trainer's first batch loss.
        factor: the threshold, ``loss > factor * reference``.
    """

    epoch: int
    batch: int
    loss: float
    reference: float
    factor: float

    @property
    def message(self) -> str:
        """One line for the user, e.g. "the loss is diverging: 2.9e+11 at epoch 2,
        batch 3, 1.2e+11 times its first value 2.3; try a smaller learning rate ..."."""
        return (f"the loss is diverging: {self.loss:.3g} at epoch {self.epoch}, batch "
                f"{self.batch}, {self.loss / self.reference:.3g} times its first value "
                f"{self.reference:.3g} (more than {self.factor:g} times); try a smaller "
                "learning rate or gradient clipping")
