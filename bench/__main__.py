"""``python -m bench``: the training benchmark (:mod:`bench.run`), the canvas benchmark
(:mod:`bench.canvas`), then the GUI benchmark (:mod:`bench.gui`). ``--quick`` and
``--no-json`` apply to all three."""

import sys

from bench.canvas import main as canvas_main
from bench.gui import main as gui_main
from bench.run import main as mlp_main

if __name__ == "__main__":
    code = mlp_main()
    shared = [a for a in sys.argv[1:] if a in ("--quick", "--no-json")]
    sys.exit(code or canvas_main(shared) or gui_main(shared))
