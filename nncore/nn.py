"""Layers as modules: ``Module``, ``Parameter``, ``Linear``, ``BatchNorm1d``, ``Dropout``,
the activations and ``Sequential`` — with PyTorch's names, arguments and defaults.

A :class:`Module` owns trainable :class:`Parameter` s and non-trainable *buffers* (plain
arrays such as BatchNorm's running statistics) and may contain sub-modules. Optimizers
see ``parameters()`` only; ``state_dict()`` saves both (as Keras marks moving statistics
``trainable=False``).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any, Iterator, Mapping

import numpy as np

from nncore import functional as F
from nncore import init
from nncore.tensor import Tensor

__all__ = [
    "Parameter", "Module", "Linear", "BatchNorm1d", "Dropout", "ReLU", "LeakyReLU",
    "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Identity", "Flatten", "Sequential",
    "CrossEntropyLoss", "MSELoss", "BCELoss", "BCEWithLogitsLoss", "clip_grad_norm_",
]


class Parameter(Tensor):
    """A trainable tensor: a leaf with ``requires_grad=True`` that modules register.

    ``.data`` and ``.grad`` are plain ``np.ndarray`` s that an optimizer (or a test) may
    read, modify in place or assign. ``Parameter(array)`` shares the array's memory when
    it is already floating (like ``torch.nn.Parameter``).
    """

    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True, dtype: Any = None) -> None:
        super().__init__(data, requires_grad=requires_grad, dtype=dtype)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class Module:
    """Base class of every layer and model.

    Subclasses call ``super().__init__()`` first, assign parameters, buffers (via
    :meth:`register_buffer`) and sub-modules as attributes, and implement ``forward``.
    Calling the module runs ``forward``.

    Attributes:
        training (bool): training mode (True, default) or evaluation mode; affects
            BatchNorm and Dropout. Set with :meth:`train` / :meth:`eval`.
    """

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # ------------------------------------------------------------------ registration
    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before "
                                 "assigning attributes")
        params, buffers, modules = self._parameters, self._buffers, self._modules
        if isinstance(value, Parameter):
            buffers.pop(name, None)
            modules.pop(name, None)
            params[name] = value
        elif isinstance(value, Module):
            params.pop(name, None)
            buffers.pop(name, None)
            modules[name] = value
        elif name in buffers:
            if value is not None and not isinstance(value, np.ndarray):
                raise TypeError(f"buffer {name!r} must be an np.ndarray or None")
            buffers[name] = value
        elif name in params:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} to parameter "
                                f"{name!r} (a Parameter or None is required)")
            params[name] = None
        elif name in modules:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} to sub-module {name!r}")
            modules[name] = None
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        for table in (self._parameters, self._buffers, self._modules):
            table.pop(name, None)
        object.__delattr__(self, name)

    def register_buffer(self, name: str, value: np.ndarray | None) -> None:
        """Add a non-trainable array (saved in ``state_dict``, cast by :meth:`to`)."""
        if value is not None and not isinstance(value, np.ndarray):
            raise TypeError(f"buffer {name!r} must be an np.ndarray or None")
        self._buffers[name] = value
        object.__setattr__(self, name, value)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or a ``None`` placeholder, as a Linear without bias has)."""
        if param is None:
            self._parameters[name] = None
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, param)

    # ------------------------------------------------------------------ running
    def forward(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover
        raise NotImplementedError(f"{type(self).__name__} does not implement forward")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def train(self, mode: bool = True) -> "Module":
        """Set training mode (``mode=True``) or evaluation mode on this module and its
        descendants. Returns self."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> "Module":
        """Set evaluation mode (BatchNorm uses running statistics, Dropout is off)."""
        return self.train(False)

    # ------------------------------------------------------------------ traversal
    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, "Module"]]:
        """This module and every descendant, with dotted names (``""`` for self)."""
        seen: set[int] = set()
        stack: list[tuple[str, Module]] = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = [(f"{name}.{n}" if name else n, m)
                        for n, m in module._modules.items() if m is not None]
            stack.extend(reversed(children))

    def modules(self) -> Iterator["Module"]:
        """This module and every descendant."""
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        """The direct sub-modules with their attribute names."""
        for name, m in self._modules.items():
            if m is not None:
                yield name, m

    def children(self) -> Iterator["Module"]:
        """The direct sub-modules."""
        for _, m in self.named_children():
            yield m

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """Every parameter with its dotted name (``"0.weight"``), each object once."""
        seen: set[int] = set()
        for mname, module in self.named_modules(prefix):
            for pname, p in module._parameters.items():
                if p is not None and id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{mname}.{pname}" if mname else pname), p

    def parameters(self) -> Iterator[Parameter]:
        """Every trainable parameter (what an optimizer needs)."""
        for _, p in self.named_parameters():
            yield p

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray]]:
        """Every buffer (non-trainable array) with its dotted name."""
        for mname, module in self.named_modules(prefix):
            for bname, b in module._buffers.items():
                if b is not None:
                    yield (f"{mname}.{bname}" if mname else bname), b

    def buffers(self) -> Iterator[np.ndarray]:
        """Every buffer."""
        for _, b in self.named_buffers():
            yield b

    def num_parameters(self) -> int:
        """The number of trainable scalars."""
        total = 0
        for p in self.parameters():
            total += p.data.size
        return total

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient (``None``, PyTorch's default) or zero it."""
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad[...] = 0

    # ------------------------------------------------------------------ state
    def state_dict(self) -> "OrderedDict[str, np.ndarray]":
        """Copies of every parameter's and buffer's values, by dotted name.

        The arrays are copies: later training does not change a saved state.
        """
        state: OrderedDict[str, np.ndarray] = OrderedDict()
        for name, p in self.named_parameters():
            state[name] = p.data.copy()
        for name, b in self.named_buffers():
            state[name] = b.copy()
        return state

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True
                        ) -> tuple[list[str], list[str]]:
        """Copy values from ``state_dict`` into the parameters and buffers.

        Values are copied (never shared) and cast to each target's dtype. Nothing is
        changed unless every entry fits.

        Args:
            state_dict: dotted name -> array, as returned by :meth:`state_dict`.
            strict: require exactly the same names (default True).

        Returns:
            ``(missing_keys, unexpected_keys)``.

        Raises:
            KeyError: (strict) if names are missing or unexpected, listing them.
            TypeError: if a value is not real numbers (complex, strings, objects).
            ValueError: if a value's shape differs from its target's, or it holds NaN or
                infinity, or a ``running_var`` is negative; the message names the entry.
        """
        targets: dict[str, tuple[Any, str]] = {}
        for name, p in self.named_parameters():
            targets[name] = (p, "param")
        for mname, module in self.named_modules():
            for bname, b in module._buffers.items():
                if b is not None:
                    targets[f"{mname}.{bname}" if mname else bname] = (module, bname)
        missing = [k for k in targets if k not in state_dict]
        unexpected = [k for k in state_dict if k not in targets]
        if strict and (missing or unexpected):
            raise KeyError(f"load_state_dict: missing keys {missing}, unexpected keys "
                           f"{unexpected}")
        staged = []
        for key, (target, kind) in targets.items():
            if key not in state_dict:
                continue
            current = target.data if kind == "param" else getattr(target, kind)
            value = np.asarray(state_dict[key].data if isinstance(state_dict[key], Tensor)
                               else state_dict[key])
            if value.dtype.kind not in "fiub":
                raise TypeError(f"load_state_dict: {key!r} holds {value.dtype} values; "
                                "real numbers are required")
            if value.shape != current.shape:
                raise ValueError(f"load_state_dict: {key!r} has shape {value.shape} in the "
                                 f"state but {current.shape} in the model")
            if not np.all(np.isfinite(value)):
                raise ValueError(f"load_state_dict: {key!r} contains NaN or infinite values")
            if key.rsplit(".", 1)[-1] == "running_var" and np.any(value < 0):
                raise ValueError(f"load_state_dict: {key!r} contains negative variances")
            staged.append((target, kind, np.array(value, dtype=current.dtype, copy=True)))
        for target, kind, value in staged:
            if kind == "param":
                target.data = value
            else:
                setattr(target, kind, value)
        return missing, unexpected

    def to(self, dtype: Any) -> "Module":
        """Cast every floating parameter and buffer to ``dtype`` (e.g. ``np.float64``)
        in place, dropping gradients. Returns self."""
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"Module.to needs a floating dtype, got {dtype}")
        for p in self.parameters():
            p.data = p.data.astype(dtype)
            p.grad = None
        for module in self.modules():
            for name, b in list(module._buffers.items()):
                if b is not None and b.dtype.kind == "f":
                    setattr(module, name, b.astype(dtype))
        return self

    def double(self) -> "Module":
        """Cast to float64 (for gradient checks)."""
        return self.to(np.float64)

    def float(self) -> "Module":
        """Cast to float32 (the training default)."""
        return self.to(np.float32)

    # ------------------------------------------------------------------ display
    def extra_repr(self) -> str:
        """The constructor arguments shown by ``repr``."""
        return ""

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        children = list(self.named_children())
        if not children:
            return lines[0] + ")"
        for name, m in children:
            body = repr(m).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        return "\n".join(lines) + "\n)"


def _real(value: Any, name: str, owner: str) -> float:
    """``value`` as a float; TypeError naming the argument for anything not a real
    number (strings are never parsed, booleans are refused)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer,
                                                                         np.floating)):
        raise TypeError(f"{owner}: {name} must be a number, got {value!r}")
    return float(value)


def _positive_int(value: Any, name: str, owner: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{owner}: {name} must be a positive integer, got {value!r}")
    return int(value)


class Linear(Module):
    """Fully connected layer ``y = x @ weight.T + bias``.

    Args:
        in_features, out_features: sizes (positive ints).
        bias: learn an additive bias (default True).
        generator: random source for the initialization (default: the engine's).
        dtype: parameter dtype (default float32).

    Shapes: input ``(*, in_features)``, output ``(*, out_features)``; ``weight`` is
    ``(out_features, in_features)``, ``bias`` is ``(out_features,)``.

    Initialization as PyTorch: weight and bias from U(-1/sqrt(in_features),
    1/sqrt(in_features)) (``kaiming_uniform_`` with ``a = sqrt(5)``).

    Raises:
        ValueError: for non-positive sizes.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 generator: np.random.Generator | None = None, dtype: Any = np.float32) -> None:
        super().__init__()
        self.in_features = _positive_int(in_features, "in_features", "Linear")
        self.out_features = _positive_int(out_features, "out_features", "Linear")
        self.weight = Parameter(np.empty((self.out_features, self.in_features), dtype=dtype))
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=generator)
        if bias:
            bound = 1.0 / math.sqrt(self.in_features)
            self.bias = Parameter(np.empty(self.out_features, dtype=dtype))
            init.uniform_(self.bias, -bound, bound, generator=generator)
        else:
            self.register_parameter("bias", None)

    def forward(self, x: Any) -> Tensor:
        if not isinstance(x, Tensor):
            x = Tensor(x)
        if x.data.ndim == 0 or x.data.shape[-1] != self.in_features:
            raise ValueError(f"Linear({self.in_features}, {self.out_features}) expects input "
                             f"of shape (N, {self.in_features}), got {x.shape}")
        return F.Linear.apply(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class BatchNorm1d(Module):
    """Batch normalization of ``(N, C)`` features (Ioffe & Szegedy, ICML 2015).

    Args:
        num_features: C.
        eps: added to the variance inside the square root (default 1e-5).
        momentum: weight of the new batch statistic in the running averages (default
            0.1; PyTorch's convention, the complement of Keras').
        affine: learn ``weight`` (gamma, init 1) and ``bias`` (beta, init 0). Default True.
        track_running_stats: keep ``running_mean`` (init 0) and ``running_var`` (init 1)
            buffers and use them in eval mode (default True); if False, batch statistics
            are used in both modes.

    In training the output uses the biased batch variance and ``running_var`` is updated
    with the unbiased one, as PyTorch. A training batch of one sample raises
    ``ValueError`` (its variance is undefined).
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = True, track_running_stats: bool = True,
                 dtype: Any = np.float32) -> None:
        super().__init__()
        self.num_features = _positive_int(num_features, "num_features", "BatchNorm1d")
        if momentum is None:
            raise ValueError("BatchNorm1d: momentum=None (a cumulative average of all "
                             "batches) is not supported; give a number in [0, 1]")
        eps, momentum = _real(eps, "eps", "BatchNorm1d"), _real(momentum, "momentum", "BatchNorm1d")
        if not eps > 0:
            raise ValueError(f"BatchNorm1d: eps must be > 0, got {eps}")
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"BatchNorm1d: momentum must be in [0, 1], got {momentum}")
        self.eps, self.momentum = eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        c = self.num_features
        if affine:
            self.weight = Parameter(np.ones(c, dtype=dtype))
            self.bias = Parameter(np.zeros(c, dtype=dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(c, dtype=dtype))
            self.register_buffer("running_var", np.ones(c, dtype=dtype))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)

    def forward(self, x: Any) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(x)
        if x.ndim != 2 or x.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm1d({self.num_features}) expects input of shape "
                             f"(N, {self.num_features}), got {x.shape}")
        use_batch_stats = self.training or not self.track_running_stats
        return F.BatchNorm.apply(x, self.weight, self.bias, running_mean=self.running_mean,
                                 running_var=self.running_var, training=use_batch_stats,
                                 momentum=self.momentum, eps=self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class Dropout(Module):
    """Inverted dropout with drop probability ``p`` (default 0.5), active in training mode
    only (Srivastava et al., JMLR 2014).

    Args:
        p: drop probability in [0, 1].
        generator: random source for the masks (default: the engine's).

    Raises:
        ValueError: if ``p`` is outside [0, 1].
    """

    def __init__(self, p: float = 0.5, generator: np.random.Generator | None = None) -> None:
        super().__init__()
        p = _real(p, "p", "Dropout")
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1], got {p}")
        self.p = p
        self.generator = generator

    def forward(self, x: Any) -> Tensor:
        return F.dropout(x, self.p, self.training, self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Identity(Module):
    """Returns its input unchanged."""

    def forward(self, x: Any) -> Tensor:
        return x if isinstance(x, Tensor) else Tensor(x)


class ReLU(Module):
    """``max(x, 0)`` elementwise. See :func:`nncore.functional.relu`."""

    def forward(self, x: Any) -> Tensor:
        return F.relu(x)


class LeakyReLU(Module):
    """``x if x > 0 else negative_slope * x`` (default slope 0.01)."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = _real(negative_slope, "negative_slope", "LeakyReLU")

    def forward(self, x: Any) -> Tensor:
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Sigmoid(Module):
    """Logistic sigmoid, overflow-free. See :func:`nncore.functional.sigmoid`."""

    def forward(self, x: Any) -> Tensor:
        return F.sigmoid(x)


class Tanh(Module):
    """Hyperbolic tangent."""

    def forward(self, x: Any) -> Tensor:
        return F.tanh(x)


class Softmax(Module):
    """Softmax along ``dim`` (default -1, the class axis of ``(N, C)``)."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = int(dim)

    def forward(self, x: Any) -> Tensor:
        return F.softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """Log-softmax along ``dim`` (default -1), computed with log-sum-exp."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = int(dim)

    def forward(self, x: Any) -> Tensor:
        return F.log_softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Flatten(Module):
    """Flatten all axes from ``start_dim`` (default 1) into one: ``(N, *) -> (N, prod(*))``,
    as PyTorch's ``nn.Flatten``."""

    def __init__(self, start_dim: int = 1) -> None:
        super().__init__()
        self.start_dim = int(start_dim)

    def forward(self, x: Any) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(x)
        keep = x.shape[:self.start_dim]
        return x.reshape(*keep, -1)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}"


class _LossModule(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"{type(self).__name__}: reduction must be 'mean', 'sum' or "
                             f"'none', got {reduction!r}")
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class CrossEntropyLoss(_LossModule):
    """Module form of :func:`nncore.functional.cross_entropy` (softmax cross-entropy on
    logits ``(N, C)`` against class indices ``(N,)`` or probabilities ``(N, C)``).

    Args:
        label_smoothing: epsilon in [0, 1] (default 0).
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
    """

    def __init__(self, label_smoothing: float = 0.0, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.label_smoothing = _real(label_smoothing, "label_smoothing", "CrossEntropyLoss")

    def forward(self, logits: Any, target: Any) -> Tensor:
        return F.cross_entropy(logits, target, self.label_smoothing, self.reduction)


class MSELoss(_LossModule):
    """Module form of :func:`nncore.functional.mse_loss` (shapes must be equal)."""

    def forward(self, pred: Any, target: Any) -> Tensor:
        return F.mse_loss(pred, target, self.reduction)


class BCELoss(_LossModule):
    """Module form of :func:`nncore.functional.binary_cross_entropy` (on probabilities)."""

    def forward(self, p: Any, target: Any) -> Tensor:
        return F.binary_cross_entropy(p, target, self.reduction)


class BCEWithLogitsLoss(_LossModule):
    """Module form of :func:`nncore.functional.binary_cross_entropy_with_logits`."""

    def forward(self, logits: Any, target: Any) -> Tensor:
        return F.binary_cross_entropy_with_logits(logits, target, self.reduction)


class Sequential(Module):
    """Modules applied one after another; ``Sequential(a, b)(x) == b(a(x))``.

    Sub-modules are named ``"0"``, ``"1"``, ...; index with ``seq[i]`` or slice.
    """

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(f"Sequential: argument {i} is {type(m).__name__}, "
                                "not a Module")
            setattr(self, str(i), m)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))

    def __getitem__(self, index: int | slice) -> Any:
        items = list(self._modules.values())
        if isinstance(index, slice):
            return Sequential(*items[index])
        return items[index]

    def append(self, module: Module) -> "Sequential":
        """Add ``module`` at the end. Returns self."""
        setattr(self, str(len(self)), module)
        return self

    def forward(self, x: Any) -> Tensor:
        for m in self._modules.values():
            x = m(x)
        return x

    def forward_with_activations(self, x: Any) -> tuple[Tensor, dict[str, np.ndarray]]:
        """Run :meth:`forward` and also return every sub-module's output.

        Returns:
            ``(output, activations)``: the same output Tensor as ``self(x)``, and a dict
            from each sub-module's name (``"0"``, ``"1"``, ... in order) to the
            ``.data`` array of its output. The arrays are the outputs' own (not
            copies): copy what you keep. A sub-module that returns its input unchanged
            (``Identity``, ``Dropout`` in eval mode) shares its predecessor's array.
            (Trainers use this for activation histograms and to find the first layer
            whose output is not finite.)
        """
        acts: dict[str, np.ndarray] = {}
        for name, m in self._modules.items():
            x = m(x)
            acts[name] = x.data if isinstance(x, Tensor) else np.asarray(x)
        if not isinstance(x, Tensor):
            x = Tensor(x)
        return x, acts


def clip_grad_norm_(parameters: Any, max_norm: float, norm_type: float = 2.0) -> float:
    """Scale the gradients of ``parameters`` so that their global norm is at most
    ``max_norm`` (PyTorch's ``torch.nn.utils.clip_grad_norm_``; Pascanu et al., "On the
    difficulty of training recurrent neural networks", ICML 2013).

    The norm is taken over all gradients together, as if concatenated into one vector;
    when it exceeds ``max_norm`` every gradient is multiplied by
    ``max_norm / (norm + 1e-6)``. Gradients are replaced by scaled copies (never modified
    in place). Parameters without a gradient are ignored.

    Args:
        parameters: an iterable of Parameters (or a single one).
        max_norm: the largest allowed norm (> 0).
        norm_type: the p of the p-norm (default 2; ``inf`` for the max-norm).

    Returns:
        the total norm before clipping (a Python float; NaN if a gradient holds NaN).

    Raises:
        ValueError: if ``max_norm`` is not positive.
    """
    if not max_norm > 0:
        raise ValueError(f"clip_grad_norm_: max_norm must be > 0, got {max_norm}")
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return 0.0
    if norm_type == math.inf:
        total = max(float(np.max(np.abs(g))) if g.size else 0.0 for g in grads)
    else:
        total = (float(sum(float(np.sum(np.abs(g) ** norm_type)) for g in grads))
                 ** (1.0 / norm_type))
    coef = max_norm / (total + 1e-6)
    if coef < 1.0:
        for p in params:
            if p.grad is not None:
                p.grad = p.grad * p.grad.dtype.type(coef)
    return total
