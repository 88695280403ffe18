"""A loopback fake of the Bitbucket Cloud REST API 2.0: one repository, its pull requests and their comments.

Why: a client that keeps one sticky comment on a Bitbucket pull request must be tested over real HTTP
(auth headers, `next` URLs, redirects, status codes and error bodies, 429 without Retry-After, a 5xx
after the comment was stored) without mocks or network, and its comment must be checked as Bitbucket
shows it (`content.html`), since Bitbucket escapes raw HTML where GitHub hides it.

Facts this fake reproduces, with their sources (checked in 2026):
- Errors are ``{"type": "error", "error": {"message": ..., "detail"?: ..., "fields"?: ..., "id"?: ...}}``
  (developer.atlassian.com/cloud/bitbucket/rest/intro/#standardized-error-responses; atlassian-python-api
  ``bitbucket/cloud/base.py`` reads ``error.message`` and ``error.detail``). ``detail`` may be an object:
  a missing scope answers 403 "Your credentials lack one or more required privilege scopes." with
  ``detail: {"granted": [...], "required": [...]}`` (atlassian-python-api issue #1260, where a dict
  ``detail`` broke its error handling). A 500 answers "Something went wrong" with an ``id``
  (jira.atlassian.com/browse/BCLOUD-22703). A POST or PUT with a key the schema does not know answers 400
  ``{"message": "Bad request", "fields": {"pending": "extra keys not allowed"}}`` (MatanYemini/bitbucket-mcp
  PR #132, checked against the live API; jenkins-x/jx issue #3076 for POST). A missing resource answers
  404 "Resource not found" (iterative/cml PR #581), and so does a PUT on a comment that is gone
  (mibexsoftware/sonar-bitbucket-plugin issue #110).
- Not every error is JSON. Wrong Basic credentials answer 401 in text/plain "Login failed due to incorrect
  login credentials or method. ..." (renovatebot/renovate issue #20533, GearPlug/bitbucket-python issue
  #10). A rate-limited request answers 429 in text/plain "Rate limit for this resource has been exceeded"
  and no Retry-After header (MitjaBezensek/SharpBucket issue #108, jenkinsci/bitbucket-branch-source-plugin
  PR #414; support.atlassian.com/bitbucket-cloud/kb/bitbucket-cloud-rate-limit-troubleshooting). A comment
  too big for the server answered 400 with the HTML body ``<h1>Bad Request (400)</h1>`` (runatlantis/
  atlantis issue #1251); that is Django's stock 400 page, so the fake refuses request bodies over Django's
  default DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MiB) that way. That threshold is an inference: no documented
  comment limit was found for Bitbucket Cloud (Atlantis posted 200k characters fine; 32,768 characters is
  Bitbucket Server/Data Center's limit, not Cloud's).
- A repository the credential cannot see, even anonymously, answers 404 "You may not have access to this
  repository or it no longer exists in this workspace. ..." (terraform-provider-bitbucket and several
  clients' fixtures).
- Access tokens (repository/project/workspace) are Bearer-only, and each has its own bot user named after
  the token: its comments show that user (developer.atlassian.com/cloud/bitbucket/rest/intro/#access-tokens).
  That user is an ``app_user`` (developer.atlassian.com/cloud/bitbucket/announcement-introducing-app-user;
  atlassian-python-api issues #1529 and #1570: ``Expected type of data is [user], got [app_user]`` on a
  pipeline's comment) with ``account_status``, ``kind`` and no ``nickname``. ``GET /2.0/user`` refuses it:
  401 "Token is invalid, expired, or not supported for this endpoint." (BCLOUD-23528, avivsinai/bitbucket-cli
  issue #174). Access tokens get X-RateLimit-Limit, X-RateLimit-Resource and X-RateLimit-NearLimit on
  /2.0/repositories/* (bitbucket.org/blog/introducing-scaled-rate-limits-for-bitbucket-cloud-api); other
  credentials get none of them.
- An Atlassian API token goes in Basic auth with the account's e-mail (support.atlassian.com/bitbucket-cloud/
  docs/using-api-tokens); ``GET /2.0/user`` answers for it.
- Pages: ``pagelen`` (default 10, at most 100; over the maximum or negative: 400 "Invalid pagelen"),
  ``page``, ``size``, ``next`` and ``previous`` as absolute URLs (developer.atlassian.com/cloud/bitbucket/
  rest/intro/#pagination; jenkinsci/bitbucket-branch-source-plugin PR #1182 for "Invalid pagelen").
  A pull request's commits page with opaque ``page`` tokens, no ``size``, and ``?page=1`` is "Invalid page"
  (BCLOUD-19593). A diffstat page holds 500 entries by default (the API reference's diffstat sample).
- Comments list oldest first, deleted ones included with ``deleted: true`` and their content blanked
  (bitbucket-mcp PR #132); a comment is ``{"content": {"raw", "markup": "markdown", "html", "type":
  "rendered"}, "user", "deleted", "pending", "pullrequest", "links", "created_on", "updated_on"}`` plus
  ``inline`` and ``parent`` when set (atlassian-python-api and jfrog/froggit-go test fixtures).
- A pull request's ``source.commit.hash`` and ``destination.commit.hash`` are 12-character short hashes;
  the commits list has full ones, newest first (atlassian-python-api and froggit-go fixtures).
  ``description`` is "" when empty.
- ``.../pullrequests/{id}/diff`` and ``.../diffstat`` answer 302, text/html, empty body, to
  ``/2.0/repositories/{ws}/{slug}/diff/{ws}/{slug}:{source12}%0D{destination12}?from_pullrequest_id={id}
  &topic=true`` (ktrysmt/go-bitbucket issue #332, bitbucket-mcp PR #85). The diff is text/plain in git's
  format; a binary file is git's "Binary files a/x and b/x differ" and a rename git's "rename from/rename
  to" (Bitbucket computes diffs with git; the exact bytes are not documented). Diffstat statuses are
  added, removed, modified, renamed (plus conflict statuses this fake does not produce); ``old`` is null
  for an added file and ``new`` for a removed one.
- Comment Markdown is Python-Markdown with raw HTML escaped ("we use safe mode",
  bitbucket.org/tutorials/markdowndemo): ``<!-- x -->`` shows as text and ``<details>`` does not fold;
  entities such as ``&nbsp;`` show literally; a link reference definition ``[x]: url`` renders nothing;
  tables, fenced code and ``~~strike~~`` work. A mention is ``@{account_id}`` and renders as
  ``<span class="ap-mention" data-atlassian-id="...">@Name</span>`` (mattermost-plugin-bitbucket fixtures;
  a plain ``@name`` mentions nobody, mindcockpit-ai/cognitive-core issue #204).

Assumptions, where no source said (each is the stricter choice for a client under test): bare http(s)
URLs in a comment become links; only a comment's author may edit or delete it (403 otherwise);
X-RateLimit-NearLimit turns "true" once less than a fifth of the allowance is left; a diffstat page
holds at most 500 entries; an anonymous write answers the plain-text 401; all raw HTML is escaped,
although Atlassian closed BCLOUD-6930 ("Support some or all HTML in Markdown") as shipped without
saying which tags or which pages. Issue, commit and Jira-key autolinks depend on each repository's
link settings and are not reproduced.
"""

from __future__ import annotations

import base64
import functools
import json
import math
import re
import uuid as uuid_module
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from hashlib import sha1
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

import markdown
from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor, SimpleTagInlineProcessor

from tests.fakes.loopback import Fault, Faults, LoopbackFake, Request, Response, encode

Json = dict[str, Any]
Recorded = tuple[str, str, Json | None]
Body = Json | str | None

API = "/2.0"
WEB_URL = "https://bitbucket.org"
DEFAULT_PAGELEN = 10
MAX_PAGELEN = 100
DIFFSTAT_PAGELEN = 500
MAX_REQUEST_BYTES = 2_621_440  # Django's DATA_UPLOAD_MAX_MEMORY_SIZE; see the module docstring
RATE_LIMIT_PER_HOUR = 1000

LOGIN_FAILED = (
    "Login failed due to incorrect login credentials or method.\n"
    "For information on authentication methods for Bitbucket Cloud APIs, visit:\n"
    "    https://developer.atlassian.com/cloud/bitbucket/rest/intro/#authentication\n"
    "If you are unsure of which login details or login method to use, visit:\n"
    "    https://support.atlassian.com/bitbucket-cloud/docs/log-into-or-connect-to-bitbucket-cloud/\n"
)
TOKEN_REFUSED = "Token is invalid, expired, or not supported for this endpoint."
NO_REPOSITORY = (
    "You may not have access to this repository or it no longer exists in this workspace. "
    "If you think this repository exists and you have access, make sure you are authenticated."
)
LACKS_SCOPES = "Your credentials lack one or more required privilege scopes."
RATE_LIMITED = "Rate limit for this resource has been exceeded"
TOO_BIG = "<h1>Bad Request (400)</h1>"
NOT_FOUND = "Resource not found"
# The message of an answer no source spelled out; the status code is the usual one.
NOT_YOURS = "You can only edit or delete your own comments"

_REPO = r"/repositories/(?P<workspace>[^/]+)/(?P<slug>[^/]+)"
_PULL = _REPO + r"/pullrequests/(?P<pull_id>\d+)"


@dataclass(frozen=True)
class Account:
    """A Bitbucket account as the API shows it: a person (``user``) or a token's bot (``app_user``)."""

    display_name: str
    uuid: str
    account_id: str
    type: Literal["user", "app_user"] = "user"
    nickname: str | None = None
    kind: str | None = None

    def to_json(self) -> Json:
        """The account object embedded in comments, pull requests and /2.0/user."""
        quoted = quote(self.uuid, safe="")
        data: Json = {
            "type": self.type,
            "display_name": self.display_name,
            "uuid": self.uuid,
            "account_id": self.account_id,
            "links": {
                "self": {"href": f"https://api.bitbucket.org/2.0/users/{quoted}"},
                "html": {"href": f"{WEB_URL}/{quoted}/"},
                "avatar": {"href": f"https://avatar-management.example/{self.account_id}/128"},
            },
        }
        if self.type == "user":
            data["nickname"] = self.nickname or self.display_name
        else:
            data |= {"account_status": "active", "kind": self.kind or "repository_access_token"}
        return data


def make_account(display_name: str, *, type: Literal["user", "app_user"] = "user", kind: str | None = None) -> Account:
    """An account with a stable uuid and account_id derived from its name."""
    digest = sha1(f"{type}:{display_name}".encode()).hexdigest()
    return Account(
        display_name=display_name,
        uuid="{" + str(uuid_module.UUID(digest[:32])) + "}",
        account_id=f"712020:{uuid_module.UUID(digest[8:40])}",
        type=type,
        nickname=display_name.split()[0].lower() if type == "user" else None,
        kind=kind,
    )


@dataclass
class FileChange:
    """One changed file of a pull request: ``patch`` is the hunks ("@@ ... @@" and after), None if binary."""

    path: str
    status: Literal["added", "removed", "modified", "renamed"] = "modified"
    patch: str | None = ""
    old_path: str | None = None

    @property
    def binary(self) -> bool:
        return self.patch is None

    def counts(self) -> tuple[int, int]:
        """Lines added and removed, as diffstat counts them (0 and 0 for a binary file)."""
        lines = (self.patch or "").splitlines()
        added = sum(1 for line in lines if line.startswith("+") and not line.startswith("+++"))
        removed = sum(1 for line in lines if line.startswith("-") and not line.startswith("---"))
        return added, removed


@dataclass
class _Pull:
    id: int
    title: str
    description: str
    source_branch: str
    source_repo: str
    destination_branch: str
    author: Account
    commits: list[str]
    created_on: str
    files: list[FileChange] = field(default_factory=list)


@dataclass
class _Comment:
    id: int
    pull_id: int
    raw: str
    user: Account
    created_on: str
    updated_on: str
    deleted: bool = False
    pending: bool = False
    inline: Json | None = None
    parent: int | None = None


@dataclass
class _Reply:
    """One HTTP answer: status, body (JSON, text or nothing), its content type and extra headers."""

    status: int
    body: Json | str | None = None
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> Response:
        """On the wire: no Content-Type for a 204, a Content-Length always."""
        payload = encode(self.body)
        entity = [("Content-Type", self.content_type)] if self.status != 204 else []
        entity.append(("Content-Length", str(len(payload))))
        return Response(self.status, entity + list(self.headers.items()), payload)


@dataclass
class _Fault(Fault):
    body: Body = None

    def reply(self) -> _Reply:
        """The scripted answer; by default the body Bitbucket gives for that status."""
        if isinstance(self.body, str):
            return _Reply(self.status, self.body, "text/plain; charset=utf-8", dict(self.headers))
        if self.body is not None:
            return _Reply(self.status, self.body, headers=dict(self.headers))
        reply = _default_reply(self.status)
        reply.headers |= self.headers
        return reply


@dataclass(frozen=True)
class _Caller:
    """Who a request authenticated as: the access token's bot, the Basic account, or nobody."""

    account: Account | None
    credential: Literal["access_token", "api_token", "anonymous"]


def _now() -> str:
    """Bitbucket's timestamp format: ISO 8601 with microseconds and +00:00."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _error(status: int, message: str, **extra: Any) -> _Reply:
    """Bitbucket's JSON error body."""
    return _Reply(status, {"type": "error", "error": {"message": message, **extra}})


def _text(status: int, text: str, content_type: str = "text/plain; charset=utf-8") -> _Reply:
    return _Reply(status, text, content_type)


def _default_reply(status: int) -> _Reply:
    """What Bitbucket answers for a status when nothing more specific is scripted."""
    if status == 429:
        return _text(429, RATE_LIMITED)
    if status == 401:
        return _text(401, LOGIN_FAILED, "text/plain")
    if status >= 500:
        return _error(status, "Something went wrong", id=sha1(str(status).encode()).hexdigest()[:32])
    if status == 403:
        return _error(403, LACKS_SCOPES, detail={"granted": ["pullrequest"], "required": ["pullrequest:write"]})
    if status == 404:
        return _error(404, NOT_FOUND)
    return _error(status, "Bad request")


def _sha(text: str) -> str:
    """A stable fake 40-hex commit id."""
    return sha1(text.encode()).hexdigest()


# ---- Markdown as Bitbucket renders it --------------------------------------------------------------


_ENTITY = r"(&(?:\#[0-9]+|\#[xX][0-9a-fA-F]+|[A-Za-z0-9]+);)"
_BARE_URL = r"(?<![\w/\"'=<])(https?://[^\s<>\"'`]*[^\s<>\"'`.,;:!?)\]])"


class _EscapedEntity(InlineProcessor):
    """Show an entity such as &nbsp; literally, as Bitbucket's escaping of raw HTML does."""

    def handleMatch(self, m: re.Match[str], data: str) -> tuple[str, int, int]:  # type: ignore[override]
        return self.md.htmlStash.store("&amp;" + m.group(1)[1:]), m.start(0), m.end(0)


class _Mention(InlineProcessor):
    """``@{account_id}`` of a known account becomes Bitbucket's mention span."""

    def __init__(self, pattern: str, accounts: Mapping[str, Account]) -> None:
        super().__init__(pattern)
        self.accounts = accounts

    def handleMatch(  # type: ignore[override]
        self, m: re.Match[str], data: str
    ) -> tuple[ElementTree.Element | None, int | None, int | None]:
        account = self.accounts.get(m.group(1))
        if account is None:
            return None, None, None
        element = ElementTree.Element("span", {"class": "ap-mention", "data-atlassian-id": account.account_id})
        element.text = "@" + (account.nickname or account.display_name)
        return element, m.start(0), m.end(0)


class _BareUrl(InlineProcessor):
    """Link a bare http(s) URL."""

    def handleMatch(self, m: re.Match[str], data: str) -> tuple[ElementTree.Element, int, int]:  # type: ignore[override]
        element = ElementTree.Element("a", {"href": m.group(1), "rel": "nofollow"})
        element.text = m.group(1)
        return element, m.start(0), m.end(0)


class BitbucketFlavour(Extension):
    """Python-Markdown as Bitbucket Cloud runs it for comments: raw HTML and entities escaped, plus
    strikethrough, mentions and bare-URL links (tables and fenced code come from their own extensions)."""

    def __init__(self, accounts: Mapping[str, Account] | None = None) -> None:
        super().__init__()
        self.accounts = dict(accounts or {})

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        md.inlinePatterns.register(_EscapedEntity(_ENTITY, md), "entity", 80)
        md.inlinePatterns.register(SimpleTagInlineProcessor(r"()~~(.+?)~~", "del"), "strikethrough", 65)
        md.inlinePatterns.register(_Mention(r"@\{([^}\s]+)\}", self.accounts), "mention", 62)
        md.inlinePatterns.register(_BareUrl(_BARE_URL, md), "bare_url", 61)


def render_markdown(raw: str, accounts: Mapping[str, Account] | Sequence[Account] = ()) -> str:
    """``content.html`` of a comment whose ``content.raw`` is ``raw``, as Bitbucket Cloud renders it.

    accounts: the accounts a ``@{account_id}`` mention can name (by account_id, or a sequence).
    """
    listed = accounts.values() if isinstance(accounts, Mapping) else accounts
    return _render(raw, tuple(sorted(listed, key=lambda account: account.account_id)))


@functools.lru_cache(maxsize=1024)
def _render(raw: str, accounts: tuple[Account, ...]) -> str:
    """One conversion with a fresh Markdown instance (instances are not thread-safe); cached, since
    every listing renders every comment again."""
    by_id = {account.account_id: account for account in accounts}
    renderer = markdown.Markdown(extensions=[BitbucketFlavour(by_id), "tables", "fenced_code"])
    return renderer.convert(raw)


# ---- the fake ----------------------------------------------------------------------------------------


class FakeBitbucket(LoopbackFake[Recorded]):
    """Bitbucket Cloud REST API 2.0 on 127.0.0.1 for one repository; use as a context manager.

    ``url`` is the root URL, the stand-in for https://api.bitbucket.org (atlassian's ``Cloud(url=...)``
    wants this); ``requests`` holds (method, path with query, JSON body) of every request.
    """

    methods = frozenset({"GET", "POST", "PUT", "DELETE"})  # comments are edited with PUT; PATCH answers 501

    def __init__(
        self,
        *,
        workspace: str = "acme",
        repo_slug: str = "shop",
        access_token: str = "bb-access-token-test",
        token_name: str = "jira-brief",
        email: str = "dana@example.com",
        api_token: str = "atlassian-api-token-test",
        display_name: str = "Dana Dev",
        private: bool = True,
    ) -> None:
        """access_token: the repository access token (Bearer) that comments as the bot ``token_name``.

        email/api_token: the Atlassian account (Basic) that comments as ``display_name``.
        private: anonymous requests see the repository only when False.
        """
        super().__init__()
        self.workspace = workspace
        self.repo_slug = repo_slug
        self.full_name = f"{workspace}/{repo_slug}"
        self.access_token = access_token
        self.email = email
        self.api_token = api_token
        self.private = private
        self.bot = make_account(token_name, type="app_user", kind="repository_access_token")
        self.account = make_account(display_name)
        self.read_only = False  # True: writes answer 403 for a missing scope, as a read-only token gets
        self.rate_limit: int | None = None  # requests a credential may make before 429; None: no limit
        self.max_request_bytes = MAX_REQUEST_BYTES
        self.repo_uuid = "{" + str(uuid_module.UUID(_sha(self.full_name)[:32])) + "}"
        self._accounts: dict[str, Account] = {a.account_id: a for a in (self.bot, self.account)}
        self._pulls: dict[int, _Pull] = {}
        self._comments: dict[int, _Comment] = {}
        self._faults: Faults[_Fault] = Faults()
        self._spent: dict[str, int] = {}
        self._cursors: dict[str, int] = {}
        self._next_comment_id = 600_000_001
        self._routes = self._route_table()

    @property
    def api_url(self) -> str:
        """Base of the 2.0 API, e.g. http://127.0.0.1:PORT/2.0."""
        return self.url + API

    def basic_auth(self) -> str:
        """The Authorization header value of the account's e-mail and API token."""
        return "Basic " + base64.b64encode(f"{self.email}:{self.api_token}".encode()).decode()

    # ---- arranging state -------------------------------------------------

    def add_user(self, display_name: str) -> Account:
        """A person who can author comments and be mentioned."""
        account = make_account(display_name)
        with self._lock:
            self._accounts[account.account_id] = account
        return account

    def add_pull(
        self,
        pull_id: int,
        *,
        title: str,
        source_branch: str,
        description: str = "",
        commits: Sequence[str] = (),
        source_repo: str | None = None,
        destination_branch: str = "main",
        author: Account | None = None,
    ) -> None:
        """An open pull request; commits are messages, oldest first; source_repo != this one is a fork."""
        pull = _Pull(
            pull_id,
            title,
            description,
            source_branch,
            source_repo or self.full_name,
            destination_branch,
            author or self.account,
            list(commits),
            _now(),
        )
        with self._lock:
            self._pulls[pull_id] = pull

    def add_file(
        self,
        pull_id: int,
        path: str,
        *,
        status: Literal["added", "removed", "modified", "renamed"] = "modified",
        patch: str | None = "@@ -1 +1 @@\n-old\n+new\n",
        old_path: str | None = None,
    ) -> None:
        """A changed file: ``patch`` holds the hunks, None for a binary file; ``old_path`` for a rename."""
        if status == "renamed" and old_path is None:
            raise ValueError("a renamed file needs old_path")
        with self._lock:
            self._pulls[pull_id].files.append(FileChange(path, status, patch, old_path))

    def add_comment(
        self,
        pull_id: int,
        raw: str,
        *,
        author: Account | None = None,
        deleted: bool = False,
        inline: Json | None = None,
        parent: int | None = None,
    ) -> int:
        """A pre-existing comment (by the Basic account unless ``author``); returns its id."""
        with self._lock:
            if pull_id not in self._pulls:
                raise ValueError(f"add_pull({pull_id}) first")
            comment = self._store_comment(pull_id, raw, author or self.account, inline=inline, parent=parent)
            if deleted:
                comment.deleted = True
            return comment.id

    def comments(self, pull_id: int) -> list[Json]:
        """Every comment of a pull request, deleted ones included, in the JSON shape the API returns."""
        with self._lock:
            return [self._comment_json(c) for c in self._comments.values() if c.pull_id == pull_id]

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int,
        *,
        after_apply: bool = False,
        headers: dict[str, str] | None = None,
        body: Body = None,
    ) -> None:
        """Answer the next `method` request whose path matches (re.search) with `status`.

        Consumed once. after_apply=True performs the operation first, to reproduce "Bitbucket stored
        the comment but answered 5xx". body: a dict is sent as JSON, a str as text/plain; by default
        the body Bitbucket gives for that status (text/plain for 429 and 401, JSON otherwise).
        """
        fault = _Fault(method.upper(), re.compile(path_regex), status, after_apply, headers or {}, body)
        with self._lock:
            self._faults.add(fault)

    # ---- request handling --------------------------------------------------

    def respond(self, request: Request) -> Response:
        """`handle` on the wire."""
        reply = self.handle(request.method, request.target, request.headers.get("Authorization"), request.body)
        return reply.response()

    def handle(self, method: str, target: str, authorization: str | None, raw: bytes) -> _Reply:
        """Answer one request; called by the HTTP handler thread."""
        parsed = self._parse_json(raw)
        with self._lock:
            self._requests.append((method, target, parsed if isinstance(parsed, dict) else None))
            caller = self._authenticate(authorization)
            if isinstance(caller, _Reply):
                return caller
            split = urlsplit(target)
            limited = self._spend(caller)
            if limited is not None:
                return limited
            if len(raw) > self.max_request_bytes:
                return _text(400, TOO_BIG, "text/html; charset=utf-8")
            if parsed is ValueError:
                return _error(400, "Bad request", detail="Malformed JSON")
            fault = self._faults.take(method, split.path)
            if fault is not None and not fault.after_apply:
                reply = fault.reply()
            else:
                reply = self._dispatch(method, split.path, dict(parse_qsl(split.query)), parsed, caller)
                if fault is not None:
                    reply = fault.reply()
            reply.headers = self._rate_headers(caller, split.path) | reply.headers
            return reply

    @staticmethod
    def _parse_json(raw: bytes) -> Any:
        """Request body as JSON; None when empty, the ValueError class when invalid."""
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return ValueError

    def _authenticate(self, authorization: str | None) -> _Caller | _Reply:
        """Bearer access token, Basic e-mail:API token, or anonymous; anything else answers 401."""
        if not authorization:
            return _Caller(None, "anonymous")
        scheme, _, credential = authorization.partition(" ")
        credential = credential.strip()
        if scheme.lower() == "bearer":
            if credential == self.access_token:
                return _Caller(self.bot, "access_token")
            return _error(401, TOKEN_REFUSED)
        if scheme.lower() == "basic":
            try:
                user, _, secret = base64.b64decode(credential, validate=True).decode().partition(":")
            except ValueError:
                user = secret = ""
            if user == self.email and secret == self.api_token:
                return _Caller(self.account, "api_token")
        reply = _text(401, LOGIN_FAILED, "text/plain")
        reply.headers["WWW-Authenticate"] = 'BitbucketCustom realm="Bitbucket.org HTTP"'
        return reply

    def _spend(self, caller: _Caller) -> _Reply | None:
        """Count the request against the caller's allowance; 429 once it is spent."""
        if self.rate_limit is None:
            return None
        key = caller.credential
        self._spent[key] = self._spent.get(key, 0) + 1
        return _text(429, RATE_LIMITED) if self._spent[key] > self.rate_limit else None

    def _rate_headers(self, caller: _Caller, path: str) -> dict[str, str]:
        """The scaled-rate-limit headers: access tokens only, /2.0/repositories/* only."""
        if caller.credential != "access_token" or not path.startswith(API + "/repositories/"):
            return {}
        limit = self.rate_limit or RATE_LIMIT_PER_HOUR
        remaining = limit - self._spent.get(caller.credential, 0)
        near = "true" if remaining < limit / 5 else "false"
        return {"X-RateLimit-Limit": str(limit), "X-RateLimit-Resource": "api", "X-RateLimit-NearLimit": near}

    def _route_table(self) -> list[tuple[str, re.Pattern[str], Callable[..., _Reply]]]:
        """(method, path regex under /2.0, handler) for every supported endpoint."""
        table: list[tuple[str, str, Callable[..., _Reply]]] = [
            ("GET", r"/user", self._get_user),
            ("GET", _REPO, self._get_repo),
            ("GET", _PULL, self._get_pull),
            ("GET", _PULL + r"/commits", self._list_commits),
            ("GET", _PULL + r"/diff", self._redirect_diff),
            ("GET", _PULL + r"/diffstat", self._redirect_diffstat),
            ("GET", _REPO + r"/diff/(?P<spec>.+)", self._get_diff),
            ("GET", _REPO + r"/diffstat/(?P<spec>.+)", self._get_diffstat),
            ("GET", _PULL + r"/comments", self._list_comments),
            ("POST", _PULL + r"/comments", self._create_comment),
            ("GET", _PULL + r"/comments/(?P<comment_id>\d+)", self._get_comment),
            ("PUT", _PULL + r"/comments/(?P<comment_id>\d+)", self._edit_comment),
            ("DELETE", _PULL + r"/comments/(?P<comment_id>\d+)", self._delete_comment),
        ]
        return [(method, re.compile(pattern), handler) for method, pattern, handler in table]

    def _dispatch(self, method: str, path: str, query: dict[str, str], body: Any, caller: _Caller) -> _Reply:
        """Route to a handler; another repository, or this one hidden from an anonymous caller, is 404."""
        if not path.startswith(API + "/"):
            return _error(404, NOT_FOUND)
        path = path.removeprefix(API).rstrip("/") or "/"
        matches = [(m, pattern.fullmatch(path), handler) for m, pattern, handler in self._routes]
        found = [(m, match, handler) for m, match, handler in matches if match is not None]
        if not found:
            return _error(404, NOT_FOUND)
        params = found[0][1].groupdict()
        if "workspace" in params:
            repo = f"{params.pop('workspace')}/{params.pop('slug')}"
            if repo.lower() != self.full_name.lower() or (self.private and caller.account is None):
                return _error(404, NO_REPOSITORY)
        for route_method, _, handler in found:
            if route_method == method:
                return handler(query=query, body=body, caller=caller, **params)
        return _error(405, f"Method {method} not allowed")

    # ---- endpoints -----------------------------------------------------------

    def _get_user(self, caller: _Caller, **_: Any) -> _Reply:
        """An access token cannot read /2.0/user; an API token (Basic) can."""
        if caller.credential == "access_token":
            return _error(401, TOKEN_REFUSED)
        if caller.account is None:
            return _text(401, LOGIN_FAILED, "text/plain")
        account = caller.account
        return _Reply(200, account.to_json() | {"created_on": "2020-01-02T03:04:05.000000+00:00", "is_staff": False})

    def _get_repo(self, **_: Any) -> _Reply:
        return _Reply(200, self._repo_json(self.full_name))

    def _pull(self, pull_id: str) -> _Pull | _Reply:
        pull = self._pulls.get(int(pull_id))
        return pull if pull is not None else _error(404, NOT_FOUND)

    def _get_pull(self, pull_id: str, **_: Any) -> _Reply:
        pull = self._pull(pull_id)
        return pull if isinstance(pull, _Reply) else _Reply(200, self._pull_json(pull))

    def _list_commits(self, pull_id: str, query: dict[str, str], **_: Any) -> _Reply:
        """Newest first, paged by opaque tokens: no `size`, and `page=1` is not a valid page."""
        pull = self._pull(pull_id)
        if isinstance(pull, _Reply):
            return pull
        pagelen = self._pagelen(query, DEFAULT_PAGELEN, MAX_PAGELEN)
        if isinstance(pagelen, _Reply):
            return pagelen
        token = query.get("page")
        start = 0 if token is None else self._cursors.get(token)
        if start is None:
            return _error(400, "Invalid page")
        commits = [self._commit_json(pull, i) for i in reversed(range(len(pull.commits)))]
        data: Json = {"pagelen": pagelen, "values": commits[start : start + pagelen]}
        if start + pagelen < len(commits):
            cursor = _sha(f"{pull.id}:{start + pagelen}")[:6]
            self._cursors[cursor] = start + pagelen
            params = {key: value for key, value in query.items() if key != "page"} | {"page": cursor}
            data["next"] = f"{self.api_url}/repositories/{self.full_name}/pullrequests/{pull.id}/commits?" + urlencode(
                params
            )
        return _Reply(200, data)

    def _spec(self, pull: _Pull) -> str:
        """The revspec Bitbucket redirects a pull request's diff to: ws/slug:source12%0Ddestination12."""
        return f"{self.full_name}:{self._source_hash(pull)[:12]}%0D{self._destination_hash(pull)[:12]}"

    def _redirect(self, kind: str, pull_id: str) -> _Reply:
        pull = self._pull(pull_id)
        if isinstance(pull, _Reply):
            return pull
        location = (
            f"{self.api_url}/repositories/{self.full_name}/{kind}/{self._spec(pull)}"
            f"?from_pullrequest_id={pull.id}&topic=true"
        )
        return _Reply(302, "", "text/html; charset=utf-8", {"Location": location})

    def _redirect_diff(self, pull_id: str, **_: Any) -> _Reply:
        return self._redirect("diff", pull_id)

    def _redirect_diffstat(self, pull_id: str, **_: Any) -> _Reply:
        return self._redirect("diffstat", pull_id)

    def _pull_of_spec(self, spec: str, query: dict[str, str]) -> _Pull | _Reply:
        """The pull request a diff spec names: by from_pullrequest_id, checked against the spec."""
        pull_id = query.get("from_pullrequest_id", "")
        pull = self._pulls.get(int(pull_id)) if pull_id.isdigit() else None
        if pull is not None and unquote(spec) == unquote(self._spec(pull)):
            return pull
        return _error(404, NOT_FOUND)

    def _get_diff(self, spec: str, query: dict[str, str], **_: Any) -> _Reply:
        pull = self._pull_of_spec(spec, query)
        if isinstance(pull, _Reply):
            return pull
        return _text(200, "".join(self._file_diff(change) for change in pull.files))

    def _get_diffstat(self, spec: str, query: dict[str, str], **_: Any) -> _Reply:
        pull = self._pull_of_spec(spec, query)
        if isinstance(pull, _Reply):
            return pull
        path = f"{API}/repositories/{self.full_name}/diffstat/{spec}"
        entries = [self._diffstat_json(pull, change) for change in pull.files]
        return self._paginate(path, query, entries, DIFFSTAT_PAGELEN, DIFFSTAT_PAGELEN)

    def _list_comments(self, pull_id: str, query: dict[str, str], **_: Any) -> _Reply:
        pull = self._pull(pull_id)
        if isinstance(pull, _Reply):
            return pull
        comments = [c for c in self._comments.values() if c.pull_id == pull.id]
        selected = self._query(comments, query.get("q"))
        if isinstance(selected, _Reply):
            return selected
        ordered = self._sort(selected, query.get("sort"))
        if isinstance(ordered, _Reply):
            return ordered
        path = f"{API}/repositories/{self.full_name}/pullrequests/{pull.id}/comments"
        return self._paginate(path, query, [self._comment_json(c) for c in ordered], DEFAULT_PAGELEN, MAX_PAGELEN)

    def _create_comment(self, pull_id: str, body: Any, caller: _Caller, **_: Any) -> _Reply:
        pull = self._pull(pull_id)
        if isinstance(pull, _Reply):
            return pull
        refusal = self._refuse_write(body, caller, {"content", "inline", "parent", "pending"})
        if refusal is not None:
            return refusal
        assert caller.account is not None
        parent = body.get("parent", {}).get("id") if isinstance(body.get("parent"), dict) else None
        if parent is not None and self._comments.get(parent) is None:
            return _error(400, "Bad request", fields={"parent": "No such comment"})
        comment = self._store_comment(
            pull.id, body["content"]["raw"], caller.account, inline=body.get("inline"), parent=parent
        )
        comment.pending = bool(body.get("pending", False))
        data = self._comment_json(comment)
        return _Reply(201, data, headers={"Location": data["links"]["self"]["href"]})

    def _comment(self, pull_id: str, comment_id: str) -> _Comment | _Reply:
        comment = self._comments.get(int(comment_id))
        if comment is None or comment.pull_id != int(pull_id):
            return _error(404, NOT_FOUND)
        return comment

    def _get_comment(self, pull_id: str, comment_id: str, **_: Any) -> _Reply:
        comment = self._comment(pull_id, comment_id)
        return comment if isinstance(comment, _Reply) else _Reply(200, self._comment_json(comment))

    def _edit_comment(self, pull_id: str, comment_id: str, body: Any, caller: _Caller, **_: Any) -> _Reply:
        comment = self._comment(pull_id, comment_id)
        if isinstance(comment, _Reply):
            return comment
        refusal = self._refuse_write(body, caller, {"content"})
        if refusal is not None:
            return refusal
        if comment.deleted:
            return _error(404, NOT_FOUND)
        if caller.account != comment.user:
            return _error(403, NOT_YOURS)
        comment.raw, comment.updated_on = body["content"]["raw"], _now()
        return _Reply(200, self._comment_json(comment))

    def _delete_comment(self, pull_id: str, comment_id: str, caller: _Caller, **_: Any) -> _Reply:
        comment = self._comment(pull_id, comment_id)
        if isinstance(comment, _Reply):
            return comment
        if caller.account is None:
            return _text(401, LOGIN_FAILED, "text/plain")
        if self.read_only:
            return self._scope_refusal(caller)
        if comment.deleted:
            return _error(404, NOT_FOUND)
        if caller.account != comment.user:
            return _error(403, NOT_YOURS)
        comment.deleted, comment.updated_on = True, _now()
        return _Reply(204)

    def _refuse_write(self, body: Any, caller: _Caller, allowed: set[str]) -> _Reply | None:
        """401 anonymous, 403 read-only, 400 for unknown keys or a missing content.raw, else None."""
        if caller.account is None:
            return _text(401, LOGIN_FAILED, "text/plain")
        if self.read_only:
            return self._scope_refusal(caller)
        if not isinstance(body, dict):
            return _error(400, "Bad request", fields={"content": "required key not provided"})
        extra = sorted(set(body) - allowed)
        if extra:
            return _error(400, "Bad request", fields={key: "extra keys not allowed" for key in extra})
        content = body.get("content")
        if not isinstance(content, dict) or not isinstance(content.get("raw"), str):
            return _error(400, "Bad request", fields={"content": "required key not provided"})
        return None

    def _scope_refusal(self, caller: _Caller) -> _Reply:
        """The 403 of a credential without the write scope, in the scope names of its kind."""
        if caller.credential == "access_token":
            detail = {"granted": ["pullrequest"], "required": ["pullrequest:write"]}
        else:
            detail = {"granted": ["read:pullrequest:bitbucket"], "required": ["write:pullrequest:bitbucket"]}
        return _error(403, LACKS_SCOPES, detail=detail)

    # ---- filtering, sorting and pages ---------------------------------------

    _CLAUSE = re.compile(r'\s*(deleted|user\.uuid|user\.account_id)\s*=\s*("[^"]*"|true|false)\s*', re.IGNORECASE)

    def _query(self, comments: list[_Comment], q: str | None) -> list[_Comment] | _Reply:
        """The subset of BBQL this fake knows: deleted=true|false, user.uuid="…", user.account_id="…", AND."""
        if not q:
            return comments
        selected = comments
        for clause in re.split(r"\s+AND\s+", q.strip(), flags=re.IGNORECASE):
            match = self._CLAUSE.fullmatch(clause)
            if match is None:
                return _error(400, f"Invalid query: {q}")
            name, value = match.group(1).lower(), match.group(2).strip('"')
            if name == "deleted":
                selected = [c for c in selected if c.deleted == (value.lower() == "true")]
            elif name == "user.uuid":
                selected = [c for c in selected if c.user.uuid == value]
            else:
                selected = [c for c in selected if c.user.account_id == value]
        return selected

    @staticmethod
    def _sort(comments: list[_Comment], sort: str | None) -> list[_Comment] | _Reply:
        """Oldest first by default; `sort` by id, created_on or updated_on, "-" for descending."""
        name = (sort or "id").lstrip("-")
        keys: dict[str, Callable[[_Comment], Any]] = {
            "id": lambda c: c.id,
            "created_on": lambda c: (c.created_on, c.id),
            "updated_on": lambda c: (c.updated_on, c.id),
        }
        if name not in keys:
            return _error(400, f"Invalid sort field: {name}")
        return sorted(comments, key=keys[name], reverse=bool(sort and sort.startswith("-")))

    @staticmethod
    def _pagelen(query: dict[str, str], default: int, maximum: int) -> int | _Reply:
        raw = query.get("pagelen")
        if raw is None:
            return default
        if not re.fullmatch(r"\d+", raw) or int(raw) > maximum:
            return _error(400, "Invalid pagelen")
        return int(raw) or default

    def _paginate(self, path: str, query: dict[str, str], items: list[Json], default: int, maximum: int) -> _Reply:
        """Slice by pagelen/page; Bitbucket's envelope with absolute next/previous URLs."""
        pagelen = self._pagelen(query, default, maximum)
        if isinstance(pagelen, _Reply):
            return pagelen
        raw_page = query.get("page", "1")
        if not re.fullmatch(r"[1-9]\d*", raw_page):
            return _error(400, "Invalid page")
        page = int(raw_page)
        data: Json = {
            "pagelen": pagelen,
            "size": len(items),
            "page": page,
            "values": items[(page - 1) * pagelen : page * pagelen],
        }
        last = max(1, math.ceil(len(items) / pagelen))
        if page < last:
            data["next"] = self._page_url(path, query, page + 1)
        if page > 1:
            data["previous"] = self._page_url(path, query, min(page - 1, last))
        return _Reply(200, data)

    def _page_url(self, path: str, query: dict[str, str], page: int) -> str:
        params = {key: value for key, value in query.items() if key != "page"} | {"page": str(page)}
        return f"{self.url}{path}?{urlencode(params)}"

    # ---- storage and JSON shapes ------------------------------------------------

    def _store_comment(
        self, pull_id: int, raw: str, user: Account, *, inline: Json | None = None, parent: int | None = None
    ) -> _Comment:
        """Append a comment with the next id (ids ascend, as on Bitbucket)."""
        now = _now()
        comment = _Comment(self._next_comment_id, pull_id, raw, user, now, now, inline=inline, parent=parent)
        self._comments[comment.id] = comment
        self._next_comment_id += 1
        return comment

    def _links(self, path: str, html: str) -> Json:
        return {"self": {"href": f"{self.api_url}{path}"}, "html": {"href": html}}

    def _repo_json(self, full_name: str) -> Json:
        name = full_name.partition("/")[2]
        uuid = (
            self.repo_uuid if full_name == self.full_name else "{" + str(uuid_module.UUID(_sha(full_name)[:32])) + "}"
        )
        return {
            "type": "repository",
            "full_name": full_name,
            "name": name,
            "slug": name,
            "uuid": uuid,
            "is_private": self.private,
            "links": self._links(f"/repositories/{full_name}", f"{WEB_URL}/{full_name}"),
        }

    def _source_hash(self, pull: _Pull) -> str:
        return self._commit_hash(pull, len(pull.commits) - 1) if pull.commits else _sha(pull.source_branch)

    def _destination_hash(self, pull: _Pull) -> str:
        return _sha(f"{self.full_name}:{pull.destination_branch}")

    def _commit_hash(self, pull: _Pull, index: int) -> str:
        return _sha(f"{pull.id}:{index}:{pull.commits[index]}")

    def _short_commit(self, full_hash: str, repo: str) -> Json:
        return {
            "type": "commit",
            "hash": full_hash[:12],
            "links": self._links(
                f"/repositories/{repo}/commit/{full_hash[:12]}", f"{WEB_URL}/{repo}/commits/{full_hash[:12]}"
            ),
        }

    def _pull_json(self, pull: _Pull) -> Json:
        base = f"/repositories/{self.full_name}/pullrequests/{pull.id}"
        spec = self._spec(pull)
        links = self._links(base, f"{WEB_URL}/{self.full_name}/pull-requests/{pull.id}")
        for name in ("commits", "comments", "approve", "decline", "merge", "activity", "statuses"):
            links[name] = {"href": f"{self.api_url}{base}/{name}"}
        for name in ("diff", "diffstat"):
            query = f"from_pullrequest_id={pull.id}&topic=true"
            links[name] = {"href": f"{self.api_url}/repositories/{self.full_name}/{name}/{spec}?{query}"}
        rendered = {
            "title": {"type": "rendered", "raw": pull.title, "markup": "markdown", "html": render_markdown(pull.title)},
            "description": {
                "type": "rendered",
                "raw": pull.description,
                "markup": "markdown",
                "html": render_markdown(pull.description),
            },
        }
        return {
            "type": "pullrequest",
            "id": pull.id,
            "title": pull.title,
            "description": pull.description,
            "rendered": rendered,
            "summary": rendered["description"],
            "state": "OPEN",
            "author": pull.author.to_json(),
            "source": {
                "branch": {"name": pull.source_branch},
                "commit": self._short_commit(self._source_hash(pull), pull.source_repo),
                "repository": self._repo_json(pull.source_repo),
            },
            "destination": {
                "branch": {"name": pull.destination_branch},
                "commit": self._short_commit(self._destination_hash(pull), self.full_name),
                "repository": self._repo_json(self.full_name),
            },
            "merge_commit": None,
            "close_source_branch": False,
            "closed_by": None,
            "reason": "",
            "comment_count": sum(c.pull_id == pull.id and not c.deleted for c in self._comments.values()),
            "task_count": 0,
            "reviewers": [],
            "participants": [],
            "created_on": pull.created_on,
            "updated_on": pull.created_on,
            "links": links,
        }

    def _commit_json(self, pull: _Pull, index: int) -> Json:
        full_hash = self._commit_hash(pull, index)
        message = pull.commits[index]
        parents = [self._commit_hash(pull, index - 1)] if index else [self._destination_hash(pull)]
        repo = pull.source_repo
        author = pull.author
        return {
            "type": "commit",
            "hash": full_hash,
            "date": pull.created_on,
            "message": message,
            "summary": {"type": "rendered", "raw": message, "markup": "markdown", "html": render_markdown(message)},
            "author": {
                "type": "author",
                "raw": f"{author.display_name} <{author.nickname or 'dev'}@example.com>",
                "user": author.to_json(),
            },
            "parents": [
                {
                    "type": "commit",
                    "hash": p,
                    "links": self._links(f"/repositories/{repo}/commit/{p}", f"{WEB_URL}/{repo}/commits/{p}"),
                }
                for p in parents
            ],
            "repository": self._repo_json(repo),
            "links": self._links(f"/repositories/{repo}/commit/{full_hash}", f"{WEB_URL}/{repo}/commits/{full_hash}"),
        }

    def _diffstat_json(self, pull: _Pull, change: FileChange) -> Json:
        added, removed = change.counts()
        source, destination = self._source_hash(pull), self._destination_hash(pull)

        def side(path: str | None, commit: str) -> Json | None:
            if path is None:
                return None
            href = f"{self.api_url}/repositories/{self.full_name}/src/{commit}/{quote(path)}"
            return {"type": "commit_file", "path": path, "escaped_path": path, "links": {"self": {"href": href}}}

        old_path = None if change.status == "added" else (change.old_path or change.path)
        new_path = None if change.status == "removed" else change.path
        return {
            "type": "diffstat",
            "status": change.status,
            "lines_added": added,
            "lines_removed": removed,
            "old": side(old_path, destination),
            "new": side(new_path, source),
        }

    @staticmethod
    def _file_diff(change: FileChange) -> str:
        """One file's diff in git's format (Bitbucket computes diffs with git)."""
        old = change.old_path or change.path
        blob_old, blob_new = _sha(f"old:{old}")[:7], _sha(f"new:{change.path}:{change.patch}")[:7]
        header = [f"diff --git a/{old} b/{change.path}"]
        before, after = f"a/{old}", f"b/{change.path}"
        if change.status == "added":
            header += ["new file mode 100644", f"index 0000000..{blob_new}"]
            before = "/dev/null"
        elif change.status == "removed":
            header += ["deleted file mode 100644", f"index {blob_old}..0000000"]
            after = "/dev/null"
        elif change.status == "renamed":
            header += ["similarity index 90%", f"rename from {old}", f"rename to {change.path}"]
            header += [f"index {blob_old}..{blob_new} 100644"] if change.patch else []
        else:
            header += [f"index {blob_old}..{blob_new} 100644"]
        if change.patch is None:
            header.append(f"Binary files {before} and {after} differ")
        elif change.patch:
            header += [f"--- {before}", f"+++ {after}", change.patch.rstrip("\n")]
        return "\n".join(header) + "\n"

    def _comment_json(self, comment: _Comment) -> Json:
        pull = self._pulls[comment.pull_id]
        base = f"/repositories/{self.full_name}/pullrequests/{pull.id}"
        raw = "" if comment.deleted else comment.raw
        html = "" if comment.deleted else render_markdown(raw, self._accounts)
        data: Json = {
            "type": "pullrequest_comment",
            "id": comment.id,
            "created_on": comment.created_on,
            "updated_on": comment.updated_on,
            "content": {"type": "rendered", "raw": raw, "markup": "markdown", "html": html},
            "user": comment.user.to_json(),
            "deleted": comment.deleted,
            "pending": comment.pending,
            "pullrequest": {
                "type": "pullrequest",
                "id": pull.id,
                "title": pull.title,
                "links": self._links(base, f"{WEB_URL}/{self.full_name}/pull-requests/{pull.id}"),
            },
            "links": self._links(
                f"{base}/comments/{comment.id}",
                f"{WEB_URL}/{self.full_name}/pull-requests/{pull.id}/_/diff#comment-{comment.id}",
            ),
        }
        if comment.inline is not None:
            data["inline"] = comment.inline
        if comment.parent is not None:
            data["parent"] = {"id": comment.parent, "links": self._links(f"{base}/comments/{comment.parent}", "")}
        return data
