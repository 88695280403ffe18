"""Any get-issue answer as a `Ticket`: mcp-atlassian's simplified issue, raw Jira REST v2 (wiki markup) or
v3 (Atlassian Document Format), JSON, YAML or plain text, wrapped or not."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from jira_brief.errors import TicketError
from jira_brief.jira.richtext import adf_to_markdown, wiki_to_markdown
from jira_brief.jira.sections import description_section
from jira_brief.jira.ticket import Comment, Ticket
from jira_brief.jira.yaml_text import read_yaml

# Custom fields whose display name says they hold acceptance criteria (English and French).
ACCEPTANCE_NAME = re.compile(
    r"acceptance[\s_-]*criteria|crit[eè]res?[\s_-]*d.?acceptation|definition[\s_-]*of[\s_-]*done", re.I
)
EPIC_LINK_NAME = re.compile(r"^epic[\s_-]*link$|^lien[\s_-]*d.?[ée]pic$", re.I)
ISSUE_KEY = re.compile(r"^[A-Z][A-Z0-9_]+-\d+$")
# Levels of wrapping (a key of WRAPPERS, a one-item list) searched for the issue: real servers use two or three.
MAX_WRAPPING = 12
# Keys under which servers wrap the issue they return.
WRAPPERS = ("structuredContent", "structured_content", "data", "issue", "result", "ticket", "item")


def _name(value: Any) -> str | None:
    """A display name from the many shapes servers use: str, {name}, {display_name}, {displayName}."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, dict):
        for field_name in ("display_name", "displayName", "name", "value", "key"):
            found = value.get(field_name)
            if isinstance(found, str) and found:
                return found
    return None


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _fields(issue: dict[str, Any]) -> dict[str, Any]:
    """The `fields` of a raw REST issue, or the issue itself when it is already flat."""
    fields = issue.get("fields")
    return fields if isinstance(fields, dict) else issue


def _names(values: Any) -> tuple[str, ...]:
    if not isinstance(values, list):
        return ()
    return tuple(name for name in (_name(value) for value in values) if name)


def _text(value: Any, wiki: bool = False) -> str:
    """Markdown from a string (Jira wiki markup when `wiki`), an Atlassian Document Format tree, or a list."""
    if value is None:
        return ""
    if isinstance(value, str):
        return wiki_to_markdown(value) if wiki else value.strip()
    if isinstance(value, list):
        return "\n".join(filter(None, (_text(item, wiki) for item in _flat(value))))
    if isinstance(value, dict):
        if "type" in value and ("content" in value or value.get("type") == "text"):
            return adf_to_markdown(value)
        return _name(value) or ""
    return str(value)


def _flat(values: list[Any]) -> Iterator[Any]:
    """The items of a list and of the lists inside it, in order, however deep (read without recursion)."""
    stack = [iter(values)]
    while stack:
        item = next(stack[-1], _END)
        if item is _END:
            stack.pop()
        elif isinstance(item, list):
            stack.append(iter(item))
        else:
            yield item


_END = object()


def _issue_ref(value: Any) -> tuple[str | None, str]:
    """(key, "KEY summary [status]") of an issue reference in raw REST or simplified shape."""
    if not isinstance(value, dict):
        return None, ""
    key = value.get("key")
    fields = _fields(value)
    summary = fields.get("summary") or ""
    status = _name(fields.get("status"))
    label = " ".join(filter(None, [key, summary, f"[{status}]" if status else None]))
    return key, label


def _links(raw_links: Any) -> tuple[list[str], set[str]]:
    lines, keys = [], set()
    for link in raw_links if isinstance(raw_links, list) else []:
        if not isinstance(link, dict):
            continue
        kind = _mapping(link.get("type"))
        for side, verb in (
            ("outward_issue", "outward"),
            ("outwardIssue", "outward"),
            ("inward_issue", "inward"),
            ("inwardIssue", "inward"),
        ):
            key, label = _issue_ref(link.get(side))
            if key:
                keys.add(key)
                lines.append(f"{kind.get(verb) or kind.get('name') or 'relates to'} {label}")
    return lines, keys


def _custom_fields(raw: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """(field id, display name, value) of each custom field, simplified or raw REST shape."""
    names = _mapping(raw.get("names"))
    found = []
    for source in (raw, _mapping(raw.get("fields"))):
        for field_id, value in source.items():
            if isinstance(value, dict) and isinstance(value.get("field_id"), str):  # use_display_names
                found.append((value["field_id"], field_id, value.get("value")))
                continue
            if not field_id.startswith("customfield_"):
                continue
            if isinstance(value, dict) and "value" in value and ("name" in value or len(value) == 1):
                found.append((field_id, str(value.get("name") or names.get(field_id, "")), value["value"]))
            else:
                found.append((field_id, str(names.get(field_id, "")), value))
    return found


@dataclass(frozen=True)
class CustomField:
    """A custom field of an answer: its id, its display name (empty when the answer has no `names`),
    and its value as Markdown."""

    id: str
    name: str
    text: str


def custom_fields(raw: dict[str, Any]) -> list[CustomField]:
    """The custom fields of an issue, simplified or raw REST shape, for `doctor` to show."""
    wiki = isinstance(raw.get("fields"), dict)
    return [CustomField(field_id, name, _text(value, wiki)) for field_id, name, value in _custom_fields(raw)]


def _acceptance(raw: dict[str, Any], field_id: str | None, description: str, wiki: bool) -> str:
    """From the named custom field, else from a description section headed like "Acceptance criteria"."""
    for custom_id, name, value in _custom_fields(raw):
        if (field_id and custom_id == field_id) or (not field_id and ACCEPTANCE_NAME.search(name)):
            return _text(value, wiki)
    return "" if field_id else description_section(description, ACCEPTANCE_NAME)


def _epic(raw: dict[str, Any], field_id: str | None) -> str | None:
    """The epic's key from the named custom field, else from Jira's "Epic Link" (named through `names`,
    or by display name)."""
    for custom_id, name, value in _custom_fields(raw):
        key = _name(value)
        chosen = custom_id == field_id if field_id else EPIC_LINK_NAME.search(name)
        if chosen and key and ISSUE_KEY.match(key):
            return key
    return None


def _comments(raw: Any, wiki: bool) -> tuple[Comment, ...]:
    if isinstance(raw, dict):
        raw = raw.get("comments")
    comments = []
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, dict):
            body = _text(item.get("body"), wiki)
            comments.append(Comment(_name(item.get("author")) or "?", str(item.get("created") or ""), body))
    return tuple(comments)


def browse_url(raw: dict[str, Any], key: str, jira_url: str | None = None) -> str | None:
    """The page a person opens: JIRA/browse/KEY, from the API URL the server gave or the Jira URL."""
    url = raw.get("browse_url") or raw.get("url") or raw.get("self") or jira_url
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return None
    if "/browse/" in url:
        return url
    parts = urlsplit(url)
    base_path = parts.path.split("/rest/")[0].rstrip("/")
    return f"{parts.scheme}://{parts.netloc}{base_path}/browse/{key}"


def normalize_issue(
    raw: dict[str, Any],
    key: str,
    *,
    acceptance_field: str | None = None,
    epic_field: str | None = None,
    jira_url: str | None = None,
) -> Ticket:
    """A Ticket from mcp-atlassian's simplified issue, or from a raw Jira REST v2 (wiki) or v3 (ADF) issue."""
    fields = _fields(raw)
    wiki = fields is not raw  # raw REST: strings are wiki markup (v2); mcp-atlassian's are Markdown already
    real_key = str(raw.get("key") or key).upper()
    links, related = _links(fields.get("issuelinks"))
    parent_key, parent = _issue_ref(fields.get("parent") or raw.get("parent"))
    epic = raw.get("epic_key") or _epic(raw, epic_field) or None
    description = _text(fields.get("description"), wiki)
    subtasks = [_issue_ref(item) for item in fields.get("subtasks") or [] if isinstance(item, dict)]
    related |= {k for k, _ in subtasks if k} | {k for k in (parent_key, epic) if k}
    return Ticket(
        key=real_key,
        title=str(fields.get("summary") or fields.get("title") or ""),
        url=browse_url(raw, real_key, jira_url),
        type=_name(fields.get("issue_type") or fields.get("issuetype")),
        status=_name(fields.get("status")),
        priority=_name(fields.get("priority")),
        assignee=_name(fields.get("assignee")),
        reporter=_name(fields.get("reporter")),
        labels=tuple(str(label) for label in fields.get("labels") or []),
        components=_names(fields.get("components")),
        fix_versions=_names(fields.get("fix_versions") or fields.get("fixVersions")),
        parent=parent or (f"{epic} {raw.get('epic_name') or ''}".strip() if epic else None),
        links=tuple(links),
        subtasks=tuple(label for _, label in subtasks),
        description=description,
        acceptance=_acceptance(raw, acceptance_field, description, wiki),
        comments=_comments(fields.get("comments") or fields.get("comment"), wiki),
        updated=str(fields.get("updated") or ""),
        related_keys=frozenset(related),
    )


def issue_in_answer(text: str, structured: Any, key: str) -> dict[str, Any]:
    """The issue inside a get-issue answer, whatever its shape: the MCP result's structured content, its
    text as JSON, or as YAML; other text is kept whole as the description. An error the server
    reports inside the answer raises TicketError with its own message."""
    if structured is not None:
        found = find_issue(structured, key)
        if found is not None:
            return found
    try:
        payload = json.loads(text)
    except RecursionError:
        raise TicketError(f"{key}: the answer is JSON nested deeper than it can be read; check the server") from None
    except ValueError:
        as_yaml = read_yaml(text)
        return (find_issue(as_yaml, key) if as_yaml is not None else None) or text_issue(text, key)
    found = find_issue(payload, key)
    if found is None:
        raise TicketError(f"{key}: the answer holds no issue: {_excerpt(text)}")
    return found


def find_issue(payload: Any, key: str, depth: int = 0) -> dict[str, Any] | None:
    """The issue in a payload: itself, in a known wrapper, one level down, or the only item of a list;
    no deeper than MAX_WRAPPING levels (an answer wrapped hundreds of times holds no issue we read)."""
    if depth > MAX_WRAPPING:
        return None
    if isinstance(payload, list):
        matching = [item for item in payload if isinstance(item, dict) and str(item.get("key", "")).upper() == key]
        items = matching or payload
        return find_issue(items[0], key, depth + 1) if len(items) == 1 else None
    if not isinstance(payload, dict):
        return None
    error = payload_error(payload)
    if error:
        raise TicketError(f"{key}: the MCP server reported an error: {error}")
    if _looks_like_issue(payload):
        return payload
    wrapped = [payload[name] for name in WRAPPERS if name in payload]
    others = [value for name, value in payload.items() if name not in WRAPPERS and isinstance(value, dict | list)]
    for value in wrapped + (others if depth == 0 else []):
        found = find_issue(value, key, depth + 1)
        if found is not None:
            return found
    return None


def _looks_like_issue(value: dict[str, Any]) -> bool:
    fields = value.get("fields")
    if isinstance(fields, dict) and ("summary" in fields or "description" in fields):
        return True
    return any(name in value for name in ("summary", "description")) or ("key" in value and "title" in value)


def payload_error(payload: dict[str, Any]) -> str:
    """The error a server put inside a successful answer: {"success": false, "error": …}, Jira's
    {"errorMessages": […]}, or {"error": …} with no issue; empty when there is none."""
    messages = payload.get("errorMessages")
    failed = payload.get("success") is False or payload.get("ok") is False or payload.get("isError") is True
    if isinstance(messages, list) and messages:
        return "; ".join(str(message) for message in messages)[:600]
    if not (failed or (payload.get("error") and not _looks_like_issue(payload))):
        return ""
    error = payload.get("error") or payload.get("message") or payload.get("errors") or "no details given"
    if isinstance(error, dict):
        error = error.get("message") or error.get("detail") or json.dumps(error)
    return re.sub(r"\s+", " ", str(error)).strip()[:600]


TEXT_FIELD = re.compile(r"^\s*(?:[-*]\s*)?\**(summary|title|status|issue ?type|type)\**\s*:\**\s*(.+?)\s*$", re.I)


def text_issue(text: str, key: str) -> dict[str, Any]:
    """An answer that is neither JSON nor empty: kept whole as the description, with the title (and
    status, type) taken from lines such as `summary: …` or `# KEY: title` when there are any."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        match = TEXT_FIELD.match(line)
        if match:
            name = match.group(1).lower().replace(" ", "")
            found.setdefault({"issuetype": "type"}.get(name, name), match.group(2).strip("\"' "))
    key_line = rf"^(?:#+\s*|\w+\s+)?\[?{re.escape(key)}\]?\s*[:\-–]\s*(.+)$"
    heading = re.search(key_line, text, re.M | re.I) or re.search(r"^#+\s*(.+)$", text, re.M)
    title = found.get("summary") or found.get("title") or (heading.group(1).strip() if heading else "")
    return {
        "key": key,
        "summary": title,
        "status": found.get("status"),
        "issue_type": found.get("type"),
        "description": text.strip(),
    }


def _excerpt(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()[:200] or "(empty)"
