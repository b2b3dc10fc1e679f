"""What was trained, kept in the project: the runs and the current run's model.

A project file (:mod:`nncore.graph.io`, format version 3) may hold, beside its graph:

* ``"runs"``: a list of :class:`RunRecord` s (name, settings, per-epoch history, status,
  early stopping's epochs), in JSON;
* ``"trained"``: what the trained model needs to be used (:class:`SavedModel`): the data's
  shape, the label mapping (class names), the feature names, the column pipeline of a
  table (:meth:`nncore.tables.Pipeline.to_dict`), the epoch, the metrics, and two
  fingerprints: of the network (nodes, types, parameters, wires) and of the network with
  its settings and data (:func:`nncore.project.run_key`, ``portable``);
* ``"weights"``: the name of the sibling ``.npz`` that holds the arrays: the trainer's
  whole state (:meth:`nncore.training.Trainer.checkpoint_arrays`: weights, buffers such
  as BatchNorm's running statistics, the optimizer's and the schedule's state, the
  history, early stopping's state and the random generators, so that Train continues
  exactly), the standardization's ``preprocessing/mean`` and ``preprocessing/scale``, and
  each run's per-batch curves (``runs/<i>/step``, ``step_loss``, ``step_lr``).

Nothing is pickled; the weights file is read with ``allow_pickle=False`` after its size
and headers were checked (:func:`nncore.files.check_npz`). Reading never fails because of
the weights: :func:`load_project` gives the graph and the runs with a :attr:`ProjectFile.
problem` naming the weights file and what is wrong with it (missing, not an archive,
truncated, an array of the wrong shape, the weights of another network or of an earlier
save), and no model. The weights file carries the JSON's fingerprint and a digest of the
model's arrays, so a weights file that belongs to another project, another network or
another save is told, never loaded silently. Both files are written atomically, the
weights first.

Use a saved model::

    from nncore.project.saved import load_project
    pf = load_project("digits.json")          # pf.graph, pf.runs, pf.model, pf.problem
    probs = pf.model.predict(pf.graph, X_raw)  # (N, classes) float64, X as in the file
    pf.model.classes                           # the class names, column by column

and continue training: ``run = TrainingRun(pf.graph, base_dir=...)`` then
``pf.model.restore(run)``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from nncore import limits
from nncore.files import FileRefused, atomic_write, check_npz, regular_file, save_arrays
from nncore.graph.io import dumps, load_graph_file, to_dict
from nncore.graph.model import Graph
from nncore.graph.shapes import DataShape

__all__ = ["RunRecord", "SavedModel", "ProjectFile", "WeightsError", "save_project",
           "load_project", "network_fingerprint", "settings_fingerprint", "RUN_STATUSES"]

#: What a kept run's status can be (a run saved while it trained is kept as stopped).
RUN_STATUSES = ("finished", "stopped", "failed")
_SAVED = "__saved__"
_FORMAT = "nncanvas-weights"
_VERSION = 1
_CURVES = ("step", "step_loss", "step_lr")
_MEAN, _SCALE = "preprocessing/mean", "preprocessing/scale"


class WeightsError(ValueError):
    """A weights file cannot be used; the message names the file and what is wrong."""


# --------------------------------------------------------------------------- fingerprints

def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str)
                          .encode("utf-8")).hexdigest()


def network_fingerprint(graph: Graph) -> str:
    """SHA-256 of the network's structure: each node's id, type and parameters, and the
    wires (not positions, names or settings). Weights fit a network of this
    fingerprint."""
    data = to_dict(graph)
    nodes = sorted([n["id"], n["type"], n["params"]] for n in data["nodes"])
    edges = sorted([e["from"], e["to"]] for e in data["edges"])
    return _digest([nodes, edges])


def settings_fingerprint(graph: Graph, base_dir: str | os.PathLike | None = None) -> str:
    """SHA-256 of :func:`~nncore.project.run_key` (``portable``: without the data file's
    path, with its content): the network, its settings and its data. A saved model
    continues training (the optimizer's state, the history) only under the same one."""
    from nncore.project.project import run_key

    return hashlib.sha256(run_key(dumps(graph), base_dir, portable=True)
                          .encode("utf-8")).hexdigest()


def _arrays_digest(arrays: Mapping[str, np.ndarray], prefix: str = "model/") -> str:
    """SHA-256 of the named arrays under ``prefix`` (names, dtypes, shapes, bytes)."""
    h = hashlib.sha256()
    for name in sorted(k for k in arrays if k.startswith(prefix)):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


# --------------------------------------------------------------------------- runs

def _finite(value: Any) -> Any:
    """A history value for JSON: NaN and infinities as None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass
class RunRecord:
    """One training run as kept in a project file.

    Attributes:
        name: e.g. ``"Run 2: adam lr=0.001 · digits"``.
        settings: the dataset and training settings it used (``{"dataset": ..,
            "training": ..}``).
        history: one dict of metrics per epoch (``epoch``, ``loss``, ``val_loss``,
            ``accuracy``... as :meth:`nncore.training.Trainer.fit` gives them); a
            missing or non-finite value is NaN (written as null).
        status: one of :data:`RUN_STATUSES`.
        best_epoch, stopped_epoch: early stopping's (0: none).
        message: a failed run's error.
        trained: whether the saved model is this run's.
        curves: per-batch series (float64 arrays): ``step``, ``step_loss``,
            ``step_lr``; kept in the weights file (absent when it is missing).
    """

    name: str
    settings: dict[str, Any]
    history: list[dict[str, float]] = field(default_factory=list)
    status: str = "finished"
    best_epoch: int = 0
    stopped_epoch: int = 0
    message: str = ""
    trained: bool = False
    curves: dict[str, np.ndarray] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON of the run (curves not included: they go to the weights file)."""
        status = self.status if self.status in RUN_STATUSES else "stopped"
        return {"name": self.name, "status": status,
                "best_epoch": int(self.best_epoch), "stopped_epoch": int(self.stopped_epoch),
                "message": self.message, "trained": bool(self.trained),
                "settings": self.settings,
                "history": [{k: _finite(float(v)) if isinstance(v, (int, float, np.number))
                             and not isinstance(v, bool) else v for k, v in e.items()}
                            for e in self.history]}

    @classmethod
    def from_dict(cls, data: Any, where: str) -> RunRecord:
        """Read a run written by :meth:`to_dict`.

        Raises:
            ValueError: naming ``where`` and the field at fault.
        """
        if not isinstance(data, dict):
            raise ValueError(f"{where} is not an object")
        known = {"name", "status", "best_epoch", "stopped_epoch", "message", "trained",
                 "settings", "history"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{where}: unknown field {unknown[0]!r}")
        name, settings, history = data.get("name"), data.get("settings", {}), \
            data.get("history", [])
        if not isinstance(name, str) or not name:
            raise ValueError(f"{where}: 'name' must be a text")
        if not isinstance(settings, dict):
            raise ValueError(f"{where} ({name}): 'settings' must be an object")
        status = data.get("status", "finished")
        if status not in RUN_STATUSES:
            raise ValueError(f"{where} ({name}): 'status' must be one of "
                             f"{', '.join(RUN_STATUSES)}, got {status!r}")
        if not isinstance(history, list):
            raise ValueError(f"{where} ({name}): 'history' must be a list")
        epochs = []
        for i, e in enumerate(history, 1):
            if not isinstance(e, dict):
                raise ValueError(f"{where} ({name}): history entry {i} is not an object")
            row = {}
            for k, v in e.items():
                if v is None:
                    row[k] = math.nan
                elif isinstance(v, bool) or not isinstance(v, (int, float)):
                    raise ValueError(f"{where} ({name}): history entry {i}: {k!r} is "
                                     f"{v!r}, not a number")
                else:
                    row[k] = float(v)
            epochs.append(row)
        ints = {}
        for key in ("best_epoch", "stopped_epoch"):
            v = data.get(key, 0)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"{where} ({name}): {key!r} must be a whole number >= 0")
            ints[key] = v
        message = data.get("message", "")
        if not isinstance(message, str):
            raise ValueError(f"{where} ({name}): 'message' must be a text")
        return cls(name, settings, epochs, status, message=message,
                   trained=bool(data.get("trained", False)), **ints)


# --------------------------------------------------------------------------- the model

@dataclass
class SavedModel:
    """A trained model with everything needed to use it and to train it on.

    Attributes:
        state: the model's ``state_dict`` (parameters and buffers, by name).
        shape: the data's shape the network was compiled for.
        classes: class names (index i names output i), or None (regression).
        feature_names: one per feature column, as the data named them.
        mean, scale: the standardization (training rows' statistics, float64 of shape
            ``(features,)``), or None when the data was not standardized.
        pipeline: a table's fitted column pipeline
            (:meth:`nncore.tables.Pipeline.to_dict`), or None.
        epoch: epochs trained; metrics: the validation metrics of the saved weights
            (``val_loss``, ``val_accuracy`` or ``val_r2``...; else the last epoch's).
        network, key: :func:`network_fingerprint` and :func:`settings_fingerprint` of the
            graph it was trained as.
        run: the name of its run.
        checkpoint: (metadata, arrays) of the trainer's whole state
            (:meth:`nncore.training.Trainer.checkpoint_arrays`), or None for weights
            without it (written by ``nncore train --save-weights``).
    """

    state: dict[str, np.ndarray]
    shape: DataShape | None
    classes: list[str] | None = None
    feature_names: list[str] | None = None
    mean: np.ndarray | None = None
    scale: np.ndarray | None = None
    pipeline: dict[str, Any] | None = None
    epoch: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    network: str = ""
    key: str = ""
    run: str = ""
    checkpoint: tuple[dict[str, Any], dict[str, np.ndarray]] | None = None

    # ---------------------------------------------------------------- making one
    @classmethod
    def from_run(cls, run: Any, graph: Graph | None = None,
                 base_dir: str | os.PathLike | None = None, name: str = "") -> SavedModel:
        """The model of a :class:`~nncore.project.TrainingRun` as it is now.

        Args:
            run: the trained run.
            graph: the project's graph it belongs to (default: the run's own copy); its
                fingerprints are recorded.
            base_dir: the project's folder (for the data file's fingerprint).
            name: the run's name.
        """
        graph = run.graph if graph is None else graph
        arrays = run.trainer.checkpoint_arrays()
        meta = json.loads(str(arrays.pop("__meta__")[()]))
        if len(run.split.y_val):
            metrics = {f"val_{k}": float(v) for k, v in run.evaluate("val").items()}
        else:
            last = run.trainer.history[-1] if run.trainer.history else {}
            metrics = {k: float(v) for k, v in last.items() if k not in ("epoch", "time")}
        pipeline = run.data.pipeline.to_dict() if run.data.pipeline is not None else None
        return cls(state={k: np.array(v) for k, v in run.model.state_dict().items()},
                   shape=run.shape,
                   classes=list(run.data.classes) if run.data.classes is not None else None,
                   feature_names=list(run.data.feature_names),
                   mean=None if run.split.mean is None else np.array(run.split.mean),
                   scale=None if run.split.scale is None else np.array(run.split.scale),
                   pipeline=pipeline, epoch=len(run.trainer.history), metrics=metrics,
                   network=network_fingerprint(graph),
                   key=settings_fingerprint(graph, base_dir), run=name,
                   checkpoint=(meta, arrays))

    # ---------------------------------------------------------------- using it
    @property
    def task(self) -> str:
        return self.shape.task if self.shape is not None else (
            "classification" if self.classes else "regression")

    def compiled(self, graph: Graph) -> Any:
        """The network of ``graph`` compiled for :attr:`shape` with these weights, in
        evaluation mode (BatchNorm uses its running statistics, Dropout passes).

        Raises:
            WeightsError: without a saved shape (weights of ``--save-weights``), or for
                weights that do not fit the network (naming the entry).
            GraphError: for a graph that cannot be compiled.
        """
        from nncore.graph.compile import compile_graph

        if self.shape is None:
            raise WeightsError("these weights were saved without their data's shape and "
                               "preprocessing (nncore train --save-weights): train and save "
                               "the project again (nncore train PROJECT.json --save OUT.json)")
        model = compile_graph(graph, self.shape, np.random.default_rng(0))
        _check_state(model.state_dict(), self.state, "the saved weights")
        model.load_state_dict(self.state)
        model.eval()
        return model

    def standardize(self, X: np.ndarray) -> np.ndarray:
        """``X`` (features as the data gave them, float32 of shape ``(N, features)``)
        standardized as in training: ``(X - mean) / scale`` in X's dtype
        (:meth:`nncore.data.Split.transform`); unchanged without a standardization."""
        from nncore.data import _apply_standard

        X = np.asarray(X)
        if self.mean is None or self.scale is None:
            return X
        return _apply_standard(X, self.mean, self.scale)

    def outputs(self, graph: Graph, X: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """The network's output (``forward``: scores of a classifier, values of a
        regression, as the trainer's metrics see them) for raw features ``X``
        (standardized here), in evaluation mode, ``batch_size`` rows at a time.

        Raises:
            ValueError: for X of another feature count (naming both), as
                :meth:`compiled`.
        """
        return self._run(self.compiled(graph), self._checked(X), batch_size)

    def _checked(self, X: Any) -> np.ndarray:
        """X as float32, refused with a message unless its rows have the features'
        shape."""
        X = np.ascontiguousarray(X, dtype=np.float32)  # one layout: one BLAS path
        want = self.shape.features if self.shape is not None else None
        if want is not None and (X.ndim != 1 + len(want) or tuple(X.shape[1:]) != want):
            names = ""
            if self.feature_names:
                shown = ", ".join(self.feature_names[:5])
                names = f" ({shown}{', ...' if len(self.feature_names) > 5 else ''})"
            raise ValueError(f"the model needs {want[0] if len(want) == 1 else want} "
                             f"features per row{names}, got rows of "
                             f"{X.shape[1] if X.ndim == 2 else X.shape[1:]}")
        return X

    def _run(self, model: Any, X: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        from nncore.tensor import Tensor, no_grad

        X = self.standardize(X)
        parts = []
        with no_grad():
            for start in range(0, len(X), batch_size):
                out = model(Tensor(X[start:start + batch_size])).data
                parts.append(model.predictions(out))
        if not parts:
            width = self.shape.classes if self.task == "classification" else \
                self.shape.targets
            return np.zeros((0, max(width, 1)), np.float32)
        return np.concatenate(parts)

    def predict(self, graph: Graph, X: np.ndarray) -> np.ndarray:
        """Class probabilities ``(N, classes)`` (float64, columns in :attr:`classes`'
        order) of a classifier, or the predicted values ``(N, targets)`` of a
        regression, for raw features ``X`` (see :meth:`outputs`)."""
        X = self._checked(X)
        model = self.compiled(graph)
        out = self._run(model, X)
        if self.task != "classification":
            return out
        return model.probabilities(out) if len(out) else out.astype(np.float64)

    def features_of_table(self, frame: Any, table: Any = None) -> np.ndarray:
        """The features of a table's rows (a ``pandas.DataFrame``): through the saved
        column pipeline when the model has one, else the columns named as the features
        (:attr:`feature_names`; a table without those names must have exactly as many
        number columns, taken in order).

        Raises:
            ValueError: naming the missing or extra columns, or a value that is not a
                number.
        """
        if self.pipeline is not None:
            from nncore.tables import Pipeline

            pipeline = Pipeline.from_dict(self.pipeline)
            missing = [c for c in pipeline.features if c not in frame.columns]
            if missing:
                raise ValueError(f"the table lacks the column{'s' if len(missing) > 1 else ''} "
                                 f"{', '.join(map(repr, missing))} the model was trained on "
                                 f"(it uses {', '.join(map(repr, pipeline.features))})")
            return pipeline.apply(frame, table)
        names = list(self.feature_names or [])
        columns = [str(c) for c in frame.columns]
        if names and all(n in columns for n in names):
            sub = frame[names]
        else:
            n = self.shape.features[0] if self.shape is not None else len(names)
            extra = [c for c in columns if c not in names]
            if len(columns) != n:
                lacking = [c for c in names if c not in columns]
                detail = (f"; missing {', '.join(map(repr, lacking[:5]))}"
                          f"{', ...' if len(lacking) > 5 else ''}" if lacking and len(
                              lacking) < len(names) else "")
                raise ValueError(f"the table has {len(columns)} column"
                                 f"{'s' if len(columns) != 1 else ''}, the model needs "
                                 f"{n} features ({', '.join(names[:5])}"
                                 f"{', ...' if len(names) > 5 else ''}){detail}"
                                 + (f"; not features: {', '.join(map(repr, extra[:5]))}"
                                    if extra and len(extra) < len(columns) else ""))
            sub = frame
        try:
            return sub.to_numpy(dtype=np.float32)
        except (TypeError, ValueError):
            for c in sub.columns:
                try:
                    sub[c].to_numpy(dtype=np.float64)
                except (TypeError, ValueError):
                    raise ValueError(f"column {c!r} holds values that are not numbers") \
                        from None
            raise

    # ---------------------------------------------------------------- training on
    def restore(self, run: Any, graph: Graph | None = None,
                base_dir: str | os.PathLike | None = None) -> bool:
        """Put these weights into ``run`` (a :class:`~nncore.project.TrainingRun` built
        from the project). When the run's network, settings and data are those the
        model was saved with (:func:`settings_fingerprint` of ``graph``, default the
        run's) and the trainer's whole state was saved, everything is restored
        (optimizer, schedule, history, early stopping, random generators): training
        goes on exactly as if never interrupted; returns True. Otherwise the weights
        and buffers, with the history and the step count when they were saved (the
        epochs count on; the optimizer starts afresh): False.

        Raises:
            WeightsError: for weights that do not fit the run's network (naming the
                entry) or a trainer state that does not fit; nothing changes then.
        """
        from nncore.training.checkpoint import CheckpointError

        graph = run.graph if graph is None else graph
        _check_state(run.model.state_dict(), self.state, "the saved weights")
        if self.checkpoint is not None and self.key == settings_fingerprint(graph, base_dir):
            meta, arrays = self.checkpoint
            meta = _matched_callbacks(meta, run.trainer.callbacks)
            try:
                run.trainer.load_checkpoint_arrays(meta, arrays, "the saved trainer state")
                return True
            except CheckpointError:
                pass  # e.g. callbacks of another kind: the weights alone, below
        run.model.load_state_dict(self.state)
        if self.checkpoint is not None:
            from nncore.training.checkpoint import _Unpacker

            meta, arrays = self.checkpoint
            try:
                trainer = meta["trainer"]
                history = _Unpacker(arrays, "the saved trainer state").unpack(
                    trainer["history"], "history")
                if isinstance(history, list) and all(isinstance(h, dict) for h in history):
                    run.trainer.history = [dict(h) for h in history]
                    run.trainer.global_step = int(trainer["global_step"])
            except (KeyError, TypeError, ValueError):
                pass  # the weights alone
        return False

    # ---------------------------------------------------------------- the file
    def meta(self) -> dict[str, Any]:
        """The JSON of ``"trained"``."""
        s = self.shape
        return {"run": self.run, "epoch": int(self.epoch),
                "metrics": {k: _finite(float(v)) for k, v in self.metrics.items()},
                "task": s.task, "features": list(s.features), "classes": self.classes,
                "outputs": s.classes if s.task == "classification" else s.targets,
                "source": s.source, "feature_names": self.feature_names,
                "standardized": self.mean is not None, "pipeline": self.pipeline,
                "network": self.network, "fingerprint": self.key,
                "digest": _arrays_digest({f"model/{k}": v for k, v in self.state.items()})}

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays of the weights file (with the checkpoint's ``__meta__``)."""
        arrays: dict[str, np.ndarray] = {}
        if self.checkpoint is not None:
            meta, packed = self.checkpoint
            arrays.update(packed)
            arrays["__meta__"] = np.array(json.dumps(meta, allow_nan=False))
        else:
            arrays.update({f"model/{k}": v for k, v in self.state.items()})
        if self.mean is not None:
            arrays[_MEAN], arrays[_SCALE] = self.mean, self.scale
        return arrays


def _check_state(current: Mapping[str, Any], saved: Mapping[str, Any], what: str) -> None:
    """Raise WeightsError unless ``saved`` has exactly ``current``'s entries and shapes."""
    missing = [k for k in current if k not in saved]
    extra = [k for k in saved if k not in current]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"lack {', '.join(map(repr, missing[:4]))}"
                         + (", ..." if len(missing) > 4 else ""))
        if extra:
            parts.append(f"have {', '.join(map(repr, extra[:4]))}"
                         + (", ..." if len(extra) > 4 else "") + " that the network has not")
        raise WeightsError(f"{what} do not fit the network: they {' and '.join(parts)}")
    for k, v in current.items():
        if np.shape(saved[k]) != np.shape(v):
            raise WeightsError(f"{what} do not fit the network: {k!r} has shape "
                               f"{np.shape(saved[k])} in the file, the network needs "
                               f"{np.shape(v)}")
        if np.asarray(saved[k]).dtype.kind not in "fiub":
            raise WeightsError(f"{what}: {k!r} holds {np.asarray(saved[k]).dtype} values")


def _matched_callbacks(meta: dict[str, Any], callbacks: Sequence[Any]) -> dict[str, Any]:
    """The checkpoint's callback states renumbered to the positions of ``callbacks``
    that keep state, in order (the command line puts its progress printer first, the
    window its recorder: early stopping is at another index)."""
    stateful = [i for i, cb in enumerate(callbacks) if cb.state_dict() is not None]
    saved = sorted(meta.get("callbacks", []), key=lambda e: int(e.get("index", 0)))
    if len(saved) != len(stateful):
        return meta
    renumbered = [{**e, "index": i} for e, i in zip(saved, stateful)]
    return {**meta, "callbacks": renumbered}


# --------------------------------------------------------------------------- project files

@dataclass
class ProjectFile:
    """A project file as read by :func:`load_project`.

    Attributes:
        graph: the network with its settings.
        runs: the kept runs, oldest first.
        model: the trained model, or None (none saved, or :attr:`problem`).
        problem: why the saved weights could not be used (naming the file and what is
            wrong), or None. The graph and the runs are there all the same.
        weights_path: the weights file the project names, or None.
    """

    graph: Graph
    runs: list[RunRecord] = field(default_factory=list)
    model: SavedModel | None = None
    problem: str | None = None
    weights_path: Path | None = None

    @property
    def trained_run(self) -> int | None:
        """The index in :attr:`runs` of the run the model is of, or None."""
        if self.model is None:
            return None
        return next((i for i, r in enumerate(self.runs) if r.trained), None)


def save_project(path: str | os.PathLike, graph: Graph, runs: Iterable[RunRecord] = (),
                 model: SavedModel | None = None) -> Path | None:
    """Save ``graph`` to ``path`` with its runs and trained model: the weights and the
    per-batch curves to the sibling ``.npz`` (written first, atomically), then the JSON
    (atomically; version 3 when it holds runs or a model, else a plain graph file as
    :func:`nncore.graph.save_graph` writes). Returns the weights file, or None when
    there was nothing to put in one.

    Raises:
        OSError: for a write failure (the old files stay as they were).
        ValueError: for settings that cannot be written as JSON.
    """
    path = Path(path)
    runs = list(runs)
    saved: dict[str, Any] = {}
    if runs:
        saved["runs"] = [r.to_dict() for r in runs]
    if model is not None:
        saved["trained"] = model.meta()
    arrays: dict[str, np.ndarray] = {}
    if model is not None:
        arrays.update(model.arrays())
    for i, r in enumerate(runs):
        for name in _CURVES:
            values = r.curves.get(name)
            if values is not None and len(values):
                arrays[f"runs/{i}/{name}"] = np.asarray(values, dtype=np.float64)
    weights = None
    if arrays:
        weights = path.with_suffix(".npz")
        arrays[_SAVED] = np.array(json.dumps({
            "format": _FORMAT, "version": _VERSION,
            "network": model.network if model else None,
            "fingerprint": model.key if model else None,
            "runs": len(runs)}))
        text = dumps(graph, weights.name, saved)  # checked before anything is written
        save_arrays(weights, arrays)
    else:
        text = dumps(graph, None, saved)
    atomic_write(path, text)
    return weights


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of a weights file, checked before reading; never unpickles.

    Raises:
        WeightsError: naming the file and what is wrong.
    """
    try:
        regular_file(path, "the weights file", limits.MAX_NPZ_BYTES)
        check_npz(path, "the weights file", limits.MAX_NPZ_BYTES, limits.MAX_ARRAY_VALUES)
    except FileNotFoundError:
        raise WeightsError(f"{path}: the weights file is missing") from None
    except (FileRefused, OSError) as e:
        raise WeightsError(str(e)) from None
    try:
        loaded = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
        raise WeightsError(f"{path}: not a valid weights file (not a readable .npz "
                           f"archive: {e})") from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise WeightsError(f"{path}: not a valid weights file (a single array, not an .npz "
                           "archive)")
    arrays = {}
    try:
        with loaded:
            for name in loaded.files:
                arrays[name] = loaded[name]
    except Exception as e:  # noqa: BLE001 - a truncated or corrupt member, however it fails
        raise WeightsError(f"{path}: the weights file is damaged (entry {name!r} cannot "
                           f"be read: {type(e).__name__}: {e}); is it truncated?") from None
    return arrays


def _meta_of(arrays: dict[str, np.ndarray], key: str, path: Path) -> dict[str, Any]:
    raw = arrays.pop(key, None)
    if raw is None:
        return {}
    if raw.ndim != 0 or raw.dtype.kind != "U":
        raise WeightsError(f"{path}: entry {key!r} is not a text")
    try:
        value = json.loads(str(raw[()]))
    except json.JSONDecodeError as e:
        raise WeightsError(f"{path}: entry {key!r} is not valid JSON ({e})") from None
    if not isinstance(value, dict):
        raise WeightsError(f"{path}: entry {key!r} is not an object")
    return value


def _shape_of(meta: dict[str, Any]) -> DataShape:
    task = meta.get("task")
    outputs = meta.get("outputs")
    if isinstance(outputs, bool) or not isinstance(outputs, int):
        raise ValueError(f"'outputs' must be a whole number, got {outputs!r}")
    features = meta.get("features")
    if not isinstance(features, list) or not all(isinstance(d, int) and not isinstance(
            d, bool) for d in features):
        raise ValueError(f"'features' must be a list of sizes, got {features!r}")
    return DataShape(tuple(features), task, classes=outputs if task == "classification" else 0,
                     targets=outputs if task == "regression" else 0,
                     source=str(meta.get("source") or ""))


def _model_of(graph: Graph, meta: dict[str, Any], arrays: dict[str, np.ndarray],
              path: Path) -> SavedModel:
    """The saved model from the JSON's ``trained`` and the weights file's arrays.

    Raises:
        WeightsError: naming the file and what is wrong.
    """
    from nncore.training.checkpoint import _Unpacker

    saved = _meta_of(arrays, _SAVED, path)
    if saved and saved.get("format") != _FORMAT:
        raise WeightsError(f"{path}: not an NN Canvas weights file")
    if isinstance(saved.get("version"), int) and saved["version"] > _VERSION:
        raise WeightsError(f"{path}: written by a newer NN Canvas (weights format "
                           f"{saved['version']}); please update")
    checkpoint_meta = _meta_of(arrays, "__meta__", path)
    mean, scale = arrays.pop(_MEAN, None), arrays.pop(_SCALE, None)
    for name in [k for k in arrays if k.startswith("runs/")]:
        arrays.pop(name)
    if not meta:
        if checkpoint_meta or saved:
            raise WeightsError(f"{path}: the project file does not describe these weights "
                               "(no 'trained' entry)")
        # a plain state_dict (nncore train --save-weights, save_graph(weights=...))
        for k, v in arrays.items():
            if v.dtype.kind not in "fiub":
                raise WeightsError(f"{path}: entry {k!r} holds {v.dtype} values")
        return SavedModel(state=dict(arrays), shape=None)
    if not isinstance(meta, dict):
        raise WeightsError(f"{path}: the project's 'trained' entry is not an object")
    if saved.get("network") != meta.get("network") or \
            saved.get("fingerprint") != meta.get("fingerprint"):
        raise WeightsError(f"{path}: these are the weights of another network (or of another "
                           "save of this one): they do not belong to this project file")
    if meta.get("network") != network_fingerprint(graph):
        raise WeightsError(f"{path}: the weights were saved for another version of this "
                           "network (its nodes, their parameters or its wires changed since): "
                           "train it again")
    try:
        shape = _shape_of(meta)
    except (ValueError, TypeError) as e:
        raise WeightsError(f"{path}: the project's 'trained' entry: {e}") from None
    if checkpoint_meta:
        try:
            state = _Unpacker(arrays, str(path)).unpack(checkpoint_meta.get("model"), "model")
        except ValueError as e:
            raise WeightsError(str(e)) from None
        if not isinstance(state, dict):
            raise WeightsError(f"{path}: the model's state is not a set of named arrays")
        checkpoint: tuple[dict[str, Any], dict[str, np.ndarray]] | None = \
            (checkpoint_meta, arrays)
    else:
        state = {k[len("model/"):]: v for k, v in arrays.items() if k.startswith("model/")}
        checkpoint = None
    classes = meta.get("classes")
    if classes is not None and (not isinstance(classes, list) or len(classes) != (
            shape.classes if shape.task == "classification" else -1)):
        raise WeightsError(f"{path}: the project's class names do not match the model's "
                           f"{shape.classes} outputs")
    if (mean is None) != (scale is None) or (mean is not None and (
            mean.shape != (shape.n_features,) or scale.shape != mean.shape)):
        raise WeightsError(f"{path}: the standardization statistics have shape "
                           f"{None if mean is None else mean.shape}, the model has "
                           f"{shape.n_features} features")
    if bool(meta.get("standardized")) != (mean is not None):
        raise WeightsError(f"{path}: the standardization statistics are "
                           f"{'missing' if mean is None else 'unexpected'}")
    metrics = {k: (math.nan if v is None else float(v))
               for k, v in (meta.get("metrics") or {}).items()
               if v is None or isinstance(v, (int, float))}
    model = SavedModel(state=dict(state), shape=shape,
                       classes=[str(c) for c in classes] if classes is not None else None,
                       feature_names=meta.get("feature_names"),
                       mean=None if mean is None else mean.astype(np.float64),
                       scale=None if scale is None else scale.astype(np.float64),
                       pipeline=meta.get("pipeline"), epoch=int(meta.get("epoch") or 0),
                       metrics=metrics, network=str(meta.get("network")),
                       key=str(meta.get("fingerprint")), run=str(meta.get("run") or ""),
                       checkpoint=checkpoint)
    try:  # the arrays fit the network as it is in the file
        from nncore.graph.compile import compile_graph

        current = compile_graph(graph, shape, np.random.default_rng(0)).state_dict()
    except (ValueError, TypeError) as e:
        raise WeightsError(f"{path}: the network cannot be built for the saved data's shape "
                           f"({e})") from None
    try:
        _check_state(current, state, "the saved weights")
    except WeightsError as e:
        raise WeightsError(f"{path}: {e}") from None
    digest = _arrays_digest({f"model/{k}": np.asarray(v) for k, v in state.items()})
    if meta.get("digest") is not None and meta.get("digest") != digest:
        raise WeightsError(f"{path}: the weights differ from those this project file was "
                           "saved with (the file was changed or replaced since)")
    return model


def load_project(path: str | os.PathLike) -> ProjectFile:
    """Read a project file with its runs and trained model.

    The graph is read as :func:`nncore.graph.load_graph` reads it (and raises as it
    does). The runs and the model never stop it: what cannot be used is said in
    :attr:`ProjectFile.problem` and left out (a project written before version 3 opens
    as before: no runs, no model; one naming weights written by ``--save-weights`` gets
    a model without preprocessing).

    Raises:
        GraphFileError: for a file that is not a readable graph.
    """
    path = Path(path)
    graph, data = load_graph_file(path)
    result = ProjectFile(graph)
    problems: list[str] = []
    runs_data = data.get("runs", [])
    if not isinstance(runs_data, list):
        problems.append(f"{path}: 'runs' is not a list: the runs were left out")
        runs_data = []
    for i, item in enumerate(runs_data, 1):
        try:
            result.runs.append(RunRecord.from_dict(item, f"run {i}"))
        except ValueError as e:
            problems.append(f"{path}: {e}: that run was left out")
    name = data.get("weights")
    if name:
        if not isinstance(name, str) or Path(name).name != name or name in (".", ".."):
            problems.append(f"{path}: 'weights' must be the name of a file beside it, got "
                            f"{name!r}")
        else:
            result.weights_path = weights = path.parent / name
            try:
                arrays = _read_npz(weights)
                curves = {k: v for k, v in arrays.items() if k.startswith("runs/")}
                for i, run in enumerate(result.runs):
                    for c in _CURVES:
                        v = curves.get(f"runs/{i}/{c}")
                        if v is not None and v.ndim == 1 and v.dtype.kind in "fiu":
                            run.curves[c] = v.astype(np.float64)
                trained = data.get("trained")
                if trained is not None or any(not k.startswith("runs/") and k != _SAVED
                                              for k in arrays):
                    result.model = _model_of(graph, trained or {}, arrays, weights)
            except WeightsError as e:
                problems.append(f"{e}; the project opened without its trained model")
    elif data.get("trained") is not None:
        problems.append(f"{path}: it describes a trained model but names no weights file")
    if result.model is None:
        for r in result.runs:
            r.trained = False
    result.problem = "; ".join(problems) or None
    return result

