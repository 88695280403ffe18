"""The texts that may name Jira keys, as (source, text) pairs: arguments, the branch, a commit message
file, `git log`, and whatever a forge's event adds (PR title, body, inputs)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from jira_brief.errors import UsageError
from jira_brief.git import SCISSORS, comment_char, commit_messages

# Keys live in a message's first lines: past this many bytes a message file is not read (a huge
# `git commit -v` diff or a pasted log must not cost the hook its time budget or the machine its memory).
MESSAGE_CAP = 1 << 20
ALL_SOURCES = ("arg", "branch", "message", "commits", "pr-title", "pr-body", "input")
DEFAULT_SOURCES = ("arg", "branch", "message", "commits", "pr-title", "input")


def message_text(raw: str, comment_char: str = "#") -> str:
    """A commit message as git will store it: no comment lines, nothing below the scissors line."""
    kept = []
    for line in raw.splitlines():
        if line.startswith(comment_char) and SCISSORS in line:
            break
        if not line.startswith(comment_char):
            kept.append(line)
    return "\n".join(kept)


def read_message_file(path: Path, cwd: Path | None = None) -> str:
    """The message of a git commit message file (COMMIT_EDITMSG), comments removed, read up to
    MESSAGE_CAP bytes; a cut above git's scissors line is said on stderr, since keys may be lost."""
    try:
        with path.open("rb") as file:
            data = file.read(MESSAGE_CAP + 1)
    except OSError as error:
        raise UsageError(f"cannot read the message file {path}: {error.strerror}") from None
    raw = data[:MESSAGE_CAP].decode("utf-8", errors="replace")
    if len(data) > MESSAGE_CAP and SCISSORS not in raw:
        print(
            f"jira-brief: the message file {path} is over {MESSAGE_CAP >> 20} MiB; only its start is read for keys",
            file=sys.stderr,
        )
    return message_text(raw, comment_char(raw, cwd))


def gather_texts(
    *,
    args: Sequence[str] = (),
    branch: str | None = None,
    message_file: Path | None = None,
    commits: str | None = None,
    event: Sequence[tuple[str, str]] = (),
    sources: Sequence[str] = ALL_SOURCES,
    cwd: Path | None = None,
) -> list[tuple[str, str]]:
    """(source, text) pairs from every place asked for, in listing order, keeping only `sources`.

    `branch` is the branch's name as the caller found it (git's, or a CI's variable); `event` are the
    texts a forge's event payload gives, already as (source, text) pairs."""
    texts: list[tuple[str, str]] = [("arg", text) for text in args]
    if branch is not None:
        texts.append(("branch", branch))
    if message_file is not None:
        texts.append(("message", read_message_file(message_file, cwd)))
    if commits:
        texts.extend((f"commit {sha}", message) for sha, message in commit_messages(commits, cwd))
    texts.extend(event)
    return [(source, text) for source, text in texts if text and source_kind(source) in sources]


def source_kind(source: str) -> str:
    """The --sources name of a source: "commit 1a2b3c4" is one of the "commits"."""
    return "commits" if source.startswith("commit ") else source
