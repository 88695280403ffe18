"""A merge request's diffs as GitLab lists them, and links into its Changes tab: the anchors are checked
against GitLab's own rule as FakeGitLab states it (`line_code`: SHA-1 of the path, old line, new line)."""

from __future__ import annotations

from jira_brief.brief.diff import parse_hunks
from jira_brief.forges.gitlab.changes import changes_link, file_of_gitlab, old_line
from tests.fakes.gitlab_server import FileDiff, file_anchor, line_code

MR_URL = "https://gitlab.example.com/acme/shop/-/merge_requests/7"
# Two hunks: the first replaces two lines by one, the second adds two lines further down.
PATCH = (
    "@@ -10,4 +10,3 @@ def pay():\n"
    " keep = 1\n"
    "-old_a = 2\n"
    "-old_b = 3\n"
    "+new_a = 2\n"
    " tail = 4\n"
    "@@ -40,2 +39,4 @@ def refund():\n"
    " first = 1\n"
    "+added_1 = 2\n"
    "+added_2 = 3\n"
    " last = 4\n"
)


def test_each_item_shape_becomes_a_file_of_the_change() -> None:
    items = [
        FileDiff.modified("app/cart.py", PATCH),
        FileDiff.binary("img/logo.png", new_file=True),
        FileDiff.renamed("docs/a.md", "docs/b.md"),
        FileDiff.too_large_file("vendor/huge.js"),
        FileDiff.collapsed_file("data/big.csv"),
        FileDiff.deleted("old.py", "@@ -1,2 +0,0 @@\n-a\n-b\n"),
        FileDiff.added("new.py", "@@ -0,0 +1 @@\n+x\n"),
    ]

    files = [file_of_gitlab(item.to_json()) for item in items]

    shapes = [(f.path, f.status, f.binary, len(f.hunks), f.old_path) for f in files if f]
    assert shapes == [
        ("app/cart.py", "modified", False, 2, None),
        ("img/logo.png", "added", True, 0, None),
        ("docs/b.md", "renamed", False, 0, "docs/a.md"),
        ("vendor/huge.js", "modified", True, 0, None),
        ("data/big.csv", "modified", True, 0, None),
        ("old.py", "removed", False, 1, None),
        ("new.py", "added", False, 1, None),
    ]
    assert file_of_gitlab({"diff": "@@ -1 +1 @@\n-a\n+b\n"}) is None


def test_the_old_line_of_a_new_line_follows_gitlab_counting() -> None:
    hunks = parse_hunks(PATCH)

    pairs = {new: old_line(hunks, new) for new in (10, 11, 12, 39, 40, 41, 42, 25, 50)}

    # 11 is the added line: paired with the old side's counter at that point (13, after two removals),
    # the number the next unchanged line has.
    assert pairs == {10: 10, 11: 13, 12: 13, 39: 40, 40: 41, 41: 41, 42: 41, 25: None, 50: None}


def test_links_open_the_changes_tab_at_gitlabs_line_anchor() -> None:
    item = file_of_gitlab(FileDiff.modified("app/cart.py", PATCH).to_json())

    assert changes_link(MR_URL, item, "app/cart.py", "40-42") == f"{MR_URL}/diffs#{line_code('app/cart.py', 41, 40)}"
    assert changes_link(MR_URL, item, "app/cart.py", "11") == f"{MR_URL}/diffs#{line_code('app/cart.py', 13, 11)}"
    # A line the hunks do not show, an odd range, a file not in the change: the file itself.
    for lines in ("25", "x-3", None):
        assert changes_link(MR_URL, item, "app/cart.py", lines) == f"{MR_URL}/diffs#{file_anchor('app/cart.py')}"
    assert changes_link(MR_URL, None, "elsewhere.py", "3") == f"{MR_URL}/diffs#{file_anchor('elsewhere.py')}"


def test_a_removed_file_links_to_the_file() -> None:
    item = file_of_gitlab(FileDiff.deleted("old.py", "@@ -1,2 +0,0 @@\n-a\n-b\n").to_json())

    assert changes_link(MR_URL, item, "old.py", "1") == f"{MR_URL}/diffs#{file_anchor('old.py')}"
