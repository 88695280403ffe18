"""Whole `jira-brief github` runs, as a workflow step would make them.

Real wire protocols end to end: PyGithub against FakeGitHub (pagination, 5xx after a stored write,
/user refused to an Actions token, read-only fork tokens, 65,536-character limit), the OpenAI SDK
against FakeOpenAI, and the demo Jira served over loopback HTTP as an MCP server. The events are
GitHub's own webhook payloads from tests/fixtures, edited to name Jira keys.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from jira_brief.commands.main import main
from jira_brief.publish.comment import MARKER
from jira_brief.publish.neutralize import ZWJ
from tests.e2e.helpers import JIRA_HOST, LLM_KEY, briefed_keys, briefing_env, overlapping, run_console
from tests.fakes.github_server import MAX_COMMENT_CHARS, FakeGitHub
from tests.fakes.openai_server import FakeOpenAI

pytestmark = pytest.mark.usefixtures("isolated_env")

EVENTS_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "github-events"
REPO = "octo/shop"
PR = 7
BOT = "github-actions[bot]"
GITHUB_TOKEN = "ghs_s3cretActionsToken0042xyz"
Request = tuple[str, str, dict[str, Any] | None]


@dataclass
class Run:
    """One CLI run: exit code, log, error stream, the job summary it wrote, its parsed step outputs."""

    code: int
    stdout: str
    stderr: str
    summary: str
    outputs: dict[str, str]
    requests: list[Request]

    def writes(self, method: str) -> list[Request]:
        """Requests that touch comments (a POST to /graphql only reads who we are)."""
        return [request for request in self.requests if request[0] == method and "/comments" in request[1]]


def parse_outputs(text: str) -> dict[str, str]:
    """Read $GITHUB_OUTPUT as the runner does: `name<<DELIMITER`, value lines, DELIMITER."""
    values: dict[str, str] = {}
    lines = iter(text.split("\n"))
    for line in lines:
        if not line:
            continue
        name, separator, delimiter = line.partition("<<")
        assert separator and delimiter.startswith("ghadelimiter_"), line
        body = []
        for value_line in lines:
            if value_line == delimiter:
                break
            body.append(value_line)
        else:
            raise AssertionError(f"output {name} is not terminated by its delimiter")
        values[name] = "\n".join(body)
    return values


@dataclass
class World:
    """FakeGitHub + FakeOpenAI + the demo Jira, and a way to run `jira-brief github` against them."""

    github: FakeGitHub
    llm: FakeOpenAI
    mcp_url: str
    tickets: dict[str, Any]
    tmp: Path
    runs: int = 0
    extra_env: dict[str, str] = field(default_factory=dict)

    def pull(
        self,
        title: str,
        head_ref: str = "feature/checkout",
        *,
        commits: tuple[str, ...] = (),
        body: str | None = None,
        head_repo: str = REPO,
    ) -> Path:
        """Open PR #7 on the fake (or change it) and write the matching pull_request event payload."""
        self.github.add_pull(PR, title=title, head_ref=head_ref, body=body, commits=list(commits), head_repo=head_repo)
        return self.event("pull_request.opened", title=title, head_ref=head_ref, body=body, head_repo=head_repo)

    def event(self, name: str, **edits: Any) -> Path:
        """A copy of a real webhook payload with this repository, PR #7 and the given fields."""
        payload = json.loads((EVENTS_DIR / f"{name}.json").read_text(encoding="utf-8"))
        pull = payload.get("pull_request")
        if pull is not None:
            payload["number"] = pull["number"] = PR
            pull["title"], pull["head"]["ref"], pull["body"] = edits["title"], edits["head_ref"], edits["body"]
            pull["base"]["repo"]["full_name"] = payload["repository"]["full_name"] = REPO
            pull["head"]["repo"]["full_name"] = edits["head_repo"]
        if "inputs" in edits:
            payload["inputs"] = edits["inputs"]
        path = self.tmp / f"event-{name}-{len(list(self.tmp.glob('event-*')))}.json"
        path.write_text(json.dumps(payload), encoding="utf-8")
        return path

    def env(self, event: Path, event_name: str) -> dict[str, str]:
        self.runs += 1
        return {
            "GITHUB_EVENT_NAME": event_name,
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_API_URL": self.github.url,
            "GITHUB_TOKEN": GITHUB_TOKEN,
            "GITHUB_STEP_SUMMARY": str(self.tmp / f"summary-{self.runs}.md"),
            "GITHUB_OUTPUT": str(self.tmp / f"output-{self.runs}.txt"),
            **briefing_env(self.mcp_url, self.llm, self.tmp),
            **self.extra_env,
        }

    def run(self, event: Path, *args: str, event_name: str = "pull_request") -> Run:
        """`jira-brief github ARGS` in process, as the action's step runs it."""
        env = self.env(event, event_name)
        before = len(self.github.requests)
        result = CliRunner().invoke(main, ["github", *args], env=env, catch_exceptions=False)
        return self._collect(result.exit_code, result.stdout, result.stderr, env, before)

    def run_process(self, event: Path, *args: str) -> Run:
        """The same through the installed console script, in its own process."""
        env = self.env(event, "pull_request")
        before = len(self.github.requests)
        done = run_console(["github", *args], env, self.tmp)
        return self._collect(done.returncode, done.stdout, done.stderr, env, before)

    def _collect(self, code: int, stdout: str, stderr: str, env: dict[str, str], before: int) -> Run:
        summary = Path(env["GITHUB_STEP_SUMMARY"])
        output = Path(env["GITHUB_OUTPUT"])
        return Run(
            code,
            stdout,
            stderr,
            summary.read_text(encoding="utf-8") if summary.exists() else "",
            parse_outputs(output.read_text(encoding="utf-8")) if output.exists() else {},
            self.github.requests[before:],
        )

    def ours(self) -> list[dict[str, Any]]:
        return [c for c in self.github.comments(PR) if c["user"]["login"] == BOT and c["body"].startswith(MARKER)]


@pytest.fixture
def world(jira: tuple[dict[str, Any], str], plain_dir: Path, tmp_path: Path) -> Iterator[World]:
    tickets, url = jira
    with FakeGitHub(token=GITHUB_TOKEN, repo=REPO) as github, FakeOpenAI(api_key=LLM_KEY) as llm:
        yield World(github, llm, url, tickets, tmp_path)


def test_first_run_posts_one_comment_with_both_tickets(world: World) -> None:
    run = world.run(world.pull("PAY-142 split payments", "feature/WEB-88-email"))

    assert run.code == 0, run.stderr
    assert sorted(briefed_keys(world.llm)) == ["PAY-142", "WEB-88"]
    [comment] = world.ours()
    body = comment["body"]
    assert body.index("PAY-142") < body.index("WEB-88")
    assert f'<a href="https://{JIRA_HOST}/browse/PAY-142"><b>PAY-142</b></a>' in body
    assert "— Split payments between two cards</summary>" in body
    assert "<sub>Story · In Progress · High · Lukas Brandt · " in body
    assert "Brief for PAY-142." in body and "Brief for WEB-88." in body
    assert body.count("<details>") == 2 and "fingerprint=" in body
    assert json.loads(run.outputs["keys"]) == ["PAY-142", "WEB-88"]
    assert run.outputs["comment-url"] == comment["html_url"]


def test_rerun_with_nothing_changed_makes_no_llm_call_and_no_write(world: World) -> None:
    event = world.pull("PAY-142 split payments", "feature/WEB-88-email")
    world.run(event)
    calls = world.llm.calls

    again = world.run(event)

    assert again.code == 0, again.stderr
    assert world.llm.calls == calls
    assert again.writes("POST") == again.writes("PATCH") == again.writes("DELETE") == []
    assert "unchanged" in again.stdout
    briefs = json.loads(again.outputs["briefs"])
    assert [b["unchanged"] for b in briefs] == [True, True] and all(b["brief"] for b in briefs)
    assert "PAY-142" in again.summary and "WEB-88" in again.summary


def test_a_changed_ticket_alone_is_briefed_again(world: World) -> None:
    event = world.pull("PAY-142 split payments", "feature/WEB-88-email")
    world.run(event)
    before = world.ours()[0]["body"]
    world.llm.requests.clear()
    world.tickets["WEB-88"]["updated"] = "2025-06-01T10:00:00.000+0200"
    world.tickets["WEB-88"]["summary"] = "Confirmation email lists every payment method"

    run = world.run(event)

    assert briefed_keys(world.llm) == ["WEB-88"]
    assert len(run.writes("PATCH")) == 1 and run.writes("POST") == []
    after = world.ours()[0]["body"]
    pay_section = before[before.index("key=PAY-142") : before.index("<!-- jira-brief:section key=WEB-88")]
    assert pay_section in after
    assert "Confirmation email lists every payment method" in after


def test_a_key_removed_from_the_title_loses_its_section(world: World) -> None:
    world.run(world.pull("PAY-142 and WEB-88"))
    run = world.run(world.pull("PAY-142 only"))

    assert run.code == 0
    body = world.ours()[0]["body"]
    assert "key=PAY-142" in body and "WEB-88" not in body
    assert json.loads(run.outputs["keys"]) == ["PAY-142"]


def test_no_key_left_deletes_our_comment_and_says_so(world: World) -> None:
    world.run(world.pull("PAY-142 split payments"))
    run = world.run(world.pull("Tidy the README"))

    assert run.code == 0 and world.ours() == []
    assert len(run.writes("DELETE")) == 1
    assert "No Jira key found" in run.summary
    assert json.loads(run.outputs["keys"]) == [] and json.loads(run.outputs["briefs"]) == []


def test_commit_messages_count_and_body_only_when_asked(world: World) -> None:
    event = world.pull("Checkout rework", commits=("PAY-143 fix rounding",), body="Also WEB-91")
    run = world.run(event)
    assert json.loads(run.outputs["keys"]) == ["PAY-143"]

    world.extra_env["JIRA_BRIEF_SOURCES"] = "pr-title, commits, pr-body"
    run = world.run(event)
    assert json.loads(run.outputs["keys"]) == ["WEB-91", "PAY-143"]  # the body is read before commits


def test_among_120_comments_ours_is_found_and_a_copied_marker_is_left_alone(world: World) -> None:
    event = world.pull("PAY-142 split payments")
    for number in range(120):
        world.github.add_comment(PR, f"LGTM {number}", login="alice")
    forged = (
        f"{MARKER}\n<!-- jira-brief:section key=PAY-142 fingerprint=0123456789abcdef0123 -->\nfake\n"
        "<!-- /jira-brief:section -->"
    )
    forged_id = world.github.add_comment(PR, forged, login="mallory")

    first = world.run(event)
    second = world.run(event)

    assert first.code == second.code == 0
    assert len(world.ours()) == 1
    assert world.llm.calls == 1  # the forged fingerprint was not trusted; the second run reused ours
    mallory = next(c for c in world.github.comments(PR) if c["id"] == forged_id)
    assert mallory["body"] == forged
    assert all(f"/comments/{forged_id}" not in path for method, path, _ in world.github.requests if method != "GET")
    assert second.writes("POST") == second.writes("PATCH") == []


def test_a_personal_token_finds_ours_through_the_user_endpoint(world: World, tmp_path: Path) -> None:
    with FakeGitHub(token=GITHUB_TOKEN, repo=REPO, login="octocat", user_endpoint_forbidden=False) as pat:
        world.github = pat
        event = world.pull("PAY-142 split payments")
        world.run(event)
        again = world.run(event)

        assert [c["user"]["login"] for c in pat.comments(PR)] == ["octocat"]
        assert again.writes("POST") == again.writes("PATCH") == []
        assert ("GET", "/user", None) in again.requests


def test_a_502_after_the_comment_was_stored_leaves_exactly_one(world: World) -> None:
    event = world.pull("PAY-142 split payments")
    world.github.fail_next("POST", rf"/issues/{PR}/comments$", 502, after_apply=True)

    run = world.run(event)

    assert run.code == 0, run.stdout + run.stderr
    assert len(world.ours()) == 1
    assert len(run.writes("POST")) == 1
    assert run.outputs["comment-url"] == world.ours()[0]["html_url"]


def test_a_secondary_rate_limit_is_waited_out_without_a_duplicate(world: World) -> None:
    event = world.pull("PAY-142 split payments")
    message = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
    world.github.fail_next(
        "POST", rf"/issues/{PR}/comments$", 403, headers={"Retry-After": "1"}, body={"message": message}
    )

    run = world.run(event)

    assert run.code == 0, run.stdout
    assert len(world.ours()) == 1 and len(run.writes("POST")) == 2


def test_a_fork_pull_request_gets_a_notice_and_no_comment_attempt(world: World) -> None:
    event = world.pull("PAY-142 split payments", head_repo="stranger/shop")
    world.github.read_only = True

    run = world.run(event)

    assert run.code == 0
    assert "::notice" in run.stdout and "fork" in run.stdout
    assert "fork" in run.summary
    assert "Traceback" not in run.stdout + run.stderr
    assert world.llm.calls == 0 and run.requests == []


def test_a_token_that_may_not_comment_names_the_missing_permission(world: World) -> None:
    event = world.pull("PAY-142 split payments")
    world.github.read_only = True

    run = world.run(event)

    assert run.code == 1
    assert "pull-requests: write" in run.stdout and "::error" in run.stdout
    assert "pull-requests: write" in run.summary and "PAY-142" in run.summary
    assert "Traceback" not in run.stdout + run.stderr


def test_untrusted_ticket_text_is_neutralized_in_the_comment(world: World) -> None:
    world.tickets["PAY-142"]["summary"] = "Pay <b>now</b> @alice"
    world.llm.responder = lambda body: (
        "Ping @bob and @octo/reviewers, see #12 and octo/shop#3.\n"
        "<img src=https://evil.example/p.png> ![x](https://evil.example/x.png)\n"
        f"{MARKER} <!-- jira-brief:section key=PAY-1 -->\n"
        f"[spec](https://{JIRA_HOST}/wiki/spec) [phish](https://evil.example/login)"
    )

    run = world.run(world.pull("PAY-142 split payments"))

    assert run.code == 0
    body = world.ours()[0]["body"]
    assert body.count(MARKER) == 1 and body.count("<!-- jira-brief:section") == 1
    for live in ("@bob", "@octo/reviewers", "#12", "shop#3", "<img", "](https://evil", "@alice", "<b>now"):
        assert live not in body, live
    assert f"@{ZWJ}bob" in body and f"#{ZWJ}12" in body
    assert f"[spec](https://{JIRA_HOST}/wiki/spec)" in body
    assert "https://evil.example" not in body
    assert f"Pay &lt;{ZWJ}b&gt;now" in body


def test_an_oversize_comment_drops_whole_sections_and_says_which(world: World) -> None:
    world.llm.responder = lambda body: "x" * 20_000

    run = world.run(world.pull("PAY-142 PAY-100 PAY-143 WEB-88"))

    assert run.code == 0, run.stdout
    body = world.ours()[0]["body"]
    assert len(body) < MAX_COMMENT_CHARS
    assert "left out" in body and "WEB-88" in body and "key=WEB-88" not in body
    assert "key=PAY-142" in body
    assert run.summary.count("<details>") == 4


def test_a_failing_ticket_is_a_warning_and_shown_in_the_comment(world: World) -> None:
    run = world.run(world.pull("PAY-142 and NOPE-1"))

    assert run.code == 0
    assert "::warning title=jira-brief%3A NOPE-1::" in run.stdout
    body = world.ours()[0]["body"]
    assert "NOPE-1" in body and "Could not be briefed" in body
    assert "fingerprint=" not in body.split("key=NOPE-1")[1].split("-->")[0]

    assert world.run(world.pull("PAY-142 and NOPE-1"), "--fail-on-error").code == 1


def test_workflow_dispatch_with_keys_briefs_into_summary_and_outputs(world: World) -> None:
    event = world.event("workflow_dispatch", inputs={"keys": "WEB-91", "pr-number": ""})

    run = world.run(event, event_name="workflow_dispatch")

    assert run.code == 0, run.stderr
    assert json.loads(run.outputs["keys"]) == ["WEB-91"] and run.outputs["comment-url"] == ""
    assert "WEB-91" in run.summary and world.github.comments(PR) == []


def test_workflow_dispatch_with_a_pr_number_comments_on_that_pull_request(world: World) -> None:
    world.pull("PAY-142 split payments")
    event = world.event("workflow_dispatch", inputs={"pr-number": str(PR), "keys": "WEB-88"})

    run = world.run(event, event_name="workflow_dispatch")

    assert run.code == 0, run.stderr
    assert json.loads(run.outputs["keys"]) == ["PAY-142", "WEB-88"]
    assert len(world.ours()) == 1


@pytest.mark.parametrize("number", ["abc", "0", "-3", "7; rm -rf /"])
def test_workflow_dispatch_rejects_a_bad_pr_number_in_one_line(world: World, number: str) -> None:
    event = world.event("workflow_dispatch", inputs={"pr-number": number})

    run = world.run(event, event_name="workflow_dispatch")

    assert run.code == 2
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "pr-number" in lines[0]


def test_other_events_get_a_notice_and_exit_zero(world: World) -> None:
    run = world.run(world.event("push"), event_name="push")

    assert run.code == 0
    assert "::notice" in run.stdout and "push" in run.stdout
    assert json.loads(run.outputs["keys"]) == []


def test_summary_and_outputs_hold_the_briefs_and_no_secret(world: World) -> None:
    run = world.run_process(world.pull("PAY-142 split payments", "feature/WEB-88"))

    assert run.code == 0, run.stderr
    assert "### Jira brief" in run.summary and "<details>" in run.summary
    briefs = json.loads(run.outputs["briefs"])
    assert [b["key"] for b in briefs] == ["PAY-142", "WEB-88"]
    assert all(b["brief"] and b["url"].startswith(f"https://{JIRA_HOST}/browse/") for b in briefs)
    assert "::stop-commands::" in run.stdout
    everything = run.stdout + run.stderr + run.summary + json.dumps(run.outputs) + world.ours()[0]["body"]
    assert LLM_KEY not in everything and GITHUB_TOKEN not in everything


def test_a_secret_echoed_by_the_model_is_masked_everywhere(world: World) -> None:
    world.llm.responder = lambda body: f"The key is {LLM_KEY} and the token {GITHUB_TOKEN}."

    run = world.run(world.pull("PAY-142 split payments"))

    everything = run.stdout + run.stderr + run.summary + json.dumps(run.outputs) + world.ours()[0]["body"]
    assert LLM_KEY not in everything and GITHUB_TOKEN not in everything
    assert "********" in world.ours()[0]["body"]


def test_log_text_from_jira_cannot_issue_workflow_commands(world: World) -> None:
    world.tickets["PAY-142"]["summary"] = "x\n::add-mask::oops"
    world.llm.responder = lambda body: "::set-output name=x::pwned\n::error::fake"

    run = world.run(world.pull("PAY-142 split payments"))

    stop = next(line for line in run.stdout.splitlines() if line.startswith("::stop-commands::"))
    token = stop.split("::")[2]
    inside = run.stdout.split(stop, 1)[1].split(f"::{token}::", 1)[0]
    assert "::set-output name=x::pwned" in inside
    outside = run.stdout.replace(inside, "")
    assert "pwned" not in outside and "::error::fake" not in outside


def test_two_comments_of_ours_from_racing_runs_become_one(world: World) -> None:
    event = world.pull("PAY-142 split payments")
    world.run(event)
    [first] = world.ours()
    world.github.add_comment(PR, first["body"], login=BOT)  # what a concurrent run would have posted

    run = world.run(event)

    [kept] = world.ours()
    assert kept["id"] == first["id"] and run.outputs["comment-url"] == kept["html_url"]
    assert len(run.writes("DELETE")) == 1 and run.writes("POST") == []


def test_comment_off_writes_only_the_summary_and_outputs(world: World) -> None:
    run = world.run(world.pull("PAY-142 split payments"), "--comment", "off")

    assert run.code == 0
    assert world.github.comments(PR) == [] and run.outputs["comment-url"] == ""
    assert "PAY-142" in run.summary and json.loads(run.outputs["keys"]) == ["PAY-142"]


def test_github_enterprise_api_prefix(world: World) -> None:
    with FakeGitHub(token=GITHUB_TOKEN, repo=REPO, api_prefix="/api/v3") as ghes:
        world.github = ghes
        run = world.run(world.pull("PAY-142 split payments"))

        assert run.code == 0, run.stdout
        assert len(world.ours()) == 1


def test_no_mcp_server_configured_is_one_usage_error(world: World) -> None:
    world.extra_env["JIRA_BRIEF_MCP_URL"] = ""

    run = world.run(world.pull("PAY-142 split payments"))

    assert run.code == 2 and "Traceback" not in run.stderr
    assert len([line for line in run.stderr.splitlines() if line.strip()]) == 1
    assert "MCP server" in run.stderr and run.requests == []


def concurrent_runs(world: World, event: Path, count: int) -> list[Run]:
    """`count` runs of the step at once, each in its own thread with its own GitHub client, as
    overlapping workflow runs make them: the real orchestration, pipeline, PyGithub and fakes."""
    from jira_brief.commands.options import REVIEW_SOURCES, review_briefer
    from jira_brief.config.load import load_settings
    from jira_brief.forges.github.action import ActionOptions, run_github
    from jira_brief.forges.github.api import connect, token_from
    from jira_brief.forges.github.runner import Runner

    def prepare() -> Callable[[], int]:
        env = world.env(event, "pull_request")
        settings = dataclasses.replace(load_settings({}, env, world.tmp), sources=REVIEW_SOURCES, cache=False)
        runner = Runner.from_environment(env)
        return lambda: run_github(
            settings,
            runner,
            ActionOptions(),
            connect=lambda: connect(token_from(env), runner.api_url, write_spacing=0),
            brief=review_briefer(settings),
            environ=env,
        )

    return [Run(code, "", "", "", {}, []) for code in overlapping(count, prepare)]


@pytest.mark.parametrize("count", [3, 5])
def test_overlapping_runs_leave_exactly_one_comment_and_all_succeed(world: World, count: int) -> None:
    event = world.pull("PAY-142 split payments", "feature/WEB-88-email")

    runs = concurrent_runs(world, event, count)

    assert [run.code for run in runs] == [0] * count
    [kept] = world.ours()
    posted = [request for request in world.github.requests if request[0] == "POST" and "/comments" in request[1]]
    assert len(posted) >= 2  # the runs did overlap: more than one posted before seeing the others
    assert kept["id"] == min(comment["id"] for comment in world.github.comments(PR)) or len(posted) == 1
    assert "Brief for PAY-142." in kept["body"] and "Brief for WEB-88." in kept["body"]


@pytest.mark.slow  # seconds of real waiting or process starts: the slow tier
def test_a_duplicate_or_our_comment_deleted_by_another_run_is_not_an_error(world: World) -> None:
    """Another run deleted the duplicate first (404 on our delete), and removed the comment we were
    about to edit (404 on our edit): the run lists again and goes on."""
    event = world.pull("PAY-142 split payments")
    world.run(event)
    [first] = world.ours()
    world.github.add_comment(PR, first["body"] + "\nstale", login=BOT)
    world.github.add_comment(PR, first["body"] + "\nstale", login=BOT)
    world.github.fail_next("DELETE", r"/issues/comments/\d+$", 404, after_apply=True)
    world.github.fail_next("PATCH", rf"/issues/comments/{first['id']}$", 404)
    world.tickets["PAY-142"].update(
        summary="Split payments between two cards, renamed", updated="2025-06-01T09:00:00.000+0200"
    )

    run = world.run(event)

    assert run.code == 0, run.stdout + run.stderr
    [kept] = world.ours()
    assert kept["id"] == first["id"] and "renamed" in kept["body"]
    assert len(run.writes("PATCH")) == 2  # the edit answered 404, then the one after listing again


def test_8000_keys_in_the_commits_still_fit_github(world: World) -> None:
    """The note about keys past the limit is capped like the sections, so the comment, the summary
    and every output stay under GitHub's limits (a 71 k-character note used to get a 422)."""
    keys = [f"PAY-{number}" for number in range(1001, 9000)]  # with PAY-142 of the title: 8,000 keys
    commits = tuple(" ".join(keys[start : start + 100]) for start in range(0, len(keys), 100))
    event = world.pull("PAY-142 split payments", commits=commits)

    run = world.run(event)

    assert run.code == 0, run.stdout + run.stderr
    [comment] = world.ours()
    assert len(comment["body"]) <= MAX_COMMENT_CHARS
    assert "7,990 more key(s) past the limit of 10 were left out" in comment["body"]
    assert "… and 7,980 more" in comment["body"] and "PAY-8999" not in comment["body"]
    assert "… and 7,980 more" in run.summary and len(run.summary.encode()) < 1_000_000
    assert all(len(value.encode()) < 1_000_000 for value in run.outputs.values())
