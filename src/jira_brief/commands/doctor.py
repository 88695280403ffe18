"""`jira-brief doctor`: check each configured part and print a fix for each problem."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections import Counter
from collections.abc import Callable
from typing import Any

import click

from jira_brief.commands.options import DOCTOR_SETTINGS, echo_out, for_terminal, setting_options, settings_from
from jira_brief.config.network import describe_tls
from jira_brief.config.settings import Settings
from jira_brief.errors import JiraBriefError
from jira_brief.jira.demo.server import build_server
from jira_brief.jira.issue_tool import (
    FULLER_OPTIONS,
    NoIssueToolError,
    added_arguments,
    schema_enum,
    schema_type,
)
from jira_brief.jira.normalize import ISSUE_KEY, CustomField, custom_fields
from jira_brief.jira.session import JiraReader, open_reader
from jira_brief.jira.tools import declared_writer, write_verb
from jira_brief.jira.transports import InProcessServer, check_server_configured, server_label, site_variables
from jira_brief.llm.client import LLM, Usage, played_call

OK, BAD, INFO = "ok  ", "FAIL", "    "


async def check_mcp(
    settings: Settings,
    say: Callable[[str], None],
    key: str | None = None,
    server: InProcessServer | None = None,
    verbose: bool = False,
) -> int:
    """Connect, list tools, find the get-issue tool, show what is offered and what is refused; with
    `key`, read that ticket and say what was understood. Returns the number of problems seen."""
    if server is None and not (settings.mcp_url or settings.mcp_command):
        say(
            f"{BAD} MCP: no server configured. Fix: set --mcp-url URL or --mcp-command 'mcp-atlassian' "
            "(JIRA_BRIEF_MCP_URL / JIRA_BRIEF_MCP_COMMAND), or run `jira-brief doctor --demo`"
        )
        return 1
    try:
        check_server_configured(settings, server)  # a program not on PATH is said before any connection
    except JiraBriefError as error:
        say(f"{BAD} MCP: {error}")
        return 1
    say(f"{INFO} MCP: connecting to {server_label(settings, server)}…")  # a stdio server may take seconds to start
    try:
        async with open_reader(settings, server) as reader:
            say(f"{OK} MCP: connected to {reader.server_label}, {len(reader.tools)} tools listed")
            say(f"{OK} MCP: get-issue tool {_call_text(reader.issue_tool.name, reader.issue_tool.arguments('KEY'))}")
            say_sites(reader.issue_tool.sites, say)
            say(f"{INFO} offered to the model: {', '.join(reader.offered)}")
            say_refused(reader.refused, verbose, say)
            if key is None:
                say(f"{INFO} to see what a ticket read gives, run `jira-brief doctor KEY`")
                return 0
            return await check_ticket(reader, key, say)
    except NoIssueToolError as error:
        say(f"{BAD} MCP ({server_label(settings, server)}): {error}")
        list_tools(error.tools, settings, say)
        return 1
    except JiraBriefError as error:
        say(f"{BAD} MCP ({server_label(settings, server)}): {error}")
        return 1


def say_refused(refused: dict[str, str], verbose: bool, say: Callable[[str], None]) -> None:
    """The tools kept from the model, counted by reason (as they should be: no problem); each with --verbose."""
    reasons = Counter(_reason(why) for why in refused.values())
    counted = "; ".join(f"{count} {reason}" for reason, count in reasons.most_common())
    say(f"{INFO} kept from the model ({len(refused)}, as they should be): {counted or 'none'}")
    if not verbose:
        say(f"{INFO}   (--verbose lists them; --allow-tool NAME offers one more tool that only reads)")
        return
    for name, why in sorted(refused.items()):
        say(f"{INFO}   {name}: {why}")


def _reason(why: str) -> str:
    if "readOnlyHint" in why:
        return "may write (not annotated readOnlyHint: true)"
    if "writes" in why:
        return "may write (a write verb in the name)"
    return "only read, but a brief does not need them"


def say_sites(sites: tuple[str, ...], say: Callable[[str], None]) -> None:
    """Where the cloudId came from when it took one more call, and the flag that saves it."""
    if not sites:
        return
    more = f"; this account sees {len(sites)} sites, the first is used" if len(sites) > 1 else ""
    say(
        f"{INFO}   cloudId: the site {sites[0]}, found with getAccessibleAtlassianResources (one more call a run{more})"
    )
    say(f"{INFO}   Try: --issue-args '{json.dumps({'cloudId': sites[0]})}' to name the site and skip that call")


def _call_text(name: str, arguments: dict[str, Any]) -> str:
    return f"{name}(" + ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in arguments.items()) + ")"


def list_tools(tools: list[Any], settings: Settings, say: Callable[[str], None]) -> None:
    """Every tool with its arguments, and the flags that would make a likely one the get-issue tool:
    only tools that may read (jira-brief refuses a get-issue tool that may write)."""
    say(f"{INFO} the server's tools ({len(tools)}):")
    for tool in tools:
        say(f"{INFO}   {tool.name}({', '.join(_argument(name, prop) for name, prop in _properties(tool).items())})")
    for tool in tools:
        properties = _properties(tool)
        if declared_writer(tool) or write_verb(tool.name):
            continue
        if "path" in properties:
            for path, where in rest_paths(tool, settings):
                fixed = {"path": path}
                sent = {**fixed, **added_arguments(properties, settings, set(fixed))}
                say(f"{INFO} Fix{where}: --issue-tool {tool.name} --issue-args '{json.dumps(fixed)}'")
                say(f"{INFO}   it reads {_call_text(tool.name, {**sent, 'path': path.replace('{key}', 'KEY')})}")
        elif "issue" in tool.name.lower() and properties:
            say(f"{INFO} Fix: --issue-tool {tool.name} --issue-arg {next(iter(properties))}")


# What says a server reads Jira Cloud: its tool's text, or what a stdio server is given (never printed).
CLOUD_HINTS = re.compile(r"/rest/api/3\b|atlassian\.net|/cloud/jira|^ATLASSIAN_SITE_NAME=", re.I | re.M)


def rest_paths(tool: Any, settings: Settings) -> list[tuple[str, str]]:
    """(issue path, what it is for) for a generic REST tool: REST v3 on Jira Cloud (its text is ADF),
    v2 on Data Center/Server; both, each labelled, when nothing says which Jira is behind the server."""
    cloud, center = ("/rest/api/3/issue/{key}", ""), ("/rest/api/2/issue/{key}", "")
    said = "\n".join(
        [str(getattr(tool, "description", "") or ""), *(site_variables(settings) if settings.mcp_command else [])]
    )
    if CLOUD_HINTS.search(said):
        return [cloud]
    if "/rest/api/2" in said:
        return [center]
    return [(cloud[0], " (Jira Cloud)"), (center[0], " (Jira Data Center/Server)")]


def _properties(tool: Any) -> dict[str, Any]:
    properties = (tool.input_schema or {}).get("properties")
    return properties if isinstance(properties, dict) else {}


def _argument(name: str, prop: Any) -> str:
    prop = prop if isinstance(prop, dict) else {}
    kind = prop.get("type") or schema_type(prop) or "any"
    text = f"{name}: {'|'.join(kind) if isinstance(kind, list) else kind}"
    if schema_enum(prop):
        text += " in " + "/".join(str(option) for option in schema_enum(prop))
    return text + (f" = {json.dumps(prop['default'])}" if "default" in prop else "")


async def check_ticket(reader: JiraReader, key: str, say: Callable[[str], None]) -> int:
    """Read one ticket as a brief would and print what was understood; 1 when it cannot be read."""
    key = key.upper()
    say(f"{INFO} reading {key}: {_call_text(reader.issue_tool.name, reader.issue_tool.arguments(key))}")
    try:
        read = await reader.read(key)
    except JiraBriefError as error:
        say(f"{BAD} {error}")
        return 1
    ticket, criteria = read.ticket, count_items(read.ticket.acceptance)
    say(f"{OK} {ticket.key}: {ticket.title or '(no title)'}")
    say(f"{INFO}   status: {ticket.status or '-'} · type: {ticket.type or '-'} · parent: {ticket.parent or '-'}")
    say(
        f"{INFO}   description: {len(ticket.description)} characters · acceptance criteria: {criteria} · "
        f"comments: {len(ticket.comments)} · links: {len(ticket.links)}"
    )
    unnamed = [field for field in custom_fields(read.raw) if not field.name and field.text.strip()]
    if unnamed:
        list_custom_fields(unnamed, say)
    missing = [
        name
        for name, value in (
            ("title", ticket.title),
            ("status", ticket.status),
            ("type", ticket.type),
            ("description", ticket.description),
            ("acceptance criteria", criteria),
            ("comments", ticket.comments),
            ("parent/epic", ticket.parent),
        )
        if not value
    ]
    if missing:
        say_missing(missing, reader, key, unnamed, say)
    return 0


def say_missing(
    missing: list[str], reader: JiraReader, key: str, unnamed: list[CustomField], say: Callable[[str], None]
) -> None:
    """What the read lacked, and each fix not applied yet: a fuller choice of an argument, a field flag."""
    settings = reader.settings
    fixes = option_flags(reader, key)
    if "acceptance criteria" in missing:
        fixes += field_flag("acceptance-field", settings.acceptance_field, acceptance_guess(unnamed), unnamed)
    if "parent/epic" in missing:
        fixes += field_flag("epic-field", settings.epic_field, epic_guess(unnamed, key), unnamed)
    if fixes:
        say(f"{INFO}   missing: {', '.join(missing)}. If the ticket has them in Jira, what may bring them:")
    else:
        say(
            f"{INFO}   missing: {', '.join(missing)}. The read already asks for all the get-issue tool offers: "
            "the ticket may not have them, or the server leaves them out (see docs/mcp-servers.md)"
        )
    for fix in fixes:
        say(f"{INFO}   {fix}")


PREVIEW, LISTED = 70, 12  # characters of each value shown, and fields listed


def list_custom_fields(fields: list[CustomField], say: Callable[[str], None]) -> None:
    """Custom fields the answer does not name (no `names`): their ids and the start of each value."""
    say(f"{INFO}   custom fields without names (the answer has no `names`: which holds what is yours to tell):")
    for field in fields[:LISTED]:
        say(f"{INFO}     {field.id[:40]}: {_preview(field.text)}")
    if len(fields) > LISTED:
        say(f"{INFO}     … and {len(fields) - LISTED} more")


def _preview(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= PREVIEW else flat[: PREVIEW - 1] + "…"


def field_flag(flag: str, given: str | None, guess: CustomField | None, unnamed: list[CustomField]) -> list[str]:
    """The --acceptance-field / --epic-field fix, unless it is set already (then what that gave)."""
    if given:
        return [f"Note: --{flag} {given} is set, and that field is empty or not in the answer"]
    if guess is not None:
        return [f"Try: --{flag} {guess.id} (guessed from its value above: check it)"]
    if unnamed:
        return [f"Try: --{flag} FIELD, with the id of the field above that holds it"]
    return []


def acceptance_guess(fields: list[CustomField]) -> CustomField | None:
    """The unnamed field most like a list of criteria: the most items, two at least."""
    counted = [(count_items(field.text), field) for field in fields if not ISSUE_KEY.match(field.text.strip())]
    items, best = max(counted, key=lambda pair: pair[0], default=(0, None))
    return best if items >= 2 else None


def epic_guess(fields: list[CustomField], key: str) -> CustomField | None:
    """The unnamed field whose value is one issue key (not the ticket's own): an Epic Link."""
    return next((f for f in fields if ISSUE_KEY.match(f.text.strip()) and f.text.strip() != key), None)


def option_flags(reader: JiraReader, key: str) -> list[str]:
    """--issue-args for each choice argument of the get-issue tool whose fullest choice the read did not use."""
    tool = next(tool for tool in reader.tools if tool.name == reader.issue_tool.name)
    sent = reader.issue_tool.arguments(key)
    flags = []
    for name, prop in _properties(tool).items():
        options = schema_enum(prop) if isinstance(prop, dict) else []
        if not options:
            continue
        fullest = "json" if "format" in name.lower() and "json" in options else fullest_choice(options)
        if sent.get(name, prop.get("default")) != fullest:
            others = "/".join(str(option) for option in options)
            flags.append(f"Try: --issue-args '{json.dumps({name: fullest})}' ({name} takes {others})")
    return flags


def fullest_choice(options: list[Any]) -> Any:
    """The choice of an enum that gives the most: a known fuller name, else the last."""
    return next((option for option in options if str(option).lower() in FULLER_OPTIONS), options[-1])


PROBE_TOOL = {
    "type": "function",
    "function": {
        "name": "jira_get_issue",
        "description": "Read one Jira issue.",
        "parameters": {"type": "object", "properties": {"issue_key": {"type": "string"}}, "required": ["issue_key"]},
    },
}


def count_items(text: str) -> int:
    """The number of criteria in a text: its list items, else its non-empty lines."""
    lines = [line for line in text.splitlines() if line.strip()]
    items = [line for line in lines if re.match(r"^\s*(?:[-*+]|\d+[.)])\s+", line)]
    return len(items) or len(lines)


async def check_llm(settings: Settings, say: Callable[[str], None]) -> int:
    """Send one tiny request shaped like a brief's (a played tool call and its result), the way briefs are
    sent (streamed or not), so a provider that refuses our conversation is caught before the first brief."""
    if not settings.llm_enabled:
        say(f"{INFO} LLM: none configured; briefs are offline (set OPENAI_API_KEY / OPENAI_BASE_URL to use a model)")
        return 0
    llm, usage = LLM(settings), Usage()
    where = settings.llm_base_url or "the OpenAI API"
    say(f"{INFO} LLM: asking {where} (model {settings.model}) one short question…")
    messages = played_call(
        "You check a connection. Answer in one short sentence.",
        "Is PROBE-1 open?",
        "jira_get_issue",
        {"issue_key": "PROBE-1"},
        "PROBE-1: Connection check\nStatus: Open",
    )
    try:
        await llm.probe(  # the arguments of a brief's first call, so what it refuses shows here
            messages,
            [PROBE_TOOL],
            final=settings.max_steps == 1,
            timeout=min(settings.timeout, 60),
            usage=usage,
            sink=lambda _: None,
        )
    except JiraBriefError as error:
        say(f"{BAD} LLM: {error}")
        return 1
    finally:
        await llm.close()
    adapted = f"; not sent, as it refuses them: {', '.join(sorted(llm.refused))}" if llm.refused else ""
    thought = f"; {usage.reasoning_chars} characters of reasoning set aside" if usage.reasoning_chars else ""
    adapted += "; assistant tool calls carry reasoning_content, as it asks" if llm.reasoning_back else ""
    say(f"{OK} LLM: {where} model {settings.model!r} answers a conversation with a played tool call{adapted}{thought}")
    return 0


async def run_checks(
    settings: Settings,
    say: Callable[[str], None],
    key: str | None = None,
    server: InProcessServer | None = None,
    verbose: bool = False,
) -> int:
    """Every check in turn (reading `key` when given); returns the number of problems seen."""
    say(f"{INFO} settings: loaded (see `jira-brief config` for each value and its origin)")
    say(f"{INFO} network: {describe_tls(settings)}")
    problems = await check_mcp(settings, say, key, server, verbose)
    problems += await check_llm(settings, say)
    say(f"{OK if not problems else BAD} {problems} problem(s) found")
    return problems


@click.command()
@click.argument("key", required=False)
@setting_options(*DOCTOR_SETTINGS)
@click.option("--demo", "use_demo", is_flag=True, help="Check against the embedded demo Jira.")
@click.option("--verbose", "-v", is_flag=True, help="List each tool kept from the model, with why.")
def doctor(key: str | None, use_demo: bool, verbose: bool, **options: Any) -> None:
    """Check each configured part (MCP server, tools, LLM, TLS/proxy) and say how to fix problems.

    With KEY, also read that ticket and print what was understood of it (exit 1 when it cannot be read).

    \b
    Examples:
      jira-brief doctor --mcp-url http://localhost:9000/mcp
      jira-brief doctor --demo
      jira-brief doctor PAY-142 --mcp-command mcp-atlassian
    """
    settings = settings_from(**options)
    server = build_server() if use_demo else None

    def say(line: str) -> None:
        echo_out(for_terminal(line, settings))

    problems = asyncio.run(run_checks(settings, say, key, server, verbose))
    sys.exit(1 if problems else 0)
