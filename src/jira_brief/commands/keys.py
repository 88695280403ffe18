"""`jira-brief keys`: the Jira keys found, one per line."""

from __future__ import annotations

import json
from typing import Any

import click

from jira_brief.commands.options import find_keys, key_options, settings_from
from jira_brief.errors import UsageError


@click.command()
@key_options
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of {key, source}.")
def keys(as_json: bool, **options: Any) -> None:
    """Print the Jira keys found, one per line, in first-seen order.

    \b
    Examples:
      jira-brief keys "PAY-142: split the payment form"
      jira-brief keys --branch --commits origin/main..HEAD --json
    """
    settings = settings_from(**options)
    if not (options.get("text") or options.get("branch") or options.get("message_file")):
        if not (options.get("commits") or options.get("github_event")):
            raise UsageError(
                "nothing to look in: pass a text (jira-brief keys 'PAY-142 fix'), or --branch, "
                "--message-file FILE, --commits RANGE or --github-event FILE"
            )
    found = find_keys(settings, options)
    if as_json:
        click.echo(json.dumps([{"key": k.key, "source": k.source} for k in found.keys]))
    else:
        for key in found.keys:
            click.echo(key.key)
