"""Whole runs of the installed `jira-brief` command, as a user types them.

Jira is the demo MCP server served on loopback (streamable HTTP or SSE) or started as a stdio
command; the model is FakeOpenAI on loopback. Every server is stopped by its test."""

from __future__ import annotations

import json
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from jira_brief.commands.main import main
from jira_brief.jira.demo.server import build_server, load_demo_tickets
from tests.conftest import assert_one_line_error, run_into_closed_pipe
from tests.fakes.mcp_http import ServedMCP, free_port
from tests.fakes.openai_server import FakeOpenAI

pytestmark = pytest.mark.usefixtures("engine_env")

JSON_FIELDS = {
    "key",
    "url",
    "title",
    "status",
    "brief",
    "error",
    "cached",
    "unchanged",
    "offline",
    "source",
    "coverage",
}


def llm_env(fake: FakeOpenAI) -> dict[str, str]:
    return {"OPENAI_BASE_URL": fake.base_url, "OPENAI_API_KEY": fake.api_key or "", "JIRA_BRIEF_MODEL": fake.models[0]}


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


def jira_brief(run_process: Any, engine_env: Any, *args: str, **env: str) -> Any:
    """Run the command line in the test's work dir with a clean environment plus `env`: in this process
    (Click's runner), as most tests need only what it prints and decides."""
    done = CliRunner().invoke(main, list(args), env={**engine_env.environ, **env}, catch_exceptions=False)
    return Done(done.exit_code, done.stdout, done.stderr)


def jira_brief_process(run_process: Any, engine_env: Any, *args: str, **env: str) -> Any:
    """The installed console script as a process of its own, for the tests about the whole program."""
    return run_process(*args, cwd=engine_env.cwd, env=engine_env.process_env(**env), script=True)


def test_summarize_over_streamable_http_streams_the_brief(run_process: Any, engine_env: Any) -> None:
    server = build_server()
    with FakeOpenAI() as fake, ServedMCP(server) as served:
        done = jira_brief_process(
            run_process, engine_env, "summarize", "PAY-142", "--mcp-url", served.url, **llm_env(fake)
        )
        requests = list(fake.requests)
    assert done.returncode == 0, done.stderr
    assert "PAY-142" in done.stdout and "Brief for PAY-142." in done.stdout
    assert "Traceback" not in done.stderr and done.stderr.strip() == ""
    assert len(requests) == 1 and requests[0]["stream"] is True
    assert [name for name, _ in server.calls] == ["jira_get_issue"]


def test_summarize_over_sse_as_json(run_process: Any, engine_env: Any) -> None:
    server = build_server()
    raw = load_demo_tickets()["WEB-88"]
    with FakeOpenAI() as fake, ServedMCP(server, transport="sse") as served:
        assert served.url.endswith("/sse")  # --mcp-transport auto picks SSE from the URL
        done = jira_brief(
            run_process, engine_env, "summarize", "WEB-88", "--mcp-url", served.url, "--format", "json", **llm_env(fake)
        )
    assert done.returncode == 0, done.stderr
    [item] = json.loads(done.stdout)
    assert set(item) == JSON_FIELDS
    assert item["key"] == "WEB-88" and item["title"] == raw["summary"] and item["status"] == raw["status"]["name"]
    assert item["url"] == raw["url"].split("/rest/")[0] + "/browse/WEB-88"
    assert item["brief"].startswith("Brief for WEB-88.")
    assert item["error"] is None and item["cached"] is False and item["source"] == "arg"
    assert [arguments["issue_key"] for _, arguments in server.calls] == ["WEB-88"]


STDIO_SERVER = """\
import json, os, sys
from pathlib import Path

Path(sys.argv[1]).write_text(json.dumps(dict(os.environ)), encoding="utf-8")
from jira_brief.jira.demo.server import build_server

build_server().run()
"""


def stdio_command(tmp_path: Path) -> tuple[str, Path]:
    script = tmp_path / "stdio_server.py"
    script.write_text(STDIO_SERVER, encoding="utf-8")
    seen = tmp_path / "server-environ.json"
    return " ".join(shlex.quote(part) for part in (sys.executable, str(script), str(seen))), seen


def test_summarize_over_stdio_keeps_our_secrets_from_the_server(
    run_process: Any, engine_env: Any, tmp_path: Path
) -> None:
    command, seen = stdio_command(tmp_path)
    llm_key = "sk-e2e-stdio-secret"
    secrets = {
        "OPENAI_API_KEY": "sk-e2e-overridden-key",  # set, but JIRA_BRIEF_LLM_API_KEY wins
        "JIRA_BRIEF_LLM_API_KEY": llm_key,
        "GITHUB_TOKEN": "ghp_e2eStdioToken1234",
        "JIRA_BRIEF_MCP_HEADERS": "Authorization: Bearer e2e-header-token",
    }
    with FakeOpenAI(api_key=llm_key) as fake:
        done = jira_brief_process(
            run_process,
            engine_env,
            "summarize",
            "PAY-142",
            "WEB-91",
            "--mcp-command",
            command,
            "--mcp-env",
            "JIRA_URL=https://jira.example.com",
            "--format",
            "json",
            **{**llm_env(fake), **secrets},
        )
        assert fake.calls == 2 and fake.requests[0]["_headers"]["authorization"] == f"Bearer {llm_key}"
    assert done.returncode == 0, done.stderr
    assert [item["error"] for item in json.loads(done.stdout)] == [None, None]
    environ = json.loads(seen.read_text(encoding="utf-8"))
    assert not {"OPENAI_API_KEY", "GITHUB_TOKEN", "JIRA_BRIEF_LLM_API_KEY", "JIRA_BRIEF_MCP_HEADERS"} & set(environ)
    leaked = [name for name, value in environ.items() for secret in secrets.values() if secret in value]
    assert leaked == []
    assert environ["JIRA_URL"] == "https://jira.example.com"  # what --mcp-env gives does arrive
    assert environ.get("READ_ONLY_MODE") == "true"


def test_demo_with_no_configuration_gives_offline_briefs(run_process: Any, engine_env: Any) -> None:
    done = jira_brief(run_process, engine_env, "demo")
    assert done.returncode == 0, done.stderr
    assert "offline" in done.stderr and "Traceback" not in done.stderr
    for key in ("PAY-142", "WEB-88", "WEB-91"):
        assert f"\n{key}\n" in "\n" + done.stdout
    assert done.stdout.count("_Résumé hors ligne") == 3
    assert load_demo_tickets()["PAY-142"]["summary"] in done.stdout


def test_doctor_demo_counts_the_tools_kept_from_the_model(run_process: Any, engine_env: Any) -> None:
    done = jira_brief(run_process, engine_env, "doctor", "--demo")
    assert done.returncode == 0, done.stdout + done.stderr
    offered = next(line for line in done.stdout.splitlines() if "offered to the model" in line)
    assert offered.endswith("offered to the model: jira_get_issue")  # and nothing else
    kept = next(line for line in done.stdout.splitlines() if "kept from the model" in line)
    assert "(62, as they should be)" in kept and "25 may write (not annotated readOnlyHint: true)" in kept
    assert "jira_add_comment" not in done.stdout  # the list is for --verbose: nothing there is a problem
    assert len(done.stdout.splitlines()) < 15 and "0 problem(s)" in done.stdout


def test_doctor_verbose_lists_each_tool_kept_from_the_model(run_process: Any, engine_env: Any) -> None:
    done = jira_brief(run_process, engine_env, "doctor", "--demo", "--verbose")
    assert done.returncode == 0, done.stdout + done.stderr
    for write_tool in ("jira_add_comment", "jira_update_issue", "jira_delete_issue", "jira_transition_issue"):
        assert any(line.strip().startswith(f"{write_tool}:") for line in done.stdout.splitlines()), write_tool
    assert "  jira_search: read-only but not needed for a brief" in done.stdout


def test_doctor_with_an_unreachable_mcp_server_says_how_to_fix_it(run_process: Any, engine_env: Any) -> None:
    url = f"http://127.0.0.1:{free_port()}/mcp"
    done = jira_brief(run_process, engine_env, "doctor", "--mcp-url", url)
    assert done.returncode == 1
    [failure] = [line for line in done.stdout.splitlines() if line.startswith("FAIL MCP")]
    assert url in failure and "--mcp-url" in failure and "cannot reach" in failure
    assert "Traceback" not in done.stderr


def test_doctor_reports_an_unknown_allow_tool(run_process: Any, engine_env: Any) -> None:
    done = jira_brief(run_process, engine_env, "doctor", "--demo", "--allow-tool", "jira_serch")
    assert "Traceback" not in done.stderr
    assert done.returncode == 1
    assert any(line.startswith("FAIL MCP") and "jira_serch" in line for line in done.stdout.splitlines())


@pytest.mark.parametrize(
    "args, env, needle",
    [
        (["summarize", "PAY-142", "--concurrency", "0"], {}, "concurrency"),
        (["summarize", "PAY-142"], {"JIRA_BRIEF_TIMEOUT": "soon"}, "JIRA_BRIEF_TIMEOUT"),
        (["summarize", "PAY-142"], {"JIRA_BRIEF_MODLE": "gpt"}, "JIRA_BRIEF_MODLE"),
    ],
    ids=["flag", "env-value", "env-name"],
)
def test_configuration_errors_exit_2_with_one_line(
    run_process: Any, engine_env: Any, args: list[str], env: dict[str, str], needle: str
) -> None:
    done = jira_brief(run_process, engine_env, *args, **env)
    assert done.returncode == 2
    assert done.stdout == ""
    assert_one_line_error(done.stderr, needle, "error")


def test_no_mcp_server_configured_is_a_configuration_error(run_process: Any, engine_env: Any) -> None:
    done = jira_brief(run_process, engine_env, "summarize", "PAY-142", "--llm", "none")
    assert done.returncode == 2
    assert_one_line_error(done.stderr, "--mcp-url", "error")


# --- no traps: what a user reads -----------------------------------------------------------------


def test_an_unreachable_server_is_one_line_for_all_tickets(invoke: Any, engine_env: Any) -> None:
    url = f"http://127.0.0.1:{free_port()}/mcp"
    done = invoke("summarize", "PAY-142", "WEB-88", "WEB-91", "--mcp-url", url, "--llm", "none")
    assert done.exit_code == 1
    assert_one_line_error(done.stderr, "cannot reach", url)


def test_piped_output_starts_with_the_first_ticket_not_a_blank_line(invoke: Any, engine_env: Any) -> None:
    done = invoke("demo", "PAY-142", "WEB-88", "--llm", "none")
    assert done.exit_code == 0, done.stderr
    assert done.stdout.startswith("PAY-142\n")
    assert "\n\nWEB-88\n" in done.stdout  # one blank line between tickets


def test_a_stdio_server_is_named_by_its_program(invoke: Any, engine_env: Any) -> None:
    command = f"env JIRA_URL=http://127.0.0.1:9 {shlex.quote(sys.executable)} -c 'raise SystemExit(3)'"
    done = invoke("summarize", "PAY-142", "--mcp-command", command, "--llm", "none")
    assert done.exit_code == 1
    line = assert_one_line_error(done.stderr, "(stdio)")
    assert f"`{Path(sys.executable).name}` (stdio)" in line and "`env`" not in line


def test_a_reader_that_goes_away_ends_the_run_quietly(engine_env: Any) -> None:
    """`jira-brief demo | head -2`: no BrokenPipeError, no traceback, the run's own exit code."""
    args = ["demo", "PAY-142", "WEB-88", "WEB-91", "--llm", "none"]
    code, stderr = run_into_closed_pipe(args, engine_env.process_env(), engine_env.cwd)
    assert code == 0, stderr
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr and "error" not in stderr.lower()


def test_github_without_a_repository_says_so(invoke: Any, engine_env: Any, tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"inputs": {"pr-number": "7"}}), encoding="utf-8")
    env = {"GITHUB_EVENT_NAME": "workflow_dispatch", "GITHUB_EVENT_PATH": str(event), "GITHUB_TOKEN": "t0ken"}
    done = invoke("github", "--mcp-url", "http://127.0.0.1:9/mcp", env=env)
    assert done.exit_code == 2
    assert_one_line_error(done.stderr, "GITHUB_REPOSITORY is not set")
