"""What a stdio MCP server is started with: a PATH with nothing of the repository, its program looked
up in that PATH, and a private working folder of its own, outside the repository and removed after it."""

from __future__ import annotations

import json
import os
import shlex
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

from jira_brief.config.load import load_settings
from jira_brief.errors import ConfigError, JiraBriefError
from jira_brief.jira.transports import outside_path, site_variables, stdio_program
from tests.conftest import GitRepo

SEEING_SERVER = """\
import json, os, stat, sys
from pathlib import Path

here = Path.cwd()
Path(sys.argv[1]).write_text(json.dumps({
    "cwd": str(here), "mode": stat.S_IMODE(here.stat().st_mode), "path": os.environ["PATH"],
}))
from jira_brief.jira.demo.server import build_server

build_server().run()
"""


def test_relative_and_repository_entries_leave_path(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "bin").mkdir(parents=True)
    (tmp_path / "link").symlink_to(repo / "bin")  # a way into the repository that does not say so
    entries = ["", ".", "node_modules/.bin", str(repo / "bin"), str(tmp_path / "link"), "/usr/bin", str(tmp_path)]
    kept = outside_path(os.pathsep.join(entries), repo.resolve())
    assert kept.split(os.pathsep) == ["/usr/bin", str(tmp_path)]


def test_without_a_repository_only_relative_entries_leave(tmp_path: Path) -> None:
    assert outside_path(os.pathsep.join([".", str(tmp_path), "bin", "/usr/bin"]), None) == os.pathsep.join(
        [str(tmp_path), "/usr/bin"]
    )


def test_the_program_is_looked_up_in_the_cleaned_path(tmp_path: Path) -> None:
    program = tmp_path / "jira-mcp"
    program.write_text("#!/bin/sh\n", encoding="utf-8")
    program.chmod(0o755)
    assert stdio_program("jira-mcp", str(tmp_path)) == str(program)
    with pytest.raises(JiraBriefError, match="`jira-mcp` \\(stdio\\) is not on PATH"):
        stdio_program("jira-mcp", "/usr/bin")
    with pytest.raises(ConfigError, match="relative path"):
        stdio_program("./node_modules/.bin/jira-mcp", str(tmp_path))
    assert stdio_program(str(program), "") == str(program)  # an absolute path is the user's own choice


def test_a_stdio_server_starts_in_a_private_folder_outside_the_repository(
    invoke: Any, git_repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script, seen = tmp_path / "server.py", tmp_path / "seen.json"
    script.write_text(SEEING_SERVER, encoding="utf-8")
    monkeypatch.setenv("PATH", os.pathsep.join([".", str(git_repo.path / "bin"), os.environ["PATH"]]))
    command = shlex.join([sys.executable, str(script), str(seen)])
    done = invoke("summarize", "PAY-142", "--llm", "none", "--mcp-command", command)
    assert done.exit_code == 0, done.stderr
    started = json.loads(seen.read_text(encoding="utf-8"))
    folder = Path(started["cwd"])
    assert not folder.is_relative_to(git_repo.path.resolve())
    assert started["mode"] == stat.S_IRWXU  # private: no one else can plant a project file in it
    assert not folder.exists()  # removed once the server stopped
    assert started["path"].split(os.pathsep) == os.environ["PATH"].split(os.pathsep)[2:]


def test_the_site_variables_are_what_the_server_gets_but_secrets(
    plain_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {"JIRA_URL": "https://a.example.net", "JIRA_API_TOKEN": "t0k3n-abc", "HTTPS_PROXY": "x"}.items():
        monkeypatch.setenv(name, value)
    env = {
        "JIRA_BRIEF_MCP_ENV": "ATLASSIAN_OAUTH_CLOUD_ID=c1\nJIRA_PERSONAL_TOKEN=pat-123",
        "JIRA_BRIEF_MCP_COMMAND": "x",
    }
    found = site_variables(load_settings(environ=env))
    assert "JIRA_URL=https://a.example.net" in found and "ATLASSIAN_OAUTH_CLOUD_ID=c1" in found
    assert not [item for item in found if "t0k3n" in item or "pat-123" in item or item.startswith(("HTTPS", "PATH"))]
