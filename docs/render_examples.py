"""Render the pull-request comment as GitHub shows it, to PNG: 1, 3 and 10 tickets, in French and English,
and one ticket with its criteria checked against a pull request (coverage-en.png); with --bitbucket, the
comment for 3 tickets (one checked) as Bitbucket Cloud shows it (comment-bitbucket-en-3.png).

The Markdown is what `jira-brief github` (or `jira-brief bitbucket`) posts (the demo Jira's tickets, offline
briefs and model-style briefs through the real normalization, one ticket that failed); cmark-gfm turns it
into HTML as GitHub does (for Bitbucket: Python-Markdown with raw HTML escaped, as tests/fakes renders it),
GitHub's stylesheet (the github-markdown-css npm package) dresses it, and headless Chromium takes the picture.

    python docs/render_examples.py [--out docs] [--css PATH/github-markdown-light.css] [--open] [--bitbucket]

Needs cmarkgfm and markdown (in the test extras), `chromium` (Debian: apt-get install chromium) and npm for
the stylesheet when --css is not given (installed once into ~/.cache/jira-brief-docs).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from jira_brief.brief.criteria import Coverage, Evidence, Verdict
from jira_brief.brief.normalize import normalize_brief as normalize
from jira_brief.brief.pipeline import brief_all
from jira_brief.brief.result import BriefResult
from jira_brief.brief.template import load_template
from jira_brief.config.load import load_settings
from jira_brief.forges.bitbucket.forge import REFERENCES
from jira_brief.jira.demo.server import build_server
from jira_brief.keys.scan import FoundKey
from jira_brief.publish.comment import Style, heading_for, render_document, render_section
from jira_brief.publish.dialect import PLAIN
from jira_brief.publish.labels import for_forge, labels_for
from jira_brief.publish.neutralize import jira_hosts

WIDTH = 900
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "jira-brief-docs"
# How a model often answers instead of the template's `## HEADING` lines: the normalization makes them headings.
MODEL_STYLE = {
    "fr": "**TICKET :** {key} — {title}\n\n**Contexte :** Le panier dépasse souvent le plafond d’une seule carte.\n\n"
    "OBJECTIF: Payer une commande avec deux cartes.\n\n**Critères d'acceptation**\n• Le second formulaire de carte "
    "apparaît dès 100 €\n• Chaque carte porte au moins 10 €\n\n3. Étapes\n1. Autoriser les deux cartes\n2. Capturer "
    "les deux\n\nRègles métier :\n- Exactement deux cartes\n\n## Points d’attention\nQue montrer si la seconde "
    "autorisation échoue ?",
    "en": "**TICKET:** {key} — {title}\n\n**Context:** Baskets often exceed one card's limit.\n\nGOAL: Pay one order "
    "with two cards.\n\n**Acceptance criteria**\n• The second card form appears from €100\n• Each card carries at "
    "least €10\n\n3. Steps\n1. Authorise both cards\n2. Capture both\n\nBusiness rules:\n- Exactly two cards\n\n"
    "## Watch out for\nWhat to show when the second authorisation fails?",
}


def demo_results(language: str) -> list[BriefResult]:
    """The demo Jira's six tickets with offline briefs, as the real pipeline makes them."""
    settings = load_settings({"llm": "none", "language": language, "cache": False})
    found = [FoundKey(key, "pr-title") for key in ("PAY-142", "WEB-88", "PAY-150", "WEB-91", "PAY-143", "PAY-100")]
    return asyncio.run(brief_all(found, settings, server=build_server()))


def _renamed(result: BriefResult, key: str) -> BriefResult:
    """The same brief under another key, to fill a long comment."""
    assert result.ticket is not None
    return dataclasses.replace(result, key=key, ticket=dataclasses.replace(result.ticket, key=key))


def examples(language: str) -> dict[str, list[BriefResult]]:
    """1 ticket (a model-style brief), 3 (one failed, one offline) and 10 tickets."""
    offline = demo_results(language)
    headings = load_template(load_settings({"language": language})).headings
    modelled = []
    for result in offline:
        ticket = result.ticket
        assert ticket is not None
        text = MODEL_STYLE[language].format(key=ticket.key, title=ticket.title)
        modelled.append(dataclasses.replace(result, brief=normalize(text, headings), offline=False))
    failed = BriefResult("PAY-404", "branch", error="PAY-404: the Jira MCP server says this issue does not exist")
    more = [_renamed(one, f"OPS-{n}") for n, one in enumerate(modelled[:3], 7)]
    return {
        "1": modelled[:1],
        "3": [modelled[0], failed, offline[1]],
        "10": [*modelled[:2], failed, offline[2], *modelled[3:], *more, offline[1]][:10],
    }


def comment(results: list[BriefResult], language: str, style: Style | None = None) -> str:
    """The comment's Markdown, exactly as `jira-brief github` builds it."""
    style = style or Style(labels_for(language))
    hosts = jira_hosts(results)
    sections = [render_section(result, hosts, style) for result in results]
    heading, dialect = heading_for(results, style), style.dialect
    return render_document(sections, heading=heading, labels=style.labels, marker=dialect.marker, dialect=dialect).text


BITBUCKET_PULL = "https://bitbucket.org/acme/shop/pull-requests/7"


def bitbucket_example() -> tuple[list[BriefResult], Style]:
    """The 3 tickets of `examples`, the first one checked, with Bitbucket's words, references and dialect."""
    first, *rest = examples("en")["3"]
    check = Coverage(
        (
            Verdict("The split option is offered from €100.", "covered", (Evidence("shop/split.py", "1-3"),), ""),
            Verdict("Each card carries at least €10.", "covered", (Evidence("shop/split.py", "2"),), ""),
            Verdict(
                "A failed second authorisation voids the first.",
                "partly",
                (Evidence("shop/pay.py", "11-12"),),
                "no test",
            ),
            Verdict("The confirmation email lists both cards.", "not_seen", (), "no email template in the change"),
        ),
        judged=2,
        total=2,
        fingerprint="0123456789abcdef",
        language="en",
    )
    labels = for_forge(labels_for("en"), "Bitbucket", "pull request")
    style = Style(labels, REFERENCES, lambda path, lines: f"{BITBUCKET_PULL}/diff#chg-{path}", PLAIN)
    return [dataclasses.replace(first, coverage=check), *rest], style


# A criteria check as a model answers it for the demo's PAY-142 on a pull request of 38 files.
VERDICTS = (
    ("covered", (("web/checkout/SplitPayment.tsx", "12-88"), ("api/payments/split.py", "30-61")), ""),
    ("partly", (("web/checkout/SplitPayment.tsx", "90-104"),), "the button is disabled; the message is not shown"),
    ("covered", (("api/payments/split.py", "64-92"), ("api/tests/test_split.py", "40-77")), ""),
    ("not_seen", (), "no change to the confirmation page or the email template"),
)


def coverage_example() -> tuple[list[BriefResult], Style]:
    """PAY-142 with a model-style brief and its criteria checked against a pull request's files."""
    [first] = examples("en")["1"]
    assert first.ticket is not None
    criteria = [line.lstrip("*- ").strip() for line in first.ticket.acceptance.splitlines() if line.strip()]
    verdicts = tuple(
        Verdict(criterion, status, tuple(Evidence(file, lines) for file, lines in cited), reason)
        for criterion, (status, cited, reason) in zip(criteria, VERDICTS, strict=True)
    )
    coverage = Coverage(verdicts, judged=14, total=38, language="en")
    pull = "https://github.com/acme/shop/pull/42/files"

    def file_link(path: str, lines: str | None) -> str:
        anchor = hashlib.sha256(path.encode()).hexdigest()  # GitHub's anchor of a file in the Files tab
        return f"{pull}#diff-{anchor}" + (f"R{lines.split('-')[0]}" if lines else "")

    short = normalize("GOAL: Pay one order with two cards.", load_template(load_settings({"language": "en"})).headings)
    result = dataclasses.replace(first, brief=short, coverage=coverage)  # a short brief: the picture is the check
    return [result], Style(labels_for("en"), file_link=file_link)


def stylesheet(given: str | None) -> Path:
    """GitHub's Markdown stylesheet: the given file, else the npm package, installed once into the cache."""
    if given:
        return Path(given)
    css = CACHE / "node_modules" / "github-markdown-css" / "github-markdown-light.css"
    if not css.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--silent", "--prefix", str(CACHE), "github-markdown-css"], check=True)
    return css


def page(markdown: str, css: Path, expand: bool, bitbucket: bool = False) -> str:
    """A page that shows the comment as GitHub (or Bitbucket) does, and puts its rendered height in the title."""
    import cmarkgfm  # type: ignore[import-untyped]
    from cmarkgfm.cmark import Options  # type: ignore[import-untyped]

    if bitbucket:
        from tests.fakes.bitbucket_server import render_markdown

        body = render_markdown(markdown)
    else:
        body = cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)
    if expand:
        body = body.replace("<details>", "<details open>")
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><link rel="stylesheet" href="{css.as_uri()}">'
        "<style>body{background:#fff;margin:0}.markdown-body{box-sizing:border-box;"
        f"max-width:{WIDTH - 40}px;margin:16px auto;padding:24px;border:1px solid #d0d7de;border-radius:6px}}</style>"
        "<script>addEventListener('load',()=>{document.title=Math.ceil("
        "document.querySelector('.markdown-body').getBoundingClientRect().bottom)+16})</script>"
        f'</head><body><div class="markdown-body">{body}</div></body></html>'
    )


def chromium(*args: str) -> str:
    """Run headless Chromium; its stdout."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        sys.exit("render_examples: chromium is missing (Debian: apt-get install chromium)")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    done = subprocess.run([browser, *flags, *args], capture_output=True, text=True, timeout=120, check=True)
    return done.stdout


def screenshot(markdown: str, out: Path, css: Path, expand: bool, bitbucket: bool = False) -> None:
    """The comment as a picture exactly as tall as the rendered comment (measured by a first, DOM-only pass)."""
    with tempfile.NamedTemporaryFile("w", suffix=".html", encoding="utf-8", delete=False) as file:
        file.write(page(markdown, css, expand, bitbucket))
    try:
        address = Path(file.name).as_uri()
        dom = chromium(f"--window-size={WIDTH},2000", "--virtual-time-budget=2000", "--dump-dom", address)
        measured = re.search(r"<title>(\d+)</title>", dom)
        height = int(measured[1]) if measured else 2000
        chromium(f"--window-size={WIDTH},{height}", f"--screenshot={out}", address)
    finally:
        os.unlink(file.name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).parent), help="folder for the PNG files")
    parser.add_argument("--css", help="github-markdown-light.css (default: npm install into the cache)")
    parser.add_argument("--open", action="store_true", help="also render each comment with every section open")
    parser.add_argument(
        "--bitbucket", action="store_true", help="only the comment for 3 tickets, as Bitbucket shows it"
    )
    options = parser.parse_args()
    out, css = Path(options.out), stylesheet(options.css)
    if options.bitbucket:
        results, style = bitbucket_example()
        screenshot(comment(results, "en", style), out / "comment-bitbucket-en-3.png", css, False, bitbucket=True)
        print(out / "comment-bitbucket-en-3.png")
        return
    results, style = coverage_example()
    screenshot(comment(results, "en", style), out / "coverage-en.png", css, True)
    print(out / "coverage-en.png")
    for language in ("fr", "en"):
        for count, results in examples(language).items():
            markdown = comment(results, language)
            for expand in (False, True) if options.open else (False,):
                name = f"comment-{language}-{count}{'-open' if expand else ''}"
                screenshot(markdown, out / f"{name}.png", css, expand)
                print(out / f"{name}.png")


if __name__ == "__main__":
    main()
