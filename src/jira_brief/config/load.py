"""Loading settings: defaults < the user's config file < the repository's config file < environment < flags,
and which repository config file counts and why it is trusted."""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jira_brief.config.settings import SPECS, Settings, env_name, env_names, kebab
from jira_brief.config.trust import is_trusted
from jira_brief.config.values import boolean
from jira_brief.errors import ConfigError
from jira_brief.git import work_tree_of

# Layers, lowest first; a higher one wins. The user's own file is below the repository's, whose
# trusted settings count only once the user trusted it.
DEFAULT, USER_FILE, REPO_FILE, ENVIRONMENT, FLAGS = range(5)
TRANSPORTS = ("mcp_url", "mcp_command")
CONFIG_VARIABLES = ("JIRA_BRIEF_CONFIG",)


def _unknown(name: str, where: str) -> ConfigError:
    """An unknown setting, with the nearest known name when there is one."""
    close = difflib.get_close_matches(kebab(name).lower(), [kebab(known) for known in SPECS], n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else "; `jira-brief config --help` lists them"
    return ConfigError(f"unknown setting {kebab(name)!r} in {where}{hint}")


def find_config_file(start: Path) -> Path | None:
    """`.jira-brief.toml`, or a pyproject.toml with [tool.jira-brief], up to the repository root."""
    for folder in search_folders(start):
        candidate = folder / ".jira-brief.toml"
        if candidate.is_file():
            return candidate
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and _has_our_table(pyproject):
            return pyproject
    return None


def search_folders(start: Path) -> list[Path]:
    """Where a repository config file is looked for: `start`, then each folder up to the repository
    root (the one holding .git), or to the filesystem root outside a repository."""
    folders = []
    for folder in (start, *start.parents):
        folders.append(folder)
        if (folder / ".git").exists():
            break
    return folders


def user_config_file() -> Path:
    """The user's own config file (always trusted: personal endpoints belong there)."""
    from platformdirs import user_config_dir

    return Path(user_config_dir("jira-brief", appauthor=False)) / "config.toml"


def _has_our_table(pyproject: Path) -> bool:
    """Whether a pyproject.toml has a [tool.jira-brief] table (a broken file counts, to report it)."""
    text = pyproject.read_text(encoding="utf-8", errors="replace")
    if "jira-brief" not in text:
        return False
    try:
        return "jira-brief" in tomllib.loads(text).get("tool", {})
    except tomllib.TOMLDecodeError:
        return "[tool.jira-brief]" in text


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read the config file {path}: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML: {error}; fix the file") from None
    if path.name == "pyproject.toml":
        data = data.get("tool", {}).get("jira-brief", {})
    if not isinstance(data, dict):
        raise ConfigError(f"[tool.jira-brief] in {path} must be a table of settings")
    return data


@dataclass
class _Layers:
    """Values gathered so far: name -> (raw value, origin, layer), and the untrusted ones left out."""

    values: dict[str, tuple[Any, str, int]] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)

    def put(self, name: str, value: Any, origin: str, layer: int) -> None:
        self.values[name] = (value, origin, layer)


def _file_layer(layers: _Layers, path: Path, layer: int, trusted: bool, credentials: Collection[str]) -> None:
    """A config file's settings; a repository's file may not hold secrets, and its trusted settings
    count only when the file is trusted."""
    skipped = []
    for raw_name, value in _read_config_file(path).items():
        name = raw_name.replace("-", "_")
        spec = SPECS.get(name)
        if spec is None and env_name(name) in credentials:  # a forge's token: never in a file
            raise ConfigError(f"{raw_name!r} must not be in {path} (a committed file); set {env_name(name)} instead")
        if spec is None:
            raise _unknown(raw_name, str(path))
        if layer == REPO_FILE and not spec.in_file:
            raise ConfigError(f"{raw_name!r} must not be in {path} (a committed file); set {env_name(name)} instead")
        if layer == REPO_FILE and spec.trusted and not trusted:
            skipped.append(raw_name)
            continue
        if spec.path and isinstance(value, str) and value:
            value = (
                _repository_path(value, path, name)
                if layer == REPO_FILE and not trusted
                else _trusted_path(value, path)
            )
        layers.put(name, value, f"{path} ({raw_name})", layer)
    if skipped:
        layers.ignored.append(
            f"{path} sets {', '.join(skipped)}, ignored: they decide where your secrets go or what runs. "
            f"Read the file, then run `jira-brief trust` to allow them"
        )


def _trusted_path(value: str, config: Path) -> str:
    """A path a trusted file names: relative to the real folder of that file (not the cwd, and not the
    folder of a link to it)."""
    return str(config.resolve().parent / Path(value).expanduser())


def _repository_path(value: str, config: Path, name: str) -> str:
    """A path an untrusted repository file names, as its real path: a file of the repository, or refused
    (the file may not read the user's own files, which the comment and the model would then see)."""
    root = work_tree_of(config.parent) or config.parent.resolve()
    given = Path(value)
    real = (config.resolve().parent / given).resolve()
    if value.startswith("~") or given.is_absolute() or ".." in given.parts or not real.is_relative_to(root):
        raise ConfigError(
            f"{kebab(name)} = {value!r} in {config} is outside the repository ({root}); a repository's file may "
            f"name only its own files: move it there, or set {kebab(name)} in your own config file or {env_name(name)}"
        )
    return str(real)


def _env_layer(layers: _Layers, environ: Mapping[str, str], credentials: Collection[str]) -> None:
    for name in SPECS:
        for variable in env_names(name):
            if environ.get(variable, "") != "":
                layers.put(name, environ[variable], f"environment {variable}", ENVIRONMENT)
    known = {env_name(name) for name in SPECS} | set(CONFIG_VARIABLES) | set(credentials)
    for variable in environ:
        if variable.startswith("JIRA_BRIEF_") and variable not in known:
            raise _unknown(variable.removeprefix("JIRA_BRIEF_").lower(), f"environment variable {variable}")


def _one_transport(layers: _Layers) -> None:
    """--mcp-url and --mcp-command: the higher layer wins; both in one layer is a usage error."""
    url, command = (layers.values.get(name) for name in TRANSPORTS)
    if url is None or command is None:
        return
    if url[2] == command[2]:
        raise ConfigError(f"both mcp-url ({url[1]}) and mcp-command ({command[1]}) are set; keep one of them")
    del layers.values[TRANSPORTS[0] if url[2] < command[2] else TRANSPORTS[1]]


def load_settings(
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    credentials: Collection[str] = (),
) -> Settings:
    """Defaults < the user's config file < the repository's config file < environment < flags.

    `credentials` are the JIRA_BRIEF_* variables that are not settings but known all the same (the
    forges' tokens, which each forge reads itself)."""
    environ = os.environ if environ is None else environ
    layers = _Layers()
    user_file = user_config_file()
    if user_file.is_file():
        _file_layer(layers, user_file, USER_FILE, trusted=True, credentials=credentials)
    repo_file, trust = repository_file(cwd, environ)
    if repo_file is not None:
        _file_layer(layers, repo_file, REPO_FILE, trusted=trust is not None, credentials=credentials)
    _env_layer(layers, environ, credentials)
    for name, value in (flags or {}).items():
        if value is not None and value != ():
            layers.put(name, value, f"flag --{SPECS[name].flag or kebab(name)}", FLAGS)
    _one_transport(layers)
    values, origins = {}, {}
    for name, (value, origin, _) in layers.values.items():
        try:
            values[name] = SPECS[name].parse(value)
        except ValueError as error:
            raise ConfigError(f"bad value for {kebab(name)} from {origin}: {error}") from None
        origins[name] = origin
    return Settings(**values, origins=origins, ignored=tuple(layers.ignored))


def repository_file(cwd: Path | None, environ: Mapping[str, str]) -> tuple[Path | None, str | None]:
    """The repository's config file, and why its trusted settings count (None: they do not). A file
    named in the environment is the user's choice; one found in the repository is not, until trusted."""
    explicit = environ.get("JIRA_BRIEF_CONFIG")
    if explicit:
        if not Path(explicit).expanduser().is_absolute():  # else each repository would have its own trusted file
            raise ConfigError(f"JIRA_BRIEF_CONFIG is {explicit}, a relative path; give the file's absolute path")
        explicit = str(Path(explicit).expanduser())
        if not Path(explicit).is_file():
            raise ConfigError(f"JIRA_BRIEF_CONFIG names {explicit}, which is not a file")
        return Path(explicit), "named by JIRA_BRIEF_CONFIG, trusted"
    found = find_config_file((cwd or Path.cwd()).resolve())
    if found is None:
        return None, None
    variable = env_name("trust_repo_config")
    try:
        if boolean(environ.get(variable, "")):
            return found, f"trusted by {variable}"
    except ValueError as error:
        raise ConfigError(f"bad value for trust-repo-config from environment {variable}: {error}") from None
    return found, "trusted" if is_trusted(found) else None


def config_files(cwd: Path | None = None, environ: Mapping[str, str] | None = None) -> list[tuple[Path, str]]:
    """The config files a run reads, each with whether its trusted settings count (for `config`)."""
    environ = os.environ if environ is None else environ
    files = []
    if user_config_file().is_file():
        files.append((user_config_file(), "user file, trusted"))
    repo_file, trust = repository_file(cwd, environ)
    if repo_file is not None:
        state = trust or "NOT trusted: run `jira-brief trust` to allow its endpoints"
        files.append((repo_file, f"repository file, {state}"))
    return files
