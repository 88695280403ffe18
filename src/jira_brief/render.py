"""Briefs as terminal text (streamed in key order), Markdown, or JSON."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence

from jira_brief.result import BriefResult

Write = Callable[[str], None]


def facts_line(result: BriefResult) -> str:
    """type · status · priority · assignee, from the ticket itself."""
    return result.ticket.facts if result.ticket else ""


def failure_line(result: BriefResult) -> str:
    note = " (offline brief below)" if result.brief else ""
    return f"jira-brief: {result.error}{note}"


class TerminalOutput:
    """Prints briefs in key order: the first unfinished ticket streams live, later ones wait their turn."""

    def __init__(self, keys: Sequence[str], write: Write, warn: Write) -> None:
        self.order = list(keys)
        self.write, self.warn = write, warn
        self.buffers: dict[str, list[str]] = {key: [] for key in keys}
        self.finished: dict[str, BriefResult] = {}
        self.printed: set[str] = set()
        self.head = 0
        self.lock = threading.Lock()

    def text(self, key: str, chunk: str) -> None:
        with self.lock:
            if self.head < len(self.order) and self.order[self.head] == key:
                self._show(key, chunk)
            else:
                self.buffers[key].append(chunk)

    def done(self, result: BriefResult) -> None:
        with self.lock:
            self.finished[result.key] = result
            while self.head < len(self.order) and self.order[self.head] in self.finished:
                self._finish(self.finished[self.order[self.head]])
                self.head += 1
            if self.head < len(self.order):
                key = self.order[self.head]
                self._show(key, "".join(self.buffers[key]))
                self.buffers[key] = []

    def _show(self, key: str, text: str) -> None:
        if not text:
            return
        if key not in self.printed:
            self.printed.add(key)
            self.write(f"\n{key}\n")
        self.write(text)

    def _finish(self, result: BriefResult) -> None:
        self._show(result.key, "".join(self.buffers[result.key]))
        if result.key in self.printed:
            self.write("\n")
        if result.error:
            self.warn(failure_line(result))
        if result.brief and (result.error or result.key not in self.printed):
            self.printed.discard(result.key)
            self._show(result.key, result.brief + "\n")
        if result.coverage is not None:
            from jira_brief.coverage import coverage_text

            self.write(coverage_text(result.coverage) + "\n")


def render_markdown(results: Sequence[BriefResult]) -> str:
    """Briefs as a Markdown document: a heading per ticket with its link and facts."""
    parts = []
    for result in results:
        ticket = result.ticket
        title = f"{result.key} — {ticket.title}" if ticket and ticket.title else result.key
        link = f"[{title}]({ticket.url})" if ticket and ticket.url else title
        lines = [f"# {link}"]
        if facts_line(result):
            lines.append(f"_{facts_line(result)}_")
        if result.error:
            lines.append(f"> **Failed:** {result.error}")
        if result.brief:
            lines.append(result.brief)
        if result.coverage is not None:
            from jira_brief.coverage import render_coverage

            lines.append(render_coverage(result.coverage))
        parts.append("\n\n".join(lines))
    return "\n\n---\n\n".join(parts) + "\n"


def render_json(results: Sequence[BriefResult]) -> str:
    return json.dumps([result.as_json() for result in results], ensure_ascii=False, indent=2)
