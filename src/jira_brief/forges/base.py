"""The seam every forge implements: what it says about the change under review (`Forge`) and the
thread of comments in which ours is kept (`CommentThread`). The sticky-comment logic (sticky.py) and
everything below it know forges only through these protocols; a forge brings its own rules: its
comment limit, the references it links, how it shows a file of the change, how it knows its own user.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from jira_brief.brief.diff import Diff
from jira_brief.errors import JiraBriefError


class ForgeError(JiraBriefError):
    """The forge's API refused or failed; the message says what to change."""


@dataclass(frozen=True)
class Review:
    """A pull or merge request as its forge describes it."""

    number: int
    title: str
    branch: str
    body: str
    web_url: str
    is_fork: bool


@dataclass(frozen=True)
class Posted:
    """A comment (or note) on a review: who wrote it, and where it is shown."""

    id: int
    body: str
    author: str
    url: str


class CommentThread(Protocol):
    """A review's comments, as far as keeping ours goes. Failures raise ForgeError."""

    def listing(self) -> Iterable[Posted]:
        """Every comment, oldest first."""
        ...

    def identity(self) -> str | None:
        """Who our comments are by (the token's own user); None while it cannot be known."""
        ...

    def create(self, body: str) -> Posted | None:
        """Post a comment; None when the forge failed in a way that may have stored it (list again)."""
        ...

    def edit(self, posted: Posted, body: str) -> bool:
        """Replace a comment's text; False when the comment no longer exists."""
        ...

    def delete(self, posted: Posted) -> None:
        """Delete a comment; one already gone is done."""
        ...


class Forge(Protocol):
    """One pull or merge request on one forge, and that forge's rules for publishing on it."""

    name: str  # "GitHub", said in notes and errors
    review_noun: str  # "pull request", "merge request"
    comment_limit: int  # how much one comment may hold, as `size` counts
    references: re.Pattern[str] | None  # the forge's own references, neutralized in untrusted text

    def size(self, text: str) -> int:
        """The length of a comment as the forge counts it against `comment_limit`."""
        ...

    def review(self) -> Review: ...

    def commits(self) -> Sequence[tuple[str, str]]:
        """(short sha, message) of the review's commits."""
        ...

    def change(self) -> Diff:
        """The review's changed files and hunks."""
        ...

    def file_link(self, path: str, lines: str | None) -> str | None:
        """Where the review shows `path` (at `lines`, "12-30"), or None."""
        ...

    def thread(self) -> CommentThread: ...
