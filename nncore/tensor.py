"""Tensors and reverse-mode automatic differentiation.

A :class:`Tensor` wraps a NumPy array (``.data``). When an operation runs on tensors
that require gradients, it records a :class:`Function` node that remembers its inputs;
:meth:`Tensor.backward` then walks that computation graph in reverse topological order
and hands each node the gradient of its output, so that it can compute the gradients of
its inputs (the chain rule). This is reverse-mode automatic differentiation as described
in Griewank & Walther, *Evaluating Derivatives* (2008), ch. 3, and as implemented by
PyTorch's autograd (Paszke et al., 2017).

Conventions (PyTorch's):

* Gradients accumulate: a tensor used twice receives the sum of both contributions,
  and leaf gradients add to whatever ``.grad`` already holds until ``zero_grad()``.
* Only leaf tensors (created by the user, ``requires_grad=True``) keep ``.grad``;
  intermediate results keep theirs only after :meth:`Tensor.retain_grad`.
* After ``backward()`` the graph is freed; a second backward through it raises unless
  the first call passed ``retain_graph=True``.
* float32 is the default floating dtype (:data:`DEFAULT_DTYPE`); floating NumPy arrays
  keep their dtype; integer and boolean data are promoted to the default float dtype.

The operations themselves (``Add``, ``MatMul``, ``Linear``, ``CrossEntropy``, ...) live in
:mod:`nncore.functional`; this module holds the machinery.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import threading
from typing import Any, Iterator, Sequence

import numpy as np

__all__ = [
    "DEFAULT_DTYPE",
    "Function",
    "Tensor",
    "as_array",
    "is_grad_enabled",
    "no_grad",
    "enable_grad",
    "unbroadcast",
    "OPS",
]

#: The floating dtype for data that does not carry one (Python numbers, integer arrays).
DEFAULT_DTYPE = np.dtype(np.float32)

#: Every differentiable operation, by class name. Filled by ``Function.__init_subclass__``;
#: the gradient-check test suite is parametrized over it and fails for an op with no case.
OPS: dict[str, type["Function"]] = {}

class _ThreadState(threading.local):
    grad_enabled = True


_state = _ThreadState()
#: Creation order of recorded ops: an op's inputs always have smaller numbers than its
#: output, so visiting nodes by decreasing number is a topological order (PyTorch's
#: ``sequence_nr``). ``next()`` on ``itertools.count`` is atomic under the GIL.
_sequence = itertools.count()


def is_grad_enabled() -> bool:
    """Whether operations record the computation graph in this thread (default True)."""
    return _state.grad_enabled


@contextlib.contextmanager
def _grad_mode(enabled: bool) -> Iterator[None]:
    previous = is_grad_enabled()
    _state.grad_enabled = enabled
    try:
        yield
    finally:
        _state.grad_enabled = previous


def no_grad() -> contextlib.AbstractContextManager[None]:
    """Context manager (also usable as a decorator) that stops graph recording.

    Inside it, results of operations have ``requires_grad=False`` and keep no references
    to their inputs: use it for evaluation and for in-place parameter updates. The
    setting is per thread, so a training worker does not affect the GUI thread.
    """
    return _grad_mode(False)


def enable_grad() -> contextlib.AbstractContextManager[None]:
    """Context manager that turns graph recording back on inside a ``no_grad`` block."""
    return _grad_mode(True)


def as_array(data: Any, dtype: Any = None) -> np.ndarray:
    """Convert ``data`` to the array a :class:`Tensor` holds.

    Args:
        data: array-like (NumPy array, nested lists, Python or NumPy scalar, Tensor).
        dtype: target dtype; must be floating. Default: keep the dtype of a floating
            NumPy array or scalar; make Python numbers and lists, and integer or boolean
            data, :data:`DEFAULT_DTYPE` (float32, as PyTorch).

    Returns:
        an ``np.ndarray`` of a floating dtype (a view of ``data`` when no conversion is
        needed).

    Raises:
        TypeError: for complex, string or object data (strings are never parsed, complex
            values never silently lose their imaginary part), or a non-floating ``dtype``.
    """
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"Tensor dtype must be floating, got {dtype}")
    python = type(data) in (float, int, bool) or isinstance(data, (list, tuple))
    arr = data if isinstance(data, np.ndarray) else np.asarray(data)
    kind = arr.dtype.kind
    if kind not in "fiub":
        raise TypeError(f"Tensor data must be real numbers, got {type(data).__name__} "
                        f"of dtype {arr.dtype}")
    if dtype is not None:
        return arr.astype(dtype, copy=False)
    if kind == "f" and not python:
        return arr
    return arr.astype(DEFAULT_DTYPE)


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` over the axes that broadcasting added or stretched to reach its shape.

    The single rule every broadcasting op uses for its backward pass (as in HIPS/autograd's
    ``unbroadcast``): if ``a`` of shape ``shape`` was broadcast to ``grad.shape`` in the
    forward pass, the gradient of ``a`` is ``grad`` summed over the leading axes that were
    added and over the axes where ``a`` had size 1.

    Args:
        grad: the gradient of the broadcast result, shape ``grad.shape``.
        shape: the shape of the input before broadcasting.

    Returns:
        an array of shape ``shape`` (``grad`` itself when no reduction is needed).
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad.reshape(shape)


class Function:
    """One differentiable operation: a node of the computation graph.

    Subclasses implement ``forward(self, *arrays, **options) -> np.ndarray`` on plain
    arrays, saving on ``self`` what the backward pass needs, and ``backward(self, grad)``
    returning one gradient per positional input (``None`` for an input that needs none;
    ``self.needs_input_grad[i]`` says which are needed). ``backward`` must not modify
    ``grad`` in place. The engine checks that each returned gradient has its input's
    shape. One op, one subclass (tinygrad's ``function.py``, Chainer's ``FunctionNode``);
    each subclass is registered in :data:`OPS` under its class name.

    Call ``Op.apply(*inputs, **options)``: positional inputs may be tensors or constants
    (arrays, numbers); options are non-differentiable settings passed to ``forward``.
    """

    __slots__ = ("inputs", "needs_input_grad", "seq", "__dict__")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__name__.startswith("_"):
            OPS[cls.__name__] = cls

    def forward(self, *args: Any, **kwargs: Any) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray | None, ...]:  # pragma: no cover
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs: Any, **kwargs: Any) -> "Tensor":
        """Run the op on ``inputs`` and record it in the graph when a gradient is needed."""
        ctx = cls()
        out = ctx.forward(*[x.data if isinstance(x, Tensor) else x for x in inputs], **kwargs)
        if type(out) is not np.ndarray:  # NumPy returns scalars from 0-d arithmetic
            out = np.asarray(out)
        result = Tensor.__new__(Tensor)
        result.data = out
        result.grad = None
        result._retain = False
        if _state.grad_enabled:
            needs = [isinstance(x, Tensor) and x.requires_grad for x in inputs]
            if True in needs:
                ctx.inputs = inputs
                ctx.needs_input_grad = needs
                ctx.seq = next(_sequence)
                result.requires_grad = True
                result._ctx = ctx
                return result
        result.requires_grad = False
        result._ctx = None
        return result


class Tensor:
    """An n-dimensional array that can record the operations applied to it.

    Args:
        data: array-like; see :func:`as_array` for the dtype rules (floating arrays keep
            their dtype; Python numbers, integer and boolean data become float32).
        requires_grad: whether gradients with respect to this tensor are wanted.
            Default False.
        dtype: optional floating dtype to convert to.
        name: optional label, used in error messages and by the GUI.

    Attributes:
        data (np.ndarray): the values. May be read and assigned (an optimizer does).
        grad (np.ndarray | None): the accumulated gradient, same shape as ``data``, set
            by :meth:`backward` on leaf tensors that require gradients.
        requires_grad (bool): whether operations on this tensor are recorded.

    Do not modify the ``data`` of an op's result in place before ``backward()``: several
    ops (sigmoid, tanh, exp, relu, softmax) keep their output for the backward pass, so
    the gradients would silently be wrong. (PyTorch detects this with version counters;
    nncore does not.) Assigning a new array to ``data`` is safe.

    Raises:
        TypeError: for non-numeric data or a non-floating dtype.
    """

    __slots__ = ("data", "grad", "requires_grad", "_ctx", "_retain", "name", "__weakref__")
    # Make NumPy defer to Tensor's reflected operators: ``array * tensor`` -> Tensor.
    __array_ufunc__ = None

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None,
                 name: str | None = None) -> None:
        self.data = as_array(data, dtype)
        self.grad: np.ndarray | None = None
        self.requires_grad = bool(requires_grad)
        self._ctx: Function | None = None
        self._retain = False
        self.name = name

    def __getattr__(self, item: str) -> Any:
        # ``name`` is optional in slots; tensors made by ops don't set it.
        if item == "name":
            return None
        raise AttributeError(f"'Tensor' object has no attribute '{item}'")

    # ------------------------------------------------------------------ properties
    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of ``data``."""
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        """The dtype of ``data``."""
        return self.data.dtype

    @property
    def ndim(self) -> int:
        """The number of dimensions of ``data``."""
        return self.data.ndim

    @property
    def size(self) -> int:
        """The number of elements of ``data``."""
        return self.data.size

    @property
    def is_leaf(self) -> bool:
        """True for tensors not produced by a recorded operation."""
        return self._ctx is None

    @property
    def T(self) -> "Tensor":
        """The transpose (all axes reversed)."""
        return self.transpose()

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        extra = ", requires_grad=True" if self.requires_grad else ""
        body = np.array2string(self.data, separator=", ", precision=6, threshold=20)
        return f"Tensor({body}, dtype={self.dtype}{extra})"

    def numpy(self) -> np.ndarray:
        """The values as a NumPy array (the same object as ``data``, not a copy)."""
        return self.data

    def item(self) -> float:
        """The value of a one-element tensor as a Python float."""
        return float(self.data.item())

    def detach(self) -> "Tensor":
        """A new leaf tensor sharing ``data`` with this one, cut from the graph."""
        return Tensor(self.data)

    def retain_grad(self) -> "Tensor":
        """Keep ``.grad`` on this non-leaf tensor after backward (as PyTorch does)."""
        self._retain = True
        return self

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (``grad = None``)."""
        self.grad = None

    # ------------------------------------------------------------------ backward
    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        """Compute the gradients of this tensor with respect to every leaf it depends on.

        The graph is traversed iteratively (no recursion limit on deep graphs) in reverse
        topological order, so every node receives the full sum of its consumers'
        gradients before passing it on.

        Args:
            grad: the gradient of some scalar with respect to this tensor (same shape).
                Default: 1, allowed only when this tensor has one element.
            retain_graph: keep the graph so that backward can run through it again.

        Raises:
            RuntimeError: if this tensor does not require grad, if ``grad`` is missing
                for a tensor of several elements or has the wrong shape, if the graph
                was already freed, or if an op returns a gradient of the wrong shape.
        """
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad "
                               "(no input of the computation has requires_grad=True)")
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward() without a gradient needs a one-element tensor; this one "
                    f"has shape {self.shape}: pass grad= or reduce it (e.g. .sum()) first")
            grad = np.ones_like(self.data)
        else:
            grad = np.array(as_array(grad, self.dtype), copy=True)
            if grad.shape != self.shape:
                raise RuntimeError(f"backward(): grad has shape {grad.shape}, "
                                   f"tensor has shape {self.shape}")
        if self._ctx is None:
            _add_to_leaves({id(self): (self, grad)}, set())  # grad is our own copy
            return

        # Visit nodes by decreasing creation number (a max-heap on ``seq``): a node is
        # processed only after every consumer has added its share to ``grads``. The
        # traversal is iterative, so deep graphs never hit the recursion limit.
        grads: dict[int, np.ndarray] = {id(self): grad}
        heap: list[tuple[int, Tensor]] = [(-self._ctx.seq, self)]
        # Leaf gradients are collected here and added to ``.grad`` only once the whole
        # pass has succeeded, so an error midway leaves every ``.grad`` as it was.
        leaves: dict[int, tuple[Tensor, np.ndarray]] = {}
        held: set[int] = {id(grad)}  # arrays kept by intermediate nodes or the caller
        pop, push = heapq.heappop, heapq.heappush
        while heap:
            node = pop(heap)[1]
            g = grads.pop(id(node))
            ctx = node._ctx
            if node._retain:
                node.grad = g if node.grad is None else node.grad + g
                held.add(id(g))
            try:
                inputs = ctx.inputs
            except AttributeError:
                raise RuntimeError(
                    f"backward() through the graph a second time ({type(ctx).__name__}): "
                    "its saved values were freed; pass retain_graph=True the first time"
                ) from None
            for inp, needed, ig in zip(inputs, ctx.needs_input_grad, ctx.backward(g)):
                if not needed or ig is None:
                    continue
                if ig.shape != inp.data.shape:
                    raise RuntimeError(
                        f"{type(ctx).__name__}.backward returned a gradient of shape "
                        f"{ig.shape} for an input of shape {inp.data.shape}")
                key = id(inp)
                inp_ctx = inp._ctx
                if inp_ctx is None:
                    previous = leaves.get(key)
                    leaves[key] = (inp, ig if previous is None else previous[1] + ig)
                    continue
                previous = grads.get(key)
                if previous is None:
                    grads[key] = ig
                    held.add(id(ig))
                    push(heap, (-inp_ctx.seq, inp))
                else:
                    grads[key] = previous + ig
            if not retain_graph:
                del ctx.inputs
                ctx.__dict__.clear()
        _add_to_leaves(leaves, held)

    # ------------------------------------------------------------------ operators
    def _operand(self, other: Any) -> Any:
        """A constant operand converted so that it keeps this tensor's dtype."""
        if isinstance(other, Tensor) or type(other) in (int, float):
            return other  # Python numbers never promote an array's dtype (NEP 50)
        arr = np.asarray(other)
        if arr.dtype != self.data.dtype:
            if arr.dtype.kind not in "iubf":
                raise TypeError(f"cannot combine a Tensor with data of dtype {arr.dtype}")
            arr = arr.astype(self.data.dtype)
        return arr

    def __add__(self, other: Any) -> "Tensor":
        return _F.Add.apply(self, self._operand(other))

    def __radd__(self, other: Any) -> "Tensor":
        return _F.Add.apply(self._operand(other), self)

    def __sub__(self, other: Any) -> "Tensor":
        return _F.Sub.apply(self, self._operand(other))

    def __rsub__(self, other: Any) -> "Tensor":
        return _F.Sub.apply(self._operand(other), self)

    def __mul__(self, other: Any) -> "Tensor":
        return _F.Mul.apply(self, self._operand(other))

    def __rmul__(self, other: Any) -> "Tensor":
        return _F.Mul.apply(self._operand(other), self)

    def __truediv__(self, other: Any) -> "Tensor":
        return _F.Div.apply(self, self._operand(other))

    def __rtruediv__(self, other: Any) -> "Tensor":
        return _F.Div.apply(self._operand(other), self)

    def __matmul__(self, other: Any) -> "Tensor":
        return _F.MatMul.apply(self, self._operand(other))

    def __rmatmul__(self, other: Any) -> "Tensor":
        return _F.MatMul.apply(self._operand(other), self)

    def __neg__(self) -> "Tensor":
        return _F.Neg.apply(self)

    def __pos__(self) -> "Tensor":
        return self

    def __pow__(self, exponent: Any) -> "Tensor":
        if isinstance(exponent, Tensor) or np.ndim(exponent) != 0:
            raise TypeError("Tensor ** x supports a scalar exponent only")
        return _F.Pow.apply(self, exponent=float(exponent))

    def __getitem__(self, index: Any) -> "Tensor":
        return _F.GetItem.apply(self, index=index)

    # Comparisons give plain boolean arrays: they have no gradient.
    def __lt__(self, other: Any) -> np.ndarray:
        return self.data < _data(other)

    def __le__(self, other: Any) -> np.ndarray:
        return self.data <= _data(other)

    def __gt__(self, other: Any) -> np.ndarray:
        return self.data > _data(other)

    def __ge__(self, other: Any) -> np.ndarray:
        return self.data >= _data(other)

    __hash__ = object.__hash__

    # ------------------------------------------------------------------ methods
    def sum(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> "Tensor":
        """Sum over ``axis`` (all axes by default), as ``np.sum``."""
        return _F.Sum.apply(self, axis=axis, keepdims=keepdims)

    def mean(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> "Tensor":
        """Mean over ``axis`` (all axes by default), as ``np.mean``."""
        return _F.Mean.apply(self, axis=axis, keepdims=keepdims)

    def reshape(self, *shape: Any) -> "Tensor":
        """The same values in a new shape (one dimension may be -1), as ``np.reshape``."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _F.Reshape.apply(self, shape=shape)

    def transpose(self, *axes: int) -> "Tensor":
        """Permute the axes (reverse them by default), as ``np.transpose``."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return _F.Transpose.apply(self, axes=axes or None)

    def exp(self) -> "Tensor":
        """Elementwise e**x."""
        return _F.Exp.apply(self)

    def log(self) -> "Tensor":
        """Elementwise natural logarithm (domain x > 0)."""
        return _F.Log.apply(self)

    def relu(self) -> "Tensor":
        """Elementwise max(x, 0)."""
        return _F.ReLU.apply(self)

    def sigmoid(self) -> "Tensor":
        """Elementwise 1 / (1 + e**-x), computed without overflow."""
        return _F.Sigmoid.apply(self)

    def tanh(self) -> "Tensor":
        """Elementwise hyperbolic tangent."""
        return _F.Tanh.apply(self)


def _data(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


def _add_to_leaves(leaves: dict[int, tuple[Tensor, np.ndarray]], held: set[int]) -> None:
    """Add each collected gradient to its leaf's ``.grad`` (in place once it exists).

    A first gradient is stored without copying when the array is fresh: it owns its
    memory, is writeable, has the leaf's dtype, and nobody else holds it (``held``:
    arrays kept by intermediate nodes or the caller; or another leaf). Otherwise a copy
    is stored, so that two tensors never share one gradient array and changing one
    ``.grad`` in place never changes another.
    """
    stored: set[int] = set()
    for leaf, grad in leaves.values():
        if not leaf.requires_grad:
            continue
        if leaf.grad is not None:
            leaf.grad += grad
            continue
        key = id(grad)
        if (key in held or key in stored or not grad.flags.owndata
                or not grad.flags.writeable or grad.dtype != leaf.data.dtype):
            grad = grad.astype(leaf.data.dtype)  # always a copy
        leaf.grad = grad
        stored.add(id(grad))


from nncore import functional as _F  # noqa: E402  (circular: ops need Tensor/Function)
