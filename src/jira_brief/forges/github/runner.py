"""The GitHub Actions runner protocol: what a step reads from its environment (event, repository,
API URL, file paths) and writes back (log, annotations, job summary, step outputs).

Workflow commands: a message escapes %, CR and LF, a property also ":" and ","; `::stop-commands::T`
pauses them until `::T::`. `$GITHUB_OUTPUT` takes `name<<DELIMITER` blocks with a random delimiter.
"""

from __future__ import annotations

import json
import secrets
import sys
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_API_URL = "https://api.github.com"


@dataclass(frozen=True)
class Runner:
    """What the Actions runner tells a step through its environment."""

    event_name: str = ""
    event_path: Path | None = None
    repository: str = ""
    api_url: str = DEFAULT_API_URL
    summary_path: Path | None = None
    output_path: Path | None = None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Runner:
        def path(name: str) -> Path | None:
            return Path(environ[name]) if environ.get(name) else None

        return cls(
            environ.get("GITHUB_EVENT_NAME", ""),
            path("GITHUB_EVENT_PATH"),
            environ.get("GITHUB_REPOSITORY", ""),
            environ.get("GITHUB_API_URL") or DEFAULT_API_URL,
            path("GITHUB_STEP_SUMMARY"),
            path("GITHUB_OUTPUT"),
        )


def escape_data(text: str) -> str:
    """A workflow-command message on one line: %, CR and LF escaped as the runner expects."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow-command property value: like a message, plus ":" and ","."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def output_block(name: str, value: str) -> str:
    """One `$GITHUB_OUTPUT` entry; the delimiter is random so no value can end it early."""
    delimiter = f"ghadelimiter_{uuid.uuid4()}"
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


class Report:
    """Everything that leaves the run (log, annotations, job summary, step outputs), secrets hidden."""

    def __init__(self, runner: Runner, hide: Callable[[str], str]) -> None:
        self.runner, self.hide = runner, hide

    def _write(self, text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    def line(self, text: str) -> None:
        """A line of our own words."""
        self._write(self.hide(text) + "\n")

    def untrusted(self, title: str, text: str) -> None:
        """Text from Jira or the model, in a folded group, with workflow commands paused so it cannot issue any."""
        token = secrets.token_hex(16)
        self._write(
            f"::group::{escape_data(title)}\n::stop-commands::{token}\n{self.hide(text)}\n::{token}::\n::endgroup::\n"
        )

    def annotate(self, level: str, message: str, title: str = "jira-brief") -> None:
        """A notice, warning or error annotation on the run."""
        self._write(f"::{level} title={escape_property(self.hide(title))}::{escape_data(self.hide(message))}\n")

    def summary(self, markdown: str) -> None:
        if self.runner.summary_path is not None:
            with self.runner.summary_path.open("a", encoding="utf-8") as file:
                file.write(self.hide(markdown))

    def outputs(self, keys: Sequence[str] = (), comment_url: str = "", briefs: Sequence[Any] = ()) -> None:
        """The step outputs `keys` (JSON list), `comment-url` and `briefs` (JSON list)."""
        if self.runner.output_path is None:
            return
        values = {
            "keys": json.dumps(list(keys)),
            "comment-url": comment_url,
            "briefs": json.dumps(list(briefs), ensure_ascii=False),
        }
        with self.runner.output_path.open("a", encoding="utf-8") as file:
            file.write("".join(output_block(name, self.hide(value)) for name, value in values.items()))
