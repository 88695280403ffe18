"""ADF and Jira wiki markup → Markdown, table-driven.

The ADF inputs are the examples of Atlassian's node reference
(https://developer.atlassian.com/cloud/jira/platform/apis/document/nodes/<node>/ and
https://developer.atlassian.com/platform/framework/adf-builder/reference/nodes/mention/), copied as
small test data; the wiki inputs follow Jira's text formatting notation help
(https://jira.atlassian.com/secure/WikiRendererHelpAction.jspa?section=all)."""

from __future__ import annotations

from typing import Any

import pytest

from jira_brief.jira.richtext import adf_to_markdown, wiki_to_markdown


def text(value: str, *marks: dict[str, Any]) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "text", "text": value}
    if marks:
        node["marks"] = list(marks)
    return node


def para(*inline: dict[str, Any]) -> dict[str, Any]:
    return {"type": "paragraph", "content": list(inline)}


def item(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {"type": "listItem", "content": list(blocks)}


def doc(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {"version": 1, "type": "doc", "content": list(blocks)}


ADF_CASES = [
    ("paragraphs stay apart", doc(para(text("Hello world")), para(text("Second"))), "Hello world\n\nSecond"),
    (
        "heading",
        doc({"type": "heading", "attrs": {"level": 1}, "content": [text("Heading 1")]}),
        "# Heading 1",
    ),
    (
        "bulletList",
        doc({"type": "bulletList", "content": [item(para(text("Hello world"))), item(para(text("Again")))]}),
        "- Hello world\n- Again",
    ),
    (
        "orderedList with its order",
        doc(
            {
                "type": "orderedList",
                "attrs": {"order": 3},
                "content": [item(para(text("Nine"))), item(para(text("Ten")))],
            }
        ),
        "3. Nine\n4. Ten",
    ),
    (
        "nested list under an item",
        doc(
            {
                "type": "bulletList",
                "content": [
                    item(
                        para(text("Parent")),
                        {"type": "bulletList", "content": [item(para(text("Child")))]},
                    )
                ],
            }
        ),
        "- Parent\n  - Child",
    ),
    (
        "codeBlock",
        doc(
            {
                "type": "codeBlock",
                "attrs": {"language": "javascript"},
                "content": [text("var foo = {};\nvar bar = [];")],
            }
        ),
        "```javascript\nvar foo = {};\nvar bar = [];\n```",
    ),
    (
        "marks: strong, em, code, strike, link",
        doc(
            para(
                text("Bold", {"type": "strong"}),
                text(" "),
                text("it", {"type": "em"}),
                text(" "),
                text("x()", {"type": "code"}),
                text(" "),
                text("old", {"type": "strike"}),
                text(" "),
                text("Atlassian", {"type": "link", "attrs": {"href": "http://atlassian.com"}}),
            )
        ),
        "**Bold** *it* `x()` ~~old~~ [Atlassian](http://atlassian.com)",
    ),
    (
        "mention shows the display name",
        doc(
            para(
                text("Ask "), {"type": "mention", "attrs": {"id": "ABCDE-ABCDE-ABCDE-ABCDE", "text": "@Bradley Ayers"}}
            )
        ),
        "Ask @Bradley Ayers",
    ),
    ("hardBreak", doc(para(text("Hello"), {"type": "hardBreak"}, text("world"))), "Hello\nworld"),
    (
        "panel",
        doc({"type": "panel", "attrs": {"panelType": "info"}, "content": [para(text("Hello world"))]}),
        "> **Info:** Hello world",
    ),
    (
        "table with a header row",
        doc(
            {
                "type": "table",
                "attrs": {"isNumberColumnEnabled": False, "layout": "center"},
                "content": [
                    {
                        "type": "tableRow",
                        "content": [
                            {"type": "tableHeader", "attrs": {}, "content": [para(text("Heading one"))]},
                            {"type": "tableHeader", "attrs": {}, "content": [para(text("Heading two"))]},
                        ],
                    },
                    {
                        "type": "tableRow",
                        "content": [
                            {"type": "tableCell", "attrs": {}, "content": [para(text("Cell one"))]},
                            {"type": "tableCell", "attrs": {}, "content": [para(text("Cell two"))]},
                        ],
                    },
                ],
            }
        ),
        "| Heading one | Heading two |\n| --- | --- |\n| Cell one | Cell two |",
    ),
    ("blockquote", doc({"type": "blockquote", "content": [para(text("Hello world"))]}), "> Hello world"),
    ("rule", doc(para(text("a")), {"type": "rule"}, para(text("b"))), "a\n\n---\n\nb"),
    (
        "inlineCard and status",
        doc(
            para(
                {"type": "inlineCard", "attrs": {"url": "https://atlassian.com"}},
                text(" "),
                {"type": "status", "attrs": {"localId": "abcdef12", "text": "In Progress", "color": "yellow"}},
            )
        ),
        "<https://atlassian.com> [In Progress]",
    ),
    ("date", doc(para({"type": "date", "attrs": {"timestamp": "1582152559000"}})), "2020-02-19"),
    ("emoji", doc(para({"type": "emoji", "attrs": {"shortName": ":grinning:", "text": "😀"}})), "😀"),
]


@pytest.mark.parametrize(("document", "markdown"), [case[1:] for case in ADF_CASES], ids=[c[0] for c in ADF_CASES])
def test_adf_to_markdown(document: dict[str, Any], markdown: str) -> None:
    assert adf_to_markdown(document) == markdown


WIKI_CASES = [
    ("heading", "h3. Acceptance criteria", "### Acceptance criteria"),
    ("bullets and nesting", "* one\n* two\n** two a", "- one\n- two\n   - two a"),
    ("numbered", "# first\n# second", "1. first\n1. second"),
    ("bold, emphasis, monospace", "a *bold* and _em_ word, {{code()}}", "a **bold** and *em* word, `code()`"),
    ("link with text", "see [the spec|https://example.com/spec]", "see [the spec](https://example.com/spec)"),
    ("bare link and user", "[https://example.com] by [~jsmith]", "<https://example.com> by @jsmith"),
    ("code block kept verbatim", "{code:java}\nint x = *y*;\n{code}", "```java\nint x = *y*;\n```"),
    ("noformat", "{noformat}\n*raw*\n{noformat}", "```\n*raw*\n```"),
    ("quote line", "bq. Quoted", "> Quoted"),
    ("table", "||Name||Value||\n|a|b|", "| Name | Value |\n| --- | --- |\n| a | b |"),
    ("strike", "the -old- way", "the ~~old~~ way"),
    ("words with hyphens stay", "re-run the pre-commit hook", "re-run the pre-commit hook"),
    ("monospace JSON keeps its braces", 'send {{{"amount": 12}}}', 'send `{"amount": 12`}'),
    ("an unclosed mention stays text", "[~[~jsmith]", "[~@jsmith"),
    ("colour marks go", "{color:red}{color:#ff0000}late{color}", "late"),
]


@pytest.mark.parametrize(("wiki", "markdown"), [case[1:] for case in WIKI_CASES], ids=[c[0] for c in WIKI_CASES])
def test_wiki_to_markdown(wiki: str, markdown: str) -> None:
    assert wiki_to_markdown(wiki) == markdown
