"""Whole `jira-brief bitbucket` runs, as a step of a Bitbucket Pipelines `pull-requests:` pipeline makes them.

Real wire protocols end to end: jira-brief's httpx2 client against FakeBitbucket (pages with `next`
links, the diff's redirect, deleted comments, an access token that cannot ask who it is, text and HTML
error bodies, 429 without Retry-After, a 5xx after the comment was stored), the OpenAI SDK against
FakeOpenAI, and the demo Jira served over loopback HTTP as an MCP server. Comments are also read as
Bitbucket shows them (`content.html`), where raw HTML is escaped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from jira_brief.commands.main import main
from jira_brief.commands.options import REVIEW_SOURCES, review_briefer
from jira_brief.config.load import load_settings
from jira_brief.forges import credential_variables
from jira_brief.forges.bitbucket.api import connect
from jira_brief.forges.bitbucket.job import JobOptions, run_bitbucket
from jira_brief.forges.bitbucket.pipelines import Pipeline
from jira_brief.jira.transports import stdio_environment
from jira_brief.publish.dialect import PLAIN
from jira_brief.publish.neutralize import ZWJ
from tests.e2e.helpers import JIRA_HOST, LLM_KEY, briefed_keys, briefing_env, overlapping, run_console
from tests.e2e.test_coverage_github import CRITERIA, FILES, THREE_OF_FIVE, structured
from tests.fakes.bitbucket_server import FakeBitbucket, make_account
from tests.fakes.openai_server import FakeOpenAI

pytestmark = pytest.mark.usefixtures("isolated_env")

REPO = "acme/shop"
PR = 7
TOKEN = "bbat_S3cret@Access#Token42"  # "@" and "#" are where neutralizing inserts a joiner
Request = tuple[str, str, dict[str, Any] | None]


@dataclass
class Run:
    """One run: exit code, log, error stream, jira-brief.json (its briefs), and the requests Bitbucket saw."""

    code: int
    stdout: str
    stderr: str
    briefs: list[dict[str, Any]]
    requests: list[Request]

    @property
    def keys(self) -> list[str]:
        return [brief["key"] for brief in self.briefs]

    def comment(self) -> tuple[str, str]:
        """What the log says of the comment: (created, updated or unchanged; its URL), or ("", "")."""
        line = next((line for line in self.stdout.splitlines() if line.startswith("jira-brief: comment ")), "")
        action, _, url = line.removeprefix("jira-brief: comment ").partition(": ")
        return action, url

    def writes(self, method: str) -> list[Request]:
        return [request for request in self.requests if request[0] == method and "/comments" in request[1]]

    def errors(self) -> list[str]:
        return [line for line in (self.stdout + self.stderr).splitlines() if "error" in line]


@dataclass
class World:
    """FakeBitbucket + FakeOpenAI + the demo Jira, and ways to run `jira-brief bitbucket` against them."""

    bitbucket: FakeBitbucket
    llm: FakeOpenAI
    mcp_url: str
    tickets: dict[str, Any]
    tmp: Path
    runs: int = 0
    extra_env: dict[str, str] = field(default_factory=dict)

    def pull(self, title: str, branch: str = "feature/checkout", **details: Any) -> None:
        """Open pull request #7 (or change it), keeping its files."""
        files = self.bitbucket._pulls[PR].files if PR in self.bitbucket._pulls else []
        self.bitbucket.add_pull(PR, title=title, source_branch=branch, **details)
        self.bitbucket._pulls[PR].files = files

    def env(self) -> dict[str, str]:
        self.runs += 1
        return {
            "CI": "true",
            "BITBUCKET_BUILD_NUMBER": str(40 + self.runs),
            "BITBUCKET_REPO_FULL_NAME": REPO,
            "BITBUCKET_PR_ID": str(PR),
            "BITBUCKET_BRANCH": "feature/checkout",
            "JIRA_BRIEF_BITBUCKET_API_URL": self.bitbucket.api_url,
            "JIRA_BRIEF_BITBUCKET_TOKEN": TOKEN,
            **briefing_env(self.mcp_url, self.llm, self.tmp),
            **self.extra_env,
        }

    def output(self) -> Path:
        return self.tmp / f"jira-brief-{self.runs}.json"

    def run(self, *args: str) -> Run:
        """`jira-brief bitbucket ARGS` in process, as the pipeline's step runs it."""
        env, before = self.env(), len(self.bitbucket.requests)
        env = {name: value for name, value in env.items() if value != ""}
        result = CliRunner().invoke(
            main, ["bitbucket", "--json-file", str(self.output()), *args], env=env, catch_exceptions=False
        )
        return self._collect(result.exit_code, result.stdout, result.stderr, before)

    def run_process(self, *args: str) -> Run:
        """The same through the installed console script, in its own process."""
        env, before = self.env(), len(self.bitbucket.requests)
        done = run_console(["bitbucket", "--json-file", str(self.output()), *args], env, self.tmp)
        return self._collect(done.returncode, done.stdout, done.stderr, before)

    def step(self, options: JobOptions, cache: bool = True) -> Callable[[], int]:
        """The step's orchestration, set up for one run in this process, its retries not waiting."""
        env = self.env()
        settings = load_settings({}, env, self.tmp, credential_variables())
        settings = dataclasses.replace(settings, sources=REVIEW_SOURCES, cache=cache)
        pipeline = Pipeline.from_environment(env)
        return lambda: run_bitbucket(
            settings,
            pipeline,
            options,
            connect=lambda credential: connect(settings, credential, pipeline.api_url, backoff=0),
            brief=review_briefer(settings),
            environ=env,
        )

    def job(self) -> Run:
        """One run of `step`, its log captured: a 429 or a 5xx that lasts is tried four times at once."""
        before, log = len(self.bitbucket.requests), io.StringIO()
        run = self.step(JobOptions(json_file=self.tmp / f"jira-brief-{self.runs + 1}.json"))  # `output()` once set up
        with contextlib.redirect_stdout(log):
            code = run()
        return self._collect(code, log.getvalue(), "", before)

    def _collect(self, code: int, stdout: str, stderr: str, before: int) -> Run:
        output = self.output()
        briefs = json.loads(output.read_text(encoding="utf-8")) if output.exists() else []
        return Run(code, stdout, stderr, briefs, self.bitbucket.requests[before:])

    def ours(self) -> list[dict[str, Any]]:
        """Live comments by the token's bot that start with our marker."""
        return [
            comment
            for comment in self.bitbucket.comments(PR)
            if not comment["deleted"]
            and comment["user"]["uuid"] == self.bitbucket.bot.uuid
            and comment["content"]["raw"].startswith(PLAIN.marker)
        ]

    def comment(self) -> tuple[str, str]:
        """Our one comment: as written (raw) and as Bitbucket shows it (html)."""
        [comment] = self.ours()
        return comment["content"]["raw"], comment["content"]["html"]


@pytest.fixture
def world(jira: tuple[dict[str, Any], str], plain_dir: Path, tmp_path: Path) -> Iterator[World]:
    tickets, url = jira
    with FakeBitbucket(access_token=TOKEN) as bitbucket, FakeOpenAI(api_key=LLM_KEY) as llm:
        yield World(bitbucket, llm, url, tickets, tmp_path)


def shown(html: str) -> str:
    """What a reader sees of a comment: its text, tags dropped."""
    import re

    return re.sub(r"<[^>]+>", "", html)


def test_first_run_posts_one_comment_as_bitbucket_shows_it(world: World) -> None:
    world.pull("PAY-142 split payments", "feature/WEB-88-email")

    run = world.run()

    assert run.code == 0, run.stdout + run.stderr
    assert sorted(briefed_keys(world.llm)) == ["PAY-142", "WEB-88"]
    raw, html = world.comment()
    assert raw.index("PAY-142") < raw.index("WEB-88") and "Brief for PAY-142." in raw
    assert (
        f'<h3><a href="https://{JIRA_HOST}/browse/PAY-142">PAY-142</a> — Split payments between two cards</h3>' in html
    )
    assert "<em>Story · In Progress · High · Lukas Brandt · updated " in html
    assert "jira-brief:" not in html and "[//]" not in html and "&lt;" not in html and "fingerprint" not in html
    assert run.keys == ["PAY-142", "WEB-88"] and all(brief["brief"] for brief in run.briefs)
    assert run.comment() == ("created", world.ours()[0]["links"]["html"]["href"])
    lines = run.stdout.splitlines()
    assert lines[:4] == [
        "jira-brief: read pull request #7 of acme/shop",
        f"jira-brief: connecting to {world.mcp_url}",
        "jira-brief: reading the tickets",
        "jira-brief: writing briefs",
    ]
    assert lines[4:] == [
        "jira-brief: posting the pull request comment",
        f"jira-brief: comment created: {run.comment()[1]}",
        "jira-brief: 2 ticket(s): PAY-142, WEB-88",
        f"jira-brief: wrote {world.output()}",
    ]
    assert "\x1b" not in run.stdout
    assert TOKEN not in json.dumps(world.llm.requests)  # the model never sees the credential


def test_a_stdio_mcp_server_never_gets_the_bitbucket_credentials(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {**world.env(), "JIRA_BRIEF_BITBUCKET_API_TOKEN": "api-secret-1", "JIRA_API_TOKEN": "j"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("JIRA_BRIEF_MCP_URL")
    settings = load_settings({"mcp_command": "mcp-atlassian"}, credentials=credential_variables())

    given = stdio_environment(settings)

    assert given["JIRA_API_TOKEN"] == "j"
    assert not any(name.startswith(("JIRA_BRIEF_", "BITBUCKET_")) for name in given)
    assert TOKEN not in given.values() and "api-secret-1" not in given.values()


def test_rerun_with_nothing_changed_makes_no_model_call_and_no_write(world: World) -> None:
    world.pull("PAY-142 split payments", "feature/WEB-88-email")
    world.run()
    calls = world.llm.calls

    again = world.run()

    assert again.code == 0, again.stdout
    assert world.llm.calls == calls
    assert again.writes("POST") == again.writes("PUT") == again.writes("DELETE") == []
    assert again.comment()[0] == "unchanged"
    assert [b["unchanged"] for b in again.briefs] == [True, True] and all(b["brief"] for b in again.briefs)


def test_a_changed_ticket_alone_is_briefed_again_and_the_comment_edited(world: World) -> None:
    world.pull("PAY-142 split payments", "feature/WEB-88-email")
    world.run()
    before, _ = world.comment()
    world.llm.requests.clear()
    world.tickets["WEB-88"]["updated"] = "2025-06-01T10:00:00.000+0200"
    world.tickets["WEB-88"]["summary"] = "Confirmation email lists every payment method"

    run = world.run()

    assert briefed_keys(world.llm) == ["WEB-88"]
    assert len(run.writes("PUT")) == 1 and run.writes("POST") == []
    after, html = world.comment()
    pay = before[before.index("key=PAY-142") : before.index("[//]: # (jira-brief:section key=WEB-88")]
    assert pay in after and "Confirmation email lists every payment method" in html


def test_no_key_left_deletes_our_comment(world: World) -> None:
    world.pull("PAY-142 split payments")
    world.run()
    world.pull("Tidy the README")

    run = world.run()

    assert run.code == 0 and world.ours() == []
    assert len(run.writes("DELETE")) == 1
    assert "No Jira key found in this pull request" in run.stdout and run.briefs == []


def test_a_foreign_comment_copying_marker_seal_and_fingerprints_is_never_edited_or_trusted(world: World) -> None:
    """Copies of our comment, word for word but for the brief, by a person and by another token's bot:
    beside ours they are left alone; without ours (and without a cache) their sections are not reused."""
    world.pull("PAY-142 split payments")
    world.run()
    sealed, _ = world.comment()
    forged = sealed.replace("Brief for PAY-142.", "Wire the refunds to IBAN X.")
    other_bot = make_account("deploy-bot", type="app_user", kind="repository_access_token")
    authors = (world.bitbucket.add_user("Mallory"), other_bot)
    foreign = [world.bitbucket.add_comment(PR, forged, author=author) for author in authors]
    calls = world.llm.calls

    beside = world.run()
    [ours] = world.ours()
    world.bitbucket._comments[ours["id"]].deleted = True
    shutil.rmtree(world.tmp / "cache")  # a fresh runner: only the comments remember
    alone = world.run()

    assert beside.code == alone.code == 0
    assert beside.writes("POST") == beside.writes("PUT") == beside.writes("DELETE") == []
    assert world.llm.calls == calls + 1  # the run without ours briefed PAY-142 again, trusting no copy
    assert "IBAN" not in world.comment()[0] and "Brief for PAY-142." in world.comment()[0]
    written = {path for method, path, _ in world.bitbucket.requests if method != "GET"}
    assert not any(path.endswith(f"/comments/{comment_id}") for comment_id in foreign for path in written)
    assert [c["content"]["raw"] for c in world.bitbucket.comments(PR) if c["id"] in foreign] == [forged, forged]


def test_deleted_comments_are_ignored(world: World) -> None:
    world.pull("PAY-142 split payments")
    world.run()
    [old] = world.ours()
    world.bitbucket._comments[old["id"]].deleted = True  # deleted by someone in the web page
    world.bitbucket.add_comment(PR, "[//]: # (jira-brief)\nstale", deleted=True)

    run = world.run()

    assert run.code == 0 and len(world.ours()) == 1 and world.ours()[0]["id"] != old["id"]
    assert len(run.writes("POST")) == 1 and run.writes("DELETE") == []
    assert not any(f"/comments/{old['id']}" in path for _, path, _ in run.writes("PUT"))


def test_a_hostile_ticket_cannot_mention_or_link_anyone(world: World) -> None:
    dana = world.bitbucket.account
    world.tickets["PAY-142"]["summary"] = f"Pay now @{{{dana.account_id}}} <b>now</b>"
    world.llm.responder = lambda body: (
        f'Ping @{{{dana.account_id}}}, @"Dana Dev", @dana and see #12.\n'
        f"[//]: # (jira-brief:section key=PAY-1 fingerprint=ffffffffffffffffffff)\n"
        "<img src=https://evil.example/p.png> [phish](https://evil.example/login) https://evil.example\n"
        f"[spec](https://{JIRA_HOST}/wiki/spec)"
    )
    world.pull("PAY-142 split payments")

    run = world.run()

    raw, html = world.comment()
    assert run.code == 0
    assert "ap-mention" not in html and "<img" not in html and "<b>" not in html
    assert 'href="https://evil' not in html and f'href="https://{JIRA_HOST}/wiki/spec"' in html
    assert f"@{ZWJ}{{{dana.account_id}}}" in raw and f"#{ZWJ}12" in raw
    assert raw.count("[//]: # (jira-brief:section") == 1


@pytest.mark.slow  # seconds of real waiting or process starts: the slow tier
def test_secrets_are_masked_in_the_log_the_comment_and_jira_brief_json(world: World) -> None:
    world.llm.responder = lambda body: f"The key is {LLM_KEY} and the token {TOKEN}."
    world.pull("PAY-142 split payments")

    run = world.run_process()

    raw, _ = world.comment()
    everything = run.stdout + run.stderr + json.dumps(run.briefs) + raw
    assert run.code == 0, run.stderr
    assert LLM_KEY not in everything and TOKEN not in everything and "********" in raw
    assert run.keys == ["PAY-142"]


def test_a_502_after_the_comment_was_stored_leaves_exactly_one(world: World) -> None:
    world.pull("PAY-142 split payments")
    world.bitbucket.fail_next("POST", r"/comments$", 502, after_apply=True)

    run = world.run()

    assert run.code == 0, run.stdout
    assert len(world.ours()) == 1 and "(jira-brief:seal pending)" not in world.comment()[0]
    assert run.comment() == ("created", world.ours()[0]["links"]["html"]["href"])
    assert world.run().writes("POST") == []  # and the next run knows it for ours


@pytest.mark.parametrize("count", [3, 5])
def test_overlapping_runs_leave_exactly_one_comment(world: World, count: int) -> None:
    world.pull("PAY-142 split payments", "feature/WEB-88-email")

    codes = overlapping(count, lambda: world.step(JobOptions(json_file=None), cache=False))

    assert codes == [0] * count
    [kept] = world.ours()
    posted = [request for request in world.bitbucket.requests if request[0] == "POST"]
    assert len(posted) >= 2  # the runs did overlap
    assert "Brief for PAY-142." in kept["content"]["raw"] and "Brief for WEB-88." in kept["content"]["raw"]
    assert world.run().writes("POST") == []


@pytest.mark.parametrize(
    ("arrange", "needles"),
    [
        ("wrong-token", ["(401 Token is invalid", "JIRA_BRIEF_BITBUCKET_TOKEN"]),
        ("read-only", ["lacks the scope pullrequest:write", "Pull requests: Write"]),
        ("no-such-pull", ["found no pull request #99 in acme/shop", "(404 Resource not found)"]),
        ("rate-limited", ["rate limit was reached", "(429 Rate limit for this resource has been exceeded)"]),
        ("failing", ["Bitbucket failed while reading the pull request (503 Something went wrong", "try again"]),
    ],
)
def test_each_refusal_is_one_clear_line(world: World, arrange: str, needles: list[str]) -> None:
    world.pull("PAY-142 split payments")
    if arrange == "wrong-token":
        world.extra_env["JIRA_BRIEF_BITBUCKET_TOKEN"] = "bbat_not-the-token"
    elif arrange == "read-only":
        world.bitbucket.read_only = True
    elif arrange == "no-such-pull":
        world.extra_env["BITBUCKET_PR_ID"] = "99"
    elif arrange == "rate-limited":
        world.bitbucket.rate_limit = 2
    else:
        for _ in range(4):
            world.bitbucket.fail_next("GET", rf"/pullrequests/{PR}$", 503)

    run = world.job()

    assert run.code == 1 and "Traceback" not in run.stdout
    [line] = run.errors()
    assert line.startswith("jira-brief: error: ") and all(needle in line for needle in needles), line
    assert world.ours() == []


def test_a_forks_pull_request_without_credentials_is_skipped_in_one_line(world: World) -> None:
    world.bitbucket.private = False
    world.pull("PAY-142 split payments", source_repo="stranger/shop")
    world.extra_env["JIRA_BRIEF_BITBUCKET_TOKEN"] = ""

    run = world.run()

    assert run.code == 0 and run.stderr == ""
    [notice] = [line for line in run.stdout.splitlines() if "comes from a fork" in line]
    assert run.stdout.splitlines() == [notice, f"jira-brief: wrote {world.output()}"]
    assert "no Bitbucket credentials" in notice and run.briefs == []
    assert world.llm.calls == 0 and world.bitbucket.comments(PR) == []


def test_a_forks_pull_request_is_not_briefed_even_with_credentials(world: World) -> None:
    world.pull("PAY-142 split payments", source_repo="stranger/shop")

    run = world.run()

    assert run.code == 0 and "comes from a fork" in run.stdout
    assert world.llm.calls == 0 and world.bitbucket.comments(PR) == []


def test_no_credentials_is_one_line_saying_what_to_create_and_where(world: World) -> None:
    world.pull("PAY-142 split payments")
    world.extra_env["JIRA_BRIEF_BITBUCKET_TOKEN"] = ""

    run = world.run()

    assert run.code == 2
    [line] = run.stderr.splitlines()
    assert "repository access token with the scope Pull requests: Write" in line
    assert "secured repository variable JIRA_BRIEF_BITBUCKET_TOKEN" in line and world.llm.calls == 0


def test_a_custom_pipeline_takes_a_pull_request_and_keys(world: World) -> None:
    world.pull("PAY-142 split payments")
    world.extra_env["BITBUCKET_PR_ID"] = ""

    nothing = world.run()
    assert nothing.code == 0 and "not a pull-requests pipeline" in nothing.stdout and world.llm.calls == 0
    keys_only = world.run("--keys", "WEB-91")
    assert keys_only.code == 0 and keys_only.keys == ["WEB-91"] and keys_only.requests == []
    both = world.run("--pr", str(PR), "--keys", "WEB-91")
    assert both.code == 0 and both.keys == ["PAY-142", "WEB-91"] and len(world.ours()) == 1
    bad = world.run("--pr", "0")
    assert bad.code == 2 and "--pr" in bad.stderr


def test_an_account_api_token_finds_its_comment_through_the_user_endpoint(world: World) -> None:
    world.extra_env.update(
        JIRA_BRIEF_BITBUCKET_TOKEN="",
        JIRA_BRIEF_BITBUCKET_EMAIL=world.bitbucket.email,
        JIRA_BRIEF_BITBUCKET_API_TOKEN=world.bitbucket.api_token,
    )
    world.pull("PAY-142 split payments")

    first, again = world.run(), world.run()

    [comment] = world.bitbucket.comments(PR)
    assert first.code == again.code == 0 and comment["user"]["uuid"] == world.bitbucket.account.uuid
    assert again.writes("POST") == again.writes("PUT") == []
    assert ("GET", "/2.0/user", None) in again.requests


def test_an_oversize_comment_drops_whole_sections_and_says_which(world: World) -> None:
    world.llm.responder = lambda body: "word " * 3_000
    world.pull("PAY-142 PAY-100 PAY-143 WEB-88")

    run = world.run()

    raw, html = world.comment()
    assert run.code == 0, run.stdout
    assert len(raw) <= 32_000
    assert "left out to stay under Bitbucket's size limit" in shown(html) and "key=WEB-88" not in raw
    assert "key=PAY-142" in raw and run.keys[-1] == "WEB-88"


def test_a_failing_ticket_is_a_line_and_fail_on_error_fails_the_step(world: World) -> None:
    world.pull("PAY-142 and NOPE-1")

    run = world.run()
    strict = world.run("--fail-on-error")

    assert run.code == 0 and "jira-brief: warning: NOPE-1: " in run.stdout
    assert "Could not be briefed" in shown(world.comment()[1])
    assert strict.code == 1


def test_the_criteria_check_links_evidence_into_the_pull_requests_diff(world: World) -> None:
    world.tickets["PAY-142"]["customfield_10042"]["value"] = "\n".join(f"* {item}" for item in CRITERIA)
    world.llm.responder = structured(THREE_OF_FIVE)
    world.pull("PAY-142 split payments")
    for path, patch in FILES.items():
        world.bitbucket.add_file(PR, path, status="added" if "split" in path else "modified", patch=patch)

    run = world.run()
    again = world.run()

    raw, html = world.comment()
    page = f"https://bitbucket.org/{REPO}/pull-requests/{PR}/diff"
    assert run.code == 0, run.stdout
    assert "3 of 5 criteria covered" in html and html.count("<li>✅") == 3
    assert f'href="{page}#Lshop/authorise.pyT11"' in html and "imaginary_refunds" not in raw
    assert "jira-brief:check" not in html
    assert [c["status"] for c in again.briefs[0]["coverage"]] == ["covered"] * 3 + ["not_seen"] * 2
    assert again.writes("PUT") == [] and again.briefs[0]["unchanged"]


def test_comment_off_writes_only_the_log_and_jira_brief_json(world: World) -> None:
    world.pull("PAY-142 split payments")

    run = world.run("--comment", "off")

    assert run.code == 0 and world.bitbucket.comments(PR) == []
    assert run.keys == ["PAY-142"] and run.comment() == ("", "")
    assert run.briefs[0]["brief"]


def test_no_mcp_server_configured_is_one_usage_error(world: World) -> None:
    world.pull("PAY-142 split payments")
    world.extra_env["JIRA_BRIEF_MCP_URL"] = ""

    run = world.run()

    assert run.code == 2 and len(run.stderr.splitlines()) == 1 and "MCP server" in run.stderr
    assert run.requests == []
