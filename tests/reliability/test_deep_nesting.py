"""Deeply nested answers are read without recursion, or cut with a note; never a RecursionError: ADF
nested 170 and 600 levels, YAML 600 levels, an issue wrapped 600 times, JSON past Python's own parser,
tool arguments nested deep, a tool schema nested 100 deep (a clear error at once), and `doctor`."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from click.testing import CliRunner
from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations

from jira_brief.brief.pipeline import brief_all
from jira_brief.commands.main import main
from jira_brief.errors import TicketError
from jira_brief.jira.demo.server import _quiet_server, build_server
from jira_brief.jira.issue_tool import strings
from jira_brief.jira.normalize import issue_in_answer
from jira_brief.jira.richtext import CUT_NOTE
from jira_brief.keys.scan import FoundKey
from tests.fakes.mcp_http import ServedMCP

pytestmark = pytest.mark.usefixtures("engine_env")
DEEPEST = "the deepest words"


def nested_adf(levels: int, kind: str) -> str:
    """An ADF document `levels` deep as JSON text, written out (json.dumps recurses too)."""
    opening, closing = (
        ('{"type": "bulletList", "content": [{"type": "listItem", "content": [', "]}]}")
        if kind == "bulletList"
        else ('{"type": "blockquote", "content": [', "]}")
    )
    paragraph = json.dumps({"type": "paragraph", "content": [{"type": "text", "text": DEEPEST}]})
    return '{"type": "doc", "version": 1, "content": [' + opening * levels + paragraph + closing * levels + "]}"


def issue_answer(key: str, description: str) -> str:
    head = json.dumps({"key": key, "summary": "Split payments", "status": {"name": "Open"}})
    return head[:-1] + ', "description": ' + description + "}"


def serving(answers: dict[str, str]) -> MCPServer:
    """A get-issue tool that answers these texts, as a hostile or broken server might."""
    server = MCPServer("deep", log_level="WARNING")

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def jira_get_issue(issue_key: str) -> str:
        return answers[issue_key]

    return server


ANSWERS = {
    "PAY-170": issue_answer("PAY-170", nested_adf(170, "bulletList")),  # 680 JSON levels: Python parses it
    "PAY-600": issue_answer("PAY-600", nested_adf(600, "blockquote")),  # 1,200: past Python's parser
}


def test_adf_nested_170_list_levels_is_read_with_its_text_and_a_note(engine_env: Any, run_pipeline: Any) -> None:
    [result] = run_pipeline(["PAY-170"], engine_env.settings(llm="none"), server=serving(ANSWERS))
    assert result.ok, result.error
    assert DEEPEST in result.ticket.description and CUT_NOTE in result.ticket.description
    assert result.ticket.description.count("- ") == 20  # the 40 levels above the cut stay a list


def test_json_past_pythons_parser_is_one_clear_line(engine_env: Any, run_pipeline: Any) -> None:
    [result] = run_pipeline(["PAY-600"], engine_env.settings(llm="none"), server=serving(ANSWERS))
    assert result.error == "PAY-600: the answer is JSON nested deeper than it can be read; check the server"


def test_doctor_reads_the_deepest_tickets_without_crashing(engine_env: Any) -> None:
    with ServedMCP(serving(ANSWERS)) as served:
        for key in ANSWERS:
            done = CliRunner().invoke(
                main, ["doctor", key, "--mcp-url", served.url, "--llm", "none"], env=engine_env.environ
            )
            assert "Traceback" not in done.output and "RecursionError" not in done.output, done.output
            assert f"{key}: Split payments" in done.output or "nested deeper than it can be read" in done.output


def test_yaml_600_levels_deep_is_kept_as_text() -> None:
    text = "key: PAY-142\nsummary: Deep\nnested:\n" + "".join("  " * (n + 1) + f"k{n}:\n" for n in range(600))
    issue = issue_in_answer(text, None, "PAY-142")
    assert "k599" in issue["description"]


def test_an_issue_wrapped_600_times_or_json_past_the_parser_is_one_clear_line() -> None:
    wrapped = '{"data": [' * 300 + '{"key": "PAY-142", "fields": {"summary": "x"}}' + "]}" * 300
    with pytest.raises(TicketError, match="the answer holds no issue"):
        issue_in_answer(wrapped, None, "PAY-142")
    with pytest.raises(TicketError, match="nested deeper than it can be read"):
        issue_in_answer("[" * 100_000 + "]" * 100_000, None, "PAY-142")


def test_tool_arguments_nested_past_the_parser_are_refused_as_invalid(
    engine_env: Any, fake_llm: Any, run_pipeline: Any
) -> None:
    fake_llm.call_tool("jira_get_issue", '{"issue_key": ' + "[" * 100_000 + "]" * 100_000 + "}")
    [result] = run_pipeline(["PAY-142"], engine_env.llm_settings(fake_llm, max_steps=2))
    answers = [m["content"] for r in fake_llm.requests for m in r["messages"] if m["role"] == "tool"]
    assert answers[-1] == "Error: the tool arguments are not valid JSON."  # said to the model, not raised
    assert "unexpected" not in (result.error or "") and result.brief  # the endpoint may refuse the echo


def test_every_string_of_arguments_900_levels_deep_is_found() -> None:
    arguments: Any = "PAY-142"
    for _ in range(900):
        arguments = {"and": [arguments]}
    assert list(strings(arguments)) == ["PAY-142"]


def test_a_tool_schema_nested_100_deep_is_a_clear_error_at_once(engine_env: Any) -> None:
    [tool] = build_server(full_catalog=False)._tool_manager.list_tools()
    deep: dict[str, Any] = {"type": "string"}
    for _ in range(100):
        deep = {"type": "object", "properties": {"next": deep}}
    schema = {"type": "object", "properties": {"deep": deep}}
    server = _quiet_server([tool.model_copy(update={"output_schema": schema})])
    start = time.monotonic()
    [result] = asyncio.run(brief_all([FoundKey("PAY-142", "arg")], engine_env.settings(llm="none"), server=server))
    assert time.monotonic() - start < 5
    assert "tool 'jira_get_issue' has an output schema nested deeper than 64 levels" in result.error
