"""Huge changes cost the check no more than its budgets: git's output is read up to a cap (git is
stopped past it, and the check says the change was cut), and reducing a diff is linear in its size."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from jira_brief.brief.diff import Diff, FileDiff, Hunk, reduce_diff
from tests.conftest import GitRepo

# What the hook does with the staged change, in a process that reports its own peak RSS (VmHWM).
CHECK_STAGED = """
import pathlib
from jira_brief.brief.diff import parse_git_diff, reduce_diff
from jira_brief.git import change_diff
excerpt = reduce_diff(parse_git_diff(change_diff("staged")), ["line"])
status = pathlib.Path("/proc/self/status").read_text().splitlines()
print(next(line for line in status if line.startswith("VmHWM")).split()[1])
print(excerpt.left_out_note())
"""


def test_a_48_mb_staged_change_is_read_up_to_8_mib_and_said_to_be_cut(git_repo: GitRepo) -> None:
    """The red team staged 526 MB: the hook read it all (and held several copies of it)."""
    with (git_repo.path / "huge.txt").open("w", encoding="utf-8") as huge:
        huge.writelines(f"line {n} of a change far too big to read {n * 7919 % 1000003}\n" for n in range(800_000))
    git_repo.git("add", "huge.txt")
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", CHECK_STAGED], cwd=git_repo.path, capture_output=True, text=True, check=True
    )
    seconds = time.monotonic() - start
    peak, note = done.stdout.splitlines()
    assert int(peak) < 200 << 10, f"{int(peak) >> 10} MiB"  # KiB; about 85 MiB, where reading it all took 370
    assert seconds < 10, seconds
    assert "The change was cut after 8 MiB" in note


def test_reducing_a_file_of_14000_hunks_is_linear(tmp_path: Path) -> None:
    """The red team's 14,000 hunks took 40 s: each hunk dropped re-rendered the whole file."""
    hunks = tuple(Hunk(f"@@ -{n * 10},1 +{n * 10},1 @@", (f"-old {n}", f"+new {n}")) for n in range(1, 14_001))
    diff = Diff((FileDiff("shop/huge.py", "modified", hunks),))
    start = time.monotonic()
    excerpt = reduce_diff(diff, ["new"])
    assert time.monotonic() - start < 1.0
    assert excerpt.shown == ("shop/huge.py",) and excerpt.trimmed == ("shop/huge.py",)
    assert excerpt.shows("shop/huge.py", "10") and not excerpt.shows("shop/huge.py", "140000")
