"""Trainer checkpoints: exact resumption, the file format (npz + JSON, no pickle, atomic),
and clear errors for missing, corrupt or mismatched checkpoints."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from nncore import manual_seed, nn, optim
from nncore import functional as F
from nncore.training import (CHECKPOINT_VERSION, Callback, CheckpointError, EarlyStopping,
                             Trainer, checkpoint_info)

EPOCHS = 6


def dataset():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 4)).astype(np.float32)
    y = (X[:, 0] - X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1)
    return X[:90], y[:90], (X[90:], y[90:])


def build(seed, kind="adam", shared_generator=True, early_stopping=False, scheduler="step",
          hidden=16, extra_callbacks=()):
    """A model with BatchNorm (buffers) and Dropout (randomness), its optimizer, a
    scheduler and a trainer. ``seed`` sets the initial weights and generators, so that a
    resumed run depends on the checkpoint only."""
    manual_seed(seed)
    g = np.random.default_rng(seed)
    drop_gen = g if shared_generator else np.random.default_rng(seed + 100)
    model = nn.Sequential(nn.Linear(4, hidden, generator=g), nn.BatchNorm1d(hidden), nn.ReLU(),
                          nn.Dropout(0.3, generator=drop_gen), nn.Linear(hidden, 3, generator=g))
    if kind == "adam":
        opt = optim.Adam(model.parameters(), lr=0.01)
    else:
        opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    sched = None
    if scheduler == "step":
        sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    elif scheduler == "plateau":
        sched = optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, factor=0.5)
    callbacks = []
    if early_stopping:
        # mode "max" on the validation loss: its best epoch is an early one, so a
        # resumed run that forgot the first half would pick another
        callbacks = [EarlyStopping(patience=100, mode=early_stopping)
                     if isinstance(early_stopping, str) else EarlyStopping(patience=100)]
    trainer = Trainer(model, F.cross_entropy, opt, batch_size=16, scheduler=sched,
                      callbacks=[*callbacks, *extra_callbacks], generator=g)
    return model, trainer


def without_time(history):
    return [{k: v for k, v in h.items() if k != "time"} for h in history]


def assert_same_state(a, b):
    assert list(a) == list(b)
    for k in a:
        assert a[k].dtype == b[k].dtype
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


class SaveAt(Callback):
    def __init__(self, epoch, path):
        self.epoch, self.path = epoch, path

    def on_epoch_end(self, trainer, epoch, logs):
        if epoch == self.epoch:
            trainer.save_checkpoint(self.path)


@pytest.mark.parametrize("kind", ["sgd_momentum", "adam"])
@pytest.mark.parametrize("shared_generator", [True, False])
def test_resume_is_bit_identical_to_an_uninterrupted_run(tmp_path, kind, shared_generator):
    X, y, val = dataset()
    model, trainer = build(0, kind, shared_generator)
    full = trainer.fit(X, y, EPOCHS, validation=val)
    final = model.state_dict()

    model_a, first = build(0, kind, shared_generator)
    first.fit(X, y, EPOCHS // 2, validation=val)
    path = tmp_path / "run.npz"
    first.save_checkpoint(path)

    model_b, resumed = build(7, kind, shared_generator)  # other weights and generators
    resumed.load_checkpoint(path)
    assert resumed.global_step == first.global_step and len(resumed.history) == EPOCHS // 2
    history = resumed.fit(X, y, EPOCHS - EPOCHS // 2, validation=val)
    assert [h["epoch"] for h in history] == list(range(1, EPOCHS + 1))
    assert without_time(history) == without_time(full)
    assert_same_state(model_b.state_dict(), final)
    opt_full, opt_resumed = trainer.optimizer.state_dict(), resumed.optimizer.state_dict()
    for i, st in opt_full["state"].items():
        for name, value in st.items():
            np.testing.assert_array_equal(opt_resumed["state"][i][name], value)
    assert resumed.scheduler.state_dict() == trainer.scheduler.state_dict()
    assert resumed.generator.bit_generator.state == trainer.generator.bit_generator.state


def test_resume_with_early_stopping_saved_mid_run(tmp_path):
    X, y, val = dataset()
    path = tmp_path / "mid.npz"
    model, trainer = build(0, early_stopping="max", scheduler="plateau",
                           extra_callbacks=[SaveAt(3, path)])
    full = trainer.fit(X, y, EPOCHS, validation=val)
    es_full = trainer.callbacks[0]
    assert es_full.best_epoch <= 3

    model_b, resumed = build(3, early_stopping="max", scheduler="plateau",
                             extra_callbacks=[SaveAt(3, tmp_path / "unused.npz")])
    resumed.load_checkpoint(path)
    es = resumed.callbacks[0]
    assert es.best_epoch <= 3 and es.best_state is not None
    history = resumed.fit(X, y, EPOCHS - 3, validation=val)
    assert without_time(history) == without_time(full)
    assert (es.best, es.best_epoch) == (es_full.best, es_full.best_epoch)
    # both restored the same best weights at the end
    assert_same_state(model_b.state_dict(), model.state_dict())


def test_file_format_is_npz_with_versioned_json_and_no_pickle(tmp_path):
    X, y, val = dataset()
    model, trainer = build(0, "sgd", scheduler="plateau")
    path = tmp_path / "ck.npz"
    trainer.save_checkpoint(path)  # before training: ReduceLROnPlateau's best is inf
    with np.load(path, allow_pickle=False) as z:
        names = set(z.files)
        meta = z["__meta__"]
        assert meta.shape == () and meta.dtype.kind == "U"
        info = json.loads(str(meta[()]))
        for name in names:
            assert z[name].dtype != object
    assert info["format"] == "nncore-checkpoint" and info["version"] == CHECKPOINT_VERSION
    assert "model/0.weight" in names and "model/1.running_var" in names
    assert info["scheduler"]["state"]["best"] == {"__float__": "inf"}
    assert set(info["generators"]) == {"trainer", "default", "model.3.generator"}
    assert info["generators"]["model.3.generator"] == {"same_as": "trainer"}
    assert sorted(os.listdir(tmp_path)) == ["ck.npz"]  # no temporary file left

    _, fresh = build(1, "sgd", scheduler="plateau")
    fresh.load_checkpoint(path)
    assert fresh.scheduler.best == np.inf
    trainer.fit(X, y, 2, validation=val)
    trainer.save_checkpoint(path)  # overwrite
    summary = checkpoint_info(path)
    assert summary["epochs"] == 2 and summary["optimizer"] == "SGD"
    assert summary["scheduler"] == "ReduceLROnPlateau"
    assert summary["model_entries"]["0.weight"] == (16, 4)
    assert without_time(summary["history"]) == without_time(trainer.history)


def test_atomic_write_keeps_the_old_file_when_saving_fails(tmp_path, monkeypatch):
    _, trainer = build(0)
    path = tmp_path / "ck.npz"
    trainer.save_checkpoint(path)
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(OSError, match="disk full"):
        trainer.save_checkpoint(path)
    monkeypatch.undo()
    assert path.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["ck.npz"]

    class Unsaveable(Callback):
        def state_dict(self):
            return {"thing": object()}

    trainer.callbacks.append(Unsaveable())
    with pytest.raises(CheckpointError, match="cannot save 'callbacks/0/thing'"):
        trainer.save_checkpoint(path)
    assert path.read_bytes() == before


def corrupt_variants(tmp_path, good):
    data = good.read_bytes()
    (tmp_path / "garbage.npz").write_bytes(b"this is not a checkpoint at all" * 10)
    (tmp_path / "truncated.npz").write_bytes(data[: len(data) // 2])
    np.savez(tmp_path / "plain.npz", a=np.zeros(3))
    np.save(tmp_path / "single.npy", np.zeros(3))
    with np.load(good, allow_pickle=False) as z:
        entries = {k: z[k] for k in z.files}
    meta = json.loads(str(entries["__meta__"][()]))
    newer = dict(entries, __meta__=np.array(json.dumps(dict(meta, version=CHECKPOINT_VERSION + 1))))
    np.savez(tmp_path / "newer.npz", **newer)
    lacking = {k: v for k, v in entries.items() if k != "model/4.bias"}
    np.savez(tmp_path / "lacking.npz", **lacking)
    np.savez(tmp_path / "badjson.npz", **dict(entries, __meta__=np.array("{not json")))
    np.savez(tmp_path / "malformed.npz",
             **dict(entries, __meta__=np.array(json.dumps(dict(meta, optimizer=5)))))


@pytest.mark.parametrize("name,message", [
    ("garbage.npz", "is not a checkpoint"),
    ("truncated.npz", "(is not a checkpoint|is corrupt)"),
    ("plain.npz", "has no '__meta__' entry"),
    ("single.npy", "a single array, not an .npz"),
    ("newer.npz", f"format version {CHECKPOINT_VERSION + 1}, newer"),
    ("lacking.npz", "lacks the array entry 'model/4.bias'"),
    ("badjson.npz", "not valid JSON"),
    ("malformed.npz", "is malformed"),
])
def test_corrupt_checkpoints_give_clear_errors_and_change_nothing(tmp_path, name, message):
    _, saved = build(0)
    good = tmp_path / "good.npz"
    saved.save_checkpoint(good)
    corrupt_variants(tmp_path, good)
    model, trainer = build(1)
    before = model.state_dict()
    state = trainer.generator.bit_generator.state
    with pytest.raises(CheckpointError, match=message):
        trainer.load_checkpoint(tmp_path / name)
    assert_same_state(model.state_dict(), before)
    assert trainer.generator.bit_generator.state == state


def test_missing_file(tmp_path):
    _, trainer = build(0)
    with pytest.raises(FileNotFoundError, match="checkpoint file not found: .*nope.npz"):
        trainer.load_checkpoint(tmp_path / "nope.npz")


@pytest.mark.parametrize("other,message", [
    (dict(hidden=8), r"model entry '0.weight' has shape \(16, 4\) in the checkpoint but "
                     r"\(8, 4\) in the model"),
    (dict(kind="sgd"), "state of a Adam optimizer, this trainer's is SGD"),
    (dict(scheduler=None), "saved with a StepLR scheduler, this trainer has none"),
    (dict(scheduler="plateau"), "StepLR scheduler, this trainer's is ReduceLROnPlateau"),
    (dict(early_stopping=True), r"no state for callback 0 \(EarlyStopping\)"),
])
def test_mismatched_trainer_is_refused_naming_the_entry(tmp_path, other, message):
    X, y, val = dataset()
    _, saved = build(0)
    saved.fit(X, y, 1)
    path = tmp_path / "ck.npz"
    saved.save_checkpoint(path)
    model, trainer = build(1, **other)
    before = model.state_dict()
    with pytest.raises(CheckpointError, match=message):
        trainer.load_checkpoint(path)
    assert_same_state(model.state_dict(), before)
    assert trainer.history == []


def test_generators_saved_separately_cannot_load_into_one(tmp_path):
    X, y, _ = dataset()
    _, shared = build(0, shared_generator=True)
    shared.fit(X, y, 1)
    shared.save_checkpoint(tmp_path / "shared.npz")
    _, separate = build(1, shared_generator=False)
    separate.load_checkpoint(tmp_path / "shared.npz")  # each generator gets the state
    assert (separate.generator.bit_generator.state
            == separate.model[3].generator.bit_generator.state
            == shared.generator.bit_generator.state)
    separate.fit(X, y, 1)
    separate.save_checkpoint(tmp_path / "separate.npz")
    model, one = build(2, shared_generator=True)
    before = model.state_dict()
    with pytest.raises(CheckpointError, match="generators 'trainer' and 'model.3.generator' "
                                              "are one generator in this trainer but had "
                                              "different states"):
        one.load_checkpoint(tmp_path / "separate.npz")
    assert_same_state(model.state_dict(), before)


def test_a_failure_late_in_loading_undoes_the_earlier_steps(tmp_path):
    X, y, _ = dataset()
    _, saved = build(0)
    saved.fit(X, y, 1)
    path = tmp_path / "ck.npz"
    saved.save_checkpoint(path)
    # same model and optimizer type, but two parameter groups instead of one: found only
    # when the optimizer state is applied, after the model's weights were
    model, trainer = build(1)
    params = list(model.parameters())
    trainer.optimizer = optim.Adam([{"params": params[:2]}, {"params": params[2:]}], lr=0.01)
    trainer.scheduler = optim.lr_scheduler.StepLR(trainer.optimizer, step_size=2)
    before = model.state_dict()
    with pytest.raises(CheckpointError, match="does not fit the optimizer: loaded state dict "
                                              "has 1 parameter group, this optimizer has 2"):
        trainer.load_checkpoint(path)
    assert_same_state(model.state_dict(), before)


@pytest.mark.parametrize("kind", ["claims", "bomb", "fifo"])
def test_a_hostile_checkpoint_is_refused_before_it_is_read(tmp_path, kind):
    """A checkpoint is looked into before np.load, as data and weights files are: a
    header claiming 10**12 values, a zip bomb or a FIFO is a CheckpointError naming the
    limit, at once (issue 9)."""
    import time

    from tests.nncore.test_hostile_files import bomb_npz, claims_npz

    path = tmp_path / "c.npz"
    if kind == "claims":
        claims_npz(path)
    elif kind == "bomb":
        bomb_npz(path)
    else:
        os.mkfifo(path)
    manual_seed(0)
    m = nn.Sequential(nn.Linear(2, 2))
    t = Trainer(m, F.cross_entropy, optim.SGD(m.parameters(), lr=0.1))
    start = time.perf_counter()
    with pytest.raises(CheckpointError, match="the checkpoint"):
        t.load_checkpoint(path)
    assert time.perf_counter() - start < 1.0
