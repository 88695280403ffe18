"""The command line's one error boundary (commands/main.py): what an unexpected error leaves behind."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from platformdirs import user_log_dir

from jira_brief.commands.main import main

pytestmark = pytest.mark.usefixtures("isolated_env")


def test_the_traceback_log_is_readable_by_its_owner_only(invoke, plain_dir: Path) -> None:
    """A traceback holds local paths and values (masked, but still the user's): the log file is 0600 in a
    0700 folder, also when an older version left them readable by all."""
    folder = Path(user_log_dir("jira-brief", appauthor=False))
    folder.mkdir(parents=True)
    folder.chmod(0o755)
    (folder / "last-error.log").write_text("an older traceback\n", encoding="utf-8")
    (folder / "last-error.log").chmod(0o644)

    @main.command("explode")
    def explode() -> None:
        raise RuntimeError("a bug")

    try:
        done = invoke("explode")
    finally:
        del main.commands["explode"]
    log = Path(done.stderr.split("the traceback is in ")[1].split(" (--debug")[0])
    assert log.parent == folder and "RuntimeError" in log.read_text(encoding="utf-8")
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
