"""Everything that comes from Jira or the model is data. Before it is published it is neutralized so it
cannot ping people (@user, @org/team), cross-reference issues (#12, GH-12), inject HTML or images, link
anywhere but the Jira host, or forge our own hidden markers; a forge adds its own references to this
(`extra`). The neutralizing inserts a zero-width joiner (ZWJ) where a character would start syntax:
invisible when read, and it works the same in prose and in code, so no Markdown parsing has to be exactly
right. Pure: no I/O.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Sequence
from urllib.parse import urlsplit

from jira_brief.brief.result import BriefResult

ZWJ = "\u200d"
# Bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069): they make a file name
# or a title read as something else ("gpj.exe" shown as "exe.jpg"); nothing published keeps them.
BIDI_CONTROLS = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])

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
URL_SAFE = ":/?#=&%~+,;@!$'*.-_"


def neutralize(text: str, extra: re.Pattern[str] | None = None) -> str:
    """`text` with a ZWJ wherever a character would start a mention, reference, link or HTML (and, with
    `extra`, wherever that pattern matches: a forge's own references); bidirectional controls removed."""
    text = _NEUTRALIZE.sub(ZWJ, text.translate(BIDI_CONTROLS))
    return extra.sub(ZWJ, text) if extra is not None else text


def _allowed(url: str, hosts: Collection[str]) -> bool:
    """Whether `url` is an https link to one of the Jira `hosts`, in a shape every parser reads alike."""
    safe = _SAFE_URL.fullmatch(url)
    return safe is not None and safe["host"].lower() in hosts


def _kept(match: re.Match[str], hosts: Collection[str]) -> bool:
    """Whether a link or URL stays live: it points at the Jira host and is not an image (images load anything)."""
    if match["url"]:
        return _allowed(match["url"], hosts)
    return not match["image"] and _allowed(match["target"], hosts)


def _prose_line(line: str, hosts: Collection[str], extra: re.Pattern[str] | None) -> str:
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
    return _spots(extra).sub(lambda spot: "" if any(a < spot.start() < b for a, b in kept) else ZWJ, text)


@functools.cache
def _spots(extra: re.Pattern[str] | None) -> re.Pattern[str]:
    """The shared rules and a forge's own in one pattern, so a kept link is spared by both (a Jira URL's
    "%20" is no GitLab milestone)."""
    if extra is None:
        return _NEUTRALIZE
    return re.compile(f"{_NEUTRALIZE.pattern}|{extra.pattern}", _NEUTRALIZE.flags | extra.flags)


def _closes(line: str, fence: str) -> bool:
    """Whether `line` closes a code block opened by `fence` (CommonMark: same character, as long, ≤3 spaces)."""
    return re.fullmatch(rf" {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*", line) is not None


def sanitize(text: str, hosts: Collection[str] = (), extra: re.Pattern[str] | None = None) -> str:
    """Untrusted Markdown made safe to publish; `hosts` are the Jira hosts whose links stay clickable.

    Code blocks opened at the start of a line are kept as code (neutralized the same way, which is
    invisible there) and closed if the text leaves one open, so it cannot swallow what follows."""
    lines = text.translate(BIDI_CONTROLS).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out: list[str] = []
    fence: str | None = None
    for line in lines:
        if fence is not None:
            fence = None if _closes(line, fence) else fence
            out.append(neutralize(line, extra))
            continue
        opening = _FENCE_OPEN.fullmatch(line)
        fence = (opening[1] or opening[2]) if opening else None
        out.append(neutralize(line, extra) if fence else _prose_line(line, hosts, extra))
    if fence is not None:
        out.append(fence)
    return "\n".join(out)


def inline_text(text: str, extra: re.Pattern[str] | None = None) -> str:
    """A short untrusted value (title, status, name, error) as one neutralized line of plain text."""
    flat = " ".join(text.split())
    return neutralize(re.sub(r"([\\`*_~|])", r"\\\1", flat), extra)


def jira_hosts(results: Sequence[BriefResult]) -> frozenset[str]:
    """The hosts of the tickets' own URLs: the only places links in a brief may point to."""
    urls = (result.ticket.url for result in results if result.ticket and result.ticket.url)
    return frozenset(host.lower() for host in (urlsplit(url).hostname for url in urls) if host)
