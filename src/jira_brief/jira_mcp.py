"""The MCP side: connect to the Jira MCP server, choose the read-only tools, read tickets."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shlex
import tempfile
from collections.abc import AsyncIterator, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jira_brief.errors import JiraBriefError, TicketError, UsageError
from jira_brief.keys import keys_in
from jira_brief.network import http_client, tls_advice, tls_failure
from jira_brief.settings import Settings, mask_url
from jira_brief.tickets import Ticket, issue_in_answer, normalize, render_ticket

ISSUE_TOOL_NAMES = ("jira_get_issue", "getJiraIssue", "get_issue", "getIssue", "jira_issue_get")
ISSUE_ARG_NAMES = ("issue_key", "issueIdOrKey", "issueKey", "issue_id_or_key", "key", "issue")
# One server-sent event over streamable HTTP may carry this much (the SDK's default, 1 MiB, is less than
# one big ticket with its comments); still bounded, so a broken server cannot take all the memory.
MAX_SSE_EVENT = 32 << 20
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
STDIO_ENV_PREFIXES = ("JIRA_",)
STDIO_ENV_NAMES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "REQUESTS_CA_BUNDLE",
    "LANG",
    "LC_ALL",
    "TMPDIR",
)


def _no_server() -> UsageError:
    return UsageError(
        "no Jira MCP server configured: set --mcp-url or --mcp-command "
        "(JIRA_BRIEF_MCP_URL / JIRA_BRIEF_MCP_COMMAND), or try `jira-brief demo`"
    )


def check_server_configured(settings: Settings) -> None:
    """Fail before any work when no MCP server is configured: a usage error, exit code 2."""
    if settings.mcp_server is None and not (settings.mcp_url or settings.mcp_command):
        raise _no_server()


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


def refusal(tool: Any) -> str | None:
    """Why a tool may not be offered to the model, or None when it is read-only."""
    annotations = getattr(tool, "annotations", None)
    if not (annotations is not None and getattr(annotations, "read_only_hint", None) is True):
        return "not annotated readOnlyHint: true"
    verb = write_verb(tool.name)
    return f"its name says it writes ({verb!r})" if verb else None


def declared_writer(tool: Any) -> bool:
    """Whether the server's annotations leave the tool able to write: MCP's readOnlyHint defaults to
    false, so an annotated tool is a writer unless it says readOnlyHint: true. Only a tool with no
    annotations at all can be vouched for with --allow-tool."""
    annotations = getattr(tool, "annotations", None)
    return annotations is not None and getattr(annotations, "read_only_hint", None) is not True


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

    def arguments(self, key: str) -> dict[str, Any]:
        fixed = {name: _fill(value, key) for name, value in self.fixed.items()}
        return {**({self.key_arg: key} if self.sends_key else {}), **self.extra, **fixed}


class NoIssueToolError(ServerError):
    """No get-issue tool could be chosen; carries the server's tools so `doctor` can list them."""

    def __init__(self, message: str, tools: list[Any]) -> None:
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


def _pick_tool(tools: list[Any], settings: Settings) -> Any:
    """The tool named by --issue-tool (never one that may write), else the first get-issue tool found."""
    by_name = {tool.name: tool for tool in tools}
    if settings.issue_tool:
        if settings.issue_tool not in by_name:
            raise NoIssueToolError(
                f"the MCP server has no tool {settings.issue_tool!r} (--issue-tool); "
                "run `jira-brief doctor` to list its tools",
                tools,
            )
        tool = by_name[settings.issue_tool]
        if declared_writer(tool) or write_verb(tool.name):  # a config file must not make a read write
            raise ServerError(f"--issue-tool {tool.name!r} may write to Jira; name a tool that only reads")
        return tool
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


def find_issue_tool(tools: list[Any], settings: Settings) -> IssueTool:
    """Detect the get-issue tool, its key argument and the arguments to add, or take
    --issue-tool / --issue-arg / --issue-args."""
    tool = _pick_tool(tools, settings)
    properties = (tool.input_schema or {}).get("properties", {})
    fixed = json.loads(settings.issue_args) if settings.issue_args else {}
    carries_key = any("{key}" in text for text in _strings(fixed))
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
        elif name == "comment_limit":
            added[name] = typed(prop, comments_to_ask(prop, settings.comment_limit))
        elif (option := fuller_option(name, prop)) is not None:
            added[name] = option
    return added


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
    options = [str(option) for option in prop.get("enum") or []]
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


@dataclass
class JiraReader:
    """One MCP session shared by every ticket of a run."""

    client: Any
    issue_tool: IssueTool
    tools: list[Any]
    offered: dict[str, Any]
    refused: dict[str, str]
    settings: Settings
    server_label: str
    fetched: dict[str, Ticket] = field(default_factory=dict)

    async def fetch(self, key: str) -> Ticket:
        """Read one ticket through the get-issue tool and normalize it."""
        text, structured = await self._call_tool(self.issue_tool.name, self.issue_tool.arguments(key), key)
        raw = issue_in_answer(text, structured, key)
        ticket = normalize(raw, key, acceptance_field=self.settings.acceptance_field)
        if not (ticket.title or ticket.description):
            raise TicketError(
                f"{key}: the MCP server's {self.issue_tool.name} returned no title and no description "
                f"(it answered: {_first_line(text)}); check the key, or run `jira-brief doctor {key}`"
            )
        limit = self.settings.comment_limit
        ticket = dataclasses.replace(ticket, comments=ticket.comments[-limit:] if limit else ())
        self.fetched[ticket.key] = ticket
        return ticket

    async def call_for_model(self, name: str, arguments: dict[str, Any], allowed_keys: Iterable[str]) -> str:
        """Run a tool the model asked for, or refuse it without reaching the server."""
        if name not in self.offered:
            reason = self.refused.get(name, "it is not offered to the model")
            return f"Error: tool {name!r} refused ({reason}). Only these tools may be used: {', '.join(self.offered)}."
        allowed = {key.upper() for key in allowed_keys}
        asked = {key for value in _strings(arguments) for key in keys_in(value.upper())}
        outside = sorted(asked - allowed)
        if outside:
            return (
                f"Error: refused: {', '.join(outside)} is not one of this run's tickets ({', '.join(sorted(allowed))})."
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
            raise TicketError(f"{label}: {_tool_error(text)}")
        return text, getattr(result, "structured_content", None)


PROBLEM_LINE = re.compile(r"Error|error:|missing|required", re.I)
RUNTIME_BANNER = re.compile(r"^(Node\.js|Deno|Bun|Python)\s+v?\d[\w.]*$", re.I)


def stderr_reason(errlog: Any) -> str:
    """The stderr line of a stdio server that says why it stopped: the last one naming an error or
    something missing or required (not a stack frame), else the last line that is not a runtime banner."""
    try:
        errlog.seek(0)
        lines = [line.strip() for line in errlog.read()[-8000:].splitlines() if line.strip()]
    except (OSError, ValueError):
        return ""
    lines = [line for line in lines if not RUNTIME_BANNER.match(line)]
    frames = re.compile(r"^(at |File \"|Traceback|\^+$|throw )")
    named = [line for line in lines if PROBLEM_LINE.search(line) and not frames.match(line)]
    found = named[-1] if named else lines[-1] if lines else ""
    return found[:300]


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "(empty)"
    return line[:200]


def _tool_error(text: str) -> str:
    """A tool's error text, whole up to ~600 characters (its explanation often follows the first line)."""
    line = re.sub(r"\s+", " ", text).strip()[:600] or "(no message)"
    line = line.removeprefix("Error executing tool ")
    line = re.sub(r"^\w+: ", "", line) if line.startswith(("jira_", "get")) else line
    if re.search(r"not found|does not exist", line, re.I):
        return f"not found on the Jira server ({line}); check the key and that your Jira account can see it"
    if re.search(r"401|403|unauthori[sz]ed|forbidden|permission", line, re.I):
        return f"no access ({line}); check the Jira credentials given to the MCP server"
    return line


def describe_error(error: BaseException, where: str, http_status: int | None = None, proxy: str | None = None) -> str:
    """One line for an MCP connection or call failure, with what to do."""
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    if isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    text = str(error) or type(error).__name__
    name = type(error).__name__
    if tls_failure(error):
        return tls_advice(where)
    status = http_status or getattr(getattr(error, "response", None), "status_code", None)
    if status in (401, 403) or re.search(r"\b(401|403)\b|unauthori[sz]ed", text, re.I):
        return f"{where} refused the credentials ({status or 'unauthorized'}); check --mcp-header / the Jira token"
    if "ConnectError" in name or "connection refused" in text.lower() or "All connection attempts" in text:
        if proxy:
            return (
                f"cannot reach the Jira MCP server at {where} through the proxy {proxy}; "
                "check the proxy (--proxy / HTTPS_PROXY, NO_PROXY) and --mcp-url"
            )
        return f"cannot reach the Jira MCP server at {where}; check that it runs and --mcp-url is right"
    if "Timeout" in name or "timed out" in text.lower():
        return f"the Jira MCP server at {where} timed out; it may be overloaded, try again or raise --timeout"
    if status is not None:
        return f"{where} answered HTTP {status}; check --mcp-url"
    return f"the Jira MCP server at {where} failed: {_first_line(text)}"


def stdio_environment(settings: Settings) -> dict[str, str]:
    """Only what a stdio Jira server needs: JIRA_* and network variables, plus --mcp-env.
    Our LLM and GitHub secrets are never passed. READ_ONLY_MODE is on unless --mcp-env says otherwise."""
    env = {
        name: value
        for name, value in os.environ.items()
        if (name.startswith(STDIO_ENV_PREFIXES) and not name.startswith("JIRA_BRIEF_")) or name in STDIO_ENV_NAMES
    }
    env["READ_ONLY_MODE"] = "true"
    env.update({name: secret.reveal() for name, secret in settings.mcp_env})
    return env


def proxy_for(settings: Settings) -> str | None:
    """The proxy the MCP URL goes through, password masked, or None."""
    if not settings.mcp_url:
        return None
    if settings.proxy:
        return mask_url(settings.proxy.reveal())
    import urllib.request

    host = urlsplit(settings.mcp_url).hostname or ""
    if urllib.request.proxy_bypass_environment(host):  # type: ignore[attr-defined]
        return None
    found = urllib.request.getproxies_environment().get(urlsplit(settings.mcp_url).scheme)
    return mask_url(found) if found else None


def server_label(settings: Settings) -> str:
    """How errors name the MCP server: its URL (password masked), its command, or the demo."""
    if settings.mcp_server is not None:
        return "the embedded demo Jira"
    if settings.mcp_url:
        return mask_url(settings.mcp_url)
    if settings.mcp_command:
        return f"`{program_of(settings.mcp_command)}` (stdio)"
    return "the embedded demo Jira"


def program_of(command: str) -> str:
    """The program a command line runs, past `env`, its options and NAME=value assignments."""
    words = shlex.split(command)
    index = 0
    if words and Path(words[0]).name == "env":
        index = 1
        while index < len(words) and (words[index].startswith("-") or "=" in words[index]):
            index += 2 if words[index] in ("-u", "--unset", "-C", "--chdir", "-S") else 1
    return Path(words[index]).name if index < len(words) else (words[0] if words else command)


async def _transport(settings: Settings, stack: AsyncExitStack, statuses: list[int], stderr_tail: list[Any]) -> Any:
    """What mcp.Client connects to: an in-process server, a URL (HTTP/SSE), or a stdio command."""
    if settings.mcp_server is not None:
        return settings.mcp_server
    headers = {name: secret.reveal() for name, secret in settings.mcp_headers}
    if settings.mcp_url:
        use_sse = settings.mcp_transport == "sse" or (
            settings.mcp_transport == "auto" and settings.mcp_url.rstrip("/").endswith("/sse")
        )
        if use_sse:
            from mcp.client.sse import sse_client

            return sse_client(
                settings.mcp_url,
                headers=headers,
                timeout=settings.timeout,
                httpx_client_factory=lambda headers=None, timeout=None, auth=None: http_client(
                    settings, headers=headers, timeout=settings.timeout, read_timeout=300.0
                ),
            )
        from mcp.client.streamable_http import streamable_http_client

        async def record(response: Any) -> None:
            if response.status_code >= 400:  # the SDK turns HTTP errors into a generic message
                statuses.append(response.status_code)

        client = await stack.enter_async_context(
            http_client(
                settings,
                headers=headers,
                timeout=settings.timeout,
                read_timeout=300.0,
                event_hooks={"response": [record]},
            )
        )
        return streamable_http_client(settings.mcp_url, http_client=client, max_sse_event_size=MAX_SSE_EVENT)
    if settings.mcp_command:
        from mcp import StdioServerParameters
        from mcp.client.stdio import stdio_client

        argv = shlex.split(settings.mcp_command)
        errlog = stack.enter_context(tempfile.TemporaryFile("w+", encoding="utf-8"))
        stderr_tail.append(errlog)
        params = StdioServerParameters(command=argv[0], args=argv[1:], env=stdio_environment(settings))
        return stdio_client(params, errlog=errlog)
    raise _no_server()


def choose_tools(tools: list[Any], issue_tool: IssueTool, settings: Settings) -> tuple[dict[str, Any], dict[str, str]]:
    """(offered, refused): the get-issue tool plus --allow-tool ones; every other tool with its reason."""
    refused = {tool.name: reason for tool in tools if (reason := refusal(tool))}
    offered = {}
    for tool in tools:
        if tool.name in settings.allow_tools and declared_writer(tool):
            raise ServerError(
                f"--allow-tool {tool.name!r}: the server declares that it writes; "
                "only read tools can be offered to the model"
            )
        if tool.name == issue_tool.name or tool.name in settings.allow_tools:
            offered[tool.name] = tool
            refused.pop(tool.name, None)
        elif tool.name not in refused:
            refused[tool.name] = "read-only but not needed for a brief (add it with --allow-tool)"
    unknown = [name for name in settings.allow_tools if name not in offered]
    if unknown:
        raise ServerError(f"--allow-tool {unknown[0]!r}: the MCP server has no such tool")
    return offered, refused


@asynccontextmanager
async def open_reader(settings: Settings) -> AsyncIterator[JiraReader]:
    """Connect once, list the tools, pick the get-issue tool; the session lives for the whole run."""
    try:
        async with _reader(settings) as reader:
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
async def _reader(settings: Settings) -> AsyncIterator[JiraReader]:
    from mcp import Client

    label = server_label(settings)
    statuses: list[int] = []
    stderr: list[Any] = []
    async with AsyncExitStack() as stack:
        target = await _transport(settings, stack, statuses, stderr)
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
        offered, refused = choose_tools(tools, issue_tool, settings)
        yield JiraReader(client, issue_tool, tools, offered, refused, settings, label)


async def _with_cloud_id(client: Any, issue_tool: IssueTool, tools: list[Any], label: str) -> IssueTool:
    """Atlassian's remote server needs the site's cloudId: take it from getAccessibleAtlassianResources."""
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
    except (ValueError, LookupError, TypeError):
        raise ServerError(f"{label} listed no Atlassian site this account can read") from None
    return dataclasses.replace(issue_tool, extra={**issue_tool.extra, "cloudId": cloud_id})


async def _list_all_tools(client: Any) -> list[Any]:
    tools, cursor = [], None
    for _ in range(100):  # a server whose cursor never ends cannot hang us
        page = await client.list_tools(cursor=cursor) if cursor else await client.list_tools()
        tools.extend(page.tools)
        cursor = getattr(page, "next_cursor", None)
        if not cursor:
            break
    return tools


def openai_name(name: str) -> str:
    """A tool name as OpenAI-compatible APIs accept it (letters, digits, _ and -, 64 at most)."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)[:64]


def openai_tool(tool: Any, issue_tool: IssueTool) -> dict[str, Any]:
    """The OpenAI function schema of an offered tool; the get-issue tool shows only its key argument."""
    if tool.name == issue_tool.name:
        parameters = {
            "type": "object",
            "properties": {issue_tool.key_arg: {"type": "string", "description": "Jira issue key, e.g. PAY-142"}},
            "required": [issue_tool.key_arg],
        }
        description = "Read one Jira issue (fields, description, acceptance criteria, comments)."
    else:
        parameters = tool.input_schema or {"type": "object", "properties": {}}
        description = (tool.description or "")[:500]
    function = {"name": openai_name(tool.name), "description": description, "parameters": parameters}
    return {"type": "function", "function": function}
