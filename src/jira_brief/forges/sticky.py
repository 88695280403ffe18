"""One sticky comment per review, whatever the forge: found by marker AND author, sections of unchanged
tickets reused by fingerprint (no model call, no edit) when their seal shows nobody edited them,
overlapping runs converging on one comment, and sections dropped from the end until the comment fits the
forge's limit.

Forge-neutral: a forge comes in as a `Forge` and a `CommentThread` (base.py), the briefs as a function.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jira_brief.brief.criteria import Change
from jira_brief.brief.diff import Diff
from jira_brief.brief.progress import Event, Notify
from jira_brief.brief.result import BriefResult
from jira_brief.config.masking import MIN_SECRET, known_secrets
from jira_brief.config.settings import Settings
from jira_brief.forges.base import CommentThread, Forge, ForgeError, Posted, Review
from jira_brief.keys.scan import KeyScan, scan
from jira_brief.keys.texts import source_kind
from jira_brief.publish.comment import (
    MARKER,
    Document,
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
from jira_brief.publish.coverage import published_check
from jira_brief.publish.labels import Labels
from jira_brief.publish.neutralize import jira_hosts

# Rounds of list-then-write when concurrent runs keep deleting the comment we meant to edit.
PUBLISH_ATTEMPTS = 3
# Keys a note names before "… and 7,990 more": notes are capped like sections, so any input fits.
NAMES_SHOWN = 10
# Brief these keys, given the fingerprints already published (key -> fingerprint), and check their
# criteria against the change when there is one: one result a key.
BriefKeys = Callable[[KeyScan, Mapping[str, str], "Change | None", Notify], list[BriefResult]]
Hide = Callable[[str], str]


@dataclass
class CommentOutcome:
    """What a run produced, for the forge's log, summary and outputs."""

    found: KeyScan = field(default_factory=lambda: KeyScan(()))
    results: list[BriefResult] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    comment_url: str = ""
    comment_action: str = ""  # created, updated or unchanged
    notice: str | None = None
    problem: str | None = None

    def exit_code(self, fail_on_error: bool) -> int:
        """1 when the forge refused or failed, or (asked for) when a ticket failed; else 0."""
        failed = any(result.error for result in self.results)
        return 1 if self.problem or (fail_on_error and failed) else 0


def briefs_json(outcome: CommentOutcome, limit: int | None = None) -> list[dict[str, Any]]:
    """The `briefs` of a run (the Action's output, a CI job's jira-brief.json): each result's JSON shape with
    the brief as published (sanitized); past `limit` UTF-8 bytes the last briefs give way (null) first."""
    rows = [
        result.as_json(section.brief or "") for result, section in zip(outcome.results, outcome.sections, strict=True)
    ]
    size = utf8_size(json.dumps(rows, ensure_ascii=False))
    for row in reversed(rows):
        if limit is None or size <= limit:
            break
        if row.get("brief"):
            size -= utf8_size(json.dumps(row["brief"], ensure_ascii=False)) - len("null")
            row["brief"] = None
    return rows


def review_texts(review: Review, commits: Sequence[tuple[str, str]], sources: Sequence[str]) -> list[tuple[str, str]]:
    """(source, text) pairs of a review, in listing order, keeping only `sources`."""
    texts = [("pr-title", review.title), ("branch", review.branch), ("pr-body", review.body)]
    texts += [(f"commit {sha[:7]}", message) for sha, message in commits]
    return [(source, text) for source, text in texts if text and source_kind(source) in sources]


def find_ours(thread: CommentThread, marker: str = MARKER) -> list[Posted]:
    """Our comments, oldest first: they start with the marker AND are by the thread's own user (someone
    else's comment that copies the marker is never ours)."""
    marked = [posted for posted in thread.listing() if posted.body.startswith(marker)]
    if not marked:
        return []
    me = thread.identity()
    if me is None:
        return []
    return sorted((posted for posted in marked if posted.author.lower() == me.lower()), key=lambda p: p.id)


def remove(thread: CommentThread, ours: Sequence[Posted]) -> None:
    """Delete these comments of ours; one already deleted (by a concurrent run) is done, not an error."""
    for posted in ours:
        thread.delete(posted)


def publish(thread: CommentThread, body: str, ours: list[Posted], marker: str = MARKER) -> tuple[Posted, str]:
    """Keep exactly one comment of ours with `body`, whatever other runs do at the same time: the oldest
    (every run picks the same one) is edited only if it differs, and the others are deleted. Our comment
    gone before we could edit it (another run removed it) sends us back to the listing."""
    for _ in range(PUBLISH_ATTEMPTS):
        if not ours:
            return _create(thread, body, marker), "created"
        keep = ours[0]
        remove(thread, ours[1:])
        if keep.body.replace("\r\n", "\n") == body:
            return keep, "unchanged"
        if not thread.edit(keep, body):
            ours = find_ours(thread, marker)
            continue
        return dataclasses.replace(keep, body=body), "updated"
    return _create(thread, body, marker), "created"


def _create(thread: CommentThread, body: str, marker: str) -> Posted:
    """Post, then list again: a failed POST may have stored the comment, and a concurrent run may have
    posted too. The oldest of ours survives, so of several runs that all posted, each agrees on the one
    to keep."""
    created = thread.create(body)
    ours = find_ours(thread, marker)
    if not ours:
        again = created or thread.create(body)
        if again is None:
            raise ForgeError("the forge failed twice while storing the comment; try again later")
        # The failed POST may have stored a comment the thread could not tell was ours before a POST
        # answered who we are (a Bitbucket access token): now it can, so keep one.
        ours = find_ours(thread, marker) if created is None else []
        return publish(thread, body, ours, marker)[0] if len(ours) > 1 else again
    return publish(thread, body, ours, marker)[0]


def named(names: Sequence[str], shown: int = NAMES_SHOWN) -> str:
    """Names for a note, at most `shown` of them, then how many more ("… and 7,990 more")."""
    rest = len(names) - shown
    return ", ".join(names[:shown]) + (f" … and {rest:,} more" if rest > 0 else "")


def dropped_note(found: KeyScan, limit: int, labels: Labels) -> list[str]:
    if not found.dropped:
        return []
    names = named([key.key for key in found.dropped])
    return ["> " + labels.say("dropped", count=f"{len(found.dropped):,}", limit=limit, keys=names)]


def no_key_notice(sources: Sequence[str], review_noun: str) -> str:
    return f"No Jira key found in this {review_noun} (looked in: {', '.join(sources)})."


def seal_key(settings: Settings, environ: Mapping[str, str], scope: str) -> bytes | None:
    """The key that seals our sections, or None when the run holds no secret to derive it from.

    Derived (HMAC-SHA256 as HKDF's extract and expand) from the run's long-lived secrets: the model's key,
    the MCP server's credentials and the Jira credentials a stdio server receives (JIRA_*), which whoever
    edits the comment does not hold; not from a forge's job token, which changes every run. Bound to
    `scope` (the forge and the repository), so the same secrets seal differently elsewhere."""
    jira = {name: value for name, value in environ.items() if name.startswith("JIRA_")}
    material = sorted({secret for secret in known_secrets(settings, jira) if len(secret) >= MIN_SECRET})
    if not material:
        return None
    joined = b"".join(len(secret.encode()).to_bytes(4, "big") + secret.encode() for secret in material)
    extracted = hmac.new(b"jira-brief comment seal v1", joined, hashlib.sha256).digest()
    return hmac.new(extracted, scope.encode() + b"\x01", hashlib.sha256).digest()


def hidden(result: BriefResult, hide: Hide) -> BriefResult:
    """The result with secrets hidden in every text before it is rendered: neutralizing may split a secret
    (a joiner after "@" or "#"), and then no later pass would recognize it."""
    return dataclasses.replace(
        result,
        ticket=result.ticket and result.ticket.with_text(hide),
        brief=result.brief and hide(result.brief),
        error=result.error and hide(result.error),
        coverage=result.coverage and result.coverage.with_text(hide),
    )


def as_is(text: str) -> str:
    return text


@dataclass(frozen=True)
class Sticky:
    """Keeping our comment on one review current: the forge's rules (its words, limit and references in
    `style`, `limit` and `size`; `as_posted`, its last pass on a body: the body as the forge stores it and
    safe to post there), the briefs, and how secrets are hidden."""

    style: Style
    brief: BriefKeys
    hide: Hide
    notify: Notify
    sources: Sequence[str]
    max_keys: int
    limit: int
    size: Callable[[str], int] = len
    projects: Sequence[str] = ()
    as_posted: Hide = as_is
    seal: bytes | None = field(default=None, repr=False)  # seal_key(): without one, no section is reused

    def review(self, outcome: CommentOutcome, forge: Forge | None, keys: str, *, comment: bool, check: bool) -> None:
        """A whole run: the keys of the review's texts (as `sources` says) and of `keys`, briefed; our
        comment kept current when `comment`, each ticket's criteria checked against the change when `check`."""
        review = forge.review() if forge else None
        commits = forge.commits() if forge and "commits" in self.sources else ()
        texts = review_texts(review, commits, self.sources) if review else []
        outcome.found = scan([*texts, ("input", keys)], self.projects, self.max_keys)
        thread = forge.thread() if forge and comment else None
        diff = forge.change() if forge and check else None
        self.keep(outcome, thread, diff)

    def keep(self, outcome: CommentOutcome, thread: CommentThread | None, diff: Diff | None) -> None:
        """Brief the keys found (`outcome.found`) and bring our comment (if any) up to date; no key removes
        it. `outcome` fills as the run goes, so what was made before a forge failure is still reported."""
        found, marker = outcome.found, self.style.dialect.marker
        ours = find_ours(thread, marker) if thread else []
        if not found.keys:
            outcome.notes.append(no_key_notice(self.sources, self.style.labels.review))
            if thread and ours:
                remove(thread, ours)
            return
        old = parse_sections(ours[0].body, self.seal) if ours else {}
        outcome.results, outcome.sections = self.sections(found, old, _change(diff, old))
        outcome.notes.extend(dropped_note(found, self.max_keys, self.style.labels))
        if thread is None:
            return
        body = self.as_posted(self.hide(self.document(outcome).text))
        self.notify(Event("post", detail=f"{self.style.labels.review} comment"))
        posted, outcome.comment_action = publish(thread, body, ours, marker)
        outcome.comment_url = posted.url

    def sections(
        self, found: KeyScan, old: dict[str, Section], change: Change | None
    ) -> tuple[list[BriefResult], list[Section]]:
        """Brief the keys; a ticket whose fingerprint is unchanged keeps its old section and costs no model
        call. When only the change moved on, the old brief is kept and the section is rendered again
        with the new check (an unchanged check keeps its published block)."""
        briefed = self.brief(found, known_fingerprints(old), change, self.notify)
        results = [_reused(hidden(result, self.hide), old.get(result.key)) for result in briefed]
        hosts = jira_hosts(results)
        sections = []
        for result in results:
            section = old.get(result.key)
            if section is not None and _unchanged(result):
                sections.append(section)
            else:
                sections.append(self._sealed(render_section(result, hosts, self.style, _check_block(result, section))))
        return results, sections

    def _sealed(self, section: Section) -> Section:
        """The section as the forge will store it (secrets hidden, its last pass), sealed when the run has
        a key: the seal covers what is read back."""
        section = dataclasses.replace(section, text=self.as_posted(self.hide(section.text)))
        return sealed(section, self.seal) if self.seal is not None else section

    def document(self, outcome: CommentOutcome) -> Document:
        """The comment: header, sections, notes, under the forge's limit."""
        return render_document(
            outcome.sections,
            heading=heading_for(outcome.results, self.style),
            notes=outcome.notes,
            marker=self.style.dialect.marker,
            limit=self.limit,
            size=self.size,
            labels=self.style.labels,
            dialect=self.style.dialect,
        )


def _change(diff: Diff | None, old: dict[str, Section]) -> Change | None:
    """The review's diff, and the checks the comment already shows (key -> fingerprint)."""
    if diff is None:
        return None
    published = {key: found.fingerprint for key, section in old.items() if (found := published_check(section.text))}
    return Change(diff, published)


def _unchanged(result: BriefResult) -> bool:
    return result.unchanged and (result.coverage is None or result.coverage.unchanged)


def _reused(result: BriefResult, section: Section | None) -> BriefResult:
    """An unchanged brief takes its published text from the old section, an unchanged check its verdicts."""
    if section is None:
        return result
    coverage = result.coverage
    published = published_check(section.text)
    if coverage is not None and coverage.unchanged and published:
        coverage = dataclasses.replace(coverage, verdicts=published.verdicts)
    brief = section.brief if result.unchanged else result.brief
    return dataclasses.replace(result, brief=brief, coverage=coverage)


def _check_block(result: BriefResult, section: Section | None) -> str | None:
    """The check block as published, when the check still holds (it is reused as it is)."""
    if section is None or result.coverage is None or not result.coverage.unchanged:
        return None
    published = published_check(section.text)
    return published.block if published else None
