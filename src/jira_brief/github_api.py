"""The GitHub REST API as jira-brief uses it: a client with a safe retry policy, the pull request and
its texts, and the thread of comments in which ours is kept as exactly one.

Facts this module relies on (GitHub docs and PyGithub 2.x source):
- `GET /user` answers 403 to an installation token (the Actions GITHUB_TOKEN, a GitHub App's token);
  GraphQL's `viewer` names its bot (`github-actions[bot]` for GITHUB_TOKEN). A personal token's login
  comes from `/user`. The author of a comment we just created is the final word on who we are.
- PyGithub's default GithubRetry re-sends a POST after a 5xx, although GitHub may have stored the
  comment already; a second comment would also notify every subscriber twice.
- Writing a comment on a pull request needs `pull-requests: write` (or `issues: write`); a pull request
  from a fork only ever gets a read-only GITHUB_TOKEN and no secrets.

PyGithub is imported inside functions so that `jira-brief keys` never loads it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jira_brief.comment import MARKER
from jira_brief.errors import JiraBriefError, UsageError
from jira_brief.settings import Secret
from jira_brief.sources import source_kind

if TYPE_CHECKING:
    from github import Github
    from github.IssueComment import IssueComment
    from github.PullRequest import PullRequest

    from jira_brief.diff import Diff

ACTIONS_BOT = "github-actions[bot]"
# Seconds between two writes to GitHub (its guidance for bursts of writes).
WRITE_SECONDS = 1.0
# The longest wait for a rate limit (Retry-After, secondary or primary) before giving up.
MAX_RATE_LIMIT_WAIT = 60.0
NOT_ACCESSIBLE = "Resource not accessible by integration"
# Rounds of list-then-write when concurrent runs keep deleting the comment we meant to edit.
PUBLISH_ATTEMPTS = 3
# GitHub lists at most this many files of a pull request (`pulls/{n}/files`, all pages together).
MAX_PULL_FILES = 3000


class GitHubError(JiraBriefError):
    """The GitHub API refused or failed; the message says what to change."""


def _retry() -> Any:
    """PyGithub's retry with two changes: a POST answered 5xx is not re-sent (GitHub may have stored the
    comment; we look for it instead of posting a duplicate), and rate-limit waits are capped."""
    from github.GithubRetry import GithubRetry
    from urllib3 import Retry

    class CommentRetry(GithubRetry):
        def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
            if method == "POST" and status_code >= 500:
                return False
            return bool(super().is_retry(method, status_code, has_retry_after))

        def get_retry_after(self, response: Any) -> float | None:
            seconds = super().get_retry_after(response)
            return None if seconds is None else min(seconds, MAX_RATE_LIMIT_WAIT)

    return CommentRetry(
        total=4,
        backoff_factor=0.5,
        secondary_rate_wait=MAX_RATE_LIMIT_WAIT,
        max_rate_limit_wait=MAX_RATE_LIMIT_WAIT,
        allowed_methods=Retry.DEFAULT_ALLOWED_METHODS | {"GET", "POST", "PATCH"},
    )


def connect(token: Secret | None, api_url: str, *, write_spacing: float = WRITE_SECONDS) -> Github:
    """A PyGithub client for the runner's API (GHES too); edits are idempotent, so PATCH is retried as well.

    `write_spacing` is the pause between two writes (GitHub's guidance for bursts of writes)."""
    from github import Auth, Github

    if not token:
        raise UsageError("no GitHub token: set GITHUB_TOKEN (the action passes its github-token input)")
    return Github(
        base_url=api_url,
        auth=Auth.Token(token.reveal()),
        per_page=100,
        retry=_retry(),
        seconds_between_requests=None,
        seconds_between_writes=write_spacing or None,
    )


def _message(error: Any) -> str:
    data = getattr(error, "data", None)
    return str(data.get("message") or "") if isinstance(data, dict) else str(data or "")


@contextmanager
def github_errors(doing: str, number: int | None, *, write: bool = False) -> Iterator[None]:
    """Turn PyGithub and network failures into one GitHubError line that says what to change."""
    import requests
    from github.GithubException import GithubException

    try:
        yield
    except GithubException as error:
        status, message = error.status, _message(error)
        if status == 401:
            raise GitHubError("GitHub rejected the token (401 Bad credentials): check the github-token input") from None
        if status == 403 and NOT_ACCESSIBLE in message and write:
            raise GitHubError(
                f"the token may not write comments on pull request #{number} (403 {message}): "
                "give the job `permissions: pull-requests: write`"
            ) from None
        if status == 404:
            raise GitHubError(
                f"pull request #{number} was not found while {doing} (404): check the pr-number "
                "and that the token can read this repository"
            ) from None
        raise GitHubError(f"GitHub answered {status} while {doing}: {message or 'no message'}") from None
    except requests.RequestException as error:
        raise GitHubError(
            f"GitHub could not be reached while {doing}: {type(error).__name__}; try again later"
        ) from None


def is_fork(pull: PullRequest) -> bool:
    """A pull request whose head lives in another repository (or in a fork since deleted)."""
    head = pull.head.repo
    return head is None or head.full_name.lower() != pull.base.repo.full_name.lower()


def pull_texts(pull: PullRequest, sources: Sequence[str]) -> list[tuple[str, str]]:
    """(source, text) pairs of a pull request, in listing order, keeping only `sources`; commits from the API."""
    texts = [("pr-title", pull.title or ""), ("branch", pull.head.ref or ""), ("pr-body", pull.body or "")]
    if "commits" in sources:
        texts += [(f"commit {commit.sha[:7]}", commit.commit.message or "") for commit in pull.get_commits()]
    return [(source, text) for source, text in texts if text and source_kind(source) in sources]


def pull_diff(pull: PullRequest) -> Diff:
    """The pull request's changed files and patches (every page, up to GitHub's 3,000 files); a file
    without `patch` is binary or too large for GitHub to show."""
    from jira_brief.diff import Diff, file_of_github

    files = []
    for item in pull.get_files():
        files.append(file_of_github(item.filename, item.status, item.patch, item.previous_filename))
        if len(files) >= MAX_PULL_FILES:
            break
    return Diff(tuple(files))


@dataclass
class Thread:
    """The pull request's comments as far as ours goes: found by marker AND author, created once, then edited."""

    client: Github
    pull: PullRequest
    login: str | None = None

    def identity(self) -> str:
        """Who our comments are by, asked once: the login behind the token."""
        if self.login is None:
            self.login = self._viewer()
        return self.login

    def _viewer(self) -> str:
        """/user for a personal token; for an installation token (403 there) GraphQL's viewer, which names
        the app's bot; failing that, github-actions[bot], the author of the workflow's own GITHUB_TOKEN."""
        from github.GithubException import GithubException

        try:
            return str(self.client.get_user().login)
        except GithubException as error:
            if error.status != 403:
                raise
        try:
            _, data = self.client.requester.graphql_query("query { viewer { login } }", {})
            return str(data["data"]["viewer"]["login"])
        except GithubException:
            return ACTIONS_BOT

    def ours(self) -> list[IssueComment]:
        """Our comments, oldest first; someone else's comment that copies the marker is never ours."""
        marked = [comment for comment in self.pull.get_issue_comments() if (comment.body or "").startswith(MARKER)]
        if not marked:
            return []
        login = self.identity().lower()
        return sorted((comment for comment in marked if comment.user.login.lower() == login), key=lambda c: c.id)

    def publish(self, body: str, ours: list[IssueComment]) -> tuple[IssueComment, str]:
        """Keep exactly one comment of ours with `body`, whatever other runs do at the same time: the
        oldest (every run picks the same one) is edited only if it differs, and the others are deleted.
        A duplicate already gone was deleted by another run; our comment gone before we could edit it
        (another run removed it) sends us back to the listing."""
        for _ in range(PUBLISH_ATTEMPTS):
            if not ours:
                return self._create(body), "created"
            keep = ours[0]
            self.remove(ours[1:])
            if (keep.body or "").replace("\r\n", "\n") == body:
                return keep, "unchanged"
            if _gone(keep.edit, body):
                ours = self.ours()
                continue
            return keep, "updated"
        return self._create(body), "created"

    def _create(self, body: str) -> IssueComment:
        """Post, then list again: a 5xx may have stored the comment, and a concurrent run may have posted too.
        The oldest of ours survives, so of several runs that all posted, each agrees on the one to keep."""
        from github.GithubException import GithubException

        try:
            created: IssueComment | None = self.pull.create_issue_comment(body)
        except GithubException as error:
            if error.status < 500:
                raise
            created = None
        if created is not None:
            self.login = created.user.login
        ours = self.ours()
        if not ours:
            return created or self.pull.create_issue_comment(body)
        return self.publish(body, ours)[0]

    def remove(self, ours: list[IssueComment]) -> None:
        """Delete these comments of ours; one already deleted (by a concurrent run) is done, not an error."""
        for comment in ours:
            _gone(comment.delete)


def _gone(write: Callable[..., Any], *args: Any) -> bool:
    """Make one write to a comment; True when GitHub answers 404: the comment no longer exists."""
    from github.GithubException import GithubException

    try:
        write(*args)
    except GithubException as error:
        if error.status != 404:
            raise
        return True
    return False
