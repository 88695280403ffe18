"""The fake model used by the benchmarks: FakeOpenAI that acts like a tool-calling model.

FakeOpenAI's behaviour queue is one FIFO for the whole server; the workers run in other
processes and jira-brief's calls are concurrent, so instead of queueing we decide from each
request, as a model would: asked about a ticket with tools on offer and no tool result yet,
it calls jira_get_issue(issue_key=KEY); otherwise it writes a brief of realistic length.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
from typing import Any

from tests.fakes.openai_server import Answer, FakeOpenAI

_KEY = re.compile(r"\b[A-Z][A-Z0-9_]+-[1-9][0-9]*\b")
_HEADINGS = (
    "TICKET",
    "CONTEXTE",
    "OBJECTIF",
    "CRITÈRES D’ACCEPTATION",
    "ÉTAPES",
    "RÈGLES MÉTIER",
    "POINTS D’ATTENTION",
)
_BODY = (
    "Le paiement fractionné entre deux cartes est proposé à partir de 100 €, chaque carte portant au "
    "moins 10 € ; les deux autorisations doivent réussir avant la confirmation de la commande."
)


def _last_user_key(messages: list[dict[str, Any]]) -> str | None:
    for message in reversed(messages):
        if message.get("role") == "user" and isinstance(message.get("content"), str):
            found = _KEY.findall(message["content"])
            return found[0] if found else None
    return None


def brief_responder(body: dict[str, Any]) -> str:
    """A French brief of about 1,500 characters under the template's seven headings."""
    key = _last_user_key(body.get("messages") or []) or "?"
    return "\n".join(f"## {heading}\n{key} — {_BODY}" for heading in _HEADINGS)


class ToolCallingOpenAI(FakeOpenAI):
    """Calls jira_get_issue first when the conversation has no tool result yet, like a real model."""

    def __init__(self, **options: Any) -> None:
        super().__init__(responder=brief_responder, **options)

    def _answer(self, body: dict[str, Any], action: Any) -> Answer:
        messages = body.get("messages") or []
        tools = {tool["function"]["name"] for tool in body.get("tools") or []}
        key = _last_user_key(messages)
        wants_tool = (
            action is None
            and "jira_get_issue" in tools
            and body.get("tool_choice") != "none"
            and key
            and not any(message.get("role") == "tool" for message in messages)
        )
        if not wants_tool:
            return super()._answer(body, action)
        call = {
            "id": self._new_id("call_"),
            "type": "function",
            "function": {"name": "jira_get_issue", "arguments": json.dumps({"issue_key": key})},
        }
        return Answer(tool_call=call)


def prompt_tokens(body: dict[str, Any]) -> int:
    """The fake's own prompt-token estimate for a recorded request (4 characters a token)."""
    return len(json.dumps(body["messages"]) + json.dumps(body.get("tools") or [])) // 4


def concurrency_probe(fake: FakeOpenAI, parallel: int = 8) -> float:
    """Seconds for `parallel` simultaneous chat calls: ≈ one latency if the fake is concurrent."""
    port = int(fake.base_url.rsplit(":", 1)[1].split("/")[0])
    request = json.dumps({"model": fake.models[0], "messages": [{"role": "user", "content": "ping"}]})
    headers = {"Authorization": f"Bearer {fake.api_key}", "Content-Type": "application/json"}
    failures: list[str] = []

    def call() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            connection.request("POST", "/v1/chat/completions", request, headers)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                failures.append(str(response.status))
        finally:
            connection.close()

    threads = [threading.Thread(target=call) for _ in range(parallel)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    if failures:
        raise RuntimeError(f"the fake answered {failures[0]} to the concurrency probe")
    return time.perf_counter() - started
