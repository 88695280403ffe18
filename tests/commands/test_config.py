"""`jira-brief config`: which config files were read, and where each kind was looked for when none was."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_into_closed_pipe

pytestmark = pytest.mark.usefixtures("engine_env")


def comment_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith("# ")]


def test_with_no_file_it_says_where_it_looked(invoke: Any, engine_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    below = engine_env.cwd / "services" / "api"
    below.mkdir(parents=True)
    monkeypatch.chdir(below)
    user, repository = comment_lines(invoke("config").stdout)
    assert user == f"# user file: none (looked for {Path.home() / '.config' / 'jira-brief' / 'config.toml'})"
    assert repository.startswith("# repository file: none (looked for .jira-brief.toml, or pyproject.toml")
    assert f"in {below.resolve()} and each folder up to {engine_env.cwd.resolve()}, the repository root" in repository


def test_outside_a_repository_it_looked_up_to_the_root(
    invoke: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path / "no-repo"
    outside.mkdir()
    monkeypatch.chdir(outside)
    [_, repository] = comment_lines(invoke("config").stdout)
    assert "each folder up to /, the filesystem root: no git repository here" in repository


def test_files_found_are_named_with_their_trust(invoke: Any, engine_env: Any) -> None:
    (engine_env.cwd / ".jira-brief.toml").write_text('language = "en"\n', encoding="utf-8")
    user = Path.home() / ".config" / "jira-brief" / "config.toml"
    user.parent.mkdir(parents=True)
    user.write_text('model = "m"\n', encoding="utf-8")
    lines = comment_lines(invoke("config").stdout)
    assert lines == [
        f"# {user}: user file, trusted",
        f"# {engine_env.cwd.resolve() / '.jira-brief.toml'}: repository file, NOT trusted: run `jira-brief trust` "
        "to allow its endpoints",
    ]


def test_config_into_a_closed_pipe_ends_quietly(engine_env: Any) -> None:
    """`jira-brief config | head -1`: no BrokenPipeError, exit 0."""
    code, stderr = run_into_closed_pipe(["config"], engine_env.process_env(), engine_env.cwd)
    assert code == 0, stderr
    assert "BrokenPipe" not in stderr and "error" not in stderr.lower()
