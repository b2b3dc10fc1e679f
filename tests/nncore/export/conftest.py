"""Make ``tests.nncore.export.cases`` importable (pytest runs in importlib mode, which
puts neither the rootdir nor this folder on sys.path)."""

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[3])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
