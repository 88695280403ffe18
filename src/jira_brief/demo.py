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
_PROJECT_RE = re.compile(r'\bproject\s*(?:=\s*"?(\w+)|in\s*\(([^)]*)\))', re.IGNORECASE)

# Parameter descriptions, per "tool.param" first, then per param (wording from mcp-atlassian).
_PARAM_DOCS = {
    "get_issue.issue_key": "Jira issue key (e.g., 'PROJ-123', 'ACV2-642')",
    "get_issue.fields": (
        "(Optional) Comma-separated list of fields to return (e.g., 'summary,status,customfield_10010'). "
        "You may also provide a single field as a string (e.g., 'duedate'). "
        "Use '*all' for all fields (including custom fields), or omit for essential fields only."
    ),
    "get_issue.expand": (
        "(Optional) Fields to expand. Examples: 'renderedFields' (for rendered content), "
        "'transitions' (for available status transitions), 'changelog' (for history)"
    ),
    "get_issue.comment_limit": "Maximum number of comments to include (0 or null for no comments)",
    "get_issue.properties": "(Optional) A comma-separated list of issue properties to return",
    "get_issue.update_history": "Whether to update the issue view history for the requesting user",
    "get_issue.include": (
        "(Optional) Comma-separated sections to inline in the response, avoiding extra tool calls. "
        "Supported: all, remote_links, transitions, watchers, changelog, comments, worklogs"
    ),
    "issue_key": "Jira issue key (e.g., 'PROJ-123')",
    "project_key": "Jira project key (e.g., 'PROJ', 'ACV2')",
    "jql": "JQL query string (Jira Query Language), e.g. 'project = PROJ AND status = \"In Progress\"'",
    "fields": "(Optional) Comma-separated fields to return in the results. Use '*all' for all fields.",
    "expand": "(Optional) Fields to expand, e.g. 'renderedFields', 'transitions', 'changelog'",
    "limit": "Maximum number of results",
    "start_at": "Starting index for pagination (0-based)",
    "board_id": "The id of the board (e.g., '1001')",
    "sprint_id": "The id of the sprint (e.g., '10001')",
    "service_desk_id": "Service desk ID (e.g., '4')",
    "user_identifier": "User identifier: email, username, account ID, or key for Server/DC.",
    "body": "Comment text in Markdown format",
    "description": "Description in Markdown format",
    "additional_fields": "(Optional) JSON string of additional fields to set",
    "issue_keys": "Comma-separated issue keys (e.g., 'PROJ-1,PROJ-2')",
    "visibility": "(Optional) Comment visibility as JSON string, e.g. a group restriction",
}

# The other 62 tools: (function name, title, hint, parameters, description).
# hint: "read" = readOnlyHint, "write"/"destructive" = destructiveHint False/True,
# "not-read-only" = readOnlyHint False. Parameters: "name" is a required str,
# "name?" an optional one, "name:int=10" a typed default, "name=text" a str default.
_CATALOG: tuple[tuple[str, str, str, str, str], ...] = (
    (
        "get_user_profile",
        "Get User Profile",
        "read",
        "user_identifier",
        "Retrieve profile information for a specific Jira user.",
    ),
    (
        "search_assignable_users",
        "Search Assignable Users",
        "read",
        "query project_key? issue_key? limit:int=20",
        "Search Jira users assignable in a given project or issue.",
    ),
    ("get_issue_watchers", "Get Issue Watchers", "read", "issue_key", "Get the list of watchers for a Jira issue."),
    (
        "add_watcher",
        "Add Issue Watcher",
        "write",
        "issue_key user_identifier",
        "Add a user as a watcher to a Jira issue.",
    ),
    (
        "remove_watcher",
        "Remove Issue Watcher",
        "destructive",
        "issue_key username? account_id?",
        "Remove a user from watching a Jira issue.",
    ),
    (
        "search",
        "Search Issues",
        "read",
        "jql fields=DEFAULT_FIELDS limit:int=10 start_at:int=0 "
        "projects_filter? expand? page_token? use_display_names:bool=false",
        "Search Jira issues using JQL (Jira Query Language).",
    ),
    (
        "search_fields",
        "Search Fields",
        "read",
        "keyword= limit:int=10 refresh:bool=false",
        "Search Jira fields by keyword with fuzzy match.",
    ),
    (
        "get_field_options",
        "Get Field Options",
        "read",
        "field_id context_id? project_key? issue_type? contains? return_limit:int? values_only:bool=false",
        "Get allowed option values for a custom field.",
    ),
    (
        "get_project_issues",
        "Get Project Issues",
        "read",
        "project_key limit:int=10 start_at:int=0",
        "Get all issues for a specific Jira project.",
    ),
    ("get_transitions", "Get Transitions", "read", "issue_key", "Get available status transitions for a Jira issue."),
    ("get_worklog", "Get Worklog", "read", "issue_key", "Get worklog entries for a Jira issue."),
    ("download_attachments", "Download Attachments", "read", "issue_key", "Download attachments from a Jira issue."),
    (
        "get_issue_images",
        "Get Issue Images",
        "read",
        "issue_key",
        "Get all images attached to a Jira issue as inline image content.",
    ),
    (
        "get_agile_boards",
        "Get Agile Boards",
        "read",
        "board_name? project_key? board_type? start_at:int=0 limit:int=10",
        "Get jira agile boards by name, project key, or type.",
    ),
    (
        "get_board_issues",
        "Get Board Issues",
        "read",
        "board_id jql fields=DEFAULT_FIELDS start_at:int=0 limit:int=10 expand=version",
        "Get all issues linked to a specific board filtered by JQL.",
    ),
    (
        "get_sprints_from_board",
        "Get Sprints from Board",
        "read",
        "board_id state? start_at:int=0 limit:int=10",
        "Get jira sprints from board by state.",
    ),
    (
        "get_sprint_issues",
        "Get Sprint Issues",
        "read",
        "sprint_id fields=DEFAULT_FIELDS start_at:int=0 limit:int=10",
        "Get jira issues from sprint.",
    ),
    ("get_link_types", "Get Link Types", "read", "name_filter?", "Get all available issue link types."),
    (
        "create_issue",
        "Create Issue",
        "write",
        "project_key summary issue_type assignee? description? components? additional_fields?",
        "Create a new Jira issue with optional Epic link or parent for subtasks.",
    ),
    (
        "batch_create_issues",
        "Batch Create Issues",
        "write",
        "issues validate_only:bool=false",
        "Create multiple Jira issues in a batch.",
    ),
    (
        "batch_get_changelogs",
        "Batch Get Changelogs",
        "read",
        "issue_ids_or_keys fields? limit:int=-1",
        "Get changelogs for multiple Jira issues (Cloud only).",
    ),
    (
        "update_issue",
        "Update Issue",
        "destructive",
        "issue_key fields? additional_fields? components? attachments? "
        "transition? comment? comment_visibility? worklog? worklog_started? return_fields=*all",
        "Update an issue and optionally transition, comment, and log work.",
    ),
    (
        "assign_issue",
        "Assign Issue",
        "not-read-only",
        "issue_key assignee?",
        "Assign a Jira issue to a user using the dedicated assignment endpoint.",
    ),
    ("delete_issue", "Delete Issue", "destructive", "issue_key", "Delete an existing Jira issue."),
    (
        "move_issue",
        "Move Issue to Project",
        "destructive",
        "issue_key target_project_key",
        "Move a Jira issue to a different project (Jira Cloud only).",
    ),
    (
        "add_comment",
        "Add Comment",
        "write",
        "issue_key body visibility? public:bool?",
        "Add a comment to a Jira issue.",
    ),
    (
        "edit_comment",
        "Edit Comment",
        "destructive",
        "issue_key comment_id body visibility?",
        "Edit an existing comment on a Jira issue.",
    ),
    (
        "add_worklog",
        "Add Worklog",
        "destructive",
        "issue_key time_spent comment? started? original_estimate? remaining_estimate?",
        "Add a worklog entry to a Jira issue.",
    ),
    ("link_to_epic", "Link to Epic", "destructive", "issue_key epic_key", "Link an existing issue to an epic."),
    (
        "create_issue_link",
        "Create Issue Link",
        "write",
        "link_type inward_issue_key outward_issue_key comment? comment_visibility?",
        "Create a link between two Jira issues.",
    ),
    (
        "create_remote_issue_link",
        "Create Remote Issue Link",
        "write",
        "issue_key url title summary? relationship? icon_url?",
        "Create a remote issue link (web link or Confluence link) for a Jira issue.",
    ),
    ("remove_issue_link", "Remove Issue Link", "destructive", "link_id", "Remove a link between two Jira issues."),
    (
        "transition_issue",
        "Transition Issue",
        "destructive",
        "issue_key transition_id fields? comment?",
        "Transition a Jira issue to a new status.",
    ),
    (
        "create_sprint",
        "Create Sprint",
        "write",
        "board_id name start_date end_date goal?",
        "Create Jira sprint for a board.",
    ),
    (
        "update_sprint",
        "Update Sprint",
        "destructive",
        "sprint_id name? state? start_date? end_date? goal?",
        "Update jira sprint.",
    ),
    (
        "add_issues_to_sprint",
        "Add Issues to Sprint",
        "destructive",
        "sprint_id issue_keys",
        "Add issues to a Jira sprint.",
    ),
    (
        "move_issues_to_backlog",
        "Move Issues to Backlog",
        "not-read-only",
        "issue_keys",
        "Move issues to the backlog, removing them from any sprint.",
    ),
    (
        "get_project_issue_types",
        "Get Project Issue Types",
        "read",
        "project_key",
        "Get available issue types for a Jira project.",
    ),
    (
        "get_create_fields",
        "Get Create Fields",
        "read",
        "project_key issue_type_id",
        "Get fields available for creating an issue of a specific type.",
    ),
    (
        "get_project_versions",
        "Get Project Versions",
        "read",
        "project_key",
        "Get all fix versions for a specific Jira project.",
    ),
    (
        "get_project_components",
        "Get Project Components",
        "read",
        "project_key",
        "Get all components for a specific Jira project.",
    ),
    (
        "get_all_projects",
        "Get All Projects",
        "read",
        "include_archived:bool=false",
        "Get all Jira projects accessible to the current user.",
    ),
    (
        "search_projects",
        "Search Projects",
        "read",
        "query max_results:int=20 current_project_ids?",
        "Search for Jira projects by name or key prefix.",
    ),
    (
        "get_project_fields",
        "Get Project Fields",
        "read",
        "project_key",
        "Get the fields available on issues of a project (the create schema).",
    ),
    (
        "get_service_desk_for_project",
        "Get Service Desk For Project",
        "read",
        "project_key",
        "Get the Jira Service Desk associated with a project key.",
    ),
    (
        "get_service_desk_queues",
        "Get Service Desk Queues",
        "read",
        "service_desk_id start_at:int=0 limit:int=50",
        "Get queues for a Jira Service Desk.",
    ),
    (
        "get_queue_issues",
        "Get Queue Issues",
        "read",
        "service_desk_id queue_id start_at:int=0 limit:int=50",
        "Get issues from a Jira Service Desk queue.",
    ),
    (
        "get_request_types",
        "Get Request Types",
        "read",
        "service_desk_id start_at:int=0 limit:int=50",
        "Get request types for a Jira Service Management service desk.",
    ),
    (
        "get_request_type_fields",
        "Get Request Type Fields",
        "read",
        "service_desk_id request_type_id",
        "Get field definitions for a Jira Service Management request type.",
    ),
    (
        "create_customer_request",
        "Create Customer Request",
        "destructive",
        "service_desk_id request_type_id request_field_values "
        "raise_on_behalf_of? request_participants? attachments? strict_on_behalf:bool=false",
        "Create a Jira Service Management customer request.",
    ),
    (
        "create_version",
        "Create Version",
        "write",
        "project_key name start_date? release_date? description?",
        "Create a new fix version in a Jira project.",
    ),
    (
        "batch_create_versions",
        "Batch Create Versions",
        "write",
        "project_key versions",
        "Batch create multiple versions in a Jira project.",
    ),
    (
        "update_version",
        "Update Version",
        "destructive",
        "version_id name? description? start_date? release_date? archived:bool? released:bool?",
        "Update an existing fix version in a Jira project.",
    ),
    (
        "get_issue_proforma_forms",
        "Get Issue Forms",
        "read",
        "issue_key",
        "Get all ProForma forms associated with a Jira issue.",
    ),
    (
        "get_proforma_form_details",
        "Get Form Details",
        "read",
        "issue_key form_id",
        "Get detailed information about a specific ProForma form.",
    ),
    (
        "update_proforma_form_answers",
        "Update Form Answers",
        "destructive",
        "issue_key form_id answers:list",
        "Update form field answers using the Jira Forms REST API.",
    ),
    (
        "get_issue_dates",
        "Get Issue Dates",
        "read",
        "issue_key include_status_changes:bool=true include_status_summary:bool=true",
        "Get date information and status transition history for a Jira issue.",
    ),
    (
        "get_issue_sla",
        "Get Issue SLA",
        "read",
        "issue_key metrics? working_hours_only:bool? include_raw_dates:bool=false",
        "Calculate SLA metrics for a Jira issue.",
    ),
    (
        "get_issue_development_info",
        "Get Issue Development Info",
        "read",
        "issue_key application_type? data_type?",
        "Get development information (PRs, commits, branches) linked to a Jira issue.",
    ),
    (
        "get_issues_development_info",
        "Get Issues Development Info",
        "read",
        "issue_keys application_type? data_type?",
        "Get development information for multiple Jira issues.",
    ),
    (
        "get_project_epic_hierarchy",
        "Get Project Epic Hierarchy",
        "read",
        "project_key max_epics:int=200",
        "Group a project's epics under their cross-project parent issues.",
    ),
    (
        "get_cross_project_dependencies",
        "Get Cross-Project Dependencies",
        "read",
        "project_key max_issues:int=200",
        "Find all cross-project issue links for a project.",
    ),
)
_GET_ISSUE = (
    "get_issue",
    "Get Issue",
    "read",
    "issue_key fields=DEFAULT_FIELDS expand? comment_limit:int=10 properties? update_history:bool=true include?",
    "Get details of a specific Jira issue.",
)


def load_demo_tickets() -> dict[str, dict[str, Any]]:
    """The demo tickets, key -> raw mcp-atlassian-shaped issue dict (as jira_get_issue returns it)."""
    text = resources.files("jira_brief").joinpath("demo_tickets.json").read_text(encoding="utf-8")
    tickets: dict[str, dict[str, Any]] = json.loads(text)
    return tickets


def build_server(tickets: dict[str, dict[str, Any]] | None = None, *, full_catalog: bool = True) -> MCPServer:
    """An MCP server with mcp-atlassian's tool names, annotations and result shape, serving `tickets`.

    Every call lands in `server.calls` as (tool name, arguments with defaults filled in).
    With full_catalog=False only jira_get_issue is registered.
    """
    issues = load_demo_tickets() if tickets is None else tickets
    calls: list[Call] = []
    handlers = _read_handlers(issues)
    tools = []
    for entry in (_GET_ISSUE, *(_CATALOG if full_catalog else ())):
        name, _, hint, spec, _ = entry
        tool = _make_tool(
            name, spec, handler=handlers.get(name, _empty_read if hint == "read" else _write), calls=calls
        )
        tools.append(_described(entry, tool))
    server = _quiet_server(tools)
    server.calls = calls  # type: ignore[attr-defined]
    return server


_DESCRIBED: dict[str, Tool] = {}


def _described(entry: tuple[str, str, str, str, str], tool: Callable[..., Any]) -> Tool:
    """The MCP tool for `tool`: its schema, built once per process from the first function of that name
    (building one costs ~3 ms of pydantic work, 0.2 s for the catalog), then shared with the function
    swapped, since every demo server's functions take the same arguments."""
    from mcp.server.mcpserver.tools.base import Tool

    name, title, hint, _, description = entry
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
        doc = _PARAM_DOCS.get(f"{tool}.{name}") or _PARAM_DOCS.get(name, name.replace("_", " ").capitalize())
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
