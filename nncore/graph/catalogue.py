"""The catalogue of node types a network can be built from.

One :class:`NodeType` per kind of node: a stable type id (saved in files), category and
display name (for the palette), input and output ports, parameters with type, default,
range and a one-line explanation, a short text for learners (what the op computes, its
derivative, when it helps or hurts), and four rules:

* ``infer(params, inputs) -> outputs``: the output shapes from the input shapes, or a
  :class:`~nncore.graph.shapes.ShapeError` explaining what is wrong;
* ``count(params, inputs) -> int``: the number of trainable parameters;
* ``build(params, inputs, generator) -> Module | None``: the runnable piece;
* ``run(module, params, inputs) -> outputs``: apply it to tensors.

``inputs`` maps each input port to the list of what is wired into it (one entry, or
several for a multi-input port such as Add's).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from nncore import functional as F
from nncore import init, nn
from nncore.graph.shapes import LOSS, PortShape, ShapeError, labels, tensor
from nncore.tensor import Tensor

__all__ = ["PortSpec", "ParamSpec", "NodeType", "CATALOGUE", "CATEGORIES", "node_type",
           "ParamError", "TENSOR", "TARGET", "LOSS_KIND"]

#: Port kinds: activations, the dataset's targets (labels or values), a scalar loss.
TENSOR, TARGET, LOSS_KIND = "tensor", "target", "loss"

#: Palette order.
CATEGORIES = ("Data", "Layers", "Activations", "Normalization", "Merge", "Losses")


class ParamError(ValueError):
    """A parameter value is invalid; the message names the parameter and its range."""


@dataclass(frozen=True)
class PortSpec:
    """One port of a node type.

    Attributes:
        name: stable name, saved in files (``"input"``, ``"output"``, ``"target"``...).
        kind: ``"tensor"``, ``"target"`` or ``"loss"``; wires join ports of one kind.
        multi: an input port that accepts several wires (Add, Concatenate).
        label: the name shown on the canvas.
    """

    name: str
    kind: str = TENSOR
    multi: bool = False
    label: str = ""

    @property
    def title(self) -> str:
        return self.label or self.name


@dataclass(frozen=True)
class ParamSpec:
    """One parameter of a node type.

    Attributes:
        name: stable name, saved in files.
        type: ``"int"``, ``"float"``, ``"bool"`` or ``"choice"``.
        default: the value of a new node.
        minimum, maximum: inclusive bounds for numbers (None: unbounded);
            ``exclusive_max``: the maximum itself is not allowed.
        choices: the allowed values of a ``"choice"``.
        help: a one-line explanation (tooltip and inspector).
        label: the name shown in the inspector.
    """

    name: str
    type: str
    default: Any
    help: str
    label: str = ""
    minimum: float | None = None
    maximum: float | None = None
    exclusive_max: bool = False
    choices: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()

    def validate(self, value: Any) -> Any:
        """Return ``value`` normalized (ints as int, floats as float), or raise.

        Raises:
            ParamError: for a value of the wrong type or out of range, naming the
                parameter, the value and the allowed range.
        """
        kind = self.type
        if kind == "bool":
            if not isinstance(value, (bool, np.bool_)):
                raise ParamError(f"{self.name} must be true or false, got {value!r}")
            return bool(value)
        if kind == "choice":
            if value not in self.choices:
                raise ParamError(f"{self.name} must be one of {', '.join(self.choices)}; "
                                 f"got {value!r}")
            return str(value)
        if isinstance(value, (bool, np.bool_)) or not isinstance(
                value, (int, float, np.integer, np.floating)):
            raise ParamError(f"{self.name} must be a number, got {value!r}")
        try:
            as_float = float(value)
        except OverflowError:
            raise ParamError(f"{self.name} must be in {self.range_text()}, got a number "
                             f"of {len(str(value))} digits") from None
        if not math.isfinite(as_float):
            raise ParamError(f"{self.name} must be a finite number, got {value!r}")
        if kind == "int":
            if as_float != int(value):
                raise ParamError(f"{self.name} must be a whole number, got {value!r}")
            value = int(value)
        else:
            value = as_float
        low, high = self.minimum, self.maximum
        too_high = high is not None and (value >= high if self.exclusive_max else value > high)
        if (low is not None and value < low) or too_high:
            raise ParamError(f"{self.name} must be in {self.range_text()}, got {value!r}")
        return value

    def range_text(self) -> str:
        """The allowed range, e.g. ``[0, 1)``."""
        low = "-inf" if self.minimum is None else f"{self.minimum:g}"
        high = "inf" if self.maximum is None else f"{self.maximum:g}"
        return f"[{low}, {high}{')' if self.exclusive_max or self.maximum is None else ']'}"


Shapes = dict[str, list[PortShape]]


@dataclass(frozen=True)
class NodeType:
    """Everything NN Canvas knows about one kind of node (see the module docstring)."""

    type_id: str
    category: str
    display_name: str
    inputs: tuple[PortSpec, ...]
    outputs: tuple[PortSpec, ...]
    params: tuple[ParamSpec, ...]
    summary: str
    learn: str
    glyph: str
    infer: Callable[[dict[str, Any], Shapes], dict[str, PortShape]]
    run: Callable[[Any, dict[str, Any], dict[str, list[Tensor]]], dict[str, Tensor]]
    count: Callable[[dict[str, Any], Shapes], int] = lambda params, shapes: 0
    build: Callable[[dict[str, Any], Shapes, np.random.Generator], Any] = (
        lambda params, shapes, rng: None)
    main_params: tuple[str, ...] = ()
    param_index: dict[str, ParamSpec] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        self.param_index.update({p.name: p for p in self.params})

    def input(self, name: str) -> PortSpec | None:
        """The input port called ``name``, or None."""
        return next((p for p in self.inputs if p.name == name), None)

    def output(self, name: str) -> PortSpec | None:
        """The output port called ``name``, or None."""
        return next((p for p in self.outputs if p.name == name), None)

    def default_params(self) -> dict[str, Any]:
        """The parameters of a new node."""
        return {p.name: p.default for p in self.params}

    def validate_params(self, params: dict[str, Any]) -> dict[str, Any]:
        """A complete, normalized copy of ``params`` (missing ones get their default).

        Raises:
            ParamError: for an unknown name or an invalid value.
        """
        unknown = sorted(set(params) - set(self.param_index))
        if unknown:
            raise ParamError(f"{self.display_name} has no parameter {unknown[0]!r} "
                             f"(its parameters: {', '.join(self.param_index) or 'none'})")
        return {p.name: p.validate(params.get(p.name, p.default)) for p in self.params}


# ---------------------------------------------------------------------------- helpers
def _one(inputs: Shapes, port: str = "input") -> PortShape:
    shapes = inputs.get(port) or []
    if not shapes:
        raise ShapeError(f"input '{port}' is not connected")
    return shapes[0]


def _features(inputs: Shapes, port: str = "input") -> int:
    """The width of a ``(N, k)`` tensor wired into ``port``."""
    shape = _one(inputs, port)
    if shape.classes is not None or len(shape.dims) != 2 or shape.dims[1] is None:
        raise ShapeError(f"'{port}' needs a batch of feature vectors (N, k), got {shape}")
    return int(shape.dims[1])


def _same_shape(params: dict[str, Any], inputs: Shapes) -> dict[str, PortShape]:
    return {"output": tensor(_features(inputs))}


def _unary(fn: Callable[..., Tensor]) -> Callable[..., dict[str, Tensor]]:
    return lambda module, params, inputs: {"output": fn(inputs["input"][0])}


def _module_run(module: Any, params: dict[str, Any], inputs: dict[str, list[Tensor]]
                ) -> dict[str, Tensor]:
    return {"output": module(inputs["input"][0])}


_INITS = ("pytorch", "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal")


def _build_dense(params: dict[str, Any], inputs: Shapes, rng: np.random.Generator) -> nn.Linear:
    layer = nn.Linear(_features(inputs), params["units"], bias=params["bias"], generator=rng)
    scheme = params["init"]
    if scheme.startswith("xavier"):
        getattr(init, f"{scheme}_")(layer.weight, generator=rng)
    elif scheme.startswith("kaiming"):
        getattr(init, f"{scheme}_")(layer.weight, nonlinearity="relu", generator=rng)
    if scheme != "pytorch" and layer.bias is not None:
        init.zeros_(layer.bias)
    return layer


def _merge_inputs(inputs: Shapes) -> list[PortShape]:
    shapes = inputs.get("inputs") or []
    if not shapes:
        raise ShapeError("input 'inputs' is not connected")
    for s in shapes:
        if s.classes is not None or len(s.dims) != 2:
            raise ShapeError(f"'inputs' need batches of feature vectors (N, k), got {s}")
    return shapes


def _infer_add(params: dict[str, Any], inputs: Shapes) -> dict[str, PortShape]:
    shapes = _merge_inputs(inputs)
    if len({s.dims for s in shapes}) > 1:
        raise ShapeError("Add needs inputs of one shape, got "
                         + ", ".join(str(s) for s in shapes))
    return {"output": shapes[0]}


def _run_add(module: Any, params: dict[str, Any], inputs: dict[str, list[Tensor]]):
    total = inputs["inputs"][0]
    for t in inputs["inputs"][1:]:
        total = total + t
    return {"output": total}


def _infer_concat(params: dict[str, Any], inputs: Shapes) -> dict[str, PortShape]:
    return {"output": tensor(sum(int(s.dims[1]) for s in _merge_inputs(inputs)))}


def _infer_input(params: dict[str, Any], inputs: Shapes) -> dict[str, PortShape]:
    target = (labels(params["classes"]) if params["task"] == "classification"
              else tensor(params["targets"]))
    return {"features": tensor(params["features"]), "labels": target}


def _loss_prediction(inputs: Shapes) -> PortShape:
    shape = _one(inputs, "input")
    if shape.classes is not None or len(shape.dims) != 2:
        raise ShapeError(f"the prediction must be a batch of vectors (N, k), got {shape}")
    _one(inputs, "target")
    return shape


def _infer_cross_entropy(params: dict[str, Any], inputs: Shapes) -> dict[str, PortShape]:
    pred, target = _loss_prediction(inputs), _one(inputs, "target")
    if target.classes is None:
        raise ShapeError(f"Cross-Entropy needs class labels as target, got {target} "
                         "(for regression targets use MSE)")
    if pred.dims[1] != target.classes:
        raise ShapeError(f"the prediction has {pred.dims[1]} values per sample but the "
                         f"target has {target.classes} classes: give the last Dense "
                         f"{target.classes} units")
    return {"loss": LOSS}


def _infer_mse(params: dict[str, Any], inputs: Shapes) -> dict[str, PortShape]:
    pred, target = _loss_prediction(inputs), _one(inputs, "target")
    if target.classes is not None:
        raise ShapeError(f"MSE needs numeric targets (N, k), got {target} (for class labels "
                         "use Cross-Entropy)")
    if pred.dims != target.dims:
        raise ShapeError(f"the prediction is {pred} but the target is {target}: give the "
                         f"last Dense {target.dims[1]} units")
    return {"loss": LOSS}


def _infer_bce(params: dict[str, Any], inputs: Shapes) -> dict[str, PortShape]:
    pred, target = _loss_prediction(inputs), _one(inputs, "target")
    if target.classes is not None:
        if target.classes != 2:
            raise ShapeError(f"Binary Cross-Entropy needs 2 classes, the target has "
                             f"{target.classes} (use Cross-Entropy)")
        if pred.dims[1] != 1:
            raise ShapeError(f"for 2 classes the prediction must be (N, 1), one "
                             f"probability per sample; got {pred}")
    elif pred.dims != target.dims:
        raise ShapeError(f"the prediction is {pred} but the target is {target}")
    return {"loss": LOSS}


def _no_run(module: Any, params: dict[str, Any], inputs: dict[str, list[Tensor]]):
    raise RuntimeError("this node is evaluated by the compiled graph itself")  # pragma: no cover


def _activation(type_id: str, name: str, glyph: str, fn: Callable[..., Tensor], summary: str,
                learn: str, params: tuple[ParamSpec, ...] = (),
                main: tuple[str, ...] = ()) -> NodeType:
    run = (_unary(fn) if not params else
           (lambda module, p, inputs: {"output": fn(inputs["input"][0], **p)}))
    return NodeType(type_id, "Activations", name, (PortSpec("input"),), (PortSpec("output"),),
                    params, summary, learn, glyph, _same_shape, run, main_params=main)


# ---------------------------------------------------------------------------- the catalogue
_TYPES: list[NodeType] = [
    NodeType(
        "input", "Data", "Input", (), (PortSpec("features", label="features"),
                                        PortSpec("labels", TARGET, label="labels")),
        (ParamSpec("features", "int", 2, "features per sample (set from the dataset)",
                   minimum=1, maximum=100_000),
         ParamSpec("task", "choice", "classification", "what the labels are",
                   choices=("classification", "regression")),
         ParamSpec("classes", "int", 2, "number of classes (classification)",
                   minimum=2, maximum=10_000),
         ParamSpec("targets", "int", 1, "values to predict per sample (regression)",
                   minimum=1, maximum=10_000)),
        "The dataset: a batch of feature vectors and their labels.",
        "Feeds the network a minibatch of samples from the dataset: 'features' is an "
        "(N, features) array, 'labels' the matching class indices (classification) or "
        "target values (regression), which only a loss node may consume. Nothing here "
        "is learned; standardizing the features (mean 0, variance 1) makes every layer "
        "after it easier to train.",
        "⇥", _infer_input, _no_run, main_params=("features",)),
    NodeType(
        "dense", "Layers", "Dense", (PortSpec("input"),), (PortSpec("output"),),
        (ParamSpec("units", "int", 16, "output features (neurons)", minimum=1,
                   maximum=100_000),
         ParamSpec("bias", "bool", True, "learn an additive bias per unit"),
         ParamSpec("init", "choice", "pytorch", "how the weights start: PyTorch's default "
                   "U(±1/sqrt(in)), Xavier/Glorot, or Kaiming/He (for ReLU)",
                   label="Initialization", choices=_INITS)),
        "Fully connected layer: y = x W^T + b (PyTorch's Linear).",
        "Every output unit is a weighted sum of all inputs plus a bias: y = x W^T + b, "
        "with W of shape (units, inputs). Its gradients: dL/dx = dL/dy W, dL/dW = (dL/dy)^T x, "
        "dL/db = the sum of dL/dy over the batch. Stacked Dense layers need a "
        "nonlinearity between them, otherwise they collapse into one linear map. The "
        "initialization matters: weights too large or too small make activations and "
        "gradients explode or vanish with depth (Glorot & Bengio 2010; He et al. 2015).",
        "▦", lambda p, i: {"output": tensor(p["units"])}, _module_run,
        count=lambda p, i: _features(i) * p["units"] + (p["units"] if p["bias"] else 0),
        build=_build_dense, main_params=("units",)),
    _activation(
        "relu", "ReLU", "⌐", F.relu, "Rectified linear unit: max(0, x).",
        "Passes positive values through and zeroes negative ones: y = max(0, x); the "
        "derivative is 1 for x > 0 and 0 otherwise. Cheap, and it does not saturate for "
        "positive inputs, so deep networks train faster than with sigmoid or tanh (Nair "
        "& Hinton 2010; Glorot et al. 2011). A unit whose input stays negative gets zero "
        "gradient forever: it 'dies'; watch the dead fraction, and try Leaky ReLU, a "
        "lower learning rate or batch norm if it grows."),
    _activation(
        "leaky_relu", "Leaky ReLU", "⌐", F.leaky_relu,
        "ReLU with a small slope for negative inputs.",
        "y = x for x > 0 and a*x otherwise (a = negative slope, 0.01 by default); the "
        "derivative is 1 or a. The small negative slope keeps a gradient flowing, so "
        "units cannot die as ReLU units can (Maas et al. 2013).",
        params=(ParamSpec("negative_slope", "float", 0.01, "slope for x < 0", minimum=0.0,
                          maximum=1.0),),
        main=("negative_slope",)),
    _activation(
        "sigmoid", "Sigmoid", "∫", F.sigmoid, "Logistic function 1 / (1 + e^-x), in (0, 1).",
        "Squashes any number into (0, 1): s(x) = 1 / (1 + e^-x), derivative s(1 - s), "
        "at most 0.25. For |x| beyond about 5 it saturates: the derivative is nearly 0, "
        "so gradients vanish through stacked sigmoids, and its outputs are not centred "
        "on 0. Use it for a probability before Binary Cross-Entropy (NN Canvas then fuses "
        "the two into the stable logits form); prefer ReLU or tanh in hidden layers."),
    _activation(
        "tanh", "Tanh", "∿", F.tanh, "Hyperbolic tangent, in (-1, 1).",
        "tanh(x) = (e^x - e^-x) / (e^x + e^-x), a sigmoid rescaled to (-1, 1) and centred "
        "on 0; derivative 1 - tanh(x)^2, at most 1. Zero-centred outputs help the next "
        "layer learn, but it saturates for |x| beyond about 3 like the sigmoid, so "
        "gradients can vanish in deep stacks."),
    _activation(
        "softmax", "Softmax", "σ", F.softmax, "Turns scores into class probabilities.",
        "p_i = e^(x_i) / sum_j e^(x_j): positive numbers that sum to 1, computed with the "
        "largest score subtracted first so it never overflows. Its Jacobian is "
        "diag(p) - p p^T. Put it before Cross-Entropy if you want to see probabilities: "
        "NN Canvas fuses softmax and the log of cross-entropy into log-softmax, whose "
        "gradient is simply p - onehot(y), and never takes log(0)."),
    NodeType(
        "batchnorm", "Normalization", "BatchNorm", (PortSpec("input"),), (PortSpec("output"),),
        (ParamSpec("momentum", "float", 0.1, "weight of each new batch in the running "
                   "statistics", minimum=0.0, maximum=1.0),
         ParamSpec("eps", "float", 1e-5, "added to the variance before the square root",
                   minimum=1e-12, maximum=1.0)),
        "Batch normalization: standardize each feature over the batch, then scale and shift.",
        "y = gamma * (x - mean) / sqrt(var + eps) + beta, with the mean and variance of "
        "each feature over the minibatch in training and running averages of them in "
        "evaluation; gamma and beta are learned. The gradient flows through the batch "
        "statistics too: dL/dx = gamma / sqrt(var + eps) * (g - mean(g) - x_hat * "
        "mean(g * x_hat)) for the incoming gradient g. Keeping every layer's inputs at a steady "
        "scale lets you use larger learning rates and makes training less sensitive to "
        "initialization (Ioffe & Szegedy 2015). It needs at least 2 samples per batch in "
        "training, and behaves differently in training and evaluation.",
        "≋", _same_shape, _module_run, count=lambda p, i: 2 * _features(i),
        build=lambda p, i, rng: nn.BatchNorm1d(_features(i), eps=p["eps"],
                                               momentum=p["momentum"])),
    NodeType(
        "dropout", "Layers", "Dropout", (PortSpec("input"),), (PortSpec("output"),),
        (ParamSpec("p", "float", 0.5, "probability of zeroing each value in training",
                   label="Drop probability", minimum=0.0, maximum=1.0, exclusive_max=True),),
        "Randomly zeroes values in training, to prevent overfitting.",
        "In training each value is zeroed with probability p and the others are scaled "
        "by 1/(1-p), so the expected value is unchanged; in evaluation it does nothing. "
        "The gradient flows only through the kept values. Units cannot rely on each "
        "other, which reduces overfitting (Srivastava et al. 2014); too much dropout "
        "slows learning and lowers training accuracy.",
        "⁘", _same_shape, _module_run,
        build=lambda p, i, rng: nn.Dropout(p["p"], generator=rng), main_params=("p",)),
    NodeType(
        "add", "Merge", "Add", (PortSpec("inputs", multi=True),), (PortSpec("output"),), (),
        "Sums its inputs elementwise (a residual connection).",
        "y = a + b + ...; all inputs must have the same shape. The gradient of the sum "
        "flows unchanged into every input, which is why skip connections (y = x + f(x)) "
        "let gradients reach early layers of deep networks (He et al. 2016).",
        "+", _infer_add, _run_add),
    NodeType(
        "concatenate", "Merge", "Concatenate", (PortSpec("inputs", multi=True),),
        (PortSpec("output"),), (),
        "Joins its inputs side by side along the feature axis.",
        "y = [a, b, ...]: (N, k1) and (N, k2) become (N, k1 + k2), in the order the wires "
        "were connected. Backprop splits the gradient back into the pieces. Useful to "
        "combine branches that look at the data in different ways.",
        "⧺", _infer_concat,
        lambda module, params, inputs: {"output": F.concatenate(inputs["inputs"], axis=1)}),
    NodeType(
        "cross_entropy", "Losses", "Cross-Entropy",
        (PortSpec("input", label="logits"), PortSpec("target", TARGET)),
        (PortSpec("loss", LOSS_KIND),),
        (ParamSpec("label_smoothing", "float", 0.0, "mix this much of the uniform "
                   "distribution into the targets", minimum=0.0, maximum=1.0),),
        "Classification loss: -log of the probability given to the true class.",
        "L = -mean over the batch of log softmax(z)_y, computed from the scores z "
        "(logits) with log-sum-exp so it never overflows. Its gradient with respect to "
        "z is (softmax(z) - onehot(y)) / N: large when the network is confidently wrong, "
        "which is why it trains classifiers much faster than squared error on "
        "probabilities. Wire the last Dense layer (one unit per class) into it, directly "
        "or through a Softmax (fused into log-softmax). Label smoothing discourages "
        "over-confident predictions (Szegedy et al. 2016).",
        "ℒ", _infer_cross_entropy, _no_run, main_params=("label_smoothing",)),
    NodeType(
        "mse", "Losses", "MSE", (PortSpec("input", label="prediction"),
                                 PortSpec("target", TARGET)),
        (PortSpec("loss", LOSS_KIND),), (),
        "Regression loss: the mean squared error.",
        "L = mean((prediction - target)^2); gradient 2 (prediction - target) / n. The "
        "natural loss for predicting numbers; large errors dominate it. For class labels "
        "use Cross-Entropy: squared error on probabilities gives weak gradients when the "
        "network is confidently wrong.",
        "ℒ", _infer_mse, _no_run),
    NodeType(
        "bce", "Losses", "Binary Cross-Entropy", (PortSpec("input", label="probability"),
                                                  PortSpec("target", TARGET)),
        (PortSpec("loss", LOSS_KIND),), (),
        "Two-class loss on a probability in (0, 1).",
        "L = -mean(y log p + (1 - y) log(1 - p)) for a predicted probability p of class 1 "
        "and a target y of 0 or 1; gradient (p - y) / (p (1 - p)) per sample. Feed it "
        "Dense(1) -> Sigmoid: NN Canvas fuses the sigmoid into the loss (the 'with "
        "logits' form), whose gradient is simply p - y and which never takes log(0). "
        "Other inputs must already be probabilities; logs are clamped at -100 as in "
        "PyTorch.",
        "ℒ", _infer_bce, _no_run),
]

CATALOGUE: dict[str, NodeType] = {t.type_id: t for t in _TYPES}


def node_type(type_id: str) -> NodeType:
    """The node type with id ``type_id``.

    Raises:
        KeyError: for an unknown id, listing the known ones.
    """
    try:
        return CATALOGUE[type_id]
    except (KeyError, TypeError):
        raise KeyError(f"unknown node type {type_id!r}; known types: "
                       f"{', '.join(CATALOGUE)}") from None
