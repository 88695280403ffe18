"""What the hooks and `jira-brief show` share: what the cache has for each ticket, what a background job
still has to do (and whether a remembered failure holds it back), starting that job detached, and
waiting for it. Light on purpose: the commit path imports it, so neither the MCP SDK nor the model's
client loads here."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from jira_brief.brief.cache import BriefCache
from jira_brief.brief.hookstate import (
    Failure,
    Failures,
    Jobs,
    JobStatus,
    Place,
    mcp_subject,
    model_subject,
    state_root,
    ticket_subject,
)
from jira_brief.brief.ready import Ready, ready
from jira_brief.brief.template import Template, load_template
from jira_brief.config.settings import Settings
from jira_brief.git import current_branch, run_git

LAUNCHER = Path(__file__).with_name("_detach.py")
LAUNCH_TIMEOUT = 10.0  # seconds for the launcher to start the job and say its process id
POLL = 0.05  # seconds between two looks at a job's status
# Seconds a Jira MCP server at a URL may take to answer a background job at all: `timeout`, within these.
READ_FLOOR, READ_LIMIT = 5.0, 30.0
GRACE = 15.0  # past its time limit, a job still running (a thread stuck in a system call) is ended outright


def leave(code: int) -> None:
    """End a hook (or a job) now. A real process exits at once: interpreter teardown (threads still
    waiting on a server, modules unloading) costs time a commit has no room for, and everything worth
    keeping is written by now. Embedded (a test runner's CliRunner), it returns or raises SystemExit."""
    sys.stdout.flush()
    sys.stderr.flush()
    if sys.stdout is sys.__stdout__ and sys.stderr is sys.__stderr__:
        os._exit(code)
    if code:
        sys.exit(code)


def job_limits(settings: Settings, checking: bool = False) -> tuple[float, float]:
    """A background job's (seconds for the MCP server to answer, seconds for the whole job). A stdio
    server is a program starting on this machine (uvx may first install it): it gets the whole `timeout`."""
    if settings.mcp_command and not settings.mcp_url:
        return settings.timeout, settings.timeout * (3 if checking else 2)
    read = min(max(settings.timeout, READ_FLOOR), READ_LIMIT)
    return read, read + settings.timeout * (2 if checking else 1)


def hook_settings(settings: Settings) -> Settings:
    """The settings the hooks work with: the cache is how the background job hands its briefs over, so
    it is on whatever `cache` says; nobody watches a brief being written."""
    return dataclasses.replace(settings, cache=True, stream=False)


def current_place(cwd: Path | None = None) -> Place:
    """The work tree's root (the folder itself outside a repository) and the branch checked out."""
    top = run_git(["rev-parse", "--show-toplevel"], cwd)
    root = Path(top.strip()) if top and top.strip() else (cwd or Path.cwd())
    return Place(root.resolve(), current_branch(cwd) or "")


@dataclass(frozen=True)
class Need:
    """What one ticket needs from a background job, and the failure that holds it back."""

    ready: Ready
    work: bool = False  # a job has something to do for it
    blocked: Failure | None = None  # a remembered failure that stands in the way of what it needs


@dataclass
class Briefing:
    """One run of a hook or of `show`: its settings, state and cache, for the tickets of one place."""

    settings: Settings
    place: Place
    template: Template
    cache: BriefCache
    failures: Failures
    jobs: Jobs
    model: bool  # whether briefs are the model's (else offline, from the ticket's fields)

    @classmethod
    def open(cls, settings: Settings, place: Place, *, lines_only: bool = False) -> Briefing:
        settings = hook_settings(settings)
        root = state_root(settings)
        return cls(
            settings,
            place,
            load_template(settings),
            BriefCache(settings),
            Failures(root),
            Jobs(root, place),
            settings.llm_enabled and not lines_only,
        )

    def model_failure(self) -> Failure | None:
        return self.failures.active(model_subject(self.settings)) if self.model else None

    def what_is_ready(self, key: str) -> Ready:
        """The model's brief when it was written; the offline one while the model is left alone after a
        failure (or when briefs are offline anyway); else the ticket alone, or nothing."""
        found = ready(key, self.settings, self.cache, self.template, model=self.model)
        if found.brief is None and found.ticket is not None and self.model_failure():
            return ready(key, self.settings, self.cache, self.template, model=False)
        return found

    def need(self, key: str, *, check: bool = False) -> Need:
        """What `key` needs: a fresh copy of the ticket, the model's brief, or (`check`) the criteria check."""
        found = self.what_is_ready(key)
        settings = self.settings
        if not found.fresh(settings.hook_ttl):
            server = self.failures.active(mcp_subject(settings)) or self.failures.active(ticket_subject(settings, key))
            return Need(found, work=server is None, blocked=server)
        wants_model = self.model and (found.offline or found.brief is None or check)
        if not wants_model:
            return Need(found)
        model = self.model_failure()
        return Need(found, work=model is None, blocked=model)

    def start(self, keys: list[str], since: float, *, diff: Path | None = None) -> list[str]:
        """Start one background job for those of `keys` no job is working on (`since`: time.time() now);
        the keys it took."""
        if not keys:
            return []
        locks = {key: fd for key in keys if (fd := self.jobs.lock(key)) is not None}
        taken = list(locks)
        if not taken:
            return []
        try:
            for key in taken:
                self.jobs.set_status(key, JobStatus(0, since))
            if sys.platform == "win32":  # a lock belongs to its process there: the job takes it again
                for fd in locks.values():
                    Jobs.unlock(fd)
                locks = {}
            fds = list(locks.values())
            launch(self._worker_argv(taken, since, diff, fds), self.place.repo, self.jobs.log, fds)
        finally:
            for fd in locks.values():
                os.close(fd)  # the job holds its own copy of the lock: it ends with the job
        return taken

    def _worker_argv(self, keys: list[str], since: float, diff: Path | None, fds: list[int]) -> list[str]:
        argv = [sys.executable, "-m", "jira_brief", "hook-worker", f"--repo={self.place.repo}"]
        argv += [f"--branch={self.place.branch}", f"--since={since!r}", *(f"--lock-fd={fd}" for fd in fds)]
        if not self.model:
            argv.append("--offline")
        if diff is not None:
            argv.append(f"--check-diff={diff}")
        return [*argv, "--", *keys]

    def wait(self, keys: list[str], since: float, deadline: float) -> bool:
        """Wait until the jobs of `keys` started at `since` (time.time()) have ended, or `deadline`
        (time.monotonic()) has come; whether they all ended."""
        pending = list(keys)
        while pending:
            pending = [key for key in pending if not self.jobs.done(key, since)]
            if not pending:
                break
            if time.monotonic() + POLL > deadline:
                return False
            time.sleep(POLL)
        return True


def launch(argv: list[str], cwd: Path, log: Path, fds: list[int]) -> int:
    """Start `argv` detached (see _detach.py), handing it the descriptors `fds` (its locks), and return
    its process id; only the launcher, a bare interpreter that exits at once, is waited for."""
    spec = {"argv": argv, "cwd": str(cwd), "log": str(log), "fds": fds}
    flags = 0
    if sys.platform == "win32":  # no console window flashing up for the launcher either
        flags = subprocess.CREATE_NO_WINDOW
    done = subprocess.run(
        [sys.executable, "-I", "-S", str(LAUNCHER), json.dumps(spec)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=LAUNCH_TIMEOUT,
        pass_fds=fds,
        creationflags=flags,
    )
    if done.returncode != 0 or not done.stdout.strip().isdigit():
        raise OSError(f"could not start the background job: {done.stderr.strip()[-300:] or done.returncode}")
    return int(done.stdout.strip())
