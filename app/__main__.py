"""Entry point of the NN Canvas desktop app: ``nncanvas`` or ``python -m app``.

Placeholder until the GUI exists: runs the engine's command-line demo, passing the
arguments on (``nncanvas --optimizer sgd`` is ``nncore demo --optimizer sgd``).
"""

from __future__ import annotations

import sys
from typing import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from nncore.cli import main as cli_main

    args = list(sys.argv[1:] if argv is None else argv)
    return cli_main(["demo", *args])


if __name__ == "__main__":
    sys.exit(main())
