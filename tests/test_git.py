"""git.py against real git: the change is read as git writes it, and cut (git stopped) past a size."""

from __future__ import annotations

import pytest

from jira_brief.brief.diff import parse_git_diff, reduce_diff
from jira_brief.errors import UsageError
from jira_brief.git import change_diff
from tests.conftest import GitRepo


def stage(repo: GitRepo, files: dict[str, str]) -> None:
    for name, text in files.items():
        (repo.path / name).write_text(text, encoding="utf-8")
        repo.git("add", name)


def test_a_staged_change_is_read_whole_under_the_limit(git_repo: GitRepo) -> None:
    stage(git_repo, {"a.py": "x = 1\n", "b.py": "y = 2\n"})
    read = change_diff("staged", limit=1 << 20)
    assert read.cut is None
    assert [item.path for item in parse_git_diff(read).files] == ["a.py", "b.py"]


def test_a_change_past_the_limit_is_cut_where_git_was_stopped(git_repo: GitRepo) -> None:
    stage(git_repo, {f"f{n}.py": "".join(f"line {i} of {n}\n" for i in range(2000)) for n in range(20)})
    read = change_diff("staged", limit=100_000)
    diff = parse_git_diff(read)
    assert read.cut == 100_000 and len(read.text.encode()) <= 100_000
    assert 1 <= len(diff.files) < 20 and diff.cut == 100_000
    assert all(len(item.hunks[0].lines) == 2000 for item in diff.files[:-1])  # read whole but the last
    assert 0 < len(diff.files[-1].hunks[0].lines) <= 2000
    note = reduce_diff(diff, ["line"]).left_out_note()
    assert "The change was cut after 1 MiB: the files past it are not shown or counted." in note


def test_a_range_git_does_not_know_is_one_usage_error(git_repo: GitRepo) -> None:
    with pytest.raises(UsageError, match=r"git diff nope\.\.\.HEAD failed"):
        change_diff("nope...HEAD")
