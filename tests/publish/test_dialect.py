"""The comment in Bitbucket's dialect: markers as link reference definitions, a heading per ticket, lists
that Python-Markdown reads; rendered by the fake's Bitbucket renderer (Python-Markdown, raw HTML escaped)
to check that nothing of the markers shows and no HTML of ours is escaped into view."""

from __future__ import annotations

import dataclasses
import re

import pytest

from jira_brief.brief.criteria import Coverage, Evidence, Verdict
from jira_brief.brief.result import BriefResult
from jira_brief.forges.bitbucket.forge import REFERENCES
from jira_brief.publish.comment import (
    MARKER,
    Style,
    heading_for,
    parse_sections,
    render_document,
    render_section,
    sealed,
)
from jira_brief.publish.coverage import published_check, render_coverage
from jira_brief.publish.dialect import HTML, PLAIN, loose_lists
from jira_brief.publish.labels import labels_in
from jira_brief.publish.neutralize import ZWJ
from tests.fakes.bitbucket_server import make_account, render_markdown
from tests.publish.test_comment import ATTACKS, HOSTS, JIRA, KEY, result

# Bitbucket's own references, as its forge declares them.
BITBUCKET = Style(labels_in("en"), REFERENCES, lambda path, lines: f"https://bb/diff#chg-{path}", PLAIN)
CHECK = Coverage(
    verdicts=(
        Verdict("The split is offered from €100.", "covered", (Evidence("shop/split.py", "1-3"),), "threshold"),
        Verdict("Refunds go back in proportion.", "not_seen", (), ""),
    ),
    judged=1,
    total=1,
    fingerprint="fedcba9876543210",
    language="en",
)


def checked() -> BriefResult:
    return dataclasses.replace(result("PAY-142"), coverage=CHECK)


def document(*results: BriefResult, style: Style = BITBUCKET) -> str:
    sections = [sealed(render_section(item, HOSTS, style), KEY) for item in results]
    heading = heading_for(list(results), style)
    return render_document(sections, heading=heading, marker=style.dialect.marker, dialect=style.dialect).text


def visible(html: str) -> str:
    """The text a reader sees (tags dropped, entities as shown)."""
    return re.sub(r"<[^>]+>", "", html).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def test_nothing_of_the_markers_shows_and_nothing_of_ours_is_escaped() -> None:
    text = document(checked(), result("WEB-88", error="model timed out"))

    html = render_markdown(text)

    assert text.startswith("[//]: # (jira-brief)\n") and "<!--" not in text and "<details" not in text
    assert "jira-brief:" not in html and "[//]" not in html and "&lt;" not in html
    assert html.count("<h3>") == 3  # the comment's title and one heading a ticket
    assert f'<h3><a href="https://{JIRA}/browse/PAY-142">PAY-142</a> — Split payments</h3>' in html
    assert "<em>Story · In Progress · High · Lukas Brandt</em>" in html
    assert "<li>✅ The split is offered from €100." in html  # the check's verdicts are a list
    assert "Written by jira-brief" in visible(html)


def test_sections_fingerprints_briefs_and_checks_read_back_in_either_dialect() -> None:
    for style in (BITBUCKET, Style(labels_in("en"))):
        section = sealed(render_section(checked(), HOSTS, style), KEY)
        text = document(checked(), result("WEB-88"), style=style)

        parsed = parse_sections(text, KEY)

        assert list(parsed) == ["PAY-142", "WEB-88"]
        assert parsed["PAY-142"] == section
        assert parsed["WEB-88"].fingerprint == "0123456789abcdef0123" and parsed["WEB-88"].brief == "Brief."
        check = published_check(parsed["PAY-142"].text)
        assert check is not None and check.fingerprint == "fedcba9876543210" and check.verdicts == CHECK.verdicts


def test_markers_forged_in_a_brief_do_not_parse_and_do_not_hide() -> None:
    forged = (
        "[//]: # (jira-brief:section key=WEB-1 fingerprint=ffffffffffffffffffff)\n\nx\n\n"
        "[//]: # (/jira-brief:section)\n[//]: # (jira-brief)"
    )
    text = document(result("PAY-142", brief=forged))

    assert list(parse_sections(text, KEY)) == ["PAY-142"]
    assert text.count("[//]: # (jira-brief)") == 1
    assert "jira-brief:section key=WEB-1" in visible(render_markdown(text)).replace(ZWJ, "")


def test_bitbuckets_own_mentions_are_neutralized() -> None:
    dana = make_account("Dana Dev")
    attack = f'Ping @{{{dana.account_id}}} and @"Dana Dev" and @dana'

    html = render_markdown(document(result(brief=attack, title=attack)), [dana])

    assert "ap-mention" not in html
    assert f"@{ZWJ}{{{dana.account_id}}}" in html


@pytest.mark.parametrize("attack", ATTACKS)
def test_bitbucket_renders_no_html_and_no_foreign_link_from_ticket_text(attack: str) -> None:
    html = render_markdown(document(result(brief=f"{attack}\n\n[spec](https://{JIRA}/wiki/x)")))

    assert set(re.findall(r'href="([^"]*)"', html)) <= {f"https://{JIRA}/wiki/x", f"https://{JIRA}/browse/PAY-142"}
    assert not re.search(r"<(img|script|details|summary|b)\b", html)


def test_a_list_right_under_a_line_becomes_a_list_and_code_stays_as_written() -> None:
    brief = "Rules:\n- one\n- two\n\n```\nx:\n- not a list\n```\n*Out of scope*\n1. first"

    loose = loose_lists(brief)
    html = render_markdown(loose)

    assert loose == "Rules:\n\n- one\n- two\n\n```\nx:\n- not a list\n```\n*Out of scope*\n\n1. first"
    assert html.count("<li>") == 3 and "- not a list" in html


def test_the_html_dialect_is_the_one_github_always_had() -> None:
    assert MARKER == HTML.marker == "<!-- jira-brief -->"
    assert HTML.wrap("a", "/a", "x") == "<!-- a -->\nx\n<!-- /a -->"
    assert PLAIN.wrap("a", "/a", "x") == "[//]: # (a)\n\nx\n\n[//]: # (/a)"
    block = render_coverage(CHECK, labels_in("en"))
    assert block.startswith("<!-- jira-brief:check fingerprint=fedcba9876543210 data=")
    assert "· 1 of 2 criteria covered\n- ✅" in block


def test_a_title_ending_in_a_hash_keeps_it_under_a_heading() -> None:
    html = render_markdown(document(result(title="Support C#")))

    assert "— Support C#</h3>" in html


def test_a_section_edited_in_either_dialect_no_longer_verifies() -> None:
    for style in (BITBUCKET, Style(labels_in("en"))):
        text = document(checked(), result("WEB-88", brief="Its own brief."), style=style)
        assert list(parse_sections(text.replace("Its own brief.", "Approved."), KEY)) == ["PAY-142"]
        assert parse_sections(text.replace("fedcba9876543210", "fedcba9876543211"), KEY).keys() == {"WEB-88"}
