"""The `jira-brief` command line: parse options, build Settings, run the pipeline, pick the sink."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from jira_brief import __version__
from jira_brief.errors import JiraBriefError
from jira_brief.keys import KeyScan, scan
from jira_brief.settings import SPECS, Settings, describe, load_settings
from jira_brief.sources import ALL_SOURCES, gather_texts, read_event


def fail(message: str, code: int) -> None:
    """Print one clear error line and exit; the single place errors reach the user."""
    click.echo(f"jira-brief: error: {message}", err=True)
    sys.exit(code)


def reports_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn our errors into one line and an exit code instead of a traceback."""

    @wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except JiraBriefError as error:
            fail(str(error), error.exit_code)
        except KeyboardInterrupt:
            fail("interrupted", 130)

    return run


def key_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Options that say where to look for keys, shared by every command that finds keys."""
    options = [
        click.argument("text", nargs=-1),
        click.option("--branch", is_flag=True, help="Look in the current git branch name."),
        click.option(
            "--message-file",
            type=click.Path(path_type=Path, dir_okay=False),
            help="Look in a git commit message file (comments and the scissors part are ignored).",
        ),
        click.option("--commits", metavar="RANGE", help="Look in the messages of `git log RANGE`."),
        click.option(
            "--github-event",
            type=click.Path(path_type=Path, dir_okay=False),
            help="Look in a GitHub event payload (pull_request, workflow_dispatch).",
        ),
        click.option("--sources", help=f"Comma-separated sources that count: {', '.join(ALL_SOURCES)}."),
        click.option("--projects", help="Only keys of these Jira projects (comma-separated); case-insensitive."),
        click.option("--max-keys", type=int, help="Most keys per run (default 10); the rest are reported."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def settings_from(**flags: Any) -> Settings:
    """Settings with the command's flags on top; only flags that were given count."""
    return load_settings({name: value for name, value in flags.items() if name in SPECS})


def find_keys(settings: Settings, options: dict[str, Any]) -> KeyScan:
    """Scan every source the options name, under the settings' allowlist, sources and cap."""
    event_path = options.get("github_event")
    texts = gather_texts(
        args=tuple(options.get("text") or ()),
        branch=bool(options.get("branch")),
        message_file=options.get("message_file"),
        commits=options.get("commits"),
        event=read_event(event_path) if event_path else None,
        sources=settings.sources,
    )
    found = scan(texts, settings.projects, settings.max_keys)
    if found.dropped:
        extra = ", ".join(key.key for key in found.dropped)
        click.echo(
            f"jira-brief: {len(found.dropped)} more key(s) past the limit of {settings.max_keys} "
            f"left out: {extra} (raise --max-keys to include them)",
            err=True,
        )
    return found


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="jira-brief")
def main() -> None:
    """Turn the Jira tickets behind a change into a short, structured brief."""


@main.command()
@key_options
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of {key, source}.")
@reports_errors
def keys(as_json: bool, **options: Any) -> None:
    """Print the Jira keys found, one per line, in first-seen order."""
    settings = settings_from(**options)
    found = find_keys(settings, options)
    if as_json:
        click.echo(json.dumps([{"key": k.key, "source": k.source} for k in found.keys]))
    else:
        for key in found.keys:
            click.echo(key.key)


@main.command()
@reports_errors
def config() -> None:
    """Print the effective settings and where each comes from; secrets are masked.

    Settings come from, lowest first: defaults, `.jira-brief.toml` or `[tool.jira-brief]` in
    pyproject.toml, environment variables (JIRA_BRIEF_<NAME>, OPENAI_API_KEY, OPENAI_BASE_URL,
    GITHUB_TOKEN, SSL_CERT_FILE), then command-line flags.
    """
    settings = load_settings()
    rows = describe(settings)
    width = max(len(name) for name, _, _ in rows)
    for name, value, origin in rows:
        click.echo(f"{name.ljust(width)}  {value}  [{origin}]")
