"""A Bitbucket pull request as a `Forge`: its texts, its files from the diff and the diffstat, its links."""

from __future__ import annotations

import dataclasses

from jira_brief.forges.bitbucket.forge import BitbucketPull
from tests.fakes.bitbucket_server import FakeBitbucket
from tests.forges.bitbucket.conftest import MakeApi


def pull(fake: FakeBitbucket, make_api: MakeApi, number: int = 7) -> BitbucketPull:
    return BitbucketPull.read(make_api(), "acme/shop", number)


def test_the_review_comes_from_the_api(fake: FakeBitbucket, make_api: MakeApi) -> None:
    fake.add_pull(8, title="From a fork", source_branch="patch-1", source_repo="stranger/shop")

    review, fork = pull(fake, make_api).review(), pull(fake, make_api, 8).review()

    assert (review.number, review.title, review.branch, review.body) == (
        7,
        "PAY-142 split payments",
        "feature/WEB-88-email",
        "Also WEB-91",
    )
    assert review.web_url == "https://bitbucket.org/acme/shop/pull-requests/7" and not review.is_fork
    assert fork.is_fork


def test_commits_come_oldest_first_across_pages(fake: FakeBitbucket, make_api: MakeApi) -> None:
    fake.add_pull(9, title="Many", source_branch="many", commits=[f"PAY-{n} step" for n in range(1, 151)])

    commits = pull(fake, make_api, 9).commits()

    assert [message for _, message in commits] == [f"PAY-{n} step" for n in range(1, 151)]
    assert all(len(sha) == 7 for sha, _ in commits)


def test_the_change_joins_the_diffstat_and_the_diff(fake: FakeBitbucket, make_api: MakeApi) -> None:
    fake.add_file(7, "shop/cart.py", patch="@@ -1,2 +1,2 @@\n-total = 0\n+total = sum(items)\n keep\n")
    fake.add_file(7, "docs/logo.png", status="added", patch=None)
    fake.add_file(7, "shop/tax.py", status="renamed", old_path="shop/vat.py", patch="@@ -3 +3 @@\n-a\n+b\n")
    fake.add_file(7, "legacy.txt", status="removed", patch="@@ -1 +0,0 @@\n-gone\n")

    files = {item.path: item for item in pull(fake, make_api).change().files}

    assert list(files) == ["shop/cart.py", "docs/logo.png", "shop/tax.py", "legacy.txt"]
    assert files["shop/cart.py"].hunks[0].lines == ("-total = 0", "+total = sum(items)", " keep")
    assert files["docs/logo.png"].binary and files["docs/logo.png"].status == "added"
    assert (files["shop/tax.py"].status, files["shop/tax.py"].old_path) == ("renamed", "shop/vat.py")
    assert files["legacy.txt"].status == "removed" and not files["legacy.txt"].binary


def test_files_past_the_diffs_cap_are_still_listed_without_hunks(fake: FakeBitbucket, make_api: MakeApi) -> None:
    for number in range(600):  # more than one diffstat page (500 a page)
        fake.add_file(7, f"src/module_{number:03}.py", patch=f"@@ -1 +1 @@\n-old {number}\n+new {number}\n")
    capped = dataclasses.replace(pull(fake, make_api), diff_cap=20_000)

    files = capped.change().files

    assert len(files) == 600 and files[0].hunks and not files[0].binary
    assert not files[-1].hunks and files[-1].binary  # no text patch read: judged by name, like a binary file
    assert any(
        path.startswith("/2.0/repositories/acme/shop/diffstat/") and "page=2" in path for _, path, _ in fake.requests
    )


def test_evidence_links_open_the_diff_at_the_file_or_at_its_line(fake: FakeBitbucket, make_api: MakeApi) -> None:
    forge = pull(fake, make_api)
    page = "https://bitbucket.org/acme/shop/pull-requests/7/diff"

    assert forge.file_link("shop/cart.py", None) == f"{page}#chg-shop/cart.py"
    assert forge.file_link("shop/cart.py", "12-30") == f"{page}#Lshop/cart.pyT12"
    assert forge.file_link("docs/read me (old).md", "3") == f"{page}#Ldocs/read%20me%20%28old%29.mdT3"
