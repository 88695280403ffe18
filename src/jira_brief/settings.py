"""Settings: one frozen dataclass, layered defaults < config file < environment < flags."""

from __future__ import annotations

import dataclasses
import difflib
import os
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


@dataclass(frozen=True)
class Spec:
    """One setting, declared once: how it is parsed and documented, where it may come from, and its flag.

    `trusted`: the setting decides where data and secrets go or what runs, so a repository's config
    file may set it only once the user trusted that file (`jira-brief trust`)."""

    parse: Callable[[Any], Any]
    help: str
    env: tuple[str, ...] = ()  # read too, before JIRA_BRIEF_<NAME> (which wins)
    secret: bool = False
    in_file: bool = True  # may stand in a repository's config file (secrets never do: files get committed)
    trusted: bool = False
    path: bool = False  # a file or folder: relative to the config file that names it
    choices: tuple[str, ...] = ()
    flag: str = ""  # the flag's name when it is not --NAME
    repeatable: bool = False
    switch: bool = False  # a flag without value (--insecure); other booleans get --NAME/--no-NAME
    metavar: str | None = None
    shown_default: str | None = None  # how docs show a default that is computed

    @property
    def boolean(self) -> bool:
        return self.parse is _boolean


def setting(default: Any, spec: Spec) -> Any:
    """A Settings field with its declaration attached."""
    return field(default=default, metadata={"spec": spec})


def _language(value: Any) -> str:
    return _choice("fr", "en")(value)


@dataclass(frozen=True, repr=False)
class Settings:
    """Everything a run needs to know; each field is the one declaration of a setting (see `Spec`)."""

    projects: tuple[str, ...] = setting(
        (), Spec(_projects, "Jira projects whose keys count (allowlist); empty: any project", metavar="PAY,WEB")
    )
    max_keys: int = setting(10, Spec(_integer(1, 100), "most tickets per run; the rest are reported"))
    sources: tuple[str, ...] = setting(
        DEFAULT_SOURCES, Spec(_sources, f"where keys are looked for, among {', '.join(ALL_SOURCES)}", metavar="LIST")
    )
    mcp_url: str | None = setting(
        None,
        Spec(
            _optional_text,
            "Jira MCP server URL (streamable HTTP; SSE when it ends in /sse)",
            trusted=True,
            metavar="URL",
        ),
    )
    mcp_transport: str = setting(
        "auto",
        Spec(_choice("auto", "http", "sse"), "auto: SSE when the URL ends in /sse", choices=("auto", "http", "sse")),
    )
    mcp_command: str | None = setting(
        None,
        Spec(
            _optional_text, "command line of a stdio MCP server, e.g. 'mcp-atlassian'", trusted=True, metavar="COMMAND"
        ),
    )
    mcp_env: tuple[tuple[str, Secret], ...] = setting(
        (),
        Spec(
            _secret_pairs("="),
            "KEY=VALUE for the stdio server",
            secret=True,
            in_file=False,
            trusted=True,
            repeatable=True,
            metavar="KEY=VALUE",
        ),
    )
    mcp_headers: tuple[tuple[str, Secret], ...] = setting(
        (),
        Spec(
            _secret_pairs(":"),
            "HTTP header for the MCP server",
            secret=True,
            in_file=False,
            trusted=True,
            flag="mcp-header",
            repeatable=True,
            metavar="'NAME: VALUE'",
        ),
    )
    issue_tool: str | None = setting(
        None, Spec(_optional_text, "name of the get-issue tool (detected when unset)", shown_default="(detected)")
    )
    issue_arg: str | None = setting(
        None, Spec(_optional_text, "its issue-key argument (detected when unset)", shown_default="(detected)")
    )
    issue_args: str | None = setting(
        None,
        Spec(
            _issue_args,
            'fixed arguments for the get-issue tool as a JSON object, e.g. {"detail": "full"}; "{key}" in a value '
            "is the issue key",
            trusted=True,  # with a generic REST tool it chooses which Jira data is read and posted
            metavar="JSON",
            shown_default="(detected)",
        ),
    )
    allow_tools: tuple[str, ...] = setting(
        (),
        Spec(
            _words,
            "one more read-only tool offered to the model (annotated readOnlyHint: true, or not annotated: you vouch)",
            in_file=False,
            flag="allow-tool",
            repeatable=True,
            metavar="NAME",
        ),
    )
    acceptance_field: str | None = setting(
        None, Spec(_optional_text, "custom field id holding acceptance criteria", shown_default="(by name)")
    )
    comment_limit: int = setting(5, Spec(_integer(0, 100), "newest N comments kept per ticket"))
    ticket_budget: int = setting(12_000, Spec(_integer(1000, 200_000), "characters of ticket text given to the model"))
    llm: str = setting(
        "auto",
        Spec(
            _choice("auto", "openai", "none"),
            "none: offline briefs; auto: a model when a key or URL is set",
            choices=("auto", "openai", "none"),
        ),
    )
    llm_base_url: str | None = setting(
        None,
        Spec(
            _optional_text,
            "OpenAI-compatible endpoint",
            env=("OPENAI_BASE_URL",),
            trusted=True,
            metavar="URL",
            shown_default="(OpenAI)",
        ),
    )
    llm_api_key: Secret | None = setting(
        None, Spec(_secret, "LLM API key", env=("OPENAI_API_KEY",), secret=True, in_file=False)
    )
    model: str = setting("gpt-4o-mini", Spec(_text, "model name"))
    language: str = setting(
        "fr", Spec(_language, "built-in brief template and the comment's words", choices=("fr", "en"))
    )
    template: str | None = setting(
        None,
        Spec(
            _optional_text,
            "custom template: instructions, then one `## HEADING` line per section",
            path=True,
            metavar="FILE",
        ),
    )
    max_steps: int = setting(3, Spec(_integer(1, 10), "most model calls per ticket"))
    concurrency: int = setting(4, Spec(_integer(1, 32), "tickets worked on at once"))
    timeout: float = setting(120.0, Spec(_seconds, "seconds per ticket, retries included"))
    stream: bool = setting(True, Spec(_boolean, "print the brief as it is written"))
    cache: bool = setting(True, Spec(_boolean, "reuse briefs of unchanged tickets"))
    cache_dir: str | None = setting(
        None,
        Spec(
            _optional_text,
            "where briefs and tickets are cached",
            trusted=True,
            path=True,
            metavar="DIR",
            shown_default="platform cache dir",
        ),
    )
    ca_bundle: str | None = setting(
        None,
        Spec(
            _optional_text,
            "CA bundle for TLS, added to the system store",
            env=("SSL_CERT_FILE",),
            trusted=True,
            path=True,
            metavar="FILE",
            shown_default="(system)",
        ),
    )
    proxy: Secret | None = setting(
        None,
        Spec(
            _secret,
            "proxy URL for the MCP server and the model",
            secret=True,
            trusted=True,
            metavar="URL",
            shown_default="(HTTPS_PROXY)",
        ),
    )
    insecure: bool = setting(
        False, Spec(_boolean, "turn TLS verification off (loud warning)", in_file=False, switch=True)
    )
    github_token: Secret | None = setting(
        None, Spec(_secret, "token for `jira-brief github`", env=("GITHUB_TOKEN",), secret=True, in_file=False)
    )
    trust_repo_config: bool = setting(
        False,
        Spec(
            _boolean,
            "honour a repository config file's trusted settings without `jira-brief trust` "
            "(in CI: safe only when every pull request's author may read the secrets)",
            in_file=False,
        ),
    )
    check: str = setting(
        "on",
        Spec(
            _choice("on", "off"),
            "judge each acceptance criterion against the change (needs a model)",
            choices=("on", "off"),
        ),
    )
    diff_budget: int = setting(
        24_000,
        Spec(_integer(2_000, 200_000), "characters of the change given to the criteria check", metavar="CHARS"),
    )
    hook_show: str = setting(
        "changed",
        Spec(
            _choice("full", "changed", "line"),
            "hook output: full, changed, line",
            choices=("full", "changed", "line"),
            flag="show",
        ),
    )
    hook_ttl: float = setting(
        600.0, Spec(_seconds_or_zero, "seconds a hook reuses a ticket without asking the MCP server")
    )
    hook_budget: float = setting(15.0, Spec(_seconds, "total seconds a hook may take"))
    strict: bool = setting(False, Spec(_boolean, "hook: fail the commit when a brief cannot be made", switch=True))
    disable: bool = setting(False, Spec(_boolean, "turn the hooks off"))
    origins: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)
    # An in-process MCP server (the embedded demo): what the MCP client connects to instead of a URL or
    # a command. Never a user setting: only `demo` and `doctor --demo` (and tests) put one here.
    mcp_server: Any = field(default=None, compare=False, repr=False)
    ignored: tuple[str, ...] = field(default=(), compare=False, repr=False)  # warnings about untrusted settings

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


SPECS: dict[str, Spec] = {
    item.name: item.metadata["spec"] for item in dataclasses.fields(Settings) if "spec" in item.metadata
}
# Layers, lowest first; a higher one wins. The user's own file is below the repository's, whose
# trusted settings count only once the user trusted it.
DEFAULT, USER_FILE, REPO_FILE, ENVIRONMENT, FLAGS = range(5)
TRANSPORTS = ("mcp_url", "mcp_command")
CONFIG_VARIABLES = ("JIRA_BRIEF_CONFIG",)


def env_name(name: str) -> str:
    return "JIRA_BRIEF_" + name.upper()


def kebab(name: str) -> str:
    return name.replace("_", "-")


def env_names(name: str) -> tuple[str, ...]:
    """Every variable a setting is read from, the one that wins last."""
    return (*SPECS[name].env, env_name(name))


def _unknown(name: str, where: str) -> ConfigError:
    """An unknown setting, with the nearest known name when there is one."""
    close = difflib.get_close_matches(kebab(name).lower(), [kebab(known) for known in SPECS], n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else "; `jira-brief config --help` lists them"
    return ConfigError(f"unknown setting {kebab(name)!r} in {where}{hint}")


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


def _file_layer(layers: _Layers, path: Path, layer: int, trusted: bool) -> None:
    """A config file's settings; a repository's file may not hold secrets, and its trusted settings
    count only when the file is trusted."""
    skipped = []
    for raw_name, value in _read_config_file(path).items():
        name = raw_name.replace("-", "_")
        spec = SPECS.get(name)
        if spec is None:
            raise _unknown(raw_name, str(path))
        if layer == REPO_FILE and not spec.in_file:
            raise ConfigError(f"{raw_name!r} must not be in {path} (a committed file); set {env_name(name)} instead")
        if layer == REPO_FILE and spec.trusted and not trusted:
            skipped.append(raw_name)
            continue
        if spec.path and isinstance(value, str) and value:
            value = str(path.parent / Path(value).expanduser())  # relative to the file, not the cwd
        layers.put(name, value, f"{path} ({raw_name})", layer)
    if skipped:
        layers.ignored.append(
            f"{path} sets {', '.join(skipped)}, ignored: they decide where your secrets go or what runs. "
            f"Read the file, then run `jira-brief trust` to allow them"
        )


def _env_layer(layers: _Layers, environ: Mapping[str, str]) -> None:
    for name in SPECS:
        for variable in env_names(name):
            if environ.get(variable, "") != "":
                layers.put(name, environ[variable], f"environment {variable}", ENVIRONMENT)
    known = {env_name(name) for name in SPECS} | set(CONFIG_VARIABLES)
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
) -> Settings:
    """Defaults < the user's config file < the repository's config file < environment < flags."""
    environ = os.environ if environ is None else environ
    layers = _Layers()
    user_file = user_config_file()
    if user_file.is_file():
        _file_layer(layers, user_file, USER_FILE, trusted=True)
    repo_file, trust = repository_file(cwd, environ)
    if repo_file is not None:
        _file_layer(layers, repo_file, REPO_FILE, trusted=trust is not None)
    _env_layer(layers, environ)
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
    from jira_brief.trust import is_trusted

    explicit = environ.get("JIRA_BRIEF_CONFIG")
    if explicit:
        if not Path(explicit).is_file():
            raise ConfigError(f"JIRA_BRIEF_CONFIG names {explicit}, which is not a file")
        return Path(explicit), "named by JIRA_BRIEF_CONFIG, trusted"
    found = find_config_file((cwd or Path.cwd()).resolve())
    if found is None:
        return None, None
    variable = env_name("trust_repo_config")
    try:
        if _boolean(environ.get(variable, "")):
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
    for name, spec in SPECS.items():
        value = getattr(settings, name)
        if spec.secret:
            shown = _describe_secret(value)
        elif isinstance(value, tuple):
            shown = ", ".join(value) if value else "(none)"
        elif isinstance(value, str) and name.endswith("url"):
            shown = mask_url(value)
        else:
            shown = "(unset)" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
        rows.append((kebab(name), shown, settings.origin(name)))
    return rows


def _describe_secret(value: Any) -> str:
    if not value:
        return "(unset)"
    if isinstance(value, tuple):
        return ", ".join(f"{name}=********" for name, _ in value)
    return "******** (set)"


def _shown_default(name: str) -> str:
    default = next(item.default for item in dataclasses.fields(Settings) if item.name == name)
    if SPECS[name].shown_default:
        return str(SPECS[name].shown_default)
    if isinstance(default, tuple):
        return ", ".join(default) if default else "(none)"
    if isinstance(default, bool):
        return str(default).lower()
    return "(unset)" if default is None else f"{default:g}" if isinstance(default, float) else str(default)


def settings_table() -> str:
    """The README's settings table, made from the declarations (a test keeps the README in step)."""
    lines = ["| setting | environment | default | in repo file | meaning |", "| --- | --- | --- | --- | --- |"]
    for name, spec in SPECS.items():
        variables = ", ".join(f"`{variable}`" for variable in env_names(name))
        where = "no" if not spec.in_file else "after `trust`" if spec.trusted else "yes"
        help_text = spec.help.replace("|", "\\|")
        lines.append(f"| `{kebab(name)}` | {variables} | {_shown_default(name)} | {where} | {help_text} |")
    return "\n".join(lines)
