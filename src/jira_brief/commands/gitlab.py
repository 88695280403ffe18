"""`jira-brief gitlab`: the GitLab CI job's step (templates/jira-brief.yml runs it)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from jira_brief.commands.options import review_briefer, review_options, review_settings
from jira_brief.config.network import requests_verify


@click.command()
@click.option("--mr", metavar="IID", help="Merge request to brief in a manual pipeline (web, api, schedule).")
@review_options(
    "update: keep one sticky merge request note current; off: the job log and jira-brief.json only.",
    "Explicit keys (manual pipelines), e.g. 'PAY-142 WEB-88'.",
)
def gitlab(
    mr: str | None,
    explicit_keys: str | None,
    comment_mode: str,
    fail_on_error: bool,
    json_file: Path,
    **options: Any,
) -> None:
    """Inside GitLab CI: brief the merge request's tickets into one sticky note, the log and jira-brief.json.

    Reads CI_PIPELINE_SOURCE, CI_API_V4_URL, CI_PROJECT_ID, CI_MERGE_REQUEST_IID and
    CI_MERGE_REQUEST_PROJECT_ID as GitLab sets them, and the token from JIRA_BRIEF_GITLAB_TOKEN or
    GITLAB_TOKEN (a project or group access token with the api scope: CI_JOB_TOKEN cannot write notes).
    Keys count from pr-title, branch and commits unless --sources says (pr-body: the description).

    \b
    Example (a job in a merge request pipeline):
      jira-brief gitlab --mcp-url "$JIRA_MCP_URL"
    """
    # python-gitlab and requests (~180 ms) load only for this command.
    from jira_brief.forges.gitlab.api import GitLabApi, connect, missing_token, token_from
    from jira_brief.forges.gitlab.job import JobOptions, Pipeline, run_gitlab

    settings = review_settings(**options)
    pipeline = Pipeline.from_environment(os.environ)

    def connect_api() -> GitLabApi:
        token = token_from(os.environ)
        if token is None:
            raise missing_token(os.environ)
        return connect(token, pipeline.api_url, requests_verify(settings))

    code = run_gitlab(
        settings,
        pipeline,
        JobOptions(mr, explicit_keys, comment_mode, fail_on_error, json_file),
        connect=connect_api,
        brief=review_briefer(settings),
        environ=os.environ,
    )
    sys.exit(code)
