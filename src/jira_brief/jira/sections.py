"""The one rule for a section of a ticket's description: the lines under a heading that matches, up to
the next heading of the same or a higher level. Headings are Markdown `#` lines, wiki `h1.` lines, bold
lines (`**Acceptance criteria**`) and short `Title:` lines (deeper than any `#` heading)."""

from __future__ import annotations

import re

HEADING = re.compile(
    r"^\s*(?:(#{1,6})\s+(.*?)|h([1-6])\.\s+(.*?)|\*\*(.+?):?\*\*:?|(?![-*+]\s|\d+[.)]\s)(\S.{0,60}?):)\s*$"
)
# A bold line or a `Title:` line sits under every `#` heading.
LOOSE_LEVEL = 7


def heading_level(line: str) -> tuple[int, str] | None:
    """(level, title) when `line` is a heading, else None."""
    match = HEADING.match(line)
    if match is None:
        return None
    atx, atx_title, wiki, wiki_title, bold, titled = match.groups()
    if atx:
        return len(atx), atx_title
    if wiki:
        return int(wiki), wiki_title
    return LOOSE_LEVEL, bold or titled


def description_section(text: str, heading: re.Pattern[str]) -> str:
    """The lines under the first heading whose title matches `heading`, up to the next heading of the same
    or a higher level (a deeper one belongs to the section)."""
    kept: list[str] = []
    level = 0
    for line in text.splitlines():
        found = heading_level(line)
        if level and found and found[0] <= level:
            break
        if level:
            kept.append(line)
        elif found and heading.search(found[1]):
            level = found[0]
    return "\n".join(kept).strip()


def without_section(text: str, heading: re.Pattern[str]) -> str:
    """`text` without the first section whose heading matches, heading line included: what
    `description_section` gives, taken out (so that a brief does not say it twice)."""
    kept: list[str] = []
    level, done = 0, False
    for line in text.splitlines():
        found = heading_level(line)
        if level and not (found and found[0] <= level):
            continue
        if level:
            level, done = 0, True
        if not done and found and heading.search(found[1]):
            level = found[0]
            continue
        kept.append(line)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
