"""`jira-brief bitbucket`: inside Bitbucket Pipelines, brief a pull request's Jira tickets into one sticky
comment, the step's log (one plain line per phase) and jira-brief.json (the briefs, for `artifacts:`).

The orchestration only: the pipeline's variables (`pipelines.py`), a way to connect to the API and a
"brief these keys" function come as arguments, so tests hand it fakes; the sticky comment itself is
forge-neutral (`forges/sticky.py`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from jira_brief.brief.template import load_template
from jira_brief.config.masking import masker
from jira_brief.config.settings import Settings
from jira_brief.errors import UsageError
from jira_brief.forges.base import ForgeError
from jira_brief.forges.bitbucket import NAME
from jira_brief.forges.bitbucket.api import NO_CREDENTIALS, Api, BitbucketError, Credential, credential_from
from jira_brief.forges.bitbucket.forge import COMMENT_LIMIT, BitbucketPull
from jira_brief.forges.bitbucket.pipelines import OUTPUT, Pipeline
from jira_brief.forges.joblog import JobLog, finish
from jira_brief.forges.sticky import BriefKeys, CommentOutcome, Sticky, seal_key
from jira_brief.jira.transports import check_server_configured
from jira_brief.publish.comment import Style
from jira_brief.publish.dialect import PLAIN
from jira_brief.publish.labels import Labels, for_forge, labels_for
from jira_brief.publish.progress import PhaseLines

# Makes the client for a credential (None: anonymous, to see whether a pull request comes from a fork).
Connect = Callable[[Credential | None], Api]


@dataclass(frozen=True)
class JobOptions:
    """What the pipeline step asks for beyond the settings: the target and how to report."""

    pr: int | None = None
    keys: str | None = None
    comment_mode: str = "update"
    fail_on_error: bool = False
    json_file: Path | None = Path(OUTPUT)


def fork_notice(credentials: bool) -> str:
    why = "" if credentials else " and the pipeline has no Bitbucket credentials for it"
    return (
        f"this pull request comes from a fork{why}: jira-brief does not brief it (publishing the Jira "
        "tickets an outside contributor names could leak them); a custom pipeline can, with --pr"
    )


def nothing_notice() -> str:
    return (
        "nothing to brief: this is not a pull-requests pipeline (no BITBUCKET_PR_ID); "
        "a custom pipeline passes --pr ID or --keys"
    )


@dataclass
class BitbucketJob:
    """One `jira-brief bitbucket` run on one pull request (or on keys alone)."""

    settings: Settings
    pipeline: Pipeline
    log: JobLog
    options: JobOptions
    connect: Connect
    brief: BriefKeys
    labels: Labels
    seal: bytes | None = field(default=None, repr=False)  # sticky.seal_key: sections edited by others are made again

    def run(self, number: int | None, credential: Credential | None) -> CommentOutcome:
        """Find the keys, brief them, keep the sticky comment current; Bitbucket failures become `problem`."""
        outcome = CommentOutcome()
        api = self.connect(credential) if number is not None else None
        try:
            forge = None
            if api is not None and number is not None:
                forge = BitbucketPull.read(api, self.pipeline.repository, number)
                self.log.line(f"jira-brief: read pull request #{number} of {self.pipeline.repository}")
            if forge is not None and self.options.pr is None and forge.review().is_fork:
                outcome.notice = fork_notice(credentials=True)
                return outcome
            comment, check = self.options.comment_mode == "update", self.settings.check == "on"
            sticky = self.sticky(forge)
            sticky.review(outcome, forge, self.options.keys or "", comment=comment, check=check)
            if outcome.comment_action:
                self.log.line(f"jira-brief: comment {outcome.comment_action}: {outcome.comment_url}")
        except ForgeError as error:
            outcome.problem = str(error)
        finally:
            if api is not None:
                api.http.close()
        return outcome

    def sticky(self, forge: BitbucketPull | None) -> Sticky:
        style = Style(self.labels, forge.references if forge else None, forge.file_link if forge else None, PLAIN)
        settings, notify = self.settings, PhaseLines(self.log.line)
        return Sticky(
            style,
            self.brief,
            self.log.hide,
            notify,
            settings.sources,
            settings.max_keys,
            COMMENT_LIMIT,
            projects=settings.projects,
            seal=self.seal,
        )


def comes_from_fork(api: Api, repository: str, number: int) -> bool:
    """Whether the pull request comes from a fork, as far as anonymous access sees (a public repository),
    asked once; False when it cannot be read."""
    try:
        return BitbucketPull.read(dataclasses.replace(api, attempts=1), repository, number).review().is_fork
    except BitbucketError:
        return False
    finally:
        api.http.close()


def run_bitbucket(
    settings: Settings,
    pipeline: Pipeline,
    options: JobOptions,
    *,
    connect: Connect,
    brief: BriefKeys,
    environ: Mapping[str, str],
) -> int:
    """Brief the tickets of the pipeline's pull request (or of --pr / --keys); the exit code.

    Ticket and model failures leave the step green unless `fail_on_error`; a fork's pull request is
    skipped with one line; a Bitbucket failure (a missing scope, a wrong token) fails the step."""
    log = JobLog(masker(settings, environ))
    labels = for_forge(labels_for(settings.language, load_template(settings).text), NAME, "pull request")
    number = options.pr or pipeline.pr_id
    if number is None and not (options.keys or "").strip():
        finish(log, CommentOutcome(notice=nothing_notice()), options.json_file)
        return 0
    credential = credential_from(environ)
    if number is not None:
        if not pipeline.repository:
            raise UsageError("BITBUCKET_REPO_FULL_NAME is not set: run inside Bitbucket Pipelines, or set it")
        if credential is None:
            if options.pr is None and comes_from_fork(connect(None), pipeline.repository, number):
                finish(log, CommentOutcome(notice=fork_notice(credentials=False)), options.json_file)
                return 0
            raise UsageError(NO_CREDENTIALS)
    check_server_configured(settings)  # after the fork check: a fork's pipeline has no secrets to configure it
    seal = seal_key(settings, environ, f"bitbucket:{pipeline.repository}")
    outcome = BitbucketJob(settings, pipeline, log, options, connect, brief, labels, seal).run(number, credential)
    finish(log, outcome, options.json_file)
    return outcome.exit_code(options.fail_on_error)
