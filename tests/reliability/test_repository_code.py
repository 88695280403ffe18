"""A cloned repository never runs its own code when jira-brief starts the user's stdio MCP server: not
through `npx` (which runs the project's `node_modules/.bin/NAME` when there is one), not through
`python -m NAME` (which imports from the working directory first), not through a PATH entry that is
relative or lies in the repository. Each planted program writes a marker file; none may appear."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import GitRepo, assert_one_line_error

PLANTED_SCRIPT = "#!/bin/sh\necho ran > {marker}\n"
PLANTED_MODULE = "from pathlib import Path\nPath({marker!r}).write_text('ran')\n"


def plant_program(folder: Path, name: str, marker: Path) -> None:
    """An executable `folder/name` that writes `marker` when run."""
    folder.mkdir(parents=True, exist_ok=True)
    program = folder / name
    program.write_text(PLANTED_SCRIPT.format(marker=shlex.quote(str(marker))), encoding="utf-8")
    program.chmod(0o755)


def brief_with(invoke: Any, command: str) -> Any:
    return invoke("summarize", "PAY-142", "--llm", "none", "--mcp-command", command, "--timeout", "20")


@pytest.mark.skipif(shutil.which("npx") is None, reason="needs npx")
def test_npx_does_not_run_the_repositorys_node_modules(
    invoke: Any, git_repo: GitRepo, isolated_env: dict[str, str], tmp_path: Path
) -> None:
    marker = tmp_path / "npx-marker"
    plant_program(git_repo.path / "node_modules" / ".bin", "jira-mcp-server", marker)
    # npm reads the user's .npmrc: offline, so the real package is never fetched from a registry
    (Path(isolated_env["HOME"]) / ".npmrc").write_text("offline=true\nregistry=http://127.0.0.1:9/\n")
    done = brief_with(invoke, "npx -y jira-mcp-server")
    assert not marker.exists(), "npx ran the repository's node_modules/.bin/jira-mcp-server"
    assert done.exit_code == 1
    assert_one_line_error(done.stderr, "(stdio)")


def test_python_m_does_not_import_the_repositorys_module(invoke: Any, git_repo: GitRepo, tmp_path: Path) -> None:
    marker = tmp_path / "module-marker"
    package = git_repo.path / "mcp_atlassian"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "__main__.py").write_text(PLANTED_MODULE.format(marker=str(marker)), encoding="utf-8")
    done = brief_with(invoke, shlex.join([sys.executable, "-m", "mcp_atlassian"]))
    assert not marker.exists(), "python -m imported the repository's mcp_atlassian/"
    assert done.exit_code == 1
    assert_one_line_error(done.stderr, "No module named mcp_atlassian")


IN_REPOSITORY = [".", "", "node_modules/.bin", "{repo}/tools"]


@pytest.mark.parametrize("entry", IN_REPOSITORY, ids=["dot", "empty", "relative", "in-repo"])
def test_a_path_entry_of_the_repository_is_never_searched(
    invoke: Any, git_repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, entry: str
) -> None:
    marker = tmp_path / "path-marker"
    entry = entry.format(repo=git_repo.path)
    plant_program(git_repo.path / entry, "jira-mcp-server", marker)  # an absolute entry replaces the base
    monkeypatch.setenv("PATH", os.pathsep.join([entry, os.environ["PATH"]]))
    done = brief_with(invoke, "jira-mcp-server")
    assert not marker.exists(), f"PATH entry {entry!r} ran the repository's jira-mcp-server"
    assert done.exit_code == 2  # a configuration error, said before anything starts
    assert_one_line_error(done.stderr, "jira-mcp-server", "PATH")
