"""The GitLab REST API v4 as jira-brief uses it: a python-gitlab client whose retries are ours, failures as
one line that says what to change, and the merge request's notes as a `CommentThread`.

Facts this module relies on (gitlabhq and python-gitlab 8.6 sources):
- python-gitlab retries a 429 up to 10 times for every method, POST included, sleeping whatever
  Retry-After says, and with retry_transient_errors a 5xx too: a note GitLab stored before answering
  5xx would be posted twice. So every call turns python-gitlab's retries off, and the session's adapter
  retries GET, PUT and DELETE only (a 429 waits Retry-After, capped; a 5xx or a dropped connection
  backs off). A POST that reached GitLab is never sent again: the caller lists the notes instead.
- `GET /user` names the token's own user (a project or group access token's bot). The CI job token is
  refused there and on note creation (401), and on most other routes of a private project (404).
- Notes are listed newest first unless asked `sort=asc`; system notes are mixed in and never ours.
- A note is at most 1,000,000 characters; a note made only of quick actions is not stored (202, no id).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import gitlab
import requests
from requests.adapters import HTTPAdapter
from urllib3 import Retry

from jira_brief.config.network import tls_advice
from jira_brief.config.values import Secret
from jira_brief.errors import UsageError
from jira_brief.forges.base import ForgeError, Posted
from jira_brief.forges.gitlab import CREDENTIALS

# The longest wait for a rate limit (Retry-After) before trying again.
MAX_RATE_LIMIT_WAIT = 60.0
# Seconds before the notes are listed again after a POST that GitLab throttled without Retry-After.
THROTTLED_POST_PAUSE = 1.0
TIMEOUT = 30.0
PER_PAGE = 100
# python-gitlab's own retries, off for every call: ours are the session adapter's (`_retry`).
NO_RETRY: dict[str, Any] = {"obey_rate_limit": False, "retry_transient_errors": False, "max_retries": 0}
API_SUFFIX = "/api/v4"
TOKEN_ADVICE = (
    "create a project access token (Settings > Access tokens) with the api scope and the Developer role, "
    "and add it as a masked CI/CD variable GITLAB_TOKEN (Settings > CI/CD > Variables)"
)


class GitLabError(ForgeError):
    """The GitLab API refused or failed; the message says what to change."""


def token_from(environ: Mapping[str, str]) -> Secret | None:
    """The token for the API: JIRA_BRIEF_GITLAB_TOKEN, else GITLAB_TOKEN; never the job's CI_JOB_TOKEN."""
    variables = CREDENTIALS["gitlab-token"]
    value = next((environ[name] for name in reversed(variables) if environ.get(name, "").strip()), "")
    return Secret(value.strip()) if value.strip() else None


def missing_token(environ: Mapping[str, str]) -> UsageError:
    """The one line for a job without an API token, saying what to create and where to put it."""
    if environ.get("CI_JOB_TOKEN"):
        return UsageError(f"CI_JOB_TOKEN cannot write merge request notes: {TOKEN_ADVICE}")
    return UsageError(f"no GitLab token (JIRA_BRIEF_GITLAB_TOKEN or GITLAB_TOKEN): {TOKEN_ADVICE}")


class _Retry(Retry):
    """urllib3's retry with the rate-limit wait capped: GitLab may say Retry-After: 3600."""

    def get_retry_after(self, response: Any) -> float | None:
        seconds = super().get_retry_after(response)
        return None if seconds is None else min(seconds, MAX_RATE_LIMIT_WAIT)


def _retry(backoff: float) -> Retry:
    """GET, PUT and DELETE are tried again on 429 (after Retry-After) and 5xx; POST never once it was sent
    (a connection refused before sending is retried for every method: nothing reached GitLab)."""
    return _Retry(
        total=4,
        backoff_factor=backoff,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=frozenset({"GET", "PUT", "DELETE"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )


def base_url(api_url: str) -> str:
    """The instance's URL from CI_API_V4_URL (`https://host[/prefix]/api/v4`), as python-gitlab wants it."""
    url = api_url.strip().rstrip("/")
    if not url.endswith(API_SUFFIX) or urlsplit(url).scheme not in ("http", "https"):
        raise UsageError(f"CI_API_V4_URL must be GitLab's API URL, like https://gitlab.example.com/api/v4; got {url!r}")
    return url.removesuffix(API_SUFFIX)


def connect(token: Secret, api_url: str, verify: bool | str, *, backoff: float = 0.5) -> GitLabApi:
    """A python-gitlab client for CI_API_V4_URL (self-managed instances too): TLS `verify` is True, a CA
    bundle's path, or False only for --insecure; HTTPS_PROXY and NO_PROXY apply (requests reads them).
    Pagination links are kept on this URL, so the token is never sent to a host GitLab's answer names."""
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=_retry(backoff))
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    client = gitlab.Gitlab(
        url=base_url(api_url),
        private_token=token.reveal(),
        ssl_verify=verify,
        timeout=TIMEOUT,
        per_page=PER_PAGE,
        keep_base_url=True,
        session=session,
        user_agent="jira-brief",
    )
    return GitLabApi(client, urlsplit(api_url).hostname or api_url, pause=backoff and THROTTLED_POST_PAUSE)


def _message(error: gitlab.GitlabError) -> str:
    """GitLab's own words (`message`, else `error` and its `error_description`); nothing for an HTML page."""
    message = error.error_message
    text = str(message.get("error") or message) if isinstance(message, dict) else str(message)
    try:
        body = json.loads(error.response_body or b"")
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error_description"), str):
        text += f": {body['error_description']}"
    text = " ".join(text.split())
    return "" if text.startswith("<") else text[:300]


def _explain(status: int, message: str, doing: str, iid: int | None, write: bool) -> str:
    """One line for a refusal: what GitLab said and what to change."""
    said = f"{status} {message}".strip() if message and not message.startswith(str(status)) else message or str(status)
    mr = f"merge request !{iid}" if iid is not None else "the merge request"
    if status == 401:
        return f"GitLab rejected the token ({said}): check GITLAB_TOKEN; {TOKEN_ADVICE}"
    if status == 403 and ("insufficient_scope" in message or "higher privileges" in message):
        return f"the GitLab token lacks the api scope ({said}): {TOKEN_ADVICE}"
    if status == 403:
        verb = "write notes on" if write else "read"
        return f"the GitLab token may not {verb} {mr} ({said}): give the token's bot the Developer role or higher"
    if status == 404:
        return (
            f"{mr} was not found while {doing} ({said}): check CI_MERGE_REQUEST_IID or --mr, and that the "
            "token's project or group includes this project"
        )
    if status == 429:
        return f"GitLab kept rate-limiting the requests while {doing} ({said}); try again later"
    if status >= 500:
        return f"GitLab failed while {doing} ({said}); try again later"
    return f"GitLab answered {said} while {doing}"


@contextmanager
def gitlab_errors(doing: str, iid: int | None = None, *, write: bool = False, host: str = "") -> Iterator[None]:
    """Turn python-gitlab and network failures into one GitLabError line that says what to change."""
    try:
        yield
    except gitlab.GitlabError as error:
        status = error.response_code
        if status is None:
            raise GitLabError(f"GitLab's answer could not be read while {doing}; try again later") from None
        raise GitLabError(_explain(status, _message(error), doing, iid, write)) from None
    except requests.exceptions.SSLError:
        raise GitLabError(tls_advice(f"GitLab at {host or 'CI_API_V4_URL'}")) from None
    except requests.RequestException as error:
        raise GitLabError(
            f"GitLab at {host or 'CI_API_V4_URL'} could not be reached while {doing} ({type(error).__name__}): "
            "check CI_API_V4_URL, HTTPS_PROXY and NO_PROXY"
        ) from None


def _json_object(value: Any, doing: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise GitLabError(f"GitLab's answer was not a JSON object while {doing}; is CI_API_V4_URL GitLab's?")
    return value


@dataclass
class GitLabApi:
    """The few calls jira-brief makes, each with python-gitlab's retries off (the session retries)."""

    client: gitlab.Gitlab
    host: str
    pause: float = THROTTLED_POST_PAUSE

    def get(self, path: str, doing: str, iid: int | None = None, **query: Any) -> dict[str, Any]:
        with gitlab_errors(doing, iid, host=self.host):
            return _json_object(self.client.http_get(path, query_data=query, **NO_RETRY), doing)

    def pages(self, path: str, doing: str, iid: int | None = None, limit: int = 10_000, **query: Any) -> list[Any]:
        """Every item of a paginated list (up to `limit`), following GitLab's `Link: rel="next"`."""
        items: list[Any] = []
        with gitlab_errors(doing, iid, host=self.host):
            for item in self.client.http_list(path, query_data=query, iterator=True, per_page=PER_PAGE, **NO_RETRY):
                items.append(item)
                if len(items) >= limit:
                    break
        return items

    def post(self, path: str, data: dict[str, Any], doing: str, iid: int | None = None) -> dict[str, Any] | None:
        """Send once; None when GitLab may have stored it or throttled it (429, 5xx, a broken connection):
        the caller lists again rather than sending a second time."""
        with gitlab_errors(doing, iid, write=True, host=self.host):
            try:
                answer = self.client.http_post(path, post_data=data, **NO_RETRY)
            except gitlab.GitlabHttpError as error:
                if error.response_code == 429:
                    time.sleep(self.pause)
                    return None
                if error.response_code is None or error.response_code < 500:
                    raise
                return None
            except (requests.ConnectionError, requests.Timeout) as error:
                if isinstance(error, requests.exceptions.SSLError):
                    raise
                return None
        return answer if isinstance(answer, dict) else None

    def put(self, path: str, data: dict[str, Any], doing: str, iid: int | None = None) -> bool:
        """Replace; False when GitLab answers 404 (it is gone)."""
        with gitlab_errors(doing, iid, write=True, host=self.host):
            try:
                self.client.http_put(path, post_data=data, **NO_RETRY)
            except gitlab.GitlabHttpError as error:
                if error.response_code != 404:
                    raise
                return False
        return True

    def delete(self, path: str, doing: str, iid: int | None = None) -> None:
        """Delete; one already gone (404) is done."""
        with gitlab_errors(doing, iid, write=True, host=self.host):
            try:
                self.client.http_delete(path, **NO_RETRY)
            except gitlab.GitlabHttpError as error:
                if error.response_code != 404:
                    raise


def project_path(project: int | str) -> str:
    """A project in an API path: its numeric id, or its full path URL-encoded (`acme%2Fshop`)."""
    return quote(str(project), safe="")


@dataclass
class GitLabThread:
    """The merge request's notes, as a `CommentThread`. Note paths use the numeric project id."""

    api: GitLabApi
    project_id: int
    iid: int
    web_url: str
    username: str | None = None

    @property
    def _notes(self) -> str:
        return f"/projects/{self.project_id}/merge_requests/{self.iid}/notes"

    def listing(self) -> list[Posted]:
        """Every note a person or bot wrote, oldest first (every page; system notes left out)."""
        notes = self.api.pages(
            self._notes, "reading the merge request's notes", self.iid, sort="asc", order_by="created_at"
        )
        posted = [self._posted(note) for note in notes if isinstance(note, dict) and not note.get("system")]
        return sorted((note for note in posted if note is not None), key=lambda note: note.id)

    def identity(self) -> str:
        """Who our notes are by, asked once: the user behind the token (`GET /user`)."""
        if self.username is None:
            user = self.api.get("/user", "asking GitLab who the token is", self.iid)
            self.username = str(user.get("username") or "")
        return self.username

    def create(self, body: str) -> Posted | None:
        """Post once; None when GitLab may have stored it or did not say what it stored (list again)."""
        note = self.api.post(self._notes, {"body": body}, "writing the note", self.iid)
        posted = self._posted(note) if note is not None else None
        if posted is not None:
            self.username = posted.author
        return posted

    def edit(self, posted: Posted, body: str) -> bool:
        return self.api.put(f"{self._notes}/{posted.id}", {"body": body}, "writing the note", self.iid)

    def delete(self, posted: Posted) -> None:
        self.api.delete(f"{self._notes}/{posted.id}", "deleting our older note", self.iid)

    def _posted(self, note: dict[str, Any]) -> Posted | None:
        """A note as `Posted`; None for an answer without an id (a note of quick actions only, 202)."""
        author = note.get("author")
        if not isinstance(note.get("id"), int) or not isinstance(author, dict):
            return None
        note_id = int(note["id"])
        return Posted(note_id, str(note.get("body") or ""), str(author.get("username") or ""), self._url(note_id))

    def _url(self, note_id: int) -> str:
        return f"{self.web_url}#note_{note_id}"
