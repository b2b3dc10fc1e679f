"""Small text helpers for messages shown to the user (the CLI and the window)."""

from __future__ import annotations

__all__ = ["plural"]


def plural(n: int, word: str) -> str:
    """``"1 epoch"``, ``"2 epochs"``, ``"1,000 nodes"``: a count with its noun, the
    noun in the plural (an added "s") unless n is 1; thousands separated by commas."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"
