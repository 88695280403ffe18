"""The arguments jira-brief adds to a get-issue call, typed from the tool's own schema (pure functions)."""

from __future__ import annotations

from typing import Any

import pytest

from jira_brief.config.settings import Settings
from jira_brief.jira.issue_tool import added_arguments, fuller_option

STRINGS = {"type": "object", "additionalProperties": {"type": "string"}}


@pytest.mark.parametrize(
    ("prop", "expected"),
    [
        (STRINGS, {"fields": "*all", "expand": "names"}),  # @aashari's jira_get: record(string, string)
        ({"anyOf": [STRINGS, {"type": "null"}], "default": None}, {"fields": "*all", "expand": "names"}),
        (
            {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
            {"fields": ["*all"], "expand": ["names"]},
        ),
        ({"type": "object"}, {"fields": "*all", "expand": "names"}),
    ],
)
def test_a_query_parameters_object_gets_all_fields_and_their_names(prop: dict[str, Any], expected: Any) -> None:
    properties = {"path": {"type": "string"}, "queryParams": prop}
    assert added_arguments(properties, Settings(), {"path"}) == {"queryParams": expected}


@pytest.mark.parametrize("name", ["query_params", "params", "queryParameters"])
def test_other_spellings_of_query_parameters(name: str) -> None:
    assert added_arguments({name: STRINGS}, Settings(), set()) == {name: {"fields": "*all", "expand": "names"}}


def test_the_users_query_parameters_are_never_touched() -> None:
    properties = {"path": {"type": "string"}, "queryParams": STRINGS}
    assert added_arguments(properties, Settings(), {"path", "queryParams"}) == {}


def test_a_query_string_is_no_query_parameters_object() -> None:
    assert added_arguments({"query": {"type": "string"}, "params": {"type": "string"}}, Settings(), set()) == {}


def test_an_optional_output_format_still_gets_json() -> None:
    prop = {"anyOf": [{"type": "string", "enum": ["toon", "json"]}, {"type": "null"}], "default": None}
    assert fuller_option("outputFormat", prop) == "json"
