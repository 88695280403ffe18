"""Which repository config files the user trusted: each file's absolute path and SHA-256, kept in the
user's config folder. Any change to a file untrusts it, as direnv's `allow` and mise's `trust` do."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from jira_brief.errors import UsageError
from jira_brief.files import replace_file


def _store() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("jira-brief", appauthor=False)) / "trusted.json"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _load() -> dict[str, str]:
    try:
        data = json.loads(_store().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _save(entries: dict[str, str]) -> None:
    store = _store()
    try:
        store.parent.mkdir(parents=True, exist_ok=True)
        replace_file(store, json.dumps(entries, indent=2, sort_keys=True).encode("utf-8"))
    except OSError as error:
        raise UsageError(f"cannot write the list of trusted files {store}: {error.strerror}") from None


def is_trusted(path: Path) -> bool:
    """Whether the user trusted this file as it is now (same content as when trusted)."""
    recorded = _load().get(str(path.resolve()))
    try:
        return recorded is not None and recorded == _digest(path)
    except OSError:
        return False


def trust(path: Path) -> str:
    """Record the file as trusted; returns its digest."""
    path = path.resolve()
    try:
        digest = _digest(path)
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    entries = _load()
    entries[str(path)] = digest
    _save(entries)
    return digest


def revoke(path: Path) -> bool:
    """Forget the file; False when it was not trusted."""
    entries = _load()
    found = entries.pop(str(path.resolve()), None)
    if found is not None:
        _save(entries)
    return found is not None


def trusted_files() -> list[tuple[Path, bool]]:
    """Every file the user trusted, and whether it is still unchanged."""
    return [(Path(name), is_trusted(Path(name))) for name in sorted(_load())]
