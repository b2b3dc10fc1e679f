"""Writing files safely: one place for atomic saves.

A save writes a temporary file in the target's folder, flushes it to disk and renames it
over the target, so the target is always either the old file or the complete new one
(never half-written, whatever happens in between). New files get the permissions a
plain ``open()`` would give them (``0o666`` less the umask); a file that is replaced
keeps its own.
"""

from __future__ import annotations

import io
import os
import tempfile
from typing import Any, Mapping

import numpy as np

__all__ = ["atomic_write", "save_arrays"]


def atomic_write(path: str | os.PathLike, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8 with ``\\n`` line ends, or bytes) to ``path``
    atomically.

    Raises:
        OSError: if the folder does not exist or is not writable; the message names
            ``path`` (not the temporary file).
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp",
                                   dir=folder)
    except OSError as e:
        raise OSError(e.errno, f"cannot write {path}: {e.strerror}") from None
    try:
        if isinstance(data, str):
            data = data.encode("utf-8")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        try:
            mode = os.stat(path).st_mode & 0o777
        except FileNotFoundError:
            mode = 0o666 & ~_umask()
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def save_arrays(path: str | os.PathLike, arrays: Mapping[str, Any]) -> None:
    """Write named arrays to an ``.npz`` at exactly ``path`` (no suffix added),
    atomically; no pickled objects, so ``np.load(path, allow_pickle=False)`` reads it."""
    buffer = io.BytesIO()
    np.savez(buffer, **{k: np.asarray(v) for k, v in arrays.items()})
    atomic_write(path, buffer.getvalue())


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
