"""The Input node: where the dataset's samples and labels enter the network."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from nncore.graph.shapes import DataShape, PortShape, ShapeError, tensor
from nncore.graph.types import register
from nncore.graph.types.base import TARGET, NodeType, Params, PortSpec
from nncore.graph.types.explain import NodeStep, at, num, pending, spot
from nncore.tensor import Tensor

__all__ = ["Input"]


@register
class Input(NodeType):
    """The dataset. Its shapes are derived from the project's data (a
    :class:`~nncore.graph.shapes.DataShape`) at every analysis, never stored: switching
    the dataset changes every width downstream at once."""

    type_id = "input"
    category = "Data"
    display_name = "Input"
    inputs: ClassVar[tuple[PortSpec, ...]] = ()
    outputs: ClassVar[tuple[PortSpec, ...]] = (PortSpec("features", label="features"),
                                               PortSpec("labels", TARGET, label="labels"))
    summary = "The dataset: a batch of samples and their labels."
    learn = ("Feeds the network a minibatch of samples from the project's dataset: "
             "'features' is an (N, features) array, 'labels' the matching class indices "
             "(classification) or target values (regression), which only a loss node may "
             "consume. Its shapes follow the data: choose the dataset in the Training "
             "panel and every width after it follows. Nothing here is learned; "
             "standardizing the features (mean 0, variance 1) makes every layer after it "
             "easier to train.")
    glyph = "⇥"
    reads_data = True

    def migrate_params(self, params: Params, version: int) -> Params:
        """Version 1 stored the data's shape here (features, task, classes, targets):
        derived from the data now, so dropped."""
        if version < 2:
            for old in ("features", "task", "classes", "targets"):
                params.pop(old, None)
        return params

    def infer_data(self, params: Params, data: DataShape | None) -> dict[str, PortShape]:
        if data is None:
            raise ShapeError("no dataset yet: its shapes come from the project's dataset "
                             "(choose one in the Training panel)")
        return {"features": tensor(*data.features), "labels": data.target_shape}

    def feed(self, batch: Tensor) -> dict[str, Tensor]:
        return {"features": batch}

    def card_text(self, params: Params, data: DataShape | None = None) -> str:
        """``"64 features · 10 classes"`` (the dataset's name is in the inspector: the
        card has room for the shape only)."""
        return "no dataset" if data is None else data.describe()

    def explain(self, step: NodeStep) -> str:
        """The selected feature of the selected sample, its label, and dL/dx: how the
        loss changes with that input (a saliency)."""
        i = step.index
        x = step.outputs["features"]
        lines = [f"the batch: {len(x)} sample{'s' if len(x) != 1 else ''} of {x.shape[1:]} "
                 "features (standardized if the dataset settings say so)",
                 f"x{spot(i)} = {num(at(x, i))} (sample {i[0]}, feature "
                 f"{', '.join(map(str, i[1:]))}); its label: "
                 + (str(np.asarray(step.target)[i[0]].tolist()) if step.target is not None
                    else "?")]
        g = step.output_grads.get("features")
        lines.append(f"dL/dx{spot(i)} = {num(at(g, i))}: how the loss changes with this input"
                     if g is not None else f"dL/dx{spot(i)}: {pending(step)}")
        return "\n".join(lines)
