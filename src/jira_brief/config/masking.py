"""One masking function for every sink (terminal, JSON, comment, summary, outputs, annotations, doctor,
errors): no secret jira-brief knows of, and no credential-shaped part of a URL, ever leaves a run.

Two kinds of masking, both always on: the values of the secret settings (wherever they came from: env,
file or flags) are replaced wherever they appear, and shapes that carry credentials are masked even
when their value is unknown: URL userinfo (`http://user:PASS@host`), query parameters named like
token/key/secret/password, and the value of an Authorization-like header written as `Name: value`.
"""

from __future__ import annotations

import functools
import json
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

from jira_brief.config.settings import SPECS, Settings, env_names
from jira_brief.config.values import Secret

HIDDEN = "********"
# Shorter values are not masked by value (they would blank out ordinary words); shapes still are.
MIN_SECRET = 6
# Environment variables whose values are secrets without being settings: the Jira credentials a CI job
# hands to a stdio MCP server, the forges' tokens (GITHUB_TOKEN, CI_JOB_TOKEN, JIRA_BRIEF_GITLAB_TOKEN…),
# any provider's API key. Named by their ending, so a forge added later is covered without a list here.
SECRET_VARIABLE = re.compile(r"(?:^|_)(?:TOKEN|API_?KEY|SECRET|PASSWORD|PASSWD)$", re.I)
SECRET_NAME = re.compile(r"TOKEN|KEY|SECRET|PASS|PAT\b|AUTH|CREDENTIAL|COOKIE|SIGNATURE", re.I)
URL_SETTINGS = ("llm_base_url", "mcp_url", "proxy")
# An option, variable or JSON key of a command line or tool arguments that carries a secret
# (--jira-token, --api-key=, JIRA_PERSONAL_TOKEN=, "Authorization"): narrower than SECRET_NAME, so that an
# "issue_key" or "--oauth-cloud-id" keeps its value readable.
SECRET_ARGUMENT = re.compile(
    r"token|secret|passw(?:or)?d|pwd|api[-_]?key|(?<!o)auth|credential|cookie|(?:^|[-_])pat$", re.I
)

# scheme://userinfo@ — userinfo ends at the last "@" before the host's end ("/", "?", "#", space, quote).
# Rendered text may carry the zero-width joiners publish.neutralize inserts (in "http\u200d://", after
# "&"), so each shape allows one where neutralizing puts it.
# Each starts where a run of its characters starts (a lookbehind, not \b), so that no text makes it
# scan one run again from each of its characters.
_USERINFO = re.compile(
    r"(?P<scheme>(?<![A-Za-z0-9+.\-\u200d])[A-Za-z][A-Za-z0-9+.\-\u200d]*+://)(?P<userinfo>[^\s/?#@\"'<>]+)@"
)
_QUERY = re.compile(
    r"(?P<name>[?&;]\u200d?(?=[A-Za-z0-9_.\-\[\]]*?(?:token|key|secret|passw(?:or)?d|pwd|auth|signature|credential))"
    r"[A-Za-z0-9_.\-\[\]]*+=)(?P<value>[^&;#\s\"'<>]+)",
    re.IGNORECASE,
)
_HEADER = re.compile(
    r"(?P<name>\b(?:proxy-)?authorization|\bx-api-key|\bapi-key|\bcookie)(?P<sep>\s*[:=]\s*)"
    r"(?P<value>(?:(?:bearer|basic|token|digest)\s+)?[^\s,;\"'<>]+)",
    re.IGNORECASE,
)


def _userinfo(match: re.Match[str]) -> str:
    """Keep a user name (useful to read), hide a password; a lone user part may be a token: hidden."""
    user, colon, _ = match["userinfo"].partition(":")
    return f"{match['scheme']}{user + ':' + HIDDEN if colon else HIDDEN}@"


def mask_shapes(text: str) -> str:
    """`text` with URL passwords, secret-named query values and Authorization-like header values hidden."""
    text = _USERINFO.sub(_userinfo, text)
    text = _QUERY.sub(lambda match: match["name"] + HIDDEN, text)
    return _HEADER.sub(lambda match: match["name"] + match["sep"] + HIDDEN, text)


def _url_secrets(url: str) -> list[str]:
    """The credential parts of a URL: its password (raw and decoded) and secret-named query values."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return []
    found = [password, unquote(password)] if password else []
    if parts.username and not password:
        found.append(parts.username)
    found.extend(value for name, value in parse_qsl(parts.query) if SECRET_NAME.search(name))
    return found


def _command_secrets(command: str) -> list[str]:
    """The secret values of a command line: after an option named like a secret (`--jira-token X`,
    `--api-key=X`) and in an assignment to such a variable (`env JIRA_API_TOKEN=X cmd`)."""
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    found = []
    for index, word in enumerate(words):
        name, equals, value = word.partition("=")
        if not SECRET_ARGUMENT.search(name):
            continue
        if equals:
            found.append(value)
        elif name.startswith("-") and index + 1 < len(words):
            found.append(words[index + 1])
    return found


def _argument_secrets(value: object, secret: bool = False) -> list[str]:
    """The strings of JSON arguments held under a key named like a secret (`token`, `Authorization`),
    each also without its scheme word ("Bearer X": X)."""
    if isinstance(value, dict):
        return [
            found
            for key, item in value.items()
            for found in _argument_secrets(item, secret or bool(SECRET_ARGUMENT.search(str(key))))
        ]
    if isinstance(value, list):
        return [found for item in value for found in _argument_secrets(item, secret)]
    return [str(value), *str(value).split()[1:]] if secret and isinstance(value, str) else []


def _setting_secrets(name: str, value: object) -> list[str]:
    if name == "mcp_command" and isinstance(value, str):
        return _command_secrets(value)
    if name == "issue_args" and isinstance(value, str):
        return _argument_secrets(json.loads(value))
    if isinstance(value, Secret):
        return [value.reveal(), *_url_secrets(value.reveal())]
    if isinstance(value, str) and name in URL_SETTINGS:
        return _url_secrets(value)
    if SPECS[name].secret and isinstance(value, tuple):
        found = []
        for variable, secret in value:  # "Bearer abc": the whole value and each word after the scheme
            if name == "mcp_headers" or SECRET_NAME.search(variable):
                found.extend([secret.reveal(), *secret.reveal().split()[1:]])
        return found
    return []


def known_secrets(settings: Settings | None, environ: Mapping[str, str] | None = None) -> list[str]:
    """Every secret value of the settings, and of `environ` when given (needed when the settings
    themselves could not be built, and for the Jira credentials that are not settings)."""
    found: list[str] = []
    if settings is not None:
        for name in SPECS:
            found.extend(_setting_secrets(name, getattr(settings, name)))
    for variable, value in (environ or {}).items():
        if SECRET_VARIABLE.search(variable) or _is_secret_variable(variable):
            found.extend([value, *_url_secrets(value)])
        elif variable.endswith(("_URL", "_PROXY")) or variable.lower().endswith("_proxy"):
            found.extend(_url_secrets(value))
    return found


def _is_secret_variable(variable: str) -> bool:
    """A variable that holds a secret setting (OPENAI_API_KEY, GITHUB_TOKEN, JIRA_BRIEF_MCP_HEADERS…)."""
    return variable in _secret_variables()


@functools.cache
def _secret_variables() -> frozenset[str]:
    """Asked once: masking runs on every streamed chunk."""
    return frozenset(variable for name, spec in SPECS.items() if spec.secret for variable in env_names(name))


@dataclass(frozen=True)
class Masker:
    """Hides a fixed set of secret values and every credential shape; call it on any text."""

    secrets: tuple[str, ...] = ()

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, HIDDEN)
        return mask_shapes(text)


def masker(settings: Settings | None, environ: Mapping[str, str] | None = None) -> Masker:
    """The masking function for a run: longest secrets first, each also as JSON writes it escaped."""
    return Masker(_variants(known_secrets(settings, environ)))


def _variants(secrets: Sequence[str]) -> tuple[str, ...]:
    values = {secret.strip() for secret in secrets} | {json.dumps(secret)[1:-1] for secret in secrets}
    return tuple(sorted((value for value in values if len(value) >= MIN_SECRET), key=len, reverse=True))


def mask(text: str, settings: Settings | None, environ: Mapping[str, str] | None = None) -> str:
    """`text` fit for any output: the secrets of the settings (and of `environ`) and credential shapes hidden."""
    return masker(settings, environ)(text)
