"""A brief as plain text, for the commit hooks: what a terminal, an IDE's commit dialog (VS Code,
JetBrains) or a GUI capturing `git commit` shows as it is, with no Markdown left to read through.

Headings are lines of their own in capitals, bullets are `•` (nested ones `-`), emphasis and code marks
go, links read "text (url)", escaped characters lose their backslash, and prose is wrapped at 100
columns with hanging indents. Pure: no I/O."""

from __future__ import annotations

import re
import textwrap

WIDTH = 100
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_ATX = re.compile(r" {0,3}#{1,6}(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*")
_ITEM = re.compile(r"( *)([-*+•]|\d{1,3}[.)])[ \t]+(.*)")
_SUBHEADING = re.compile(r"(?:\*\*|__|\*|_)([^*_\n]+?)(?:\*\*|__|\*|_)[ \t]*:?")
_RULE = re.compile(r" {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*")
# A code span holds no backtick and starts where a run of them starts: each is read once.
_CODE = re.compile(r"(?<!`)(`+)(?!`)([^`]+)\1(?!`)")
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_LINK = re.compile(r"!?\[([^\[\]\n]*)\]\(\s*<?([^()\s<>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_AUTOLINK = re.compile(r"<((?:https?|mailto):[^<>\s]+)>")
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_EMPHASIS = re.compile(
    r"(?<![\w*])\*(?=[^\s*])([^*\n]+?)(?<=[^\s*])\*(?![\w*])"  # *word*, never 2 * 3 * 4
    r"|(?<![\w_])_(?=[^\s_])([^_\n]+?)(?<=[^\s_])_(?![\w_])"  # _word_, never snake_case_names
)
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_BREAK = re.compile(r"<br\s*/?>", re.I)


def _prose(text: str) -> str:
    """Inline Markdown as the words it stands for: escapes, emphasis, links and line breaks."""
    text = _ESCAPE.sub(r"\1", text)
    text = _AUTOLINK.sub(r"\1", text)
    text = _LINK.sub(lambda m: m[2] if m[1] in ("", m[2]) else f"{m[1]} ({m[2]})", text)
    text = _STRONG.sub(r"\2", text)
    text = _EMPHASIS.sub(lambda m: m[1] or m[2], text)
    text = _STRIKE.sub(r"\1", text)
    return _BREAK.sub("; ", text)


def plain_inline(text: str) -> str:
    """One line of Markdown as plain text; code spans keep their content as written."""
    parts, position = [], 0
    for match in _CODE.finditer(text):
        parts.append(_prose(text[position : match.start()]))
        parts.append(match[2].strip() if match[2].strip() else match[2])
        position = match.end()
    parts.append(_prose(text[position:]))
    return "".join(parts)


def _wrap(text: str, first: str, rest: str, width: int) -> list[str]:
    """`text` wrapped to `width`, URLs and long words kept whole rather than split."""
    return textwrap.wrap(
        text,
        width=width,
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [first.rstrip()]


class _Lines:
    """Collects output lines: one blank line at most between blocks, none at the start."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def blank(self) -> None:
        if self.lines and self.lines[-1]:
            self.lines.append("")

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)

    def text(self) -> str:
        return "\n".join(self.lines).strip("\n")


def _block(line: str, out: _Lines, width: int) -> None:
    """One line of Markdown outside code blocks, as plain lines."""
    heading = _ATX.fullmatch(line)
    if heading:
        out.blank()
        if heading[1]:
            out.add(plain_inline(heading[1]).upper())
        return
    if _RULE.fullmatch(line):
        out.blank()
        return
    item = _ITEM.fullmatch(line)
    if item:
        depth = len(item[1]) // 2
        bullet = item[2] if item[2][0].isdigit() else ("•" if depth == 0 else "-")
        indent = "  " * depth
        out.add(*_wrap(plain_inline(item[3]), f"{indent}{bullet} ", " " * (len(indent) + len(bullet) + 1), width))
        return
    subheading = _SUBHEADING.fullmatch(line.strip())
    if subheading:
        out.blank()
        out.add(plain_inline(subheading[1]).strip())
        return
    if line.lstrip().startswith("|"):  # a table: its columns only line up unwrapped
        out.add(plain_inline(line.strip()))
        return
    quoted = line.lstrip().startswith(">")
    text = line.lstrip().lstrip(">").strip() if quoted else line.strip()
    indent = "  " if quoted else " " * min(len(line) - len(line.lstrip()), 8)
    out.add(*_wrap(plain_inline(text), indent, indent, width))


def plain_brief(markdown: str, width: int = WIDTH) -> str:
    """A published brief (Markdown, as `normalize_brief` makes it) as plain text at most `width` columns
    wide, but for code lines, table rows and words longer than a line."""
    out = _Lines()
    fence: str | None = None
    for raw in markdown.replace("\r\n", "\n").split("\n"):
        line = raw.rstrip()
        opening = _FENCE.match(line)
        if fence is not None:
            if opening and opening[1][0] == fence[0] and len(opening[1]) >= len(fence) and not line.strip(fence + " "):
                fence = None
            else:
                out.add("    " + line)
            continue
        if opening:
            fence = opening[1]
            continue
        if not line.strip():
            out.blank()
            continue
        _block(line, out, width)
    return out.text()
