"""Normalization layers: BatchNorm."""

from __future__ import annotations

from typing import Any

import numpy as np

from nncore import nn
from nncore.graph.shapes import PortShape, Shapes, batch_tensor, features
from nncore.graph.types import register
from nncore.graph.types.base import ExportSpec, ModuleType, Params
from nncore.spec import ParamSpec

__all__ = ["BatchNorm"]


@register
class BatchNorm(ModuleType):
    """Batch normalization of feature vectors ``(N, k)`` (PyTorch's ``BatchNorm1d``)."""

    type_id = "batchnorm"
    category = "Normalization"
    display_name = "BatchNorm"
    params = (
        ParamSpec("momentum", "float", 0.1, "weight of each new batch in the running "
                  "statistics", minimum=0.0, maximum=1.0),
        ParamSpec("eps", "float", 1e-5, "added to the variance before the square root",
                  minimum=1e-12, maximum=1.0, log=True),
    )
    summary = ("Batch normalization: standardize each feature over the batch, then scale "
               "and shift.")
    learn = ("y = gamma * (x - mean) / sqrt(var + eps) + beta, with the mean and variance "
             "of each feature over the minibatch in training and running averages of them "
             "in evaluation; gamma and beta are learned. The gradient flows through the "
             "batch statistics too: dL/dx = gamma / sqrt(var + eps) * (g - mean(g) - x_hat "
             "* mean(g * x_hat)) for the incoming gradient g. Keeping every layer's inputs "
             "at a steady scale lets you use larger learning rates and makes training less "
             "sensitive to initialization (Ioffe & Szegedy 2015). It needs at least 2 "
             "samples per batch in training, and behaves differently in training and "
             "evaluation.")
    glyph = "≋"
    min_batch = 2

    def infer(self, params: Params, inputs: Shapes) -> dict[str, PortShape]:
        return {"output": batch_tensor(inputs, max_rank=2)}

    def count(self, params: Params, inputs: Shapes) -> int:
        return 2 * features(inputs)

    def build(self, params: Params, inputs: Shapes, rng: np.random.Generator
              ) -> nn.BatchNorm1d:
        return nn.BatchNorm1d(features(inputs), eps=params["eps"], momentum=params["momentum"])

    def card_text(self, params: Params, data: Any = None) -> str:
        return f"momentum {params['momentum']:g}"

    def export(self, params: Params, inputs: Shapes) -> ExportSpec:
        return ExportSpec("BatchNorm1d", args={"num_features": features(inputs),
                                               "eps": params["eps"],
                                               "momentum": params["momentum"]})
