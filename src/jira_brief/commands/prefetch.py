"""`jira-brief prefetch`: the post-checkout hook. When a branch is checked out, it starts the background
job that reads the branch's tickets and writes their briefs, so that they are ready by the first commit.
It prints nothing and never fails a checkout."""

from __future__ import annotations

import os
import time

import click

from jira_brief.commands.background import Briefing, current_place
from jira_brief.commands.options import setting_options, settings_from
from jira_brief.config.masking import mask
from jira_brief.git import current_branch
from jira_brief.keys.scan import scan

BRANCH_CHECKOUT = "1"  # git's third post-checkout argument: 1 for a branch, 0 for files


def prefetch_branch(projects: str | None) -> list[str]:
    """Start the background job for the branch's tickets that need one; the keys it took."""
    settings = settings_from(projects=projects)
    keys = [item.key for item in scan([("branch", current_branch() or "")], settings.projects, settings.max_keys).keys]
    if settings.disable or not keys or not (settings.mcp_url or settings.mcp_command):
        return []
    run = Briefing.open(settings, current_place(), lines_only=settings.hook_show == "line")
    return run.start([key for key in keys if run.need(key).work], time.time())


@click.command()
@click.argument("refs", nargs=-1)
@setting_options("projects")
def prefetch(refs: tuple[str, ...], projects: str | None) -> None:
    """post-checkout hook: start preparing the briefs of the branch's tickets, in the background.

    Git passes the previous HEAD, the new HEAD and 1 for a branch checkout (0 for a checkout of
    files); pre-commit passes them as PRE_COMMIT_CHECKOUT_TYPE and friends. Only branch checkouts
    count; run by hand, it prepares the current branch's briefs. `jira-brief show` prints them.

    \b
    Example (pre-commit runs it as the `jira-brief-prefetch` hook):
      jira-brief prefetch
    """
    kind = refs[2] if len(refs) >= 3 else os.environ.get("PRE_COMMIT_CHECKOUT_TYPE", BRANCH_CHECKOUT)
    if kind != BRANCH_CHECKOUT:
        return
    try:
        prefetch_branch(projects)
    except Exception as error:  # boundary: a checkout never fails because of us
        click.echo(mask(f"jira-brief: warning: no brief prepared: {error}", None, os.environ), err=True)
