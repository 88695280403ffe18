"""Drive FakeGitLab with python-gitlab (and raw HTTP where python-gitlab hides the wire).

These tests pin down what a bot keeping one sticky note on a merge request runs into on
GitLab: offset pagination and note order, quick actions in note bodies, the CI job token's
refusals, GitLab's error bodies, and python-gitlab's retries (a POST re-sent after a 5xx).
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterator
from typing import Any

import gitlab
import pytest
import requests
from gitlab.v4.objects import ProjectMergeRequest

from tests.fakes.gitlab_server import (
    API_PREFIX,
    MAX_NOTE_CHARS,
    FakeGitLab,
    FileDiff,
    extract_quick_actions,
    file_anchor,
    line_code,
)

NOTES = "/projects/4242/merge_requests/7/notes"


@pytest.fixture
def fake() -> Iterator[FakeGitLab]:
    """A running fake with one open MR !7 carrying two commits."""
    with FakeGitLab() as server:
        server.add_merge_request(
            7, title="Checkout rework", source_branch="feature/SHOP-12", commits=["SHOP-12 cart", "SHOP-13 tax"]
        )
        yield server


def connect(fake: FakeGitLab, **options: Any) -> gitlab.Gitlab:
    """python-gitlab pointed at the fake with the project access token unless told otherwise."""
    if not {"private_token", "oauth_token", "job_token"} & options.keys():
        options["private_token"] = fake.token
    return gitlab.Gitlab(url=fake.url, **options)


def merge_request(fake: FakeGitLab, iid: int = 7, **options: Any) -> ProjectMergeRequest:
    """The MR as the product will load it: project by URL-encoded path, then the MR."""
    return connect(fake, **options).projects.get(fake.project.path, lazy=True).mergerequests.get(iid)


def raw(fake: FakeGitLab, method: str, path: str, *, token: str | None = None, **kwargs: Any) -> requests.Response:
    """One HTTP request under /api/v4 with a PRIVATE-TOKEN header (none when token == "")."""
    headers = kwargs.pop("headers", {})
    if token != "":
        headers.setdefault("PRIVATE-TOKEN", token or fake.token)
    return requests.request(method, fake.api_url + path, headers=headers, timeout=5, **kwargs)


def posts(fake: FakeGitLab) -> list[str]:
    return [request.target for request in fake.requests if request.method == "POST"]


# ---- merge requests ---------------------------------------------------------------------


def test_merge_request_by_path_or_numeric_id(fake: FakeGitLab) -> None:
    by_path = merge_request(fake)
    by_id = connect(fake).projects.get(4242, lazy=True).mergerequests.get(7)

    assert by_path.attributes == by_id.attributes
    assert (by_path.title, by_path.description, by_path.source_branch, by_path.target_branch) == (
        "Checkout rework",
        None,
        "feature/SHOP-12",
        "main",
    )
    assert by_path.source_project_id == by_path.target_project_id == by_path.project_id == 4242
    assert by_path.sha == by_path.diff_refs["head_sha"] != by_path.diff_refs["base_sha"]
    assert by_path.web_url == f"{fake.url}/acme/shop/-/merge_requests/7"
    assert by_path.author["username"] == "dev" and by_path.id != by_path.iid
    assert fake.requests[0].target == "/api/v4/projects/acme%2Fshop/merge_requests/7"


def test_fork_merge_request_has_another_source_project(fake: FakeGitLab) -> None:
    fake.add_merge_request(8, title="From a fork", source_branch="patch-1", source_project="someone/shop")

    mr = merge_request(fake, 8)

    assert mr.source_project_id != mr.target_project_id == 4242
    assert mr.allow_collaboration is False


def test_missing_project_merge_request_and_route_have_gitlab_bodies(fake: FakeGitLab) -> None:
    with pytest.raises(gitlab.GitlabGetError) as missing_mr:
        merge_request(fake, 99)
    with pytest.raises(gitlab.GitlabGetError) as missing_project:
        connect(fake).projects.get("acme/nope", lazy=True).mergerequests.get(7)

    assert (missing_mr.value.response_code, missing_mr.value.error_message) == (404, "404 Not found")
    assert missing_project.value.error_message == "404 Project Not Found"
    assert raw(fake, "GET", "/projects/acme/shop/merge_requests/7").json() == {"error": "404 Not Found"}
    assert raw(fake, "GET", "/projects/4242/merge_requests/seven").json() == {"error": "merge_request_iid is invalid"}


def test_commits_are_newest_first_across_pages(fake: FakeGitLab) -> None:
    fake.push_commits(7, [f"SHOP-{n} step" for n in range(30)])

    commits = list(merge_request(fake).commits())

    assert len(commits) == 32
    assert commits[0].title == "SHOP-29 step" and commits[-1].title == "SHOP-12 cart"
    assert commits[0].id == merge_request(fake).sha
    pages = [r.target for r in fake.requests if "/merge_requests/7/commits" in r.target]
    assert pages[0] == "/api/v4/projects/acme%2Fshop/merge_requests/7/commits"
    assert len(pages) == 2 and "page=2" in pages[1]


def test_diffs_item_shapes(fake: FakeGitLab) -> None:
    fake.set_diffs(
        7,
        [
            FileDiff.modified("app/cart.py", "@@ -1,2 +1,2 @@\n-a\n+b\n c\n"),
            FileDiff.binary("img/logo.png", new_file=True),
            FileDiff.binary("img/old.png", deleted_file=True),
            FileDiff.renamed("docs/a.md", "docs/b.md"),
            FileDiff.too_large_file("vendor/huge.js"),
            FileDiff.collapsed_file("data/big.csv"),
        ],
    )
    path = f"/projects/{merge_request(fake).project_id}/merge_requests/7/diffs"

    diffs = connect(fake).http_list(path, get_all=True)
    unified = raw(fake, "GET", "/projects/4242/merge_requests/7/diffs?unidiff=true").json()

    assert isinstance(diffs, list)
    assert list(diffs[0]) == [
        "diff",
        "collapsed",
        "too_large",
        "new_path",
        "old_path",
        "a_mode",
        "b_mode",
        "new_file",
        "renamed_file",
        "deleted_file",
        "generated_file",
    ]
    assert diffs[1]["diff"] == "Binary files /dev/null and b/img/logo.png differ\n"
    assert (diffs[1]["a_mode"], diffs[1]["new_file"]) == ("0", True)
    assert diffs[2]["diff"] == "Binary files a/img/old.png and /dev/null differ\n" and diffs[2]["b_mode"] == "0"
    assert (diffs[3]["old_path"], diffs[3]["new_path"], diffs[3]["renamed_file"], diffs[3]["diff"]) == (
        "docs/a.md",
        "docs/b.md",
        True,
        "",
    )
    assert (diffs[4]["too_large"], diffs[4]["diff"], diffs[5]["collapsed"], diffs[5]["diff"]) == (True, "", True, "")
    assert unified[0]["diff"].startswith("--- a/app/cart.py\n+++ b/app/cart.py\n@@ -1,2")
    assert unified[1]["diff"] == diffs[1]["diff"]
    assert merge_request(fake).changes_count == "6"


def test_diff_anchor_is_sha1_of_path_then_old_and_new_line() -> None:
    digest = hashlib.sha1(b"app/cart.py").hexdigest()

    assert file_anchor("app/cart.py") == digest
    assert line_code("app/cart.py", 10, 12) == f"{digest}_10_12"


# ---- notes: listing ---------------------------------------------------------------------


def test_notes_paginate_twenty_by_default_with_gitlab_headers(fake: FakeGitLab) -> None:
    ids = [fake.add_note(7, f"note {n}") for n in range(45)]

    first = raw(fake, "GET", "/projects/acme%2Fshop/merge_requests/7/notes")
    capped = raw(fake, "GET", "/projects/4242/merge_requests/7/notes?per_page=500")
    beyond = raw(fake, "GET", "/projects/4242/merge_requests/7/notes?page=9")

    assert [note["id"] for note in first.json()] == ids[::-1][:20]  # newest first
    headers = first.headers
    assert (headers["X-Per-Page"], headers["X-Page"], headers["X-Next-Page"], headers["X-Prev-Page"]) == (
        "20",
        "1",
        "2",
        "",
    )
    assert (headers["X-Total"], headers["X-Total-Pages"]) == ("45", "3")
    links = dict((rel, url) for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', headers["Link"]))
    assert list(links) == ["next", "first", "last"]
    expected = "/api/v4/projects/acme%2Fshop/merge_requests/7/notes?id=acme%2Fshop&noteable_id=7&page=2&per_page=20"
    assert links["next"] == fake.url + expected
    assert (capped.headers["X-Per-Page"], len(capped.json())) == ("100", 45)
    assert (beyond.json(), beyond.headers["X-Next-Page"], beyond.headers["X-Prev-Page"]) == ([], "", "")


def test_python_gitlab_follows_links_but_warns_without_get_all(fake: FakeGitLab) -> None:
    ids = [fake.add_note(7, f"note {n}") for n in range(25)]
    mr = merge_request(fake)

    with pytest.warns(UserWarning, match="get_all=True"):
        first_page = mr.notes.list()
    every = mr.notes.list(get_all=True, sort="asc")

    assert len(first_page) == 20
    assert [note.id for note in every] == ids


def test_notes_order_and_system_notes_mixed_in(fake: FakeGitLab) -> None:
    old = fake.add_note(7, "first comment")
    fake.push_commits(7, ["SHOP-14 fix"])
    new = fake.add_note(7, "second comment")
    mr = merge_request(fake)
    edited = mr.notes.get(old)
    edited.body = "first comment, edited"
    edited.save()

    by_id = [(note.id, note.system) for note in mr.notes.list(get_all=True)]
    by_update = [note.id for note in mr.notes.list(get_all=True, order_by="updated_at")]
    comments = [note.id for note in mr.notes.list(get_all=True, activity_filter="only_comments")]
    activity = mr.notes.list(get_all=True, activity_filter="only_activity")

    assert by_id[0] == (new, False) and by_id[2] == (old, False) and by_id[1][1] is True
    assert by_update[0] == old
    assert comments == [new, old]
    assert len(activity) == 1 and activity[0].body.startswith("added 1 commit\n\n<ul><li>")
    assert "[Compare with previous version](/acme/shop/-/merge_requests/7/diffs?diff_id=" in activity[0].body
    assert raw(fake, "GET", "/projects/4242/merge_requests/7/notes?sort=sideways").json() == {
        "error": "sort does not have a valid value"
    }
    assert raw(fake, "GET", "/projects/4242/merge_requests/7/notes?per_page=x").json() == {
        "error": "per_page is invalid"
    }


# ---- notes: writing ---------------------------------------------------------------------


def test_note_is_written_by_the_token_bot_then_edited_and_deleted(fake: FakeGitLab) -> None:
    gl = connect(fake)
    gl.auth()
    mr = gl.projects.get(4242, lazy=True).mergerequests.get(7)

    note = mr.notes.create({"body": "<!-- jira-brief -->\nBrief v1"})
    note.body = "<!-- jira-brief -->\nBrief v2"
    note.save()

    assert gl.user is not None and note.author["username"] == gl.user.username == fake.bot.username
    assert [n["body"] for n in fake.notes(7)] == ["<!-- jira-brief -->\nBrief v2"]
    assert merge_request(fake).user_notes_count == 1
    note.delete()
    assert fake.notes(7) == []
    assert [r.method for r in fake.requests if r.target.startswith(API_PREFIX + NOTES + "/")] == ["PUT", "DELETE"]
    assert raw(fake, "GET", f"{NOTES}/{note.id}").json() == {"message": "404 Not found"}


def test_system_notes_and_others_notes_are_not_ours_to_edit(fake: FakeGitLab) -> None:
    fake.push_commits(7, ["SHOP-14 fix"])
    system_id = fake.notes(7)[0]["id"]
    human_id = fake.add_note(7, "LGTM")
    fake.add_token("glpat-developer", username="dev", role="developer")
    fake.add_user("reviewer")

    refused = [
        raw(fake, "PUT", f"{NOTES}/{system_id}", json={"body": "x"}),
        raw(fake, "DELETE", f"{NOTES}/{system_id}"),
        raw(
            fake,
            "PUT",
            f"{NOTES}/{fake.add_note(7, 'mine?', author='reviewer')}",
            token="glpat-developer",
            json={"body": "x"},
        ),
    ]
    maintainer_edit = raw(fake, "PUT", f"{NOTES}/{human_id}", json={"body": "edited by a maintainer"})

    assert [(r.status_code, r.json()) for r in refused] == [(403, {"message": "403 Forbidden"})] * 3
    assert maintainer_edit.status_code == 200 and maintainer_edit.json()["author"]["username"] == "dev"


def test_note_size_limit_and_blank_body(fake: FakeGitLab) -> None:
    mr = merge_request(fake)

    accepted = mr.notes.create({"body": "x" * MAX_NOTE_CHARS})
    with pytest.raises(gitlab.GitlabCreateError) as too_long:
        mr.notes.create({"body": "x" * (MAX_NOTE_CHARS + 1)})
    with pytest.raises(gitlab.GitlabUpdateError) as edit_too_long:
        accepted.body = "y" * (MAX_NOTE_CHARS + 1)
        accepted.save()
    blank = raw(fake, "POST", NOTES, json={"body": " \n "})
    missing = raw(fake, "POST", NOTES, json={"note": "wrong key"})
    empty_edit = raw(fake, "PUT", f"{NOTES}/{accepted.id}", json={"body": ""})

    message = '400 Bad request - Note {:note=>["is too long (maximum is 1000000 characters)"]}'
    assert (too_long.value.response_code, too_long.value.error_message) == (400, message)
    assert edit_too_long.value.error_message == message
    assert blank.json() == {"message": '400 Bad request - Note {:note=>["can\'t be blank"]}'}
    assert (missing.status_code, missing.json()) == (400, {"error": "body is missing"})
    assert empty_edit.json() == {"error": "body is empty"}
    assert len(fake.notes(7)) == 1 and len(fake.notes(7)[0]["body"]) == MAX_NOTE_CHARS


def test_notes_per_merge_request_are_capped(fake: FakeGitLab) -> None:
    fake.max_notes = 2  # GitLab's cap is 5,000, system notes included
    fake.push_commits(7, ["SHOP-14 fix"])
    fake.add_note(7, "one")

    refused = raw(fake, "POST", NOTES, json={"body": "two"})

    assert refused.json() == {"message": '400 Bad request - Note {:base=>["Maximum number of comments exceeded"]}'}


# ---- quick actions ----------------------------------------------------------------------


def test_quick_action_at_a_line_start_runs_and_is_stripped(fake: FakeGitLab) -> None:
    note = merge_request(fake).notes.create({"body": 'Brief for SHOP-12\n/label ~bug ~"needs review"\nEnd'})

    assert note.body == "Brief for SHOP-12\nEnd"
    assert note.commands_changes == {"add_label_ids": note.commands_changes["add_label_ids"]}
    assert [(qa.name, qa.arg, qa.applied, qa.note_id) for qa in fake.quick_actions] == [
        ("label", '~bug ~"needs review"', True, note.id)
    ]
    assert fake.merge_request(7)["labels"] == ["bug", "needs review"]


def test_note_of_commands_only_is_not_stored_and_answers_202(fake: FakeGitLab) -> None:
    mr = merge_request(fake)

    response = raw(fake, "POST", NOTES, json={"body": "/close"})
    created = mr.notes.create({"body": "/reopen\n/due tomorrow"})

    assert (response.status_code, response.json()) == (
        202,
        {"commands_changes": {"state_event": "close"}, "summary": ["Closed this merge request."]},
    )
    assert fake.notes(7) == []
    assert created.summary == ["Reopened this merge request. Could not apply due command."]
    assert not hasattr(created, "id")  # python-gitlab builds a note object without an id from a 202
    assert [(qa.name, qa.applied, qa.note_id) for qa in fake.quick_actions] == [
        ("close", True, None),
        ("reopen", True, None),
        ("due", False, None),
    ]
    assert fake.merge_request(7)["state"] == "opened"


def test_editing_a_note_runs_commands_and_commands_only_deletes_it(fake: FakeGitLab) -> None:
    note = merge_request(fake).notes.create({"body": "Brief v1"})

    kept = raw(fake, "PUT", f"{NOTES}/{note.id}", json={"body": "Brief v2\n/approve"})
    gone = raw(fake, "PUT", f"{NOTES}/{note.id}", json={"body": "/unapprove"})

    assert kept.json()["body"] == "Brief v2"
    assert (gone.status_code, gone.json()["summary"]) == (202, ["Unapproved the current merge request."])
    assert fake.notes(7) == []
    assert [(qa.name, qa.method, qa.note_id) for qa in fake.quick_actions] == [
        ("approve", "PUT", note.id),
        ("unapprove", "PUT", None),
    ]


@pytest.mark.parametrize(
    "body",
    [
        "```\n/close\n```",
        "~~~\n/close\n~~~",
        "Text:\n\n    /close",
        "- /close",
        "> quoted\n/close",
        ">>>\n/close\n>>>",
        "Hello\n>>>\nText\n/close\n>>>",
        "<!--\n/close\n-->",
        "<details>\n/close\n</details>",
        "Text\n<b>\n/close\n</b>",
        "Hello `Text\n/close\n`",
        "| a |\n|---|\n| /close |",
        "  /close",
        "run /close now",
        "/closed is not a command",
        "/close-out",
        "**/close**",
        "/cc @dev",
        "/usr/bin/env python",
    ],
)
def test_commands_outside_a_paragraph_line_start_do_not_run(fake: FakeGitLab, body: str) -> None:
    note = merge_request(fake).notes.create({"body": body})

    assert note.body == body
    assert fake.quick_actions == [] and fake.merge_request(7)["state"] == "opened"


@pytest.mark.parametrize(
    ("body", "stored", "commands"),
    [
        ("/reopen\nworld", "world", [("reopen", None)]),
        ("hello\n/reopen\nworld", "hello\nworld", [("reopen", None)]),
        ("hello\n/assign @joe / @jane", "hello", [("assign", "@joe / @jane")]),
        ("hello\n/assign@joe\nworld", "hello\n/assign@joe\nworld", []),
        ("hello\n/PoWer ~x\n/LABEL ~x", "hello\n/PoWer ~x", [("label", "~x")]),
        ("/reopen\n`some inline code`\n/label ~a\n`more inline code`", "`some inline code`\n`more inline code`", None),
        ("<!-- this is a comment -->\n\n/label ~bug\n\n<p>\n</p>", "<!-- this is a comment -->\n\n<p>\n</p>", None),
        ("Hello\r\n```\r\nText\r\n/close\r\n```\r\n\r\nWorld  \n\n", "Hello\n```\nText\n/close\n```\n\nWorld", []),
        ("hi\n/tag v1.0", "hi", [("tag", "v1.0")]),
    ],
)
def test_extractor_matches_gitlabs_own_examples(
    body: str, stored: str, commands: list[tuple[str, str | None]] | None
) -> None:
    """Cases from spec/lib/gitlab/quick_actions/extractor_spec.rb (and the \\r / rstrip rule)."""
    content, found = extract_quick_actions(body)

    assert content == stored
    if commands is not None:
        assert found == commands


def test_users_denied_quick_actions_keep_their_text_verbatim(fake: FakeGitLab) -> None:
    fake.add_user("service-bot", bot=True, quick_actions=False)
    fake.add_token("glpat-service", username="service-bot")

    note = merge_request(fake, private_token="glpat-service").notes.create({"body": "/close\r\ntext  "})

    assert note.body == "/close\r\ntext  " and fake.quick_actions == []


# ---- authentication ---------------------------------------------------------------------


def test_user_endpoint_answers_the_project_bot(fake: FakeGitLab) -> None:
    gl = connect(fake)
    gl.auth()

    assert gl.user is not None
    assert re.fullmatch(r"project_4242_bot_[0-9a-f]{32}", gl.user.username)
    assert gl.user.bot is True and gl.user.name == "jira-brief"
    assert gl.user.email == f"{gl.user.username}@noreply.gitlab.example.com"
    assert connect(fake, oauth_token=fake.token).http_get("/user")["id"] == gl.user.id  # type: ignore[index]


def test_job_token_reads_the_merge_request_but_cannot_comment_or_ask_who_it_is(fake: FakeGitLab) -> None:
    gl = connect(fake, job_token=fake.job_token)
    mr = gl.projects.get(4242, lazy=True).mergerequests.get(7)

    listed = mr.notes.list(get_all=True)
    with pytest.raises(gitlab.GitlabAuthenticationError) as create:
        mr.notes.create({"body": "from CI"})
    with pytest.raises(gitlab.GitlabAuthenticationError) as whoami:
        gl.auth()
    with pytest.raises(gitlab.GitlabListError) as commits:
        list(mr.commits())

    assert mr.title == "Checkout rework" and listed == []
    assert (create.value.response_code, create.value.response_body) == (401, b'{"message":"401 Unauthorized"}')
    assert whoami.value.error_message == "401 Unauthorized"
    assert (commits.value.response_code, commits.value.error_message) == (404, "404 Project Not Found")
    assert {r.auth for r in fake.requests} == {"JOB-TOKEN"}
    as_bearer = raw(
        fake, "POST", NOTES, token="", headers={"Authorization": f"Bearer {fake.job_token}"}, json={"body": "x"}
    )
    assert as_bearer.status_code == 401 and fake.notes(7) == []


def test_bad_expired_and_read_only_tokens(fake: FakeGitLab) -> None:
    fake.add_token("glpat-expired", username="dev", expired=True)
    fake.add_token("glpat-read", username="dev", scopes=("read_api",))

    unknown = raw(fake, "GET", "/user", token="glpat-unknown")
    expired = raw(fake, "GET", "/user", token="glpat-expired")
    read_only_post = raw(fake, "POST", NOTES, token="glpat-read", json={"body": "x"})
    read_only_get = raw(fake, "GET", NOTES, token="glpat-read")
    anonymous_user = raw(fake, "GET", "/user", token="")
    anonymous_mr = raw(fake, "GET", "/projects/4242/merge_requests/7", token="")

    assert (unknown.status_code, unknown.json()) == (401, {"message": "401 Unauthorized"})
    assert expired.status_code == 401 and expired.json()["error"] == "invalid_token"
    assert 'error="invalid_token"' in expired.headers["WWW-Authenticate"]
    assert (read_only_post.status_code, read_only_post.json()) == (
        403,
        {
            "error": "insufficient_scope",
            "error_description": "The request requires higher privileges than provided by the access token.",
            "scope": "api",
        },
    )
    assert read_only_get.status_code == 200
    assert anonymous_user.json() == {"message": "401 Unauthorized"}
    assert anonymous_mr.json() == {"message": "404 Project Not Found"}
    assert fake.requests[0].auth == "PRIVATE-TOKEN" and fake.requests[-1].auth is None


def test_public_project_merge_request_reads_without_a_token() -> None:
    with FakeGitLab(visibility="public") as fake:
        fake.add_merge_request(3, title="Docs", source_branch="docs")

        assert gitlab.Gitlab(url=fake.url).projects.get(4242, lazy=True).mergerequests.get(3).title == "Docs"
        assert raw(fake, "GET", "/projects/4242/merge_requests/3/notes", token="").status_code == 401


# ---- rate limits, server errors and python-gitlab's retries ----------------------------------


def test_throttled_post_is_retried_after_retry_after(fake: FakeGitLab) -> None:
    fake.rate_limit_next("POST", r"/notes$")
    probe = raw(fake, "GET", "/user")  # not throttled: the fault matches POST .../notes only

    merge_request(fake).notes.create({"body": "Brief"})

    assert probe.status_code == 200
    assert len(posts(fake)) == 2 and len(fake.notes(7)) == 1
    fake.rate_limit_next("GET", r"/user$", retry_after=7)
    throttled = raw(fake, "GET", "/user")
    assert (throttled.status_code, throttled.text, throttled.headers["Content-Type"]) == (
        429,
        "Retry later\n",
        "text/plain; charset=utf-8",
    )
    assert throttled.headers["Retry-After"] == "7"
    assert {"RateLimit-Limit", "RateLimit-Observed", "RateLimit-Remaining", "RateLimit-Reset"} <= set(throttled.headers)


def test_notes_create_limit_has_no_retry_after(fake: FakeGitLab) -> None:
    fake.rate_limit_next("POST", r"/notes$", notes_create=True)

    with pytest.raises(gitlab.GitlabCreateError) as refused:
        merge_request(fake).notes.create({"body": "Brief"}, obey_rate_limit=False)

    assert refused.value.response_code == 429
    message: Any = refused.value.error_message  # python-gitlab passes GitLab's nested "message" through
    assert message == {"error": "This endpoint has been requested too many times. Try again later."}
    assert "Retry-After" not in raw(fake, "GET", "/user").headers


def test_post_stored_then_500_is_not_retried_by_default(fake: FakeGitLab) -> None:
    fake.fail_next("POST", r"/notes$", 500, after_apply=True)

    with pytest.raises(gitlab.GitlabCreateError) as failed:
        merge_request(fake).notes.create({"body": "Brief"})

    assert (failed.value.response_code, failed.value.error_message) == (500, "500 Internal Server Error")
    assert len(posts(fake)) == 1 and [n["body"] for n in fake.notes(7)] == ["Brief"]


def test_retry_transient_errors_posts_a_stored_note_twice(fake: FakeGitLab) -> None:
    fake.fail_next("POST", r"/notes$", 502, after_apply=True)

    note = merge_request(fake, retry_transient_errors=True).notes.create({"body": "Brief"})

    assert len(posts(fake)) == 2
    assert [n["body"] for n in fake.notes(7)] == ["Brief", "Brief"]  # a duplicate sticky note
    assert note.id == fake.notes(7)[-1]["id"]


def test_proxy_errors_are_html(fake: FakeGitLab) -> None:
    fake.fail_next("GET", r"/merge_requests/7$", 503)

    response = raw(fake, "GET", "/projects/4242/merge_requests/7")

    assert response.status_code == 503 and response.headers["Content-Type"].startswith("text/html")
    assert "GitLab is not responding (503)" in response.text


# ---- concurrency and lifecycle ----------------------------------------------------------


def test_overlapping_runs_both_post_when_neither_saw_the_other(fake: FakeGitLab) -> None:
    fake.delay_next("GET", r"/notes$", 0.2)
    fake.delay_next("GET", r"/notes$", 0.2)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            mr = merge_request(fake)
            barrier.wait(timeout=5)
            if not [n for n in mr.notes.list(get_all=True) if n.body.startswith("<!-- jira-brief -->")]:
                mr.notes.create({"body": "<!-- jira-brief -->\nBrief"})
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert errors == []
    notes = fake.notes(7)
    assert len(notes) == 2 and notes[0]["id"] != notes[1]["id"]


def test_stopping_the_fake_closes_its_port() -> None:
    with FakeGitLab() as fake:
        url = fake.url
        assert raw(fake, "GET", "/user").status_code == 200

    with pytest.raises(RuntimeError):
        _ = fake.url
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/api/v4/user", timeout=2)
