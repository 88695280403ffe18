"""A private venv holding mcp-atlassian, and how to launch it.

mcp-atlassian needs ``mcp<2`` while jira-brief needs ``mcp>=2``, so the real
server can never be imported here: it lives in its own venv and runs as a
separate process (stdio or streamable HTTP).
"""

from __future__ import annotations

import fcntl
import functools
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

MCP_ATLASSIAN_VERSION = "0.23.1"
VENV_ENV_VAR = "JB_TEST_ATLASSIAN_VENV"
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_VENV = REPO_ROOT / ".cache" / "atlassian-venv"
MARKER_NAME = ".jira-brief-ready"
EMPTY_ENV_FILE = "jira-brief-empty.env"
INSTALL_TIMEOUT_S = 1200.0

_last_error: str | None = None


def venv_dir() -> Path:
    """Where the mcp-atlassian venv lives (``$JB_TEST_ATLASSIAN_VENV`` wins)."""
    override = os.environ.get(VENV_ENV_VAR, "").strip()
    return Path(override).expanduser().resolve() if override else DEFAULT_VENV


def venv_python(venv: Path) -> Path:
    """The interpreter inside ``venv``."""
    if sys.platform == "win32":
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


def venv_script(venv: Path) -> Path:
    """The ``mcp-atlassian`` console script inside ``venv``.

    0.23.x ships no ``__main__`` module, so ``python -m mcp_atlassian`` fails.
    """
    if sys.platform == "win32":
        return venv / "Scripts" / "mcp-atlassian.exe"
    return venv / "bin" / "mcp-atlassian"


def last_install_error() -> str | None:
    """Why the last :func:`atlassian_python` call returned None, if it did."""
    return _last_error


def _marker(venv: Path) -> Path:
    return venv / MARKER_NAME


def _is_ready(venv: Path) -> bool:
    """True when a previous install finished and passed its import check."""
    marker = _marker(venv)
    if not marker.is_file() or not venv_script(venv).exists():
        return False
    return marker.read_text(encoding="utf-8").strip() == MCP_ATLASSIAN_VERSION


@contextmanager
def _install_lock(venv: Path) -> Iterator[None]:
    """Hold an exclusive lock beside ``venv`` (parallel runs install once)."""
    venv.parent.mkdir(parents=True, exist_ok=True)
    lock_path = venv.parent / f"{venv.name}.lock"
    with lock_path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run(cmd: list[str], timeout: float) -> None:
    """Run ``cmd``; raise RuntimeError with its output tail on failure."""
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RuntimeError(f"{cmd[:4]} failed: {exc}") from exc
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr)[-2000:]
        raise RuntimeError(f"{cmd[:4]} exited {proc.returncode}:\n{tail}")


def _create(venv: Path) -> None:
    """Build the venv from scratch, install the pin, check it imports, mark it."""
    if venv.exists():
        shutil.rmtree(venv)
    started = time.monotonic()
    try:
        _install(venv)
    except RuntimeError:
        shutil.rmtree(venv, ignore_errors=True)
        raise
    (venv / EMPTY_ENV_FILE).write_text("", encoding="utf-8")
    _marker(venv).write_text(MCP_ATLASSIAN_VERSION + "\n", encoding="utf-8")
    print(f"atlassian venv ready in {time.monotonic() - started:.0f}s: {venv}", file=sys.stderr)


def _install(venv: Path) -> None:
    """``python -m venv``, pip install the pin, then an import check."""
    _run([sys.executable, "-m", "venv", str(venv)], timeout=300)
    py = str(venv_python(venv))
    _run(
        [
            py,
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "-q",
            f"mcp-atlassian=={MCP_ATLASSIAN_VERSION}",
        ],
        timeout=INSTALL_TIMEOUT_S,
    )
    _run([py, "-c", "import mcp_atlassian"], timeout=120)
    if not venv_script(venv).exists():
        raise RuntimeError(f"{venv_script(venv)} missing after install")


@functools.cache
def atlassian_python() -> Path | None:
    """Python of a venv with mcp-atlassian installed, created on first use.

    Returns None only when creating it failed; see :func:`last_install_error`.
    """
    global _last_error
    venv = venv_dir()
    if _is_ready(venv):
        return venv_python(venv)
    try:
        with _install_lock(venv):
            if not _is_ready(venv):
                _create(venv)
    except (RuntimeError, OSError) as exc:
        _last_error = f"could not install mcp-atlassian=={MCP_ATLASSIAN_VERSION} into {venv}: {exc}"
        return None
    _last_error = None
    return venv_python(venv)


@dataclass(frozen=True)
class ServerLaunch:
    """A command line, environment and cwd that start mcp-atlassian."""

    command: str
    args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None


def server_env(
    jira_url: str,
    *,
    personal_token: str | None = None,
    username: str | None = None,
    api_token: str | None = None,
    read_only: bool = False,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The minimal environment for a Jira-only, offline mcp-atlassian.

    Give ``personal_token`` (Server/Data Center PAT) or ``username`` and
    ``api_token`` (Cloud). No ``CONFLUENCE_*`` variables: Confluence tools
    are then hidden from the tool list.
    """
    env = {
        "JIRA_URL": jira_url,
        "READ_ONLY_MODE": "true" if read_only else "false",
        "TOOLSETS": "all",  # unset means "all" plus a deprecation warning
        "FASTMCP_CHECK_FOR_UPDATES": "off",
        "FASTMCP_SHOW_SERVER_BANNER": "false",
        "MCP_ATLASSIAN_USE_SYSTEM_TRUSTSTORE": "false",
        "NO_PROXY": "127.0.0.1,localhost",
        "PYTHONUNBUFFERED": "1",
    }
    if personal_token is not None:
        env["JIRA_PERSONAL_TOKEN"] = personal_token
    if username is not None and api_token is not None:
        env["JIRA_USERNAME"] = username
        env["JIRA_API_TOKEN"] = api_token
    env.update(extra or {})
    return env


def _command(py: Path) -> tuple[str, list[str]]:
    """The console script and an empty ``--env-file``.

    Without ``--env-file`` mcp-atlassian runs ``load_dotenv(override=True)``,
    which walks up from its own install dir (so into this repo) and would let
    a developer's ``.env`` override the environment we pass.
    """
    venv = py.parent.parent
    return str(venv_script(venv)), ["--env-file", str(venv / EMPTY_ENV_FILE)]


def stdio_launch(py: Path, env: Mapping[str, str]) -> ServerLaunch:
    """How to run mcp-atlassian over stdio with ``env`` (see :func:`server_env`)."""
    command, args = _command(py)
    return ServerLaunch(command, [*args, "--transport", "stdio"], dict(env), str(py.parent.parent))


def http_launch(py: Path, env: Mapping[str, str], port: int, path: str = "/mcp") -> ServerLaunch:
    """How to run mcp-atlassian as streamable HTTP on ``127.0.0.1:port``."""
    command, args = _command(py)
    args += ["--transport", "streamable-http", "--host", "127.0.0.1", "--port", str(port), "--path", path]
    return ServerLaunch(command, args, dict(env), str(py.parent.parent))


def http_auth_headers(personal_token: str) -> dict[str, str]:
    """Headers a streamable-HTTP client must send: ``Token <PAT>``.

    Without them the server answers 401 unless ``ALLOW_GLOBAL_CRED_FALLBACK``
    is true (then it uses the env credentials for any local caller).
    """
    return {"Authorization": f"Token {personal_token}"}
