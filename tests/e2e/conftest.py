"""What the forges' end-to-end tests share: the demo Jira served once a module over loopback HTTP, its tickets
put back as they were after each test."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from jira_brief.jira.demo.server import build_server, load_demo_tickets
from tests.fakes.mcp_http import ServedMCP


@pytest.fixture(scope="module")
def demo_jira() -> Iterator[tuple[dict[str, Any], str]]:
    """The demo Jira over loopback HTTP, once per module; its tickets dict is live, so tests may edit it."""
    tickets = load_demo_tickets()
    with ServedMCP(build_server(tickets)) as served:
        yield tickets, served.url


@pytest.fixture
def jira(demo_jira: tuple[dict[str, Any], str]) -> Iterator[tuple[dict[str, Any], str]]:
    """The module's demo Jira (its live tickets and URL); what a test changes in the tickets is undone after it."""
    tickets, url = demo_jira
    pristine = copy.deepcopy(tickets)
    yield tickets, url
    tickets.clear()
    tickets.update(pristine)
