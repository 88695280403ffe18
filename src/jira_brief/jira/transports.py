"""What the MCP client connects to: an in-process server, a URL (streamable HTTP or SSE), or a stdio
command started with only the environment a Jira server needs."""

from __future__ import annotations

import os
import shlex
import shutil
import tempfile
import urllib.request
from contextlib import AsyncExitStack
from pathlib import Path
from typing import IO, Any, Protocol
from urllib.parse import urlsplit

from jira_brief.config.masking import SECRET_VARIABLE
from jira_brief.config.network import BodyLimit, http_client
from jira_brief.config.settings import Settings, mask_url
from jira_brief.errors import ConfigError, UsageError
from jira_brief.git import work_tree_of

# One MCP message may carry this much, as one server-sent event or one JSON body (the SDK's default, 1 MiB,
# is less than one big ticket with its comments); still bounded, so a broken server cannot take all the
# memory: past it, the answer is not read further.
MAX_SSE_EVENT = 32 << 20
STDIO_ENV_PREFIXES = ("JIRA_",)
STDIO_ENV_NAMES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "REQUESTS_CA_BUNDLE",
    "LANG",
    "LC_ALL",
    "TMPDIR",
)


class InProcessServer(Protocol):
    """An MCP server object running in this process (the embedded demo Jira): `mcp.Client` takes it as is."""

    @property
    def name(self) -> str: ...


def _no_server() -> UsageError:
    return UsageError(
        "no Jira MCP server configured: set --mcp-url or --mcp-command "
        "(JIRA_BRIEF_MCP_URL / JIRA_BRIEF_MCP_COMMAND), or try `jira-brief demo`"
    )


def check_server_configured(settings: Settings, server: InProcessServer | None = None) -> None:
    """Fail before any work when no MCP server is configured, or its stdio program cannot be started: a
    configuration error, exit code 2 (the URL's form is checked where the setting is read)."""
    if server is None and not (settings.mcp_url or settings.mcp_command):
        raise _no_server()
    if server is None and settings.mcp_command and not settings.mcp_url:
        stdio_argv(settings, work_tree_of(Path.cwd()))


def stdio_argv(settings: Settings, repository: Path | None) -> list[str]:
    """The stdio command line with its program as an absolute path, found as the server will be started
    (on the cleaned PATH); the program `env` runs is checked too, since env would only say so once started."""
    try:
        words = shlex.split(settings.mcp_command or "")
    except ValueError as error:
        raise ConfigError(f"mcp-command is not a command line ({error}): {settings.mcp_command}") from None
    if not words:
        raise ConfigError("mcp-command is empty; give the command that starts the Jira MCP server")
    path = stdio_environment(settings, repository)["PATH"]
    index = _program_index(words)
    if 0 < index < len(words):
        stdio_program(words[index], path)
    return [stdio_program(words[0], path), *words[1:]]


def stdio_environment(settings: Settings, repository: Path | None = None) -> dict[str, str]:
    """Only what a stdio Jira server needs: JIRA_* and network variables, plus --mcp-env, and a PATH
    with nothing of `repository` in it. Our LLM and GitHub secrets are never passed. READ_ONLY_MODE is
    on unless --mcp-env says otherwise."""
    env = {
        name: value
        for name, value in os.environ.items()
        if (name.startswith(STDIO_ENV_PREFIXES) and not name.startswith("JIRA_BRIEF_")) or name in STDIO_ENV_NAMES
    }
    env["READ_ONLY_MODE"] = "true"
    env.update({name: secret.reveal() for name, secret in settings.mcp_env})
    env["PATH"] = outside_path(env.get("PATH", os.environ.get("PATH", "")), repository)
    return env


def site_variables(settings: Settings) -> list[str]:
    """What says which Jira a stdio server reads, as NAME=value: every variable it is given (JIRA_URL,
    JIRA_USERNAME, ATLASSIAN_OAUTH_CLOUD_ID from --mcp-env…) but secrets, named like tokens and passwords
    (a rotated token is the same site), and the network, locale and PATH ones."""
    ignored = {*STDIO_ENV_NAMES, "PATH"}
    environment = stdio_environment(settings)
    return sorted(
        f"{name}={value}"
        for name, value in environment.items()
        if name not in ignored and not SECRET_VARIABLE.search(name)
    )


def outside_path(path: str, repository: Path | None) -> str:
    """PATH without what a repository could have put in it: relative entries ("", ".", "node_modules/.bin",
    searched from the working directory) and folders inside `repository` (a direnv-added `bin/`)."""
    kept = []
    for entry in path.split(os.pathsep):
        if not os.path.isabs(entry):
            continue
        if repository is not None and Path(entry).resolve().is_relative_to(repository):
            continue
        kept.append(entry)
    return os.pathsep.join(kept)


def stdio_program(program: str, path: str) -> str:
    """The absolute path of the program a stdio command runs, looked up in `path` (our cleaned PATH); a
    configuration error (exit 2) when there is none, said before anything starts."""
    if os.sep in program or (os.altsep and os.altsep in program):
        given = Path(program).expanduser()
        if not given.is_absolute():
            raise ConfigError(
                f"mcp-command runs {program}, a relative path; write its absolute path "
                "(a stdio server starts in a neutral folder, never in the repository)"
            )
        if not (given.is_file() and os.access(given, os.X_OK)):
            raise ConfigError(f"mcp-command: `{program}` is not an executable file; install it or fix the path")
        return str(given)
    found = shutil.which(program, path=path)
    if found is None:
        raise ConfigError(
            f"mcp-command: `{program}` (stdio) is not on PATH (relative folders and folders inside the repository "
            "are left out); install it (e.g. `pipx install mcp-atlassian`), or write its absolute path"
        )
    return found


def neutral_folder(stack: AsyncExitStack, repository: Path | None) -> str:
    """A fresh private folder for a stdio server to start in, removed after it: never the repository, where
    `npx` would run `node_modules/.bin/NAME` and `python -m NAME` import `NAME/`. It sits in the user's cache
    folder, whose parents are the user's own (npx and uv look for project files up from their folder, and
    anyone may plant one in a shared /tmp), or in the system's temporary folder when that cannot be."""
    from platformdirs import user_cache_dir  # ~10 ms: only when a stdio server starts

    cache = Path(user_cache_dir("jira-brief", appauthor=False))
    try:
        cache.mkdir(parents=True, exist_ok=True)
        usable = repository is None or not cache.resolve().is_relative_to(repository)
    except OSError:
        usable = False
    folder = tempfile.TemporaryDirectory(prefix="stdio-", dir=cache if usable else None, ignore_cleanup_errors=True)
    return stack.enter_context(folder)


def proxy_for(settings: Settings) -> str | None:
    """The proxy the MCP URL goes through, password masked, or None."""
    if not settings.mcp_url:
        return None
    if settings.proxy:
        return mask_url(settings.proxy.reveal())
    host = urlsplit(settings.mcp_url).hostname or ""
    if urllib.request.proxy_bypass_environment(host):  # type: ignore[attr-defined]
        return None
    found = urllib.request.getproxies_environment().get(urlsplit(settings.mcp_url).scheme)
    return mask_url(found) if found else None


def server_label(settings: Settings, server: InProcessServer | None = None) -> str:
    """How errors name the MCP server: its URL (password masked), its command, or the demo."""
    if server is not None:
        return "the embedded demo Jira"
    if settings.mcp_url:
        return mask_url(settings.mcp_url)
    if settings.mcp_command:
        return f"`{program_of(settings.mcp_command)}` (stdio)"
    return "the embedded demo Jira"


def program_of(command: str) -> str:
    """The program a command line runs, past `env`, its options and NAME=value assignments."""
    words = shlex.split(command)
    index = _program_index(words)
    return Path(words[index]).name if index < len(words) else (words[0] if words else command)


def _program_index(words: list[str]) -> int:
    """Where the program is in a command line: its first word, or the one `env` runs."""
    index = 0
    if words and Path(words[0]).name == "env":
        index = 1
        while index < len(words) and (words[index].startswith("-") or "=" in words[index]):
            index += 2 if words[index] in ("-u", "--unset", "-C", "--chdir", "-S") else 1
    return index


async def transport(
    settings: Settings,
    server: InProcessServer | None,
    stack: AsyncExitStack,
    statuses: list[int],
    stderr_tail: list[IO[str]],
) -> Any:
    """What mcp.Client connects to: an in-process server, a URL (HTTP/SSE), or a stdio command."""
    if server is not None:
        return server
    headers = {name: secret.reveal() for name, secret in settings.mcp_headers}
    body = BodyLimit(MAX_SSE_EVENT, f"the Jira MCP server at {server_label(settings)}", per_event=True)
    if settings.mcp_url:
        use_sse = settings.mcp_transport == "sse" or (
            settings.mcp_transport == "auto" and settings.mcp_url.rstrip("/").endswith("/sse")
        )
        if use_sse:
            from mcp.client.sse import sse_client  # the MCP SDK only once a session opens: start-up stays fast

            return sse_client(
                settings.mcp_url,
                headers=headers,
                timeout=settings.timeout,
                httpx_client_factory=lambda headers=None, timeout=None, auth=None: http_client(
                    settings, body=body, headers=headers, timeout=settings.timeout, read_timeout=300.0
                ),
            )
        from mcp.client.streamable_http import streamable_http_client  # as above: the SDK only when connecting

        async def record(response: Any) -> None:
            if response.status_code >= 400:  # the SDK turns HTTP errors into a generic message
                statuses.append(response.status_code)

        client = await stack.enter_async_context(
            http_client(
                settings,
                body=body,
                headers=headers,
                timeout=settings.timeout,
                read_timeout=300.0,
                event_hooks={"response": [record]},
            )
        )
        return streamable_http_client(settings.mcp_url, http_client=client, max_sse_event_size=MAX_SSE_EVENT)
    if settings.mcp_command:
        from mcp.client.stdio import StdioServerParameters, stdio_client  # as above

        repository = work_tree_of(Path.cwd())
        argv = stdio_argv(settings, repository)
        errlog = stack.enter_context(tempfile.TemporaryFile("w+", encoding="utf-8"))
        stderr_tail.append(errlog)
        folder = neutral_folder(stack, repository)
        params = StdioServerParameters(
            command=argv[0], args=argv[1:], env=stdio_environment(settings, repository), cwd=folder
        )
        return stdio_client(params, errlog=errlog)
    raise _no_server()


def load_sdk(settings: Settings) -> None:
    """Import the MCP SDK parts a session with these settings uses, ahead of time: a process that times
    how long the server takes to answer loads them first (on a busy machine that takes seconds)."""
    import mcp

    if settings.mcp_url and (settings.mcp_transport == "sse" or settings.mcp_url.rstrip("/").endswith("/sse")):
        import mcp.client.sse
    elif settings.mcp_url:
        import mcp.client.streamable_http
    elif settings.mcp_command:
        import mcp.client.stdio
    del mcp  # only loaded, for later
