"""`jira-brief gitlab`: inside a GitLab CI job, brief a merge request's Jira tickets into one sticky note, the
job log (one plain line per phase) and `jira-brief.json` (the briefs, for `artifacts:`).

The orchestration only: the pipeline's variables (`Pipeline`), a way to connect to GitLab and a "brief these
keys" function come as arguments, so tests hand it real fakes; the sticky note is forge-neutral
(forges/sticky.py), GitLab's rules come from forge.py.

GitLab CI's facts (doc/ci/variables/predefined_variables.md, doc/ci/pipelines/merge_request_pipelines.md):
- a merge request pipeline has CI_PIPELINE_SOURCE=merge_request_event and CI_MERGE_REQUEST_IID;
  CI_MERGE_REQUEST_PROJECT_ID is the project the merge request lives in (its target), and
  CI_MERGE_REQUEST_SOURCE_PROJECT_ID the project its branch comes from;
- a fork's merge request runs its pipeline in the fork (CI_PROJECT_ID is the fork's) without the parent
  project's CI/CD variables; a parent project's member may run it in the parent project instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from jira_brief.brief.template import load_template
from jira_brief.config.masking import masker
from jira_brief.config.settings import Settings
from jira_brief.errors import UsageError
from jira_brief.forges.base import ForgeError
from jira_brief.forges.gitlab import NAME
from jira_brief.forges.gitlab.api import GitLabApi
from jira_brief.forges.gitlab.forge import COMMENT_LIMIT, REFERENCES, GitLabMergeRequest, as_stored, load_merge_request
from jira_brief.forges.joblog import JobLog, finish
from jira_brief.forges.sticky import BriefKeys, CommentOutcome, Sticky, seal_key
from jira_brief.jira.transports import check_server_configured
from jira_brief.publish.comment import Style
from jira_brief.publish.labels import Labels, for_forge, labels_for
from jira_brief.publish.progress import PhaseLines

MERGE_REQUEST_SOURCES = ("merge_request_event", "parent_pipeline")
# Pipelines a person or a schedule starts: they name no merge request, so they need --mr or --keys.
MANUAL_SOURCES = ("web", "api", "trigger", "schedule", "chat")


@dataclass(frozen=True)
class Pipeline:
    """What a GitLab CI job's predefined variables say about the pipeline."""

    source: str = ""
    api_url: str = ""
    project_id: str = ""
    mr_iid: str = ""
    mr_project_id: str = ""
    source_project_id: str = ""

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Pipeline:
        return cls(
            *(
                environ.get(name, "").strip()
                for name in (
                    "CI_PIPELINE_SOURCE",
                    "CI_API_V4_URL",
                    "CI_PROJECT_ID",
                    "CI_MERGE_REQUEST_IID",
                    "CI_MERGE_REQUEST_PROJECT_ID",
                    "CI_MERGE_REQUEST_SOURCE_PROJECT_ID",
                )
            )
        )

    @property
    def for_merge_request(self) -> bool:
        return self.source in MERGE_REQUEST_SOURCES and bool(self.mr_iid)

    @property
    def in_fork(self) -> bool:
        """A fork's merge request pipeline running in the fork, without the parent project's variables."""
        fork = bool(self.source_project_id) and self.source_project_id != (self.mr_project_id or self.project_id)
        return self.for_merge_request and fork and self.project_id == self.source_project_id


@dataclass(frozen=True)
class JobOptions:
    """What the job's script asks for beyond the settings: the target, the note, the outputs."""

    mr: str | None = None
    explicit_keys: str | None = None
    comment_mode: str = "update"
    fail_on_error: bool = False
    json_file: Path | None = Path("jira-brief.json")


@dataclass(frozen=True)
class Target:
    """What to brief: a merge request of a project, and keys given by hand."""

    iid: int | None
    project: str
    keys: str = ""


def parse_iid(text: str, name: str = "--mr") -> int:
    """A merge request's IID as a positive whole number, or one clear usage error."""
    if re.fullmatch(r"[1-9][0-9]{0,9}", text.strip()) is None:
        raise UsageError(f"{name} must be a merge request's IID (a positive whole number), got {text.strip()[:40]!r}")
    return int(text.strip())


def resolve_target(pipeline: Pipeline, mr: str | None, keys: str) -> Target | None:
    """The merge request and keys to brief in this pipeline; None when it names neither."""
    iid = parse_iid(mr) if mr and mr.strip() else None
    project = pipeline.project_id
    if pipeline.for_merge_request and (iid is None or str(iid) == pipeline.mr_iid):
        iid = parse_iid(pipeline.mr_iid, "CI_MERGE_REQUEST_IID")
        project = pipeline.mr_project_id or pipeline.project_id
    elif pipeline.source in MANUAL_SOURCES and iid is None and not keys.strip():
        raise UsageError(
            f"this {pipeline.source} pipeline names no merge request: pass --mr IID or --keys 'PAY-142 WEB-88' "
            "(with the component: the pipeline variables JB_MR or JB_KEYS)"
        )
    return Target(iid, project, keys) if iid is not None or keys.strip() else None


@dataclass
class GitLabJob:
    """One `jira-brief gitlab` run on one target."""

    settings: Settings
    log: JobLog
    comment_mode: str
    connect: Callable[[], GitLabApi]
    brief: BriefKeys
    labels: Labels
    seal: bytes | None = field(default=None, repr=False)  # sticky.seal_key: sections edited by others are made again

    def run(self, target: Target) -> CommentOutcome:
        """Find the keys, brief them, keep the sticky note current; GitLab failures become `problem`."""
        outcome = CommentOutcome()
        try:
            forge = self._merge_request(target) if target.iid is not None else None
            comment, check = self.comment_mode == "update", self.settings.check == "on"
            self.sticky(forge).review(outcome, forge, target.keys, comment=comment, check=check)
            if outcome.comment_action:
                self.log.line(f"jira-brief: note {outcome.comment_action}: {outcome.comment_url}")
        except ForgeError as error:
            outcome.problem = str(error)
        return outcome

    def _merge_request(self, target: Target) -> GitLabMergeRequest:
        assert target.iid is not None
        api = self.connect()
        mr = load_merge_request(api, target.project, target.iid)
        self.log.line(f"jira-brief: merge request !{mr.iid}: {mr.web_url}")
        return GitLabMergeRequest(api, mr)

    def sticky(self, forge: GitLabMergeRequest | None) -> Sticky:
        style = Style(self.labels, REFERENCES, forge.file_link if forge else None)
        settings = self.settings
        return Sticky(
            style,
            self.brief,
            self.log.hide,
            PhaseLines(self.log.line),
            settings.sources,
            settings.max_keys,
            COMMENT_LIMIT,
            projects=settings.projects,
            as_posted=as_stored,
            seal=self.seal,
        )


def fork_notice() -> str:
    return (
        "this merge request comes from a fork and its pipeline runs in the fork, without this project's "
        "CI/CD variables: jira-brief does not brief it (a maintainer may run the pipeline in this project)"
    )


def run_gitlab(
    settings: Settings,
    pipeline: Pipeline,
    options: JobOptions,
    *,
    connect: Callable[[], GitLabApi],
    brief: BriefKeys,
    environ: Mapping[str, str],
    out: TextIO | None = None,
) -> int:
    """Brief the tickets of the pipeline's merge request (or of --mr / --keys); the exit code.

    `connect` makes the GitLab client (called only when a merge request is named), `brief` briefs keys
    given the fingerprints already published. Ticket and model failures are warnings that leave the job
    green unless `fail_on_error`; a fork's pipeline in the fork is skipped with one line; a GitLab failure
    (a missing permission, an unknown merge request) fails the job with one line."""
    log = JobLog(masker(settings, environ), out)
    labels = for_forge(labels_for(settings.language, load_template(settings).text), NAME, "merge request")
    if pipeline.in_fork:
        finish(log, CommentOutcome(notice=fork_notice()), options.json_file)
        return 0
    target = resolve_target(pipeline, options.mr, options.explicit_keys or "")
    if target is None:
        notice = (
            f"nothing to brief in a {pipeline.source or 'non-CI'} pipeline: jira-brief gitlab runs in merge "
            "request pipelines (rules: if: $CI_PIPELINE_SOURCE == 'merge_request_event'), or with --mr or --keys"
        )
        finish(log, CommentOutcome(notice=notice), options.json_file)
        return 0
    check_server_configured(settings)  # after the fork check: a fork's pipeline has no secrets to configure it
    if target.iid is not None and not (pipeline.api_url and target.project):
        raise UsageError("CI_API_V4_URL and CI_PROJECT_ID are not set: run inside GitLab CI, or set them")
    seal = seal_key(settings, environ, f"gitlab:{pipeline.api_url}:{target.project}")
    outcome = GitLabJob(settings, log, options.comment_mode, connect, brief, labels, seal).run(target)
    finish(log, outcome, options.json_file)
    return outcome.exit_code(options.fail_on_error)
