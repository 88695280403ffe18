"""`jira-brief github`: inside GitHub Actions, brief a pull request's Jira tickets into one sticky comment,
the job summary and the step outputs.

The orchestration only: it takes the runner (`runner.py`), a way to connect to GitHub and a "brief these
keys" function as arguments, so tests hand it fakes; the sticky comment itself is forge-neutral
(`forges/sticky.py`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from github import Github
from github.PullRequest import PullRequest

from jira_brief.brief.template import load_template
from jira_brief.config.masking import masker
from jira_brief.config.settings import Settings
from jira_brief.errors import UsageError
from jira_brief.forges.base import ForgeError
from jira_brief.forges.github.api import github_errors
from jira_brief.forges.github.event import PullRequestEvent, read_event
from jira_brief.forges.github.forge import COMMENT_LIMIT, GitHubPull
from jira_brief.forges.github.runner import Report, Runner
from jira_brief.forges.sticky import BriefKeys, CommentOutcome, Sticky, briefs_json, seal_key
from jira_brief.jira.transports import check_server_configured
from jira_brief.publish.comment import Style, heading_for, render_document, utf8_size
from jira_brief.publish.labels import Labels, for_forge, labels_for
from jira_brief.publish.progress import PhaseLines

PULL_REQUEST_EVENTS = ("pull_request", "pull_request_target")
# GitHub drops a step summary over 1 MiB (it counts bytes).
SUMMARY_LIMIT = 1_000_000
# GitHub takes a step output of at most 1 MB; keep a margin.
OUTPUT_LIMIT = 1_000_000


@dataclass(frozen=True)
class ActionOptions:
    """What the workflow step asks for beyond the settings: the target and how to report."""

    pr_number: str | None = None
    explicit_keys: str | None = None
    comment_mode: str = "update"
    fail_on_error: bool = False


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
class ActionJob:
    """One `jira-brief github` run on one target."""

    settings: Settings
    runner: Runner
    report: Report
    event: PullRequestEvent
    comment_mode: str
    connect: Callable[[], Github]
    brief: BriefKeys
    labels: Labels
    seal: bytes | None = field(default=None, repr=False)

    def run(self, target: Target) -> CommentOutcome:
        """Find the keys, brief them, keep the sticky comment current; GitHub failures become `problem`."""
        outcome = CommentOutcome()
        try:
            client = self.connect() if target.number is not None else None
            pull = self._pull(client, target.number) if client is not None and target.number is not None else None
            forge = GitHubPull(client, pull) if client is not None and pull is not None else None
            review = forge.review() if forge else None
            if review is not None and self.event.name in PULL_REQUEST_EVENTS and review.is_fork:
                outcome.notice = fork_notice()
                return outcome
            comment, check = self.comment_mode == "update", self.settings.check == "on"
            self.sticky(forge).review(outcome, forge, target.keys, comment=comment, check=check)
            if outcome.comment_action:
                self.report.line(f"jira-brief: comment {outcome.comment_action}: {outcome.comment_url}")
        except ForgeError as error:
            outcome.problem = str(error)
        return outcome

    def sticky(self, forge: GitHubPull | None) -> Sticky:
        style = Style(self.labels, forge.references if forge else None, forge.file_link if forge else None)
        notify = PhaseLines(self.report.line)
        settings = self.settings
        return Sticky(
            style,
            self.brief,
            self.report.hide,
            notify,
            settings.sources,
            settings.max_keys,
            COMMENT_LIMIT,
            projects=settings.projects,
            seal=self.seal,
        )

    def _pull(self, client: Github, number: int) -> PullRequest:
        with github_errors("reading the pull request", number):
            return client.get_repo(self.runner.repository).get_pull(number)


def fork_notice() -> str:
    return (
        "This pull request comes from a fork: jira-brief does not brief it, since its token is read-only "
        "and publishing Jira tickets that an outside contributor names could leak them."
    )


def finish(report: Report, outcome: CommentOutcome, labels: Labels) -> None:
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
        notes.append(f"> **{labels.say('refused')}** {outcome.problem}")
    elif outcome.comment_url:
        notes.append(labels.say("same", url=outcome.comment_url))
    document = render_document(
        outcome.sections,
        heading=heading_for(outcome.results, Style(labels)),
        notes=notes,
        labels=labels,
        marker=None,
        limit=SUMMARY_LIMIT,
        size=utf8_size,
    )
    if outcome.sections:
        report.untrusted(f"jira-brief: {len(outcome.sections)} ticket(s)", document.text)
    for note in outcome.notes:
        report.line(f"jira-brief: {note.lstrip('> ')}")
    report.summary(document.text)
    report.outputs(outcome.found.names, outcome.comment_url, briefs_json(outcome, OUTPUT_LIMIT))


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
    report = Report(runner, masker(settings, environ))
    labels = for_forge(labels_for(settings.language, load_template(settings).text), "GitHub", "pull request")
    event = _read_event(runner, bool(pr_number or explicit_keys))
    target = resolve_target(event, pr_number, explicit_keys)
    if target is None:
        notice = (
            f"nothing to brief for the {event.name or 'unknown'} event: jira-brief "
            "github runs on pull_request and workflow_dispatch (pr-number or keys)"
        )
        finish(report, CommentOutcome(notice=notice), labels)
        return 0
    if event.name in PULL_REQUEST_EVENTS and event.is_fork:
        finish(report, CommentOutcome(notice=fork_notice()), labels)
        return 0
    check_server_configured(settings)  # after the fork check: a fork's run has no secrets to configure it
    if target.number is not None and not runner.repository:
        raise UsageError("GITHUB_REPOSITORY is not set: run inside GitHub Actions, or set it to OWNER/REPO")
    seal = seal_key(settings, environ, f"github:{runner.repository}")
    job = ActionJob(settings, runner, report, event, options.comment_mode, connect, brief, labels, seal)
    outcome = job.run(target)
    finish(report, outcome, labels)
    return outcome.exit_code(options.fail_on_error)
