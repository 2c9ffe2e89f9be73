"""Every module imports on its own, first: a circular import shows only when a module is the first one
loaded (a form module from a script, `python -m bot admin`), never in a test run that imported the engine."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import importlib, pkgutil, sys, traceback, warnings
from sqlmodel import SQLModel
from sqlmodel.main import default_registry
warnings.simplefilter("ignore")  # re-declaring the same models in one process
names = []
for pkg in ("bot", "storage"):
    mod = importlib.import_module(pkg)
    names += [pkg] + [m.name for m in pkgutil.walk_packages(mod.__path__, pkg + ".")]
failed = []
for name in names:
    if name in ("bot.__main__", "storage.migrations.env"):  # scripts: run by python -m, alembic
        continue
    for loaded in [m for m in sys.modules if m.split(".")[0] in ("bot", "storage")]:
        del sys.modules[loaded]
    SQLModel.metadata.clear()
    default_registry.dispose()
    try:
        importlib.import_module(name)
    except Exception:
        failed.append(name + ": " + traceback.format_exc(limit=1).strip().splitlines()[-1])
print(len(names))
print("\\n".join(failed))
"""


def test_every_module_imports_first():
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    count, *failed = out.stdout.splitlines()
    assert int(count) > 30
    assert [f for f in failed if f] == []
