"""The canvas agrees with the data: switching the dataset in the window re-derives the
Input's shapes and every width, count and error after it, and the cards and the
inspector say exactly what ``nncore check`` says of the saved file (issue 8)."""

from __future__ import annotations

import io
import re
import shutil
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from app.resources import examples_dir
from nncore.cli import main as nncore
from nncore.data import DATASETS

EXAMPLE = examples_dir() / "digits_mlp.json"


def choose(combo, data) -> None:
    index = combo.findData(data)
    assert index >= 0, data
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


def check(path: Path) -> tuple[int, dict[str, list[str]], str, list[str], str]:
    """Run ``nncore check``: (exit code, node name -> [type, output, parameters],
    the dataset line, the problems, the total line)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = nncore(["check", str(path)])
    lines = out.getvalue().splitlines()
    dataset = next(line for line in lines if line.startswith("dataset: "))[len("dataset: "):]
    start = next(i for i, line in enumerate(lines) if line.split()[:2] == ["node", "type"])
    rows = {}
    for line in lines[start + 1:]:
        if line.startswith("total: "):
            break
        name, *rest = re.split(r"\s{2,}", line.strip())
        rows[name] = rest + [""] * (3 - len(rest))
    total = next(line for line in lines if line.startswith("total: "))
    problems = [line[len("problem: "):] for line in err.getvalue().splitlines()
                if line.startswith("problem: ")]
    return code, rows, dataset, problems, total


def compare(window, qtbot, path: Path) -> tuple[int, str]:
    """Save, run ``nncore check`` on the file, and compare it with every card and the
    inspector, as they refreshed themselves after the change. Returns (check's exit
    code, the dataset line)."""
    window.document.save(path)
    qtbot.waitUntil(lambda: not window.scene._refresh_timer.isActive(), timeout=3000)
    window.inspector.show_nodes([])
    window.inspector.refresh_now()
    code, rows, dataset, problems, total = check(path)
    graph = window.document.graph
    assert set(rows) == {n.name for n in graph.nodes}
    for node in graph.nodes:
        item = window.scene.nodes[node.id]
        kind, shape, count = rows[node.name]
        assert kind == node.type.display_name
        outs = shape.split("; ") if shape not in ("error", "?") else []
        if outs:  # the card shows the shapes of its tensor ports (not labels, not a loss)
            assert len(outs) == len(node.type.outputs), (node.name, shape)
        tensor_shapes = [s for s, port in zip(outs, node.type.outputs) if port.kind == "tensor"]
        assert item.output_text == ", ".join(tensor_shapes), (node.name, shape)
        assert item.param_count == (int(count) if count else None), node.name
        mine = [p for p in problems if p.startswith(f"{node.name}: ")]
        assert (item.error != "") == bool(mine), (node.name, item.error, mine)
        if mine:
            assert f"{node.name}: {item.error}" in mine
    inp = next(n for n in graph.nodes if n.type.reads_data)
    features, what = dataset.split(", ")[1:3]
    card = window.scene.nodes[inp.id].card_text
    assert card.startswith(features.replace("features", "feature").split()[0]), (card, dataset)
    assert what.split()[0] in card  # the number of classes or targets
    page = window.inspector.page
    assert page.dataset_label.text() == f"Dataset: {dataset}"
    assert re.sub(r"\D", "", page.params_label.text()) == re.search(
        r"(\d+) trainable parameters", total).group(1)
    assert ("Ready to train" in page.status_label.text()) == (code == 0)
    return code, dataset


@pytest.mark.slow
def test_every_builtin_dataset_and_a_csv_agree_with_nncore_check(window, qtbot, tmp_path):
    project = tmp_path / "digits_mlp.json"
    shutil.copy(EXAMPLE, project)
    assert window.open_file(project)
    panel = window.training_panel
    seen = {}
    for name in DATASETS:
        choose(panel.source_combo, f"builtin:{name}")
        seen[name] = compare(window, qtbot, project)
    # the digits fit the example; iris does not (3 classes, the last Dense has 10 units)
    assert seen["digits"][0] == 0 and seen["iris"][0] == 1
    assert "150 samples, 4 features, 3 classes" in seen["iris"][1]
    # a CSV beside the project, chosen in the panel
    csv = tmp_path / "points.csv"
    csv.write_text("a,b,c,label\n" + "\n".join(
        f"{i % 7},{i % 5},{i % 3},{i % 10}" for i in range(60)) + "\n")
    panel.choose_file = lambda parent, kind, start: str(csv)
    choose(panel.source_combo, "csv")
    code, dataset = compare(window, qtbot, project)
    assert code == 0 and "3 features, 10 classes" in dataset
    # the file keeps no width: reopening gives the same cards
    assert '"features"' not in project.read_text().split('"edges"')[0]
    before = {nid: (item.output_text, item.param_count) for nid, item in window.scene.nodes.items()}
    assert window.open_file(project)
    qtbot.waitUntil(lambda: not window.scene._refresh_timer.isActive(), timeout=3000)
    assert {nid: (item.output_text, item.param_count)
            for nid, item in window.scene.nodes.items()} == before
