"""Forges: one sticky comment per pull or merge request, through one seam (base.py) that each forge
implements in its own package. What the rest of jira-brief may know of the forges without loading any
forge's client is gathered here: whether a CI job runs, the branch it builds, the forges' credentials."""

from __future__ import annotations

from collections.abc import Mapping

from jira_brief.forges import bitbucket, github, gitlab

FORGES = (github, gitlab, bitbucket)


def in_ci(environ: Mapping[str, str]) -> bool:
    """Whether a forge's CI job runs this process (one log line per phase instead of a spinner): its
    CI_VARIABLE says `CI_VALUE` ("true" unless the forge says otherwise), or is set at all when the
    forge's CI_VALUE is None (Bitbucket Pipelines, known by its build number: its CI=true is anyone's)."""
    for forge in FORGES:
        expected, value = getattr(forge, "CI_VALUE", "true"), environ.get(forge.CI_VARIABLE)
        if value and (expected is None or value == expected):
            return True
    return False


def ci_branch(environ: Mapping[str, str]) -> str | None:
    """The branch a CI job builds, when its forge says so (a pull request's checkout is detached)."""
    return next(
        (environ[forge.HEAD_BRANCH_VARIABLE] for forge in FORGES if environ.get(forge.HEAD_BRANCH_VARIABLE)), None
    )


def credential_variables() -> tuple[str, ...]:
    """Every variable a forge reads its credentials from, and the other JIRA_BRIEF_* ones it reads
    (VARIABLES, such as where its API is); never settings: each forge reads its own."""
    credentials = tuple(name for forge in FORGES for names in forge.CREDENTIALS.values() for name in names)
    return credentials + tuple(name for forge in FORGES for name in getattr(forge, "VARIABLES", ()))


def describe_credentials(environ: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """(name, whether set, origin) of each forge credential, for `jira-brief config`; never the value."""
    rows = []
    for forge in FORGES:
        for name, variables in forge.CREDENTIALS.items():
            found = next((variable for variable in reversed(variables) if environ.get(variable, "").strip()), None)
            rows.append(
                (name, "******** (set)" if found else "(unset)", f"environment {found}" if found else "default")
            )
    return rows
