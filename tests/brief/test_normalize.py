"""Heading normalization: what models really write becomes the template's headings, as GitHub renders them."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from importlib import resources

import pytest

from jira_brief.brief.normalize import Normalizer, display, fold
from jira_brief.brief.normalize import normalize_brief as normalize

FR = [
    line[3:]
    for line in resources.files("jira_brief.brief").joinpath("prompts", "fr.md").read_text("utf-8").splitlines()
    if line.startswith("## ")
]
EN = [
    line[3:]
    for line in resources.files("jira_brief.brief").joinpath("prompts", "en.md").read_text("utf-8").splitlines()
    if line.startswith("## ")
]
BODIES = [
    "PAY-142 — Split payments · Story · In Progress · High",
    "Shoppers hit card limits on large baskets.",
    "One order can be paid with two cards.",
    "- A second card form appears\n- Each card carries at least €10",
    "1. Authorise both cards\n2. Capture both",
    "• Only for orders of €100 or more\n• Exactly two cards",
    "What if the second authorisation fails?",
]


def github_html(markdown: str) -> str:
    cmarkgfm = pytest.importorskip("cmarkgfm", reason="cmarkgfm (GitHub's cmark-gfm) is not installed")
    return str(cmarkgfm.github_flavored_markdown_to_html(markdown))


def h4s(html: str) -> list[str]:
    return re.findall(r"<h4>(.*?)</h4>", html)


def strip_accents(text: str) -> str:
    return text.translate(str.maketrans("ÉÈÀÙÇéèàùç’", "EEAUCeeauc'"))


# Ways a model writes a section heading other than the template's `## HEADING`.
STYLES: dict[str, Callable[[int, str], str]] = {
    "as the template": lambda n, h: f"## {h}",
    "upper with a colon": lambda n, h: f"{h}:",
    "bold": lambda n, h: f"**{h}**",
    "bold with the colon inside": lambda n, h: f"**{h.capitalize()} :**",
    "numbered h3": lambda n, h: f"### {n}. {h.capitalize()}",
    "sentence case, French colon": lambda n, h: f"{h.capitalize()} :",
    "no accents, straight apostrophe": lambda n, h: strip_accents(h).lower(),
    "numbered with a parenthesis": lambda n, h: f"{n}) {h}",
    "h1 with closing hashes": lambda n, h: f"# {h} #",
}


@pytest.mark.parametrize("style", list(STYLES))
@pytest.mark.parametrize("headings", [FR, EN], ids=["fr", "en"])
def test_mangled_headings_are_published_as_the_templates_h4_headings(style: str, headings: list[str]) -> None:
    brief = "\n".join(
        f"{STYLES[style](n, h)}\n{body}" for n, (h, body) in enumerate(zip(headings, BODIES, strict=True), 1)
    )

    html = github_html(normalize(brief, headings))

    assert h4s(html) == [display(h) for h in headings[1:]]  # every section but TICKET, in order
    assert "PAY-142 — Split" not in html and headings[0] not in html  # the summary line already shows it
    assert "<p>Shoppers hit card limits on large baskets.</p>" in html  # no longer glued to its heading
    assert html.count("<li>") == 6 and html.count("<ul>") == 2 and html.count("<ol>") == 1


@pytest.mark.parametrize(
    ("written", "published"),
    [
        ("CONTEXTE:", "#### Contexte"),
        ("**CONTEXTE**", "#### Contexte"),
        ("## Contexte", "#### Contexte"),
        ("Contexte :", "#### Contexte"),
        ("3. critères d'acceptation", "#### Critères d’acceptation"),
        ("**Objectif :** Payer avec deux cartes.", "#### Objectif\n\nPayer avec deux cartes."),
        ("OBJECTIF: **Deux** cartes", "#### Objectif\n\n**Deux** cartes"),
        ("## Résumé", "*Résumé*"),  # not a section of the template: cannot pose as one
        ("**Règles de gestion**", "*Règles de gestion*"),
        ("• une carte", "- une carte"),
        ("Le contexte : voir PAY-100", "Le contexte : voir PAY-100"),
        ("- Contexte", "- Contexte"),
        (
            "Contexte : le montant est de 12. Ensuite on paie.",
            "#### Contexte\n\nle montant est de 12. Ensuite on paie.",
        ),
        ("2) Objectif : 3) étapes", "#### Objectif\n\n3) étapes"),
    ],
)
def test_what_models_write_and_what_is_published(written: str, published: str) -> None:
    assert normalize(written, FR) == published


def test_custom_template_headings_keep_their_case() -> None:
    headings = ["Summary", "Done when", "API changes"]

    shown = normalize("SUMMARY: a\nDONE WHEN\nb\n**API Changes**\nc", headings)

    assert h4s(github_html(shown)) == ["Summary", "Done when", "API changes"]


def test_a_heading_named_again_in_the_text_stays_text() -> None:
    shown = normalize("## CONTEXTE\nx\n## OBJECTIF\nContexte: déjà donné plus haut", FR)

    assert h4s(github_html(shown)) == ["Contexte", "Objectif"]
    assert "Contexte: déjà donné plus haut" in shown


def test_code_blocks_are_left_alone() -> None:
    brief = "## CONTEXTE\n```\n## OBJECTIF\n• raw\n```\nOBJECTIF:\nfin"

    shown = normalize(brief, FR)

    assert "```\n## OBJECTIF\n• raw\n```" in shown
    assert h4s(github_html(shown)) == ["Contexte", "Objectif"]


def test_blank_lines_are_tidied_and_nothing_leads() -> None:
    assert normalize("\n\n\nCONTEXTE:\n\n\n\nx\n\n\ny\n\n", FR) == "#### Contexte\n\nx\n\ny"


@pytest.mark.parametrize("seed", range(5))
def test_streamed_in_any_chunks_it_reads_the_same(seed: int) -> None:
    brief = "\n".join(
        f"{STYLES['bold with the colon inside'](n, h)} {body}"
        for n, (h, body) in enumerate(zip(FR, BODIES, strict=True))
    )
    cuts = sorted(random.Random(seed).sample(range(1, len(brief)), 25))
    normalizer = Normalizer(FR)

    streamed = "".join(normalizer.feed(brief[a:b]) for a, b in zip([0, *cuts], [*cuts, len(brief)], strict=True))

    assert (streamed + normalizer.close()).rstrip("\n") == normalize(brief, FR)


def test_normalizing_twice_changes_nothing() -> None:
    once = normalize("\n".join(f"{h}:\n{body}" for h, body in zip(FR, BODIES, strict=True)), FR)

    assert normalize(once, FR) == once


def test_fold_ignores_case_accents_apostrophes_and_emphasis() -> None:
    assert fold("CRITÈRES D’ACCEPTATION") == fold("**criteres d'acceptation**") == "criteres d acceptation"
