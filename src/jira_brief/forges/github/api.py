"""The GitHub REST API as jira-brief uses it: a client with a safe retry policy, failures as one line that
says what to change, and the pull request's comment thread (`CommentThread`).

Facts this module relies on (GitHub docs and PyGithub 2.x source):
- `GET /user` answers 403 to an installation token (the Actions GITHUB_TOKEN, a GitHub App's token);
  GraphQL's `viewer` names its bot (`github-actions[bot]` for GITHUB_TOKEN). A personal token's login
  comes from `/user`. The author of a comment we just created is the final word on who we are.
- PyGithub's default GithubRetry re-sends a POST after a 5xx, although GitHub may have stored the
  comment already; a second comment would also notify every subscriber twice.
- Writing a comment on a pull request needs `pull-requests: write` (or `issues: write`); a pull request
  from a fork only ever gets a read-only GITHUB_TOKEN and no secrets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import requests
from github import Auth, Github
from github.GithubException import GithubException
from github.GithubRetry import GithubRetry
from github.IssueComment import IssueComment
from github.PullRequest import PullRequest
from urllib3 import Retry

from jira_brief.config.values import Secret
from jira_brief.errors import UsageError
from jira_brief.forges.base import ForgeError, Posted
from jira_brief.forges.github import CREDENTIALS

ACTIONS_BOT = "github-actions[bot]"
# Seconds between two writes to GitHub (its guidance for bursts of writes).
WRITE_SECONDS = 1.0
# The longest wait for a rate limit (Retry-After, secondary or primary) before giving up.
MAX_RATE_LIMIT_WAIT = 60.0
NOT_ACCESSIBLE = "Resource not accessible by integration"


class GitHubError(ForgeError):
    """The GitHub API refused or failed; the message says what to change."""


def token_from(environ: Mapping[str, str]) -> Secret | None:
    """The token for the API: JIRA_BRIEF_GITHUB_TOKEN, else GITHUB_TOKEN (the action passes its input)."""
    variables = CREDENTIALS["github-token"]
    value = next((environ[name] for name in reversed(variables) if environ.get(name, "").strip()), "")
    return Secret(value.strip()) if value.strip() else None


def _retry() -> Any:
    """PyGithub's retry with two changes: a POST answered 5xx is not re-sent (GitHub may have stored the
    comment; we look for it instead of posting a duplicate), and rate-limit waits are capped."""

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


@dataclass
class GitHubThread:
    """The pull request's comments (GitHub's issue comments), as a `CommentThread`."""

    client: Github
    pull: PullRequest
    login: str | None = None
    seen: dict[int, IssueComment] = field(default_factory=dict)  # as listed or created: edits need no GET

    def listing(self) -> list[Posted]:
        with github_errors("reading the pull request's comments", self.pull.number):
            comments = list(self.pull.get_issue_comments())
        self.seen.update((comment.id, comment) for comment in comments)
        return [_posted(comment) for comment in comments]

    def identity(self) -> str:
        """Who our comments are by, asked once: the login behind the token."""
        if self.login is None:
            with github_errors("asking who the token is", self.pull.number):
                self.login = self._viewer()
        return self.login

    def _viewer(self) -> str:
        """/user for a personal token; for an installation token (403 there) GraphQL's viewer, which names
        the app's bot; failing that, github-actions[bot], the author of the workflow's own GITHUB_TOKEN."""
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

    def create(self, body: str) -> Posted | None:
        """Post; a 5xx may have stored the comment: None, and the caller lists again."""
        with github_errors("writing the comment", self.pull.number, write=True):
            try:
                created = self.pull.create_issue_comment(body)
            except GithubException as error:
                if error.status < 500:
                    raise
                return None
        self.login = created.user.login
        self.seen[created.id] = created
        return _posted(created)

    def edit(self, posted: Posted, body: str) -> bool:
        with github_errors("writing the comment", self.pull.number, write=True):
            return not _gone(self.seen[posted.id].edit, body)

    def delete(self, posted: Posted) -> None:
        with github_errors("deleting our comment", self.pull.number, write=True):
            _gone(self.seen[posted.id].delete)


def _posted(comment: IssueComment) -> Posted:
    return Posted(comment.id, comment.body or "", comment.user.login, comment.html_url)


def _gone(write: Callable[..., Any], *args: Any) -> bool:
    """Make one write to a comment; True when GitHub answers 404: the comment no longer exists."""

    try:
        write(*args)
    except GithubException as error:
        if error.status != 404:
            raise
        return True
    return False
