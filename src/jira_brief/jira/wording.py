"""How MCP failures read: one line that names the server and says what to do."""

from __future__ import annotations

import re
from typing import IO

from jira_brief.config.network import tls_advice, tls_failure

PROBLEM_LINE = re.compile(r"Error|error:|missing|required", re.I)
RUNTIME_BANNER = re.compile(r"^(Node\.js|Deno|Bun|Python)\s+v?\d[\w.]*$", re.I)


def stderr_reason(errlog: IO[str]) -> str:
    """The stderr line of a stdio server that says why it stopped: the last one naming an error or
    something missing or required (not a stack frame), else the last line that is not a runtime banner."""
    try:
        errlog.seek(0)
        lines = [line.strip() for line in errlog.read()[-8000:].splitlines() if line.strip()]
    except (OSError, ValueError):
        return ""
    lines = [line for line in lines if not RUNTIME_BANNER.match(line)]
    frames = re.compile(r"^(at |File \"|Traceback|\^+$|throw )")
    named = [line for line in lines if PROBLEM_LINE.search(line) and not frames.match(line)]
    found = named[-1] if named else lines[-1] if lines else ""
    return found[:300]


def first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "(empty)"
    return line[:200]


def tool_error(text: str) -> str:
    """A tool's error text, whole up to ~600 characters (its explanation often follows the first line)."""
    line = re.sub(r"\s+", " ", text).strip()[:600] or "(no message)"
    line = line.removeprefix("Error executing tool ")
    line = re.sub(r"^\w+: ", "", line) if line.startswith(("jira_", "get")) else line
    if re.search(r"not found|does not exist", line, re.I):
        return f"not found on the Jira server ({line}); check the key and that your Jira account can see it"
    if re.search(r"401|403|unauthori[sz]ed|forbidden|permission", line, re.I):
        return f"no access ({line}); check the Jira credentials given to the MCP server"
    return line


def describe_error(error: BaseException, where: str, http_status: int | None = None, proxy: str | None = None) -> str:
    """One line for an MCP connection or call failure, with what to do."""
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    if isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    text = str(error) or type(error).__name__
    name = type(error).__name__
    if tls_failure(error):
        return tls_advice(where)
    status = http_status or getattr(getattr(error, "response", None), "status_code", None)
    if status in (401, 403) or re.search(r"\b(401|403)\b|unauthori[sz]ed", text, re.I):
        return f"{where} refused the credentials ({status or 'unauthorized'}); check --mcp-header / the Jira token"
    if "ConnectError" in name or "connection refused" in text.lower() or "All connection attempts" in text:
        if proxy:
            return (
                f"cannot reach the Jira MCP server at {where} through the proxy {proxy}; "
                "check the proxy (--proxy / HTTPS_PROXY, NO_PROXY) and --mcp-url"
            )
        return f"cannot reach the Jira MCP server at {where}; check that it runs and --mcp-url is right"
    if "sent more than" in text:  # our cap on an answer (config/bodies.py), wrapped by the SDK
        return f"the Jira MCP server at {where} {text[text.index('sent more than') :]}; no ticket needs that much"
    if "Timeout" in name or "timed out" in text.lower():
        return f"the Jira MCP server at {where} timed out; it may be overloaded, try again or raise --timeout"
    if status is not None:
        return f"{where} answered HTTP {status}; check --mcp-url"
    return f"the Jira MCP server at {where} failed: {first_line(text)}"
