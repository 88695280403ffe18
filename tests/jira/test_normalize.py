"""Tickets: what jira-brief keeps of an issue, whichever server shape it comes in, and the size budget."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from jira_brief.errors import TicketError
from jira_brief.jira.demo.server import load_demo_tickets
from jira_brief.jira.normalize import browse_url, custom_fields, issue_in_answer
from jira_brief.jira.normalize import normalize_issue as normalize
from jira_brief.jira.ticket import Comment, Ticket, render_ticket

pytestmark = pytest.mark.usefixtures("engine_env")

SAMPLE = Path(__file__).resolve().parents[1] / "integration" / "atlassian_issue_sample.json"
JIRA = "https://jira.example.com"
DEFAULT_BUDGET = 12_000


def sample_issue() -> dict[str, Any]:
    """mcp-atlassian 0.23.1's real jira_get_issue answer, saved by tests/integration."""
    if not SAMPLE.is_file():
        pytest.skip("tests/integration/atlassian_issue_sample.json is missing")
    return json.loads(SAMPLE.read_text(encoding="utf-8").replace("{JIRA_URL}", JIRA))


def raw_rest_issue() -> dict[str, Any]:
    """GET /rest/api/3/issue/PAY-7?expand=names: fields nested, display names apart, ADF text."""

    def adf(*paragraphs: str) -> dict[str, Any]:
        return {
            "type": "doc",
            "version": 1,
            "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]} for text in paragraphs],
        }

    return {
        "id": "10007",
        "key": "PAY-7",
        "self": f"{JIRA}/rest/api/3/issue/10007",
        "fields": {
            "summary": "Refund to the original card",
            "issuetype": {"name": "Bug", "subtask": False},
            "status": {"name": "To Do", "statusCategory": {"key": "new"}},
            "priority": {"name": "Highest"},
            "assignee": {"accountId": "5b10a", "displayName": "Chidi Obi"},
            "reporter": {"accountId": "5b10b", "displayName": "Jo Park"},
            "labels": ["refunds"],
            "components": [{"id": "1", "name": "Billing"}],
            "fixVersions": [{"id": "2", "name": "2025.07"}],
            "parent": {"key": "PAY-1", "fields": {"summary": "Refunds epic", "status": {"name": "Open"}}},
            "issuelinks": [
                {
                    "type": {"name": "Blocks", "inward": "is blocked by", "outward": "blocks"},
                    "inwardIssue": {
                        "key": "OPS-3",
                        "fields": {"summary": "Gateway upgrade", "status": {"name": "Done"}},
                    },
                }
            ],
            "subtasks": [{"key": "PAY-8", "fields": {"summary": "Write the migration", "status": {"name": "To Do"}}}],
            "description": adf("Refunds go to a default card.", "They must go back to the card that paid."),
            "customfield_10031": adf("Given a paid order, the refund lands on the paying card."),
            "customfield_10016": 3,
            "comment": {
                "total": 1,
                "comments": [
                    {
                        "author": {"displayName": "Jo Park"},
                        "created": "2025-06-02T10:00:00.000+0000",
                        "body": adf("Finance agrees."),
                    }
                ],
            },
            "updated": "2025-06-03T09:00:00.000+0000",
        },
        "names": {"customfield_10031": "Acceptance Criteria", "customfield_10016": "Story point estimate"},
    }


# --- shapes ---------------------------------------------------------------------------------


def test_normalizes_the_demo_simplified_issue() -> None:
    raw = load_demo_tickets()["PAY-142"]
    ticket = normalize(raw, "PAY-142")
    assert ticket.key == raw["key"] and ticket.title == raw["summary"]
    assert (ticket.type, ticket.status, ticket.priority) == (
        raw["issue_type"]["name"],
        raw["status"]["name"],
        raw["priority"]["name"],
    )
    assert ticket.assignee == raw["assignee"]["display_name"]
    assert ticket.reporter == raw["reporter"]["display_name"]
    assert ticket.labels == tuple(raw["labels"]) and ticket.components == tuple(raw["components"])
    assert ticket.fix_versions == tuple(raw["fix_versions"])
    assert ticket.parent is not None and ticket.parent.startswith(raw["parent"]["key"])
    assert raw["parent"]["fields"]["summary"] in ticket.parent
    assert ticket.description == raw["description"].strip()
    assert ticket.acceptance == raw["customfield_10042"]["value"].strip()
    assert [c.body for c in ticket.comments] == [c["body"] for c in raw["comments"]]
    assert ticket.comments[0].author == raw["comments"][0]["author"]["display_name"]
    assert ticket.updated == raw["updated"]
    linked = raw["issuelinks"][0]
    other = linked.get("outward_issue") or linked.get("inward_issue")
    assert any(other["key"] in link for link in ticket.links)
    assert {raw["parent"]["key"], other["key"]} | {s["key"] for s in raw["subtasks"]} <= ticket.related_keys


def test_browse_url_is_built_from_the_api_url_the_server_gave() -> None:
    raw = load_demo_tickets()["PAY-142"]
    assert "/rest/api/" in raw["url"]
    origin = raw["url"].split("/rest/")[0]
    assert normalize(raw, "PAY-142").url == f"{origin}/browse/PAY-142"


def test_browse_url_keeps_a_jira_context_path_and_prefers_an_explicit_browse_url() -> None:
    server_dc = {"self": "https://corp.example.com/jira/rest/api/2/issue/42"}
    assert browse_url(server_dc, "OPS-9") == "https://corp.example.com/jira/browse/OPS-9"
    given = {"browse_url": f"{JIRA}/browse/OPS-9", "url": f"{JIRA}/rest/api/2/issue/1"}
    assert browse_url(given, "OPS-9") == f"{JIRA}/browse/OPS-9"
    assert browse_url({}, "OPS-9") is None
    assert browse_url({}, "OPS-9", jira_url=JIRA) == f"{JIRA}/browse/OPS-9"


def test_normalizes_the_real_mcp_atlassian_sample() -> None:
    raw = sample_issue()
    ticket = normalize(raw, "PAY-142")
    assert ticket.title == raw["summary"] and ticket.url == raw["browse_url"]
    assert ticket.status == raw["status"]["name"] and ticket.type == raw["issue_type"]["name"]
    assert ticket.assignee == raw["assignee"]["display_name"]
    assert ticket.parent == raw["epic_key"]  # the Epic Link, when there is no parent object
    link_keys = {(link.get("outward_issue") or link.get("inward_issue"))["key"] for link in raw["issuelinks"]}
    assert all(any(key in line for line in ticket.links) for key in link_keys)
    assert any(line.startswith("blocks ") for line in ticket.links)  # the link's verb, not its type name
    assert [c.body for c in ticket.comments] == [c["body"] for c in raw["comments"]]


def test_the_sample_without_field_names_needs_acceptance_field() -> None:
    raw = sample_issue()
    field_id = next(
        name for name, value in raw.items() if name.startswith("customfield_") and "idempotency" in str(value)
    )
    assert "name" not in raw[field_id]  # fetched without expand=names: no display name to match
    assert normalize(raw, "PAY-142").acceptance == ""  # nothing is guessed
    assert normalize(raw, "PAY-142", acceptance_field=field_id).acceptance == raw[field_id]["value"]


def test_normalizes_a_raw_jira_rest_issue() -> None:
    raw = raw_rest_issue()
    fields = raw["fields"]
    ticket = normalize(raw, "pay-7")
    assert ticket.key == "PAY-7" and ticket.url == f"{JIRA}/browse/PAY-7"
    assert (ticket.title, ticket.type, ticket.status, ticket.priority) == (fields["summary"], "Bug", "To Do", "Highest")
    assert (ticket.assignee, ticket.reporter) == ("Chidi Obi", "Jo Park")
    assert ticket.components == ("Billing",) and ticket.fix_versions == ("2025.07",)
    assert ticket.parent is not None and ticket.parent.startswith("PAY-1 Refunds epic")
    assert ticket.links == ("is blocked by OPS-3 Gateway upgrade [Done]",)
    assert ticket.subtasks == ("PAY-8 Write the migration [To Do]",)
    assert "Refunds go to a default card." in ticket.description
    assert "They must go back to the card that paid." in ticket.description
    assert ticket.acceptance == "Given a paid order, the refund lands on the paying card."
    assert ticket.comments == (Comment("Jo Park", "2025-06-02T10:00:00.000+0000", "Finance agrees."),)
    assert ticket.updated == fields["updated"]
    assert {"PAY-1", "OPS-3", "PAY-8"} <= ticket.related_keys


@pytest.mark.parametrize("name", ["Acceptance Criteria", "Critères d'acceptation", "Critères d’acceptation"])
def test_acceptance_criteria_found_by_the_custom_fields_display_name(name: str) -> None:
    raw = {
        "key": "PAY-9",
        "summary": "x",
        "customfield_10001": {"value": "Sprint 4", "name": "Sprint"},
        "customfield_10077": {"value": "* the total is shown", "name": name},
    }
    assert normalize(raw, "PAY-9").acceptance == "* the total is shown"


def test_demo_french_ticket_gets_its_criteres_d_acceptation() -> None:
    raw = load_demo_tickets()["PAY-150"]
    field = next(
        value for value in raw.values() if isinstance(value, dict) and value.get("name") == "Critères d'acceptation"
    )
    assert normalize(raw, "PAY-150").acceptance == field["value"].strip()


def test_acceptance_field_setting_wins_over_display_names() -> None:
    raw = raw_rest_issue()
    raw["fields"]["customfield_20000"] = "Definition of ready: the refund API is documented."
    ticket = normalize(raw, "PAY-7", acceptance_field="customfield_20000")
    assert ticket.acceptance == "Definition of ready: the refund API is documented."


@pytest.mark.parametrize("value", ["PAY-1", {"key": "PAY-1", "fields": {"summary": "Refunds"}}])
def test_epic_field_setting_names_the_epic_without_display_names(value: object) -> None:
    raw = raw_rest_issue()
    del raw["fields"]["parent"]
    raw["fields"]["customfield_10099"] = value  # no `names` in the answer: nothing tells it is the Epic Link
    assert normalize(raw, "PAY-7").parent is None
    ticket = normalize(raw, "PAY-7", epic_field="customfield_10099")
    assert ticket.parent == "PAY-1" and "PAY-1" in ticket.related_keys


def test_epic_field_that_holds_no_key_gives_no_epic() -> None:
    raw = raw_rest_issue()
    del raw["fields"]["parent"]
    raw["fields"]["customfield_10099"] = "not a key"
    assert normalize(raw, "PAY-7", epic_field="customfield_10099").parent is None


def test_custom_fields_say_their_id_name_and_text() -> None:
    raw = {"key": "PAY-9", "fields": {"summary": "x", "customfield_1": "h3. Done\n* one", "customfield_2": None}}
    raw["names"] = {"customfield_1": "Acceptance criteria"}
    fields = {field.id: field for field in custom_fields(raw)}
    assert fields["customfield_1"].name == "Acceptance criteria" and "- one" in fields["customfield_1"].text
    assert fields["customfield_2"].name == "" and fields["customfield_2"].text == ""


def test_no_acceptance_criteria_is_empty_not_invented() -> None:
    raw = load_demo_tickets()["WEB-91"]
    ticket = normalize(raw, "WEB-91")
    assert ticket.acceptance == "" and ticket.description == "" and ticket.comments == ()
    assert "Acceptance criteria" not in render_ticket(ticket, DEFAULT_BUDGET)


# --- the size budget -----------------------------------------------------------------------


def huge_ticket(description_chars: int = 60_000, comment_count: int = 80) -> Ticket:
    """A ticket with a 60 KB description (a marked head and tail) and 80 numbered comments."""
    filler = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. "
    head, tail = "DESCRIPTION-HEAD ", " DESCRIPTION-TAIL"
    body = (filler * (description_chars // len(filler) + 1))[: description_chars - len(head) - len(tail)]
    description = head + body + tail
    comments = tuple(
        Comment(f"Author {n}", f"2025-01-{n % 28 + 1:02d}T10:00:00", f"comment number {n:03d}: " + "details " * 30)
        for n in range(1, comment_count + 1)
    )
    return Ticket(
        key="PAY-1",
        title="A very long ticket",
        status="Open",
        description=description,
        acceptance="* criterion one\n* criterion two",
        comments=comments,
        updated="2025-02-01",
    )


def test_a_60kb_ticket_with_80_comments_fits_the_default_budget_and_says_what_was_cut() -> None:
    ticket = huge_ticket()
    assert len(ticket.description) >= 60_000 and len(ticket.comments) == 80
    text = render_ticket(ticket, DEFAULT_BUDGET)
    assert len(text) <= DEFAULT_BUDGET
    # What matters most is whole: the header and the acceptance criteria.
    assert "Key: PAY-1" in text and "Title: A very long ticket" in text
    assert "* criterion one\n* criterion two" in text
    # The description keeps its head and loses its tail.
    assert "DESCRIPTION-HEAD" in text and "DESCRIPTION-TAIL" not in text
    assert "comment number 001" not in text  # the oldest comments went first
    lowered = text.lower()
    assert re.search(r"\b\d+ older comment\(s\) of 80 left out", lowered)
    assert re.search(rf"description cut after \d+ of {len(ticket.description)} characters", lowered)


def test_a_60kb_ticket_keeps_its_newest_comment() -> None:
    text = render_ticket(huge_ticket(), DEFAULT_BUDGET)
    assert len(text) <= DEFAULT_BUDGET
    assert "comment number 080" in text


def test_old_comments_go_before_any_of_the_description() -> None:
    ticket = huge_ticket(description_chars=3_000, comment_count=80)
    text = render_ticket(ticket, DEFAULT_BUDGET)
    assert len(text) <= DEFAULT_BUDGET
    assert ticket.description in text  # untouched while comments could still go
    assert "comment number 080" in text and "comment number 001" not in text
    kept = [int(n) for n in re.findall(r"comment number (\d{3})", text)]
    assert kept == list(range(kept[0], 81))  # a contiguous run of the newest ones, in order
    assert f"{kept[0] - 1} older comment(s) of 80 left out" in text
    assert "description cut" not in text


def test_a_ticket_under_the_budget_is_given_whole() -> None:
    ticket = huge_ticket(description_chars=2_000, comment_count=3)
    text = render_ticket(ticket, DEFAULT_BUDGET)
    assert ticket.description in text and all(c.body in text for c in ticket.comments)
    assert "left out" not in text and "cut" not in text.replace(ticket.description, "")


def test_a_changed_ticket_changes_version() -> None:
    raw = load_demo_tickets()["PAY-142"]
    later = copy.deepcopy(raw)
    later["updated"] = "2099-01-01T00:00:00.000+0000"
    assert normalize(raw, "PAY-142").version != normalize(later, "PAY-142").version
    without_updated = {k: v for k, v in raw.items() if k != "updated"}
    edited = {**without_updated, "summary": raw["summary"] + " (v2)"}
    assert normalize(without_updated, "PAY-142").version != normalize(edited, "PAY-142").version


# --- The issue inside any answer shape ------------------------------------------------------------

ISSUE = {"key": "PAY-7", "fields": {"summary": "Refund", "description": "Give it back"}}

SHAPES = [
    ("top level", ISSUE),
    ("success/data", {"success": True, "data": ISSUE}),
    ("issue", {"issue": ISSUE}),
    ("result", {"result": ISSUE}),
    ("structuredContent", {"structuredContent": ISSUE}),
    ("one level down", {"response": ISSUE, "meta": {"took": 12}}),
    ("list of one", [ISSUE]),
    ("wrapper around a list of one", {"data": [ISSUE]}),
    ("the matching item of a list", {"issues": [{**ISSUE, "key": "PAY-8"}, ISSUE]}),
]


@pytest.mark.parametrize("payload", [shape for _, shape in SHAPES], ids=[name for name, _ in SHAPES])
def test_the_issue_is_found_in_any_shape(payload: Any) -> None:
    raw = issue_in_answer(json.dumps(payload), None, "PAY-7")
    ticket = normalize(raw, "PAY-7")
    assert (ticket.key, ticket.title, ticket.description) == ("PAY-7", "Refund", "Give it back")


def test_structured_content_of_the_mcp_result_is_read_first() -> None:
    raw = issue_in_answer("(see structured content)", {"data": ISSUE}, "PAY-7")
    assert normalize(raw, "PAY-7").title == "Refund"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"success": False, "error": "Jira API error 404: no such issue"}, "Jira API error 404: no such issue"),
        ({"success": False, "error": {"message": "token expired", "code": 401}}, "token expired"),
        ({"errorMessages": ["Issue does not exist or you do not have permission to see it."]}, "Issue does not"),
        ({"data": {"ok": False, "message": "rate limited"}}, "rate limited"),
    ],
)
def test_an_error_inside_the_answer_fails_with_the_servers_message(payload: Any, message: str) -> None:
    with pytest.raises(TicketError, match="reported an error") as raised:
        issue_in_answer(json.dumps(payload), None, "PAY-7")
    assert message in str(raised.value)


def test_json_with_no_issue_in_it_is_an_error_not_an_empty_ticket() -> None:
    with pytest.raises(TicketError, match="holds no issue"):
        issue_in_answer(json.dumps({"total": 0, "items": []}), None, "PAY-7")


YAML_ISSUE = """\
issue:
  key: PAY-7
  fields:
    summary: "Refund: to the card"
    status:
      name: Open
    labels:
    - refunds
    description: |
      Give the money back.

      h3. Acceptance criteria
      * first
      * second
    comment:
      comments:
        - author:
            displayName: Jo Park
          created: 2025-06-03T10:00:00.000+0000
          body: >
            Decision: two
            approvals
"""


def test_a_yaml_answer_is_read_like_json() -> None:
    ticket = normalize(issue_in_answer(YAML_ISSUE, None, "PAY-7"), "PAY-7")
    assert (ticket.title, ticket.status, ticket.labels) == ("Refund: to the card", "Open", ("refunds",))
    assert ticket.acceptance == "- first\n- second"
    assert ticket.comments == (Comment("Jo Park", "2025-06-03T10:00:00.000+0000", "Decision: two approvals"),)
    with pytest.raises(TicketError, match="token expired"):
        issue_in_answer("success: false\nerror: token expired\n", None, "PAY-7")


def test_text_that_is_not_json_is_kept_with_its_title() -> None:
    unreadable = "key: PAY-7\nsummary: Refund to the card\n  a line YAML cannot place\n"
    ticket = normalize(issue_in_answer(unreadable, None, "PAY-7"), "PAY-7")
    assert ticket.title == "Refund to the card" and ticket.description == unreadable.strip()
    prose = "# PAY-7: Refund to the card\n\nStatus: Open\n\nGive the money back."
    ticket = normalize(issue_in_answer(prose, None, "PAY-7"), "PAY-7")
    assert (ticket.title, ticket.status) == ("Refund to the card", "Open")
    assert "Give the money back." in ticket.description


def test_epic_link_custom_field_named_through_names() -> None:
    raw = {
        "key": "PAY-7",
        "names": {"customfield_10014": "Epic Link", "customfield_10050": "Critères d'acceptation"},
        "fields": {"summary": "Refund", "customfield_10014": "PAY-1", "customfield_10050": "* un\n* deux"},
    }
    ticket = normalize(raw, "PAY-7")
    assert ticket.parent == "PAY-1" and "PAY-1" in ticket.related_keys
    assert ticket.acceptance == "- un\n- deux"  # v2 wiki bullets as Markdown items


def test_acceptance_criteria_from_a_description_section() -> None:
    description = "Context.\n\nh3. Acceptance criteria\n# first\n# second\n\nh3. Notes\nLater."
    ticket = normalize({"key": "PAY-7", "fields": {"summary": "Refund", "description": description}}, "PAY-7")
    assert ticket.acceptance == "1. first\n1. second"
    bold = "Context.\n\n**Acceptance criteria:**\n- first\n- second\n\n**Notes**\nLater."
    assert normalize({"key": "PAY-7", "summary": "R", "description": bold}, "PAY-7").acceptance == "- first\n- second"
