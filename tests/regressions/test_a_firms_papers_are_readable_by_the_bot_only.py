"""Every firm's answers were readable by every local account (0644 files in a 0755 folder): the data
folder is 0700, the database, the secret and the documents 0600 (issue 18)."""

from __future__ import annotations

import stat

from tests.regressions.journey import confirmed_match


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_the_data_folder_database_secret_and_documents_are_private(sqlite_app):
    settings = sqlite_app.settings
    settings.effective_secret()
    await confirmed_match(sqlite_app)
    data = settings.data_dir
    assert _mode(data) == 0o700
    assert _mode(data / "jiebang.sqlite3") == 0o600 and _mode(data / "secret.key") == 0o600
    docs = list(settings.documents_dir.rglob("*.docx"))
    assert docs and all(_mode(d) == 0o600 for d in docs)
    assert all(_mode(d.parent) == 0o700 for d in docs) and _mode(settings.documents_dir) == 0o700
