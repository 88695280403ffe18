"""`jira-brief hook`, the commit-msg hook that shows the brief of the tickets a commit names.

It talks to no server: it prints what the cache has (the brief, the ticket's line, or that
the brief is on its way) and leaves reading tickets and writing briefs to a background job
(commands/worker.py), which it waits for, within `hook-budget` counted from its start, only when it
has nothing to show; the next commit shows the rest. A brief is printed in full once per branch, and
again when its ticket changes. It never changes the commit message and never blocks a commit unless
the user asked for `strict`."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from jira_brief.brief.hookstate import CheckLines, Shown, state_root
from jira_brief.commands.background import Briefing, Need, current_place, leave
from jira_brief.commands.message import enabled_settings, hook_keys
from jira_brief.commands.options import for_terminal, setting_options
from jira_brief.config.masking import mask
from jira_brief.config.settings import Settings
from jira_brief.errors import JiraBriefError, UsageError
from jira_brief.files import replace_file
from jira_brief.git import change_diff
from jira_brief.jira.transports import check_server_configured
from jira_brief.keys.scan import FoundKey
from jira_brief.publish.plain import plain_brief

Say = Callable[[str], None]
ON_ITS_WAY = "brief on its way (the next commit shows it, or `jira-brief show` now)"
MARGIN = 0.3  # seconds kept from the budget for printing, exiting and pre-commit's own reading


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
        text = change_diff("staged", run.place.repo).saved()
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
        settings = enabled_settings(**flags)
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
