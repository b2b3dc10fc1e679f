"""bench.report: the one place the benchmarks write bench/results.json."""

from __future__ import annotations

import json

from bench.report import print_goals, save_section


def test_save_section_keeps_the_other_sections_and_merges_on_request(tmp_path, capsys):
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"mlp": {"a": 1, "b": 2}, "canvas": {"x": 1}}))
    save_section(path, "gui", {"ratio": 0.7}, date="today")
    save_section(path, "mlp", {"b": 3}, merge=True)
    save_section(path, "canvas", {"y": 2})
    data = json.loads(path.read_text())
    assert data == {"mlp": {"a": 1, "b": 3}, "canvas": {"y": 2}, "gui": {"ratio": 0.7},
                    "date": "today"}
    assert not (tmp_path / "results.json.tmp").exists()
    path.write_text("{ not json")
    save_section(path, "gui", {"ratio": 0.8})
    assert json.loads(path.read_text()) == {"gui": {"ratio": 0.8}}
    assert "unreadable" in capsys.readouterr().out


def test_print_goals(capsys):
    print_goals({"fast": True, "small": False})
    assert capsys.readouterr().out == "  fast: MET\n  small: NOT MET\n"
