"""Helpers of the forges' end-to-end tests (fixtures are in conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from tests.fakes.openai_server import FakeOpenAI

# "@" and "#" are where neutralizing inserts a joiner: a secret there must still be masked.
LLM_KEY = "sk-live-3f9a@Q7secret#42KEY"
JIRA_HOST = "shopwave.atlassian.net"


def briefing_env(mcp_url: str, llm: FakeOpenAI, tmp: Path) -> dict[str, str]:
    """What every forge's run is given besides its forge's variables: the Jira MCP server, a cache in `tmp`,
    English briefs written by `llm` with LLM_KEY."""
    return {
        "JIRA_BRIEF_MCP_URL": mcp_url,
        "JIRA_BRIEF_CACHE_DIR": str(tmp / "cache"),
        "JIRA_BRIEF_LANGUAGE": "en",
        "JIRA_BRIEF_MODEL": "test-model",
        "OPENAI_BASE_URL": llm.base_url,
        "OPENAI_API_KEY": LLM_KEY,
    }


def run_console(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """`jira-brief ARGS` through the installed console script, in its own process, `env` over os.environ."""
    script = Path(sys.executable).parent / "jira-brief"
    return subprocess.run(
        [str(script), *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=60, cwd=cwd
    )


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
