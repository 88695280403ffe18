"""A change as files and hunks (from `git diff`, or a forge's own listing), reduced to a character budget.

The reduction keeps what can prove the ticket's criteria: generated, lock, vendored and binary files go
first, then files are read in order of relevance to the criteria (path and identifier words they share),
long hunks are trimmed, and whatever did not fit is named. Pure: no I/O, no heavy imports.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from jira_brief.git import DiffText

DEFAULT_BUDGET = 24_000
HUNK_LINES = 80  # a hunk longer than this keeps its head and tail
HUNK_HEAD, HUNK_TAIL = 50, 15
NAMED_LEFT_OUT = 40  # the prompt names this many left-out files, then counts the rest
RELEVANCE_SAMPLE = 4_000  # characters of a file's changed lines read to rank it (ranking 3,000 files stays fast)

LOCK_FILES = frozenset(
    {
        "package-lock.json",
        "npm-shrinkwrap.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "bun.lockb",
        "poetry.lock",
        "pipfile.lock",
        "uv.lock",
        "pdm.lock",
        "cargo.lock",
        "gemfile.lock",
        "composer.lock",
        "go.sum",
        "packages.lock.json",
        "podfile.lock",
        "mix.lock",
        "pubspec.lock",
        "flake.lock",
    }
)
GENERATED = re.compile(
    r"(\.min\.(js|css)|\.map|_pb2(_grpc)?\.pyi?|\.pb\.go|\.g\.dart|\.designer\.cs|\.snap|\.lock)$"
    r"|(^|/)(__snapshots__|__generated__|generated|dist|build|\.next|coverage)/"
    r"|\.generated\.|(^|/)[^/]*\.gen\.",
    re.I,
)
VENDORED = re.compile(r"(^|/)(vendor|vendors|node_modules|third[_-]party|bower_components|\.yarn)/", re.I)
BINARY = re.compile(
    r"\.(png|jpe?g|gif|webp|ico|bmp|tiff?|pdf|zip|gz|tgz|bz2|xz|7z|jar|war|exe|dll|so|dylib|a|o|class|pyc|"
    r"woff2?|ttf|otf|eot|mp[34]|mov|avi|wav|ogg|sqlite|db|bin)$",
    re.I,
)
_GIT_FILE = re.compile(r"^diff --git ", re.M)
_HUNK_HEADER = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")
_WORD = re.compile(r"[A-Za-z][a-z]+|[A-Z]+(?![a-z])|[0-9]+")
STOP_WORDS = frozenset(
    "the and for with that this when then from into are was were has have not but all any can its one two "
    "given should must will shall les des une pour avec dans sur par est pas que qui son ses aux été être "
    "quand alors".split()
)


@dataclass(frozen=True)
class Hunk:
    """One `@@` block: its header and its lines (each starting with " ", "+", "-" or "\\")."""

    header: str
    lines: tuple[str, ...]

    @property
    def new_lines(self) -> tuple[int, int]:
        """First and last line of the hunk in the new file (as the Files tab numbers them)."""
        match = _HUNK_HEADER.match(self.header)
        start = int(match[1]) if match else 0
        count = int(match[2]) if match and match[2] is not None else 1
        return start, start + max(count, 1) - 1


@dataclass(frozen=True)
class FileDiff:
    """One changed file; `binary` when the change has no text patch (binary, or too large for GitHub)."""

    path: str
    status: str = "modified"
    hunks: tuple[Hunk, ...] = ()
    binary: bool = False
    old_path: str | None = None

    @property
    def changed_lines(self) -> int:
        return sum(1 for hunk in self.hunks for line in hunk.lines if line[:1] in ("+", "-"))


@dataclass(frozen=True)
class Diff:
    """The files of a change, in the order git or GitHub listed them; `cut` is the size (bytes) past which
    git's output was not read, when it was cut (the files after it are not known)."""

    files: tuple[FileDiff, ...]
    cut: int | None = None

    @property
    def paths(self) -> frozenset[str]:
        return frozenset(item.path for item in self.files)


@dataclass(frozen=True)
class Excerpt:
    """The part of a diff a model reads: its text, the files it shows, and what was left out and why."""

    text: str
    shown: tuple[str, ...]
    total: int
    left_out: tuple[tuple[str, str], ...]  # (path, why)
    trimmed: tuple[str, ...] = ()
    spans: Mapping[str, tuple[tuple[int, int], ...]] = field(default_factory=dict)  # new-file lines shown
    cut: int | None = None  # the change was cut at this many bytes (Diff.cut)

    def shows(self, path: str, lines: str) -> bool:
        """Whether the model was shown `path` and lines ("12" or "12-30") of its new version."""
        start, _, end = lines.partition("-")
        first, last = int(start), int(end or start)
        return any(low <= last and first <= high for low, high in self.spans.get(path, ()))

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()[:16]

    def left_out_note(self) -> str:
        """One paragraph for the prompt naming what the model does not see; empty when it sees it all."""
        if not self.left_out and not self.trimmed and self.cut is None:
            return ""
        named = [f"{path} ({why})" for path, why in self.left_out[:NAMED_LEFT_OUT]]
        more = len(self.left_out) - len(named)
        parts = [f"Judged on {len(self.shown)} of {self.total} files."]
        if self.cut is not None:
            cut = max(1, self.cut >> 20)
            parts.append(f"The change was cut after {cut} MiB: the files past it are not shown or counted.")
        if named:
            parts.append("Not shown: " + ", ".join(named) + (f", and {more} more." if more else "."))
        if self.trimmed:
            parts.append("Long hunks trimmed in: " + ", ".join(self.trimmed[:NAMED_LEFT_OUT]) + ".")
        return " ".join(parts)


def _unquote(path: str) -> str:
    """A path as git prints it: C-quoted ("a/t\\303\\251st") when it holds unusual characters."""
    if not (path.startswith('"') and path.endswith('"')):
        return path
    raw = path[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape")
    return raw.encode("latin-1").decode("utf-8", "replace")


def _strip_prefix(path: str) -> str | None:
    path = _unquote(path.rstrip("\t"))
    if path == "/dev/null":
        return None
    return path[2:] if path[:2] in ("a/", "b/") else path


def parse_hunks(patch: str) -> tuple[Hunk, ...]:
    """The hunks of a patch: GitHub's `patch` field, or the body of one file of `git diff`."""
    hunks: list[Hunk] = []
    header, lines = "", list[str]()
    for line in patch.splitlines():
        if line.startswith("@@"):
            if header:
                hunks.append(Hunk(header, tuple(lines)))
            header, lines = line, []
        elif header and line[:1] in (" ", "+", "-", "\\", ""):
            lines.append(line or " ")
    if header:
        hunks.append(Hunk(header, tuple(lines)))
    return tuple(hunks)


def _file_of_git(block: str) -> FileDiff | None:
    """One `diff --git` block as a FileDiff (header lines name the paths and the status)."""
    head, _, body = block.partition("\n@@")
    old = new = None
    status, binary = "modified", False
    for line in head.splitlines():
        if line.startswith("--- "):
            old = _strip_prefix(line[4:])
        elif line.startswith("+++ "):
            new = _strip_prefix(line[4:])
        elif line.startswith("rename from "):
            old, status = _unquote(line[12:]), "renamed"
        elif line.startswith("rename to "):
            new = _unquote(line[10:])
        elif line.startswith("new file mode"):
            status = "added"
        elif line.startswith("deleted file mode"):
            status = "removed"
        elif line.startswith("Binary files ") or line == "GIT binary patch":
            binary = True
    if old is None and new is None:
        match = re.match(r'diff --git ("?a/.*?"?) ("?b/.*"?)$', head.splitlines()[0])
        old, new = (_strip_prefix(match[1]), _strip_prefix(match[2])) if match else (None, None)
    path = new or old
    if path is None:
        return None
    hunks = parse_hunks("@@" + body) if body else ()
    return FileDiff(path, status, hunks, binary, old if old != path else None)


def parse_git_diff(output: str | DiffText) -> Diff:
    """The files of `git diff` output (no colour, no external diff driver); of output cut at a size, the
    files as far as they were read (the last one may stop short: its hunks say which lines it shows)."""
    text, cut = (output.text, output.cut) if isinstance(output, DiffText) else (output, None)
    starts = [match.start() for match in _GIT_FILE.finditer(text)]
    blocks = [text[start:end] for start, end in zip(starts, [*starts[1:], len(text)], strict=False)]
    return Diff(tuple(item for item in map(_file_of_git, blocks) if item is not None), cut)


def skip_reason(item: FileDiff) -> str | None:
    """Why a file is left out before any ranking: lock, generated, vendored or binary; None to keep it."""
    name = item.path.rsplit("/", 1)[-1].lower()
    if name in LOCK_FILES:
        return "lock file"
    if VENDORED.search(item.path):
        return "vendored"
    if GENERATED.search(item.path):
        return "generated"
    if item.binary or BINARY.search(item.path):
        return "binary"
    return None


def words(text: str) -> set[str]:
    """Lower-case words of prose or identifiers (camelCase and snake_case split), without short and stop words."""
    found = {word.lower() for word in _WORD.findall(text)}
    return {word for word in found if len(word) >= 3 and word not in STOP_WORDS}


def _stem(word: str) -> str:
    """A crude shared root, so "refunds" meets "refund" and "authorisation" meets "authorise"."""
    return word[:6]


def relevance(item: FileDiff, criteria_words: set[str]) -> int:
    """How much a file speaks of the criteria: path words count three times, changed identifiers once
    (a substring test on the changed lines: identifiers such as refundEachCard contain the word)."""
    stems = {_stem(word) for word in criteria_words}
    path_hits = {_stem(word) for word in words(item.path)} & stems
    changed = " ".join(line[1:] for hunk in item.hunks for line in hunk.lines if line[:1] in ("+", "-"))
    sample = changed[:RELEVANCE_SAMPLE].lower()
    return 3 * len(path_hits) + sum(1 for stem in stems if stem in sample)


def _trim(hunk: Hunk) -> tuple[Hunk, bool]:
    if len(hunk.lines) <= HUNK_LINES:
        return hunk, False
    cut = len(hunk.lines) - HUNK_HEAD - HUNK_TAIL
    lines = (*hunk.lines[:HUNK_HEAD], f" … {cut} lines trimmed …", *hunk.lines[-HUNK_TAIL:])
    return Hunk(hunk.header, lines), True


def _heading(item: FileDiff) -> str:
    """A file's line in the excerpt: path, status, and where it was renamed from (a rename alone says so)."""
    unchanged = ", content unchanged" if item.status == "renamed" and not item.hunks and not item.binary else ""
    moved = f" (renamed from {item.old_path}{unchanged})" if item.old_path else ""
    return f"### {item.path} [{item.status}]{moved}"


def render_file(item: FileDiff, hunks: Sequence[Hunk]) -> str:
    """A file as the model reads it: its path and status, then its hunks."""
    body = "\n".join(_rendered(hunk) for hunk in hunks)
    return f"{_heading(item)}\n{body}".rstrip() + "\n"


def _rendered(hunk: Hunk) -> str:
    return f"{hunk.header}\n" + "\n".join(hunk.lines)


def _spans(hunk: Hunk, trimmed: bool) -> list[tuple[int, int]]:
    """The new-file lines a hunk shows: all of them, or its head and its tail when it was trimmed."""
    number, numbers = hunk.new_lines[0], list[int | None]()
    for line in hunk.lines:
        numbers.append(number if line[:1] in (" ", "+") else None)
        number += 1 if line[:1] in (" ", "+") else 0
    parts = [numbers[:HUNK_HEAD], numbers[-HUNK_TAIL:]] if trimmed else [numbers]
    kept = [[n for n in part if n is not None] for part in parts]
    return [(min(part), max(part)) for part in kept if part]


def _fit(item: FileDiff, room: int) -> tuple[str, bool, tuple[tuple[int, int], ...]] | None:
    """The file rendered with long hunks trimmed, then as many hunks as fit `room` (each hunk rendered
    once: linear in the file's size), and the new-file lines it shows; None if not even one hunk fits."""
    trimmed = [_trim(hunk) for hunk in item.hunks]
    texts = [_rendered(hunk) for hunk, _ in trimmed]
    size, count = len(_heading(item)) + 2, 0  # the heading, its newline and the final one
    while count < len(texts) and size + len(texts[count]) + (count > 0) <= room:
        size += len(texts[count]) + (count > 0)
        count += 1
    count = max(count, min(1, len(texts)))  # a file shows at least its first hunk, or nothing
    kept = trimmed[:count]
    text = render_file(item, [hunk for hunk, _ in kept])
    if len(text) > room:
        return None
    spans = tuple(span for (_, flag), hunk in zip(kept, item.hunks, strict=False) for span in _spans(hunk, flag))
    return text, count < len(texts) or any(flag for _, flag in kept), spans


def reduce_diff(diff: Diff, criteria: Iterable[str], budget: int = DEFAULT_BUDGET) -> Excerpt:
    """The diff under `budget` characters: skipped kinds first, then files by relevance to the criteria."""
    left_out: list[tuple[str, str]] = []
    candidates: list[FileDiff] = []
    for item in diff.files:
        reason = skip_reason(item)
        if reason:
            left_out.append((item.path, reason))
        else:
            candidates.append(item)
    criteria_words = words(" ".join(criteria))
    ranked = sorted(candidates, key=lambda item: -relevance(item, criteria_words))
    parts: list[str] = []
    shown: list[str] = []
    trimmed: list[str] = []
    spans: dict[str, tuple[tuple[int, int], ...]] = {}
    used = 0
    for item in ranked:
        fitted = _fit(item, budget - used)
        if fitted is None:
            left_out.append((item.path, "over the size budget"))
            continue
        text, was_trimmed, spans[item.path] = fitted
        parts.append(text)
        shown.append(item.path)
        used += len(text)
        if was_trimmed:
            trimmed.append(item.path)
    shown_text = "\n".join(parts)
    return Excerpt(shown_text, tuple(shown), len(diff.files), tuple(left_out), tuple(trimmed), spans, diff.cut)
