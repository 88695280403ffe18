"""`jira-brief github`: inside GitHub Actions, brief a pull request's Jira tickets into one sticky comment,
the job summary and the step outputs.

The orchestration only: it takes the runner (`runner.py`), a way to connect to GitHub (`github_api.py`)
and a "brief these keys" function as arguments, so tests hand it fakes.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jira_brief.comment import (
    SUMMARY_LIMIT,
    Section,
    heading_for,
    jira_hosts,
    known_fingerprints,
    parse_sections,
    render_document,
    render_section,
    utf8_size,
)
from jira_brief.errors import UsageError
from jira_brief.github_api import GitHubError, Thread, github_errors, is_fork, pull_diff, pull_texts
from jira_brief.jira_mcp import check_server_configured
from jira_brief.keys import KeyScan, scan
from jira_brief.result import BriefResult
from jira_brief.runner import Report, Runner
from jira_brief.settings import Settings, redact
from jira_brief.sources import PullRequestEvent, read_event

if TYPE_CHECKING:
    from github import Github
    from github.PullRequest import PullRequest

    from jira_brief.coverage import Change
    from jira_brief.diff import Diff

PULL_REQUEST_EVENTS = ("pull_request", "pull_request_target")
# Jira credentials the action hands to a stdio MCP server: masked too, though they are not settings.
JIRA_SECRET_ENV = ("JIRA_API_TOKEN", "JIRA_PERSONAL_TOKEN")
# Brief these keys, given the fingerprints already published (key -> fingerprint), and check their
# criteria against the change when there is one: one result a key.
BriefKeys = Callable[[KeyScan, Mapping[str, str], "Change | None"], list[BriefResult]]


@dataclass(frozen=True)
class ActionOptions:
    """What the workflow step asks for beyond the settings: the target and how to report."""

    pr_number: str | None = None
    explicit_keys: str | None = None
    comment_mode: str = "update"
    fail_on_error: bool = False


def _redactor(settings: Settings, environ: Mapping[str, str]) -> Callable[[str], str]:
    """Hide the settings' secrets and the Jira credentials given to a stdio server."""
    extra = sorted((environ.get(name, "") for name in JIRA_SECRET_ENV), key=len, reverse=True)

    def hide(text: str) -> str:
        text = redact(text, settings)
        for secret in (value for value in extra if len(value) >= 4):
            text = text.replace(secret, "********")
        return text

    return hide


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


def _hidden(result: BriefResult, hide: Callable[[str], str]) -> BriefResult:
    """The result with secrets hidden before it is rendered: neutralizing may split a secret (a joiner
    after "@" or "#"), and then no later pass would recognize it."""
    ticket = result.ticket and dataclasses.replace(result.ticket, title=hide(result.ticket.title))
    return dataclasses.replace(
        result,
        ticket=ticket,
        brief=result.brief and hide(result.brief),
        error=result.error and hide(result.error),
        coverage=result.coverage and result.coverage.with_text(hide),
    )


def _brief(
    found: KeyScan, brief: BriefKeys, old: dict[str, Section], hide: Callable[[str], str], change: Change | None
) -> tuple[list[BriefResult], list[Section]]:
    """Brief the keys; a ticket whose fingerprint is unchanged keeps its old section and costs no LLM call.

    When only the change moved on, the old brief is kept and the section is rendered again with the new check."""
    results = [_hidden(result, hide) for result in brief(found, known_fingerprints(old), change)]
    results = [_reuse_published(result, old.get(result.key)) for result in results]
    hosts = jira_hosts(results)
    return results, [old[result.key] if _unchanged(result) else render_section(result, hosts) for result in results]


def _change(diff: tuple[Diff, str] | None, old: dict[str, Section]) -> Change | None:
    """The pull request's diff with its Files tab, and the checks the comment already shows."""
    from jira_brief.coverage import Change, published_check

    if diff is None:
        return None
    published = {key: found.fingerprint for key, section in old.items() if (found := published_check(section.text))}
    return Change(diff[0], published, diff[1])


def _unchanged(result: BriefResult) -> bool:
    return result.unchanged and (result.coverage is None or result.coverage.unchanged)


def _reuse_published(result: BriefResult, section: Section | None) -> BriefResult:
    """An unchanged brief or check takes its published text from the old section."""
    if section is None:
        return result
    from jira_brief.coverage import published_check

    coverage = result.coverage
    published = published_check(section.text)
    if coverage is not None and coverage.unchanged and published:
        coverage = dataclasses.replace(coverage, published=published.block, verdicts=published.verdicts)
    brief = section.brief if result.unchanged else result.brief
    return dataclasses.replace(result, brief=brief, coverage=coverage)


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
    connect: Callable[[], Github]
    brief: BriefKeys

    def run(self, target: Target) -> Outcome:
        """Find the keys, brief them, keep the sticky comment current; GitHub failures become `problem`."""
        outcome = Outcome()
        try:
            client = self.connect() if target.number is not None else None
            pull = self._pull(client, target.number) if client is not None and target.number is not None else None
            if pull is not None and self.event.name in PULL_REQUEST_EVENTS and is_fork(pull):
                outcome.notice = fork_notice()
                return outcome
            with github_errors("reading the pull request's commits", target.number):
                texts = pull_texts(pull, self.settings.sources) if pull is not None else []
            outcome.found = scan([*texts, ("input", target.keys)], self.settings.projects, self.settings.max_keys)
            thread = Thread(client, pull) if client and pull and self.comment_mode == "update" else None
            with github_errors("reading the pull request's files", target.number):
                diff = (pull_diff(pull), f"{pull.html_url}/files") if pull and self.settings.check == "on" else None
            self._comment(outcome, thread, target.number, diff)
        except GitHubError as error:
            outcome.problem = str(error)
        return outcome

    def _pull(self, client: Github, number: int) -> PullRequest:
        with github_errors("reading the pull request", number):
            return client.get_repo(self.runner.repository).get_pull(number)

    def _comment(
        self, outcome: Outcome, thread: Thread | None, number: int | None, diff: tuple[Diff, str] | None = None
    ) -> None:
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
        change = _change(diff, old)
        outcome.results, outcome.sections = _brief(outcome.found, self.brief, old, self.report.hide, change)
        outcome.notes.extend(_dropped_note(outcome.found, self.settings))
        if thread is None:
            return
        body = self.report.hide(
            render_document(outcome.sections, heading=heading_for(outcome.results), notes=outcome.notes).text
        )
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
    """The `briefs` output: each result's JSON shape, with the brief as published (sanitized)."""
    return [
        result.as_json(section.brief or "") for result, section in zip(outcome.results, outcome.sections, strict=True)
    ]


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
        heading=heading_for(outcome.results),
        notes=notes,
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
    settings: Settings,
    runner: Runner,
    options: ActionOptions,
    *,
    connect: Callable[[], Github],
    brief: BriefKeys,
    environ: Mapping[str, str],
) -> int:
    """Brief the tickets of the workflow's pull request (or of the dispatch inputs); the exit code.

    The collaborators come as arguments: `connect` makes the GitHub client (called only when a pull
    request is named), `brief` briefs keys given the fingerprints already published. Ticket and model
    failures are warnings and leave the job green unless `fail_on_error`; a fork's pull request is
    skipped with a notice; a GitHub failure (e.g. a missing permission) fails the job."""
    pr_number, explicit_keys = options.pr_number, options.explicit_keys
    report = Report(runner, _redactor(settings, environ))
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
    if target.number is not None and not runner.repository:
        raise UsageError("GITHUB_REPOSITORY is not set: run inside GitHub Actions, or set it to OWNER/REPO")
    outcome = Job(settings, runner, report, event, options.comment_mode, connect, brief).run(target)
    finish(report, outcome)
    failed = any(result.error for result in outcome.results)
    return 1 if outcome.problem or (options.fail_on_error and failed) else 0
