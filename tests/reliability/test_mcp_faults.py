"""The Jira MCP server misbehaves: down, refusing credentials, slow, missing tickets, non-JSON
answers, a stdio server that dies mid-run. Each gives clear per-ticket lines; none hangs the run
or prints a traceback; tickets that can still be read are still briefed."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations

from jira_brief.jira.demo.server import build_server, load_demo_tickets
from tests.fakes.mcp_http import ServedMCP, free_port

pytestmark = pytest.mark.usefixtures("engine_env")

KEYS = ["PAY-142", "WEB-88"]


def no_traceback(screen: Any) -> None:
    assert "Traceback" not in screen.stdout + "".join(screen.err)


def test_server_down(engine_env: Any, fake_llm: Any, run_pipeline: Any, terminal: Any) -> None:
    url = f"http://127.0.0.1:{free_port()}/mcp"  # nothing listens there: connection refused
    screen = terminal(KEYS)
    start = time.monotonic()
    results = run_pipeline(KEYS, engine_env.llm_settings(fake_llm, mcp_url=url, timeout=10), server=None, output=screen)
    assert time.monotonic() - start < 8
    assert all(not r.ok and r.brief is None for r in results)
    assert all("cannot reach" in r.error and url in r.error and "--mcp-url" in r.error for r in results)
    assert len(screen.err) == 1  # the same failure for every ticket is said once
    assert fake_llm.calls == 0
    no_traceback(screen)


def test_server_refusing_our_credentials(engine_env: Any, fake_llm: Any, run_pipeline: Any, terminal: Any) -> None:
    server = build_server()
    screen = terminal(KEYS)
    with ServedMCP(server, require_token="jira-pat-7e1d") as served:
        results = run_pipeline(KEYS, engine_env.llm_settings(fake_llm, mcp_url=served.url), server=None, output=screen)
        assert all(not r.ok for r in results)
        assert all("credentials" in r.error and "401" in r.error for r in results)
        assert server.calls == [] and fake_llm.calls == 0
        no_traceback(screen)
        # The same run with the token in --mcp-header works: the failure was only the credentials.
        settings = engine_env.llm_settings(
            fake_llm, mcp_url=served.url, mcp_headers=("Authorization: Bearer jira-pat-7e1d",)
        )
        fixed = run_pipeline(KEYS, settings, server=None)
    assert all(r.ok for r in fixed) and [a["issue_key"] for _, a in server.calls] == KEYS


def test_a_slow_server_still_works_within_the_timeout(engine_env: Any, fake_llm: Any, run_pipeline: Any) -> None:
    with ServedMCP(build_server(), delay=0.3) as served:
        start = time.monotonic()
        results = run_pipeline(KEYS, engine_env.llm_settings(fake_llm, mcp_url=served.url, timeout=15), server=None)
        seconds = time.monotonic() - start
    assert seconds >= 0.3 * 3  # initialize, list tools, get issue: each request was slowed
    assert all(r.ok and r.brief.startswith(f"Brief for {r.key}") for r in results)


def test_a_missing_ticket_is_one_not_found_line(
    engine_env: Any, fake_llm: Any, run_pipeline: Any, terminal: Any
) -> None:
    keys = ["PAY-142", "PAY-404", "WEB-88"]
    screen = terminal(keys)
    with ServedMCP(build_server()) as served:
        results = run_pipeline(keys, engine_env.llm_settings(fake_llm, mcp_url=served.url), server=None, output=screen)
    assert [r.ok for r in results] == [True, False, True]
    assert len(screen.err) == 1
    line = screen.err[0]
    assert "PAY-404" in line and "not found" in line and "\n" not in line.strip()
    assert "Brief for PAY-142" in screen.stdout and "Brief for WEB-88" in screen.stdout
    no_traceback(screen)


def plain_text_server() -> MCPServer:
    """A get-issue tool that answers prose instead of JSON, as some home-made servers do."""
    server = MCPServer("prose", log_level="WARNING")
    tickets = load_demo_tickets()

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def jira_get_issue(issue_key: str) -> str:
        ticket = tickets[issue_key]
        return f"Issue {issue_key}: {ticket['summary']}\nStatus: {ticket['status']['name']}"

    return server


def test_a_result_that_is_not_json_is_kept_as_the_description(
    engine_env: Any, fake_llm: Any, run_pipeline: Any, terminal: Any
) -> None:
    screen = terminal(KEYS)
    results = run_pipeline(KEYS, engine_env.llm_settings(fake_llm), server=plain_text_server(), output=screen)
    tickets = load_demo_tickets()
    for result in results:
        assert result.ok and result.brief
        assert result.ticket.title == tickets[result.key]["summary"]
        assert result.ticket.status == tickets[result.key]["status"]["name"]
        assert f"Issue {result.key}:" in result.ticket.description
    assert fake_llm.calls == len(KEYS)
    no_traceback(screen)


CRASHING_SERVER = """\
import json, os
from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations
from jira_brief.jira.demo.server import load_demo_tickets

tickets = load_demo_tickets()
server = MCPServer("crashing", log_level="WARNING")
calls = []

@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def jira_get_issue(issue_key: str) -> str:
    calls.append(issue_key)
    if len(calls) == 2:
        os._exit(3)  # dies on its second call, mid-run
    return json.dumps(tickets[issue_key])

server.run()
"""


def test_a_stdio_server_that_crashes_mid_run(
    engine_env: Any, fake_llm: Any, run_pipeline: Any, terminal: Any, tmp_path: Path
) -> None:
    script = tmp_path / "crashing_server.py"
    script.write_text(CRASHING_SERVER, encoding="utf-8")
    keys = ["PAY-142", "WEB-88", "WEB-91"]
    screen = terminal(keys)
    settings = engine_env.llm_settings(
        fake_llm, mcp_command=shlex.join([sys.executable, str(script)]), concurrency=1, timeout=20
    )
    start = time.monotonic()
    results = run_pipeline(keys, settings, server=None, output=screen, limit=25)
    assert time.monotonic() - start < 10  # the dead server is noticed, not waited for
    assert [r.ok for r in results] == [True, False, False]
    assert results[0].brief.startswith("Brief for PAY-142")
    [line] = screen.err  # WEB-88 and WEB-91 fail the same way: one line
    assert line.startswith("jira-brief: WEB-88: ") and "(stdio)" in line
    assert results[1].error.removeprefix("WEB-88: ") == results[2].error.removeprefix("WEB-91: ")
    no_traceback(screen)


def test_an_unreachable_proxy_is_named_not_the_server(engine_env: Any, run_pipeline: Any) -> None:
    proxy = f"http://jira-brief:pw-5a9c@127.0.0.1:{free_port()}"
    with ServedMCP(build_server()) as served:  # the server is up; only the proxy is down
        [result] = run_pipeline(
            ["PAY-142"], engine_env.settings(llm="none", mcp_url=served.url, proxy=proxy), server=None
        )
    assert not result.ok and "pw-5a9c" not in result.error
    assert "proxy" in result.error


# jira-brief in a process that writes its own peak RSS (VmHWM) at exit: ru_maxrss would count the
# parent it was started from.
PEAK_REPORTING = """
import atexit, pathlib, runpy, sys
status, report = pathlib.Path("/proc/self/status"), pathlib.Path(sys.argv.pop(1))
atexit.register(lambda: report.write_text(next(
    line for line in status.read_text().splitlines() if line.startswith("VmHWM")).split()[1]))
runpy.run_module("jira_brief", run_name="__main__", alter_sys=True)
"""


def test_an_endless_json_answer_is_cut_at_the_message_limit(engine_env: Any, tmp_path: Path) -> None:
    """A server answering a tool call with a JSON body that never ends: the red team's grew the process
    to 9.4 GB before the timeout. Read up to the MCP message limit (32 MiB), then one clear line."""
    peak = tmp_path / "peak"
    with ServedMCP(build_server(), flood=256 << 20) as served:
        start = time.monotonic()
        arguments = ["summarize", "PAY-142", "--mcp-url", served.url, "--llm", "none", "--format", "json"]
        done = subprocess.run(
            [sys.executable, "-c", PEAK_REPORTING, str(peak), *arguments, "--timeout", "60"],
            cwd=engine_env.cwd,
            env=engine_env.process_env(),
            capture_output=True,
            text=True,
        )
        seconds = time.monotonic() - start
    [result] = json.loads(done.stdout)
    assert done.returncode == 1 and seconds < 30, (done.returncode, seconds)
    assert int(peak.read_text()) < 200 << 10, f"{int(peak.read_text()) >> 10} MiB"  # KiB; 110 MiB when idle
    assert "sent more than 32 MiB in its answer" in result["error"] and served.url in result["error"]
    assert "Traceback" not in done.stderr


class _Arrivals:
    """An output that notes when each result arrived, seconds after it was made."""

    def __init__(self) -> None:
        self.start, self.seconds = time.monotonic(), list[float]()

    def text(self, key: str, chunk: str) -> None:
        pass

    def done(self, result: Any) -> None:
        self.seconds.append(time.monotonic() - self.start)


@pytest.mark.slow  # seconds of real waiting or process starts: the slow tier
def test_a_stdio_server_that_never_answers_costs_the_ticket_its_timeout(engine_env: Any, run_pipeline: Any) -> None:
    """The red team's --timeout 5 took 18.5 s: the SDK's handshake tried twice, each with the whole timeout."""
    mute = shlex.join([sys.executable, "-c", "import time; time.sleep(60)"])
    arrivals = _Arrivals()
    results = run_pipeline(
        KEYS, engine_env.settings(llm="none", mcp_command=mute, timeout=3), server=None, output=arrivals
    )
    assert max(arrivals.seconds) < 4.5, arrivals.seconds  # each ticket by its --timeout 3, connecting included
    assert time.monotonic() - arrivals.start < 8  # and the server stopped (the SDK gives it 2 s to exit)
    assert all("did not answer within --timeout 3 s" in result.error for result in results)
