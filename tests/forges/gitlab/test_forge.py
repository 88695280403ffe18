"""GitLab's own rules for a note: what it stores (compared so an unchanged note is never edited), what it
runs (quick actions at a line start, checked by FakeGitLab, which runs them as GitLab does) and what it
links (references), and which pipeline names which merge request."""

from __future__ import annotations

import pytest

from jira_brief.config.values import Secret
from jira_brief.errors import UsageError
from jira_brief.forges.gitlab.api import GitLabThread, connect
from jira_brief.forges.gitlab.forge import REFERENCES, as_stored
from jira_brief.forges.gitlab.job import Pipeline, Target, resolve_target
from jira_brief.publish.neutralize import ZWJ, inline_text, sanitize
from tests.fakes.gitlab_server import FakeGitLab


def test_the_note_is_stored_exactly_as_sent_and_runs_nothing() -> None:
    body = "<!-- jira-brief -->\r\n### Jira brief\r\n/merge\nText  \n/approve now\n\n```\n/close\n```\n\n \n"
    with FakeGitLab() as fake:
        fake.add_merge_request(7, title="t", source_branch="b")
        thread = GitLabThread(connect(Secret(fake.token), fake.api_url, True, backoff=0), 4242, 7, "")

        posted = thread.create(as_stored(body))

        assert posted is not None and fake.notes(7)[0]["body"] == posted.body == as_stored(body)
        assert fake.quick_actions == []
        assert fake.merge_request(7)["state"] == "opened"
    assert as_stored(body).endswith("```") and "\r" not in as_stored(body)
    assert f"\n{ZWJ}/merge\n" in as_stored(body) and f"\n{ZWJ}/close\n" in as_stored(body)


def test_references_are_neutralized_but_a_kept_jira_link_stays_whole() -> None:
    jira = "https://acme.atlassian.net/issues/?jql=project%20%3D%20PAY&12=x"
    text = f"See ~bug, !12, %v1, &12, $3 and [the filter]({jira}) for @_bot.\n/merge\n[[_TOC_]]"

    safe = sanitize(text, {"acme.atlassian.net"}, REFERENCES)

    assert f"[the filter]({jira})" in safe
    for reference in ("~bug", "!12", "%v1", "&12", "$3", "@_bot", "[[_TOC_]]"):
        assert reference not in safe.replace(jira, ""), reference
    assert safe.splitlines()[1] == f"{ZWJ}/merge"
    quoted = sanitize("Python says:\n>>>\nnot code\n>>>  ", (), REFERENCES).splitlines()
    assert quoted[1] == f">{ZWJ}>>" and quoted[3] == f">{ZWJ}>>  "  # no multi-line quote across sections
    assert inline_text("/close ~x", REFERENCES) == f"{ZWJ}/close \\~{ZWJ}x"


MR_PIPELINE = {
    "source": "merge_request_event",
    "api_url": "https://gitlab.example.com/api/v4",
    "project_id": "10",
    "mr_iid": "7",
    "mr_project_id": "10",
    "source_project_id": "10",
}


@pytest.mark.parametrize(
    ("changes", "in_fork"),
    [
        ({}, False),
        ({"source_project_id": "20"}, False),  # a fork's merge request, run in this project
        ({"source_project_id": "20", "project_id": "20"}, True),  # run in the fork
        ({"source": "push", "source_project_id": "20", "project_id": "20"}, False),
    ],
)
def test_a_fork_pipeline_is_one_that_runs_in_the_fork(changes: dict[str, str], in_fork: bool) -> None:
    assert Pipeline(**{**MR_PIPELINE, **changes}).in_fork is in_fork


def test_which_merge_request_a_pipeline_names() -> None:
    parent = Pipeline(**{**MR_PIPELINE, "project_id": "10", "mr_project_id": "10"})
    manual = Pipeline(source="web", api_url=MR_PIPELINE["api_url"], project_id="10")

    assert resolve_target(parent, None, "") == Target(7, "10")
    assert resolve_target(parent, "8", "PAY-1") == Target(8, "10", "PAY-1")
    assert resolve_target(manual, "8", "") == Target(8, "10")
    assert resolve_target(manual, None, "PAY-1") == Target(None, "10", "PAY-1")
    assert resolve_target(Pipeline(source="push"), None, "") is None
    with pytest.raises(UsageError, match="this web pipeline names no merge request"):
        resolve_target(manual, None, " ")
