"""What happened to one key (`BriefResult`), and its one JSON shape for every sink that prints JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from jira_brief.brief.criteria import Coverage
from jira_brief.jira.ticket import Ticket
from jira_brief.llm.client import Usage


@dataclass
class BriefResult:
    """What happened to one key: its ticket, its brief (or the error), and how it was made."""

    key: str
    source: str
    ticket: Ticket | None = None
    brief: str | None = None
    error: str | None = None
    cached: bool = False
    offline: bool = False
    unchanged: bool = False
    late: bool = False
    fingerprint: str | None = None
    usage: Usage = field(default_factory=Usage)
    coverage: Coverage | None = None  # the acceptance-criteria check, when a change was given

    @property
    def ok(self) -> bool:
        return self.error is None

    def as_json(self, brief: str | None = None) -> dict[str, Any]:
        """The JSON shape of `summarize --format json` and the Action's `briefs` output; `brief`
        replaces the brief as written (the Action publishes the sanitized one)."""
        ticket = self.ticket
        return {
            "key": self.key,
            "url": ticket.url if ticket else None,
            "title": ticket.title if ticket else None,
            "status": ticket.status if ticket else None,
            "brief": self.brief if brief is None else brief,
            "error": self.error,
            "cached": self.cached,
            "unchanged": self.unchanged,
            "offline": self.offline,
            "source": self.source,
            "coverage": self.coverage.as_json() if self.coverage and self.coverage.verdicts else None,
        }


def results_json(results: Sequence[BriefResult]) -> str:
    """The results as `summarize --format json` prints them."""
    return json.dumps([result.as_json() for result in results], ensure_ascii=False, indent=2)
