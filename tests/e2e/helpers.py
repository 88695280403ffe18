"""Helpers of the forges' end-to-end tests (fixtures are in conftest.py)."""

from __future__ import annotations

from tests.fakes.openai_server import FakeOpenAI

# "@" and "#" are where neutralizing inserts a joiner: a secret there must still be masked.
LLM_KEY = "sk-live-3f9a@Q7secret#42KEY"
JIRA_HOST = "shopwave.atlassian.net"


def briefed_keys(llm: FakeOpenAI) -> list[str]:
    """The ticket each chat-completions request was about, from its user message."""
    keys = []
    for request in llm.requests:
        user = next(m["content"] for m in request["messages"] if m["role"] == "user")
        keys.append(next(word.rstrip(".") for word in user.split() if "-" in word))
    return keys
