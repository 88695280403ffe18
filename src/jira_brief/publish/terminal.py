"""Briefs on a terminal: streamed in key order, styled with rich on a terminal, plain text when piped, with
a spinner (or, in CI, one line per phase) saying what the run waits for. It imports rich (~40 ms):
commands import it only when they show briefs."""

from __future__ import annotations

import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO, Any

from rich.console import Console, RenderableType
from rich.live import Live
from rich.padding import Padding
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from jira_brief.brief.pipeline import Output
from jira_brief.brief.progress import Event, Notify, ignore
from jira_brief.brief.result import BriefResult
from jira_brief.jira.ticket import Ticket
from jira_brief.publish.coverage import coverage_text
from jira_brief.publish.labels import Labels
from jira_brief.publish.progress import PhaseLines, Waiting

Write = Callable[[str], None]
_LIST_ITEM = re.compile(r"( *)([-*+]|\d{1,3}[.)])[ \t]+(.*)")
_INLINE = re.compile(
    r"\[(?P<text>[^\[\]\n]+)\]\((?P<target>https?://[^\s()]+)\)"
    r"|(?P<url>https?://[^\s()<>]+[^\s()<>.,;:!?])"
    r"|\*\*(?P<bold>[^*\n]+)\*\*"
    r"|`(?P<code>[^`\n]+)`"
    r"|(?<![\w*])\*(?P<em>[^*\s](?:[^*\n]*[^*\s])?)\*(?![\w*])"
    r"|(?<![\w_])_(?P<em_>[^_\s](?:[^_\n]*[^_\s])?)_(?![\w_])"
    r"|~~(?P<strike>[^~\n]+)~~"
    r"|\\(?P<escaped>[\\`*_{}\[\]()#+.!|<>~-])"
    r"|(?P<br><br\s*/?>)"
)
# Markdown's markers, as a terminal shows them instead: styles, not characters.
_STYLES = {"bold": "bold", "code": "cyan", "em": "italic", "em_": "italic", "strike": "strike"}
_TABLE_RULE = re.compile(r"\|?(?:\s*:?-{3,}:?\s*\|)+\s*:?-{0,}:?\s*")


def facts_line(result: BriefResult) -> str:
    """type · status · priority · assignee, from the ticket itself."""
    return result.ticket.facts if result.ticket else ""


def failure_line(result: BriefResult) -> str:
    note = " (offline brief below)" if result.brief else ""
    return f"jira-brief: {result.error}{note}"


class Failures:
    """Says each failure once: a server that cannot be reached, or a key the model refuses, fails every
    ticket the same way, and one line says it (the others differ only by their key)."""

    def __init__(self, say: Write) -> None:
        self.say, self.seen = say, set[str]()

    def __call__(self, result: BriefResult) -> None:
        message = (result.error or "").removeprefix(f"{result.key}: ")
        if message not in self.seen:
            self.seen.add(message)
            self.say(failure_line(result))


class InKeyOrder(ABC):
    """Tickets finish in any order; they are shown in the order of their keys."""

    order: list[str]
    finished: dict[str, BriefResult]
    head: int

    def _release(self, result: BriefResult) -> None:
        """Note `result` as finished, then show every ticket whose turn has come."""
        self.finished[result.key] = result
        while self.head < len(self.order) and self.order[self.head] in self.finished:
            self._finish(self.finished[self.order[self.head]])
            self.head += 1

    @abstractmethod
    def _finish(self, result: BriefResult) -> None:
        """Show one finished ticket, its turn having come."""


class TerminalOutput(InKeyOrder):
    """Prints briefs in key order: the first unfinished ticket streams live, later ones wait their turn."""

    def __init__(self, keys: Sequence[str], write: Write, warn: Write, labels: Labels) -> None:
        self.order = list(keys)
        self.write, self.warn, self.failures, self.labels = write, warn, Failures(warn), labels
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
            self._release(result)
            if self.head < len(self.order):
                key = self.order[self.head]
                self._show(key, "".join(self.buffers[key]))
                self.buffers[key] = []

    def _show(self, key: str, text: str) -> None:
        if not text:
            return
        if key not in self.printed:
            self.write(f"\n{key}\n" if self.printed or self.head else f"{key}\n")  # a blank line between tickets
            self.printed.add(key)
        self.write(text)

    def _finish(self, result: BriefResult) -> None:
        self._show(result.key, "".join(self.buffers[result.key]))
        if result.key in self.printed:
            self.write("\n")
        if result.error:
            self.failures(result)
        if result.brief and (result.error or result.key not in self.printed):
            self.printed.discard(result.key)
            self._show(result.key, result.brief + "\n")
        if result.coverage is not None:
            self.write(coverage_text(result.coverage, self.labels) + "\n")


def styled(line: str) -> Text:
    """One line of Markdown prose as rich Text: bold, code, and links that are clickable where the terminal can."""

    text = Text()
    position = 0
    for match in _INLINE.finditer(line):
        text.append(line[position : match.start()])
        position = match.end()
        if match["target"]:
            text.append(match["text"], style=f"underline link {match['target']}")
        elif match["url"]:
            text.append(match["url"], style=f"underline link {match['url']}")
        elif match["escaped"] or match["br"]:
            text.append(match["escaped"] or " ")
        else:
            name = next(name for name in _STYLES if match[name])
            text.append(match[name], style=_STYLES[name])
    text.append(line[position:])
    return text


def table_row(line: str) -> Text:
    """A Markdown table row with its cells apart (│), or its delimiter row as a rule."""
    if _TABLE_RULE.fullmatch(line.strip()):
        return Text("─" * min(len(line.strip()), 60), style="dim")
    cells = re.split(r"(?<!\\)\|", line.strip().strip("|"))
    row = Text()
    for index, cell in enumerate(cells):
        if index:
            row.append(" │ ", style="dim")
        row.append_text(styled(cell.strip()))
    return row


class BriefLines:
    """Turns a published brief, line by line, into rich renderables: styled headings, aligned bullets, links."""

    def __init__(self) -> None:
        self.fence = False
        self.heading = False  # the line before was a section heading

    def show(self, console: Console, line: str) -> None:
        """Print one line of the brief; the blank line under a heading goes (its style sets it apart)."""
        was_heading, self.heading = self.heading, False
        if not (was_heading and not line.strip()):
            console.print(self.render(line))

    def render(self, line: str) -> RenderableType:

        if line.lstrip().startswith(("```", "~~~")):
            self.fence = not self.fence
            return Text("")
        if self.fence:
            return Padding(Text(line, style="cyan"), (0, 0, 0, 4))
        if line.startswith("#### "):
            self.heading = True
            return Text(line[5:].strip(), style="bold magenta")
        item = _LIST_ITEM.fullmatch(line)
        if item:
            bullet = "•" if item[2] in "-*+" else item[2]
            grid = Table.grid(padding=(0, 1))
            grid.add_column(width=len(item[1]) + 2 + max(0, len(bullet) - 1), justify="right", no_wrap=True)
            grid.add_column()
            grid.add_row(Text(bullet, style="magenta"), styled(item[3]))
            return grid
        if line.startswith(">"):
            return Text(line.lstrip("> "), style="italic")
        if re.fullmatch(r"_[^_].*_", line.strip()):
            return Text(line.strip()[1:-1], style="italic dim")
        if re.fullmatch(r"\*[^*]+\*", line.strip()):  # a sub-heading the brief's normalizer made italic
            self.heading = True
            return Text(line.strip()[1:-1], style="bold italic")
        if line.lstrip().startswith("|") and line.rstrip().endswith("|"):
            return table_row(line)
        return styled(line)


def header_line(key: str, ticket: Ticket | None, clean: Callable[[str], str]) -> Text:
    """The ticket's key (linked to Jira), title and facts, as the line that opens its brief."""

    url = ticket.url if ticket and ticket.url and ticket.url.startswith(("https://", "http://")) else None
    header = Text()
    header.append(key, style=f"bold cyan link {url}" if url else "bold cyan")
    if ticket and ticket.title:
        header.append(f" — {clean(ticket.title)}", style="bold")
    if ticket and ticket.facts:
        header.append(f"   {clean(ticket.facts)}", style="dim")
    return header


class StatusLine:
    """A transient spinner on stderr saying what the run waits for; it holds while briefs are printed."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.waiting = Waiting()
        self.live: Live | None = None
        self.held = False
        self.lock = threading.RLock()

    def __call__(self, event: Event) -> None:
        with self.lock:
            self.waiting.add(event)
            self._refresh()

    def hold(self, held: bool) -> None:
        with self.lock:
            self.held = held
            self._refresh()

    def say(self, line: str) -> None:
        """A line above the spinner (rich keeps the spinner under it)."""

        with self.lock:
            self.console.print(Text(line), highlight=False, soft_wrap=True)

    def close(self) -> None:
        self.hold(True)

    def _refresh(self) -> None:

        message = "" if self.held else self.waiting.message()
        if not message:
            if self.live is not None:
                self.live.stop()
                self.live = None
            return
        spinner = Spinner("dots", message, style="cyan")
        if self.live is None:
            # No redirection: stdout may be a pipe, and what goes there must not land on stderr.
            self.live = Live(
                spinner, console=self.console, transient=True, redirect_stdout=False, redirect_stderr=False
            )
            self.live.start(refresh=True)
        else:
            self.live.update(spinner)


class RichTerminal(InKeyOrder):
    """Briefs in key order on a terminal: a header line, then the brief styled; the first ticket streams by line."""

    def __init__(
        self,
        keys: Sequence[str],
        console: Console,
        clean: Callable[[str], str],
        status: StatusLine | None,
        warn: Write | None = None,
    ) -> None:
        self.order = list(keys)
        self.console, self.clean, self.status = console, clean, status
        self.say = status.say if status else (warn or (lambda line: console.print(line, markup=False)))
        self.failures = Failures(self.warn)
        self.tickets: dict[str, Ticket] = {}
        self.finished: dict[str, BriefResult] = {}
        self.streamed = ""  # the first ticket's text not yet printed (an unfinished line)
        self.streaming = False
        self.lines = BriefLines()
        self.head = 0
        self.lock = threading.RLock()

    def __call__(self, event: Event) -> None:
        if event.ticket is not None:
            self.tickets[event.key] = event.ticket
        if self.status is not None:
            self.status(event)

    def text(self, key: str, chunk: str) -> None:
        """Only the first ticket is shown as it arrives; the others are printed whole when their turn comes."""
        with self.lock:
            if self.head or key != self.order[0] or not chunk:
                return
            if not self.streaming:
                self.streaming = True
                self._hold(True)
                self.console.print(header_line(key, self.tickets.get(key), self.clean))
            *complete, self.streamed = (self.streamed + chunk).split("\n")
            for line in complete:
                self.lines.show(self.console, self.clean(line))

    def done(self, result: BriefResult) -> None:
        with self.lock:
            self._release(result)
            if not (self.streaming and self.head == 0):
                self._hold(False)

    def warn(self, line: str) -> None:
        self.say(self.clean(line))

    def _hold(self, held: bool) -> None:
        if self.status is not None:
            self.status.hold(held)

    def _finish(self, result: BriefResult) -> None:
        self._hold(True)
        shown = self.streaming and self.head == 0
        if shown and self.streamed:
            self.lines.show(self.console, self.clean(self.streamed))
        if result.error:
            self.failures(result)
        if result.brief and (result.error or not shown):
            self.console.print(header_line(result.key, result.ticket or self.tickets.get(result.key), self.clean))
            self.lines = BriefLines()
            for line in result.brief.split("\n"):
                self.lines.show(self.console, self.clean(line))
        if self.head < len(self.order) - 1:
            self.console.print()


@dataclass
class Screen:
    """How one run is shown: the pipeline's output (None: printed at the end), its progress, and the closing."""

    output: Output | None
    notify: Notify
    close: Callable[[], None]


def terminal_screen(
    keys: Sequence[str],
    fmt: str,
    *,
    clean: Callable[[str], str],
    write: Write,
    warn: Write,
    labels: Labels,
    ci: bool,
    stdout: IO[Any],
    stderr: IO[Any],
) -> Screen:
    """rich when stdout/stderr are terminals; plain text when piped; in CI one progress line per phase.

    Piped outside CI, stderr only gets warnings: a script reading it is not fed spinners or phases."""

    status = StatusLine(Console(file=stderr, highlight=False)) if stderr.isatty() else None
    notify: Notify = status or (PhaseLines(warn) if ci else ignore)
    close = status.close if status else (lambda: None)
    if fmt != "text":
        return Screen(None, notify, close)
    if stdout.isatty():
        rich_terminal = RichTerminal(keys, Console(file=stdout, highlight=False), clean, status, warn)
        return Screen(rich_terminal, rich_terminal, close)
    say = status.say if status else warn
    output = TerminalOutput(keys, lambda text: write(clean(text)), lambda line: say(clean(line)), labels)
    return Screen(output, notify, close)
