"""The Bitbucket client against FakeBitbucket over loopback HTTP: credentials, pages, redirects, retries,
and every refusal as one line that says what to change."""

from __future__ import annotations

import pytest

from jira_brief.errors import UsageError
from jira_brief.forges.bitbucket.api import ATTEMPTS, BitbucketError, Credential, credential_from
from tests.fakes.bitbucket_server import FakeBitbucket
from tests.forges.bitbucket.conftest import PULL, MakeApi, api_token


def test_the_access_token_wins_and_an_api_token_goes_with_its_email() -> None:
    both = {
        "JIRA_BRIEF_BITBUCKET_TOKEN": "tok-123456",
        "JIRA_BRIEF_BITBUCKET_EMAIL": "dana@example.com",
        "JIRA_BRIEF_BITBUCKET_API_TOKEN": "api-123456",
    }
    access = credential_from(both)
    basic = credential_from({**both, "JIRA_BRIEF_BITBUCKET_TOKEN": " "})

    assert access is not None and access.header() == "Bearer tok-123456"
    assert basic is not None and basic.header() == "Basic ZGFuYUBleGFtcGxlLmNvbTphcGktMTIzNDU2"
    assert credential_from({}) is None
    assert "tok-123456" not in repr(access) and "api-123456" not in repr(basic)


def test_half_of_an_api_token_pair_is_one_line_naming_the_other_half() -> None:
    with pytest.raises(UsageError) as raised:
        credential_from({"JIRA_BRIEF_BITBUCKET_API_TOKEN": "api-123456"})

    assert "JIRA_BRIEF_BITBUCKET_EMAIL is not" in str(raised.value) and "\n" not in str(raised.value)


def test_pages_follow_their_next_links_a_hundred_at_a_time(fake: FakeBitbucket, make_api: MakeApi) -> None:
    for number in range(250):
        fake.add_comment(7, f"LGTM {number}")

    values = list(make_api().pages(f"{PULL}/comments", "listing", "comments", limit=10_000))

    assert [value["content"]["raw"] for value in values] == [f"LGTM {n}" for n in range(250)]
    listed = [path for method, path, _ in fake.requests if method == "GET"]
    assert len(listed) == 3 and "pagelen=100" in listed[0]


def test_a_link_away_from_the_api_host_is_not_followed(fake: FakeBitbucket, make_api: MakeApi) -> None:
    """The fake links with 127.0.0.1; a client of "localhost" must not send its token there."""
    for number in range(120):
        fake.add_comment(7, f"LGTM {number}")
    elsewhere = make_api(base=fake.api_url.replace("127.0.0.1", "localhost"))

    with pytest.raises(BitbucketError, match="away from localhost"):
        list(elsewhere.pages(f"{PULL}/comments", "listing", "comments", limit=10_000))
    with pytest.raises(BitbucketError, match="away from localhost"):
        elsewhere.text(f"{PULL}/diff", "reading the diff", "diff", cap=1000)
    assert len(fake.requests) == 2


def test_the_diff_redirect_is_followed_and_a_long_diff_is_cut(fake: FakeBitbucket, make_api: MakeApi) -> None:
    fake.add_file(7, "shop/cart.py", patch="@@ -1 +1 @@\n-total = 0\n+total = sum(items)\n")
    fake.add_file(7, "shop/tax.py", patch="@@ -1 +1 @@\n-a\n+" + "b" * 5000 + "\n")

    whole, longer = make_api().text(f"{PULL}/diff", "reading the diff", "diff", cap=1 << 20)
    head, cut = make_api().text(f"{PULL}/diff", "reading the diff", "diff", cap=300)

    assert "+total = sum(items)" in whole and "diff --git a/shop/tax.py" in whole and not longer
    assert cut and len(head) == 300 and whole.startswith(head)


def test_gets_back_off_on_429_and_5xx_then_succeed(fake: FakeBitbucket, make_api: MakeApi) -> None:
    fake.fail_next("GET", rf"{PULL}$", 429)
    fake.fail_next("GET", rf"{PULL}$", 503)
    waits: list[float] = []

    pull = make_api(sleep=waits.append).get(PULL, "reading the pull request", "pull request")

    assert pull["id"] == 7 and waits == [1.0, 2.0]


def test_a_rate_limit_that_lasts_is_one_line_after_a_few_tries(fake: FakeBitbucket, make_api: MakeApi) -> None:
    fake.rate_limit = 0

    with pytest.raises(BitbucketError) as raised:
        make_api().get(PULL, "reading the pull request", "pull request")

    assert str(raised.value).startswith(
        "Bitbucket's rate limit was reached while reading the pull request (429 Rate limit for this resource "
        "has been exceeded); it allows about 1,000 API requests an hour"
    )
    assert len(fake.requests) == ATTEMPTS


def test_a_post_answered_5xx_is_never_sent_again(fake: FakeBitbucket, make_api: MakeApi) -> None:
    fake.fail_next("POST", r"/comments$", 502, after_apply=True)

    answer = make_api().post(f"{PULL}/comments", {"content": {"raw": "hi"}}, "writing the comment", "comment")

    assert answer is None
    assert [method for method, _, _ in fake.requests] == ["POST"]
    assert [comment["content"]["raw"] for comment in fake.comments(7)] == ["hi"]


def refused(fake: FakeBitbucket, make_api: MakeApi, credential: Credential | str | None = "token") -> str:
    with pytest.raises(BitbucketError) as raised:
        make_api(credential).post(f"{PULL}/comments", {"content": {"raw": "x" * 100}}, "writing the comment", "pr")
    message = str(raised.value)
    assert "\n" not in message and len(message) < 500
    return message


def test_wrong_credentials_name_the_variable_to_check(fake: FakeBitbucket, make_api: MakeApi) -> None:
    bearer = refused(fake, make_api, Credential(api_token(fake).token))
    basic = refused(fake, make_api, Credential(api_token(fake).token, "someone@example.com"))

    assert "(401 Token is invalid, expired, or not supported for this endpoint.)" in bearer
    assert "JIRA_BRIEF_BITBUCKET_TOKEN" in bearer
    assert "(401 Login failed due to incorrect login credentials or method." in basic
    assert "JIRA_BRIEF_BITBUCKET_API_TOKEN" in basic and "app passwords no longer work" in basic


def test_a_missing_scope_names_it_and_what_to_grant(fake: FakeBitbucket, make_api: MakeApi) -> None:
    fake.read_only = True

    access = refused(fake, make_api)
    basic = refused(fake, make_api, api_token(fake))

    assert "lacks the scope pullrequest:write (it has: pullrequest)" in access
    assert access.endswith("give the repository access token the scope Pull requests: Write")
    assert "lacks the scope write:pullrequest:bitbucket" in basic and "read:pullrequest:bitbucket" in basic


def test_a_repository_out_of_reach_a_failure_and_an_html_page_are_one_line_each(
    fake: FakeBitbucket, make_api: MakeApi
) -> None:
    with pytest.raises(BitbucketError) as missing:
        make_api().get("/repositories/acme/other/pullrequests/7", "reading the pull request", "pull request #7")
    fake.max_request_bytes = 50  # Django's HTML page for a request too big

    too_big = refused(fake, make_api)
    fake.max_request_bytes = 1 << 20
    for _ in range(ATTEMPTS):
        fake.fail_next("GET", rf"{PULL}$", 500)
    with pytest.raises(BitbucketError) as failed:
        make_api().get(PULL, "reading the pull request", "pull request")

    assert str(missing.value).startswith("Bitbucket found no pull request #7 while reading the pull request (404 You")
    assert "can read this repository" in str(missing.value)
    assert too_big == "Bitbucket answered 400 while writing the comment: Bad Request (400)"
    assert str(failed.value).startswith("Bitbucket failed while reading the pull request (500 Something went wrong")
    assert "error id" in str(failed.value) and str(failed.value).endswith("try again later")
