"""One masking function for every sink: a canary password in every URL setting, a secret header and a
secret key never appear in what a user, a log or a JSON consumer gets, wherever the value came from."""

from __future__ import annotations

import json
from typing import Any

import pytest

from jira_brief.config.masking import HIDDEN, mask, mask_shapes
from jira_brief.jira.demo.server import build_server
from tests.conftest import assert_one_line_error
from tests.fakes.mcp_http import ServedMCP, free_port
from tests.fakes.openai_server import FakeOpenAI

pytestmark = pytest.mark.usefixtures("engine_env")

LLM_PASSWORD = "CanaryLlmPw7701"
MCP_PASSWORD = "CanaryMcpPw7702"
PROXY_PASSWORD = "CanaryProxyPw7703"
QUERY_TOKEN = "CanaryQueryTok7704"
HEADER_TOKEN = "CanaryHeaderTok7705"
CANARIES = (LLM_PASSWORD, MCP_PASSWORD, PROXY_PASSWORD, QUERY_TOKEN, HEADER_TOKEN)


@pytest.mark.parametrize(
    ("text", "hidden", "kept"),
    [
        ("see http://jb:S3cretPw@host:8080/v1 now", "S3cretPw", "http://jb:********@host:8080/v1"),
        ("proxy=https://ghp_TokenAsUser@github.com/x.git", "ghp_TokenAsUser", "https://********@github.com/x.git"),
        ("(socks5://u:p%40ss@10.0.0.1:1080)", "p%40ss", "socks5://u:********@10.0.0.1:1080"),
        ("GET https://h/x?api_key=K1234567&page=2", "K1234567", "?api_key=********&page=2"),
        ("https://h/cb?a=1&access_token=abc.def-ghi#top", "abc.def-ghi", "&access_token=********#top"),
        ("https://h/?X-Amz-Signature=f00ba4&ok=1", "f00ba4", "X-Amz-Signature=********&ok=1"),
        ("Authorization: Bearer eyJhbGciOi.x.y", "eyJhbGciOi", "Authorization: ********"),
        ("header proxy-authorization=Basic dXNlcjpwYXNz", "dXNlcjpwYXNz", "proxy-authorization=********"),
    ],
)
def test_credential_shapes_are_hidden_whatever_their_value(text: str, hidden: str, kept: str) -> None:
    masked = mask_shapes(text)
    assert hidden not in masked
    assert kept in masked


def test_shapes_are_found_in_neutralized_text() -> None:
    """What the comment and Markdown renderers print has joiners in "http://" and after "&"."""
    from jira_brief.publish.neutralize import neutralize

    masked = mask_shapes(neutralize("see http://jb:Unknown99@llm.internal/v1?a=1&access_token=Tok99"))
    assert "Unknown99" not in masked and "Tok99" not in masked


def test_ordinary_text_and_jira_links_are_left_alone() -> None:
    text = "PAY-142 https://jira.example.com/browse/PAY-142?focusedCommentId=10 by ana@example.com: key=value"
    assert mask_shapes(text) == text


def test_secret_settings_are_hidden_from_env_and_flags(engine_env: Any) -> None:
    settings = engine_env.settings(
        {"OPENAI_API_KEY": "sk-from-the-env-123"},
        mcp_headers=("X-Session: sess-from-a-flag-456",),
    )
    text = mask('{"e": "sk-from-the-env-123 and sess-from-a-flag-456"}', settings)
    assert "sk-from-the-env-123" not in text and "sess-from-a-flag-456" not in text
    assert text.count(HIDDEN) == 2


def test_a_secret_is_hidden_as_json_escapes_it(engine_env: Any) -> None:
    settings = engine_env.settings({"OPENAI_API_KEY": 'sk-"quoted"\\slash'})
    rendered = json.dumps({"error": 'refused sk-"quoted"\\slash'})
    assert "quoted" not in mask(rendered, settings)


def canary_env(fake: FakeOpenAI, mcp_url: str) -> dict[str, str]:
    """Every URL setting carries a password (the MCP URL also a token in its query), plus a header."""
    host = fake.base_url.split("://", 1)[1]
    mcp_host = mcp_url.split("://", 1)[1]
    return {
        "OPENAI_BASE_URL": f"http://jb:{LLM_PASSWORD}@{host}",
        "OPENAI_API_KEY": "sk-test",
        "JIRA_BRIEF_MODEL": fake.models[0],
        "JIRA_BRIEF_MCP_URL": f"http://jb:{MCP_PASSWORD}@{mcp_host}?token={QUERY_TOKEN}",
        "JIRA_BRIEF_MCP_HEADERS": f"X-Jira-Session: {HEADER_TOKEN}",
    }


def assert_no_canary(*texts: str) -> None:
    for text in texts:
        for canary in CANARIES:
            assert canary not in text, f"{canary} leaked in:\n{text}"


def echo_of(env: dict[str, str]) -> str:
    """A brief that quotes the configuration back, as a model told so by a ticket would."""
    return f"Endpoint {env['OPENAI_BASE_URL']} and {env['JIRA_BRIEF_MCP_URL']} ({env['JIRA_BRIEF_MCP_HEADERS']})"


@pytest.mark.parametrize("fmt", ["json", "text", "markdown"])
def test_summarize_never_prints_a_canary(invoke: Any, fmt: str) -> None:
    """The LLM refuses the URL's basic credentials (httpx sends them instead of the key); the error
    that names the endpoint is printed in every format, masked."""
    with FakeOpenAI() as fake, ServedMCP(build_server()) as mcp:
        env = canary_env(fake, mcp.url)
        result = invoke("summarize", "PAY-142", "--format", fmt, "--no-cache", env=env)
        assert fake.calls >= 1
    assert_no_canary(result.stdout, result.stderr)
    assert result.exit_code == 1
    shown = (result.stdout + result.stderr).replace("\u200d", "")  # Markdown output is neutralized
    assert f"http://jb:{HIDDEN}@127.0.0.1" in shown


def test_a_brief_quoting_the_configuration_is_masked(invoke: Any) -> None:
    """A ticket that tells the model to print its configuration gets it printed masked."""
    with FakeOpenAI() as fake, ServedMCP(build_server()) as mcp:
        env = canary_env(fake, mcp.url)
        env["OPENAI_BASE_URL"] = fake.base_url
        fake.reply(echo_of({**env, "OPENAI_BASE_URL": f"http://jb:{LLM_PASSWORD}@llm.internal/v1"}))
        result = invoke("summarize", "PAY-142", "--format", "json", "--no-cache", env=env)
    assert_no_canary(result.stdout, result.stderr)
    [item] = json.loads(result.stdout)
    assert result.exit_code == 0 and item["error"] is None
    assert item["brief"].startswith(f"Endpoint http://jb:{HIDDEN}@llm.internal/v1 and http://jb:{HIDDEN}@")


def test_doctor_never_prints_a_canary(invoke: Any) -> None:
    with FakeOpenAI() as fake, ServedMCP(build_server()) as mcp:
        env = canary_env(fake, mcp.url)
        env["JIRA_BRIEF_PROXY"] = f"http://jb:{PROXY_PASSWORD}@127.0.0.1:{free_port()}"
        result = invoke("doctor", "--timeout", "3", env=env)
    assert_no_canary(result.stdout, result.stderr)
    assert result.exit_code == 1 and "proxy" in result.stdout


def test_an_error_line_never_prints_a_canary(invoke: Any) -> None:
    url = f"http://jb:{MCP_PASSWORD}@127.0.0.1:{free_port()}/mcp?api_key={QUERY_TOKEN}"
    result = invoke("summarize", "PAY-142", "--llm", "none", "--mcp-url", url, "--timeout", "3")
    assert_no_canary(result.stdout, result.stderr)
    assert result.exit_code == 1


def test_a_bad_setting_beside_a_canary_is_one_masked_line(invoke: Any) -> None:
    """The settings cannot be built, so the error is masked from the environment alone."""
    env = {"OPENAI_BASE_URL": f"http://jb:{LLM_PASSWORD}@127.0.0.1:9/v1", "JIRA_BRIEF_TIMEOUT": "soon"}
    result = invoke("summarize", "PAY-142", "--llm-base-url", f"https://x/?key={QUERY_TOKEN}", env=env)
    assert_no_canary(result.stdout, result.stderr)
    assert_one_line_error(result.stderr, "timeout")


def test_only_the_secret_parts_of_a_command_and_issue_args_are_hidden(engine_env: Any) -> None:
    command = "mcp-atlassian --jira-username dev@example.com --jira-token abc123456 --oauth-cloud-id cloud-4711"
    args = json.dumps({"issue_key": "PAY-142-raw", "x-auth-token": ["tok-998877"], "fields": "summary,status"})
    settings = engine_env.settings(mcp_command=command, issue_args=args)
    shown = mask(f"{command} {args}", settings)
    assert "abc123456" not in shown and "tok-998877" not in shown
    for kept in ("dev@example.com", "cloud-4711", "PAY-142-raw", "summary,status"):  # not secrets: still readable
        assert kept in shown
