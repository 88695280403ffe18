"""A running FakeBitbucket with pull request #7, and clients of it as jira-brief makes them."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from jira_brief.config.load import load_settings
from jira_brief.config.values import Secret
from jira_brief.forges.bitbucket.api import Api, Credential, connect
from tests.fakes.bitbucket_server import FakeBitbucket

PULL = "/repositories/acme/shop/pullrequests/7"
MakeApi = Callable[..., Api]


@pytest.fixture
def fake(isolated_env: dict[str, str]) -> Iterator[FakeBitbucket]:
    with FakeBitbucket() as server:
        server.add_pull(
            7,
            title="PAY-142 split payments",
            source_branch="feature/WEB-88-email",
            description="Also WEB-91",
            commits=["PAY-143 rounding", "Tidy"],
        )
        yield server


def token(fake: FakeBitbucket) -> Credential:
    return Credential(Secret(fake.access_token))


def api_token(fake: FakeBitbucket) -> Credential:
    return Credential(Secret(fake.api_token), fake.email)


@pytest.fixture
def make_api(fake: FakeBitbucket, tmp_path: Path) -> MakeApi:
    """`make_api(credential=the access token, base=the fake's API, sleep=...)`: the client the command
    makes, with the waits between retries recorded instead of slept."""
    settings = load_settings({}, {}, tmp_path)

    def make(
        credential: Credential | str | None = "token",
        base: str | None = None,
        sleep: Callable[[float], None] = lambda seconds: None,
    ) -> Api:
        chosen = token(fake) if credential == "token" else credential
        assert not isinstance(chosen, str)
        return dataclasses.replace(connect(settings, chosen, base or fake.api_url), sleep=sleep)

    return make
