"""The type checker passes on bot/ and storage/: mypy with the settings of [tool.mypy] in pyproject.toml.

Incremental: the cache in .mypy_cache makes a run after a small change take seconds (a first run on a
clean clone checks everything, about half a minute).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_mypy_finds_no_errors_in_bot_and_storage(monkeypatch: pytest.MonkeyPatch) -> None:
    api = pytest.importorskip("mypy.api", reason="mypy comes with the test extra: pip install -e '.[test]'")
    monkeypatch.chdir(ROOT)  # [tool.mypy] names its files relative to the project
    out, err, status = api.run(["--config-file", str(ROOT / "pyproject.toml")])
    assert status == 0, f"mypy (exit status {status}) found:\n{out}{err}"
    checked = re.search(r"no issues found in (\d+) source files", out)
    assert checked and int(checked.group(1)) > 50, f"mypy checked less than bot/ and storage/:\n{out}{err}"
