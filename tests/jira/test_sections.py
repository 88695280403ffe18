"""A section of a description: found by its heading, or taken out of the text (pure)."""

from __future__ import annotations

import re

from jira_brief.jira.sections import description_section, without_section

RULES = re.compile(r"business rules", re.I)
TEXT = """As a shopper I want two cards.

## Business rules
- At least €10 a card.
### Edge cases
- A declined card voids both.

## Out of scope
- Gift cards."""


def test_without_section_takes_out_what_description_section_gives() -> None:
    rest = without_section(TEXT, RULES)
    assert rest == "As a shopper I want two cards.\n\n## Out of scope\n- Gift cards."
    assert description_section(TEXT, RULES) not in rest  # its deeper heading went with it


def test_without_section_keeps_everything_when_no_heading_matches() -> None:
    assert without_section(TEXT, re.compile("acceptance", re.I)) == TEXT


def test_without_section_takes_out_the_first_match_only() -> None:
    text = "**Business rules**\n- one\n\n**Business rules**\n- two"
    assert without_section(text, RULES) == "**Business rules**\n- two"
