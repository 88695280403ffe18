"""The comment's words a template sets: untrusted text that keeps its own placeholders and nothing else."""

from __future__ import annotations

import re

import cmarkgfm
import pytest

from jira_brief.errors import UsageError
from jira_brief.publish.labels import for_forge, labels_for


def block(*lines: str) -> str:
    return "## Summary\n<!-- jira-brief:labels\n" + "\n".join(lines) + "\n-->\n"


def test_the_documented_placeholders_are_filled() -> None:
    labels = for_forge(labels_for("en", block("cut: {count} left out of this {review}: {keys}")), "GitLab", "MR")
    assert labels.say("cut", count=2, keys="PAY-1, PAY-2") == "2 left out of this MR: PAY-1, PAY-2"


def test_same_keeps_its_link_to_our_comment_and_only_that() -> None:
    labels = labels_for("en", block("same: [The @team {review} comment]({url}) or [this](https://evil.example)"))
    url = "https://github.com/o/r/pull/1#issuecomment-9"
    html = cmarkgfm.github_flavored_markdown_to_html(labels.say("same", url=url))
    assert re.findall(r'href="([^"]*)"', html) == [url]
    assert "@\u200dteam" in html  # no mention either


def test_a_lone_brace_is_refused() -> None:
    with pytest.raises(UsageError, match=r"label title has '\{'"):
        labels_for("en", block("title: Digest {"))


def test_the_built_in_words_are_not_touched() -> None:
    assert labels_for("en").same == "[The {review} comment]({url}) shows the same briefs."
