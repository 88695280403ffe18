"""`jira-brief doctor` as a user runs it: each problem one FAIL line with its fix, the other checks still run."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.usefixtures("engine_env")


def test_a_stdio_program_not_on_path_fails_before_connecting(invoke: Any) -> None:
    done = invoke("doctor", "--llm", "none", "--mcp-command", "no-such-binary --transport stdio")
    assert done.exit_code == 1
    assert "FAIL MCP: mcp-command: `no-such-binary` (stdio) is not on PATH" in done.stdout
    assert "connecting to" not in done.stdout  # said at once, no server started
    assert "LLM: none configured" in done.stdout and "1 problem(s) found" in done.stdout
