"""FakeBitbucket over real HTTP, with httpx2 (what jira-brief's own client uses).

These tests also pin down what a Bitbucket client must cope with: redirects for diffs, `next` URLs,
deleted comments that stay listed, an access token that cannot ask who it is, errors that are not
JSON, and a comment that was stored although the POST answered 5xx.
"""

from __future__ import annotations

import re
import socket
import ssl
import threading
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from tests.fakes.bitbucket_server import (
    LOGIN_FAILED,
    NO_REPOSITORY,
    RATE_LIMITED,
    TOKEN_REFUSED,
    TOO_BIG,
    FakeBitbucket,
    render_markdown,
)

PULL = "/repositories/acme/shop/pullrequests/7"
# One TLS context for every client: httpx2 builds one per Client otherwise (~80 ms each), and the fake
# is plain HTTP anyway.
TLS = ssl.create_default_context()
COMMENTS = PULL + "/comments"


@pytest.fixture
def fake() -> Iterator[FakeBitbucket]:
    """A running fake with an open pull request #7 of two commits and three changed files."""
    with FakeBitbucket() as server:
        server.add_pull(
            7, title="Checkout rework", source_branch="feature/SHOP-12", commits=["SHOP-12 cart", "SHOP-13"]
        )
        server.add_file(7, "shop/cart.py", patch="@@ -1,2 +1,2 @@\n-total = 0\n+total = sum(items)\n keep\n")
        server.add_file(7, "docs/logo.png", status="added", patch=None)
        server.add_file(7, "shop/tax.py", status="renamed", old_path="shop/vat.py", patch="@@ -3 +3 @@\n-a\n+b\n")
        server.add_file(7, "legacy.txt", status="removed", patch="@@ -1 +0,0 @@\n-gone\n")
        yield server


def client(fake: FakeBitbucket, *, basic: bool = False, token: str | None = None) -> httpx2.Client:
    """httpx2 against the fake's /2.0, as the access token's bot (default) or the API-token account."""
    auth = fake.basic_auth() if basic else f"Bearer {token or fake.access_token}"
    return httpx2.Client(base_url=fake.api_url, headers={"Authorization": auth}, verify=TLS)


def post(http: httpx2.Client, raw: str, path: str = COMMENTS) -> httpx2.Response:
    return http.post(path, json={"content": {"raw": raw}})


def all_pages(http: httpx2.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every value of a paged collection, following `next` as given."""
    values: list[dict[str, Any]] = []
    page = http.get(path, params=params).raise_for_status().json()
    values += page["values"]
    while "next" in page:
        page = http.get(page["next"]).raise_for_status().json()
        values += page["values"]
    return values


# ---- pull requests, commits, diffs ------------------------------------------------------------


def test_pull_request_shape(fake: FakeBitbucket) -> None:
    with client(fake) as http:
        pull = http.get(PULL).raise_for_status().json()
        newest = http.get(PULL + "/commits").json()["values"][0]

    assert (pull["id"], pull["title"], pull["description"]) == (7, "Checkout rework", "")
    assert pull["source"]["branch"]["name"] == "feature/SHOP-12"
    assert pull["source"]["repository"]["full_name"] == pull["destination"]["repository"]["full_name"] == "acme/shop"
    # The pull request carries a 12-character hash; only the commits list has the full one.
    assert len(pull["source"]["commit"]["hash"]) == 12 and len(newest["hash"]) == 40
    assert newest["hash"].startswith(pull["source"]["commit"]["hash"])
    assert pull["links"]["html"]["href"] == "https://bitbucket.org/acme/shop/pull-requests/7"
    assert pull["author"]["uuid"] == fake.account.uuid


def test_fork_pull_request_names_the_fork_as_source(fake: FakeBitbucket) -> None:
    fake.add_pull(8, title="From a fork", source_branch="patch-1", source_repo="someone/shop")

    with client(fake) as http:
        pull = http.get("/repositories/acme/shop/pullrequests/8").json()

    assert pull["source"]["repository"]["full_name"] == "someone/shop"
    assert pull["destination"]["repository"]["full_name"] == "acme/shop"


def test_commits_are_newest_first_and_paged_by_opaque_tokens(fake: FakeBitbucket) -> None:
    with client(fake) as http:
        first = http.get(PULL + "/commits", params={"pagelen": 1}).json()
        second = http.get(first["next"]).json()
        numbered = http.get(PULL + "/commits", params={"page": 1})

    assert [first["values"][0]["message"], second["values"][0]["message"]] == ["SHOP-13", "SHOP-12 cart"]
    assert "size" not in first and "next" not in second
    assert re.search(r"[?&]page=(?!1\b)\w+", first["next"])
    assert numbered.status_code == 400 and numbered.json()["error"]["message"] == "Invalid page"


def test_diff_redirects_to_a_revspec_diff_in_git_format(fake: FakeBitbucket) -> None:
    with client(fake) as http:
        hop = http.get(PULL + "/diff")
        diff = http.get(PULL + "/diff", follow_redirects=True)
        source = http.get(PULL).json()["source"]["commit"]["hash"]

    assert hop.status_code == 302 and hop.content == b"" and hop.headers["content-type"].startswith("text/html")
    assert re.fullmatch(
        rf"{re.escape(fake.api_url)}/repositories/acme/shop/diff/acme/shop:{source}%0D[0-9a-f]{{12}}"
        r"\?from_pullrequest_id=7&topic=true",
        hop.headers["location"],
    )
    assert diff.status_code == 200 and diff.headers["content-type"].startswith("text/plain")
    assert "+total = sum(items)\n" in diff.text
    assert "new file mode 100644\nindex 0000000.." in diff.text
    assert "Binary files /dev/null and b/docs/logo.png differ\n" in diff.text
    assert "rename from shop/vat.py\nrename to shop/tax.py\n" in diff.text
    assert "--- a/legacy.txt\n+++ /dev/null\n" in diff.text


def test_diffstat_redirects_and_lists_every_status(fake: FakeBitbucket) -> None:
    with client(fake) as http:
        hop = http.get(PULL + "/diffstat")
        stat = http.get(PULL + "/diffstat", follow_redirects=True).json()

    assert hop.status_code == 302 and "/diffstat/acme/shop:" in hop.headers["location"]
    assert stat["pagelen"] == 500 and stat["size"] == 4
    by_status = {entry["status"]: entry for entry in stat["values"]}
    assert by_status["modified"]["lines_added"] == 1 and by_status["modified"]["lines_removed"] == 1
    assert by_status["added"]["old"] is None and by_status["added"]["new"]["path"] == "docs/logo.png"
    assert (by_status["added"]["lines_added"], by_status["added"]["lines_removed"]) == (0, 0)  # binary
    assert (by_status["renamed"]["old"]["path"], by_status["renamed"]["new"]["path"]) == ("shop/vat.py", "shop/tax.py")
    assert by_status["removed"]["new"] is None and by_status["removed"]["old"]["path"] == "legacy.txt"


# ---- comments: pages, deletion, authors ---------------------------------------------------------


def test_comments_come_ten_a_page_with_absolute_next_urls(fake: FakeBitbucket) -> None:
    ids = [fake.add_comment(7, f"note {i}") for i in range(25)]

    with client(fake) as http:
        first = http.get(COMMENTS).json()
        second = http.get(first["next"]).json()
        every = all_pages(http, COMMENTS)

    assert (first["pagelen"], first["size"], first["page"], len(first["values"])) == (10, 25, 1, 10)
    assert first["next"].startswith(fake.url + "/2.0/repositories/acme/shop/pullrequests/7/comments?")
    assert "previous" not in first and second["previous"].endswith("page=1")
    assert [comment["id"] for comment in every] == ids


def test_pagelen_is_capped_at_100_with_an_error_not_a_clamp(fake: FakeBitbucket) -> None:
    for i in range(101):
        fake.add_comment(7, f"note {i}")

    with client(fake) as http:
        hundred = http.get(COMMENTS, params={"pagelen": 100}).json()
        over = http.get(COMMENTS, params={"pagelen": 101})

    assert len(hundred["values"]) == 100 and "next" in hundred
    assert over.status_code == 400
    assert over.json() == {"type": "error", "error": {"message": "Invalid pagelen"}}


def test_deleted_comments_stay_listed_blank_until_filtered_out(fake: FakeBitbucket) -> None:
    with client(fake) as http:
        kept = post(http, "kept").json()["id"]
        gone = post(http, "secret").json()["id"]
        deleted = http.delete(f"{COMMENTS}/{gone}")
        listed = {c["id"]: c for c in all_pages(http, COMMENTS)}
        live = all_pages(http, COMMENTS, q="deleted=false")

    assert deleted.status_code == 204 and deleted.content == b""
    assert listed[gone]["deleted"] is True and listed[gone]["content"]["raw"] == "" == listed[gone]["content"]["html"]
    assert listed[kept]["deleted"] is False
    assert [c["id"] for c in live] == [kept]


def test_inline_comments_and_replies_are_listed_with_their_anchor(fake: FakeBitbucket) -> None:
    top = fake.add_comment(7, "general")
    inline = fake.add_comment(7, "nit", inline={"path": "shop/cart.py", "to": 2})
    reply = fake.add_comment(7, "agreed", parent=top)

    with client(fake) as http:
        newest_first = http.get(COMMENTS, params={"sort": "-created_on"}).json()["values"]

    assert [c["id"] for c in newest_first] == [reply, inline, top]
    assert newest_first[1]["inline"] == {"path": "shop/cart.py", "to": 2} and "inline" not in newest_first[2]
    assert newest_first[0]["parent"]["id"] == top and "parent" not in newest_first[2]


def test_access_token_comments_as_its_own_bot_which_cannot_read_user(fake: FakeBitbucket) -> None:
    with client(fake) as http:
        created = post(http, "hello").json()
        me = http.get("/user")
        listed = http.get(COMMENTS).json()["values"]

    author = created["user"]
    assert (author["type"], author["display_name"], author["kind"]) == (
        "app_user",
        "jira-brief",
        "repository_access_token",
    )
    assert author["uuid"] == fake.bot.uuid and "nickname" not in author
    assert listed[0]["user"]["uuid"] == author["uuid"]
    assert created["content"] == {"type": "rendered", "raw": "hello", "markup": "markdown", "html": "<p>hello</p>"}
    assert me.status_code == 401 and me.json() == {"type": "error", "error": {"message": TOKEN_REFUSED}}


def test_api_token_comments_as_the_account_that_user_names(fake: FakeBitbucket) -> None:
    with client(fake, basic=True) as http:
        created = post(http, "hello").json()
        me = http.get("/user").raise_for_status().json()

    assert created["user"]["type"] == me["type"] == "user"
    assert created["user"]["uuid"] == me["uuid"] == fake.account.uuid
    assert me["account_id"] == fake.account.account_id


def test_only_the_author_may_edit_or_delete_a_comment(fake: FakeBitbucket) -> None:
    theirs = fake.add_comment(7, "<!-- jira-brief -->", author=fake.add_user("Mallory Doe"))

    with client(fake) as http:
        mine = post(http, "v1").json()
        edited = http.put(f"{COMMENTS}/{mine['id']}", json={"content": {"raw": "v2"}}).json()
        edit_theirs = http.put(f"{COMMENTS}/{theirs}", json={"content": {"raw": "taken"}})
        delete_theirs = http.delete(f"{COMMENTS}/{theirs}")

    assert (edited["id"], edited["content"]["raw"]) == (mine["id"], "v2")
    assert edited["updated_on"] >= mine["updated_on"] and edited["created_on"] == mine["created_on"]
    assert edit_theirs.status_code == 403 and delete_theirs.status_code == 403
    assert fake.comments(7)[0]["content"]["raw"] == "<!-- jira-brief -->"


def test_put_refuses_keys_it_does_not_know(fake: FakeBitbucket) -> None:
    with client(fake) as http:
        comment = post(http, "draft").json()
        refused = http.put(f"{COMMENTS}/{comment['id']}", json={"content": {"raw": "x"}, "pending": False})

    assert refused.status_code == 400
    assert refused.json() == {
        "type": "error",
        "error": {"message": "Bad request", "fields": {"pending": "extra keys not allowed"}},
    }


def test_post_without_content_raw_is_400(fake: FakeBitbucket) -> None:
    with client(fake) as http:
        refused = http.post(COMMENTS, json={"content": "plain"})

    assert refused.status_code == 400 and refused.json()["error"]["fields"] == {"content": "required key not provided"}
    assert fake.comments(7) == []


# ---- authentication and errors ----------------------------------------------------------------


def test_wrong_basic_credentials_get_a_plain_text_401(fake: FakeBitbucket) -> None:
    with httpx2.Client(base_url=fake.api_url, auth=(fake.email, "wrong"), verify=TLS) as http:
        refused = http.get(PULL)

    assert refused.status_code == 401 and refused.headers["content-type"] == "text/plain"
    assert refused.text == LOGIN_FAILED
    assert refused.headers["www-authenticate"].startswith("BitbucketCustom")


def test_unknown_bearer_token_gets_a_json_401(fake: FakeBitbucket) -> None:
    with client(fake, token="revoked") as http:
        refused = http.get(PULL)

    assert refused.status_code == 401 and refused.json()["error"]["message"] == TOKEN_REFUSED


def test_other_repositories_and_anonymous_callers_see_the_same_404(fake: FakeBitbucket) -> None:
    with client(fake) as http:
        other = http.get("/repositories/acme/secret/pullrequests/7")
    with httpx2.Client(base_url=fake.api_url, verify=TLS) as anonymous:
        hidden = anonymous.get(PULL)

    assert other.status_code == hidden.status_code == 404
    assert other.json()["error"]["message"] == hidden.json()["error"]["message"] == NO_REPOSITORY


def test_public_repository_is_readable_but_not_writable_anonymously() -> None:
    with FakeBitbucket(private=False) as fake:
        fake.add_pull(7, title="t", source_branch="b")
        with httpx2.Client(base_url=fake.api_url, verify=TLS) as anonymous:
            read = anonymous.get(PULL)
            write = post(anonymous, "hi")

    assert read.status_code == 200 and write.status_code == 401


def test_read_only_token_gets_a_403_naming_the_missing_scope(fake: FakeBitbucket) -> None:
    fake.read_only = True
    with client(fake) as http:
        refused = post(http, "hi")

    assert refused.status_code == 403
    assert refused.json()["error"]["detail"] == {"granted": ["pullrequest"], "required": ["pullrequest:write"]}


def test_a_500_after_storing_leaves_the_comment_behind(fake: FakeBitbucket) -> None:
    fake.fail_next("POST", r"/comments$", 500, after_apply=True)

    with client(fake) as http:
        failed = post(http, "brief v1")
        listed = all_pages(http, COMMENTS)

    assert failed.status_code == 500
    assert failed.json()["error"]["message"] == "Something went wrong" and failed.json()["error"]["id"]
    # A client that re-sent the POST now would make a second brief: it must look first.
    assert [c["content"]["raw"] for c in listed] == ["brief v1"]


def test_a_500_before_storing_leaves_nothing(fake: FakeBitbucket) -> None:
    fake.fail_next("POST", r"/comments$", 503)

    with client(fake) as http:
        failed = post(http, "brief v1")

    assert failed.status_code == 503 and fake.comments(7) == []


def test_a_scripted_429_is_plain_text_without_retry_after(fake: FakeBitbucket) -> None:
    fake.fail_next("GET", r"/comments$", 429)

    with client(fake) as http:
        limited = http.get(COMMENTS)
        again = http.get(COMMENTS)

    assert limited.status_code == 429 and limited.text == RATE_LIMITED
    assert limited.headers["content-type"].startswith("text/plain") and "retry-after" not in limited.headers
    assert again.status_code == 200


def test_rate_limit_headers_are_for_access_tokens_only(fake: FakeBitbucket) -> None:
    fake.rate_limit = 5
    with client(fake) as token_http, client(fake, basic=True) as basic_http:
        seen = [token_http.get(PULL) for _ in range(6)]
        basic = basic_http.get(PULL)

    assert [r.status_code for r in seen] == [200] * 5 + [429]
    assert seen[0].headers["x-ratelimit-limit"] == "5" and seen[0].headers["x-ratelimit-resource"] == "api"
    assert [r.headers["x-ratelimit-nearlimit"] for r in seen[:5]] == ["false"] * 4 + ["true"]
    assert basic.status_code == 200 and "x-ratelimit-limit" not in basic.headers


def test_a_body_over_the_request_limit_gets_djangos_html_400(fake: FakeBitbucket) -> None:
    fake.max_request_bytes = 1000

    with client(fake) as http:
        refused = post(http, "x" * 1000)
        accepted = post(http, "x" * 900)

    assert refused.status_code == 400 and refused.text == TOO_BIG
    assert refused.headers["content-type"].startswith("text/html")
    assert accepted.status_code == 201 and len(fake.comments(7)) == 1


def test_requests_are_recorded_and_concurrent_posts_all_land(fake: FakeBitbucket) -> None:
    def worker(n: int) -> None:
        with client(fake) as http:
            post(http, f"parallel {n}").raise_for_status()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(c["content"]["raw"] for c in fake.comments(7)) == sorted(f"parallel {n}" for n in range(12))
    assert len({c["id"] for c in fake.comments(7)}) == 12
    assert sum(1 for method, path, _ in fake.requests if method == "POST" and path.endswith("/comments")) == 12


def test_the_server_is_gone_after_the_context_ends() -> None:
    with FakeBitbucket() as fake:
        port = int(fake.url.rsplit(":", 1)[1])

    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


# ---- what a comment looks like on the page --------------------------------------------------------


def test_raw_html_shows_as_text_so_an_html_comment_hides_nothing(fake: FakeBitbucket) -> None:
    with client(fake) as http:
        html = post(http, "<!-- jira-brief -->\n<details><summary>More</summary>\n\nbody\n</details>").json()
    shown = html["content"]["html"]

    assert "&lt;!-- jira-brief --&gt;" in shown and "<!--" not in shown
    assert "&lt;details&gt;" in shown and "<details>" not in shown


def test_a_link_reference_definition_renders_nothing() -> None:
    shown = render_markdown("[//]: # (jira-brief:section key=SHOP-12)\n[jira-brief]: #\n\nThe brief.")

    assert shown == "<p>The brief.</p>"


def test_entities_show_literally_and_markdown_features_work() -> None:
    shown = render_markdown("a&nbsp;b ~~old~~ `<b>`\n\n| k | v |\n|---|---|\n| 1 | 2 |\n\n```\n<i>\n```")

    assert "a&amp;nbsp;b" in shown and "<del>old</del>" in shown and "<code>&lt;b&gt;</code>" in shown
    assert "<table>" in shown and "<td>1</td>" in shown
    assert "<pre><code>&lt;i&gt;\n</code></pre>" in shown


def test_mentions_name_known_accounts_only_and_urls_become_links(fake: FakeBitbucket) -> None:
    alice = fake.add_user("Alice Smith")
    with client(fake) as http:
        raw = f"cc @{{{alice.account_id}}} @{{557058:unknown}} @alice https://evil.example/x."
        shown = post(http, raw).json()["content"]["html"]

    assert f'<span class="ap-mention" data-atlassian-id="{alice.account_id}">@alice</span>' in shown
    assert "@{557058:unknown}" in shown and " @alice " in shown
    assert '<a href="https://evil.example/x" rel="nofollow">https://evil.example/x</a>.' in shown
