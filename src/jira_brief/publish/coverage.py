"""The criteria check as readers see it: a section under the brief (Markdown, every untrusted part
neutralized, evidence linked where the forge can link it), the hook's one line, and terminal text."""

from __future__ import annotations

import base64
import functools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from jira_brief.brief.criteria import NOT_CHECKED, Coverage, Evidence, Verdict, verdicts_from_json
from jira_brief.publish.dialect import CLOSE, CLOSED, HTML, OPEN, OPENED, Dialect
from jira_brief.publish.labels import Labels, labels_in
from jira_brief.publish.neutralize import inline_text

# Where a forge shows a file of the change, at a line range: (path, "12-30" or None) -> URL or None.
FileLink = Callable[[str, str | None], str | None]
ICONS = {"covered": "✅", "partly": "🟡", "not_seen": "⬜", NOT_CHECKED: "▫️"}


def summary_line(coverage: Coverage) -> str:
    """ "3 of 5 criteria covered, 1 partly", and on how many files it was judged (in the section's language)."""
    covered, partly, total = coverage.count("covered"), coverage.count("partly"), len(coverage.verdicts)
    cut = max(1, coverage.cut >> 20) if coverage.cut is not None else None
    if coverage.language == "fr":
        text = f"{covered} critère{'s' if covered > 1 else ''} sur {total} couvert{'s' if covered > 1 else ''}"
        text += f", {partly} en partie" if partly else ""
        judged = f" · jugé sur {coverage.judged} fichiers sur {coverage.total}"
        said = f" · changement coupé après {cut} Mio : les fichiers suivants ne sont pas jugés" if cut else ""
    else:
        text = f"{covered} of {total} criteria covered" + (f", {partly} partly" if partly else "")
        judged = f" · judged on {coverage.judged} of {coverage.total} files"
        said = f" · change cut after {cut} MiB: the files past it were not judged" if cut else ""
    return text + (judged if coverage.judged < coverage.total else "") + said


def touched_line(key: str, coverage: Coverage, commit: str = "this commit") -> str:
    """The hook's one line: "PAY-142: 2/5 criteria touched by this commit" (or by the `commit` named)."""
    if coverage.error:
        return f"{key}: criteria check of {commit} failed ({coverage.error})"
    touched = coverage.count("covered") + coverage.count("partly")
    cut = f" (the change was cut after {max(1, coverage.cut >> 20)} MiB)" if coverage.cut is not None else ""
    return f"{key}: {touched}/{len(coverage.verdicts)} criteria touched by {commit}{cut}"


_CHECK_OPENING = re.compile(rf"{OPEN}jira-brief:check fingerprint=([0-9a-f]{{8,64}}) data=([A-Za-z0-9+/=]*){OPENED}")
_CHECK_CLOSING = re.compile(rf"{CLOSE}/jira-brief:check{CLOSED}")


def marked_blocks(text: str, opening: re.Pattern[str], closing: re.Pattern[str]) -> Iterator[tuple[re.Match[str], str]]:
    """Each block of `text` that `opening` starts and `closing` ends: (the opening, the whole block). One
    pass over the text: a lazy `.*?` up to the closing would scan the rest again for every opening."""
    position = 0
    while (start := opening.search(text, position)) is not None:
        end = closing.search(text, start.end())
        if end is None:
            return
        position = end.end()
        yield start, text[start.start() : position]


def _plain(text: str, references: re.Pattern[str] | None = None) -> str:
    """An untrusted value as one neutralized line that cannot open or close a link (nor, with the forge's
    `references`, reference anything on it)."""
    return inline_text(text, references).replace("[", "\\[").replace("]", "\\]")


def evidence_link(item: Evidence, file_link: FileLink | None, references: re.Pattern[str] | None = None) -> str:
    """A cited file, linked where the forge shows it in the change."""
    label = _plain(item.file, references) + (f" ({item.lines})" if item.lines else "")
    url = file_link(item.file, item.lines) if file_link else None
    return f"[{label}]({url})" if url else label


def _heading(coverage: Coverage, labels: Labels, plain: Callable[[str], str]) -> tuple[str, str]:
    """The section's title in its language, and its summary: the counts, unchecked, or why it failed."""
    if coverage.error:
        return labels.say("coverage"), f"{labels.check_failed}: {plain(coverage.error)}"
    return labels.say("coverage"), summary_line(coverage) if coverage.checked else labels.unchecked


def _verdict_line(verdict: Verdict, file_link: FileLink | None, references: re.Pattern[str] | None) -> str:
    line = f"- {ICONS[verdict.status]} {_plain(verdict.criterion, references)}"
    if verdict.evidence:
        line += " — " + ", ".join(evidence_link(item, file_link, references) for item in verdict.evidence)
    if verdict.reason:
        line += f" — _{_plain(verdict.reason, references)}_"
    return line


def render_coverage(
    coverage: Coverage,
    labels: Labels | None = None,
    file_link: FileLink | None = None,
    references: re.Pattern[str] | None = None,
    dialect: Dialect = HTML,
) -> str:
    """The section under a brief (in the words of `labels`, else of the check's language): title and
    summary, one line a criterion; every untrusted part neutralized (with the forge's `references` too).
    A successful check carries its fingerprint in a hidden marker, so an unchanged re-run reuses it."""
    plain = functools.partial(_plain, references=references)
    title, head = _heading(coverage, labels or labels_in(coverage.language), plain)
    verdicts = [_verdict_line(v, file_link, references) for v in coverage.verdicts]
    text = f"**{title}** · {head}"
    if verdicts:  # Python-Markdown (Bitbucket) starts a list only after a blank line
        text += ("\n" if dialect.html else "\n\n") + "\n".join(verdicts)
    if coverage.fingerprint and coverage.error is None:
        # The verdicts ride along, base64 (no "--", ">" or ")" can end the marker), so a re-run that
        # reuses the block still has them for the JSON output.
        data = base64.b64encode(json.dumps(coverage.as_json(), ensure_ascii=False).encode()).decode()
        text = dialect.wrap(
            f"jira-brief:check fingerprint={coverage.fingerprint} data={data}", "/jira-brief:check", text
        )
    return text


@dataclass(frozen=True)
class Published:
    """A check found in our published comment: its fingerprint, its block as shown, its verdicts."""

    fingerprint: str
    block: str
    verdicts: tuple[Verdict, ...]


def published_check(section_text: str) -> Published | None:
    """The check a published section carries, if any (and if its data reads back)."""
    match, block = next(marked_blocks(section_text, _CHECK_OPENING, _CHECK_CLOSING), (None, ""))
    if match is None:
        return None
    try:
        verdicts = verdicts_from_json(json.loads(base64.b64decode(match[2], validate=True)))
    except ValueError:
        return None
    return Published(match[1], block, verdicts) if verdicts is not None else None


def coverage_text(coverage: Coverage, labels: Labels | None = None) -> str:
    """The section as plain terminal text: the same lines, no Markdown."""
    title, head = _heading(coverage, labels or labels_in(coverage.language), str)
    lines = [f"{title} · {head}"]
    for verdict in coverage.verdicts:
        cited = ", ".join(item.file + (f" ({item.lines})" if item.lines else "") for item in verdict.evidence)
        lines.append(
            " — ".join(filter(None, [f"  {ICONS[verdict.status]} {verdict.criterion}", cited, verdict.reason]))
        )
    return "\n".join(lines)
