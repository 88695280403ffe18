"""Settings: one frozen dataclass, layered defaults < config file < environment < flags."""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from jira_brief.errors import ConfigError
from jira_brief.sources import ALL_SOURCES, DEFAULT_SOURCES


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


def _text(value: Any) -> str:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise ValueError("expected a string")
    return str(value).strip()


def _optional_text(value: Any) -> str | None:
    return _text(value) or None


def _secret(value: Any) -> Secret | None:
    text = _text(value)
    return Secret(text) if text else None


def _integer(low: int, high: int) -> Callable[[Any], int]:
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


def _seconds(value: Any) -> float:
    try:
        number = float(str(value).strip())
    except ValueError:
        raise ValueError("expected a number of seconds") from None
    if not 0 < number <= 86400:
        raise ValueError("expected a number of seconds above 0")
    return number


def _seconds_or_zero(value: Any) -> float:
    return 0.0 if str(value).strip() in ("0", "0.0") else _seconds(value)


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("expected true or false")


def _words(value: Any) -> tuple[str, ...]:
    """A list from TOML, or a comma/space/newline separated string from env and flags."""
    items = value if isinstance(value, list | tuple) else str(value).replace(",", " ").split()
    return tuple(str(item).strip() for item in items if str(item).strip())


def _projects(value: Any) -> tuple[str, ...]:
    projects = tuple(project.upper() for project in _words(value))
    for project in projects:
        if not (project[0].isalpha() and len(project) >= 2 and project.replace("_", "").isalnum()):
            raise ValueError(f"{project!r} is not a Jira project key (letters, digits, _; 2+ characters)")
    return projects


def _choice(*choices: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = _text(value).lower()
        if text not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}")
        return text

    return parse


def _sources(value: Any) -> tuple[str, ...]:
    sources = tuple(source.lower() for source in _words(value))
    unknown = [source for source in sources if source not in ALL_SOURCES]
    if unknown:
        raise ValueError(f"unknown source {unknown[0]!r}; expected some of {', '.join(ALL_SOURCES)}")
    return sources


def _pairs(separator: str) -> Callable[[Any], tuple[tuple[str, str], ...]]:
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


def _secret_pairs(separator: str) -> Callable[[Any], tuple[tuple[str, Secret], ...]]:
    parse = _pairs(separator)
    return lambda value: tuple((name, Secret(text)) for name, text in parse(value))


def _issue_args(value: Any) -> str | None:
    """A JSON object of fixed get-issue arguments (a TOML table, or JSON text), kept as canonical JSON."""
    import json

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


PATH_SETTINGS = frozenset({"template", "ca_bundle", "cache_dir"})


@dataclass(frozen=True)
class Spec:
    """How one setting is read: its parser, environment variables, and whether it is a secret."""

    parse: Callable[[Any], Any]
    env: tuple[str, ...] = ()
    secret: bool = False
    in_file: bool = True
    help: str = ""


SPECS: dict[str, Spec] = {
    "projects": Spec(_projects, help="Jira projects whose keys count (allowlist); empty: any project"),
    "max_keys": Spec(_integer(1, 100), help="most tickets per run; the rest are reported"),
    "sources": Spec(_sources, help="where keys are looked for"),
    "mcp_url": Spec(_optional_text, help="Jira MCP server URL (streamable HTTP, or SSE)"),
    "mcp_transport": Spec(_choice("auto", "http", "sse"), help="auto: SSE when the URL ends in /sse"),
    "mcp_command": Spec(_optional_text, help="command line of a stdio MCP server"),
    "mcp_env": Spec(_secret_pairs("="), secret=True, in_file=False, help="KEY=VALUE for the stdio server"),
    "mcp_headers": Spec(_secret_pairs(":"), secret=True, in_file=False, help="HTTP headers for the MCP server"),
    "issue_tool": Spec(_optional_text, help="name of the get-issue tool (detected when unset)"),
    "issue_arg": Spec(_optional_text, help="its issue-key argument (detected when unset)"),
    "issue_args": Spec(_issue_args, help='fixed get-issue arguments as JSON; "{key}" in a value is the issue key'),
    "allow_tools": Spec(
        _words, in_file=False, help="extra tools offered to the model (read-only or unannotated; you vouch)"
    ),
    "acceptance_field": Spec(_optional_text, help="custom field id holding acceptance criteria"),
    "comment_limit": Spec(_integer(0, 100), help="last N comments read per ticket"),
    "ticket_budget": Spec(_integer(1000, 200_000), help="characters of ticket text given to the model"),
    "llm": Spec(_choice("auto", "openai", "none"), help="none: offline brief from the ticket's fields"),
    "llm_base_url": Spec(_optional_text, env=("OPENAI_BASE_URL",), help="OpenAI-compatible endpoint"),
    "llm_api_key": Spec(_secret, env=("OPENAI_API_KEY",), secret=True, in_file=False, help="LLM API key"),
    "model": Spec(_text, help="model name"),
    "language": Spec(_choice("fr", "en"), help="built-in brief template"),
    "template": Spec(_optional_text, help="path of a custom brief template (Markdown)"),
    "max_steps": Spec(_integer(1, 10), help="most model calls per ticket"),
    "concurrency": Spec(_integer(1, 32), help="tickets worked on at once"),
    "timeout": Spec(_seconds, help="seconds allowed per ticket, retries included"),
    "stream": Spec(_boolean, help="print the brief as it is written"),
    "cache": Spec(_boolean, help="reuse briefs of unchanged tickets"),
    "cache_dir": Spec(_optional_text, help="where briefs are cached"),
    "ca_bundle": Spec(_optional_text, env=("SSL_CERT_FILE",), help="CA bundle for TLS"),
    "proxy": Spec(_secret, secret=True, help="HTTP(S) proxy URL (else HTTPS_PROXY/NO_PROXY)"),
    "insecure": Spec(_boolean, in_file=False, help="turn TLS verification off (dangerous)"),
    "github_token": Spec(_secret, env=("GITHUB_TOKEN",), secret=True, in_file=False, help="GitHub token"),
    "hook_show": Spec(_choice("full", "changed", "line"), help="hook output: full, changed, line"),
    "hook_ttl": Spec(_seconds_or_zero, help="seconds a hook reuses a ticket without asking the MCP server"),
    "hook_budget": Spec(_seconds, help="total seconds a hook may take"),
    "strict": Spec(_boolean, help="hook: fail the commit when a brief cannot be made"),
    "disable": Spec(_boolean, help="turn the hooks off"),
}


@dataclass(frozen=True, repr=False)
class Settings:
    """Everything a run needs to know; secrets are wrapped so they never print."""

    projects: tuple[str, ...] = ()
    max_keys: int = 10
    sources: tuple[str, ...] = DEFAULT_SOURCES
    mcp_url: str | None = None
    mcp_transport: str = "auto"
    mcp_command: str | None = None
    mcp_env: tuple[tuple[str, Secret], ...] = ()
    mcp_headers: tuple[tuple[str, Secret], ...] = ()
    issue_tool: str | None = None
    issue_arg: str | None = None
    issue_args: str | None = None
    allow_tools: tuple[str, ...] = ()
    acceptance_field: str | None = None
    comment_limit: int = 5
    ticket_budget: int = 12_000
    llm: str = "auto"
    llm_base_url: str | None = None
    llm_api_key: Secret | None = None
    model: str = "gpt-4o-mini"
    language: str = "fr"
    template: str | None = None
    max_steps: int = 3
    concurrency: int = 4
    timeout: float = 120.0
    stream: bool = True
    cache: bool = True
    cache_dir: str | None = None
    ca_bundle: str | None = None
    proxy: Secret | None = None
    insecure: bool = False
    github_token: Secret | None = None
    hook_show: str = "changed"
    hook_ttl: float = 600.0
    hook_budget: float = 15.0
    strict: bool = False
    disable: bool = False
    origins: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def llm_enabled(self) -> bool:
        """Whether briefs are written by a model (else offline briefs from the ticket's fields)."""
        if self.llm == "none":
            return False
        return self.llm == "openai" or bool(self.llm_api_key or self.llm_base_url)

    def origin(self, name: str) -> str:
        return self.origins.get(name, "default")

    def __repr__(self) -> str:
        return "Settings(" + ", ".join(f"{name}={value!r}" for name, value, _ in describe(self)) + ")"


def env_name(name: str) -> str:
    return "JIRA_BRIEF_" + name.upper()


def find_config_file(start: Path) -> Path | None:
    """`.jira-brief.toml`, or a pyproject.toml with [tool.jira-brief], up to the repository root."""
    for folder in (start, *start.parents):
        candidate = folder / ".jira-brief.toml"
        if candidate.is_file():
            return candidate
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and _has_our_table(pyproject):
            return pyproject
        if (folder / ".git").exists():
            return None
    return None


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


def _file_layer(path: Path) -> dict[str, tuple[Any, str]]:
    layer = {}
    for raw_name, value in _read_config_file(path).items():
        name = raw_name.replace("-", "_")
        origin = f"{path} ({raw_name})"
        spec = SPECS.get(name)
        if spec is None:
            raise ConfigError(f"unknown setting {raw_name!r} in {path}; see `jira-brief config --help`")
        if not spec.in_file:
            raise ConfigError(f"{raw_name!r} must not be in {path} (a committed file); set {env_name(name)} instead")
        if name in PATH_SETTINGS and isinstance(value, str) and value:
            value = str(path.parent / Path(value).expanduser())  # relative to the file, not the cwd
        layer[name] = (value, origin)
    return layer


def _env_layer(environ: Mapping[str, str]) -> dict[str, tuple[Any, str]]:
    layer: dict[str, tuple[Any, str]] = {}
    for name, spec in SPECS.items():
        for variable in (*spec.env, env_name(name)):
            if environ.get(variable, "") != "":
                layer[name] = (environ[variable], f"environment {variable}")
    known = {env_name(name) for name in SPECS} | {"JIRA_BRIEF_CONFIG"}
    for variable in environ:
        if variable.startswith("JIRA_BRIEF_") and variable not in known:
            raise ConfigError(f"unknown setting in environment variable {variable}; unset it or fix its name")
    return layer


def load_settings(
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Build the settings from defaults, the config file, the environment and the flags, in that order."""
    environ = os.environ if environ is None else environ
    layers: dict[str, tuple[Any, str]] = {}
    explicit = environ.get("JIRA_BRIEF_CONFIG")
    config_path = Path(explicit) if explicit else find_config_file((cwd or Path.cwd()).resolve())
    if explicit and not (config_path and config_path.is_file()):
        raise ConfigError(f"JIRA_BRIEF_CONFIG names {explicit}, which is not a file")
    if config_path is not None:
        layers.update(_file_layer(config_path))
    layers.update(_env_layer(environ))
    for name, value in (flags or {}).items():
        if value is not None and value != ():
            layers[name] = (value, f"flag --{name.replace('_', '-')}")
    values, origins = {}, {}
    for name, (value, origin) in layers.items():
        try:
            values[name] = SPECS[name].parse(value)
        except ValueError as error:
            raise ConfigError(f"bad value for {name.replace('_', '-')} from {origin}: {error}") from None
        origins[name] = origin
    return Settings(**values, origins=origins)


def mask_url(url: str) -> str:
    """A URL with any password replaced, fit to print."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:********@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def describe(settings: Settings) -> list[tuple[str, str, str]]:
    """(name, printable value, origin) of each setting; secrets show only whether they are set."""
    rows = []
    for item in dataclasses.fields(Settings):
        if item.name == "origins":
            continue
        value = getattr(settings, item.name)
        if SPECS[item.name].secret:
            shown = _describe_secret(value)
        elif isinstance(value, tuple):
            shown = ", ".join(value) if value else "(none)"
        elif isinstance(value, str) and item.name.endswith("url"):
            shown = mask_url(value)
        else:
            shown = "(unset)" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
        rows.append((item.name.replace("_", "-"), shown, settings.origin(item.name)))
    return rows


def _describe_secret(value: Any) -> str:
    if not value:
        return "(unset)"
    if isinstance(value, tuple):
        return ", ".join(f"{name}=********" for name, _ in value)
    return "******** (set)"


SECRET_NAME = re.compile(r"TOKEN|KEY|SECRET|PASS|PAT\b|AUTH|CREDENTIAL|COOKIE", re.I)


def redact(text: str, settings: Settings | None) -> str:
    """`text` with every secret value of the settings replaced, so no output line can leak one."""
    if settings is None:
        return text
    secrets: list[str] = []
    for name, spec in SPECS.items():
        value = getattr(settings, name)
        if isinstance(value, Secret):
            secrets.append(value.reveal())
            if name == "proxy":
                secrets.append(urlsplit(value.reveal()).password or "")
        elif spec.secret and isinstance(value, tuple):
            for variable, secret in value:  # "Token abc": the whole value and each word of it
                if name == "mcp_headers" or SECRET_NAME.search(variable):
                    secrets.extend([secret.reveal(), *secret.reveal().split()[1:]])
    for secret in sorted(filter(lambda s: len(s) >= 6, secrets), key=len, reverse=True):
        text = text.replace(secret, "********")
    return text
