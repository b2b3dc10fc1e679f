"""The recent files of File → Open Recent, kept in the application's settings store."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["MAX_RECENT", "real_path", "recent_files", "add_recent"]

#: How many recent files are remembered.
MAX_RECENT = 8


def real_path(path: str | Path) -> str:
    """``path`` as one spelling per file: absolute, links and ``..`` resolved
    (``os.path.realpath``), case-folded where the file system ignores case
    (``os.path.normcase``)."""
    return os.path.normcase(os.path.realpath(os.fspath(path)))


def recent_files(store: Any) -> list[str]:
    """The recent files in ``store`` (a ``QSettings`` or anything with its ``value``),
    newest first, each once: as real paths, so one file reached two ways is one entry,
    also in a list saved by an older version."""
    value = store.value("recent", [])
    if isinstance(value, str):
        value = [value]
    return list(dict.fromkeys(real_path(v) for v in (value or []) if v))


def add_recent(store: Any, path: str | Path) -> None:
    """Put ``path`` first in the recent files of ``store`` (at most :data:`MAX_RECENT`)."""
    path = real_path(path)
    store.setValue("recent", [path, *[p for p in recent_files(store) if p != path]][:MAX_RECENT])
