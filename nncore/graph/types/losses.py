"""Loss nodes: Cross-Entropy, MSE and Binary Cross-Entropy."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from nncore import functional as F
from nncore.graph.shapes import LOSS, PortShape, Shapes, ShapeError, batch_tensor, one
from nncore.graph.types import register
from nncore.graph.types.base import (TARGET, ExportSpec, LossType, NodeValueError, Params,
                                     PortSpec)
from nncore.graph.types.explain import NodeStep, num, signed, spot
from nncore.spec import ParamSpec
from nncore.tensor import Tensor

__all__ = ["CrossEntropy", "MSE", "BinaryCrossEntropy"]


def _first_outside(a: np.ndarray) -> float:
    """The first value of ``a`` outside [0, 1] (for messages)."""
    return float(a.flat[int(np.flatnonzero((a < 0) | (a > 1))[0])])


@register
class CrossEntropy(LossType):
    """``F.cross_entropy`` on scores ``(N, classes)`` and class indices ``(N,)``; a
    Softmax before it is fused into log-softmax (never log(0), reference case R01)."""

    type_id = "cross_entropy"
    display_name = "Cross-Entropy"
    inputs: ClassVar[tuple[PortSpec, ...]] = (PortSpec("input", label="logits"),
                                              PortSpec("target", TARGET))
    params = (ParamSpec("label_smoothing", "float", 0.0, "mix this much of the uniform "
                        "distribution into the targets", minimum=0.0, maximum=1.0),)
    main_params = ("label_smoothing",)
    fuses = {"softmax": "log_softmax"}
    summary = "Classification loss: -log of the probability given to the true class."
    learn = ("L = -mean over the batch of log softmax(z)_y, computed from the scores z "
             "(logits) with log-sum-exp so it never overflows. Its gradient with respect to "
             "z is (softmax(z) - onehot(y)) / N: large when the network is confidently "
             "wrong, which is why it trains classifiers much faster than squared error on "
             "probabilities. Wire the last Dense layer (one unit per class) into it, "
             "directly or through a Softmax (fused into log-softmax). Label smoothing "
             "discourages over-confident predictions (Szegedy et al. 2016).")

    def infer(self, params: Params, inputs: Shapes) -> dict[str, PortShape]:
        pred = batch_tensor(inputs, min_rank=2, max_rank=2)
        target = one(inputs, "target")
        if not target.is_labels:
            raise ShapeError(f"Cross-Entropy needs class labels as target, got {target} "
                             "(for regression targets use MSE)")
        if pred.width != target.classes:
            raise ShapeError(f"the prediction has {pred.width} values per sample but the "
                             f"target has {target.classes} classes: give the last Dense "
                             f"{target.classes} units")
        return {"loss": LOSS}

    def card_text(self, params: Params, data: Any = None) -> str:
        s = params["label_smoothing"]
        return f"smoothing {s:g}" if s else ""

    def loss(self, output: Tensor, target: Any, params: Params, fused: bool,
             task: str) -> Tensor:
        return F.cross_entropy(output, target, params["label_smoothing"])

    def export(self, params: Params, inputs: Shapes) -> ExportSpec:
        return ExportSpec("cross_entropy", module=False,
                          args={"label_smoothing": params["label_smoothing"]})

    def explain(self, step: NodeStep) -> str:
        """For the selected (sample, class) of the scores: p = softmax(z), the sample's
        loss and the fused gradient (p − onehot(y)) / N."""
        n, c = step.index
        z = np.asarray(step.extra["prediction"], dtype=np.float64)
        N, C = z.shape
        zr = z[n] - z[n].max()
        p = np.exp(zr) / np.exp(zr).sum()
        label = int(np.asarray(step.target).reshape(-1)[n])
        eps = float(step.params["label_smoothing"])
        t = (1.0 - eps) * (1.0 if c == label else 0.0) + eps / C
        where = "the Softmax's input, fused: log-softmax" if step.extra["fused"] else "logits"
        lines = [f"z = the scores ({where}); p = softmax(z); L = −mean_n log p[n, y_n] "
                 f"= {num(np.asarray(step.y))}",
                 f"sample {n}: class y = {label}, p[{n}, {label}] = {num(p[label])}, "
                 f"−log p = {num(-np.log(p[label]))}",
                 f"p{spot(step.index)} = {num(p[c])}"]
        target = (f"onehot(y){spot(step.index)}" if not eps else
                  f"((1 − {num(eps)})·onehot(y) + {num(eps)}/{C}){spot(step.index)}")
        lines.append(f"dL/dz{spot(step.index)} = (p − onehot(y)) / N = ({num(p[c])} − "
                     f"{num(t)}) / {N} = {num((p[c] - t) / N)}" + (
                         f"  (label smoothing {num(eps)}: the target is {target})" if eps else ""))
        return "\n".join(lines)


@register
class MSE(LossType):
    """``F.mse_loss``: the prediction and the targets have one shape (any rank)."""

    type_id = "mse"
    display_name = "MSE"
    wants_regression = True
    summary = "Regression loss: the mean squared error."
    learn = ("L = mean((prediction - target)^2); gradient 2 (prediction - target) / n. The "
             "natural loss for predicting numbers; large errors dominate it. For class "
             "labels use Cross-Entropy: squared error on probabilities gives weak gradients "
             "when the network is confidently wrong.")

    def infer(self, params: Params, inputs: Shapes) -> dict[str, PortShape]:
        pred, target = batch_tensor(inputs), one(inputs, "target")
        if target.is_labels:
            raise ShapeError(f"MSE needs numeric targets (N, k), got {target} (for class "
                             "labels use Cross-Entropy)")
        if pred.dims != target.dims:
            raise ShapeError(f"the prediction is {pred} but the target is {target}: give "
                             f"the last Dense {target.width} units")
        return {"loss": LOSS}

    def loss(self, output: Tensor, target: Any, params: Params, fused: bool,
             task: str) -> Tensor:
        return F.mse_loss(output, np.asarray(target, dtype=output.dtype))

    def export(self, params: Params, inputs: Shapes) -> ExportSpec:
        return ExportSpec("mse_loss", module=False)

    def explain(self, step: NodeStep) -> str:
        pred = np.asarray(step.extra["prediction"], dtype=np.float64)
        y = np.asarray(step.target, dtype=np.float64).reshape(pred.shape)
        i = step.index
        a, b = float(pred[i]), float(y[i])
        return "\n".join([f"L = mean((ŷ − y)²) over {pred.size} values = {num(np.asarray(step.y))}",
                          f"ŷ{spot(i)} = {num(a)}, y{spot(i)} = {num(b)}",
                          f"dL/dŷ{spot(i)} = 2(ŷ − y) / n = 2·({num(a)} − {signed(b)}) / "
                          f"{pred.size} = {num(2 * (a - b) / pred.size)}"])


@register
class BinaryCrossEntropy(LossType):
    """``F.binary_cross_entropy`` on a probability (a Sigmoid before it is fused into
    ``binary_cross_entropy_with_logits``). With two classes its scores for the metrics
    are two columns, so accuracy is their arg-max as for Cross-Entropy."""

    type_id = "bce"
    display_name = "Binary Cross-Entropy"
    inputs: ClassVar[tuple[PortSpec, ...]] = (PortSpec("input", label="probability"),
                                              PortSpec("target", TARGET))
    fuses = {"sigmoid": "with_logits"}
    summary = "Two-class loss on a probability in (0, 1)."
    learn = ("L = -mean(y log p + (1 - y) log(1 - p)) for a predicted probability p of "
             "class 1 and a target y of 0 or 1; gradient (p - y) / (p (1 - p)) per sample. "
             "Feed it Dense(1) -> Sigmoid: NN Canvas fuses the sigmoid into the loss (the "
             "'with logits' form), whose gradient is simply p - y and which never takes "
             "log(0). Other inputs must already be probabilities; logs are clamped at -100 "
             "as in PyTorch.")

    def infer(self, params: Params, inputs: Shapes) -> dict[str, PortShape]:
        pred, target = batch_tensor(inputs), one(inputs, "target")
        if target.is_labels:
            if target.classes != 2:
                raise ShapeError(f"Binary Cross-Entropy needs 2 classes, the target has "
                                 f"{target.classes} (use Cross-Entropy)")
            if pred.dims != (None, 1):
                raise ShapeError(f"for 2 classes the prediction must be (N, 1), one "
                                 f"probability per sample; got {pred}")
        elif pred.dims != target.dims:
            raise ShapeError(f"the prediction is {pred} but the target is {target}")
        return {"loss": LOSS}

    def scores(self, prediction: Tensor, fused: bool, task: str) -> Tensor:
        if task != "classification":
            return prediction
        if fused:  # logits z -> scores [0, z]: arg-max is z > 0, i.e. p > 0.5
            return F.concatenate([Tensor(np.zeros_like(prediction.data)), prediction], axis=-1)
        return F.concatenate([1.0 - prediction, prediction], axis=-1)  # [1 - p, p]

    def predictions(self, output: np.ndarray, fused: bool, task: str) -> np.ndarray:
        if fused and task != "classification":  # logits -> probabilities
            return F.sigmoid(Tensor(output)).data
        return output

    def probabilities(self, output: np.ndarray, fused: bool) -> np.ndarray:
        """Fused, the scores are ``[0, z]`` (their softmax is ``[1 - p, p]``); else they
        are ``[1 - p, p]`` already."""
        if fused:
            return super().probabilities(output, fused)
        return np.clip(np.asarray(output, dtype=np.float64), 0.0, 1.0)

    def export_head(self, fused: bool, task: str) -> tuple[str, ...]:
        if task == "classification":
            return ("zero_and", "softmax") if fused else ("one_minus_and", "clip01")
        return ("sigmoid",) if fused else ()

    def loss(self, output: Tensor, target: Any, params: Params, fused: bool,
             task: str) -> Tensor:
        """Raises ValueError for targets outside [0, 1] (the loss has no minimum for
        them) and NodeValueError for a probability outside [0, 1] (no Sigmoid before)."""
        y = np.asarray(target, dtype=output.dtype)
        if y.size and (y.min() < 0 or y.max() > 1):
            raise ValueError(f"Binary Cross-Entropy needs targets in [0, 1] (probabilities "
                             f"or 0/1 labels), got {_first_outside(y):g}; use MSE for "
                             "other values")
        if task == "classification":  # two columns of scores, class index targets
            y = y.reshape(-1, 1)
            output = output[:, 1:]
        if fused:
            return F.binary_cross_entropy_with_logits(output, y)
        p = output.data
        if p.size and not (np.nanmin(p) >= 0 and np.nanmax(p) <= 1):
            raise NodeValueError(f"its input must be probabilities in [0, 1], got "
                                 f"{_first_outside(p):g}: put a Sigmoid before it (or use "
                                 "Cross-Entropy on the raw scores)")
        return F.binary_cross_entropy(output, y)

    def export(self, params: Params, inputs: Shapes) -> ExportSpec:
        return ExportSpec("binary_cross_entropy", module=False)

    def explain(self, step: NodeStep) -> str:
        """Fused (a Sigmoid before it): dL/dz = (σ(z) − y) / N on the logit z; else
        dL/dp = (p − y) / (p(1 − p)) / N."""
        v = np.asarray(step.extra["prediction"], dtype=np.float64)
        i = tuple(step.index) if len(step.index) == v.ndim else (0,) * v.ndim
        y = float(np.asarray(step.target, dtype=np.float64).reshape(v.shape)[i])
        n = v.size
        lines = [f"L = −mean(y·log p + (1 − y)·log(1 − p)) = {num(np.asarray(step.y))}"]
        if step.extra["fused"]:
            z = float(v[i])
            p = 1.0 / (1.0 + np.exp(-z))
            lines += [f"z{spot(i)} = {num(z)} (the Sigmoid's input, fused: with logits), "
                      f"p = σ(z) = {num(p)}, y = {num(y)}",
                      f"dL/dz{spot(i)} = (σ(z) − y) / N = ({num(p)} − {num(y)}) / {n} = "
                      f"{num((p - y) / n)}"]
        else:
            p = float(v[i])
            d = max(p * (1 - p), 1e-12)
            lines += [f"p{spot(i)} = {num(p)}, y = {num(y)}",
                      f"dL/dp{spot(i)} = (p − y) / (p(1 − p)) / N = ({num(p)} − {num(y)}) / "
                      f"{num(d)} / {n} = {num((p - y) / d / n)}"]
        return "\n".join(lines)
