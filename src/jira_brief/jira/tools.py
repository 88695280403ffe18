"""Which MCP tools jira-brief may use: a tool is offered to the model only when its annotations say it
only reads and its name has no write verb; everything else is refused, with the reason."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from jira_brief.config.settings import Settings
from jira_brief.errors import JiraBriefError

if TYPE_CHECKING:
    from mcp.types import Tool

# How deep (in JSON levels) a tool's schemas may nest; real ones stay under twenty.
MAX_SCHEMA_DEPTH = 64
READ_VERBS = frozenset({"get", "search", "list", "read", "fetch", "find", "lookup", "query", "view", "describe"})
WRITE_VERBS = frozenset(
    {
        "create",
        "update",
        "delete",
        "remove",
        "transition",
        "add",
        "assign",
        "link",
        "unlink",
        "edit",
        "move",
        "set",
        "upload",
        "attach",
        "batch",
        "worklog",
        "post",
        "put",
        "patch",
        "write",
        "submit",
        "merge",
        "archive",
        "clone",
        "rank",
        "reply",
        "log",
        "vote",
        "watch",
        "unwatch",
        "restore",
        "publish",
    }
)
# Verbs that make a name a write even after a read verb ("get_and_update...").
STRONG_WRITE_VERBS = frozenset(
    {
        "create",
        "update",
        "delete",
        "remove",
        "transition",
        "edit",
        "set",
        "upload",
        "assign",
        "add",
        "batch",
        "move",
        "post",
        "put",
        "patch",
        "write",
    }
)


class ServerError(JiraBriefError):
    """The MCP server cannot be used at all (down, refused, no get-issue tool)."""


def name_words(name: str) -> list[str]:
    """`jira_get_issue` and `getJiraIssue` as lower-case words, for verb checks."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [word.lower() for word in re.split(r"[\s_.\-/]+", spaced) if word]


def write_verb(name: str) -> str | None:
    """The write verb in a tool's name, if its name says it changes something."""
    words = [word for word in name_words(name) if word not in ("jira", "confluence", "atlassian")]
    if words and words[0] in READ_VERBS:
        return next((word for word in words if word in STRONG_WRITE_VERBS), None)
    return next((word for word in words if word in WRITE_VERBS), None)


def refusal(tool: Tool) -> str | None:
    """Why a tool may not be offered to the model, or None when it is read-only."""
    annotations = getattr(tool, "annotations", None)
    if not (annotations is not None and getattr(annotations, "read_only_hint", None) is True):
        return "not annotated readOnlyHint: true"
    verb = write_verb(tool.name)
    return f"its name says it writes ({verb!r})" if verb else None


def declared_writer(tool: Tool) -> bool:
    """Whether the server's annotations leave the tool able to write: MCP's readOnlyHint defaults to
    false, so an annotated tool is a writer unless it says readOnlyHint: true. Only a tool with no
    annotations at all can be vouched for with --allow-tool."""
    annotations = getattr(tool, "annotations", None)
    return annotations is not None and getattr(annotations, "read_only_hint", None) is not True


def schema_depth(schema: Any, limit: int) -> int:
    """How deep a JSON schema (or any JSON value) nests, counted up to `limit` + 1, without recursion."""
    deepest, stack = 0, [(schema, 0)]
    while stack and deepest <= limit:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


def check_schemas(tool: Tool) -> None:
    """A tool we call must have schemas of a sane depth: the MCP SDK checks its answers against them
    recursively (a schema nested 100 deep ends in a RecursionError), and the model reads them."""
    for name, schema in (("input", tool.input_schema), ("output", getattr(tool, "output_schema", None))):
        if schema_depth(schema, MAX_SCHEMA_DEPTH) > MAX_SCHEMA_DEPTH:
            raise ServerError(
                f"the MCP server's tool {tool.name!r} has an {name} schema nested deeper than "
                f"{MAX_SCHEMA_DEPTH} levels; jira-brief does not call it: fix the server or choose another tool"
            )


def choose_tools(tools: Sequence[Tool], issue_tool: str, settings: Settings) -> tuple[dict[str, Tool], dict[str, str]]:
    """(offered, refused): the get-issue tool plus --allow-tool ones; every other tool with its reason."""
    refused = {tool.name: reason for tool in tools if (reason := refusal(tool))}
    offered = {}
    for tool in tools:
        if tool.name in settings.allow_tools and declared_writer(tool):
            raise ServerError(
                f"--allow-tool {tool.name!r}: the server declares that it writes; "
                "only read tools can be offered to the model"
            )
        if tool.name == issue_tool or tool.name in settings.allow_tools:
            check_schemas(tool)
            offered[tool.name] = tool
            refused.pop(tool.name, None)
        elif tool.name not in refused:
            refused[tool.name] = "read-only but not needed for a brief (add it with --allow-tool)"
    unknown = [name for name in settings.allow_tools if name not in offered]
    if unknown:
        raise ServerError(f"--allow-tool {unknown[0]!r}: the MCP server has no such tool")
    return offered, refused
