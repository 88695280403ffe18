"""Shared fixtures: an isolated environment, real git repositories, and ways to run jira-brief.

Fixtures are opt-in (not autouse) so they never touch tests that need their own environment
(tests/integration reads JIRA_BRIEF_ATLASSIAN_VENV, which `isolated_env` would remove).
A test module opts in with `pytestmark = pytest.mark.usefixtures("isolated_env")`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from jira_brief.commands.main import main

# Real GitHub webhook payloads (octokit/webhooks, MIT), copied into the repository.
GITHUB_EVENTS_DIR = Path(__file__).resolve().parent / "fixtures" / "github-events"
# The `jira-brief` console script installed in the same environment as the running Python.
CONSOLE_SCRIPT = Path(sys.executable).parent / ("jira-brief.exe" if os.name == "nt" else "jira-brief")

# Variables that would change what jira-brief or git does if they leaked from the developer or CI
# (SSL_CERT_FILE is read as the `ca-bundle` setting).
_CLEARED_PREFIXES = ("JIRA_BRIEF_", "OPENAI_", "GIT_", "CI_", "BITBUCKET_")  # CI_: GitLab's; BITBUCKET_: Pipelines'
_CLEARED_NAMES = (
    "GITHUB_HEAD_REF",
    "GITHUB_TOKEN",
    "GITHUB_EVENT_PATH",
    "GITHUB_EVENT_NAME",
    "GITLAB_CI",
    "GITLAB_TOKEN",
    "SSL_CERT_FILE",
)


# Fixtures that install packages at test time (a pre-commit hook environment, the mcp-atlassian
# venv): a test that uses one belongs to the `slow` tier, which `.ci/run` runs after the fast one.
SLOW_FIXTURES = frozenset({"hooks_repo", "pre_commit_home", "workspace", "atlassian", "atlassian_py", "stdio_run"})


# Seconds Python takes to start and import what a briefing hook imports, measured once per session.
STARTUP_VARIABLE = "JB_TEST_STARTUP_SECONDS"


def measure_startup() -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", "import jira_brief.commands.main, openai, mcp"], check=True, timeout=60)
    return time.monotonic() - started


def pytest_configure(config: pytest.Config) -> None:
    """In the session (not in its workers, which inherit the variable): the start-up the time-budget
    tests scale with, measured before the workers themselves load the machine."""
    if not hasattr(config, "workerinput") and STARTUP_VARIABLE not in os.environ:
        os.environ[STARTUP_VARIABLE] = f"{measure_startup():.3f}"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests that need an installation as `slow`, before `-m` selects the tier."""
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """No JIRA_BRIEF_*/OPENAI_*/GITHUB_*/GitLab CI/SSL_CERT_FILE settings, no user git config, a fixed git identity.

    Returns the variables it set, so a subprocess can be given the same environment."""
    for name in list(os.environ):
        if name.startswith(_CLEARED_PREFIXES) or name in _CLEARED_NAMES:
            monkeypatch.delenv(name)
    home = tmp_path_factory.mktemp("home")
    values = {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),  # stdio servers start in a folder there
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Test Author",
        "GIT_AUTHOR_EMAIL": "author@example.com",
        "GIT_COMMITTER_NAME": "Test Committer",
        "GIT_COMMITTER_EMAIL": "committer@example.com",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def git(cwd: Path, *args: str, check: bool = True, env: dict[str, str] | None = None) -> str:
    """Run real git in `cwd` and return its stdout."""
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if check and done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed ({done.returncode}): {done.stderr}")
    return done.stdout


@dataclass
class GitRepo:
    """A real git repository in a temporary directory (initial branch `main`)."""

    path: Path

    def git(self, *args: str, check: bool = True, env: dict[str, str] | None = None) -> str:
        return git(self.path, *args, check=check, env=env)

    def commit(self, message: str, files: dict[str, str] | None = None) -> str:
        """Write `files`, commit them with `message`, return the short sha as `git log %h` prints it."""
        for name, text in (files or {"file.txt": message}).items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            self.git("add", name)
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("log", "-1", "--format=%h").strip()


@pytest.fixture
def git_repo(isolated_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    """A fresh repository with one commit on `main`; the test's cwd is its work tree."""
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    repo = GitRepo(path)
    repo.commit("initial commit", {"README.md": "hello\n"})
    monkeypatch.chdir(path)
    return repo


@pytest.fixture
def plain_dir(isolated_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory that is a (bare-bones) repository root, so no config file above it counts."""
    path = tmp_path / "work"
    (path / ".git").mkdir(parents=True)
    monkeypatch.chdir(path)
    return path


@pytest.fixture
def invoke() -> Callable[..., Result]:
    """Run `jira-brief ARGS` in-process with Click's CliRunner (stdout and stderr kept apart)."""

    def run(*args: str, env: dict[str, str | None] | None = None) -> Result:
        return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)

    return run


@pytest.fixture
def run_process() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run jira-brief as a real process: `python -m jira_brief` or, with script=True, the console script."""

    def run(
        *args: str, cwd: Path, env: dict[str, str] | None = None, script: bool = False
    ) -> subprocess.CompletedProcess[str]:
        command = [str(CONSOLE_SCRIPT)] if script else [sys.executable, "-m", "jira_brief"]
        return subprocess.run(
            [*command, *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            env={**os.environ, **(env or {})},
            timeout=60,
        )

    return run


@pytest.fixture
def github_event(tmp_path: Path) -> Callable[..., Path]:
    """Copy a real payload from tests/fixtures/github-events into tmp_path, optionally edited.

    `github_event("pull_request.opened", edit=fn)` calls fn(payload) on the parsed JSON before writing."""

    def copy(name: str, edit: Callable[[dict[str, Any]], None] | None = None) -> Path:
        source = GITHUB_EVENTS_DIR / f"{name}.json"
        target = tmp_path / "events" / source.name
        target.parent.mkdir(exist_ok=True)
        if edit is None:
            shutil.copyfile(source, target)
        else:
            payload = json.loads(source.read_text(encoding="utf-8"))
            edit(payload)
            target.write_text(json.dumps(payload), encoding="utf-8")
        return target

    return copy


def run_into_closed_pipe(args: Sequence[str], env: dict[str, str], cwd: Path) -> tuple[int, str]:
    """Run `jira-brief ARGS` as `… | head -c 16`: its reader goes away after 16 bytes, before the output
    ends (the pipe is shrunk to one page). (exit code, stderr)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "jira_brief", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd
    )
    assert process.stdout is not None and process.stderr is not None
    fcntl.fcntl(process.stdout.fileno(), 1031, 4096)  # F_SETPIPE_SZ: the output does not fit in the pipe
    assert process.stdout.read(16)
    process.stdout.close()
    stderr = process.stderr.read().decode()
    process.stderr.close()
    return process.wait(timeout=60), stderr


def error_lines(stderr: str) -> list[str]:
    """The non-empty lines of an error output."""
    return [line for line in stderr.splitlines() if line.strip()]


def assert_one_line_error(stderr: str, *needles: str) -> str:
    """stderr is exactly one error line, with no traceback, naming every needle."""
    assert "Traceback" not in stderr
    lines = error_lines(stderr)
    assert len(lines) == 1, f"expected one error line, got: {stderr!r}"
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
    return lines[0]


def lines_of(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.strip()]


def write_commit_editmsg(
    repo: GitRepo, message: str, files: dict[str, str], commit_args: Sequence[str] = ("-v",)
) -> Path:
    """The real COMMIT_EDITMSG of `git commit -v`: staged `files`, `message` typed by an editor.

    The editor writes `message` above git's own template (comments, scissors line, diff), saves a
    copy and exits 1 so the commit is aborted; the copy is returned."""
    for name, text in files.items():
        (repo.path / name).write_text(text, encoding="utf-8")
        repo.git("add", name)
    saved = repo.path.parent / "saved-editmsg"
    message_path = repo.path.parent / "typed-message"
    message_path.write_text(message, encoding="utf-8")
    editor = repo.path.parent / "editor.py"
    editor.write_text(
        "import shutil, sys\n"
        "from pathlib import Path\n"
        "target = Path(sys.argv[1])\n"
        f"typed = Path({str(message_path)!r}).read_text(encoding='utf-8')\n"
        "target.write_text(typed + target.read_text(encoding='utf-8'), encoding='utf-8')\n"
        f"shutil.copyfile(target, {str(saved)!r})\n"
        "sys.exit(1)\n",
        encoding="utf-8",
    )
    repo.git("commit", *commit_args, check=False, env={"GIT_EDITOR": f'"{sys.executable}" "{editor}"'})
    assert saved.is_file(), "git did not open the editor"
    return saved


# --- the hooks' background jobs --------------------------------------------------------------


def job_status(cache_dir: Path, key: str) -> dict[str, Any]:
    """The status file of `key`'s background job (the one repository of a test), or {}."""
    found = sorted((cache_dir / "state" / "jobs").glob(f"*-{key}.json"))
    return json.loads(found[-1].read_text(encoding="utf-8")) if found else {}


def process_alive(pid: int) -> bool:
    """Whether process `pid` still runs (an exited process waiting for init to reap it does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def worker_pids(under: Path) -> list[int]:
    """Process ids of running background jobs (`jira-brief hook-worker`) of repositories under `under`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        repo = next((arg[7:].decode() for arg in argv if arg.startswith(b"--repo=")), None)
        if b"hook-worker" in argv and repo and Path(repo).is_relative_to(under) and process_alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def wait_for_jobs(cache_dir: Path, *keys: str, timeout: float = 60.0) -> list[int]:
    """Wait until the background jobs of `keys` said they finished and their processes are gone; their
    process ids. Fails the test past `timeout`."""
    deadline = time.monotonic() + timeout
    pids: list[int] = []
    for key in keys:
        while not job_status(cache_dir, key).get("finished"):
            assert time.monotonic() < deadline, f"{key}'s background job never finished: {job_status(cache_dir, key)}"
            time.sleep(0.05)
        pids.append(job_status(cache_dir, key)["pid"])
    for pid in pids:
        while process_alive(pid):
            assert time.monotonic() < deadline, f"the background job {pid} said it finished but still runs"
            time.sleep(0.05)
    return pids


@pytest.fixture
def stop_jobs(tmp_path: Path) -> Iterator[None]:
    """After the test, end any background job it left running (the test's servers are gone by then)."""
    yield
    for pid in worker_pids(tmp_path):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


# --- Engine test fixtures (tickets, MCP, briefs, pipeline, e2e, reliability) ------------------


@dataclass
class EngineEnv:
    """A clean place for an engine run: no JIRA_BRIEF_*/OPENAI_*/GITHUB_* variables, a tmp cache,
    and a cwd that is a repository root (so no config file above it is read)."""

    cwd: Path
    cache_dir: Path

    @property
    def environ(self) -> dict[str, str]:
        """The only jira-brief variable an engine run starts with: the tmp cache directory."""
        return {"JIRA_BRIEF_CACHE_DIR": str(self.cache_dir)}

    def settings(self, environ: dict[str, str] | None = None, **flags: Any) -> Any:
        """Settings as the CLI builds them: these flags over `environ` (plus the tmp cache dir)."""
        from jira_brief.config.load import load_settings

        return load_settings(flags, {**self.environ, **(environ or {})}, self.cwd)

    def llm_settings(self, fake: Any, environ: dict[str, str] | None = None, **flags: Any) -> Any:
        """Settings that write briefs with the FakeOpenAI `fake` (its URL, key and model), plus `flags`."""
        base = {"llm_base_url": fake.base_url, "llm_api_key": fake.api_key or "sk-none", "model": fake.models[0]}
        return self.settings(environ, **{**base, **flags})

    def process_env(self, **extra: str) -> dict[str, str]:
        """os.environ (already cleaned) plus the cache dir and `extra`, for a subprocess run."""
        return {**os.environ, **self.environ, **extra}


@pytest.fixture
def engine_env(isolated_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> EngineEnv:
    """isolated_env, every GITHUB_* variable removed too, JIRA_BRIEF_CACHE_DIR in tmp, cwd a tmp repo root."""
    for name in list(os.environ):
        if name.startswith("GITHUB_"):
            monkeypatch.delenv(name)
    work = tmp_path / "work"
    (work / ".git").mkdir(parents=True)
    cache = tmp_path / "cache"
    monkeypatch.chdir(work)
    monkeypatch.setenv("JIRA_BRIEF_CACHE_DIR", str(cache))
    return EngineEnv(work, cache)


@pytest.fixture
def fake_llm() -> Any:
    """A running FakeOpenAI on loopback, stopped after the test."""
    from tests.fakes.openai_server import FakeOpenAI

    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def run_pipeline() -> Callable[..., Any]:
    """Brief `keys` in-process with the real pipeline against `server` (the demo Jira unless given;
    None: the server the settings name). A run still going after `limit` seconds fails the test."""
    import asyncio

    from jira_brief.brief.pipeline import brief_all
    from jira_brief.jira.demo.server import build_server
    from jira_brief.keys.scan import FoundKey

    def run(
        keys: Sequence[str],
        settings: Any,
        *,
        server: Any = "demo",
        output: Any = None,
        limit: float = 30.0,
        sleep: Any = None,
    ) -> Any:
        found = [FoundKey(key, "arg") for key in keys]
        target = build_server() if isinstance(server, str) else server
        waits = {"sleep": sleep} if sleep is not None else {}
        briefing = brief_all(found, settings, output=output, server=target, **waits)
        return asyncio.run(asyncio.wait_for(briefing, limit))

    return run


class RecordedSleep:
    """A sleep for the model's retries that notes each wait and returns at once (no test really waits)."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def recorded_sleep() -> RecordedSleep:
    return RecordedSleep()


class RecordingTerminal:
    """jira-brief's real terminal sink (TerminalOutput) writing into lists instead of the terminal;
    also notes the order in which tickets finish."""

    def __init__(self, keys: Sequence[str]) -> None:
        from jira_brief.publish.labels import labels_in
        from jira_brief.publish.terminal import TerminalOutput

        self.out: list[str] = []
        self.err: list[str] = []
        self.finished: list[str] = []
        self.terminal = TerminalOutput(list(keys), self.out.append, self.err.append, labels_in("en"))

    def text(self, key: str, chunk: str) -> None:
        self.terminal.text(key, chunk)

    def done(self, result: Any) -> None:
        self.finished.append(result.key)
        self.terminal.done(result)

    @property
    def stdout(self) -> str:
        return "".join(self.out)


@pytest.fixture
def terminal() -> Callable[[Sequence[str]], RecordingTerminal]:
    """A factory: terminal(keys) is an output for the pipeline that records what a user would see."""
    return RecordingTerminal
