"""Shared pytest set-up.

Qt must run without a screen (CI, ssh, `make test`): choose the offscreen platform
before anything imports Qt. An explicit QT_QPA_PLATFORM (e.g. xcb to watch a test)
still wins.
"""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
