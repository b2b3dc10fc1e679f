"""One way to declare and check a setting: :class:`ParamSpec` and :class:`SpecError`.

A :class:`ParamSpec` says everything NN Canvas knows about one value a user can set: a
node's parameter (Dense ``units``), an optimizer's argument (Adam ``lr``), a schedule's
argument, a dataset's option (``noise``). It holds the type, default, range, choices, a
label and a one-line help text, and :meth:`ParamSpec.validate` is the one validator all
of them use. The inspector and the training panel build their editors from specs, the
command line its options, the project settings their checks.

:class:`SpecError` is the error every validator raises: ``path`` says where the value
sits (``"training.optimizer_options.lr"``, ``"units"``), ``reason`` what is wrong, and
``str()`` is the one line shown to the user. The GUI reads ``path`` to put the message
next to the field at fault (no parsing of messages).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, replace
from typing import Any, Iterable, Mapping

import numpy as np

__all__ = ["SpecError", "ParamSpec", "validate_all", "fmt_number"]

#: The types a :class:`ParamSpec` can have.
TYPES = ("int", "float", "bool", "choice", "floats")


class SpecError(ValueError):
    """A value is refused.

    Attributes:
        path: where the value sits, dotted (``"training.optimizer_options.lr"``), or
            ``""`` when the message says it already.
        reason: what is wrong (``"must be > 0, got -1"``).

    ``str(error)`` is ``"<path> <reason>"`` (the path first, as a sentence subject).
    """

    def __init__(self, reason: str, path: str = "") -> None:
        self.path, self.reason = path, reason
        super().__init__(f"{path} {reason}" if path else reason)

    def within(self, prefix: str) -> "SpecError":
        """The same error one level deeper: ``path`` becomes ``prefix.path``. Returns a
        new error of the same class."""
        path = f"{prefix}.{self.path}" if self.path else prefix
        return type(self)(self.reason, path)


def fmt_number(v: Any) -> str:
    """A number as a user typed it: ``100000`` not ``100000.0``, ``0.001`` not ``1e-03``."""
    if isinstance(v, numbers.Real) and not isinstance(v, bool):
        f = float(v)
        if math.isfinite(f) and f.is_integer() and abs(f) < 1e15:
            return str(int(f))
        return f"{f:g}" if math.isfinite(f) else str(f)
    return repr(v)


@dataclass(frozen=True)
class ParamSpec:
    """One value a user can set.

    Attributes:
        name: stable name, saved in files and used as the keyword argument.
        type: ``"int"``, ``"float"``, ``"bool"``, ``"choice"`` or ``"floats"`` (a fixed
            number of floats, ``length``, each in the range: Adam's ``betas``).
        default: the value when none is given.
        help: a one-line explanation (tooltip, inspector, ``--help``).
        label: the name shown in forms (default: ``name`` capitalized).
        minimum, maximum: inclusive bounds for numbers (None: unbounded);
            ``exclusive_min`` / ``exclusive_max``: the bound itself is not allowed.
        choices: the allowed values of a ``"choice"``.
        length: the number of values of a ``"floats"``.
        log: the value spans orders of magnitude (a learning rate, an epsilon): editors
            use a text field taking ``1e-5`` rather than a spin box.
        step: the increment of a spin box's arrows for a bounded number (None: the
            editor's default, 1 for an int, 0.01 for a float); a hint for editors, not
            checked.

    The type never changes through validation: an int stays an int (``3.0`` from a JSON
    file becomes ``3``), a float becomes a Python float, a ``floats`` a tuple.
    """

    name: str
    type: str
    default: Any
    help: str = ""
    label: str = ""
    minimum: float | None = None
    maximum: float | None = None
    exclusive_min: bool = False
    exclusive_max: bool = False
    choices: tuple[Any, ...] = ()
    length: int = 0
    log: bool = False
    step: float | None = None

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise ValueError(f"ParamSpec {self.name!r}: type must be one of {TYPES}, "
                             f"got {self.type!r}")

    @property
    def title(self) -> str:
        """The label shown in forms."""
        return self.label or self.name.replace("_", " ").capitalize()

    def with_(self, **changes: Any) -> "ParamSpec":
        """A copy with some fields changed (``spec.with_(default=0.01)``)."""
        return replace(self, **changes)

    # ------------------------------------------------------------------ checking
    def validate(self, value: Any, path: str | None = None) -> Any:
        """Return ``value`` normalized (ints as int, floats as float), or raise.

        Args:
            path: where the value sits, for the message (default: ``name``).

        Raises:
            SpecError: for a value of the wrong type or out of range; the message names
                the path, the value (shortened when huge) and the allowed range.
        """
        where = self.name if path is None else path
        kind = self.type
        if kind == "bool":
            if not isinstance(value, (bool, np.bool_)):
                raise SpecError(f"must be true or false, got {_short(value)}", where)
            return bool(value)
        if kind == "choice":
            try:
                ok = value in self.choices
            except TypeError:  # an unhashable value compared with strings
                ok = False
            if not ok:
                raise SpecError("must be one of " + ", ".join(map(str, self.choices))
                                + f"; got {_short(value)}", where)
            return value
        if kind == "floats":
            if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
                raise SpecError(f"must be {self.length} numbers, got {_short(value)}", where)
            items = list(value)
            if len(items) != self.length:
                raise SpecError(f"must be {self.length} numbers, got {len(items)}", where)
            return tuple(self._number(v, f"{where}[{i}]", "float")
                         for i, v in enumerate(items))
        return self._number(value, where, kind)

    def _number(self, value: Any, where: str, kind: str) -> int | float:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise SpecError(f"must be {'a whole number' if kind == 'int' else 'a number'}, "
                            f"got {_short(value)}", where)
        try:
            as_float = float(value)
        except OverflowError:
            raise SpecError(f"must be {self.range_text()}, got a number of about "
                            f"{_digits(value)} digits", where) from None
        if not math.isfinite(as_float):
            raise SpecError(f"must be a finite number, got {value!r}", where)
        if kind == "int":
            if as_float != int(value):
                raise SpecError(f"must be a whole number, got {fmt_number(value)}", where)
            value = int(value)
        else:
            value = as_float
        low, high = self.minimum, self.maximum
        too_low = low is not None and (value <= low if self.exclusive_min else value < low)
        too_high = high is not None and (value >= high if self.exclusive_max else value > high)
        if too_low or too_high:
            raise SpecError(f"must be {self.range_text()}, got {fmt_number(value)}", where)
        return value

    def range_text(self) -> str:
        """The allowed range as the messages say it: ``in [0, 1)``, ``> 0``, ``>= 1``."""
        low, high = self.minimum, self.maximum
        if high is None and low is not None:
            return f"{'>' if self.exclusive_min else '>='} {fmt_number(low)}"
        if low is None and high is not None:
            return f"{'<' if self.exclusive_max else '<='} {fmt_number(high)}"
        if low is None:
            return "any number"
        return (f"in {'(' if self.exclusive_min else '['}{fmt_number(low)}, "
                f"{fmt_number(high)}{')' if self.exclusive_max else ']'}")

    def describe(self) -> str:
        """One line for ``--help`` and tooltips: the help, the range and the default."""
        parts = [self.help.rstrip(".")] if self.help else []
        if self.type in ("int", "float", "floats") and (self.minimum is not None
                                                        or self.maximum is not None):
            parts.append(self.range_text())
        if self.type == "choice":
            parts.append("one of " + ", ".join(map(str, self.choices)))
        parts.append(f"default {_default_text(self.default)}")
        return "; ".join(parts)


def validate_all(specs: Iterable[ParamSpec], values: Mapping[str, Any], path: str = "",
                 what: str = "") -> dict[str, Any]:
    """Check a set of values against their specs; returns every value, defaults filled in.

    Args:
        specs: the allowed values.
        values: what was given (a mapping name -> value).
        path: prefix of the error paths (``"training.optimizer_options"``).
        what: what the values belong to, for the unknown-name message (``"Adam"``).

    Raises:
        SpecError: for unknown names (all of them, with the known ones) or an invalid
            value.
    """
    specs = tuple(specs)
    if not isinstance(values, Mapping):
        raise SpecError(f"must be an object (names and values), got {_short(values)}", path)
    known = {s.name: s for s in specs}
    unknown = [k for k in values if k not in known]
    if unknown:
        owner = f"{what} has" if what else "there is"
        listed = ", ".join(repr(k) for k in unknown)
        known_text = f"known: {', '.join(known)}" if known else "it takes none"
        raise SpecError(f"{owner} no setting{'s' if len(unknown) > 1 else ''} {listed} "
                        f"({known_text})", path)
    prefix = f"{path}." if path else ""
    return {s.name: s.validate(values[s.name], prefix + s.name) if s.name in values
            else s.default for s in specs}


def _digits(value: Any) -> int:
    """Decimal digits of a huge integer, without converting it to text (Python refuses
    str() beyond 4300 digits)."""
    return int(abs(int(value)).bit_length() * math.log10(2)) + 1


def _short(value: Any, limit: int = 60) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"a number of about {_digits(value)} digits"
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 15] + f"... ({len(text)} characters)"


def _default_text(value: Any) -> str:
    if isinstance(value, tuple):
        return ", ".join(fmt_number(v) for v in value)
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return str(value).lower() if isinstance(value, bool) else str(value)
    return fmt_number(value)
