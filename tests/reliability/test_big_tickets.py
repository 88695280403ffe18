"""A ~1 MB ticket (a pasted log in the description, many long comments) is briefed over streamable
HTTP and over stdio; the server is asked only for the comments that are kept, and the model gets the
ticket within the ticket budget."""

from __future__ import annotations

import copy
import json
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest

from jira_brief.jira.demo.server import build_server, load_demo_tickets
from tests.conftest import EngineEnv
from tests.fakes.mcp_http import ServedMCP
from tests.fakes.openai_server import FakeOpenAI

pytestmark = pytest.mark.usefixtures("engine_env")

STDIO_SERVER = """
import json, sys
from jira_brief.jira.demo.server import build_server
build_server(json.loads(open(sys.argv[1], encoding="utf-8").read())).run()
"""


def big_tickets() -> dict[str, Any]:
    """The demo's tickets, PAY-142 grown to ~1.2 MB: a long description and 60 comments of 4 KB."""
    tickets = copy.deepcopy(load_demo_tickets())
    ticket = tickets["PAY-142"]
    ticket["description"] += "\n\n" + "\n".join(f"log line {n}: payment retried, card declined" for n in range(20_000))
    template = ticket["comments"][0]
    ticket["comments"] = [
        {**template, "id": str(20_000 + n), "body": f"Comment {n}: " + "details " * 500} for n in range(60)
    ]
    assert len(json.dumps(tickets["PAY-142"])) > 1_000_000
    return tickets


def tool_message(llm: FakeOpenAI) -> str:
    """The ticket as the model received it (the played tool result)."""
    [request] = llm.requests
    return next(message["content"] for message in request["messages"] if message["role"] == "tool")


def llm_env(llm: FakeOpenAI) -> dict[str, str]:
    return {"OPENAI_BASE_URL": llm.base_url, "OPENAI_API_KEY": "sk-test", "JIRA_BRIEF_MODEL": llm.models[0]}


def test_a_1_mb_ticket_over_streamable_http(invoke: Any) -> None:
    server = build_server(big_tickets())
    with FakeOpenAI() as llm, ServedMCP(server, sse_answers=True) as mcp:
        llm.reply("The brief of a big ticket.")
        result = invoke("summarize", "PAY-142", "--format", "json", "--mcp-url", mcp.url, env=llm_env(llm))
        sent = tool_message(llm)
    [item] = json.loads(result.stdout)
    assert result.exit_code == 0 and item["error"] is None, result.stdout + result.stderr
    assert item["brief"] == "The brief of a big ticket."
    assert len(sent) <= 12_000  # the default ticket budget, not the server's megabyte
    [(_, arguments)] = [call for call in server.calls if call[0] == "jira_get_issue"]
    assert arguments["comment_limit"] == 5  # asked only for what is kept


def test_a_1_mb_ticket_over_stdio(engine_env: EngineEnv, run_pipeline: Any, tmp_path: Path) -> None:
    tickets = tmp_path / "tickets.json"
    tickets.write_text(json.dumps(big_tickets()), encoding="utf-8")
    script = tmp_path / "big_server.py"
    script.write_text(STDIO_SERVER, encoding="utf-8")
    with FakeOpenAI() as llm:
        llm.reply("The brief of a big ticket, over stdio.")
        settings = engine_env.llm_settings(
            llm, mcp_command=shlex.join([sys.executable, str(script), str(tickets)]), timeout=30
        )
        [result] = run_pipeline(["PAY-142"], settings, server=None, limit=40)
        sent = tool_message(llm)
    assert result.error is None and result.brief == "The brief of a big ticket, over stdio."
    assert len(sent) <= settings.ticket_budget
