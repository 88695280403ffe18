"""On-disk cache: briefs by fingerprint (no LLM call for an unchanged ticket) and recent tickets (hook TTL)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jira_brief.config.settings import Settings
from jira_brief.files import replace_file
from jira_brief.jira.ticket import Comment, Ticket
from jira_brief.jira.transports import InProcessServer, site_variables

BRIEF_FORMAT = "1"  # bump when the brief conversation changes, so old briefs are not reused


def cache_root(settings: Settings) -> Path:
    if settings.cache_dir:
        return Path(settings.cache_dir)
    from platformdirs import user_cache_dir  # ~10 ms: only when no cache-dir is set

    return Path(user_cache_dir("jira-brief", appauthor=False))


def server_identity(settings: Settings, server: InProcessServer | None = None) -> str:
    """Which Jira the tickets come from, as far as it is known before asking: an in-process server by
    name (the demo), a URL without its user part, or a stdio command with the site variables it is given
    (mcp-atlassian's JIRA_URL, from the environment or --mcp-env). PAY-142 of the demo and PAY-142 of a
    real Jira never share an entry. Only its hash names a folder: a token in the command never shows."""
    if server is not None:
        return f"in-process {server.name}"
    if settings.mcp_url:
        parts = urlsplit(settings.mcp_url)
        host = parts.netloc.rpartition("@")[2].lower()
        return f"url {parts.scheme.lower()}://{host}{parts.path}"
    if settings.mcp_command:
        return "\0".join(["stdio", settings.mcp_command, *site_variables(settings)])
    return "none"


def fingerprint(ticket: Ticket, settings: Settings, template_digest: str, offline: bool) -> str:
    """What a brief depends on: the Jira site (the host of the ticket's URL), the ticket's version,
    the model, the template and the language."""
    model = "offline" if offline else settings.model
    site = (urlsplit(ticket.url).hostname or "") if ticket.url else ""
    material = "\0".join([BRIEF_FORMAT, site, ticket.key, ticket.version, model, template_digest, settings.language])
    return hashlib.sha256(material.encode()).hexdigest()[:20]


def write_atomic(path: Path, data: dict[str, Any]) -> bool:
    """Write JSON through a temporary file and rename; False when the cache cannot be written
    (a read-only or broken cache directory costs speed, never a run)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_file(path, json.dumps(data, ensure_ascii=False).encode("utf-8"))
        return True
    except OSError:
        return False


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None  # a missing or damaged entry is only a cache miss
    return data if isinstance(data, dict) else None


class BriefCache:
    """Briefs keyed by fingerprint, and the last fetched copy of each ticket with its time, both kept
    apart per MCP server (see `server_identity`)."""

    def __init__(self, settings: Settings, server: InProcessServer | None = None) -> None:
        self.enabled = settings.cache
        site = hashlib.sha256(server_identity(settings, server).encode()).hexdigest()[:16]
        self.root = cache_root(settings) / "servers" / site

    def get_brief(self, fingerprint: str) -> str | None:
        entry = _read(self.root / "briefs" / f"{fingerprint}.json") if self.enabled else None
        return entry.get("brief") if entry else None

    def put_brief(self, fingerprint: str, key: str, brief: str) -> None:
        if self.enabled:
            write_atomic(self.root / "briefs" / f"{fingerprint}.json", {"key": key, "brief": brief})

    def get_check(self, fingerprint: str) -> list[Any] | None:
        """The verdicts of a criteria check made from the same ticket, change, model and prompt."""
        entry = _read(self.root / "checks" / f"{fingerprint}.json") if self.enabled else None
        verdicts = entry.get("verdicts") if entry else None
        return verdicts if isinstance(verdicts, list) else None

    def put_check(self, fingerprint: str, key: str, verdicts: list[dict[str, Any]]) -> None:
        if self.enabled:
            write_atomic(self.root / "checks" / f"{fingerprint}.json", {"key": key, "verdicts": verdicts})

    def recent_ticket(self, key: str, ttl: float) -> Ticket | None:
        """The ticket as fetched less than `ttl` seconds ago, or None."""
        found = self.last_ticket(key)
        return found[0] if found and time.time() - found[1] <= ttl else None

    def last_ticket(self, key: str) -> tuple[Ticket, float] | None:
        """The last fetched copy of the ticket and when it was fetched (time.time()), however old."""
        entry = _read(self.root / "tickets" / f"{key}.json") if self.enabled else None
        try:
            if not entry:
                return None
            fields = dict(entry["ticket"])
            fields["comments"] = tuple(Comment(**comment) for comment in fields.get("comments", []))
            fields["related_keys"] = frozenset(fields.get("related_keys", []))
            for name in ("labels", "components", "fix_versions", "links", "subtasks"):
                fields[name] = tuple(fields.get(name, []))
            return Ticket(**fields), float(entry.get("fetched_at", 0))
        except (KeyError, TypeError, ValueError):
            return None  # an entry of another version or damaged: ask the server again

    def put_ticket(self, ticket: Ticket) -> None:
        if self.enabled:
            data = dataclasses.asdict(ticket)
            data["related_keys"] = sorted(ticket.related_keys)
            write_atomic(self.root / "tickets" / f"{ticket.key}.json", {"fetched_at": time.time(), "ticket": data})
