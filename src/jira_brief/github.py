"""`jira-brief github`: inside GitHub Actions, brief a pull request's Jira tickets into one sticky comment,
the job summary and the step outputs.

Facts this module relies on (GitHub docs and PyGithub 2.x source):
- `GET /user` answers 403 to an installation token (the Actions GITHUB_TOKEN, a GitHub App's token);
  GraphQL's `viewer` names its bot (`github-actions[bot]` for GITHUB_TOKEN). A personal token's login
  comes from `/user`. The author of a comment we just created is the final word on who we are.
- PyGithub's default GithubRetry re-sends a POST after a 5xx, although GitHub may have stored the
  comment already; a second comment would also notify every subscriber twice.
- Writing a comment on a pull request needs `pull-requests: write` (or `issues: write`); a pull request
  from a fork only ever gets a read-only GITHUB_TOKEN and no secrets.
- Workflow commands: a message escapes %, CR and LF, a property also ":" and ","; `::stop-commands::T`
  pauses them until `::T::`. `$GITHUB_OUTPUT` takes `name<<DELIMITER` blocks with a random delimiter.

PyGithub is imported inside functions so that `jira-brief keys` never loads it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import re
import secrets
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jira_brief.comment import (
    LABELS,
    MARKER,
    SUMMARY_LIMIT,
    Labels,
    Section,
    heading_for,
    jira_hosts,
    known_fingerprints,
    labels_for,
    parse_sections,
    render_document,
    render_section,
    utf8_size,
)
from jira_brief.errors import JiraBriefError, UsageError
from jira_brief.jira_mcp import check_server_configured
from jira_brief.keys import KeyScan, scan
from jira_brief.progress import Event, Notify, PhaseLines
from jira_brief.settings import Settings, redact
from jira_brief.sources import PullRequestEvent, read_event, source_kind

if TYPE_CHECKING:
    from github import Github
    from github.IssueComment import IssueComment
    from github.PullRequest import PullRequest

    from jira_brief.pipeline import BriefResult

ACTIONS_BOT = "github-actions[bot]"
DEFAULT_API_URL = "https://api.github.com"
PULL_REQUEST_EVENTS = ("pull_request", "pull_request_target")
# Seconds between two writes to GitHub (its guidance for bursts of writes); tests set 0.
WRITE_SECONDS_ENV = "JB_GITHUB_WRITE_SECONDS"
# The longest wait for a rate limit (Retry-After, secondary or primary) before giving up.
MAX_RATE_LIMIT_WAIT = 60.0
# Jira credentials the action hands to a stdio MCP server: masked too, though they are not settings.
JIRA_SECRET_ENV = ("JIRA_API_TOKEN", "JIRA_PERSONAL_TOKEN")
NOT_ACCESSIBLE = "Resource not accessible by integration"


class GitHubError(JiraBriefError):
    """The GitHub API refused or failed; the message says what to change."""


@dataclass(frozen=True)
class Runner:
    """What the Actions runner tells a step through its environment."""

    event_name: str = ""
    event_path: Path | None = None
    repository: str = ""
    api_url: str = DEFAULT_API_URL
    summary_path: Path | None = None
    output_path: Path | None = None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Runner:
        def path(name: str) -> Path | None:
            return Path(environ[name]) if environ.get(name) else None

        return cls(
            environ.get("GITHUB_EVENT_NAME", ""),
            path("GITHUB_EVENT_PATH"),
            environ.get("GITHUB_REPOSITORY", ""),
            environ.get("GITHUB_API_URL") or DEFAULT_API_URL,
            path("GITHUB_STEP_SUMMARY"),
            path("GITHUB_OUTPUT"),
        )


def escape_data(text: str) -> str:
    """A workflow-command message on one line: %, CR and LF escaped as the runner expects."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow-command property value: like a message, plus ":" and ","."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def output_block(name: str, value: str) -> str:
    """One `$GITHUB_OUTPUT` entry; the delimiter is random so no value can end it early."""
    delimiter = f"ghadelimiter_{uuid.uuid4()}"
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


def _redactor(settings: Settings, environ: Mapping[str, str]) -> Callable[[str], str]:
    """Hide the settings' secrets and the Jira credentials given to a stdio server."""
    extra = sorted((environ.get(name, "") for name in JIRA_SECRET_ENV), key=len, reverse=True)

    def hide(text: str) -> str:
        text = redact(text, settings)
        for secret in (value for value in extra if len(value) >= 4):
            text = text.replace(secret, "********")
        return text

    return hide


class Report:
    """Everything that leaves the run (log, annotations, job summary, step outputs), secrets hidden."""

    def __init__(self, runner: Runner, hide: Callable[[str], str]) -> None:
        self.runner, self.hide = runner, hide

    def _write(self, text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    def line(self, text: str) -> None:
        """A line of our own words."""
        self._write(self.hide(text) + "\n")

    def untrusted(self, title: str, text: str) -> None:
        """Text from Jira or the model, in a folded group, with workflow commands paused so it cannot issue any."""
        token = secrets.token_hex(16)
        self._write(
            f"::group::{escape_data(title)}\n::stop-commands::{token}\n{self.hide(text)}\n::{token}::\n::endgroup::\n"
        )

    def annotate(self, level: str, message: str, title: str = "jira-brief") -> None:
        """A notice, warning or error annotation on the run."""
        self._write(f"::{level} title={escape_property(self.hide(title))}::{escape_data(self.hide(message))}\n")

    def summary(self, markdown: str) -> None:
        if self.runner.summary_path is not None:
            with self.runner.summary_path.open("a", encoding="utf-8") as file:
                file.write(self.hide(markdown))

    def outputs(self, keys: Sequence[str] = (), comment_url: str = "", briefs: Sequence[Any] = ()) -> None:
        """The step outputs `keys` (JSON list), `comment-url` and `briefs` (JSON list)."""
        if self.runner.output_path is None:
            return
        values = {
            "keys": json.dumps(list(keys)),
            "comment-url": comment_url,
            "briefs": json.dumps(list(briefs), ensure_ascii=False),
        }
        with self.runner.output_path.open("a", encoding="utf-8") as file:
            file.write("".join(output_block(name, self.hide(value)) for name, value in values.items()))


@dataclass(frozen=True)
class Target:
    """What to brief: a pull request by number, and keys given by hand."""

    number: int | None
    keys: str = ""


def parse_pr_number(text: str) -> int:
    """The pr-number input as a positive whole number, or one clear usage error."""
    if re.fullmatch(r"[1-9][0-9]{0,9}", text.strip()) is None:
        raise UsageError(f"pr-number must be a positive whole number, got {text.strip()[:40]!r}")
    return int(text.strip())


def resolve_target(event: PullRequestEvent, pr_number: str | None, explicit_keys: str | None) -> Target | None:
    """The pull request and keys to brief for this event; None when the event names neither."""
    number = parse_pr_number(pr_number) if pr_number else None
    keys = explicit_keys or ""
    if event.name in PULL_REQUEST_EVENTS:
        number = number or event.number
    elif event.name == "workflow_dispatch":
        number = number or (parse_pr_number(event.pr_number_input) if event.pr_number_input.strip() else None)
        keys = keys or event.keys_input
        if number is None and not keys.strip():
            raise UsageError("workflow_dispatch needs a pr-number or a keys input (e.g. keys: 'PAY-142 WEB-88')")
    return Target(number, keys) if number is not None or keys.strip() else None


def _read_event(runner: Runner, explicit: bool) -> PullRequestEvent:
    if runner.event_path is None:
        if not explicit:
            raise UsageError("GITHUB_EVENT_PATH is not set: run inside GitHub Actions, or pass --pr-number or --keys")
        return PullRequestEvent(name=runner.event_name)
    return read_event(runner.event_path, runner.event_name or None)


def _retry() -> Any:
    """PyGithub's retry with two changes: a POST answered 5xx is not re-sent (GitHub may have stored the
    comment; we look for it instead of posting a duplicate), and rate-limit waits are capped."""
    from github.GithubRetry import GithubRetry
    from urllib3 import Retry

    class CommentRetry(GithubRetry):
        def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
            if method == "POST" and status_code >= 500:
                return False
            return bool(super().is_retry(method, status_code, has_retry_after))

        def get_retry_after(self, response: Any) -> float | None:
            seconds = super().get_retry_after(response)
            return None if seconds is None else min(seconds, MAX_RATE_LIMIT_WAIT)

    return CommentRetry(
        total=4,
        backoff_factor=0.5,
        secondary_rate_wait=MAX_RATE_LIMIT_WAIT,
        max_rate_limit_wait=MAX_RATE_LIMIT_WAIT,
        allowed_methods=Retry.DEFAULT_ALLOWED_METHODS | {"GET", "POST", "PATCH"},
    )


def connect(settings: Settings, runner: Runner) -> Github:
    """A PyGithub client for the runner's API (GHES too); edits are idempotent, so PATCH is retried as well."""
    from github import Auth, Github

    if not settings.github_token:
        raise UsageError("no GitHub token: set GITHUB_TOKEN (the action passes its github-token input)")
    spacing = float(os.environ.get(WRITE_SECONDS_ENV) or 1.0)
    return Github(
        base_url=runner.api_url,
        auth=Auth.Token(settings.github_token.reveal()),
        per_page=100,
        retry=_retry(),
        seconds_between_requests=None,
        seconds_between_writes=spacing or None,
    )


def _message(error: Any) -> str:
    data = getattr(error, "data", None)
    return str(data.get("message") or "") if isinstance(data, dict) else str(data or "")


@contextmanager
def github_errors(doing: str, number: int | None, *, write: bool = False) -> Iterator[None]:
    """Turn PyGithub and network failures into one GitHubError line that says what to change."""
    import requests
    from github.GithubException import GithubException

    try:
        yield
    except GithubException as error:
        status, message = error.status, _message(error)
        if status == 401:
            raise GitHubError("GitHub rejected the token (401 Bad credentials): check the github-token input") from None
        if status == 403 and NOT_ACCESSIBLE in message and write:
            raise GitHubError(
                f"the token may not write comments on pull request #{number} (403 {message}): "
                "give the job `permissions: pull-requests: write`"
            ) from None
        if status == 404:
            raise GitHubError(
                f"pull request #{number} was not found while {doing} (404): check the pr-number "
                "and that the token can read this repository"
            ) from None
        raise GitHubError(f"GitHub answered {status} while {doing}: {message or 'no message'}") from None
    except requests.RequestException as error:
        raise GitHubError(
            f"GitHub could not be reached while {doing}: {type(error).__name__}; try again later"
        ) from None


def is_fork(pull: PullRequest) -> bool:
    """A pull request whose head lives in another repository (or in a fork since deleted)."""
    head = pull.head.repo
    return head is None or head.full_name.lower() != pull.base.repo.full_name.lower()


def pull_texts(pull: PullRequest, sources: Sequence[str]) -> list[tuple[str, str]]:
    """(source, text) pairs of a pull request, in listing order, keeping only `sources`; commits from the API."""
    texts = [("pr-title", pull.title or ""), ("branch", pull.head.ref or ""), ("pr-body", pull.body or "")]
    if "commits" in sources:
        texts += [(f"commit {commit.sha[:7]}", commit.commit.message or "") for commit in pull.get_commits()]
    return [(source, text) for source, text in texts if text and source_kind(source) in sources]


@dataclass
class Thread:
    """The pull request's comments as far as ours goes: found by marker AND author, created once, then edited."""

    client: Github
    pull: PullRequest
    login: str | None = None

    def identity(self) -> str:
        """Who our comments are by, asked once: the login behind the token."""
        if self.login is None:
            self.login = self._viewer()
        return self.login

    def _viewer(self) -> str:
        """/user for a personal token; for an installation token (403 there) GraphQL's viewer, which names
        the app's bot; failing that, github-actions[bot], the author of the workflow's own GITHUB_TOKEN."""
        from github.GithubException import GithubException

        try:
            return str(self.client.get_user().login)
        except GithubException as error:
            if error.status != 403:
                raise
        try:
            _, data = self.client.requester.graphql_query("query { viewer { login } }", {})
            return str(data["data"]["viewer"]["login"])
        except GithubException:
            return ACTIONS_BOT

    def ours(self) -> list[IssueComment]:
        """Our comments, oldest first; someone else's comment that copies the marker is never ours."""
        marked = [comment for comment in self.pull.get_issue_comments() if (comment.body or "").startswith(MARKER)]
        if not marked:
            return []
        login = self.identity().lower()
        return sorted((comment for comment in marked if comment.user.login.lower() == login), key=lambda c: c.id)

    def publish(self, body: str, ours: list[IssueComment]) -> tuple[IssueComment, str]:
        """Keep exactly one comment of ours with `body`: edit the oldest (only if it differs), drop extras."""
        if not ours:
            return self._create(body), "created"
        keep = ours[0]
        for extra in ours[1:]:
            extra.delete()
        if (keep.body or "").replace("\r\n", "\n") == body:
            return keep, "unchanged"
        keep.edit(body)
        return keep, "updated"

    def _create(self, body: str) -> IssueComment:
        """Post, then list again: a 5xx may have stored the comment, and a concurrent run may have posted too."""
        from github.GithubException import GithubException

        try:
            created: IssueComment | None = self.pull.create_issue_comment(body)
        except GithubException as error:
            if error.status < 500:
                raise
            created = None
        if created is not None:
            self.login = created.user.login
        ours = self.ours()
        if not ours:
            return created or self.pull.create_issue_comment(body)
        return self.publish(body, ours)[0]

    def remove(self, ours: list[IssueComment]) -> None:
        for comment in ours:
            comment.delete()


@dataclass
class Outcome:
    """What a run produced, for the log, the summary and the outputs."""

    found: KeyScan = field(default_factory=lambda: KeyScan(()))
    results: list[BriefResult] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    comment_url: str = ""
    notice: str | None = None
    problem: str | None = None
    labels: Labels = LABELS["en"]


def _hidden(result: BriefResult, hide: Callable[[str], str]) -> BriefResult:
    """The result with secrets hidden before it is rendered: neutralizing may split a secret (a joiner
    after "@" or "#"), and then no later pass would recognize it."""
    ticket = result.ticket and dataclasses.replace(result.ticket, title=hide(result.ticket.title))
    return dataclasses.replace(
        result, ticket=ticket, brief=result.brief and hide(result.brief), error=result.error and hide(result.error)
    )


def _brief(
    found: KeyScan,
    settings: Settings,
    old: dict[str, Section],
    hide: Callable[[str], str],
    notify: Notify,
    labels: Labels,
) -> tuple[list[BriefResult], list[Section]]:
    """Brief the keys; a ticket whose fingerprint is unchanged keeps its old section and costs no LLM call."""
    from jira_brief.pipeline import brief_all

    found_results = asyncio.run(brief_all(found.keys, settings, known=known_fingerprints(old), progress=notify))
    results = [_hidden(result, hide) for result in found_results]
    hosts = jira_hosts(results)
    fresh = [old[result.key] if result.unchanged else render_section(result, hosts, labels) for result in results]
    return results, fresh


def _dropped_note(found: KeyScan, settings: Settings) -> list[str]:
    if not found.dropped:
        return []
    names = ", ".join(key.key for key in found.dropped)
    return [f"> {len(found.dropped)} more key(s) past the limit of {settings.max_keys} were left out: {names}."]


@dataclass
class Job:
    """One `jira-brief github` run on one target."""

    settings: Settings
    runner: Runner
    report: Report
    event: PullRequestEvent
    comment_mode: str

    def run(self, target: Target) -> Outcome:
        """Find the keys, brief them, keep the sticky comment current; GitHub failures become `problem`."""
        from jira_brief.briefs import load_template

        outcome = Outcome(labels=labels_for(self.settings.language, load_template(self.settings).text))
        try:
            client = connect(self.settings, self.runner) if target.number is not None else None
            pull = self._pull(client, target.number) if client is not None and target.number is not None else None
            if pull is not None and self.event.name in PULL_REQUEST_EVENTS and is_fork(pull):
                outcome.notice = fork_notice()
                return outcome
            with github_errors("reading the pull request's commits", target.number):
                texts = pull_texts(pull, self.settings.sources) if pull is not None else []
            outcome.found = scan([*texts, ("input", target.keys)], self.settings.projects, self.settings.max_keys)
            thread = Thread(client, pull) if client and pull and self.comment_mode == "update" else None
            self._comment(outcome, thread, target.number)
        except GitHubError as error:
            outcome.problem = str(error)
        return outcome

    def _pull(self, client: Github, number: int) -> PullRequest:
        with github_errors("reading the pull request", number):
            return client.get_repo(self.runner.repository).get_pull(number)

    def _comment(self, outcome: Outcome, thread: Thread | None, number: int | None) -> None:
        """Brief the keys found and bring our comment (if any) up to date; no key removes it."""
        with github_errors("reading the pull request's comments", number):
            ours = thread.ours() if thread else []
        if not outcome.found.keys:
            outcome.notes.append(no_key_notice(self.settings))
            if thread and ours:
                with github_errors("deleting our comment", number, write=True):
                    thread.remove(ours)
            return
        old = parse_sections(ours[0].body) if ours else {}
        notify = PhaseLines(self.report.line)
        outcome.results, outcome.sections = _brief(
            outcome.found, self.settings, old, self.report.hide, notify, outcome.labels
        )
        outcome.notes.extend(_dropped_note(outcome.found, self.settings))
        if thread is None:
            return
        heading = heading_for(outcome.results, outcome.labels)
        document = render_document(outcome.sections, heading=heading, notes=outcome.notes, labels=outcome.labels)
        body = self.report.hide(document.text)
        notify(Event("post"))
        with github_errors("writing the comment", number, write=True):
            comment, action = thread.publish(body, ours)
        outcome.comment_url = comment.html_url
        self.report.line(f"jira-brief: comment {action}: {comment.html_url}")


def fork_notice() -> str:
    return (
        "This pull request comes from a fork: jira-brief does not brief it, since its token is read-only "
        "and publishing Jira tickets that an outside contributor names could leak them."
    )


def no_key_notice(settings: Settings) -> str:
    return f"No Jira key found in this pull request (looked in: {', '.join(settings.sources)})."


def _briefs_json(outcome: Outcome) -> list[dict[str, Any]]:
    rows = []
    for result, section in zip(outcome.results, outcome.sections, strict=True):
        ticket = result.ticket
        rows.append(
            {
                "key": result.key,
                "url": ticket.url if ticket else None,
                "title": ticket.title if ticket else None,
                "status": ticket.status if ticket else None,
                "brief": section.brief,
                "error": result.error,
                "unchanged": result.unchanged,
            }
        )
    return rows


def finish(report: Report, outcome: Outcome) -> None:
    """Log, annotations, job summary and outputs for whatever the run produced."""
    for result in outcome.results:
        if result.error:
            report.annotate("warning", result.error, title=f"jira-brief: {result.key}")
    notes = list(outcome.notes)
    if outcome.notice:
        report.annotate("notice", outcome.notice)
        notes.append(outcome.notice)
    if outcome.problem:
        report.annotate("error", outcome.problem)
        notes.append(f"> **GitHub refused or failed:** {outcome.problem}")
    elif outcome.comment_url:
        notes.append(f"[The pull request comment]({outcome.comment_url}) shows the same briefs.")
    document = render_document(
        outcome.sections,
        heading=heading_for(outcome.results, outcome.labels),
        notes=notes,
        labels=outcome.labels,
        marker=False,
        limit=SUMMARY_LIMIT,
        size=utf8_size,
    )
    if outcome.sections:
        report.untrusted(f"jira-brief: {len(outcome.sections)} ticket(s)", document.text)
    for note in outcome.notes:
        report.line(f"jira-brief: {note.lstrip('> ')}")
    report.summary(document.text)
    report.outputs(outcome.found.names, outcome.comment_url, _briefs_json(outcome))


def run_github(
    settings: Settings, *, pr_number: str | None, explicit_keys: str | None, comment_mode: str, fail_on_error: bool
) -> int:
    """Brief the tickets of the workflow's pull request (or of the dispatch inputs); the exit code.

    Ticket and model failures are warnings and leave the job green unless `fail_on_error`; a fork's
    pull request is skipped with a notice; a GitHub failure (e.g. a missing permission) fails the job."""
    runner = Runner.from_environment(os.environ)
    report = Report(runner, _redactor(settings, os.environ))
    event = _read_event(runner, bool(pr_number or explicit_keys))
    target = resolve_target(event, pr_number, explicit_keys)
    if target is None:
        finish(
            report,
            Outcome(
                notice=f"nothing to brief for the {event.name or 'unknown'} event: jira-brief "
                "github runs on pull_request and workflow_dispatch (pr-number or keys)"
            ),
        )
        return 0
    if event.name in PULL_REQUEST_EVENTS and event.is_fork:
        finish(report, Outcome(notice=fork_notice()))
        return 0
    check_server_configured(settings)  # after the fork check: a fork's run has no secrets to configure it
    outcome = Job(settings, runner, report, event, comment_mode).run(target)
    finish(report, outcome)
    failed = any(result.error for result in outcome.results)
    return 1 if outcome.problem or (fail_on_error and failed) else 0
