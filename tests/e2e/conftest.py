"""What the end-to-end tests share. The forges': the demo Jira served once a module over loopback HTTP, its
tickets put back as they were after each test. The hooks': this working tree as a hooks repository,
pre-commit's environment for it (installed once per session), the Jira MCP server and the model on
loopback, and a repository whose commits go through the hooks."""

from __future__ import annotations

import copy
import functools
import json
import math
import os
import pty
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from jira_brief.jira.demo.server import build_server, load_demo_tickets
from tests.conftest import STARTUP_VARIABLE, GitRepo, measure_startup
from tests.fakes.mcp_http import ServedMCP, free_port
from tests.fakes.openai_server import FakeOpenAI

PROJECT = Path(__file__).resolve().parents[2]
_LEAKY_PREFIXES = ("JIRA_BRIEF_", "OPENAI_", "GIT_", "PRE_COMMIT", "SKIP")
_SNAPSHOT_IDENTITY = ["-c", "user.name=jira-brief tests", "-c", "user.email=tests@example.com"]
ALL_HOOKS = ("jira-brief", "jira-brief-require-key", "jira-brief-prepare", "jira-brief-prefetch")


# --- the forges' demo Jira ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_jira() -> Iterator[tuple[dict[str, Any], str]]:
    """The demo Jira over loopback HTTP, once per module; its tickets dict is live, so tests may edit it."""
    tickets = load_demo_tickets()
    with ServedMCP(build_server(tickets)) as served:
        yield tickets, served.url


@pytest.fixture
def jira(demo_jira: tuple[dict[str, Any], str]) -> Iterator[tuple[dict[str, Any], str]]:
    """The module's demo Jira (its live tickets and URL); what a test changes in the tickets is undone after it."""
    tickets, url = demo_jira
    pristine = copy.deepcopy(tickets)
    yield tickets, url
    tickets.clear()
    tickets.update(pristine)


# --- the hooks repository and pre-commit's environment (once per session) ---------------------


@dataclass(frozen=True)
class HooksRepo:
    """A git repository holding this working tree as one commit: what `repo:`/`rev:` point at."""

    path: Path
    rev: str


def _clean_environ(**extra: str) -> dict[str, str]:
    environ = {name: value for name, value in os.environ.items() if not name.startswith(_LEAKY_PREFIXES)}
    return {**environ, "GIT_CONFIG_NOSYSTEM": "1", **extra}


@pytest.fixture(scope="session")
def hooks_repo(tmp_path_factory: pytest.TempPathFactory) -> HooksRepo:
    """The working tree's package (tracked and new files, as they are now) committed in a fresh repo."""
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=PROJECT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    wanted = [name for name in listed if name and not name.startswith(("tests/", "benchmarks/", ".ci/"))]
    target = tmp_path_factory.mktemp("hooks-repo")
    for name in wanted:
        if (PROJECT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(PROJECT / name, target / name)
    environ = _clean_environ(HOME=str(target.parent))
    for command in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "snapshot"]):
        subprocess.run(["git", *_SNAPSHOT_IDENTITY, *command], cwd=target, env=environ, check=True)
    rev = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=target, env=environ, capture_output=True, text=True, check=True
    ).stdout.strip()
    return HooksRepo(target, rev)


def _config(hooks_repo: HooksRepo, hooks: list[dict[str, Any]]) -> str:
    lines = ["repos:", f"-   repo: {hooks_repo.path}", f"    rev: {hooks_repo.rev}", "    hooks:"]
    for hook in hooks:
        lines.append(f"    -   id: {hook['id']}")
        if "args" in hook:
            lines.append(f"        args: [{', '.join(json.dumps(arg) for arg in hook['args'])}]")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="session")
def pre_commit_home(
    hooks_repo: HooksRepo, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Path:
    """PRE_COMMIT_HOME with the hooks' Python environment installed once (pip-installs the snapshot)."""
    home = tmp_path_factory.mktemp("pre-commit-home")
    warm = tmp_path_factory.mktemp("warm-up")
    environ = _clean_environ(HOME=str(warm), PRE_COMMIT_HOME=str(home))
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=warm, env=environ, check=True)
    hooks = [{"id": hook} for hook in ALL_HOOKS]
    (warm / ".pre-commit-config.yaml").write_text(_config(hooks_repo, hooks), encoding="utf-8")
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pre_commit", "install-hooks"],
        cwd=warm,
        env=environ,
        capture_output=True,
        text=True,
        timeout=600,
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 0, f"pre-commit could not install the hooks:\n{done.stdout}\n{done.stderr}"
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"\n[pre-commit] hook environment installed in {elapsed:.1f} s")
    return home


# --- the Jira MCP server and the model ----------------------------------------------------------


@dataclass
class Services:
    """The demo Jira served over streamable HTTP and a fake OpenAI endpoint, both on loopback."""

    llm: FakeOpenAI
    tickets: dict[str, dict[str, Any]]
    jira: Any
    mcp_url: str

    @property
    def issue_reads(self) -> int:
        """How many times jira_get_issue reached the MCP server."""
        return sum(1 for name, _ in self.jira.calls if name == "jira_get_issue")


@pytest.fixture
def services() -> Iterator[Services]:
    tickets = load_demo_tickets()
    jira = build_server(tickets)
    with FakeOpenAI() as llm, ServedMCP(jira) as served:
        yield Services(llm, tickets, jira, served.url)


def hook_environ(services: Services, cache_dir: Path, **extra: str) -> dict[str, str]:
    """What the developer's shell would have: the MCP URL, the model, and a cache of our own."""
    return {
        **os.environ,
        "JIRA_BRIEF_MCP_URL": services.mcp_url,
        "OPENAI_BASE_URL": services.llm.base_url,
        "OPENAI_API_KEY": "sk-test",
        "JIRA_BRIEF_MODEL": "test-model",
        "JIRA_BRIEF_CACHE_DIR": str(cache_dir),
        # A budget no loaded machine reaches, so that a first commit waits for its background job (and
        # shows its brief); the tests of the budget itself set their own, and the hooks' default is 2 s.
        "JIRA_BRIEF_HOOK_BUDGET": "60",
        **extra,
    }


def closed_url() -> str:
    """An MCP URL where nothing listens."""
    return f"http://127.0.0.1:{free_port()}/mcp"


# --- a repository whose commits go through the hooks -------------------------------------------


@dataclass
class Done:
    returncode: int
    output: str
    seconds: float = 0.0


@dataclass
class Workspace:
    """A real repository with pre-commit's hooks installed, committing with the developer's environment."""

    repo: GitRepo
    hooks_repo: HooksRepo
    environ: dict[str, str]
    services: Services
    cache_dir: Path
    extra: dict[str, str] = field(default_factory=dict)

    def install(self, *hooks: str | dict[str, Any]) -> None:
        """Commit a .pre-commit-config.yaml with these hooks and install pre-commit's git hooks."""
        listed = [{"id": hook} if isinstance(hook, str) else hook for hook in hooks]
        (self.repo.path / ".pre-commit-config.yaml").write_text(_config(self.hooks_repo, listed), encoding="utf-8")
        self.repo.git("add", ".pre-commit-config.yaml")
        self.repo.git("commit", "-q", "--no-verify", "-m", "pre-commit configuration")
        self.run(
            [
                sys.executable,
                "-m",
                "pre_commit",
                "install",
                "--hook-type",
                "commit-msg",
                "--hook-type",
                "prepare-commit-msg",
                "--hook-type",
                "post-checkout",
            ],
            check=True,
        )

    def run(self, command: list[str], *, check: bool = False, **env: str) -> Done:
        started = time.monotonic()
        done = subprocess.run(
            command,
            cwd=self.repo.path,
            env={**self.environ, **self.extra, **env},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=120,
        )
        result = Done(done.returncode, done.stdout, time.monotonic() - started)
        if check:
            assert result.returncode == 0, f"{command} failed:\n{result.output}"
        return result

    def commit(self, *args: str, **env: str) -> Done:
        """`git commit ARGS` through the installed hooks; stdout and stderr together, as a terminal shows them."""
        return self.run(["git", "commit", *args], **env)

    def message(self, revision: str = "HEAD") -> str:
        """The stored message, as `git log -1 --format=%B` prints it less the newline git log adds."""
        return self.repo.git("log", "-1", "--format=%B", revision).removesuffix("\n")

    def head(self) -> str:
        return self.repo.git("rev-parse", "HEAD").strip()

    def branch(self, name: str) -> None:
        self.repo.git("checkout", "-q", "-b", name)

    def stage(self, name: str = "change.txt", text: str | None = None) -> None:
        path = self.repo.path / name
        path.write_text(text if text is not None else f"{time.monotonic_ns()}\n", encoding="utf-8")
        self.repo.git("add", name)


@pytest.fixture
def workspace(
    git_repo: GitRepo, hooks_repo: HooksRepo, pre_commit_home: Path, services: Services, tmp_path: Path
) -> Workspace:
    cache_dir = tmp_path / "cache"
    # GIT_EDITOR=true: a commit that opens the editor keeps the message as prepared (tests may give their own)
    environ = hook_environ(services, cache_dir, PRE_COMMIT_HOME=str(pre_commit_home), GIT_EDITOR="true")
    return Workspace(git_repo, hooks_repo, environ, services, cache_dir)


def assert_plain(text: str) -> None:
    assert "\x1b[" not in text, f"ANSI escape codes in the output: {text!r}"


def jira_lines(output: str) -> list[str]:
    """The lines jira-brief itself wrote (warnings and errors start with 'jira-brief:')."""
    return [line for line in output.splitlines() if line.startswith("jira-brief:")]


def only_jira_lines(stderr: str) -> list[str]:
    """jira-brief's lines, checking there is nothing else: no traceback, no log noise, no crash at exit."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines == jira_lines(stderr), stderr
    return lines


@functools.cache
def startup_seconds() -> float:
    """How long starting Python and importing what a briefing hook imports takes on this machine.

    Time-budget assertions add this to the budget, so they hold on a loaded machine: a busy machine
    slows the start-up that every run pays, not the budget that jira-brief enforces. Measured once,
    by the test session before its workers start (tests/conftest.py), so that the workers' own
    start does not inflate it; measured here when this module runs alone."""
    measured = os.environ.get(STARTUP_VARIABLE)
    return float(measured) if measured else measure_startup()


def short_budget() -> int:
    """A hook budget that start-up alone cannot use up on this machine as loaded now (the budget counts
    from the hook's start), yet far shorter than the waits the tests play."""
    return max(2, math.ceil(2 * startup_seconds()))


def run_in_pty(argv: list[str], cwd: Path, env: dict[str, str], timeout: float = 60) -> tuple[int, str]:
    """Run `argv` with its stdout and stderr a terminal, as a developer sees it; (exit code, screen text)."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=follower, stderr=follower)
    os.close(follower)
    chunks = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the other side closed
                break
            if not chunk:
                break
            chunks.append(chunk)
        elif process.poll() is not None:
            break
    os.close(leader)
    return process.wait(timeout=10), b"".join(chunks).decode("utf-8", errors="replace")
