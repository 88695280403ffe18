"""The cache is keyed by server: after `jira-brief demo`, the same key read from a real Jira (here a
loopback MCP server with other tickets) is never answered from the demo's entries, by the hook's
ticket TTL or by the brief cache, in one shared cache directory; one stdio command given two Jira
sites (JIRA_URL) keeps them apart too, without a token in the cache's paths."""

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

pytestmark = pytest.mark.usefixtures("engine_env", "stop_jobs")

REAL_TITLE = "Refund a split payment to both cards"


def real_jira() -> Any:
    """Another Jira site whose PAY-142 is another ticket, with the same key and the same version."""
    tickets = copy.deepcopy(load_demo_tickets())
    tickets["PAY-142"]["summary"] = REAL_TITLE
    tickets["PAY-142"]["url"] = "https://real.example.net/rest/api/2/issue/10571"
    return build_server(tickets)


def message(engine_env: EngineEnv) -> Path:
    path = engine_env.cwd / "COMMIT_EDITMSG"
    path.write_text("PAY-142: refunds\n", encoding="utf-8")
    return path


def test_the_hook_never_shows_the_demos_ticket_for_a_real_jira(invoke: Any, engine_env: EngineEnv) -> None:
    demo = invoke("demo", "PAY-142", "--llm", "none", "--format", "json")
    assert json.loads(demo.stdout)[0]["title"] == "Split payments between two cards"
    served = real_jira()
    with ServedMCP(served) as mcp:
        # The first commit waits (its budget, a minute here) for the background job to read the ticket.
        env = {"JIRA_BRIEF_MCP_URL": mcp.url, "JIRA_BRIEF_LLM": "none", "JIRA_BRIEF_HOOK_BUDGET": "60"}
        hook = invoke("hook", str(message(engine_env)), env=env)
        again = invoke("hook", str(message(engine_env)), env=env)
    assert hook.exit_code == 0, hook.stderr
    assert REAL_TITLE in hook.stdout and "Split payments" not in hook.stdout
    assert REAL_TITLE in again.stdout  # now the real ticket is the one reused within the TTL
    assert [name for name, _ in served.calls].count("jira_get_issue") == 1


def test_a_brief_of_the_demo_is_never_reused_for_a_real_jira(invoke: Any, engine_env: EngineEnv) -> None:
    with FakeOpenAI() as llm:
        env = {"OPENAI_BASE_URL": llm.base_url, "OPENAI_API_KEY": "sk-test", "JIRA_BRIEF_MODEL": llm.models[0]}
        llm.reply("Brief of the demo's PAY-142.")
        invoke("demo", "PAY-142", "--format", "json", env=env)
        llm.reply("Brief of the real PAY-142.")
        with ServedMCP(real_jira()) as mcp:
            real = invoke("summarize", "PAY-142", "--format", "json", env={**env, "JIRA_BRIEF_MCP_URL": mcp.url})
        assert llm.calls == 2
    [item] = json.loads(real.stdout)
    assert item["brief"] == "Brief of the real PAY-142." and item["cached"] is False


SITE_SERVER = """\
import copy, os
from jira_brief.jira.demo.server import build_server, load_demo_tickets

site = os.environ["JIRA_URL"]
tickets = copy.deepcopy(load_demo_tickets())
tickets["PAY-142"]["summary"] = "PAY-142 as " + site + " has it"
build_server(tickets).run()
"""


@pytest.mark.slow  # seconds of real waiting or process starts: the slow tier
def test_one_stdio_command_for_two_sites_keeps_their_tickets_apart(
    invoke: Any, engine_env: EngineEnv, tmp_path: Path
) -> None:
    """mcp-atlassian reads its site from JIRA_URL (and ATLASSIAN_OAUTH_CLOUD_ID): the same command given
    site B must not be answered with site A's ticket from the hook's ticket TTL."""
    script = tmp_path / "site_server.py"
    script.write_text(SITE_SERVER, encoding="utf-8")
    command = shlex.join([sys.executable, str(script)])
    token = "jira-token-5f1d0c9e"
    titles = {}
    for site in ("https://a.example.net", "https://b.example.net"):
        env = {"JIRA_BRIEF_MCP_COMMAND": command, "JIRA_BRIEF_LLM": "none", "JIRA_URL": site, "JIRA_API_TOKEN": token}
        done = invoke("hook", str(message(engine_env)), env={**env, "JIRA_BRIEF_HOOK_BUDGET": "60"})  # waits its job
        assert done.exit_code == 0, done.stderr
        titles[site] = done.stdout
    assert "as https://a.example.net has it" in titles["https://a.example.net"]
    assert "as https://b.example.net has it" in titles["https://b.example.net"]
    paths = [str(path) for path in engine_env.cache_dir.rglob("*")]
    assert len({path.split("/servers/")[1].split("/")[0] for path in paths if "/servers/" in path}) == 2
    assert not [
        path for path in paths if token in path or token in (Path(path).read_text() if Path(path).is_file() else "")
    ]
