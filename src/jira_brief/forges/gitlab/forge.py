"""A GitLab merge request as a `Forge`: its texts, its changed files, links into its Changes tab, its limits,
GitLab's own references and quick actions made inert, and its notes.

What GitLab does with a note's text (gitlabhq: lib/banzai/filter/references, lib/gitlab/quick_actions):
- it links `@user` `@group` `@all` (mentions notify), `#12` issues, `!12` merge requests, `~label`,
  `%milestone`, `&12` epics, `$12` snippets, `[vulnerability:12]`-style references, renders
  `[[_TOC_]]` / `[TOC]` as a table of contents, and quotes everything between two `>>>` lines;
- it runs quick actions (`/merge`, `/approve`, `/close`, `/label ~x`…) written at the start of a line of a
  note created or edited through the API, with the token's rights;
- it stores the body with `\\r` deleted and trailing whitespace stripped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from jira_brief.brief.diff import Diff, FileDiff
from jira_brief.forges.base import Review
from jira_brief.forges.gitlab.api import GitLabApi, GitLabError, GitLabThread, project_path
from jira_brief.forges.gitlab.changes import changes_link, file_of_gitlab
from jira_brief.publish.neutralize import ZWJ

# GitLab refuses a note over 1,000,000 characters; keep a margin for what is added after fitting it.
COMMENT_LIMIT = 990_000
# The most commits and files read of one merge request (every page up to these).
MAX_COMMITS = 1000
MAX_FILES = 3000
# Where a joiner goes so GitLab links nothing and runs nothing; the shared rules (neutralize.py) already
# take "@" before a letter or digit, "#" before a digit, HTML, links and autolinks.
REFERENCES = re.compile(
    r"(?<=[!&$])(?=[0-9])"  # !12 merge requests, &12 epics, $12 snippets
    r"|(?<=[~%])(?=[A-Za-z0-9_\"])"  # ~label, ~"a label", ~12, %milestone, %"v1.0"
    r"|(?<=@)(?=[_.])"  # @_name, @.name
    r"|(?<=\[)(?=\[_TOC_\]\]|TOC\])"  # [[_TOC_]], [TOC]
    r"|(?<=\[)(?=(?:vulnerability|feature_flag|contact|wiki_page|iteration):)"
    r"|(?<=\*)(?=iteration:)"
    r"|(?<=^>)(?=>>[ \t]*$)"  # a ">>>" line: GitLab's multi-line quote would span up to the next one
    r"|^(?=/)",  # a quick action: "/" at the start of a line
    re.IGNORECASE | re.MULTILINE,
)
_LINE_START_SLASH = re.compile(r"^/", re.MULTILINE)
RUBY_WHITESPACE = " \t\n\v\f\r\0"  # what GitLab's String#rstrip takes off a stored note


def as_stored(body: str) -> str:
    """The note exactly as GitLab stores it (`\\r` deleted, trailing whitespace stripped), and inert: no line
    starts with "/", whatever put it there (a template's labels, a ticket), so no quick action can run.
    Comparing this with the stored note is what keeps an unchanged note from being edited."""
    return _LINE_START_SLASH.sub(ZWJ + "/", body.replace("\r", "")).rstrip(RUBY_WHITESPACE)


@dataclass(frozen=True)
class MergeRequest:
    """A merge request as `GET /projects/:id/merge_requests/:iid` describes it."""

    iid: int
    project_id: int  # the project it lives in (the target): note paths use this numeric id
    title: str
    source_branch: str
    description: str
    web_url: str
    source_project_id: int

    @property
    def is_fork(self) -> bool:
        return self.source_project_id != self.project_id


def _text(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    return value if isinstance(value, str) else ""


def load_merge_request(api: GitLabApi, project: int | str, iid: int) -> MergeRequest:
    data = api.get(f"/projects/{project_path(project)}/merge_requests/{iid}", "reading the merge request", iid)
    project_id, source = data.get("project_id"), data.get("source_project_id")
    if not isinstance(project_id, int) or not isinstance(data.get("iid"), int):
        raise GitLabError(
            f"GitLab's answer for merge request !{iid} has no project_id or iid; is CI_API_V4_URL GitLab's?"
        )
    return MergeRequest(
        iid=int(data["iid"]),
        project_id=project_id,
        title=_text(data, "title"),
        source_branch=_text(data, "source_branch"),
        description=_text(data, "description"),
        web_url=_text(data, "web_url"),
        source_project_id=source if isinstance(source, int) else project_id,
    )


@dataclass
class GitLabMergeRequest:
    """One merge request, read through python-gitlab."""

    api: GitLabApi
    mr: MergeRequest
    name: str = "GitLab"
    review_noun: str = "merge request"
    comment_limit: int = COMMENT_LIMIT
    references: re.Pattern[str] | None = REFERENCES
    files: dict[str, FileDiff] = field(default_factory=dict)  # as `change` read them, for links

    def size(self, text: str) -> int:
        return len(text)

    @property
    def _path(self) -> str:
        return f"/projects/{self.mr.project_id}/merge_requests/{self.mr.iid}"

    def review(self) -> Review:
        mr = self.mr
        return Review(mr.iid, mr.title, mr.source_branch, mr.description, mr.web_url, mr.is_fork)

    def commits(self) -> Sequence[tuple[str, str]]:
        """(short sha, message), oldest first (GitLab lists the newest first; the newest MAX_COMMITS)."""
        commits = self.api.pages(
            f"{self._path}/commits", "reading the merge request's commits", self.mr.iid, MAX_COMMITS
        )
        return [
            (str(commit.get("id") or "")[:7], str(commit.get("message") or ""))
            for commit in reversed(commits)
            if isinstance(commit, dict)
        ]

    def change(self) -> Diff:
        """The changed files and hunks, every page (up to MAX_FILES); a file GitLab shows without a patch
        (binary, too large, collapsed) has none."""
        items = self.api.pages(f"{self._path}/diffs", "reading the merge request's changes", self.mr.iid, MAX_FILES)
        files = [found for item in items if isinstance(item, dict) and (found := file_of_gitlab(item))]
        self.files = {item.path: item for item in files}
        return Diff(tuple(files))

    def file_link(self, path: str, lines: str | None) -> str | None:
        return changes_link(self.mr.web_url, self.files.get(path), path, lines) if self.mr.web_url else None

    def thread(self) -> GitLabThread:
        return GitLabThread(self.api, self.mr.project_id, self.mr.iid, self.mr.web_url)
