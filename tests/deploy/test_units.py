"""The example deployment in deploy/ is real: the systemd units pass `systemd-analyze verify` (where systemd
is installed) and every command they start is one `python -m bot` knows."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNITS = sorted((ROOT / "deploy" / "systemd").glob("*.service"))
INSTALLED = "/opt/jiebang/.venv/bin/python"  # where the units expect the project's environment


def test_the_example_deployment_has_its_units():
    assert {u.name for u in UNITS} >= {"jiebang-serve@.service", "jiebang-migrate.service"}


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here")
@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_systemd_analyze_verify_finds_nothing_wrong(unit, tmp_path):
    for other in UNITS:  # beside each other (Requires=jiebang-migrate.service), this venv's python in place
        name = other.name.replace("@.service", "@8081.service")
        (tmp_path / name).write_text(other.read_text().replace(INSTALLED, sys.executable))
    target = tmp_path / unit.name.replace("@.service", "@8081.service")
    done = subprocess.run(["systemd-analyze", "verify", "--man=no", str(target)], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    problems = [line for line in (done.stdout + done.stderr).splitlines()
                if line.strip() and "Documentation" not in line]
    assert done.returncode == 0 and not problems, done.stdout + done.stderr


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_each_unit_starts_a_command_the_bot_has(unit):
    [start] = [line.split("=", 1)[1] for line in unit.read_text().splitlines() if line.startswith("ExecStart=")]
    argv = shlex.split(start)
    assert argv[:3] == [INSTALLED, "-m", "bot"]
    done = subprocess.run([sys.executable, "-m", "bot", *argv[3:], "--help"], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
