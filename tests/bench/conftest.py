"""Make the repository's `bench` package importable (it is not installed; pytest runs in
importlib mode, which puts neither the rootdir nor this folder on sys.path)."""

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
