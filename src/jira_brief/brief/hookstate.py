"""What the commit hooks remember between runs, in the state dir: the brief each branch has shown, the
servers and models that failed (left alone until a retry time), the criteria line waiting for the next
commit, and the background jobs (a lock and a status file per repository and ticket).

Every file is small JSON replaced atomically; a missing or damaged one reads as empty, and failing to
write one costs a comfort (a brief shown twice), never a commit."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from jira_brief.brief.cache import server_identity, write_atomic
from jira_brief.config.settings import Settings

STATE_FOLDER = "state"  # under cache-dir, when one is set
LOCK_HANDED_OVER = sys.platform != "win32"  # the job inherits its locks from the hook that starts it


def state_root(settings: Settings) -> Path:
    """Where the hooks keep their state: beside the cache when `cache-dir` is set, else the platform's
    state folder (~/.local/state/jira-brief on Linux)."""
    if settings.cache_dir:
        return Path(settings.cache_dir) / STATE_FOLDER
    from platformdirs import user_state_dir  # ~10 ms: only when no cache-dir is set

    return Path(user_state_dir("jira-brief", appauthor=False))


def digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8", errors="surrogateescape")).hexdigest()[:16]


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


@dataclass(frozen=True)
class Place:
    """A branch of a working tree: what "once per branch" counts by. `repo` is the work tree's root."""

    repo: Path
    branch: str

    @property
    def repo_id(self) -> str:
        return digest(str(self.repo))

    @property
    def id(self) -> str:
        return digest(str(self.repo), self.branch)


class Shown:
    """The fingerprint of the brief each ticket last showed in full on one branch."""

    def __init__(self, root: Path, place: Place) -> None:
        self.path = root / "shown" / f"{place.id}.json"

    def get(self) -> dict[str, str]:
        return {key: value for key, value in _read(self.path).items() if isinstance(value, str)}

    def remember(self, shown: dict[str, str]) -> None:
        if shown:
            write_atomic(self.path, {**self.get(), **shown})


# --- failures ---------------------------------------------------------------------------------


def mcp_subject(settings: Settings) -> str:
    """The MCP server, as failures are remembered (the same server for every repository)."""
    return "mcp\0" + server_identity(settings)


def model_subject(settings: Settings) -> str:
    return "model\0" + (settings.llm_base_url or "") + "\0" + settings.model


def ticket_subject(settings: Settings, key: str) -> str:
    """One ticket of one server (a key that does not exist, or that this account cannot read)."""
    return mcp_subject(settings) + "\0" + key


@dataclass(frozen=True)
class Failure:
    """What failed, as one line, and until when (time.time()) it is left alone."""

    text: str
    until: float

    def warning(self) -> str:
        retry = time.strftime("%H:%M", time.localtime(self.until))
        return f"jira-brief: warning: {self.text}; retrying after {retry} (JIRA_BRIEF_HOOK_RETRY_AFTER)"


class Failures:
    """Servers, models and tickets that failed lately, one file each, shared by every repository."""

    def __init__(self, root: Path) -> None:
        self.folder = root / "failures"

    def _path(self, subject: str) -> Path:
        return self.folder / f"{digest(subject)}.json"

    def active(self, subject: str, now: float | None = None) -> Failure | None:
        entry = _read(self._path(subject))
        text, until = entry.get("text"), entry.get("until")
        if not isinstance(text, str) or not isinstance(until, int | float):
            return None
        return Failure(text, float(until)) if until > (time.time() if now is None else now) else None

    def record(self, subject: str, text: str, seconds: float) -> None:
        if seconds > 0:
            write_atomic(self._path(subject), {"text": text, "until": time.time() + seconds})

    def clear(self, subject: str) -> None:
        try:
            self._path(subject).unlink(missing_ok=True)
        except OSError:
            pass  # a read-only state dir: the failure ends at its retry time anyway


@dataclass(frozen=True)
class CheckLine:
    """The criteria line of one ticket for one commit, worded for that commit's own hook ("by this
    commit") and for the next one ("by the last commit"); `since` says which job made it."""

    since: float
    this: str
    last: str


class CheckLines:
    """The criteria lines of a branch's last commit, waiting to be printed once."""

    def __init__(self, root: Path, place: Place) -> None:
        self.path = root / "checks" / f"{place.id}.json"

    def put(self, key: str, line: CheckLine) -> None:
        write_atomic(self.path, {**_read(self.path), key: asdict(line)})

    def take(self) -> dict[str, CheckLine]:
        lines = {}
        for key, entry in _read(self.path).items():
            try:
                lines[key] = CheckLine(**entry)
            except TypeError:
                continue
        if lines:
            try:
                self.path.unlink(missing_ok=True)
            except OSError:
                pass
        return lines


# --- background jobs ----------------------------------------------------------------------------


@dataclass(frozen=True)
class JobStatus:
    """Where the background job of one ticket is: its process, since when, what it waits for."""

    pid: int
    started: float
    phase: str = "starting"  # starting, connect, read, write, check, done
    detail: str = ""
    finished: bool = False
    error: str = ""  # what went wrong for this ticket, as one line


if sys.platform == "win32":
    import msvcrt

    def _lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


class Jobs:
    """The background jobs of one repository: a lock file per ticket, held by the job's process for its
    whole life (the system lets go of it however the process ends), and a status file beside it."""

    def __init__(self, root: Path, place: Place) -> None:
        self.folder = root / "jobs"
        self.prefix = place.repo_id

    def _path(self, key: str, suffix: str) -> Path:
        return self.folder / f"{self.prefix}-{key}{suffix}"

    @property
    def log(self) -> Path:
        """Where a job's own output goes (an unexpected error, masked), the last job's only."""
        return self.folder / f"{self.prefix}.log"

    def lock(self, key: str) -> int | None:
        """The locked file descriptor of `key`'s job, or None when a job holds it already."""
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._path(key, ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        if _lock(fd):
            return fd
        os.close(fd)
        return None

    @staticmethod
    def unlock(fd: int) -> None:
        try:
            _unlock(fd)
        finally:
            os.close(fd)

    def running(self, key: str) -> bool:
        """Whether a job holds `key`'s lock now."""
        try:
            fd = self.lock(key)
        except OSError:
            return False
        if fd is None:
            return True
        self.unlock(fd)
        return False

    def status(self, key: str) -> JobStatus | None:
        entry = _read(self._path(key, ".json"))
        try:
            return JobStatus(**entry) if entry else None
        except TypeError:
            return None

    def set_status(self, key: str, status: JobStatus) -> None:
        write_atomic(self._path(key, ".json"), asdict(status))

    def done(self, key: str, since: float) -> bool:
        """Whether the job of `key` started at `since` (time.time()) or later has ended: it said so, or its
        process let go of the lock after taking it (a job that crashed)."""
        status = self.status(key)
        if status is None or status.started < since - 1:
            return False
        # Where the lock is handed to the job (POSIX) a free lock means the job is gone, even one that
        # never started; on Windows the job takes the lock itself, so before that a free lock says nothing.
        return status.finished or ((LOCK_HANDED_OVER or status.phase != "starting") and not self.running(key))
