"""Inputs that try to break or abuse jira-brief: odd tool arguments from the model, dangerous
--allow-tool, terminal escape sequences in tickets, a broken cache directory, odd CA bundles."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import certifi
import pytest
from click.testing import CliRunner

from jira_brief.commands.main import main
from jira_brief.jira.demo.server import build_server, load_demo_tickets
from tests.conftest import assert_one_line_error
from tests.fakes.mcp_http import ServedMCP


def _cli(run_process: Any, engine_env: Any, *args: str, **env: str) -> Any:
    """The command line in this process (Click's runner), in the test's work dir, with `env` added."""
    done = CliRunner().invoke(main, list(args), env={**engine_env.environ, **env}, catch_exceptions=False)
    return SimpleNamespace(returncode=done.exit_code, stdout=done.stdout, stderr=done.stderr)


def test_the_model_cannot_read_an_issue_by_id_or_odd_key(engine_env: Any, fake_llm: Any, run_pipeline: Any) -> None:
    server = build_server()
    for asked in ("10001", "ISO-9", " pay-100x "):
        fake_llm.call_tool("jira_get_issue", {"issue_key": asked})
    [result] = run_pipeline(["PAY-142"], engine_env.llm_settings(fake_llm, max_steps=4), server=server)
    assert result.ok, result.error
    fetched = [args.get("issue_key") for name, args in server.calls if name == "jira_get_issue"]
    assert fetched == ["PAY-142"]
    answers = {m["content"] for r in fake_llm.requests for m in r["messages"] if m["role"] == "tool"}
    assert sum(text.startswith("Error: refused") for text in answers) == 3


OUTSIDE_CALLS = [
    ("jira_get_transitions", {"issue_key": "10571"}),  # an issue id, not a key
    ("jira_get_worklog", {"issue_key": 10571}),
    ("jira_batch_get_changelogs", {"issue_ids_or_keys": "PAY-142,10571"}),
    ("jira_get_transitions", {"issue_key": "PAY-0142"}),  # a leading zero: not how Jira writes PAY-142
    ("jira_get_issue", {"issue_key": "pay-0142 "}),
    ("jira_search", {"jql": "project = PAY"}),
    ("jira_search", {"jql": "key in (PAY-142, PAY-150)"}),
    ("jira_search", {"jql": "key = PAY-142 OR project = PAY"}),
    ("jira_search", {"jql": "key = PAY-142 ORDER BY key, project = PAY"}),
    ("jira_search", {"jql": "issue = 10571"}),
    ("jira_search", {"jql": "key = PAY-142 OR key > PAY-0"}),
]
ALLOWED_CALLS = [
    ("jira_search", {"jql": 'key in (PAY-142, "PAY-100")'}),
    ("jira_search", {"jql": "issuekey = pay-142 or key = WEB-88", "limit": 5}),
    ("jira_get_transitions", {"issue_key": "PAY-142"}),
    ("jira_batch_get_changelogs", {"issue_ids_or_keys": "PAY-142, PAY-100"}),
]
GUARDED_TOOLS = ("jira_search", "jira_get_transitions", "jira_get_worklog", "jira_batch_get_changelogs")


def _model_calls(engine_env: Any, fake_llm: Any, run_pipeline: Any, tool: str, arguments: dict[str, Any]) -> Any:
    """Brief PAY-142 with a model that calls `tool` once: (the calls the server got, the answer the model got)."""
    server = build_server()
    fake_llm.call_tool(tool, arguments)
    settings = engine_env.llm_settings(fake_llm, max_steps=2, allow_tools=GUARDED_TOOLS)
    [result] = run_pipeline(["PAY-142"], settings, server=server)
    assert result.ok, result.error
    answers = [m["content"] for r in fake_llm.requests for m in r["messages"] if m["role"] == "tool"]
    return [name for name, _ in server.calls], answers[-1]


@pytest.mark.parametrize(("tool", "arguments"), OUTSIDE_CALLS, ids=[f"{t}{json.dumps(a)}" for t, a in OUTSIDE_CALLS])
def test_allowed_tools_cannot_name_an_issue_outside_the_run(
    engine_env: Any, fake_llm: Any, run_pipeline: Any, tool: str, arguments: dict[str, Any]
) -> None:
    calls, answer = _model_calls(engine_env, fake_llm, run_pipeline, tool, arguments)
    assert calls == ["jira_get_issue"]  # only our own read of PAY-142
    assert answer.startswith("Error: refused")


@pytest.mark.parametrize(("tool", "arguments"), ALLOWED_CALLS, ids=[f"{t}{json.dumps(a)}" for t, a in ALLOWED_CALLS])
def test_allowed_tools_still_read_the_runs_tickets(
    engine_env: Any, fake_llm: Any, run_pipeline: Any, tool: str, arguments: dict[str, Any]
) -> None:
    calls, answer = _model_calls(engine_env, fake_llm, run_pipeline, tool, arguments)
    assert calls == ["jira_get_issue", tool]
    assert not answer.startswith("Error")


def test_allow_tool_never_offers_a_tool_the_server_says_writes(run_process: Any, engine_env: Any) -> None:
    with ServedMCP(build_server()) as served:
        done = _cli(
            run_process,
            engine_env,
            "summarize",
            "PAY-142",
            "--llm",
            "none",
            "--mcp-url",
            served.url,
            "--allow-tool",
            "jira_add_comment",
        )
    assert done.returncode == 1
    assert "jira_add_comment" in done.stderr and "declares that it writes" in done.stderr
    assert "Traceback" not in done.stderr


def test_allow_tools_cannot_come_from_a_committed_config_file(run_process: Any, engine_env: Any) -> None:
    (engine_env.cwd / ".jira-brief.toml").write_text('allow-tools = ["jira_search"]\n', encoding="utf-8")
    done = _cli(run_process, engine_env, "config")
    assert done.returncode == 2
    assert_one_line_error(done.stderr, "allow-tools", "JIRA_BRIEF_ALLOW_TOOLS")


def test_terminal_escape_sequences_in_a_ticket_never_reach_the_terminal(run_process: Any, engine_env: Any) -> None:
    tickets = load_demo_tickets()
    tickets["PAY-142"]["summary"] = "Split \x1b]0;pwned\x07payments\x1b[2J"
    tickets["PAY-142"]["description"] = "Copy this: \x1b]52;c;ZWNobyBwd25lZA==\x07 and \x9b31m red"
    with ServedMCP(build_server(tickets)) as served:
        for fmt in ("text", "markdown"):
            done = _cli(
                run_process,
                engine_env,
                "summarize",
                "PAY-142",
                "--llm",
                "none",
                "--no-cache",
                "--mcp-url",
                served.url,
                "--format",
                fmt,
            )
            assert done.returncode == 0, done.stderr
            assert "Copy this:" in done.stdout
            assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", done.stdout + done.stderr)


def test_an_unusable_cache_directory_costs_speed_not_the_run(run_process: Any, engine_env: Any) -> None:
    blocker = engine_env.cwd / "a-file"
    blocker.write_text("not a directory", encoding="utf-8")
    done = _cli(
        run_process, engine_env, "demo", "PAY-142", "--format", "json", JIRA_BRIEF_CACHE_DIR=str(blocker / "cache")
    )
    assert done.returncode == 0, done.stderr
    [result] = json.loads(done.stdout)
    assert result["brief"] and result["error"] is None


def test_json_with_no_key_is_an_empty_list(run_process: Any, engine_env: Any) -> None:
    message = engine_env.cwd / "COMMIT_EDITMSG"
    message.write_text("no ticket here\n", encoding="utf-8")
    done = _cli(
        run_process, engine_env, "summarize", "--message-file", str(message), "--format", "json", "--llm", "none"
    )
    assert done.returncode == 0
    assert json.loads(done.stdout) == []  # an argument with no key is a usage error (tests/commands)


def test_a_ca_bundle_adds_to_the_system_store(engine_env: Any) -> None:
    from jira_brief.config.network import ssl_context

    pem = Path(certifi.where()).read_text(encoding="ascii")
    first = pem[pem.index("-----BEGIN CERTIFICATE-----") : pem.index("-----END CERTIFICATE-----") + 25]
    bundle = engine_env.cwd / "company-ca.pem"
    bundle.write_text(first + "\n", encoding="ascii")
    system = ssl_context(engine_env.settings()).cert_store_stats()["x509_ca"]
    with_bundle = ssl_context(engine_env.settings(ca_bundle=str(bundle))).cert_store_stats()["x509_ca"]
    assert with_bundle >= system >= 1


def test_a_config_file_path_is_relative_to_the_file(run_process: Any, engine_env: Any) -> None:
    (engine_env.cwd / "brief.md").write_text("Write the brief.\n\n## WHAT\n## WHY\n", encoding="utf-8")
    (engine_env.cwd / ".jira-brief.toml").write_text('template = "brief.md"\n', encoding="utf-8")
    below = engine_env.cwd / "services" / "api"
    below.mkdir(parents=True)
    done = run_process("config", env=engine_env.process_env(), cwd=below)
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if line.startswith("template"))
    assert str(engine_env.cwd / "brief.md") in line
