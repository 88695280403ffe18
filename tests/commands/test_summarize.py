"""`jira-brief summarize` and `demo` before any work: a configuration or an argument that cannot work is
one line and exit code 2, said before any connection is tried."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import assert_one_line_error

pytestmark = pytest.mark.usefixtures("engine_env")


@pytest.mark.parametrize("url", ["not-a-url", "ftp://jira.example.com/mcp", "http://", "https://host:port/mcp"])
def test_an_mcp_url_that_is_no_http_url_is_a_usage_error(invoke: Any, url: str) -> None:
    done = invoke("summarize", "PAY-1", "--llm", "none", "--mcp-url", url)
    assert done.exit_code == 2
    assert_one_line_error(done.stderr, "mcp-url", "flag --mcp-url")
    assert "Request URL" not in done.stderr  # not the HTTP library's words


def test_a_bad_url_from_the_environment_names_the_variable(invoke: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "localhost:11434/v1")
    done = invoke("summarize", "PAY-1", "--mcp-url", "http://127.0.0.1:9/mcp")
    assert done.exit_code == 2
    assert_one_line_error(done.stderr, "llm-base-url", "environment OPENAI_BASE_URL", "http://")


@pytest.mark.parametrize(
    ("command", "named"),
    [
        ("no-such-binary --transport stdio", "`no-such-binary` (stdio) is not on PATH"),
        ("env JIRA_URL=https://jira.example.com no-such-binary", "`no-such-binary` (stdio) is not on PATH"),
        ("/no/such/jira-server", "`/no/such/jira-server` is not an executable file"),
        ("./bin/jira-server", "a relative path"),
        ("mcp-atlassian 'unclosed", "not a command line"),
    ],
)
def test_an_mcp_command_that_cannot_start_is_a_usage_error(invoke: Any, command: str, named: str) -> None:
    done = invoke("summarize", "PAY-1", "--llm", "none", "--mcp-command", command)
    assert done.exit_code == 2
    assert_one_line_error(done.stderr, "mcp-command", named)
    assert "Errno" not in done.stderr


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["summarize", "not-a-key"], "'not-a-key' names no Jira key"),
        (["summarize", "PAY-1", "typo"], "'typo' names no Jira key"),
        (["summarize", "WEB-1", "--projects", "PAY"], "'WEB-1' names no Jira key of PAY (--projects)"),
        (["demo", "nope"], "'nope' names no Jira key"),
    ],
)
def test_an_argument_that_names_no_key_is_a_usage_error(invoke: Any, args: list[str], named: str) -> None:
    extra = [] if args[0] == "demo" else ["--mcp-url", "http://127.0.0.1:9/mcp"]
    done = invoke(*args, "--llm", "none", *extra)
    assert done.exit_code == 2
    assert_one_line_error(done.stderr, named, "PAY-142")


def test_free_text_with_a_key_in_it_is_fine(invoke: Any) -> None:
    done = invoke("demo", "see PAY-142 please", "--llm", "none", "--format", "json")
    assert done.exit_code == 0, done.stderr
