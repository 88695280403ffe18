"""The `jira-brief` command line: parse options, build Settings, run the pipeline, pick the sink."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from jira_brief import __version__
from jira_brief.errors import JiraBriefError
from jira_brief.keys import KeyScan, scan
from jira_brief.settings import SPECS, Settings, describe, load_settings, redact
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
            fail(redact(str(error), _settings_or_none()), error.exit_code)
        except KeyboardInterrupt:
            fail("interrupted", 130)

    return run


def _settings_or_none() -> Settings | None:
    """The settings, to know which secrets to hide; None when they themselves are broken."""
    try:
        return load_settings()
    except JiraBriefError:
        return None


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


def engine_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Options of every command that reads tickets and writes briefs."""
    options = [
        click.option("--mcp-url", help="Jira MCP server URL (streamable HTTP; SSE when it ends in /sse)."),
        click.option("--mcp-transport", type=click.Choice(["auto", "http", "sse"]), help="Force HTTP or SSE."),
        click.option("--mcp-command", help="Start this command as a stdio MCP server (e.g. 'mcp-atlassian')."),
        click.option("--mcp-env", multiple=True, metavar="KEY=VALUE", help="Environment for the stdio server."),
        click.option(
            "--mcp-header",
            "mcp_headers",
            multiple=True,
            metavar="'Name: value'",
            help="HTTP header for the MCP server (repeatable).",
        ),
        click.option("--issue-tool", help="Name of the server's get-issue tool (detected when unset)."),
        click.option("--issue-arg", help="Its issue-key argument (detected when unset)."),
        click.option("--allow-tool", "allow_tools", multiple=True, help="Offer one more read tool to the model."),
        click.option("--llm", type=click.Choice(["auto", "openai", "none"]), help="none: offline brief, no model."),
        click.option("--llm-base-url", help="OpenAI-compatible endpoint (OPENAI_BASE_URL)."),
        click.option("--model", help="Model name (JIRA_BRIEF_MODEL)."),
        click.option("--language", type=click.Choice(["fr", "en"]), help="Built-in template (default fr)."),
        click.option("--template", type=click.Path(dir_okay=False), help="Custom template file (Markdown)."),
        click.option("--max-steps", type=int, help="Most model calls per ticket (default 3)."),
        click.option("--concurrency", type=int, help="Tickets worked on at once (default 4)."),
        click.option("--timeout", type=float, help="Seconds per ticket, retries included (default 120)."),
        click.option("--stream/--no-stream", default=None, help="Print the brief as it is written."),
        click.option("--cache/--no-cache", default=None, help="Reuse briefs of unchanged tickets."),
        click.option("--ca-bundle", type=click.Path(dir_okay=False), help="CA bundle for TLS (SSL_CERT_FILE)."),
        click.option("--proxy", help="HTTP(S) proxy URL (default: HTTPS_PROXY/NO_PROXY)."),
        click.option("--insecure", is_flag=True, default=None, help="Turn TLS verification off (dangerous)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def for_terminal(text: str, settings: Settings | None) -> str:
    """Text from Jira or the model, fit for a terminal: secrets masked, no control characters
    (a ticket must not move the cursor, set the title or write the clipboard)."""
    return CONTROL.sub("", redact(text, settings))


def print_results(results: list[Any], fmt: str, settings: Settings) -> None:
    from jira_brief.briefs import load_template
    from jira_brief.comment import labels_for
    from jira_brief.render import render_json, render_markdown

    if fmt == "json":
        click.echo(redact(render_json(results), settings))
    elif fmt == "markdown":
        labels = labels_for(settings.language, load_template(settings).text)
        click.echo(for_terminal(render_markdown(results, labels), settings), nl=False)


def run_briefs(found: KeyScan, settings: Settings, fmt: str, server: Any = None) -> int:
    """Brief the keys, print them in the chosen format, and return the exit code."""
    import asyncio

    from jira_brief.jira_mcp import check_server_configured
    from jira_brief.pipeline import brief_all
    from jira_brief.render import terminal_screen

    check_server_configured(settings, server)
    screen = terminal_screen(
        found.names,
        fmt,
        clean=lambda text: for_terminal(text, settings),
        write=lambda text: click.echo(text, nl=False),
        warn=lambda line: click.echo(line, err=True),
        environ=os.environ,
        stdout=sys.stdout,
        stderr=sys.stderr,
    )
    try:
        results = asyncio.run(
            brief_all(found.keys, settings, server=server, output=screen.output, progress=screen.notify)
        )
    finally:
        screen.close()
    print_results(results, fmt, settings)
    return 1 if any(not result.ok for result in results) else 0


@main.command()
@key_options
@engine_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    help="text streams to the terminal; json is a list of {key, url, title, status, brief, error, cached, source}.",
)
@reports_errors
def summarize(fmt: str, **options: Any) -> None:
    """Write the brief of each Jira ticket named by the arguments, branch, message or commits."""
    settings = settings_from(**options)
    found = find_keys(settings, options)
    if not found.keys:
        click.echo(
            "jira-brief: no Jira key found; pass a key (PAY-142) or --branch / --message-file / --commits", err=True
        )
        if fmt == "json":
            click.echo("[]")
        return
    sys.exit(run_briefs(found, settings, fmt))


@main.command()
@click.argument("keys", nargs=-1)
@engine_options
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text")
@reports_errors
def demo(keys: tuple[str, ...], fmt: str, **options: Any) -> None:
    """Run the whole pipeline on an embedded demo Jira, with no set-up.

    Uses the configured LLM when there is one (OPENAI_API_KEY / OPENAI_BASE_URL), else offline briefs.
    """
    from jira_brief.demo import build_server

    settings = settings_from(**options)
    found = scan([("arg", key) for key in keys or ("PAY-142", "WEB-88", "WEB-91")], (), settings.max_keys)
    mode = f"model {settings.model}" if settings.llm_enabled else "offline briefs (no LLM configured)"
    click.echo(f"jira-brief demo: {len(found.keys)} ticket(s) from the embedded demo Jira, {mode}", err=True)
    sys.exit(run_briefs(found, settings, fmt, server=build_server()))


@main.command()
@engine_options
@click.option("--demo", "use_demo", is_flag=True, help="Check against the embedded demo Jira.")
@reports_errors
def doctor(use_demo: bool, **options: Any) -> None:
    """Check each configured part (MCP server, tools, LLM, TLS/proxy) and say how to fix problems."""
    import asyncio

    from jira_brief.doctor import run_checks

    settings = settings_from(**options)
    server = None
    if use_demo:
        from jira_brief.demo import build_server

        server = build_server()
    problems = asyncio.run(run_checks(settings, lambda line: click.echo(redact(line, settings)), server))
    sys.exit(1 if problems else 0)


@main.command()
@engine_options
@click.option("--projects", help="Only keys of these Jira projects (comma-separated).")
@click.option(
    "--sources", help="Where keys count: pr-title, branch, commits, pr-body (default: pr-title, branch, commits)."
)
@click.option("--max-keys", type=int, help="Most tickets per PR (default 10).")
@click.option("--pr-number", help="Pull request number (workflow_dispatch).")
@click.option("--keys", "explicit_keys", help="Explicit keys (workflow_dispatch), e.g. 'PAY-142 WEB-88'.")
@click.option(
    "--comment",
    "comment_mode",
    type=click.Choice(["update", "off"]),
    default="update",
    help="update: keep one sticky PR comment current; off: job summary and outputs only.",
)
@click.option("--fail-on-error", is_flag=True, help="Fail the job when a ticket or brief fails.")
@reports_errors
def github(
    pr_number: str | None, explicit_keys: str | None, comment_mode: str, fail_on_error: bool, **options: Any
) -> None:
    """Inside GitHub Actions: brief the PR's tickets into one sticky comment, the job summary and outputs.

    Reads GITHUB_EVENT_NAME, GITHUB_EVENT_PATH, GITHUB_REPOSITORY, GITHUB_API_URL, GITHUB_TOKEN,
    GITHUB_STEP_SUMMARY and GITHUB_OUTPUT, as the runner sets them; the PR's title, branch and
    commits come from the API.
    """
    from jira_brief.github import run_github

    settings = settings_from(**options)
    if settings.origin("sources") == "default":
        settings = dataclasses.replace(settings, sources=("pr-title", "branch", "commits"))
    sys.exit(
        run_github(
            settings,
            pr_number=pr_number,
            explicit_keys=explicit_keys,
            comment_mode=comment_mode,
            fail_on_error=fail_on_error,
        )
    )


def _hook_settings(**flags: Any) -> Settings | None:
    """Settings for a hook, or None when the hooks are turned off."""
    settings = settings_from(**flags)
    return None if settings.disable else settings


@main.command()
@click.argument("message_file", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--show",
    "hook_show",
    type=click.Choice(["full", "changed", "line"]),
    help="full: always the brief; changed (default): the brief when new or changed, else one line.",
)
@click.option("--strict", is_flag=True, default=None, help="Fail the commit when a brief cannot be made.")
@click.option("--projects", help="Only keys of these Jira projects (comma-separated).")
def hook(message_file: Path | None, **flags: Any) -> None:
    """commit-msg hook: print the brief of the tickets named by the message and the branch.

    Never blocks a commit and never touches the message, unless --strict (or `strict = true`).
    """
    from jira_brief.hook import hook_keys, show_briefs

    def warn(line: str) -> None:
        click.echo(line, err=True)

    settings = None
    try:
        settings = _hook_settings(**flags)
        found = hook_keys(message_file, settings) if settings else []
        if not found or settings is None:
            return
        from jira_brief.jira_mcp import check_server_configured

        check_server_configured(settings)
        failed = show_briefs(
            found,
            settings,
            lambda text: click.echo(for_terminal(text, settings)),
            lambda line: warn(for_terminal(line, settings)),
        )
        if failed and settings.strict:
            sys.exit(1)
    except KeyboardInterrupt:
        warn("jira-brief: interrupted; the commit message is untouched")
        sys.exit(130)
    except Exception as error:  # boundary: a hook must fail open whatever went wrong
        text = str(error) if isinstance(error, JiraBriefError) else f"unexpected {type(error).__name__}: {error}"
        warn(redact(f"jira-brief: warning: {text}; the commit goes on", settings or _settings_or_none()))
        if flags.get("strict") or (settings is not None and settings.strict):
            sys.exit(1)


@main.command("require-key")
@click.argument("message_file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--projects", help="Accepted Jira projects (comma-separated).")
@reports_errors
def require_key_command(message_file: Path, projects: str | None) -> None:
    """commit-msg hook: refuse a commit whose message and branch name have no Jira key.

    Merge commits, fixup!/squash!/amend! commits and reverts pass.
    """
    from jira_brief.hook import require_key

    settings = _hook_settings(projects=projects)
    problem = require_key(message_file, settings) if settings else None
    if problem:
        click.echo(problem, err=True)
        sys.exit(1)


@main.command("prepare-message")
@click.argument("message_file", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("source", required=False)
@click.argument("sha", required=False)
@click.option("--projects", help="Only keys of these Jira projects (comma-separated).")
def prepare_message_command(message_file: Path, source: str | None, sha: str | None, projects: str | None) -> None:
    """prepare-commit-msg hook: start the message with the branch's Jira key when it has none.

    Does nothing for merges, squashes, amends and messages that already name a key.
    """
    from jira_brief.hook import prepare_message

    source = source or os.environ.get("PRE_COMMIT_COMMIT_MSG_SOURCE") or None
    try:
        settings = _hook_settings(projects=projects)
        if settings is not None:
            prepare_message(message_file, settings, source)
    except (JiraBriefError, OSError) as error:
        click.echo(f"jira-brief: warning: {error}; the message is left as it was", err=True)
    except KeyboardInterrupt:
        click.echo("jira-brief: interrupted; the commit message is whole (as it was, or with the key)", err=True)
        sys.exit(130)
