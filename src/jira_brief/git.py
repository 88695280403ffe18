"""Every git call jira-brief makes: the branch, the comment character, commit messages, diffs.

git failing (not a repository, an unknown range) is an answer (None), not an error; git missing is one."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from jira_brief.errors import UsageError

SCISSORS = "------------------------ >8 ------------------------"
# git's diff output is read up to this much: far more than the excerpt a model reads (--diff-budget
# characters), enough to name the files left out; past it git is stopped and the check says so.
MAX_DIFF_BYTES = 8 << 20
READ_SIZE = 1 << 16


_CUT_LINE = "jira-brief: git diff cut at "  # first line of a saved change that was cut


@dataclass(frozen=True)
class DiffText:
    """`git diff` output as read: its text, and the byte count it was cut at when git had more."""

    text: str
    cut: int | None = None

    def saved(self) -> str:
        """The text to keep in a file for later (the hook's background check), saying where it was cut."""
        return f"{_CUT_LINE}{self.cut}\n{self.text}" if self.cut is not None else self.text

    @classmethod
    def from_saved(cls, text: str) -> DiffText:
        head, _, rest = text.partition("\n")
        if head.startswith(_CUT_LINE) and head[len(_CUT_LINE) :].isdigit():
            return cls(rest, int(head[len(_CUT_LINE) :]))
        return cls(text)


def run_git(args: list[str], cwd: Path | None = None) -> str | None:
    """Output of a git command, or None when git fails (not a repository, unknown ref...)."""
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, encoding="utf-8", errors="replace"
        )
    except FileNotFoundError:
        raise UsageError("git is not installed or not on PATH; install git or pass the text directly") from None
    return done.stdout if done.returncode == 0 else None


def work_tree_of(start: Path) -> Path | None:
    """The top of the work tree `start` lies in (the first folder up holding `.git`), without running git."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return None


def current_branch(cwd: Path | None = None) -> str | None:
    """The branch git has checked out, also mid-rebase (a CI's own branch variable is the forges' to read)."""
    branch = run_git(["symbolic-ref", "--short", "-q", "HEAD"], cwd)
    if branch and branch.strip():
        return branch.strip()
    # Detached HEAD: during a rebase git keeps the branch's name beside the rebase state.
    git_dir = run_git(["rev-parse", "--git-dir"], cwd)
    if git_dir is None:
        return None
    base = (cwd or Path.cwd()) / git_dir.strip()
    for state in ("rebase-merge", "rebase-apply"):
        head_name = base / state / "head-name"
        if head_name.is_file():
            return head_name.read_text(encoding="utf-8").strip().removeprefix("refs/heads/")
    return None


def comment_char(raw: str, cwd: Path | None = None) -> str:
    """git's comment character; with `auto`, the one git put before its own scissors/help lines."""
    value = (run_git(["config", "core.commentChar"], cwd) or "#").strip()
    if value != "auto":
        return value or "#"
    for line in raw.splitlines():
        if SCISSORS in line or "Please enter the commit message" in line:
            return line[:1] or "#"
    return "#"


def commit_messages(revision_range: str, cwd: Path | None = None) -> list[tuple[str, str]]:
    """(short sha, message) of each commit in `git log RANGE`, newest first."""
    if revision_range.startswith("-"):
        raise UsageError(f"--commits {revision_range!r} is not a revision range (it starts with '-')")
    out = run_git(["log", "--format=%h%x00%B%x1e", revision_range, "--"], cwd)
    if out is None:
        raise UsageError(f"git log {revision_range} failed: check that the range exists in this repository")
    commits = []
    for record in out.split("\x1e"):
        if "\x00" in record:
            sha, message = record.strip("\n").split("\x00", 1)
            commits.append((sha, message))
    return commits


def change_diff(spec: str, cwd: Path | None = None, limit: int = MAX_DIFF_BYTES) -> DiffText:
    """`git diff RANGE`, or the staged changes for "staged" (the index a commit hook sees), as unified text,
    read as git writes it and never past `limit` bytes: a 500 MB change costs the time and memory of 8 MiB."""
    if not spec.strip() or spec.startswith("-"):
        raise UsageError(f"--diff takes a range such as origin/main...HEAD, or 'staged'; got {spec[:40]!r}")
    options = ["diff", "--no-color", "--no-ext-diff", "--src-prefix=a/", "--dst-prefix=b/", "-M"]
    read = _read_capped([*options, "--cached"] if spec == "staged" else [*options, spec, "--"], cwd, limit)
    if read is None:
        raise UsageError(f"git diff {spec} failed: run inside a git repository and name a range git knows")
    data, cut = read
    return DiffText(data.decode("utf-8", "replace"), limit if cut else None)


def _read_capped(args: list[str], cwd: Path | None, limit: int) -> tuple[bytes, bool] | None:
    """(git's output up to `limit` bytes, whether there was more: then git is stopped), or None when git
    fails."""
    try:
        process = subprocess.Popen(
            ["git", *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0
        )
    except FileNotFoundError:
        raise UsageError("git is not installed or not on PATH; install git or pass the text directly") from None
    chunks: list[bytes] = []
    size, cut = 0, False
    with process:
        assert process.stdout is not None
        while chunk := process.stdout.read(READ_SIZE):  # unbuffered: what git has written so far
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                cut = True
                process.kill()
                break
    if process.returncode != 0 and not cut:
        return None
    return b"".join(chunks)[:limit], cut
