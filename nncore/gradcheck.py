"""Central-difference gradient checking, for any op, module or whole model.

The analytic gradient from :meth:`Tensor.backward` is compared with the numerical
derivative ``(f(x + h) - f(x - h)) / 2h`` of every element of every input. To check a
function with a non-scalar output in a single backward pass, the output is contracted
with a fixed random cotangent ``r``: the scalar checked is ``sum(f(x) * r)``, whose
gradient is the vector-Jacobian product ``J^T r`` (as ``torch.autograd.gradcheck`` and
HIPS/autograd's ``check_grads`` do). The check runs in float64: float32 rounding would
swamp the finite-difference error.

Reference: Nocedal & Wright, *Numerical Optimization* (2006), §8.1 (central differences,
error O(h^2)).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from nncore.tensor import Tensor, no_grad

__all__ = ["GradcheckError", "GradcheckResult", "gradcheck", "check_module"]


class GradcheckError(AssertionError):
    """Raised by :func:`gradcheck` when analytic and numerical gradients disagree."""


@dataclass
class GradcheckResult:
    """The outcome of a gradient check.

    Attributes:
        ok: True when every element satisfies ``|analytic - numeric| <= atol + rtol*|numeric|``.
        max_abs_error: the largest ``|analytic - numeric|`` over all checked elements.
        max_rel_error: the largest ``|analytic - numeric| / max(|analytic|, |numeric|)``
            (elements where both are below ``atol`` count as 0).
        worst: where the worst element is: input position/name, index, both values.
        per_input: input label -> that input's largest relative error.
    """

    ok: bool
    max_abs_error: float
    max_rel_error: float
    worst: str
    per_input: dict[str, float] = field(default_factory=dict)
    #: the label of the input holding the worst element ("input 0 (n2.weight)") and
    #: its index there (``()`` for a scalar or when nothing was checked)
    worst_input: str = ""
    worst_index: tuple[int, ...] = ()

    def __str__(self) -> str:
        status = "passed" if self.ok else "FAILED"
        return (f"gradcheck {status}: max relative error {self.max_rel_error:.3g}, "
                f"max absolute error {self.max_abs_error:.3g}; worst at {self.worst}")


def _label(i: int, t: Tensor) -> str:
    return f"input {i}" + (f" ({t.name})" if t.name else "")


def gradcheck(fn: Callable[..., Tensor], inputs: Sequence[Tensor], *, eps: float = 1e-6,
              atol: float = 1e-7, rtol: float = 1e-5, seed: int = 0,
              raise_exception: bool = True, elements: int | None = None) -> GradcheckResult:
    """Compare the gradients of ``fn(*inputs)`` with central differences.

    Args:
        fn: called as ``fn(*inputs)``; returns a Tensor of any shape. It may also ignore
            its arguments and use tensors it closes over (e.g. a module's parameters
            passed as ``inputs``), since inputs are perturbed in place.
        inputs: the tensors to differentiate with respect to; those with
            ``requires_grad=True`` are checked. They must be float64.
        eps: the finite-difference step h. Default 1e-6.
        atol, rtol: tolerance per element, ``|a - n| <= atol + rtol * |n|``.
        seed: seed of the random cotangent that contracts a non-scalar output.
        raise_exception: raise :class:`GradcheckError` on failure (default) instead of
            only returning the result.
        elements: check at most this many elements of each input, evenly spaced over
            its flattened index, first and last included (default None: every element).
            Each element costs two evaluations of ``fn``; a sample can miss an error
            that touches other elements only.

    Returns:
        a :class:`GradcheckResult` saying whether it passed and where the worst error is.
        An element whose analytic or numeric gradient is NaN or infinite fails (its
        error is infinite): nothing is verified there.

    Raises:
        ValueError: if no input requires grad, or a checked input is not float64.
        GradcheckError: if the check fails and ``raise_exception`` is True.
    """
    checked = [(i, t) for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input has requires_grad=True")
    for i, t in checked:
        if t.dtype != np.float64:
            raise ValueError(f"gradcheck: {_label(i, t)} is {t.dtype}; gradient checks need "
                             "float64 (use Tensor(x, dtype=np.float64) or module.double())")

    out = fn(*inputs)
    cotangent = np.random.default_rng(seed).standard_normal(out.shape)
    for _, t in checked:
        t.grad = None
    if not out.requires_grad:
        raise ValueError("gradcheck: the output does not depend on any checked input")
    out.backward(cotangent)
    analytic = [np.zeros_like(t.data) if t.grad is None else t.grad.copy() for _, t in checked]

    def value() -> float:
        with no_grad():
            return float(np.sum(fn(*inputs).data * cotangent))

    max_abs = max_rel = 0.0
    worst = "nowhere (no elements)"
    worst_input, worst_index = "", ()
    per_input: dict[str, float] = {}
    ok = True
    for (i, t), a_grad in zip(checked, analytic):
        label = _label(i, t)
        data = t.data
        input_rel = 0.0
        for idx in _indices(data.shape, elements):
            original = data[idx]
            try:
                data[idx] = original + eps
                plus = value()
                data[idx] = original - eps
                minus = value()
            finally:
                data[idx] = original  # the input is left exactly as it was, even on error
            numeric = (plus - minus) / (2.0 * eps)
            a = float(a_grad[idx])
            if not (np.isfinite(a) and np.isfinite(numeric)):
                # NaN or infinity: nothing is verified there (NaN > tol is False: it
                # would pass unnoticed)
                err = rel = np.inf
                ok = False
            else:
                err = abs(a - numeric)
                scale = max(abs(a), abs(numeric))
                rel = 0.0 if err <= atol else err / scale
                if err > atol + rtol * abs(numeric):
                    ok = False
            input_rel = max(input_rel, rel)
            if rel > max_rel or (rel == max_rel and err > max_abs):
                worst = f"{label} index {idx}: analytic {a:.10g}, numeric {numeric:.10g}"
                worst_input, worst_index = label, tuple(int(i) for i in idx)
            max_abs = max(max_abs, err)
            max_rel = max(max_rel, rel)
        per_input[label] = input_rel
    result = GradcheckResult(ok, max_abs, max_rel, worst, per_input, worst_input, worst_index)
    if not ok and raise_exception:
        raise GradcheckError(str(result))
    return result


def _indices(shape: tuple[int, ...], elements: int | None) -> Any:
    """Every index of ``shape``, or ``elements`` of them evenly spaced."""
    size = int(np.prod(shape))
    if elements is None or size <= elements:
        return np.ndindex(shape)
    if elements < 1:
        raise ValueError(f"gradcheck: elements must be at least 1, got {elements}")
    flat = np.unique(np.linspace(0, size - 1, elements).round().astype(np.int64))
    return [tuple(int(i) for i in np.unravel_index(k, shape)) for k in flat]


def check_module(module: Any, x: Any, loss_fn: Callable[[Tensor], Tensor] | None = None,
                 **kwargs: Any) -> GradcheckResult:
    """Gradient-check every parameter of ``module`` (and ``x`` if it requires grad).

    The module is left as it was: its parameters, buffers (BatchNorm's running
    statistics, which every training-mode evaluation would otherwise update), gradients
    and parameter names are restored afterwards, also when the check fails.

    Args:
        module: an :class:`nncore.nn.Module` whose parameters are float64
            (call ``module.double()`` first).
        x: the input (a float64 Tensor; set ``requires_grad=True`` to check it too).
        loss_fn: maps the module's output to the tensor checked; default: the output.
        **kwargs: passed to :func:`gradcheck` (``eps``, ``atol``, ``rtol``, ...).

    Returns:
        the :class:`GradcheckResult`; parameters are labelled by their dotted names.

    Raises:
        ValueError: if the module is random in its current mode (a Dropout with p > 0
            in training mode: each evaluation would draw a new mask); call ``.eval()``
            first. Also as :func:`gradcheck`.
        GradcheckError: as :func:`gradcheck`.
    """
    for name, m in module.named_modules():
        if type(m).__name__ == "Dropout" and m.training and getattr(m, "p", 0) > 0:
            raise ValueError(f"check_module: {name or 'the module'} is a Dropout in training "
                             "mode, so every evaluation draws a new random mask and "
                             "finite differences are meaningless; call module.eval() first")
    named = list(module.named_parameters())
    saved_state = module.state_dict()
    saved = [(p, p.grad, p.name) for _, p in named]
    params = []
    for name, p in named:
        p.name = name
        params.append(p)
    inputs: list[Tensor] = params + ([x] if isinstance(x, Tensor) and x.requires_grad else [])

    def run(*_: Tensor) -> Tensor:
        out = module(x)
        return loss_fn(out) if loss_fn is not None else out

    try:
        return gradcheck(run, inputs, **kwargs)
    finally:
        module.load_state_dict(saved_state)
        for p, grad, name in saved:
            p.grad, p.name = grad, name
