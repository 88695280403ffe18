"""The criteria check from the command line and the commit-msg hook, against staged changes in a real git
repository, the demo Jira over loopback HTTP and FakeOpenAI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from jira_brief.jira.demo.server import build_server
from tests.conftest import GitRepo, assert_one_line_error, wait_for_jobs
from tests.fakes.mcp_http import ServedMCP
from tests.fakes.openai_server import FakeOpenAI, default_responder

pytestmark = pytest.mark.usefixtures("stop_jobs")
PAY_142_LINE = "PAY-142 · Split payments between two cards · In Progress"
STAGED = {
    "shop/split_form.py": "MIN_BASKET = 100\nMIN_PER_CARD = 10\n\ndef second_card_form(rest):\n    return rest\n",
    "shop/authorise.py": "def authorise(first, second):\n    if not second.ok:\n        first.void()\n",
}


def verdicts(body: dict[str, Any]) -> str:
    """The model's check: criteria 1 and 3 covered by files it saw in the change, the rest not seen."""
    if "response_format" not in body:
        return default_responder(body)
    change = body["messages"][-1]["content"]
    assert "shop/split_form.py" in change and "shop/authorise.py" in change
    rows = [
        {
            "number": 1,
            "status": "covered",
            "evidence": [{"file": "shop/split_form.py", "lines": "4-5"}],
            "reason": "form",
        },
        {
            "number": 3,
            "status": "partly",
            "evidence": [{"file": "shop/authorise.py", "lines": "2-3"}],
            "reason": "void",
        },
    ]
    return json.dumps({"criteria": rows})


@pytest.fixture
def services(git_repo: GitRepo) -> Iterator[dict[str, str | None]]:
    """The demo Jira and a checking model, and the repository with STAGED changes in its index."""
    for name, text in STAGED.items():
        (git_repo.path / name).parent.mkdir(parents=True, exist_ok=True)
        (git_repo.path / name).write_text(text, encoding="utf-8")
        git_repo.git("add", name)
    with ServedMCP(build_server()) as served, FakeOpenAI(responder=verdicts) as fake:
        yield {
            "JIRA_BRIEF_MCP_URL": served.url,
            "OPENAI_BASE_URL": fake.base_url,
            "OPENAI_API_KEY": fake.api_key,
            "JIRA_BRIEF_MODEL": fake.models[0],
            "JIRA_BRIEF_LANGUAGE": "en",
            "JIRA_BRIEF_CACHE_DIR": str(git_repo.path.parent / "cache"),
        }


def test_summarize_diff_staged_reports_coverage_in_json(invoke: Any, services: dict[str, str | None]) -> None:
    done = invoke("summarize", "PAY-142", "--diff", "staged", "--format", "json", env=services)
    assert done.exit_code == 0, done.stderr
    [item] = json.loads(done.stdout)
    assert [row["status"] for row in item["coverage"]] == ["covered", "not_seen", "partly", "not_seen"]
    assert item["coverage"][0]["evidence"] == [{"file": "shop/split_form.py", "lines": "4-5"}]
    assert item["coverage"][0]["criterion"].startswith("Given a basket of €100 or more")


@pytest.mark.slow  # seconds of real waiting or process starts: the slow tier
def test_the_hook_checks_criteria_only_when_asked_and_in_the_background(
    invoke: Any, services: dict[str, str | None], git_repo: GitRepo
) -> None:
    message = git_repo.path.parent / "COMMIT_EDITMSG"
    message.write_text("PAY-142: second card form\n", encoding="utf-8")
    cache = git_repo.path.parent / "cache"
    env = {**services, "JIRA_BRIEF_HOOK_BUDGET": "60"}  # the first commit waits for its job
    plain = invoke("hook", str(message), env=env)
    assert plain.exit_code == 0, plain.stderr
    assert "criteria" not in plain.stdout  # off by default: the brief alone, one model call
    wait_for_jobs(cache, "PAY-142")

    checked = {**env, "JIRA_BRIEF_HOOK_CHECK": "true"}
    now = invoke("hook", str(message), env=checked)
    assert now.stdout.splitlines() == [PAY_142_LINE]  # the brief is cached: no wait, the check runs behind
    wait_for_jobs(cache, "PAY-142")
    later = invoke("hook", str(message), env=env)
    assert later.stdout.splitlines() == [PAY_142_LINE, "PAY-142: 2/4 criteria touched by the last commit"]
    assert invoke("hook", str(message), env=env).stdout.splitlines() == [PAY_142_LINE]  # said once


def test_check_off_and_a_bad_range(invoke: Any, services: dict[str, str | None]) -> None:
    off = invoke("summarize", "PAY-142", "--diff", "staged", "--check", "off", "--format", "json", env=services)
    assert off.exit_code == 0 and json.loads(off.stdout)[0]["coverage"] is None
    bad = invoke("summarize", "PAY-142", "--diff", "no-such-ref..HEAD", env=services)
    assert bad.exit_code == 2
    assert_one_line_error(bad.stderr, "git diff no-such-ref..HEAD failed")
