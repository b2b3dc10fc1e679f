"""Entry point of the NN Canvas desktop app: ``nncanvas [FILE.json]`` or ``python -m app``.

Placeholder until the GUI exists: trains the given graph file (default: the digits
example) with the engine's command line, ``nncore train FILE.json``, passing further
options on (``nncanvas --epochs 5`` is ``nncore train digits_mlp.json --epochs 5``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

EXAMPLES = Path(__file__).resolve().parents[1] / "resources" / "examples"
DEFAULT_GRAPH = EXAMPLES / "digits_mlp.json"


def main(argv: Sequence[str] | None = None) -> int:
    from nncore.cli import main as cli_main

    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0].startswith("-"):
        args.insert(0, str(DEFAULT_GRAPH))
    return cli_main(["train", *args])


if __name__ == "__main__":
    sys.exit(main())
