"""A registry: one place that knows every member of a family (optimizers, schedules,
metrics, datasets, node types).

The command line, the project settings and the widgets all read the same registry, so a
new member is one :meth:`Registry.register` call and appears everywhere. The pattern is
ryvencore's ``Session.register_node_types`` and PyTorch's "the constructor signature is
the definition".
"""

from __future__ import annotations

from typing import Callable, Generic, Iterator, Mapping, TypeVar, overload

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(Mapping[str, T], Generic[T]):
    """An ordered, read-only mapping ``name -> member`` filled by :meth:`register`.

    Args:
        family: what the members are, for messages (``"optimizer"``).

    Looking up an unknown name raises ``KeyError`` whose message lists the known names
    (``unknown optimizer 'adamax'; known: sgd, momentum, ...``).
    """

    def __init__(self, family: str) -> None:
        self.family = family
        self._items: dict[str, T] = {}

    @overload
    def register(self, name: str, member: T) -> T: ...
    @overload
    def register(self, name: str) -> Callable[[T], T]: ...

    def register(self, name: str, member: T | None = None):  # type: ignore[no-untyped-def]
        """Add ``member`` under ``name`` (or, without a member, a decorator that adds what
        it decorates). Returns the member.

        Raises:
            ValueError: if ``name`` is taken (two members must never share a name).
        """
        if member is None:
            return lambda m: self.register(name, m)
        if name in self._items:
            raise ValueError(f"{self.family} {name!r} is registered twice")
        self._items[name] = member
        return member

    def get(self, name: str, default: T | None = None) -> T:  # type: ignore[override]
        """The member called ``name``; ``default`` if given and ``name`` is unknown.

        Raises:
            KeyError: for an unknown name without a default, listing the known names.
        """
        try:
            return self._items[name]
        except (KeyError, TypeError):
            if default is not None:
                return default
            raise KeyError(self.unknown(name)) from None

    def unregister(self, name: str) -> T:
        """Remove the member called ``name`` and return it (tests that register a toy
        member take it out again).

        Raises:
            KeyError: for an unknown name, listing the known names.
        """
        member = self.get(name)
        del self._items[name]
        return member

    def unknown(self, name: object) -> str:
        """The message for an unknown name."""
        return f"unknown {self.family} {name!r}; known: {', '.join(self._items)}"

    def names(self) -> tuple[str, ...]:
        """Every name, in registration order."""
        return tuple(self._items)

    def __getitem__(self, name: str) -> T:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        try:
            return name in self._items
        except TypeError:
            return False

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Registry({self.family!r}: {', '.join(self._items)})"
