"""The forge-neutral sticky comment's seal key: derived from the run's long-lived secrets, stable across
runs of one repository, different elsewhere, and never shown."""

from __future__ import annotations

from typing import Any

import pytest

from jira_brief.forges.sticky import Sticky, seal_key
from jira_brief.publish.comment import Style
from jira_brief.publish.labels import labels_in

pytestmark = pytest.mark.usefixtures("engine_env")

LLM_KEY = "sk-live-0123456789abcdef"
JIRA_TOKEN = "ATATT3xFfGF0-jira-token"


def key_for(engine_env: Any, environ: dict[str, str], scope: str = "github:octo/shop") -> bytes | None:
    return seal_key(engine_env.settings(environ), environ, scope)


def test_the_same_secrets_give_the_same_key_in_the_same_repository(engine_env: Any) -> None:
    environ = {"OPENAI_API_KEY": LLM_KEY, "JIRA_API_TOKEN": JIRA_TOKEN}
    first = key_for(engine_env, {**environ, "GITHUB_TOKEN": "ghs_run1aaaaaaaaaaaaaaaa"})
    second = key_for(engine_env, {**environ, "GITHUB_TOKEN": "ghs_run2bbbbbbbbbbbbbbbb"})  # a new job token

    assert first is not None and len(first) == 32
    assert first == second
    assert key_for(engine_env, environ, "github:octo/other") != first
    assert key_for(engine_env, {**environ, "JIRA_API_TOKEN": "ATATT3xFfGF0-rotated"}) != first


def test_the_jira_credentials_of_a_stdio_server_are_enough(engine_env: Any) -> None:
    assert key_for(engine_env, {"JIRA_PERSONAL_TOKEN": JIRA_TOKEN}) is not None


def test_without_a_long_lived_secret_there_is_no_key(engine_env: Any) -> None:
    assert key_for(engine_env, {"GITHUB_TOKEN": "ghs_only_the_job_token_123"}) is None


def test_a_sticky_comment_never_shows_its_key(engine_env: Any) -> None:
    key = key_for(engine_env, {"OPENAI_API_KEY": LLM_KEY})
    assert key is not None
    sticky = Sticky(Style(labels_in("en")), lambda *_: [], str, lambda _: None, (), 10, 65536, seal=key)

    assert key.hex() not in repr(sticky) and repr(key) not in repr(sticky)
