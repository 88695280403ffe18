"""Which repository config files the user trusted: each file where it was found, the real file it is, and
its SHA-256, kept in the user's config folder. Any change to a file untrusts it, as direnv's `allow` and
mise's `trust` do; so does a link put in its place, and a link to a trusted file is not trusted itself."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from jira_brief.errors import UsageError
from jira_brief.files import replace_file


def _store() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("jira-brief", appauthor=False)) / "trusted.json"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class Trusted:
    """A trusted file: the real file it was when trusted, and its content's SHA-256."""

    real: str
    sha256: str


def _location(path: Path) -> str:
    """Where a file is found: its folder's real path and its own name (a link stays a link)."""
    path = path.absolute()
    return str(path.parent.resolve() / path.name)


def _load() -> dict[str, Trusted]:
    try:
        data = json.loads(_store().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    entries = {}
    for name, value in data.items():
        if isinstance(value, str):  # recorded before links were told apart: a real file by its real path
            entries[str(name)] = Trusted(str(name), value)
        elif isinstance(value, dict):
            entries[str(name)] = Trusted(str(value.get("real", "")), str(value.get("sha256", "")))
    return entries


def _save(entries: dict[str, Trusted]) -> None:
    store = _store()
    data = {name: dataclasses.asdict(entry) for name, entry in entries.items()}
    try:
        store.parent.mkdir(parents=True, exist_ok=True)
        replace_file(store, json.dumps(data, indent=2, sort_keys=True).encode("utf-8"))
    except OSError as error:
        raise UsageError(f"cannot write the list of trusted files {store}: {error.strerror}") from None


def is_trusted(path: Path) -> bool:
    """Whether the user trusted this file where it is, as it is now: a link is trusted only as that link to
    that real file (never through its target's trust), and only with the same content."""
    recorded = _load().get(_location(path))
    try:
        return recorded is not None and recorded.real == str(path.resolve()) and recorded.sha256 == _digest(path)
    except OSError:
        return False


def trust(path: Path) -> str:
    """Record the file, where it is and the real file it is, as trusted; returns its digest."""
    try:
        digest = _digest(path)
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    entries = _load()
    entries[_location(path)] = Trusted(str(path.resolve()), digest)
    _save(entries)
    return digest


def revoke(path: Path) -> bool:
    """Forget the file; False when it was not trusted."""
    entries = _load()
    found = entries.pop(_location(path), None)
    if found is not None:
        _save(entries)
    return found is not None


def trusted_files() -> list[tuple[Path, bool]]:
    """Every file the user trusted, and whether it is still unchanged."""
    return [(Path(name), is_trusted(Path(name))) for name in sorted(_load())]
