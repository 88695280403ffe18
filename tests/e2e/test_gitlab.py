"""Whole `jira-brief gitlab` runs, as a GitLab CI job in a merge request pipeline makes them.

Real wire protocols end to end: python-gitlab against FakeGitLab (offset pagination, system notes,
quick actions run at a line start, the job token refused, GitLab's error bodies), the OpenAI SDK
against FakeOpenAI, and the demo Jira served over loopback HTTP as an MCP server.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from jira_brief.commands.main import main
from jira_brief.commands.options import REVIEW_SOURCES, review_briefer
from jira_brief.config.load import load_settings
from jira_brief.config.values import Secret
from jira_brief.forges.gitlab.api import connect
from jira_brief.forges.gitlab.job import JobOptions, Pipeline, run_gitlab
from jira_brief.publish.comment import MARKER
from jira_brief.publish.neutralize import ZWJ
from tests.e2e.helpers import JIRA_HOST, LLM_KEY, briefed_keys, briefing_env, overlapping, run_console
from tests.e2e.test_coverage_github import CRITERIA, FILES, THREE_OF_FIVE, structured
from tests.e2e.test_summarize import stdio_command
from tests.fakes.gitlab_server import (
    MAX_NOTE_CHARS,
    MERGE_REQUEST_COMMANDS,
    OTHER_COMMANDS,
    FakeGitLab,
    FileDiff,
    RecordedRequest,
    line_code,
)
from tests.fakes.openai_server import FakeOpenAI

pytestmark = pytest.mark.usefixtures("isolated_env")

PROJECT = "4242"
MR = 7
GITLAB_TOKEN = "glpat-s3cretProjectToken0042xyz"
JOB_TOKEN = "glcbt-s3cretJobToken0042xyz"
NOTES = rf"/merge_requests/{MR}/notes"


@dataclass
class Job:
    """One CLI run: exit code, job log, error stream, jira-brief.json, and the requests GitLab saw."""

    code: int
    stdout: str
    stderr: str
    briefs: list[dict[str, Any]] | None
    requests: list[RecordedRequest]

    def writes(self, method: str) -> list[RecordedRequest]:
        return [request for request in self.requests if request.method == method and NOTES in request.target]

    @property
    def changed_nothing(self) -> bool:
        return not any(request.method != "GET" for request in self.requests)


@dataclass
class Lab:
    """FakeGitLab + FakeOpenAI + the demo Jira, and a way to run `jira-brief gitlab` against them."""

    gitlab: FakeGitLab
    llm: FakeOpenAI
    mcp_url: str
    tickets: dict[str, Any]
    tmp: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    runs: int = 0

    def merge_request(
        self,
        title: str,
        branch: str = "feature/checkout",
        *,
        commits: tuple[str, ...] = (),
        description: str | None = None,
        source_project: str | None = None,
    ) -> None:
        """Open MR !7 on the fake (or replace it), as GitLab shows it to the job."""
        self.gitlab.add_merge_request(
            MR,
            title=title,
            source_branch=branch,
            description=description,
            commits=list(commits),
            source_project=source_project,
        )

    def env(self) -> dict[str, str]:
        """A merge request pipeline's predefined variables, the project's CI/CD variables, the settings."""
        mr = self.gitlab.merge_request(MR)
        self.runs += 1
        return {
            "GITLAB_CI": "true",
            "CI_PIPELINE_SOURCE": "merge_request_event",
            "CI_API_V4_URL": self.gitlab.api_url,
            "CI_PROJECT_ID": PROJECT,
            "CI_MERGE_REQUEST_IID": str(MR),
            "CI_MERGE_REQUEST_PROJECT_ID": PROJECT,
            "CI_MERGE_REQUEST_SOURCE_PROJECT_ID": str(mr["source_project_id"]),
            "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": mr["source_branch"],
            "CI_JOB_TOKEN": JOB_TOKEN,
            "GITLAB_TOKEN": GITLAB_TOKEN,
            **briefing_env(self.mcp_url, self.llm, self.tmp),
            **self.extra_env,
        }

    def run(self, *args: str) -> Job:
        """`jira-brief gitlab ARGS` in process, as the job's script runs it."""
        env = self.env()
        output = self.tmp / f"jira-brief-{self.runs}.json"
        before = len(self.gitlab.requests)
        result = CliRunner().invoke(
            main, ["gitlab", "--json-file", str(output), *args], env=env, catch_exceptions=False
        )
        return self._collect(result.exit_code, result.stdout, result.stderr, output, before)

    def run_process(self, *args: str) -> Job:
        """The same through the installed console script, in its own process (cwd: the project dir)."""
        env = self.env()
        before = len(self.gitlab.requests)
        done = run_console(["gitlab", *args], env, self.tmp)
        return self._collect(done.returncode, done.stdout, done.stderr, self.tmp / "jira-brief.json", before)

    def _collect(self, code: int, stdout: str, stderr: str, output: Path, before: int) -> Job:
        briefs = json.loads(output.read_text(encoding="utf-8")) if output.exists() else None
        return Job(code, stdout, stderr, briefs, self.gitlab.requests[before:])

    def ours(self) -> list[dict[str, Any]]:
        bot = self.gitlab.bot.username
        return [n for n in self.gitlab.notes(MR) if n["author"]["username"] == bot and n["body"].startswith(MARKER)]


@pytest.fixture
def lab(jira: tuple[dict[str, Any], str], plain_dir: Path, tmp_path: Path) -> Iterator[Lab]:
    tickets, url = jira
    with FakeGitLab(token=GITLAB_TOKEN, job_token=JOB_TOKEN) as gitlab, FakeOpenAI(api_key=LLM_KEY) as llm:
        yield Lab(gitlab, llm, url, tickets, tmp_path)


def test_first_run_creates_one_note_with_both_tickets(lab: Lab) -> None:
    lab.merge_request("PAY-142 split payments", "feature/WEB-88-email")

    job = lab.run()

    assert job.code == 0, job.stdout + job.stderr
    assert sorted(briefed_keys(lab.llm)) == ["PAY-142", "WEB-88"]
    [note] = lab.ours()
    body = note["body"]
    assert body.index("PAY-142") < body.index("WEB-88")
    assert f'<a href="https://{JIRA_HOST}/browse/PAY-142"><b>PAY-142</b></a>' in body
    assert "Brief for PAY-142." in body and "Brief for WEB-88." in body
    assert "this merge request names" in body
    assert len(job.writes("POST")) == 1
    assert f"note created: {lab.gitlab.url}/acme/shop/-/merge_requests/{MR}#note_{note['id']}" in job.stdout
    assert [brief["key"] for brief in job.briefs or []] == ["PAY-142", "WEB-88"]


def test_rerun_with_nothing_changed_makes_no_model_call_and_no_write(lab: Lab) -> None:
    lab.merge_request("PAY-142 split payments", "feature/WEB-88-email")
    lab.run()
    calls = lab.llm.calls

    again = lab.run()

    assert again.code == 0, again.stdout + again.stderr
    assert lab.llm.calls == calls
    assert again.changed_nothing, [(r.method, r.target) for r in again.requests]
    assert "note unchanged" in again.stdout
    assert [brief["unchanged"] for brief in again.briefs or []] == [True, True]
    assert all(brief["brief"] for brief in again.briefs or [])


def test_a_changed_ticket_alone_is_briefed_again_and_edits_its_section(lab: Lab) -> None:
    lab.merge_request("PAY-142 split payments", "feature/WEB-88-email")
    lab.run()
    [before] = lab.ours()
    lab.llm.requests.clear()
    lab.tickets["WEB-88"]["updated"] = "2025-06-01T10:00:00.000+0200"
    lab.tickets["WEB-88"]["summary"] = "Confirmation email lists every payment method"

    job = lab.run()

    assert briefed_keys(lab.llm) == ["WEB-88"]
    assert len(job.writes("PUT")) == 1 and job.writes("POST") == job.writes("DELETE") == []
    [after] = lab.ours()
    assert after["id"] == before["id"]
    pay = before["body"][
        before["body"].index("key=PAY-142") : before["body"].index("<!-- jira-brief:section key=WEB-88")
    ]
    assert pay in after["body"]
    assert "Confirmation email lists every payment method" in after["body"]


def test_no_key_left_deletes_our_note(lab: Lab) -> None:
    lab.merge_request("PAY-142 split payments")
    lab.run()
    lab.merge_request("Tidy the README")

    job = lab.run()

    assert job.code == 0 and lab.ours() == []
    assert len(job.writes("DELETE")) == 1
    assert "No Jira key found in this merge request" in job.stdout
    assert job.briefs == []


def test_commits_count_and_the_description_only_when_asked(lab: Lab) -> None:
    lab.merge_request("Checkout rework", commits=("PAY-143 fix rounding",), description="Also WEB-91")
    assert [brief["key"] for brief in lab.run().briefs or []] == ["PAY-143"]

    lab.extra_env["JIRA_BRIEF_SOURCES"] = "pr-title, commits, pr-body"
    assert [brief["key"] for brief in lab.run().briefs or []] == ["WEB-91", "PAY-143"]


def test_ours_is_found_among_120_notes_and_system_notes_and_a_copied_marker_is_left_alone(lab: Lab) -> None:
    lab.merge_request("PAY-142 split payments", commits=("PAY-142 first",))
    for number in range(120):
        lab.gitlab.add_note(MR, f"LGTM {number}")
        if number % 30 == 0:
            lab.gitlab.push_commits(MR, [f"step {number}"])  # GitLab's "added 1 commit" system note
    forged = (
        f"{MARKER}\n<!-- jira-brief:section key=PAY-142 fingerprint=0123456789abcdef0123 -->\nfake\n"
        "<!-- /jira-brief:section -->"
    )
    lab.gitlab.add_user("mallory")
    forged_id = lab.gitlab.add_note(MR, forged, author="mallory")

    first = lab.run()
    for number in range(5):
        lab.gitlab.add_note(MR, f"more {number}")
    second = lab.run()

    assert first.code == second.code == 0
    assert len(lab.ours()) == 1 and lab.llm.calls == 1  # the forged fingerprint was not trusted
    assert next(note for note in lab.gitlab.notes(MR) if note["id"] == forged_id)["body"] == forged
    assert not any(f"/notes/{forged_id}" in r.target for r in lab.gitlab.requests if r.method != "GET")
    assert second.changed_nothing
    pages = [r.target for r in second.requests if r.target.split("?")[0].endswith("/notes")]
    assert len(pages) == 2 and all("sort=asc" in page for page in pages)  # 126 notes: two pages of 100


def test_a_502_after_the_note_was_stored_leaves_exactly_one(lab: Lab) -> None:
    lab.merge_request("PAY-142 split payments")
    lab.gitlab.fail_next("POST", NOTES + "$", 502, after_apply=True)

    job = lab.run()

    assert job.code == 0, job.stdout + job.stderr
    assert len(lab.ours()) == 1 and len(job.writes("POST")) == 1


def test_a_throttled_note_creation_is_not_resent_blindly(lab: Lab) -> None:
    lab.merge_request("PAY-142 split payments")
    lab.gitlab.rate_limit_next("POST", NOTES + "$", notes_create=True)

    job = lab.run()

    assert job.code == 0, job.stdout + job.stderr
    assert len(lab.ours()) == 1 and len(job.writes("POST")) == 2
    posts = [index for index, request in enumerate(job.requests) if request.method == "POST"]
    assert any(request.method == "GET" and "/notes" in request.target for request in job.requests[posts[0] : posts[1]])


def test_a_rate_limited_read_waits_for_retry_after(lab: Lab) -> None:
    lab.merge_request("PAY-142 split payments")
    lab.gitlab.rate_limit_next("GET", NOTES + "$", retry_after=1)
    lab.gitlab.fail_next("GET", r"/diffs$", 503)

    job = lab.run()

    assert job.code == 0, job.stdout + job.stderr
    assert len(lab.ours()) == 1


def test_a_fork_pipeline_running_in_the_fork_says_so_and_makes_no_request(lab: Lab) -> None:
    lab.merge_request("PAY-142 split payments", source_project="stranger/shop")
    fork_id = str(lab.gitlab.merge_request(MR)["source_project_id"])
    # The fork's pipeline: the fork's project, and none of this project's CI/CD variables.
    lab.extra_env.update({"CI_PROJECT_ID": fork_id, "GITLAB_TOKEN": "", "JIRA_BRIEF_MCP_URL": "", "OPENAI_API_KEY": ""})

    job = lab.run()

    assert job.code == 0, job.stderr
    assert job.requests == [] and lab.llm.calls == 0
    notice, wrote = job.stdout.splitlines()
    assert "merge request comes from a fork" in notice and "jira-brief: wrote" in wrote
    assert "Traceback" not in job.stdout + job.stderr


def test_a_parent_pipeline_for_a_fork_merge_request_briefs_it(lab: Lab) -> None:
    lab.merge_request("PAY-142 split payments", source_project="stranger/shop")

    job = lab.run()

    assert job.code == 0, job.stdout + job.stderr
    assert len(lab.ours()) == 1


def test_only_the_job_token_says_what_token_to_create_in_one_line(lab: Lab) -> None:
    lab.merge_request("PAY-142 split payments")
    lab.extra_env["GITLAB_TOKEN"] = ""

    job = lab.run()

    assert job.code == 2
    [line] = [line for line in job.stderr.splitlines() if line.strip()]
    assert "CI_JOB_TOKEN cannot write merge request notes" in line
    assert "project access token" in line and "api scope" in line and "masked CI/CD variable GITLAB_TOKEN" in line
    assert job.requests == [] and lab.llm.calls == 0


def error_line(job: Job) -> str:
    """The one line that says what failed (stdout: the job log)."""
    lines = [line for line in job.stdout.splitlines() if "error" in line]
    assert len(lines) == 1, job.stdout
    assert "Traceback" not in job.stdout + job.stderr
    return lines[0]


def test_an_unknown_token_is_one_line_401(lab: Lab) -> None:
    lab.merge_request("PAY-142 split payments")
    lab.extra_env["GITLAB_TOKEN"] = "glpat-not-a-token-of-this-gitlab"

    job = lab.run()

    assert job.code == 1
    assert "GitLab rejected the token (401 Unauthorized)" in error_line(job)
    assert lab.llm.calls == 0


def test_a_read_api_token_is_one_line_403_naming_the_api_scope(lab: Lab) -> None:
    lab.merge_request("PAY-142 split payments")
    lab.gitlab.add_token("glpat-read-only-token-0042", username=lab.gitlab.bot.username, scopes=("read_api",))
    lab.extra_env["GITLAB_TOKEN"] = "glpat-read-only-token-0042"

    job = lab.run()

    assert job.code == 1 and lab.ours() == []
    assert "lacks the api scope (403 insufficient_scope: The request requires higher" in error_line(job)
    assert [brief["key"] for brief in job.briefs or []] == ["PAY-142"]  # the briefs still reach the artifact


def test_a_forbidden_write_is_one_line_403(lab: Lab) -> None:
    lab.merge_request("PAY-142 split payments")
    lab.gitlab.fail_next("POST", NOTES + "$", 403)

    job = lab.run()

    assert job.code == 1
    assert "may not write notes on merge request !7 (403 Forbidden)" in error_line(job)


def test_an_unknown_merge_request_in_a_manual_pipeline_is_one_line_404(lab: Lab) -> None:
    lab.merge_request("PAY-142 split payments")
    lab.extra_env.update({"CI_PIPELINE_SOURCE": "web", "CI_MERGE_REQUEST_IID": ""})

    job = lab.run("--mr", "99")

    assert job.code == 1
    assert "merge request !99 was not found while reading the merge request (404 Not found)" in error_line(job)


def test_a_note_storage_that_fails_twice_is_one_line(lab: Lab) -> None:
    lab.merge_request("PAY-142 split payments")
    lab.gitlab.fail_next("POST", NOTES + "$", 500)
    lab.gitlab.fail_next("POST", NOTES + "$", 500)

    job = lab.run()

    assert job.code == 1 and lab.ours() == []
    assert "failed twice while storing the comment" in error_line(job)


def test_a_manual_pipeline_with_an_iid_briefs_that_merge_request(lab: Lab) -> None:
    lab.merge_request("PAY-142 split payments")
    lab.extra_env.update({"CI_PIPELINE_SOURCE": "web", "CI_MERGE_REQUEST_IID": ""})

    job = lab.run("--mr", str(MR), "--keys", "WEB-91")

    assert job.code == 0, job.stdout + job.stderr
    assert [brief["key"] for brief in job.briefs or []] == ["PAY-142", "WEB-91"]
    assert len(lab.ours()) == 1


@pytest.mark.parametrize("iid", ["abc", "0", "7; rm -rf /"])
def test_a_bad_iid_is_one_usage_line(lab: Lab, iid: str) -> None:
    lab.merge_request("PAY-142 split payments")
    lab.extra_env.update({"CI_PIPELINE_SOURCE": "web", "CI_MERGE_REQUEST_IID": ""})

    job = lab.run("--mr", iid)

    assert job.code == 2 and job.requests == []
    [line] = [line for line in job.stderr.splitlines() if line.strip()]
    assert "--mr must be a merge request's IID" in line


def test_a_manual_pipeline_naming_nothing_is_one_usage_line_and_a_push_pipeline_a_notice(lab: Lab) -> None:
    lab.extra_env.update({"CI_PIPELINE_SOURCE": "web", "CI_MERGE_REQUEST_IID": ""})
    lab.merge_request("PAY-142 split payments")
    manual = lab.run()
    lab.extra_env["CI_PIPELINE_SOURCE"] = "push"
    push = lab.run()

    assert manual.code == 2 and "pass --mr IID or --keys" in manual.stderr
    assert push.code == 0 and "nothing to brief in a push pipeline" in push.stdout
    assert push.requests == manual.requests == [] and push.briefs == []


def test_comment_off_writes_the_artifact_and_no_note(lab: Lab) -> None:
    lab.merge_request("PAY-142 split payments")

    job = lab.run("--comment", "off")

    assert job.code == 0
    assert lab.gitlab.notes(MR) == [] and job.writes("POST") == []
    assert [brief["key"] for brief in job.briefs or []] == ["PAY-142"]


def test_a_failing_ticket_is_a_warning_unless_fail_on_error(lab: Lab) -> None:
    lab.merge_request("PAY-142 and NOPE-1")

    job = lab.run()

    assert job.code == 0
    assert [line for line in job.stdout.splitlines() if "warning" in line and "NOPE-1" in line]
    assert "Could not be briefed" in lab.ours()[0]["body"]
    assert lab.run("--fail-on-error").code == 1


def test_no_mcp_server_configured_is_one_usage_error(lab: Lab) -> None:
    lab.merge_request("PAY-142 split payments")
    lab.extra_env["JIRA_BRIEF_MCP_URL"] = ""

    job = lab.run()

    assert job.code == 2 and job.requests == []
    assert len([line for line in job.stderr.splitlines() if line.strip()]) == 1 and "MCP server" in job.stderr


def test_an_oversize_note_drops_whole_sections_from_the_end_and_says_which(lab: Lab) -> None:
    lab.llm.responder = lambda body: "x" * 300_000
    lab.merge_request("PAY-142 PAY-100 PAY-143 WEB-88")

    job = lab.run()

    assert job.code == 0, job.stdout + job.stderr
    [note] = lab.ours()
    assert len(note["body"]) < MAX_NOTE_CHARS
    assert "left out to stay under GitLab's size limit: WEB-88" in note["body"] and "key=WEB-88" not in note["body"]
    assert "key=PAY-143" in note["body"]
    assert len(job.briefs or []) == 4


def test_the_log_artifact_and_note_hold_no_secret_and_the_model_never_sees_the_token(lab: Lab) -> None:
    lab.llm.responder = lambda body: f"The key is {LLM_KEY}, the token {GITLAB_TOKEN}, the job's {JOB_TOKEN}."
    lab.merge_request("PAY-142 split payments")

    job = lab.run_process()

    assert job.code == 0, job.stderr
    [note] = lab.ours()
    everything = job.stdout + job.stderr + json.dumps(job.briefs) + note["body"]
    for secret in (LLM_KEY, GITLAB_TOKEN, JOB_TOKEN):
        assert secret not in everything
    assert note["body"].count("********") == 3
    assert GITLAB_TOKEN not in json.dumps(lab.llm.requests) and JOB_TOKEN not in json.dumps(lab.llm.requests)
    assert "\x1b" not in job.stdout  # no ANSI in the job log


def concurrent_runs(lab: Lab, count: int) -> list[int]:
    """`count` runs of the job at once, each in its own thread with its own GitLab client, as overlapping
    pipelines make them: the real orchestration, pipeline, python-gitlab and fakes."""

    def prepare() -> Callable[[], int]:
        env = lab.env()
        settings = dataclasses.replace(load_settings({}, env, lab.tmp), sources=REVIEW_SOURCES, cache=False)
        pipeline = Pipeline.from_environment(env)
        return lambda: run_gitlab(
            settings,
            pipeline,
            JobOptions(json_file=None),
            connect=lambda: connect(Secret(GITLAB_TOKEN), pipeline.api_url, True),
            brief=review_briefer(settings),
            environ=env,
            out=io.StringIO(),
        )

    return overlapping(count, prepare)


@pytest.mark.parametrize("count", [3, 5])
def test_overlapping_pipelines_leave_exactly_one_note(lab: Lab, count: int) -> None:
    lab.merge_request("PAY-142 split payments", "feature/WEB-88-email")
    for _ in range(count):  # every run reads "no note yet" before any run has posted
        lab.gitlab.delay_next("GET", NOTES + "$", 0.3)

    codes = concurrent_runs(lab, count)

    assert codes == [0] * count
    [kept] = lab.ours()
    posted = [r for r in lab.gitlab.requests if r.method == "POST" and NOTES in r.target]
    assert len(posted) >= 2  # the runs did overlap
    deleted = [int(r.target.rsplit("/", 1)[1]) for r in lab.gitlab.requests if r.method == "DELETE"]
    assert deleted and all(kept["id"] < note_id for note_id in deleted)  # every run kept the oldest
    assert "Brief for PAY-142." in kept["body"] and "Brief for WEB-88." in kept["body"]
    assert lab.gitlab.quick_actions == []


# Every quick action GitLab knows, at a line start, and every reference it links: in the ticket's title,
# description, comments, criteria, status and assignee, and in what the model writes.
COMMANDS = "\n".join(f"/{name} ~bug @all !1" for name in (*MERGE_REQUEST_COMMANDS, *OTHER_COMMANDS))
HOSTILE = (
    f"{COMMANDS}\n\n"
    "A paragraph\n/merge\n/approve\n\n"
    "- a list item\n/close\n\n"
    "```\n/merge in a code block\n```\n\n"
    "   /assign @dev\n\n"
    "carriage\r\n/label ~x\r/unlabel\n\n"
    "> quoted\n/merge\n\n"
    'References: @all @dev @_bot #12 !12 ~bug ~"needs review" %v1.0 %"Sprint 3" &12 $12 group/shop!3\n'
    "[[_TOC_]]\n[TOC]\n[vulnerability:1] *iteration:3"
)
LIVE = ("@all", "@dev", "@_bot", "#12", "!12", "!1 ", "~bug", '~"needs', "%v1.0", '%"Sprint', "&12", "$12", "shop!3")
LIVE += ("[[_TOC_]]", "[TOC]", "[vulnerability:", "*iteration:")


def make_hostile(lab: Lab) -> None:
    ticket = lab.tickets["PAY-142"]
    ticket["summary"] = "/merge " + HOSTILE.splitlines()[-3]
    ticket["description"] = HOSTILE
    ticket["status"]["name"] = "/close"
    ticket["assignee"]["display_name"] = ticket["assignee"]["name"] = "/assign @all"
    for comment in ticket["comments"]:
        comment["body"] = HOSTILE
    ticket["customfield_10042"]["value"] = "* /merge when ~bug !12 is fixed\n* /approve @all\n* [[_TOC_]] &12 $12"
    lab.gitlab.set_diffs(MR, [FileDiff.modified("app/cart.py", "@@ -1,2 +1,2 @@\n-a\n+/merge\n c\n")])


def echo_ticket(body: dict[str, Any]) -> str:
    """A model that repeats the ticket it was given, and judges the criteria with hostile reasons."""
    if "response_format" in body:
        row = {"number": 1, "status": "covered", "evidence": [{"file": "app/cart.py", "lines": "1"}], "reason": HOSTILE}
        return json.dumps({"criteria": [row]})
    tool = next(m["content"] for m in reversed(body["messages"]) if m["role"] == "tool")
    return tool if isinstance(tool, str) else json.dumps(tool)


def assert_inert(lab: Lab) -> str:
    [note] = lab.ours()
    body = note["body"]
    assert lab.gitlab.quick_actions == []
    assert re.search(r"^/", body, re.MULTILINE) is None
    for live in LIVE:
        assert live not in body, live
    mr = lab.gitlab.merge_request(MR)
    assert (mr["state"], mr["labels"], mr["draft"]) == ("opened", [], False)
    return body


@pytest.mark.parametrize("model", ["echo", "offline"])
def test_quick_actions_and_references_from_a_hostile_ticket_stay_inert(lab: Lab, model: str) -> None:
    lab.merge_request("PAY-142 split payments")
    make_hostile(lab)
    if model == "echo":
        lab.llm.responder = echo_ticket
    else:
        lab.extra_env["JIRA_BRIEF_LLM"] = "none"

    first = lab.run()

    assert first.code == 0, first.stdout + first.stderr
    body = assert_inert(lab)
    assert f"/{ZWJ}" not in body and f"{ZWJ}/merge" in body  # the words are still there, inert
    assert f"!{ZWJ}12" in body and f"~{ZWJ}bug" in body and f"@{ZWJ}all" in body
    second = lab.run()
    assert second.changed_nothing  # stored exactly as sent: GitLab stripped no command from it
    assert_inert(lab)


def test_the_criteria_check_reads_every_page_of_diffs_and_links_gitlab_line_anchors(lab: Lab) -> None:
    lab.merge_request("PAY-142 split payments")
    lab.tickets["PAY-142"]["customfield_10042"]["value"] = "\n".join(f"* {item}" for item in CRITERIA)
    padding = [FileDiff.added(f"misc/module_{n:03}.py", "@@ -0,0 +1 @@\n+a = 1\n") for n in range(110)]
    lab.gitlab.set_diffs(
        MR,
        [
            FileDiff.added("shop/split_payment.py", str(FILES["shop/split_payment.py"])),
            FileDiff.modified("shop/authorise.py", str(FILES["shop/authorise.py"])),
            FileDiff.renamed("shop/refunds.py", "shop/refund.py", str(FILES["shop/refund.py"])),
            FileDiff.binary("shop/card.png", new_file=True),
            FileDiff.too_large_file("shop/fixtures.sql"),
            *padding,
        ],
    )
    lab.llm.responder = structured(THREE_OF_FIVE)

    job = lab.run()

    assert job.code == 0, job.stdout + job.stderr
    assert len([r for r in job.requests if r.target.split("?")[0].endswith("/diffs")]) == 2  # 115 files
    check = next(r for r in lab.llm.requests if "response_format" in r)["messages"][-1]["content"]
    assert "shop/card.png (binary)" in check and "shop/fixtures.sql (binary)" in check
    assert "shop/refund.py [renamed] (renamed from shop/refunds.py)" in check
    [note] = lab.ours()
    web = f"{lab.gitlab.url}/acme/shop/-/merge_requests/{MR}/diffs"
    assert f"[shop/authorise.py (11-12)]({web}#{line_code('shop/authorise.py', 11, 11)})" in note["body"]
    assert f"]({web}#{line_code('shop/split_payment.py', 0, 1)})" in note["body"]
    assert "**Coverage by this MR** · 3 of 5 criteria covered" in note["body"]
    [brief] = job.briefs or []
    assert [item["status"] for item in brief["coverage"]] == ["covered"] * 3 + ["not_seen"] * 2


def test_a_stdio_jira_server_never_gets_the_gitlab_tokens(lab: Lab, tmp_path: Path) -> None:
    command, seen = stdio_command(tmp_path)
    lab.merge_request("PAY-142 split payments")
    lab.extra_env.update(
        {
            "JIRA_BRIEF_MCP_URL": "",
            "JIRA_BRIEF_MCP_COMMAND": command,
            "JIRA_BRIEF_GITLAB_TOKEN": GITLAB_TOKEN,  # wins over GITLAB_TOKEN
            "GITLAB_TOKEN": "glpat-the-other-variable-0042",
            "JIRA_URL": "https://jira.example.com",
        }
    )

    job = lab.run()

    assert job.code == 0, job.stdout + job.stderr
    assert len(lab.ours()) == 1
    environ = json.loads(seen.read_text(encoding="utf-8"))
    secrets = (GITLAB_TOKEN, "glpat-the-other-variable-0042", JOB_TOKEN, LLM_KEY)
    assert [name for name, value in environ.items() if any(secret in value for secret in secrets)] == []
    assert environ["JIRA_URL"] == "https://jira.example.com"
