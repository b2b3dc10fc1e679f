"""``python -m bench``: the training benchmark (:mod:`bench.run`), then the canvas
benchmark (:mod:`bench.canvas`). ``--quick`` and ``--no-json`` apply to both."""

import sys

from bench.canvas import main as canvas_main
from bench.run import main as mlp_main

if __name__ == "__main__":
    code = mlp_main()
    shared = [a for a in sys.argv[1:] if a in ("--quick", "--no-json")]
    sys.exit(code or canvas_main(shared))
