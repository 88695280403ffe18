"""End to end: the real mcp-atlassian (own venv, own process) against FakeJira.

Skips, with the reason, when mcp-atlassian cannot be installed. Set
``JB_TEST_REFRESH_ATLASSIAN_SAMPLES=1`` to rewrite the two saved samples
(``atlassian_tools.json``, ``atlassian_issue_sample.json``) after a re-pin.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import DEFAULT_INHERITED_ENV_VARS, get_default_environment, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult, TextContent, Tool

from tests.integration.atlassian_env import (
    ServerLaunch,
    atlassian_python,
    http_auth_headers,
    http_launch,
    last_install_error,
    server_env,
    stdio_launch,
)
from tests.integration.fake_jira import ACCEPTANCE_CRITERIA_FIELD, WRITE_METHODS, FakeJira

HERE = Path(__file__).parent
TOOLS_FILE = HERE / "atlassian_tools.json"
SAMPLE_FILE = HERE / "atlassian_issue_sample.json"
REFRESH = os.environ.get("JB_TEST_REFRESH_ATLASSIAN_SAMPLES") == "1"
URL_PLACEHOLDER = "{JIRA_URL}"
SAMPLE_KEY = "PAY-142"
GET_ISSUE_ARGS: dict[str, Any] = {
    "issue_key": SAMPLE_KEY,
    "fields": "*all",
    "update_history": False,
    "comment_limit": 5,
}
# Set in the parent; none may reach the server.
PARENT_SECRETS = {
    "OPENAI_API_KEY": "sk-parent-secret",
    "GITHUB_TOKEN": "ghp_parent",
    "CONFLUENCE_URL": "http://127.0.0.1:9",
    "CONFLUENCE_PERSONAL_TOKEN": "parent-confluence-pat",
}


def seed(jira: FakeJira) -> None:
    """The sample tickets: a story with an epic, a blocker and a sub-task."""
    jira.add_issue(
        "PAY-100", summary="Card payment resilience", issue_type="Epic", status="In Progress", priority="High"
    )
    jira.add_issue(
        SAMPLE_KEY,
        summary="Retry failed card payments before showing an error",
        description=(
            "h2. Context\n\nAbout 3% of card payments fail with a *transient* "
            "gateway timeout ({{GW-504}}).\n\nh2. Proposal\n\n"
            "* retry up to 3 times with exponential backoff\n"
            "* keep the same idempotency key for every attempt\n\n"
            "See [runbook|https://wiki.example.com/payments/retries]."
        ),
        status="In Progress",
        priority="High",
        assignee="Ana Lopez",
        reporter="Morgan Reyes",
        labels=["payments", "resilience"],
        components=["checkout-api"],
        fix_versions=["2026.12"],
        story_points=5,
        acceptance_criteria=(
            "# A payment that times out is retried at most 3 times\n"
            "# Every retry reuses the original idempotency key\n"
            "# The user sees an error only after the last retry fails"
        ),
        comments=[
            "Gateway team confirmed 504s are safe to retry.",
            ("Ana Lopez", "Backoff: 200ms, 400ms, 800ms. See {{RetryPolicy}}."),
        ],
        links=[("Blocks", "outward", "PAY-150"), ("Relates", "inward", "OPS-7")],
        subtasks=["PAY-143"],
        epic_link="PAY-100",
    )
    jira.add_issue("PAY-143", summary="Add retry metrics", issue_type="Sub-task", parent=SAMPLE_KEY)
    jira.add_issue("PAY-150", summary="Show retry banner in checkout", status="To Do")


@dataclass
class StdioRun:
    """Everything one stdio session against the server observed."""

    startup_s: float
    tools: list[Tool]
    issue: CallToolResult
    missing: CallToolResult
    requests: list[tuple[str, str, str]]
    issue_requests: list[tuple[str, str, str]]
    child_env: dict[str, str] | None
    url: str
    stderr: str = ""
    passed_env: dict[str, str] = field(default_factory=dict)


def stdio_params(launch: ServerLaunch) -> StdioServerParameters:
    """Our mcp 2.x client's spawn parameters for ``launch``."""
    return StdioServerParameters(command=launch.command, args=launch.args, env=launch.env, cwd=launch.cwd)


def child_environ(command: str) -> dict[str, str] | None:
    """The start-up environment of our child running ``command`` (Linux /proc)."""
    proc = Path("/proc")
    if not (proc / "self" / "environ").exists():
        return None
    for entry in proc.iterdir():
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes()
            if int(stat[1]) == os.getpid() and command.encode() in cmdline:
                raw = (entry / "environ").read_bytes()
                pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
                return {k.decode(): v.decode() for k, v in pairs}
        except (OSError, ValueError, IndexError):
            continue
    return None


def text_of(result: CallToolResult) -> str:
    """The concatenated text content of a tool result."""
    return "".join(c.text for c in result.content if isinstance(c, TextContent))


async def run_stdio(py: Path, jira: FakeJira, errlog: Any) -> StdioRun:
    """Start mcp-atlassian over stdio, list tools, fetch one good and one bad key."""
    launch = stdio_launch(py, server_env(jira.url, personal_token=jira.token))
    started = time.monotonic()
    async with Client(stdio_client(stdio_params(launch), errlog=errlog)) as client:
        startup = time.monotonic() - started
        env = child_environ(launch.command)
        tools = (await client.list_tools()).tools
        before = len(jira.requests)
        issue = await client.call_tool("jira_get_issue", GET_ISSUE_ARGS)
        issue_requests = list(jira.requests[before:])
        missing = await client.call_tool("jira_get_issue", GET_ISSUE_ARGS | {"issue_key": "PAY-999"})
    return StdioRun(
        startup, tools, issue, missing, list(jira.requests), issue_requests, env, jira.url, passed_env=launch.env
    )


@pytest.fixture(scope="module")
def atlassian_py() -> Path:
    """The mcp-atlassian venv's Python, or skip saying why it is missing."""
    py = atlassian_python()
    if py is None:
        pytest.skip(f"mcp-atlassian is not available: {last_install_error()}")
    return py


@pytest.fixture(scope="module")
def stdio_run(atlassian_py: Path) -> Iterator[StdioRun]:
    """One stdio session, shared by the assertions below (start-up costs ~2 s)."""
    with (
        pytest.MonkeyPatch.context() as mp,
        FakeJira() as jira,
        tempfile.TemporaryFile("w+", encoding="utf-8") as errlog,
    ):
        for key, value in PARENT_SECRETS.items():
            mp.setenv(key, value)
        seed(jira)
        run = anyio.run(run_stdio, atlassian_py, jira, errlog)
        errlog.seek(0)
        run.stderr = errlog.read()
        yield run


def tool_summary(tool: Tool) -> dict[str, Any]:
    """Name, title, annotations and fastmcp tags of one listed tool."""
    annotations = tool.annotations.model_dump(by_alias=True, exclude_none=True) if tool.annotations else {}
    tags = ((tool.meta or {}).get("fastmcp") or {}).get("tags") or []
    return {"name": tool.name, "title": tool.title, "annotations": annotations, "tags": sorted(tags)}


def normalized_issue(run: StdioRun) -> Any:
    """The returned issue JSON with the fake's random URL replaced."""
    return json.loads(text_of(run.issue).replace(run.url, URL_PLACEHOLDER))


def check_sample(path: Path, actual: Any) -> None:
    """Compare ``actual`` with the saved sample (or rewrite it when refreshing)."""
    if REFRESH:
        path.write_text(json.dumps(actual, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    expected = json.loads(path.read_text(encoding="utf-8"))
    assert actual == expected, (
        f"{path.name} no longer matches mcp-atlassian's output; if the pin changed, "
        "rerun with JB_TEST_REFRESH_ATLASSIAN_SAMPLES=1 and review the diff"
    )


def test_lists_only_jira_tools_including_write_tools(stdio_run: StdioRun) -> None:
    names = [t.name for t in stdio_run.tools]
    assert "jira_get_issue" in names and "jira_search" in names
    assert "jira_update_issue" in names, "READ_ONLY_MODE=false must list write tools"
    assert not [n for n in names if not n.startswith("jira_")], "Confluence leaked in"
    get_issue = next(t for t in stdio_run.tools if t.name == "jira_get_issue")
    assert get_issue.annotations is not None and get_issue.annotations.read_only_hint
    check_sample(
        TOOLS_FILE,
        {"mcp_atlassian": "0.23.1", "tool_count": len(names), "tools": [tool_summary(t) for t in stdio_run.tools]},
    )


def test_write_tools_are_never_marked_read_only(stdio_run: StdioRun) -> None:
    for tool in stdio_run.tools:
        tags = set(((tool.meta or {}).get("fastmcp") or {}).get("tags") or [])
        read_only = bool(tool.annotations and tool.annotations.read_only_hint)
        assert read_only == ("read" in tags and "write" not in tags), tool.name


def test_get_issue_returns_json_with_summary_and_acceptance_criteria(stdio_run: StdioRun) -> None:
    assert not stdio_run.issue.is_error, text_of(stdio_run.issue)
    issue = json.loads(text_of(stdio_run.issue))
    assert issue["key"] == SAMPLE_KEY
    assert issue["summary"] == "Retry failed card payments before showing an error"
    criteria = issue[ACCEPTANCE_CRITERIA_FIELD]["value"]
    assert "idempotency key" in criteria
    assert issue["comments"][0]["body"].startswith("Gateway team")
    check_sample(SAMPLE_FILE, normalized_issue(stdio_run))


def test_get_issue_reads_exactly_these_endpoints(stdio_run: StdioRun) -> None:
    paths = [f"{m} {p}" for m, p, _ in stdio_run.issue_requests]
    assert paths == [
        "GET /rest/api/2/issue/PAY-142?fields=%2Aall&updateHistory=false",
        "GET /rest/api/2/issue/PAY-142/comment",
        "GET /rest/api/2/field",
        # the epic behind the Epic Link, all fields, and it ignores update_history
        "GET /rest/api/2/issue/PAY-100?updateHistory=true",
    ]


def test_unknown_issue_is_a_tool_error(stdio_run: StdioRun) -> None:
    assert stdio_run.missing.is_error
    assert text_of(stdio_run.missing) == (
        "Error calling tool 'get_issue': Issue PAY-999 not found. Verify the issue key and project access."
    )


def test_nothing_was_written_to_jira(stdio_run: StdioRun) -> None:
    assert stdio_run.requests, "mcp-atlassian never reached FakeJira"
    assert not [r for r in stdio_run.requests if r[0] in WRITE_METHODS]


def test_server_gets_only_the_default_and_passed_environment(stdio_run: StdioRun) -> None:
    if stdio_run.child_env is None:
        pytest.skip("no /proc to read the child's environment from")
    allowed = set(DEFAULT_INHERITED_ENV_VARS) | set(stdio_run.passed_env)
    assert set(stdio_run.child_env) <= allowed, set(stdio_run.child_env) - allowed
    assert not set(PARENT_SECRETS) & set(stdio_run.child_env)
    assert set(get_default_environment()) <= {"HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER"}


def test_server_starts_within_a_few_seconds(stdio_run: StdioRun) -> None:
    assert stdio_run.startup_s < 30, stdio_run.stderr[-2000:]


def free_port() -> int:
    """An unused loopback port (tiny race, fine for tests)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Block until ``port`` accepts connections or ``proc`` dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"mcp-atlassian exited with {proc.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"mcp-atlassian did not listen on {port} in {timeout}s")


async def call_over_http(url: str, token: str) -> tuple[list[Tool], CallToolResult]:
    """List tools and fetch the sample issue over streamable HTTP.

    Over HTTP mcp-atlassian refuses requests without a user credential
    (401) unless ALLOW_GLOBAL_CRED_FALLBACK=true; we send the PAT.
    """
    http = httpx2.AsyncClient(headers=http_auth_headers(token), timeout=httpx2.Timeout(30, read=300))
    async with http, Client(streamable_http_client(url, http_client=http)) as client:
        tools = (await client.list_tools()).tools
        return tools, await client.call_tool("jira_get_issue", GET_ISSUE_ARGS)


def test_streamable_http_transport(atlassian_py: Path) -> None:
    port = free_port()
    with FakeJira() as jira, tempfile.TemporaryFile() as errlog:
        seed(jira)
        launch = http_launch(atlassian_py, server_env(jira.url, personal_token=jira.token), port)
        proc = subprocess.Popen(
            [launch.command, *launch.args],
            cwd=launch.cwd,
            env=get_default_environment() | launch.env,
            stdin=subprocess.DEVNULL,
            stdout=errlog,
            stderr=errlog,
        )
        try:
            wait_for_port(port, proc)
            tools, issue = anyio.run(call_over_http, f"http://127.0.0.1:{port}/mcp", jira.token)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        assert "jira_get_issue" in [t.name for t in tools]
        assert not issue.is_error, text_of(issue)
        assert json.loads(text_of(issue))["key"] == SAMPLE_KEY
        assert not jira.writes()
        assert jira.requests[0][:2] == ("GET", "/rest/api/2/myself")  # token check


def fetch(url: str, token: str | None, method: str = "GET") -> tuple[int, Any]:
    """One raw request to FakeJira: ``(status, json)``."""
    request = urllib.request.Request(url, method=method, data=b"{}" if method != "GET" else None)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_fake_jira_requires_the_pat_and_records_everything() -> None:
    with FakeJira(token="right") as jira:
        seed(jira)
        issue_url = f"{jira.url}/rest/api/2/issue/{SAMPLE_KEY}"
        assert fetch(issue_url, None)[0] == 401
        assert fetch(issue_url, "wrong")[0] == 401
        status, body = fetch(issue_url + "?fields=summary", "right")
        assert status == 200 and list(body["fields"]) == ["summary"]
        assert fetch(f"{jira.url}/rest/api/2/issue/NOPE-1", "right") == (
            404,
            {"errorMessages": ["Issue Does Not Exist"], "errors": {}},
        )
        assert fetch(issue_url, "right", method="PUT")[0] == 405
        assert [m for m, _, _ in jira.requests] == ["GET", "GET", "GET", "GET", "PUT"]
        assert jira.writes() == [("PUT", f"/rest/api/2/issue/{SAMPLE_KEY}", "{}")]


def test_fake_jira_search_subset() -> None:
    with FakeJira() as jira:
        seed(jira)
        status, body = fetch(
            f"{jira.url}/rest/api/2/search?jql=issuetype%20%3D%20Epic%20ORDER%20BY%20created%20DESC&fields=summary",
            jira.token,
        )
        assert status == 200 and [i["key"] for i in body["issues"]] == ["PAY-100"]
        status, _ = fetch(f"{jira.url}/rest/api/2/search?jql=text~foo", jira.token)
        assert status == 400


if __name__ == "__main__":  # pragma: no cover - manual look at the samples
    sys.exit(pytest.main([__file__, "-q"]))
