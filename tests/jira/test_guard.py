"""The key guard on the model's tool calls, as a pure function: what it lets through and what it names
when it refuses."""

from __future__ import annotations

import time

import pytest

from jira_brief.jira.guard import outside_run

RUN = frozenset({"PAY-142", "WEB-88"})


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"path": "/rest/api/3/issue/10571", "outputFormat": "json"}, "/issue/10571"),
        ({"path": "/rest/api/3/search?jql=project%3DPAY&fields=summary"}, "project=PAY"),
        ({"query": "see pay-0142 for details"}, "pay-0142"),
        ({"filter": {"issueIdOrKey": ["PAY-142", 10571]}}, "10571"),
        ({"parent_key": "PAY-100"}, "PAY-100"),
        ({"jql": "key in ()"}, "key in ()"),
        ({"jql": "key in (PAY-142) OR issue in linkedIssues(PAY-142)"}, "key in (PAY-142) OR issue in linkedIssues"),
    ],
)
def test_what_is_refused_is_named(arguments: dict[str, object], named: str) -> None:
    found = outside_run(arguments, RUN)
    assert found is not None and named in found


def test_other_arguments_pass() -> None:
    arguments = {"jql": "key = 'PAY-142' AND key in (WEB-88)", "limit": 10, "fields": "summary", "expand": True}
    assert outside_run(arguments, RUN) is None
    assert outside_run({"project_key": "PAY", "issue_type": "Story"}, RUN) is None  # not issues themselves


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("jql", "key in (" + "PAY-142, " * 12_500),
        ("query", "A-" * 50_000),
        ("query", "/issue/PAY-142" * 7_150),
        ("query", "?jql=key=PAY-142&" * 5_500),
        ("issue_keys", "PAY-142," * 12_500),
    ],
    ids=["open-list", "dashes", "paths", "queries", "issue-list"],
)
def test_the_guard_stays_linear_on_100_kb_of_hostile_text(name: str, text: str) -> None:
    started = time.perf_counter()
    outside_run({name: text}, RUN)  # scanned to its end: nothing in it stops the scan early
    assert time.perf_counter() - started < 0.5
