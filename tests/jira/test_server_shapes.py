"""Every Jira MCP server shape, end to end: `summarize --llm none --format json` and `doctor KEY`
through the real CLI, the fake server served over loopback HTTP (tests/fakes/jira_shapes.py)."""

from __future__ import annotations

import base64
import json
import shlex
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from jira_brief.jira.demo.server import build_server
from tests.fakes import jira_shapes as shapes
from tests.fakes.mcp_http import ServedMCP

pytestmark = pytest.mark.usefixtures("engine_env")


@pytest.fixture
def serve() -> Iterator[Callable[..., ServedMCP]]:
    """serve(server, **options) runs it on loopback until the test ends."""
    running: list[ServedMCP] = []

    def start(server: Any, **options: Any) -> ServedMCP:
        served = ServedMCP(server, **options).__enter__()
        running.append(served)
        return served

    yield start
    for served in running:
        served.__exit__(None, None, None)


def summarize(invoke: Any, url: str, *flags: str, key: str = shapes.KEY) -> tuple[int, dict[str, Any], str]:
    result = invoke("summarize", key, "--llm", "none", "--format", "json", "--mcp-url", url, *flags)
    return result.exit_code, json.loads(result.stdout)[0], result.stderr


def assert_complete(brief: str) -> None:
    """Each criterion its own item, the epic and the newest comment are in the brief."""
    lines = brief.splitlines()
    for criterion in shapes.CRITERIA:
        assert any(line.lstrip("-*0123456789. ").strip() == criterion for line in lines), criterion
    assert shapes.EPIC in brief
    assert shapes.COMMENTS[-1][2][:40] in brief


def test_raw_v3_with_adf_wrapped_in_success_data(invoke: Any, serve: Any) -> None:
    server = shapes.wrapped_v3_server()
    code, result, _ = summarize(invoke, serve(server).url)
    assert code == 0 and result["error"] is None and result["title"] == shapes.TITLE
    assert_complete(result["brief"])
    _, arguments = server.calls[0]
    assert arguments["fields"] == ["*all"] and arguments["expand"] == "names"  # list-typed, as the schema says


def test_raw_v2_with_wiki_markup_wrapped_in_issue(invoke: Any, serve: Any) -> None:
    server = shapes.wrapped_v2_server()
    code, result, _ = summarize(invoke, serve(server).url)
    assert code == 0 and result["title"] == shapes.TITLE and result["status"] == "In Progress"
    assert_complete(result["brief"])
    assert server.calls == [("jira_issue_get", {"key": shapes.KEY})]  # it declares nothing else: nothing else sent


def test_generic_rest_tool_with_issue_args(invoke: Any, serve: Any) -> None:
    server = shapes.generic_rest_server()
    flags = ("--issue-tool", "jira_get", "--issue-args", '{"path": "/rest/api/3/issue/{key}"}')
    code, result, _ = summarize(invoke, serve(server).url, *flags)
    assert code == 0, result
    assert_complete(result["brief"])
    assert server.calls[0][1]["path"] == "/rest/api/3/issue/PAY-7"
    assert server.calls[0][1]["outputFormat"] == "json"  # picked over the default TOON text
    assert server.calls[0][1]["queryParams"] == {"fields": "*all", "expand": "names"}  # names: criteria, epic


def test_issue_args_fill_the_key_in_nested_values(invoke: Any, serve: Any) -> None:
    server = shapes.generic_rest_server()
    flags = ("--issue-tool", "jira_get", "--issue-args")
    args = '{"path": "/rest/api/3/issue/{key}", "queryParams": {"fields": "*all", "properties": "{key}-props"}}'
    code, _, _ = summarize(invoke, serve(server).url, *flags, args)
    assert code == 0
    assert server.calls[0][1]["queryParams"] == {"fields": "*all", "properties": "PAY-7-props"}


def test_generic_rest_tool_doctor_proposes_one_complete_line_for_the_read_tool(invoke: Any, serve: Any) -> None:
    url = serve(shapes.generic_rest_server()).url
    result = invoke("doctor", "--llm", "none", "--mcp-url", url)
    assert result.exit_code == 1
    assert "jira_get(path: string, queryParams: " in result.stdout
    fixes = [line.strip() for line in result.stdout.splitlines() if "Fix" in line]
    # Jira Cloud (its tool says REST v3): the v3 path; never a tool that may write (jira_post, jira_delete…)
    assert fixes == ["""Fix: --issue-tool jira_get --issue-args '{"path": "/rest/api/3/issue/{key}"}'"""]
    assert (
        'it reads jira_get(path="/rest/api/3/issue/KEY", queryParams={"fields": "*all", "expand": "names"}, '
        'outputFormat="json")' in result.stdout
    )
    assert "1 problem(s) found" in result.stdout


def test_the_line_doctor_proposes_reads_the_whole_ticket(invoke: Any, serve: Any) -> None:
    url = serve(shapes.generic_rest_server()).url
    proposed = invoke("doctor", "--llm", "none", "--mcp-url", url).stdout
    line = next(line for line in proposed.splitlines() if "Fix: " in line).split("Fix: ", 1)[1]
    flags = shlex.split(line)
    code, result, _ = summarize(invoke, url, *flags)
    assert code == 0 and result["error"] is None
    assert_complete(result["brief"])


def test_detail_enum_defaulting_to_a_summary_is_asked_for_in_full(invoke: Any, serve: Any) -> None:
    server = shapes.detail_server()
    code, result, _ = summarize(invoke, serve(server).url)
    assert code == 0
    assert_complete(result["brief"])
    assert server.calls[0][1]["detail"] == "full"


def test_issue_args_override_what_detection_would_send(invoke: Any, serve: Any) -> None:
    server = shapes.detail_server()
    url = serve(server).url
    result = invoke("doctor", shapes.KEY, "--llm", "none", "--mcp-url", url, "--issue-args", '{"detail": "summary"}')
    assert server.calls[-1][1]["detail"] == "summary"
    assert result.exit_code == 0
    assert "missing: type, acceptance criteria, comments, parent/epic" in result.stdout
    assert """Try: --issue-args '{"detail": "full"}' (detail takes summary/full)""" in result.stdout


def test_atlassian_remote_server_with_bearer_token(invoke: Any, serve: Any) -> None:
    server = shapes.atlassian_remote_server()
    url = serve(server, require_token="tok-remote-123").url
    code, result, stderr = summarize(invoke, url, "--mcp-header", "Authorization: Bearer tok-remote-123")
    assert code == 0, stderr
    assert_complete(result["brief"])
    assert [tool for tool, _ in server.calls] == ["getAccessibleAtlassianResources", "getJiraIssue"]
    arguments = server.calls[1][1]
    assert arguments["cloudId"] == shapes.CLOUD_ID
    assert arguments["fields"] == ["*all"] and arguments["expand"] == "names" and arguments["updateHistory"] is False


def test_atlassian_remote_server_with_an_api_token_and_the_site_url(
    invoke: Any, serve: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CI configuration: Basic email:token built from two secrets, the site URL as cloudId."""
    credentials = base64.b64encode(b"ci-bot@example.com:ATATT-api-token-42").decode()
    server = shapes.atlassian_remote_server()
    url = serve(server, require_authorization=f"Basic {credentials}").url
    monkeypatch.setenv("JIRA_BRIEF_MCP_HEADERS", f"Authorization: Basic {credentials}")
    monkeypatch.setenv("JIRA_BRIEF_ISSUE_ARGS", json.dumps({"cloudId": shapes.SITE}))
    code, result, stderr = summarize(invoke, url)
    assert code == 0, stderr
    assert_complete(result["brief"])
    assert server.calls == [
        (
            "getJiraIssue",
            {
                "cloudId": shapes.SITE,
                "issueIdOrKey": shapes.KEY,
                "fields": ["*all"],
                "expand": "names",
                "updateHistory": False,
            },
        )
    ]  # no discovery call: the site is known
    assert credentials not in stderr + json.dumps(result)


def test_doctor_says_the_discovery_call_can_be_saved(invoke: Any, serve: Any) -> None:
    server = shapes.atlassian_remote_server()
    url = serve(server).url
    result = invoke("doctor", "--llm", "none", "--mcp-url", url)
    assert f"cloudId: the site {shapes.SITE}, found with getAccessibleAtlassianResources" in result.stdout
    assert f"""Try: --issue-args '{{"cloudId": "{shapes.SITE}"}}'""" in result.stdout
    named = invoke("doctor", "--llm", "none", "--mcp-url", url, "--issue-args", json.dumps({"cloudId": shapes.SITE}))
    assert "getAccessibleAtlassianResources (" not in named.stdout


def test_error_inside_the_payload_fails_the_ticket_with_the_servers_message(invoke: Any, serve: Any) -> None:
    url = serve(shapes.error_payload_server()).url
    code, result, _ = summarize(invoke, url)
    assert code == 1 and result["brief"] is None
    assert "Jira API error 401: the API token has expired" in result["error"]
    doctor = invoke("doctor", shapes.KEY, "--llm", "none", "--mcp-url", url)
    assert doctor.exit_code == 1
    assert "FAIL PAY-7: the MCP server reported an error: Jira API error 401" in doctor.stdout
    assert "1 problem(s) found" in doctor.stdout


def test_wrapped_error_for_an_unknown_key(invoke: Any, serve: Any) -> None:
    url = serve(shapes.wrapped_v3_server()).url
    code, result, _ = summarize(invoke, url, key="PAY-404")
    assert code == 1 and "issue PAY-404 not found" in result["error"]


def test_non_json_text_is_kept_as_the_description(invoke: Any, serve: Any) -> None:
    url = serve(shapes.text_server()).url
    code, result, _ = summarize(invoke, url)
    assert code == 0 and result["title"] == shapes.TITLE
    assert_complete(result["brief"])


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (shapes.wrapped_v3_server, "acceptance criteria: 3 · comments: 3 · links: 0"),
        (shapes.wrapped_v2_server, "parent: PAY-1 Refunds epic"),
        (shapes.text_server, "acceptance criteria: 3"),
    ],
)
def test_doctor_key_says_what_it_understood(invoke: Any, serve: Any, build: Any, expected: str) -> None:
    url = serve(build()).url
    result = invoke("doctor", shapes.KEY, "--llm", "none", "--mcp-url", url)
    assert result.exit_code == 0, result.stdout
    assert f"ok   {shapes.KEY}: {shapes.TITLE}" in result.stdout
    assert expected in result.stdout
    assert "0 problem(s) found" in result.stdout


def test_doctor_key_on_the_mcp_atlassian_demo(invoke: Any, serve: Any) -> None:
    url = serve(build_server(full_catalog=False)).url
    result = invoke("doctor", "PAY-142", "--llm", "none", "--mcp-url", url)
    assert result.exit_code == 0
    assert 'reading PAY-142: jira_get_issue(issue_key="PAY-142", fields="*all", expand="names"' in result.stdout
    assert "acceptance criteria: 4 · comments: 4 · links: 1" in result.stdout
    missing = invoke("doctor", "PAY-999", "--llm", "none", "--mcp-url", url)
    assert missing.exit_code == 1 and "FAIL PAY-999: not found" in missing.stdout


def test_issue_args_from_a_repository_config_file_count_once_trusted(invoke: Any, serve: Any, engine_env: Any) -> None:
    server = shapes.generic_rest_server()
    url = serve(server).url
    (engine_env.cwd / ".jira-brief.toml").write_text(
        'issue-tool = "jira_get"\nissue-args = { path = "/rest/api/3/issue/{key}", outputFormat = "json" }\n',
        encoding="utf-8",
    )
    untrusted = invoke("summarize", shapes.KEY, "--llm", "none", "--format", "json", "--mcp-url", url)
    assert untrusted.exit_code == 1 and "issue-args" in untrusted.stderr and "jira-brief trust" in untrusted.stderr
    assert server.calls == []  # a committed file alone does not choose what is read from Jira
    assert invoke("trust").exit_code == 0
    code, result, _ = summarize(invoke, url)
    assert code == 0 and result["title"] == shapes.TITLE
    bad = invoke("summarize", shapes.KEY, "--llm", "none", "--issue-args", "detail=full")
    assert bad.exit_code == 2 and "expected a JSON object" in bad.stderr


def test_issue_tool_that_may_write_is_refused(invoke: Any, serve: Any) -> None:
    server = build_server()
    url = serve(server).url
    flags = ("--issue-tool", "jira_delete_issue", "--issue-args", '{"issue_key": "{key}"}')
    code, result, _ = summarize(invoke, url, *flags, key="PAY-142")
    assert code == 1 and "may write to Jira" in result["error"]
    assert not [call for call in server.calls if call[0] == "jira_delete_issue"]


def test_doctor_key_names_the_choice_arguments_left_at_their_default(invoke: Any, serve: Any) -> None:
    server = shapes.detail_server(options=("brief", "everything"))  # no option detection recognises
    url = serve(server).url
    result = invoke("doctor", shapes.KEY, "--llm", "none", "--mcp-url", url)
    assert server.calls[-1][1]["detail"] == "brief"
    assert "missing: type, acceptance criteria, comments, parent/epic" in result.stdout
    assert """Try: --issue-args '{"detail": "everything"}' (detail takes brief/everything)""" in result.stdout
    fixed = invoke("doctor", shapes.KEY, "--llm", "none", "--mcp-url", url, "--issue-args", '{"detail": "everything"}')
    assert "acceptance criteria: 3 · comments: 3" in fixed.stdout and "missing: " not in fixed.stdout


def test_doctor_lists_unnamed_custom_fields_and_proposes_the_field_flags(invoke: Any, serve: Any) -> None:
    url = serve(shapes.no_names_server()).url
    result = invoke("doctor", shapes.KEY, "--llm", "none", "--mcp-url", url)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert "customfield_10014: PAY-1" in result.stdout
    assert "customfield_10050: - The refund goes back to the card used to pay" in result.stdout
    assert "customfield_10030" not in result.stdout  # empty: nothing to tell
    assert "Try: --acceptance-field customfield_10050" in result.stdout
    assert "Try: --epic-field customfield_10014" in result.stdout
    assert not [line for line in lines if "detail" in line and "Try" in line]  # detail=full was sent already
    notes = next(line for line in lines if "customfield_10040" in line)
    assert "\x1b" not in result.stdout and len(notes) < 100  # neutralized, bounded


def test_the_field_flags_read_the_criteria_and_the_epic(invoke: Any, serve: Any) -> None:
    url = serve(shapes.no_names_server()).url
    code, result, _ = summarize(invoke, url)
    assert code == 0 and shapes.CRITERIA[0] not in result["brief"]  # without them: lost
    flags = ("--acceptance-field", "customfield_10050", "--epic-field", "customfield_10014")
    code, result, _ = summarize(invoke, url, *flags)
    assert code == 0
    assert_complete(result["brief"])
    doctor = invoke("doctor", shapes.KEY, "--llm", "none", "--mcp-url", url, *flags)
    assert "acceptance criteria: 3" in doctor.stdout and "parent: PAY-1" in doctor.stdout
    assert "missing:" not in doctor.stdout


def test_the_field_settings_come_from_the_environment_and_the_repository_file(
    invoke: Any, serve: Any, engine_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = serve(shapes.no_names_server()).url
    (engine_env.cwd / ".jira-brief.toml").write_text('acceptance-field = "customfield_10050"\n', encoding="utf-8")
    monkeypatch.setenv("JIRA_BRIEF_EPIC_FIELD", "customfield_10014")
    code, result, stderr = summarize(invoke, url)
    assert code == 0 and "ignored" not in stderr  # no trust needed: it chooses no endpoint
    assert_complete(result["brief"])


def test_doctor_never_proposes_the_fix_already_applied(invoke: Any, serve: Any) -> None:
    url = serve(shapes.no_names_server()).url
    flags = ("--issue-args", '{"detail": "full"}', "--acceptance-field", "customfield_10099")
    result = invoke("doctor", shapes.KEY, "--llm", "none", "--mcp-url", url, *flags)
    assert '{"detail": "full"}' not in result.stdout.split("reading PAY-7", 1)[1]
    assert "--acceptance-field customfield_10099 is set, and that field is empty or not in the answer" in result.stdout
    assert "Try: --acceptance-field" not in result.stdout
