"""The sticky pull-request comment: one section per ticket with its fingerprint, sanitized, under GitHub's limit.

Everything that comes from Jira or the model is data. Before it is published it is neutralized so it
cannot ping people (@user, @org/team), cross-reference issues (#12, owner/repo#12, GH-12), inject
HTML or images, link anywhere but the Jira host, or forge this module's own hidden markers. The
neutralizing inserts a zero-width joiner (ZWJ) where a character would start syntax: invisible when
read, and it works the same in prose and in code, so no Markdown parsing has to be exactly right.

Pure: no I/O and no heavy imports, so it is cheap to import and easy to test.
"""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from jira_brief.errors import UsageError
from jira_brief.keys import KEY_TEXT

if TYPE_CHECKING:
    from jira_brief.result import BriefResult

MARKER = "<!-- jira-brief -->"
# GitHub refuses comment bodies over 65,536 characters; keep a margin below it.
COMMENT_LIMIT = 65_000
# GitHub drops a step summary over 1 MiB (it counts bytes).
SUMMARY_LIMIT = 1_000_000
ZWJ = "\u200d"

_SECTION = re.compile(
    rf"<!-- jira-brief:section key=({KEY_TEXT})(?: fingerprint=([0-9a-f]{{8,64}}))? -->\n"
    r".*?\n<!-- /jira-brief:section -->",
    re.DOTALL,
)
_BRIEF = re.compile(r"<!-- jira-brief:brief -->\n(.*?)\n<!-- /jira-brief:brief -->", re.DOTALL)

# Where a ZWJ goes so the character starts no syntax: raw HTML, comments and autolinks (<tag, </,
# <!, <?), entities that could spell "@" or "#" (&#64;), link and image ends ("](", "][", "]:" of
# reference definitions), mentions and e-mail autolinks (any "@"), issue references, and the
# autolinks of GFM's extension: http(s)://, www., ftp:// (any other "scheme://" too), mailto:, xmpp:.
_NEUTRALIZE = re.compile(
    r"(?<=<)(?=[A-Za-z/!?])"
    r"|(?<=&)(?=[#A-Za-z])"
    r"|(?<=\])(?=[(\[:])"
    r"|(?<=@)(?=[A-Za-z0-9])"
    r"|(?<=#)(?=[0-9])"
    r"|(?<=\bGH)(?=-[0-9])"
    r"|(?<=http)(?=s?://)"
    r"|(?<!http)(?<!https)(?<=[A-Za-z0-9+.-])(?=://)"
    r"|(?<=mailto)(?=:)"
    r"|(?<=xmpp)(?=:)"
    r"|(?<=www)(?<![A-Za-z0-9]www)(?=\.)",
    re.IGNORECASE,
)
# A link that may stay live: https, a plain host (no user part, no backslash a browser reads as "/").
_SAFE_URL = re.compile(r"https://(?P<host>[A-Za-z0-9.-]+)(?::[0-9]{1,5})?(?:[/?#][^\\]*)?", re.IGNORECASE)
# Things that stay live when they point at the Jira host: Markdown links (images never do) and bare URLs.
_LINKISH = re.compile(
    r"(?P<image>!?)\[(?P<text>[^\[\]\n]*)\]\((?P<target>https?://[^\s()<>`|\[\]]+)\)"
    r"|(?P<url>https?://[^\s()<>`|\[\]]+)"
)
_FENCE_OPEN = re.compile(r"(`{3,})[^`]*|(~{3,}).*")
# What stays as it is in a link target: everything but spaces, parentheses, pipes (table cells) and brackets.
_URL_SAFE = ":/?#=&%~+,;@!$'*.-_"
_DETAILS = re.compile(r"^<details(?: open)?>$", re.MULTILINE)
_LABELS_BLOCK = re.compile(r"<!--\s*jira-brief:labels\s*\n(.*?)-->", re.DOTALL)


@dataclass(frozen=True)
class Labels:
    """The comment's own words, in the brief's language; a custom template may set any of them."""

    title: str = "Jira brief"
    tickets: str = "{count} ticket(s)"
    failed: str = "{count} could not be briefed"
    failure: str = "Could not be briefed:"
    key: str = "Key"
    name: str = "Title"
    type: str = "Type"
    status: str = "Status"
    assignee: str = "Assignee"
    updated: str = "updated {date}"
    cut: str = (
        "{count} ticket(s) left out to stay under GitHub's size limit: {keys}. "
        "The job summary of the workflow run lists them."
    )
    footer: str = (
        "Written by jira-brief from the Jira tickets this pull request names; "
        "a ticket is briefed again only when it changes."
    )
    months: str = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec"
    date: str = "{month} {day}, {year}"
    dropped: str = "{count} more key(s) past the limit of {limit} were left out: {keys}."
    refused: str = "GitHub refused or failed:"
    same: str = "[The pull request comment]({url}) shows the same briefs."

    def count(self, count: int) -> str:
        """`tickets` for `count`, with "(s)" resolved: "1 ticket", "3 tickets"."""
        text = self.tickets.format(count=count)
        return text.replace("(s)", "" if count == 1 else "s")

    def day(self, stamp: str) -> str:
        """Jira's ISO timestamp as a date in this language's convention; "" when it is not a timestamp."""
        try:
            moment = datetime.fromisoformat(stamp)
        except ValueError:
            return ""
        month = self.months.split()[moment.month - 1]
        return self.date.format(day=moment.day, month=month, year=moment.year)


LABELS: Mapping[str, Labels] = {
    "en": Labels(),
    "fr": Labels(
        title="Brief Jira",
        failed="{count} en échec",
        failure="Résumé impossible :",
        key="Clé",
        name="Titre",
        status="Statut",
        assignee="Assigné à",
        updated="mis à jour le {date}",
        cut="{count} ticket(s) laissé(s) de côté pour rester sous la limite de taille de GitHub : {keys}. "
        "Le résumé du job du workflow les liste.",
        footer="Écrit par jira-brief à partir des tickets Jira que cite cette pull request ; "
        "un ticket n’est résumé à nouveau que s’il change.",
        months="janv. févr. mars avr. mai juin juil. août sept. oct. nov. déc.",
        date="{day} {month} {year}",
        dropped="{count} clé(s) de plus, au-delà de la limite de {limit}, laissée(s) de côté : {keys}.",
        refused="GitHub a refusé ou échoué :",
        same="[Le commentaire de la pull request]({url}) montre les mêmes briefs.",
    ),
}


def labels_for(language: str, template: str = "") -> Labels:
    """The words of `language`, overridden by the template's `<!-- jira-brief:labels` block of `name: value` lines."""
    labels = LABELS.get(language, LABELS["en"])
    block = _LABELS_BLOCK.search(template)
    if block is None:
        return labels
    names = {field.name for field in dataclasses.fields(Labels)}
    changes = {}
    for line in filter(str.strip, block[1].splitlines()):
        name, colon, value = line.partition(":")
        if not colon or name.strip() not in names:
            raise UsageError(
                f"the template's jira-brief:labels block has {line.strip()!r}; write `name: value` lines "
                f"with a name among {', '.join(sorted(names))}"
            )
        changes[name.strip()] = value.strip()
    return dataclasses.replace(labels, **changes)


@dataclass(frozen=True)
class Section:
    """One ticket's part of the comment: its rendered text, the fingerprint it was made from, its brief."""

    key: str
    text: str
    fingerprint: str | None = None
    brief: str | None = None


def neutralize(text: str) -> str:
    """`text` with a ZWJ wherever a character would start a mention, reference, link or HTML."""
    return _NEUTRALIZE.sub(ZWJ, text)


def _allowed(url: str, hosts: Collection[str]) -> bool:
    """Whether `url` is an https link to one of the Jira `hosts`, in a shape every parser reads alike."""
    safe = _SAFE_URL.fullmatch(url)
    return safe is not None and safe["host"].lower() in hosts


def _kept(match: re.Match[str], hosts: Collection[str]) -> bool:
    """Whether a link or URL stays live: it points at the Jira host and is not an image (images load anything)."""
    if match["url"]:
        return _allowed(match["url"], hosts)
    return not match["image"] and _allowed(match["target"], hosts)


def _prose_line(line: str, hosts: Collection[str]) -> str:
    """One Markdown line outside code: links and URLs to the Jira host stay, everything else is neutralized.

    Other links become their text and address, images their text; the result is neutralized as a whole
    (so "@" just before a kept URL is still caught), skipping only the inside of what is kept."""
    pieces: list[str] = []
    kept: list[tuple[int, int]] = []
    position = 0
    for match in _LINKISH.finditer(line):
        pieces.append(line[position : match.start()])
        position = match.end()
        start = sum(map(len, pieces))
        if match["url"]:
            pieces.append(match["url"])
            if _kept(match, hosts):
                kept.append((start, start + len(match["url"])))
        elif _kept(match, hosts):
            pieces.append(match[0])
            kept.append((start + len(match["text"]) + 1, start + len(match[0])))
        else:
            pieces.append(match["text"] if match["image"] else f"{match['text']} ({match['target']})")
    pieces.append(line[position:])
    text = "".join(pieces)
    return _NEUTRALIZE.sub(lambda spot: "" if any(a < spot.start() < b for a, b in kept) else ZWJ, text)


def _closes(line: str, fence: str) -> bool:
    """Whether `line` closes a code block opened by `fence` (CommonMark: same character, as long, ≤3 spaces)."""
    return re.fullmatch(rf" {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*", line) is not None


def sanitize(text: str, hosts: Collection[str] = ()) -> str:
    """Untrusted Markdown made safe to publish; `hosts` are the Jira hosts whose links stay clickable.

    Code blocks opened at the start of a line are kept as code (neutralized the same way, which is
    invisible there) and closed if the text leaves one open, so it cannot swallow what follows."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out: list[str] = []
    fence: str | None = None
    for line in lines:
        if fence is not None:
            fence = None if _closes(line, fence) else fence
            out.append(neutralize(line))
            continue
        opening = _FENCE_OPEN.fullmatch(line)
        fence = (opening[1] or opening[2]) if opening else None
        out.append(neutralize(line) if fence else _prose_line(line, hosts))
    if fence is not None:
        out.append(fence)
    return "\n".join(out)


def one_line(text: str) -> str:
    """A short untrusted value (title, status, name, error) as one neutralized line of plain text."""
    flat = " ".join(text.split())
    return neutralize(re.sub(r"([\\`*_~|])", r"\\\1", flat))


def jira_hosts(results: Sequence[BriefResult]) -> frozenset[str]:
    """The hosts of the tickets' own URLs: the only places links in a brief may point to."""
    urls = (result.ticket.url for result in results if result.ticket and result.ticket.url)
    return frozenset(host.lower() for host in (urlsplit(url).hostname for url in urls) if host)


def _summary_line(result: BriefResult) -> str:
    """The always-visible line of a section: the key linked to Jira, and the title."""
    ticket = result.ticket
    key = f"<b>{result.key}</b>"
    if ticket and ticket.url and ticket.url.startswith(("https://", "http://")):
        key = f'<a href="{html.escape(ticket.url, quote=True)}">{key}</a>'
    title = html.escape(neutralize(" ".join(ticket.title.split()))) if ticket and ticket.title else ""
    state = " ⚠️" if result.error else ""
    return f"<summary>{key}{' — ' + title if title else ''}{state}</summary>"


def _facts(result: BriefResult, labels: Labels) -> str:
    ticket = result.ticket
    if ticket is None:
        return ""
    facts = [one_line(fact) for fact in (ticket.type, ticket.status, ticket.priority, ticket.assignee) if fact]
    day = labels.day(ticket.updated) if ticket.updated else ""
    return " · ".join([*facts, labels.updated.format(date=day)] if day else facts)


def render_section(
    result: BriefResult, hosts: Collection[str], labels: Labels = LABELS["en"], extra: Sequence[str] = ()
) -> Section:
    """A ticket's collapsible section; only a clean brief carries a fingerprint, so failures are retried.

    `extra` are more Markdown blocks for this ticket (already sanitized), shown under its brief."""
    brief = sanitize(result.brief, hosts) if result.brief else None
    parts = [f"<details>\n{_summary_line(result)}"]
    if _facts(result, labels):
        parts.append(f"<sub>{_facts(result, labels)}</sub>")
    if result.error:
        parts.append(f"> **{labels.failure}** {one_line(result.error)}")
    if brief:
        parts.append(f"<!-- jira-brief:brief -->\n{brief}\n<!-- /jira-brief:brief -->")
    if result.coverage is not None:
        from jira_brief.coverage import render_coverage

        parts.append(render_coverage(result.coverage))
    parts.extend(extra)
    parts.append("</details>")
    fingerprint = result.fingerprint if result.error is None and brief else None
    opening = f"<!-- jira-brief:section key={result.key}" + (f" fingerprint={fingerprint}" if fingerprint else "")
    text = f"{opening} -->\n" + "\n\n".join(parts) + "\n<!-- /jira-brief:section -->"
    return Section(result.key, text, fingerprint, brief)


def parse_sections(body: str) -> dict[str, Section]:
    """The sections of a comment this tool wrote, by key, with their fingerprints and briefs."""
    sections = {}
    for match in _SECTION.finditer(body):
        brief = _BRIEF.search(match[0])
        sections[match[1]] = Section(match[1], match[0], match[2], brief[1] if brief else None)
    return sections


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
    head: str, sections: Sequence[Section], notes: Sequence[str], cut: Sequence[str], labels: Labels, footer: bool
) -> str:
    blocks = [head, *(_opened(section, len(sections) == 1) for section in sections)]
    if cut:
        blocks.append(f"> ✂️ {labels.cut.format(count=len(cut), keys=', '.join(cut))}")
    blocks.extend(notes)
    if footer:
        blocks.append(f"<sub>{labels.footer}</sub>")
    return "\n\n".join(blocks) + "\n"


def render_document(
    sections: Sequence[Section],
    *,
    heading: str,
    notes: Sequence[str] = (),
    marker: bool = True,
    limit: int = COMMENT_LIMIT,
    size: Callable[[str], int] = len,
    labels: Labels = LABELS["en"],
    footer: bool = True,
) -> Document:
    """Header, sections and notes; whole sections are cut last-first until it fits `limit` (as `size` counts).

    A lone section is shown open; `footer` adds the line that says who wrote the comment."""
    head = (MARKER + "\n" if marker else "") + heading
    kept = list(sections)
    cut: list[str] = []
    text = _assemble(head, kept, notes, cut, labels, footer)
    while kept and size(text) > limit:
        cut.insert(0, kept.pop().key)
        text = _assemble(head, kept, notes, cut, labels, footer)
    return Document(text, tuple(cut))


def heading_for(results: Sequence[BriefResult], labels: Labels = LABELS["en"]) -> str:
    """The header: how many tickets and how many failed, then a table of them when there are several."""
    failed = sum(1 for result in results if result.error)
    count = labels.count(len(results)) + (f" · {labels.failed.format(count=failed)}" if failed else "")
    heading = f"### {labels.title}\n{count}"
    return f"{heading}\n\n{ticket_table(results, labels)}" if len(results) > 1 else heading


def _cell(value: str | None) -> str:
    return one_line(value) if value and value.strip() else "—"


def _key_link(result: BriefResult) -> str:
    """The key, linked to its Jira page when the ticket has an http(s) address."""
    url = result.ticket.url if result.ticket else None
    if not url or not url.startswith(("https://", "http://")):
        return result.key
    return f"[{result.key}]({quote(url, safe=_URL_SAFE)})"


def ticket_table(results: Sequence[BriefResult], labels: Labels) -> str:
    """One row a ticket: key (linked), title, type, status, assignee; a failure is marked ⚠️."""
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
        cells = [_cell(ticket.title), _cell(ticket.type), _cell(ticket.status), _cell(ticket.assignee)]
        rows.append(f"| {key} | {' | '.join(cells)} |")
    return "\n".join(rows)


def utf8_size(text: str) -> int:
    return len(text.encode("utf-8"))
