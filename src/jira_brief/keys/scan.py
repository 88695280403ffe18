"""Find Jira issue keys in free text: Atlassian's key rules, an optional project allowlist, a cap."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# A project key starts with a letter, then letters, digits or "_" (2+ characters); the number has
# no leading zero; no letter or digit may touch the key on either side (XPAY-142 is not PAY-142).
KEY_TEXT = r"[A-Z][A-Z0-9_]+-[1-9][0-9]*"  # one key, as Jira writes it
_KEY = re.compile(r"(?<![A-Za-z0-9])([A-Z][A-Z0-9_]+)-([1-9][0-9]*)(?![A-Za-z0-9])")

# Technical identifiers that have the shape of a key (UTF-8, SHA-256, ISO-8601, X86-64...).
# They are keys only when the user names that project in the allowlist.
TECHNICAL_PREFIXES = frozenset(
    {
        "AES",
        "AGPL",
        "ANSI",
        "ARM",
        "CP",
        "CRC",
        "CVE",
        "CWE",
        "DES",
        "ECMA",
        "GPL",
        "HTTP",
        "IEC",
        "IEEE",
        "IPV",
        "ISO",
        "LATIN",
        "LGPL",
        "MD",
        "PEP",
        "RFC",
        "RSA",
        "SHA",
        "SSL",
        "TLS",
        "UCS",
        "UTF",
        "WIN",
        "WINDOWS",
        "X86",
        "X64",
    }
)


@dataclass(frozen=True)
class FoundKey:
    """One Jira key and where it was first seen (arg, branch, message, commit <sha>, pr-title...)."""

    key: str
    source: str


@dataclass(frozen=True)
class KeyScan:
    """The keys kept (first-seen order, deduplicated) and those past the cap."""

    keys: tuple[FoundKey, ...]
    dropped: tuple[FoundKey, ...] = ()

    @property
    def names(self) -> list[str]:
        return [found.key for found in self.keys]


def key_pattern(projects: Iterable[str] = ()) -> re.Pattern[str]:
    """The regular expression for keys; with an allowlist, only those projects, in any case."""
    allowed = sorted({project.upper() for project in projects})
    if not allowed:
        return _KEY
    names = "|".join(re.escape(project) for project in allowed)
    return re.compile(rf"(?<![A-Za-z0-9])({names})-([1-9][0-9]*)(?![A-Za-z0-9])", re.IGNORECASE)


def keys_in(text: str, projects: Iterable[str] = ()) -> list[str]:
    """Every key in `text`, upper-cased, in order of appearance, duplicates included."""
    allowlist = tuple(projects)
    found = []
    for match in key_pattern(allowlist).finditer(text):
        project = match.group(1).upper()
        if not allowlist and project in TECHNICAL_PREFIXES:
            continue
        found.append(f"{project}-{match.group(2)}")
    return found


def scan(texts: Iterable[tuple[str, str]], projects: Iterable[str] = (), limit: int = 10) -> KeyScan:
    """Keys of (source, text) pairs, first-seen order, deduplicated, at most `limit` kept."""
    allowlist = tuple(projects)
    seen: dict[str, FoundKey] = {}
    for source, text in texts:
        # An argument that is exactly one key is taken as asked, in any case and any project.
        explicit = source == "arg" and is_key(text)
        for key in [text.strip().upper()] if explicit else keys_in(text, allowlist):
            seen.setdefault(key, FoundKey(key, source))
    ordered = tuple(seen.values())
    return KeyScan(keys=ordered[:limit], dropped=ordered[limit:])


def is_key(text: str) -> bool:
    """Whether `text` is exactly one well-formed key (case-insensitive), for explicit arguments."""
    return re.fullmatch(KEY_TEXT, text.strip(), re.IGNORECASE) is not None
