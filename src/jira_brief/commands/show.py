"""`jira-brief show`: the briefs of the current branch's tickets as the hooks prepare them: from the
cache at once, or once the background job has written them (a spinner says what it waits for)."""

from __future__ import annotations

import os
import sys
import time

import click

from jira_brief.brief.hookstate import Shown, state_root
from jira_brief.brief.progress import Event, Notify
from jira_brief.brief.result import BriefResult
from jira_brief.commands.background import GRACE, POLL, Briefing, Need, current_place, job_limits
from jira_brief.commands.options import echo_out, for_terminal, setting_options, settings_from
from jira_brief.errors import UsageError
from jira_brief.forges import in_ci
from jira_brief.git import current_branch
from jira_brief.jira.transports import check_server_configured
from jira_brief.keys.scan import scan
from jira_brief.publish.labels import labels_for


def _keys(keys: tuple[str, ...], projects: tuple[str, ...], limit: int) -> list[str]:
    """The keys given, else those of the branch name."""
    branch = current_branch() or ""
    texts = [("arg", key) for key in keys] or [("branch", branch)]
    found = [item.key for item in scan(texts, projects, limit).keys]
    if not found:
        where = f"the branch name {branch!r}" if branch else "the arguments (no branch is checked out)"
        raise UsageError(f"no Jira key in {where}; name the tickets: jira-brief show PAY-142")
    return found


def _start_missing(run: Briefing, keys: list[str], needs: dict[str, Need]) -> dict[str, float]:
    """Make sure a job works on every ticket without a brief (a remembered failure is tried again: the
    user asked now) and refreshes the others that need it; the start time of each job to wait for."""
    missing = [key for key in keys if needs[key].ready.brief is None]
    since = time.time()
    run.start([key for key in keys if key in missing or needs[key].work], since)
    waits = {}
    for key in missing:
        status = run.jobs.status(key)
        waits[key] = status.started if status is not None else since
    return waits


def _wait(run: Briefing, waits: dict[str, float], deadline: float, notify: Notify) -> None:
    """Wait for the jobs of `waits` (key -> start), telling `notify` each step they report."""
    seen: dict[str, str] = {}
    pending = list(waits)
    while pending and time.monotonic() < deadline:
        for key in pending:
            status = run.jobs.status(key)
            if status is not None and seen.get(key) != status.phase:
                seen[key] = status.phase
                _notify(notify, key, status.phase, status.detail, len(waits) - len(pending), len(waits))
        pending = [key for key in pending if not run.jobs.done(key, waits[key])]
        time.sleep(POLL if pending else 0)
    for key in waits:
        _notify(notify, key, "done", "", len(waits) - len(pending), len(waits))


def _notify(notify: Notify, key: str, phase: str, detail: str, done: int, total: int) -> None:
    if phase == "connect":
        notify(Event("connect", detail=detail))
    elif phase in ("read", "write", "done"):
        notify(Event(phase, key, done=done, total=total))  # type: ignore[arg-type]


def _result(run: Briefing, key: str) -> BriefResult:
    """What the cache now has for `key`, as the terminal shows a result; a failure is its error."""
    need = run.need(key)
    ready = need.ready
    error = need.blocked.text if need.blocked is not None else None
    if ready.brief is None and error is None:
        error = f"{key}: no brief yet; the background job did not finish (see {run.jobs.log})"
    return BriefResult(
        key, "branch", ready.ticket, ready.brief, error, True, ready.offline, fingerprint=ready.fingerprint
    )


@click.command()
@click.argument("keys", nargs=-1)
@setting_options("projects")
def show(keys: tuple[str, ...], projects: str | None) -> None:
    """Print the briefs of the current branch's tickets, as the hooks prepare them.

    A brief in the cache is printed at once; a ticket without one is read and briefed by the hooks'
    background job, which is waited for (a failure the hooks remember is tried again now). The next
    commit then shows these tickets in one line.

    \b
    Examples:
      jira-brief show
      jira-brief show PAY-142 WEB-88
    """
    from jira_brief.publish.terminal import terminal_screen  # loads rich (~40 ms): only when briefs are shown

    settings = settings_from(projects=projects)
    names = _keys(keys, settings.projects, settings.max_keys)
    check_server_configured(settings)
    run = Briefing.open(settings, current_place())
    needs = {key: run.need(key) for key in names}
    waits = _start_missing(run, names, needs)
    screen = terminal_screen(
        names,
        "text",
        clean=lambda text: for_terminal(text, settings),
        write=lambda text: echo_out(text, nl=False),
        warn=lambda line: click.echo(line, err=True),
        labels=labels_for(settings.language, run.template.text),
        ci=in_ci(os.environ),
        stdout=sys.stdout,
        stderr=sys.stderr,
    )
    try:
        if waits:
            _wait(run, waits, time.monotonic() + job_limits(run.settings, True)[1] + GRACE, screen.notify)
        results = [_result(run, key) for key in names]
        for result in results:
            if screen.output is not None:
                screen.output.done(result)
    finally:
        screen.close()
    Shown(state_root(run.settings), run.place).remember(
        {result.key: result.fingerprint for result in results if result.fingerprint and result.brief}
    )
    sys.exit(1 if any(result.brief is None for result in results) else 0)
