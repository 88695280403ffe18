"""In-process MCP servers shaped like the Jira MCP servers people run, each serving one ticket (PAY-7).

Tool names, argument schemas and answer shapes follow the real servers: a raw REST v3 answer with
ADF wrapped in {"success": true, "data": …} and a list-typed `fields`; raw REST v2 with wiki markup
in {"issue": …}; a generic REST tool (`jira_get` with `path`, `outputFormat` defaulting to a
non-JSON text format); a `detail` enum defaulting to a summary; raw REST v2 without `names`;
Atlassian's remote server (`getJiraIssue` with `cloudId`, `getAccessibleAtlassianResources`); an
error inside the payload; plain text. Every call lands in `server.calls`."""

from __future__ import annotations

import json
from typing import Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations

KEY = "PAY-7"
TITLE = "Refund to the original card"
EPIC = "PAY-1"
CRITERIA = (
    "The refund goes back to the card used to pay",
    "Partial refunds keep the remaining amount captured",
    "The customer gets an e-mail with the refunded amount",
)
COMMENTS = (
    ("Jo Park", "2025-06-01T10:00:00.000+0000", "First thoughts: keep it simple"),
    ("Chidi Obi", "2025-06-02T10:00:00.000+0000", "Gateway supports partial refunds"),
    ("Jo Park", "2025-06-03T10:00:00.000+0000", "Decision: refunds over 500 EUR need a second approval"),
)
DESCRIPTION = "Customers ask for refunds to go back to the card they paid with, not to store credit."
NAMES = {"customfield_10014": "Epic Link", "customfield_10050": "Acceptance criteria"}
READ = ToolAnnotations(read_only_hint=True)


def _adf(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {"type": "doc", "version": 1, "content": list(blocks)}


def _paragraph(text: str) -> dict[str, Any]:
    return {"type": "paragraph", "content": [{"type": "text", "text": text}]}


def _bullets(items: tuple[str, ...]) -> dict[str, Any]:
    return {"type": "bulletList", "content": [{"type": "listItem", "content": [_paragraph(i)]} for i in items]}


def rest_v3_issue(expand: str = "") -> dict[str, Any]:
    """GET /rest/api/3/issue/PAY-7: ADF text, Epic Link and criteria in custom fields, names on request."""
    issue: dict[str, Any] = {
        "id": "10007",
        "key": KEY,
        "self": "https://example.atlassian.net/rest/api/3/issue/10007",
        "fields": {
            "summary": TITLE,
            "issuetype": {"name": "Story"},
            "status": {"name": "In Progress"},
            "description": _adf(_paragraph(DESCRIPTION)),
            "customfield_10014": EPIC,
            "customfield_10050": _adf(_bullets(CRITERIA)),
            "comment": {
                "comments": [
                    {"author": {"displayName": who}, "created": when, "body": _adf(_paragraph(body))}
                    for who, when, body in COMMENTS
                ],
                "total": len(COMMENTS),
            },
            "updated": "2025-06-03T10:00:00.000+0000",
        },
    }
    if "names" in expand:
        issue["names"] = NAMES
    return issue


def rest_v2_issue() -> dict[str, Any]:
    """GET /rest/api/2/issue/PAY-7 on Jira Data Center: wiki markup, the epic as `parent`."""
    criteria = "\n".join(f"* {item}" for item in CRITERIA)
    description = f"{DESCRIPTION}\n\nh3. Acceptance criteria\n{criteria}\n\nh3. Notes\nSee the *gateway* docs."
    return {
        "id": "10007",
        "key": KEY,
        "self": "https://jira.example.com/rest/api/2/issue/10007",
        "fields": {
            "summary": TITLE,
            "issuetype": {"name": "Story"},
            "status": {"name": "In Progress"},
            "parent": {"key": EPIC, "fields": {"summary": "Refunds epic"}},
            "description": description,
            "comment": {
                "comments": [{"author": {"displayName": w}, "created": c, "body": b} for w, c, b in COMMENTS],
            },
        },
    }


def _server(name: str) -> MCPServer:
    server = MCPServer(name, log_level="WARNING")
    server.calls = []  # type: ignore[attr-defined]
    return server


def _record(server: MCPServer, tool: str, arguments: dict[str, Any]) -> None:
    server.calls.append((tool, arguments))  # type: ignore[attr-defined]


def _missing(key: str) -> str:
    return json.dumps({"errorMessages": [f"Issue {key} does not exist or you do not have permission to see it."]})


def wrapped_v3_server() -> MCPServer:
    """get_issue(issueKey, fields: string[], expand) answering {"success": true, "data": <raw v3 issue>}."""
    server = _server("jira-cloud")

    @server.tool(annotations=READ)
    def get_issue(issueKey: str, fields: list[str] | None = None, expand: str | None = None) -> str:
        _record(server, "get_issue", {"issueKey": issueKey, "fields": fields, "expand": expand})
        if issueKey != KEY:
            return json.dumps({"success": False, "error": f"Jira API error 404: issue {issueKey} not found"})
        return json.dumps({"success": True, "data": rest_v3_issue(expand or "")})

    return server


def wrapped_v2_server() -> MCPServer:
    """jira_issue_get(key) answering {"issue": <raw v2 issue>} (Jira Data Center, wiki markup)."""
    server = _server("jira-dc")

    @server.tool(annotations=READ)
    def jira_issue_get(key: str) -> str:
        _record(server, "jira_issue_get", {"key": key})
        return json.dumps({"issue": rest_v2_issue()}) if key == KEY else _missing(key)

    return server


GENERIC_GET_DESCRIPTION = """Read any Jira data. Returns TOON format by default (fewer tokens than JSON).

Common paths:
- `/rest/api/3/project` - list all projects
- `/rest/api/3/search/jql` - search issues with JQL (use `jql` query param)
- `/rest/api/3/issue/{issueIdOrKey}` - get issue details

API reference: https://developer.atlassian.com/cloud/jira/platform/rest/v3/"""


def generic_rest_server() -> MCPServer:
    """A generic REST server for Jira Cloud, shaped like @aashari/mcp-server-atlassian-jira 3.x: one tool per
    HTTP method, none annotated; `jira_get(path, queryParams: {string: string}, jq, outputFormat: toon|json)`
    answers TOON text unless asked for JSON, and `names` only when the query asks `expand=names`, as
    Jira's GET /rest/api/3/issue does."""
    server = _server("jira-generic")

    @server.tool(description=GENERIC_GET_DESCRIPTION)
    def jira_get(
        path: str,
        queryParams: dict[str, str] | None = None,
        jq: str | None = None,
        outputFormat: Literal["toon", "json"] = "toon",
    ) -> str:
        _record(server, "jira_get", {"path": path, "queryParams": queryParams, "outputFormat": outputFormat})
        if path != f"/rest/api/3/issue/{KEY}":
            return _missing(path.rsplit("/", 1)[-1])
        issue = rest_v3_issue((queryParams or {}).get("expand", ""))
        if outputFormat == "json":
            return json.dumps(issue)
        return f"key: {KEY}\nfields:\n  summary: {TITLE}\n  status:\n    name: In Progress\n"

    for method in ("post", "put", "patch", "delete"):
        server.add_tool(_rest_writer(server, method), name=f"jira_{method}", description=f"{method.upper()} any path.")
    return server


def _rest_writer(server: MCPServer, method: str) -> Any:
    """A generic REST server's write tool: the same arguments as jira_get, and a body."""

    def write(
        path: str,
        body: dict[str, Any] | None = None,
        queryParams: dict[str, str] | None = None,
        outputFormat: Literal["toon", "json"] = "toon",
    ) -> str:
        _record(server, f"jira_{method}", {"path": path, "body": body})
        return json.dumps({"method": method.upper(), "path": path})

    return write


def detail_server(options: tuple[str, str] = ("summary", "full")) -> MCPServer:
    """get_issue(issue_key, detail: <options> = the first): anything but the last option is a summary
    that cuts the description and drops criteria and comments, as such servers do to save tokens."""
    server = _server("jira-detail")

    def get_issue(issue_key: str, detail: str = options[0]) -> str:
        _record(server, "get_issue", {"issue_key": issue_key, "detail": detail})
        issue = rest_v2_issue()
        if detail != options[-1]:
            fields = issue["fields"]
            issue["fields"] = {"summary": TITLE, "status": fields["status"], "description": DESCRIPTION[:40] + "…"}
        return json.dumps(issue)

    get_issue.__annotations__.update({"issue_key": str, "detail": Literal[options], "return": str})
    server.add_tool(get_issue, annotations=READ)
    return server


def no_names_issue() -> dict[str, Any]:
    """GET /rest/api/2/issue/PAY-7 as some servers pass it on: criteria and Epic Link in custom fields
    (wiki markup), other custom fields around them, and never `names`."""
    issue = rest_v2_issue()
    fields = issue["fields"]
    del fields["parent"]
    fields["description"] = DESCRIPTION
    fields |= {
        "customfield_10014": EPIC,
        "customfield_10050": "\n".join(f"* {item}" for item in CRITERIA),
        "customfield_10020": [{"id": 7, "name": "Sprint 12", "state": "active"}],
        "customfield_10030": None,
        "customfield_10040": "\x1b]52;c;bm8=\x07" + "Long notes " * 60,
    }
    return issue


def no_names_server() -> MCPServer:
    """get_issue(issue_key, detail: summary|full = summary): in full, raw REST v2 without `names`."""
    server = _server("jira-no-names")

    @server.tool(annotations=READ)
    def get_issue(issue_key: str, detail: Literal["summary", "full"] = "summary") -> str:
        _record(server, "get_issue", {"issue_key": issue_key, "detail": detail})
        issue = no_names_issue()
        if detail != "full":
            issue["fields"] = {"summary": TITLE, "status": issue["fields"]["status"]}
        return json.dumps(issue) if issue_key == KEY else _missing(issue_key)

    return server


CLOUD_ID, SITE = "ec8f2a1e-0000-4a6b-9c1d-5e6f7a8b9c0d", "https://example.atlassian.net"


def atlassian_remote_server() -> MCPServer:
    """Atlassian's remote MCP server: getJiraIssue(cloudId, issueIdOrKey, fields[], expand, …) with
    raw v3 JSON; cloudId is the site's id from getAccessibleAtlassianResources, or its URL."""
    server = _server("atlassian-remote")

    @server.tool(annotations=READ)
    def getAccessibleAtlassianResources() -> str:
        _record(server, "getAccessibleAtlassianResources", {})
        return json.dumps([{"id": CLOUD_ID, "url": SITE, "name": "example"}])

    @server.tool(annotations=READ)
    def getJiraIssue(
        cloudId: str,
        issueIdOrKey: str,
        fields: list[str] | None = None,
        fieldsByKeys: bool | None = None,
        expand: str | None = None,
        properties: list[str] | None = None,
        updateHistory: bool | None = None,
        failFast: bool | None = None,
    ) -> str:
        arguments = {"cloudId": cloudId, "issueIdOrKey": issueIdOrKey, "fields": fields, "expand": expand}
        _record(server, "getJiraIssue", {**arguments, "updateHistory": updateHistory})
        if cloudId not in (CLOUD_ID, SITE, SITE + "/"):  # "a UUID; can also be a site URL"
            raise ValueError(f"Unknown cloudId {cloudId}")
        return json.dumps(rest_v3_issue(expand or "")) if issueIdOrKey == KEY else _missing(issueIdOrKey)

    return server


def error_payload_server() -> MCPServer:
    """A get-issue tool that reports failure inside a successful MCP result."""
    server = _server("jira-error")

    @server.tool(annotations=READ)
    def jira_get_issue(issue_key: str) -> str:
        _record(server, "jira_get_issue", {"issue_key": issue_key})
        return json.dumps({"success": False, "error": "Jira API error 401: the API token has expired"})

    return server


def text_server() -> MCPServer:
    """A get-issue tool answering Markdown prose instead of JSON."""
    server = _server("jira-text")

    @server.tool(annotations=READ)
    def jira_get_issue(issue_key: str) -> str:
        _record(server, "jira_get_issue", {"issue_key": issue_key})
        criteria = "\n".join(f"- {item}" for item in CRITERIA)
        return (
            f"# {issue_key}: {TITLE}\n\nStatus: In Progress\nEpic: {EPIC}\n\n{DESCRIPTION}\n\n"
            f"## Acceptance criteria\n{criteria}\n\n## Comments\n{COMMENTS[-1][0]}: {COMMENTS[-1][2]}\n"
        )

    return server
