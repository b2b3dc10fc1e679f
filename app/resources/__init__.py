"""Files NN Canvas ships inside its package (package data): the example graphs in
``examples/`` (icons and the style sheet go beside them when they come).

They are found with :mod:`importlib.resources`, relative to this package wherever it is
installed (a wheel in site-packages, an editable checkout), never through the source tree
or the working directory. ``pyproject.toml`` lists them as package data; the tools that
write them (``tools/make_examples.py``) find them here too.

The shipped examples are read-only for the window: one opens as an untitled copy
(:func:`is_example`), so Save asks where to save it.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["DEFAULT_EXAMPLE", "examples_dir", "example_path", "example_paths", "is_example"]

#: The example the window opens when it is given no file.
DEFAULT_EXAMPLE = "digits_mlp"


def _root() -> Path:
    root = resources.files(__name__)
    if not isinstance(root, Path):  # e.g. imported from a zip file: Qt needs real files
        raise RuntimeError(f"NN Canvas must be installed as files, not in an archive ({root})")
    return root


def examples_dir() -> Path:
    """The folder of the shipped example graphs (``*.json``)."""
    return _root() / "examples"


def example_paths() -> list[Path]:
    """Every shipped example graph, sorted by file name."""
    return sorted(examples_dir().glob("*.json"))


def example_path(name: str = DEFAULT_EXAMPLE) -> Path:
    """The file of the example ``name`` (``"digits_mlp"`` or ``"digits_mlp.json"``).

    Raises:
        FileNotFoundError: if there is no such example; the message lists those there are.
    """
    path = examples_dir() / (name if name.endswith(".json") else f"{name}.json")
    if not path.is_file():
        names = ", ".join(p.stem for p in example_paths()) or "none"
        raise FileNotFoundError(f"no example named {name!r} (there are: {names})")
    return path


def is_example(path: str | Path) -> bool:
    """Whether ``path`` is one of the shipped example files (links resolved)."""
    try:
        resolved = Path(path).resolve()
        return resolved.suffix == ".json" and resolved.parent == examples_dir().resolve()
    except OSError:
        return False
