"""A loopback fake of the GitHub REST API, speaking the wire format PyGithub uses.

Why: tests of `jira-brief github` must exercise real HTTP (auth header, Link
pagination, status codes, PyGithub's urllib3 retries) without mocks or network.

Facts this fake reproduces (checked against GitHub docs/issues and PyGithub 2.10):
- Any ``base_url`` other than api.github.com is treated by PyGithub as a
  GitHub Enterprise server: the path prefix (e.g. ``/api/v3``) is prepended to
  relative URLs, and absolute URLs found in responses (``url``, ``issue_url``,
  Link headers) are only followed if host, port and prefix match ``base_url``.
  So every URL in a response is built from ``FakeGitHub.url`` (prefix included).
- Link headers point at ``/repositories/{id}/...``, like api.github.com does.
- ``GET /user`` with an Actions GITHUB_TOKEN (a GitHub App installation token)
  answers 403 "Resource not accessible by integration".
- A GITHUB_TOKEN of a pull request from a public fork is read-only, so writing
  a comment answers 403 "Resource not accessible by integration" (``read_only``).
"""

from __future__ import annotations

import json
import math
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from hashlib import sha1
from http.client import responses
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from tests.fakes.loopback import Fault, Faults, LoopbackFake, Request, Response, encode

Json = dict[str, Any]
Recorded = tuple[str, str, Json | None]

MAX_COMMENT_CHARS = 65536
DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 100
MAX_PULL_FILES = 3000  # pulls/{n}/files lists at most this many files, whatever the page
WEB_URL = "https://github.com"
DOCS_URL = "https://docs.github.com/rest"
NOT_ACCESSIBLE = "Resource not accessible by integration"
# The real id of github-actions[bot]; other logins get a stable synthetic id.
KNOWN_USER_IDS = {"github-actions[bot]": 41898282}
_REPO = r"/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)"


@dataclass
class _Reply:
    """One HTTP answer: status, JSON body (None for no body) and extra headers."""

    status: int
    body: Json | list[Json] | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Pull:
    number: int
    title: str
    head_ref: str
    body: str | None
    commits: list[str]
    head_repo: str
    created_at: str
    files: list[Json] = field(default_factory=list)


@dataclass
class _Comment:
    id: int
    issue_number: int
    body: str
    login: str
    created_at: str
    updated_at: str


@dataclass
class _Fault(Fault):
    body: Json | None = None

    def reply(self) -> _Reply:
        """The scripted answer; default body mimics GitHub's {"message": ...}."""
        body = self.body if self.body is not None else {"message": responses.get(self.status, "Error")}
        return _Reply(self.status, body, dict(self.headers))


def _now() -> str:
    """GitHub's timestamp format: ISO 8601, UTC, seconds, trailing Z."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _error(status: int, message: str, doc: str = DOCS_URL, **extra: Any) -> _Reply:
    """A GitHub-shaped error body (message, documentation_url, status)."""
    return _Reply(status, {"message": message, **extra, "documentation_url": doc, "status": str(status)})


def _too_long() -> _Reply:
    """GitHub's 422 for a comment body over 65,536 characters."""
    error = {
        "resource": "IssueComment",
        "code": "custom",
        "field": "body",
        "message": f"body is too long (maximum is {MAX_COMMENT_CHARS} characters)",
    }
    return _error(422, "Validation Failed", f"{DOCS_URL}/issues/comments", errors=[error])


def _page_size(raw: str | None) -> int:
    """per_page as GitHub reads it: default 30, capped at 100."""
    value = int(raw) if raw and raw.isdigit() else 0
    return min(value, MAX_PER_PAGE) if value >= 1 else DEFAULT_PER_PAGE


def _page_number(raw: str | None) -> int:
    """page as GitHub reads it: 1-based, anything invalid means 1."""
    value = int(raw) if raw and raw.isdigit() else 1
    return max(value, 1)


def _sha(text: str) -> str:
    """A stable fake 40-hex commit/object id."""
    return sha1(text.encode()).hexdigest()


def _rate_limit_headers() -> dict[str, str]:
    """Static primary rate-limit headers (GITHUB_TOKEN: 1000 requests/hour).

    PyGithub does not require them; it only copies them into Github.rate_limiting.
    """
    reset = int(datetime.now(UTC).timestamp()) + 3600
    return {
        "X-RateLimit-Limit": "1000",
        "X-RateLimit-Remaining": "999",
        "X-RateLimit-Reset": str(reset),
        "X-RateLimit-Used": "1",
        "X-RateLimit-Resource": "core",
    }


class FakeGitHub(LoopbackFake[Recorded]):
    """GitHub REST API on 127.0.0.1 for one repository; use as a context manager.

    `requests` holds (method, path with query, JSON body) of every request.
    """

    def __init__(
        self,
        *,
        token: str = "ghs_test",
        login: str = "github-actions[bot]",
        repo: str = "octo/shop",
        user_endpoint_forbidden: bool = True,
        api_prefix: str = "",
    ) -> None:
        """token/login: the accepted credential and who it comments as.

        user_endpoint_forbidden: GET /user answers 403 like GitHub does for an
        installation token (GITHUB_TOKEN); set False to act as a user PAT.
        api_prefix: e.g. "/api/v3" to look like a GitHub Enterprise Server.
        """
        super().__init__()
        self.token = token
        self.login = login
        self.repo = repo
        self.user_endpoint_forbidden = user_endpoint_forbidden
        self.api_prefix = api_prefix.rstrip("/")
        self.read_only = False
        self.repo_id = zlib.crc32(repo.lower().encode())
        self._pulls: dict[int, _Pull] = {}
        self._comments: dict[int, _Comment] = {}
        self._faults: Faults[_Fault] = Faults()
        self._next_comment_id = 1_000_000_001
        self._routes = self._route_table()

    @property
    def url(self) -> str:
        """Base URL to give PyGithub / GITHUB_API_URL: http://127.0.0.1:PORT, then api_prefix."""
        return super().url + self.api_prefix

    # ---- arranging state -------------------------------------------------

    def add_pull(
        self,
        number: int,
        *,
        title: str,
        head_ref: str,
        body: str | None = None,
        commits: list[str] | tuple[str, ...] = (),
        head_repo: str | None = None,
    ) -> None:
        """Add an open PR; commits are messages; head_repo != repo means a fork."""
        pull = _Pull(number, title, head_ref, body, list(commits), head_repo or self.repo, _now())
        with self._lock:
            self._pulls[number] = pull

    def set_files(self, number: int, files: dict[str, str | None], renamed: dict[str, str] | None = None) -> None:
        """The pull request's changed files as path -> patch (None: binary or too large, so no `patch`);
        `renamed` maps a path to the one it was renamed from (with no patch: a rename alone, as GitHub
        lists it)."""
        renamed = renamed or {}
        with self._lock:
            self._pulls[number].files = [
                self._file_json(path, patch, renamed.get(path)) for path, patch in files.items()
            ]

    def add_comment(self, issue_number: int, body: str, *, login: str) -> int:
        """Store a pre-existing comment by `login` on a PR; returns its id."""
        with self._lock:
            if issue_number not in self._pulls:
                raise ValueError(f"add_pull({issue_number}) first")
            return self._store_comment(issue_number, body, login).id

    def edit_comment(self, comment_id: int, body: str) -> None:
        """Edit a comment in place, as someone with write access does in the web page: its author stays."""
        with self._lock:
            comment = self._comments[comment_id]
            comment.body, comment.updated_at = body, _now()

    def comments(self, issue_number: int) -> list[Json]:
        """Current comments on a PR, in the JSON shape the API returns."""
        with self._lock:
            return [self._comment_json(c) for c in self._comments.values() if c.issue_number == issue_number]

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int,
        *,
        after_apply: bool = False,
        headers: dict[str, str] | None = None,
        body: Json | None = None,
    ) -> None:
        """Answer the next `method` request whose path matches (re.search) with `status`.

        Consumed once. after_apply=True performs the operation first, to
        reproduce "GitHub stored the comment but answered 5xx".
        """
        fault = _Fault(method.upper(), re.compile(path_regex), status, after_apply, headers or {}, body)
        with self._lock:
            self._faults.add(fault)

    # ---- request handling --------------------------------------------------

    def respond(self, request: Request) -> Response:
        """`handle` on the wire: the JSON body with GitHub's usual headers before the reply's own."""
        reply = self.handle(request.method, request.target, request.headers.get("Authorization"), request.body)
        payload = encode(reply.body)
        headers = [
            ("Content-Type", "application/json; charset=utf-8"),
            ("Content-Length", str(len(payload))),
            ("X-GitHub-Media-Type", "github.v3; format=json"),
            *_rate_limit_headers().items(),
            *reply.headers.items(),
        ]
        return Response(reply.status, headers, payload)

    def handle(self, method: str, target: str, authorization: str | None, raw: bytes) -> _Reply:
        """Answer one request; called by the HTTP handler thread."""
        parsed = self._parse_json(raw)
        with self._lock:
            self._requests.append((method, target, parsed if isinstance(parsed, dict) else None))
            if not self._authorized(authorization):
                return _error(401, "Bad credentials")
            if parsed is ValueError:
                return _error(400, "Problems parsing JSON")
            split = urlsplit(target)
            fault = self._faults.take(method, split.path)
            if fault is not None and not fault.after_apply:
                return fault.reply()
            reply = self._dispatch(method, split.path, dict(parse_qsl(split.query)), parsed)
            return fault.reply() if fault is not None else reply

    @staticmethod
    def _parse_json(raw: bytes) -> Any:
        """Request body as JSON; None when empty, the ValueError class when invalid."""
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return ValueError

    def _authorized(self, authorization: str | None) -> bool:
        """Accept `token X` and `Bearer X`, as GitHub does."""
        scheme, _, credential = (authorization or "").partition(" ")
        return scheme.lower() in {"token", "bearer"} and credential.strip() == self.token

    def _route_table(self) -> list[tuple[str, re.Pattern[str], Callable[..., _Reply]]]:
        """(method, full-path regex, handler) for every supported endpoint."""
        table: list[tuple[str, str, Callable[..., _Reply]]] = [
            ("GET", r"/user", self._get_user),
            ("GET", _REPO, self._get_repo),
            ("GET", _REPO + r"/pulls/(?P<number>\d+)", self._get_pull),
            ("GET", _REPO + r"/pulls/(?P<number>\d+)/commits", self._list_commits),
            ("GET", _REPO + r"/pulls/(?P<number>\d+)/files", self._list_files),
            ("GET", _REPO + r"/issues/(?P<number>\d+)", self._get_issue),
            ("GET", _REPO + r"/issues/(?P<number>\d+)/comments", self._list_comments),
            ("POST", _REPO + r"/issues/(?P<number>\d+)/comments", self._create_comment),
            ("GET", _REPO + r"/issues/comments/(?P<comment_id>\d+)", self._get_comment),
            ("PATCH", _REPO + r"/issues/comments/(?P<comment_id>\d+)", self._edit_comment),
            ("DELETE", _REPO + r"/issues/comments/(?P<comment_id>\d+)", self._delete_comment),
        ]
        return [(method, re.compile(pattern), handler) for method, pattern, handler in table]

    def _dispatch(self, method: str, path: str, query: dict[str, str], body: Json | None) -> _Reply:
        """Route to a handler; unknown paths, methods and repositories are 404."""
        if method == "POST" and path == self.api_prefix.removesuffix("/v3") + "/graphql":
            return self._graphql(body)
        canonical = self._canonical_path(path)
        if canonical is None:
            return _error(404, "Not Found")
        for route_method, pattern, handler in self._routes:
            match = pattern.fullmatch(canonical)
            if match is None or route_method != method:
                continue
            params = match.groupdict()
            if "owner" in params and f"{params.pop('owner')}/{params.pop('name')}".lower() != self.repo.lower():
                return _error(404, "Not Found")
            return handler(path=canonical, query=query, body=body, **params)
        return _error(404, "Not Found")

    def _canonical_path(self, path: str) -> str | None:
        """Strip the API prefix and map /repositories/{id}/... to /repos/{o}/{r}/..."""
        if not path.startswith(self.api_prefix):
            return None
        path = path[len(self.api_prefix) :] or "/"
        match = re.fullmatch(r"/repositories/(\d+)(/.*)?", path)
        if match is None:
            return path
        return f"/repos/{self.repo}{match.group(2) or ''}" if int(match.group(1)) == self.repo_id else None

    # ---- endpoints -----------------------------------------------------------

    def _get_user(self, **_: Any) -> _Reply:
        """An installation token (GITHUB_TOKEN) cannot read /user on real GitHub."""
        if self.user_endpoint_forbidden:
            return _error(403, NOT_ACCESSIBLE, f"{DOCS_URL}/users/users#get-the-authenticated-user")
        return _Reply(200, self._user_json(self.login))

    def _graphql(self, body: Json | None) -> _Reply:
        """Only `{ viewer { login } }`: who the token is, which even an installation token may ask."""
        query = body.get("query", "") if isinstance(body, dict) else ""
        if "viewer" not in query:
            return _Reply(200, {"errors": [{"message": "this fake answers only viewer { login }"}]})
        return _Reply(200, {"data": {"viewer": {"login": self.login}}})

    def _get_repo(self, **_: Any) -> _Reply:
        return _Reply(200, self._repo_json(self.repo))

    def _get_pull(self, number: str, **_: Any) -> _Reply:
        pull = self._pulls.get(int(number))
        return _Reply(200, self._pull_json(pull)) if pull else _error(404, "Not Found")

    def _get_issue(self, number: str, **_: Any) -> _Reply:
        pull = self._pulls.get(int(number))
        return _Reply(200, self._issue_json(pull)) if pull else _error(404, "Not Found")

    def _list_commits(self, path: str, query: dict[str, str], number: str, **_: Any) -> _Reply:
        pull = self._pulls.get(int(number))
        if pull is None:
            return _error(404, "Not Found")
        return self._paginate(path, query, [self._commit_json(pull, i) for i in range(len(pull.commits))])

    def _list_files(self, path: str, query: dict[str, str], number: str, **_: Any) -> _Reply:
        pull = self._pulls.get(int(number))
        if pull is None:
            return _error(404, "Not Found")
        return self._paginate(path, query, pull.files[:MAX_PULL_FILES])

    def _list_comments(self, path: str, query: dict[str, str], number: str, **_: Any) -> _Reply:
        if int(number) not in self._pulls:
            return _error(404, "Not Found")
        return self._paginate(path, query, self.comments(int(number)))

    def _create_comment(self, body: Json | None, number: str, **_: Any) -> _Reply:
        if int(number) not in self._pulls:
            return _error(404, "Not Found")
        refusal = self._refuse_write(body, f"{DOCS_URL}/issues/comments#create-an-issue-comment")
        if refusal is not None:
            return refusal
        assert body is not None
        comment = self._store_comment(int(number), body["body"], self.login)
        data = self._comment_json(comment)
        return _Reply(201, data, {"Location": data["url"]})

    def _get_comment(self, comment_id: str, **_: Any) -> _Reply:
        comment = self._comments.get(int(comment_id))
        return _Reply(200, self._comment_json(comment)) if comment else _error(404, "Not Found")

    def _edit_comment(self, body: Json | None, comment_id: str, **_: Any) -> _Reply:
        comment = self._comments.get(int(comment_id))
        if comment is None:
            return _error(404, "Not Found")
        refusal = self._refuse_write(body, f"{DOCS_URL}/issues/comments#update-an-issue-comment")
        if refusal is not None:
            return refusal
        assert body is not None
        comment.body, comment.updated_at = body["body"], _now()
        return _Reply(200, self._comment_json(comment))

    def _delete_comment(self, comment_id: str, **_: Any) -> _Reply:
        if int(comment_id) not in self._comments:
            return _error(404, "Not Found")
        if self.read_only:
            return _error(403, NOT_ACCESSIBLE, f"{DOCS_URL}/issues/comments#delete-an-issue-comment")
        del self._comments[int(comment_id)]
        return _Reply(204)

    def _refuse_write(self, body: Json | None, doc: str) -> _Reply | None:
        """403 for a read-only token, 422 for a missing or oversize body, else None."""
        if self.read_only:
            return _error(403, NOT_ACCESSIBLE, doc)
        text = body.get("body") if isinstance(body, dict) else None
        if not isinstance(text, str):
            missing = {"resource": "IssueComment", "code": "missing_field", "field": "body"}
            return _error(422, "Validation Failed", doc, errors=[missing])
        return _too_long() if len(text) > MAX_COMMENT_CHARS else None

    # ---- pagination ------------------------------------------------------------

    def _paginate(self, path: str, query: dict[str, str], items: list[Json]) -> _Reply:
        """Slice by per_page/page and add a GitHub-style Link header."""
        per_page = _page_size(query.get("per_page"))
        page = _page_number(query.get("page"))
        last = max(1, math.ceil(len(items) / per_page))
        links: list[tuple[int, str]] = []
        if page > 1:
            links.append((min(page - 1, last), "prev"))
        if page < last:
            links += [(page + 1, "next"), (last, "last")]
        if page > 1:
            links.append((1, "first"))
        headers = {"Link": ", ".join(f'<{self._page_url(path, query, n)}>; rel="{rel}"' for n, rel in links)}
        chunk = items[(page - 1) * per_page : page * per_page]
        return _Reply(200, chunk, headers if links else {})

    def _page_url(self, path: str, query: dict[str, str], page: int) -> str:
        """Absolute URL of another page, via /repositories/{id} like api.github.com."""
        rest = path.removeprefix(f"/repos/{self.repo}")
        params = {key: value for key, value in query.items() if key != "page"} | {"page": str(page)}
        return f"{self.url}/repositories/{self.repo_id}{rest}?{urlencode(params)}"

    # ---- storage and JSON shapes ------------------------------------------------

    def _store_comment(self, issue_number: int, body: str, login: str) -> _Comment:
        """Append a comment with the next id (ids ascend, as on GitHub)."""
        now = _now()
        comment = _Comment(self._next_comment_id, issue_number, body, login, now, now)
        self._comments[comment.id] = comment
        self._next_comment_id += 1
        return comment

    def _user_json(self, login: str) -> Json:
        is_bot = login.endswith("[bot]")
        return {
            "login": login,
            "id": KNOWN_USER_IDS.get(login, zlib.crc32(login.encode())),
            "node_id": f"U_{login}",
            "type": "Bot" if is_bot else "User",
            "site_admin": False,
            "url": f"{self.url}/users/{login}",
            "html_url": f"{WEB_URL}/apps/{login.removesuffix('[bot]')}" if is_bot else f"{WEB_URL}/{login}",
        }

    def _repo_json(self, full_name: str) -> Json:
        owner, _, name = full_name.partition("/")
        is_fork = full_name.lower() != self.repo.lower()
        return {
            "id": self.repo_id if not is_fork else zlib.crc32(full_name.lower().encode()),
            "node_id": f"R_{full_name}",
            "name": name,
            "full_name": full_name,
            "owner": self._user_json(owner),
            "private": False,
            "fork": is_fork,
            "default_branch": "main",
            "url": f"{self.url}/repos/{full_name}",
            "html_url": f"{WEB_URL}/{full_name}",
        }

    def _issue_json(self, pull: _Pull) -> Json:
        base = f"{self.url}/repos/{self.repo}"
        return {
            "id": 500_000_000 + pull.number,
            "node_id": f"I_{pull.number}",
            "number": pull.number,
            "title": pull.title,
            "body": pull.body,
            "state": "open",
            "user": self._user_json(pull.head_repo.partition("/")[0]),
            "comments": sum(c.issue_number == pull.number for c in self._comments.values()),
            "url": f"{base}/issues/{pull.number}",
            "comments_url": f"{base}/issues/{pull.number}/comments",
            "html_url": f"{WEB_URL}/{self.repo}/pull/{pull.number}",
            "pull_request": {"url": f"{base}/pulls/{pull.number}"},
            "created_at": pull.created_at,
            "updated_at": pull.created_at,
        }

    def _pull_json(self, pull: _Pull) -> Json:
        base = f"{self.url}/repos/{self.repo}"
        head_sha = self._commit_sha(pull, len(pull.commits) - 1) if pull.commits else _sha(pull.head_ref)
        head_owner = pull.head_repo.partition("/")[0]
        return {
            **self._issue_json(pull),
            "id": 900_000_000 + pull.number,
            "node_id": f"PR_{pull.number}",
            "url": f"{base}/pulls/{pull.number}",
            "issue_url": f"{base}/issues/{pull.number}",
            "commits_url": f"{base}/pulls/{pull.number}/commits",
            "comments_url": f"{base}/issues/{pull.number}/comments",
            "draft": False,
            "merged": False,
            "commits": len(pull.commits),
            "head": {
                "label": f"{head_owner}:{pull.head_ref}",
                "ref": pull.head_ref,
                "sha": head_sha,
                "user": self._user_json(head_owner),
                "repo": self._repo_json(pull.head_repo),
            },
            "base": {
                "label": f"{self.repo.partition('/')[0]}:main",
                "ref": "main",
                "sha": _sha(f"{self.repo}:main"),
                "user": self._user_json(self.repo.partition("/")[0]),
                "repo": self._repo_json(self.repo),
            },
        }

    def _commit_sha(self, pull: _Pull, index: int) -> str:
        return _sha(f"{pull.number}:{index}:{pull.commits[index]}")

    def _commit_json(self, pull: _Pull, index: int) -> Json:
        sha = self._commit_sha(pull, index)
        person = {"name": "Dev", "email": "dev@example.com", "date": pull.created_at}
        return {
            "sha": sha,
            "node_id": f"C_{sha}",
            "url": f"{self.url}/repos/{self.repo}/commits/{sha}",
            "html_url": f"{WEB_URL}/{self.repo}/commit/{sha}",
            "commit": {
                "message": pull.commits[index],
                "author": person,
                "committer": person,
                "tree": {"sha": _sha(f"tree:{sha}")},
            },
            "parents": [{"sha": self._commit_sha(pull, index - 1)}] if index else [],
        }

    def _file_json(self, path: str, patch: str | None, previous: str | None = None) -> Json:
        """One entry of pulls/{n}/files; `patch` is absent for binary files, very large diffs and renames
        that change nothing, as on GitHub."""
        lines = (patch or "").splitlines()
        added = sum(1 for line in lines if line.startswith("+"))
        removed = sum(1 for line in lines if line.startswith("-"))
        sha = _sha(f"{path}:{patch}")
        entry: Json = {
            "sha": sha,
            "filename": path,
            "status": "added" if patch and not removed else "modified",
            "additions": added,
            "deletions": removed,
            "changes": added + removed,
            "blob_url": f"{WEB_URL}/{self.repo}/blob/{sha}/{path}",
            "raw_url": f"{WEB_URL}/{self.repo}/raw/{sha}/{path}",
            "contents_url": f"{self.url}/repos/{self.repo}/contents/{path}?ref={sha}",
        }
        if previous is not None:
            entry.update(status="renamed", previous_filename=previous)
        return {**entry, "patch": patch} if patch is not None else entry

    def _comment_json(self, comment: _Comment) -> Json:
        return {
            "id": comment.id,
            "node_id": f"IC_{comment.id}",
            "url": f"{self.url}/repos/{self.repo}/issues/comments/{comment.id}",
            "html_url": f"{WEB_URL}/{self.repo}/pull/{comment.issue_number}#issuecomment-{comment.id}",
            "issue_url": f"{self.url}/repos/{self.repo}/issues/{comment.issue_number}",
            "body": comment.body,
            "user": self._user_json(comment.login),
            "author_association": "NONE",
            "created_at": comment.created_at,
            "updated_at": comment.updated_at,
        }
