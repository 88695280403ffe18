"""Showing what a run waits for: the text of a spinner (`Waiting`), or one log line per phase (`PhaseLines`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from jira_brief.brief.progress import Event, Phase


@dataclass
class Waiting:
    """What the run is waiting for right now, from the events so far: the text a spinner shows."""

    server: str = ""
    connected: bool = False
    reading: dict[str, None] = field(default_factory=dict)  # keys in the order they started (a dict keeps it)
    writing: dict[str, None] = field(default_factory=dict)
    finished: int = 0
    total: int = 0
    posting: str = ""  # what is being posted ("pull request comment"), once it is

    def add(self, event: Event) -> None:
        reading, writing = self.reading, self.writing
        if event.phase == "connect":
            self.server = event.detail
        elif event.phase == "read":
            self.connected = True
            reading[event.key] = None
        elif event.phase == "ticket":
            reading.pop(event.key, None)
        elif event.phase == "write":
            reading.pop(event.key, None)
            writing[event.key] = None
        elif event.phase == "done":
            reading.pop(event.key, None)
            writing.pop(event.key, None)
            self.finished, self.total = event.done, event.total
        elif event.phase == "post":
            self.posting = event.detail or "comment"

    def message(self) -> str:
        """One short line, or "" when nothing is pending."""
        if self.posting:
            return f"Posting the {self.posting}…"
        count = f" {self.finished}/{self.total}" if self.total else ""
        if self.writing:
            return f"Writing briefs{count}: {', '.join(self.writing)}…"
        if self.reading:
            return f"Reading {', '.join(self.reading)} from Jira…"
        if self.server and not self.connected:
            return f"Connecting to {self.server}…"
        return ""


PHASE_LINES: Mapping[Phase, str] = {
    "connect": "jira-brief: connecting to {detail}",
    "read": "jira-brief: reading the tickets",
    "write": "jira-brief: writing briefs",
    "post": "jira-brief: posting the {detail}",
}


class PhaseLines:
    """One log line the first time each phase starts (CI logs): no spinner, no line per ticket."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self.say = say
        self.seen: set[Phase] = set()

    def __call__(self, event: Event) -> None:
        if event.phase in self.seen or event.phase not in PHASE_LINES:
            return
        self.seen.add(event.phase)
        self.say(PHASE_LINES[event.phase].format(detail=event.detail))
