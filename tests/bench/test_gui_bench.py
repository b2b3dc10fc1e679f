"""The GUI benchmark's measurements work (a short run; the figures are the benchmark's)."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")


def test_app_run_trains_through_the_window_and_measures(qapp):
    from bench.gui import app_run

    # 20 epochs (about half a second on a fast machine): long enough for the 5 ms timer
    # to tick many times even when 2 epochs finish before the event loop turns.
    result = app_run(20)
    assert result["epochs"] == 20
    assert result["samples_per_s"] > 0 and result["timer_ticks"] > 0
    assert result["lateness_p50_ms"] <= result["lateness_p99_ms"] <= result["lateness_max_ms"]
    assert 0.0 < result["final_val_accuracy"] <= 1.0


def test_redraw_time_is_measured(qapp):
    from bench.gui import redraw_times

    assert redraw_times(1_000, repeats=3) > 0
