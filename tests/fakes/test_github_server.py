"""Drive FakeGitHub with real PyGithub, so the fake is proven to speak its wire format.

These tests also pin down PyGithub behaviour that `jira-brief github` must cope
with, notably that its default retry re-sends a POST after a 5xx.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import github
import pytest
import requests
from github.PullRequest import PullRequest

from tests.fakes.github_server import MAX_COMMENT_CHARS, FakeGitHub

COMMENTS_PATH = r"/repos/octo/shop/issues/7/comments$"


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    """A running fake with one open PR #7 carrying two commits."""
    with FakeGitHub() as server:
        server.add_pull(7, title="Checkout rework", head_ref="feature/SHOP-12", commits=["SHOP-12 cart", "SHOP-13 tax"])
        yield server


def connect(fake: FakeGitHub, token: str | None = None, **options: Any) -> github.Github:
    """PyGithub pointed at the fake; its request throttling is off so tests stay fast.

    Retry is PyGithub's default (GithubRetry: 10 tries, no backoff) unless overridden.
    """
    auth = github.Auth.Token(token or fake.token)
    return github.Github(
        base_url=fake.url, auth=auth, seconds_between_requests=None, seconds_between_writes=None, **options
    )


def pull(fake: FakeGitHub, number: int = 7, **options: Any) -> PullRequest:
    """Fetch a PR through PyGithub, as the CLI does."""
    return connect(fake, **options).get_repo(fake.repo).get_pull(number)


def posts(fake: FakeGitHub) -> list[tuple[str, str, dict[str, Any] | None]]:
    """Recorded POST requests, to count what actually went over the wire."""
    return [request for request in fake.requests if request[0] == "POST"]


def test_pull_and_commits(fake: FakeGitHub) -> None:
    pr = pull(fake)

    assert (pr.number, pr.title, pr.head.ref) == (7, "Checkout rework", "feature/SHOP-12")
    assert pr.head.repo.full_name == "octo/shop" and not pr.head.repo.fork
    assert [commit.commit.message for commit in pr.get_commits()] == ["SHOP-12 cart", "SHOP-13 tax"]
    assert pr.head.sha == list(pr.get_commits())[-1].sha


def test_fork_pull_has_foreign_head_repo(fake: FakeGitHub) -> None:
    fake.add_pull(8, title="From a fork", head_ref="patch-1", head_repo="someone/shop")

    pr = pull(fake, 8)

    assert pr.head.repo.full_name == "someone/shop" and pr.head.repo.fork
    assert pr.base.repo.full_name == "octo/shop"


def test_120_comments_paginate_through_link_headers(fake: FakeGitHub) -> None:
    ids = [fake.add_comment(7, f"note {i}", login="alice") for i in range(120)]

    comments = pull(fake).get_issue_comments()

    assert [comment.id for comment in comments] == ids
    assert comments.totalCount == 120
    pages = [path for method, path, _ in fake.requests if method == "GET" and "/comments" in path]
    assert pages[0] == "/repos/octo/shop/issues/7/comments"
    assert pages[1:4] == [f"/repositories/{fake.repo_id}/issues/7/comments?page={n}" for n in (2, 3, 4)]


def test_per_page_is_capped_at_100(fake: FakeGitHub) -> None:
    for i in range(120):
        fake.add_comment(7, f"note {i}", login="alice")

    pr = pull(fake, per_page=500)

    assert len(pr.get_issue_comments().get_page(0)) == 100


def test_create_edit_and_delete_comment(fake: FakeGitHub) -> None:
    pr = pull(fake)

    comment = pr.create_issue_comment("first draft")
    comment.edit("final brief")

    assert comment.user.login == "github-actions[bot]" and comment.body == "final brief"
    assert [c["body"] for c in fake.comments(7)] == ["final brief"]
    assert ("PATCH", f"/repos/octo/shop/issues/comments/{comment.id}", {"body": "final brief"}) in fake.requests
    comment.delete()
    assert fake.comments(7) == []


def test_default_retry_reposts_after_5xx_leaving_two_comments(fake: FakeGitHub) -> None:
    """GitHub stored the comment but answered 502; GithubRetry re-sends the POST."""
    fake.fail_next("POST", COMMENTS_PATH, 502, after_apply=True)

    comment = pull(fake).create_issue_comment("brief")

    stored = fake.comments(7)
    assert [c["body"] for c in stored] == ["brief", "brief"]
    assert comment.id == stored[1]["id"]
    assert len(posts(fake)) == 2


def test_without_retry_5xx_raises_although_comment_was_stored(fake: FakeGitHub) -> None:
    fake.fail_next("POST", COMMENTS_PATH, 502, after_apply=True)

    with pytest.raises(github.GithubException) as caught:
        pull(fake, retry=None).create_issue_comment("brief")

    assert caught.value.status == 502
    assert [c["body"] for c in fake.comments(7)] == ["brief"]


def test_default_retry_gives_up_with_requests_retry_error(fake: FakeGitHub) -> None:
    """After 1 try + 10 retries PyGithub raises requests' RetryError, not GithubException."""
    for _ in range(11):
        fake.fail_next("POST", COMMENTS_PATH, 502, after_apply=True)

    with pytest.raises(requests.exceptions.RetryError):
        pull(fake).create_issue_comment("brief")

    assert len(fake.comments(7)) == 11


def test_default_retry_does_not_retry_patch(fake: FakeGitHub) -> None:
    comment = pull(fake).create_issue_comment("draft")
    fake.fail_next("PATCH", r"/issues/comments/\d+$", 502)

    with pytest.raises(github.GithubException) as caught:
        comment.edit("final")

    assert caught.value.status == 502
    assert sum(method == "PATCH" for method, _, _ in fake.requests) == 1


def test_oversize_body_is_422(fake: FakeGitHub) -> None:
    pr = pull(fake)

    with pytest.raises(github.GithubException) as caught:
        pr.create_issue_comment("x" * (MAX_COMMENT_CHARS + 1))

    assert caught.value.status == 422
    assert caught.value.data["errors"][0]["field"] == "body"
    assert pr.create_issue_comment("x" * MAX_COMMENT_CHARS).body == "x" * MAX_COMMENT_CHARS


def test_wrong_token_is_401(fake: FakeGitHub) -> None:
    with pytest.raises(github.BadCredentialsException) as caught:
        connect(fake, token="ghs_wrong").get_repo(fake.repo)

    assert caught.value.status == 401


def test_unknown_repo_is_404(fake: FakeGitHub) -> None:
    with pytest.raises(github.UnknownObjectException):
        connect(fake).get_repo("octo/elsewhere")


def test_user_endpoint_is_forbidden_for_installation_tokens(fake: FakeGitHub) -> None:
    with pytest.raises(github.GithubException) as caught:
        _ = connect(fake).get_user().login

    assert caught.value.status == 403
    assert caught.value.data["message"] == "Resource not accessible by integration"
    fake.user_endpoint_forbidden = False
    assert connect(fake).get_user().login == "github-actions[bot]"


def test_read_only_token_gets_403_without_retry(fake: FakeGitHub) -> None:
    fake.read_only = True

    with pytest.raises(github.GithubException) as caught:
        pull(fake).create_issue_comment("brief")

    assert caught.value.status == 403 and fake.comments(7) == []
    assert len(posts(fake)) == 1


def test_secondary_rate_limit_waits_retry_after_then_retries_post(fake: FakeGitHub) -> None:
    message = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
    fake.fail_next("POST", COMMENTS_PATH, 403, headers={"Retry-After": "1"}, body={"message": message})
    pr = pull(fake)

    started = time.monotonic()
    pr.create_issue_comment("brief")

    assert time.monotonic() - started >= 0.9
    assert len(posts(fake)) == 2 and len(fake.comments(7)) == 1


def test_enterprise_style_prefix() -> None:
    with FakeGitHub(api_prefix="/api/v3") as fake:
        fake.add_pull(7, title="GHES", head_ref="topic")
        for i in range(31):
            fake.add_comment(7, f"note {i}", login="alice")

        assert len(list(pull(fake).get_issue_comments())) == 31
        assert all(path.startswith("/api/v3/") for _, path, _ in fake.requests)
