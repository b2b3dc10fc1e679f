"""A project: the graph (structure) with what it is trained on, apart from the graph.

* :mod:`nncore.project.data`: the one data recipe (where the file is, how it is read,
  the task a loss wants, the label mapping, the shape the Input gets);
* :mod:`nncore.project.project`: :class:`Project`, which the CLI, the worker, the
  training panel, the canvas and the inspector ask for the data's shape, the analysis
  on it and what stops training; :func:`run_key`, what a run belongs to;
* :mod:`nncore.project.run`: :class:`TrainingRun`, a run made from a project.
"""

from nncore.project.data import (data_shape, dataset_for_graph, load_data, load_data_cached,
                                 resolve_path)
from nncore.project.project import Project, run_key
from nncore.project.run import TrainingRun

__all__ = ["Project", "run_key", "TrainingRun", "data_shape", "dataset_for_graph",
           "load_data", "load_data_cached", "resolve_path"]
