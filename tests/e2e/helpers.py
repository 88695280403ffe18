"""Helpers of the forges' end-to-end tests (fixtures are in conftest.py)."""

from __future__ import annotations

import threading
from collections.abc import Callable

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


# Sets one run up (its environment, settings, client) and gives back the run itself: its exit code.
Prepare = Callable[[], Callable[[], int]]


def overlapping(count: int, prepare: Prepare) -> list[int]:
    """`count` runs at once, each in its own thread, set up first and then started together, as
    overlapping pipelines or workflow runs make them; their exit codes (-1: not done within a minute)."""
    start = threading.Barrier(count)
    codes = [-1] * count

    def one(index: int) -> None:
        run = prepare()
        start.wait()
        codes[index] = run()

    threads = [threading.Thread(target=one, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return codes
