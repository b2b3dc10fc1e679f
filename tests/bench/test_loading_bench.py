"""The loading benchmark's measurement works (a 1 MB file loaded in this process through
the window's DataLoader; the figures are the benchmark's, on 200 MB)."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")


def test_a_small_file_loads_through_the_window_loader_and_is_measured(qapp, tmp_path):
    from bench.loading import SITES, SPECIES, measure, ratios, write_csv

    path = tmp_path / "small.csv"
    written = write_csv(path, 2**20)
    assert written["bytes"] >= 2**20 and 0 < written["complete_rows"] < written["rows"]
    result = measure(path)
    assert result["error"] is None
    assert result["rows"] == written["complete_rows"]  # rows with a missing value dropped
    # f1..f8, count, site one-hot (6 values); the target species (3 classes) is not one
    assert result["features"] == 8 + 1 + len(SITES) == 15 and len(SPECIES) == 3
    assert isinstance(result["max_gap_ms"], float) and result["max_gap_ms"] >= 0
    assert result["ticks"] >= 0 and result["gap_p99_ms"] <= result["max_gap_ms"]
    assert result["progress_reports"] >= 1 and result["last_progress"] == 1.0
    assert result["seconds"] > 0 and result["file_mib"] == pytest.approx(1.0, abs=0.1)
    figures = ratios(result)
    assert figures["gap_over_goal"] == pytest.approx(result["max_gap_ms"] / 100, abs=0.01)
    assert figures["load_over_file"] == pytest.approx(result["load_mib"] / result["file_mib"],
                                                      abs=0.01)
