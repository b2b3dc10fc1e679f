"""The window's runs as a project file keeps them, and back.

:func:`records_of` turns the :class:`~app.training.runs.RunStore`'s runs into
:class:`nncore.project.saved.RunRecord` s (settings, per-epoch history, status, the
per-batch loss curve) for :func:`nncore.project.saved.save_project`;
:func:`restore_runs` puts the records of an opened file back into the store, so that the
loss view draws their curves and the runs table lists them. The confusion matrix of the
trained run is computed again from its restored model (:func:`confusion_of`): it is the
one the run showed, since the model predicts bit for bit as before.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np

from app.state import RunState
from nncore.project.saved import RunRecord

__all__ = ["records_of", "restore_runs", "confusion_of"]


def records_of(store: Any, trained: int | None = None) -> list[RunRecord]:
    """Every run of ``store`` (oldest first) as a record; ``trained``: the id of the run
    whose model is saved with them. A run still training is kept as stopped."""
    records = []
    for run in store.runs.values():
        status = str(run.status)
        records.append(RunRecord(
            name=run.name, settings=dict(run.settings),
            history=[dict(e) for e in run.epochs],
            status=status if status in ("finished", "stopped", "failed") else "stopped",
            best_epoch=int(run.best_epoch), stopped_epoch=int(run.stopped_epoch),
            message=run.message, trained=run.run_id == trained,
            curves={"step": run.step.values.copy(), "step_loss": run.step_loss.values.copy(),
                    "step_lr": run.step_lr.values.copy()}))
    return records


def restore_runs(store: Any, records: Iterable[RunRecord],
                 model: Any = None) -> list[int]:
    """Add ``records`` to ``store`` as finished runs (their names, settings, histories
    and curves); returns their ids in order. ``model``: the saved model (its task and
    class names go to the run it belongs to; the others' task is read from their
    history)."""
    ids = []
    for record in records:
        run = store.new_run(record.settings, "")
        if record.name:  # else "Run N: " as a new run is named
            run.name = record.name
        run.status = RunState(record.status)
        run.epochs = [dict(e) for e in record.history]
        run.best_epoch, run.stopped_epoch = record.best_epoch, record.stopped_epoch
        run.message = record.message
        for name in ("step", "step_loss", "step_lr"):
            values = record.curves.get(name)
            if values is not None and len(values):
                getattr(run, name).extend(values)
        if record.trained and model is not None and model.shape is not None:
            run.task, run.classes = model.task, model.classes
        elif any("r2" in e or "mse" in e for e in record.history):
            run.task = "regression"
        epochs = len(record.history)
        run.progress = {"epoch": epochs, "batch": 0, "batches": 0, "epochs": epochs,
                        "eta_s": math.nan}
        store.changed(run.run_id)
        ids.append(run.run_id)
    return ids


def confusion_of(run: Any) -> tuple[Any, np.ndarray] | None:
    """(the confusion summary, the per-class recall) of a
    :class:`~nncore.project.TrainingRun`'s model on its validation part, as the worker
    sends them after an epoch (:func:`nncore.confusion.summarize_confusion`); None for
    regression or without a validation part."""
    from nncore.confusion import DENSE_CLASSES, summarize_confusion, summarize_predictions
    from nncore.metrics import confusion_matrix
    from nncore.tensor import Tensor, no_grad

    model, sp = run.model, run.split
    if model.task != "classification" or not len(sp.y_val):
        return None
    k = model.num_classes
    was = model.training
    model.eval()
    try:
        with no_grad():  # in the trainer's evaluation chunks
            out = np.concatenate([model.predictions(model(Tensor(sp.X_val[i:i + 1024])).data)
                                  for i in range(0, len(sp.X_val), 1024)])
    finally:
        model.train(was)
    if k > DENSE_CLASSES:
        summary = summarize_predictions(np.argmax(out, axis=1), sp.y_val, k)
    else:
        cm = confusion_matrix(out, sp.y_val, k)
        support = cm.sum(axis=1)  # the trainer's per-class accuracy
        recall = np.full(len(cm), np.nan)
        has = support > 0
        recall[has] = np.diag(cm)[has] / support[has]
        summary = summarize_confusion(cm, recall)
    return summary, summary.recall
