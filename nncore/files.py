"""Reading and writing files safely: one place for atomic saves and for what may be read.

A save writes a temporary file in the target's folder, flushes it to disk and renames it
over the target, so the target is always either the old file or the complete new one
(never half-written, whatever happens in between). New files get the permissions a
plain ``open()`` would give them (``0o666`` less the umask); a file that is replaced
keeps its own. A save killed midway (``kill -9``) can leave its temporary file behind:
the next save or open of that file removes such leftovers (:func:`remove_leftovers`).

What is read (:func:`regular_file`, :func:`read_limited`) must be a regular file of a
sane size: a device, a FIFO or a kernel file (``/dev/zero``, ``/proc/kmsg``) would be
read forever or block, so it is refused before it is opened.
"""

from __future__ import annotations

import io
import os
import re
import stat
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from nncore.limits import PSEUDO_FOLDERS, TEMP_GRACE_SECONDS, excerpt, size_text

__all__ = ["atomic_write", "save_arrays", "FileRefused", "regular_file", "read_limited",
           "remove_leftovers", "check_npz"]


class FileRefused(OSError, ValueError):
    """A file that is not read: not a regular file, in a device or kernel folder, or
    too large. Both an OSError (it cannot be read) and a ValueError (bad input), so
    that either kind of handler shows its message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)

    def __str__(self) -> str:
        return str(self.args[0])


def _temp_prefix(path: str) -> str:
    return f".{os.path.basename(path)}."


def remove_leftovers(path: str | os.PathLike, before: float | None = None) -> list[str]:
    """Remove the temporary files a killed save of ``path`` left in its folder: only
    names of :func:`atomic_write`'s pattern (``.NAME.XXXXXXXX.tmp``), only regular
    files last changed before ``before`` (default: now) less
    :data:`~nncore.limits.TEMP_GRACE_SECONDS` (a younger one may be a save under way).
    Never raises (a read-only folder keeps them). Returns the names removed."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    pattern = re.compile(re.escape(_temp_prefix(path)) + r"[A-Za-z0-9_]{8}\.tmp")
    limit = (time.time() if before is None else before) - TEMP_GRACE_SECONDS
    removed = []
    try:
        names = [n for n in os.listdir(folder) if pattern.fullmatch(n)]
    except OSError:
        return removed
    for name in names:
        full = os.path.join(folder, name)
        try:
            st = os.lstat(full)
            if stat.S_ISREG(st.st_mode) and st.st_mtime < limit:
                os.unlink(full)
                removed.append(name)
        except OSError:
            pass
    return removed


def regular_file(path: str | os.PathLike, what: str, max_bytes: int) -> os.stat_result:
    """Check that ``path`` may be read: a regular file (not a folder, device, FIFO or
    socket), outside :data:`~nncore.limits.PSEUDO_FOLDERS` (``/proc/kmsg`` is "regular"
    but never ends), of at most ``max_bytes``. Looks without opening it.

    Args:
        what: what the file is, for messages (``"the dataset"``).

    Raises:
        FileNotFoundError: for a missing file (the message names it).
        FileRefused: for a file that is not read, naming the path, why and the limit.
    """
    text = os.fspath(path)
    shown = excerpt(text, 200) if len(text) > 200 else text
    if "\0" in text:
        raise FileRefused(f"{what} {excerpt(text)}: a file name cannot hold a NUL byte "
                          f"(character {text.index(chr(0)) + 1})")
    if len(text) > 4096:
        raise FileRefused(f"{what} {shown}: the path is {len(text):,} characters long "
                          "(the limit is 4,096)")
    try:
        real = os.path.realpath(text)
        st = os.stat(text)
    except FileNotFoundError:
        raise FileNotFoundError(f"{shown}: no such file ({what})") from None
    except OSError as e:
        raise FileRefused(f"{shown}: cannot read {what} ({e.strerror})") from None
    except ValueError as e:
        raise FileRefused(f"{shown}: not a usable file name for {what} ({e})") from None
    for folder in PSEUDO_FOLDERS:
        if real == folder or real.startswith(folder + "/"):
            raise FileRefused(f"{shown}: {what} cannot be a device or kernel file (in "
                              f"{folder}); choose a data file")
    if stat.S_ISDIR(st.st_mode):
        raise FileRefused(f"{shown}: is a folder, not a file ({what})")
    if not stat.S_ISREG(st.st_mode):
        kind = ("a FIFO (named pipe)" if stat.S_ISFIFO(st.st_mode) else
                "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else
                "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file")
        raise FileRefused(f"{shown}: is {kind}, not a regular file ({what})")
    if st.st_size > max_bytes:
        raise FileRefused(f"{shown}: {what} is {size_text(st.st_size)}; the limit is "
                          f"{size_text(max_bytes)}")
    return st


def read_limited(path: str | os.PathLike, what: str, max_bytes: int) -> bytes:
    """The bytes of ``path`` after :func:`regular_file`'s checks, reading at most
    ``max_bytes`` (a file that grows past it meanwhile is refused too).

    Raises:
        FileNotFoundError, FileRefused: see :func:`regular_file`; OSError when it
            cannot be read.
    """
    regular_file(path, what, max_bytes)
    with open(path, "rb") as f:
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise FileRefused(f"{Path(path)}: {what} is larger than {size_text(max_bytes)}, "
                          "the limit")
    return data


def atomic_write(path: str | os.PathLike, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8 with ``\\n`` line ends, or bytes) to ``path``
    atomically; leftovers of earlier killed saves of ``path`` are removed
    (:func:`remove_leftovers`).

    Raises:
        OSError: if the folder does not exist or is not writable; the message names
            ``path`` (not the temporary file).
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    started = time.time()
    try:
        fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=".tmp", dir=folder)
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
        remove_leftovers(path, started)  # of saves killed before this one
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def check_npz(path: str | os.PathLike, what: str, max_bytes: int, max_values: int) -> None:
    """Look into an ``.npz`` before ``np.load`` reads it: the zip directory's sizes and
    each ``.npy`` member's header (``numpy.lib.format``), so that a zip bomb or a header
    claiming 10**12 values is refused before any memory is taken. A file that is not a
    zip archive passes (``np.load`` says what is wrong with it).

    Raises:
        FileRefused: when the arrays would take more than ``max_bytes`` once
            decompressed, an array claims more than ``max_values`` values, or claims
            more bytes than its member holds; the message names the file, the array and
            the limit.
    """
    fmt = np.lib.format
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return
    with archive:
        members = archive.infolist()
        total = sum(m.file_size for m in members)
        if total > max_bytes:
            raise FileRefused(f"{path}: the arrays of {what} would take "
                              f"{size_text(total)} once decompressed; the limit is "
                              f"{size_text(max_bytes)}")
        for m in members:
            if not m.filename.endswith(".npy"):
                continue
            name = excerpt(m.filename[:-4])
            try:
                with archive.open(m) as f:
                    version = fmt.read_magic(f)
                    read = {(1, 0): fmt.read_array_header_1_0,
                            (2, 0): fmt.read_array_header_2_0}.get(version)
                    if read is None:
                        continue
                    shape, _, dtype = read(f)
            except Exception:  # noqa: BLE001 - np.load reports a malformed member
                continue
            values = 1
            for d in shape:
                values *= int(d)
            if values > max_values:
                dims = " x ".join(f"{int(d):,}" for d in shape)
                raise FileRefused(f"{path}: array {name} of {what} claims {dims} = "
                                  f"{values:,} values; the limit is {max_values:,}")
            if values * dtype.itemsize > m.file_size:
                raise FileRefused(f"{path}: array {name} of {what} claims {values:,} values "
                                  f"({size_text(values * dtype.itemsize)}) but holds "
                                  f"{size_text(m.file_size)}: the file is damaged")


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
