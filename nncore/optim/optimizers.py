"""Optimizers: the ``Optimizer`` base class, SGD, Adagrad, RMSprop, Adadelta, Adam, AdamW.

Names, arguments, defaults and update formulas are PyTorch 2.x's (``torch.optim``, the
single-tensor "for-loop" implementation), operation by operation, so that a run can be
compared with PyTorch's and a user who knows one knows the other. Where frameworks
disagree, the docstring of each optimizer says what PyTorch (and so nncore) does.

Common to every optimizer:

* ``params`` is an iterable of :class:`~nncore.nn.Parameter` s, or of dicts (*parameter
  groups*) each with a ``"params"`` entry and optional per-group options, e.g.
  ``[{"params": weights, "weight_decay": 1e-4}, {"params": biases, "weight_decay": 0}]``
  (see :func:`param_groups_for_weight_decay`). Options a group does not give come from
  the constructor's arguments.
* Hyperparameters are validated in the constructor and in :meth:`Optimizer.add_param_group`;
  an invalid one raises ``ValueError`` with PyTorch's message plus the argument's name.
* Per-parameter state (moments, momentum buffers, step counts) is created lazily at a
  parameter's first step, in the parameter's dtype, keyed by the Parameter object in
  :attr:`Optimizer.state`.
* Parameters whose ``grad`` is ``None`` are skipped (their state does not advance).
* Updates are in place on ``p.data`` (read afresh every step, so replacing ``p.data`` by an
  array of the same shape between steps works; a new dtype converts the state). ``p.grad``
  is never modified. Scalars (bias corrections, step sizes) are Python floats, so a float32
  parameter stays float32; temporaries go to scratch buffers shared by all parameters.
* ``maximize=True`` (keyword only) ascends the objective instead, as in PyTorch.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Iterable, Iterator, Mapping

import numpy as np

from nncore.tensor import Tensor, enable_grad

__all__ = [
    "Optimizer", "SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW",
    "param_groups_for_weight_decay", "UpdateTerm",
]


class _Required:
    """Marker for a hyperparameter without a default (none of ours needs it yet)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _Required()


# ---------------------------------------------------------------------------- helpers
def _number(value: Any, name: str) -> float:
    """``value`` as a Python float (so NumPy never promotes a float32 array); strings
    are refused, not parsed, as PyTorch does."""
    if isinstance(value, (bool, str, bytes)):
        raise TypeError(f"{name} must be a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {value!r}") from None


def _check_nonnegative(group: dict, key: str, what: str) -> None:
    """PyTorch's ``if not 0.0 <= x: raise ValueError(f"Invalid {what}: {x}")`` (NaN fails)."""
    value = _number(group[key], key)
    if not 0.0 <= value:
        raise ValueError(f"Invalid {what}: {group[key]} ({key} must be >= 0)")
    group[key] = value


def _check_flag(group: dict, key: str) -> None:
    value = group[key]
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{key} must be True or False, got {value!r}")
    group[key] = bool(value)


def _grad_term(g: np.ndarray, d: np.ndarray, weight_decay: float, maximize: bool,
               out: np.ndarray) -> np.ndarray:
    """The gradient the update uses: ``±g + weight_decay * p`` (into ``out``; never ``g``).

    PyTorch: ``grad = -grad if maximize``, then ``grad = grad.add(param, alpha=wd)``;
    ``wd*p - g`` is the same floating-point value as ``-g + wd*p``.
    """
    if weight_decay == 0.0:
        if not maximize:
            return g
        np.negative(g, out=out)
        return out
    np.multiply(d, weight_decay, out=out)
    if maximize:
        out -= g
    else:
        out += g
    return out


def _lerp_(a: np.ndarray, b: np.ndarray, weight: float, tmp: np.ndarray) -> None:
    """In place ``a = a + weight * (b - a)``, exactly as ``torch.lerp_`` computes it.

    PyTorch evaluates ``a + w*(b - a)`` when ``|w| < 0.5`` and ``b - (b - a)*(1 - w)``
    otherwise (the more accurate form each side of 0.5). Mathematically both equal
    ``(1 - w)*a + w*b``, the exponential moving average of Adam's first moment.
    """
    np.subtract(b, a, out=tmp)
    if abs(weight) < 0.5:
        tmp *= weight
        a += tmp
    else:
        tmp *= 1.0 - weight
        np.subtract(b, tmp, out=a)


class _FlatGroup:
    """Contiguous storage for a group of small parameters (a "multi-tensor" step).

    With many small parameters, an optimizer step is dominated by the per-call cost of
    NumPy, not by arithmetic. This keeps the group's optimizer state in flat buffers
    (each parameter's state arrays are *views* into them, so ``state``, ``state_dict``
    and the per-parameter path see the same values), gathers the gradients into one
    flat array, runs the update formula once on the flat arrays, and subtracts each
    parameter's slice of the result from its ``.data``. Elementwise, the arithmetic is
    the per-parameter path's, operation by operation, so the results are bit-identical
    (PyTorch's ``foreach`` implementations follow the same idea).

    Attributes:
        params: the parameters, in group order.
        dtype: their common dtype.
        buffers: name -> flat state array (e.g. ``"exp_avg"``).
        grad, tmp: flat scratch arrays; ``tmp_views[i]`` is parameter i's slice of
            ``tmp`` in its shape.
    """

    #: Groups with more elements than this use the per-parameter path: for large
    #: parameters, gathering the gradients costs more than the calls it saves.
    max_size = 1 << 18

    def __init__(self, params: list[Any], state: dict[Any, dict[str, Any]],
                 names: tuple[str, ...], init_state: Any) -> None:
        self.params = tuple(params)
        self.dtype = params[0].data.dtype
        self.shapes = tuple(p.data.shape for p in params)
        sizes = [p.data.size for p in params]
        bounds = np.cumsum([0] + sizes)
        self.slices = [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]
        total = int(bounds[-1])
        self.grad = np.empty(total, self.dtype)
        self.tmp = np.empty(total, self.dtype)
        self.tmp_views = [self.tmp[sl].reshape(sh) for sl, sh in zip(self.slices, self.shapes)]
        self.buffers = {name: np.empty(total, self.dtype) for name in names}
        for p, sl, shape in zip(self.params, self.slices, self.shapes):
            st = state.get(p)
            if not st:
                st = state[p] = init_state(p, p.data)
            for name, flat in self.buffers.items():
                view = flat[sl].reshape(shape)
                view[...] = st[name]
                st[name] = view

    @classmethod
    def usable(cls, group: dict[str, Any], state: dict[Any, dict[str, Any]],
               names: tuple[str, ...]) -> bool:
        """Whether every parameter of ``group`` can take a flat step now: all have a
        gradient of their shape, one floating dtype, and either no state yet (a first
        step) or state holding ``names`` with the same step count; and the group is
        small."""
        params = group["params"]
        if not params:
            return False
        dtype = params[0].data.dtype
        step = None
        total = 0
        for p in params:
            d, g = p.data, p.grad
            if (g is None or not isinstance(d, np.ndarray) or d.dtype != dtype
                    or g.shape != d.shape):
                return False
            st = state.get(p)
            if st:  # state that does not fit (yet) takes the per-parameter path
                if any(name not in st for name in names):
                    return False
                first = st[names[0]]
                if first.shape != d.shape or first.dtype != dtype:
                    return False
            this = st["step"] if st else None
            if p is params[0]:
                step = this
            elif this != step:
                return False
            total += d.size
        return dtype.kind == "f" and total <= cls.max_size

    def current(self, group: dict[str, Any], state: dict[Any, dict[str, Any]]) -> bool:
        """Whether this storage still belongs to ``group`` and holds its state (a
        ``load_state_dict`` or a replaced ``.data`` invalidates it)."""
        params = group["params"]
        if len(params) != len(self.params):
            return False
        for p, q, shape in zip(params, self.params, self.shapes):
            if p is not q or p.data.shape != shape or p.data.dtype != self.dtype:
                return False
            st = state[p]
            for name, flat in self.buffers.items():
                if st[name].base is not flat:
                    return False
        return True

    def gather_grads(self) -> np.ndarray:
        """Copy every parameter's gradient into :attr:`grad` and return it."""
        np.concatenate([p.grad.reshape(-1) for p in self.params], out=self.grad,
                       casting="same_kind")
        return self.grad


# ---------------------------------------------------------------------------- explaining a step
@dataclass(frozen=True)
class UpdateTerm:
    """One quantity of an optimizer's step for one parameter, by the name the
    literature gives it (:meth:`Optimizer.explain_step`).

    Attributes:
        symbol: its name in the formulas (``"w"``, ``"g"``, ``"m_t"``, ``"m̂_t"``).
        key: the engine's name: a state key (``"exp_avg"``), ``"param"``, ``"grad"``,
            or ``""`` for a quantity computed only to show it (Adam's bias-corrected
            moments, in float64).
        formula: how the step computes it (``"β1·m_{t−1} + (1 − β1)·g"``).
        before: its value before the step (None for what the step creates).
        after: its value after the step (an array of the parameter's shape, or a
            number).
    """

    symbol: str
    key: str
    formula: str
    before: Any
    after: Any


# ---------------------------------------------------------------------------- base
class Optimizer:
    """Base class of the optimizers (PyTorch's ``torch.optim.Optimizer``).

    Args:
        params: an iterable of :class:`~nncore.nn.Parameter` s (any :class:`Tensor` leaf),
            of ``(name, parameter)`` pairs (``model.named_parameters()``; the names are
            kept as the group's ``"param_names"``, as PyTorch >= 2.6), or of dicts
            defining parameter groups: each has ``"params"`` (a Parameter or an ordered
            iterable of them or of pairs, not a set) and optionally any hyperparameter,
            overriding ``defaults`` for that group. Other keys are kept as given.
        defaults: the default hyperparameters (subclasses pass their arguments).

    Attributes:
        defaults (dict): the constructor's hyperparameters.
        param_groups (list[dict]): the groups; ``group["lr"]`` etc. may be changed between
            steps (learning-rate schedulers do).
        state (dict[Parameter, dict]): per-parameter state, created at a parameter's first
            step: arrays in the parameter's dtype and a ``"step"`` count (an int).

    Raises:
        TypeError: if ``params`` is a single Tensor or a set, or holds something that is
            not a Tensor; if a hyperparameter has the wrong type.
        ValueError: for an empty parameter list ("optimizer got an empty parameter
            list"), a parameter listed twice (in one group or in two), a non-leaf tensor,
            or an invalid hyperparameter (the message names it and its value).
            ``step()`` raises ValueError, naming the group and parameter, when a gradient's
            shape differs from its parameter's or ``.data`` was replaced by an array of
            another shape than its state.
    """

    #: Scratch arrays per parameter an optimizer's step needs (views of shared buffers).
    _n_scratch = 2
    #: The state's arrays by the names the literature and the class docstring give
    #: them (Adam's ``exp_avg`` is m_t), for :meth:`explain_step`.
    state_names: ClassVar[dict[str, str]] = {}

    def __init__(self, params: Iterable[Any], defaults: Mapping[str, Any]) -> None:
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable "
                            "of Tensors or dicts, but got a single Tensor "
                            f"({type(params).__name__}): wrap it in a list")
        if isinstance(params, (set, frozenset)):
            raise TypeError("optimizer parameters need to be organized in ordered "
                            "collections, but the ordering of tensors in sets will change "
                            "between runs. Please use a list instead.")
        if isinstance(params, dict):
            params = [params]
        defaults = dict(defaults)
        self._validate(defaults)  # normalizes types too (floats, bools)
        self.defaults: dict[str, Any] = defaults
        self.state: dict[Any, dict[str, Any]] = {}
        self.param_groups: list[dict[str, Any]] = []
        # Per-parameter cache: (the p.data it was made for, scratch views...). Not state.
        self._work: dict[Any, tuple] = {}
        self._flat: dict[np.dtype, tuple[np.ndarray, ...]] = {}
        # Multi-tensor storage per parameter group (by position), see _FlatGroup.
        self._flat_groups: dict[int, _FlatGroup] = {}
        # The p.data each parameter's state was last checked against (see _precheck).
        self._checked: dict[Any, np.ndarray] = {}

        groups = list(params)
        if len(groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)
        if not any(len(g["params"]) for g in self.param_groups):
            raise ValueError("optimizer got an empty parameter list")

    # ------------------------------------------------------------------ groups
    def _validate(self, group: dict[str, Any]) -> None:
        """Check (and normalize in place) the hyperparameters of ``group``.

        Subclasses override it; it raises ``ValueError`` naming the argument and value.
        """

    def add_param_group(self, param_group: Mapping[str, Any]) -> None:
        """Add a parameter group (e.g. layers unfrozen during fine-tuning).

        Args:
            param_group: a dict with ``"params"`` and optional hyperparameters; missing
                ones are taken from :attr:`defaults`. The dict is copied.

        Raises:
            TypeError, ValueError: as the constructor (a parameter already in another
                group: "some parameters appear in more than one parameter group").
        """
        if not isinstance(param_group, Mapping):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError("a parameter group must have a 'params' entry")
        group = dict(param_group)
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError("optimizer parameters need to be organized in ordered "
                            "collections, but the ordering of tensors in sets will change "
                            "between runs. Please use a list instead.")
        else:
            params = list(params)
        index = len(self.param_groups)
        named = [isinstance(x, tuple) for x in params]
        if any(named):
            if not all(named) or any(len(x) != 2 or not isinstance(x[0], str) for x in params):
                raise ValueError("all optimizer params should be with/without names "
                                 f"(group {index} mixes (name, parameter) pairs and "
                                 "parameters)")
            group["param_names"] = [x[0] for x in params]
            params = [x[1] for x in params]
        seen: set[int] = set()
        for j, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but parameter "
                                f"{j} of group {index} is a {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"can't optimize a non-leaf Tensor (parameter {j} of "
                                 f"group {index})")
            if id(p) in seen:
                raise ValueError(f"parameter group {index} lists parameter {j} "
                                 f"(shape {p.shape}) more than once")
            seen.add(id(p))
        for other in self.param_groups:
            if any(id(q) in seen for q in other["params"]):
                raise ValueError("some parameters appear in more than one parameter group")
        group["params"] = params
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError("parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            group.setdefault(name, default)
        try:
            self._validate(group)
        except (ValueError, TypeError) as e:
            raise type(e)(f"{e} in parameter group {index}") from None
        self.param_groups.append(group)

    # ------------------------------------------------------------------ stepping
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient (one optimization step).

        Args:
            closure: optional callable that re-evaluates the model (zero_grad, forward,
                backward) and returns the loss; it is called first, with gradient
                recording on, as in PyTorch.

        Returns:
            the closure's loss, or ``None`` without a closure.
        """
        raise NotImplementedError  # pragma: no cover

    def _precheck(self) -> None:
        """Check every parameter that will be updated before any is, so that a step that
        fails changes nothing: its data must be a floating array, its gradient of the
        same shape, and existing state must fit it. The state check reruns only for a
        parameter whose ``.data`` is a new array since it was last checked."""
        checked = self._checked
        for i, group in enumerate(self.param_groups):
            for j, p in enumerate(group["params"]):
                g = p.grad
                if g is None:
                    continue
                d = p.data
                if checked.get(p) is d and g.shape == d.shape:
                    continue
                if not isinstance(d, np.ndarray) or d.dtype.kind != "f":
                    raise TypeError(f"parameter {j} of group {i}: data must be a floating "
                                    f"np.ndarray, got {type(d).__name__} "
                                    f"{getattr(d, 'dtype', '')}")
                if np.shape(g) != d.shape:
                    raise ValueError(f"parameter {j} of group {i} has shape {d.shape} but "
                                     f"its grad has shape {np.shape(g)}")
                for key, value in self.state.get(p, {}).items():
                    if isinstance(value, np.ndarray) and value.shape != d.shape:
                        raise ValueError(
                            f"parameter {j} of group {i} has shape {d.shape} but its "
                            f"optimizer state {key!r} has shape {value.shape} (was .data "
                            "replaced by an array of another shape?)")
                checked[p] = d

    def _updates(self, group: dict[str, Any], weight_decay: float, maximize: bool
                 ) -> Iterator[tuple[np.ndarray, np.ndarray, dict[str, Any], tuple]]:
        """For each parameter of ``group`` that has a gradient, yield ``(data, grad,
        state, work)``: its array (updated in place by the caller), the gradient term of
        the update (``±g + weight_decay * data``, see :func:`_grad_term`), its state
        (created at its first step) and its scratch arrays (``work[2:]``)."""
        state, work = self.state, self._work
        for p in group["params"]:
            g = p.grad
            if g is None:
                continue
            d = p.data
            st = state.get(p)
            w = work.get(p)
            if st is None or w is None or w[0] is not d:
                st, w = self._prepare(p, d)
            if weight_decay != 0.0 or maximize:
                g = _grad_term(g, d, weight_decay, maximize, w[1])
            yield d, g, st, w

    @staticmethod
    def _evaluate(closure: Callable[[], Any] | None) -> Any:
        if closure is None:
            return None
        with enable_grad():
            return closure()

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients of every parameter.

        Args:
            set_to_none: set ``grad = None`` (default, PyTorch's; the next backward then
                stores a fresh array) or, when False, fill the existing arrays with 0.
        """
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    p.grad[...] = 0

    def _init_state(self, p: Any, d: np.ndarray, group: dict[str, Any]) -> dict[str, Any]:
        """The state of a parameter at its first step (subclasses override)."""
        return {}

    def _group_of(self, p: Any) -> tuple[int, int, dict[str, Any]]:
        for i, group in enumerate(self.param_groups):
            for j, q in enumerate(group["params"]):
                if q is p:
                    return i, j, group
        raise KeyError("parameter is not in this optimizer")  # pragma: no cover

    def _prepare(self, p: Any, d: np.ndarray) -> tuple[dict[str, Any], tuple]:
        """Slow path of a step: create the state, check it still fits ``p.data`` (which
        may have been replaced), and make the scratch views. Returns ``(state, work)``."""
        if not isinstance(d, np.ndarray) or d.dtype.kind != "f":
            i, j, _ = self._group_of(p)
            raise TypeError(f"parameter {j} of group {i}: data must be a floating "
                            f"np.ndarray, got {type(d).__name__} "
                            f"{getattr(d, 'dtype', '')}")
        st = self.state.get(p)
        if not st:
            _, _, group = self._group_of(p)
            st = self.state[p] = self._init_state(p, d, group)
        else:
            for key, value in st.items():
                if isinstance(value, np.ndarray):
                    if value.shape != d.shape:
                        i, j, _ = self._group_of(p)
                        raise ValueError(
                            f"parameter {j} of group {i} has shape {d.shape} but its "
                            f"optimizer state {key!r} has shape {value.shape} (was .data "
                            "replaced by an array of another shape?)")
                    if value.dtype != d.dtype:
                        st[key] = value.astype(d.dtype)
        flats = self._flat.get(d.dtype)
        if flats is None or flats[0].size < d.size:
            size = d.size
            for group in self.param_groups:
                for q in group["params"]:
                    qd = q.data
                    if isinstance(qd, np.ndarray) and qd.dtype == d.dtype:
                        size = max(size, qd.size)
            flats = self._flat[d.dtype] = tuple(
                np.empty(size, dtype=d.dtype) for _ in range(self._n_scratch))
            # Views of the old buffers still work, but re-derive them from the new ones.
            for q in [q for q, w in self._work.items() if w[0].dtype == d.dtype]:
                del self._work[q]
        n = d.size
        work = (d,) + tuple(f[:n].reshape(d.shape) for f in flats)
        self._work[p] = work
        return st, work

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """A copy of the optimizer's state, in PyTorch's layout.

        Returns:
            ``{"state": {index: {name: value}}, "param_groups": [{option: value, ...,
            "params": [index, ...]}]}``, where parameters are numbered 0, 1, ... in group
            order. Arrays are copies: later steps do not change a saved state.
        """
        index: dict[int, int] = {}
        groups = []
        start = 0
        for group in self.param_groups:
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            ids = list(range(start, start + len(group["params"])))
            for i, p in zip(ids, group["params"]):
                index[id(p)] = i
            packed["params"] = ids
            start += len(ids)
            groups.append(packed)
        state = {}
        for p, st in self.state.items():
            i = index.get(id(p))
            if i is not None:
                state[i] = {k: (v.copy() if isinstance(v, np.ndarray) else copy.deepcopy(v))
                            for k, v in st.items()}
        return {"state": dict(sorted(state.items())), "param_groups": groups}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore a state saved by :meth:`state_dict` (e.g. to resume training).

        The saved groups' hyperparameters replace the current ones (validated); the
        parameters stay this optimizer's, matched by position. Arrays are copied and cast
        to each parameter's dtype. Parameter indices may be ints or their strings (as
        after a JSON round trip). Nothing changes unless everything fits.

        Raises:
            ValueError: if the group count or a group's size differs ("loaded state dict
                has 2 parameter groups, this optimizer has 1"), if a state array's shape
                differs from its parameter's, if state names an unknown parameter index,
                or if a loaded hyperparameter is invalid.
        """
        if not isinstance(state_dict, Mapping) or "state" not in state_dict \
                or "param_groups" not in state_dict:
            raise ValueError("an optimizer state dict must be a mapping with the keys "
                             "'state' and 'param_groups'")
        saved_groups = state_dict["param_groups"]
        groups = self.param_groups
        if len(saved_groups) != len(groups):
            raise ValueError(f"loaded state dict has {len(saved_groups)} parameter "
                             f"group{'s' if len(saved_groups) != 1 else ''}, this optimizer "
                             f"has {len(groups)}")
        id_map: dict[int, Any] = {}
        for i, (group, saved) in enumerate(zip(groups, saved_groups)):
            saved_ids = list(saved["params"])
            if len(saved_ids) != len(group["params"]):
                raise ValueError(
                    f"loaded state dict contains a parameter group that doesn't match the "
                    f"size of optimizer's group: group {i} has {len(saved_ids)} parameters "
                    f"in the state dict, {len(group['params'])} in this optimizer")
            for saved_id, p in zip(saved_ids, group["params"]):
                id_map[int(saved_id)] = p

        new_groups = []
        for i, (group, saved) in enumerate(zip(groups, saved_groups)):
            new = {k: copy.deepcopy(v) for k, v in saved.items() if k != "params"}
            for name, default in self.defaults.items():
                new.setdefault(name, default)
            try:
                self._validate(new)
            except (ValueError, TypeError) as e:
                raise type(e)(f"{e} in loaded parameter group {i}") from None
            new["params"] = group["params"]
            if "param_names" in group:  # names belong to this optimizer's parameters
                new["param_names"] = group["param_names"]
            new_groups.append(new)

        group_of = {id(p): g for g in new_groups for p in g["params"]}
        new_state: dict[Any, dict[str, Any]] = {}
        for key, saved_state in state_dict["state"].items():
            try:
                k = int(key)
            except (TypeError, ValueError):
                raise ValueError(f"loaded state dict has state under {key!r}, not a "
                                 "parameter index") from None
            if k not in id_map:
                raise ValueError(f"loaded state dict has state for parameter {k}, but its "
                                 f"groups list only {len(id_map)} parameters")
            p = id_map[k]
            st: dict[str, Any] = {}
            for name, value in saved_state.items():
                if name == "step":
                    st[name] = int(value)
                elif isinstance(value, (np.ndarray, list)) or (
                        isinstance(value, Tensor)):
                    arr = np.array(value.data if isinstance(value, Tensor) else value,
                                   dtype=p.data.dtype, copy=True)
                    if arr.shape != p.data.shape:
                        raise ValueError(f"loaded state of parameter {k}: {name!r} has "
                                         f"shape {arr.shape}, the parameter has shape "
                                         f"{p.data.shape}")
                    st[name] = arr
                else:
                    st[name] = copy.deepcopy(value)
            if st:
                expected = self._init_state(p, p.data, group_of[id(p)])
                missing = sorted(set(expected) - set(st))
                if missing:
                    raise ValueError(f"loaded state of parameter {k} lacks {missing} "
                                     f"(has {sorted(st)})")
            new_state[p] = st

        self.param_groups[:] = new_groups
        self.state.clear()
        self.state.update(new_state)
        self._work.clear()
        self._flat_groups.clear()
        self._checked.clear()

    # ------------------------------------------------------------------ explaining a step
    def snapshot(self, p: Any) -> dict[str, Any]:
        """Copies of what a step of ``p`` reads: ``"param"`` (its data), ``"grad"`` and
        its state (arrays copied, ``"step"`` as an int; no state before its first
        step). Take it before :meth:`step`, pass it to :meth:`explain_step` after."""
        snap: dict[str, Any] = {"param": np.array(p.data, copy=True),
                                "grad": None if p.grad is None else np.array(p.grad, copy=True)}
        for key, value in self.state.get(p, {}).items():
            snap[key] = value.copy() if isinstance(value, np.ndarray) else copy.deepcopy(value)
        return snap

    def explain_step(self, p: Any, before: Mapping[str, Any]) -> list[UpdateTerm]:
        """The step just taken for parameter ``p``, quantity by quantity, by the names
        of the class docstring's update (w, g, the state's arrays by
        :attr:`state_names`, and derived quantities such as Adam's bias-corrected
        moments), each with its formula and its value before and after.

        Args:
            p: a parameter of this optimizer.
            before: :meth:`snapshot` of ``p`` taken just before the step.

        Returns:
            the terms in the order the update computes them, ``w`` last. ``g`` is the
            gradient as the backward pass left it (``maximize=True`` negates it inside
            the step). Derived quantities are computed in float64 to show them; the
            step itself is :meth:`step`'s, unchanged.

        Raises:
            KeyError: if ``p`` is not a parameter of this optimizer.
        """
        _, _, group = self._group_of(p)
        state = self.state.get(p, {})
        g = before["grad"]
        terms = [UpdateTerm("g", "grad", "dL/dw from the backward pass", None, g)]
        terms += self._explain_terms(group, before, state, g)
        terms.append(UpdateTerm("w", "param", self._update_formula(group), before["param"],
                                np.array(p.data, copy=True)))
        return terms

    def _explain_terms(self, group: Mapping[str, Any], before: Mapping[str, Any],
                       state: Mapping[str, Any], g: np.ndarray) -> list[UpdateTerm]:
        """The terms between ``g`` and ``w`` (subclasses override): by default each
        named state array, before and after."""
        return [UpdateTerm(symbol, key, "", before.get(key), np.array(state[key], copy=True))
                for key, symbol in self.state_names.items() if key in state]

    def _update_formula(self, group: Mapping[str, Any]) -> str:
        """How ``w`` changes (subclasses override)."""
        return "w ← step(w, g)"

    @staticmethod
    def _l2_term(group: Mapping[str, Any], before: Mapping[str, Any], g: np.ndarray
                 ) -> list[UpdateTerm]:
        """Weight decay as an L2 term in the gradient, when there is one."""
        wd = float(group.get("weight_decay", 0.0))
        if not wd or group.get("decoupled_weight_decay"):
            return []
        w = np.asarray(before["param"], dtype=np.float64)
        return [UpdateTerm("g + λ·w", "", f"L2 weight decay in the gradient, λ = {wd:g}",
                           None, np.asarray(g, dtype=np.float64) + wd * w)]

    # ------------------------------------------------------------------ display
    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


# ---------------------------------------------------------------------------- SGD
class SGD(Optimizer):
    r"""Stochastic gradient descent, optionally with momentum (heavy ball or Nesterov).

    Args:
        params: parameters or parameter groups (see :class:`Optimizer`).
        lr: learning rate (default 1e-3, PyTorch 2.x's default), >= 0.
        momentum: momentum factor mu (default 0), >= 0.
        dampening: dampening tau of the momentum's gradient term (default 0).
        weight_decay: L2 penalty coefficient lambda (default 0), >= 0.
        nesterov: Nesterov momentum (default False); needs momentum > 0 and dampening 0.
        maximize: (keyword only) ascend instead of descend (default False).

    Update (PyTorch's), for each parameter p with gradient g, at step t::

        g = g + lambda * p                              (if weight_decay != 0)
        b = g                                           (t = 1: buf = clone(g))
        b = mu * b + (1 - tau) * g                      (t > 1)
        g = g + mu * b  if nesterov  else  g = b        (if momentum != 0)
        p = p - lr * g

    Conventions: PyTorch's momentum ``v = mu*v + g; p -= lr*v`` differs from Sutskever et
    al.'s (and Keras') ``v = mu*v - lr*g; p += v``: with a constant learning rate they are
    the same trajectory, but after changing lr PyTorch's form applies the new lr to the
    whole velocity at once. The first step copies the gradient into the buffer (no
    dampening applied). Nesterov uses the reformulation ``g + mu*v`` (Sutskever et al.
    2013), not a look-ahead gradient evaluation.

    Sources: Robbins & Monro, "A stochastic approximation method" (1951); Polyak, "Some
    methods of speeding up the convergence of iteration methods" (1964) for momentum;
    Sutskever, Martens, Dahl & Hinton, "On the importance of initialization and momentum
    in deep learning" (ICML 2013) for Nesterov momentum.

    Raises:
        ValueError: "Invalid learning rate: -0.1 (lr must be >= 0)", "Invalid momentum
            value", "Invalid weight_decay value", "Nesterov momentum requires a momentum
            and zero dampening".
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False) -> None:
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _validate(self, group: dict[str, Any]) -> None:
        _check_nonnegative(group, "lr", "learning rate")
        _check_nonnegative(group, "momentum", "momentum value")
        group["dampening"] = _number(group["dampening"], "dampening")
        _check_nonnegative(group, "weight_decay", "weight_decay value")
        _check_flag(group, "nesterov")
        _check_flag(group, "maximize")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening "
                             f"(got nesterov=True, momentum={group['momentum']}, "
                             f"dampening={group['dampening']})")

    state_names = {"momentum_buffer": "b_t"}

    def _explain_terms(self, group, before, state, g):
        terms = self._l2_term(group, before, g)
        if "momentum_buffer" in state:
            formula = ("b_1 = g (the first step copies the gradient)" if "momentum_buffer"
                       not in before else "b_t = μ·b_{t−1} + (1 − dampening)·g")
            terms.append(UpdateTerm("b_t", "momentum_buffer", formula + f", μ = "
                                    f"{float(group['momentum']):g}",
                                    before.get("momentum_buffer"),
                                    np.array(state["momentum_buffer"], copy=True)))
        return terms

    def _update_formula(self, group):
        lr = f"lr = {float(group['lr']):g}"
        if float(group["momentum"]) == 0.0:
            return f"w ← w − lr·g, {lr}"
        if group["nesterov"]:
            return f"w ← w − lr·(g + μ·b_t) (Nesterov), {lr}"
        return f"w ← w − lr·b_t, {lr}"

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform one SGD step (see the class docstring); returns the closure's loss."""
        loss = self._evaluate(closure)
        self._precheck()
        for group in self.param_groups:
            lr = float(group["lr"])
            momentum = float(group["momentum"])
            damp = 1.0 - float(group["dampening"])
            wd = float(group["weight_decay"])
            nesterov = group["nesterov"]
            maximize = group["maximize"]
            for d, grad, st, w in self._updates(group, wd, maximize):
                t = w[2]
                if momentum != 0.0:
                    buf = st.get("momentum_buffer")
                    if buf is None:
                        buf = st["momentum_buffer"] = np.array(grad, dtype=d.dtype, copy=True)
                    else:
                        buf *= momentum
                        if damp == 1.0:
                            buf += grad
                        else:
                            np.multiply(grad, damp, out=t)
                            buf += t
                    if nesterov:
                        np.multiply(buf, momentum, out=t)
                        t += grad
                        grad = t
                    else:
                        grad = buf
                np.multiply(grad, lr, out=t)
                d -= t
        return loss


# ---------------------------------------------------------------------------- Adagrad
class Adagrad(Optimizer):
    r"""Adagrad: per-coordinate learning rates from the sum of squared gradients.

    Args:
        params: parameters or parameter groups (see :class:`Optimizer`).
        lr: learning rate (default 1e-2), >= 0.
        lr_decay: learning-rate decay (default 0), >= 0.
        weight_decay: L2 penalty coefficient lambda (default 0), >= 0.
        initial_accumulator_value: starting value of the sum (default 0), >= 0.
        eps: added to the denominator (default 1e-10), >= 0.
        maximize: (keyword only) ascend instead of descend (default False).

    Update (PyTorch's), at step t = 1, 2, ...::

        g   = g + lambda * p                        (if weight_decay != 0)
        clr = lr / (1 + (t - 1) * lr_decay)
        s   = s + g * g                             (s starts at initial_accumulator_value)
        p   = p - clr * g / (sqrt(s) + eps)

    eps is added after the square root (as PyTorch and the paper; TensorFlow instead
    starts the accumulator at 0.1 and has no eps). With a zero gradient and a zero
    accumulator the update is 0 / eps = 0, never NaN (while eps > 0).

    Difference from PyTorch: the state is created at a parameter's first step (PyTorch
    creates Adagrad's eagerly in the constructor); the values are the same.

    Source: Duchi, Hazan & Singer, "Adaptive subgradient methods for online learning and
    stochastic optimization", JMLR 12 (2011).

    Raises:
        ValueError: "Invalid learning rate", "Invalid lr_decay value", "Invalid
            weight_decay value", "Invalid initial_accumulator_value value", "Invalid
            epsilon value", each followed by the argument's name and value.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, *, maximize: bool = False) -> None:
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value,
                        maximize=maximize)
        super().__init__(params, defaults)

    def _validate(self, group: dict[str, Any]) -> None:
        _check_nonnegative(group, "lr", "learning rate")
        _check_nonnegative(group, "lr_decay", "lr_decay value")
        _check_nonnegative(group, "weight_decay", "weight_decay value")
        _check_nonnegative(group, "initial_accumulator_value",
                           "initial_accumulator_value value")
        _check_nonnegative(group, "eps", "epsilon value")
        _check_flag(group, "maximize")

    state_names = {"sum": "G_t"}

    def _explain_terms(self, group, before, state, g):
        t = int(state["step"])
        clr = float(group["lr"]) / (1 + (t - 1) * float(group["lr_decay"]))
        return [*self._l2_term(group, before, g),
                UpdateTerm("G_t", "sum", "G_t = G_{t−1} + g² (the sum of squared gradients)",
                           before.get("sum"), np.array(state["sum"], copy=True)),
                UpdateTerm("clr", "", f"clr = lr / (1 + (t − 1)·lr_decay), t = {t}", None, clr)]

    def _update_formula(self, group):
        return f"w ← w − clr·g / (√G_t + ε), ε = {float(group['eps']):g}"

    def _init_state(self, p: Any, d: np.ndarray, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": 0,
                "sum": np.full_like(d, float(group["initial_accumulator_value"]))}

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform one Adagrad step (see the class docstring); returns the closure's loss."""
        loss = self._evaluate(closure)
        self._precheck()
        for group in self.param_groups:
            lr = float(group["lr"])
            lr_decay = float(group["lr_decay"])
            wd = float(group["weight_decay"])
            eps = float(group["eps"])
            maximize = group["maximize"]
            for d, grad, st, w in self._updates(group, wd, maximize):
                t = w[2]
                step = st["step"] + 1
                st["step"] = step
                clr = lr / (1 + (step - 1) * lr_decay)
                s = st["sum"]
                np.multiply(grad, grad, out=t)
                s += t
                np.sqrt(s, out=t)
                t += eps
                np.divide(grad, t, out=t)
                t *= clr
                d -= t
        return loss


# ---------------------------------------------------------------------------- RMSprop
class RMSprop(Optimizer):
    r"""RMSprop: divide the gradient by a running root mean square of recent gradients.

    Args:
        params: parameters or parameter groups (see :class:`Optimizer`).
        lr: learning rate (default 1e-2), >= 0.
        alpha: smoothing constant of the squared-gradient average (default 0.99), >= 0.
        eps: added to the denominator (default 1e-8), >= 0.
        weight_decay: L2 penalty coefficient lambda (default 0), >= 0.
        momentum: momentum factor mu (default 0), >= 0.
        centered: normalize by an estimate of the gradient's variance instead of its
            second moment (default False).
        maximize: (keyword only) ascend instead of descend (default False).

    Update (PyTorch's)::

        g   = g + lambda * p                               (if weight_decay != 0)
        v   = alpha * v + (1 - alpha) * g * g
        if centered:  m = alpha * m + (1 - alpha) * g;  avg = sqrt(v - m * m) + eps
        else:         avg = sqrt(v) + eps
        if momentum > 0:  b = mu * b + g / avg;  p = p - lr * b     (b starts at 0)
        else:             p = p - lr * g / avg

    Conventions: PyTorch adds eps *after* the square root, also in the centered variant
    (TensorFlow 1 and Graves 2013 put eps inside: ``sqrt(v - m*m + eps)``); its momentum
    buffer accumulates ``g / avg`` and is scaled by lr afterwards (TensorFlow's
    accumulates ``lr * g / avg``, the same while lr is constant). The moving averages
    start at 0 without bias correction. One safeguard PyTorch lacks: in the centered
    variant ``v - m*m`` (mathematically >= 0) is clamped at 0 before the square root, so
    rounding can never give sqrt of a tiny negative number (NaN); where PyTorch's result
    is finite the two agree.

    Source: Tieleman & Hinton, COURSERA "Neural Networks for Machine Learning", lecture
    6.5 (2012); centered form from Graves, "Generating sequences with recurrent neural
    networks" (2013).

    Raises:
        ValueError: "Invalid learning rate", "Invalid epsilon value", "Invalid momentum
            value", "Invalid weight_decay value", "Invalid alpha value", each followed by
            the argument's name and value.
    """

    _n_scratch = 2

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0,
                 centered: bool = False, *, maximize: bool = False) -> None:
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _validate(self, group: dict[str, Any]) -> None:
        _check_nonnegative(group, "lr", "learning rate")
        _check_nonnegative(group, "eps", "epsilon value")
        _check_nonnegative(group, "momentum", "momentum value")
        _check_nonnegative(group, "weight_decay", "weight_decay value")
        _check_nonnegative(group, "alpha", "alpha value")
        _check_flag(group, "centered")
        _check_flag(group, "maximize")

    state_names = {"square_avg": "v_t", "grad_avg": "m_t", "momentum_buffer": "b_t"}

    def _explain_terms(self, group, before, state, g):
        a = f"α = {float(group['alpha']):g}"
        formulas = {"square_avg": f"v_t = α·v_{{t−1}} + (1 − α)·g², {a}",
                    "grad_avg": f"m_t = α·m_{{t−1}} + (1 − α)·g (centered), {a}",
                    "momentum_buffer": "b_t = μ·b_{t−1} + g / avg, "
                                       f"μ = {float(group['momentum']):g}"}
        return [*self._l2_term(group, before, g)] + [
            UpdateTerm(symbol, key, formulas[key], before.get(key),
                       np.array(state[key], copy=True))
            for key, symbol in self.state_names.items() if key in state]

    def _update_formula(self, group):
        avg = "√(v_t − m_t²) + ε" if group["centered"] else "√v_t + ε"
        lr = f"lr = {float(group['lr']):g}, ε = {float(group['eps']):g}"
        if float(group["momentum"]) > 0:
            return f"w ← w − lr·b_t with avg = {avg}, {lr}"
        return f"w ← w − lr·g / ({avg}), {lr}"

    def _init_state(self, p: Any, d: np.ndarray, group: dict[str, Any]) -> dict[str, Any]:
        st: dict[str, Any] = {"step": 0, "square_avg": np.zeros_like(d)}
        if group["momentum"] > 0:
            st["momentum_buffer"] = np.zeros_like(d)
        if group["centered"]:
            st["grad_avg"] = np.zeros_like(d)
        return st

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform one RMSprop step (see the class docstring); returns the closure's loss."""
        loss = self._evaluate(closure)
        self._precheck()
        for group in self.param_groups:
            lr = float(group["lr"])
            alpha = float(group["alpha"])
            one_minus_alpha = 1.0 - alpha
            eps = float(group["eps"])
            wd = float(group["weight_decay"])
            momentum = float(group["momentum"])
            centered = group["centered"]
            maximize = group["maximize"]
            for d, grad, st, w in self._updates(group, wd, maximize):
                t = w[2]
                st["step"] += 1
                v = st["square_avg"]
                v *= alpha
                np.multiply(grad, one_minus_alpha, out=t)
                t *= grad
                v += t
                if centered:
                    m = st.get("grad_avg")
                    if m is None:
                        m = st["grad_avg"] = np.zeros_like(d)
                    _lerp_(m, grad, one_minus_alpha, t)
                    np.multiply(m, m, out=t)
                    np.subtract(v, t, out=t)
                    np.maximum(t, 0.0, out=t)
                    np.sqrt(t, out=t)
                else:
                    np.sqrt(v, out=t)
                t += eps
                np.divide(grad, t, out=t)
                if momentum > 0:
                    buf = st.get("momentum_buffer")
                    if buf is None:
                        buf = st["momentum_buffer"] = np.zeros_like(d)
                    buf *= momentum
                    buf += t
                    np.multiply(buf, lr, out=t)
                else:
                    t *= lr
                d -= t
        return loss


# ---------------------------------------------------------------------------- Adadelta
class Adadelta(Optimizer):
    r"""ADADELTA: an adaptive learning rate from running averages of squared gradients
    and squared updates.

    Args:
        params: parameters or parameter groups (see :class:`Optimizer`).
        lr: coefficient that scales the update (default 1.0, as in the paper), >= 0.
        rho: decay of the running averages (default 0.9), in [0, 1].
        eps: added inside both square roots (default 1e-6), >= 0.
        weight_decay: L2 penalty coefficient lambda (default 0), >= 0.
        maximize: (keyword only) ascend instead of descend (default False).

    Update (PyTorch's)::

        g     = g + lambda * p                              (if weight_decay != 0)
        v     = rho * v + (1 - rho) * g * g
        delta = sqrt(u + eps) / sqrt(v + eps) * g
        u     = rho * u + (1 - rho) * delta * delta
        p     = p - lr * delta                               (v, u start at 0)

    Conventions: eps is *inside* both square roots, as in Zeiler's paper and PyTorch (so
    the first steps are about ``sqrt(eps)`` in size, not 0); ``lr`` is a plain scale of the
    update, absent from the paper (lr=1 is the paper's method).

    Source: Zeiler, "ADADELTA: An adaptive learning rate method", arXiv:1212.5701 (2012).

    Raises:
        ValueError: "Invalid learning rate", "Invalid rho value" (outside [0, 1]),
            "Invalid epsilon value", "Invalid weight_decay value", each followed by the
            argument's name and value.
    """

    _n_scratch = 3

    def __init__(self, params: Iterable[Any], lr: float = 1.0, rho: float = 0.9,
                 eps: float = 1e-6, weight_decay: float = 0, *, maximize: bool = False) -> None:
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _validate(self, group: dict[str, Any]) -> None:
        _check_nonnegative(group, "lr", "learning rate")
        rho = _number(group["rho"], "rho")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {group['rho']} (rho must be in [0, 1])")
        group["rho"] = rho
        _check_nonnegative(group, "eps", "epsilon value")
        _check_nonnegative(group, "weight_decay", "weight_decay value")
        _check_flag(group, "maximize")

    state_names = {"square_avg": "E[g²]_t", "acc_delta": "E[Δw²]_t"}

    def _explain_terms(self, group, before, state, g):
        rho, eps = float(group["rho"]), float(group["eps"])
        gd = np.asarray(g, dtype=np.float64)
        if float(group["weight_decay"]):
            gd = gd + float(group["weight_decay"]) * np.asarray(before["param"], np.float64)
        u_before = before.get("acc_delta")
        u_before = np.zeros_like(gd) if u_before is None else np.asarray(u_before, np.float64)
        v = np.asarray(state["square_avg"], dtype=np.float64)
        delta = np.sqrt(u_before + eps) / np.sqrt(v + eps) * gd
        return [*self._l2_term(group, before, g),
                UpdateTerm("E[g²]_t", "square_avg", f"E[g²]_t = ρ·E[g²]_{{t−1}} + (1 − ρ)·g², "
                           f"ρ = {rho:g}", before.get("square_avg"),
                           np.array(state["square_avg"], copy=True)),
                UpdateTerm("Δw", "", f"Δw = √(E[Δw²]_{{t−1}} + ε) / √(E[g²]_t + ε)·g, ε = "
                           f"{eps:g}", None, delta),
                UpdateTerm("E[Δw²]_t", "acc_delta", "E[Δw²]_t = ρ·E[Δw²]_{t−1} + (1 − ρ)·Δw²",
                           before.get("acc_delta"), np.array(state["acc_delta"], copy=True))]

    def _update_formula(self, group):
        return f"w ← w − lr·Δw, lr = {float(group['lr']):g}"

    def _init_state(self, p: Any, d: np.ndarray, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": 0, "square_avg": np.zeros_like(d), "acc_delta": np.zeros_like(d)}

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform one Adadelta step (see the class docstring); returns the closure's loss."""
        loss = self._evaluate(closure)
        self._precheck()
        for group in self.param_groups:
            lr = float(group["lr"])
            rho = float(group["rho"])
            one_minus_rho = 1.0 - rho
            eps = float(group["eps"])
            wd = float(group["weight_decay"])
            maximize = group["maximize"]
            for d, grad, st, w in self._updates(group, wd, maximize):
                t, delta = w[2], w[3]
                st["step"] += 1
                v, u = st["square_avg"], st["acc_delta"]
                v *= rho
                np.multiply(grad, one_minus_rho, out=t)
                t *= grad
                v += t
                np.add(v, eps, out=t)          # std = sqrt(v + eps)
                np.sqrt(t, out=t)
                np.add(u, eps, out=delta)      # delta = sqrt(u + eps) / std * g
                np.sqrt(delta, out=delta)
                delta /= t
                delta *= grad
                u *= rho
                np.multiply(delta, one_minus_rho, out=t)
                t *= delta
                u += t
                np.multiply(delta, lr, out=t)
                d -= t
        return loss


# ---------------------------------------------------------------------------- Adam
class Adam(Optimizer):
    r"""Adam: adaptive moment estimation (with optional AMSGrad and L2 weight decay).

    Args:
        params: parameters or parameter groups (see :class:`Optimizer`).
        lr: learning rate (default 1e-3), >= 0.
        betas: decay rates (beta1, beta2) of the first and second moment averages
            (default (0.9, 0.999)), each in [0, 1).
        eps: added to the denominator *after* the square root (default 1e-8), >= 0.
        weight_decay: weight decay coefficient lambda (default 0), >= 0: an L2 penalty
            added to the gradient (or decoupled, see ``decoupled_weight_decay``).
        amsgrad: use the maximum of past second moments (default False).
        maximize: (keyword only) ascend instead of descend (default False).
        decoupled_weight_decay: (keyword only) decay the weights directly, as
            :class:`AdamW` does (default False), as in PyTorch >= 2.6.

    Update (PyTorch's), at step t = 1, 2, ...::

        g  = g + lambda * p           (L2, if weight_decay != 0 and not decoupled)
        p  = p * (1 - lr * lambda)    (decoupled, if weight_decay != 0; before the rest)
        m  = beta1 * m + (1 - beta1) * g          (as torch.lerp_: m + (1-beta1)*(g - m))
        v  = beta2 * v + (1 - beta2) * g * g
        vmax = max(vmax, v)                       (AMSGrad; then v = vmax below)
        p  = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    Conventions: eps is added after the square root of the *bias-corrected* second
    moment, as in the paper's Algorithm 1 and PyTorch. TensorFlow/Keras instead fold the
    bias corrections into the step size and add eps to the uncorrected ``sqrt(v)`` (the
    "epsilon hat" of the paper's section 2), which makes the same eps a much larger
    term early on: with p=1, g=1, lr=0.1, eps=1 one step gives 0.95 here. AMSGrad keeps
    the maximum of the uncorrected ``v`` and bias-corrects it with the current step (as
    PyTorch; Reddi et al. use no bias correction). The bias correction uses each
    parameter's own step count (a parameter that had no gradient on some steps has
    taken fewer).

    Sources: Kingma & Ba, "Adam: A method for stochastic optimization" (ICLR 2015);
    Reddi, Kale & Kumar, "On the convergence of Adam and beyond" (ICLR 2018) for AMSGrad;
    Loshchilov & Hutter, "Decoupled weight decay regularization" (ICLR 2019) for the
    decoupled decay.

    Raises:
        ValueError: "Invalid learning rate", "Invalid epsilon value", "Invalid beta
            parameter at index 0" (or 1; outside [0, 1)), "Invalid weight_decay value",
            each followed by the argument's name and value.
    """

    _n_scratch = 2

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, maximize: bool = False,
                 decoupled_weight_decay: bool = False) -> None:
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _validate(self, group: dict[str, Any]) -> None:
        _check_nonnegative(group, "lr", "learning rate")
        _check_nonnegative(group, "eps", "epsilon value")
        betas = group["betas"]
        if isinstance(betas, (str, bytes)) or np.ndim(betas) != 1 or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        b = []
        for i, beta in enumerate(betas):
            value = _number(beta, f"betas[{i}]")
            if not 0.0 <= value < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {beta} "
                                 f"(betas[{i}] must be in [0, 1))")
            b.append(value)
        group["betas"] = (b[0], b[1])
        _check_nonnegative(group, "weight_decay", "weight_decay value")
        _check_flag(group, "amsgrad")
        _check_flag(group, "maximize")
        _check_flag(group, "decoupled_weight_decay")

    state_names = {"exp_avg": "m_t", "exp_avg_sq": "v_t", "max_exp_avg_sq": "v_max"}

    def _explain_terms(self, group, before, state, g):
        b1, b2 = (float(b) for b in group["betas"])
        lr, eps, wd = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
        t = int(state["step"])
        terms = self._l2_term(group, before, g)
        if wd and group["decoupled_weight_decay"]:
            w = np.asarray(before["param"], dtype=np.float64)
            terms.append(UpdateTerm("w·(1 − lr·λ)", "", f"decoupled weight decay (AdamW), "
                                    f"λ = {wd:g}, before the Adam step", None,
                                    w * (1.0 - lr * wd)))
        m = np.array(state["exp_avg"], copy=True)
        v = np.array(state["exp_avg_sq"], copy=True)
        terms.append(UpdateTerm("m_t", "exp_avg", f"m_t = β1·m_{{t−1}} + (1 − β1)·g, β1 = {b1:g}",
                                before.get("exp_avg"), m))
        terms.append(UpdateTerm("v_t", "exp_avg_sq", f"v_t = β2·v_{{t−1}} + (1 − β2)·g², "
                                f"β2 = {b2:g}", before.get("exp_avg_sq"), v))
        if "max_exp_avg_sq" in state:
            v = np.array(state["max_exp_avg_sq"], copy=True)
            terms.append(UpdateTerm("v_max", "max_exp_avg_sq", "v_max = max(v_max, v_t) "
                                    "(AMSGrad: used for v̂_t)", before.get("max_exp_avg_sq"), v))
        m_hat = np.asarray(m, np.float64) / (1.0 - b1 ** t)
        v_hat = np.asarray(v, np.float64) / (1.0 - b2 ** t)
        terms.append(UpdateTerm("m̂_t", "", f"m̂_t = m_t / (1 − β1^t), t = {t}", None, m_hat))
        terms.append(UpdateTerm("v̂_t", "", f"v̂_t = v_t / (1 − β2^t), t = {t}", None, v_hat))
        terms.append(UpdateTerm("step", "", f"lr·m̂_t / (√v̂_t + ε), lr = {lr:g}, ε = {eps:g}",
                                None, lr * m_hat / (np.sqrt(v_hat) + eps)))
        return terms

    def _update_formula(self, group):
        decay = "w·(1 − lr·λ) " if group["decoupled_weight_decay"] and \
            float(group["weight_decay"]) else "w "
        return f"w ← {decay}− lr·m̂_t / (√v̂_t + ε)"

    def _init_state(self, p: Any, d: np.ndarray, group: dict[str, Any]) -> dict[str, Any]:
        st: dict[str, Any] = {"step": 0, "exp_avg": np.zeros_like(d),
                              "exp_avg_sq": np.zeros_like(d)}
        if group["amsgrad"]:
            st["max_exp_avg_sq"] = np.zeros_like(d)
        return st

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform one Adam (or AdamW) step (see the class docstring); returns the
        closure's loss."""
        loss = self._evaluate(closure)
        self._precheck()
        for gi, group in enumerate(self.param_groups):
            lr = float(group["lr"])
            beta1, beta2 = group["betas"]
            beta1, beta2 = float(beta1), float(beta2)
            eps = float(group["eps"])
            wd = float(group["weight_decay"])
            amsgrad = group["amsgrad"]
            maximize = group["maximize"]
            if group["decoupled_weight_decay"]:
                # AdamW = decoupled decay, then the Adam step without an L2 term.
                decay, l2 = 1.0 - lr * wd, 0.0
            else:
                decay, l2 = 1.0, wd
            w1, one_minus_b2 = 1.0 - beta1, 1.0 - beta2
            if not amsgrad and not maximize and l2 == 0.0 and \
                    _FlatGroup.usable(group, self.state, self._FLAT_STATE):
                self._flat_step(gi, group, decay, beta1, beta2, lr, eps)
                continue
            last_step = 0
            step_size = bc2_sqrt = 0.0
            for d, grad, st, w in self._updates(group, l2, maximize):
                t = w[2]
                if decay != 1.0:
                    d *= decay
                step = st["step"] + 1
                st["step"] = step
                if step != last_step:  # the same for every parameter in the usual case
                    last_step = step
                    step_size = lr / (1.0 - beta1 ** step)
                    bc2_sqrt = math.sqrt(1.0 - beta2 ** step)
                m, v = st["exp_avg"], st["exp_avg_sq"]
                _lerp_(m, grad, w1, t)
                v *= beta2
                np.multiply(grad, one_minus_b2, out=t)
                t *= grad
                v += t
                if amsgrad:
                    vmax = st.get("max_exp_avg_sq")
                    if vmax is None:
                        vmax = st["max_exp_avg_sq"] = np.zeros_like(d)
                    np.maximum(vmax, v, out=vmax)
                    np.sqrt(vmax, out=t)
                else:
                    np.sqrt(v, out=t)
                t /= bc2_sqrt
                t += eps
                np.divide(m, t, out=t)
                t *= step_size
                d -= t
        return loss

    _FLAT_STATE = ("exp_avg", "exp_avg_sq")

    def _flat_step(self, gi: int, group: dict[str, Any], decay: float, beta1: float,
                   beta2: float, lr: float, eps: float) -> None:
        """The step of :meth:`step` for a whole group at once (see :class:`_FlatGroup`):
        the same operations on flat arrays, then each parameter's slice subtracted."""
        flat = self._flat_groups.get(gi)
        if flat is None or not flat.current(group, self.state):
            flat = self._flat_groups[gi] = _FlatGroup(
                group["params"], self.state, self._FLAT_STATE,
                lambda p, d: self._init_state(p, d, group))
        g = flat.gather_grads()
        step = self.state[flat.params[0]]["step"] + 1
        for p in flat.params:
            self.state[p]["step"] = step
            if decay != 1.0:
                p.data *= decay
        step_size = lr / (1.0 - beta1 ** step)
        bc2_sqrt = math.sqrt(1.0 - beta2 ** step)
        m, v, t = flat.buffers["exp_avg"], flat.buffers["exp_avg_sq"], flat.tmp
        _lerp_(m, g, 1.0 - beta1, t)
        v *= beta2
        np.multiply(g, 1.0 - beta2, out=t)
        t *= g
        v += t
        np.sqrt(v, out=t)
        t /= bc2_sqrt
        t += eps
        np.divide(m, t, out=t)
        t *= step_size
        for p, update in zip(flat.params, flat.tmp_views):
            p.data -= update


class AdamW(Adam):
    r"""AdamW: Adam with decoupled weight decay.

    Exactly :class:`Adam` with ``decoupled_weight_decay=True`` (composed, not copied, as
    optax builds ``adamw`` from ``scale_by_adam`` and ``add_decayed_weights``, and as
    PyTorch >= 2.6 defines it): each step first shrinks the weights,
    ``p = p * (1 - lr * weight_decay)``, then takes the Adam step computed from the raw
    gradient (no L2 term in the moments). The decay is applied *before* the Adam update
    (PyTorch's order): p=1, g=1, lr=0.1, wd=0.1 gives 0.890000001, not 0.891. As in
    PyTorch, a parameter whose grad is None is neither decayed nor updated that step.

    Args:
        params, lr, betas, eps, amsgrad, maximize: as :class:`Adam`.
        weight_decay: decoupled decay coefficient (default 1e-2, PyTorch's), >= 0. It is
            multiplied by the *current* lr, so a schedule scales it too (PyTorch's form;
            the paper uses a separate schedule multiplier).

    Source: Loshchilov & Hutter, "Decoupled weight decay regularization" (ICLR 2019).

    Raises:
        ValueError: as :class:`Adam`.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize, decoupled_weight_decay=True)


# ---------------------------------------------------------------------------- groups helper
def param_groups_for_weight_decay(module_or_named_params: Any, weight_decay: float,
                                  exclude_bias_and_norm: bool = True
                                  ) -> list[dict[str, Any]]:
    """Parameter groups that apply weight decay to weight matrices only (or to all).

    Pass the result to any optimizer: ``AdamW(param_groups_for_weight_decay(model, 0.05),
    lr=1e-3)``.

    Args:
        module_or_named_params: a :class:`~nncore.nn.Module`, or an iterable of
            ``(name, parameter)`` pairs (``model.named_parameters()``) or of parameters.
            A parameter listed twice (shared) is taken once.
        weight_decay: the decay coefficient for the decayed group, >= 0.
        exclude_bias_and_norm: default True: parameters with ``ndim <= 1`` — biases and
            BatchNorm's gamma/beta — get ``weight_decay=0``, and only ``ndim >= 2``
            parameters (Linear weights) decay. This is the common recommendation
            (Goyal et al. 2017, "Accurate, large minibatch SGD", "no bias decay";
            Loshchilov & Hutter 2019 decay weights): decaying a bias or BatchNorm's scale
            does not regularize the function's complexity, it only pulls the layer's
            offset and scale towards 0. False: one group in which everything decays (what
            ``weight_decay=`` on the optimizer does).

    Returns:
        ``[{"params": decayed, "weight_decay": weight_decay}, {"params": not_decayed,
        "weight_decay": 0.0}]`` when excluding (either list may be empty), else
        ``[{"params": all_parameters, "weight_decay": weight_decay}]``. Order is the
        model's.

    Raises:
        ValueError: for a negative weight_decay ("Invalid weight_decay value").
        TypeError: for items that are not parameters.
    """
    wd = _number(weight_decay, "weight_decay")
    if not 0.0 <= wd:
        raise ValueError(f"Invalid weight_decay value: {weight_decay} (weight_decay must "
                         "be >= 0)")
    source = module_or_named_params
    if hasattr(source, "named_parameters") and callable(source.named_parameters):
        items: Iterable[Any] = source.named_parameters()
    else:
        items = source
    params: list[Any] = []
    seen: set[int] = set()
    for item in items:
        p = item[1] if isinstance(item, tuple) and len(item) == 2 else item
        if not isinstance(p, Tensor):
            raise TypeError(f"param_groups_for_weight_decay: expected parameters or "
                            f"(name, parameter) pairs, got {type(item).__name__}")
        if id(p) not in seen:
            seen.add(id(p))
            params.append(p)
    if not exclude_bias_and_norm:
        return [{"params": params, "weight_decay": wd}]
    decayed = [p for p in params if p.data.ndim >= 2]
    not_decayed = [p for p in params if p.data.ndim <= 1]
    return [{"params": decayed, "weight_decay": wd},
            {"params": not_decayed, "weight_decay": 0.0}]
