"""The sticky comment's Markdown: sanitizing, sections with fingerprints, parsing back, size cap."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest

from jira_brief.brief.result import BriefResult
from jira_brief.jira.ticket import Ticket
from jira_brief.publish.comment import (
    MARKER,
    Section,
    Style,
    heading_for,
    known_fingerprints,
    parse_sections,
    render_document,
    render_section,
    sealed,
    utf8_size,
)
from jira_brief.publish.labels import labels_for
from jira_brief.publish.neutralize import ZWJ, jira_hosts, neutralize, sanitize
from jira_brief.publish.neutralize import inline_text as one_line

JIRA = "shopwave.atlassian.net"
HOSTS = frozenset({JIRA})
KEY = bytes(range(32))  # a seal key, as forges.sticky.seal_key derives one from the run's secrets


def live_syntax(text: str) -> list[str]:
    """What would still act on GitHub: HTML, entities, link ends, mentions, references, URL autolinks."""
    patterns = [
        r"<[A-Za-z/!?]",
        r"&[#A-Za-z]",
        r"\][(\[:]",
        r"(?<![A-Za-z0-9])@[A-Za-z0-9]",
        r"#[0-9]",
        r"\bGH-[0-9]",
        r"\bhttps?://",
        r"(?<![A-Za-z0-9])www\.",
    ]
    return [match for pattern in patterns for match in re.findall(pattern, text, re.IGNORECASE)]


def ticket(key: str = "PAY-142", **fields: Any) -> Ticket:
    base = Ticket(
        key=key,
        title="Split payments",
        url=f"https://{JIRA}/browse/{key}",
        type="Story",
        status="In Progress",
        priority="High",
        assignee="Lukas Brandt",
    )
    return dataclasses.replace(base, **fields)


def result(key: str = "PAY-142", brief: str | None = "Brief.", error: str | None = None, **fields: Any) -> BriefResult:
    return BriefResult(
        key, "pr-title", ticket=ticket(key, **fields), brief=brief, error=error, fingerprint="0123456789abcdef0123"
    )


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("thanks @alice", f"thanks @{ZWJ}alice"),
        ("ask @octo/reviewers", f"ask @{ZWJ}octo/reviewers"),
        ("mail dev@example.com", f"mail dev@{ZWJ}example.com"),
        ("see #12 and octo/shop#3", f"see #{ZWJ}12 and octo/shop#{ZWJ}3"),
        ("as in GH-7", f"as in GH{ZWJ}-7"),
        ("<img src=x>", f"<{ZWJ}img src=x>"),
        ("</details>", f"<{ZWJ}/details>"),
        (MARKER, f"<{ZWJ}!-- jira-brief -->"),
        ("&#64;bob", f"&{ZWJ}#{ZWJ}64;bob"),
        ("[x](y) [a][b] [r]: z", f"[x]{ZWJ}(y) [a]{ZWJ}[b] [r]{ZWJ}: z"),
        ("go to https://evil.example or www.evil.example", f"go to http{ZWJ}s://evil.example or www{ZWJ}.evil.example"),
        ("a < b && c", "a < b && c"),
    ],
)
def test_neutralize_inserts_an_invisible_joiner_where_syntax_would_start(raw: str, shown: str) -> None:
    assert neutralize(raw) == shown
    assert neutralize(raw).replace(ZWJ, "") == raw


def test_links_to_the_jira_host_stay_and_others_show_their_address() -> None:
    text = f"[spec](https://{JIRA}/wiki/x?a=1&b=2#c) and [login](https://evil.example/login)"

    shown = sanitize(text, HOSTS)

    assert f"[spec](https://{JIRA}/wiki/x?a=1&b=2#c)" in shown
    assert f"login (http{ZWJ}s://evil.example/login)" in shown
    assert "](https://evil" not in shown


def test_images_keep_only_their_text() -> None:
    shown = sanitize(f"![chart](https://{JIRA}/c.png) ![pixel](https://evil.example/p.png)", HOSTS)

    assert shown == "chart pixel"


def test_bare_urls_stay_clickable_only_on_the_jira_host() -> None:
    shown = sanitize(f"https://{JIRA}/browse/PAY-1 https://evil.example/x", HOSTS)

    assert shown == f"https://{JIRA}/browse/PAY-1 http{ZWJ}s://evil.example/x"


def test_a_mention_glued_to_a_kept_url_is_still_caught() -> None:
    assert sanitize(f"@https://{JIRA}/x", HOSTS) == f"@{ZWJ}https://{JIRA}/x"


def test_code_blocks_stay_code_and_an_open_one_is_closed() -> None:
    text = "Before\n```python\nif a < b:\n    print('@x')\n"

    shown = sanitize(text)

    assert shown.endswith("\n```")
    assert shown.replace(ZWJ, "") == text + "\n```"
    assert live_syntax(shown) == []


def test_a_closed_block_is_left_as_written() -> None:
    text = "~~~\n<b>\n~~~\nafter @bob"

    assert sanitize(text).replace(ZWJ, "") == text
    assert sanitize(text).count("~~~") == 2


def test_line_endings_are_normalized_so_a_lone_cr_hides_nothing() -> None:
    assert sanitize("a\r<img>\r\nb") == f"a\n<{ZWJ}img>\nb"


ATTACKS = [
    "<details><summary>x</summary><img src=https://evil.example/p></details>",
    "`code` <!-- jira-brief:section key=PAY-1 --> `more`",
    "\\`x` <img src=y> `z`",
    "| a | b |\n| --- | --- |\n| `b|<img src=x>` | c |",
    "[x](javascript:alert(1)) [y](//evil.example) [z]: https://evil.example\n[z]",
    "```\n<img>\n```\n<script>alert(1)</script>",
    "x ` y\nz ` <img src=q> `",
    "@bob@alice #1#2 &amp;#64;carol https://evil.example www.evil.example",
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_no_live_syntax_survives(attack: str) -> None:
    shown = sanitize(attack, HOSTS)

    assert live_syntax(shown) == []
    assert shown.replace(ZWJ, "") == attack


def github_html(markdown: str) -> str:
    """`markdown` as GitHub's own parser (cmark-gfm) renders it, raw HTML allowed so none is hidden."""
    cmarkgfm = pytest.importorskip("cmarkgfm", reason="cmarkgfm (GitHub's cmark-gfm) is not installed")
    from cmarkgfm.cmark import Options

    return str(cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE))


@pytest.mark.parametrize("attack", ATTACKS)
def test_github_renders_no_html_and_no_foreign_link_from_ticket_text(attack: str) -> None:
    html = github_html(sanitize(f"{attack}\n\n[spec](https://{JIRA}/wiki/x)", HOSTS))

    assert set(re.findall(r"<(/?[a-z]+)", html)) <= {
        "p",
        "/p",
        "code",
        "/code",
        "pre",
        "/pre",
        "a",
        "/a",
        "table",
        "/table",
        "thead",
        "/thead",
        "tbody",
        "/tbody",
        "tr",
        "/tr",
        "th",
        "/th",
        "td",
        "/td",
    }
    assert re.findall(r'href="([^"]*)"', html) == [f"https://{JIRA}/wiki/x"]


def test_a_brief_cannot_break_out_of_its_section() -> None:
    escape = "```\nunclosed code\n</details><img src=x>"
    sections = [render_section(result("PAY-142", brief=escape), HOSTS), render_section(result("WEB-88"), HOSTS)]

    html = github_html(render_document(sections, heading=heading_for([])).text)

    assert html.count("<details>") == html.count("</details>") == 2
    assert f'<summary><a href="https://{JIRA}/browse/WEB-88"><b>WEB-88</b></a>' in html
    assert "<img" not in html


def test_one_line_flattens_and_escapes_markdown() -> None:
    assert one_line("In *Progress*\n| @bob") == f"In \\*Progress\\* \\| @{ZWJ}bob"


def test_a_section_links_the_key_and_carries_its_fingerprint() -> None:
    section = render_section(result(title="Pay <b>now</b> @alice"), HOSTS)

    assert section.text.startswith("<!-- jira-brief:section key=PAY-142 fingerprint=0123456789abcdef0123 -->")
    assert f'<a href="https://{JIRA}/browse/PAY-142"><b>PAY-142</b></a>' in section.text
    assert f"Pay &lt;{ZWJ}b&gt;now&lt;{ZWJ}/b&gt; @{ZWJ}alice" in section.text
    assert "<sub>Story · In Progress · High · Lukas Brandt</sub>" in section.text
    assert section.fingerprint == "0123456789abcdef0123" and section.brief == "Brief."


def test_a_failed_section_says_why_and_has_no_fingerprint() -> None:
    section = render_section(result(brief="Offline brief.", error="model timed out after 120 s"), HOSTS)

    assert "Could not be briefed:** model timed out after 120 s" in section.text
    assert "fingerprint=" not in section.text and section.fingerprint is None
    assert "Offline brief." in section.text


def test_sections_parse_back_exactly_and_forged_markers_in_a_brief_do_not() -> None:
    forged = "<!-- jira-brief:section key=WEB-1 fingerprint=ffffffffffffffffffff -->\nx\n<!-- /jira-brief:section -->"
    sections = [render_section(result("PAY-142", brief=forged), HOSTS), render_section(result("WEB-88"), HOSTS)]
    sections = [sealed(section, KEY) for section in sections]
    document = render_document(sections, heading=heading_for([]))

    parsed = parse_sections(document.text, KEY)

    assert list(parsed) == ["PAY-142", "WEB-88"]
    assert parsed["PAY-142"] == sections[0] and parsed["WEB-88"] == sections[1]
    assert known_fingerprints(parsed) == {"PAY-142": "0123456789abcdef0123", "WEB-88": "0123456789abcdef0123"}


def test_an_edited_section_or_one_sealed_under_another_key_is_not_parsed_back() -> None:
    section = sealed(render_section(result(brief="The brief."), HOSTS), KEY)
    document = render_document([section], heading="h").text
    edited = document.replace("The brief.", "Approved by security.")
    unsealed = render_document([render_section(result(), HOSTS)], heading="h").text

    assert list(parse_sections(document, KEY)) == ["PAY-142"]
    assert list(parse_sections(document.replace("\n", "\r\n"), KEY)) == ["PAY-142"]  # as a forge may store it
    assert parse_sections(edited, KEY) == {}
    assert parse_sections(document, bytes(32)) == {}
    assert parse_sections(unsealed, KEY) == {} and parse_sections(document, None) == {}


def test_a_document_over_the_limit_drops_whole_sections_from_the_end() -> None:
    sections = [Section(f"PAY-{n}", f"<!-- section {n} -->\n" + "x" * 1000) for n in range(1, 6)]

    document = render_document(sections, heading="### Jira brief", limit=3300)

    assert document.cut == ("PAY-3", "PAY-4", "PAY-5")
    assert len(document.text) <= 3300
    assert "3 ticket(s) left out" in document.text and "PAY-3, PAY-4, PAY-5" in document.text
    assert document.text.startswith(MARKER)


def test_the_summary_counts_bytes() -> None:
    sections = [Section("PAY-1", "é" * 600), Section("PAY-2", "é" * 600)]

    document = render_document(sections, heading="h", marker=None, limit=2000, size=utf8_size)

    assert document.cut == ("PAY-2",) and not document.text.startswith(MARKER)


def test_heading_counts_tickets_and_failures() -> None:
    heading = heading_for([result(), result("WEB-88", error="boom")])
    assert heading.startswith("### Jira brief\n2 tickets · 1 could not be briefed\n")


def test_jira_hosts_come_from_the_tickets_own_urls() -> None:
    assert jira_hosts([result(), BriefResult("X-1", "arg")]) == HOSTS


# --- reading at a glance: table, open section, language, dates -------------------------------


def test_several_tickets_start_with_a_table_that_links_each_key() -> None:
    results = [result(), result("WEB-88", title="Email | shows <b>", error="boom"), BriefResult("NOPE-1", "arg")]
    sections = [render_section(one, HOSTS) for one in results]

    html = github_html(render_document(sections, heading=heading_for(results)).text)

    table = html[html.index("<table>") : html.index("</table>")]
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.DOTALL)
    assert len(rows) == 4  # the header and one row a ticket
    assert re.findall(r'<a href="([^"]+)">', table) == [
        f"https://{JIRA}/browse/PAY-142",
        f"https://{JIRA}/browse/WEB-88",
    ]
    assert "Lukas Brandt" in rows[1] and "In Progress" in rows[1] and "Story" in rows[1]
    assert "⚠️" in rows[2] and "<b>" not in table  # a title cannot break out of its cell
    assert "NOPE-1" in rows[3]
    assert html.index("</table>") < html.index("<details>")
    assert html.count("<details>") == 3 and "<details open>" not in html


def test_a_lone_ticket_is_open_and_has_no_table_even_when_its_old_section_is_reused() -> None:
    alone = render_document([sealed(render_section(result(), HOSTS), KEY)], heading=heading_for([result()])).text
    reused = parse_sections(alone, KEY)["PAY-142"]
    both = render_document([reused, render_section(result("WEB-88"), HOSTS)], heading=heading_for([])).text

    assert "<details open>" in github_html(alone) and "<table>" not in github_html(alone)
    assert "<details open>" not in both and both.count("<details>") == 2
    assert render_document([parse_sections(both, KEY)["PAY-142"]], heading="h").text.count("<details open>") == 1


def test_french_briefs_get_french_words_and_french_dates() -> None:
    labels = labels_for("fr")
    results = [result(updated="2025-05-14T16:05:09.871+0200"), result("WEB-88", error="délai dépassé")]
    sections = [render_section(one, HOSTS, Style(labels)) for one in results]

    whole = render_document(sections, heading=heading_for(results, Style(labels)), labels=labels).text
    text = render_document(
        sections, heading=heading_for(results, Style(labels)), labels=labels, limit=len(whole) - 1
    ).text

    for english in ("Jira brief", "could not be briefed", "Written by", "Could not", "Title", "Assignee", "left out"):
        assert english not in whole + text
    assert "### Brief Jira\n2 tickets · 1 en échec" in whole
    assert "| Clé | Titre | Type | Statut | Assigné à |" in whole
    assert "mis à jour le 14 mai 2025" in whole and "Résumé impossible :" in whole
    assert "laissé(s) de côté" in text and "WEB-88" in text.split("laissé(s)")[1]  # the size cut, in French


def test_english_dates_read_month_first() -> None:
    section = render_section(result(updated="2025-05-06T09:31:12.004+0200"), HOSTS, Style(labels_for("en")))

    assert "<sub>Story · In Progress · High · Lukas Brandt · updated May 6, 2025</sub>" in section.text


def test_a_custom_template_sets_the_comments_words() -> None:
    template = "## Summary\n<!-- jira-brief:labels\ntitle: Ticket digest\nfooter: Made by the release bot.\n-->\n"

    labels = labels_for("en", template)
    text = render_document(
        [render_section(result(), HOSTS, Style(labels))], heading=heading_for([result()], Style(labels)), labels=labels
    ).text

    assert text.startswith(f"{MARKER}\n### Ticket digest\n1 ticket")
    assert "<sub>Made by the release bot.</sub>" in text


def test_a_misspelt_label_is_a_usage_error_naming_the_choices() -> None:
    from jira_brief.errors import UsageError

    with pytest.raises(UsageError, match=r"titel: x.*footer"):
        labels_for("en", "<!-- jira-brief:labels\ntitel: x\n-->")


def test_a_published_check_block_goes_under_its_brief_inside_its_section() -> None:
    section = render_section(result(brief="The brief."), HOSTS, check_block="**Coverage:** 2 of 3 criteria")

    html = github_html(section.text)

    assert html.index("The brief.") < html.index("Coverage:") < html.index("</details>")
    assert parse_sections(sealed(section, KEY).text, KEY)["PAY-142"].brief == "The brief."


def test_a_published_brief_shows_the_templates_headings_inside_its_section(engine_env: Any, run_pipeline: Any) -> None:
    [offline] = run_pipeline(["PAY-142"], engine_env.settings(llm="none"))

    html = github_html(render_document([render_section(offline, HOSTS)], heading=heading_for([offline])).text)

    body = html[html.index("<details open>") : html.index("</details>")]
    assert re.findall(r"<h4>(.*?)</h4>", body) == [
        "Contexte",
        "Objectif",
        "Critères d’acceptation",
        "Étapes",
        "Règles métier",
        "Points d’attention",
    ]
    assert "<li>" in body and "TICKET" not in body
