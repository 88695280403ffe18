"""Bitbucket Pipelines as a step sees it: the variables it sets, and what a run leaves behind (one plain
log line per phase and per ticket, no colour; `jira-brief.json` for the step's `artifacts:`).

Pipelines sets BITBUCKET_REPO_FULL_NAME in every step, BITBUCKET_PR_ID only in a `pull-requests:`
pipeline, BITBUCKET_BRANCH except for tags and custom pipelines (support.atlassian.com/bitbucket-cloud/
docs/variables-and-secrets). Secured repository variables reach the step as environment variables.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jira_brief.errors import UsageError
from jira_brief.files import replace_file
from jira_brief.forges.bitbucket import VARIABLES
from jira_brief.forges.bitbucket.api import DEFAULT_API_URL
from jira_brief.forges.bitbucket.forge import REPOSITORY

OUTPUT = "jira-brief.json"
# Control characters (ANSI escapes among them) would drive the log viewer; a Jira title may hold some.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Pipeline:
    """What Pipelines tells a step through its environment."""

    repository: str = ""
    pr_id: int | None = None
    api_url: str = DEFAULT_API_URL

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Pipeline:
        repository = environ.get("BITBUCKET_REPO_FULL_NAME", "").strip()
        if repository and REPOSITORY.fullmatch(repository) is None:
            raise UsageError(f"BITBUCKET_REPO_FULL_NAME must be WORKSPACE/REPOSITORY, got {repository[:80]!r}")
        pr_id = environ.get("BITBUCKET_PR_ID", "").strip()
        if pr_id and re.fullmatch(r"[1-9][0-9]{0,9}", pr_id) is None:
            raise UsageError(f"BITBUCKET_PR_ID must be a pull request ID, got {pr_id[:40]!r}")
        api_url = environ.get(VARIABLES[0], "").strip() or DEFAULT_API_URL
        if not api_url.startswith(("https://", "http://")):
            raise UsageError(f"{VARIABLES[0]} must be an http(s) URL such as {DEFAULT_API_URL}")
        return cls(repository, int(pr_id) if pr_id else None, api_url.rstrip("/"))


class Report:
    """Everything that leaves the run (log lines, jira-brief.json), secrets hidden."""

    def __init__(self, hide: Callable[[str], str], output: Path | None, write: Callable[[str], Any] | None = None):
        self.hide, self.output = hide, output
        self.write = write or sys.stdout.write

    def line(self, text: str) -> None:
        """One log line: secrets hidden, control characters dropped, flushed at once (the log streams)."""
        self.write(_CONTROL.sub("", self.hide(text).replace("\n", " ")) + "\n")
        sys.stdout.flush()

    def results(self, data: Mapping[str, Any]) -> None:
        """jira-brief.json, written whole or not at all."""
        if self.output is None:
            return
        text = self.hide(json.dumps(data, ensure_ascii=False, indent=2)) + "\n"
        try:
            replace_file(self.output, text.encode("utf-8"))
        except OSError as error:
            raise UsageError(f"cannot write {self.output}: {error.strerror or error}") from None
