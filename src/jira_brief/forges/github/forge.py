"""A GitHub pull request as a `Forge`: its texts, its changed files, links into its Files tab, its limits
and references, and its comment thread."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from github import Github
from github.PullRequest import PullRequest

from jira_brief.brief.diff import Diff, FileDiff, parse_hunks
from jira_brief.forges.base import Review
from jira_brief.forges.github.api import GitHubThread, github_errors

# GitHub refuses comment bodies over 65,536 characters; keep a margin below it.
COMMENT_LIMIT = 65_000
# GitHub lists at most this many files of a pull request (`pulls/{n}/files`, all pages together).
MAX_PULL_FILES = 3000


def file_of_github(path: str, status: str, patch: str | None, previous: str | None = None) -> FileDiff:
    """A file of `GET /repos/{o}/{r}/pulls/{n}/files`: no `patch` means binary or too large to show, but
    for a removal or a rename (a rename alone has no patch: its content did not change)."""
    hunks = parse_hunks(patch) if patch else ()
    binary = not patch and status not in ("removed", "renamed")
    return FileDiff(path, status, hunks, binary=binary, old_path=previous)


def files_tab_link(pull_url: str, path: str, lines: str | None) -> str:
    """The pull request's Files tab at a file (GitHub anchors a file by the SHA-256 of its path) and its
    new lines ("12-30")."""
    anchor = hashlib.sha256(path.encode()).hexdigest()
    if lines:
        start, _, end = lines.partition("-")
        anchor += f"R{start}" + (f"-R{end}" if end else "")
    return f"{pull_url}/files#diff-{anchor}"


def is_fork(pull: PullRequest) -> bool:
    """A pull request whose head lives in another repository (or in a fork since deleted)."""
    head = pull.head.repo
    return head is None or head.full_name.lower() != pull.base.repo.full_name.lower()


@dataclass
class GitHubPull:
    """One pull request, read through PyGithub."""

    client: Github
    pull: PullRequest
    name: str = "GitHub"
    review_noun: str = "pull request"
    comment_limit: int = COMMENT_LIMIT
    references: re.Pattern[str] | None = None  # GitHub's (#12, GH-12, @user) are neutralized for every forge

    def size(self, text: str) -> int:
        return len(text)

    def review(self) -> Review:
        pull = self.pull
        return Review(pull.number, pull.title or "", pull.head.ref or "", pull.body or "", pull.html_url, is_fork(pull))

    def commits(self) -> Sequence[tuple[str, str]]:
        with github_errors("reading the pull request's commits", self.pull.number):
            return [(commit.sha[:7], commit.commit.message or "") for commit in self.pull.get_commits()]

    def change(self) -> Diff:
        """The changed files and patches (every page, up to GitHub's 3,000 files); a file without `patch`
        is binary or too large for GitHub to show."""
        files = []
        with github_errors("reading the pull request's files", self.pull.number):
            for item in self.pull.get_files():
                files.append(file_of_github(item.filename, item.status, item.patch, item.previous_filename))
                if len(files) >= MAX_PULL_FILES:
                    break
        return Diff(tuple(files))

    def file_link(self, path: str, lines: str | None) -> str | None:
        return files_tab_link(self.pull.html_url, path, lines)

    def thread(self) -> GitHubThread:
        return GitHubThread(self.client, self.pull)
