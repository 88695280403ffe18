"""The get-issue tool: detected among the server's tools (or named by the user), its key argument, and
the arguments jira-brief adds to read a whole ticket, typed from the tool's own schema."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jira_brief.config.settings import Settings
from jira_brief.jira.tools import ServerError, declared_writer, write_verb

if TYPE_CHECKING:
    from mcp.types import Tool

ISSUE_TOOL_NAMES = ("jira_get_issue", "getJiraIssue", "get_issue", "getIssue", "jira_issue_get")
ISSUE_ARG_NAMES = ("issue_key", "issueIdOrKey", "issueKey", "issue_id_or_key", "key", "issue")


@dataclass(frozen=True)
class IssueTool:
    """The server's get-issue tool: its name, key argument (the one the model sees; not sent when
    --issue-args carries `{key}`), the arguments jira-brief adds (typed from the tool's schema) and
    the user's fixed --issue-args."""

    name: str
    key_arg: str
    extra: dict[str, Any]
    fixed: dict[str, Any] = field(default_factory=dict)
    sends_key: bool = True
    sites: tuple[str, ...] = ()  # Atlassian sites listed to find the cloudId (the first is used)

    def arguments(self, key: str) -> dict[str, Any]:
        fixed = {name: _fill(value, key) for name, value in self.fixed.items()}
        return {**({self.key_arg: key} if self.sends_key else {}), **self.extra, **fixed}


class NoIssueToolError(ServerError):
    """No get-issue tool could be chosen; carries the server's tools so `doctor` can list them."""

    def __init__(self, message: str, tools: list[Tool]) -> None:
        super().__init__(message)
        self.tools = tools


def _fill(value: Any, key: str) -> Any:
    """`value` with `{key}` replaced by the issue key in every string, nested ones included."""
    if isinstance(value, str):
        return value.replace("{key}", key)
    if isinstance(value, list):
        return [_fill(item, key) for item in value]
    if isinstance(value, dict):
        return {name: _fill(item, key) for name, item in value.items()}
    return value


def _pick_tool(tools: list[Tool], settings: Settings) -> Tool:
    """The tool named by --issue-tool (never one that may write), else the first get-issue tool found."""
    by_name = {tool.name: tool for tool in tools}
    if settings.issue_tool:
        if settings.issue_tool not in by_name:
            raise NoIssueToolError(
                f"the MCP server has no tool {settings.issue_tool!r} (--issue-tool); "
                "run `jira-brief doctor` to list its tools",
                tools,
            )
        named = by_name[settings.issue_tool]
        if declared_writer(named) or write_verb(named.name):  # a config file must not make a read write
            raise ServerError(f"--issue-tool {named.name!r} may write to Jira; name a tool that only reads")
        return named
    tool = next((by_name[name] for name in ISSUE_TOOL_NAMES if name in by_name), None) or next(
        (t for t in tools if re.search(r"get_?(jira_?)?issue$", t.name, re.I)), None
    )
    if tool is None:
        raise NoIssueToolError(
            "the MCP server has no get-issue tool (such as jira_get_issue); name it with --issue-tool and "
            "--issue-arg or --issue-args; run `jira-brief doctor` to list its tools",
            tools,
        )
    return tool


def find_issue_tool(tools: list[Tool], settings: Settings) -> IssueTool:
    """Detect the get-issue tool, its key argument and the arguments to add, or take
    --issue-tool / --issue-arg / --issue-args."""
    tool = _pick_tool(tools, settings)
    properties = (tool.input_schema or {}).get("properties", {})
    fixed = json.loads(settings.issue_args) if settings.issue_args else {}
    carries_key = any("{key}" in text for text in strings(fixed))
    key_arg = settings.issue_arg or (
        None if carries_key else next((name for name in ISSUE_ARG_NAMES if name in properties), None)
    )
    if key_arg is None and not carries_key:
        raise NoIssueToolError(
            f"cannot tell which argument of {tool.name} takes the issue key; pass --issue-arg, "
            "or --issue-args with {key} in a value",
            tools,
        )
    added = added_arguments(properties, settings, set(fixed) | {key_arg})
    return IssueTool(tool.name, key_arg or "issue_key", added, fixed, sends_key=key_arg is not None)


# What jira-brief adds to a get-issue call when the tool declares the argument (typed from its schema).
ADDED = {
    "fields": ["*all"],  # the only way to get custom fields such as acceptance criteria and Epic Link
    "expand": ["names"],  # display names of custom fields, to recognise them
    "update_history": False,  # reading must not touch the user's Jira history
    "updateHistory": False,
}
FULLER_OPTIONS = ("full", "complete", "detailed", "all", "raw", "verbose")
# A generic REST tool's object of query parameters (`jira_get(path, queryParams, …)`): the same two
# parameters go there, since Jira's REST API reads them from the query string.
QUERY_PARAMS = re.compile(r"query_?(params|parameters)?|params|parameters", re.I)
QUERY_ADDED = {"fields": "*all", "expand": "names"}
# Comments asked for when a server says it keeps the *oldest* N: enough to hold the newest.
COMMENTS_WHEN_OLDEST_KEPT = 100


def added_arguments(properties: dict[str, Any], settings: Settings, given: set[str | None]) -> dict[str, Any]:
    """The arguments jira-brief adds, each only when the schema declares it and the user did not give it."""
    added: dict[str, Any] = {}
    for name, prop in properties.items():
        if name in given or not isinstance(prop, dict):
            continue
        if name in ADDED:
            added[name] = typed(prop, ADDED[name])
        elif QUERY_PARAMS.fullmatch(name) and schema_type(prop) == "object":
            added[name] = query_parameters(prop)
        elif name == "comment_limit":
            added[name] = typed(prop, comments_to_ask(prop, settings.comment_limit))
        elif (option := fuller_option(name, prop)) is not None:
            added[name] = option
    return added


def query_parameters(prop: dict[str, Any]) -> dict[str, Any]:
    """`fields=*all` and `expand=names` for an object of query parameters, each value in the type the
    schema gives the object's values (strings, mostly: they end up in a URL)."""
    options = [prop, *(option for option in prop.get("anyOf") or [] if isinstance(option, dict))]
    values: dict[str, Any] = next(
        (o["additionalProperties"] for o in options if isinstance(o.get("additionalProperties"), dict)), {}
    )
    return {name: typed(values, value) if schema_type(values) else value for name, value in QUERY_ADDED.items()}


def comments_to_ask(prop: dict[str, Any], wanted: int) -> int:
    """The one place that decides how many comments a ticket read asks for: only the newest `wanted`
    that are kept. mcp-atlassian returns the newest N since 0.22.0 (sooperset/mcp-atlassian#1218;
    before, the oldest); a server whose schema says it keeps the oldest or first N is asked for all
    it allows."""
    if wanted == 0:
        return 0
    if not re.search(r"oldest|first|earliest", str(prop.get("description") or ""), re.I):
        return wanted
    maximum = prop.get("maximum")
    return min(COMMENTS_WHEN_OLDEST_KEPT, maximum) if isinstance(maximum, int) else COMMENTS_WHEN_OLDEST_KEPT


def fuller_option(name: str, prop: dict[str, Any]) -> str | None:
    """An enum's fuller choice when its default gives less: `json` for an output format, else
    `full`/`detailed`/… for a detail level; None when the default is already the fullest."""
    options = [str(option) for option in schema_enum(prop)]
    default = str(prop.get("default", "")).lower()
    if "format" in name.lower() and "json" in options:
        return None if default == "json" else "json"
    fuller = next((option for option in options if option.lower() in FULLER_OPTIONS), None)
    return None if fuller is None or default in FULLER_OPTIONS else fuller


def schema_type(prop: dict[str, Any]) -> str | None:
    """The JSON type a schema property declares, looking through `anyOf` and nullable type lists."""
    kind = prop.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    for option in prop.get("anyOf") or prop.get("oneOf") or []:
        if isinstance(option, dict):
            kinds.append(option.get("type"))
    return next((k for k in kinds if isinstance(k, str) and k != "null"), None)


def schema_enum(prop: dict[str, Any]) -> list[Any]:
    """The choices a schema property declares, looking through `anyOf` (an optional enum)."""
    options = [prop, *(option for option in prop.get("anyOf") or prop.get("oneOf") or [] if isinstance(option, dict))]
    return next((list(option["enum"]) for option in options if isinstance(option.get("enum"), list)), [])


def typed(prop: dict[str, Any], value: Any) -> Any:
    """`value` in the type the schema declares: a list for array, a comma-joined string for string."""
    kind = schema_type(prop)
    if kind == "array":
        return value if isinstance(value, list) else [part.strip() for part in str(value).split(",")]
    if kind == "string":
        if isinstance(value, bool):
            return str(value).lower()
        return ",".join(str(item) for item in value) if isinstance(value, list) else str(value)
    if kind in ("integer", "number") and not isinstance(value, bool):
        return int(value) if kind == "integer" else value
    if kind == "boolean":
        return bool(value)
    return value


def strings(value: Any) -> Iterable[str]:
    """Every string inside `value` (the model's tool arguments: any depth, read without recursion)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
