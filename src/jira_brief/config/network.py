"""One TLS and proxy configuration, shared by the LLM client and the MCP client (both use httpx2)."""

from __future__ import annotations

import functools
import ssl
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jira_brief.config.settings import Settings
from jira_brief.config.values import Secret
from jira_brief.errors import UsageError

if TYPE_CHECKING:
    import httpx2


def ssl_context(settings: Settings) -> ssl.SSLContext:
    """System trust (plus --ca-bundle); verification is off only with an explicit --insecure."""
    if settings.ca_bundle and not Path(settings.ca_bundle).is_file():
        raise UsageError(f"the CA bundle {settings.ca_bundle} ({settings.origin('ca_bundle')}) is not a file")
    try:
        return _context(settings.ca_bundle, settings.insecure)
    except ssl.SSLError as error:
        raise UsageError(
            f"the CA bundle {settings.ca_bundle} is not a PEM certificate file ({error.reason}); "
            "fix --ca-bundle / SSL_CERT_FILE"
        ) from None


@functools.cache
def _context(ca_bundle: str | None, insecure: bool) -> ssl.SSLContext:
    """One context per trust configuration: building one loads the CA store (tens of ms)."""
    if insecure:
        print(
            "jira-brief: WARNING: --insecure turns TLS verification off: anyone on the network can read "
            "and change the tickets and briefs. Use --ca-bundle with your company's CA instead.",
            file=sys.stderr,
        )
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    context = ssl.create_default_context()
    if ca_bundle:
        context.load_verify_locations(cafile=ca_bundle)  # added to the system store, not instead of it
    return context


def requests_verify(settings: Settings) -> bool | str:
    """TLS verification as `requests` takes it (python-gitlab): the CA bundle's path (checked as for the
    other clients; for requests it replaces the default store instead of adding to it), True for the
    default store, False only with --insecure (warned)."""
    ssl_context(settings)
    if settings.insecure:
        return False
    return settings.ca_bundle or True


def tls_failure(error: BaseException) -> bool:
    """Whether a failure (or anything it was raised from) is a refused server certificate."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(cause):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def tls_advice(where: str) -> str:
    return f"TLS verification failed for {where}: pass --ca-bundle FILE (or SSL_CERT_FILE) with your CA"


@dataclass(frozen=True)
class BodyLimit:
    """How much of one answer is read: `limit` bytes (decoded), of a whole body, or of each event of a
    server-sent event stream when `per_event` (an MCP stream lives as long as the session)."""

    limit: int
    what: str  # who answers, for the error: "the model at …", "the Jira MCP server at …"
    per_event: bool = False


def http_client(
    settings: Settings,
    *,
    body: BodyLimit,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
    read_timeout: float | None = None,
    event_hooks: dict[str, list[Any]] | None = None,
) -> httpx2.AsyncClient:
    """An httpx2 client with our TLS and proxy settings (HTTPS_PROXY/NO_PROXY apply unless --proxy) that
    reads every response body incrementally, up to `body`: a server cannot make us hold more."""
    import httpx2

    from jira_brief.config.bodies import ENCODINGS, capping  # with httpx2, only once a client is made

    proxy = settings.proxy.reveal() if isinstance(settings.proxy, Secret) else None
    hooks = {**(event_hooks or {})}
    hooks["response"] = [capping(body.limit, body.what, body.per_event), *hooks.get("response", [])]
    return httpx2.AsyncClient(
        verify=ssl_context(settings),
        proxy=proxy,
        trust_env=True,
        headers={"Accept-Encoding": ", ".join(name for name in ENCODINGS if name != "identity"), **(headers or {})},
        timeout=httpx2.Timeout(timeout, read=read_timeout if read_timeout is not None else timeout),
        event_hooks=hooks,
    )


def describe_tls(settings: Settings) -> str:
    """One line saying which trust store and proxy are in effect (for `doctor`)."""
    import os

    trust = (
        "TLS verification OFF (--insecure)"
        if settings.insecure
        else (f"CA bundle {settings.ca_bundle}" if settings.ca_bundle else "system CA store")
    )
    if settings.proxy:
        proxy = "proxy from --proxy"
    elif any(os.environ.get(name) for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        proxy = "proxy from HTTPS_PROXY/ALL_PROXY (NO_PROXY honoured)"
    else:
        proxy = "no proxy"
    return f"{trust}; {proxy}"
