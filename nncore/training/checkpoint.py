"""Checkpoints: a trainer's whole state (weights, buffers, optimizer and scheduler state,
history, callbacks, random generators) in one ``.npz`` file, without pickle, and read
back exactly (:class:`Checkpoints`, mixed into the Trainer)."""

from __future__ import annotations

import json
import math
import os
import zipfile
import zlib
from typing import Any, Callable, Mapping

import numpy as np

from nncore import limits
from nncore.files import FileRefused, check_npz, regular_file, save_arrays
from nncore.random import default_generator
from nncore.tensor import Tensor
from nncore.training.callbacks import Callback

__all__ = ["CHECKPOINT_VERSION", "CheckpointError", "Checkpoints", "checkpoint_info",
           "read_checkpoint"]

#: Format version written into checkpoints; loading refuses newer versions.
CHECKPOINT_VERSION = 1
_CHECKPOINT_FORMAT = "nncore-checkpoint"
_META = "__meta__"


class CheckpointError(ValueError):
    """A checkpoint file cannot be written or read: not a checkpoint, corrupt, of a
    newer format, or not matching the trainer (the message names the entry)."""


class Checkpoints:
    """Saving and loading of a :class:`~nncore.training.Trainer`'s state (a mix-in)."""

    # ------------------------------------------------------------------ checkpoints
    def _named_generators(self) -> dict[str, np.random.Generator]:
        """Every random generator training draws from, by name: ``"trainer"``
        (shuffling), ``"default"`` (the engine's, used by modules given none) and
        ``"model.<module path>.<attribute>"`` for each Generator a module holds (e.g.
        a Dropout's ``generator``). One object may appear under several names."""
        gens = {"trainer": self.generator, "default": default_generator()}
        for path, module in self.model.named_modules():
            for attr, value in vars(module).items():
                if isinstance(value, np.random.Generator):
                    gens[f"model.{path}.{attr}" if path else f"model.{attr}"] = value
        return gens

    def save_checkpoint(self, path: str | os.PathLike) -> None:
        """Save everything needed to resume training exactly, in one ``.npz`` file.

        Contents: the model's ``state_dict`` (parameters and buffers), the optimizer's
        ``state_dict`` (its nested state flattened into named arrays plus JSON), the
        scheduler's state, the history, the global step, the histogram edges, the state
        of every callback that has one (:class:`EarlyStopping`: best value, epoch and
        weights), and the state of every random generator (see
        :meth:`load_checkpoint`). The JSON part is stored as a 0-d unicode array
        ``__meta__`` with a format version; no object is pickled.

        Written atomically: to a temporary file in the same folder, then renamed over
        ``path`` (an existing checkpoint is never left half-written). The name is used
        as given (no ``.npz`` is appended).

        Save between epochs (after ``fit`` or from ``on_epoch_end``) for an exact
        resumption. A checkpoint saved mid-epoch (e.g. while paused) keeps the weights
        of that moment, but resumed training starts a new epoch.
        Call it from the training thread, or while training is paused or not running.

        Raises:
            CheckpointError: if some state cannot be stored (naming it).
            OSError: if the file cannot be written.
        """
        save_arrays(os.fspath(path), self.checkpoint_arrays())

    def checkpoint_arrays(self) -> dict[str, np.ndarray]:
        """What :meth:`save_checkpoint` writes, as named arrays (the JSON part under
        ``__meta__``): for a caller that stores them with arrays of its own in one file
        (:mod:`nncore.project.saved`).

        Raises:
            CheckpointError: if some state cannot be stored (naming it).
        """
        packer = _Packer()
        opt, sched = self.optimizer, self.scheduler
        meta: dict[str, Any] = {
            "format": _CHECKPOINT_FORMAT,
            "version": CHECKPOINT_VERSION,
            "model": packer.pack(dict(self.model.state_dict()), "model"),
            "optimizer": {"type": type(opt).__name__,
                          "state": packer.pack(opt.state_dict(), "optimizer")},
            "scheduler": None if sched is None else {
                "type": type(sched).__name__,
                "state": packer.pack(sched.state_dict(), "scheduler")},
            "trainer": {
                "epochs": len(self.history),
                "global_step": int(self.global_step),
                "reference_loss": self.reference_loss,
                "batch_size": self.batch_size,
                "classification": bool(self.classification),
                "history": packer.pack(self.history, "history"),
                "histogram_edges": [[kind, name, packer.pack(e, f"edges/{kind}/{name}")]
                                    for (kind, name), e in self._edges.items()],
            },
            "callbacks": [],
            "generators": {},
        }
        for i, cb in enumerate(self.callbacks):
            state = cb.state_dict()
            if state is not None:
                meta["callbacks"].append({"index": i, "type": type(cb).__name__,
                                          "state": packer.pack(state, f"callbacks/{i}")})
        first_name: dict[int, str] = {}
        for name, g in self._named_generators().items():
            if id(g) in first_name:
                meta["generators"][name] = {"same_as": first_name[id(g)]}
            else:
                first_name[id(g)] = name
                meta["generators"][name] = {
                    "bit_generator": type(g.bit_generator).__name__,
                    "state": packer.pack(g.bit_generator.state, f"generators/{name}")}
        packer.arrays[_META] = np.array(json.dumps(meta, allow_nan=False))
        return packer.arrays

    def load_checkpoint(self, path: str | os.PathLike) -> None:
        """Resume from a checkpoint written by :meth:`save_checkpoint`.

        Build the trainer first as the saved one was built (same model structure,
        optimizer type and parameter groups, scheduler type, callbacks with state at
        the same positions), then load: the model's parameters and buffers, the
        optimizer's and scheduler's state, the history (so ``fit`` numbers epochs on),
        the global step, histogram edges, callback states (the next ``fit`` continues
        :class:`EarlyStopping`'s run) and the random generators' states — the trainer's,
        the engine's default generator (which modules given no generator, e.g. a
        ``Dropout(generator=None)``, draw from; loading sets it, a process-wide effect)
        and every generator a module holds. Training on from here gives bit-identical
        weights and history (except ``time``) to a run that was never interrupted.
        :attr:`epoch_records` are not saved; loading clears them.

        Nothing changes unless everything fits.

        Raises:
            FileNotFoundError: if ``path`` does not exist.
            CheckpointError: if the file is not a checkpoint, is corrupt or of a newer
                format, or does not match this trainer; the message names the entry
                (e.g. ``model entry '1.weight' has shape (8, 3) in the checkpoint but
                (8, 4) in the model``).
        """
        path = os.fspath(path)
        meta, arrays = _read_checkpoint(path)
        self.load_checkpoint_arrays(meta, arrays, path)

    def load_checkpoint_arrays(self, meta: dict[str, Any], arrays: Mapping[str, np.ndarray],
                               path: str) -> None:
        """:meth:`load_checkpoint` from what :func:`read_checkpoint` read (``path``
        names it in messages). Raises CheckpointError as :meth:`load_checkpoint`."""
        try:
            self._load_checkpoint(path, meta, dict(arrays))
        except CheckpointError:
            raise
        except (KeyError, TypeError, AttributeError, IndexError, ValueError, OverflowError) as e:
            # a well-formed file whose metadata has another structure (checked before
            # anything was changed; failures while applying are CheckpointErrors)
            raise CheckpointError(f"checkpoint {path!r} is malformed: {type(e).__name__}: "
                                  f"{e}") from e

    def _load_checkpoint(self, path: str, meta: dict[str, Any],
                         arrays: dict[str, np.ndarray]) -> None:
        unpacker = _Unpacker(arrays, path)

        def section(name: str) -> Any:
            if name not in meta:
                raise CheckpointError(f"checkpoint {path!r} has no {name!r} section")
            return meta[name]

        model_state = unpacker.unpack(section("model"), "model")
        opt_meta, sched_meta = section("optimizer"), section("scheduler")
        trainer_meta, cb_meta, gen_meta = (section("trainer"), section("callbacks"),
                                           section("generators"))
        if not isinstance(model_state, dict):
            raise CheckpointError(f"checkpoint {path!r}: the model state is not a mapping")
        # ---- check everything that can be checked before changing anything
        current = dict(self.model.state_dict())
        missing = [k for k in current if k not in model_state]
        unexpected = [k for k in model_state if k not in current]
        if missing or unexpected:
            raise CheckpointError(f"checkpoint {path!r} does not match the model: missing "
                                  f"entries {missing}, unexpected entries {unexpected}")
        for k, v in model_state.items():
            if np.shape(v) != current[k].shape:
                raise CheckpointError(f"checkpoint {path!r}: model entry {k!r} has shape "
                                      f"{np.shape(v)} in the checkpoint but "
                                      f"{current[k].shape} in the model")
        opt_type = type(self.optimizer).__name__
        if opt_meta.get("type") != opt_type:
            raise CheckpointError(f"checkpoint {path!r} holds the state of a "
                                  f"{opt_meta.get('type')} optimizer, this trainer's is "
                                  f"{opt_type}")
        opt_state = unpacker.unpack(opt_meta.get("state"), "optimizer")
        sched_state = None
        if (sched_meta is None) != (self.scheduler is None):
            raise CheckpointError(
                f"checkpoint {path!r} was saved "
                f"{'without' if sched_meta is None else 'with a ' + str(sched_meta.get('type'))}"
                f" scheduler, this trainer has "
                f"{'none' if self.scheduler is None else type(self.scheduler).__name__}")
        if sched_meta is not None:
            if sched_meta.get("type") != type(self.scheduler).__name__:
                raise CheckpointError(f"checkpoint {path!r} holds the state of a "
                                      f"{sched_meta.get('type')} scheduler, this trainer's "
                                      f"is {type(self.scheduler).__name__}")
            sched_state = unpacker.unpack(sched_meta.get("state"), "scheduler")
        cb_states: list[tuple[Callback, Any]] = []
        saved_cbs = {int(e["index"]): e for e in cb_meta}
        for i, cb in enumerate(self.callbacks):
            entry = saved_cbs.pop(i, None)
            has_state = cb.state_dict() is not None
            if entry is None:
                if has_state:
                    raise CheckpointError(f"checkpoint {path!r} has no state for callback "
                                          f"{i} ({type(cb).__name__})")
                continue
            if entry.get("type") != type(cb).__name__:
                raise CheckpointError(f"checkpoint {path!r}: callback {i} was a "
                                      f"{entry.get('type')}, here it is a "
                                      f"{type(cb).__name__}")
            cb_states.append((cb, unpacker.unpack(entry.get("state"), f"callbacks/{i}")))
        if saved_cbs:
            extra = ", ".join(f"{i} ({e.get('type')})" for i, e in sorted(saved_cbs.items()))
            raise CheckpointError(f"checkpoint {path!r} has state for callback(s) {extra} "
                                  "that this trainer does not have")
        gen_states = self._resolve_generator_states(gen_meta, unpacker, path)
        history = unpacker.unpack(trainer_meta.get("history", []), "history")
        if not isinstance(history, list) or not all(isinstance(h, dict) for h in history):
            raise CheckpointError(f"checkpoint {path!r}: the history is not a list of dicts")
        edges = {}
        for kind, name, packed in trainer_meta.get("histogram_edges", []):
            edges[(kind, name)] = np.asarray(unpacker.unpack(packed, "edges"), np.float64)
        global_step = int(trainer_meta.get("global_step", 0))
        reference = trainer_meta.get("reference_loss")
        if reference is not None and not isinstance(reference, (int, float)):
            raise CheckpointError(f"checkpoint {path!r}: reference_loss is {reference!r}, "
                                  "not a number")

        # ---- apply, undoing everything if a step fails
        undo: list[Callable[[], None]] = []
        try:
            old_model = self.model.state_dict()
            _wrap(lambda: self.model.load_state_dict(model_state), path, "model")
            undo.append(lambda: self.model.load_state_dict(old_model))
            old_opt = self.optimizer.state_dict()
            _wrap(lambda: self.optimizer.load_state_dict(opt_state), path, "optimizer")
            undo.append(lambda: self.optimizer.load_state_dict(old_opt))
            if self.scheduler is not None:
                old_sched = self.scheduler.state_dict()
                _wrap(lambda: self.scheduler.load_state_dict(sched_state), path, "scheduler")
                undo.append(lambda: self.scheduler.load_state_dict(old_sched))
            for cb, state in cb_states:
                old_cb = (cb.state_dict(), getattr(cb, "_continue", None))

                def restore(cb: Callback = cb, old: tuple = old_cb) -> None:
                    cb.load_state_dict(old[0])
                    if old[1] is not None:
                        cb._continue = old[1]  # type: ignore[attr-defined]
                _wrap(lambda: cb.load_state_dict(state), path,  # noqa: B023 - called at once
                      f"callback {self.callbacks.index(cb)} ({type(cb).__name__})")
                undo.append(restore)
            for g, state in gen_states:
                old_g = g.bit_generator.state
                _wrap(lambda: setattr(g.bit_generator, "state", state), path,  # noqa: B023
                      "random generator")
                undo.append(lambda g=g, old_g=old_g: setattr(g.bit_generator, "state", old_g))
        except BaseException:
            for step in reversed(undo):
                step()
            raise
        self.history = history
        self.global_step = global_step
        self.reference_loss = None if reference is None else float(reference)
        self.divergence = None
        self._edges = edges
        self.epoch_records = []
        self.confusion_matrix = self.per_class_accuracy = None
        self.last_step = None

    def _resolve_generator_states(self, gen_meta: Mapping[str, Any], unpacker: "_Unpacker",
                                  path: str) -> list[tuple[np.random.Generator, Any]]:
        current = self._named_generators()
        missing = [n for n in gen_meta if n not in current]
        extra = [n for n in current if n not in gen_meta]
        if missing or extra:
            raise CheckpointError(f"checkpoint {path!r} has random generators {sorted(gen_meta)},"
                                  f" this trainer has {sorted(current)} (missing here: "
                                  f"{missing}, not in the checkpoint: {extra})")
        states: dict[str, Any] = {}
        for name, entry in gen_meta.items():
            seen = set()
            while "same_as" in entry:
                ref = entry["same_as"]
                if ref in seen or ref not in gen_meta:
                    raise CheckpointError(f"checkpoint {path!r}: random generator {name!r} "
                                          f"refers to {ref!r}, which is not there")
                seen.add(ref)
                entry = gen_meta[ref]
            bit = entry.get("bit_generator")
            g = current[name]
            if bit != type(g.bit_generator).__name__:
                raise CheckpointError(f"checkpoint {path!r}: random generator {name!r} is a "
                                      f"{bit} in the checkpoint but a "
                                      f"{type(g.bit_generator).__name__} here")
            states[name] = unpacker.unpack(entry.get("state"), f"generators/{name}")
        out: list[tuple[np.random.Generator, Any]] = []
        owner: dict[int, str] = {}
        for name, g in current.items():
            if id(g) in owner:
                first = owner[id(g)]
                if _canonical(states[first]) != _canonical(states[name]):
                    raise CheckpointError(
                        f"checkpoint {path!r}: random generators {first!r} and {name!r} are "
                        "one generator in this trainer but had different states when saved; "
                        "build the trainer with separate generators as before")
                continue
            owner[id(g)] = name
            out.append((g, states[name]))
        return out


def checkpoint_info(path: str | os.PathLike) -> dict[str, Any]:
    """What a checkpoint holds, without loading it into a trainer: ``version``,
    ``epochs``, ``global_step``, ``optimizer`` and ``scheduler`` type names (None
    without one), ``model_entries`` (name -> shape) and ``history``.

    Raises:
        FileNotFoundError, CheckpointError: as :meth:`Trainer.load_checkpoint`.
    """
    path = os.fspath(path)
    meta, arrays = _read_checkpoint(path)
    unpacker = _Unpacker(arrays, path)
    try:
        model = unpacker.unpack(meta["model"], "model")
        trainer = meta["trainer"]
        return {
            "version": meta["version"],
            "epochs": int(trainer["epochs"]),
            "global_step": int(trainer["global_step"]),
            "optimizer": meta["optimizer"]["type"],
            "scheduler": None if meta["scheduler"] is None else meta["scheduler"]["type"],
            "model_entries": {k: tuple(np.shape(v)) for k, v in model.items()},
            "history": unpacker.unpack(trainer["history"], "history"),
        }
    except (KeyError, TypeError, AttributeError) as e:
        raise CheckpointError(f"checkpoint {path!r} lacks {e}") from None


def _wrap(fn: Callable[[], Any], path: str, what: str) -> None:
    try:
        fn()
    except (KeyError, ValueError, TypeError) as e:
        text = e.args[0] if isinstance(e, KeyError) and e.args else e
        raise CheckpointError(f"checkpoint {path!r} does not fit the {what}: {text}") from e


def _canonical(obj: Any) -> Any:
    """A comparable form of a nested state (arrays as (dtype, shape, list))."""
    if isinstance(obj, np.ndarray):
        return ("array", str(obj.dtype), obj.shape, obj.tolist())
    if isinstance(obj, Mapping):
        return tuple(sorted((repr(k), _canonical(v)) for k, v in obj.items()))
    if isinstance(obj, (list, tuple)):
        return tuple(_canonical(v) for v in obj)
    return obj


class _Packer:
    """Nested Python state -> JSON-able structure plus named arrays.

    Arrays become ``{"__array__": name}`` (stored in :attr:`arrays`), non-finite floats
    ``{"__float__": "nan"|"inf"|"-inf"}``, tuples ``{"__tuple__": [...]}`` and dicts with
    keys that are not plain strings ``{"__items__": [[key, value], ...]}``.
    """

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def pack(self, obj: Any, path: str) -> Any:
        if isinstance(obj, Tensor):
            obj = obj.data
        if isinstance(obj, np.ndarray):
            if obj.dtype.kind not in "biuf":
                raise CheckpointError(f"cannot save {path!r}: arrays of dtype {obj.dtype} "
                                      "are not supported")
            name, i = path, 1
            while name in self.arrays or name == _META:
                name, i = f"{path}~{i}", i + 1
            self.arrays[name] = np.array(obj, copy=True)
            return {"__array__": name}
        if isinstance(obj, (bool, np.bool_)):
            return bool(obj)
        if isinstance(obj, (int, np.integer)):
            return int(obj)
        if isinstance(obj, (float, np.floating)):
            f = float(obj)
            return f if math.isfinite(f) else {"__float__": repr(f)}
        if obj is None or isinstance(obj, str):
            return obj
        if isinstance(obj, tuple):
            return {"__tuple__": [self.pack(v, f"{path}/{i}") for i, v in enumerate(obj)]}
        if isinstance(obj, list):
            return [self.pack(v, f"{path}/{i}") for i, v in enumerate(obj)]
        if isinstance(obj, Mapping):
            if all(isinstance(k, str) and not k.startswith("__") for k in obj):
                return {k: self.pack(v, f"{path}/{k}") for k, v in obj.items()}
            return {"__items__": [[self.pack(k, f"{path}/key{i}"), self.pack(v, f"{path}/{k}")]
                                  for i, (k, v) in enumerate(obj.items())]}
        raise CheckpointError(f"cannot save {path!r}: a {type(obj).__name__} is not an "
                              "array, number, string, None or container of them")


class _Unpacker:
    """The inverse of :class:`_Packer`, with errors naming the missing entry."""

    def __init__(self, arrays: Mapping[str, np.ndarray], path: str) -> None:
        self.arrays, self.path = arrays, path

    def unpack(self, obj: Any, where: str) -> Any:
        if isinstance(obj, list):
            return [self.unpack(v, where) for v in obj]
        if not isinstance(obj, dict):
            return obj
        if len(obj) == 1:
            (key, value), = obj.items()
            if key == "__array__":
                if value not in self.arrays:
                    raise CheckpointError(f"checkpoint {self.path!r} lacks the array entry "
                                          f"{value!r} ({where})")
                return self.arrays[value]
            if key == "__float__":
                if value not in ("nan", "inf", "-inf"):
                    raise CheckpointError(f"checkpoint {self.path!r}: bad number {value!r} "
                                          f"in {where}")
                return float(value)
            if key == "__tuple__":
                return tuple(self.unpack(v, where) for v in value)
            if key == "__items__":
                out = {}
                for k, v in value:
                    k = self.unpack(k, where)
                    out[k] = self.unpack(v, where)
                return out
        if any(isinstance(k, str) and k.startswith("__") for k in obj):
            raise CheckpointError(f"checkpoint {self.path!r}: unknown entry "
                                  f"{sorted(obj)!r} in {where}")
        return {k: self.unpack(v, where) for k, v in obj.items()}


def read_checkpoint(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The metadata and the arrays of a checkpoint file (``__meta__`` taken out), read
    fully without unpickling; for :meth:`Checkpoints.load_checkpoint_arrays`.

    Raises:
        FileNotFoundError, CheckpointError: as :meth:`Checkpoints.load_checkpoint`.
    """
    return _read_checkpoint(os.fspath(path))


def _read_checkpoint(path: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The metadata and every array of a checkpoint, read fully and closed; never
    unpickles. Errors name the file and what is wrong."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"checkpoint file not found: {path!r}")
    try:  # a device, a FIFO, a zip bomb or a header claiming 10**12 values: refused unread
        regular_file(path, "the checkpoint", limits.MAX_NPZ_BYTES)
        check_npz(path, "the checkpoint", limits.MAX_NPZ_BYTES, limits.MAX_ARRAY_VALUES)
    except FileRefused as e:
        raise CheckpointError(str(e)) from None
    try:
        loaded = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, NotImplementedError) as e:
        raise CheckpointError(f"{path!r} is not a checkpoint (not a readable .npz "
                              f"archive: {e})") from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise CheckpointError(f"{path!r} is not a checkpoint (a single array, not an .npz "
                              "archive)")
    arrays: dict[str, np.ndarray] = {}
    try:
        with loaded:
            for name in loaded.files:
                try:
                    arrays[name] = loaded[name]
                except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile,
                        zlib.error, NotImplementedError) as e:
                    raise CheckpointError(f"checkpoint {path!r} is corrupt: entry {name!r} "
                                          f"cannot be read ({e})") from None
    except (OSError, zipfile.BadZipFile) as e:  # pragma: no cover - closing a bad file
        raise CheckpointError(f"checkpoint {path!r} is corrupt ({e})") from None
    raw = arrays.pop(_META, None)
    if raw is None:
        raise CheckpointError(f"{path!r} is not a checkpoint: it has no {_META!r} entry")
    if raw.ndim != 0 or raw.dtype.kind != "U":
        raise CheckpointError(f"checkpoint {path!r}: {_META!r} is not a 0-d string array")
    try:
        meta = json.loads(str(raw[()]))
    except json.JSONDecodeError as e:
        raise CheckpointError(f"checkpoint {path!r}: {_META!r} is not valid JSON ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != _CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path!r} is not an nncore checkpoint (format "
                              f"{meta.get('format') if isinstance(meta, dict) else None!r})")
    version = meta.get("version")
    if not isinstance(version, int) or version < 1:
        raise CheckpointError(f"checkpoint {path!r} has a bad format version {version!r}")
    if version > CHECKPOINT_VERSION:
        raise CheckpointError(f"checkpoint {path!r} has format version {version}, newer "
                              f"than this nncore reads ({CHECKPOINT_VERSION}); update nncore")
    return meta, arrays


def _distinct_generators(gens: Mapping[str, np.random.Generator]) -> list[np.random.Generator]:
    seen: dict[int, np.random.Generator] = {}
    for g in gens.values():
        seen.setdefault(id(g), g)
    return list(seen.values())
