"""The MCP side: which tools the model may use, how the get-issue tool is found and called.

Every test talks to a real MCP server through the real `mcp.Client`: the demo Jira (mcp-atlassian's
63 tools and annotations) or a small server built here with the tool shape under test."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations

from jira_brief.errors import JiraBriefError
from jira_brief.jira.demo.server import build_server, load_demo_tickets
from jira_brief.jira.session import JiraReader, open_reader

pytestmark = pytest.mark.usefixtures("engine_env")

READ_ONLY = ToolAnnotations(read_only_hint=True)


def with_reader(settings: Any, server: Any, body: Callable[[JiraReader], Any]) -> Any:
    """Open a reader on `server` with `settings`, run `body(reader)` (awaited if async), close it."""

    async def main() -> Any:
        async with open_reader(settings, server) as reader:
            result = body(reader)
            return await result if inspect.isawaitable(result) else result

    return anyio.run(main)


def unwrap(error: BaseException) -> BaseException:
    """The one error inside (nested) single-error exception groups."""
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    return error


def open_error(settings: Any, server: Any) -> str:
    """The message of our error when opening a reader on `server` fails (exception groups looked into)."""
    try:
        with_reader(settings, server, lambda reader: None)
    except BaseException as error:
        inner = unwrap(error)
        assert isinstance(inner, JiraBriefError), repr(error)
        return str(inner)
    raise AssertionError("opening the reader did not fail")


def small_server(calls: list[tuple[str, dict[str, Any]]]) -> MCPServer:
    """An MCP server with one get-issue tool and a few others, each recording its calls."""
    server = MCPServer("small", log_level="WARNING")
    issue = json.dumps({"key": "PAY-1", "summary": "Small ticket", "status": {"name": "Open"}})

    @server.tool(annotations=READ_ONLY)
    def jira_get_issue(issue_key: str) -> str:
        calls.append(("jira_get_issue", {"issue_key": issue_key}))
        return issue

    # The name says write; the annotation claims read-only. The name must win.
    @server.tool(annotations=READ_ONLY)
    def jira_update_issue(issue_key: str, fields: str) -> str:
        calls.append(("jira_update_issue", {"issue_key": issue_key, "fields": fields}))
        return "{}"

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def jira_search(jql: str) -> str:
        calls.append(("jira_search", {"jql": jql}))
        return "[]"

    @server.tool()  # no annotations at all
    def jira_list_boards() -> str:
        calls.append(("jira_list_boards", {}))
        return "[]"

    return server


# --- tool policy ----------------------------------------------------------------------------


def test_demo_server_offers_only_the_get_issue_tool_and_refuses_every_write(engine_env: Any) -> None:
    tools, offered, refused = with_reader(
        engine_env.settings(), build_server(), lambda reader: (reader.tools, reader.offered, reader.refused)
    )
    assert len(tools) == 63
    assert list(offered) == ["jira_get_issue"]
    writes = [tool for tool in tools if not (tool.annotations and tool.annotations.read_only_hint is True)]
    assert len(writes) == 25
    for tool in writes:
        assert tool.name not in offered
        assert "readOnlyHint" in refused[tool.name], (tool.name, refused[tool.name])
    # destructiveHint: false only says a write is not destructive; it is still a write.
    add_comment = next(tool for tool in tools if tool.name == "jira_add_comment")
    assert add_comment.annotations.destructive_hint is False and add_comment.annotations.read_only_hint is None
    assert "jira_add_comment" in refused
    # Read tools that a brief does not need are refused too, with the way to add them.
    assert "--allow-tool" in refused["jira_search"]


def test_a_write_verb_in_the_name_beats_a_read_only_annotation(engine_env: Any) -> None:
    calls: list[tuple[str, dict[str, Any]]] = []

    offered, refused = with_reader(
        engine_env.settings(), small_server(calls), lambda reader: (reader.offered, reader.refused)
    )
    assert "jira_update_issue" not in offered
    assert "update" in refused["jira_update_issue"]
    assert "readOnlyHint" in refused["jira_list_boards"]
    assert list(offered) == ["jira_get_issue"]


def test_allow_tool_offers_one_more_read_tool(engine_env: Any) -> None:
    offered, refused = with_reader(
        engine_env.settings(allow_tools="jira_search"), build_server(), lambda reader: (reader.offered, reader.refused)
    )
    assert list(offered) == ["jira_get_issue", "jira_search"]
    assert "jira_search" not in refused and "jira_get_project_issues" in refused


def test_allow_tool_naming_no_tool_is_a_clear_error(engine_env: Any) -> None:
    message = open_error(engine_env.settings(allow_tools="jira_serch"), build_server())
    assert "--allow-tool" in message and "jira_serch" in message and "no such tool" in message


@pytest.mark.parametrize("flags", [{"allow_tools": "jira_serch"}, {"issue_tool": "get_ticket"}], ids=["allow", "issue"])
def test_a_server_misconfiguration_raises_our_error_type(engine_env: Any, flags: dict[str, str]) -> None:
    with pytest.raises(JiraBriefError):
        with_reader(engine_env.settings(**flags), build_server(), lambda reader: None)


def test_model_calls_to_refused_tools_never_reach_the_server(engine_env: Any) -> None:
    calls: list[tuple[str, dict[str, Any]]] = []

    def ask(reader: JiraReader) -> Any:
        async def run() -> Any:
            return [
                await reader.call_for_model("jira_update_issue", {"issue_key": "PAY-1", "fields": "{}"}, ["PAY-1"]),
                await reader.call_for_model("jira_list_boards", {}, ["PAY-1"]),
                await reader.call_for_model("jira_nonexistent", {}, ["PAY-1"]),
            ]

        return run()

    answers = with_reader(engine_env.settings(), small_server(calls), ask)
    assert all(answer.startswith("Error:") and "refused" in answer for answer in answers)
    assert "jira_get_issue" in answers[0]  # says what may be used instead
    assert calls == []


# --- the get-issue tool ---------------------------------------------------------------------


def test_jira_get_issue_is_found_and_called_without_touching_history(engine_env: Any) -> None:
    server = build_server()

    def fetch(reader: JiraReader) -> Any:
        async def run() -> Any:
            return reader.issue_tool, await reader.fetch("PAY-142")

        return run()

    issue_tool, ticket = with_reader(engine_env.settings(), server, fetch)
    assert (issue_tool.name, issue_tool.key_arg) == ("jira_get_issue", "issue_key")
    assert ticket.title == load_demo_tickets()["PAY-142"]["summary"]
    assert [name for name, _ in server.calls] == ["jira_get_issue"]
    sent = server.calls[0][1]
    assert sent["issue_key"] == "PAY-142"
    assert sent["fields"] == "*all"  # custom fields (acceptance criteria) come only with *all
    assert sent["update_history"] is False  # reading must not show up in the user's Jira history
    assert ticket.acceptance  # and so the acceptance criteria arrived


def remote_style_server(calls: list[dict[str, Any]], cloud_id: str) -> MCPServer:
    """Atlassian's remote MCP server shape: getJiraIssue(cloudId, issueIdOrKey), cloudId from
    getAccessibleAtlassianResources."""
    server = MCPServer("atlassian-remote", log_level="WARNING")

    @server.tool(annotations=READ_ONLY)
    def getAccessibleAtlassianResources() -> str:
        return json.dumps([{"id": cloud_id, "url": "https://acme.atlassian.net", "name": "acme"}])

    @server.tool(annotations=READ_ONLY)
    def getJiraIssue(cloudId: str, issueIdOrKey: str) -> str:
        calls.append({"cloudId": cloudId, "issueIdOrKey": issueIdOrKey})
        return json.dumps(
            {
                "key": issueIdOrKey,
                "self": f"https://api.atlassian.com/ex/jira/{cloudId}/rest/api/3/issue/1",
                "fields": {"summary": "Remote ticket", "status": {"name": "Open"}},
            }
        )

    @server.tool(annotations=ToolAnnotations(read_only_hint=False))
    def editJiraIssue(cloudId: str, issueIdOrKey: str, fields: str) -> str:
        calls.append({"edit": issueIdOrKey})
        return "{}"

    return server


def test_atlassian_remote_get_issue_tool_is_detected(engine_env: Any) -> None:
    issue_tool, offered, refused = with_reader(
        engine_env.settings(),
        remote_style_server([], "c-1"),
        lambda reader: (reader.issue_tool, reader.offered, reader.refused),
    )
    assert (issue_tool.name, issue_tool.key_arg) == ("getJiraIssue", "issueIdOrKey")
    assert list(offered) == ["getJiraIssue"] and "editJiraIssue" in refused


def test_atlassian_remote_get_issue_tool_can_read_a_ticket(engine_env: Any) -> None:
    calls: list[dict[str, Any]] = []

    ticket = with_reader(engine_env.settings(), remote_style_server(calls, "c-1"), lambda reader: reader.fetch("PAY-1"))
    assert ticket.title == "Remote ticket"
    assert calls == [{"cloudId": "c-1", "issueIdOrKey": "PAY-1"}]


def custom_named_server(calls: list[str]) -> MCPServer:
    server = MCPServer("custom", log_level="WARNING")

    @server.tool(annotations=READ_ONLY)
    def read_ticket(ticket: str) -> str:
        calls.append(ticket)
        return json.dumps({"key": ticket, "summary": f"Title of {ticket}"})

    return server


def test_an_undetectable_get_issue_tool_asks_for_issue_tool(engine_env: Any) -> None:
    message = open_error(engine_env.settings(), custom_named_server([]))
    assert "--issue-tool" in message and "--issue-arg" in message


def test_issue_tool_and_issue_arg_name_the_tool(engine_env: Any) -> None:
    calls: list[str] = []
    settings = engine_env.settings(issue_tool="read_ticket", issue_arg="ticket")
    ticket = with_reader(settings, custom_named_server(calls), lambda reader: reader.fetch("OPS-5"))
    assert ticket.title == "Title of OPS-5" and calls == ["OPS-5"]


def test_issue_tool_naming_a_missing_tool_is_a_clear_error(engine_env: Any) -> None:
    message = open_error(engine_env.settings(issue_tool="get_ticket"), build_server())
    assert "get_ticket" in message and "doctor" in message


NODE_CRASH = r"""import sys
sys.stderr.write(
    "/app/dist/index.js:12\n"
    '    throw new Error("Missing required environment variables: JIRA_URL");\n'
    "    ^\n\n"
    "Error: Missing required environment variables: JIRA_URL, JIRA_API_TOKEN\n"
    "    at Object.<anonymous> (/app/dist/index.js:12:11)\n"
    "    at Module._compile (node:internal/modules/cjs/loader:1364:14)\n\n"
    "Node.js v20.20.2\n"
)
sys.exit(1)
"""


def test_a_stdio_server_that_dies_at_start_shows_the_line_that_says_why(invoke: Any, tmp_path: Any) -> None:
    import shlex
    import sys

    script = tmp_path / "server.py"
    script.write_text(NODE_CRASH, encoding="utf-8")
    command = shlex.join([sys.executable, str(script)])
    result = invoke("summarize", "PAY-1", "--llm", "none", "--mcp-command", command, "--timeout", "20")
    assert result.exit_code == 1
    assert "it said: Error: Missing required environment variables: JIRA_URL, JIRA_API_TOKEN" in result.stderr
    assert "Node.js v20" not in result.stderr


def test_a_tool_error_keeps_its_explanation(engine_env: Any) -> None:
    server = MCPServer("explains", log_level="WARNING")

    @server.tool(annotations=READ_ONLY)
    def jira_get_issue(issue_key: str) -> str:
        from mcp.server.mcpserver.exceptions import ToolError

        raise ToolError("Jira rejected the request.\nThe field 'customfield_10050' is not on the screen; ask an admin")

    async def read(reader: JiraReader) -> str:
        try:
            await reader.fetch("PAY-1")
        except JiraBriefError as error:
            return str(error)
        raise AssertionError("the read did not fail")

    message = with_reader(engine_env.settings(), server, read)
    assert "Jira rejected the request." in message and "ask an admin" in message


def test_comments_asked_for_follow_what_the_server_keeps(engine_env: Any) -> None:
    newest = MCPServer("newest", log_level="WARNING")
    calls: list[int] = []

    @newest.tool(annotations=READ_ONLY)
    def jira_get_issue(issue_key: str, comment_limit: int = 10) -> str:
        """Read an issue; comment_limit: how many of the most recent comments to include."""
        calls.append(comment_limit)
        return json.dumps({"key": issue_key, "summary": "Small"})

    schema = {"type": "integer", "description": "The most recent comments to include", "maximum": 50}
    from jira_brief.jira.issue_tool import comments_to_ask

    assert comments_to_ask(schema, 5) == 5  # newest kept by the server: no more than needed
    oldest = {"type": "integer", "description": "The first (oldest) comments to include", "maximum": 50}
    assert comments_to_ask(oldest, 5) == 50  # oldest kept: all it allows
    # Silent about it, as mcp-atlassian is: it keeps the newest since 0.22.0 (sooperset/mcp-atlassian#1218).
    assert comments_to_ask({"type": "integer", "maximum": 50}, 5) == 5
    assert comments_to_ask({"type": "integer"}, 0) == 0
    with_reader(engine_env.settings(comment_limit=3), newest, lambda reader: reader.fetch("PAY-1"))
    assert calls == [3]  # its schema says nothing of order: asked for only what is kept
