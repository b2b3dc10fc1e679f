"""Entry point of the NN Canvas desktop app: ``nncanvas`` or ``python -m app``.

Placeholder: the GUI is not written yet, so for now this runs the engine's
command-line demo (``nncore demo``).
"""

from __future__ import annotations

import sys


def main() -> int | None:
    from nncore.cli import main as cli_main

    return cli_main(["demo"])


if __name__ == "__main__":
    sys.exit(main())
