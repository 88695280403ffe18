"""The demo Jira, driven through a real in-process MCP client the way jira-brief drives mcp-atlassian."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from jira_brief.jira.demo.server import NOT_FOUND, build_server, catalog, load_demo_tickets

ALL = {"fields": "*all", "expand": "names", "update_history": False}


@pytest.fixture
def anyio_backend() -> str:
    """Run the anyio-marked tests on asyncio only."""
    return "asyncio"


async def call(server: Any, tool: str, arguments: dict[str, Any]) -> Any:
    """One tool call through a fresh in-process client session."""
    async with Client(server) as client:
        return await client.call_tool(tool, arguments)


async def get_issue(server: Any, **arguments: Any) -> dict[str, Any]:
    """jira_get_issue's answer, parsed."""
    result = await call(server, "jira_get_issue", arguments)
    assert not result.is_error, result.content[0].text
    return json.loads(result.content[0].text)


def test_demo_tickets_cover_the_brief_cases() -> None:
    tickets = load_demo_tickets()
    assert {"PAY-100", "PAY-142", "PAY-143", "PAY-150", "WEB-88", "WEB-91"} <= set(tickets)
    assert all(ticket["updated"] for ticket in tickets.values())
    assert "description" not in tickets["WEB-91"] and "comments" not in tickets["WEB-91"]
    names = {field["name"] for field in tickets["PAY-150"].values() if isinstance(field, dict) and "name" in field}
    assert "Critères d'acceptation" in names


@pytest.mark.anyio
async def test_the_catalog_has_mcp_atlassians_63_jira_tools() -> None:
    async with Client(build_server()) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert len(tools) == 63 and all(name.startswith("jira_") for name in tools)
    read_only = {name for name, tool in tools.items() if tool.annotations.read_only_hint is True}
    assert len(read_only) == 38 and {"jira_get_issue", "jira_search"} <= read_only
    writes = set(tools) - read_only
    assert len(writes) == 25 and {"jira_update_issue", "jira_add_comment", "jira_delete_issue"} <= writes
    assert tools["jira_delete_issue"].annotations.destructive_hint is True
    assert tools["jira_get_issue"].annotations.title == "Get Issue"


def test_the_catalog_is_the_recorded_mcp_atlassian_tool_list() -> None:
    """tools.json against the tool list recorded from the real mcp-atlassian (its version in the file):
    the same names, titles, and read or write tags."""
    recorded = json.loads((Path(__file__).resolve().parents[1] / "integration" / "atlassian_tools.json").read_text())
    real = {tool["name"]: tool for tool in recorded["tools"]}
    demo = {f"jira_{tool['name']}": tool for tool in catalog()["tools"]}
    assert set(demo) == set(real) and len(demo) == recorded["tool_count"]
    for name, tool in demo.items():
        assert tool["title"] == real[name]["title"], name
        reads = "read" in real[name]["tags"]
        assert (tool["hint"] == "read") == reads, name
        annotations = real[name]["annotations"]
        if tool["hint"] == "destructive":
            assert annotations.get("destructiveHint") is True, name
        if tool["hint"] == "not-read-only":
            assert annotations.get("readOnlyHint") is False, name


@pytest.mark.anyio
async def test_get_issue_returns_the_ticket_as_indented_json() -> None:
    result = await call(build_server(), "jira_get_issue", {"issue_key": "PAY-142", **ALL})
    assert not result.is_error and len(result.content) == 1
    text = result.content[0].text
    issue = json.loads(text)
    assert (issue["key"], issue["summary"]) == ("PAY-142", "Split payments between two cards")
    assert text == json.dumps(issue, indent=2, ensure_ascii=False)
    assert result.structured_content["result"] == text
    assert issue["customfield_10042"]["name"] == "Acceptance Criteria"


@pytest.mark.anyio
async def test_fields_and_expand_cut_the_answer_like_the_real_model() -> None:
    server = build_server()
    default = await get_issue(server, issue_key="PAY-142")
    # The default fields name "issuetype", but the model only emits issue_type for "issue_type".
    assert "issue_type" not in default and "comments" not in default and "url" not in default
    assert default["assignee"]["display_name"] == "Lukas Brandt"
    without_names = await get_issue(server, issue_key="PAY-142", fields="*all")
    assert without_names["customfield_10042"].keys() == {"value"}
    unassigned = await get_issue(server, issue_key="WEB-91", **ALL)
    assert unassigned["assignee"] == {"display_name": "Unassigned"}


@pytest.mark.anyio
async def test_comment_limit_keeps_the_newest_comments() -> None:
    server = build_server()
    stored = load_demo_tickets()["PAY-142"]["comments"]
    two = await get_issue(server, issue_key="PAY-142", comment_limit=2, **ALL)
    assert two["comments"] == stored[-2:]
    none = await get_issue(server, issue_key="PAY-142", comment_limit=0, **ALL)
    assert "comments" not in none


@pytest.mark.anyio
async def test_an_unknown_key_is_an_error_result_with_the_real_text() -> None:
    result = await call(build_server(), "jira_get_issue", {"issue_key": "PAY-999"})
    assert result.is_error
    assert result.content[0].text == NOT_FOUND
    assert "does not exist" in result.content[0].text


@pytest.mark.anyio
async def test_calls_are_recorded_and_write_tools_change_nothing() -> None:
    server = build_server()
    await get_issue(server, issue_key="WEB-88", update_history=False)
    written = await call(server, "jira_add_comment", {"issue_key": "WEB-88", "body": "hello"})
    assert json.loads(written.content[0].text)["success"] is True
    after = await get_issue(server, issue_key="WEB-88", **ALL)
    assert [c["body"] for c in after["comments"]] == [c["body"] for c in load_demo_tickets()["WEB-88"]["comments"]]
    assert [name for name, _ in server.calls] == ["jira_get_issue", "jira_add_comment", "jira_get_issue"]
    assert server.calls[0][1]["update_history"] is False and server.calls[0][1]["comment_limit"] == 10


@pytest.mark.anyio
async def test_search_answers_from_the_demo_tickets() -> None:
    result = await call(build_server(), "jira_search", {"jql": "project = WEB ORDER BY updated DESC"})
    found = json.loads(result.content[0].text)
    assert found["total"] == 2 and [issue["key"] for issue in found["issues"]] == ["WEB-88", "WEB-91"]


@pytest.mark.anyio
async def test_the_server_is_quiet_and_leaves_logging_alone(capfd: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    before = (root.handlers[:], root.level)
    server = build_server(full_catalog=False)
    await call(server, "jira_get_issue", {"issue_key": "PAY-999"})
    await call(server, "jira_get_issue", {"issue_key": "not a key"})
    assert (root.handlers, root.level) == before
    assert capfd.readouterr() == ("", "")
    async with Client(server) as client:
        assert [tool.name for tool in (await client.list_tools()).tools] == ["jira_get_issue"]
