"""The embedded demo Jira: an in-process stand-in for the mcp-atlassian MCP server.

Why: `jira-brief demo`, the tests and the benchmarks need a Jira that answers like the
one people run (mcp-atlassian, Jira only configured) without a network or an account.

Facts this stand-in reproduces (read in sooperset/mcp-atlassian: servers/jira.py,
models/jira/issue.py, jira/issues.py, utils/decorators.py, jira/constants.py):
- The 63 Jira tools, `jira_` + function name, 25 of them tagged "write". Read tools
  carry readOnlyHint=True; write tools carry destructiveHint (True or False) or, for
  jira_assign_issue and jira_move_issues_to_backlog, readOnlyHint=False.
- jira_get_issue returns `json.dumps(JiraIssue.to_simplified_dict(), indent=2,
  ensure_ascii=False)`. The demo tickets are stored as that dict for fields="*all",
  expand="names" and every comment; narrower requests are cut down the way the model
  does it: a key is kept when its field was requested, but issue_type needs both
  "issuetype" (for Jira) and "issue_type" (for the model), fix_versions both
  "fixVersions" and "fix_versions", and comments need "comment". So the default fields
  return neither the issue type nor the comments.
- A custom field is {"value": ..., "name": ...}; "name" only comes with expand=names.
- comment_limit keeps the newest N comments: the real server slices `comments[-comment_limit:]`
  since 0.22.0 (sooperset/mcp-atlassian#1218; before, the oldest N).
- An unknown key answers is_error with the text the real server sends.

`mcp` and `pydantic` are imported inside the functions that build the server, so
importing this module (for load_demo_tickets) stays cheap.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import inspect

    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.tools.base import Tool
    from mcp.types import CallToolResult, ToolAnnotations

Issue = dict[str, Any]
Call = tuple[str, dict[str, Any]]
Handler = Callable[[dict[str, Any]], Any]

# DEFAULT_READ_JIRA_FIELDS is a set: the real default string's order changes per process.
DEFAULT_FIELDS = "summary,description,status,assignee,reporter,labels,versions,priority,created,updated,issuetype"
ISSUE_KEY_PATTERN = r"^[A-Z][A-Z0-9_]+-\d+(?:-\d+)*$"
PROJECT_KEY_PATTERN = r"^[A-Z][A-Z0-9_]+$"
# handle_tool_errors names the undecorated function; the text after it is Jira's 404 message.
NOT_FOUND = "Error calling tool 'get_issue': Issue does not exist or you do not have permission to see it."
WRITE_REPLY = {"success": True, "message": "Demo Jira: the call was recorded and nothing was changed."}

# Output keys that to_simplified_dict keeps only when all these names were requested.
_GATES = {
    "issue_type": ("issue_type", "issuetype"),
    "fix_versions": ("fix_versions", "fixVersions"),
    "comments": ("comment",),
    "attachments": ("attachment",),
}
# jira_get_issue `include` sections -> (output key, value when there is nothing to show).
_INCLUDES: dict[str, tuple[str, Any]] = {
    "remote_links": ("remote_links", []),
    "transitions": ("transitions", []),
    "watchers": ("watchers", {}),
    "changelog": ("changelogs", []),
    "comments": ("comments", []),
    "worklogs": ("worklogs", []),
}
_INCLUDE_ALIASES = {"comment": "comments", "worklog": "worklogs"}
_PATTERNS = {"issue_key": ISSUE_KEY_PATTERN, "project_key": PROJECT_KEY_PATTERN}
_BOUNDS = {"get_issue.comment_limit": {"ge": 0, "le": 100}}
_KEY_RE = re.compile(r"\b[A-Z][A-Z0-9_]+-\d+\b")
_PROJECT_RE = re.compile(r'\bproject\s*(?:=\s*"?(\w+)|in\s*\(([^()]*)\))', re.IGNORECASE)


def load_demo_tickets() -> dict[str, dict[str, Any]]:
    """The demo tickets, key -> raw mcp-atlassian-shaped issue dict (as jira_get_issue returns it)."""
    text = resources.files("jira_brief.jira.demo").joinpath("tickets.json").read_text(encoding="utf-8")
    tickets: dict[str, dict[str, Any]] = json.loads(text)
    return tickets


@functools.cache
def catalog() -> dict[str, Any]:
    """The tools the demo serves (tools.json: mcp-atlassian's Jira tools, jira_get_issue first) and the
    descriptions of their parameters."""
    text = resources.files("jira_brief.jira.demo").joinpath("tools.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def build_server(tickets: dict[str, dict[str, Any]] | None = None, *, full_catalog: bool = True) -> MCPServer:
    """An MCP server with mcp-atlassian's tool names, annotations and result shape, serving `tickets`.

    Every call lands in `server.calls` as (tool name, arguments with defaults filled in).
    With full_catalog=False only jira_get_issue is registered.
    """
    issues = load_demo_tickets() if tickets is None else tickets
    calls: list[Call] = []
    handlers = _read_handlers(issues)
    tools = []
    entries = catalog()["tools"] if full_catalog else catalog()["tools"][:1]
    for entry in entries:
        name, hint = entry["name"], entry["hint"]
        tool = _make_tool(
            name, entry["params"], handler=handlers.get(name, _empty_read if hint == "read" else _write), calls=calls
        )
        tools.append(_described(entry, tool))
    server = _quiet_server(tools)
    server.calls = calls  # type: ignore[attr-defined]
    return server


_DESCRIBED: dict[str, Tool] = {}


def _described(entry: dict[str, str], tool: Callable[..., Any]) -> Tool:
    """The MCP tool for `tool`: its schema, built once per process from the first function of that name
    (building one costs ~3 ms of pydantic work, 0.2 s for the catalog), then shared with the function
    swapped, since every demo server's functions take the same arguments."""
    from mcp.server.mcpserver.tools.base import Tool

    name, title, hint, description = entry["name"], entry["title"], entry["hint"], entry["description"]
    described = _DESCRIBED.get(name)
    if described is None:
        annotations = _annotations(title, hint)
        described = Tool.from_function(tool, name=f"jira_{name}", description=description, annotations=annotations)
        _DESCRIBED[name] = described
    return described.model_copy(update={"fn": tool})


def _quiet_server(tools: list[Tool]) -> MCPServer:
    """An MCPServer that leaves the host's logging alone and keeps the `mcp` loggers at WARNING."""
    import logging

    from mcp.server.mcpserver import MCPServer

    # MCPServer.__init__ calls logging.basicConfig (a rich handler on stderr); the CLI owns logging.
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    server: MCPServer = MCPServer("Atlassian MCP", log_level="WARNING", tools=tools)
    root.handlers[:] = handlers
    root.setLevel(level)
    # "Tool 'jira_...' failed" is logged at INFO for every error result, e.g. an unknown key.
    logging.getLogger("mcp").setLevel(logging.WARNING)
    return server


def _annotations(title: str, hint: str) -> ToolAnnotations:
    """The ToolAnnotations mcp-atlassian declares for a tool of this kind."""
    from mcp.types import ToolAnnotations

    flags = {
        "read": {"read_only_hint": True},
        "write": {"destructive_hint": False},
        "destructive": {"destructive_hint": True},
        "not-read-only": {"read_only_hint": False},
    }[hint]
    return ToolAnnotations(title=title, **flags)


def _make_tool(name: str, spec: str, handler: Handler, calls: list[Call]) -> Callable[..., Any]:
    """A tool function with the real parameter schema that records its call, then runs `handler`."""

    async def tool(**arguments: Any) -> Any:
        calls.append((f"jira_{name}", dict(arguments)))
        return handler(arguments)

    tool.__name__ = name
    tool.__signature__ = _signature(name, spec)  # type: ignore[attr-defined]
    return tool


def _signature(tool: str, spec: str) -> inspect.Signature:
    """The keyword-only signature described by `spec`, with pydantic descriptions and patterns."""
    import inspect
    from typing import Annotated

    from pydantic import Field

    parameters = []
    for token in spec.split():
        name, kind, default = _parse_param(token)
        pattern = _PATTERNS.get(name) if default is inspect.Parameter.empty else None
        docs = catalog()["param_docs"]
        doc = docs.get(f"{tool}.{name}") or docs.get(name, name.replace("_", " ").capitalize())
        bounds: dict[str, Any] = dict(_BOUNDS.get(f"{tool}.{name}", {}))
        field = Field(description=doc, pattern=pattern, **bounds)
        annotation: Any = Annotated[kind, field]
        keyword = inspect.Parameter.KEYWORD_ONLY
        parameters.append(inspect.Parameter(name, keyword, annotation=annotation, default=default))
    return inspect.Signature(parameters, return_annotation=str)


def _parse_param(token: str) -> tuple[str, Any, Any]:
    """'name[:type][?|=default]' -> (name, annotation, default or inspect.Parameter.empty)."""
    import inspect

    head, has_default, text = token.partition("=")
    name, _, type_name = head.rstrip("?").partition(":")
    kind: Any = {"": str, "int": int, "bool": bool, "list": list[dict[str, Any]]}[type_name]
    if head.endswith("?"):
        return name, kind | None, None
    if not has_default:
        return name, kind, inspect.Parameter.empty
    constants = {"DEFAULT_FIELDS": DEFAULT_FIELDS, "true": True, "false": False}
    return name, kind, int(text) if kind is int else constants.get(text, text)


def _read_handlers(issues: dict[str, Issue]) -> dict[str, Handler]:
    """The read tools that answer from the demo tickets; the others answer an empty list."""
    return {
        "get_issue": lambda args: _get_issue(issues, args),
        "search": lambda args: _search(issues, args["jql"], args["fields"], args["start_at"], args["limit"]),
        "get_project_issues": lambda args: _search(
            issues, f"project = {args['project_key']}", DEFAULT_FIELDS, args["start_at"], args["limit"]
        ),
    }


def _get_issue(issues: dict[str, Issue], args: dict[str, Any]) -> str | CallToolResult:
    """jira_get_issue: the ticket cut down to the request, or the real server's error result."""
    from mcp.types import CallToolResult, TextContent

    issue = issues.get(args["issue_key"])
    if issue is None:
        # Returned, not raised: MCPServer would prefix a raised ToolError with its own text.
        return CallToolResult(content=[TextContent(type="text", text=NOT_FOUND)], is_error=True)
    include = _include_sections(args["include"])
    shaped = _shape_issue(issue, args["fields"], args["expand"], args["comment_limit"], include)
    for section in sorted(include):
        key, empty = _INCLUDES[section]
        shaped.setdefault(key, empty)  # the demo Jira has no links, watchers, history or worklogs
    return _dumps(shaped)


def _shape_issue(issue: Issue, fields: str, expand: str | None, comment_limit: int | None, include: set[str]) -> Issue:
    """`issue` (stored for fields="*all", expand="names") as to_simplified_dict returns it for a request."""
    requested = None if fields == "*all" else _csv(fields)
    if requested is not None and "comments" in include and "comment" not in requested:
        requested.append("comment")
    with_names = "names" in _csv(expand)
    shaped: Issue = {}
    for key, value in issue.items():
        if not _is_requested(key, requested):
            continue
        if key.startswith("customfield_") and not with_names:
            value = {"value": value["value"]}
        shaped[key] = value
    if "comments" in shaped:
        shaped["comments"] = (
            shaped["comments"][-comment_limit:] if comment_limit else shaped["comments"][:comment_limit]
        )
        if not shaped["comments"]:
            del shaped["comments"]
    return shaped


def _is_requested(key: str, requested: list[str] | None) -> bool:
    """Whether to_simplified_dict keeps this output key; None stands for fields="*all"."""
    if requested is None or key in ("id", "key"):
        return True
    return all(name in requested for name in _GATES.get(key, (key,)))


def _include_sections(include: str | None) -> set[str]:
    """The supported `include` sections named, with "all" and the singular aliases expanded."""
    sections: set[str] = set()
    for raw in _csv(include):
        section = _INCLUDE_ALIASES.get(raw.lower(), raw.lower())
        sections |= set(_INCLUDES) if section == "all" else {section} & set(_INCLUDES)
    return sections


def _search(issues: dict[str, Issue], jql: str, fields: str, start_at: int, limit: int) -> str:
    """A JiraSearchResult for the tickets whose key or project the JQL names (all of them if none)."""
    keys = set(_KEY_RE.findall(jql))
    named = (single or listed for single, listed in _PROJECT_RE.findall(jql))
    projects = {project.strip(' "').upper() for names in named for project in names.split(",")}
    hits = [
        issue for key, issue in issues.items() if not (keys or projects) or key in keys or key.split("-")[0] in projects
    ]
    # Search results carry the comment field as Jira sent it, uncut.
    page = [_shape_issue(issue, fields, None, None, set()) for issue in hits[start_at : start_at + limit]]
    return _dumps({"total": len(hits), "start_at": start_at, "max_results": limit, "issues": page})


def _empty_read(args: dict[str, Any]) -> str:
    """A read tool the demo has no data for."""
    return _dumps([])


def _write(args: dict[str, Any]) -> str:
    """A write tool: jira-brief must never call one, so it only gets recorded."""
    return _dumps(WRITE_REPLY)


def _csv(value: str | None) -> list[str]:
    """The non-empty, stripped items of a comma-separated string."""
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def _dumps(data: Any) -> str:
    """JSON the way every mcp-atlassian tool writes it."""
    return json.dumps(data, indent=2, ensure_ascii=False)
