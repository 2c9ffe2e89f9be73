"""The layers of the house hold (pyproject.toml [tool.importlinter]): nothing imports a layer above its
own, and no two modules or folders of one package import each other, however indirectly. And the guard
itself bites: an upward import or a new circle in a copy of the tree fails it."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def lint(where: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT), "--no-cache", "--no-logo", str(where / "pyproject.toml")], cwd=where,
                          capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": str(where), "PATH": "/usr/bin:/bin"})


def test_no_import_runs_up_a_layer_and_no_circles():
    done = lint(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 kept, 0 broken" in done.stdout


def copy_of_the_tree(tmp_path: Path) -> Path:
    for name in ("bot", "storage"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_an_upward_import_is_refused(tmp_path):
    tree = copy_of_the_tree(tmp_path)
    rule = tree / "bot" / "domain" / "uscc.py"
    rule.write_text(rule.read_text() + "\nfrom bot.engine import Engine  # noqa\n")
    done = lint(tree)
    assert done.returncode != 0
    assert "bot.domain is not allowed to import bot.engine" in done.stdout


def test_a_circle_inside_a_package_is_refused(tmp_path):
    tree = copy_of_the_tree(tmp_path)
    fields = tree / "bot" / "dialogs" / "fields.py"  # the walker imports the fields: back again is a circle
    fields.write_text(fields.read_text() + "\nfrom bot.dialogs import walker  # noqa\n")
    done = lint(tree)
    assert done.returncode != 0
    assert "No cycles are allowed in bot.dialogs" in done.stdout
