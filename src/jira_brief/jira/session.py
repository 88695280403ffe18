"""One MCP session per run: connect, list the tools, choose the get-issue tool and the tools offered to
the model, read tickets, and run (or refuse) the model's tool calls."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Protocol

from jira_brief.config.settings import Settings
from jira_brief.errors import JiraBriefError, TicketError
from jira_brief.jira.guard import outside_run
from jira_brief.jira.issue_tool import IssueTool, find_issue_tool
from jira_brief.jira.normalize import issue_in_answer, normalize_issue
from jira_brief.jira.ticket import Ticket, render_ticket
from jira_brief.jira.tools import ServerError, choose_tools
from jira_brief.jira.transports import InProcessServer, proxy_for, server_label, transport
from jira_brief.jira.wording import describe_error, first_line, stderr_reason, tool_error

if TYPE_CHECKING:
    from mcp import Client
    from mcp.types import Tool


class Reader(Protocol):
    """What writing a brief needs of a Jira session: the get-issue tool, the tools offered to the model,
    reading a ticket, and running (or refusing) a tool call the model made."""

    @property
    def issue_tool(self) -> IssueTool: ...

    @property
    def offered(self) -> dict[str, Tool]: ...

    async def fetch(self, key: str) -> Ticket: ...

    async def call_for_model(self, name: str, arguments: dict[str, Any], allowed_keys: Iterable[str]) -> str: ...


@dataclass(frozen=True)
class IssueRead:
    """One ticket read: the issue as the server answered it (for `doctor`), and the Ticket made of it."""

    raw: dict[str, Any]
    ticket: Ticket


@dataclass
class JiraReader:
    """One MCP session shared by every ticket of a run."""

    client: Client
    issue_tool: IssueTool
    tools: list[Tool]
    offered: dict[str, Tool]
    refused: dict[str, str]
    settings: Settings
    server_label: str
    fetched: dict[str, Ticket] = field(default_factory=dict)

    async def fetch(self, key: str) -> Ticket:
        """Read one ticket through the get-issue tool and normalize it."""
        return (await self.read(key)).ticket

    async def read(self, key: str) -> IssueRead:
        """Read one ticket through the get-issue tool: the issue as the server answered it, and its Ticket."""
        text, structured = await self._call_tool(self.issue_tool.name, self.issue_tool.arguments(key), key)
        raw = issue_in_answer(text, structured, key)
        ticket = normalize_issue(
            raw, key, acceptance_field=self.settings.acceptance_field, epic_field=self.settings.epic_field
        )
        if not (ticket.title or ticket.description):
            raise TicketError(
                f"{key}: the MCP server's {self.issue_tool.name} returned no title and no description "
                f"(it answered: {first_line(text)}); check the key, or run `jira-brief doctor {key}`"
            )
        limit = self.settings.comment_limit
        ticket = dataclasses.replace(ticket, comments=ticket.comments[-limit:] if limit else ())
        self.fetched[ticket.key] = ticket
        return IssueRead(raw, ticket)

    async def call_for_model(self, name: str, arguments: dict[str, Any], allowed_keys: Iterable[str]) -> str:
        """Run a tool the model asked for, or refuse it without reaching the server."""
        if name not in self.offered:
            reason = self.refused.get(name, "it is not offered to the model")
            return f"Error: tool {name!r} refused ({reason}). Only these tools may be used: {', '.join(self.offered)}."
        allowed = {key.upper() for key in allowed_keys}
        outside = outside_run(arguments, allowed)
        if outside is not None:
            return (
                f"Error: refused: {outside} is not one of this run's tickets ({', '.join(sorted(allowed))}); "
                "name them by key, and in JQL only as `key in (…)`."
            )
        if name == self.issue_tool.name:
            key = str(arguments.get(self.issue_tool.key_arg, "")).strip().upper()
            if key not in allowed:  # ids, odd spellings: only this run's tickets may be read
                listed = ", ".join(sorted(allowed))
                return f"Error: refused: {key or 'that issue'} is not one of this run's tickets ({listed})."
            ticket = self.fetched.get(key) or await self.fetch(key)
            return render_ticket(ticket, self.settings.ticket_budget // 2)
        text, _ = await self._call_tool(name, arguments, name)
        return text[: self.settings.ticket_budget // 2]

    async def _call_tool(self, name: str, arguments: dict[str, Any], label: str) -> tuple[str, Any]:
        """(text, structured content) of a tool call; transport and tool errors as TicketError."""
        try:
            result = await self.client.call_tool(name, arguments)
        except Exception as error:  # boundary: the MCP SDK raises transport and protocol errors alike
            raise TicketError(f"{label}: {describe_error(error, self.server_label)}") from None
        text = "\n".join(getattr(item, "text", "") for item in result.content if getattr(item, "text", None))
        if result.is_error:
            raise TicketError(f"{label}: {tool_error(text)}")
        return text, getattr(result, "structured_content", None)


@asynccontextmanager
async def open_reader(settings: Settings, server: InProcessServer | None = None) -> AsyncIterator[JiraReader]:
    """Connect once (to `server` when one runs in this process, else as the settings say), list the tools,
    pick the get-issue tool; the session lives for the whole run."""
    try:
        async with _reader(settings, server) as reader:
            yield reader
    except BaseExceptionGroup as group:  # the MCP client's task group wraps what is raised inside it
        ours = _our_error(group)
        if ours is None:
            raise
        raise ours from None


def _our_error(error: BaseException) -> JiraBriefError | None:
    if isinstance(error, JiraBriefError):
        return error
    if isinstance(error, BaseExceptionGroup):
        return next((found for inner in error.exceptions if (found := _our_error(inner))), None)
    return None


@asynccontextmanager
async def _reader(settings: Settings, server: InProcessServer | None) -> AsyncIterator[JiraReader]:
    from mcp import Client  # the MCP SDK only once a session opens: `keys` and idle hooks never load it

    _quiet_sdk_logs()
    label = server_label(settings, server)
    statuses: list[int] = []
    stderr: list[IO[str]] = []
    async with AsyncExitStack() as stack:
        target = await transport(settings, server, stack, statuses, stderr)
        try:
            client = await stack.enter_async_context(Client(target, read_timeout_seconds=settings.timeout))
            tools = await _list_all_tools(client)
        except JiraBriefError:
            raise
        except Exception as error:  # boundary: connection failures arrive as many exception types
            status = statuses[-1] if statuses else None
            said = stderr_reason(stderr[0]) if stderr else ""
            raise ServerError(
                describe_error(error, label, status, proxy_for(settings)) + (f"; it said: {said}" if said else "")
            ) from None
        issue_tool = await _with_cloud_id(client, find_issue_tool(tools, settings), tools, label)
        offered, refused = choose_tools(tools, issue_tool.name, settings)
        yield JiraReader(client, issue_tool, tools, offered, refused, settings, label)


def _quiet_sdk_logs() -> None:
    """The SDK logs the failures it hands us, tracebacks included; with no logging set up they would reach
    stderr beside our one line. A NullHandler keeps them from there, and for a host that set logging up."""
    sdk = logging.getLogger("mcp")
    if not any(isinstance(handler, logging.NullHandler) for handler in sdk.handlers):
        sdk.addHandler(logging.NullHandler())


async def _with_cloud_id(client: Client, issue_tool: IssueTool, tools: list[Tool], label: str) -> IssueTool:
    """Atlassian's remote server needs the site's cloudId: the one --issue-args gives (a site URL will do),
    else the first site getAccessibleAtlassianResources lists, at the cost of one more call."""
    schema = next(tool.input_schema or {} for tool in tools if tool.name == issue_tool.name)
    if "cloudId" not in schema.get("required", []) or "cloudId" in issue_tool.fixed:
        return issue_tool
    if not any(tool.name == "getAccessibleAtlassianResources" for tool in tools):
        raise ServerError(f"{issue_tool.name} on {label} needs a cloudId and the server cannot list its sites")
    result = await client.call_tool("getAccessibleAtlassianResources", {})
    text = "".join(getattr(item, "text", "") for item in result.content)
    try:
        sites = json.loads(text)
        cloud_id = sites[0]["id"]
        urls = tuple(str(site.get("url") or site["id"]) for site in sites if isinstance(site, dict))
    except (ValueError, LookupError, TypeError, AttributeError):
        raise ServerError(f"{label} listed no Atlassian site this account can read") from None
    return dataclasses.replace(issue_tool, extra={**issue_tool.extra, "cloudId": cloud_id}, sites=urls)


async def _list_all_tools(client: Client) -> list[Tool]:
    tools: list[Tool] = []
    cursor = None
    for _ in range(100):  # a server whose cursor never ends cannot hang us
        page = await client.list_tools(cursor=cursor) if cursor else await client.list_tools()
        tools.extend(page.tools)
        cursor = getattr(page, "next_cursor", None)
        if not cursor:
            break
    return tools
