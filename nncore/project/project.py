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

from nncore import limits
from nncore.data import Dataset
from nncore.files import regular_file
from nncore.graph.model import Analysis, Graph
from nncore.project.settings import DatasetSettings, TrainingSettings
from nncore.graph.shapes import DataShape
from nncore.project.data import (DataPending, data_shape, dataset_for_graph, file_stamp,
                                 load_data_cached, pending_read)

__all__ = ["Project", "run_key", "memory_needed", "memory_problem"]

#: Bytes per value: training runs in float32.
_BYTES = 4
#: Rows :meth:`nncore.training.Trainer.evaluate` runs at once.
_EVAL_ROWS = 1024


def memory_needed(analysis: Analysis, batch_size: int, n_samples: int) -> int:
    """A lower bound of the memory training takes, in bytes: the weights and their
    gradients (float32; the parameter counts are the node types', ``analysis.params``),
    and every output port's values and gradients for the rows run at once (a minibatch,
    or an evaluation's 1,024 rows). The optimizer's state comes on top."""
    rows = max(1, min(n_samples, max(batch_size, _EVAL_ROWS)))
    activations = 0
    for shape in analysis.shapes.values():
        per_row = 1
        for d in shape.sample:
            per_row *= d or 1
        activations += per_row
    return 2 * _BYTES * (analysis.total_params + rows * activations)


def memory_problem(graph: Graph, analysis: Analysis, batch_size: int,
                   n_samples: int) -> tuple[str | None, str] | None:
    """(node id, text) when training ``graph`` would need more memory than the machine
    has available (:func:`memory_needed` against
    :func:`nncore.limits.available_memory`), pinned to the node with the most weights;
    None when it fits or the machine does not say."""
    available = limits.available_memory()
    need = memory_needed(analysis, batch_size, n_samples)
    if available is None or need <= available:
        return None
    size = limits.size_text
    total = analysis.total_params
    biggest = max(analysis.params, key=lambda nid: analysis.params[nid], default=None)
    share = ""
    if biggest is not None and analysis.params[biggest] and graph.has_node(biggest):
        share = (f"; {graph.node(biggest).name} alone has "
                 f"{analysis.params[biggest]:,} ({size(analysis.params[biggest] * _BYTES)})")
    return (biggest, f"memory: the network's {total:,} parameters take {size(total * _BYTES)} "
            f"as float32{share}; training needs at least {size(need)} (with gradients and "
            f"activations), and this machine has {size(available)} available")


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

    def __init__(self, graph: Graph, base_dir: str | os.PathLike | None = None,
                 defer_bytes: int | None = None) -> None:
        self.graph = graph
        self.base_dir = None if base_dir in (None, "") else Path(base_dir)
        #: a CSV file over this many bytes is not read by :meth:`load_data` unless it is
        #: cached (:class:`~nncore.project.data.DataPending`): the window's worker
        #: thread reads it; None reads any file.
        self.defer_bytes = defer_bytes

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
                file, line and column or the setting at fault; DataPending (a
                ValueError) for a large file not read yet, with ``defer_bytes``.
        """
        settings = self.dataset_settings
        if self.defer_bytes is not None:
            why = pending_read(settings, self.base_dir, self.defer_bytes)
            if why is not None:
                raise DataPending(why)
        return load_data_cached(settings, self.base_dir)

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
        analysis = self.graph.analysis(shape)
        problems = list(analysis.problems)
        if shape is not None:
            try:
                batch = self.training_settings.batch_size
            except ValueError:
                batch = 1
            memory = memory_problem(self.graph, analysis, batch, self.load_data().n_samples)
            if memory is not None:
                problems.append(memory)
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
            regular_file(stamp[0], "the dataset", max(limits.MAX_NPZ_BYTES,
                                                      limits.MAX_CSV_BYTES))
            with open(stamp[0], "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
            digest = h.hexdigest()
        except OSError:  # FileRefused among them: a device, a FIFO is never read
            digest = "unreadable"
        if len(_HASHES) > 32:
            _HASHES.clear()
        _HASHES[stamp] = digest
    return digest


def run_key(graph_text: str, base_dir: str | os.PathLike | None = None,
            portable: bool = False) -> str:
    """What decides whether a trained model may keep training: the nodes (ids, types,
    parameters), wires and settings of a graph file's text (not positions or names),
    and the data file's absolute path and content (SHA-256). Another project, another
    data file or a changed file make another key: a new run.

    ``portable``: the data file's path is left out (the setting and the absolute path;
    its content stays in), so that a project folder moved or saved elsewhere keeps its
    key: what a saved model is checked against (:mod:`nncore.project.saved`)."""
    data = json.loads(graph_text)
    nodes = [(n.get("id"), n.get("type"), n.get("params")) for n in data.get("nodes", [])]
    settings = data.get("settings") or {}
    try:
        ds = DatasetSettings.from_dict(settings.get("dataset"))
        stamp = file_stamp(ds, None if base_dir in (None, "") else base_dir)
    except (ValueError, TypeError):
        stamp = None
    content = _content_hash(stamp) if stamp is not None and stamp[1] is not None else None
    where = stamp[0] if stamp else None
    if portable:
        dataset = settings.get("dataset")
        if isinstance(dataset, dict):
            settings = {**settings, "dataset": {k: v for k, v in dataset.items()
                                                if k != "path"}}
        where = None
    return json.dumps([nodes, data.get("edges"), settings, where, content], sort_keys=True,
                      default=str)
