"""Open Recent's list: newest first, each file once however it was reached, bounded."""

from __future__ import annotations

import os

from app.recent import MAX_RECENT, add_recent, real_path, recent_files


class Store(dict):
    def value(self, key, default=None):
        return self.get(key, default)

    def setValue(self, key, value):  # noqa: N802 - QSettings API
        self[key] = value


def test_one_file_reached_two_ways_is_one_entry(tmp_path):
    (tmp_path / "a").mkdir()
    f = tmp_path / "a" / "net.json"
    f.write_text("{}")
    os.symlink(f, tmp_path / "link.json")
    store = Store()
    add_recent(store, f)
    add_recent(store, tmp_path / "a" / ".." / "a" / "net.json")
    add_recent(store, tmp_path / "link.json")
    assert recent_files(store) == [real_path(f)]
    store["recent"] = [str(f), str(tmp_path / "link.json")]  # saved by an older version
    assert recent_files(store) == [real_path(f)]


def test_newest_first_and_bounded(tmp_path):
    store = Store()
    for i in range(MAX_RECENT + 3):
        add_recent(store, tmp_path / f"{i}.json")
    files = recent_files(store)
    assert len(files) == MAX_RECENT and files[0].endswith(f"{MAX_RECENT + 2}.json")
    add_recent(store, tmp_path / "5.json")
    assert recent_files(store)[0].endswith("5.json") and len(recent_files(store)) == MAX_RECENT
    store["recent"] = str(tmp_path / "x.json")  # QSettings gives a lone string for one item
    assert recent_files(store) == [real_path(tmp_path / "x.json")]
