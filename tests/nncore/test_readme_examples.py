"""The Python examples in README.md run and do what their comments say."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_python_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the examples write files
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) >= 3
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for block in blocks:
            exec(compile(block, str(README), "exec"), {})
    text = out.getvalue()
    loss = float(re.search(r"loss after 100 steps: ([0-9.]+)", text).group(1))
    assert loss < 0.1
    accuracy = float(re.search(r"'accuracy': ([0-9.]+)", text).group(1))
    assert accuracy > 0.95
    assert re.search(r"^131$", text, re.M)  # the graph example's parameter count, as its comment says
    assert (tmp_path / "net.json").exists()
