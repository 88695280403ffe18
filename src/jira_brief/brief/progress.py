"""What a run is waiting for, as events the pipeline emits; how they look (a spinner on a terminal, one
line per phase in CI, nothing when piped) is for whoever shows them. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from jira_brief.jira.ticket import Ticket

Phase = Literal["connect", "read", "ticket", "write", "done", "post"]


@dataclass(frozen=True)
class Event:
    """One step of a run: connecting to `detail` (the server), reading `key`, its `ticket` in hand, writing its
    brief, `key` done (`done` of `total`), posting the comment (`detail` names it: "pull request comment")."""

    phase: Phase
    key: str = ""
    detail: str = ""
    done: int = 0
    total: int = 0
    ticket: Ticket | None = None


Notify = Callable[[Event], None]


def ignore(event: Event) -> None:
    """The observer of a run nobody watches."""
