"""Normalization layers: BatchNorm."""

from __future__ import annotations

from typing import Any

import numpy as np

from nncore import nn
from nncore.graph.shapes import PortShape, Shapes, batch_tensor, features
from nncore.graph.types import register
from nncore.graph.types.base import ExportSpec, ModuleType, Params
from nncore.graph.types.explain import (NodeStep, chain_rule, num, pending, signed, spot,
                                        value_line)
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

    def explain(self, step: NodeStep) -> str:
        """The batch mean and variance (training) or the running ones (evaluation) of
        the selected feature, γ and β, and the gradient at the selected element."""
        n, j = step.index
        x = np.asarray(step.x(), dtype=np.float64)
        eps = float(step.params["eps"])
        m = step.module
        gamma, beta = float(m.weight.data[j]), float(m.bias.data[j])
        if step.training:
            mean = float(x[:, j].mean())
            var = float(((x[:, j] - mean) ** 2).mean())
            stats = (f"batch mean μ[{j}] = {num(mean)}, batch variance σ²[{j}] = {num(var)} "
                     f"(biased, over the {len(x)} samples)")
        else:
            mean, var = float(m.running_mean[j]), float(m.running_var[j])
            stats = (f"running mean μ[{j}] = {num(mean)}, running variance σ²[{j}] = "
                     f"{num(var)} (evaluation behaviour)")
        inv = 1.0 / np.sqrt(var + eps)
        xhat = (x[n, j] - mean) * inv
        lines = [stats, f"γ[{j}] = {num(gamma)}, β[{j}] = {num(beta)}, ε = {num(eps)}",
                 f"x̂{spot(step.index)} = (x − μ) / √(σ² + ε) = ({num(x[n, j])} − {signed(mean)}) "
                 f"/ {num(1 / inv)} = {num(xhat)}",
                 value_line(step, "γ·x̂ + β", f"{num(gamma)} · {signed(xhat)} + {signed(beta)}")]
        g = step.g
        if g is None:
            lines.append(f"dL/dx = γ/√(σ² + ε) · (g − mean(g) − x̂·mean(g·x̂)): {pending(step)}")
            return "\n".join(lines)
        gj = np.asarray(g, dtype=np.float64)[:, j]
        xh = (x[:, j] - mean) * inv
        lines.append(f"dL/dγ[{j}] = Σ_n dL/dy·x̂ = {num(float(gj @ xh))}, dL/dβ[{j}] = Σ_n "
                     f"dL/dy = {num(float(gj.sum()))}")
        if step.training:
            mg, mgx = float(gj.mean()), float((gj * xh).mean())
            lines.append(chain_rule(step, "γ/√(σ² + ε) · (g − mean(g) − x̂·mean(g·x̂))",
                                    [gamma * inv, gj[n] - mg - xhat * mgx]))
        else:
            lines.append(chain_rule(step, "dL/dy · γ/√(σ² + ε)", [gj[n], gamma * inv]))
        return "\n".join(lines)
