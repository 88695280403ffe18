"""A small fake of the Jira Server/Data Center REST API v2, on loopback.

It serves what mcp-atlassian reads for ``jira_get_issue`` (and a few sibling
read endpoints), requires a Personal Access Token (``Authorization: Bearer``),
and records every request it receives so tests can prove nothing was written.
"""

from __future__ import annotations

import html
import json
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

JIRA_TIME = "%Y-%m-%dT%H:%M:%S.000%z"
ACCEPTANCE_CRITERIA_FIELD = "customfield_10042"
STORY_POINTS_FIELD = "customfield_10016"
EPIC_LINK_FIELD = "customfield_10014"
EPIC_NAME_FIELD = "customfield_10011"
ISSUE_EXPAND = "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ISSUE_NOT_FOUND = {"errorMessages": ["Issue Does Not Exist"], "errors": {}}
NOT_AUTHENTICATED = {
    "errorMessages": ["You are not authenticated. Authentication required to perform this operation."],
    "errors": {},
}

# (id, key, colorName, name) of Jira's three status categories.
_CATEGORIES = {
    "new": (2, "new", "blue-gray", "To Do"),
    "indeterminate": (4, "indeterminate", "yellow", "In Progress"),
    "done": (3, "done", "green", "Done"),
}
_NEW_STATUSES = {"to do", "open", "backlog", "reopened", "selected for development"}
_DONE_STATUSES = {"done", "closed", "resolved", "won't do"}
_LINK_TYPES = {
    "Blocks": ("10000", "is blocked by", "blocks"),
    "Cloners": ("10001", "is cloned by", "clones"),
    "Duplicate": ("10002", "is duplicated by", "duplicates"),
    "Relates": ("10003", "relates to", "relates to"),
}
_PRIORITY_IDS = {"Highest": "1", "High": "2", "Medium": "3", "Low": "4", "Lowest": "5"}
_ISSUE_TYPE_IDS = {"Bug": "10004", "Story": "10001", "Task": "10002", "Epic": "10000", "Sub-task": "10003"}


def _system_field(fid: str, name: str, schema_type: str) -> dict[str, Any]:
    """One ``/field`` entry for a built-in field."""
    return {
        "id": fid,
        "key": fid,
        "name": name,
        "custom": False,
        "orderable": True,
        "navigable": True,
        "searchable": True,
        "clauseNames": [fid],
        "schema": {"type": schema_type, "system": fid},
    }


def _custom_field(fid: str, name: str, schema_type: str, plugin: str) -> dict[str, Any]:
    """One ``/field`` entry for a custom field."""
    number = int(fid.rsplit("_", 1)[1])
    return {
        "id": fid,
        "key": fid,
        "name": name,
        "custom": True,
        "orderable": True,
        "navigable": True,
        "searchable": True,
        "clauseNames": [f"cf[{number}]", name],
        "schema": {
            "type": schema_type,
            "custom": f"com.atlassian.jira.plugin.system.customfieldtypes:{plugin}" if ":" not in plugin else plugin,
            "customId": number,
        },
    }


FIELDS: list[dict[str, Any]] = [
    _system_field("summary", "Summary", "string"),
    _system_field("description", "Description", "string"),
    _system_field("issuetype", "Issue Type", "issuetype"),
    _system_field("project", "Project", "project"),
    _system_field("status", "Status", "status"),
    _system_field("priority", "Priority", "priority"),
    _system_field("assignee", "Assignee", "user"),
    _system_field("reporter", "Reporter", "user"),
    _system_field("creator", "Creator", "user"),
    _system_field("labels", "Labels", "array"),
    _system_field("components", "Component/s", "array"),
    _system_field("fixVersions", "Fix Version/s", "array"),
    _system_field("created", "Created", "datetime"),
    _system_field("updated", "Updated", "datetime"),
    _system_field("resolution", "Resolution", "resolution"),
    _system_field("resolutiondate", "Resolved", "datetime"),
    _system_field("duedate", "Due Date", "date"),
    _system_field("comment", "Comment", "comments-page"),
    _system_field("issuelinks", "Linked Issues", "array"),
    _system_field("subtasks", "Sub-Tasks", "array"),
    _system_field("parent", "Parent", "issuelink"),
    _custom_field(ACCEPTANCE_CRITERIA_FIELD, "Acceptance Criteria", "string", "textarea"),
    _custom_field(STORY_POINTS_FIELD, "Story Points", "number", "float"),
    _custom_field(EPIC_LINK_FIELD, "Epic Link", "any", "com.pyxis.greenhopper.jira:gh-epic-link"),
    _custom_field(EPIC_NAME_FIELD, "Epic Name", "string", "com.pyxis.greenhopper.jira:gh-epic-label"),
]


@dataclass
class IssueSpec:
    """What a test said about one issue; rendered to JSON per request."""

    key: str
    summary: str
    description: str
    status: str
    issue_type: str
    priority: str
    assignee: str | None
    reporter: str
    comments: list[tuple[str, str]]
    acceptance_criteria: str | None
    created: str
    updated: str
    labels: list[str]
    components: list[str]
    fix_versions: list[str]
    links: list[tuple[str, str, str]]
    subtasks: list[str]
    parent: str | None
    story_points: float | None
    epic_link: str | None
    extra_fields: dict[str, Any] = field(default_factory=dict)

    @property
    def issue_id(self) -> str:
        """A stable numeric id derived from the key (PAY-142 -> 10142)."""
        return str(10000 + int(self.key.rsplit("-", 1)[1]))

    @property
    def project_key(self) -> str:
        """The project part of the key."""
        return self.key.rsplit("-", 1)[0]


def _username(display_name: str) -> str:
    """``"Ana Lopez"`` -> ``"ana.lopez"``."""
    return ".".join(display_name.lower().split())


def _shift(timestamp: str, hours: int) -> str:
    """A Jira timestamp moved by ``hours``."""
    moment = datetime.strptime(timestamp, JIRA_TIME) + timedelta(hours=hours)
    return moment.strftime(JIRA_TIME)


def _status_category(status: str) -> str:
    """Which of Jira's three categories a status name falls in."""
    lowered = status.lower()
    if lowered in _NEW_STATUSES:
        return "new"
    return "done" if lowered in _DONE_STATUSES else "indeterminate"


def _render_wiki(text: str) -> str:
    """A rough ``renderedFields`` HTML version of wiki text."""
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    return "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)


class IssueRenderer:
    """Turns :class:`IssueSpec` objects into Jira REST v2 JSON."""

    def __init__(self, base_url: str, issues: Mapping[str, IssueSpec]) -> None:
        self.base = base_url
        self.issues = issues

    def user(self, display_name: str) -> dict[str, Any]:
        """A Server/DC user object."""
        name = _username(display_name)
        return {
            "self": f"{self.base}/rest/api/2/user?username={name}",
            "name": name,
            "key": f"JIRAUSER{10000 + len(name)}",
            "emailAddress": f"{name}@example.com",
            "avatarUrls": {"48x48": f"{self.base}/secure/useravatar?avatarId=10122"},
            "displayName": display_name,
            "active": True,
            "timeZone": "Europe/Berlin",
        }

    def status(self, name: str) -> dict[str, Any]:
        """A status object with its statusCategory."""
        cid, ckey, color, cname = _CATEGORIES[_status_category(name)]
        sid = str(10000 + sum(map(ord, name)) % 1000)
        return {
            "self": f"{self.base}/rest/api/2/status/{sid}",
            "description": "",
            "iconUrl": f"{self.base}/images/icons/statuses/generic.png",
            "name": name,
            "id": sid,
            "statusCategory": {
                "self": f"{self.base}/rest/api/2/statuscategory/{cid}",
                "id": cid,
                "key": ckey,
                "colorName": color,
                "name": cname,
            },
        }

    def issue_type(self, name: str) -> dict[str, Any]:
        """An issuetype object."""
        tid = _ISSUE_TYPE_IDS.get(name, "10005")
        return {
            "self": f"{self.base}/rest/api/2/issuetype/{tid}",
            "id": tid,
            "description": "",
            "name": name,
            "subtask": name == "Sub-task",
            "iconUrl": f"{self.base}/secure/viewavatar?size=xsmall&avatarId=10315",
        }

    def priority(self, name: str) -> dict[str, Any]:
        """A priority object."""
        pid = _PRIORITY_IDS.get(name, "3")
        return {
            "self": f"{self.base}/rest/api/2/priority/{pid}",
            "name": name,
            "id": pid,
            "iconUrl": f"{self.base}/images/icons/priorities/{name.lower()}.svg",
        }

    def issue_ref(self, key: str) -> dict[str, Any]:
        """The short issue form used in links, subtasks and parent."""
        spec = self.issues.get(key)
        summary = spec.summary if spec else f"Issue {key}"
        status = spec.status if spec else "To Do"
        itype = spec.issue_type if spec else "Story"
        priority = spec.priority if spec else "Medium"
        iid = spec.issue_id if spec else str(10000 + int(key.rsplit("-", 1)[1]))
        return {
            "id": iid,
            "key": key,
            "self": f"{self.base}/rest/api/2/issue/{iid}",
            "fields": {
                "summary": summary,
                "status": self.status(status),
                "priority": self.priority(priority),
                "issuetype": self.issue_type(itype),
            },
        }

    def link(self, index: int, link: tuple[str, str, str]) -> dict[str, Any]:
        """One issuelinks entry: (type name, "outward"|"inward", other key)."""
        type_name, direction, other = link
        tid, inward, outward = _LINK_TYPES.get(type_name, ("10099", type_name, type_name))
        lid = str(20000 + index)
        return {
            "id": lid,
            "self": f"{self.base}/rest/api/2/issueLink/{lid}",
            "type": {
                "id": tid,
                "name": type_name,
                "inward": inward,
                "outward": outward,
                "self": f"{self.base}/rest/api/2/issueLinkType/{tid}",
            },
            f"{direction}Issue": self.issue_ref(other),
        }

    def comment(self, spec: IssueSpec, index: int) -> dict[str, Any]:
        """One comment object."""
        author, body = spec.comments[index]
        cid = str(int(spec.issue_id) * 10 + index)
        when = _shift(spec.created, index + 1)
        return {
            "self": f"{self.base}/rest/api/2/issue/{spec.issue_id}/comment/{cid}",
            "id": cid,
            "author": self.user(author),
            "body": body,
            "updateAuthor": self.user(author),
            "created": when,
            "updated": when,
        }

    def comment_page(self, spec: IssueSpec) -> dict[str, Any]:
        """The ``comment`` field / ``/comment`` endpoint body."""
        comments = [self.comment(spec, i) for i in range(len(spec.comments))]
        return {"comments": comments, "maxResults": len(comments), "total": len(comments), "startAt": 0}

    def project(self, spec: IssueSpec) -> dict[str, Any]:
        """The project object."""
        pid = str(10000 + sum(map(ord, spec.project_key)))
        return {
            "self": f"{self.base}/rest/api/2/project/{pid}",
            "id": pid,
            "key": spec.project_key,
            "name": f"{spec.project_key} project",
            "projectTypeKey": "software",
        }

    def named_list(self, kind: str, names: Sequence[str]) -> list[dict[str, Any]]:
        """Components or versions as ``[{self, id, name}]``."""
        return [
            {"self": f"{self.base}/rest/api/2/{kind}/{11000 + i}", "id": str(11000 + i), "name": n}
            for i, n in enumerate(names)
        ]

    def fields(self, spec: IssueSpec) -> dict[str, Any]:
        """Every field of the issue, as ``fields=*all`` returns them."""
        out: dict[str, Any] = {
            "summary": spec.summary,
            "description": spec.description,
            "issuetype": self.issue_type(spec.issue_type),
            "project": self.project(spec),
            "status": self.status(spec.status),
            "priority": self.priority(spec.priority),
            "assignee": self.user(spec.assignee) if spec.assignee else None,
            "reporter": self.user(spec.reporter),
            "creator": self.user(spec.reporter),
            "labels": list(spec.labels),
            "components": self.named_list("component", spec.components),
            "fixVersions": [
                v | {"archived": False, "released": False} for v in self.named_list("version", spec.fix_versions)
            ],
            "created": spec.created,
            "updated": spec.updated,
            "resolution": None,
            "resolutiondate": None,
            "duedate": None,
            "comment": self.comment_page(spec),
            "issuelinks": [self.link(i, ln) for i, ln in enumerate(spec.links)],
            "subtasks": [self.issue_ref(k) for k in spec.subtasks],
            ACCEPTANCE_CRITERIA_FIELD: spec.acceptance_criteria,
            STORY_POINTS_FIELD: spec.story_points,
            EPIC_LINK_FIELD: spec.epic_link,
            EPIC_NAME_FIELD: spec.summary if spec.issue_type == "Epic" else None,
        }
        if spec.parent:
            out["parent"] = self.issue_ref(spec.parent)
        out.update(spec.extra_fields)
        return out

    def issue(self, spec: IssueSpec, fields: str | None, expand: str | None) -> dict[str, Any]:
        """The ``GET /issue/{key}`` body, honouring ``fields`` and ``expand``."""
        all_fields = self.fields(spec)
        wanted = _select_fields(all_fields, fields)
        body: dict[str, Any] = {
            "expand": ISSUE_EXPAND,
            "id": spec.issue_id,
            "self": f"{self.base}/rest/api/2/issue/{spec.issue_id}",
            "key": spec.key,
            "fields": wanted,
        }
        expands = set((expand or "").split(","))
        if "names" in expands:
            names = {f["id"]: f["name"] for f in FIELDS}
            body["names"] = {k: names.get(k, k) for k in wanted}
        if "renderedFields" in expands:
            body["renderedFields"] = {
                k: _render_wiki(v) for k, v in wanted.items() if isinstance(v, str) and k != "created"
            }
        if "changelog" in expands:
            body["changelog"] = {"startAt": 0, "maxResults": 0, "total": 0, "histories": []}
        return body


def _select_fields(all_fields: dict[str, Any], fields: str | None) -> dict[str, Any]:
    """Apply Jira's ``fields`` query parameter (ids, ``*all``, ``*navigable``, ``-x``)."""
    if not fields:
        return dict(all_fields)
    tokens = [t.strip() for t in fields.split(",") if t.strip()]
    keep = set(all_fields) if {"*all", "*navigable"} & set(tokens) else set()
    for token in tokens:
        if token.startswith("-"):
            keep.discard(token[1:])
        elif token in all_fields:
            keep.add(token)
    return {k: v for k, v in all_fields.items() if k in keep}


_JQL_CLAUSE = re.compile(
    r"^\s*(key|issuekey|project|issuetype|type|status)\s*"
    r"(?:=\s*(\"[^\"]*\"|'[^']*'|[\w-]+)|in\s*\(([^)]*)\))\s*$",
    re.IGNORECASE,
)
_JQL_ATTRS = {
    "key": "key",
    "issuekey": "key",
    "project": "project_key",
    "issuetype": "issue_type",
    "type": "issue_type",
    "status": "status",
}


def _jql_values(single: str | None, listed: str | None) -> set[str]:
    """The lower-cased values of one ``= x`` or ``in (a, b)`` clause."""
    raw = [single] if single else (listed or "").split(",")
    return {v.strip().strip("\"'").lower() for v in raw if v.strip()}


def _jql_filter(jql: str) -> Callable[[IssueSpec], bool]:
    """A predicate for the small JQL subset :meth:`FakeJira._search` accepts."""
    where = re.split(r"\border\s+by\b", jql, flags=re.IGNORECASE)[0]
    checks: list[tuple[str, set[str]]] = []
    for clause in filter(str.strip, re.split(r"\band\b", where, flags=re.IGNORECASE)):
        match = _JQL_CLAUSE.match(clause)
        if not match:
            raise ValueError(f"Error in the JQL Query: FakeJira cannot parse '{clause.strip()}'")
        checks.append((_JQL_ATTRS[match.group(1).lower()], _jql_values(match.group(2), match.group(3))))
    return lambda spec: all(str(getattr(spec, a)).lower() in vals for a, vals in checks)


_ISSUE_PATH = re.compile(r"^/rest/api/2/issue/([A-Za-z][A-Za-z0-9_]*-\d+)(/[a-z]+)?/?$")


class _Handler(BaseHTTPRequestHandler):
    """Routes one request against the owning :class:`FakeJira`."""

    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Stay silent."""

    def _body(self) -> str:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length).decode("utf-8", "replace") if length else ""

    def _send(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _handle(self) -> None:
        jira = self.server.jira
        body = self._body()
        jira.record(self.command, self.path, body)
        if self.headers.get("Authorization") != f"Bearer {jira.token}":
            self._send(401, NOT_AUTHENTICATED)
            return
        if self.command in WRITE_METHODS:
            self._send(405, {"errorMessages": ["FakeJira is read-only"], "errors": {}})
            return
        status, payload = jira.route(self.path)
        self._send(status, payload)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    jira: FakeJira


class FakeJira:
    """A Jira Server/DC REST v2 fake on ``127.0.0.1`` in a background thread.

    Use as a context manager; ``url`` is set once entered. Every request is
    appended to ``requests`` as ``(method, path_with_query, body)``.
    """

    def __init__(self, token: str = "fake-jira-pat", myself: str = "Jira Brief Bot") -> None:
        self.token = token
        self.myself = myself
        self.url = ""
        self.requests: list[tuple[str, str, str]] = []
        self.issues: dict[str, IssueSpec] = {}
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> FakeJira:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Bind an ephemeral loopback port and serve in a daemon thread."""
        server = _Server(("127.0.0.1", 0), _Handler)
        server.jira = self
        self._server = server
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        self._thread = threading.Thread(target=server.serve_forever, name="fake-jira", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def record(self, method: str, path: str, body: str) -> None:
        """Remember one request (thread-safe)."""
        with self._lock:
            self.requests.append((method, path, body))

    def writes(self) -> list[tuple[str, str, str]]:
        """The recorded requests that tried to change something."""
        with self._lock:
            return [r for r in self.requests if r[0] in WRITE_METHODS]

    def add_issue(
        self,
        key: str,
        *,
        summary: str,
        description: str = "",
        status: str = "To Do",
        issue_type: str = "Story",
        priority: str = "Medium",
        assignee: str | None = None,
        reporter: str = "Morgan Reyes",
        comments: Sequence[str | tuple[str, str]] = (),
        acceptance_criteria: str | None = None,
        created: str = "2026-11-18T09:00:00.000+0000",
        updated: str = "2026-11-20T10:00:00.000+0000",
        labels: Sequence[str] = (),
        components: Sequence[str] = (),
        fix_versions: Sequence[str] = (),
        links: Sequence[tuple[str, str, str]] = (),
        subtasks: Sequence[str] = (),
        parent: str | None = None,
        story_points: float | None = None,
        epic_link: str | None = None,
        extra_fields: Mapping[str, Any] | None = None,
    ) -> IssueSpec:
        """Add (or replace) an issue.

        ``comments`` are bodies (written by the reporter) or ``(author, body)``;
        ``links`` are ``(type, "outward"|"inward", other_key)`` with type one of
        Blocks, Relates, Duplicate, Cloners.
        """
        spec = IssueSpec(
            key=key,
            summary=summary,
            description=description,
            status=status,
            issue_type=issue_type,
            priority=priority,
            assignee=assignee,
            reporter=reporter,
            comments=[(reporter, c) if isinstance(c, str) else c for c in comments],
            acceptance_criteria=acceptance_criteria,
            created=created,
            updated=updated,
            labels=list(labels),
            components=list(components),
            fix_versions=list(fix_versions),
            links=list(links),
            subtasks=list(subtasks),
            parent=parent,
            story_points=story_points,
            epic_link=epic_link,
            extra_fields=dict(extra_fields or {}),
        )
        with self._lock:
            self.issues[key] = spec
        return spec

    def renderer(self) -> IssueRenderer:
        """A renderer bound to the current URL and issues."""
        return IssueRenderer(self.url, self.issues)

    def route(self, path: str) -> tuple[int, Any]:
        """Answer an authenticated read request: ``(status, json_body)``."""
        parts = urlsplit(path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        render = self.renderer()
        if parts.path == "/rest/api/2/serverInfo":
            return 200, self._server_info()
        if parts.path == "/rest/api/2/myself":
            return 200, render.user(self.myself)
        if parts.path == "/rest/api/2/field":
            return 200, FIELDS
        if parts.path == "/rest/api/2/search":
            return self._search(query)
        match = _ISSUE_PATH.match(parts.path)
        if match:
            return self._issue_route(match.group(1), match.group(2), query)
        return 404, {"errorMessages": [f"No resource at {parts.path}"], "errors": {}}

    def _issue_route(self, key: str, sub: str | None, query: Mapping[str, str]) -> tuple[int, Any]:
        """``/issue/{key}`` and its read-only sub-resources."""
        spec = self.issues.get(key.upper())
        if spec is None:
            return 404, ISSUE_NOT_FOUND
        render = self.renderer()
        if sub is None:
            return 200, render.issue(spec, query.get("fields"), query.get("expand"))
        simple: dict[str, Callable[[], Any]] = {
            "/comment": lambda: render.comment_page(spec),
            "/remotelink": lambda: [],
            "/transitions": lambda: {"expand": "transitions", "transitions": []},
            "/watchers": lambda: {"self": "", "isWatching": False, "watchCount": 0, "watchers": []},
            "/worklog": lambda: {"startAt": 0, "maxResults": 0, "total": 0, "worklogs": []},
        }
        if sub in simple:
            return 200, simple[sub]()
        return 404, {"errorMessages": [f"No resource at issue{sub}"], "errors": {}}

    def _search(self, query: Mapping[str, str]) -> tuple[int, Any]:
        """``GET /search`` for JQL made of ``key``/``project``/``issuetype``/``status``
        ``=`` or ``in (...)`` clauses joined by AND; anything else is a 400."""
        try:
            keep = _jql_filter(query.get("jql", ""))
        except ValueError as exc:
            return 400, {"errorMessages": [str(exc)], "errors": {}}
        matches = [s for s in self.issues.values() if keep(s)]
        start = int(query.get("startAt", "0"))
        limit = int(query.get("maxResults", "50"))
        render = self.renderer()
        page = [render.issue(s, query.get("fields"), query.get("expand")) for s in matches[start : start + limit]]
        return 200, {
            "expand": "names,schema",
            "startAt": start,
            "maxResults": limit,
            "total": len(matches),
            "issues": page,
        }

    def _server_info(self) -> dict[str, Any]:
        """What a Jira Data Center 9.12 reports about itself."""
        return {
            "baseUrl": self.url,
            "version": "9.12.2",
            "versionNumbers": [9, 12, 2],
            "deploymentType": "Server",
            "buildNumber": 9120002,
            "buildDate": "2023-12-05T00:00:00.000+0000",
            "serverTime": "2026-11-20T10:00:00.000+0000",
            "scmInfo": "0000000000000000000000000000000000000000",
            "serverTitle": "Fake Jira",
        }
