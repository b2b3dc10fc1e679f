"""The project's dataset: where its file is, how it is read, what it looks like.

This is the one data recipe of NN Canvas: the command line, the training worker, the
training panel and the inspector all read a project's data through these functions, so
they agree on the file, on the task (a graph ending in MSE reads whole numbers as
values), on the label mapping and on the shape the Input node gets
(:func:`data_shape`).
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from nncore import limits
from nncore.data import Dataset, load_dataset, load_npz
from nncore.files import FileRefused, regular_file
from nncore.graph.model import Graph
from nncore.project.settings import DatasetSettings
from nncore.graph.shapes import DataShape

__all__ = ["resolve_path", "dataset_for_graph", "load_data", "load_data_cached",
           "data_shape", "pending_read", "forget_read", "DataPending", "LARGE_FILE_BYTES"]


def resolve_path(settings: DatasetSettings, base_dir: str | os.PathLike | None = None
                 ) -> Path | None:
    """The data file ``settings`` name (a relative path is taken relative to
    ``base_dir``, the project file's folder); None for a built-in dataset."""
    if settings.source == "builtin":
        return None
    path = Path(settings.path or "")
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    return path


def dataset_for_graph(settings: DatasetSettings, graph: Graph) -> DatasetSettings:
    """``settings`` with the task of a CSV/NPZ file decided by the graph when the settings
    leave it open: a graph whose loss wants numeric targets (MSE) reads whole-number
    targets (ages, counts) as values, not classes."""
    if settings.source == "builtin" or settings.task is not None:
        return settings
    if any(n.type.is_loss and getattr(n.type, "wants_regression", False) for n in graph.nodes):
        return replace(settings, task="regression")
    return settings


def load_data(settings: DatasetSettings, base_dir: str | os.PathLike | None = None, *,
              progress: Callable[[float], Any] | None = None, cancel: Any = None) -> Dataset:
    """Load the dataset ``settings`` describe.

    A CSV is read with pandas (:func:`nncore.tables.read_table`, ``settings.header`` and
    ``settings.delimiter``) and goes through the recorded preprocessing
    (:meth:`DatasetSettings.pipeline_spec`), fitted on the training rows of the split
    the settings make (``val_fraction``, ``test_fraction``, ``seed``): the same rows
    :func:`nncore.data.split` gives the training run. The result's ``pipeline`` is the
    fitted :class:`nncore.tables.Pipeline`, its ``report`` what was done.

    For a CSV with a saved label mapping (``settings.classes``), class indices follow
    that mapping, so they mean what they meant when the project was saved.

    Args:
        progress, cancel: for a CSV, as :func:`nncore.tables.read_table` takes them (a
            worker thread's progress bar and Cancel button).

    The file is looked at before it is opened (:func:`nncore.files.regular_file`): a
    folder, device, FIFO, ``/proc`` or ``/sys`` entry, or a file over the size limit
    (:data:`~nncore.limits.MAX_CSV_BYTES`, :data:`~nncore.limits.MAX_NPZ_BYTES`) is
    refused at once, never read.

    Raises:
        ValueError (nncore.data.DataFileError and nncore.files.FileRefused among them):
            for a dataset that cannot be loaded, naming the file, line and column or the
            option at fault; or labels the saved mapping does not know.
        nncore.tables.ReadCancelled: when ``cancel`` stopped the reading.
    """
    if settings.source == "builtin":
        return load_dataset(settings.name, **settings.options)
    path = resolve_path(settings, base_dir)
    assert path is not None
    what = "the dataset of this project"
    try:
        regular_file(path, what, limits.MAX_NPZ_BYTES if settings.source == "npz"
                     else limits.MAX_CSV_BYTES)
    except FileNotFoundError as e:
        raise ValueError(str(e)) from None
    except FileRefused as e:
        if "is a folder" in str(e):
            raise FileRefused(f"{path}: is a folder, not a data file ({what})") from None
        raise
    if settings.source == "npz":
        data = load_npz(path, task=settings.task)
    else:
        from nncore.tables import read_table, table_dataset

        table = read_table(path, header=settings.header, delimiter=settings.delimiter,
                           progress=progress, cancel=cancel)
        data = table_dataset(table, target=settings.target, task=settings.task,
                             spec=settings.pipeline_spec(),
                             val_fraction=settings.val_fraction,
                             test_fraction=settings.test_fraction, seed=settings.seed,
                             classes=settings.classes)
    if settings.classes and data.classes is not None and data.classes != settings.classes:
        unknown = [c for c in data.classes if c not in settings.classes]
        if unknown:
            raise ValueError(f"{path}: labels {unknown} are not in the project's classes "
                             f"{settings.classes}")
        remap = np.array([settings.classes.index(c) for c in data.classes], dtype=np.int64)
        data = Dataset(data.X, remap[data.y], data.name, list(settings.classes),
                       data.feature_names, data.origin, pipeline=data.pipeline)
    return data


_DATA_CACHE: dict[str, Dataset] = {}
#: A CSV file larger than this (bytes) is read by the window in a worker thread; until
#: it is in the cache, a :class:`~nncore.project.Project` made with ``defer_bytes`` says
#: so (:class:`DataPending`) instead of reading it in the caller's thread.
LARGE_FILE_BYTES = 2_000_000


#: What the last read of a (large) file in the cache's terms ended with, when it did not
#: give a Dataset: the error it raised, or "cancelled". A GUI ask then gets the error
#: (or the cancelled read said) without reading the file again in its thread.
_READ_ENDED: dict[str, Exception | str] = {}


class DataPending(ValueError):
    """The data file is large and not read yet: another thread is reading it (the
    window's loader), and the shapes follow once it is in."""


def file_stamp(settings: DatasetSettings, base_dir: str | os.PathLike | None = None
               ) -> tuple[str, float | None, int | None] | None:
    """What identifies the data file's content cheaply: (absolute path, modification
    time, size); None for a built-in dataset."""
    path = resolve_path(settings, base_dir)
    if path is None:
        return None
    try:
        st = path.stat()
        return (str(path.resolve()), st.st_mtime, st.st_size)
    except (OSError, ValueError):
        return (str(path), None, None)


def _cache_key(settings: DatasetSettings, base_dir: str | os.PathLike | None) -> str:
    return json.dumps([settings.to_dict(), file_stamp(settings, base_dir)], sort_keys=True,
                      default=str)


def pending_read(settings: DatasetSettings, base_dir: str | os.PathLike | None,
                 limit: int) -> str | None:
    """Why :func:`load_data_cached` would read a large file now: a CSV of more than
    ``limit`` bytes not in the cache gives ``"big.csv (205 MB) is being read"``; None
    when it is cached, small, or not a CSV."""
    if settings.source != "csv":
        return None
    stamp = file_stamp(settings, base_dir)
    key = _cache_key(settings, base_dir)
    if stamp is None or not (stamp[2] or 0) > limit or key in _DATA_CACHE \
            or isinstance(_READ_ENDED.get(key), Exception):
        return None  # small, read, or its error is known (load_data_cached raises it)
    name = f"{Path(stamp[0]).name} ({stamp[2] / 1e6:,.0f} MB)"
    if _READ_ENDED.get(key) == "cancelled":
        return f"{name} is not read: its reading was cancelled (Reload reads it)"
    return f"{name} is being read: the shapes follow when it is in"


def forget_read(settings: DatasetSettings, base_dir: str | os.PathLike | None = None
                ) -> None:
    """Forget how the last read of this data ended (an error, a cancel), so that the
    next :func:`load_data_cached` reads the file again (Reload)."""
    _READ_ENDED.pop(_cache_key(settings, base_dir), None)


def load_data_cached(settings: DatasetSettings,
                     base_dir: str | os.PathLike | None = None, *,
                     progress: Callable[[float], Any] | None = None,
                     cancel: Any = None) -> Dataset:
    """:func:`load_data`, remembered per settings and file stamp (:func:`file_stamp`):
    the canvas, the inspector and the training panel ask at every change. Treat the
    result as read-only. ``progress`` and ``cancel`` go to :func:`load_data` when the
    data is read (a worker thread's load fills the cache for the GUI's later asks).
    A read that failed is remembered too: asked again without ``cancel`` (not a worker's
    read), its error is raised again instead of reading the file once more."""
    key = _cache_key(settings, base_dir)
    data = _DATA_CACHE.get(key)
    if data is None:
        ended = _READ_ENDED.get(key)
        if cancel is None and isinstance(ended, Exception):
            raise ended
        if len(_DATA_CACHE) > 8:
            _DATA_CACHE.clear()
            _READ_ENDED.clear()
        try:
            data = load_data(settings, base_dir, progress=progress, cancel=cancel)
        except (ValueError, OSError) as e:
            _READ_ENDED[key] = e
            raise
        except Exception as e:
            from nncore.tables import ReadCancelled  # lazily, as load_data reads tables

            if isinstance(e, ReadCancelled):  # stopped, not an error
                _READ_ENDED[key] = "cancelled"
            raise
        _READ_ENDED.pop(key, None)
        _DATA_CACHE[key] = data
    return data


def data_shape(data: Dataset) -> DataShape:
    """What ``data`` looks like to the network: the Input node's shapes come from this."""
    return DataShape(features=tuple(data.X.shape[1:]), task=data.task,
                     classes=data.num_classes if data.task == "classification" else 0,
                     targets=data.n_outputs if data.task == "regression" else 0,
                     source=data.name)
