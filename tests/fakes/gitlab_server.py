"""A loopback fake of the GitLab REST API v4, speaking the wire format python-gitlab uses.

Why: the GitLab side of jira-brief (one sticky note on a merge request, run from a CI job)
must be tested over real HTTP (auth headers, offset pagination, status codes and bodies,
python-gitlab's retries) without mocks or network. The fake serves ``/api/v4`` on
127.0.0.1, so ``gitlab.Gitlab(url=fake.url, private_token=fake.token)`` works against it.

Facts this fake reproduces, with their sources (gitlabhq/gitlabhq is GitLab's source
mirror; python-gitlab 8.6.0 is the client):

Notes
- ``POST .../merge_requests/:iid/notes`` needs ``body``; a note longer than 1,000,000
  characters answers 400 ``{"message": "400 Bad request - Note {:note=>[\\"is too long
  (maximum is 1000000 characters)\\"]}"}``; a blank one ``... {:note=>[\\"can't be
  blank\\"]}``; a noteable with 5,000 notes (system notes included) refuses more with
  ``{:base=>[\\"Maximum number of comments exceeded\\"]}``. The same 400 applies to PUT.
  (app/models/concerns/notes/active_record.rb, lib/gitlab/database.rb MAX_TEXT_SIZE_LIMIT,
  app/models/note.rb does_not_exceed_notes_limit?, app/models/concerns/noteable.rb
  MAX_NOTES_LIMIT, lib/api/helpers/notes_helpers.rb process_note_creation_result,
  lib/api/helpers.rb bad_request!; the exact text is quoted in
  github.com/NARKOZ/gitlab/issues/610. The hash is Ruby 3.3's inspect, .ruby-version 3.3.)
- A missing ``body`` is Grape's 400 ``{"error": "body is missing"}``; on PUT an empty one is
  ``{"error": "body is empty"}`` (lib/api/notes.rb: ``requires :body`` / ``allow_blank: false``).
- The list is ordered by ``order_by`` (created_at, which GitLab maps to ``id``, or
  updated_at) and ``sort`` (default ``desc``: newest first), ``activity_filter`` keeps
  comments or system notes; system notes (``"system": true``) are mixed in
  (lib/api/notes.rb, lib/api/helpers.rb order_options_with_tie_breaker).
- Offset pagination: ``per_page`` default 20, at most 100, ``page`` from 1; headers
  X-Per-Page, X-Page, X-Next-Page and X-Prev-Page (empty when none), X-Total,
  X-Total-Pages (at least 1), and Link with rel prev/next/first/last whose URLs repeat the
  route parameters (``id``, ``noteable_id``) and every query parameter, keys sorted
  (lib/gitlab/pagination/offset_header_builder.rb, config/initializers/kaminari_config.rb,
  lib/api/concerns/pagination_params.rb). python-gitlab follows ``Link: rel="next"``.
- Editing or deleting a note needs ``admin_note``: its author, or a maintainer (project
  access tokens are Maintainers by default); a system note is never editable: 403
  ``{"message": "403 Forbidden"}`` (app/policies/note_policy.rb, project_policy.rb,
  app/services/resource_access_tokens/create_service.rb).
  DELETE answers 204 with no body.
- Quick actions run on notes created *and edited* through the API, for any user allowed
  ``use_quick_actions`` (humans, project and group access token bots; other bots not:
  app/policies/global_policy.rb). The rule (lib/gitlab/quick_actions/extractor.rb,
  lib/banzai/filter/quick_action_filter.rb, lib/banzai/pipeline/quick_action_pipeline.rb):
  render the Markdown with source positions; only top-level paragraphs with a line
  starting with ``/`` are searched, so commands in fenced or indented code blocks, lists,
  block quotes (``>`` and GitLab's ``>>>`` fences), tables and HTML blocks or comments
  never run; inside such a paragraph a command is ``/name`` at column 0 (an indented one
  does not run), case-insensitive, followed by a space and arguments or by the end of the
  line, and not inside an inline code span or an HTML block. Every known command name is
  stripped, but only those available on a merge request run. ``\\r`` is deleted and
  trailing whitespace stripped from what is stored. A note made only of commands is not
  stored: 202 ``{"commands_changes": {...}, "summary": ["..."]}``
  (app/services/notes/create_service.rb, lib/api/entities/note.rb NoteCommands,
  app/models/notes/quick_actions_status.rb); an edit down to commands only deletes the note
  (app/services/notes/update_service.rb).
- Note JSON: id, type (null), body, author (id, username, name, state, locked, avatar_url,
  web_url), created_at, updated_at, system, noteable_id (the MR's global id),
  noteable_type, project_id, resolvable, confidential/internal, imported, imported_from,
  noteable_iid, commands_changes (lib/api/entities/note.rb, user_basic.rb).

Merge requests
- ``GET /projects/:id/merge_requests/:iid``: ``id`` numeric or the URL-encoded full path
  (``acme%2Fshop``, looked up case-insensitively); an unknown project is 404
  ``{"message": "404 Project Not Found"}``, an unknown MR or note ``{"message": "404 Not
  found"}`` (ActiveRecord::RecordNotFound, lib/api/api.rb), an unknown route
  ``{"error": "404 Not Found"}``. ``description`` may be null; a fork MR has
  source_project_id != target_project_id; ``sha`` and ``diff_refs`` {base_sha, head_sha,
  start_sha}; ``changes_count`` is a string (lib/api/entities/merge_request*.rb).
- ``.../commits`` is paginated (per_page and page below 1 fall back to 20 and 1), newest
  commit first (lib/api/merge_requests.rb, app/models/merge_request_diff_commit.rb).
- ``.../diffs`` is paginated; each item: diff, collapsed, too_large, new_path, old_path,
  a_mode, b_mode, new_file, renamed_file, deleted_file, generated_file
  (lib/api/entities/diff.rb). A binary file's diff is Git's notice ``Binary files a/x and
  b/x differ\\n`` (``/dev/null`` for an added or deleted side; Gitaly keeps the notice in
  the patch, lib/gitlab/git/diff.rb BINARY_NOTICE_PATTERN); a pure rename has an empty
  diff and renamed_file true; a too large or collapsed file has an empty diff; the modes
  of a missing side are ``"0"`` (lib/gitlab/git/diff.rb init_from_gitaly). ``unidiff=true``
  adds the ``---``/``+++`` header. ``.../changes`` (deprecated) answers the MR with all
  ``changes`` at once.

Authentication (lib/gitlab/auth/auth_finders.rb, lib/api/api_guard.rb, lib/api/helpers.rb)
- ``PRIVATE-TOKEN`` header or ``private_token`` parameter, ``Authorization: Bearer``,
  ``JOB-TOKEN`` header or ``job_token`` parameter. An unknown token: 401
  ``{"message": "401 Unauthorized"}``; an expired or revoked one: 401
  ``{"error": "invalid_token", "error_description": "Token is expired. ..."}`` with
  WWW-Authenticate; a ``read_api`` token writing: 403 ``{"error": "insufficient_scope",
  "error_description": "The request requires higher privileges than provided by the
  access token.", "scope": "api"}`` (lib/api/api.rb allow_access_with_scope).
- A CI job token is only looked at on routes that allow it (GET merge request, GET notes);
  elsewhere it is ignored, so ``GET /user`` and note creation answer 401
  ``{"message": "401 Unauthorized"}``, and other GETs of a private project answer 404
  ``{"message": "404 Project Not Found"}`` (lib/api/notes.rb, lib/api/merge_requests.rb).
- ``GET /user`` with a project access token answers its bot user: username
  ``project_<project id>_bot_<32 hex>``, ``"bot": true``, email at ``noreply.<host>``
  (app/services/resource_access_tokens/create_service.rb,
  lib/gitlab/utils/username_and_email_generator.rb).

Rate limits and server errors
- Rack::Attack throttles answer 429 ``text/plain`` ``Retry later\\n`` with RateLimit-Name,
  RateLimit-Limit, RateLimit-Observed, RateLimit-Remaining, RateLimit-Reset,
  RateLimit-ResetTime and Retry-After (lib/gitlab/rack_attack.rb, lib/gitlab/throttle.rb);
  the notes_create application limit answers 429 ``{"message": {"error": "This endpoint has
  been requested too many times. Try again later."}}`` without Retry-After
  (lib/api/helpers/rate_limiter.rb).
- An unhandled exception is 500 ``{"message": "500 Internal Server Error"}``
  (lib/api/helpers.rb handle_api_exception); 502/503/504 come from the proxy in front of
  Rails as an HTML page (approximated here).
- python-gitlab retries 429 by default (obey_rate_limit, up to 10 times, sleeping
  Retry-After seconds, else until RateLimit-Reset, else 0.1 * 2**n); 500/502/503/504 and
  520-530 only with ``retry_transient_errors=True``; both for every method, POST included,
  so a note stored before a 5xx is posted again (gitlab/utils.py Retry, gitlab/client.py).
"""

from __future__ import annotations

import hashlib
import html.parser
import itertools
import json
import math
import re
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

import cmarkgfm  # type: ignore[import-untyped]
from cmarkgfm.cmark import Options  # type: ignore[import-untyped]

from tests.fakes.loopback import Fault, Faults, LoopbackFake, Request, Response, encode

Json = dict[str, Any]
Body = Json | list[Json] | str | None

API_PREFIX = "/api/v4"
MAX_NOTE_CHARS = 1_000_000  # Gitlab::Database::MAX_TEXT_SIZE_LIMIT
MAX_NOTES_PER_NOTEABLE = 5_000  # Noteable::MAX_NOTES_LIMIT
DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100
RATE_LIMIT_TEXT = "Retry later\n"
NOTES_CREATE_LIMITED = "This endpoint has been requested too many times. Try again later."
INSUFFICIENT_SCOPE = "The request requires higher privileges than provided by the access token."
TOKEN_EXPIRED = "Token is expired. You can either do re-authorization or token refresh."
TOKEN_REVOKED = "Token was revoked. You have to re-authorize from the user."
OAUTH_REALM = "Protected by OAuth 2.0"
JOB_TOKEN_PREFIX = "glcbt-"  # Ci::Build::TOKEN_PREFIX; such a value is never read as a personal token
BLANK_SHA = "0" * 40
RUBY_WHITESPACE = " \t\n\v\f\r\0"  # what Ruby's String#rstrip removes

# Every non-noop quick action GitLab defines (lib/gitlab/quick_actions/*_actions.rb,
# doc/user/project/quick_actions.md). All are stripped from a note at a line start; only
# the first set can run on a merge request. /cc is a no-op and /shrug, /tableflip are
# substitutions: none of them is stripped (the substitutions are not reproduced).
MERGE_REQUEST_COMMANDS = (
    "approve", "assign", "assign_reviewer", "award", "close", "copy_metadata", "done", "draft",
    "estimate", "estimate_time", "label", "labels", "lock", "merge", "milestone", "react", "ready",
    "reassign", "reassign_reviewer", "rebase", "relabel", "remove_estimate", "remove_label",
    "remove_milestone", "remove_reviewer", "remove_time_estimate", "remove_time_spent", "reopen",
    "request_review", "reviewer", "spend", "spend_time", "submit_review", "subscribe", "target_branch",
    "title", "todo", "unapprove", "unassign", "unassign_reviewer", "unlabel", "unlock", "unsubscribe",
)  # fmt: skip
OTHER_COMMANDS = (
    "add_contacts", "child_epic", "clear_health_status", "clear_weight", "clone", "confidential",
    "create_merge_request", "due", "duplicate", "epic", "health_status", "invite_email", "iteration",
    "link", "move", "page", "parent_epic", "promote", "promote_to_incident", "publish", "relate",
    "remove_child_epic", "remove_contacts", "remove_due_date", "remove_epic", "remove_iteration",
    "remove_parent_epic", "remove_zoom", "severity", "tag", "timeline", "weight", "zoom",
)  # fmt: skip
_ALIASES = {
    "labels": "label", "remove_label": "unlabel", "reviewer": "assign_reviewer",
    "request_review": "assign_reviewer", "remove_reviewer": "unassign_reviewer", "estimate_time": "estimate",
    "remove_time_estimate": "remove_estimate", "spend_time": "spend", "react": "award",
}  # fmt: skip

_ERROR_PAGE = (
    "<!DOCTYPE html>\n<html>\n<head><title>GitLab is not responding ({status})</title></head>\n"
    "<body><h1>{status}</h1><h2>Whoops, GitLab is taking too much time to respond.</h2></body>\n</html>\n"
)
_DEFAULT_MESSAGES = {
    400: "400 Bad request",
    401: "401 Unauthorized",
    403: "403 Forbidden",
    404: "404 Not Found",
    405: "405 Method Not Allowed",
    409: "409 Conflict: Resource lock",
    422: "422 Unprocessable Entity",
    500: "500 Internal Server Error",
}


# ---- public records ---------------------------------------------------------------------


class RecordedRequest(NamedTuple):
    """One request as the fake saw it. `auth` names how a credential came (never its value)."""

    method: str
    target: str
    body: Json | None
    auth: str | None


@dataclass(frozen=True)
class QuickAction:
    """A quick action GitLab found at a line start of a note: what a test checks would have run.

    applied is False when GitLab strips the command but cannot run it on a merge request
    (an issue-only command, /close on a closed MR, ...); the summary then says so.
    """

    name: str
    arg: str | None
    note_id: int | None  # None when the note was made only of commands and not stored
    mr_iid: int
    method: str  # POST (created) or PUT (edited)
    applied: bool
    message: str


@dataclass(frozen=True)
class FileDiff:
    """One item of ``GET .../merge_requests/:iid/diffs``, as GitLab stores it."""

    old_path: str
    new_path: str
    diff: str = ""
    a_mode: str = "100644"
    b_mode: str = "100644"
    new_file: bool = False
    renamed_file: bool = False
    deleted_file: bool = False
    generated_file: bool = False
    too_large: bool = False
    collapsed: bool = False

    @classmethod
    def modified(cls, path: str, patch: str, **extra: Any) -> FileDiff:
        return cls(path, path, patch, **extra)

    @classmethod
    def added(cls, path: str, patch: str, **extra: Any) -> FileDiff:
        return cls(path, path, patch, a_mode="0", new_file=True, **extra)

    @classmethod
    def deleted(cls, path: str, patch: str, **extra: Any) -> FileDiff:
        return cls(path, path, patch, b_mode="0", deleted_file=True, **extra)

    @classmethod
    def renamed(cls, old_path: str, new_path: str, patch: str = "", **extra: Any) -> FileDiff:
        """A rename; an empty patch is a pure (100 % similar) rename."""
        return cls(old_path, new_path, patch, renamed_file=True, **extra)

    @classmethod
    def binary(cls, path: str, *, new_file: bool = False, deleted_file: bool = False) -> FileDiff:
        """Gitaly keeps Git's binary notice as the patch."""
        old = "/dev/null" if new_file else f"a/{path}"
        new = "/dev/null" if deleted_file else f"b/{path}"
        return cls(
            path,
            path,
            f"Binary files {old} and {new} differ\n",
            a_mode="0" if new_file else "100644",
            b_mode="0" if deleted_file else "100644",
            new_file=new_file,
            deleted_file=deleted_file,
        )

    @classmethod
    def too_large_file(cls, path: str) -> FileDiff:
        """Over diff_max_patch_bytes (200 KiB by default): pruned, flagged too_large."""
        return cls(path, path, "", too_large=True)

    @classmethod
    def collapsed_file(cls, path: str) -> FileDiff:
        """Past Gitaly's safe limits: pruned, flagged collapsed."""
        return cls(path, path, "", collapsed=True)

    def to_json(self, *, unidiff: bool = False) -> Json:
        """The Entities::Diff shape, keys in GitLab's order."""
        return {
            "diff": self._unidiff() if unidiff else self.diff,
            "collapsed": self.collapsed,
            "too_large": self.too_large,
            "new_path": self.new_path,
            "old_path": self.old_path,
            "a_mode": self.a_mode,
            "b_mode": self.b_mode,
            "new_file": self.new_file,
            "renamed_file": self.renamed_file,
            "deleted_file": self.deleted_file,
            "generated_file": self.generated_file,
        }

    def _unidiff(self) -> str:
        """Gitlab::Git::Diff#unidiff: a ---/+++ header unless blank or binary."""
        if not self.diff.strip() or re.match(r"Binary files (.*) and (.*) differ", self.diff):
            return self.diff
        old = "/dev/null" if self.new_file else f"a/{self.old_path}"
        new = "/dev/null" if self.deleted_file else f"b/{self.new_path}"
        return f"--- {old}\n+++ {new}\n{self.diff}"


def file_anchor(path: str) -> str:
    """The fragment of a file on the MR Changes tab: SHA-1 of its path (Gitlab::Diff::File#file_hash)."""
    return hashlib.sha1(path.encode()).hexdigest()


def line_code(path: str, old_line: int, new_line: int) -> str:
    """The fragment of a diff line: ``<sha1(path)>_<old>_<new>`` (Gitlab::Git.diff_line_code).

    For an added line, old is the old-side counter at that point (the number the next
    unchanged line would have); for a removed line, new is the new-side counter.
    """
    return f"{file_anchor(path)}_{old_line}_{new_line}"


# ---- quick actions ----------------------------------------------------------------------

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_QUOTE_FENCE = re.compile(r"^ *>>> *$")


def _lines(text: str) -> list[str]:
    """Ruby's String#lines: split after each \\n, keeping it."""
    return re.findall(r"[^\n]*\n|[^\n]+\Z", text)


def _unfence_quotes(text: str) -> str:
    """GitLab's ``>>>`` fenced block quotes as ``>`` quotes, keeping line numbers.

    A ``>>>`` line outside a code fence opens a quote that the next ``>>>`` line closes;
    the fence lines become blank, the lines between get a ``> `` prefix.
    """
    lines = text.split("\n")
    fence: str | None = None
    index = 0
    while index < len(lines):
        code = _FENCE.match(lines[index])
        if fence is not None:
            if code and code.group(1)[0] == fence[0] and len(code.group(1)) >= len(fence):
                fence = None
        elif code:
            fence = code.group(1)
        elif _QUOTE_FENCE.match(lines[index]):
            close = next((end for end in range(index + 1, len(lines)) if _QUOTE_FENCE.match(lines[end])), None)
            if close is not None:
                lines[index] = lines[close] = ""
                for inner in range(index + 1, close):
                    lines[inner] = f"> {lines[inner]}"
                index = close
        index += 1
    return "\n".join(lines)


class _TopLevelParagraphs(html.parser.HTMLParser):
    """Collect (first row, last row, text) of each top-level <p> of cmark's sourcepos HTML."""

    VOID = frozenset({"br", "hr", "img", "input", "col", "area", "base", "embed", "source", "wbr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.found: list[tuple[int, int, str]] = []
        self._current: tuple[int, int] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.VOID:
            return
        if self.depth == 0 and tag == "p":
            position = dict(attrs).get("data-sourcepos") or ""
            rows = re.fullmatch(r"(\d+):\d+-(\d+):\d+", position)
            if rows:
                self._current = (max(int(rows.group(1)), 1) - 1, max(int(rows.group(2)), 1) - 1)
                self._text = []
        self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        self.depth -= 1
        if self.depth == 0 and self._current is not None:
            self.found.append((*self._current, "".join(self._text)))
            self._current = None

    def handle_data(self, data: str) -> None:
        if self._current is not None:
            self._text.append(data)


def _command_regex(names: Iterable[str]) -> re.Pattern[str]:
    """Extractor#commands_regex: inline code and HTML blocks are skipped, commands matched."""
    union = "|".join(re.escape(name) for name in names)
    return re.compile(
        r"(?P<inline_code>`.+?`)"
        r"|(?P<html>^<[^>]+?>\n.+?\n</[^>]+?>$)"
        rf"|(?:^/(?P<cmd>{union})(?:[ ](?P<arg>[^\n]*))?(?:[ \t\r\n\f\v]*\n|$))",
        re.MULTILINE | re.DOTALL | re.IGNORECASE,
    )


_COMMANDS = _command_regex((*MERGE_REQUEST_COMMANDS, *OTHER_COMMANDS))


def extract_quick_actions(text: str) -> tuple[str, list[tuple[str, str | None]]]:
    """What GitLab stores and runs for a note: (content, [(command, argument)]).

    Port of Gitlab::QuickActions::Extractor#extract_commands (Markdown-aware version).
    """
    content = text.replace("\r", "")
    commands: list[tuple[str, str | None]] = []

    def take(match: re.Match[str]) -> str:
        if match.group("cmd") is None:
            return match.group(0)
        arg = match.group("arg")
        commands.append((match.group("cmd").lower(), arg if arg and arg.strip(RUBY_WHITESPACE) else None))
        return ""

    rendered = cmarkgfm.github_flavored_markdown_to_html(_unfence_quotes(content), options=Options.CMARK_OPT_SOURCEPOS)
    parser = _TopLevelParagraphs()
    parser.feed(rendered)
    parser.close()
    candidates = [(first, last) for first, last, words in parser.found if re.search(r"^/", words, re.MULTILINE)]
    if candidates:
        lines = _lines(content)
        for first, last in candidates:
            end = last + 1 if last + 1 < len(lines) and lines[last + 1] == "\n" else last
            paragraph = _COMMANDS.sub(take, "".join(lines[first : end + 1]))
            lines[first : end + 1] = [paragraph] + [""] * (end - first)
        content = "".join(lines)
    return content.rstrip(RUBY_WHITESPACE), commands


# ---- internal state ---------------------------------------------------------------------


@dataclass
class _Reply:
    """One HTTP answer: status, body (JSON, or text when a str) and extra headers."""

    status: int
    body: Body = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"

    def response(self) -> Response:
        """On the wire: compact JSON as Rails writes it, or text; no Content-Type nor -Length for a 204."""
        payload = encode(self.body, separators=(",", ":"))
        charset = "" if self.content_type == "application/json" else "; charset=utf-8"
        entity = [("Content-Type", self.content_type + charset), ("Content-Length", str(len(payload)))]
        return Response(self.status, (entity if self.status != 204 else []) + list(self.headers.items()), payload)


@dataclass
class GitLabUser:
    """A user as the fake knows it (``FakeGitLab.bot`` is the project access token's bot)."""

    id: int
    username: str
    name: str
    email: str
    bot: bool = False
    quick_actions: bool = True
    created_at: str = ""


@dataclass
class _Token:
    value: str
    user: GitLabUser
    kind: str  # personal, project, group, oauth, job
    scopes: tuple[str, ...]
    role: str  # developer or maintainer
    expired: bool = False
    revoked: bool = False


@dataclass
class GitLabProject:
    """A project: ``FakeGitLab.project`` (id, full path, visibility), or a fork's source."""

    id: int
    path: str
    visibility: str

    @property
    def name(self) -> str:
        return self.path.rpartition("/")[2]


@dataclass
class _Commit:
    sha: str
    message: str
    author: GitLabUser
    created_at: str
    parent: str | None

    @property
    def title(self) -> str:
        return self.message.split("\n", 1)[0]


@dataclass
class _MergeRequest:
    iid: int
    id: int
    title: str
    description: str | None
    source_branch: str
    target_branch: str
    author: GitLabUser
    source_project: GitLabProject
    created_at: str
    updated_at: str
    start_sha: str
    commits: list[_Commit] = field(default_factory=list)  # oldest first
    diffs: list[FileDiff] = field(default_factory=list)
    state: str = "opened"
    draft: bool = False
    labels: list[str] = field(default_factory=list)
    approved_by: set[int] = field(default_factory=set)
    diff_versions: int = 1

    @property
    def head_sha(self) -> str:
        return self.commits[-1].sha if self.commits else self.start_sha


@dataclass
class _Note:
    id: int
    mr_iid: int
    body: str
    author: GitLabUser
    system: bool
    internal: bool
    created_at: str
    updated_at: str


@dataclass
class _Fault(Fault):
    body: Body = None
    delay: float = 0.0

    def reply(self) -> _Reply:
        """The scripted answer; default bodies are GitLab's for that status."""
        if self.status == 0:
            raise AssertionError("a delay-only fault has no reply")
        if self.body is not None:
            kind = "text/plain" if isinstance(self.body, str) else "application/json"
            return _Reply(self.status, self.body, dict(self.headers), kind)
        if self.status in (502, 503, 504):
            return _Reply(self.status, _ERROR_PAGE.format(status=self.status), dict(self.headers), "text/html")
        return _Reply(
            self.status, {"message": _DEFAULT_MESSAGES.get(self.status, str(self.status))}, dict(self.headers)
        )


class _HttpError(Exception):
    """Raised by endpoint code to answer an error at once."""

    def __init__(self, reply: _Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


def _message(status: int, message: Any) -> _HttpError:
    """render_api_error!: {"message": ...}."""
    return _HttpError(_Reply(status, {"message": message}))


def _grape(status: int, error: str) -> _HttpError:
    """Grape's own errors (validation, unknown route): {"error": ...}."""
    return _HttpError(_Reply(status, {"error": error}))


def _ruby_hash(errors: dict[str, list[str]]) -> str:
    """ActiveModel errors.messages as Ruby 3.3 inspects it."""
    return "{" + ", ".join(f":{key}=>{json.dumps(values, ensure_ascii=False)}" for key, values in errors.items()) + "}"


def _stamp(moment: datetime) -> str:
    """GitLab's API timestamps: UTC, milliseconds, trailing Z."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _sha(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def _integer(raw: str | None, name: str, default: int) -> int:
    """A Grape Integer parameter: absent means default, anything non-integer is a 400."""
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"[+-]?\d+", raw.strip()):
        raise _grape(400, f"{name} is invalid")
    return int(raw)


def _page_params(query: dict[str, str]) -> tuple[int, int]:
    """page and per_page as GitLab reads them: defaults 1 and 20, per_page capped at 100."""
    page = _integer(query.get("page"), "page", 1)
    per_page = _integer(query.get("per_page"), "per_page", DEFAULT_PER_PAGE)
    return max(page, 1), (min(per_page, MAX_PER_PAGE) if per_page >= 1 else DEFAULT_PER_PAGE)


class FakeGitLab(LoopbackFake[RecordedRequest]):
    """GitLab REST API v4 on 127.0.0.1 for one project; use as a context manager.

    ``url`` is the base URL for ``gitlab.Gitlab(url=...)`` and CI_SERVER_URL, ``api_url`` CI_API_V4_URL;
    ``requests`` holds every request: method, path with query, parsed body, credential kind.

    Out of the box: a private project ``acme/shop``, a human ``dev`` (who opens MRs and owns
    the CI job token ``job_token``), and a project access token ``token`` (scope api,
    Maintainer) whose bot user comments. Arrange more with add_user, add_token,
    add_merge_request, push_commits, set_diffs and add_note.
    """

    def __init__(
        self,
        *,
        project: str = "acme/shop",
        project_id: int = 4242,
        visibility: str = "private",
        token: str = "glpat-fake-project-token",
        bot_name: str = "jira-brief",
        job_token: str = JOB_TOKEN_PREFIX + "fake-job-token",
        host: str = "gitlab.example.com",
    ) -> None:
        """host: only used in e-mail addresses (``noreply.<host>``), never resolved."""
        super().__init__()
        self.host = host
        self.max_note_chars = MAX_NOTE_CHARS
        self.max_notes = MAX_NOTES_PER_NOTEABLE
        self._ids = itertools.count(2)
        self._note_ids = itertools.count(1_000_001)
        self._last_tick = datetime(2000, 1, 1, tzinfo=UTC)
        self._users: dict[str, GitLabUser] = {}
        self._tokens: dict[str, _Token] = {}
        self._projects: dict[int, GitLabProject] = {}
        self._mrs: dict[int, _MergeRequest] = {}
        self._notes: dict[int, _Note] = {}
        self._faults: Faults[_Fault] = Faults()
        self._quick_actions: list[QuickAction] = []
        self.project = GitLabProject(project_id, project, visibility)
        self._projects[project_id] = self.project
        self._add_user("dev", name="Dev Eloper")
        bot_username = f"project_{project_id}_bot_{_sha(project)[:32]}"
        self.bot = self._add_user(bot_username, name=bot_name, bot=True)
        self.token = token
        self.job_token = job_token
        self.add_token(token, username=bot_username, kind="project", role="maintainer")
        self.add_token(job_token, username="dev", kind="job")

    @property
    def api_url(self) -> str:
        """CI_API_V4_URL: the base URL plus /api/v4."""
        return self.url + API_PREFIX

    @property
    def quick_actions(self) -> list[QuickAction]:
        """Every quick action GitLab would have found in a note, in order."""
        with self._lock:
            return list(self._quick_actions)

    # ---- arranging state -------------------------------------------------

    def add_user(self, username: str, *, name: str | None = None, bot: bool = False, quick_actions: bool = True) -> int:
        """A user (or bot) that can author notes; quick_actions=False for bots GitLab denies them."""
        with self._lock:
            return self._add_user(username, name=name, bot=bot, quick_actions=quick_actions).id

    def add_token(
        self,
        value: str,
        *,
        username: str,
        kind: str = "personal",
        scopes: Sequence[str] = ("api",),
        role: str = "developer",
        expired: bool = False,
        revoked: bool = False,
    ) -> None:
        """A credential for `username`: kind personal, project, group, oauth (Bearer only) or job."""
        if kind not in {"personal", "project", "group", "oauth", "job"}:
            raise ValueError(f"unknown token kind {kind!r}")
        with self._lock:
            self._tokens[value] = _Token(value, self._users[username], kind, tuple(scopes), role, expired, revoked)

    def add_merge_request(
        self,
        iid: int,
        *,
        title: str,
        source_branch: str,
        target_branch: str = "main",
        description: str | None = None,
        commits: Sequence[str] = (),
        author: str = "dev",
        source_project: str | None = None,
        draft: bool = False,
    ) -> None:
        """An open MR; commits are messages, oldest first; source_project != project is a fork."""
        with self._lock:
            source = self.project
            if source_project is not None and source_project.lower() != self.project.path.lower():
                source = self._fork(source_project)
            now = self._tick()
            mr = _MergeRequest(
                iid=iid,
                id=700_000 + iid,
                title=title,
                description=description,
                source_branch=source_branch,
                target_branch=target_branch,
                author=self._users[author],
                source_project=source,
                created_at=now,
                updated_at=now,
                start_sha=_sha(f"{self.project.path}:{target_branch}"),
                draft=draft,
            )
            self._mrs[iid] = mr
            for message in commits:
                self._append_commit(mr, message, mr.author)

    def push_commits(self, iid: int, messages: Sequence[str], *, author: str = "dev") -> list[str]:
        """New commits on the source branch, with GitLab's "added N commits" system note; their SHAs."""
        with self._lock:
            mr = self._mrs[iid]
            previous = mr.head_sha
            added = [self._append_commit(mr, message, self._users[author]) for message in messages]
            mr.diff_versions += 1
            items = "".join(f"<li>{commit.sha[:8]} - {commit.title}</li>" for commit in reversed(added))
            noun = "commit" if len(added) == 1 else "commits"
            compare = (
                f"/{self.project.path}/-/merge_requests/{iid}/diffs"
                f"?diff_id={mr.id * 10 + mr.diff_versions}&start_sha={previous}"
            )
            body = f"added {len(added)} {noun}\n\n<ul>{items}</ul>\n\n[Compare with previous version]({compare})"
            self._store_note(mr, body, self._users[author], system=True)
            return [commit.sha for commit in added]

    def set_diffs(self, iid: int, diffs: Sequence[FileDiff]) -> None:
        """The MR's changed files, in the order GitLab lists them."""
        with self._lock:
            self._mrs[iid].diffs = list(diffs)

    def add_note(self, iid: int, body: str, *, author: str = "dev", system: bool = False) -> int:
        """Store a pre-existing note (no quick actions run); returns its id."""
        with self._lock:
            if iid not in self._mrs:
                raise ValueError(f"add_merge_request({iid}) first")
            return self._store_note(self._mrs[iid], body, self._users[author], system=system).id

    def notes(self, iid: int) -> list[Json]:
        """Current notes of an MR in the API's JSON shape, oldest first."""
        with self._lock:
            mr = self._mrs[iid]
            return [
                self._note_json(note, mr)
                for note in sorted(self._notes.values(), key=lambda n: n.id)
                if note.mr_iid == iid
            ]

    def merge_request(self, iid: int) -> Json:
        """An MR in the API's JSON shape (state, labels and title reflect quick actions)."""
        with self._lock:
            return self._mr_json(self._mrs[iid])

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

        Consumed once. after_apply=True performs the operation first, to reproduce
        "GitLab stored the note but answered 5xx". body: JSON, or a str sent as text/plain;
        by default GitLab's body for that status (an HTML page for 502/503/504).
        """
        fault = _Fault(method.upper(), re.compile(path_regex), status, after_apply, headers or {}, body)
        with self._lock:
            self._faults.add(fault)

    def rate_limit_next(
        self, method: str, path_regex: str, *, retry_after: int = 0, notes_create: bool = False
    ) -> None:
        """The next matching request is throttled like GitLab does.

        Default: a Rack::Attack throttle (text/plain "Retry later", RateLimit-* and
        Retry-After headers). notes_create=True: the application limit on note creation,
        a JSON body and no Retry-After, so python-gitlab backs off 0.1 s, 0.2 s, ...
        """
        if notes_create:
            self.fail_next(method, path_regex, 429, body={"message": {"error": NOTES_CREATE_LIMITED}})
            return
        reset = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=retry_after)
        headers = {
            "RateLimit-Name": "throttle_authenticated_api",
            "RateLimit-Limit": "2000",
            "RateLimit-Observed": "2001",
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": str(int(reset.timestamp())),
            "RateLimit-ResetTime": format_datetime(reset, usegmt=True),
            "Retry-After": str(retry_after),
        }
        self.fail_next(method, path_regex, 429, headers=headers, body=RATE_LIMIT_TEXT)

    def delay_next(self, method: str, path_regex: str, seconds: float) -> None:
        """Hold the answer to the next matching request `seconds` before sending it.

        The answer reflects the state when the request arrived and other requests are served
        meanwhile: two overlapping CI runs can both read "no sticky note yet".
        """
        fault = _Fault(method.upper(), re.compile(path_regex), 0, False, {}, None, delay=seconds)
        with self._lock:
            self._faults.add(fault)

    # ---- request handling --------------------------------------------------

    def respond(self, request: Request) -> Response:
        """`handle` on the wire, with the header names in lower case."""
        headers = {name.lower(): value for name, value in request.headers.items()}
        return self.handle(request.method, request.target, headers, request.body).response()

    def handle(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> _Reply:
        """Answer one request; called by the HTTP handler thread."""
        split = urlsplit(target)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        with self._lock:
            delay = self._take_delay(method, split.path)
            reply = self._answer(method, target, split.path, query, headers, raw)
        if delay:
            time.sleep(delay)  # outside the lock: other requests go on meanwhile
        return reply

    def _answer(
        self, method: str, target: str, path: str, query: dict[str, str], headers: dict[str, str], raw: bytes
    ) -> _Reply:
        try:
            body = self._parse_body(headers.get("content-type", ""), raw)
        except _HttpError as error:
            self._requests.append(RecordedRequest(method, target, None, None))
            return error.reply
        self._requests.append(RecordedRequest(method, target, body, self._credential_kind(headers, query)))
        fault = self._faults.take(method, path, lambda fault: fault.status != 0)
        if fault is not None and not fault.after_apply:
            return fault.reply()
        try:
            reply = self._dispatch(method, path, query, body, headers)
        except _HttpError as error:
            reply = error.reply
        return fault.reply() if fault is not None else reply

    @staticmethod
    def _parse_body(content_type: str, raw: bytes) -> Json | None:
        """JSON or form parameters; Grape merges them with the query string."""
        if not raw:
            return None
        if "json" in content_type:
            try:
                parsed = json.loads(raw)
            except ValueError as error:
                raise _grape(400, f"There was a problem with the JSON in your request: {error}") from None
            return parsed if isinstance(parsed, dict) else {"_": parsed}
        return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))

    @staticmethod
    def _credential_kind(headers: dict[str, str], query: dict[str, str]) -> str | None:
        if "private-token" in headers:
            return "PRIVATE-TOKEN"
        if headers.get("authorization", "").lower().startswith("bearer "):
            return "Bearer"
        if "job-token" in headers:
            return "JOB-TOKEN"
        return next((name for name in ("private_token", "job_token", "access_token") if name in query), None)

    def _take_delay(self, method: str, path: str) -> float:
        delay = self._faults.take(method, path, lambda fault: fault.status == 0)
        return delay.delay if delay is not None else 0.0

    def _routes(self) -> list[tuple[str, str, Callable[..., _Reply], bool]]:
        """(method, path regex under /api/v4, handler, job token accepted)."""
        mr = r"/projects/(?P<id>[^/]+)/merge_requests/(?P<merge_request_iid>[^/]+)"
        notes = r"/projects/(?P<id>[^/]+)/merge_requests/(?P<noteable_id>[^/]+)/notes"
        return [
            ("GET", r"/user", self._get_user, False),
            ("GET", r"/projects/(?P<id>[^/]+)", self._get_project, False),
            ("GET", mr, self._get_mr, True),
            ("GET", mr + r"/commits", self._list_commits, False),
            ("GET", mr + r"/diffs", self._list_diffs, False),
            ("GET", mr + r"/changes", self._get_changes, False),
            ("GET", notes, self._list_notes, True),
            ("POST", notes, self._create_note, False),
            ("GET", notes + r"/(?P<note_id>[^/]+)", self._get_note, True),
            ("PUT", notes + r"/(?P<note_id>[^/]+)", self._update_note, False),
            ("DELETE", notes + r"/(?P<note_id>[^/]+)", self._delete_note, False),
        ]

    def _dispatch(
        self, method: str, path: str, query: dict[str, str], body: Json | None, headers: dict[str, str]
    ) -> _Reply:
        """Route, authenticate, then run the endpoint."""
        if not path.startswith(API_PREFIX + "/"):
            raise _grape(404, "404 Not Found")
        rest = path[len(API_PREFIX) :]
        allowed = []
        for route_method, pattern, handler, job_token_allowed in self._routes():
            match = re.fullmatch(pattern, rest)
            if match is None:
                continue
            if route_method != method:
                allowed.append(route_method)
                continue
            params = {key: unquote(value) for key, value in match.groupdict().items()}
            token = self._authenticate(method, rest, headers, query, job_token_allowed)
            merged = {**query, **(body or {})}
            return handler(token=token, params=params, query=query, body=merged, path=path, method=method)
        if allowed:
            raise _HttpError(_Reply(405, {"error": "405 Not Allowed"}, {"Allow": ", ".join(sorted(set(allowed)))}))
        raise _grape(404, "404 Not Found")

    # ---- authentication ------------------------------------------------------

    def _authenticate(
        self, method: str, route: str, headers: dict[str, str], query: dict[str, str], job_token_allowed: bool
    ) -> _Token | None:
        """find_user_from_sources: job bearer, access token, job token; None is anonymous."""
        bearer = headers.get("authorization", "")
        bearer = bearer[7:].strip() if bearer.lower().startswith("bearer ") else ""
        if job_token_allowed and bearer and self._job_token(bearer) is not None:
            return self._job_token(bearer)
        personal = query.get("private_token") or headers.get("private-token") or bearer
        if personal and not personal.startswith(JOB_TOKEN_PREFIX):
            token = self._tokens.get(personal)
            if token is None or token.kind == "job" or (token.kind == "oauth" and personal != bearer):
                raise _message(401, "401 Unauthorized")
            self._validate(token, method, route)
            return token
        job_value = query.get("job_token") or headers.get("job-token")
        if job_token_allowed and job_value:
            token = self._job_token(job_value)
            if token is None:
                raise _message(401, "401 Unauthorized")
            return token
        return None

    def _job_token(self, value: str) -> _Token | None:
        token = self._tokens.get(value)
        return token if token is not None and token.kind == "job" else None

    @staticmethod
    def _validate(token: _Token, method: str, route: str) -> None:
        """AccessTokenValidationService: expiry, revocation, then scopes."""
        for failed, description in ((token.expired, TOKEN_EXPIRED), (token.revoked, TOKEN_REVOKED)):
            if failed:
                challenge = f'Bearer realm="{OAUTH_REALM}", error="invalid_token", error_description="{description}"'
                body = {"error": "invalid_token", "error_description": description}
                raise _HttpError(_Reply(401, body, {"WWW-Authenticate": challenge}))
        reading = method in {"GET", "HEAD"}
        if "api" in token.scopes or (reading and "read_api" in token.scopes):
            return
        if reading and route == "/user" and "read_user" in token.scopes:
            return
        body = {"error": "insufficient_scope", "error_description": INSUFFICIENT_SCOPE, "scope": "api"}
        raise _HttpError(_Reply(403, body))

    @staticmethod
    def _require_user(token: _Token | None) -> _Token:
        """authenticate!: anonymous (or an ignored job token) is 401."""
        if token is None:
            raise _message(401, "401 Unauthorized")
        return token

    def _project(self, token: _Token | None, raw_id: str) -> GitLabProject:
        """find_project!: by id or full path; invisible is the same 404 as missing."""
        if raw_id.isdigit():
            project = self._projects.get(int(raw_id))
        else:
            project = next((p for p in self._projects.values() if p.path.lower() == raw_id.lower()), None)
        if project is None or (token is None and project.visibility != "public"):
            raise _message(404, "404 Project Not Found")
        return project

    def _find_mr(self, token: _Token | None, params: dict[str, str], key: str) -> _MergeRequest:
        iid = _integer(params[key], key, 0)
        project = self._project(token, params["id"])
        mr = self._mrs.get(iid) if project is self.project else None
        if mr is None:
            raise _message(404, "404 Not found")
        return mr

    # ---- endpoints -----------------------------------------------------------

    def _get_user(self, token: _Token | None, **_: Any) -> _Reply:
        return _Reply(200, self._current_user_json(self._require_user(token).user))

    def _get_project(self, token: _Token | None, params: dict[str, str], **_: Any) -> _Reply:
        return _Reply(200, self._project_json(self._project(token, params["id"])))

    def _get_mr(self, token: _Token | None, params: dict[str, str], **_: Any) -> _Reply:
        mr = self._find_mr(token, params, "merge_request_iid")
        return _Reply(200, self._mr_json(mr, token))

    def _list_commits(
        self, token: _Token | None, params: dict[str, str], query: dict[str, str], path: str, **_: Any
    ) -> _Reply:
        mr = self._find_mr(token, params, "merge_request_iid")
        items = [self._commit_json(commit) for commit in reversed(mr.commits)]
        return self._paginate(path, query, params, items)

    def _list_diffs(
        self, token: _Token | None, params: dict[str, str], query: dict[str, str], path: str, **_: Any
    ) -> _Reply:
        mr = self._find_mr(token, params, "merge_request_iid")
        unidiff = query.get("unidiff", "").lower() in {"true", "1", "yes"}
        return self._paginate(path, query, params, [diff.to_json(unidiff=unidiff) for diff in mr.diffs])

    def _get_changes(self, token: _Token | None, params: dict[str, str], query: dict[str, str], **_: Any) -> _Reply:
        mr = self._find_mr(token, params, "merge_request_iid")
        unidiff = query.get("unidiff", "").lower() in {"true", "1", "yes"}
        changes = [diff.to_json(unidiff=unidiff) for diff in mr.diffs]
        return _Reply(200, {**self._mr_json(mr, token), "changes": changes, "overflow": False})

    def _list_notes(
        self, token: _Token | None, params: dict[str, str], query: dict[str, str], path: str, **_: Any
    ) -> _Reply:
        self._require_user(token)
        order_by = query.get("order_by", "created_at")
        sort = query.get("sort", "desc")
        activity = query.get("activity_filter", "all_notes")
        problems = [
            f"{name} does not have a valid value"
            for name, value, valid in (
                ("order_by", order_by, {"created_at", "updated_at"}),
                ("sort", sort, {"asc", "desc"}),
                ("activity_filter", activity, {"all_notes", "only_comments", "only_activity"}),
            )
            if value not in valid
        ]
        if problems:
            raise _grape(400, ", ".join(problems))
        mr = self._find_mr(token, params, "noteable_id")
        notes = [note for note in self._notes.values() if note.mr_iid == mr.iid]
        if activity != "all_notes":
            notes = [note for note in notes if note.system == (activity == "only_activity")]
        if order_by == "updated_at":
            notes.sort(key=lambda note: (note.updated_at, note.id), reverse=sort == "desc")
        else:
            notes.sort(key=lambda note: note.id, reverse=sort == "desc")
        return self._paginate(path, query, params, [self._note_json(note, mr) for note in notes])

    def _get_note(self, token: _Token | None, params: dict[str, str], **_: Any) -> _Reply:
        self._require_user(token)
        mr = self._find_mr(token, params, "noteable_id")
        return _Reply(200, self._note_json(self._find_note(mr, params), mr))

    def _create_note(self, token: _Token | None, params: dict[str, str], body: Json, **_: Any) -> _Reply:
        writer = self._require_user(token)
        if "body" not in body or body["body"] is None:
            raise _grape(400, "body is missing")
        mr = self._find_mr(token, params, "noteable_id")
        text = str(body["body"])
        self._validate_note(text, mr, creating=True)
        content, commands = self._interpret(writer.user, text)
        head_sha = body.get("merge_request_diff_head_sha")
        if not commands:
            note = self._store_note(mr, content, writer.user, system=False, internal=_truthy(body.get("internal")))
            return _Reply(201, self._note_json(note, mr))
        changes, messages, runs = self._run_commands(mr, writer, commands, head_sha)
        if not content:
            self._record(runs, None, mr, "POST")
            return self._commands_only(changes, messages)
        note = self._store_note(mr, content, writer.user, system=False, internal=_truthy(body.get("internal")))
        self._record(runs, note.id, mr, "POST")
        return _Reply(201, self._note_json(note, mr, changes))

    def _update_note(self, token: _Token | None, params: dict[str, str], body: Json, **_: Any) -> _Reply:
        writer = self._require_user(token)
        if "body" in body and not str(body["body"] or "").strip(RUBY_WHITESPACE):
            raise _grape(400, "body is empty")
        mr = self._find_mr(token, params, "noteable_id")
        note = self._find_note(mr, params)
        self._authorize_admin_note(writer, note)
        if "body" not in body:
            return _Reply(200, self._note_json(note, mr))
        text = str(body["body"])
        self._validate_note(text, mr, creating=False)
        content, commands = self._interpret(writer.user, text)
        changes, messages, runs = self._run_commands(mr, writer, commands, None) if commands else ({}, [], [])
        if commands and not content:
            del self._notes[note.id]
            self._record(runs, None, mr, "PUT")
            return self._commands_only(changes, messages)
        if content != note.body:
            note.body, note.updated_at = content, self._tick()
        self._record(runs, note.id, mr, "PUT")
        return _Reply(200, self._note_json(note, mr, changes))

    def _delete_note(self, token: _Token | None, params: dict[str, str], **_: Any) -> _Reply:
        writer = self._require_user(token)
        mr = self._find_mr(token, params, "noteable_id")
        note = self._find_note(mr, params)
        self._authorize_admin_note(writer, note)
        del self._notes[note.id]
        return _Reply(204)

    # ---- note rules ----------------------------------------------------------

    def _find_note(self, mr: _MergeRequest, params: dict[str, str]) -> _Note:
        note = self._notes.get(_integer(params["note_id"], "note_id", 0))
        if note is None or note.mr_iid != mr.iid:
            raise _message(404, "404 Not found")
        return note

    @staticmethod
    def _authorize_admin_note(writer: _Token, note: _Note) -> None:
        """NotePolicy admin_note: not a system note, and the author or a maintainer."""
        if writer.kind == "job" or note.system or (note.author is not writer.user and writer.role != "maintainer"):
            raise _message(403, "403 Forbidden")

    def _validate_note(self, text: str, mr: _MergeRequest, *, creating: bool) -> None:
        """Note validations, in GitLab's order; all failures in one Ruby-inspected hash."""
        errors: dict[str, list[str]] = {}
        if not text.strip(RUBY_WHITESPACE):
            errors["note"] = ["can't be blank"]
        elif len(text) > self.max_note_chars:
            errors["note"] = [f"is too long (maximum is {self.max_note_chars} characters)"]
        if creating and sum(note.mr_iid == mr.iid for note in self._notes.values()) >= self.max_notes:
            errors["base"] = ["Maximum number of comments exceeded"]
        if errors:
            raise _message(400, f"400 Bad request - Note {_ruby_hash(errors)}")

    @staticmethod
    def _interpret(user: GitLabUser, text: str) -> tuple[str, list[tuple[str, str | None]]]:
        """InterpretService#execute: untouched text for a user denied quick actions."""
        return extract_quick_actions(text) if user.quick_actions else (text, [])

    @staticmethod
    def _commands_only(changes: Json, messages: list[str]) -> _Reply:
        """A note of commands only: 202 NoteCommands, or 400 when no command said anything."""
        summary = " ".join(message for message in messages if message)
        if not summary:
            raise _message(400, "400 Bad request - Failed to apply commands.")
        return _Reply(202, {"commands_changes": changes, "summary": [summary]})

    def _record(
        self, runs: list[tuple[str, str | None, bool, str]], note_id: int | None, mr: _MergeRequest, method: str
    ) -> None:
        for name, arg, applied, message in runs:
            self._quick_actions.append(QuickAction(name, arg, note_id, mr.iid, method, applied, message))

    def _run_commands(
        self, mr: _MergeRequest, writer: _Token, commands: list[tuple[str, str | None]], head_sha: str | None
    ) -> tuple[Json, list[str], list[tuple[str, str | None, bool, str]]]:
        """Apply what can run on a merge request; (commands_changes, messages, records)."""
        changes: Json = {}
        messages: list[str] = []
        runs: list[tuple[str, str | None, bool, str]] = []
        for name, arg in commands:
            applied, message = self._run_command(mr, writer, _ALIASES.get(name, name), arg, head_sha, changes)
            messages.append(message)
            runs.append((name, arg, applied, message))
        if changes:
            mr.updated_at = self._tick()
        return changes, messages, runs

    def _run_command(
        self, mr: _MergeRequest, writer: _Token, name: str, arg: str | None, head_sha: str | None, changes: Json
    ) -> tuple[bool, str]:
        """One command: (applied, execution message). Messages are GitLab's where known."""
        refused = (False, f"Could not apply {name} command.")
        text = (arg or "").strip()
        if name not in MERGE_REQUEST_COMMANDS:
            return refused
        if name in {"close", "merge"}:
            if mr.state != "opened":
                return refused
            mr.state = "closed" if name == "close" else "merged"
            if name == "close":
                changes["state_event"] = "close"
                return True, "Closed this merge request."
            changes["merge"] = head_sha
            return True, "Merged this merge request."
        if name == "reopen":
            if mr.state != "closed":
                return refused
            mr.state, changes["state_event"] = "opened", "reopen"
            return True, "Reopened this merge request."
        if name == "title":
            if not text:
                return refused
            mr.title = changes["title"] = text
            return True, f'Changed the title to "{text}".'
        if name in {"label", "relabel", "unlabel"}:
            return True, self._label_command(mr, name, text, changes)
        if name == "draft":
            changes["wip_event"] = "unwip" if mr.draft else "wip"
            mr.draft = not mr.draft
            return True, f"{'Marked' if mr.draft else 'Unmarked'} this merge request as a draft."
        if name in {"approve", "unapprove"}:
            approving = name == "approve"
            if (writer.user.id in mr.approved_by) == approving:
                return refused
            (mr.approved_by.add if approving else mr.approved_by.discard)(writer.user.id)
            return True, f"{'Approved' if approving else 'Unapproved'} the current merge request."
        if name == "target_branch" and text:
            mr.target_branch = changes["target_branch"] = text
            return True, f"Set target branch to {text}."
        if name == "rebase":
            changes["rebase"] = True
            return True, f"Scheduled a rebase of branch {mr.source_branch}."
        return True, f"Applied {name} command."  # the fake's wording: GitLab's varies per command

    @staticmethod
    def _label_command(mr: _MergeRequest, name: str, text: str, changes: Json) -> str:
        """/label, /relabel, /unlabel; every label is taken to exist."""
        labels = [a or b for a, b in re.findall(r'~?"([^"]+)"|~?([^\s"~]+)', text)]
        references = " ".join(f'~"{label}"' if " " in label else f"~{label}" for label in labels)
        noun = "label" if len(labels) == 1 else "labels"
        ids = [zlib.crc32(label.encode()) for label in labels]
        if name == "unlabel":
            if not labels:
                mr.labels, changes["label_ids"] = [], []
                return "Removed all labels."
            mr.labels = [label for label in mr.labels if label not in labels]
            changes["remove_label_ids"] = ids
            return f"Removed {references} {noun}."
        if name == "relabel":
            mr.labels, changes["label_ids"] = sorted(set(labels)), ids
            return f"Replaced all labels with {references} {noun}."
        mr.labels = sorted(set(mr.labels) | set(labels))
        changes["add_label_ids"] = ids
        return f"Added {references} {noun}."

    # ---- pagination ------------------------------------------------------------

    def _paginate(self, path: str, query: dict[str, str], params: dict[str, str], items: list[Json]) -> _Reply:
        """GitLab's offset pagination: the page, X-* headers and a Link header."""
        page, per_page = _page_params(query)
        total_pages = max(math.ceil(len(items) / per_page), 1)
        out_of_range = page > total_pages
        next_page = page + 1 if page < total_pages else None
        prev_page = page - 1 if page > 1 and not out_of_range else None
        links = [(prev_page, "prev"), (next_page, "next"), (1, "first"), (total_pages, "last")]
        link = ", ".join(
            f'<{self._page_url(path, query, params, number, per_page)}>; rel="{rel}"' for number, rel in links if number
        )
        headers = {
            "X-Per-Page": str(per_page),
            "X-Page": str(page),
            "X-Next-Page": str(next_page or ""),
            "X-Prev-Page": str(prev_page or ""),
            "Link": link,
            "X-Total": str(len(items)),
            "X-Total-Pages": str(total_pages),
        }
        return _Reply(200, items[(page - 1) * per_page : page * per_page], headers)

    def _page_url(self, path: str, query: dict[str, str], params: dict[str, str], page: int, per_page: int) -> str:
        """params.merge(page:, per_page:).to_query: route and query parameters, keys sorted."""
        merged = {**query, **params, "page": str(page), "per_page": str(per_page)}
        return f"{self.url}{path}?{urlencode(sorted(merged.items()))}"

    # ---- storage and JSON shapes ------------------------------------------------

    def _tick(self) -> str:
        """Now, strictly later than the previous stamp, so orderings are stable."""
        moment = max(datetime.now(UTC), self._last_tick + timedelta(milliseconds=1))
        self._last_tick = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
        return _stamp(self._last_tick)

    def _add_user(
        self, username: str, *, name: str | None = None, bot: bool = False, quick_actions: bool = True
    ) -> GitLabUser:
        email = f"{username}@noreply.{self.host}" if bot else f"{username}@example.com"
        user = GitLabUser(next(self._ids), username, name or username, email, bot, quick_actions, self._tick())
        self._users[username] = user
        return user

    def _fork(self, path: str) -> GitLabProject:
        found = next((p for p in self._projects.values() if p.path.lower() == path.lower()), None)
        if found is None:
            found = GitLabProject(100_000 + len(self._projects), path, "public")
            self._projects[found.id] = found
        return found

    def _append_commit(self, mr: _MergeRequest, message: str, author: GitLabUser) -> _Commit:
        parent = mr.head_sha
        commit = _Commit(_sha(f"{mr.iid}:{len(mr.commits)}:{message}:{parent}"), message, author, self._tick(), parent)
        mr.commits.append(commit)
        return commit

    def _store_note(
        self, mr: _MergeRequest, body: str, author: GitLabUser, *, system: bool, internal: bool = False
    ) -> _Note:
        now = self._tick()
        note = _Note(next(self._note_ids), mr.iid, body, author, system, internal, now, now)
        self._notes[note.id] = note
        mr.updated_at = now
        return note

    def _user_json(self, user: GitLabUser) -> Json:
        """Entities::UserBasic."""
        return {
            "id": user.id,
            "username": user.username,
            "name": user.name,
            "state": "active",
            "locked": False,
            "avatar_url": f"https://secure.gravatar.com/avatar/{_sha(user.email)}?s=80&d=identicon",
            "web_url": f"{self.url}/{user.username}",
        }

    def _current_user_json(self, user: GitLabUser) -> Json:
        """Entities::UserPublic, as GET /user answers a non-admin."""
        return {
            **self._user_json(user),
            "created_at": user.created_at,
            "bio": "",
            "location": "",
            "public_email": "",
            "skype": "",
            "linkedin": "",
            "twitter": "",
            "discord": "",
            "website_url": "",
            "organization": "",
            "job_title": "",
            "pronouns": None,
            "bot": user.bot,
            "work_information": None,
            "local_time": None,
            "last_sign_in_at": None,
            "confirmed_at": user.created_at,
            "last_activity_on": None,
            "email": user.email,
            "theme_id": 3,
            "color_scheme_id": 1,
            "projects_limit": 100000,
            "current_sign_in_at": None,
            "identities": [],
            "can_create_group": not user.bot,
            "can_create_project": not user.bot,
            "two_factor_enabled": False,
            "external": False,
            "private_profile": False,
            "commit_email": user.email,
        }

    def _project_json(self, project: GitLabProject) -> Json:
        namespace = project.path.rpartition("/")[0]
        return {
            "id": project.id,
            "name": project.name,
            "path": project.name,
            "path_with_namespace": project.path,
            "name_with_namespace": project.path.replace("/", " / "),
            "namespace": {
                "id": zlib.crc32(namespace.encode()),
                "path": namespace,
                "full_path": namespace,
                "kind": "group",
            },
            "visibility": project.visibility,
            "default_branch": "main",
            "web_url": f"{self.url}/{project.path}",
            "http_url_to_repo": f"{self.url}/{project.path}.git",
        }

    def _mr_json(self, mr: _MergeRequest, token: _Token | None = None) -> Json:
        """Entities::MergeRequest, as GET .../merge_requests/:iid answers it."""
        web = f"{self.url}/{self.project.path}/-/merge_requests/{mr.iid}"
        fork = mr.source_project is not self.project
        base = {
            "id": mr.id,
            "iid": mr.iid,
            "project_id": self.project.id,
            "title": ("Draft: " if mr.draft else "") + mr.title,
            "description": mr.description,
            "state": mr.state,
            "created_at": mr.created_at,
            "updated_at": mr.updated_at,
            "merged_by": None,
            "merge_user": None,
            "merged_at": None,
            "closed_by": None,
            "closed_at": None,
            "target_branch": mr.target_branch,
            "source_branch": mr.source_branch,
            "user_notes_count": sum(n.mr_iid == mr.iid and not n.system for n in self._notes.values()),
            "upvotes": 0,
            "downvotes": 0,
            "author": self._user_json(mr.author),
            "assignees": [],
            "assignee": None,
            "reviewers": [],
            "source_project_id": mr.source_project.id,
            "target_project_id": self.project.id,
            "labels": sorted(mr.labels),
            "draft": mr.draft,
            "work_in_progress": mr.draft,
            "milestone": None,
            "merge_when_pipeline_succeeds": False,
            "merge_status": "can_be_merged",
            "detailed_merge_status": "mergeable",
            "sha": mr.head_sha,
            "merge_commit_sha": None,
            "squash_commit_sha": None,
            "discussion_locked": None,
            "should_remove_source_branch": None,
            "force_remove_source_branch": True,
            "prepared_at": mr.created_at,
            "reference": f"!{mr.iid}",
            "references": {"short": f"!{mr.iid}", "relative": f"!{mr.iid}", "full": f"{self.project.path}!{mr.iid}"},
            "web_url": web,
            "time_stats": {
                "time_estimate": 0,
                "total_time_spent": 0,
                "human_time_estimate": None,
                "human_total_time_spent": None,
            },
            "squash": False,
            "squash_on_merge": False,
            "task_completion_status": {"count": 0, "completed_count": 0},
            "has_conflicts": False,
            "blocking_discussions_resolved": True,
        }
        if fork:
            base |= {"allow_collaboration": False, "allow_maintainer_to_push": False}
        return base | {
            "subscribed": False,
            "changes_count": str(len(mr.diffs)),
            "latest_build_started_at": None,
            "latest_build_finished_at": None,
            "first_deployed_to_production_at": None,
            "pipeline": None,
            "head_pipeline": None,
            "diff_refs": {"base_sha": mr.start_sha, "head_sha": mr.head_sha, "start_sha": mr.start_sha},
            "merge_error": None,
            "first_contribution": False,
            "user": {"can_merge": token is not None and token.kind != "job" and token.role == "maintainer"},
        }

    def _commit_json(self, commit: _Commit) -> Json:
        """Entities::Commit."""
        return {
            "id": commit.sha,
            "short_id": commit.sha[:8],
            "created_at": commit.created_at,
            "parent_ids": [commit.parent] if commit.parent else [],
            "title": commit.title,
            "message": commit.message,
            "author_name": commit.author.name,
            "author_email": commit.author.email,
            "authored_date": commit.created_at,
            "committer_name": commit.author.name,
            "committer_email": commit.author.email,
            "committed_date": commit.created_at,
            "trailers": {},
            "extended_trailers": {},
            "web_url": f"{self.url}/{self.project.path}/-/commit/{commit.sha}",
        }

    def _note_json(self, note: _Note, mr: _MergeRequest, commands_changes: Json | None = None) -> Json:
        """Entities::Note for a note of the notes API (type null, not resolvable)."""
        return {
            "id": note.id,
            "type": None,
            "body": note.body,
            "author": self._user_json(note.author),
            "created_at": note.created_at,
            "updated_at": note.updated_at,
            "system": note.system,
            "noteable_id": mr.id,
            "noteable_type": "MergeRequest",
            "project_id": self.project.id,
            "resolvable": False,
            "confidential": note.internal,
            "internal": note.internal,
            "imported": False,
            "imported_from": "none",
            "noteable_iid": mr.iid,
            "commands_changes": commands_changes or {},
        }


def _truthy(value: Any) -> bool:
    """A Grape Boolean parameter."""
    return value is True or str(value).lower() in {"true", "1", "yes", "t"}
