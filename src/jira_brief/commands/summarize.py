"""`jira-brief summarize` and `jira-brief demo`: brief the tickets named, print them (streamed on a
terminal, plain when piped, Markdown or JSON), and check their criteria against a change when asked."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import click

from jira_brief.brief.criteria import Change
from jira_brief.brief.diff import parse_git_diff
from jira_brief.brief.pipeline import brief_all
from jira_brief.brief.result import BriefResult, results_json
from jira_brief.brief.template import load_template
from jira_brief.commands.options import (
    CHECK_SETTINGS,
    DEMO_SETTINGS,
    ENGINE_SETTINGS,
    check_key_arguments,
    echo_out,
    find_keys,
    for_terminal,
    key_options,
    setting_options,
    settings_from,
)
from jira_brief.config.masking import mask
from jira_brief.config.settings import Settings
from jira_brief.forges import in_ci
from jira_brief.git import change_diff
from jira_brief.jira.demo.server import build_server
from jira_brief.jira.transports import InProcessServer, check_server_configured
from jira_brief.keys.scan import KeyScan, scan
from jira_brief.publish.comment import Style, render_markdown
from jira_brief.publish.labels import Labels, labels_for


def print_results(results: list[BriefResult], fmt: str, settings: Settings, labels: Labels) -> None:
    if fmt == "json":
        echo_out(mask(results_json(results), settings, os.environ))
    elif fmt == "markdown":
        echo_out(for_terminal(render_markdown(results, Style(labels)), settings), nl=False)


def run_briefs(
    found: KeyScan,
    settings: Settings,
    fmt: str,
    change: Change | None = None,
    server: InProcessServer | None = None,
) -> int:
    """Brief the keys (checking their criteria against `change` when given), print them, return the exit code."""
    from jira_brief.publish.terminal import terminal_screen  # loads rich (~40 ms): only when briefs are shown

    check_server_configured(settings, server)
    labels = labels_for(settings.language, load_template(settings).text)
    screen = terminal_screen(
        found.names,
        fmt,
        clean=lambda text: for_terminal(text, settings),
        write=lambda text: echo_out(text, nl=False),
        warn=lambda line: click.echo(line, err=True),
        labels=labels,
        ci=in_ci(os.environ),
        stdout=sys.stdout,
        stderr=sys.stderr,
    )
    try:
        results = asyncio.run(
            brief_all(found.keys, settings, output=screen.output, progress=screen.notify, change=change, server=server)
        )
    finally:
        screen.close()
    print_results(results, fmt, settings, labels)
    return 1 if any(not result.ok for result in results) else 0


@click.command()
@key_options
@setting_options(*ENGINE_SETTINGS, *CHECK_SETTINGS)
@click.option(
    "--diff",
    "diff_spec",
    metavar="RANGE|staged",
    help="Check each ticket's acceptance criteria against `git diff RANGE` (or the staged changes).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    help="text streams to the terminal; json is a list of {key, url, title, status, brief, error, cached, source}.",
)
def summarize(fmt: str, diff_spec: str | None, **options: Any) -> None:
    """Write the brief of each Jira ticket named by the arguments, branch, message or commits.

    Tickets are read through the Jira MCP server (--mcp-url or --mcp-command). Briefs are written by
    the OpenAI-compatible model at --llm-base-url (OPENAI_BASE_URL) with the API key from
    OPENAI_API_KEY (or JIRA_BRIEF_LLM_API_KEY; never a flag or a repository file, so it stays out of
    shell history and commits); without a key or URL they are written offline from the ticket's fields.

    \b
    Examples:
      jira-brief summarize PAY-142 --mcp-url http://localhost:9000/mcp
      jira-brief summarize --branch --mcp-command mcp-atlassian --format markdown
      jira-brief summarize --commits origin/main..HEAD --format json
      jira-brief summarize --branch --diff origin/main...HEAD
    """
    settings = settings_from(**options)
    check_key_arguments(tuple(options.get("text") or ()), settings.projects)
    found = find_keys(settings, options)
    if not found.keys:
        click.echo(
            "jira-brief: no Jira key found; pass a key (PAY-142) or --branch / --message-file / --commits", err=True
        )
        if fmt == "json":
            click.echo("[]")
        return
    sys.exit(run_briefs(found, settings, fmt, change=_git_change(diff_spec, settings)))


def _git_change(diff_spec: str | None, settings: Settings) -> Change | None:
    """The change named by --diff, read with git; None without --diff or with the check off."""
    if diff_spec is None or settings.check == "off":
        return None
    return Change(parse_git_diff(change_diff(diff_spec)))


@click.command()
@click.argument("keys", nargs=-1, metavar="[KEY]...")
@setting_options(*DEMO_SETTINGS)
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text")
def demo(keys: tuple[str, ...], fmt: str, **options: Any) -> None:
    """Run the whole pipeline on an embedded demo Jira, with no set-up.

    Uses the configured LLM when there is one (OPENAI_API_KEY / OPENAI_BASE_URL), else offline briefs.

    \b
    Examples:
      jira-brief demo
      jira-brief demo PAY-142 --language en --format markdown
    """
    settings = settings_from(**options)
    check_key_arguments(keys, ())
    found = scan([("arg", key) for key in keys or ("PAY-142", "WEB-88", "WEB-91")], (), settings.max_keys)
    if settings.llm_enabled:
        mode = f"model {settings.model}"
    elif settings.llm == "none":
        mode = "offline briefs (--llm none)"
    else:
        mode = "offline briefs (no LLM configured: set OPENAI_API_KEY or OPENAI_BASE_URL)"
    click.echo(f"jira-brief demo: {len(found.keys)} ticket(s) from the embedded demo Jira, {mode}", err=True)
    sys.exit(run_briefs(found, settings, fmt, server=build_server()))
