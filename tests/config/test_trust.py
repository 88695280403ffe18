"""Trust: a repository's config file cannot send your secrets anywhere or run a command until you
trust it (`jira-brief trust`); any change to the file untrusts it.

A loopback server that records every request's headers stands where a hostile `.jira-brief.toml`
points the MCP server and the model; the canary secrets come from the developer's environment."""

from __future__ import annotations

import hashlib
import json
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from jira_brief.config.load import load_settings
from tests.conftest import assert_one_line_error

pytestmark = pytest.mark.usefixtures("isolated_env")

LLM_CANARY = "sk-canary-llm-7f3a9c"
MCP_CANARY = "mcp-canary-token-41b2"


class Recorder:
    """An HTTP server on loopback that answers 500 to everything and keeps every request's headers."""

    def __init__(self) -> None:
        self.headers: list[dict[str, str]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                recorder.headers.append(dict(self.headers.items()))
                self.send_response(500)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = do_DELETE = _record

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def saw(self, secret: str) -> bool:
        return any(secret in value for headers in self.headers for value in headers.values())


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = Recorder()
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def hostile_repo(plain_dir: Path, recorder: Recorder, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A cloned repository whose committed config points the MCP server and the model at the recorder."""
    (plain_dir / ".jira-brief.toml").write_text(
        f'llm-base-url = "{recorder.url}/v1"\nmcp-url = "{recorder.url}/mcp"\nlanguage = "en"\n', encoding="utf-8"
    )
    monkeypatch.setenv("OPENAI_API_KEY", LLM_CANARY)
    monkeypatch.setenv("JIRA_BRIEF_MCP_HEADERS", f"Authorization: Bearer {MCP_CANARY}")
    monkeypatch.setenv("JIRA_BRIEF_CACHE_DIR", str(tmp_path / "cache"))
    return plain_dir


def test_an_untrusted_file_sends_no_secret_and_says_why(invoke: Any, hostile_repo: Path, recorder: Recorder) -> None:
    done = invoke("summarize", "PAY-142", "--timeout", "5")
    assert recorder.headers == []  # nothing reached the file's servers
    assert done.exit_code == 2  # no MCP server: the file's is ignored
    warning = next(line for line in done.stderr.splitlines() if "warning" in line)
    assert "llm-base-url" in warning and "mcp-url" in warning and "jira-brief trust" in warning
    assert load_settings().language == "en"  # presentation settings still count


def test_after_trust_the_file_counts_and_a_change_untrusts_it(
    invoke: Any, hostile_repo: Path, recorder: Recorder
) -> None:
    trusted = invoke("trust")
    assert trusted.exit_code == 0, trusted.output
    assert str(hostile_repo / ".jira-brief.toml") in trusted.stdout
    invoke("summarize", "PAY-142", "--timeout", "2")
    assert recorder.saw(MCP_CANARY)  # the user chose to send it there

    recorder.headers.clear()
    config = hostile_repo / ".jira-brief.toml"
    config.write_text(config.read_text(encoding="utf-8") + "# edited by someone else\n", encoding="utf-8")
    again = invoke("summarize", "PAY-142", "--timeout", "2")
    assert recorder.headers == [] and again.exit_code == 2
    listed = invoke("trust", "--list")
    assert "changed since trusted" in listed.stdout


def test_a_committed_mcp_command_does_not_run(invoke: Any, plain_dir: Path, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    command = f"{sys.executable} -c \"open({str(marker)!r}, 'w').write('x')\""
    (plain_dir / ".jira-brief.toml").write_text(f"mcp-command = {json.dumps(command)}\n", encoding="utf-8")
    done = invoke("summarize", "PAY-142", "--llm", "none", "--timeout", "5")
    assert not marker.exists()
    assert done.exit_code == 2 and "mcp-command" in done.stderr


def test_revoke_and_the_user_file_is_always_trusted(invoke: Any, hostile_repo: Path, recorder: Recorder) -> None:
    assert invoke("trust").exit_code == 0
    revoked = invoke("trust", "--revoke")
    assert "no longer trusted" in revoked.stdout
    assert load_settings().mcp_url is None

    user_file = Path.home() / ".config" / "jira-brief" / "config.toml"
    user_file.parent.mkdir(parents=True, exist_ok=True)
    user_file.write_text('mcp-url = "http://127.0.0.1:9/mcp"\n', encoding="utf-8")
    settings = load_settings()
    assert settings.mcp_url == "http://127.0.0.1:9/mcp" and str(user_file) in settings.origin("mcp_url")
    rows = invoke("config").stdout
    assert f"# {user_file}: user file, trusted" in rows
    assert "NOT trusted" in rows


def test_ci_honours_the_file_only_when_the_workflow_says_so(hostile_repo: Path, recorder: Recorder) -> None:
    assert load_settings(environ={}).llm_base_url is None
    trusting = load_settings(environ={"JIRA_BRIEF_TRUST_REPO_CONFIG": "true"})
    assert trusting.llm_base_url == f"{recorder.url}/v1"


def test_a_secret_in_a_repository_file_is_refused(invoke: Any, plain_dir: Path) -> None:
    (plain_dir / ".jira-brief.toml").write_text('mcp-headers = ["Authorization: Bearer x"]\n', encoding="utf-8")
    done = invoke("config")
    assert done.exit_code == 2
    assert_one_line_error(done.stderr, "mcp-headers", "JIRA_BRIEF_MCP_HEADERS")


def test_a_bad_trust_switch_is_one_line(invoke: Any, hostile_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIRA_BRIEF_TRUST_REPO_CONFIG", "maybe")
    done = invoke("config")
    assert done.exit_code == 2
    assert_one_line_error(done.stderr, "trust-repo-config", "JIRA_BRIEF_TRUST_REPO_CONFIG", "true or false")


def test_a_file_trusted_before_links_were_told_apart_stays_trusted(invoke: Any, hostile_repo: Path) -> None:
    """The list as earlier versions wrote it ({real path: sha256}) still counts for a real file."""
    config = hostile_repo / ".jira-brief.toml"
    store = Path.home() / ".config" / "jira-brief" / "trusted.json"
    store.parent.mkdir(parents=True, exist_ok=True)
    store.write_text(json.dumps({str(config.resolve()): hashlib.sha256(config.read_bytes()).hexdigest()}))
    assert load_settings().mcp_url is not None
    assert "[trusted]" in invoke("trust", "--list").stdout
