"""The diff module: real `git diff` output and GitHub patches parsed into files and hunks, then reduced to
a budget with what was left out named."""

from __future__ import annotations

from typing import Any

import pytest

from jira_brief.brief.diff import Diff, FileDiff, parse_git_diff, parse_hunks, reduce_diff
from jira_brief.forges.github.forge import file_of_github

# A `patch` field as GitHub's pulls/{n}/files returns it: hunks only, no file header.
GITHUB_PATCH = (
    "@@ -10,6 +10,9 @@ class Checkout:\n"
    "     def pay(self, basket):\n"
    "-        card = basket.card\n"
    "+        first, second = basket.cards\n"
    "+        if basket.total < 100:\n"
    "+            raise SplitNotOffered()\n"
    "+        authorise(first)\n"
    "         return receipt\n"
    "@@ -40 +43,2 @@ def refund(order):\n"
    "-    pass\n"
    "+    refund_each_card(order)\n"
    "+    return order\n"
)


def test_github_patch_becomes_hunks_with_new_file_line_ranges() -> None:
    item = file_of_github("shop/checkout.py", "modified", GITHUB_PATCH)
    assert [hunk.new_lines for hunk in item.hunks] == [(10, 18), (43, 44)]
    assert item.changed_lines == 8
    assert not item.binary


def test_github_file_without_patch_is_binary_or_too_large() -> None:
    assert file_of_github("logo.png", "added", None).binary
    assert not file_of_github("old.py", "removed", None).binary


def test_real_git_diff_with_rename_binary_added_removed_and_quoted_path(git_repo: Any) -> None:
    git_repo.commit("base", {"pay.py": "a\nb\n", "gone.txt": "x\n", "sp ace/é.txt": "hi\n"})
    (git_repo.path / "logo.png").write_bytes(b"\x89PNG\x00\x01")
    git_repo.git("mv", "pay.py", "payment.py")
    (git_repo.path / "payment.py").write_text("a\nB\nc\n", encoding="utf-8")
    (git_repo.path / "gone.txt").unlink()
    (git_repo.path / "sp ace/é.txt").write_text("ho\n", encoding="utf-8")
    (git_repo.path / "new.md").write_text("new\n", encoding="utf-8")
    git_repo.git("add", "-A")
    text = git_repo.git("diff", "--cached", "--no-color", "--no-ext-diff", "-M30%")
    files = {item.path: item for item in parse_git_diff(text).files}
    assert set(files) == {"payment.py", "gone.txt", "sp ace/é.txt", "new.md", "logo.png"}
    assert files["payment.py"].status == "renamed" and files["payment.py"].old_path == "pay.py"
    assert files["gone.txt"].status == "removed"
    assert files["new.md"].status == "added" and files["new.md"].hunks[0].lines == ("+new",)
    assert files["logo.png"].binary
    assert files["sp ace/é.txt"].hunks[0].lines == ("-hi", "+ho")


def _file(path: str, added: int, word: str = "value") -> FileDiff:
    lines = "\n".join(f"+{word}_{n} = {n}" for n in range(added))
    return file_of_github(path, "modified", f"@@ -1,0 +1,{added} @@\n{lines}\n")


def test_lock_generated_vendored_and_binary_files_go_first_and_are_named() -> None:
    diff = Diff(
        (
            _file("package-lock.json", 5),
            _file("web/dist/app.min.js", 5),
            _file("vendor/lib/x.go", 5),
            file_of_github("img/logo.png", "added", None),
            _file("shop/split_payment.py", 5),
        )
    )
    excerpt = reduce_diff(diff, ["split payment"])
    assert excerpt.shown == ("shop/split_payment.py",)
    assert dict(excerpt.left_out) == {
        "package-lock.json": "lock file",
        "web/dist/app.min.js": "generated",
        "vendor/lib/x.go": "vendored",
        "img/logo.png": "binary",
    }
    assert "Judged on 1 of 5 files" in excerpt.left_out_note()


def test_over_budget_keeps_the_files_that_speak_of_the_criteria_and_names_the_rest() -> None:
    others = [_file(f"misc/module_{n}.py", 30) for n in range(10)]
    relevant = _file("payments/refund_cards.py", 30, word="refund")
    diff = Diff((*others, relevant))
    excerpt = reduce_diff(diff, ["Refunds go back to each card"], budget=2_000)
    assert excerpt.shown[0] == "payments/refund_cards.py"
    assert len(excerpt.text) <= 2_000
    dropped = [path for path, why in excerpt.left_out if why == "over the size budget"]
    assert len(dropped) == len(diff.files) - len(excerpt.shown) and dropped
    note = excerpt.left_out_note()
    assert f"Judged on {len(excerpt.shown)} of 11 files" in note
    assert all(path in note for path in dropped)


def test_long_hunks_are_trimmed_head_and_tail() -> None:
    excerpt = reduce_diff(Diff((_file("big.py", 500),)), ["value"])
    assert excerpt.trimmed == ("big.py",)
    assert "+value_0 = 0" in excerpt.text and "+value_499 = 499" in excerpt.text
    assert "+value_250 = 250" not in excerpt.text
    assert "435 lines trimmed" in excerpt.text


@pytest.mark.parametrize("budget", [300, 24_000])
def test_the_digest_follows_what_the_model_reads(budget: int) -> None:
    base = Diff((_file("a.py", 3), _file("b.py", 3)))
    changed = Diff((_file("a.py", 4), _file("b.py", 3)))
    assert reduce_diff(base, [], budget).digest == reduce_diff(base, [], budget).digest
    assert reduce_diff(base, [], budget).digest != reduce_diff(changed, [], budget).digest


def test_hunks_of_a_patch_ignore_text_before_the_first_header() -> None:
    hunks = parse_hunks("index 1..2 100644\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n")
    assert len(hunks) == 1 and hunks[0].lines == ("-a", "+b")


def test_no_change_is_an_empty_diff() -> None:
    assert parse_git_diff("").files == ()
