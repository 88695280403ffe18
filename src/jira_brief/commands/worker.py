"""`jira-brief hook-worker`: the hooks' background job. The commit hook, the post-checkout hook and
`jira-brief show` start it detached (commands/background.py); it reads the tickets, writes their
briefs into the cache (and, with `hook-check`, the criteria line of the last commit), remembers what
failed, and ends within its own time limit whatever the servers do."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import click

from jira_brief.brief.criteria import Change
from jira_brief.brief.diff import parse_git_diff
from jira_brief.brief.hookstate import (
    CheckLine,
    CheckLines,
    Failures,
    Jobs,
    JobStatus,
    Place,
    mcp_subject,
    model_subject,
    state_root,
    ticket_subject,
)
from jira_brief.brief.pipeline import brief_all
from jira_brief.brief.progress import Event
from jira_brief.brief.result import BriefResult
from jira_brief.commands.background import GRACE, hook_settings, job_limits, leave
from jira_brief.commands.options import settings_from
from jira_brief.config.masking import masker
from jira_brief.config.settings import Settings
from jira_brief.git import DiffText
from jira_brief.jira.transports import load_sdk, server_label
from jira_brief.keys.scan import FoundKey
from jira_brief.publish.coverage import touched_line

PHASES = {"connect": "connect", "read": "read", "ticket": "write", "write": "write", "done": "done"}


@dataclass
class Watch:
    """What the job has reached, from the pipeline's events; each step is written to the tickets' status."""

    jobs: Jobs
    statuses: dict[str, JobStatus]
    clean: Callable[[str], str]  # masks secrets: what is written down is read by later runs and people
    connecting: bool = False
    connected: bool = False  # the MCP server answered: a ticket was read through it
    tickets: set[str] = field(default_factory=set)  # keys whose ticket is in hand

    def __call__(self, event: Event) -> None:
        if event.phase == "connect":
            self.connecting = True
        elif event.phase == "read":
            self.connected = True
        elif event.phase == "ticket":
            self.tickets.add(event.key)
        phase = PHASES.get(event.phase)
        for key in [event.key] if event.key else list(self.statuses):
            if phase and key in self.statuses:
                self.set(key, phase, event.detail)

    def set(self, key: str, phase: str, detail: str = "", finished: bool = False, error: str = "") -> None:
        status = dataclasses.replace(
            self.statuses[key], phase=phase, detail=self.clean(detail), finished=finished, error=self.clean(error)
        )
        self.statuses[key] = status
        self.jobs.set_status(key, status)


async def run_job(
    found: list[FoundKey], settings: Settings, change: Change | None, watch: Watch, read: float, total: float
) -> list[BriefResult] | None:
    """The pipeline on `found`, the cache answering what it can; None when the MCP server took the
    connection and did not answer within `read` seconds (the run is then stopped)."""
    job = asyncio.create_task(
        brief_all(found, settings, ticket_ttl=settings.hook_ttl, budget=total, change=change, progress=watch)
    )
    await asyncio.wait({job}, timeout=read)
    if not job.done() and watch.connecting and not watch.connected:
        job.cancel()
        await asyncio.wait({job}, timeout=5)
        return None
    return await job


@dataclass
class Record:
    """Writes down how the job went: failures to leave alone for a while (and each ticket's error, for a
    hook waiting on this job), successes that end them, the criteria lines of the commit checked."""

    settings: Settings
    failures: Failures
    checks: CheckLines
    watch: Watch
    since: float
    read: float
    total: float
    errors: dict[str, str] = field(default_factory=dict)

    def hung(self) -> None:
        text = self.watch.clean(f"Jira MCP server {server_label(self.settings)} did not answer within {self.read:g} s")
        self.failures.record(mcp_subject(self.settings), text, self.settings.hook_retry_after)
        self.errors = dict.fromkeys(self.watch.statuses, text)

    def results(self, results: list[BriefResult]) -> None:
        settings = self.settings
        for result in results:
            subject, text = self._failure(result)
            text = self.watch.clean(text)
            if subject is not None:
                self.failures.record(subject, text, settings.hook_retry_after)
                self.errors[result.key] = text
            else:
                self.failures.clear(ticket_subject(settings, result.key))
            coverage = result.coverage
            if coverage is not None and (coverage.checked or coverage.error):
                line = CheckLine(
                    self.since,
                    self.watch.clean(touched_line(result.key, coverage, "this commit")),
                    self.watch.clean(touched_line(result.key, coverage, "the last commit")),
                )
                self.checks.put(result.key, line)
        if self.watch.connected:
            self.failures.clear(mcp_subject(settings))
        if any(result.brief and not result.offline and not result.error for result in results):
            self.failures.clear(model_subject(settings))

    def _failure(self, result: BriefResult) -> tuple[str | None, str]:
        """What failed for this ticket (the MCP server, the ticket, or the model) and the line that says so."""
        settings, key = self.settings, result.key
        error = (result.error or "").removeprefix(f"{key}: ")
        if result.late and key in self.watch.tickets:
            return model_subject(
                settings
            ), f"the model {settings.model} did not write {key}'s brief within {self.total:g} s"
        if result.late:
            return mcp_subject(
                settings
            ), f"Jira MCP server {server_label(settings)} did not send {key} within {self.total:g} s"
        if result.ticket is None and result.error and not self.watch.connected:
            return mcp_subject(settings), error  # the server failed, not this ticket
        if result.ticket is None and result.error:
            return ticket_subject(settings, key), f"{key}: {error}"
        if result.error:
            return model_subject(settings), f"{key}: {error}"
        return None, ""


def _change(path: Path | None) -> Change | None:
    """The staged change the commit hook saved for the criteria check (the file is used up)."""
    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
        path.unlink(missing_ok=True)
    except OSError:
        return None
    return Change(parse_git_diff(DiffText.from_saved(text)))


def _held(jobs: Jobs, keys: tuple[str, ...], lock_fds: tuple[int, ...]) -> dict[str, int]:
    """The keys this job works on and their locks: all, with the locks it was handed (POSIX); else those
    whose lock it takes now (Windows), another job having the rest."""
    if lock_fds:
        return dict(zip(keys, lock_fds, strict=False))
    return {key: fd for key in keys if (fd := jobs.lock(key)) is not None}


def _stop_at(limit: float, watch: Watch, failures: Failures, settings: Settings) -> None:
    """End the process `limit` seconds from now, should anything (a thread stuck in a system call) hold it."""

    def stop() -> None:
        with contextlib.suppress(Exception):
            text = f"the background job for {', '.join(watch.statuses)} did not finish within {limit:g} s"
            failures.record(mcp_subject(settings), text, settings.hook_retry_after)
            for key in list(watch.statuses):
                watch.set(key, "done", finished=True)
        os._exit(3)

    timer = threading.Timer(limit, stop)
    timer.daemon = True
    timer.start()


@click.command("hook-worker", hidden=True)
@click.option("--repo", type=click.Path(path_type=Path, file_okay=False), required=True)
@click.option("--branch", default="")
@click.option("--since", type=float, required=True)
@click.option("--lock-fd", "lock_fds", type=int, multiple=True)
@click.option("--check-diff", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--offline", is_flag=True)
@click.argument("keys", nargs=-1, required=True)
def hook_worker(
    repo: Path,
    branch: str,
    since: float,
    lock_fds: tuple[int, ...],
    check_diff: Path | None,
    offline: bool,
    keys: tuple[str, ...],
) -> None:
    """The hooks' background job (started by them; not for use by hand)."""
    settings = hook_settings(settings_from())
    if offline:
        settings = dataclasses.replace(settings, llm="none")
    root = state_root(settings)
    place = Place(repo, branch)
    jobs = Jobs(root, place)
    held = _held(jobs, keys, lock_fds)
    watch = Watch(jobs, {key: JobStatus(os.getpid(), since, "working") for key in held}, masker(settings, os.environ))
    for key in held:
        watch.set(key, "working")
    change = _change(check_diff)
    read, total = job_limits(settings, change is not None)
    record = Record(settings, Failures(root), CheckLines(root, place), watch, since, read, total)
    _stop_at(total + GRACE, watch, record.failures, settings)
    try:
        if held:
            found = [FoundKey(key, "branch") for key in held]
            load_sdk(settings)  # before the MCP server's clock starts
            results = asyncio.run(run_job(found, settings, change, watch, read, total))
            if results is None:
                record.hung()
            else:
                record.results(results)
    finally:
        for key, fd in held.items():  # the lock first: a hook seeing "finished" may start the next job at once
            with contextlib.suppress(OSError):
                Jobs.unlock(fd)
            watch.set(key, "done", finished=True, error=record.errors.get(key, ""))
        sys.stdout.flush()
    leave(0)
