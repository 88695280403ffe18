"""What the cache can show of a ticket right now, without asking anyone: its last fetched copy, and the
brief of that copy (the model's, when one was written; the offline one, made here, when no model is
used). The commit hook answers from this alone; the MCP SDK and the model's client are never loaded."""

from __future__ import annotations

import time
from dataclasses import dataclass

from jira_brief.brief.cache import BriefCache, fingerprint
from jira_brief.brief.normalize import normalize_brief
from jira_brief.brief.offline import offline_brief
from jira_brief.brief.template import Template
from jira_brief.config.settings import Settings
from jira_brief.jira.ticket import Ticket


@dataclass(frozen=True)
class Ready:
    """A ticket as the cache has it: nothing, its last copy, or its copy and brief."""

    key: str
    ticket: Ticket | None = None
    fetched_at: float = 0.0
    brief: str | None = None
    fingerprint: str | None = None
    offline: bool = False

    def fresh(self, ttl: float) -> bool:
        """Whether the copy is recent enough not to ask the MCP server again."""
        return self.ticket is not None and time.time() - self.fetched_at <= ttl

    @property
    def line(self) -> str:
        """KEY · title · status: what a ticket gets when its brief was already shown."""
        ticket = self.ticket
        if ticket is None:
            return self.key
        return " · ".join(filter(None, [self.key, ticket.title, ticket.status]))


def ready(key: str, settings: Settings, cache: BriefCache, template: Template, *, model: bool) -> Ready:
    """What is ready for `key`: with `model`, the model's brief of the cached copy if it was written;
    without, the offline brief of that copy."""
    found = cache.last_ticket(key)
    if found is None:
        return Ready(key)
    ticket, fetched_at = found
    mark = fingerprint(ticket, settings, template.digest, offline=not model)
    if model:
        written = cache.get_brief(mark)
        brief = normalize_brief(written, template.headings) if written is not None else None
    else:
        brief = normalize_brief(offline_brief(ticket, template), template.headings)
    return Ready(key, ticket, fetched_at, brief, mark if brief is not None else None, offline=not model)
