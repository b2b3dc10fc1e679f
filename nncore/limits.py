"""The limits of what NN Canvas reads, in one place.

A project file, a data file or a setting beyond these is refused at once with a message
that names the limit, instead of a traceback, a hang or an exhausted memory. They are
far above anything a person makes by hand (the largest shipped example is 8 nodes, a
2,000-node project file is about 0.5 MB) and far below what would stop the machine.

:func:`excerpt` is how a value read from a file appears in a message: quoted, and cut
to :data:`EXCERPT_CHARS` characters. :func:`available_memory` is what the machine can
still give (a network whose weights would not fit is refused before it is built).
"""

from __future__ import annotations

import os

__all__ = ["MAX_PROJECT_BYTES", "MAX_DEPTH", "MAX_TEXT_CHARS", "MAX_NAME_CHARS",
           "MAX_INT_DIGITS", "MAX_NODES", "MAX_EDGES", "MAX_POSITION", "MAX_BATCH_SIZE",
           "MAX_EPOCHS", "MAX_CSV_BYTES", "MAX_NPZ_BYTES", "MAX_ARRAY_VALUES",
           "PSEUDO_FOLDERS", "TEMP_GRACE_SECONDS", "EXCERPT_CHARS", "excerpt", "size_text",
           "available_memory"]

#: A project (graph) file: at most 16 MiB on disk (a 2,000-node project is ~0.5 MB).
MAX_PROJECT_BYTES = 16 * 2**20
#: Objects and lists in a project file nest at most this deep (a project needs 4).
MAX_DEPTH = 32
#: A text in a project file (a data path, a setting): at most 4,096 characters (PATH_MAX).
MAX_TEXT_CHARS = 4096
#: A node's name: at most 200 characters.
MAX_NAME_CHARS = 200
#: A whole number in a project file: at most 30 digits (a seed has 10).
MAX_INT_DIGITS = 30
#: Nodes and wires of one project.
MAX_NODES = 20_000
MAX_EDGES = 100_000
#: A node's position: |x| and |y| at most 10 million canvas units (a card is 200 wide).
MAX_POSITION = 1e7
#: Minibatch size and epochs: at most 2**31 - 1 (the window's integer fields are 32-bit).
MAX_BATCH_SIZE = 2**31 - 1
MAX_EPOCHS = 2**31 - 1
#: A CSV data file: at most 256 MiB (read into memory as text, then as numbers).
MAX_CSV_BYTES = 256 * 2**20
#: An NPZ data file: its arrays together at most 1 GiB once decompressed.
MAX_NPZ_BYTES = 2**30
#: One array of an NPZ data file: at most 250 million values (1 GB as float32).
MAX_ARRAY_VALUES = 250_000_000
#: Folders of devices and kernel files, never read as data (they never end, or block).
PSEUDO_FOLDERS = ("/dev", "/proc", "/sys")
#: A save's leftover temporary file (a save killed midway) is removed by a later save or
#: open once it is this old (a younger one may belong to a save under way elsewhere).
TEMP_GRACE_SECONDS = 60.0
#: A value from a file is quoted in a message up to this many characters.
EXCERPT_CHARS = 40


def excerpt(value: object, limit: int = EXCERPT_CHARS) -> str:
    """``repr(value)`` cut to ``limit`` characters with "…": how a value read from a file
    appears in a message (a 50 MB name in a message would be a 50 MB message)."""
    if isinstance(value, str):
        return repr(value) if len(value) <= limit else repr(value[:limit]) + "…"
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"a number of about {int(value.bit_length() * 0.30103) + 1} digits"
    if isinstance(value, (list, tuple, dict)) and len(value) > limit:
        return f"a {type(value).__name__} of {len(value):,} items"
    try:
        text = repr(value)
    except (RecursionError, ValueError):
        return f"a {type(value).__name__}"
    return text if len(text) <= limit else text[:limit] + "…"


def size_text(n_bytes: float) -> str:
    """``"1.5 GiB"``, ``"16 MiB"``, ``"512 bytes"``: a size as a person reads it."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n_bytes >= scale:
            value = n_bytes / scale
            return f"{value:.0f} {unit}" if value >= 100 or value.is_integer() \
                else f"{value:.1f} {unit}"
    return f"{int(n_bytes)} bytes"


def available_memory() -> int | None:
    """The memory the machine can still give, in bytes: ``MemAvailable`` of
    ``/proc/meminfo`` (Linux), else free physical pages (``os.sysconf``); None when the
    system does not say."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
