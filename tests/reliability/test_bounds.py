"""Bounds: a huge commit message, a hostile event file, a hung model and Ctrl-C each end in one clear
line within the time a user was promised, never in a traceback, a stuck commit or a swollen process."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jira_brief.jira.demo.server import build_server
from jira_brief.keys.texts import MESSAGE_CAP
from tests.conftest import CONSOLE_SCRIPT, EngineEnv, assert_one_line_error
from tests.fakes.mcp_http import ServedMCP
from tests.fakes.openai_server import FakeOpenAI

pytestmark = pytest.mark.usefixtures("engine_env", "stop_jobs")

# Prints the peak memory (KiB) of the one child it runs: a fresh parent, so no earlier child counts.
PEAK_OF_CHILD = (
    "import resource, subprocess, sys; subprocess.run(sys.argv[1:], capture_output=True); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def huge_message(path: Path, size: int = 100 << 20) -> Path:
    """A message file of `size` bytes whose first line names PAY-142 (sparse: costs no disk)."""
    with path.open("wb") as file:
        file.write(b"PAY-142: pasted a whole log below\n\n")
        file.truncate(size)
    return path


def startup_seconds() -> float:
    """Python plus what a briefing run imports, on this machine right now (budgets add it)."""
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", "import jira_brief.commands.main, openai, mcp"], check=True, timeout=60)
    return time.monotonic() - started


def run_measured(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int]:
    """(seconds, peak KiB) of `jira-brief ARGS` as a real process."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", PEAK_OF_CHILD, str(CONSOLE_SCRIPT), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return time.monotonic() - started, int(done.stdout.strip())


def test_a_message_file_is_read_up_to_a_cap_and_says_so(invoke: Any, engine_env: EngineEnv) -> None:
    path = huge_message(engine_env.cwd / "COMMIT_EDITMSG", MESSAGE_CAP * 3)
    result = invoke("keys", "--message-file", str(path))
    assert result.exit_code == 0
    assert result.stdout.split() == ["PAY-142"]
    assert "only its start is read" in result.stderr


def test_a_verbose_commits_diff_past_the_cap_is_not_worth_a_word(invoke: Any, engine_env: EngineEnv) -> None:
    path = engine_env.cwd / "COMMIT_EDITMSG"
    scissors = "# ------------------------ >8 ------------------------\n"
    path.write_text("PAY-142: fix\n" + scissors + "+WEB-88\n" * (MESSAGE_CAP // 4), encoding="utf-8")
    result = invoke("keys", "--message-file", str(path))
    assert result.stdout.split() == ["PAY-142"] and result.stderr == ""


def test_a_100_mb_message_costs_the_hook_no_time_and_no_memory(engine_env: EngineEnv) -> None:
    """No MCP server is configured: the hook reads the message, finds the key and warns at once."""
    env = engine_env.process_env()
    small = engine_env.cwd / "small"
    small.write_text("PAY-142: small\n", encoding="utf-8")
    small_seconds, small_peak = run_measured(["hook", str(small)], engine_env.cwd, env)
    big = huge_message(engine_env.cwd / "big")
    big_seconds, big_peak = run_measured(["hook", str(big)], engine_env.cwd, env)
    assert big_peak < small_peak + 8 * 1024, (small_peak, big_peak)  # KiB: never the file's 100 MB
    assert big_seconds < 2 * small_seconds + 3, (small_seconds, big_seconds)  # reading it all took 56 s


def test_prepare_message_keeps_a_huge_message_whole(invoke: Any, engine_env: EngineEnv) -> None:
    path = huge_message(engine_env.cwd / "COMMIT_EDITMSG", MESSAGE_CAP * 2)
    before = path.stat().st_size
    result = invoke("prepare-message", str(path))
    assert result.exit_code == 0 and path.stat().st_size == before


def nested(depth: int) -> str:
    return '{"pull_request": ' * depth + "1" + "}" * depth


@pytest.mark.parametrize(
    ("payload", "needle"),
    [(nested(100_000), "nested too deeply"), ("[" * 100_000 + "]" * 100_000, "nested too deeply")],
)
def test_a_deeply_nested_event_is_one_clear_error(
    invoke: Any, engine_env: EngineEnv, payload: str, needle: str
) -> None:
    path = engine_env.cwd / "event.json"
    path.write_text(payload, encoding="utf-8")
    result = invoke("keys", "--github-event", str(path))
    assert result.exit_code == 2
    assert_one_line_error(result.stderr, needle, str(path))


def test_an_oversized_event_is_one_clear_error(invoke: Any, engine_env: EngineEnv) -> None:
    path = engine_env.cwd / "event.json"
    with path.open("wb") as file:
        file.write(b'{"pull_request": {"title": "PAY-142"}, "pad": "')
        file.truncate(26 << 20)
    result = invoke("keys", "--github-event", str(path))
    assert result.exit_code == 2
    assert_one_line_error(result.stderr, "over 25 MB")


@pytest.fixture
def hung_services() -> Iterator[tuple[FakeOpenAI, ServedMCP]]:
    """The demo Jira over HTTP and a model that takes the request and never answers."""
    with FakeOpenAI() as llm, ServedMCP(build_server()) as mcp:
        llm.hang(120)
        yield llm, mcp


def service_env(engine_env: EngineEnv, llm: FakeOpenAI, mcp: ServedMCP, **extra: str) -> dict[str, str]:
    return engine_env.process_env(
        JIRA_BRIEF_MCP_URL=mcp.url,
        OPENAI_BASE_URL=llm.base_url,
        OPENAI_API_KEY="sk-test",
        JIRA_BRIEF_MODEL=llm.models[0],
        **extra,
    )


@pytest.mark.slow  # seconds of real waiting or process starts: the slow tier
def test_the_hook_budget_covers_the_whole_process_with_a_hung_model(
    engine_env: EngineEnv, hung_services: tuple[FakeOpenAI, ServedMCP]
) -> None:
    """Start to exit, the hook takes its budget, counted from the process's own start, never more, while
    its background job's model took the request and never answers."""
    llm, mcp = hung_services
    message = engine_env.cwd / "COMMIT_EDITMSG"
    message.write_text("PAY-142: the model hangs\n", encoding="utf-8")
    budget = float(round(startup_seconds() + 2))  # room for the job to reach the model, however loaded the machine
    env = service_env(engine_env, llm, mcp, JIRA_BRIEF_HOOK_BUDGET=str(budget))
    started = time.monotonic()
    done = subprocess.run(
        [str(CONSOLE_SCRIPT), "hook", str(message)], cwd=engine_env.cwd, env=env, capture_output=True, text=True
    )
    took = time.monotonic() - started
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert done.stdout.startswith("PAY-142") and "brief on its way" in done.stdout
    assert budget - 0.5 <= took < budget + 0.5, (took, budget)
    deadline = time.monotonic() + 30
    while llm.calls < 1:  # the model was really asked, and never answers
        assert time.monotonic() < deadline, "the background job never asked the model"
        time.sleep(0.05)


def interrupted_summarize(engine_env: EngineEnv, env: dict[str, str], wait_for: Any) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [str(CONSOLE_SCRIPT), "summarize", "PAY-142", "--no-cache"],
        cwd=engine_env.cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not wait_for() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGINT)
    return process


def test_ctrl_c_in_summarize_is_one_line_and_130(
    engine_env: EngineEnv, hung_services: tuple[FakeOpenAI, ServedMCP]
) -> None:
    """Ctrl-C while the model is thinking, and again at once (an impatient user; a second press
    landing in the cleanup of the first is what printed tracebacks): one line, exit 130."""
    llm, mcp = hung_services
    process = interrupted_summarize(engine_env, service_env(engine_env, llm, mcp), lambda: llm.calls >= 1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert llm.calls == 1
    assert process.returncode == 130, stderr
    assert_one_line_error(stderr, "interrupted")
