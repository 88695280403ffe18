"""A ticket as the brief needs it (`Ticket`), independent of the server that returned it, and as the text
the model reads, under a size budget."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace


@dataclass(frozen=True)
class Comment:
    author: str
    created: str
    body: str


@dataclass(frozen=True)
class Ticket:
    """The compact facts of one Jira issue, independent of the server that returned it."""

    key: str
    title: str
    url: str | None = None
    type: str | None = None
    status: str | None = None
    priority: str | None = None
    assignee: str | None = None
    reporter: str | None = None
    labels: tuple[str, ...] = ()
    components: tuple[str, ...] = ()
    fix_versions: tuple[str, ...] = ()
    parent: str | None = None
    links: tuple[str, ...] = ()
    subtasks: tuple[str, ...] = ()
    description: str = ""
    acceptance: str = ""
    comments: tuple[Comment, ...] = ()
    updated: str = ""
    related_keys: frozenset[str] = field(default=frozenset(), compare=False)

    @property
    def facts(self) -> str:
        """type · status · priority · assignee, as far as the ticket says."""
        return " · ".join(filter(None, [self.type, self.status, self.priority, self.assignee]))

    def with_text(self, change: Callable[[str], str]) -> Ticket:
        """The same ticket with `change` applied to every text it holds but its key and `updated` (a sink
        hides secrets this way before anything is escaped or rewritten)."""
        changed: dict[str, object] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name in ("key", "updated", "related_keys") or not value:
                continue
            if isinstance(value, str):
                changed[item.name] = change(value)
            elif item.name == "comments":
                changed[item.name] = tuple(Comment(change(c.author), c.created, change(c.body)) for c in value)
            else:
                changed[item.name] = tuple(change(text) for text in value)
        return replace(self, **changed)  # type: ignore[arg-type]

    @property
    def version(self) -> str:
        """What changes when the ticket changes: Jira's `updated`, else a hash of the content."""
        if self.updated:
            return self.updated
        return hashlib.sha256(render_ticket(self, 10**9).encode()).hexdigest()[:16]


def _header(ticket: Ticket) -> list[str]:
    facts = [
        ("Key", ticket.key),
        ("Title", ticket.title),
        ("URL", ticket.url),
        ("Type", ticket.type),
        ("Status", ticket.status),
        ("Priority", ticket.priority),
        ("Assignee", ticket.assignee),
        ("Reporter", ticket.reporter),
        ("Labels", ", ".join(ticket.labels)),
        ("Components", ", ".join(ticket.components)),
        ("Fix versions", ", ".join(ticket.fix_versions)),
        ("Parent/epic", ticket.parent),
        ("Updated", ticket.updated),
    ]
    lines = [f"{name}: {value}" for name, value in facts if value]
    lines += [f"Link: {link}" for link in ticket.links] + [f"Subtask: {task}" for task in ticket.subtasks]
    return lines


def _section(title: str, body: str) -> str:
    return f"\n## {title}\n{body}" if body else ""


def render_ticket(ticket: Ticket, budget: int) -> str:
    """The ticket as text for the model, at most `budget` characters: old comments go first (the
    newest stays: it often holds the latest decision), then the description's tail; what was cut
    is said in the text."""
    head = "\n".join(_header(ticket)) + _section("Acceptance criteria", ticket.acceptance)
    comments = list(ticket.comments)
    cut_notes: list[str] = []
    description = ticket.description

    def assemble() -> str:
        body = head + _section("Description", description)
        if comments:
            body += _section(
                "Comments (oldest first)", "\n\n".join(f"[{c.created}] {c.author}: {c.body}" for c in comments)
            )
        return body + (f"\n\n[{'; '.join(cut_notes)}]" if cut_notes else "")

    dropped = 0
    while len(comments) > 1 and len(assemble()) > budget:
        comments.pop(0)
        dropped += 1
        cut_notes[:] = [f"{dropped} older comment(s) of {len(ticket.comments)} left out to fit the size budget"]
    text = assemble()
    if len(text) > budget and description:
        excess = len(text) - budget + 120
        keep = max(0, len(description) - excess)
        cut_notes.append(f"description cut after {keep} of {len(ticket.description)} characters")
        description = description[:keep].rstrip() + " […]"
        text = assemble()
    return text if len(text) <= budget else text[: budget - 40] + "\n[ticket text cut to the size budget]"
