"""The message hooks: `jira-brief require-key` (commit-msg: refuse a commit without a Jira key) and
`jira-brief prepare-message` (prepare-commit-msg: start the message with the branch's key). They run on
every commit and read only the message and the branch: nothing of the briefing machinery loads here."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

import click

from jira_brief.commands.options import setting_options, settings_from
from jira_brief.config.masking import mask
from jira_brief.config.settings import Settings
from jira_brief.errors import JiraBriefError
from jira_brief.files import replace_file
from jira_brief.git import SCISSORS, comment_char, current_branch
from jira_brief.keys.scan import FoundKey, keys_in, scan
from jira_brief.keys.texts import MESSAGE_CAP, message_text, read_message_file

EXEMPT_MESSAGE = re.compile(r"^(Merge |fixup! |squash! |amend! |Revert \")")
SKIPPED_SOURCES = ("merge", "squash", "commit")


def hook_keys(message_file: Path | None, settings: Settings) -> list[FoundKey]:
    """Keys of the commit message, then of the branch, under the settings' allowlist and cap."""
    texts = [("message", read_message_file(message_file))] if message_file else []
    texts.append(("branch", current_branch() or ""))
    return list(scan(texts, settings.projects, settings.max_keys).keys)


def enabled_settings(**flags: Any) -> Settings | None:
    """Settings for a hook, or None when the hooks are turned off."""
    settings = settings_from(**flags)
    return None if settings.disable else settings


def require_key(message_file: Path, settings: Settings) -> str | None:
    """None when the commit may go on, else the one line that says what is missing."""
    message = read_message_file(message_file)
    if EXEMPT_MESSAGE.match(message.lstrip()):
        return None
    if hook_keys(message_file, settings):
        return None
    accepted = f"of {', '.join(settings.projects)} " if settings.projects else ""
    example = f"{settings.projects[0] if settings.projects else 'PAY'}-123"
    return (
        f"jira-brief: no Jira key {accepted}in the commit message or the branch name; "
        f"start the message with one (e.g. '{example}: …') or name the branch after it"
    )


def prepare_message(message_file: Path, settings: Settings, source: str | None) -> bool:
    """Put the branch's key at the start of the message when it has none; True when the file changed."""
    if source in SKIPPED_SOURCES:
        return False
    branch_keys = keys_in(current_branch() or "", settings.projects)
    if not branch_keys:
        return False
    raw = message_file.read_bytes().decode("utf-8", errors="surrogateescape")
    comment = comment_char(raw)
    if keys_in(message_text(raw[:MESSAGE_CAP], comment), settings.projects):  # keys live in the first lines
        return False
    lines = raw.splitlines(keepends=True) or [""]
    end = next((i for i, line in enumerate(lines) if line.startswith(comment) and SCISSORS in line), len(lines))
    index = next((i for i, line in enumerate(lines[:end]) if line.strip() and not line.startswith(comment)), None)
    if index is None:  # an empty message (only comments): the key becomes the start of the subject
        lines.insert(0, f"{branch_keys[0]}: \n")
    else:
        lines[index] = f"{branch_keys[0]}: {lines[index]}"
    replace_file(message_file, "".join(lines).encode("utf-8", errors="surrogateescape"))
    return True


@click.command("require-key")
@click.argument("message_file", type=click.Path(path_type=Path, dir_okay=False))
@setting_options("projects")
def require_key_command(message_file: Path, projects: str | None) -> None:
    """commit-msg hook: refuse a commit whose message and branch name have no Jira key.

    Merge commits, fixup!/squash!/amend! commits and reverts pass.

    \b
    Example (pre-commit runs it as the `jira-brief-require-key` hook):
      jira-brief require-key .git/COMMIT_EDITMSG --projects PAY,WEB
    """
    settings = enabled_settings(projects=projects)
    problem = require_key(message_file, settings) if settings else None
    if problem:
        click.echo(problem, err=True)
        sys.exit(1)


@click.command("prepare-message")
@click.argument("message_file", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("source", required=False)
@click.argument("sha", required=False)
@setting_options("projects")
def prepare_message_command(message_file: Path, source: str | None, sha: str | None, projects: str | None) -> None:
    """prepare-commit-msg hook: start the message with the branch's Jira key when it has none.

    Does nothing for merges, squashes, amends and messages that already name a key.

    \b
    Example (pre-commit runs it as the `jira-brief-prepare` hook):
      jira-brief prepare-message .git/COMMIT_EDITMSG message
    """
    source = source or os.environ.get("PRE_COMMIT_COMMIT_MSG_SOURCE") or None
    try:
        settings = enabled_settings(projects=projects)
        if settings is not None:
            prepare_message(message_file, settings, source)
    except (JiraBriefError, OSError) as error:
        click.echo(mask(f"jira-brief: warning: {error}; the message is left as it was", None, os.environ), err=True)
    except KeyboardInterrupt:
        click.echo("jira-brief: interrupted; the commit message is whole (as it was, or with the key)", err=True)
        sys.exit(130)
