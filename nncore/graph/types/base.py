"""What a node type is: :class:`NodeType` (and :class:`LossType` for losses), with its
ports, parameters, texts and rules.

One class per kind of node, holding everything NN Canvas knows about it, declared once:

* data: ``type_id`` (saved in files), ``category`` and ``display_name`` (the palette),
  ``inputs`` and ``outputs`` (:class:`PortSpec`), ``params``
  (:class:`nncore.spec.ParamSpec`), ``summary`` and ``learn`` (texts for learners: what
  it computes, its derivative, when it helps or hurts), ``glyph`` (its icon);
* rules: :meth:`NodeType.infer` (output shapes from input shapes, or a
  :class:`~nncore.graph.shapes.ShapeError` saying what is wrong), :meth:`NodeType.count`
  (trainable parameters), :meth:`NodeType.build` (the :mod:`nncore.nn` module, if it
  learns), :meth:`NodeType.forward` (apply it to tensors), :meth:`NodeType.card_text`
  (what its card on the canvas says), :meth:`NodeType.unit_stat` (a health figure of
  its activations for the live views), :meth:`NodeType.export` (the PyTorch
  equivalent, for the exports) and :meth:`NodeType.explain` (the chain rule at the node
  with the live numbers of a step-through, :mod:`nncore.stepthrough`).

``inputs`` of the rules map each input port to the list of what is wired into it (one
entry, or several for a multi-input port such as Add's). Nothing outside a node type
asks for its type id to decide what to do: compile, the canvas, the worker call these
methods (ryvencore's node classes; tinygrad's one op, one class).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from nncore.graph.shapes import DataShape, PortShape, Shapes, batch_tensor
from nncore.graph.types.explain import NodeStep, at, num, pending, spot, value_line
from nncore.spec import ParamSpec, SpecError
from nncore.tensor import Tensor

__all__ = ["PortSpec", "NodeType", "ModuleType", "LossType", "ParamError", "ExportSpec", "TENSOR",
           "TARGET", "LOSS_KIND", "Params", "NodeValueError"]

#: Port kinds: activations, the dataset's targets (labels or values), a scalar loss.
TENSOR, TARGET, LOSS_KIND = "tensor", "target", "loss"

Params = dict[str, Any]


class ParamError(SpecError):
    """A node parameter is invalid; the message names the parameter and its range."""


class NodeValueError(ValueError):
    """The values reaching a node are wrong for it (not their shapes): e.g. Binary
    Cross-Entropy given numbers outside [0, 1]. The compiled graph names the node."""


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
class ExportSpec:
    """How a node is written in PyTorch (the exports generate code and ONNX from it).

    Attributes:
        op: PyTorch's name: a ``torch.nn`` module (``"Linear"``, ``"ReLU"``) when
            ``module`` is true, else a ``torch`` / ``torch.nn.functional`` function
            (``"add"``, ``"cat"``, ``"cross_entropy"``).
        module: whether ``op`` is a module holding state (weights, buffers).
        args: its arguments, PyTorch's names (``{"in_features": 64, ...}``).
    """

    op: str
    module: bool = True
    args: dict[str, Any] = field(default_factory=dict)


class NodeType:
    """Everything NN Canvas knows about one kind of node (see the module docstring).

    Subclasses set the class attributes and override the rules they need; the
    defaults suit a one-input, one-output node that keeps its input's shape and learns
    nothing (an activation). One instance per class is registered in
    :data:`nncore.graph.types.CATALOGUE`.
    """

    type_id: ClassVar[str] = ""
    category: ClassVar[str] = ""
    display_name: ClassVar[str] = ""
    inputs: ClassVar[tuple[PortSpec, ...]] = (PortSpec("input"),)
    outputs: ClassVar[tuple[PortSpec, ...]] = (PortSpec("output"),)
    params: ClassVar[tuple[ParamSpec, ...]] = ()
    summary: ClassVar[str] = ""
    learn: ClassVar[str] = ""
    glyph: ClassVar[str] = "?"
    #: The parameters the card shows (the default :meth:`card_text`).
    main_params: ClassVar[tuple[str, ...]] = ()
    #: The node feeds the dataset's samples into the network (the Input): its output
    #: shapes come from the data (:meth:`infer_data`), its values from the batch.
    reads_data: ClassVar[bool] = False
    #: The fewest samples a training minibatch may hold for this node (BatchNorm: 2,
    #: a variance needs two values); checked against the batch size before training.
    min_batch: ClassVar[int] = 1

    def __init__(self) -> None:
        self.param_index: dict[str, ParamSpec] = {p.name: p for p in self.params}

    def __repr__(self) -> str:
        return f"<node type {self.type_id}>"

    # ------------------------------------------------------------------ ports and params
    def input(self, name: str) -> PortSpec | None:
        """The input port called ``name``, or None."""
        return next((p for p in self.inputs if p.name == name), None)

    def output(self, name: str) -> PortSpec | None:
        """The output port called ``name``, or None."""
        return next((p for p in self.outputs if p.name == name), None)

    @property
    def is_loss(self) -> bool:
        """Whether the node computes what training minimizes (a loss port)."""
        return any(p.kind == LOSS_KIND for p in self.outputs)

    def default_params(self) -> Params:
        """The parameters of a new node."""
        return {p.name: p.default for p in self.params}

    def migrate_params(self, params: Params, version: int) -> Params:
        """The parameters of a node saved by file format ``version`` (older than the
        current one), as this version names them. Default: unchanged."""
        return params

    def validate_params(self, params: Params) -> Params:
        """A complete, normalized copy of ``params`` (missing ones get their default).

        Raises:
            ParamError: for an unknown name or an invalid value.
        """
        unknown = sorted(set(params) - set(self.param_index))
        if unknown:
            raise ParamError(f"{self.display_name} has no parameter {unknown[0]!r} "
                             f"(its parameters: {', '.join(self.param_index) or 'none'})")
        try:
            return {p.name: p.validate(params.get(p.name, p.default)) for p in self.params}
        except SpecError as e:
            raise ParamError(e.reason, e.path) from None

    # ------------------------------------------------------------------ rules
    def infer(self, params: Params, inputs: Shapes) -> dict[str, PortShape]:
        """The output shapes for these input shapes (default: the input's shape, any
        rank).

        Raises:
            ShapeError: saying what is wrong (shown on the node).
        """
        return {"output": batch_tensor(inputs)}

    def infer_data(self, params: Params, data: DataShape | None) -> dict[str, PortShape]:
        """For a node that :attr:`reads_data`: its output shapes from the dataset's
        shape (None when the dataset is unknown or cannot be read).

        Raises:
            ShapeError: without data.
        """
        raise NotImplementedError  # pragma: no cover - only data nodes are asked

    def count(self, params: Params, inputs: Shapes) -> int:
        """The number of trainable parameters (default 0)."""
        return 0

    def build(self, params: Params, inputs: Shapes, rng: np.random.Generator) -> Any:
        """The :mod:`nncore.nn` module holding this node's weights and buffers, or None
        for a node without state (the default)."""
        return None

    def forward(self, module: Any, params: Params, inputs: dict[str, list[Tensor]]
                ) -> dict[str, Tensor]:
        """Apply the node: its output tensors from its input tensors. ``module`` is what
        :meth:`build` made (or None)."""
        raise NotImplementedError(f"{self.display_name} has no forward")  # pragma: no cover

    def feed(self, batch: Tensor) -> dict[str, Tensor]:
        """For a node that :attr:`reads_data`: its outputs for a minibatch of samples."""
        raise NotImplementedError  # pragma: no cover - only data nodes are asked

    def card_text(self, params: Params, data: DataShape | None = None) -> str:
        """The line the canvas card shows under the title (``"128 units"``): by default
        the :attr:`main_params` as ``name value``, else the summary when it is short."""
        shown = [f"{self.param_index[k].title.lower()} {_short(params[k])}"
                 for k in self.main_params if k in params]
        if shown:
            return ", ".join(shown)
        return self.summary.split(":")[0].rstrip(".") if len(self.summary) < 40 else ""

    def unit_stat(self, activations: np.ndarray) -> dict[str, float]:
        """A figure of the health of this node's units for the live views, from its
        outputs on a probe batch ``(N, units)`` in evaluation mode (e.g. ReLU:
        ``{"dead": share of units never positive}``). Default: none."""
        return {}

    @property
    def has_unit_stat(self) -> bool:
        """Whether :meth:`unit_stat` gives a figure (so the probe pass is worth it)."""
        return type(self).unit_stat is not NodeType.unit_stat

    def export(self, params: Params, inputs: Shapes) -> ExportSpec | None:
        """The PyTorch equivalent (None: nothing to write, e.g. the Input)."""
        return None

    def explain(self, step: NodeStep) -> str:
        """The chain rule at this node with the live numbers plugged in, for the
        selected element ``step.index`` of its first output: what the forward pass
        computed there and how the backward pass turns dL/d(output) into dL/d(input)
        (lines separated by newlines; the step-through shows it). Default: the
        selected output and its gradient; the types override it with their formula
        (Sigmoid: ``dL/dx = dL/dy · y(1 − y) = −0.21 · 0.73 · 0.27 = −0.041``).

        Raises:
            IndexError: for an index outside the output's shape.
        """
        i = step.index
        lines = [f"{step.name}: {self.summary}", value_line(step, "output")]
        g = step.g
        lines.append(f"dL/dy{spot(i)} = {num(at(g, i))}" if g is not None
                     else f"dL/dy{spot(i)}: {pending(step)}")
        return "\n".join(lines)


class ModuleType(NodeType):
    """A node whose forward is its :meth:`~NodeType.build` module applied to its one
    input (Dense, Dropout, BatchNorm)."""

    def forward(self, module: Any, params: Params, inputs: dict[str, list[Tensor]]
                ) -> dict[str, Tensor]:
        return {"output": module(inputs["input"][0])}


class LossType(NodeType):
    """A node whose output is the loss training minimizes.

    Besides the rules of a node type, a loss says how the network's output becomes the
    loss (:meth:`loss`), what the metrics compare (:meth:`scores`, :meth:`predictions`),
    which node before it is fused into it for numerical stability (:attr:`fuses`: the
    fused node's type id -> the fused form), and whether it wants numeric targets
    (:attr:`wants_regression`: a CSV of whole numbers is then read as values, not
    classes). In :meth:`~NodeType.explain`, ``step.index`` selects an element of the
    prediction the loss reads (``step.extra["prediction"]``: the fused node's input
    when fused), the loss itself being a scalar.
    """

    category: ClassVar[str] = "Losses"
    inputs: ClassVar[tuple[PortSpec, ...]] = (PortSpec("input", label="prediction"),
                                              PortSpec("target", TARGET))
    outputs: ClassVar[tuple[PortSpec, ...]] = (PortSpec("loss", LOSS_KIND),)
    glyph: ClassVar[str] = "ℒ"
    fuses: ClassVar[dict[str, str]] = {}
    wants_regression: ClassVar[bool] = False
    #: The input port carrying the network's prediction (what the metrics compare).
    prediction_port: ClassVar[str] = "input"
    #: The loss is a value computed by the graph itself (the Objective node): the
    #: compiled graph evaluates the nodes that use the labels and returns the value
    #: wired into the loss node's first input instead of calling :meth:`loss`.
    in_graph: ClassVar[bool] = False

    def forward(self, module: Any, params: Params, inputs: dict[str, list[Tensor]]
                ) -> dict[str, Tensor]:
        raise RuntimeError("a loss is evaluated by the compiled graph's loss()")  # pragma: no cover

    def scores(self, prediction: Tensor, fused: bool, task: str) -> Tensor:
        """What the compiled graph's forward returns for the metrics (accuracy is its
        arg-max): by default the prediction itself."""
        return prediction

    def predictions(self, output: np.ndarray, fused: bool, task: str) -> np.ndarray:
        """What regression metrics compare with the targets, from :meth:`scores`'
        output (default: the output)."""
        return output

    def probabilities(self, output: np.ndarray, fused: bool) -> np.ndarray:
        """Class probabilities ``(N, classes)`` (float64, rows summing to 1) from
        :meth:`scores`' output of a classifier: by default the softmax of the scores
        (logits), computed after subtracting each row's maximum (never overflows)."""
        z = np.asarray(output, dtype=np.float64)
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)

    def export_head(self, fused: bool, task: str) -> tuple[str, ...]:
        """How the exports (:mod:`nncore.export`) turn the value the loss reads (the
        fused node's input when fused) into what they output: the steps, in order, of
        :meth:`scores` then :meth:`probabilities` (classification) or
        :meth:`predictions` (regression), each one of ``"softmax"`` (along the last
        axis), ``"zero_and"`` (``[0, z]``), ``"one_minus_and"`` (``[1 - p, p]``),
        ``"one_minus_and_if_one"`` (the same for a prediction of one column, else
        nothing), ``"clip01"`` (clip to [0, 1]) and ``"sigmoid"``. Default: the softmax of the
        scores for a classifier, the prediction itself for regression."""
        return ("softmax",) if task == "classification" else ()

    def loss(self, output: Tensor, target: Any, params: Params, fused: bool,
             task: str) -> Tensor:
        """The loss of :meth:`scores`' output against the dataset's targets (class
        indices ``(N,)`` or values ``(N, k)``).

        Args:
            fused: the node before the loss was fused into it (see :attr:`fuses`).
            task: ``"classification"`` or ``"regression"``.

        Raises:
            ValueError: for targets this loss cannot use; NodeValueError for inputs it
                cannot use (the compiled graph adds the node's name).
        """
        raise NotImplementedError  # pragma: no cover


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value).replace("_", " ")
