"""``python -m bench``: the training benchmark (:mod:`bench.run`), the canvas benchmark
(:mod:`bench.canvas`), the GUI benchmark (:mod:`bench.gui`), the many-classes
benchmark (:mod:`bench.classes`), then the loading benchmark (:mod:`bench.loading`).
``--quick`` and ``--no-json`` apply to all five."""

import sys

from bench.canvas import main as canvas_main
from bench.classes import main as classes_main
from bench.gui import main as gui_main
from bench.loading import main as loading_main
from bench.run import main as mlp_main

if __name__ == "__main__":
    code = mlp_main()
    shared = [a for a in sys.argv[1:] if a in ("--quick", "--no-json")]
    sys.exit(code or canvas_main(shared) or gui_main(shared) or classes_main(shared)
             or loading_main(shared))
