"""`jira-brief github`: the GitHub Action's step."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from jira_brief.commands.options import review_briefer, review_options, review_settings


@click.command()
@click.option("--pr-number", metavar="N", help="Pull request number (workflow_dispatch).")
@review_options(
    "update: keep one sticky PR comment current; off: job summary and outputs only.",
    "Explicit keys (workflow_dispatch), e.g. 'PAY-142 WEB-88'.",
    json_file=False,
)
def github(
    pr_number: str | None, explicit_keys: str | None, comment_mode: str, fail_on_error: bool, **options: Any
) -> None:
    """Inside GitHub Actions: brief the PR's tickets into one sticky comment, the job summary and outputs.

    Reads GITHUB_EVENT_NAME, GITHUB_EVENT_PATH, GITHUB_REPOSITORY, GITHUB_API_URL, GITHUB_TOKEN,
    GITHUB_STEP_SUMMARY and GITHUB_OUTPUT, as the runner sets them; the PR's title, branch and
    commits come from the API. Keys count from pr-title, branch and commits unless --sources says.

    \b
    Example (a workflow step; the action.yml of this repository runs it for you):
      jira-brief github --mcp-url "$JIRA_MCP_URL"
    """
    # PyGithub (~150 ms) loads only for this command.
    from jira_brief.forges.github.action import ActionOptions, run_github
    from jira_brief.forges.github.api import connect, token_from
    from jira_brief.forges.github.runner import Runner

    settings = review_settings(**options)
    runner = Runner.from_environment(os.environ)
    code = run_github(
        settings,
        runner,
        ActionOptions(pr_number, explicit_keys, comment_mode, fail_on_error),
        connect=lambda: connect(token_from(os.environ), runner.api_url),
        brief=review_briefer(settings),
        environ=os.environ,
    )
    sys.exit(code)
