"""Read the texts that may name Jira keys: git branch, commit message file, git log, GitHub events."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from jira_brief.errors import UsageError

SCISSORS = "------------------------ >8 ------------------------"
ALL_SOURCES = ("arg", "branch", "message", "commits", "pr-title", "pr-body", "input")
DEFAULT_SOURCES = ("arg", "branch", "message", "commits", "pr-title", "input")


@dataclass(frozen=True)
class PullRequestEvent:
    """What a pull_request or workflow_dispatch payload says about the change."""

    name: str
    number: int | None = None
    title: str = ""
    head_ref: str = ""
    body: str = ""
    head_repo: str = ""
    base_repo: str = ""
    keys_input: str = ""
    pr_number_input: str = ""

    @property
    def is_fork(self) -> bool:
        return bool(self.head_repo) and self.head_repo != self.base_repo


def _git(args: list[str], cwd: Path | None = None) -> str | None:
    """Output of a git command, or None when git fails (not a repository, unknown ref...)."""
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, encoding="utf-8", errors="replace"
        )
    except FileNotFoundError:
        raise UsageError("git is not installed or not on PATH; install git or pass the text directly") from None
    return done.stdout if done.returncode == 0 else None


def current_branch(cwd: Path | None = None) -> str | None:
    """The branch being worked on: GitHub's head ref in CI, else git's, also mid-rebase."""
    if os.environ.get("GITHUB_HEAD_REF"):
        return os.environ["GITHUB_HEAD_REF"]
    branch = _git(["symbolic-ref", "--short", "-q", "HEAD"], cwd)
    if branch and branch.strip():
        return branch.strip()
    # Detached HEAD: during a rebase git keeps the branch's name beside the rebase state.
    git_dir = _git(["rev-parse", "--git-dir"], cwd)
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
    value = (_git(["config", "core.commentChar"], cwd) or "#").strip()
    if value != "auto":
        return value or "#"
    for line in raw.splitlines():
        if SCISSORS in line or "Please enter the commit message" in line:
            return line[:1] or "#"
    return "#"


def message_text(raw: str, comment_char: str = "#") -> str:
    """A commit message as git will store it: no comment lines, nothing below the scissors line."""
    kept = []
    for line in raw.splitlines():
        if line.startswith(comment_char) and SCISSORS in line:
            break
        if not line.startswith(comment_char):
            kept.append(line)
    return "\n".join(kept)


def read_message_file(path: Path, cwd: Path | None = None) -> str:
    """The message of a git commit message file (COMMIT_EDITMSG), comments removed."""
    try:
        raw = path.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        raise UsageError(f"cannot read the message file {path}: {error.strerror}") from None
    return message_text(raw, comment_char(raw, cwd))


def commit_messages(revision_range: str, cwd: Path | None = None) -> list[tuple[str, str]]:
    """(short sha, message) of each commit in `git log RANGE`, newest first."""
    if revision_range.startswith("-"):
        raise UsageError(f"--commits {revision_range!r} is not a revision range (it starts with '-')")
    out = _git(["log", "--format=%h%x00%B%x1e", revision_range, "--"], cwd)
    if out is None:
        raise UsageError(f"git log {revision_range} failed: check that the range exists in this repository")
    commits = []
    for record in out.split("\x1e"):
        if "\x00" in record:
            sha, message = record.strip("\n").split("\x00", 1)
            commits.append((sha, message))
    return commits


def change_diff(spec: str, cwd: Path | None = None) -> str:
    """`git diff RANGE`, or the staged changes for "staged" (the index a commit hook sees), as unified text."""
    if not spec.strip() or spec.startswith("-"):
        raise UsageError(f"--diff takes a range such as origin/main...HEAD, or 'staged'; got {spec[:40]!r}")
    options = ["diff", "--no-color", "--no-ext-diff", "--src-prefix=a/", "--dst-prefix=b/", "-M"]
    text = _git([*options, "--cached"] if spec == "staged" else [*options, spec, "--"], cwd)
    if text is None:
        raise UsageError(f"git diff {spec} failed: run inside a git repository and name a range git knows")
    return text


def _field(value: object, *path: str) -> str:
    """A text nested in a payload, or "" when any step of the path is missing or not of that shape."""
    for name in path:
        value = value.get(name) if isinstance(value, dict) else None
    return (
        value
        if isinstance(value, str)
        else str(value)
        if isinstance(value, int) and not isinstance(value, bool)
        else ""
    )


def read_event(path: Path, name: str | None = None) -> PullRequestEvent:
    """Parse a GitHub event payload file (pull_request, pull_request_target, workflow_dispatch)."""
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise UsageError(f"cannot read the GitHub event {path}: {error}") from None
    if not isinstance(payload, dict):
        raise UsageError(f"the GitHub event {path} is not a JSON object")
    if isinstance(payload.get("pull_request"), dict):
        number = payload["pull_request"].get("number")
        return PullRequestEvent(
            name=name or "pull_request",
            number=number if isinstance(number, int) and not isinstance(number, bool) else None,
            title=_field(payload, "pull_request", "title"),
            head_ref=_field(payload, "pull_request", "head", "ref"),
            body=_field(payload, "pull_request", "body"),
            head_repo=_field(payload, "pull_request", "head", "repo", "full_name"),
            base_repo=_field(payload, "pull_request", "base", "repo", "full_name"),
        )
    if isinstance(payload.get("inputs"), dict):
        return PullRequestEvent(
            name=name or "workflow_dispatch",
            keys_input=_field(payload, "inputs", "keys"),
            pr_number_input=_field(payload, "inputs", "pr-number") or _field(payload, "inputs", "pr_number"),
        )
    return PullRequestEvent(name=name or "other")


def event_texts(event: PullRequestEvent) -> list[tuple[str, str]]:
    """(source, text) pairs of an event, in the order keys should be listed."""
    return [
        ("pr-title", event.title),
        ("branch", event.head_ref),
        ("pr-body", event.body),
        ("input", event.keys_input),
    ]


def gather_texts(
    *,
    args: tuple[str, ...] = (),
    branch: bool = False,
    message_file: Path | None = None,
    commits: str | None = None,
    event: PullRequestEvent | None = None,
    sources: tuple[str, ...] = ALL_SOURCES,
    cwd: Path | None = None,
) -> list[tuple[str, str]]:
    """(source, text) pairs from every place asked for, in listing order, keeping only `sources`."""
    texts: list[tuple[str, str]] = [("arg", text) for text in args]
    if branch:
        texts.append(("branch", current_branch(cwd) or ""))
    if message_file is not None:
        texts.append(("message", read_message_file(message_file, cwd)))
    if commits:
        texts.extend((f"commit {sha}", message) for sha, message in commit_messages(commits, cwd))
    if event is not None:
        texts.extend(event_texts(event))
    return [(source, text) for source, text in texts if text and source_kind(source) in sources]


def source_kind(source: str) -> str:
    """The --sources name of a source: "commit 1a2b3c4" is one of the "commits"."""
    return "commits" if source.startswith("commit ") else source
