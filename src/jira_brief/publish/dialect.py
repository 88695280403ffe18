"""How a forge's Markdown carries the comment's hidden parts and shows a ticket.

GitHub and GitLab render raw HTML: an HTML comment hides a marker and `<details>` folds a ticket.
Bitbucket Cloud renders Python-Markdown with raw HTML escaped, so both would show as text; there a
marker is a link reference definition, `[//]: # (jira-brief)`, which renders to nothing (on GitHub
too), each ticket is a heading, and a list needs a blank line before it. A comment is read back in
either dialect. Pure: no I/O.
"""

from __future__ import annotations

import re


class Dialect:
    """One forge's Markdown, as far as the comment goes (a plain class: this module is on a hook's start-up
    path, where a dataclass costs a millisecond)."""

    __slots__ = ("html",)

    def __init__(self, html: bool) -> None:
        self.html = html  # raw HTML renders: markers are HTML comments and a ticket folds in <details>

    def hidden(self, text: str) -> str:
        """A line that carries `text` and shows nothing (`text` holds no parenthesis and no "--")."""
        return f"<!-- {text} -->" if self.html else f"[//]: # ({text})"

    @property
    def marker(self) -> str:
        """The first line of our comment; a forge also checks who wrote it."""
        return self.hidden("jira-brief")

    def wrap(self, opening: str, closing: str, text: str) -> str:
        """`text` between two hidden lines. Python-Markdown reads a definition only as a block of its
        own, so Bitbucket's dialect puts a blank line on each side."""
        gap = "\n" if self.html else "\n\n"
        return f"{self.hidden(opening)}{gap}{text}{gap}{self.hidden(closing)}"


HTML = Dialect(html=True)
PLAIN = Dialect(html=False)

# Regex pieces that read a `wrap`ped block in either dialect: the start of its opening line, the end of
# that line with its gap, the gap and start of its closing line, the end of that line.
OPEN = r"(?:<!-- |\[//\]: # \()"
OPENED = r"(?: -->\n|\)\n\n)"
CLOSE = r"(?:\n<!-- |\n\n\[//\]: # \()"
CLOSED = r"(?: -->|\))"

_LIST_ITEM = re.compile(r" {0,3}(?:[-*+]|[0-9]{1,3}[.)])[ \t]+\S")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")


def loose_lists(text: str) -> str:
    """`text` with a blank line before each list that follows a paragraph line (outside code blocks):
    Python-Markdown, unlike CommonMark, does not let a list interrupt a paragraph."""
    out: list[str] = []
    fence: str | None = None
    for line in text.split("\n"):
        opening = _FENCE.match(line)
        if fence is not None:
            if opening and opening[1][0] == fence[0] and len(opening[1]) >= len(fence):
                fence = None if not line[opening.end() :].strip() else fence
        elif opening:
            fence = opening[1]
        elif _LIST_ITEM.match(line) and out and out[-1].strip() and not _LIST_ITEM.match(out[-1]):
            if not out[-1].startswith((" ", "\t")):  # an indented line continues a list item
                out.append("")
        out.append(line)
    return "\n".join(out)
