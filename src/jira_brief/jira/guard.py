"""What a tool call of the model may name: only this run's tickets, each by its key as Jira writes it.
An issue id, an odd spelling of a key (PAY-0142) or JQL that could reach other issues is refused before
the server sees the call. Pure: no I/O."""

from __future__ import annotations

import re
from collections.abc import Iterator, Set
from typing import Any
from urllib.parse import unquote, unquote_plus

# Anything shaped like a key, in any case and with leading zeros: it must be one of the run's keys.
# Read a run of word characters once (from its start): a key starts at its first letter that is at the
# run's start or after "_", and any start in a run succeeds or fails with the first one.
_KEYISH_RUN = re.compile(r"(?<![A-Za-z0-9_])[A-Za-z0-9_]+-[0-9]+(?![A-Za-z0-9])")
_KEY_START = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]")
# An argument that names issues (issue_key, issueIdOrKey, issue_ids_or_keys, id, parent_key…), letters only.
_ISSUE_ARGUMENT = re.compile(r"(?:issue|parent|epic)?(?:ids?|keys?|idorkey|idsorkeys)|issues?")
# A REST path that names an issue, and JQL in a URL's query.
_ISSUE_PATH = re.compile(r"/issue/([^/?#\s]+)", re.I)
_JQL_QUERY = re.compile(r"[?&]jql=([^&#\s]*)", re.I)
# The only JQL accepted: clauses `key = K` or `key in (K, …)` joined by AND or OR.
_KEY_CLAUSE = re.compile(r"\s*(?:issuekey|issue|key)\s*(?:=\s*(?P<one>[^\s()]+)|in\s*\((?P<many>[^()]*)\))\s*", re.I)
_JOINER = re.compile(r"\s(?:and|or)\s", re.I)
_SEPARATOR = re.compile(r"[\s,]+")
MAX_JQL = 2_000


def outside_run(arguments: dict[str, Any], allowed: Set[str]) -> str | None:
    """The first thing the model's `arguments` name outside the run's tickets (`allowed`, upper-case
    keys), or None when they name only those."""
    for name, text in _leaves(arguments):
        if "jql" in name.lower():
            found = _jql_outside(text, allowed)
        elif _ISSUE_ARGUMENT.fullmatch(re.sub(r"[^a-z]", "", name.lower())):  # each value one of the run's keys
            found = next((item for item in _SEPARATOR.split(text) if item and item.upper() not in allowed), None)
        else:
            found = _text_outside(text, allowed)
        if found is not None:
            return found
    return None


def _leaves(value: Any, name: str = "") -> Iterator[tuple[str, str]]:
    """(argument name, text) of every string and number in the arguments, however nested."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, str(key))
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item, name)
    elif isinstance(value, str | int | float) and not isinstance(value, bool):
        yield name, str(value)


def _text_outside(text: str, allowed: Set[str]) -> str | None:
    """A key, an issue path or a URL's JQL in free text that is not the run's."""
    for run in _KEYISH_RUN.finditer(text):
        start = _KEY_START.search(run[0])
        if start is not None and run[0][start.start() :].upper() not in allowed:
            return run[0][start.start() :]
    for match in _ISSUE_PATH.finditer(text):
        if unquote(match[1]).upper() not in allowed:
            return match[0]
    for match in _JQL_QUERY.finditer(text):
        found = _jql_outside(unquote_plus(match[1]), allowed)
        if found is not None:
            return found
    return None


def _jql_outside(jql: str, allowed: Set[str]) -> str | None:
    """The JQL itself unless it names only the run's keys (no project, id, range, function or ORDER BY)."""
    clauses = _JOINER.split(jql) if len(jql) <= MAX_JQL else [jql]
    for clause in clauses:
        match = _KEY_CLAUSE.fullmatch(clause)
        values = [value.strip("\"'") for value in _SEPARATOR.split(match["one"] or match["many"])] if match else []
        if not any(values) or any(value.upper() not in allowed for value in values if value):
            return jql[:200]
    return None
