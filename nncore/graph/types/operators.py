"""Operator nodes: the computation graph written by hand, one operation per node.

A Dense layer is ``x W^T + b``; here a learner writes it as a Parameter ``W`` of shape
``(inputs, units)``, a MatMul and an Add, and sees backpropagation go through each
operation. Every node uses the engine's own differentiable ops (:mod:`nncore.functional`),
so its gradient is checked like every other op's. Shapes follow NumPy (and PyTorch):
elementwise operations broadcast, MatMul contracts the last axis of ``a`` with the
second-to-last of ``b``.

Tensors here may lack the batch dimension (a Parameter ``(4, 1)``, a Constant, a Sum
over everything), unlike a layer's input. The dataset's targets enter through One-hot
(class labels) or Targets, and an Objective makes any scalar the loss training
minimizes, so a loss can be written by hand.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from nncore import functional as F
from nncore import init, nn
from nncore.graph.shapes import LOSS, PortShape, Shapes, ShapeError, broadcast, one, tensor
from nncore.graph.types import register
from nncore.graph.types.base import (LOSS_KIND, TARGET, ExportSpec, LossType, NodeType, Params,
                                     PortSpec)
from nncore.graph.types.explain import (NodeStep, at, chain_rule, mapped_index, num, pending,
                                        signed, spot, value_line, written_sum)
from nncore.spec import ParamSpec
from nncore.tensor import Tensor

__all__ = ["Parameter", "Constant", "MatMul", "Subtract", "Multiply", "Divide", "Power",
           "Square", "Exp", "Log", "Sum", "Mean", "Transpose", "OneHot", "Targets",
           "Objective", "value"]

_INITS = ("uniform", "normal", "zeros", "ones")


def value(inputs: Shapes, port: str = "input") -> PortShape:
    """The tensor (not class labels, not a loss) wired into ``port``, of any rank.

    Raises:
        ShapeError: if nothing is wired or it carries class labels.
    """
    shape = one(inputs, port)
    if shape.is_labels:
        raise ShapeError(f"'{port}' needs a tensor of numbers, got {shape} (turn class "
                         "labels into a tensor with One-hot)")
    return shape


def _dim(d: int | None) -> str:
    return "N" if d is None else str(d)


class _Operator(NodeType):
    category = "Operators"


class _Unary(_Operator):
    """``y = f(x)`` elementwise: the output has the input's shape. A subclass names the
    engine's function (``op``, in :mod:`nncore.functional`, also PyTorch's name) or
    overrides :meth:`apply`."""

    op: ClassVar[str] = ""

    def infer(self, params: Params, inputs: Shapes) -> dict[str, PortShape]:
        return {"output": value(inputs)}

    def forward(self, module: Any, params: Params, inputs: dict[str, list[Tensor]]
                ) -> dict[str, Tensor]:
        return {"output": self.apply(params, inputs["input"][0])}

    def apply(self, params: Params, x: Tensor) -> Tensor:
        return getattr(F, self.op)(x)

    def export(self, params: Params, inputs: Shapes) -> ExportSpec:
        return ExportSpec(self.op, module=False)

    def local(self, params: Params, x: float, y: float) -> tuple[str, str, list[float]]:
        """For :meth:`explain`: the forward formula in x, the backward rule (``"dL/dy ·
        y"``) and its factors after dL/dy at one element (subclasses override)."""
        raise NotImplementedError  # pragma: no cover

    def explain(self, step: NodeStep) -> str:
        x, y, g = (at(a, step.index) for a in (step.x(), step.y, step.g))
        forward, rule, factors = self.local(step.params, x, y)
        return "\n".join([value_line(step, forward, forward.replace("x", f"({num(x)})")),
                          chain_rule(step, rule, [g, *factors])])


class _Binary(_Operator):
    """``y = op(a, b)`` of two inputs, ``op`` the engine's function (PyTorch's name):
    elementwise with NumPy's broadcasting, unless the subclass's shape rule says
    otherwise (MatMul)."""

    inputs: ClassVar[tuple[PortSpec, ...]] = (PortSpec("a"), PortSpec("b"))
    op: ClassVar[str] = ""

    def infer(self, params: Params, inputs: Shapes) -> dict[str, PortShape]:
        a, b = value(inputs, "a"), value(inputs, "b")
        # the graph's message puts the node's name first (one prefix, not two)
        return {"output": broadcast(a, b)}

    def forward(self, module: Any, params: Params, inputs: dict[str, list[Tensor]]
                ) -> dict[str, Tensor]:
        return {"output": getattr(F, self.op)(inputs["a"][0], inputs["b"][0])}

    def export(self, params: Params, inputs: Shapes) -> ExportSpec:
        return ExportSpec(self.op, module=False)

    symbol: ClassVar[str] = ""

    def local(self, a: float, b: float) -> tuple[str, list[float], str, list[float]]:
        """For :meth:`explain`: the rule and factors (after dL/dy) of dL/da and of
        dL/db at one element (subclasses override)."""
        raise NotImplementedError  # pragma: no cover

    def explain(self, step: NodeStep) -> str:
        """The operation at the selected element, each input's share of the gradient
        there, and for a broadcast input its gradient summed over the broadcast axes."""
        i = step.index
        a, b, g = at(step.x("a"), i), at(step.x("b"), i), at(step.g, i)
        rule_a, fa, rule_b, fb = self.local(a, b)
        lines = [value_line(step, f"a {self.symbol} b", f"{num(a)} {self.symbol} {signed(b)}"),
                 chain_rule(step, rule_a, [g, *fa], "a"), chain_rule(step, rule_b, [g, *fb], "b")]
        if step.g is not None:
            for port in ("a", "b"):
                x, gx = step.x(port), step.gx(port)
                if np.shape(x) != np.shape(step.g) and gx is not None:
                    j = mapped_index(i, np.shape(x))
                    lines.append(f"{port} {np.shape(x)} was broadcast to {np.shape(step.g)}: "
                                 f"dL/d{port}{spot(j)} sums over the broadcast axes = "
                                 f"{num(at(gx, j))}")
        return "\n".join(lines)


class _Holder(nn.Module):
    """The module of a Parameter node: one learnable tensor, ``value``."""

    def __init__(self, data: np.ndarray) -> None:
        super().__init__()
        self.value = nn.Parameter(data)

    def forward(self) -> Tensor:  # pragma: no cover - the node type reads .value
        return self.value


class _OneHot(nn.Module):
    """Class indices ``(N,)`` → float32 ``(N, classes)`` rows of 0 with a 1 at the class
    (no gradient flows into labels)."""

    def __init__(self, classes: int) -> None:
        super().__init__()
        self.classes = classes

    def forward(self, y: Any) -> Tensor:
        labels = np.asarray(y.data if isinstance(y, Tensor) else y)
        if labels.size and (labels.min() < 0 or labels.max() >= self.classes):
            bad = labels[(labels < 0) | (labels >= self.classes)][0]
            raise ValueError(f"label {bad:g} is not a class index in [0, {self.classes})")
        out = np.zeros((len(labels), self.classes), dtype=np.float32)
        out[np.arange(len(labels)), labels.astype(np.int64)] = 1.0
        return Tensor(out)

    def extra_repr(self) -> str:
        return f"classes={self.classes}"


@register
class Parameter(_Operator):
    """A learnable tensor written by hand (the W or b of a layer): ``(rows,)`` when
    ``columns`` is 0, else ``(rows, columns)``."""

    type_id = "parameter"
    display_name = "Parameter"
    inputs: ClassVar[tuple[PortSpec, ...]] = ()
    params = (
        ParamSpec("rows", "int", 1, "the first dimension (for W of x·W: the inputs)",
                  minimum=1, maximum=100_000),
        ParamSpec("columns", "int", 1, "the second dimension (for W of x·W: the units); "
                  "0 makes a vector (rows,), e.g. a bias", minimum=0, maximum=100_000),
        ParamSpec("init", "choice", "uniform", "how it starts: U(±1/sqrt(rows)) "
                  "(PyTorch's Linear default for W of x·W), N(0, 0.01²), zeros or ones",
                  label="Initialization", choices=_INITS),
    )
    summary = "A learnable tensor (a weight matrix W or a bias b), trained by the optimizer."
    learn = ("Holds numbers that training changes: after each backward pass the optimizer "
             "moves them against their gradient dL/dW, which backpropagation collects from "
             "every operation that used them. W of shape (inputs, units) with x·W + b is a "
             "Dense layer written by hand. Starting every weight at the same value (zeros) "
             "makes all units learn the same thing; random starts break the symmetry.")
    glyph = "θ"

    def explain(self, step: NodeStep) -> str:
        i = step.index
        lines = [f"{step.name}: a learnable tensor of shape {np.shape(step.y)}",
                 value_line(step, "its current value")]
        if step.g is None:
            lines.append(f"dL/d{step.name}{spot(i)}: {pending(step)}")
        else:
            lines.append(f"dL/d{step.name}{spot(i)} = {num(at(step.g, i))}: the sum of what "
                         "every operation using it sent back; Apply update moves it against "
                         "this gradient")
        return "\n".join(lines)

    @staticmethod
    def shape(params: Params) -> tuple[int, ...]:
        """The tensor's shape from ``rows`` and ``columns``."""
        rows, cols = int(params["rows"]), int(params["columns"])
        return (rows,) if cols == 0 else (rows, cols)

    def infer(self, params: Params, inputs: Shapes) -> dict[str, PortShape]:
        return {"output": PortShape(self.shape(params))}

    def count(self, params: Params, inputs: Shapes) -> int:
        return int(np.prod(self.shape(params)))

    def build(self, params: Params, inputs: Shapes, rng: np.random.Generator) -> _Holder:
        data = np.empty(self.shape(params), dtype=np.float32)
        scheme = params["init"]
        if scheme == "uniform":
            bound = 1.0 / np.sqrt(params["rows"])
            init.uniform_(data, -bound, bound, generator=rng)
        elif scheme == "normal":
            init.normal_(data, 0.0, 0.01, generator=rng)
        else:
            data[...] = 0.0 if scheme == "zeros" else 1.0
        return _Holder(data)

    def forward(self, module: Any, params: Params, inputs: dict[str, list[Tensor]]
                ) -> dict[str, Tensor]:
        return {"output": module.value}

    def card_text(self, params: Params, data: Any = None) -> str:
        return " x ".join(map(str, self.shape(params))) + f", {params['init']}"

    def export(self, params: Params, inputs: Shapes) -> ExportSpec:
        return ExportSpec("Parameter", module=True, args={"shape": list(self.shape(params))})


@register
class Constant(_Operator):
    """A fixed number (a scalar), broadcast against whatever it meets."""

    type_id = "constant"
    display_name = "Constant"
    inputs: ClassVar[tuple[PortSpec, ...]] = ()
    params = (ParamSpec("value", "float", 1.0, "the number"),)
    main_params = ("value",)
    summary = "A fixed number; nothing here is learned."
    learn = ("A scalar that takes part in the computation without being trained (its "
             "gradient is computed but never used): 1 in 1 - y, 0.5 in 0.5·x², a margin.")
    glyph = "c"

    def infer(self, params: Params, inputs: Shapes) -> dict[str, PortShape]:
        return {"output": PortShape(())}

    def forward(self, module: Any, params: Params, inputs: dict[str, list[Tensor]]
                ) -> dict[str, Tensor]:
        return {"output": Tensor(np.asarray(params["value"], dtype=np.float32))}

    def card_text(self, params: Params, data: Any = None) -> str:
        return f"{params['value']:g}"

    def export(self, params: Params, inputs: Shapes) -> ExportSpec:
        return ExportSpec("tensor", module=False, args={"data": params["value"]})

    def explain(self, step: NodeStep) -> str:
        """Its value, and that no gradient is used here (nothing is learned)."""
        return "\n".join([
            f"y = {num(np.asarray(step.y))}: a fixed number, broadcast against whatever it "
            "meets (it is not learned)",
            "dL/dy: not used. A constant has no weights, so the backward pass stops here; "
            "the gradient goes to the other inputs of the nodes that read it"])


@register
class MatMul(_Binary):
    """``a @ b`` with NumPy's rules: ``(N, k) @ (k, m) -> (N, m)``; 1-D operands and
    broadcast leading axes as in ``np.matmul``."""

    type_id = "matmul"
    display_name = "MatMul"
    op = "matmul"
    summary = "Matrix multiply: y = a · b (x·W of a layer)."
    learn = ("y = a · b: each output is a weighted sum over the shared axis. Its gradients "
             "are matrix products too: dL/da = dL/dy · bᵀ and dL/db = aᵀ · dL/dy, so for "
             "y = x·W the weight's gradient dL/dW = xᵀ · dL/dy sums over the batch.")
    glyph = "@"

    def infer(self, params: Params, inputs: Shapes) -> dict[str, PortShape]:
        a, b = value(inputs, "a"), value(inputs, "b")
        if not a.dims or not b.dims:
            raise ShapeError(f"a matrix multiply needs tensors of at least one dimension, "
                             f"got {a} and {b} (multiply by a scalar with Multiply)")
        ad = a.dims if len(a.dims) > 1 else (1, *a.dims)
        bd = b.dims if len(b.dims) > 1 else (*b.dims, 1)
        if ad[-1] != bd[-2]:
            raise ShapeError(f"{a} · {b}: the last dimension of a "
                             f"({_dim(ad[-1])}) must equal the "
                             f"{'first' if len(b.dims) < 3 else 'second-to-last'} of b "
                             f"({_dim(bd[-2])})")
        try:
            lead = broadcast(PortShape(ad[:-2]), PortShape(bd[:-2])).dims
        except ShapeError as e:
            raise ShapeError(f"the leading dimensions of {a} and {b}: {e}") from None
        dims = (*lead, *(ad[-2:-1] if len(a.dims) > 1 else ()),
                *(bd[-1:] if len(b.dims) > 1 else ()))
        return {"output": PortShape(tuple(dims))}

    def explain(self, step: NodeStep) -> str:
        """For 2-D operands: y[i, j] = Σ_k a[i, k]·b[k, j] written out, dL/da = dL/dy · bᵀ
        and dL/db = aᵀ · dL/dy with their shapes, and the first term of each for the
        selected row i and column j (the sums written out when short)."""
        a = np.asarray(step.x("a"), dtype=np.float64)
        b = np.asarray(step.x("b"), dtype=np.float64)
        shapes = f"{a.shape} · {b.shape} → {np.shape(step.y)}"
        if a.ndim != 2 or b.ndim != 2:
            return "\n".join([f"y = a · b: {shapes}", value_line(step, "Σ_k a[…, k]·b[k, …]"),
                              "dL/da = dL/dy · bᵀ, dL/db = aᵀ · dL/dy"])
        i, j = step.index
        lines = [f"y = a · b: {shapes}",
                 f"y[{i}, {j}] = Σ_k a[{i}, k]·b[k, {j}] = " + written_sum(
                     [f"{num(u)}·{signed(v)}" for u, v in zip(a[i], b[:, j])],
                     float(a[i] @ b[:, j]))]
        g = step.g
        gshape = np.shape(step.y)
        lines.append(f"dL/da = dL/dy · bᵀ: {gshape} · {b.shape[::-1]} → {a.shape}; "
                     f"dL/db = aᵀ · dL/dy: {a.shape[::-1]} · {gshape} → {b.shape}")
        if g is None:
            lines.append(f"the numbers: {pending(step)}")
            return "\n".join(lines)
        g = np.asarray(g, dtype=np.float64)
        lines.append(f"dL/db[0, {j}] = Σ_n a[n, 0]·dL/dy[n, {j}] = " + written_sum(
            [f"{num(u)}·{signed(v)}" for u, v in zip(a[:, 0], g[:, j])], float(a[:, 0] @ g[:, j])))
        lines.append(f"dL/da[{i}, 0] = Σ_m dL/dy[{i}, m]·b[0, m] = " + written_sum(
            [f"{num(u)}·{signed(v)}" for u, v in zip(g[i], b[0])], float(g[i] @ b[0])))
        return "\n".join(lines)


@register
class Subtract(_Binary):
    type_id = "subtract"
    display_name = "Subtract"
    op = "sub"
    summary = "y = a - b, elementwise (broadcasting)."
    learn = ("y = a - b. The gradient flows into a unchanged and into b negated: dL/da = "
             "dL/dy, dL/db = -dL/dy (summed over the axes b was broadcast along).")
    glyph = "−"
    symbol = "−"

    def local(self, a, b):
        return "dL/dy", [], "−dL/dy", [-1.0]


@register
class Multiply(_Binary):
    type_id = "multiply"
    display_name = "Multiply"
    op = "mul"
    summary = "y = a * b, elementwise (broadcasting)."
    learn = ("y = a * b, element by element. Each input's gradient is the other input "
             "times the incoming gradient: dL/da = dL/dy * b, dL/db = dL/dy * a (summed "
             "over broadcast axes).")
    glyph = "×"
    symbol = "·"

    def local(self, a, b):
        return "dL/dy · b", [b], "dL/dy · a", [a]


@register
class Divide(_Binary):
    type_id = "divide"
    display_name = "Divide"
    op = "div"
    summary = "y = a / b, elementwise (broadcasting)."
    learn = ("y = a / b. dL/da = dL/dy / b and dL/db = -dL/dy * a / b²: dividing by numbers "
             "near zero makes both the value and its gradient explode.")
    glyph = "÷"
    symbol = "/"

    def local(self, a, b):
        return ("dL/dy · (1/b)", [1.0 / b if b else float("inf")], "dL/dy · (−a/b²)",
                [-a / (b * b) if b else float("-inf")])


@register
class Power(_Unary):
    type_id = "power"
    display_name = "Power"
    params = (ParamSpec("exponent", "float", 2.0, "the power p in x^p"),)
    main_params = ("exponent",)
    summary = "y = x^p elementwise, for a fixed exponent p."
    learn = ("y = x^p; its gradient dL/dx = dL/dy · p · x^(p-1). With p = 2 it is the square of an "
             "error (MSE by hand); p = 0.5 is the square root, whose gradient is infinite "
             "at 0.")
    glyph = "xᵖ"

    def local(self, params, x, y):
        p = float(params["exponent"])
        return (f"x^{num(p)}", f"dL/dy · {num(p)}·x^{num(p - 1)}",
                [p, float(x) ** (p - 1) if x or p > 1 else 0.0])

    def apply(self, params: Params, x: Tensor) -> Tensor:
        return F.pow(x, params["exponent"])

    def export(self, params: Params, inputs: Shapes) -> ExportSpec:
        return ExportSpec("pow", module=False, args={"exponent": params["exponent"]})


@register
class Square(_Unary):
    type_id = "square"
    display_name = "Square"
    summary = "y = x² elementwise."
    learn = ("y = x²; its gradient dL/dx = dL/dy · 2x: large errors get large gradients. "
             "Squared errors are what MSE averages.")
    glyph = "x²"

    def local(self, params, x, y):
        return "x²", "dL/dy · 2x", [2.0, x]

    def apply(self, params: Params, x: Tensor) -> Tensor:
        return F.pow(x, 2.0)

    def export(self, params: Params, inputs: Shapes) -> ExportSpec:
        return ExportSpec("square", module=False)  # torch.square


@register
class Exp(_Unary):
    type_id = "exp"
    display_name = "Exp"
    summary = "y = e^x elementwise."
    learn = ("y = e^x; its gradient dL/dx = dL/dy · e^x = dL/dy · y: the function is its "
             "own derivative. It overflows float32 above x ≈ 88, which is why softmax "
             "subtracts the maximum first.")
    glyph = "eˣ"
    op = "exp"

    def local(self, params, x, y):
        return "e^x", "dL/dy · e^x = dL/dy · y", [y]


@register
class Log(_Unary):
    type_id = "log"
    display_name = "Log"
    summary = "y = ln x elementwise (natural logarithm)."
    learn = ("y = ln x; its gradient dL/dx = dL/dy / x. log(0) is -inf and its gradient infinite: "
             "the built-in losses use log-softmax and clamping for that reason.")
    glyph = "ln"
    op = "log"

    def local(self, params, x, y):
        return "ln x", "dL/dy · (1/x)", [1.0 / x if x else float("inf")]


_AXES = {"all": None, "batch": 0, "last": -1}


class _Reduce(_Operator):
    params = (ParamSpec("axis", "choice", "all", "what to reduce over: every element (down "
                        "to a scalar), the batch (the first axis) or the last axis",
                        choices=tuple(_AXES)),)
    main_params = ("axis",)
    op: ClassVar[str] = ""

    def infer(self, params: Params, inputs: Shapes) -> dict[str, PortShape]:
        x = value(inputs)
        axis = _AXES[params["axis"]]
        if axis is None:
            return {"output": PortShape(())}
        if not x.dims:
            raise ShapeError(f"a scalar has no {params['axis']} axis (use axis 'all')")
        dims = list(x.dims)
        del dims[axis]
        return {"output": PortShape(tuple(dims))}

    def forward(self, module: Any, params: Params, inputs: dict[str, list[Tensor]]
                ) -> dict[str, Tensor]:
        return {"output": getattr(F, self.op)(inputs["input"][0], axis=_AXES[params["axis"]])}

    def export(self, params: Params, inputs: Shapes) -> ExportSpec:
        axis = _AXES[params["axis"]]
        return ExportSpec(self.op, module=False, args={} if axis is None else {"dim": axis})

    def explain(self, step: NodeStep) -> str:
        """The reduction written out for the selected output element, and the gradient
        each reduced element receives (dL/dy, divided by n for Mean)."""
        x = np.asarray(step.x(), dtype=np.float64)
        axis = _AXES[step.params["axis"]]
        i = step.index
        part = x.reshape(-1) if axis is None else np.moveaxis(x, axis % x.ndim, -1)[tuple(i)]
        n = part.size
        mean = self.op == "mean"
        over = "every element" if axis is None else f"the {step.params['axis']} axis"
        total = written_sum([num(v) for v in part], float(part.sum()))
        lines = [f"y{spot(i)} = {'(1/n) ' if mean else ''}Σ x over {over} (n = {n}): Σ x = "
                 f"{total}" + (f"; y = Σ x / {n} = {num(float(part.mean()))}" if mean else "")]
        rule = "dL/dy / n" if mean else "dL/dy"
        if step.g is None:
            lines.append(f"dL/dx = {rule} for each reduced element: {pending(step)}")
        else:
            g = at(step.g, i)
            lines.append(f"dL/dx = {rule} for each reduced element = "
                         + (f"{num(g)} / {n} = {num(g / n)}" if mean else num(g)))
        return "\n".join(lines)


@register
class Sum(_Reduce):
    type_id = "sum"
    display_name = "Sum"
    op = "sum"
    summary = "Adds up the elements (all, or along an axis)."
    learn = ("y = Σ x. Every summed element gets the whole incoming gradient: dL/dx_i = "
             "dL/dy. A loss summed over the batch grows with the batch size; Mean does not.")
    glyph = "Σ"


@register
class Mean(_Reduce):
    type_id = "mean"
    display_name = "Mean"
    op = "mean"
    summary = "Averages the elements (all, or along an axis)."
    learn = ("y = (1/n) Σ x; each element's gradient is dL/dx_i = dL/dy / n. The built-in "
             "losses average over the batch, so the learning rate means the same for any "
             "batch size.")
    glyph = "x̄"


@register
class Transpose(_Operator):
    type_id = "transpose"
    display_name = "Transpose"
    summary = "Swaps the last two axes: (a, b) → (b, a)."
    learn = ("y = xᵀ; the gradient is transposed back: dL/dx = (dL/dy)ᵀ. With it the "
             "backward pass of MatMul can be written by hand: dL/dW = xᵀ · dL/dy.")
    glyph = "ᵀ"

    def infer(self, params: Params, inputs: Shapes) -> dict[str, PortShape]:
        x = value(inputs)
        if len(x.dims) < 2:
            raise ShapeError(f"Transpose swaps the last two axes; {x} has fewer than two "
                             "(a vector is its own transpose)")
        return {"output": PortShape((*x.dims[:-2], x.dims[-1], x.dims[-2]))}

    def forward(self, module: Any, params: Params, inputs: dict[str, list[Tensor]]
                ) -> dict[str, Tensor]:
        x = inputs["input"][0]
        axes = list(range(x.ndim))
        axes[-2], axes[-1] = axes[-1], axes[-2]
        return {"output": F.transpose(x, axes)}

    def export(self, params: Params, inputs: Shapes) -> ExportSpec:
        return ExportSpec("transpose", module=False, args={"dim0": -2, "dim1": -1})

    def explain(self, step: NodeStep) -> str:
        i = step.index
        j = (*i[:-2], i[-1], i[-2])
        g = step.g
        return "\n".join([value_line(step, f"x{spot(j)}"),
                          f"dL/dx{spot(j)} = dL/dy{spot(i)} = {num(at(g, i))} (the gradient "
                          "is transposed back)" if g is not None
                          else f"dL/dx{spot(j)} = dL/dy{spot(i)}: {pending(step)}"])


@register
class OneHot(_Operator):
    """Class labels ``(N,)`` → ``(N, classes)`` of 0 and 1."""

    type_id = "one_hot"
    display_name = "One-hot"
    inputs: ClassVar[tuple[PortSpec, ...]] = (PortSpec("labels", TARGET),)
    summary = "Class labels as rows of 0s with a 1 at the class: (N,) → (N, classes)."
    learn = ("Turns class indices into a tensor: label 2 of 4 classes becomes [0, 0, 1, 0]. "
             "With it cross-entropy can be written by hand: -mean(Σ onehot(y) · "
             "log softmax(z)), whose gradient is softmax(z) - onehot(y). Nothing flows "
             "back into the labels.")
    glyph = "1ₖ"

    def infer(self, params: Params, inputs: Shapes) -> dict[str, PortShape]:
        y = one(inputs, "labels")
        if not y.is_labels:
            raise ShapeError(f"One-hot needs class labels, got {y} (regression targets "
                             "are numbers already: use Targets)")
        return {"output": tensor(int(y.classes))}  # type: ignore[arg-type]

    def build(self, params: Params, inputs: Shapes, rng: np.random.Generator) -> "_OneHot":
        return _OneHot(int(one(inputs, "labels").classes))  # type: ignore[arg-type]

    def forward(self, module: Any, params: Params, inputs: dict[str, list[Tensor]]
                ) -> dict[str, Tensor]:
        return {"output": module(inputs["labels"][0])}

    def export(self, params: Params, inputs: Shapes) -> ExportSpec:
        return ExportSpec("one_hot", module=False,
                          args={"num_classes": one(inputs, "labels").classes})

    def explain(self, step: NodeStep) -> str:
        """Where the selected row's 1 is (its label), the selected element's value,
        and why no gradient flows back."""
        labels = np.asarray(step.x("labels")).reshape(-1)
        out = np.asarray(step.y)
        i, c = (tuple(step.index) + (0, 0))[:2]
        k = int(labels[i])
        row = ", ".join(str(int(v)) for v in out[i, :8]) + (", …" if out.shape[1] > 8 else "")
        return "\n".join([
            f"y[i, c] = 1 if c = y_i (the label of sample i), else 0: labels {labels.shape} → "
            f"{out.shape}",
            f"row {i} has a 1 in column y_{i} = {k} (class {k} of {out.shape[1]}): [{row}]",
            f"y[{i}, {c}] = {num(out[i, c])}: column {c} "
            + ("is the label" if c == k else f"is not the label {k}"),
            "dL/d(labels): none. The labels are data (class indices, not numbers to "
            "learn), so nothing flows back into them"])


@register
class Targets(_Operator):
    """The dataset's targets as a tensor: regression values ``(N, k)`` as they are; class
    labels ``(N,)`` as ``(N, 1)`` (0 or 1 for two classes, what binary cross-entropy
    compares with a probability)."""

    type_id = "targets"
    display_name = "Targets"
    inputs: ClassVar[tuple[PortSpec, ...]] = (PortSpec("labels", TARGET, label="targets"),)
    summary = "The dataset's targets as numbers, to write a loss by hand."
    learn = ("Feeds the true values into the computation: regression targets (N, k) as "
             "they are, class labels as one column (N, 1) of their indices (0 and 1 for "
             "two classes). (prediction - targets)² averaged is MSE; -(y·log p + (1-y)·"
             "log(1-p)) averaged is binary cross-entropy. No gradient flows into the "
             "targets: they are data, not parameters.")
    glyph = "y"

    def infer(self, params: Params, inputs: Shapes) -> dict[str, PortShape]:
        y = one(inputs, "labels")
        return {"output": tensor(1) if y.is_labels else y}

    def forward(self, module: Any, params: Params, inputs: dict[str, list[Tensor]]
                ) -> dict[str, Tensor]:
        y = inputs["labels"][0]
        data = np.asarray(y.data if isinstance(y, Tensor) else y)
        if data.ndim == 1:
            data = data.reshape(-1, 1)
        return {"output": Tensor(data.astype(np.float32))}

    def explain(self, step: NodeStep) -> str:
        """The targets as the float values the loss compares with, the selected one
        written out, and why no gradient flows back."""
        raw = np.asarray(step.x("labels"))
        out = np.asarray(step.y)
        i = tuple(step.index)
        first = (f"y = the labels {raw.shape} as one column of float values {out.shape}"
                 if raw.ndim == 1 else f"y = the targets {raw.shape} as float values")
        src = f"label_{i[0]}" if raw.ndim == 1 else f"target{spot(i)}"
        shown = out.reshape(-1)[:8]
        column = ", ".join(num(v) for v in shown) + (", …" if out.size > 8 else "")
        return "\n".join([
            f"{first}: [{column}]",
            value_line(step, f"float({src})", f"float({raw[i[0]]})") if raw.ndim == 1
            else value_line(step, src),
            "dL/d(targets): none. They are data, not parameters: nothing flows back into "
            "them"])

    def export(self, params: Params, inputs: Shapes) -> ExportSpec:
        y = one(inputs, "labels")  # labels: y.reshape(-1, 1).float(); values as they are
        return ExportSpec("reshape", module=False, args={"shape": [-1, 1]} if y.is_labels
                          else {"shape": [-1, *y.dims[1:]]})


@register
class Objective(LossType):
    """Any scalar, made the loss that training minimizes; the prediction port says what
    the metrics (accuracy, R²) compare with the targets."""

    type_id = "objective"
    display_name = "Objective"
    category = "Operators"
    inputs: ClassVar[tuple[PortSpec, ...]] = (PortSpec("loss", label="scalar"),
                                              PortSpec("prediction"))
    outputs: ClassVar[tuple[PortSpec, ...]] = (PortSpec("objective", LOSS_KIND),)
    prediction_port = "prediction"
    in_graph = True
    summary = "Makes a scalar you computed the loss that training minimizes."
    learn = ("Training minimizes the number wired into 'scalar', however it was computed: "
             "write MSE as Mean(Square(prediction - Targets)) or cross-entropy with One-hot, "
             "Log and Mean, and compare with the built-in loss nodes. Backpropagation "
             "starts here: the gradient of the loss with respect to itself is 1. "
             "'prediction' is what accuracy or R² is measured on: the class scores "
             "(N, classes), a probability (N, 1) for two classes, or the predicted values.")
    glyph = "ℒ"

    def infer(self, params: Params, inputs: Shapes) -> dict[str, PortShape]:
        loss, pred = value(inputs, "loss"), value(inputs, "prediction")
        if loss.dims != ():
            raise ShapeError(f"'scalar' needs one number, got {loss}: reduce it with Mean "
                             "or Sum (axis 'all')")
        if not pred.dims or pred.dims[0] is not None:
            raise ShapeError(f"'prediction' needs one row per sample (N, ...), got {pred}")
        return {"objective": LOSS}

    def scores(self, prediction: Tensor, fused: bool, task: str) -> Tensor:
        if task == "classification" and prediction.ndim == 2 and prediction.shape[1] == 1:
            return F.concatenate([1.0 - prediction, prediction], axis=-1)  # [1 - p, p]
        return prediction

    def export_head(self, fused: bool, task: str) -> tuple[str, ...]:
        """A probability ``(N, 1)`` of a classifier becomes ``[1 - p, p]`` (:meth:`scores`)
        before the softmax of the default :meth:`~LossType.probabilities`; the exports
        check the width when they know the shapes."""
        if task == "classification":
            return ("one_minus_and_if_one", "softmax")
        return ()

    def loss(self, output: Tensor, target: Any, params: Params, fused: bool,
             task: str) -> Tensor:  # pragma: no cover - the compiled graph evaluates it
        raise RuntimeError("an Objective's loss is evaluated in the graph")

    def export(self, params: Params, inputs: Shapes) -> ExportSpec:
        return ExportSpec("Identity")  # the loss is the scalar wired in, as it is

    def explain(self, step: NodeStep) -> str:
        return "\n".join([f"L = the scalar wired into 'scalar' = {num(np.asarray(step.y))}",
                          "backpropagation starts here: dL/dL = 1, and the scalar's wire "
                          "gets dL/d(scalar) = 1"])
