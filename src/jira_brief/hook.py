"""pre-commit hooks: the ticket's brief at commit time, a required key, a key put into the message.

A hook never loses the commit message and never blocks a commit unless the user asked for `strict`."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jira_brief.files import replace_file
from jira_brief.keys import FoundKey, keys_in, scan
from jira_brief.settings import Settings
from jira_brief.sources import MESSAGE_CAP, SCISSORS, comment_char, current_branch, message_text, read_message_file

Say = Callable[[str], None]
EXEMPT_MESSAGE = re.compile(r"^(Merge |fixup! |squash! |amend! |Revert \")")
SKIPPED_SOURCES = ("merge", "squash", "commit")


def hook_keys(message_file: Path | None, settings: Settings) -> list[FoundKey]:
    """Keys of the commit message, then of the branch, under the settings' allowlist and cap."""
    texts = [("message", read_message_file(message_file))] if message_file else []
    texts.append(("branch", current_branch() or ""))
    return list(scan(texts, settings.projects, settings.max_keys).keys)


def _state_file(settings: Settings) -> Path:
    from jira_brief.cache import cache_root

    return cache_root(settings) / "hook-shown.json"


def _place() -> str:
    """This repository and branch, as the key under which shown briefs are remembered."""
    return hashlib.sha256(f"{Path.cwd().resolve()}\0{current_branch() or ''}".encode()).hexdigest()[:16]


def _load_shown(settings: Settings) -> dict[str, dict[str, str]]:
    try:
        data = json.loads(_state_file(settings).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def _save_shown(settings: Settings, shown: dict[str, dict[str, str]]) -> None:
    """Remember what was shown; failing to is a comfort lost, never a reason to fail a commit."""
    from jira_brief.cache import write_atomic

    write_atomic(_state_file(settings), shown)


def one_line(result: object) -> str:
    ticket = getattr(result, "ticket", None)
    key = getattr(result, "key", "")
    if ticket is None:
        return key
    return " · ".join(filter(None, [key, ticket.title, ticket.status]))


class _Finished:
    """Collects each ticket's result as it finishes: what is ready when the budget ends is kept."""

    def __init__(self) -> None:
        self.results: dict[str, Any] = {}

    def text(self, key: str, chunk: str) -> None:
        pass

    def done(self, result: Any) -> None:
        self.results[result.key] = result


def leave(code: int) -> None:
    """End the hook. A real process exits at once: interpreter teardown after the engine ran (its
    modules, a pipeline thread still running past the budget) costs up to a second the budget has
    no room for, and everything worth keeping is written by now."""
    sys.stdout.flush()
    sys.stderr.flush()
    if sys.stdout is sys.__stdout__ and sys.stderr is sys.__stderr__:  # not when embedded (a test runner)
        os._exit(code)
    if code:
        sys.exit(code)


def _brief_within_budget(found: list[FoundKey], settings: Settings, seen: dict[str, str], deadline: float) -> list[Any]:
    """Briefs made by `deadline` (time.monotonic). The pipeline runs in a daemon thread so that nothing
    it waits for past the budget (a server still connecting, a hung model, a slow shutdown) can hold
    the commit."""
    import asyncio

    from jira_brief.pipeline import brief_all
    from jira_brief.result import BriefResult

    finished = _Finished()
    quiet = dataclasses.replace(settings, stream=False)
    failures: list[BaseException] = []
    change = _staged_change(settings)
    # The pipeline stops a moment before the deadline, so what it finished is reported by then.
    budget = max(deadline - time.monotonic() - 0.2, 0.1)

    def work() -> None:
        try:
            asyncio.run(
                brief_all(
                    found,
                    quiet,
                    output=finished,
                    known=seen,
                    ticket_ttl=settings.hook_ttl,
                    budget=budget,
                    change=change,
                )
            )
        except Exception as error:  # reported by the hook as one line, in the main thread
            failures.append(error)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(max(deadline - time.monotonic(), 0.0))
    if failures:
        raise failures[0]
    results = dict(finished.results)
    return [results.get(item.key) or BriefResult(item.key, item.source, late=True, error="not ready") for item in found]


def _staged_change(settings: Settings) -> Any:
    """The staged changes, whose coverage of the criteria the hook reports; None when the check is off
    or without a model (the hook then has nothing to add) or outside a repository."""
    if settings.check == "off" or not settings.llm_enabled:
        return None
    from jira_brief.coverage import Change
    from jira_brief.diff import parse_git_diff
    from jira_brief.errors import UsageError
    from jira_brief.sources import change_diff

    try:
        return Change(parse_git_diff(change_diff("staged")))
    except UsageError:
        return None


def _coverage_line(result: Any, say: Say) -> None:
    """ "PAY-142: 2/5 criteria touched by this commit", when the check ran (or failed)."""
    from jira_brief.coverage import touched_line

    coverage = result.coverage
    if coverage is not None and (coverage.checked or coverage.error):
        say(touched_line(result.key, coverage))


def show_briefs(found: list[FoundKey], settings: Settings, say: Say, warn: Say, started: float | None = None) -> int:
    """Fetch and print the briefs: full when new or changed on this branch, else one line. The budget
    counts from `started` (time.monotonic, the hook's start), so it covers the whole run."""
    from jira_brief.pipeline import ANY_VERSION

    shown = _load_shown(settings)
    place = _place()
    seen = shown.get(place, {}) if settings.hook_show == "changed" else {}
    if settings.hook_show == "line":
        seen = {item.key: ANY_VERSION for item in found}
    deadline = (time.monotonic() if started is None else started) + settings.hook_budget
    results = _brief_within_budget(found, settings, seen, deadline)
    late = [result.key for result in results if result.late]
    for result in results:
        if result.late:
            continue
        if result.error and not result.brief:
            warn(f"jira-brief: warning: {result.error}")
            continue
        if result.error:
            warn(f"jira-brief: warning: {result.error} (offline brief below)")
        if result.unchanged or (settings.hook_show == "line" and result.ticket):
            say(one_line(result))
            _coverage_line(result, say)
            continue
        say(f"{one_line(result)}\n{result.brief}\n")
        _coverage_line(result, say)
        if result.fingerprint and not result.error:
            shown.setdefault(place, {})[result.key] = result.fingerprint
    if late:
        warn(
            f"jira-brief: warning: {', '.join(late)} not ready within the {settings.hook_budget:g} s time budget "
            f"(JIRA_BRIEF_HOOK_BUDGET); the commit goes on"
        )
    _save_shown(settings, shown)
    return sum(1 for result in results if result.error)


def require_key(message_file: Path, settings: Settings) -> str | None:
    """None when the commit may go on, else the one line that says what is missing."""
    message = read_message_file(message_file)
    if EXEMPT_MESSAGE.match(message.lstrip()):
        return None
    if hook_keys(message_file, settings):
        return None
    accepted = f"of {', '.join(settings.projects)} " if settings.projects else ""
    example = f"{settings.projects[0] if settings.projects else 'PAY'}-123"
    return (
        f"jira-brief: no Jira key {accepted}in the commit message or the branch name; "
        f"start the message with one (e.g. '{example}: …') or name the branch after it"
    )


def prepare_message(message_file: Path, settings: Settings, source: str | None) -> bool:
    """Put the branch's key at the start of the message when it has none; True when the file changed."""
    if source in SKIPPED_SOURCES:
        return False
    branch_keys = keys_in(current_branch() or "", settings.projects)
    if not branch_keys:
        return False
    raw = message_file.read_bytes().decode("utf-8", errors="surrogateescape")
    comment = comment_char(raw)
    if keys_in(message_text(raw[:MESSAGE_CAP], comment), settings.projects):  # keys live in the first lines
        return False
    lines = raw.splitlines(keepends=True) or [""]
    end = next((i for i, line in enumerate(lines) if line.startswith(comment) and SCISSORS in line), len(lines))
    index = next((i for i, line in enumerate(lines[:end]) if line.strip() and not line.startswith(comment)), None)
    if index is None:  # an empty message (only comments): the key becomes the start of the subject
        lines.insert(0, f"{branch_keys[0]}: \n")
    else:
        lines[index] = f"{branch_keys[0]}: {lines[index]}"
    replace_file(message_file, "".join(lines).encode("utf-8", errors="surrogateescape"))
    return True
