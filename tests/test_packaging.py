"""The project as a deployment installs it: a wheel built from the source tree, installed (not editable)
into a fresh environment, speaks English — the compiled catalogues travel inside the package. And the
command line says what is wrong in one line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "bot", "storage", "locales")


def _run(*args, env=None, **kw) -> subprocess.CompletedProcess:
    env = {k: v for k, v in (env or os.environ).items() if k != "PYTHONPATH"}  # nothing but the install
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=300, env=env, **kw)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv holding the wheel of this tree; the dependencies come from the test venv's
    site-packages (a path line, so its editable install of the project is not seen), so no network."""
    pytest.importorskip("wheel", reason="building a wheel with this setuptools needs the wheel package (test extra)")
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in SOURCES:  # a copy: the build writes build/ and *.egg-info, and others edit the tree
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(path, src / name)
    built = _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                 "-w", tmp / "dist", src)
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp / "dist").glob("jiebang_bot-*.whl")
    venv = tmp / "venv"
    made = _run(sys.executable, "-m", "venv", "--without-pip", venv)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    put = _run(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-index", wheel)
    assert put.returncode == 0, put.stderr
    site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "_test_dependencies.pth").write_text("\n".join(sorted(deps)) + "\n")
    return python


def test_an_installed_wheel_carries_the_catalogues_and_answers_in_english(installed, tmp_path):
    where = _run(installed, "-c", "import bot, bot.i18n; print(bot.__file__); print(bot.i18n.catalogue_dir())",
                 cwd=tmp_path)
    assert where.returncode == 0, where.stderr
    module, catalogues = where.stdout.split()
    venv = installed.parent.parent
    assert Path(module).is_relative_to(venv), "the test ran the checkout, not the installed package"
    assert Path(catalogues) == Path(module).parent / "locales"  # inside the package, not a checkout's
    chat = _run(installed, "-m", "bot", "--data-dir", tmp_path / "data", input="English\nhelp\n", cwd=tmp_path,
                env={**os.environ, "JIEBANG_PDF": "off"})
    assert chat.returncode == 0, chat.stderr
    assert "Switched to English." in chat.stdout
    assert "back — the previous question" in chat.stdout
    version = _run(installed, "-m", "bot", "--version", cwd=tmp_path)
    assert version.stdout.strip() == "python -m bot 0.1.0"


def test_an_installed_wheel_carries_the_campaign_packs_and_their_schema(installed, tmp_path):
    script = ("from bot.campaigns.pack import PACKS_DIR, SCHEMA_FILE, shipped; print(PACKS_DIR); "
              "print(SCHEMA_FILE.is_file()); print(' '.join(c['id'] for c in shipped()))")
    out = _run(installed, "-c", script, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    folder, schema, ids = out.stdout.splitlines()
    assert Path(folder).is_relative_to(installed.parent.parent), "read from the checkout, not the wheel"
    assert schema == "True" and ids == "2024-national 2024-shanghai"


def test_a_setting_of_the_wrong_type_is_one_line_not_a_traceback(tmp_path):
    out = _run(sys.executable, "-m", "bot", "serve", cwd=tmp_path, env={**os.environ, "JIEBANG_PORT": "abc"})
    assert out.returncode == 2
    assert out.stderr.strip() == "python -m bot: JIEBANG_PORT='abc': a whole number is needed (default 8080)"
    out = _run(sys.executable, "-m", "bot", "--data-dir", tmp_path, input="", cwd=tmp_path,
               env={**os.environ, "JIEBANG_TIMEZONE": "Mars/Olympus"})
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip() == "python -m bot: JIEBANG_TIMEZONE='Mars/Olympus': not a time zone (e.g. Asia/Shanghai)"


def test_admin_without_its_modules_says_what_is_missing(tmp_path):
    """`python -m bot admin` under a Python without the project's dependencies said "invalid choice: 'admin'"."""
    script = ("import sys; sys.modules['sqlalchemy'] = None; from bot.__main__ import main; "
              "sys.exit(main(['admin', 'campaigns']))")
    out = _run(sys.executable, "-c", script, cwd=tmp_path)
    assert out.returncode == 1
    assert "invalid choice" not in out.stderr
    assert out.stderr.startswith("python -m bot admin: needs sqlalchemy, which")
    assert "pip install" in out.stderr
