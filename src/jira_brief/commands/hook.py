"""pre-commit hooks at commit time: the tickets' brief (commit-msg), a required key, the branch's key put
into the message (prepare-commit-msg).

The brief hook talks to no server: it prints what the cache has (the brief, the ticket's line, or that
the brief is on its way) and leaves reading tickets and writing briefs to a background job
(commands/worker.py), which it waits for, within `hook-budget` counted from its start, only when it
has nothing to show; the next commit shows the rest. A brief is printed in full once per branch, and
again when its ticket changes. A hook never loses the commit message and never blocks a commit unless
the user asked for `strict`."""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from jira_brief.brief.hookstate import CheckLines, Shown, state_root
from jira_brief.commands.background import Briefing, Need, current_place, leave
from jira_brief.commands.options import for_terminal, setting_options, settings_from
from jira_brief.config.masking import mask
from jira_brief.config.settings import Settings
from jira_brief.errors import JiraBriefError, UsageError
from jira_brief.files import replace_file
from jira_brief.git import SCISSORS, change_diff, comment_char, current_branch
from jira_brief.jira.transports import check_server_configured
from jira_brief.keys.scan import FoundKey, keys_in, scan
from jira_brief.keys.texts import MESSAGE_CAP, message_text, read_message_file
from jira_brief.publish.plain import plain_brief

Say = Callable[[str], None]
EXEMPT_MESSAGE = re.compile(r"^(Merge |fixup! |squash! |amend! |Revert \")")
SKIPPED_SOURCES = ("merge", "squash", "commit")
ON_ITS_WAY = "brief on its way (the next commit shows it, or `jira-brief show` now)"
MARGIN = 0.1  # seconds kept from the budget for printing and exiting


def hook_keys(message_file: Path | None, settings: Settings) -> list[FoundKey]:
    """Keys of the commit message, then of the branch, under the settings' allowlist and cap."""
    texts = [("message", read_message_file(message_file))] if message_file else []
    texts.append(("branch", current_branch() or ""))
    return list(scan(texts, settings.projects, settings.max_keys).keys)


def hook_started() -> float:
    """When this process started, as time.monotonic(), so that the budget covers Python's own start-up
    (Linux tells; elsewhere, or in a process older than a hook, e.g. a test runner: now)."""
    now = time.monotonic()
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        age = uptime - int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22, the start in clock ticks
    except (OSError, ValueError, IndexError, AttributeError):
        return now
    return now - age if 0 <= age < 30 else now


def _staged_diff(run: Briefing) -> Path | None:
    """The staged change saved for the background criteria check (by then the index is the commit)."""
    try:
        text = change_diff("staged", run.place.repo)
    except UsageError:
        return None
    if not text.strip():
        return None
    path = state_root(run.settings) / "pending" / f"{run.place.id}-{time.time_ns()}.diff"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_file(path, text.encode("utf-8", errors="surrogateescape"))
    except OSError:
        return None
    return path


def _start_job(run: Briefing, needs: dict[str, Need], check: bool, since: float) -> list[str]:
    """Start the background job for the tickets that need one and no job is working on."""
    wanted = [key for key, need in needs.items() if need.work]
    diff = _staged_diff(run) if check and wanted else None
    taken: list[str] = []
    try:
        taken = run.start(wanted, since, diff=diff)
    finally:
        if diff is not None and not taken:  # no job reads it
            diff.unlink(missing_ok=True)
    return taken


def _say_ticket(need: Need, full: bool, say: Say) -> None:
    ready = need.ready
    if ready.brief is not None and full:
        say(f"{ready.line}\n{plain_brief(ready.brief)}\n")
    elif ready.brief is not None or need.blocked is not None:
        say(ready.line)
    else:
        say(f"{ready.line} — {ON_ITS_WAY}")


def print_briefs(run: Briefing, found: list[FoundKey], needs: dict[str, Need], say: Say, warn: Say) -> int:
    """Print each ticket: its brief in full when this branch has not shown this version of it (or
    always/never, as `hook-show` says), else one line; and the warning of each remembered failure that
    holds a ticket back. Returns how many tickets a failure held back."""
    shown_store = Shown(state_root(run.settings), run.place)
    shown, newly, warned, blocked = shown_store.get(), {}, set(), 0
    mode = run.settings.hook_show
    for item in found:
        need = needs[item.key]
        fingerprint = need.ready.fingerprint
        full = mode == "full" or (mode == "changed" and fingerprint is not None and shown.get(item.key) != fingerprint)
        _say_ticket(need, full, say)
        if full and fingerprint is not None:
            newly[item.key] = fingerprint
        if need.blocked is not None:
            blocked += 1
            if need.blocked.text not in warned:
                warned.add(need.blocked.text)
                warn(need.blocked.warning())
    shown_store.remember(newly)
    return blocked


def print_job_news(run: Briefing, needs: dict[str, Need], waited: list[str], since: float, say: Say, warn: Say) -> None:
    """What the background jobs left to say: an error of the job this hook waited for that no remembered
    failure names already (with `hook-retry-after = 0` nothing is remembered), and the criteria lines of
    the last check, worded for the commit they are about."""
    for key in waited:
        status = run.jobs.status(key)
        if status is not None and status.error and needs[key].blocked is None:
            warn(f"jira-brief: warning: {status.error}")
    for line in CheckLines(state_root(run.settings), run.place).take().values():
        say(line.this if line.since == since else line.last)


def show_briefs(found: list[FoundKey], settings: Settings, say: Say, warn: Say, deadline: float) -> int:
    """What the commit path does: see what is ready, start the background job for what is not, wait for
    it until `deadline` (time.monotonic()) only for tickets with nothing to show, then print."""
    run = Briefing.open(settings, current_place(), lines_only=settings.hook_show == "line")
    check = settings.hook_check and settings.check == "on" and run.model
    needs = {item.key: run.need(item.key, check=check) for item in found}
    since = time.time()
    try:
        taken = _start_job(run, needs, check, since)
    except OSError as error:  # no job: the commit still shows what the cache has
        warn(f"jira-brief: warning: {error}")
        taken = []
    waiting = [key for key in taken if needs[key].ready.brief is None]
    if waiting:
        run.wait(waiting, since, deadline - MARGIN)
        needs.update({key: run.need(key) for key in waiting})
    blocked = print_briefs(run, found, needs, say, warn)
    print_job_news(run, needs, waiting, since, say, warn)
    return blocked


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

    Prints what is ready and returns: a background job reads the tickets and writes their briefs for
    the next commit (or `jira-brief show`). Never blocks a commit and never touches the message, unless
    --strict (or `strict = true`).

    \b
    Example (pre-commit runs it as the `jira-brief` hook):
      jira-brief hook .git/COMMIT_EDITMSG --show full
    """
    started = hook_started()

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
            deadline=started + settings.hook_budget,
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
