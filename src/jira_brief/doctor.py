"""`jira-brief doctor`: check each configured part and print a fix for each problem."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jira_brief.errors import JiraBriefError
from jira_brief.network import describe_tls
from jira_brief.settings import Settings

OK, BAD, INFO = "ok  ", "FAIL", "    "


async def check_mcp(settings: Settings, say: Callable[[str], None], server: Any) -> int:
    """Connect, list tools, find the get-issue tool, show what is offered and what is refused."""
    from jira_brief.jira_mcp import open_reader, server_label

    if server is None and not (settings.mcp_url or settings.mcp_command):
        say(
            f"{BAD} MCP: no server configured. Fix: set --mcp-url URL or --mcp-command 'mcp-atlassian' "
            "(JIRA_BRIEF_MCP_URL / JIRA_BRIEF_MCP_COMMAND), or run `jira-brief doctor --demo`"
        )
        return 1
    try:
        async with open_reader(settings, server) as reader:
            say(f"{OK} MCP: connected to {reader.server_label}, {len(reader.tools)} tools listed")
            say(
                f"{OK} MCP: get-issue tool {reader.issue_tool.name}({reader.issue_tool.key_arg}=KEY, "
                + ", ".join(f"{k}={v!r}" for k, v in reader.issue_tool.extra.items())
                + ")"
            )
            say(f"{INFO} offered to the model: {', '.join(reader.offered)}")
            writes = sorted(name for name, why in reader.refused.items() if "readOnlyHint" in why or "writes" in why)
            say(f"{INFO} refused ({len(reader.refused)}): {len(writes)} may write, e.g. {', '.join(writes[:6]) or '-'}")
            for name in writes:
                say(f"{INFO}   {name}: {reader.refused[name]}")
    except JiraBriefError as error:
        label = server_label(settings, server)
        say(f"{BAD} MCP ({label}): {error}")
        return 1
    return 0


PROBE_TOOL = {
    "type": "function",
    "function": {
        "name": "jira_get_issue",
        "description": "Read one Jira issue.",
        "parameters": {"type": "object", "properties": {"issue_key": {"type": "string"}}, "required": ["issue_key"]},
    },
}


async def check_llm(settings: Settings, say: Callable[[str], None]) -> int:
    """Send one tiny request shaped like a brief's (a played tool call and its result), the way briefs are
    sent (streamed or not), so a provider that refuses our conversation is caught before the first brief."""
    if not settings.llm_enabled:
        say(f"{INFO} LLM: none configured; briefs are offline (set OPENAI_API_KEY / OPENAI_BASE_URL to use a model)")
        return 0
    import openai

    from jira_brief.briefs import LLM, Usage, played_call

    llm, usage = LLM(settings), Usage()
    where = settings.llm_base_url or "the OpenAI API"
    messages = played_call(
        "You check a connection. Answer in one short sentence.",
        "Is PROBE-1 open?",
        "jira_get_issue",
        {"issue_key": "PROBE-1"},
        "PROBE-1: Connection check\nStatus: Open",
    )
    try:
        await llm.answer(  # the arguments of a brief's first call, so what it refuses shows here
            messages,
            [PROBE_TOOL],
            final=settings.max_steps == 1,
            timeout=min(settings.timeout, 60),
            usage=usage,
            sink=lambda _: None,
        )
    except openai.APIError as error:
        say(f"{BAD} LLM: {llm.explain(error)}")
        return 1
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


async def run_checks(settings: Settings, say: Callable[[str], None], server: Any = None) -> int:
    """Every check in turn; returns the number of problems found."""
    say(f"{INFO} settings: loaded (see `jira-brief config` for each value and its origin)")
    say(f"{INFO} network: {describe_tls(settings)}")
    problems = await check_mcp(settings, say, server)
    problems += await check_llm(settings, say)
    say(f"{OK if not problems else BAD} {problems} problem(s) found")
    return problems
