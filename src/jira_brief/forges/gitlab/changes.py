"""A merge request's changed files as GitLab lists them (`GET .../merge_requests/:iid/diffs`), and links into
its Changes tab at a file and a line.

GitLab's facts (lib/api/entities/diff.rb, lib/gitlab/git/diff.rb, lib/gitlab/diff/parser.rb, file.rb):
- an item has `diff` (hunks without the ---/+++ header), `new_path`, `old_path`, `new_file`,
  `renamed_file`, `deleted_file`, `too_large`, `collapsed`; a binary file's diff is git's notice
  "Binary files a/x and b/x differ"; a pure rename, a too large or collapsed file has an empty diff;
- the Changes tab anchors a file by the SHA-1 of its path, and a line by `SHA1(path)_OLD_NEW`, where an
  added line's OLD is the old side's counter at that point (the number the next unchanged line has).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

from jira_brief.brief.diff import FileDiff, Hunk, parse_hunks

_HUNK_START = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")
_FIRST_LINE = re.compile(r"([1-9][0-9]{0,8})(?:-[0-9]+)?")


def _binary_notice(patch: str) -> bool:
    """Whether a patch is git's one line "Binary files a/x and b/x differ" (read with str methods: a
    regex with two `.+` around " and " scans the line once per " and " in it)."""
    line = patch.removesuffix("\n")
    return line.startswith("Binary files ") and line.endswith(" differ") and " and " in line and "\n" not in line


def _status(item: Mapping[str, Any]) -> str:
    if item.get("new_file"):
        return "added"
    if item.get("deleted_file"):
        return "removed"
    return "renamed" if item.get("renamed_file") else "modified"


def file_of_gitlab(item: Mapping[str, Any]) -> FileDiff | None:
    """One item of the diffs list; a file with no text patch (binary, too large, collapsed) is `binary`,
    a pure rename has no hunks. None for an item without a path (not GitLab's shape)."""
    path = str(item.get("new_path") or item.get("old_path") or "")
    if not path:
        return None
    patch = item.get("diff") if isinstance(item.get("diff"), str) else ""
    status = _status(item)
    unreadable = bool(item.get("too_large") or item.get("collapsed")) and not patch
    binary = unreadable or _binary_notice(patch or "")
    old = str(item.get("old_path") or "")
    return FileDiff(
        path,
        status,
        () if binary else parse_hunks(patch or ""),
        binary=binary,
        old_path=old if status == "renamed" and old and old != path else None,
    )


def old_line(hunks: Sequence[Hunk], new_line: int) -> int | None:
    """The old side's line number GitLab pairs with `new_line` in the hunks shown; None when the hunks do
    not show that line (the Changes tab would not scroll to it)."""
    for hunk in hunks:
        start = _HUNK_START.match(hunk.header)
        if start is None:
            continue
        old, new = int(start[1]), int(start[2])
        for line in hunk.lines:
            kind = line[:1]
            if kind == "-":
                old += 1
            elif kind in (" ", "+"):
                if new == new_line:
                    return old
                new += 1
                if kind == " ":
                    old += 1
    return None


def file_anchor(path: str) -> str:
    """Gitlab::Diff::File#file_hash: the SHA-1 of the path."""
    return hashlib.sha1(path.encode(), usedforsecurity=False).hexdigest()


def changes_link(mr_url: str, item: FileDiff | None, path: str, lines: str | None) -> str:
    """The merge request's Changes tab at `path`, at the first line of `lines` ("12-30") when the hunks
    show it; at the file otherwise."""
    anchor = file_anchor(path)
    first = _FIRST_LINE.fullmatch(lines or "")
    if item is not None and first is not None and item.status != "removed":
        old = old_line(item.hunks, int(first[1]))
        if old is not None:
            anchor += f"_{old}_{first[1]}"
    return f"{mr_url}/diffs#{anchor}"
