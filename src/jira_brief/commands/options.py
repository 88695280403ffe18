"""What every command shares: the flags made from the settings' declarations, where keys are looked for,
settings with the command's flags on top, and text fit for a terminal."""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from jira_brief.config.load import load_settings
from jira_brief.config.masking import mask
from jira_brief.config.settings import SPECS, Settings, env_names, kebab
from jira_brief.errors import UsageError
from jira_brief.forges import ci_branch, credential_variables
from jira_brief.forges.github.event import event_texts, read_event
from jira_brief.git import current_branch
from jira_brief.keys.scan import KeyScan, keys_in, scan
from jira_brief.keys.texts import gather_texts

if TYPE_CHECKING:
    from jira_brief.brief.criteria import Change
    from jira_brief.brief.progress import Notify
    from jira_brief.brief.result import BriefResult
    from jira_brief.forges.sticky import BriefKeys

SETTINGS_KEY, DEBUG_KEY = "jira_brief.settings", "jira_brief.debug"


def setting_option(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The flag of a setting, made from its declaration: help, choices, environment variables."""
    spec = SPECS[name]
    flag = "--" + (spec.flag or kebab(name))
    help_text = spec.help[0].upper() + spec.help[1:] + "." + (" Repeatable." if spec.repeatable else "")
    help_text += f" [env: {', '.join(env_names(name))}]"
    if spec.switch:
        return click.option(flag, name, is_flag=True, default=None, help=help_text)
    if spec.boolean:
        return click.option(f"{flag}/--no-{flag[2:]}", name, default=None, help=help_text)
    kind = click.Choice(spec.choices, case_sensitive=False) if spec.choices else None
    return click.option(flag, name, type=kind, metavar=spec.metavar, multiple=spec.repeatable, help=help_text)


def setting_options(*names: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The flags of these settings, in this order."""

    def apply(command: Callable[..., Any]) -> Callable[..., Any]:
        for name in reversed(names):
            command = setting_option(name)(command)
        return command

    return apply


KEY_SETTINGS = ("sources", "projects", "max_keys")
MCP_SETTINGS = (
    "mcp_url",
    "mcp_transport",
    "mcp_command",
    "mcp_env",
    "mcp_headers",
    "issue_tool",
    "issue_arg",
    "issue_args",
    "acceptance_field",
    "epic_field",
)
LLM_SETTINGS = ("llm", "llm_base_url", "model", "timeout")
NETWORK_SETTINGS = ("ca_bundle", "proxy", "insecure")
BRIEF_SETTINGS = ("language", "template", "max_steps", "concurrency", "stream", "cache")
ENGINE_SETTINGS = (*MCP_SETTINGS, "allow_tools", *LLM_SETTINGS, *BRIEF_SETTINGS, *NETWORK_SETTINGS)
CHECK_SETTINGS = ("check", "diff_budget")
DEMO_SETTINGS = (*LLM_SETTINGS, *BRIEF_SETTINGS, *NETWORK_SETTINGS)
DOCTOR_SETTINGS = (*MCP_SETTINGS, "allow_tools", *LLM_SETTINGS, *NETWORK_SETTINGS)


def branch_name() -> str:
    """The branch being worked on: a CI job's (its checkout is detached), else git's, also mid-rebase."""
    return ci_branch(os.environ) or current_branch() or ""


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
    ]
    for option in reversed(options):
        command = option(command)
    return setting_options(*KEY_SETTINGS)(command)


def settings_from(**flags: Any) -> Settings:
    """Settings with the command's flags on top (only flags that were given count); kept for the error
    boundary, which masks their secrets, and any untrusted setting left out is said once."""
    given = {name: value for name, value in flags.items() if name in SPECS}
    settings = load_settings(given, credentials=credential_variables())
    context = click.get_current_context(silent=True)
    if context is not None:
        context.meta[SETTINGS_KEY] = settings
    for line in settings.ignored:
        click.echo(f"jira-brief: warning: {line}", err=True)
    return settings


def check_key_arguments(texts: tuple[str, ...], projects: tuple[str, ...]) -> None:
    """An argument given to be briefed that holds no key (a typo, a project outside --projects) is a usage
    error, said at once, not a run that finds nothing."""
    for text in texts:
        if not keys_in(text, projects):
            among = f" of {', '.join(projects)} (--projects)" if projects else ""
            raise UsageError(f"{text[:80]!r} names no Jira key{among}; a key looks like PAY-142")


# Where a forge's command looks for keys unless told (a pull or merge request's body is opt-in: anyone who
# may comment can often edit it).
REVIEW_SOURCES = ("pr-title", "branch", "commits")


def review_options(
    comment_help: str, keys_help: str = "Explicit keys, e.g. 'PAY-142 WEB-88'.", json_file: bool = True
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The options every forge's command shares: the engine's settings, --keys, --comment, --fail-on-error,
    and (for a CI job's artifacts) --json-file; the command adds its own way to name the review."""
    options = [
        setting_options(*ENGINE_SETTINGS, *KEY_SETTINGS, *CHECK_SETTINGS),
        click.option("--keys", "explicit_keys", metavar="KEYS", help=keys_help),
        click.option(
            "--comment", "comment_mode", type=click.Choice(["update", "off"]), default="update", help=comment_help
        ),
        click.option("--fail-on-error", is_flag=True, help="Fail the job when a ticket or brief fails."),
    ]
    if json_file:
        options.append(
            click.option(
                "--json-file",
                type=click.Path(path_type=Path, dir_okay=False),
                default="jira-brief.json",
                show_default=True,
                help="Where the briefs go as JSON (for the job's artifacts).",
            )
        )

    def apply(command: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            command = option(command)
        return command

    return apply


def review_settings(**flags: Any) -> Settings:
    """Settings for a forge's command: `settings_from`, with REVIEW_SOURCES unless --sources says."""
    settings = settings_from(**flags)
    if settings.origin("sources") == "default":
        settings = dataclasses.replace(settings, sources=REVIEW_SOURCES)
    return settings


def review_briefer(settings: Settings) -> BriefKeys:
    """Brief keys for a forge's review, given the fingerprints already published and the change to check."""
    import asyncio

    # The pipeline (~170 ms: the MCP and model clients' modules) loads only for a command that briefs.
    from jira_brief.brief.pipeline import brief_all

    def brief(found: KeyScan, known: Mapping[str, str], change: Change | None, notify: Notify) -> list[BriefResult]:
        return asyncio.run(brief_all(found.keys, settings, known=known, change=change, progress=notify))

    return brief


def find_keys(settings: Settings, options: dict[str, Any]) -> KeyScan:
    """Scan every source the options name, under the settings' allowlist, sources and cap."""
    event_path = options.get("github_event")
    texts = gather_texts(
        args=tuple(options.get("text") or ()),
        branch=branch_name() if options.get("branch") else None,
        message_file=options.get("message_file"),
        commits=options.get("commits"),
        event=event_texts(read_event(event_path)) if event_path else (),
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


# Control characters, and bidirectional ones (a file name must read as it is): a run at once.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]+")


def for_terminal(text: str, settings: Settings | None) -> str:
    """Text from Jira or the model, fit for a terminal: secrets masked, no control characters
    (a ticket must not move the cursor, set the title or write the clipboard)."""
    return CONTROL.sub("", mask(text, settings, os.environ))


def echo_out(text: str, nl: bool = True) -> None:
    """Write to stdout; when its reader is gone (`| head`), the rest goes nowhere, quietly: the run
    still finishes, caches what it made and exits with its own code."""
    try:
        click.echo(text, nl=nl)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
