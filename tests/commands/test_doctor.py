"""`jira-brief doctor` as a user runs it: each problem one FAIL line with its fix, the other checks still run."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import run_into_closed_pipe

pytestmark = pytest.mark.usefixtures("engine_env")


def test_a_stdio_program_not_on_path_fails_before_connecting(invoke: Any) -> None:
    done = invoke("doctor", "--llm", "none", "--mcp-command", "no-such-binary --transport stdio")
    assert done.exit_code == 1
    assert "FAIL MCP: mcp-command: `no-such-binary` (stdio) is not on PATH" in done.stdout
    assert "connecting to" not in done.stdout  # said at once, no server started
    assert "LLM: none configured" in done.stdout and "1 problem(s) found" in done.stdout


def test_doctor_into_a_closed_pipe_ends_quietly(engine_env: Any) -> None:
    """`jira-brief doctor --demo | head -c 16`: no error line, exit 0 (the demo has no problem)."""
    code, stderr = run_into_closed_pipe(["doctor", "--demo"], engine_env.process_env(), engine_env.cwd)
    assert code == 0, stderr
    assert "BrokenPipe" not in stderr and "error" not in stderr.lower()
