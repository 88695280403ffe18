"""What the hooks remember between runs: failures until their retry time, the briefs each branch has shown,
criteria lines said once, and job locks that only one process holds and that end with it."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from jira_brief.brief.hookstate import (
    CheckLine,
    CheckLines,
    Failures,
    Jobs,
    JobStatus,
    Place,
    Shown,
    mcp_subject,
    model_subject,
    state_root,
    ticket_subject,
)
from jira_brief.config.settings import Settings


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return state_root(Settings(cache_dir=str(tmp_path / "cache")))


def test_the_state_lives_beside_a_chosen_cache(tmp_path: Path) -> None:
    assert state_root(Settings(cache_dir=str(tmp_path))) == tmp_path / "state"


def test_a_failure_holds_until_its_retry_time_and_names_the_variable(root: Path) -> None:
    settings = Settings(mcp_url="http://user:pw@jira.example.com/mcp")
    failures = Failures(root)
    failures.record(
        mcp_subject(settings), "Jira MCP server http://jira.example.com/mcp did not answer within 30 s", 300
    )
    found = failures.active(mcp_subject(settings))
    assert found is not None and found.until == pytest.approx(time.time() + 300, abs=5)
    retry = time.strftime("%H:%M", time.localtime(found.until))
    assert found.warning() == (
        "jira-brief: warning: Jira MCP server http://jira.example.com/mcp did not answer within 30 s; "
        f"retrying after {retry} (JIRA_BRIEF_HOOK_RETRY_AFTER)"
    )
    assert failures.active(mcp_subject(settings), now=found.until + 1) is None  # past its time: tried again
    other = Settings(mcp_url="http://jira.example.com/mcp")  # the same server, other credentials
    assert failures.active(mcp_subject(other)) is not None
    assert failures.active(model_subject(settings)) is None
    assert failures.active(ticket_subject(settings, "PAY-142")) is None
    failures.clear(mcp_subject(settings))
    assert failures.active(mcp_subject(settings)) is None


def test_retry_after_zero_remembers_nothing(root: Path) -> None:
    failures = Failures(root)
    failures.record(model_subject(Settings()), "the model failed", 0)
    assert failures.active(model_subject(Settings())) is None


def test_shown_briefs_are_per_branch_and_per_work_tree(root: Path, tmp_path: Path) -> None:
    feature = Place(tmp_path / "repo", "feature/PAY-142")
    Shown(root, feature).remember({"PAY-142": "abc"})
    Shown(root, feature).remember({"WEB-88": "def"})
    assert Shown(root, feature).get() == {"PAY-142": "abc", "WEB-88": "def"}
    assert Shown(root, Place(tmp_path / "repo", "main")).get() == {}
    assert Shown(root, Place(tmp_path / "other-worktree", "feature/PAY-142")).get() == {}


def test_a_damaged_state_file_reads_as_empty(root: Path, tmp_path: Path) -> None:
    place = Place(tmp_path / "repo", "main")
    shown = Shown(root, place)
    shown.path.parent.mkdir(parents=True)
    shown.path.write_text("{not json", encoding="utf-8")
    assert shown.get() == {}
    lines = CheckLines(root, place)
    lines.path.parent.mkdir(parents=True)
    lines.path.write_text('{"PAY-142": {"unexpected": 1}}', encoding="utf-8")
    assert lines.take() == {}


def test_criteria_lines_are_said_once(root: Path, tmp_path: Path) -> None:
    lines = CheckLines(root, Place(tmp_path / "repo", "main"))
    line = CheckLine(1.5, "PAY-142: 2/5 criteria touched by this commit", "PAY-142: 2/5 … by the last commit")
    lines.put("PAY-142", line)
    assert lines.take() == {"PAY-142": line}
    assert lines.take() == {}


# Holds the lock file named by its argument, as a job does, until it is killed.
HOLD = (
    "import fcntl, os, sys, time\n"
    "fd = os.open(sys.argv[1], os.O_RDWR)\n"
    "fcntl.flock(fd, fcntl.LOCK_EX)\n"
    "print('held', flush=True)\n"
    "time.sleep(60)\n"
)


@pytest.mark.skipif(sys.platform == "win32", reason="a POSIX process holding a flock")
def test_a_job_lock_is_held_by_one_process_and_ends_with_it(root: Path, tmp_path: Path) -> None:
    jobs = Jobs(root, Place(tmp_path / "repo", "main"))
    fd = jobs.lock("PAY-142")
    assert fd is not None
    assert jobs.running("PAY-142") and jobs.lock("PAY-142") is None  # held: no second job
    assert not jobs.running("WEB-88")
    Jobs.unlock(fd)
    assert not jobs.running("PAY-142")

    lock_file = next(jobs.folder.glob("*-PAY-142.lock"))
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(lock_file)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        assert jobs.running("PAY-142")
        jobs.set_status("PAY-142", JobStatus(holder.pid, 100.0, "write"))
        assert not jobs.done("PAY-142", since=100.0)
    finally:
        holder.kill()
        holder.communicate()
    assert not jobs.running("PAY-142")  # killed, not finished: the system let go of its lock
    assert jobs.done("PAY-142", since=100.0)  # so a hook waiting for it stops waiting
    assert not jobs.done("PAY-142", since=200.0)  # a status from an earlier job says nothing of a new one
