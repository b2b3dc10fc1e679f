"""Exports of a trained network (issue 12): ONNX (:mod:`nncore.export.onnx`), a
standalone NumPy inference script (:mod:`nncore.export.numpy_script`) and a standalone
PyTorch script with the training loop (:mod:`nncore.export.pytorch`).

Each takes a trained :class:`~nncore.project.TrainingRun` or an
:class:`~nncore.export.plan.ExportPlan` (:func:`plan_from_saved`: a project's saved
model) and the features as the project's data has them (raw: the preprocessing is
part of the export). :func:`export` picks the format by name.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from nncore.export.plan import (FORMATS, ExportError, ExportPlan, plan_from_run,
                                plan_from_saved)

__all__ = ["export", "FORMATS", "ExportError", "ExportPlan", "plan_from_run",
           "plan_from_saved"]


def export(source: Any, fmt: str, path: str | os.PathLike) -> list[Path]:
    """Export ``source`` (a trained run or a plan) as ``fmt`` (``"pytorch"``,
    ``"numpy"`` or ``"onnx"``) to ``path``; returns the files written (the script or
    model first, then its weights file).

    Raises:
        ExportError: for an unknown format (listing the known ones) or a node the
            format cannot write (naming it).
    """
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}: choose one of "
                          f"{', '.join(FORMATS)}")
    if fmt == "onnx":
        from nncore.export.onnx import export_onnx
        return [export_onnx(source, path)]
    if fmt == "numpy":
        from nncore.export.numpy_script import export_numpy
        return export_numpy(source, path)
    from nncore.export.pytorch import export_pytorch
    return export_pytorch(source, path)
