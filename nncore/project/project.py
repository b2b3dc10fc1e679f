"""A project: a graph and what it is trained on, read from one place.

:class:`Project` joins a :class:`~nncore.graph.Graph` (structure) with its folder, its
dataset and its training settings. What the Input node looks like is *derived* here,
from the data (:meth:`Project.data_shape`), never stored in the graph: the canvas, the
inspector, ``nncore check`` and training ask a project, so they cannot disagree.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from nncore.data import Dataset
from nncore.graph.model import Analysis, Graph
from nncore.project.settings import DatasetSettings, TrainingSettings
from nncore.graph.shapes import DataShape
from nncore.project.data import (data_shape, dataset_for_graph, file_stamp,
                                 load_data_cached)

__all__ = ["Project", "run_key"]


class Project:
    """A graph with its folder (for relative data paths), its dataset and settings.

    Args:
        graph: the network; its ``settings`` hold the dataset and training settings
            (they are saved with it).
        base_dir: the project file's folder (None: relative paths are taken from the
            working directory).

    Nothing is copied: the project reads the graph's current state at every call, and
    caches only what the data file and the settings determine.
    """

    def __init__(self, graph: Graph, base_dir: str | os.PathLike | None = None) -> None:
        self.graph = graph
        self.base_dir = None if base_dir in (None, "") else Path(base_dir)

    # ------------------------------------------------------------------ settings
    @property
    def dataset_settings(self) -> DatasetSettings:
        """The dataset settings, with a file's task decided by the graph's loss
        (:func:`~nncore.project.data.dataset_for_graph`).

        Raises:
            SettingsError: for invalid settings.
        """
        ds = DatasetSettings.from_dict(self.graph.settings.get("dataset"))
        return dataset_for_graph(ds, self.graph)

    @property
    def training_settings(self) -> TrainingSettings:
        """The training settings.

        Raises:
            SettingsError: for invalid settings.
        """
        return TrainingSettings.from_dict(self.graph.settings.get("training"))

    # ------------------------------------------------------------------ data
    def load_data(self) -> Dataset:
        """The project's dataset (cached per settings and file stamp; read-only).

        Raises:
            ValueError (DataFileError, SettingsError among them), OSError: naming the
                file, line and column or the setting at fault.
        """
        return load_data_cached(self.dataset_settings, self.base_dir)

    def data_state(self) -> tuple[DataShape | None, str | None]:
        """(the dataset's shape, None) or (None, why it cannot be read)."""
        try:
            return data_shape(self.load_data()), None
        except (ValueError, OSError) as e:
            return None, str(e) or type(e).__name__

    def data_shape(self) -> DataShape | None:
        """What the dataset looks like to the network, or None when it cannot be read
        (:meth:`data_state` says why)."""
        return self.data_state()[0]

    # ------------------------------------------------------------------ the network on it
    def analysis(self) -> Analysis:
        """The graph's shapes, counts and problems on this project's data."""
        return self.graph.analysis(self.data_shape())

    def problems(self) -> list[tuple[str | None, str]]:
        """Everything that would stop training, as (node id or None, text): the
        graph's problems on the data, and the data itself when it cannot be read
        (pinned to the Input, instead of its "no dataset yet")."""
        shape, error = self.data_state()
        problems = list(self.graph.analysis(shape).problems)
        if error is not None:
            # the Input's "no dataset yet" says less than why the data cannot be read
            inputs = {n.id for n in self.graph.nodes if n.type.reads_data}
            problems = [p for p in problems if p[0] not in inputs]
            where = next(iter(inputs)) if len(inputs) == 1 else None
            problems.append((where, f"dataset: {error}"))
        return problems

    def describe_data(self) -> str | None:
        """``"digits: 1797 samples, 64 features, 10 classes"``, or None when the data
        cannot be read."""
        try:
            data = self.load_data()
        except (ValueError, OSError):
            return None
        what = (f"{data.num_classes} classes" if data.task == "classification"
                else f"{data.n_outputs} target{'s' if data.n_outputs != 1 else ''} "
                     "(regression)")
        return f"{data.name}: {data.n_samples} samples, {data.n_features} features, {what}"

    def run_key(self, graph_text: str) -> str:
        """See :func:`run_key`."""
        return run_key(graph_text, self.base_dir)


_HASHES: dict[Any, str] = {}


def _content_hash(stamp: tuple[str, float | None, int | None]) -> str:
    """SHA-256 of the data file, remembered per stamp (path, mtime, size)."""
    digest = _HASHES.get(stamp)
    if digest is None:
        h = hashlib.sha256()
        try:
            with open(stamp[0], "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
            digest = h.hexdigest()
        except OSError:
            digest = "unreadable"
        if len(_HASHES) > 32:
            _HASHES.clear()
        _HASHES[stamp] = digest
    return digest


def run_key(graph_text: str, base_dir: str | os.PathLike | None = None) -> str:
    """What decides whether a trained model may keep training: the nodes (ids, types,
    parameters), wires and settings of a graph file's text (not positions or names),
    and the data file's absolute path and content (SHA-256). Another project, another
    data file or a changed file make another key: a new run."""
    data = json.loads(graph_text)
    nodes = [(n.get("id"), n.get("type"), n.get("params")) for n in data.get("nodes", [])]
    settings = data.get("settings") or {}
    try:
        ds = DatasetSettings.from_dict(settings.get("dataset"))
        stamp = file_stamp(ds, None if base_dir in (None, "") else base_dir)
    except (ValueError, TypeError):
        stamp = None
    content = _content_hash(stamp) if stamp is not None and stamp[1] is not None else None
    return json.dumps([nodes, data.get("edges"), settings, stamp[0] if stamp else None,
                       content], sort_keys=True, default=str)
