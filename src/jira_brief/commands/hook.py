"""pre-commit hooks: the ticket's brief at commit time, a required key, a key put into the message.

A hook never loses the commit message and never blocks a commit unless the user asked for `strict`."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import os
import re
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from jira_brief.brief.cache import cache_root, write_atomic
from jira_brief.brief.criteria import Change
from jira_brief.brief.diff import parse_git_diff
from jira_brief.brief.pipeline import ANY_VERSION, brief_all
from jira_brief.brief.result import BriefResult
from jira_brief.commands.options import for_terminal, setting_options, settings_from
from jira_brief.config.masking import mask
from jira_brief.config.settings import Settings
from jira_brief.errors import JiraBriefError, UsageError
from jira_brief.files import replace_file
from jira_brief.git import SCISSORS, change_diff, comment_char, current_branch
from jira_brief.jira.transports import check_server_configured
from jira_brief.keys.scan import FoundKey, keys_in, scan
from jira_brief.keys.texts import MESSAGE_CAP, message_text, read_message_file
from jira_brief.publish.coverage import touched_line

Say = Callable[[str], None]
EXEMPT_MESSAGE = re.compile(r"^(Merge |fixup! |squash! |amend! |Revert \")")
SKIPPED_SOURCES = ("merge", "squash", "commit")


def hook_keys(message_file: Path | None, settings: Settings) -> list[FoundKey]:
    """Keys of the commit message, then of the branch, under the settings' allowlist and cap."""
    texts = [("message", read_message_file(message_file))] if message_file else []
    texts.append(("branch", current_branch() or ""))
    return list(scan(texts, settings.projects, settings.max_keys).keys)


def _state_file(settings: Settings) -> Path:
    return cache_root(settings) / "hook-shown.json"


def _place() -> str:
    """This repository and branch, as the key under which shown briefs are remembered."""
    return hashlib.sha256(f"{Path.cwd().resolve()}\0{current_branch() or ''}".encode()).hexdigest()[:16]


def _load_shown(settings: Settings) -> dict[str, dict[str, str]]:
    try:
        data = json.loads(_state_file(settings).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def _save_shown(settings: Settings, shown: dict[str, dict[str, str]]) -> None:
    """Remember what was shown; failing to is a comfort lost, never a reason to fail a commit."""
    write_atomic(_state_file(settings), shown)


def ticket_line(result: BriefResult) -> str:
    """KEY · title · status: the line a ticket gets when its brief was already shown."""
    ticket = result.ticket
    if ticket is None:
        return result.key
    return " · ".join(filter(None, [result.key, ticket.title, ticket.status]))


class _Finished:
    """Collects each ticket's result as it finishes: what is ready when the budget ends is kept."""

    def __init__(self) -> None:
        self.results: dict[str, BriefResult] = {}

    def text(self, key: str, chunk: str) -> None:
        pass

    def done(self, result: BriefResult) -> None:
        self.results[result.key] = result


def leave(code: int) -> None:
    """End the hook. A real process exits at once: interpreter teardown after the engine ran (its
    modules, a pipeline thread still running past the budget) costs up to a second the budget has
    no room for, and everything worth keeping is written by now."""
    sys.stdout.flush()
    sys.stderr.flush()
    if sys.stdout is sys.__stdout__ and sys.stderr is sys.__stderr__:  # not when embedded (a test runner)
        os._exit(code)
    if code:
        sys.exit(code)


def _brief_within_budget(
    found: list[FoundKey], settings: Settings, seen: dict[str, str], deadline: float
) -> list[BriefResult]:
    """Briefs made by `deadline` (time.monotonic). The pipeline runs in a daemon thread so that nothing
    it waits for past the budget (a server still connecting, a hung model, a slow shutdown) can hold
    the commit."""
    finished = _Finished()
    quiet = dataclasses.replace(settings, stream=False)
    failures: list[BaseException] = []
    change = _staged_change(settings)
    # The pipeline stops a moment before the deadline, so what it finished is reported by then.
    budget = max(deadline - time.monotonic() - 0.2, 0.1)

    def work() -> None:
        try:
            asyncio.run(
                brief_all(
                    found,
                    quiet,
                    output=finished,
                    known=seen,
                    ticket_ttl=settings.hook_ttl,
                    budget=budget,
                    change=change,
                )
            )
        except Exception as error:  # reported by the hook as one line, in the main thread
            failures.append(error)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(max(deadline - time.monotonic(), 0.0))
    if failures:
        raise failures[0]
    results = dict(finished.results)
    return [results.get(item.key) or BriefResult(item.key, item.source, late=True, error="not ready") for item in found]


def _staged_change(settings: Settings) -> Change | None:
    """The staged changes, whose coverage of the criteria the hook reports; None when the check is off
    or without a model (the hook then has nothing to add) or outside a repository."""
    if settings.check == "off" or not settings.llm_enabled:
        return None
    try:
        return Change(parse_git_diff(change_diff("staged")))
    except UsageError:
        return None


def _coverage_line(result: BriefResult, say: Say) -> None:
    """ "PAY-142: 2/5 criteria touched by this commit", when the check ran (or failed)."""
    coverage = result.coverage
    if coverage is not None and (coverage.checked or coverage.error):
        say(touched_line(result.key, coverage))


def show_briefs(found: list[FoundKey], settings: Settings, say: Say, warn: Say, started: float | None = None) -> int:
    """Fetch and print the briefs: full when new or changed on this branch, else one line. The budget
    counts from `started` (time.monotonic, the hook's start), so it covers the whole run."""
    shown = _load_shown(settings)
    place = _place()
    seen = shown.get(place, {}) if settings.hook_show == "changed" else {}
    if settings.hook_show == "line":
        seen = {item.key: ANY_VERSION for item in found}
    deadline = (time.monotonic() if started is None else started) + settings.hook_budget
    results = _brief_within_budget(found, settings, seen, deadline)
    late = [result.key for result in results if result.late]
    for result in results:
        if result.late:
            continue
        if result.error and not result.brief:
            warn(f"jira-brief: warning: {result.error}")
            continue
        if result.error:
            warn(f"jira-brief: warning: {result.error} (offline brief below)")
        if result.unchanged or (settings.hook_show == "line" and result.ticket):
            say(ticket_line(result))
            _coverage_line(result, say)
            continue
        say(f"{ticket_line(result)}\n{result.brief}\n")
        _coverage_line(result, say)
        if result.fingerprint and not result.error:
            shown.setdefault(place, {})[result.key] = result.fingerprint
    if late:
        warn(
            f"jira-brief: warning: {', '.join(late)} not ready within the {settings.hook_budget:g} s time budget "
            f"(JIRA_BRIEF_HOOK_BUDGET); the commit goes on"
        )
    _save_shown(settings, shown)
    return sum(1 for result in results if result.error)


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


def _hook_settings(**flags: Any) -> Settings | None:
    """Settings for a hook, or None when the hooks are turned off."""
    settings = settings_from(**flags)
    return None if settings.disable else settings


@click.command()
@click.argument("message_file", required=False, type=click.Path(path_type=Path, dir_okay=False))
@setting_options("hook_show", "strict", "projects")
def hook(message_file: Path | None, **flags: Any) -> None:
    """commit-msg hook: print the brief of the tickets named by the message and the branch.

    Never blocks a commit and never touches the message, unless --strict (or `strict = true`).

    \b
    Example (pre-commit runs it as the `jira-brief` hook):
      jira-brief hook .git/COMMIT_EDITMSG --show full
    """
    started = time.monotonic()

    def warn(line: str) -> None:
        click.echo(line, err=True)

    settings = None
    try:
        settings = _hook_settings(**flags)
        found = hook_keys(message_file, settings) if settings else []
        if not found or settings is None:
            return
        check_server_configured(settings)
        failed = show_briefs(
            found,
            settings,
            lambda text: click.echo(for_terminal(text, settings)),
            lambda line: warn(for_terminal(line, settings)),
            started=started,
        )
        leave(1 if failed and settings.strict else 0)
    except KeyboardInterrupt:
        warn("jira-brief: interrupted; the commit message is untouched")
        sys.exit(130)
    except Exception as error:  # boundary: a hook must fail open whatever went wrong
        text = str(error) if isinstance(error, JiraBriefError) else f"unexpected {type(error).__name__}: {error}"
        warn(mask(f"jira-brief: warning: {text}; the commit goes on", settings, os.environ))
        if flags.get("strict") or (settings is not None and settings.strict):
            sys.exit(1)


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
    settings = _hook_settings(projects=projects)
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
        settings = _hook_settings(projects=projects)
        if settings is not None:
            prepare_message(message_file, settings, source)
    except (JiraBriefError, OSError) as error:
        click.echo(mask(f"jira-brief: warning: {error}; the message is left as it was", None, os.environ), err=True)
    except KeyboardInterrupt:
        click.echo("jira-brief: interrupted; the commit message is whole (as it was, or with the key)", err=True)
        sys.exit(130)
