"""A repository's committed files cannot read the user's files or borrow the user's trust: a template
named by an untrusted `.jira-brief.toml` must be a file of the repository (no `~`, no absolute path, no
`..`, no symlink out); a `.jira-brief.toml` that is a symlink to a file the user trusted is not trusted;
a relative JIRA_BRIEF_CONFIG (which would name a file of whatever repository one is in) is refused."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options

from jira_brief.config.load import load_settings
from tests.conftest import assert_one_line_error
from tests.fakes.openai_server import FakeOpenAI

pytestmark = pytest.mark.usefixtures("isolated_env")


def repo_config(repo: Path, text: str) -> None:
    (repo / ".jira-brief.toml").write_text(text, encoding="utf-8")


PRIVATE = "## Private heading\nmy bank PIN is 4417, do not share\n"


@pytest.fixture
def private_file(tmp_path: Path) -> Path:
    """A file of the user's, outside the repository."""
    path = Path.home() / "private-notes.md"
    path.write_text(PRIVATE, encoding="utf-8")
    return path


def template_names(plain_dir: Path, private_file: Path) -> dict[str, str]:
    """The ways a committed file may name the user's private file."""
    (plain_dir / "docs").mkdir()
    (plain_dir / "docs" / "brief.md").symlink_to(private_file)
    up = len(plain_dir.parts) - 1
    return {
        "home": "~/private-notes.md",
        "absolute": str(private_file),
        "dotdot": "/".join([".."] * up) + str(private_file),
        "symlink": "docs/brief.md",
    }


@pytest.mark.parametrize("way", ["home", "absolute", "dotdot", "symlink"])
def test_an_untrusted_template_cannot_read_the_users_file(
    invoke: Any, plain_dir: Path, private_file: Path, tmp_path: Path, way: str
) -> None:
    repo_config(plain_dir, f"template = {json.dumps(template_names(plain_dir, private_file)[way])}\n")
    with FakeOpenAI() as llm:
        env = {"OPENAI_BASE_URL": llm.base_url, "OPENAI_API_KEY": "sk-test", "JIRA_BRIEF_CACHE_DIR": str(tmp_path)}
        done = invoke("demo", "PAY-142", "--format", "markdown", env=env)
        assert llm.calls == 0  # the model never saw the file
    assert "PIN" not in done.stdout + done.stderr and "Private heading" not in done.stdout + done.stderr
    assert done.exit_code == 2
    assert_one_line_error(done.stderr, "template", "outside the repository")


def test_a_template_of_the_repository_is_still_used(invoke: Any, plain_dir: Path, tmp_path: Path) -> None:
    (plain_dir / "docs").mkdir()
    (plain_dir / "docs" / "brief.md").write_text("Brief it.\n\n## Team heading\n", encoding="utf-8")
    (plain_dir / "docs" / "link.md").symlink_to("brief.md")  # a link that stays inside is fine
    repo_config(plain_dir, 'template = "docs/link.md"\n')
    done = invoke(
        "demo", "PAY-142", "--llm", "none", "--format", "markdown", env={"JIRA_BRIEF_CACHE_DIR": str(tmp_path)}
    )
    assert done.exit_code == 0, done.stderr
    assert "Team heading" in done.stdout


HOSTILE_LABELS = """\
## Summary
<!-- jira-brief:labels
title: Digest for @acme/security <img src=x onerror=alert(1)> #12
tickets: /close {count} ticket(s)
key: Key | injected cell
footer: [log in again](https://evil.example/login) &#64;everyone www.evil.example
-->
"""


def test_a_templates_labels_are_published_as_neutral_text(invoke: Any, plain_dir: Path, tmp_path: Path) -> None:
    (plain_dir / "brief.md").write_text(HOSTILE_LABELS, encoding="utf-8")
    repo_config(plain_dir, 'template = "brief.md"\n')
    env = {"JIRA_BRIEF_CACHE_DIR": str(tmp_path)}
    done = invoke("demo", "PAY-142", "WEB-88", "--llm", "none", "--format", "markdown", env=env)
    assert done.exit_code == 0, done.stderr
    html = cmarkgfm.github_flavored_markdown_to_html(done.stdout, options=Options.CMARK_OPT_UNSAFE)
    assert "<img" not in html and "evil.example/login" not in " ".join(re.findall(r'href="([^"]*)"', html))
    assert "Digest for" in done.stdout  # the words stay, only their syntax goes
    assert not re.search(r"@[A-Za-z]|#[0-9]|&#|www\.|<img", done.stdout)  # no mention, reference, entity, tag
    assert not [line for line in done.stdout.splitlines() if line.startswith("/")]  # no GitLab quick action
    assert html.count("<th>") == 5  # the table keeps its five columns


@pytest.mark.parametrize(
    "label, needle",
    [
        ("cut: {count.__class__.__mro__}", "{count.__class__.__mro__}"),
        ("cut: {keys[0]}", "{keys[0]}"),
        ("tickets: {count:>100000000}", "{count:>100000000}"),
        ("title: {url}", "{url}"),
        ("footer: " + "x" * 5000, "5000 characters"),
    ],
    ids=["attribute", "index", "format-spec", "other-label's", "long"],
)
def test_a_label_with_more_than_its_placeholders_is_refused(
    invoke: Any, plain_dir: Path, tmp_path: Path, label: str, needle: str
) -> None:
    (plain_dir / "brief.md").write_text(f"## Summary\n<!-- jira-brief:labels\n{label}\n-->\n", encoding="utf-8")
    repo_config(plain_dir, 'template = "brief.md"\n')
    done = invoke(
        "demo", "PAY-142", "--llm", "none", "--format", "markdown", env={"JIRA_BRIEF_CACHE_DIR": str(tmp_path)}
    )
    assert done.exit_code == 2 and "Traceback" not in done.stderr
    [line] = [line for line in done.stderr.splitlines() if "error" in line]  # after demo's own first line
    assert f"label {label.partition(':')[0]}" in line and needle in line


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
