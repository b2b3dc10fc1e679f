"""What every export reads: a trained network as a list of steps (:class:`ExportPlan`).

A plan is made from a :class:`~nncore.project.TrainingRun` (:func:`plan_from_run`) or
from a project's saved model (:func:`plan_from_saved`). It walks the compiled graph's
nodes in their topological order (``CompiledGraph.order``), asks each node type for its
PyTorch equivalent (:meth:`~nncore.graph.types.NodeType.export`, an
:class:`~nncore.graph.types.ExportSpec`) and the loss type how its prediction becomes
the output (:meth:`~nncore.graph.types.LossType.export_head`); the exporters
(:mod:`nncore.export.onnx`, :mod:`nncore.export.numpy_script`,
:mod:`nncore.export.pytorch`) write each step in their own language. Nothing here asks
for a type id.

Every export takes the features as the project's data has them: raw, before the
standardization (which becomes the first operation of the exported model, with the
training rows' statistics in float64 as :meth:`nncore.data.Split.standardized` applies
them). A table's column pipeline (:class:`nncore.tables.Pipeline`: one-hot, ordinal,
dates, missing values) is written into the NumPy and PyTorch scripts as data; the ONNX
model takes the pipeline's numeric output (see :mod:`nncore.export.onnx`).
"""

from __future__ import annotations

import keyword
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nncore.graph.types import ExportSpec

__all__ = ["ExportError", "Step", "ExportPlan", "plan_from_run", "plan_from_saved",
           "raw_split", "FORMATS"]

#: The export formats, as ``nncore export --format`` and File → Export name them.
FORMATS = ("pytorch", "numpy", "onnx")


class ExportError(ValueError):
    """The network cannot be exported; the message names the node (and its type) or
    the setting at fault. ``node_id`` is the node's id, or None."""

    def __init__(self, message: str, node_id: str | None = None) -> None:
        super().__init__(message)
        self.node_id = node_id


@dataclass
class Step:
    """One node of the network in an export.

    Attributes:
        node_id: the node's id; ``attr`` the Python name the scripts give it (the id
            made an identifier: ``"n2"``).
        name: its display name (``"Dense 1"``); ``type_name`` its type's (``"Dense"``).
        spec: its PyTorch equivalent.
        inputs: input port -> the value names wired into it, in wire order.
        output: the name of its output value.
        state: its weights and buffers by the engine's names (``weight``, ``bias``,
            ``running_mean``, ``running_var``, ``value``), float32 arrays.
        rank: the rank of its output (None when unknown).
        params: the node's parameters as compiled.
    """

    node_id: str
    attr: str
    name: str
    type_name: str
    spec: ExportSpec
    inputs: dict[str, list[str]]
    output: str
    state: dict[str, np.ndarray] = field(default_factory=dict)
    rank: int | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def where(self) -> str:
        """``'Dense 1' (Dense, node n2)`` for messages."""
        return f"{self.name!r} ({self.type_name}, node {self.node_id})"


@dataclass
class ExportPlan:
    """A trained network with its preprocessing, ready to be written out.

    Attributes:
        source: the dataset's name (``"digits"``, ``"data.csv"``).
        features: the shape of one sample after the pipeline (``(64,)``).
        feature_names: one per feature column.
        task: ``"classification"`` or ``"regression"``.
        classes: the class names (index i names output i), or None.
        mean, scale: the standardization (float64 ``(features,)``), or None.
        pipeline: a table's fitted column pipeline (``Pipeline.to_dict()``), or None.
        steps: every node the training loss needs, in topological order (label
            dependent ones excluded); :attr:`inference` those the prediction needs.
        loss_steps: the nodes that use the labels (an Objective's loss written with
            operator nodes), evaluated after ``steps`` with ``"y"`` the targets.
        prediction: the value the loss reads (the fused node's input when fused).
        prediction_width: its last dimension (None when unknown).
        fused: whether the node before the loss is fused into it.
        head: the loss type's steps from ``prediction`` to the output
            (:meth:`~nncore.graph.types.LossType.export_head`).
        loss: the loss's PyTorch equivalent (``cross_entropy``, ``mse_loss``,
            ``binary_cross_entropy``; ``Identity`` for an Objective, whose value is
            :attr:`loss_value`); ``loss_name`` the loss node's display name.
        output: ``"probabilities"`` (classification, ``(N, classes)``) or
            ``"prediction"`` (regression, ``(N, targets)``).
        training, dataset: the run's settings (TrainingSettings, DatasetSettings), or
            None.
        data: the raw split (``X_train``, ``y_train``, ``X_val``, ``y_val``, ``X_test``,
            ``y_test``: features before standardization), or None.
        model: the compiled network (nncore) the plan was made from.
        initial: the weights training started from (the seed's initialization), by
            the names of :meth:`state`, or None.
        shuffle_state: the state of the run's random generator (``bit_generator.state``
            of NumPy's PCG64) when training began: the PyTorch script shuffles the
            batches with it, in nncore's order. None when unknown.
    """

    source: str
    features: tuple[int, ...]
    feature_names: list[str]
    task: str
    classes: list[str] | None
    mean: np.ndarray | None
    scale: np.ndarray | None
    pipeline: dict[str, Any] | None
    steps: list[Step]
    loss_steps: list[Step]
    prediction: str
    prediction_width: int | None
    fused: bool
    head: tuple[str, ...]
    loss: ExportSpec
    loss_name: str
    loss_value: str | None
    output: str
    training: Any = None
    dataset: Any = None
    data: dict[str, np.ndarray] | None = None
    model: Any = None
    initial: dict[str, np.ndarray] | None = None
    shuffle_state: dict[str, Any] | None = None

    @property
    def inference(self) -> list[Step]:
        """The steps the prediction needs, in order."""
        needed = _needed(self.steps, [self.prediction])
        return [s for s in self.steps if s.output in needed]

    def state(self) -> dict[str, np.ndarray]:
        """Every weight and buffer by ``"<attr>.<name>"`` (``"n2.weight"``)."""
        return {f"{s.attr}.{k}": v for s in (*self.steps, *self.loss_steps)
                for k, v in s.state.items()}

    def standardize(self, X: np.ndarray) -> np.ndarray:
        """``X`` as the network sees it: ``(X - mean) / scale`` in float64, then
        float32, as nncore standardizes (unchanged if not standardized)."""
        X = np.asarray(X, dtype=np.float32)
        if self.mean is None:
            return X
        return ((X - self.mean) / self.scale).astype(np.float32)

    def nncore_output(self, X: np.ndarray) -> np.ndarray:
        """nncore's own output for raw features ``X`` (evaluation mode): the class
        probabilities (float64, :meth:`~nncore.graph.compile.CompiledGraph.probabilities`)
        or the regression prediction (float32) — what every export is compared with."""
        from nncore.tensor import Tensor, no_grad

        model = self.model
        was = model.training
        model.eval()
        try:
            with no_grad():
                out = model(Tensor(self.standardize(X))).data
        finally:
            model.train(was)
        if self.task == "classification":
            return model.probabilities(out)
        return model.predictions(out)


def _needed(steps: list[Step], values: list[str]) -> set[str]:
    by_output = {s.output: s for s in steps}
    seen, stack = set(values), list(values)
    while stack:
        step = by_output.get(stack.pop())
        if step is None:
            continue
        for names in step.inputs.values():
            for v in names:
                if v not in seen:
                    seen.add(v)
                    stack.append(v)
    return seen


def _identifier(node_id: str, taken: set[str]) -> str:
    name = re.sub(r"\W", "_", node_id)
    if not name or name[0].isdigit() or keyword.iskeyword(name) or name in ("x", "y"):
        name = f"node_{name}"
    base, k = name, 2
    while name in taken:
        name, k = f"{base}_{k}", k + 1
    taken.add(name)
    return name


def build_plan(graph: Any, model: Any, shape: Any, *, mean: Any = None, scale: Any = None,
               pipeline: dict[str, Any] | None = None, classes: list[str] | None = None,
               feature_names: list[str] | None = None, training: Any = None,
               dataset: Any = None, data: dict[str, np.ndarray] | None = None) -> ExportPlan:
    """The plan of ``model`` (a :class:`~nncore.graph.compile.CompiledGraph` of
    ``graph`` compiled for ``shape``) with its preprocessing.

    Raises:
        ExportError: for a node whose type has no export (naming the node and type).
    """
    analysis = graph.analysis(shape)
    taken: set[str] = set()
    attrs = {nid: _identifier(nid, taken) for nid in [*model.order, *model.loss_order]}
    input_id, labels_port = model.input_id, model.labels_port

    def value_name(wire: tuple[str, str]) -> str:
        nid, port = wire
        if nid == input_id:
            return "y" if port == labels_port else "x"
        return attrs[nid] if port == "output" else f"{attrs[nid]}_{port}"

    full_state = model.state_dict()

    def make(nid: str) -> Step | None:
        ntype = model.node_types[nid]
        if ntype.reads_data:
            return None
        params = model.node_params(nid)
        shapes = {port: analysis.input_shapes.get((nid, port), [])
                  for port in model.wires_into(nid)}
        spec = ntype.export(params, shapes)
        name = model.node_names[nid]
        if spec is None:
            raise ExportError(f"{name!r} ({ntype.display_name}, node {nid}): the "
                              f"{ntype.display_name} node type has no export (its "
                              "export() gives no PyTorch equivalent)", nid)
        outs = [p.name for p in ntype.outputs]
        out_shape = analysis.shapes.get((nid, outs[0]))
        prefix = f"{nid}."
        state = {k[len(prefix):]: np.array(v) for k, v in full_state.items()
                 if k.startswith(prefix)}
        return Step(node_id=nid, attr=attrs[nid], name=name, type_name=ntype.display_name,
                    spec=spec, inputs={port: [value_name(w) for w in wires]
                                       for port, wires in model.wires_into(nid).items()},
                    output=value_name((nid, outs[0])), state=state,
                    rank=None if out_shape is None else len(out_shape.dims), params=params)

    forward = [s for s in (make(n) for n in model.order) if s is not None]
    loss_steps = [s for s in (make(n) for n in model.loss_order) if s is not None]
    wire, fused = model.prediction_wire
    prediction = value_name(wire)
    loss_type = model.loss_node_type
    loss_wires = model.wires_into(model.loss_id)
    loss_value = None
    if loss_type.in_graph:
        loss_value = value_name(loss_wires[loss_type.inputs[0].name][0])
    wanted = [prediction] + [v for s in loss_steps for names in s.inputs.values()
                             for v in names]
    if loss_value is not None:
        wanted.append(loss_value)
    needed = _needed(forward, wanted)
    steps = [s for s in forward if s.output in needed]
    pshape = analysis.shapes.get(wire) if wire[0] != input_id else None
    width = None
    if pshape is not None and pshape.dims and pshape.dims[-1] is not None:
        width = int(pshape.dims[-1])
    elif wire[0] == input_id:
        width = int(shape.features[-1])
    head = tuple(loss_type.export_head(fused, model.task))
    if "one_minus_and_if_one" in head:
        head = tuple(("one_minus_and",) if h == "one_minus_and_if_one" and width == 1 else
                     () if h == "one_minus_and_if_one" else (h,) for h in head)
        head = tuple(x for part in head for x in part)
    loss_shapes = {port: analysis.input_shapes.get((model.loss_id, port), [])
                   for port in loss_wires}
    loss_spec = loss_type.export(model.node_params(model.loss_id), loss_shapes)
    if loss_spec is None:
        raise ExportError(f"{model.loss_name!r} ({loss_type.display_name}, node "
                          f"{model.loss_id}): the loss has no export", model.loss_id)
    return ExportPlan(
        source=shape.source or "", features=tuple(shape.features),
        feature_names=list(feature_names) if feature_names is not None else
        [f"x{i}" for i in range(int(np.prod(shape.features)))],
        task=model.task, classes=list(classes) if classes is not None else None,
        mean=None if mean is None else np.asarray(mean, dtype=np.float64),
        scale=None if scale is None else np.asarray(scale, dtype=np.float64),
        pipeline=pipeline, steps=steps, loss_steps=loss_steps, prediction=prediction,
        prediction_width=width, fused=fused, head=head, loss=loss_spec,
        loss_name=model.loss_name, loss_value=loss_value,
        output="probabilities" if model.task == "classification" else "prediction",
        training=training, dataset=dataset, data=data, model=model)


def raw_split(run: Any) -> dict[str, np.ndarray]:
    """The run's split before standardization (the same rows: the split is seeded):
    ``X_train``, ``y_train``, ``X_val``, ``y_val``, ``X_test``, ``y_test``."""
    from nncore.data import SplitWarning, split

    ds = run.dataset_settings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SplitWarning)
        parts = split(run.data, val_fraction=ds.val_fraction, test_fraction=ds.test_fraction,
                      seed=ds.seed)
    return {k: np.asarray(getattr(parts, k)) for k in
            ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test")}


def plan_from_run(run: Any) -> ExportPlan:
    """The plan of a :class:`~nncore.project.TrainingRun` as it is now (its weights,
    standardization, pipeline, settings and raw split).

    Raises:
        ExportError: for a node whose type has no export.
    """
    plan = build_plan(run.graph, run.model, run.shape, mean=run.split.mean,
                      scale=run.split.scale,
                      pipeline=None if run.data.pipeline is None else run.data.pipeline.to_dict(),
                      classes=None if run.data.classes is None else list(run.data.classes),
                      feature_names=list(run.data.feature_names), training=run.settings,
                      dataset=run.dataset_settings, data=raw_split(run))
    _add_initial(plan, run.graph, run.shape, run.settings.seed)
    return plan


def _add_initial(plan: ExportPlan, graph: Any, shape: Any, seed: int) -> None:
    """The seed's initial weights and the generator's state after them: compiling
    again with the run's seed draws the same numbers (TrainingRun compiles with
    ``default_rng(seed)`` and then shuffles with the same generator)."""
    from nncore.graph.compile import compile_graph

    rng = np.random.default_rng(seed)
    first = compile_graph(graph, shape, rng).state_dict()
    attrs = {s.node_id: s.attr for s in (*plan.steps, *plan.loss_steps)}
    plan.initial = {}
    for key, value in first.items():
        nid, _, rest = key.partition(".")
        if nid in attrs:
            plan.initial[f"{attrs[nid]}.{rest}"] = np.array(value)
    plan.shuffle_state = rng.bit_generator.state


def plan_from_saved(graph: Any, saved: Any, data: dict[str, np.ndarray] | None = None
                    ) -> ExportPlan:
    """The plan of a project's saved model (:class:`~nncore.project.SavedModel`) for its
    graph; ``data`` the raw split for the PyTorch training loop (optional).

    Raises:
        ExportError: for a node whose type has no export; WeightsError (a ValueError)
            for weights that do not fit the graph.
    """
    from nncore.project.settings import DatasetSettings, TrainingSettings

    model = saved.compiled(graph)
    plan = build_plan(graph, model, saved.shape, mean=saved.mean, scale=saved.scale,
                      pipeline=saved.pipeline, classes=saved.classes,
                      feature_names=saved.feature_names,
                      training=TrainingSettings.from_dict(graph.settings.get("training")),
                      dataset=DatasetSettings.from_dict(graph.settings.get("dataset")),
                      data=data)
    _add_initial(plan, graph, saved.shape, plan.training.seed)
    return plan
