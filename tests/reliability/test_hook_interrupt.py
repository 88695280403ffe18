"""Ctrl-C during a hook: the process ends promptly, says so in one line, and leaves the message file as it was.

The signal goes to the hook's whole process group, as a terminal sends it to the foreground job
(git, pre-commit, jira-brief and anything jira-brief started)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from jira_brief.jira.demo.server import build_server
from tests.conftest import CONSOLE_SCRIPT, GitRepo, job_status, process_alive, wait_for_jobs
from tests.fakes.mcp_http import ServedMCP
from tests.fakes.openai_server import FakeOpenAI

pytestmark = pytest.mark.usefixtures("isolated_env", "stop_jobs")

MESSAGE = b"PAY-142: split the payment form\r\n\r\nCaf\xc3\xa9, a raw \xff byte\n# a comment\n"
PROMPT = 3.0  # seconds an interrupted hook may take to end


@pytest.fixture
def slow_model() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(latency=5.0) as llm:
        yield llm


def _environ(llm: FakeOpenAI, mcp_url: str, cache_dir: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "JIRA_BRIEF_MCP_URL": mcp_url,
        "OPENAI_BASE_URL": llm.base_url,
        "OPENAI_API_KEY": "sk-test",
        "JIRA_BRIEF_MODEL": "test-model",
        "JIRA_BRIEF_CACHE_DIR": str(cache_dir),
        **extra,
    }


def _interrupt(
    args: list[str], cwd: Path, environ: dict[str, str], ready: Callable[[], bool], may_end_first: bool = False
) -> tuple[subprocess.CompletedProcess[str], float]:
    """Start `jira-brief ARGS` in its own process group, wait until `ready()`, send SIGINT to the group.

    Returns the finished process and how long it took to end after the signal."""
    process = subprocess.Popen(
        [str(CONSOLE_SCRIPT), *args],
        cwd=cwd,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 15
        while not ready():
            if process.poll() is not None:
                assert may_end_first, f"ended before the interrupt: {process.communicate()}"
                break
            assert time.monotonic() < deadline, "the hook never reached the point to interrupt"
            time.sleep(0.01)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)
        sent = time.monotonic()
        try:
            stdout, stderr = process.communicate(timeout=PROMPT + 1)
        except subprocess.TimeoutExpired:  # still running: reported as taking forever, then killed
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
            return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr), float("inf")
        return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr), time.monotonic() - sent
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _after(seconds: float) -> Callable[[], bool]:
    start = time.monotonic()
    return lambda: time.monotonic() - start >= seconds


@pytest.mark.slow  # seconds of real waiting or process starts: the slow tier
def test_hook_interrupted_while_it_waits_for_its_job(git_repo: GitRepo, slow_model: FakeOpenAI, tmp_path: Path) -> None:
    """Ctrl-C ends the hook at once; its background job, in a session of its own, is not interrupted and
    caches a whole brief, then ends."""
    path = tmp_path / "COMMIT_EDITMSG"
    path.write_bytes(MESSAGE)
    cache = tmp_path / "cache"
    with ServedMCP(build_server()) as served:
        environ = _environ(slow_model, served.url, cache, JIRA_BRIEF_HOOK_BUDGET="60")
        done, took = _interrupt(["hook", str(path)], git_repo.path, environ, lambda: slow_model.calls >= 1)
        assert took < PROMPT, took
        assert path.read_bytes() == MESSAGE
        assert "Traceback" not in done.stderr, done.stderr
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert lines == ["jira-brief: interrupted; the commit message is untouched"], done.stderr
        assert done.returncode == 130
        [pid] = wait_for_jobs(cache, "PAY-142")
    [entry] = cache.glob("**/briefs/*.json")
    assert json.loads(entry.read_text(encoding="utf-8"))["brief"].startswith("Brief for PAY-142.")
    assert not process_alive(pid)


def test_hook_interrupted_while_the_mcp_server_is_slow(
    git_repo: GitRepo, slow_model: FakeOpenAI, tmp_path: Path
) -> None:
    path = tmp_path / "COMMIT_EDITMSG"
    path.write_bytes(MESSAGE)
    with ServedMCP(build_server(), delay=2.0) as served:
        environ = _environ(slow_model, served.url, tmp_path / "cache", JIRA_BRIEF_HOOK_BUDGET="60")

        def waiting() -> bool:  # the hook started its job and waits for it
            return bool(job_status(tmp_path / "cache", "PAY-142"))

        done, took = _interrupt(["hook", str(path)], git_repo.path, environ, waiting)
    assert took < PROMPT, took
    assert path.read_bytes() == MESSAGE
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 130, done.stderr
    assert slow_model.calls == 0


@pytest.fixture
def slow_git(tmp_path: Path) -> str:
    """A PATH whose `git` takes 3 s before doing its work (a huge repository, a network file system)."""
    real = shutil.which("git")
    assert real is not None
    folder = tmp_path / "slow-bin"
    folder.mkdir()
    wrapper = folder / "git"
    wrapper.write_text(f'#!/bin/sh\nsleep 3\nexec "{real}" "$@"\n', encoding="utf-8")
    wrapper.chmod(0o755)
    return f"{folder}{os.pathsep}{os.environ['PATH']}"


def test_prepare_message_interrupted_while_reading_the_branch(
    git_repo: GitRepo, slow_model: FakeOpenAI, slow_git: str, tmp_path: Path
) -> None:
    git_repo.git("checkout", "-q", "-b", "feature/WEB-88-email")
    path = tmp_path / "COMMIT_EDITMSG"
    path.write_bytes(MESSAGE.replace(b"PAY-142: ", b""))
    before = path.read_bytes()
    environ = _environ(slow_model, "http://127.0.0.1:9/mcp", tmp_path / "cache", PATH=slow_git)
    done, took = _interrupt(["prepare-message", str(path), "message"], git_repo.path, environ, _after(1.0))
    assert took < PROMPT, took
    assert path.read_bytes() == before
    assert "Traceback" not in done.stderr, done.stderr
    assert len([line for line in done.stderr.splitlines() if line.strip()]) <= 1, done.stderr
    assert done.returncode != 0
    assert not list(tmp_path.glob(".jira-brief-*"))
    assert slow_model.calls == 0


def test_prepare_message_interrupted_at_any_moment_leaves_the_old_or_the_new_message(
    git_repo: GitRepo, slow_model: FakeOpenAI, tmp_path: Path
) -> None:
    """Whenever the signal lands, the file is whole: the message as typed, or with the key in front."""
    git_repo.git("checkout", "-q", "-b", "feature/WEB-88-email")
    typed = MESSAGE.replace(b"PAY-142: ", b"")
    environ = _environ(slow_model, "http://127.0.0.1:9/mcp", tmp_path / "cache")
    for delay in (0.04, 0.08, 0.12, 0.16, 0.2, 0.3):
        path = tmp_path / "COMMIT_EDITMSG"
        path.write_bytes(typed)
        _, took = _interrupt(
            ["prepare-message", str(path), "message"], git_repo.path, environ, _after(delay), may_end_first=True
        )
        assert took < PROMPT
        assert path.read_bytes() in (typed, b"WEB-88: " + typed), path.read_bytes()
        assert not list(tmp_path.glob(".jira-brief-*"))
    assert slow_model.calls == 0
