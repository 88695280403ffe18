"""What the MCP client connects to: an in-process server, a URL (streamable HTTP or SSE), or a stdio
command started with only the environment a Jira server needs."""

from __future__ import annotations

import os
import shlex
import tempfile
import urllib.request
from contextlib import AsyncExitStack
from pathlib import Path
from typing import IO, Any, Protocol
from urllib.parse import urlsplit

from jira_brief.config.network import http_client
from jira_brief.config.settings import Settings, mask_url
from jira_brief.errors import UsageError

# One server-sent event over streamable HTTP may carry this much (the SDK's default, 1 MiB, is less than
# one big ticket with its comments); still bounded, so a broken server cannot take all the memory.
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
    """Fail before any work when no MCP server is configured: a usage error, exit code 2."""
    if server is None and not (settings.mcp_url or settings.mcp_command):
        raise _no_server()


def stdio_environment(settings: Settings) -> dict[str, str]:
    """Only what a stdio Jira server needs: JIRA_* and network variables, plus --mcp-env.
    Our LLM and GitHub secrets are never passed. READ_ONLY_MODE is on unless --mcp-env says otherwise."""
    env = {
        name: value
        for name, value in os.environ.items()
        if (name.startswith(STDIO_ENV_PREFIXES) and not name.startswith("JIRA_BRIEF_")) or name in STDIO_ENV_NAMES
    }
    env["READ_ONLY_MODE"] = "true"
    env.update({name: secret.reveal() for name, secret in settings.mcp_env})
    return env


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
    index = 0
    if words and Path(words[0]).name == "env":
        index = 1
        while index < len(words) and (words[index].startswith("-") or "=" in words[index]):
            index += 2 if words[index] in ("-u", "--unset", "-C", "--chdir", "-S") else 1
    return Path(words[index]).name if index < len(words) else (words[0] if words else command)


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
                    settings, headers=headers, timeout=settings.timeout, read_timeout=300.0
                ),
            )
        from mcp.client.streamable_http import streamable_http_client  # as above: the SDK only when connecting

        async def record(response: Any) -> None:
            if response.status_code >= 400:  # the SDK turns HTTP errors into a generic message
                statuses.append(response.status_code)

        client = await stack.enter_async_context(
            http_client(
                settings,
                headers=headers,
                timeout=settings.timeout,
                read_timeout=300.0,
                event_hooks={"response": [record]},
            )
        )
        return streamable_http_client(settings.mcp_url, http_client=client, max_sse_event_size=MAX_SSE_EVENT)
    if settings.mcp_command:
        from mcp.client.stdio import StdioServerParameters, stdio_client  # as above

        argv = shlex.split(settings.mcp_command)
        errlog = stack.enter_context(tempfile.TemporaryFile("w+", encoding="utf-8"))
        stderr_tail.append(errlog)
        params = StdioServerParameters(command=argv[0], args=argv[1:], env=stdio_environment(settings))
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
