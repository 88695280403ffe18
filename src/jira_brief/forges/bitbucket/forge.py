"""A Bitbucket Cloud pull request as a `Forge`: its texts, its changed files (the diff and the diffstat),
links into its diff, its limits, references and Markdown, and its comment thread."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from jira_brief.brief.diff import Diff, FileDiff, parse_git_diff
from jira_brief.forges.base import Review
from jira_brief.forges.bitbucket.api import Api, Json
from jira_brief.forges.bitbucket.thread import BitbucketThread, seal_key

# No comment limit is documented for Bitbucket Cloud (32,768 characters is Server/Data Center's; a
# comment of about 2.5 MB gets Django's 400 page): stay well under both.
COMMENT_LIMIT = 32_000
MAX_FILES = 3_000  # files of a pull request's diffstat read, as on GitHub
MAX_COMMITS = 1_000
DIFF_CAP = 8 << 20  # bytes of the diff read; files past it count by name only
# Bitbucket's own mentions: `@{account-id}`, and `@"Display Name"` where its editor writes one. A plain
# `@name` is caught for every forge.
REFERENCES = re.compile(r"(?<=@)(?=[{\"])")
# Diffstat's statuses beyond git's: a conflict's ("merge conflict", "remote deleted"…) reads as modified.
STATUSES = frozenset({"added", "removed", "modified", "renamed"})
REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")


def field(data: Any, *path: str) -> str:
    """A text nested in an API answer, or "" when a step of the path is missing or not of that shape."""
    for name in path:
        data = data.get(name) if isinstance(data, dict) else None
    return data if isinstance(data, str) else ""


def pull_path(repository: str, number: int) -> str:
    workspace, _, slug = repository.partition("/")
    return f"/repositories/{quote(workspace, safe='')}/{quote(slug, safe='')}/pullrequests/{number}"


def file_of_stat(entry: Json, patches: dict[str, FileDiff]) -> FileDiff | None:
    """One diffstat entry with its hunks from the diff; a file the (capped) diff does not show has no
    text patch, like a binary one."""
    status = entry.get("status") if entry.get("status") in STATUSES else "modified"
    new, old = field(entry, "new", "path"), field(entry, "old", "path")
    path = new or old
    if not path:
        return None
    parsed = patches.pop(path, None)
    binary = parsed.binary if parsed else status != "removed"
    return FileDiff(path, str(status), parsed.hunks if parsed else (), binary, old if old and old != path else None)


@dataclass
class BitbucketPull:
    """One pull request, as the REST API answered it."""

    api: Api
    repository: str  # workspace/slug
    number: int
    data: Json
    name: str = "Bitbucket"
    review_noun: str = "pull request"
    comment_limit: int = COMMENT_LIMIT
    references: re.Pattern[str] | None = REFERENCES
    diff_cap: int = DIFF_CAP

    @classmethod
    def read(cls, api: Api, repository: str, number: int) -> BitbucketPull:
        data = api.get(pull_path(repository, number), "reading the pull request", cls._what(repository, number))
        return cls(api, repository, number, data)

    @staticmethod
    def _what(repository: str, number: int) -> str:
        return f"pull request #{number} in {repository}"

    @property
    def path(self) -> str:
        return pull_path(self.repository, self.number)

    def size(self, text: str) -> int:
        return len(text)

    def review(self) -> Review:
        data = self.data
        source = field(data, "source", "repository", "full_name")
        fork = not source or source.lower() != field(data, "destination", "repository", "full_name").lower()
        return Review(
            self.number,
            field(data, "title"),
            field(data, "source", "branch", "name"),
            field(data, "description"),
            field(data, "links", "html", "href"),
            fork,
        )

    def commits(self) -> Sequence[tuple[str, str]]:
        """(short sha, message), oldest first (Bitbucket lists the newest first; past 1,000, the newest)."""
        what = self._what(self.repository, self.number)
        pages = self.api.pages(f"{self.path}/commits", "reading the pull request's commits", what, MAX_COMMITS)
        return [(field(commit, "hash")[:7], field(commit, "message")) for commit in pages][::-1]

    def change(self) -> Diff:
        """The changed files, as the diffstat lists them (every page, up to 3,000), with the hunks of the
        pull request's diff (its first 8 MB)."""
        what = self._what(self.repository, self.number)
        text, cut = self.api.text(f"{self.path}/diff", "reading the pull request's diff", what, self.diff_cap)
        files = list(parse_git_diff(text).files)
        if cut and files:
            files.pop()  # the last file's hunks stop where the reading did
        patches = {item.path: item for item in files}
        stats = self.api.pages(f"{self.path}/diffstat", "reading the pull request's files", what, MAX_FILES)
        listed = [item for entry in stats if (item := file_of_stat(entry, patches)) is not None]
        return Diff(tuple(listed + list(patches.values())))

    def file_link(self, path: str, lines: str | None) -> str | None:
        """The pull request's diff at a file (`#chg-PATH`), or at the first new line cited
        (`#LPATHT12`), the anchors Bitbucket's own links use."""
        page = field(self.data, "links", "html", "href")
        if not page.startswith(("https://", "http://")):
            return None
        start = (lines or "").partition("-")[0]
        anchor = f"L{quote(path)}T{start}" if start.isdigit() else f"chg-{quote(path)}"
        return f"{page}/diff#{anchor}"

    def thread(self) -> BitbucketThread:
        assert self.api.credential is not None, "a thread is written with credentials"
        return BitbucketThread(self.api, self.path, self.number, seal_key(self.api.credential))
