"""The seed's approach, re-implemented as the baseline jira-brief is measured against.

What the seed did, per ticket and one ticket after the other:
1. a non-streaming call offering EVERY MCP tool (63 with mcp-atlassian), asking for the summary;
2. the model answers with a jira_get_issue call, which is run over MCP and its RAW output (the
   whole JSON text) appended as the tool message; a second call (all tools again) gets the answer;
3. a third, separate, streamed "final summary" call, with all tools and the whole history again.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

USER_REQUEST = "Résume le ticket Jira {key}."
FINAL_REQUEST = "Donne maintenant le résumé final du ticket {key}, au format demandé."
MAX_TOOL_ROUNDS = 3  # the seed looped until the model stopped calling tools; bounded here


def french_format() -> str:
    """The French brief format, the same instructions jira-brief sends."""
    return resources.files("jira_brief.brief").joinpath("prompts", "fr.md").read_text("utf-8")


def openai_tools(tools: list[Any]) -> list[dict[str, Any]]:
    """Every MCP tool as an OpenAI function, schema and description untouched."""
    return [
        {
            "type": "function",
            "function": {
                "name": tool.name,
                "description": tool.description or "",
                "parameters": tool.input_schema or {"type": "object"},
            },
        }
        for tool in tools
    ]


async def _run_tool(client: Any, call: Any) -> str:
    result = await client.call_tool(call.function.name, json.loads(call.function.arguments or "{}"))
    return "\n".join(item.text for item in result.content if getattr(item, "text", None))


async def summarize(client: Any, llm: Any, tools: list[dict[str, Any]], key: str, model: str) -> str:
    """One ticket the seed's way: tool round(s), an answer, then a separate streamed final call."""
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": french_format()},
        {"role": "user", "content": USER_REQUEST.format(key=key)},
    ]
    for _ in range(MAX_TOOL_ROUNDS):
        response = await llm.chat.completions.create(model=model, messages=messages, tools=tools)
        message = response.choices[0].message
        if not message.tool_calls:
            messages.append({"role": "assistant", "content": message.content or ""})
            break
        messages.append(
            {
                "role": "assistant",
                "content": message.content,
                "tool_calls": [call.model_dump() for call in message.tool_calls],
            }
        )
        for call in message.tool_calls:
            messages.append({"role": "tool", "tool_call_id": call.id, "content": await _run_tool(client, call)})
    messages.append({"role": "user", "content": FINAL_REQUEST.format(key=key)})
    stream = await llm.chat.completions.create(model=model, messages=messages, tools=tools, stream=True)
    parts = [chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices]
    return "".join(parts)


async def seed_all(keys: list[str], mcp_url: str, llm_base_url: str, api_key: str, model: str) -> dict[str, str]:
    """Every ticket, sequentially, over one MCP session and one OpenAI client."""
    from mcp import Client
    from openai import AsyncOpenAI

    llm = AsyncOpenAI(base_url=llm_base_url, api_key=api_key, max_retries=0, timeout=120)
    briefs = {}
    try:
        async with Client(mcp_url) as client:
            tools = openai_tools((await client.list_tools()).tools)
            for key in keys:
                briefs[key] = await summarize(client, llm, tools, key, model)
    finally:
        await llm.close()
    return briefs
