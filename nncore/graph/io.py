"""Graph files: JSON with a format id and version, saved atomically, loaded with the
same validation as editing.

Layout (versions 2 and 3)::

    {
      "format": "nncanvas-graph",
      "version": 2,
      "nodes": [{"id": "n1", "type": "input", "name": "Input 1",
                 "position": [0.0, 0.0], "params": {}}, ...],
      "edges": [{"from": ["n1", "features"], "to": ["n2", "input"]}, ...],
      "settings": {"dataset": {...}, "training": {...}},
      "weights": "digits_mlp.npz",           (optional: trained weights beside it)
      "trained": {...}, "runs": [...]        (version 3: see nncore.project.saved)
    }

A file with runs or a trained model (:mod:`nncore.project.saved`) is written as version
3; any other as version 2, so that it still opens in an NN Canvas that reads version 2.

Loading rebuilds the graph through :meth:`Graph.add_node` and :meth:`Graph.connect`, so a
file can hold nothing an edit could not make (jchanvfx/NodeGraphQt#316): an unknown type,
a dangling wire, a cycle, a parameter out of range are reported with their place, never
as a traceback or a RecursionError. A file beyond the limits of :mod:`nncore.limits`
(its size, nesting depth, a text's or a number's length, the count of nodes and wires)
is refused with the limit named, and what opens can always be saved again: a setting
NN Canvas does not know is kept only if it can be written back (no NaN). Saving writes
a temporary file and renames it over the old one (never a half-written file); save,
load, save gives byte-identical files.
Weights go to a sibling ``.npz`` read with ``allow_pickle=False``: loading never runs code.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from nncore import limits
from nncore.files import (FileRefused, atomic_write, check_npz, read_limited, regular_file,
                          remove_leftovers, save_arrays)
from nncore.graph.model import Graph, GraphError
from nncore.graph.types import CATALOGUE, ParamError
from nncore.limits import excerpt
from nncore.project.settings import DatasetSettings, SettingsError, TrainingSettings

__all__ = ["FORMAT", "VERSION", "GraphFileError", "to_dict", "from_dict", "dumps", "loads",
           "save_graph", "load_graph", "load_graph_file", "load_weights", "atomic_write",
           "save_arrays", "SAVED_KEYS"]

FORMAT = "nncanvas-graph"
#: 2: the Input node has no parameters (its shapes come from the dataset).
#: 3: the runs and the trained model may be kept (``"trained"``, ``"runs"``).
VERSION = 3
#: The version of a file without runs or a trained model.
PLAIN_VERSION = 2
#: The top-level keys of runs and a trained model (read by nncore.project.saved).
SAVED_KEYS = ("trained", "runs")


class GraphFileError(ValueError):
    """A graph file cannot be read; the message names the file and the place."""

    def __init__(self, message: str, node_id: str | None = None) -> None:
        super().__init__(message)
        self.node_id = node_id


def to_dict(graph: Graph, weights_file: str | None = None,
            saved: dict[str, Any] | None = None) -> dict[str, Any]:
    """The file contents for ``graph`` (settings normalized with their defaults), with
    ``saved`` (keys of :data:`SAVED_KEYS`: runs and a trained model) after them."""
    unknown = sorted(set(saved or {}) - set(SAVED_KEYS))
    if unknown:
        raise ValueError(f"a project file has no field {unknown[0]!r}")
    version = VERSION if saved else PLAIN_VERSION
    data: dict[str, Any] = {"format": FORMAT, "version": version, "nodes": [], "edges": []}
    for n in graph.nodes:
        data["nodes"].append({"id": n.id, "type": n.type_id, "name": n.name,
                              "position": [n.position[0], n.position[1]],
                              "params": {p.name: n.params[p.name] for p in n.type.params}})
    for e in graph.edges:
        data["edges"].append({"from": [e.src, e.src_port], "to": [e.dst, e.dst_port]})
    settings = dict(graph.settings)
    data["settings"] = {
        "dataset": DatasetSettings.from_dict(settings.pop("dataset", None)).to_dict(),
        "training": TrainingSettings.from_dict(settings.pop("training", None)).to_dict(),
        **settings,
    }
    if weights_file:
        data["weights"] = weights_file
    for key in SAVED_KEYS:
        if saved and saved.get(key) is not None:
            data[key] = saved[key]
    return data


def _migrate(data: dict[str, Any], version: int) -> dict[str, Any]:
    """Bring a file of an older ``version`` to the current one: each node type migrates
    its own parameters (:meth:`~nncore.graph.types.NodeType.migrate_params`; version 1
    stored the Input's features, task, classes and targets, now derived from the data)."""
    if version == VERSION or not isinstance(data.get("nodes"), list):
        return data
    nodes = []
    for nd in data["nodes"]:
        ntype = CATALOGUE.get(nd.get("type")) if isinstance(nd, dict) and isinstance(
            nd.get("type"), str) and nd.get("type") in CATALOGUE else None
        if ntype is not None and isinstance(nd.get("params"), dict):
            nd = {**nd, "params": ntype.migrate_params(dict(nd["params"]), version)}
        nodes.append(nd)
    return {**data, "nodes": nodes, "version": VERSION}


def from_dict(data: Any, source: str = "graph") -> Graph:
    """Build a graph from file contents, validating everything.

    Args:
        data: the parsed JSON.
        source: what to call it in messages (the file name).

    Raises:
        GraphFileError: for the first problem, naming its place (the node, the wire by
            number, the setting, or the version).
    """
    if not isinstance(data, dict):
        raise GraphFileError(f"{source}: not a graph file (the top level is not an object)")
    if data.get("format") != FORMAT:
        raise GraphFileError(f"{source}: not an NN Canvas graph (format is "
                             f"{excerpt(data.get('format'))}, expected {FORMAT!r})")
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise GraphFileError(f"{source}: the format version must be a whole number, got "
                             f"{excerpt(version)}")
    if version > VERSION:
        raise GraphFileError(f"{source}: written by a newer NN Canvas (format version "
                             f"{version}; this one reads up to {VERSION}); please update")
    if version < 1:
        raise GraphFileError(f"{source}: unknown format version {version} (the first "
                             "version is 1)")
    data = _migrate(data, version)
    unknown = sorted(set(data) - {"format", "version", "nodes", "edges", "settings", "weights",
                                  *SAVED_KEYS})
    if unknown:
        raise GraphFileError(f"{source}: unknown field {excerpt(unknown[0])}")
    nodes, edges = data.get("nodes", []), data.get("edges", [])
    if not isinstance(nodes, list) or not isinstance(edges, list):
        raise GraphFileError(f"{source}: 'nodes' and 'edges' must be lists")
    for what, items, limit in (("nodes", nodes, limits.MAX_NODES),
                               ("wires", edges, limits.MAX_EDGES)):
        if len(items) > limit:
            raise GraphFileError(f"{source}: {len(items):,} {what}; a project holds at most "
                                 f"{limit:,}")
    graph = Graph()
    for i, nd in enumerate(nodes, 1):
        where = f"{source}: node {i}"
        if not isinstance(nd, dict):
            raise GraphFileError(f"{where} is not an object")
        if isinstance(nd.get("id"), str):
            label = excerpt(nd["id"])
            if isinstance(nd.get("name"), str):
                label += f", {excerpt(nd['name'])}"
            where += f" ({label})"
        unknown = sorted(set(nd) - {"id", "type", "name", "position", "params"})
        if unknown:
            raise GraphFileError(f"{where}: unknown field {excerpt(unknown[0])}")
        try:
            params = nd.get("params", {})
            if not isinstance(params, dict):
                raise GraphError(f"params must be an object, got {params!r}")
            graph.add_node(nd.get("type"), nd.get("position", (0.0, 0.0)), params,
                           nd.get("name"), nd.get("id"))
        except (GraphError, ParamError) as e:
            raise GraphFileError(f"{where}: {e}", nd.get("id") if isinstance(nd.get("id"), str)
                                 else None) from None
    for i, ed in enumerate(edges, 1):
        where = f"{source}: wire {i}"
        try:
            if set(ed) != {"from", "to"}:
                raise KeyError
            (src, src_port), (dst, dst_port) = ed["from"], ed["to"]
        except (TypeError, KeyError, ValueError):
            raise GraphFileError(f"{where} must look like {{\"from\": [node, port], \"to\": "
                                 f"[node, port]}}, got {excerpt(ed)}") from None
        for node_id in (src, dst):
            if not isinstance(node_id, str) or not graph.has_node(node_id):
                raise GraphFileError(f"{where} ({_key(src)}.{_key(src_port)} -> "
                                     f"{_key(dst)}.{_key(dst_port)}) refers to node "
                                     f"{excerpt(node_id)}, which is not in the file")
        try:
            graph.connect(src, src_port, dst, dst_port)
        except GraphError as e:
            raise GraphFileError(f"{where} ({graph.node(src).name}.{src_port} -> "
                                 f"{graph.node(dst).name}.{dst_port}): {e}", dst) from None
    settings = data.get("settings", {})
    if not isinstance(settings, dict):
        raise GraphFileError(f"{source}: 'settings' must be an object")
    try:
        DatasetSettings.from_dict(settings.get("dataset"))
        TrainingSettings.from_dict(settings.get("training"))
    except (SettingsError, TypeError, ValueError, OverflowError) as e:
        raise GraphFileError(f"{source}: settings: {e}") from None
    for key, value in settings.items():
        if key not in ("dataset", "training"):  # kept as they are: they must save again
            _check_savable(value, f"{source}: settings.{_key(key)}")
    graph.settings = dict(settings)
    return graph


def _check_savable(value: Any, where: str) -> None:
    """Refuse a value :func:`dumps` could not write back (NaN, infinity)."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, float) and not math.isfinite(v):
            raise GraphFileError(f"{where} holds {v!r}, which a project file cannot hold "
                                 "(JSON has no NaN or infinity): remove it")
        if isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)


def _check_limits(data: Any, source: str) -> None:
    """Refuse JSON nested deeper than :data:`~nncore.limits.MAX_DEPTH` or holding a text
    longer than :data:`~nncore.limits.MAX_TEXT_CHARS`, naming the place (without
    recursion, so any depth is measured)."""
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        value, where, depth = stack.pop()
        if isinstance(value, str):
            if len(value) > limits.MAX_TEXT_CHARS:
                raise GraphFileError(f"{source}: {where or 'the file'} is a text of "
                                     f"{len(value):,} characters ({excerpt(value)}); the "
                                     f"limit is {limits.MAX_TEXT_CHARS:,}")
            continue
        if not isinstance(value, (dict, list)):
            continue
        if depth >= limits.MAX_DEPTH:
            where = where if len(where) <= 60 else where[:60] + "…"
            raise GraphFileError(f"{source}: {where or 'the file'} is nested more than "
                                 f"{limits.MAX_DEPTH} levels deep (the limit)")
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(key, str) and len(key) > limits.MAX_TEXT_CHARS:
                raise GraphFileError(f"{source}: {where or 'the file'} has a key of "
                                     f"{len(key):,} characters ({excerpt(key)}); the limit "
                                     f"is {limits.MAX_TEXT_CHARS:,}")
            label = f"[{key}]" if isinstance(key, int) else f".{_key(key)}"
            stack.append((item, f"{where}{label}".lstrip("."), depth + 1))


def _key(key: Any) -> str:
    """A key or name of the file as a message names it: plain if a short text, else an
    excerpt."""
    return key if isinstance(key, str) and len(key) <= 40 and key.isprintable() \
        else excerpt(key)


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > limits.MAX_INT_DIGITS:
        raise _TooLong(text)
    return int(text)


class _TooLong(Exception):
    """A number of too many digits met while parsing."""


def _format(value: Any, indent: str = "") -> str:
    """JSON text with objects indented and lists of plain values on one line
    (``"position": [120.0, 40.0]``); strings are written by ``json.dumps``, untouched."""
    inner = indent + "  "
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{inner}{json.dumps(k, ensure_ascii=False)}: {_format(v, inner)}"
                 for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(value, (list, tuple)):
        if all(not isinstance(v, (dict, list, tuple)) for v in value):
            return "[" + ", ".join(_format(v) for v in value) + "]"
        return "[\n" + ",\n".join(inner + _format(v, inner) for v in value) + "\n" + indent + "]"
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def dumps(graph: Graph, weights_file: str | None = None,
          saved: dict[str, Any] | None = None) -> str:
    """The file text: indented JSON ending with a newline, short lists of numbers and
    names on one line; deterministic (save, load, save is byte-identical).

    Raises:
        ValueError: for text that cannot be written as UTF-8 JSON (a non-finite number,
            a lone surrogate in a name).
    """
    text = _format(to_dict(graph, weights_file, saved)) + "\n"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError(f"the graph holds text that cannot be saved as UTF-8: "
                         f"{e.object[max(e.start - 10, 0):e.end + 10]!r}") from None
    return text


def loads(text: str, source: str = "graph") -> Graph:
    """Parse file text (see :func:`from_dict`).

    Raises:
        GraphFileError: for text that is not JSON (with line and column) or not a valid
            graph.
    """
    return _loads(text, source)[0]


def _loads(text: str, source: str) -> tuple[Graph, dict[str, Any]]:
    """The graph and the parsed JSON (migrated to the current version)."""
    try:
        data = json.loads(text, parse_int=_parse_int)
    except RecursionError:
        raise GraphFileError(f"{source}: nested too deeply to be a graph file (the limit "
                             f"is {limits.MAX_DEPTH} levels)") from None
    except json.JSONDecodeError as e:
        hint = " (is the file truncated?)" if e.pos >= len(text.rstrip()) else ""
        raise GraphFileError(f"{source}: not valid JSON at line {e.lineno}, column "
                             f"{e.colno}: {e.msg}{hint}") from None
    except _TooLong as e:
        digits = str(e.args[0])
        pos = text.find(digits)
        line = text.count("\n", 0, pos) + 1 if pos >= 0 else "?"
        raise GraphFileError(f"{source}: line {line}: a whole number of {len(digits):,} "
                             f"digits; the limit is {limits.MAX_INT_DIGITS}") from None
    _check_limits(data, source)
    graph = from_dict(data, source)
    return graph, data


def save_graph(path: str | os.PathLike, graph: Graph,
               weights: dict[str, np.ndarray] | None = None) -> None:
    """Save ``graph`` to ``path`` (JSON), and ``weights`` (a ``state_dict``) to the
    sibling ``.npz`` when given; both atomically."""
    path = Path(path)
    weights_file = None
    if weights is not None:
        weights_path = path.with_suffix(".npz")
        weights_file = weights_path.name
        save_arrays(weights_path, weights)
    atomic_write(path, dumps(graph, weights_file))


def load_graph(path: str | os.PathLike) -> Graph:
    """Read a graph file.

    Raises:
        GraphFileError: for a missing or unreadable file, or invalid contents.
    """
    return load_graph_file(path)[0]


def load_graph_file(path: str | os.PathLike) -> tuple[Graph, dict[str, Any]]:
    """Read a graph file: the graph, and the file's JSON (for the keys beside the graph:
    ``weights``, ``trained``, ``runs``, read by :mod:`nncore.project.saved`).

    Raises:
        GraphFileError: as :func:`load_graph`.
    """
    path = Path(path)
    try:
        raw = read_limited(path, "a project file", limits.MAX_PROJECT_BYTES)
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise GraphFileError(f"{path}: no such file") from None
    except FileRefused as e:
        raise GraphFileError(str(e)) from None
    except UnicodeDecodeError as e:
        raise GraphFileError(f"{path}: not a text file (byte {e.start} is not UTF-8)") from None
    except OSError as e:
        raise GraphFileError(f"{path}: cannot read it ({e.strerror})") from None
    remove_leftovers(path)  # of saves killed midway
    return _loads(text.replace("\r\n", "\n").replace("\r", "\n"), str(path))


def load_weights(path: str | os.PathLike) -> dict[str, np.ndarray] | None:
    """The trained weights named by the graph file at ``path``, or None if it names none.

    The weights file must sit beside the graph file (a plain file name, no folders).

    Raises:
        GraphFileError: if the graph file cannot be read, names its weights badly, or
            the weights file is missing, not a valid ``.npz`` of numeric arrays (never
            unpickled) or beyond :data:`~nncore.limits.MAX_NPZ_BYTES` or
            :data:`~nncore.limits.MAX_ARRAY_VALUES` (checked before reading).
    """
    path = Path(path)
    graph = load_graph(path)  # also proves the file is a readable graph
    del graph
    name = json.loads(path.read_text(encoding="utf-8")).get("weights")
    if not name:
        return None
    if not isinstance(name, str) or Path(name).name != name or name in (".", ".."):
        raise GraphFileError(f"{path}: 'weights' must be the name of a file beside it, got "
                             f"{name!r}")
    weights_path = path.parent / name
    if not weights_path.is_file():
        raise GraphFileError(f"{path}: its weights file {weights_path} is missing")
    try:  # a zip bomb or a header claiming 10**12 values is refused before reading
        regular_file(weights_path, "the weights file", limits.MAX_NPZ_BYTES)
        check_npz(weights_path, "the weights file", limits.MAX_NPZ_BYTES,
                  limits.MAX_ARRAY_VALUES)
    except OSError as e:
        raise GraphFileError(str(e)) from None
    try:
        loaded = np.load(weights_path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise ValueError("a single array, not an .npz archive")
        with loaded:
            weights = {k: loaded[k] for k in loaded.files}
    except Exception as e:  # noqa: BLE001 - any unreadable file is reported the same way
        raise GraphFileError(f"{weights_path}: not a valid weights file ({e})") from None
    for key, value in weights.items():
        if value.dtype.kind not in "fiub":
            raise GraphFileError(f"{weights_path}: entry {key!r} holds {value.dtype} values")
    return weights
