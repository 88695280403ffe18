"""The comment's own words in the brief's language (data files beside this module), which a custom
template may override, and the one safe way to fill their `{name}` placeholders."""

from __future__ import annotations

import dataclasses
import functools
import re
import tomllib
from dataclasses import dataclass
from datetime import datetime
from importlib import resources

from jira_brief.errors import UsageError
from jira_brief.publish.neutralize import ZWJ, inline_text

# The block holds no other "<!--": each opening is read up to the next one at most, never again.
_LABELS_BLOCK = re.compile(r"<!--\s*jira-brief:labels\s*\n((?:(?!<!--).)*?)-->", re.DOTALL)
_PLACEHOLDER = re.compile(r"\{([a-z]+)\}")
_BRACES = re.compile(r"\{[^{}]*\}|[{}]")
MAX_LABEL = 200  # characters of a template's label: the longest built-in one is 133
# The placeholders each label may hold (the README lists them); any label may name the forge's words.
PLACEHOLDERS = {
    "tickets": ("count",),
    "failed": ("count",),
    "updated": ("date",),
    "cut": ("count", "keys"),
    "date": ("day", "month", "year"),
    "dropped": ("count", "limit", "keys"),
    "same": ("url",),
}


def fill(text: str, **values: object) -> str:
    """`text` with each `{name}` given in `values` replaced; nothing else is read from it (no format
    specs, attributes or indexes: labels may come from a template the repository wrote)."""
    return _PLACEHOLDER.sub(lambda spot: str(values[spot[1]]) if spot[1] in values else spot[0], text)


@dataclass(frozen=True)
class Labels:
    """The comment's own words; see labels/en.toml for what each one says."""

    title: str
    tickets: str
    failed: str
    failure: str
    key: str
    name: str
    type: str
    status: str
    assignee: str
    updated: str
    cut: str
    footer: str
    months: str
    date: str
    dropped: str
    refused: str
    same: str
    forge: str
    review: str
    coverage: str
    check_failed: str
    unchecked: str

    def count(self, count: int) -> str:
        """`tickets` for `count`, with "(s)" resolved: "1 ticket", "3 tickets"."""
        return fill(self.tickets, count=count).replace("(s)", "" if count == 1 else "s")

    def day(self, stamp: str) -> str:
        """Jira's ISO timestamp as a date in this language's convention; "" when it is not a timestamp."""
        try:
            moment = datetime.fromisoformat(stamp)
        except ValueError:
            return ""
        months = self.months.split()
        month = months[moment.month - 1] if len(months) == 12 else str(moment.month)
        return fill(self.date, day=moment.day, month=month, year=moment.year)

    def say(self, name: str, **values: object) -> str:
        """Label `name` with its placeholders filled, the forge's words included."""
        text: str = getattr(self, name)
        return fill(text, forge=self.forge, review=self.review, abbr=self.abbr, **values)

    @property
    def abbr(self) -> str:
        """The review's short name: "PR" for a pull request, "MR" for a merge request."""
        return "".join(word[0] for word in self.review.split()).upper()


NAMES = frozenset(field.name for field in dataclasses.fields(Labels))


@functools.cache
def labels_in(language: str) -> Labels:
    """The built-in words of `language` (English for any other), from labels/LANGUAGE.toml."""
    english = _read("en")
    return Labels(**{**english, **(_read(language) if language != "en" else {})})


def _read(language: str) -> dict[str, str]:
    folder = resources.files("jira_brief.publish").joinpath("labels")
    try:
        data = tomllib.loads(folder.joinpath(f"{language}.toml").read_text("utf-8"))
    except FileNotFoundError:
        return {}
    return {name: str(value) for name, value in data.items() if name in NAMES}


def labels_for(language: str, template: str = "") -> Labels:
    """The words of `language`, overridden by the template's `<!-- jira-brief:labels` block of `name: value` lines."""
    labels = labels_in(language)
    block = _LABELS_BLOCK.search(template)
    if block is None:
        return labels
    changes = {}
    for line in filter(str.strip, block[1].splitlines()):
        name, colon, value = line.partition(":")
        if not colon or name.strip() not in NAMES:
            raise UsageError(
                f"the template's jira-brief:labels block has {line.strip()[:80]!r}; write `name: value` lines "
                f"with a name among {', '.join(sorted(NAMES))}"
            )
        changes[name.strip()] = _template_label(name.strip(), value.strip())
    return dataclasses.replace(labels, **changes)


def _template_label(name: str, value: str) -> str:
    """A label a template sets, as untrusted text (a repository may have written it): bounded, only its
    own placeholders, and neutralized like a ticket's title (no mention, reference, link, HTML, table
    cell or GitLab quick action); only `same` keeps its link to our own comment."""
    allowed = {"{" + placeholder + "}" for placeholder in (*PLACEHOLDERS.get(name, ()), "forge", "review", "abbr")}
    if len(value) > MAX_LABEL:
        raise UsageError(f"the template's label {name} has {len(value)} characters; keep it under {MAX_LABEL}")
    odd = next((spot[0] for spot in _BRACES.finditer(value) if spot[0] not in allowed), None)
    if odd is not None:
        raise UsageError(f"the template's label {name} has {odd[:40]!r}; it may hold only {', '.join(sorted(allowed))}")
    text = inline_text(value)
    text = text.replace(f"]{ZWJ}({{url}})", "]({url})") if name == "same" else text
    return ZWJ + text if text.startswith("/") else text  # "/close" at a line start is a GitLab command


def for_forge(labels: Labels, forge: str, review: str) -> Labels:
    """The labels as a forge's comment says them ("GitLab", "merge request")."""
    return dataclasses.replace(labels, forge=forge, review=review)
