"""Jira key rules, as a user sees them through `jira-brief keys TEXT`: syntax, allowlist, cap."""

from __future__ import annotations

import pytest

from tests.conftest import assert_one_line_error, lines_of

pytestmark = pytest.mark.usefixtures("plain_dir")


def found(invoke, *args: str) -> list[str]:
    result = invoke("keys", *args)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return lines_of(result.stdout)


# Each text is wrapped in a sentence so it is not "exactly a key" (an explicit argument, taken as is).
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PAY-142", ["PAY-142"]),
        ("PAY-1421", ["PAY-1421"]),
        ("PAY-0142", []),  # leading zero
        ("PAY-0", []),
        ("XPAY-142", ["XPAY-142"]),  # never PAY-142
        ("PAY-142abc", []),  # a letter touches the number
        ("PAY-1427x", []),
        ("aPAY-142", []),  # a letter touches the project
        ("9PAY-142", []),  # a digit touches the project
        ("feature/PAY-142-split", ["PAY-142"]),
        ("(PAY-142)", ["PAY-142"]),
        ("PAY-142:", ["PAY-142"]),
        ("[PAY-142],", ["PAY-142"]),
        ("A-1", []),  # single-letter project
        ("AB-1", ["AB-1"]),
        ("P2P-7", ["P2P-7"]),
        ("MY_PROJ-3", ["MY_PROJ-3"]),
        ("2FA-3", []),  # a project starts with a letter
        ("pay-142", []),  # lowercase is not a key without an allowlist
        ("Pay-142", []),
        ("PAY142", []),
        ("PAY_142", []),
    ],
)
def test_key_syntax(invoke, text: str, expected: list[str]) -> None:
    assert found(invoke, f"see {text} here") == expected


@pytest.mark.parametrize("identifier", ["UTF-8", "UTF-16", "SHA-1", "SHA-256", "ISO-8601", "X86-64"])
def test_technical_identifiers_are_not_keys(invoke, identifier: str) -> None:
    assert found(invoke, f"use {identifier} for PAY-3 and {identifier.lower()} too") == ["PAY-3"]


def test_technical_identifier_is_a_key_when_its_project_is_configured(invoke) -> None:
    assert found(invoke, "--projects", "UTF", "decode UTF-8 and UTF-16, not SHA-1") == ["UTF-8", "UTF-16"]


def test_keys_are_deduplicated_in_first_seen_order_across_arguments(invoke) -> None:
    assert found(invoke, "WEB-7 then PAY-1", "OPS-3 and WEB-7 again", "PAY-1, ZED-9") == [
        "WEB-7",
        "PAY-1",
        "OPS-3",
        "ZED-9",
    ]


@pytest.mark.parametrize("argument", ["pay-142", "Pay-142", "PAY-142", " pay-142 "])
def test_an_argument_that_is_exactly_a_key_is_taken_upper_cased(invoke, argument: str) -> None:
    assert found(invoke, argument) == [argument.strip().upper()]


@pytest.mark.parametrize("argument", ["pay-0142", "p-1", "pay-142x"])
def test_an_argument_that_is_not_a_well_formed_key_is_not_taken(invoke, argument: str) -> None:
    assert found(invoke, argument) == []


class TestProjectsAllowlist:
    TEXT = "feature/pay-142-split, OPS-1, Web-7 and XPAY-9 and PAY-0142"

    def test_flag_keeps_only_listed_projects_case_insensitively(self, invoke) -> None:
        assert found(invoke, "--projects", "PAY,WEB", self.TEXT) == ["PAY-142", "WEB-7"]

    def test_flag_in_lowercase(self, invoke) -> None:
        assert found(invoke, "--projects", "pay", self.TEXT) == ["PAY-142"]

    def test_allowlisted_project_still_needs_a_boundary(self, invoke) -> None:
        assert found(invoke, "--projects", "PAY", "XPAY-142 PAY-142x xpay-9") == []

    def test_environment(self, invoke, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("JIRA_BRIEF_PROJECTS", "PAY,WEB")
        assert found(invoke, self.TEXT) == ["PAY-142", "WEB-7"]

    def test_jira_brief_toml(self, invoke, plain_dir) -> None:
        (plain_dir / ".jira-brief.toml").write_text('projects = ["PAY"]\n', encoding="utf-8")
        assert found(invoke, self.TEXT) == ["PAY-142"]

    def test_pyproject_tool_table(self, invoke, plain_dir) -> None:
        (plain_dir / "pyproject.toml").write_text(
            '[project]\nname = "demo"\n\n[tool.jira-brief]\nprojects = ["WEB", "OPS"]\n', encoding="utf-8"
        )
        assert found(invoke, self.TEXT) == ["OPS-1", "WEB-7"]

    def test_flag_beats_config_file(self, invoke, plain_dir) -> None:
        (plain_dir / ".jira-brief.toml").write_text('projects = ["PAY"]\n', encoding="utf-8")
        assert found(invoke, "--projects", "OPS", self.TEXT) == ["OPS-1"]

    def test_a_malformed_project_is_refused(self, invoke) -> None:
        result = invoke("keys", "--projects", "PAY,1X", "PAY-1")
        assert result.exit_code == 2
        assert_one_line_error(result.stderr, "projects", "1X")


class TestCap:
    def test_max_keys_flag_keeps_the_first_and_names_the_rest(self, invoke) -> None:
        result = invoke("keys", "--max-keys", "2", "PAY-1 WEB-2 OPS-3 ZED-4")
        assert result.exit_code == 0
        assert lines_of(result.stdout) == ["PAY-1", "WEB-2"]
        assert "OPS-3" in result.stderr and "ZED-4" in result.stderr
        assert "PAY-1" not in result.stderr and "WEB-2" not in result.stderr

    def test_default_cap_is_ten(self, invoke) -> None:
        keys = [f"PAY-{number}" for number in range(1, 13)]
        result = invoke("keys", " ".join(keys))
        assert result.exit_code == 0
        assert lines_of(result.stdout) == keys[:10]
        assert "PAY-11" in result.stderr and "PAY-12" in result.stderr

    def test_no_report_when_under_the_cap(self, invoke) -> None:
        result = invoke("keys", "--max-keys", "2", "PAY-1 WEB-2 PAY-1")
        assert lines_of(result.stdout) == ["PAY-1", "WEB-2"]
        assert result.stderr == ""

    def test_environment(self, invoke, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("JIRA_BRIEF_MAX_KEYS", "3")
        result = invoke("keys", "PAY-1 WEB-2 OPS-3 ZED-4 ABC-5")
        assert lines_of(result.stdout) == ["PAY-1", "WEB-2", "OPS-3"]
        assert "ZED-4" in result.stderr and "ABC-5" in result.stderr

    def test_flag_beats_environment(self, invoke, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("JIRA_BRIEF_MAX_KEYS", "3")
        result = invoke("keys", "--max-keys", "1", "PAY-1 WEB-2 OPS-3")
        assert lines_of(result.stdout) == ["PAY-1"]

    @pytest.mark.parametrize("value", ["0", "-1", "many"])
    def test_bad_max_keys_is_a_usage_error(self, invoke, value: str) -> None:
        result = invoke("keys", "--max-keys", value, "PAY-1")
        assert result.exit_code == 2
        assert "Traceback" not in result.output
        assert "max-keys" in result.stderr
        assert result.stdout == ""
