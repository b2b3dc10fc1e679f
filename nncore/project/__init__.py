"""A project: the graph (structure) with what it is trained on, apart from the graph.

* :mod:`nncore.project.settings`: the dataset and training settings saved with a
  project (validated against the registries of optimizers, schedules, metrics and
  datasets);
* :mod:`nncore.project.data`: the one data recipe (where the file is, how it is read,
  the task a loss wants, the label mapping, the shape the Input gets);
* :mod:`nncore.project.project`: :class:`Project`, which the CLI, the worker, the
  training panel, the canvas and the inspector ask for the data's shape, the analysis
  on it and what stops training; :func:`run_key`, what a run belongs to;
* :mod:`nncore.project.run`: :class:`TrainingRun`, a run made from a project;
* :mod:`nncore.project.saved`: the runs and the trained model kept in the project file
  (:func:`load_project`, :func:`save_project`, :class:`SavedModel`).
"""

from importlib import import_module
from typing import Any

# What each public name is imported from. Loaded on first use (PEP 562) so that the
# graph's file format can read the settings module without importing the project's
# other modules, which import the graph.
_EXPORTS = {
    "Project": "project", "run_key": "project", "TrainingRun": "run",
    "data_shape": "data", "dataset_for_graph": "data", "load_data": "data",
    "load_data_cached": "data", "resolve_path": "data",
    "DatasetSettings": "settings", "TrainingSettings": "settings", "SettingsError": "settings",
    "SavedModel": "saved", "RunRecord": "saved", "ProjectFile": "saved",
    "load_project": "saved", "save_project": "saved",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'nncore.project' has no attribute {name!r}")
    value = getattr(import_module(f"nncore.project.{module}"), name)
    globals()[name] = value
    return value
