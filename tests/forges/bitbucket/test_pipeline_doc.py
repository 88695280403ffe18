"""The bitbucket-pipelines.yml of docs/bitbucket.md: its structure, the variables it names, and the command
line it runs, expanded by a real shell."""

from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from jira_brief.config.settings import SPECS, env_names
from jira_brief.forges import credential_variables

DOC = Path(__file__).resolve().parents[3] / "docs" / "bitbucket.md"


def pipeline() -> dict[str, Any]:
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(# bitbucket-pipelines.yml\n.*?)```", text, re.S)
    assert block is not None
    data = yaml.safe_load(block[1])
    assert isinstance(data, dict)
    return data


def test_the_step_runs_on_pull_requests_and_by_hand_and_keeps_its_json() -> None:
    data = pipeline()
    step = data["pipelines"]["pull-requests"]["**"][0]["step"]
    custom = data["pipelines"]["custom"]["jira-brief"]

    assert step is data["definitions"]["steps"][0]["step"]  # one step, by anchor
    assert custom[0]["variables"] == [{"name": "PR_ID"}, {"name": "KEYS"}] and custom[1]["step"] is step
    assert step["artifacts"] == ["jira-brief.json"]
    install = next(line for line in step["script"] if "uv pip install" in line)
    assert re.search(r"/archive/[0-9a-f]{40}\.tar\.gz", install)  # pinned to a full commit
    assert not any(re.search(r"(TOKEN|KEY)=\S", line) for line in step["script"])  # secrets come from variables


def test_every_jira_brief_variable_the_doc_names_is_one_jira_brief_reads() -> None:
    named = set(re.findall(r"\bJIRA_BRIEF_[A-Z_]+\b", DOC.read_text(encoding="utf-8")))
    known = set(credential_variables()) | {variable for name in SPECS for variable in env_names(name)}

    assert named and named <= known, sorted(named - known)


@pytest.mark.parametrize(
    ("variables", "argv"),
    [
        ({}, []),
        ({"PR_ID": "7", "KEYS": "PAY-142 WEB-88"}, ["--pr", "7", "--keys", "PAY-142 WEB-88"]),
        ({"KEYS": "WEB-91"}, ["--keys", "WEB-91"]),
    ],
)
def test_the_command_line_passes_the_custom_variables_as_given(
    tmp_path: Path, variables: dict[str, str], argv: list[str]
) -> None:
    """The script line, run by sh (Pipelines' images run it with sh or bash), against a jira-brief that
    prints its arguments one a line."""
    step = pipeline()["definitions"]["steps"][0]["step"]
    line = next(line for line in step["script"] if "jira-brief bitbucket" in line)
    stub = tmp_path / "opt" / "jira-brief" / "bin" / "jira-brief"
    stub.parent.mkdir(parents=True)
    stub.write_text('#!/bin/sh\nfor arg in "$@"; do printf "%s\\n" "$arg"; done\n', encoding="utf-8")
    stub.chmod(stub.stat().st_mode | stat.S_IEXEC)
    env = {"PATH": os.environ["PATH"], **variables}

    done = subprocess.run(
        ["sh", "-c", line.replace("/opt/jira-brief", str(tmp_path / "opt" / "jira-brief"))],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )

    assert done.stdout.splitlines() == ["bitbucket", "--mcp-command", "mcp-atlassian", *argv]
