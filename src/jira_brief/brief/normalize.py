"""A brief as the template promised it: the template's headings as real Markdown headings, whatever the model wrote.

Models write `CONTEXTE:`, `**Contexte**`, `## 2. Contexte` or `Contexte : texte`; on GitHub those are plain
lines that merge with the paragraph under them. The template's heading list is the contract: a line that names
one of them (any case, accents, numbering or emphasis) becomes `#### Heading`, other headings are demoted so
they cannot pose as sections (italic lines), and the TICKET section goes (the summary line already shows key and title).
Line by line, so the first ticket can be normalized while it streams. Pure: no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

LEVEL = "####"
DROPPED = frozenset({"ticket"})  # the key/title line the summary already shows
# Every pattern here sees the model's text: each is anchored and never backtracks over a run twice
# (a line of 32,000 spaces must not cost seconds).
_ATX = re.compile(r" {0,3}#{1,6}(?:[ \t]++(.*+))?")
_NUMBER = re.compile(r"(?:\d{1,2}|[IVX]{1,4}|[A-Ga-g])[.)][ \t]++")
_BULLET = re.compile(r"( *+)[•◦▪‣●][ \t]++")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_BOLD_LINE = re.compile(r"(?:\*\*|__)([^*_]+?)(?:\*\*|__)[ \t]*")


def atx_title(line: str) -> str | None:
    """The text of an ATX heading (`## Title ##`), without its closing hashes; None for another line."""
    found = _ATX.fullmatch(line)
    if found is None:
        return None
    title = (found[1] or "").rstrip(" \t")
    bare = title.rstrip("#")
    if bare != title and (not bare or bare[-1] in " \t"):  # a closing sequence is set off by a blank
        title = bare.rstrip(" \t")
    return title


def fold(text: str) -> str:
    """The comparable form of a heading: no accents, case, punctuation or emphasis."""
    bare = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return re.sub(r"[\W_]+", " ", bare.casefold()).strip()


def display(heading: str) -> str:
    """How a template heading is published: `CRITÈRES D’ACCEPTATION` reads as `Critères d’acceptation`."""
    return heading.capitalize() if heading.isupper() else heading


class Normalizer:
    """Turns a brief into published Markdown, fed line by line (or chunk by chunk while it streams)."""

    def __init__(self, headings: Sequence[str]) -> None:
        self.headings = {fold(heading): heading for heading in headings}
        self.used: set[str] = set()
        self.skipping = False
        self.fence: str | None = None
        self.pending = ""
        self.blank = False
        self.started = False

    def feed(self, chunk: str) -> str:
        """The normalized text of every line `chunk` completes; the rest waits for its end of line."""
        self.pending += chunk
        *lines, self.pending = self.pending.split("\n")
        return "".join(self._emit(out) for line in lines for out in self._line(line.rstrip("\r")))

    def close(self) -> str:
        """The normalized text of the last, unfinished line."""
        rest, self.pending = self.pending, ""
        return "".join(self._emit(out) for out in self._line(rest)) if rest else ""

    def _emit(self, line: str) -> str:
        """One output line; runs of blank lines become one, and none leads."""
        if not line.strip():
            self.blank = self.started
            return ""
        text = ("\n" if self.blank else "") + line + "\n"
        self.blank, self.started = False, True
        return text

    def _line(self, line: str) -> list[str]:
        if self.fence is not None:
            if re.fullmatch(rf" {{0,3}}{re.escape(self.fence[0])}{{{len(self.fence)},}}[ \t]*", line):
                self.fence = None
            return [] if self.skipping else [line]
        opening = _FENCE.match(line)
        if opening:
            self.fence = opening[1]
            return [] if self.skipping else [line]
        found = self._heading(line)
        if found is not None:
            name, rest = found
            self.used.add(fold(name))
            self.skipping = fold(name) in DROPPED
            return [] if self.skipping else ["", f"{LEVEL} {display(name)}", "", rest]
        if self.skipping:
            return []
        # Other headings, and bold lines standing for them, become italic: a sub-heading that reads as one
        # but cannot be mistaken for a section of the template (GitHub shows bold and h4 alike).
        bold = _BOLD_LINE.fullmatch(line.strip())
        title = atx_title(line) if bold is None else bold[1]
        if title is not None:
            return ["", f"*{title.strip()}*" if title.strip() else "", ""]
        bullet = _BULLET.match(line)
        return [f"{bullet[1]}- {line[bullet.end() :]}" if bullet else line]

    def _heading(self, line: str) -> tuple[str, str] | None:
        """(template heading, text after it on the same line) when `line` names a heading not yet seen."""
        text = line.strip()
        atx = atx_title(line)
        if atx is not None:
            text = atx
        elif text.startswith(("- ", "+ ", "* ", ">", "|")):
            return None
        number = _NUMBER.match(text)  # only a heading's own number, at its start: never a figure of the text
        text = text[number.end() :] if number else text
        head, colon, rest = text.partition(":")
        if not colon:
            head, colon, rest = text.partition("：")
        if head.count("**") % 2 and rest.lstrip().startswith("**"):
            rest = rest.lstrip()[2:]
        name = self.headings.get(fold(head.strip(" *_")))
        if name is None or fold(name) in self.used:
            return None
        return name, rest.strip()


def normalize_brief(text: str, headings: Sequence[str]) -> str:
    """`text` with the template's headings as `####` Markdown headings, one blank line between blocks."""
    normalizer = Normalizer(headings)
    return (normalizer.feed(text) + normalizer.close()).rstrip("\n")
