"""Export a trained network to ONNX (opset 17), built with the ``onnx`` package.

The model has one input and one output:

* input ``features``: float32 ``(N, *features)``, the features as the project's data has
  them (raw: the standardization with the training rows' mean and deviation is the
  model's first operations, in float64 as nncore does it, then cast to float32). A
  table (CSV) project's model has one input per column the pipeline uses instead, named
  by the column: a number float32 ``(N, 1)`` (NaN where missing: filled as fitted), a
  category string ``(N, 1)`` (its name, ``"3"`` for the number 3; one-hot or ordinal
  inside, with ``ai.onnx.ml.LabelEncoder``), a date float32 ``(N, 4)``: its year, month,
  day of year and weekday (Monday 0) — ONNX has no date parsing.
* output ``probabilities``: float32 ``(N, classes)``, the class probabilities (softmax
  of the scores; for Binary Cross-Entropy ``[1 - p, p]``), class i named by the
  metadata's ``classes``; or ``prediction``: float32 ``(N, targets)`` for regression.

Each node becomes the standard ONNX operator its PyTorch equivalent maps to (Dense:
Gemm, BatchNorm: BatchNormalization with the running statistics, Dropout: Identity,
Add, Concat, MatMul, ...), named by the node's display name, so it reads in Netron as
it looks on the canvas. The model passes ``onnx.checker.check_model``; onnxruntime runs
it (the tests compare it with nncore on every example's validation split).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from nncore.export.plan import ExportError, ExportPlan, Step, plan_from_run

__all__ = ["export_onnx", "build_onnx", "OPSET"]

#: The ONNX operator set the models use (onnxruntime >= 1.12 runs it).
OPSET = 17
#: The ai.onnx.ml operator set (LabelEncoder, for a table's category columns).
ML_OPSET = 3
#: The IR version written (the oldest that carries opset 17: every runtime and Netron
#: read it).
IR_VERSION = 8


def _as_plan(source: Any) -> ExportPlan:
    return source if isinstance(source, ExportPlan) else plan_from_run(source)


class _Builder:
    def __init__(self) -> None:
        from onnx import helper, numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._names: set[str] = set()

    def unique(self, base: str) -> str:
        name, k = base, 2
        while name in self._names:
            name, k = f"{base}_{k}", k + 1
        self._names.add(name)
        return name

    def const(self, name: str, value: Any, dtype: Any = np.float32) -> str:
        name = self.unique(name)
        self.initializers.append(self.numpy_helper.from_array(np.asarray(value, dtype=dtype),
                                                              name))
        return name

    def node(self, op: str, inputs: list[str], output: str | None = None, name: str = "",
             **attrs: Any) -> str:
        out = output or self.unique(f"{name or op}_out")
        self._names.add(out)
        self.nodes.append(self.helper.make_node(op, inputs, [out],
                                                name=self.unique(name or op), **attrs))
        return out


def _step(b: _Builder, s: Step) -> None:
    """One node of the network as ONNX operators; its output is named ``s.output``."""
    op, args, name, out = s.spec.op, s.spec.args, s.name, s.output
    ins = [v for names in s.inputs.values() for v in names]
    if op == "Linear":
        bias = [b.const(f"{s.attr}.bias", s.state["bias"])] if "bias" in s.state else []
        if s.rank == 2:  # Gemm: y = x Wᵀ + b
            w = b.const(f"{s.attr}.weight", s.state["weight"])
            b.node("Gemm", [ins[0], w] + bias, out, name, transB=1)
        else:  # any rank: MatMul with Wᵀ on the last axis, then the bias
            wt = b.const(f"{s.attr}.weight_T", np.ascontiguousarray(s.state["weight"].T))
            if bias:
                mid = b.node("MatMul", [ins[0], wt], None, f"{name} x·Wᵀ")
                b.node("Add", [mid, bias[0]], out, name)
            else:
                b.node("MatMul", [ins[0], wt], out, name)
    elif op == "BatchNorm1d":
        b.node("BatchNormalization",
               [ins[0]] + [b.const(f"{s.attr}.{k}", s.state[k]) for k in
                           ("weight", "bias", "running_mean", "running_var")],
               out, name, epsilon=float(args["eps"]))
    elif op in ("Dropout", "Identity"):
        b.node("Identity", [ins[0]], out, name)  # evaluation: Dropout passes its input
    elif op in _UNARY:
        b.node(_UNARY[op], [ins[0]], out, name)
    elif op == "LeakyReLU":
        b.node("LeakyRelu", [ins[0]], out, name, alpha=float(args.get("negative_slope", 0.01)))
    elif op == "Softmax":
        b.node("Softmax", [ins[0]], out, name, axis=int(args.get("dim", -1)))
    elif op == "add":
        total = ins[0]
        for k, v in enumerate(ins[1:], 1):
            total = b.node("Add", [total, v], out if k == len(ins) - 1 else None, name)
        if len(ins) == 1:
            b.node("Identity", [total], out, name)
    elif op == "cat":
        b.node("Concat", ins, out, name, axis=int(args.get("dim", -1)))
    elif op == "Parameter":
        b.initializers.append(b.numpy_helper.from_array(
            np.asarray(s.state["value"], dtype=np.float32), out))
        b._names.add(out)
    elif op == "tensor":
        b.initializers.append(b.numpy_helper.from_array(
            np.asarray(args["data"], dtype=np.float32), out))
        b._names.add(out)
    elif op in _BINARY:
        b.node(_BINARY[op], [s.inputs["a"][0], s.inputs["b"][0]], out, name)
    elif op in ("pow", "square"):
        exponent = 2.0 if op == "square" else float(args["exponent"])
        b.node("Pow", [ins[0], b.const(f"{s.attr}.exponent", exponent)], out, name)
    elif op == "sum":
        axes = [b.const(f"{s.attr}.axes", [args["dim"]], np.int64)] if "dim" in args else []
        b.node("ReduceSum", [ins[0]] + axes, out, name, keepdims=0)
    elif op == "mean":
        extra = {"axes": [int(args["dim"])]} if "dim" in args else {}
        b.node("ReduceMean", [ins[0]], out, name, keepdims=0, **extra)
    elif op == "transpose":
        if s.rank is None:
            raise ExportError(f"{s.where()}: the ONNX export needs the rank of its output")
        perm = list(range(s.rank))
        perm[-2], perm[-1] = perm[-1], perm[-2]
        b.node("Transpose", [ins[0]], out, name, perm=perm)
    else:
        raise ExportError(f"{s.where()}: the ONNX export has no operator for PyTorch's "
                          f"{op!r}", s.node_id)


_UNARY = {"ReLU": "Relu", "Sigmoid": "Sigmoid", "Tanh": "Tanh", "exp": "Exp", "log": "Log"}
_BINARY = {"matmul": "MatMul", "sub": "Sub", "mul": "Mul", "div": "Div"}


def _head(b: _Builder, plan: ExportPlan, value: str, output: str) -> None:
    steps = list(plan.head)
    if not steps:
        b.node("Identity", [value], output, "output")
        return
    for k, h in enumerate(steps):
        last = output if k == len(steps) - 1 else None
        if h == "softmax":
            value = b.node("Softmax", [value], last, "probabilities (softmax)", axis=-1)
        elif h == "sigmoid":
            value = b.node("Sigmoid", [value], last, "prediction (sigmoid)")
        elif h == "zero_and":
            zeros = b.node("ConstantOfShape", [b.node("Shape", [value], None, "shape")],
                           None, "zeros", value=b.numpy_helper.from_array(
                               np.zeros(1, dtype=np.float32)))
            value = b.node("Concat", [zeros, value], last, "scores [0, z]", axis=-1)
        elif h == "one_minus_and":
            rest = b.node("Sub", [b.const("one", 1.0), value], None, "1 - p")
            value = b.node("Concat", [rest, value], last, "[1 - p, p]", axis=-1)
        elif h == "clip01":
            value = b.node("Clip", [value, b.const("zero", 0.0), b.const("one", 1.0)], last,
                           "clip to [0, 1]")
        else:
            raise ExportError(f"the ONNX export does not know the output step {h!r} of "
                              f"{plan.loss_name!r}")


#: Texts a table cell is missing as (pandas' defaults), for a category column.
_MISSING_TEXTS = ("", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None", "#N/A",
                  "<NA>")


def _table_inputs(b: _Builder, pipeline: dict[str, Any]) -> tuple[list[Any], str]:
    """One input per column the pipeline uses, and the name of the feature matrix they
    make (as ``Pipeline.apply``): a number column float32 ``(N, 1)`` (NaN: missing,
    filled as fitted); a category column string ``(N, 1)`` (the category's name: ``"3"``
    for the number 3, a missing text filled as fitted), one-hot (an unseen category:
    zeros) or ordinal (unseen: -1); a date column float32 ``(N, 4)``: year, month, day of
    year and weekday (Monday 0), NaN missing."""
    from onnx import TensorProto, helper

    inputs, blocks = [], []
    for c in pipeline["columns"]:
        name, kind, fill = c["name"], c["kind"], c["fill"]
        b._names.add(name)
        if kind == "category":
            inputs.append(helper.make_tensor_value_info(name, TensorProto.STRING, ["N", 1]))
            cats = list(c["categories"])
            keys, values = list(cats), list(range(len(cats)))
            if fill is not None and fill in cats:
                extra = [m for m in _MISSING_TEXTS if m not in cats]
                keys += extra
                values += [cats.index(fill)] * len(extra)
            codes = b.node("LabelEncoder", [name], None, f"{name}: category index",
                           domain="ai.onnx.ml", keys_strings=keys, values_int64s=values,
                           default_int64=-1)
            if c["encoding"] == "one-hot":
                hot = b.node("Equal", [codes, b.const(f"{name}.indices", np.arange(len(cats)),
                                                      np.int64)], None, f"{name}: one-hot")
                blocks.append(b.node("Cast", [hot], None, f"{name}: one-hot (float)",
                                     to=TensorProto.FLOAT))
            else:
                blocks.append(b.node("Cast", [codes], None, f"{name}: ordinal",
                                     to=TensorProto.FLOAT))
            continue
        width = 4 if kind == "date" else 1
        inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", width]))
        value = name
        if fill is not None:
            fills = np.asarray(fill if isinstance(fill, list) else [fill] * width, np.float32)
            value = b.node("Where", [b.node("IsNaN", [name], None, f"{name}: missing"),
                                     b.const(f"{name}.fill", fills), name], None,
                           f"{name}: filled")
        blocks.append(value)
    return inputs, b.node("Concat", blocks, None, "table features", axis=1)


def build_onnx(source: Any) -> Any:
    """The ``onnx.ModelProto`` of a :class:`~nncore.project.TrainingRun` or an
    :class:`~nncore.export.plan.ExportPlan` (see the module docstring), checked with
    ``onnx.checker.check_model``.

    Raises:
        ExportError: for a node the ONNX export cannot write (naming it).
        ImportError: without the ``onnx`` package.
    """
    import onnx
    from onnx import TensorProto, helper

    plan = _as_plan(source)
    b = _Builder()
    b._names.update({"features", plan.output})
    if plan.pipeline and plan.pipeline.get("columns"):
        inputs, raw = _table_inputs(b, plan.pipeline)
    else:
        inputs = [helper.make_tensor_value_info("features", TensorProto.FLOAT,
                                                ["N", *plan.features])]
        raw = "features"
    if plan.mean is not None:
        x64 = b.node("Cast", [raw], None, "raw features to float64",
                     to=TensorProto.DOUBLE)
        centred = b.node("Sub", [x64, b.const("standardize.mean", plan.mean, np.float64)],
                         None, "minus the training mean")
        scaled = b.node("Div", [centred, b.const("standardize.scale", plan.scale, np.float64)],
                        None, "over the training deviation")
        b.node("Cast", [scaled], "x", "standardized (float32)", to=TensorProto.FLOAT)
    else:
        b.node("Identity", [raw], "x", "features")
    for s in plan.inference:
        _step(b, s)
    _head(b, plan, plan.prediction, plan.output)
    width = (len(plan.classes) if plan.classes else plan.model.num_classes) \
        if plan.task == "classification" else plan.prediction_width
    said = ("one input per table column (numbers float32 (N, 1), categories string "
            "(N, 1), dates float32 (N, 4)), as the table has them"
            if raw != "features" else "input 'features': raw features (before "
            f"standardization), float32 (N, {', '.join(map(str, plan.features))})")
    graph = helper.make_graph(
        b.nodes, "nncanvas", inputs,
        [helper.make_tensor_value_info(plan.output, TensorProto.FLOAT, ["N", width])],
        b.initializers,
        doc_string=(f"{said}; output {plan.output!r}: "
                    + ("class probabilities (N, classes)" if plan.task == "classification"
                       else "the regression prediction (N, targets)")))
    model = helper.make_model(graph, producer_name="nncanvas",
                              opset_imports=[helper.make_opsetid("", OPSET),
                                             helper.make_opsetid("ai.onnx.ml", ML_OPSET)],
                              doc_string=f"NN Canvas network trained on {plan.source}")
    model.ir_version = IR_VERSION
    meta = {"task": plan.task, "output": plan.output,
            "classes": json.dumps(plan.classes), "feature_names": json.dumps(plan.feature_names),
            "standardized": json.dumps(plan.mean is not None),
            "pipeline": json.dumps(plan.pipeline) if plan.pipeline else ""}
    helper.set_model_props(model, {k: v for k, v in meta.items() if v})
    onnx.checker.check_model(model)
    return model


def export_onnx(source: Any, path: str | os.PathLike) -> Path:
    """Write the ONNX model of ``source`` (a trained
    :class:`~nncore.project.TrainingRun` or an :class:`~nncore.export.plan.ExportPlan`)
    to ``path`` (written to a temporary file beside it, then renamed). Returns the path.

    Raises:
        ExportError: for a node the ONNX export cannot write (naming it).
        OSError: if the file cannot be written.
    """
    model = build_onnx(source)
    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(model.SerializeToString())
    os.replace(tmp, path)
    return path
