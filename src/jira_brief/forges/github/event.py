"""GitHub's event payload (pull_request, pull_request_target, workflow_dispatch), as the runner hands it to
a step in GITHUB_EVENT_PATH, and the texts it gives for finding keys."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from jira_brief.errors import UsageError

# GitHub caps webhook payloads at 25 MB; a bigger event file is not one it sent.
EVENT_CAP = 25 << 20


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
        with path.open("rb") as file:
            data = file.read(EVENT_CAP + 1)
        if len(data) > EVENT_CAP:
            raise UsageError(f"the GitHub event {path} is over {EVENT_CAP >> 20} MB, more than GitHub ever sends")
        payload = json.loads(data)
    except (OSError, ValueError) as error:
        raise UsageError(f"cannot read the GitHub event {path}: {error}") from None
    except RecursionError:
        raise UsageError(f"the GitHub event {path} is nested too deeply to be a GitHub payload") from None
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
