"""Settings: one frozen dataclass, each field the one declaration of a setting (`Spec`), and how they
are shown (`describe`, the README's table)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from jira_brief.config import values as v
from jira_brief.config.values import Secret
from jira_brief.keys.texts import ALL_SOURCES, DEFAULT_SOURCES


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
        return self.parse is v.boolean


def setting(default: Any, spec: Spec) -> Any:
    """A Settings field with its declaration attached."""
    return field(default=default, metadata={"spec": spec})


@dataclass(frozen=True, repr=False)
class Settings:
    """Everything a run needs to know; each field is the one declaration of a setting (see `Spec`)."""

    projects: tuple[str, ...] = setting(
        (), Spec(v.projects, "Jira projects whose keys count (allowlist); empty: any project", metavar="PAY,WEB")
    )
    max_keys: int = setting(10, Spec(v.integer(1, 100), "most tickets per run; the rest are reported", metavar="N"))
    sources: tuple[str, ...] = setting(
        DEFAULT_SOURCES, Spec(v.sources, f"where keys are looked for, among {', '.join(ALL_SOURCES)}", metavar="LIST")
    )
    mcp_url: str | None = setting(
        None,
        Spec(
            v.optional_url,
            "Jira MCP server URL (streamable HTTP; SSE when it ends in /sse)",
            trusted=True,
            metavar="URL",
        ),
    )
    mcp_transport: str = setting(
        "auto",
        Spec(v.choice("auto", "http", "sse"), "auto: SSE when the URL ends in /sse", choices=("auto", "http", "sse")),
    )
    mcp_command: str | None = setting(
        None,
        Spec(
            v.optional_text, "command line of a stdio MCP server, e.g. 'mcp-atlassian'", trusted=True, metavar="COMMAND"
        ),
    )
    mcp_env: tuple[tuple[str, Secret], ...] = setting(
        (),
        Spec(
            v.secret_pairs("="),
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
            v.secret_pairs(":"),
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
        None,
        Spec(
            v.optional_text,
            "name of the get-issue tool (detected when unset)",
            metavar="NAME",
            shown_default="(detected)",
        ),
    )
    issue_arg: str | None = setting(
        None,
        Spec(
            v.optional_text, "its issue-key argument (detected when unset)", metavar="NAME", shown_default="(detected)"
        ),
    )
    issue_args: str | None = setting(
        None,
        Spec(
            v.issue_args,
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
            v.words,
            "one more read-only tool offered to the model (annotated readOnlyHint: true, or not annotated: you vouch)",
            in_file=False,
            flag="allow-tool",
            repeatable=True,
            metavar="NAME",
        ),
    )
    acceptance_field: str | None = setting(
        None,
        Spec(
            v.optional_text,
            "custom field id holding acceptance criteria (`jira-brief doctor KEY` lists them), e.g. customfield_10050",
            shown_default="(by name)",
            metavar="FIELD",
        ),
    )
    epic_field: str | None = setting(
        None,
        Spec(
            v.optional_text,
            "custom field id holding the epic's key (Epic Link), e.g. customfield_10014",
            shown_default="(by name)",
            metavar="FIELD",
        ),
    )
    comment_limit: int = setting(5, Spec(v.integer(0, 100), "newest N comments kept per ticket", metavar="N"))
    ticket_budget: int = setting(
        12_000, Spec(v.integer(1000, 200_000), "characters of ticket text given to the model", metavar="CHARS")
    )
    llm: str = setting(
        "auto",
        Spec(
            v.choice("auto", "openai", "none"),
            "none: offline briefs; auto: a model when a key or URL is set",
            choices=("auto", "openai", "none"),
        ),
    )
    llm_base_url: str | None = setting(
        None,
        Spec(
            v.optional_url,
            "OpenAI-compatible endpoint",
            env=("OPENAI_BASE_URL",),
            trusted=True,
            metavar="URL",
            shown_default="(OpenAI)",
        ),
    )
    llm_api_key: Secret | None = setting(
        None, Spec(v.secret, "LLM API key", env=("OPENAI_API_KEY",), secret=True, in_file=False)
    )
    model: str = setting("gpt-4o-mini", Spec(v.as_text, "model name", metavar="NAME"))
    language: str = setting(
        "fr", Spec(v.language, "built-in brief template and the comment's words", choices=("fr", "en"))
    )
    template: str | None = setting(
        None,
        Spec(
            v.optional_text,
            "custom template: instructions, then one `## HEADING` line per section",
            path=True,
            metavar="FILE",
        ),
    )
    max_steps: int = setting(3, Spec(v.integer(1, 10), "most model calls per ticket", metavar="N"))
    concurrency: int = setting(4, Spec(v.integer(1, 32), "tickets worked on at once", metavar="N"))
    timeout: float = setting(
        120.0,
        Spec(v.seconds, "seconds per ticket by the clock: connecting, retries, check included", metavar="SECONDS"),
    )
    stream: bool = setting(True, Spec(v.boolean, "print the brief as it is written"))
    cache: bool = setting(True, Spec(v.boolean, "reuse briefs of unchanged tickets"))
    cache_dir: str | None = setting(
        None,
        Spec(
            v.optional_text,
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
            v.optional_text,
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
            v.secret,
            "proxy URL for the MCP server and the model",
            secret=True,
            trusted=True,
            metavar="URL",
            shown_default="(HTTPS_PROXY)",
        ),
    )
    insecure: bool = setting(
        False, Spec(v.boolean, "turn TLS verification off (loud warning)", in_file=False, switch=True)
    )
    trust_repo_config: bool = setting(
        False,
        Spec(
            v.boolean,
            "honour a repository config file's trusted settings without `jira-brief trust` "
            "(in CI: safe only when every pull request's author may read the secrets)",
            in_file=False,
        ),
    )
    check: str = setting(
        "on",
        Spec(
            v.choice("on", "off"),
            "judge each acceptance criterion against the change (needs a model)",
            choices=("on", "off"),
        ),
    )
    diff_budget: int = setting(
        24_000,
        Spec(v.integer(2_000, 200_000), "characters of the change given to the criteria check", metavar="CHARS"),
    )
    hook_show: str = setting(
        "changed",
        Spec(
            v.choice("full", "changed", "line"),
            "hook output: full, changed, line",
            choices=("full", "changed", "line"),
            flag="show",
        ),
    )
    hook_ttl: float = setting(
        600.0,
        Spec(v.seconds_or_zero, "seconds a hook reuses a ticket without asking the MCP server", metavar="SECONDS"),
    )
    hook_budget: float = setting(
        2.0,
        Spec(v.seconds, "most seconds a commit waits for a brief, counted from the hook's start", metavar="SECONDS"),
    )
    hook_retry_after: float = setting(
        300.0,
        Spec(
            v.seconds_or_zero,
            "seconds the hooks leave a failed MCP server or model alone before trying again",
            metavar="SECONDS",
        ),
    )
    hook_check: bool = setting(
        False, Spec(v.boolean, "hook: judge the criteria against each commit, in the background (needs a model)")
    )
    strict: bool = setting(False, Spec(v.boolean, "hook: fail the commit when a brief cannot be made", switch=True))
    disable: bool = setting(False, Spec(v.boolean, "turn the hooks off"))
    origins: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)
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
