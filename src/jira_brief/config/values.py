"""Setting values: how each kind is parsed from a TOML value, an environment variable or a flag, and
`Secret`, the value that never shows itself."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from jira_brief.keys.texts import ALL_SOURCES


class Secret:
    """A secret value that never shows itself in repr, str, logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


def as_text(value: Any) -> str:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise ValueError("expected a string")
    return str(value).strip()


def optional_text(value: Any) -> str | None:
    return as_text(value) or None


def optional_url(value: Any) -> str | None:
    """An http(s) URL with a host, or None: what an MCP server or a model endpoint is reached at."""
    text = optional_text(value)
    if text is None:
        return None
    parts = urlsplit(text)
    try:
        parts.port  # noqa: B018 - a port that is no number raises here
    except ValueError:
        raise ValueError(f"{text!r} has a port that is no number") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(f"expected an http:// or https:// URL with a host (https://host/path); got {text!r}")
    return text


def secret(value: Any) -> Secret | None:
    text = as_text(value)
    return Secret(text) if text else None


def integer(low: int, high: int) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, bool):
            raise ValueError("expected a whole number")
        try:
            number = int(str(value).strip())
        except ValueError:
            raise ValueError("expected a whole number") from None
        if not low <= number <= high:
            raise ValueError(f"expected a number from {low} to {high}")
        return number

    return parse


def seconds(value: Any) -> float:
    try:
        number = float(str(value).strip())
    except ValueError:
        raise ValueError("expected a number of seconds") from None
    if not 0 < number <= 86400:
        raise ValueError("expected a number of seconds above 0")
    return number


def seconds_or_zero(value: Any) -> float:
    return 0.0 if str(value).strip() in ("0", "0.0") else seconds(value)


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("expected true or false")


def words(value: Any) -> tuple[str, ...]:
    """A list from TOML, or a comma/space/newline separated string from env and flags."""
    items = value if isinstance(value, list | tuple) else str(value).replace(",", " ").split()
    return tuple(str(item).strip() for item in items if str(item).strip())


def projects(value: Any) -> tuple[str, ...]:
    projects = tuple(project.upper() for project in words(value))
    for project in projects:
        if not (project[0].isalpha() and len(project) >= 2 and project.replace("_", "").isalnum()):
            raise ValueError(f"{project!r} is not a Jira project key (letters, digits, _; 2+ characters)")
    return projects


def choice(*choices: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = as_text(value).lower()
        if text not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}")
        return text

    return parse


def sources(value: Any) -> tuple[str, ...]:
    sources = tuple(source.lower() for source in words(value))
    unknown = [source for source in sources if source not in ALL_SOURCES]
    if unknown:
        raise ValueError(f"unknown source {unknown[0]!r}; expected some of {', '.join(ALL_SOURCES)}")
    return sources


def pairs(separator: str) -> Callable[[Any], tuple[tuple[str, str], ...]]:
    """KEY=VALUE (env) or 'Name: value' (headers) items, from a TOML table, a list or lines."""

    def parse(value: Any) -> tuple[tuple[str, str], ...]:
        if isinstance(value, dict):
            return tuple((str(k), str(v)) for k, v in value.items())
        items = value if isinstance(value, list | tuple) else str(value).splitlines()
        pairs = []
        for item in (str(item).strip() for item in items):
            if not item:
                continue
            name, sep, text = item.partition(separator)
            if not sep or not name.strip():
                raise ValueError(f"expected NAME{separator}VALUE, got an item without {separator!r}")
            pairs.append((name.strip(), text.strip()))
        return tuple(pairs)

    return parse


def secret_pairs(separator: str) -> Callable[[Any], tuple[tuple[str, Secret], ...]]:
    parse = pairs(separator)
    return lambda value: tuple((name, Secret(text)) for name, text in parse(value))


def issue_args(value: Any) -> str | None:
    """A JSON object of fixed get-issue arguments (a TOML table, or JSON text), kept as canonical JSON."""
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError('expected a JSON object, e.g. {"detail": "full"}') from None
    if not isinstance(value, dict):
        raise ValueError('expected a JSON object, e.g. {"detail": "full"}')
    return json.dumps(value, ensure_ascii=False)


def language(value: Any) -> str:
    return choice("fr", "en")(value)
