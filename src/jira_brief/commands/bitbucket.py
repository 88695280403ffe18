"""`jira-brief bitbucket`: the Bitbucket Pipelines step."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from jira_brief.commands.options import review_briefer, review_options, review_settings


@click.command()
@click.option(
    "--pr", type=click.IntRange(min=1), metavar="ID", help="Pull request ID (custom pipelines; else BITBUCKET_PR_ID)."
)
@review_options("update: keep one sticky pull request comment current; off: log and jira-brief.json only.")
def bitbucket(
    pr: int | None, explicit_keys: str | None, comment_mode: str, json_file: Path, fail_on_error: bool, **options: Any
) -> None:
    """Inside Bitbucket Pipelines: brief the pull request's tickets into one sticky comment and jira-brief.json.

    Reads BITBUCKET_REPO_FULL_NAME and BITBUCKET_PR_ID as Pipelines sets them (a `pull-requests:`
    pipeline), and the credentials from secured repository variables: JIRA_BRIEF_BITBUCKET_TOKEN (a
    repository access token), or JIRA_BRIEF_BITBUCKET_EMAIL and JIRA_BRIEF_BITBUCKET_API_TOKEN. The
    title, branch and commits come from the API. Keys count from pr-title, branch and commits unless
    --sources says.

    \b
    Example (a step of bitbucket-pipelines.yml, see docs/bitbucket.md):
      jira-brief bitbucket --mcp-command mcp-atlassian
    """
    # httpx2's client loads only for this command.
    from jira_brief.forges.bitbucket.api import connect
    from jira_brief.forges.bitbucket.job import JobOptions, run_bitbucket
    from jira_brief.forges.bitbucket.pipelines import Pipeline

    settings = review_settings(**options)
    pipeline = Pipeline.from_environment(os.environ)
    code = run_bitbucket(
        settings,
        pipeline,
        JobOptions(pr, explicit_keys, comment_mode, fail_on_error, json_file),
        connect=lambda credential: connect(settings, credential, pipeline.api_url),
        brief=review_briefer(settings),
        environ=os.environ,
    )
    sys.exit(code)
