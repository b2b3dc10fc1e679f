"""Hostile project and data files (issue 9): each one gets a clean, named refusal within a
second from ``nncore check`` and ``nncore train`` (exit 1, one line on stderr, no
traceback), naming the limit of :mod:`nncore.limits` it breaks; whatever opens can be
saved and reopened equal; leftovers of killed saves are removed."""

from __future__ import annotations

import copy
import io
import json
import os
import struct
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from nncore import limits
from nncore.cli import main
from nncore.data import csv_columns, load_csv, load_npz
from nncore.files import FileRefused, check_npz, regular_file, remove_leftovers
from nncore.graph import Graph, GraphFileError, dumps, load_graph, loads, save_graph
from nncore.project import Project

EXAMPLE = Path(__file__).parents[2] / "app" / "resources" / "examples" / "digits_mlp.json"


def base() -> dict:
    return json.loads(EXAMPLE.read_text())


def with_data(path: str, source: str = "csv") -> dict:
    d = base()
    d["settings"]["dataset"] = {"source": source, "path": path}
    return d


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def npy_header(shape: tuple[int, ...], dtype: str = "<f4") -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False,
                                               "shape": shape})
    return buf.getvalue()


def claims_npz(path: Path) -> Path:
    """An .npz whose X header claims 10**12 float32 values (3.6 TiB), holding 64 bytes."""
    y = io.BytesIO()
    np.save(y, np.arange(3))
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("X.npy", npy_header((1_000_000, 1_000_000)) + b"\0" * 64)
        z.writestr("y.npy", y.getvalue())
    return path


def bomb_npz(path: Path, expanded: int = 1_500_000_000) -> Path:
    """A zip bomb: a deflated X.npy whose zip entry expands to ``expanded`` bytes (1.5 GB),
    made without writing them: a small member whose declared sizes are then set, as a
    bomb's are (the zip directory is what says how much a member expands to)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("X.npy", npy_header((expanded // 400, 100)) + b"\0" * 4096)
        y = io.BytesIO()
        np.save(y, np.arange(3))
        z.writestr("y.npy", y.getvalue())
    raw = bytearray(path.read_bytes())
    small = 4096 + len(npy_header((expanded // 400, 100)))
    for sig, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # local, central header
        at = raw.find(sig)
        assert struct.unpack_from("<I", raw, at + offset)[0] == small
        struct.pack_into("<I", raw, at + offset, expanded)
    path.write_bytes(bytes(raw))
    return path


def write(tmp_path: Path, name: str, content: dict | str) -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def big_network(tmp_path: Path) -> Path:
    """Input -> Dense(100,000) -> ReLU -> Dense(100,000) -> ReLU -> Dense(10) -> loss on
    the digits: 10**10 weights, 37 GiB as float32."""
    g = Graph()
    ids = [g.add_node(t).id for t in ("input", "dense", "relu", "dense", "relu", "dense",
                                      "cross_entropy")]
    for a, b in zip(ids, ids[1:]):
        g.connect(a, g.node(a).type.outputs[0].name, b, g.node(b).type.inputs[0].name)
    g.connect(ids[0], "labels", ids[-1], "target")
    for i, units in ((1, 100_000), (3, 100_000), (5, 10)):
        g.set_params(ids[i], {"units": units})
    g.settings = {"dataset": {"source": "builtin", "name": "digits"}}
    save_graph(tmp_path / "big.json", g)
    return tmp_path / "big.json"


def _training(key: str, value) -> dict:
    d = base()
    d["settings"].setdefault("training", {})[key] = value
    return d


FIFO = "fifo"  # made in tmp_path


# (file maker, what the one line on stderr must say)
CASES = {
    "5000_digits": (lambda t: write(t, "p.json", json.dumps(base()).replace(
        '"units": 128', '"units": ' + "9" * 5000)), "a whole number of 5,000 digits; the limit is 30"),
    "batch_size_1e18": (lambda t: write(t, "p.json", _training("batch_size", 1e18)),
                        "training.batch_size is at most 2,147,483,647, got 1e+18"),
    "epochs_1e18": (lambda t: write(t, "p.json", _training("epochs", 10 ** 18)),
                    "training.epochs is at most 2,147,483,647"),
    "unknown_setting_600_deep": (lambda t: write(t, "p.json", json.dumps(
        {**base(), "settings": {**base()["settings"], "extra": "N"}}).replace('"N"', nested(600))),
        "settings.extra[0][0]"),
    "optimizer_option_600_deep": (lambda t: write(t, "p.json", json.dumps(
        {**base(), "settings": {"training": {"optimizer_options": {"lr": "N"}}}}).replace(
        '"N"', nested(600))), "is nested more than 32 levels deep (the limit)"),
    "unknown_setting_nan": (lambda t: write(t, "p.json", json.dumps(
        {**base(), "settings": {**base()["settings"], "extra": [1, float("nan")]}})),
        "settings.extra holds nan, which a project file cannot hold"),
    "data_path_nul": (lambda t: write(t, "p.json", with_data("data\0.csv")),
                      "settings: dataset.path cannot hold a NUL byte (character 5)"),
    "data_path_dev_zero": (lambda t: write(t, "p.json", with_data("/dev/zero")),
                           "/dev/zero: the dataset of this project cannot be a device or "
                           "kernel file (in /dev)"),
    "data_path_dev_zero_npz": (lambda t: write(t, "p.json", with_data("/dev/zero", "npz")),
                               "cannot be a device or kernel file (in /dev)"),
    "data_path_fifo": (lambda t: (os.mkfifo(t / FIFO), write(t, "p.json", with_data(FIFO)))[1],
                       "fifo: is a FIFO (named pipe), not a regular file (the dataset of "
                       "this project)"),
    "data_path_proc_kmsg": (lambda t: write(t, "p.json", with_data("/proc/kmsg")),
                            "/proc/kmsg: the dataset of this project cannot be a device or "
                            "kernel file (in /proc)"),
    "npz_claims_1e12_values": (lambda t: (claims_npz(t / "d.npz"),
                                          write(t, "p.json", with_data("d.npz", "npz")))[1],
                               "array 'X' of the NPZ file claims 1,000,000 x 1,000,000 = "
                               "1,000,000,000,000 values; the limit is 250,000,000"),
    "npz_zip_bomb_1.5GB": (lambda t: (bomb_npz(t / "d.npz"),
                                      write(t, "p.json", with_data("d.npz", "npz")))[1],
                           "would take 1.4 GiB once decompressed; the limit is 1 GiB"),
    "node_name_50MB": (lambda t: write(t, "p.json", json.dumps(base()).replace(
        '"name": "Dense"', '"name": "' + "N" * 50_000_000 + '"')),
        "a project file is 47.7 MiB; the limit is 16 MiB"),
    "node_name_10k_chars": (lambda t: write(t, "p.json", json.dumps(base()).replace(
        '"name": "Dense"', '"name": "' + "N" * 10_000 + '"')),
        "is a text of 10,000 characters ('NNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNN'…); "
        "the limit is 4,096"),
    "node_name_300_chars": (lambda t: write(t, "p.json", json.dumps(base()).replace(
        '"name": "Dense"', '"name": "' + "N" * 300 + '"')),
        "a node name is at most 200 characters, got 300"),
    "data_path_50MB": (lambda t: write(t, "p.json", with_data("x" * 50_000_000)),
                       "a project file is 47.7 MiB; the limit is 16 MiB"),
    "data_path_4097_chars": (lambda t: write(t, "p.json", with_data("x" * 4097)),
                             "settings.dataset.path is a text of 4,097 characters"),
    "position_1e30": (lambda t: write(t, "p.json", json.dumps(base()).replace(
        '"position": [280.0, 0.0]', '"position": [1e30, 0.0]')),
        "a position is at most 10,000,000 from the origin in x and y, got (1e+30, 0)"),
    "project_is_fifo": (lambda t: (os.mkfifo(t / "p.json"), t / "p.json")[1],
                        "p.json: is a FIFO (named pipe), not a regular file (a project file)"),
    "project_is_dev_zero": (lambda t: Path("/dev/zero"),
                            "/dev/zero: a project file cannot be a device or kernel file"),
    "project_of_30000_nodes": (lambda t: write(t, "p.json", {**base(), "nodes": [
        {"id": f"n{i}", "type": "relu"} for i in range(30_000)], "edges": []}),
        "30,000 nodes; a project holds at most 20,000"),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("command", ["check", "train"])
@pytest.mark.parametrize("case", list(CASES))
def test_hostile_file_gets_one_clear_line_within_a_second(tmp_path, capsys, case, command):
    make, message = CASES[case]
    if "kmsg" in case and not os.path.exists("/proc/kmsg"):
        pytest.skip("no /proc/kmsg here")
    path = make(tmp_path)
    capsys.readouterr()
    argv = [command, str(path)] + (["--epochs", "1"] if command == "train" else [])
    start = time.perf_counter()
    code = main(argv)
    elapsed = time.perf_counter() - start
    err = capsys.readouterr().err
    assert code == 1
    assert elapsed < 1.0, f"{case}: {elapsed:.2f}s"
    assert err.count("\n") == 1 and "Traceback" not in err, err[:500]
    assert message in err, err[:500]
    assert len(err) < 400  # a value from the file is quoted as a short excerpt


def test_a_network_larger_than_the_memory_is_refused_with_its_size(tmp_path, capsys, monkeypatch):
    path = big_network(tmp_path)
    monkeypatch.setattr(limits, "available_memory", lambda: 8 * 2**30)
    for argv in (["check", str(path)], ["train", str(path), "--epochs", "1"]):
        start = time.perf_counter()
        assert main(argv) == 1
        assert time.perf_counter() - start < 5.0  # refused before any weight is made
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err
        assert ("memory: the network's 10,007,600,010 parameters take 37.3 GiB as float32; "
                "Dense 2 alone has 10,000,100,000 (37.3 GiB); training needs at least 77.6 GiB "
                "(with gradients and activations), and this machine has 8 GiB available") in err
    # a small network on the same machine is fine
    project = Project(load_graph(EXAMPLE))
    assert not [p for p in project.problems() if "memory" in p[1]]


def test_the_memory_problem_is_pinned_to_the_biggest_node(tmp_path, monkeypatch):
    graph = load_graph(big_network(tmp_path))
    monkeypatch.setattr(limits, "available_memory", lambda: 8 * 2**30)
    problems = Project(graph).problems()
    (where, text), = [p for p in problems if p[1].startswith("memory")]
    assert graph.node(where).name == "Dense 2"
    monkeypatch.setattr(limits, "available_memory", lambda: None)  # the system does not say
    assert not [p for p in Project(graph).problems() if p[1].startswith("memory")]


def test_available_memory_reads_the_machine():
    value = limits.available_memory()
    assert value is None or 2**20 < value < 2**50


def test_whatever_opens_can_be_saved_and_reopened_equal(tmp_path):
    """Every file that opens (the examples, and the hostile files that are not refused)
    saves, and the saved file reopens to the same text."""
    opened = 0
    files = sorted((EXAMPLE.parent).glob("*.json"))
    for i, (make, _) in enumerate(CASES.values()):
        folder = tmp_path / str(i)
        folder.mkdir()
        files.append(make(folder))
    d = base()  # unknown settings that can be written back are kept
    d["settings"]["notes"] = {"author": "me", "tags": ["a", 1.5, None, True]}
    files.append(write(tmp_path, "notes.json", d))
    for path in files:
        if path.is_fifo() or path == Path("/dev/zero"):
            continue
        try:
            graph = load_graph(path)
        except GraphFileError:
            continue
        opened += 1
        text = dumps(graph)
        save_graph(tmp_path / "again.json", graph)
        assert dumps(load_graph(tmp_path / "again.json")) == text
    assert opened >= len(list(EXAMPLE.parent.glob("*.json"))) + 1
    assert load_graph(tmp_path / "notes.json").settings["notes"]["tags"] == ["a", 1.5, None, True]


def test_leftovers_of_a_killed_save_are_removed_on_the_next_save_and_open(tmp_path):
    g = load_graph(EXAMPLE)
    target = tmp_path / "net.json"
    save_graph(target, g)
    size = target.stat().st_size
    old = time.time() - 3600

    def leftover(name: str, age: float = old) -> Path:
        p = tmp_path / name
        p.write_bytes(b"x" * size)  # a save killed after writing: the project's size
        os.utime(p, (age, age))
        return p

    killed = leftover(".net.json.k3j_9x2a.tmp")
    young = leftover(".net.json.abcdefgh.tmp", time.time())  # maybe a save under way
    other = leftover(".other.json.k3j_9x2a.tmp")  # another file's
    mine_not = leftover(".net.json.k3j_9x2a.bak")  # not our pattern
    save_graph(target, g)
    assert not killed.exists()
    assert young.exists() and other.exists() and mine_not.exists()
    again = leftover(".net.json.zzzzzzzz.tmp")
    load_graph(target)  # an open removes them too
    assert not again.exists() and young.exists()
    assert remove_leftovers(tmp_path / "other.json") == [".other.json.k3j_9x2a.tmp"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".net.json.abcdefgh.tmp", ".net.json.k3j_9x2a.bak", "net.json"]


@pytest.mark.timeout(30)
def test_loaders_refuse_devices_fifos_and_kernel_files_before_opening(tmp_path):
    os.mkfifo(tmp_path / "pipe.csv")
    for path, message in ((tmp_path / "pipe.csv", r"is a FIFO \(named pipe\)"),
                          ("/dev/zero", r"cannot be a device or kernel file \(in /dev\)"),
                          ("/proc/self/status", r"cannot be a device or kernel file \(in /proc\)"),
                          (tmp_path, "is a folder")):
        for load in (load_csv, load_npz, csv_columns):
            start = time.perf_counter()
            with pytest.raises(FileRefused, match=message) as info:
                load(path)
            assert time.perf_counter() - start < 0.5
            assert isinstance(info.value, OSError) and isinstance(info.value, ValueError)


def test_data_files_over_the_limits_are_refused_naming_them(tmp_path, monkeypatch):
    claims = claims_npz(tmp_path / "claims.npz")
    with pytest.raises(FileRefused, match=r"claims 1,000,000 x 1,000,000 = 1,000,000,000,000 "
                                          r"values; the limit is 250,000,000"):
        load_npz(claims)
    with pytest.raises(FileRefused, match=r"would take 1.4 GiB once decompressed; the limit "
                                          r"is 1 GiB"):
        load_npz(bomb_npz(tmp_path / "bomb.npz"))
    # a real bomb, at a small limit: 4 MB of zeros deflate to 4 KB
    real = tmp_path / "real.npz"
    np.savez_compressed(real, X=np.zeros((1_000_000, 1), np.float32), y=np.zeros(1_000_000))
    assert real.stat().st_size < 100_000
    with pytest.raises(FileRefused, match=r"would take 11.4 MiB once decompressed; the limit "
                                          r"is 1 MiB"):
        check_npz(real, "the dataset", 2**20, 10**9)
    with pytest.raises(FileRefused, match=r"array 'X' of the dataset claims 1,000,000 x 1 = "
                                          r"1,000,000 values; the limit is 1,000"):
        check_npz(real, "the dataset", 2**30, 1000)
    # a header claiming more than its member holds: damaged
    with zipfile.ZipFile(tmp_path / "short.npz", "w") as z:
        z.writestr("X.npy", npy_header((1000, 10)) + b"\0" * 40)
    with pytest.raises(FileRefused, match="claims 10,000 values .* but holds .*damaged"):
        check_npz(tmp_path / "short.npz", "the dataset", 2**30, 10**9)
    # a CSV over the size limit
    monkeypatch.setattr(limits, "MAX_CSV_BYTES", 100)
    big = tmp_path / "big.csv"
    big.write_text("a,b\n" + "1,0\n" * 100)
    with pytest.raises(FileRefused, match="the CSV file is 404 bytes; the limit is 100 bytes"):
        load_csv(big)


def test_values_from_a_data_file_are_quoted_as_short_excerpts(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("a,b\n1,0\n" + "x" * 100_000 + ",1\n")
    with pytest.raises(ValueError) as info:
        load_csv(p)
    text = str(info.value)
    assert len(text) < 200
    assert "d.csv: line 3, column 1 ('a'): 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'… is not a number" \
        in text


def test_regular_file_names_what_and_the_limit(tmp_path):
    f = tmp_path / "f.bin"
    f.write_bytes(b"0" * 2048)
    assert regular_file(f, "the data", 2048).st_size == 2048
    with pytest.raises(FileRefused, match=r"f.bin: the data is 2 KiB; the limit is 1 KiB"):
        regular_file(f, "the data", 1024)
    with pytest.raises(FileNotFoundError, match=r"none.csv: no such file \(the data\)"):
        regular_file(tmp_path / "none.csv", "the data", 1024)
    link = tmp_path / "link.csv"
    link.symlink_to("/dev/zero")
    with pytest.raises(FileRefused, match=r"link.csv: the data cannot be a device"):
        regular_file(link, "the data", 1024)


def test_editing_keeps_to_the_same_limits_as_loading():
    """What an edit can make, a file can hold: the name and position limits are the
    model's, so a saved project always opens again."""
    from nncore.graph import GraphError

    g = Graph()
    node = g.add_node("relu", (limits.MAX_POSITION, -limits.MAX_POSITION), name="N" * 200)
    assert loads(dumps(g)).node(node.id).name == "N" * 200
    with pytest.raises(GraphError, match="a node name is at most 200 characters, got 201"):
        g.add_node("relu", name="N" * 201)
    with pytest.raises(GraphError, match="a position is at most 10,000,000"):
        g.add_node("relu", (1e30, 0))
    data = json.loads(dumps(g))
    data["nodes"][0]["name"] = "M" * 201
    with pytest.raises(GraphFileError, match="at most 200 characters"):
        loads(json.dumps(data))


def test_messages_about_a_project_file_quote_its_values_briefly():
    d = copy.deepcopy(base())
    d["format"] = "f" * 3000
    with pytest.raises(GraphFileError) as info:
        loads(json.dumps(d), "p.json")
    assert len(str(info.value)) < 150


def test_a_weights_file_claiming_10_to_the_12_values_is_refused_before_reading(tmp_path):
    from nncore.graph import load_weights

    d = base()
    d["weights"] = "w.npz"
    project = write(tmp_path, "p.json", d)
    claims_npz(tmp_path / "w.npz")
    start = time.perf_counter()
    with pytest.raises(GraphFileError, match=r"w.npz: array 'X' of the weights file claims "
                                             r"1,000,000 x 1,000,000"):
        load_weights(project)
    assert time.perf_counter() - start < 1.0
    bomb_npz(tmp_path / "w.npz")
    with pytest.raises(GraphFileError, match="would take 1.4 GiB once decompressed"):
        load_weights(project)
