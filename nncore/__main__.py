"""``python -m nncore``: the ``nncore`` command."""

import sys

from nncore.cli import main

sys.exit(main())
