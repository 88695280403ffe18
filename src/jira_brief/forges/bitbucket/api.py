"""The Bitbucket Cloud REST API 2.0 as jira-brief uses it: one httpx2 client (our TLS and proxy settings,
the credential), pages followed by their `next` links, GETs retried, writes never blindly repeated, and
every refusal as one line that says what to change.

Facts it relies on (Bitbucket's REST reference and its users' reports, cited in tests/fakes/bitbucket_server.py):
- A page carries `values` and an absolute `next` link; `pagelen` is at most 100 (more answers 400).
- Errors are JSON `{"type": "error", "error": {"message", "detail"?, "fields"?, "id"?}}`, but wrong Basic
  credentials and rate limits answer plain text, and a request too big Django's HTML page. A missing
  scope answers 403 with `detail: {"granted": [...], "required": [...]}`.
- 429 comes without Retry-After; the allowance is about 1,000 requests an hour per credential. A GET backs
  off a few times; nothing waits an hour.
- A POST answered 5xx may have stored the comment, so it is never sent again blind (the caller lists the
  comments instead). PUT and DELETE are idempotent and retried like GETs.
- A pull request's diff answers 302 to a revspec diff on the same host. A link (redirect or `next`) that
  leaves the API's host is not followed: it would carry the credential elsewhere.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx2

from jira_brief.config.network import ssl_context, tls_advice, tls_failure
from jira_brief.config.settings import Settings
from jira_brief.config.values import Secret
from jira_brief.errors import UsageError
from jira_brief.forges.base import ForgeError
from jira_brief.forges.bitbucket import CREDENTIALS

DEFAULT_API_URL = "https://api.bitbucket.org/2.0"
PAGELEN = 100
ATTEMPTS = 4  # tries of an idempotent request that meets 429, 5xx or a network failure
BACKOFF = 1.0  # seconds before the first retry, doubled before each next one (1 + 2 + 4 s at most)
MAX_RETRY_AFTER = 30.0  # the longest Retry-After waited for, when Bitbucket sends one
TIMEOUT = 30.0
REDIRECTS = (301, 302, 303, 307, 308)
MESSAGE_CHARS = 240  # of Bitbucket's own message in our one line
Json = dict[str, Any]

NO_CREDENTIALS = (
    "no Bitbucket credentials: create a repository access token with the scope Pull requests: Write "
    "(Repository settings > Security > Access tokens) and add it as the secured repository variable "
    "JIRA_BRIEF_BITBUCKET_TOKEN (Repository settings > Pipelines > Repository variables), or set "
    "JIRA_BRIEF_BITBUCKET_EMAIL and JIRA_BRIEF_BITBUCKET_API_TOKEN (an Atlassian API token)"
)


class BitbucketError(ForgeError):
    """The Bitbucket API refused or failed; the message says what to change."""


@dataclass(frozen=True)
class Credential:
    """How requests authenticate: a repository access token (Bearer), or an Atlassian account's e-mail
    and API token (Basic)."""

    token: Secret
    email: str | None = None

    @property
    def access_token(self) -> bool:
        return self.email is None

    def header(self) -> str:
        if self.email is None:
            return f"Bearer {self.token.reveal()}"
        return "Basic " + base64.b64encode(f"{self.email}:{self.token.reveal()}".encode()).decode()

    @property
    def named(self) -> str:
        if self.email is None:
            return "the repository access token in JIRA_BRIEF_BITBUCKET_TOKEN"
        return "the API token in JIRA_BRIEF_BITBUCKET_API_TOKEN (with JIRA_BRIEF_BITBUCKET_EMAIL)"

    @property
    def scope_advice(self) -> str:
        if self.email is None:
            return "give the repository access token the scope Pull requests: Write"
        return (
            "create the API token with the scopes read:repository:bitbucket, read:pullrequest:bitbucket "
            "and write:pullrequest:bitbucket"
        )


def credential_from(environ: Mapping[str, str]) -> Credential | None:
    """The credential the environment gives: the access token first, else e-mail and API token."""

    def value(name: str) -> str:
        return environ.get(CREDENTIALS[name][0], "").strip()

    token, email, api_token = value("bitbucket-token"), value("bitbucket-email"), value("bitbucket-api-token")
    if token:
        return Credential(Secret(token))
    if email and api_token:
        return Credential(Secret(api_token), email)
    if email or api_token:
        given, missing = (
            ("JIRA_BRIEF_BITBUCKET_EMAIL", "JIRA_BRIEF_BITBUCKET_API_TOKEN")
            if email
            else ("JIRA_BRIEF_BITBUCKET_API_TOKEN", "JIRA_BRIEF_BITBUCKET_EMAIL")
        )
        raise UsageError(f"{given} is set but {missing} is not: an API token goes with its account's e-mail")
    return None


def message_of(response: httpx2.Response) -> tuple[str, Any]:
    """Bitbucket's own words for a failed answer, on one line, and the `detail` of a JSON error: the
    JSON error's message (with its fields and id), a text body, or an HTML page's text."""
    text = response.text[:20_000]
    detail: Any = None
    if "json" in response.headers.get("content-type", ""):
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        error = (data.get("error") or data) if isinstance(data, dict) else None
        if isinstance(error, dict):
            detail = error.get("detail")
            fields = error.get("fields")
            text = str(error.get("message") or "")
            if isinstance(fields, dict) and fields:
                text += " (" + ", ".join(f"{name}: {why}" for name, why in fields.items()) + ")"
            if isinstance(detail, str) and detail:
                text += f": {detail}"
            if error.get("id"):
                text += f" (error id {error['id']})"
    elif "html" in response.headers.get("content-type", ""):
        text = re.sub(r"<[^<>]*>", " ", text)  # no "<" inside: each tag is read once
    flat = " ".join(text.split())
    return (flat[:MESSAGE_CHARS] + "…" if len(flat) > MESSAGE_CHARS else flat) or "no message", detail


def refusal(response: httpx2.Response, doing: str, credential: Credential | None, what: str) -> BitbucketError:
    """One line for a failed answer: what failed, Bitbucket's words, and what to change."""
    status = response.status_code
    message, detail = message_of(response)
    named = credential.named if credential else "anonymous access (no credentials)"
    if status == 401:
        fix = f"check {named}: it may be wrong, expired or revoked (app passwords no longer work)"
        return BitbucketError(f"Bitbucket refused the credentials (401 {message}) while {doing}: {fix}")
    if status == 403 and isinstance(detail, dict) and detail.get("required"):
        needed, granted = ", ".join(map(str, detail["required"])), ", ".join(map(str, detail.get("granted") or []))
        advice = credential.scope_advice if credential else "set JIRA_BRIEF_BITBUCKET_TOKEN"
        return BitbucketError(
            f"{named} lacks the scope {needed} (it has: {granted or 'none'}) needed for {doing} (403): {advice}"
        )
    if status == 403:
        return BitbucketError(f"Bitbucket refused {doing} (403 {message}): check what {named} may do here")
    if status == 404:
        return BitbucketError(
            f"Bitbucket found no {what} while {doing} (404 {message}): check the name and that {named} "
            "can read this repository"
        )
    if status == 429:
        return BitbucketError(
            f"Bitbucket's rate limit was reached while {doing} (429 {message}); it allows about 1,000 "
            "API requests an hour per credential: try again later"
        )
    if status >= 500:
        return BitbucketError(f"Bitbucket failed while {doing} ({status} {message}); try again later")
    return BitbucketError(f"Bitbucket answered {status} while {doing}: {message}")


def _unreachable(error: httpx2.TransportError, doing: str) -> BitbucketError:
    if tls_failure(error):
        return BitbucketError(tls_advice(f"Bitbucket (while {doing})"))
    return BitbucketError(f"Bitbucket could not be reached while {doing}: {type(error).__name__}; try again later")


@dataclass
class Api:
    """The REST API under `base` (https://api.bitbucket.org/2.0), as one credential sees it."""

    http: httpx2.Client
    base: str
    credential: Credential | None
    backoff: float = BACKOFF
    sleep: Callable[[float], None] = time.sleep
    attempts: int = ATTEMPTS

    def _url(self, path_or_url: str) -> str:
        """An API path made absolute; an absolute link must stay on the API's scheme, host and port."""
        if "://" not in path_or_url:
            return self.base.rstrip("/") + path_or_url
        link, base = urlsplit(path_or_url), urlsplit(self.base)
        if (link.scheme, link.netloc) != (base.scheme, base.netloc):
            raise BitbucketError(f"Bitbucket linked to {link.scheme}://{link.netloc}, away from {base.netloc}")
        return path_or_url

    def _retrying(self, method: str, url: str, doing: str, *, stream: bool = False, **options: Any) -> httpx2.Response:
        """Send an idempotent request, again after 429, 5xx or a network failure (bounded backoff);
        the last answer whatever it is (a streamed one still open), or one line when the network
        never answered."""
        for attempt in range(self.attempts):
            last = attempt == self.attempts - 1
            try:
                response = self.http.send(self.http.build_request(method, url, **options), stream=stream)
            except httpx2.TransportError as error:
                if last or tls_failure(error):
                    raise _unreachable(error, doing) from None
                self.sleep(self.backoff * 2**attempt)
                continue
            if last or not (response.status_code == 429 or response.status_code >= 500):
                return response
            response.close()
            self.sleep(self._wait(response, attempt))
        raise AssertionError("unreachable")  # the loop returns or raises on its last attempt

    def _wait(self, response: httpx2.Response, attempt: int) -> float:
        after = response.headers.get("retry-after", "")
        return min(float(after), MAX_RETRY_AFTER) if after.isdigit() else self.backoff * 2**attempt

    def _followed(self, path: str, doing: str, *, stream: bool = False, **params: Any) -> httpx2.Response:
        """A GET after at most one redirect on the API's own host (a pull request's diff and diffstat
        answer 302 to a revspec URL, which carries its own query)."""
        url, query = self._url(path), params or None
        for _ in range(2):
            response = self._retrying("GET", url, doing, stream=stream, params=query)
            location = response.headers.get("location")
            if response.status_code not in REDIRECTS or not location:
                return response
            response.close()
            url, query = self._url(str(response.url.join(location))), None
        raise BitbucketError(f"Bitbucket redirected more than once while {doing}")

    def get(self, path: str, doing: str, what: str, **params: Any) -> Json:
        response = self._followed(path, doing, **params)
        if response.status_code != 200:
            raise refusal(response, doing, self.credential, what)
        return _json(response, doing)

    def get_if(self, path: str, doing: str, what: str, absent: int) -> Json | None:
        """Like `get`, but None when Bitbucket answers `absent` (a 403 for a scope that is optional)."""
        response = self._followed(path, doing)
        if response.status_code == absent:
            return None
        if response.status_code != 200:
            raise refusal(response, doing, self.credential, what)
        return _json(response, doing)

    def pages(self, path: str, doing: str, what: str, limit: int, **params: Any) -> Iterator[Json]:
        """The values of every page, following `next` as given, up to `limit` values."""
        url: str | None = path
        count = 0
        first = {"pagelen": PAGELEN, **params}
        while url is not None and count < limit:
            page = self.get(url, doing, what, **first)
            first = {}
            values = page.get("values")
            for value in values if isinstance(values, list) else []:
                if isinstance(value, dict) and count < limit:
                    count += 1
                    yield value
            url = page.get("next") if isinstance(page.get("next"), str) else None

    def text(self, path: str, doing: str, what: str, cap: int) -> tuple[str, bool]:
        """A text resource (after a redirect on the same host): its first `cap` bytes, the rest unread,
        and whether there was more."""
        response = self._followed(path, doing, stream=True)
        try:
            if response.status_code != 200:
                response.read()
                raise refusal(response, doing, self.credential, what)
            return _capped(response, cap)
        finally:
            response.close()

    def post(self, path: str, body: Json, doing: str, what: str) -> Json | None:
        """Create; None when Bitbucket failed in a way that may have stored it (5xx, a cut connection):
        the caller looks before trying again."""
        try:
            response = self.http.post(self._url(path), json=body)
        except httpx2.TransportError as error:
            if tls_failure(error) or isinstance(error, httpx2.ConnectError):
                raise _unreachable(error, doing) from None
            return None
        if response.status_code >= 500:
            return None
        if response.status_code not in (200, 201):
            raise refusal(response, doing, self.credential, what)
        return _json(response, doing)

    def put(self, path: str, body: Json, doing: str, what: str) -> Json | None:
        """Replace; None when the resource is gone (404)."""
        response = self._retrying("PUT", self._url(path), doing, json=body)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise refusal(response, doing, self.credential, what)
        return _json(response, doing)

    def delete(self, path: str, doing: str, what: str) -> None:
        """Delete; one already gone (404) is done."""
        response = self._retrying("DELETE", self._url(path), doing)
        if response.status_code not in (200, 204, 404):
            raise refusal(response, doing, self.credential, what)


def _capped(response: httpx2.Response, cap: int) -> tuple[str, bool]:
    """The first `cap` bytes of a streamed body as text, and whether there was more."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > cap:
            break
    return b"".join(chunks)[:cap].decode("utf-8", "replace"), size > cap


def _json(response: httpx2.Response, doing: str) -> Json:
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise BitbucketError(f"Bitbucket answered something other than a JSON object while {doing}")
    return data


def connect(settings: Settings, credential: Credential | None, api_url: str, *, backoff: float = BACKOFF) -> Api:
    """A client for `api_url` with our TLS and proxy settings; redirects are followed by hand (same host)."""
    proxy = settings.proxy.reveal() if isinstance(settings.proxy, Secret) else None
    headers = {"Accept": "application/json", "User-Agent": "jira-brief"}
    if credential is not None:
        headers["Authorization"] = credential.header()
    http = httpx2.Client(
        verify=ssl_context(settings),
        proxy=proxy,
        trust_env=True,
        headers=headers,
        timeout=httpx2.Timeout(TIMEOUT),
        follow_redirects=False,
    )
    return Api(http, api_url.rstrip("/"), credential, backoff)
