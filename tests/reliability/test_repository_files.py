"""A repository's committed files cannot borrow the user's trust: a `.jira-brief.toml` that is a symlink
to a file the user trusted is not trusted; a relative JIRA_BRIEF_CONFIG (which would name a file of
whatever repository one is in) is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jira_brief.config.load import load_settings
from tests.conftest import assert_one_line_error

pytestmark = pytest.mark.usefixtures("isolated_env")


def repo_config(repo: Path, text: str) -> None:
    (repo / ".jira-brief.toml").write_text(text, encoding="utf-8")


@pytest.fixture
def trusted_project(invoke: Any, tmp_path: Path) -> Path:
    """A project of the user's whose config the user read and trusted; it names a CA bundle beside it."""
    project = tmp_path / "own-project"
    (project / ".git").mkdir(parents=True)
    (project / "ca.pem").write_text("the user's CA\n", encoding="utf-8")
    repo_config(project, 'mcp-url = "https://mcp.example.com/mcp"\nca-bundle = "ca.pem"\n')
    assert invoke("trust", str(project / ".jira-brief.toml")).exit_code == 0
    return project


def test_a_symlink_to_a_trusted_file_is_not_trusted(plain_dir: Path, trusted_project: Path) -> None:
    """The cloned repository's config is a link to the user's trusted file, and it ships its own ca.pem:
    were the link trusted, "ca.pem" would be the repository's, and its CA would read the user's traffic."""
    (plain_dir / "ca.pem").write_text("the attacker's CA\n", encoding="utf-8")
    (plain_dir / ".jira-brief.toml").symlink_to(trusted_project / ".jira-brief.toml")
    settings = load_settings()
    assert settings.mcp_url is None and settings.ca_bundle is None
    assert any("jira-brief trust" in line for line in settings.ignored)


def test_a_trusted_link_resolves_paths_from_the_real_file(invoke: Any, plain_dir: Path, trusted_project: Path) -> None:
    (plain_dir / "ca.pem").write_text("the attacker's CA\n", encoding="utf-8")
    (plain_dir / ".jira-brief.toml").symlink_to(trusted_project / ".jira-brief.toml")
    assert invoke("trust").exit_code == 0  # the user trusts the link itself
    settings = load_settings()
    assert settings.mcp_url == "https://mcp.example.com/mcp"
    assert settings.ca_bundle == str(trusted_project / "ca.pem")


def test_a_trusted_file_replaced_by_a_link_is_no_longer_trusted(invoke: Any, plain_dir: Path, tmp_path: Path) -> None:
    config = plain_dir / ".jira-brief.toml"
    repo_config(plain_dir, 'mcp-url = "https://mcp.example.com/mcp"\n')
    assert invoke("trust").exit_code == 0
    elsewhere = tmp_path / "same-words.toml"
    elsewhere.write_text(config.read_text(encoding="utf-8"), encoding="utf-8")
    config.unlink()
    config.symlink_to(elsewhere)  # same content, another real file
    assert load_settings().mcp_url is None


def test_a_relative_jira_brief_config_is_refused(invoke: Any, plain_dir: Path) -> None:
    repo_config(plain_dir, 'mcp-command = "echo"\n')
    done = invoke("config", env={"JIRA_BRIEF_CONFIG": ".jira-brief.toml"})
    assert done.exit_code == 2
    assert_one_line_error(done.stderr, "JIRA_BRIEF_CONFIG", "absolute")
