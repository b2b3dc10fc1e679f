"""A run belongs to its project (issue 8): the same network in another folder, with its
own data file, or a data file that changed, starts a new run on that data; only the
same project, data and settings continue."""

from __future__ import annotations

import json

import pytest

from app.document import Document
from app.training.controller import TrainingController
from nncore.graph import Graph, dumps

WAIT = 30_000


def project(folder, rows: int) -> None:
    folder.mkdir()
    (folder / "data.csv").write_text("x1,x2,y\n" + "\n".join(
        f"{i % 7},{(i * 3) % 5},{i % 2}" for i in range(rows)) + "\n")
    g = Graph()
    inp = g.add_node("input")
    d = g.add_node("dense", (200, 0), {"units": 2})
    loss = g.add_node("cross_entropy", (400, 0))
    g.connect(inp.id, "features", d.id, "input")
    g.connect(d.id, "output", loss.id, "input")
    g.connect(inp.id, "labels", loss.id, "target")
    g.settings = {"dataset": {"source": "csv", "path": "data.csv", "val_fraction": 0.2},
                  "training": {"epochs": 1, "batch_size": 8}}
    (folder / "net.json").write_text(dumps(g))


@pytest.fixture
def controller(qtbot):
    ctl = TrainingController(Document())
    yield ctl
    assert ctl.shutdown(5.0)


def train(ctl, qtbot) -> int:
    with qtbot.waitSignal(ctl.run_finished, timeout=WAIT):
        run_id = ctl.train()
    assert run_id is not None
    return run_id


def test_another_project_or_changed_data_starts_a_new_run(controller, qtbot, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    project(a, 40)   # 32 training samples: 4 batches of 8
    project(b, 80)   # 64 training samples: 8 batches
    assert json.loads((a / "net.json").read_text())["nodes"] == \
        json.loads((b / "net.json").read_text())["nodes"]  # the same network text
    doc = controller.document
    doc.open(a / "net.json")
    first = train(controller, qtbot)
    run = controller.store.get(first)
    assert run.progress["batches"] == 4 and len(run.epochs) == 1
    assert train(controller, qtbot) == first and len(run.epochs) == 2  # same project: continues
    doc.open(b / "net.json")
    second = train(controller, qtbot)
    assert second != first  # B's Train never continues A's run ...
    assert controller.store.get(second).progress["batches"] == 8  # ... and reads B's file
    assert len(controller.store.get(second).epochs) == 1
    (b / "data.csv").write_text((b / "data.csv").read_text() + "".join(
        f"{i % 7},{i % 5},{i % 2}\n" for i in range(40)))  # 120 rows: 96 training samples
    third = train(controller, qtbot)
    assert third != second and controller.store.get(third).progress["batches"] == 12
