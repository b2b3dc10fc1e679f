"""Training loops, callbacks, records for live plots, and checkpoints.

:class:`Trainer` runs epochs of shuffled minibatches with any optimizer (and optional
learning-rate scheduler), computes training and validation metrics per epoch, and calls
:class:`Callback` s; :class:`EarlyStopping` is one of them.

For a GUI that runs the trainer in a worker thread and plots what happens:

* after every optimizer step, callbacks get a small :class:`StepRecord` (loss, learning
  rate and, with ``record_grad_norms=True``, the gradient norm of every parameter);
* after every epoch, an :class:`EpochRecord` (the metrics, the validation confusion
  matrix and, with ``record_histograms=True``, histograms of every parameter and of every
  node's activations on a fixed probe batch, with bin edges fixed for the whole run);
* :meth:`Trainer.request_stop`, :meth:`Trainer.pause` and :meth:`Trainer.resume` may be
  called from another thread; they take effect between batches;
* :meth:`Trainer.save_checkpoint` / :meth:`Trainer.load_checkpoint` save and resume
  training exactly (weights, buffers, optimizer and scheduler state, history, early
  stopping, random generators) in one ``.npz`` file, without pickle.

Records hold copies, never views of arrays that training goes on changing. Metrics
live in :mod:`nncore.metrics` (``accuracy`` is re-exported here).


The package: :mod:`~nncore.training.trainer` (the loop), :mod:`~nncore.training.callbacks`,
:mod:`~nncore.training.records` and :mod:`~nncore.training.checkpoint`.
"""

from nncore.metrics import accuracy
from nncore.training.callbacks import Callback, EarlyStopping
from nncore.training.checkpoint import CHECKPOINT_VERSION, CheckpointError, checkpoint_info
from nncore.training.records import Divergence, EpochRecord, StepRecord, TrainingError
from nncore.training.flow import GradientFlow
from nncore.training.trainer import DIVERGENCE_FACTOR, HISTOGRAM_EDGES, Trainer

__all__ = [
    "Callback", "EarlyStopping", "Trainer", "TrainingError", "CheckpointError",
    "StepRecord", "EpochRecord", "Divergence", "checkpoint_info", "accuracy",
    "CHECKPOINT_VERSION", "DIVERGENCE_FACTOR", "HISTOGRAM_EDGES", "GradientFlow",
]
