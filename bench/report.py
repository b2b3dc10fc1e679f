"""What every benchmark does with its figures: print its goals as met or not, and merge
its section into ``bench/results.json`` (written atomically, the other sections kept)."""

from __future__ import annotations

import argparse
import datetime
import json
import os
from pathlib import Path
from typing import Any

__all__ = ["parse_args", "print_goals", "now_iso", "save_section"]

#: The results file every benchmark adds its section to.
RESULTS = Path(__file__).resolve().parent / "results.json"


def parse_args(prog: str, doc: str, quick_help: str, argv: Any = None) -> argparse.Namespace:
    """The options the GUI-side benchmarks share: ``--quick`` (``quick_help``),
    ``--no-json`` and ``--json PATH`` (default :data:`RESULTS`)."""
    parser = argparse.ArgumentParser(prog=prog, description=doc.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--no-json", action="store_true")
    parser.add_argument("--json", type=Path, default=RESULTS)
    return parser.parse_args(argv)


def print_goals(goals: dict[str, bool]) -> None:
    """One line per goal: ``  <goal>: MET`` or ``NOT MET``."""
    for goal, met in goals.items():
        print(f"  {goal}: {'MET' if met else 'NOT MET'}")


def now_iso() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def save_section(path: Path, key: str, section: Any, merge: bool = False,
                 **top: Any) -> None:
    """Set ``data[key] = section`` (with ``merge``: update the dict already there, so
    that entries not measured this time are kept) and the ``top`` keys in the JSON file
    ``path``, keeping its other keys; an unreadable file starts afresh (with a note).
    Written to a temporary file first, then renamed, so a crash never leaves half a
    file."""
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as e:
            print(f"note: {path} unreadable ({e}); starting a new one")
    if merge and isinstance(data.get(key), dict):
        data[key].update(section)
    else:
        data[key] = section
    data.update(top)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)
    print(f"wrote {path}")
