"""The comment's Markdown: a header (with a table of the tickets when there are several), one foldable
section per ticket carrying its fingerprint in a hidden marker, and notes; sections are cut from the end
until it fits the limit it is given. Pure: no I/O, no forge: a forge hands in its limit, its
references, its links and its Markdown dialect (`Style`), and the marker that says the comment is ours.
Where raw HTML is escaped (Bitbucket), a ticket is a heading instead of a folded section.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import html
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from jira_brief.brief.result import BriefResult
from jira_brief.keys.scan import KEY_TEXT
from jira_brief.publish.coverage import FileLink, marked_blocks, render_coverage
from jira_brief.publish.dialect import CLOSE, CLOSED, HTML, OPEN, OPENED, Dialect, loose_lists
from jira_brief.publish.labels import Labels, labels_in
from jira_brief.publish.neutralize import URL_SAFE, inline_text, jira_hosts, neutralize, sanitize

MARKER = HTML.marker  # the first line of our comment; a forge also checks who wrote it

_SECTION = re.compile(
    rf"{OPEN}jira-brief:section key=({KEY_TEXT})(?: fingerprint=([0-9a-f]{{8,64}}))?(?: seal=([0-9a-f]{{64}}))?"
    rf"{OPENED}"
)
_SECTION_CLOSING = re.compile(rf"{CLOSE}/jira-brief:section{CLOSED}")
_BRIEF = re.compile(rf"{OPEN}jira-brief:brief{OPENED}")
_BRIEF_CLOSING = re.compile(rf"{CLOSE}/jira-brief:brief{CLOSED}")
UNLIMITED = 1 << 62  # render_document's limit when the place showing it has none
_DETAILS = re.compile(r"^<details(?: open)?>$", re.MULTILINE)


@dataclass(frozen=True)
class Style:
    """How one place shows the comment: its words, the forge's own references to neutralize, where a
    file of the change is shown (for evidence links), and its Markdown dialect."""

    labels: Labels
    references: re.Pattern[str] | None = None
    file_link: FileLink | None = None
    dialect: Dialect = HTML


@dataclass(frozen=True)
class Section:
    """One ticket's part of the comment: its rendered text, the fingerprint it was made from, its brief."""

    key: str
    text: str
    fingerprint: str | None = None
    brief: str | None = None


def _summary_line(result: BriefResult, references: re.Pattern[str] | None) -> str:
    """The always-visible line of a section: the key linked to Jira, and the title."""
    ticket = result.ticket
    key = f"<b>{result.key}</b>"
    if ticket and ticket.url and ticket.url.startswith(("https://", "http://")):
        key = f'<a href="{html.escape(ticket.url, quote=True)}">{key}</a>'
    title = html.escape(neutralize(" ".join(ticket.title.split()), references)) if ticket and ticket.title else ""
    state = " ⚠️" if result.error else ""
    return f"<summary>{key}{' — ' + title if title else ''}{state}</summary>"


def _facts(result: BriefResult, style: Style) -> str:
    ticket = result.ticket
    if ticket is None:
        return ""
    facts = [
        inline_text(fact, style.references)
        for fact in (ticket.type, ticket.status, ticket.priority, ticket.assignee)
        if fact
    ]
    day = style.labels.day(ticket.updated) if ticket.updated else ""
    return " · ".join([*facts, style.labels.say("updated", date=day)] if day else facts)


def _heading_line(result: BriefResult, references: re.Pattern[str] | None) -> str:
    """A section's title where nothing folds (Bitbucket): the key linked to Jira, and the title (a "#"
    escaped, since a heading drops the ones that end it)."""
    ticket = result.ticket
    title = inline_text(ticket.title, references).replace("#", "\\#") if ticket and ticket.title.strip() else ""
    state = " ⚠️" if result.error else ""
    return f"### {_key_link(result)}{' — ' + title if title else ''}{state}"


def _head(result: BriefResult, style: Style) -> list[str]:
    """The top of a section: its title line, then the ticket's facts in small or italic type."""
    facts = _facts(result, style)
    if style.dialect.html:
        return [f"<details>\n{_summary_line(result, style.references)}", *([f"<sub>{facts}</sub>"] if facts else [])]
    return [_heading_line(result, style.references), *([f"_{facts}_"] if facts else [])]


def render_section(
    result: BriefResult, hosts: Collection[str], style: Style | None = None, check_block: str | None = None
) -> Section:
    """A ticket's section, folded where raw HTML renders and under a heading where it does not; only a
    clean brief carries a fingerprint, so failures are retried.

    `check_block` is the criteria check as already published, reused as it is when it still holds."""
    style = style or Style(labels_in("en"))
    dialect = style.dialect
    brief = sanitize(result.brief, hosts, style.references) if result.brief else None
    if brief and not dialect.html:
        brief = loose_lists(brief)
    parts = _head(result, style)
    if result.error:
        parts.append(f"> **{style.labels.failure}** {inline_text(result.error, style.references)}")
    if brief:
        parts.append(dialect.wrap("jira-brief:brief", "/jira-brief:brief", brief))
    if check_block is not None:
        parts.append(check_block)
    elif result.coverage is not None:
        parts.append(render_coverage(result.coverage, style.labels, style.file_link, style.references, dialect))
    if dialect.html:
        parts.append("</details>")
    fingerprint = result.fingerprint if result.error is None and brief else None
    opening = f"jira-brief:section key={result.key}" + (f" fingerprint={fingerprint}" if fingerprint else "")
    return Section(result.key, dialect.wrap(opening, "/jira-brief:section", "\n\n".join(parts)), fingerprint, brief)


def _seal_of(text: str, key: bytes) -> str:
    """A keyed digest (HMAC-SHA256) of a section's text as rendered, whether it is shown open or not."""
    return hmac.new(key, _DETAILS.sub("<details>", text, count=1).encode(), hashlib.sha256).hexdigest()


def sealed(section: Section, key: bytes) -> Section:
    """The section with its seal in its opening marker (either dialect): a digest of its whole text under
    the run's key, so a section edited by anyone but this tool no longer verifies (and is made again)."""
    opening, rest = section.text.split("\n", 1)
    end = " -->" if opening.endswith(" -->") else ")"
    seal = _seal_of(section.text, key)
    return dataclasses.replace(section, text=f"{opening.removesuffix(end)} seal={seal}{end}\n{rest}")


def parse_sections(body: str, key: bytes | None) -> dict[str, Section]:
    """The sections of a comment this tool wrote, by key, with their fingerprints and briefs: only those
    whose seal verifies under `key` (none without a key); an edited or forged section is left out."""
    sections: dict[str, Section] = {}
    if key is None:
        return sections
    for match, text in marked_blocks(body.replace("\r\n", "\n"), _SECTION, _SECTION_CLOSING):
        seal = match[3]
        if seal is None or not hmac.compare_digest(seal, _seal_of(text.replace(f" seal={seal}", "", 1), key)):
            continue
        sections[match[1]] = Section(match[1], text, match[2], _brief_in(text))
    return sections


def _brief_in(text: str) -> str | None:
    """The brief a section's text carries, as it was published."""
    for opening, block in marked_blocks(text, _BRIEF, _BRIEF_CLOSING):
        closing = _BRIEF_CLOSING.search(block, len(opening[0]))
        return block[len(opening[0]) : closing.start()] if closing else None
    return None


def known_fingerprints(sections: dict[str, Section]) -> dict[str, str]:
    """key -> fingerprint of each section that can be reused as it is."""
    return {key: section.fingerprint for key, section in sections.items() if section.fingerprint}


@dataclass(frozen=True)
class Document:
    """A rendered comment or summary, and the keys whose sections did not fit."""

    text: str
    cut: tuple[str, ...] = ()


def _opened(section: Section, alone: bool) -> str:
    """The section's text, open when it is the only one (a reused section may have been either)."""
    return _DETAILS.sub("<details open>" if alone else "<details>", section.text, count=1)


def _assemble(
    head: str, sections: Sequence[Section], notes: Sequence[str], cut: Sequence[str], labels: Labels, footer: str
) -> str:
    blocks = [head, *(_opened(section, len(sections) == 1) for section in sections)]
    if cut:
        blocks.append(f"> ✂️ {labels.say('cut', count=len(cut), keys=', '.join(cut))}")
    blocks.extend(notes)
    if footer:
        blocks.append(footer)
    return "\n\n".join(blocks) + "\n"


def render_document(
    sections: Sequence[Section],
    *,
    heading: str,
    notes: Sequence[str] = (),
    marker: str | None = MARKER,
    limit: int = UNLIMITED,
    labels: Labels | None = None,
    size: Callable[[str], int] = len,
    footer: bool = True,
    dialect: Dialect = HTML,
) -> Document:
    """The marker line (when given), header, sections and notes; whole sections are cut last-first until it
    fits `limit` (as `size` counts). A lone section is shown open; `footer` adds the line that says who
    wrote the comment, in small type (italic where raw HTML does not render)."""
    labels = labels or labels_in("en")
    head = (marker + "\n" if marker else "") + heading
    said = labels.say("footer")
    end = (f"<sub>{said}</sub>" if dialect.html else f"_{said}_") if footer else ""
    kept = list(sections)
    cut: list[str] = []
    text = _assemble(head, kept, notes, cut, labels, end)
    while kept and size(text) > limit:
        cut.insert(0, kept.pop().key)
        text = _assemble(head, kept, notes, cut, labels, end)
    return Document(text, tuple(cut))


def heading_for(results: Sequence[BriefResult], style: Style | None = None) -> str:
    """The header: how many tickets and how many failed, then a table of them when there are several."""
    style = style or Style(labels_in("en"))
    labels = style.labels
    failed = sum(1 for result in results if result.error)
    count = labels.count(len(results)) + (f" · {labels.say('failed', count=failed)}" if failed else "")
    heading = f"### {labels.title}\n{count}"
    return f"{heading}\n\n{ticket_table(results, style)}" if len(results) > 1 else heading


def _cell(value: str | None, references: re.Pattern[str] | None) -> str:
    return inline_text(value, references) if value and value.strip() else "—"


def _key_link(result: BriefResult) -> str:
    """The key, linked to its Jira page when the ticket has an http(s) address."""
    url = result.ticket.url if result.ticket else None
    if not url or not url.startswith(("https://", "http://")):
        return result.key
    return f"[{result.key}]({quote(url, safe=URL_SAFE)})"


def ticket_table(results: Sequence[BriefResult], style: Style) -> str:
    """One row a ticket: key (linked), title, type, status, assignee; a failure is marked ⚠️."""
    labels, references = style.labels, style.references
    rows = [
        f"| {labels.key} | {labels.name} | {labels.type} | {labels.status} | {labels.assignee} |",
        "| --- | --- | --- | --- | --- |",
    ]
    for result in results:
        ticket = result.ticket
        key = _key_link(result) + (" ⚠️" if result.error else "")
        if ticket is None:
            rows.append(f"| {key} | — | — | — | — |")
            continue
        cells = [_cell(value, references) for value in (ticket.title, ticket.type, ticket.status, ticket.assignee)]
        rows.append(f"| {key} | {' | '.join(cells)} |")
    return "\n".join(rows)


def utf8_size(text: str) -> int:
    return len(text.encode("utf-8"))


def render_markdown(results: Sequence[BriefResult], style: Style) -> str:
    """Briefs as the pull-request comment shows them (same sections, table and words), without its marker."""
    hosts = jira_hosts(results)
    sections = [render_section(result, hosts, style) for result in results]
    heading = heading_for(results, style)
    return render_document(sections, heading=heading, marker=None, labels=style.labels, footer=False).text
