"""What crosses the thread is typed: one frozen record type per worker signal."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from app.document import Document
from app.resources import examples_dir
from app.training.controller import TrainingController
from app.training.records import BatchRecords, EpochRecord, RunInfo, RunResult


@pytest.fixture
def controller(qtbot):
    doc = Document()
    doc.open(examples_dir() / "moons_tanh.json")
    ctl = TrainingController(doc)
    yield ctl
    assert ctl.shutdown(5.0)


def test_every_signal_carries_its_record(controller, qtbot):
    got: dict[str, list] = {"started": [], "batches": [], "epochs": [], "finished": []}
    w = controller.worker
    w.run_started.connect(lambda rid, r: got["started"].append(r))
    w.batches.connect(lambda rid, r: got["batches"].append(r))
    w.epochs.connect(lambda rid, r: got["epochs"].extend(r))
    w.finished.connect(lambda rid, r: got["finished"].append(r))
    g = controller.document.graph
    g.set_settings({**g.settings, "training": {**g.settings["training"], "epochs": 2}})
    with qtbot.waitSignal(controller.run_finished, timeout=30_000):
        run_id = controller.train()
    qtbot.waitUntil(lambda: bool(got["finished"]), timeout=5_000)
    (info,), (result,) = got["started"], got["finished"]
    assert isinstance(info, RunInfo) and info.task == "classification"
    assert info.points is not None and info.points[0].shape[1] == 2  # moons: 2-D data
    assert all(isinstance(b, BatchRecords) for b in got["batches"])
    steps = np.concatenate([b.step for b in got["batches"]])
    assert len(steps) == 2 * info.batches and np.all(np.diff(steps) > 0)
    assert [type(e) for e in got["epochs"]] == [EpochRecord, EpochRecord]
    assert got["epochs"][-1].boundary is not None  # the last epoch draws the boundary
    assert isinstance(result, RunResult) and result.status == "finished"
    run = controller.store.get(run_id)
    assert [e["loss"] for e in run.epochs] == [e.logs["loss"] for e in got["epochs"]]
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.status = "failed"  # type: ignore[misc]
