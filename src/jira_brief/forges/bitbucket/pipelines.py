"""Bitbucket Pipelines as a step sees it: the variables it sets (what a run leaves behind, the log and
`jira-brief.json` for the step's `artifacts:`, is every CI job's: forges/joblog.py).

Pipelines sets BITBUCKET_REPO_FULL_NAME in every step, BITBUCKET_PR_ID only in a `pull-requests:`
pipeline, BITBUCKET_BRANCH except for tags and custom pipelines (support.atlassian.com/bitbucket-cloud/
docs/variables-and-secrets). Secured repository variables reach the step as environment variables.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from jira_brief.errors import UsageError
from jira_brief.forges.bitbucket import VARIABLES
from jira_brief.forges.bitbucket.api import DEFAULT_API_URL
from jira_brief.forges.bitbucket.forge import REPOSITORY

OUTPUT = "jira-brief.json"


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
