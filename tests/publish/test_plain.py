"""Briefs as plain text for the commit hooks: no Markdown left to read through, wrapped at 100 columns."""

from __future__ import annotations

from jira_brief.brief.normalize import normalize_brief
from jira_brief.brief.offline import offline_brief
from jira_brief.brief.template import load_template
from jira_brief.config.settings import Settings
from jira_brief.jira.demo.server import load_demo_tickets
from jira_brief.jira.normalize import normalize_issue
from jira_brief.publish.plain import plain_brief, plain_inline

MODEL_BRIEF = """#### Contexte

Le client paie en **deux fois** avec la \\*\\*dernière\\*\\* carte ; voir [PAY-100](https://jira.example.com/browse/PAY-100) et <https://status.example.com/incident/42>.

*Règles à garder en tête*

- Au moins **10 €** par carte, même quand le panier dépasse largement le minimum de cent euros et que la seconde carte porte presque tout le montant.
  - `capture_method=manual` côté Stripe
  * snake_case_names et 2 * 3 * 4 restent tels quels
1. d'abord autoriser
2) puis capturer

> Citation d'un commentaire

| carte | montant |
| --- | --- |
| 1 | 60 €<br>TTC |

```python
MIN = 10  # **pas du gras**
```

---
#### Objectif
Partager ~~une~~ la commande entre deux cartes\\!"""  # noqa: E501  (lines as long as models write them)


def test_markdown_becomes_plain_lines() -> None:
    text = plain_brief(MODEL_BRIEF)
    lines = text.splitlines()
    assert lines[0] == "CONTEXTE"
    assert "OBJECTIF" in lines and "Règles à garder en tête" in lines
    assert "Le client paie en deux fois avec la dernière carte ; voir PAY-100" in text
    assert "(https://jira.example.com/browse/PAY-100) et https://status.example.com/incident/42." in text
    assert "• Au moins 10 € par carte, même quand" in text
    assert "  - capture_method=manual côté Stripe" in lines
    assert "  - snake_case_names et 2 * 3 * 4 restent tels quels" in lines
    assert "1. d'abord autoriser" in lines and "2) puis capturer" in lines
    assert "  Citation d'un commentaire" in lines
    assert "| 1 | 60 €; TTC |" in lines
    assert "    MIN = 10  # **pas du gras**" in lines  # code is kept as written
    assert lines[-1] == "Partager une la commande entre deux cartes!"
    prose = "\n".join(line for line in lines if not line.startswith("    "))
    for mark in ("####", "**", "\\", "`", "](", "<https", "~~", "<br>"):
        assert mark not in prose, mark


def test_wrapped_at_100_columns_with_hanging_indents() -> None:
    lines = plain_brief(MODEL_BRIEF).splitlines()
    assert max(len(line) for line in lines) <= 100
    start = next(i for i, line in enumerate(lines) if line.startswith("• Au moins"))
    assert lines[start + 1].startswith("  ") and not lines[start + 1].startswith("   ")  # under the text
    long_url = "https://jira.example.com/" + "x" * 120
    assert long_url in plain_brief(f"- voir {long_url}").splitlines()[1]  # never cut in two


def test_blank_lines_between_blocks_never_pile_up() -> None:
    text = plain_brief("\n\n#### A\n\n\n\ntexte\n\n\n#### B\n- un\n\n\n")
    assert text == "A\n\ntexte\n\nB\n• un"


def test_inline_code_keeps_what_it_holds() -> None:
    # Escaped marks read as the emphasis the writer meant (models escape bold they wanted shown).
    assert plain_inline(r"`a\*b` et \*\*c\*\*") == r"a\*b et c"
    assert plain_inline("[https://x.example](https://x.example)") == "https://x.example"


def test_the_offline_brief_of_every_demo_ticket_reads_plainly() -> None:
    template = load_template(Settings(language="en"))
    for key, raw in load_demo_tickets().items():
        brief = normalize_brief(offline_brief(normalize_issue(raw, key), template), template.headings)
        text = plain_brief(brief)
        assert "####" not in text and "**" not in text, key
        assert all(len(line) <= 100 or " " not in line.strip() for line in text.splitlines()), key
