"""No secret ever reaches the terminal: with a fake value for every secret jira-brief reads, each
client is made to fail (LLM 401 and 500, MCP 401, proxy unreachable, and doctor on top), and
neither stdout nor stderr of a `jira-brief` run may contain any of the values (in this process through
Click's runner; the MCP server's 401 as the real console-script process)."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner

from jira_brief.commands.main import main
from jira_brief.jira.demo.server import build_server
from tests.fakes.mcp_http import ServedMCP
from tests.fakes.openai_server import FakeOpenAI

pytestmark = pytest.mark.usefixtures("engine_env")

OPENAI_KEY = "sk-proj-S3cr3tOpenAIKey0001"
MCP_TOKEN = "jira-pat-S3cr3tHeaderTok0002"
PROXY_PASSWORD = "S3cr3tProxyPw0003"
GITHUB_TOKEN = "ghp_S3cr3tGitHubTok0004"
SECRETS = (OPENAI_KEY, MCP_TOKEN, PROXY_PASSWORD, GITHUB_TOKEN)


def secret_env(fake: FakeOpenAI, *, proxy: bool = False) -> dict[str, str]:
    """Every secret set. The proxy is only set when it is the failure under test: an explicit
    proxy takes every request, loopback included, so the other clients would never be reached."""
    env = {
        "OPENAI_API_KEY": OPENAI_KEY,
        "OPENAI_BASE_URL": fake.base_url,
        "JIRA_BRIEF_MODEL": fake.models[0],
        "JIRA_BRIEF_MCP_HEADERS": f"Authorization: Bearer {MCP_TOKEN}",
        "GITHUB_TOKEN": GITHUB_TOKEN,
    }
    if proxy:
        env["JIRA_BRIEF_PROXY"] = f"http://jira-brief:{PROXY_PASSWORD}@127.0.0.1:9"
    return env


def run(run_process: Any, engine_env: Any, env: dict[str, str], *args: str, process: bool = False) -> Any:
    """A jira-brief run whose stdout and stderr may hold none of the secrets: in this process (Click's
    runner) or, with `process`, the installed console script (what leaves at exit shows there too)."""
    if process:
        done = run_process(*args, cwd=engine_env.cwd, env=engine_env.process_env(**env), script=True)
    else:
        result = CliRunner().invoke(main, list(args), env={**engine_env.environ, **env}, catch_exceptions=False)
        done = SimpleNamespace(returncode=result.exit_code, stdout=result.stdout, stderr=result.stderr)
    for secret in SECRETS:
        assert secret not in done.stdout, f"{secret} printed on stdout:\n{done.stdout}"
        assert secret not in done.stderr, f"{secret} printed on stderr:\n{done.stderr}"
    assert "Traceback" not in done.stderr
    return done


def test_llm_401(run_process: Any, engine_env: Any) -> None:
    server = build_server()
    with FakeOpenAI(api_key="sk-the-key-it-expects") as fake, ServedMCP(server, require_token=MCP_TOKEN) as mcp:
        done = run(run_process, engine_env, secret_env(fake), "summarize", "PAY-142", "--mcp-url", mcp.url)
        sent = fake.requests[0]["_headers"]["authorization"]
    assert done.returncode == 1 and "401" in done.stderr
    assert sent == f"Bearer {OPENAI_KEY}"  # the key was really used, and refused
    assert [name for name, _ in server.calls] == ["jira_get_issue"]  # so was the MCP header


def test_llm_500(run_process: Any, engine_env: Any) -> None:
    with FakeOpenAI(api_key=OPENAI_KEY) as fake, ServedMCP(build_server(), require_token=MCP_TOKEN) as mcp:
        fake.fail(500, times=10)
        done = run(
            run_process,
            engine_env,
            secret_env(fake),
            "summarize",
            "PAY-142",
            "--mcp-url",
            mcp.url,
            "--timeout",
            "1.5",
            "--format",
            "json",
        )
        assert fake.calls >= 1
    assert done.returncode == 1
    [item] = json.loads(done.stdout)
    assert item["error"] and item["brief"]  # failed, with the offline brief


def test_an_llm_error_message_quoting_the_secrets(run_process: Any, engine_env: Any) -> None:
    with FakeOpenAI(api_key=OPENAI_KEY) as fake, ServedMCP(build_server(), require_token=MCP_TOKEN) as mcp:
        # A gateway that quotes what it received in its error message, which jira-brief prints.
        fake.fail(400, message=f"bad request: 'Bearer {OPENAI_KEY}' with header 'Bearer {MCP_TOKEN}'")
        done = run(
            run_process, engine_env, secret_env(fake), "summarize", "PAY-142", "--mcp-url", mcp.url, "--format", "json"
        )
    [item] = json.loads(done.stdout)
    assert "400" in item["error"] and "bad request" in item["error"] and "********" in item["error"]


@pytest.mark.slow  # seconds of real waiting or process starts: the slow tier
def test_mcp_401(run_process: Any, engine_env: Any) -> None:
    server = build_server()
    with FakeOpenAI(api_key=OPENAI_KEY) as fake, ServedMCP(server, require_token="another-token") as mcp:
        done = run(
            run_process, engine_env, secret_env(fake), "summarize", "PAY-142", "--mcp-url", mcp.url, process=True
        )
        assert fake.calls == 0
    assert done.returncode == 1 and "credentials" in done.stderr
    assert server.calls == []


def test_proxy_unreachable(run_process: Any, engine_env: Any) -> None:
    with FakeOpenAI(api_key=OPENAI_KEY) as fake, ServedMCP(build_server(), require_token=MCP_TOKEN) as mcp:
        done = run(
            run_process,
            engine_env,
            secret_env(fake, proxy=True),
            "summarize",
            "PAY-142",
            "--mcp-url",
            mcp.url,
            "--timeout",
            "5",
        )
        assert fake.calls == 0  # nothing got through the dead proxy
    assert done.returncode == 1 and done.stderr.strip()


def test_doctor_with_every_client_failing(run_process: Any, engine_env: Any) -> None:
    with FakeOpenAI(api_key=OPENAI_KEY) as fake, ServedMCP(build_server(), require_token=MCP_TOKEN) as mcp:
        done = run(
            run_process, engine_env, secret_env(fake, proxy=True), "doctor", "--mcp-url", mcp.url, "--timeout", "5"
        )
    assert done.returncode == 1
    assert "FAIL MCP" in done.stdout and "FAIL LLM" in done.stdout and "proxy" in done.stdout


def test_config_shows_that_secrets_are_set_but_not_their_values(run_process: Any, engine_env: Any) -> None:
    with FakeOpenAI() as fake:
        done = run(run_process, engine_env, secret_env(fake, proxy=True), "config")
    assert done.returncode == 0
    lines = {line.split()[0]: line for line in done.stdout.splitlines() if line.strip()}
    for name in ("llm-api-key", "mcp-headers", "proxy", "github-token"):
        assert "********" in lines[name], lines[name]


def test_a_secret_the_model_repeats_is_hidden_before_the_brief_is_rewritten_or_cached(
    run_process: Any, engine_env: Any
) -> None:
    written = f"CONTEXTE : le montant est de 12. La clé {OPENAI_KEY} est dans le ticket.\n1. OBJECTIF : payer"
    with FakeOpenAI(api_key=OPENAI_KEY, responder=lambda body: written) as fake, ServedMCP(build_server()) as mcp:
        done = run(
            run_process, engine_env, secret_env(fake), "summarize", "PAY-142", "--mcp-url", mcp.url, "--format", "json"
        )
    [item] = json.loads(done.stdout)
    assert "le montant est de 12. La clé ******** est dans le ticket." in item["brief"]
    cached = [
        path.read_text(encoding="utf-8", errors="replace") for path in engine_env.cache_dir.rglob("*") if path.is_file()
    ]
    assert cached and not any(OPENAI_KEY in text for text in cached)


COMMAND_TOKEN = "tok-S3cr3tInCommand0005"
ECHOING_SERVER = "import sys; sys.stderr.write('Error: Jira refused the token ' + sys.argv[-1] + '\\n'); sys.exit(1)"


@pytest.mark.parametrize(
    "command",
    [
        "mcp-atlassian --jira-url https://jira.example.com --jira-token {token}",
        "mcp-atlassian --jira-personal-token={token}",
        "env JIRA_API_TOKEN={token} mcp-atlassian",
        "npx -y jira-mcp --api-key {token}",
    ],
    ids=["option", "option=value", "env-assignment", "api-key"],
)
def test_config_masks_a_token_inside_mcp_command(run_process: Any, engine_env: Any, command: str) -> None:
    env = {"JIRA_BRIEF_MCP_COMMAND": command.format(token=COMMAND_TOKEN)}
    done = run(run_process, engine_env, env, "config")
    assert COMMAND_TOKEN not in done.stdout
    [line] = [line for line in done.stdout.splitlines() if line.startswith("mcp-command")]
    assert "********" in line and ("mcp-atlassian" in line or "jira-mcp" in line)


def test_doctor_masks_a_token_a_stdio_server_echoes_from_its_command(run_process: Any, engine_env: Any) -> None:
    import shlex
    import sys

    command = shlex.join([sys.executable, "-c", ECHOING_SERVER, "--jira-token", COMMAND_TOKEN])
    done = run(run_process, engine_env, {}, "doctor", "--mcp-command", command, "--llm", "none", "--timeout", "20")
    assert "Jira refused the token ********" in done.stdout
    assert COMMAND_TOKEN not in done.stdout + done.stderr


def test_config_and_doctor_mask_secrets_inside_issue_args(run_process: Any, engine_env: Any) -> None:
    args = {"fields": "*all", "token": COMMAND_TOKEN, "headers": {"Authorization": f"Bearer {MCP_TOKEN}x"}}
    env = {"JIRA_BRIEF_ISSUE_ARGS": json.dumps(args)}
    shown = (
        run(run_process, engine_env, env, "config").stdout
        + run(run_process, engine_env, env, "doctor", "--demo").stdout
    )
    assert "*all" in shown and "get-issue tool" in shown  # the rest of the arguments still shows
    assert COMMAND_TOKEN not in shown and f"{MCP_TOKEN}x" not in shown
