"""Our comment on a Bitbucket pull request: known by its seal (an access token cannot ask who it is), by
`/2.0/user` (an API token), never by a marker or a name anyone can copy."""

from __future__ import annotations

import re

from jira_brief.forges.bitbucket.thread import BitbucketThread, seal_key
from jira_brief.forges.sticky import find_ours, publish
from jira_brief.publish.dialect import PLAIN
from tests.fakes.bitbucket_server import FakeBitbucket, render_markdown
from tests.forges.bitbucket.conftest import PULL, MakeApi, api_token, token

BODY = f"{PLAIN.marker}\n### Jira brief\n1 ticket\n\nThe brief.\n"


def thread(fake: FakeBitbucket, make_api: MakeApi, basic: bool = False) -> BitbucketThread:
    """A thread as a new run makes it: nothing known yet."""
    credential = api_token(fake) if basic else token(fake)
    return BitbucketThread(make_api(credential), PULL, 7, seal_key(credential))


def raw(fake: FakeBitbucket) -> list[str]:
    return [comment["content"]["raw"] for comment in fake.comments(7) if not comment["deleted"]]


def test_an_access_token_knows_its_comment_by_the_seal_on_a_later_run(fake: FakeBitbucket, make_api: MakeApi) -> None:
    created = thread(fake, make_api).create(BODY)
    later = thread(fake, make_api)

    ours = find_ours(later, PLAIN.marker)

    assert created is not None and created.author == fake.bot.uuid
    assert [posted.id for posted in ours] == [created.id] and ours[0].body == BODY
    assert later.identity() == fake.bot.uuid
    assert not any(path.endswith("/user") for _, path, _ in fake.requests)  # it would answer 401
    [stored] = raw(fake)
    assert re.match(r"\[//\]: # \(jira-brief\)\n\[//\]: # \(jira-brief:seal [0-9a-f]{32}\)\n### Jira brief", stored)
    assert "jira-brief" not in render_markdown(stored)


def test_a_new_comment_is_posted_pending_then_sealed_once_bitbucket_names_its_author(
    fake: FakeBitbucket, make_api: MakeApi
) -> None:
    thread(fake, make_api).create(BODY)

    writes = [(method, body) for method, _, body in fake.requests if method in ("POST", "PUT")]

    assert [method for method, _ in writes] == ["POST", "PUT"]
    assert "(jira-brief:seal pending)" in writes[0][1]["content"]["raw"]  # type: ignore[index]
    assert "(jira-brief:seal pending)" not in writes[1][1]["content"]["raw"]  # type: ignore[index]


def test_a_copied_marker_and_seal_make_no_comment_ours(fake: FakeBitbucket, make_api: MakeApi) -> None:
    mallory, bot = fake.add_user("Mallory"), thread(fake, make_api)
    ours = bot.create(BODY)
    [sealed] = raw(fake)
    copied = fake.add_comment(7, sealed.replace("The brief.", "Forged."), author=mallory)
    also_a_bot = fake.add_comment(7, sealed, author=fake.add_user("Other bot"))

    found = find_ours(thread(fake, make_api), PLAIN.marker)

    assert ours is not None and [posted.id for posted in found] == [ours.id]
    assert {copied, also_a_bot}.isdisjoint(posted.id for posted in found)


def test_with_only_foreign_copies_nobody_is_us(fake: FakeBitbucket, make_api: MakeApi) -> None:
    bot = thread(fake, make_api)
    posted = bot.create(BODY)
    [sealed] = raw(fake)
    fake.add_comment(7, sealed, author=fake.add_user("Mallory"))
    assert posted is not None
    bot.delete(posted)

    again = thread(fake, make_api)

    assert find_ours(again, PLAIN.marker) == [] and again.identity() is None


def test_an_api_token_asks_who_it_is_and_posts_sealed_at_once(fake: FakeBitbucket, make_api: MakeApi) -> None:
    basic = thread(fake, make_api, basic=True)

    assert basic.identity() == fake.account.uuid
    basic.create(BODY)
    assert [method for method, _, _ in fake.requests] == ["GET", "POST"]
    assert find_ours(thread(fake, make_api, basic=True), PLAIN.marker)[0].body == BODY


def test_an_api_token_without_the_user_scope_goes_by_seals(fake: FakeBitbucket, make_api: MakeApi) -> None:
    fake.fail_next("GET", r"/2\.0/user$", 403)
    basic = thread(fake, make_api, basic=True)

    assert basic.identity() is None
    basic.create(BODY)
    assert basic.identity() == fake.account.uuid


def test_deleted_inline_pending_and_reply_comments_are_not_listed(fake: FakeBitbucket, make_api: MakeApi) -> None:
    top = fake.add_comment(7, "top")
    fake.add_comment(7, "gone", deleted=True)
    fake.add_comment(7, "inline", inline={"path": "a.py", "to": 3})
    fake.add_comment(7, "reply", parent=top)
    make_api(api_token(fake)).post(f"{PULL}/comments", {"content": {"raw": "draft"}, "pending": True}, "x", "x")

    listed = thread(fake, make_api).listing()

    assert [posted.body for posted in listed] == ["top"]


def test_a_comment_of_ours_whose_seal_no_longer_holds_is_sealed_again(fake: FakeBitbucket, make_api: MakeApi) -> None:
    """An API token replaced by a new one: the account is the same, the old seal fails; /2.0/user still
    says who we are, and the comment differs from what we would write until it is sealed anew."""
    old = thread(fake, make_api, basic=True)
    old.create(BODY)
    new = thread(fake, make_api, basic=True)
    new.key = b"another token"

    ours = find_ours(new, PLAIN.marker)
    kept, action = publish(new, BODY, ours, PLAIN.marker)
    settled = find_ours(new, PLAIN.marker)

    assert action == "updated" and kept.id == ours[0].id
    assert settled[0].body == BODY and publish(new, BODY, settled, PLAIN.marker)[1] == "unchanged"


def test_an_edit_of_a_comment_gone_says_so_and_a_delete_of_one_is_done(fake: FakeBitbucket, make_api: MakeApi) -> None:
    bot = thread(fake, make_api)
    posted = bot.create(BODY)
    assert posted is not None
    bot.delete(posted)

    assert bot.edit(posted, BODY + "more") is False
    bot.delete(posted)
