"""The command line surface: --version, --help on every command, `keys` output formats, exit codes.

Run in-process with CliRunner and as real processes (`python -m jira_brief` and the console script)."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from click.testing import CliRunner

import jira_brief
from jira_brief.commands.main import COMMANDS as COMMAND_MODULES
from jira_brief.commands.main import main
from tests.conftest import GitRepo, assert_one_line_error, lines_of

pytestmark = pytest.mark.usefixtures("isolated_env")

COMMANDS = sorted(COMMAND_MODULES)


# --- version and help --------------------------------------------------------------------------


def test_version_in_process(invoke, plain_dir: Path) -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert version("jira-brief") in result.stdout
    assert jira_brief.__version__ == version("jira-brief")
    assert "jira-brief" in result.stdout


@pytest.mark.parametrize("script", [False, True], ids=["python-m", "console-script"])
def test_version_in_a_real_process(run_process, plain_dir: Path, script: bool) -> None:
    done = run_process("--version", cwd=plain_dir, script=script)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"jira-brief, version {version('jira-brief')}"


def test_the_expected_commands_are_registered() -> None:
    assert {"keys", "config"} <= set(COMMANDS)


@pytest.mark.parametrize("option", ["--help", "-h"])
def test_main_help_lists_every_command(invoke, plain_dir: Path, option: str) -> None:
    result = invoke(option)
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage:")
    for name in COMMANDS:
        assert name in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_help_of_every_command(invoke, plain_dir: Path, command: str) -> None:
    result = invoke(command, "--help")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Usage:")
    assert f" {command}" in result.stdout.splitlines()[0]
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", COMMANDS)
def test_help_of_every_command_in_a_real_process(run_process, plain_dir: Path, command: str) -> None:
    done = run_process(command, "--help", cwd=plain_dir, script=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Usage:")
    assert command in done.stdout.splitlines()[0]


def test_help_works_even_with_a_broken_configuration(invoke, plain_dir: Path, monkeypatch) -> None:
    monkeypatch.setenv("JIRA_BRIEF_FOO", "1")
    (plain_dir / ".jira-brief.toml").write_text("not toml at all = = =\n", encoding="utf-8")
    for command in COMMANDS:
        assert invoke(command, "--help").exit_code == 0


def test_keys_help_names_every_source(invoke, plain_dir: Path) -> None:
    text = invoke("keys", "--help").stdout
    for option in (
        "--branch",
        "--message-file",
        "--commits",
        "--github-event",
        "--sources",
        "--projects",
        "--max-keys",
        "--json",
    ):
        assert option in text


# --- keys output -------------------------------------------------------------------------------


def test_one_key_per_line(invoke, plain_dir: Path) -> None:
    result = invoke("keys", "PAY-1 and WEB-2", "then PAY-1")
    assert result.exit_code == 0
    assert result.stdout == "PAY-1\nWEB-2\n"
    assert result.stderr == ""


def test_no_key_is_empty_output_and_success(invoke, plain_dir: Path) -> None:
    result = invoke("keys", "nothing to see here", "utf-8 UTF-8")
    assert result.exit_code == 0
    assert result.stdout == ""


def test_json_lists_key_and_source(invoke, plain_dir: Path) -> None:
    result = invoke("keys", "--json", "pay-9", "fix WEB-2")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == [{"key": "PAY-9", "source": "arg"}, {"key": "WEB-2", "source": "arg"}]


def test_json_without_keys_is_an_empty_list(invoke, plain_dir: Path) -> None:
    result = invoke("keys", "--json", "no keys")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == []


def test_json_stays_valid_when_keys_are_left_out(invoke, plain_dir: Path) -> None:
    result = invoke("keys", "--json", "--max-keys", "1", "PAY-1 WEB-2")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == [{"key": "PAY-1", "source": "arg"}]
    assert "WEB-2" in result.stderr


def test_every_source_in_one_run(invoke, git_repo: GitRepo, github_event, tmp_path: Path) -> None:
    git_repo.git("checkout", "-q", "-b", "feature/BR-1-work")
    sha = git_repo.commit("CM-3 commit message")
    message = tmp_path / "COMMIT_EDITMSG"
    message.write_text("MSG-2 typed message\n# CMT-9 a comment\n", encoding="utf-8")

    def edit(payload: dict) -> None:
        payload["pull_request"]["title"] = "TI-4 title"
        payload["pull_request"]["head"]["ref"] = "feature/BR-1-work"
        payload["pull_request"]["body"] = "BO-5 body"

    event = github_event("pull_request.opened", edit)
    result = invoke(
        "keys",
        "--json",
        "AR-0 is not a key but AR-6 is",
        "--branch",
        "--message-file",
        str(message),
        "--commits",
        "main..HEAD",
        "--github-event",
        str(event),
        "--sources",
        "arg,branch,message,commits,pr-title,pr-body",
    )
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert {item["key"]: item["source"] for item in found} == {
        "AR-6": "arg",
        "BR-1": "branch",
        "MSG-2": "message",
        "CM-3": f"commit {sha}",
        "TI-4": "pr-title",
        "BO-5": "pr-body",
    }
    assert len(found) == 6  # BR-1 is both the git branch and the PR head ref: listed once
    assert found[0] == {"key": "AR-6", "source": "arg"}


def test_explicit_key_in_a_real_process(run_process, plain_dir: Path) -> None:
    done = run_process("keys", "pay-142", cwd=plain_dir)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "PAY-142\n"


def test_cap_report_in_a_real_process(run_process, plain_dir: Path) -> None:
    done = run_process("keys", "--max-keys", "2", "PAY-1 WEB-2 OPS-3 ZED-4", cwd=plain_dir, script=True)
    assert done.returncode == 0
    assert lines_of(done.stdout) == ["PAY-1", "WEB-2"]
    assert "OPS-3" in done.stderr and "ZED-4" in done.stderr


def test_environment_allowlist_in_a_real_process(run_process, plain_dir: Path) -> None:
    done = run_process("keys", "feature/pay-142-split OPS-1", cwd=plain_dir, env={"JIRA_BRIEF_PROJECTS": "PAY,WEB"})
    assert done.returncode == 0, done.stderr
    assert done.stdout == "PAY-142\n"


# --- errors: exit 2, no traceback --------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "env", "needle"),
    [
        (["keys", "--message-file", "{tmp}/missing-msg"], {}, "missing-msg"),
        (["keys", "--github-event", "{tmp}/missing-event.json"], {}, "missing-event.json"),
        (["keys", "--commits", "nosuch..HEAD"], {}, "nosuch..HEAD"),
        (["keys", "--sources", "arg,nope"], {}, "nope"),
        (["keys", "--max-keys", "0", "PAY-1"], {}, "max-keys"),
        (["keys", "PAY-1"], {"JIRA_BRIEF_FOO": "x"}, "JIRA_BRIEF_FOO"),
        (["config"], {"JIRA_BRIEF_MAX_KEYS": "many"}, "JIRA_BRIEF_MAX_KEYS"),
    ],
)
def test_errors_are_one_line_in_a_real_process(
    run_process, git_repo: GitRepo, tmp_path: Path, args: list[str], env: dict[str, str], needle: str
) -> None:
    args = [arg.replace("{tmp}", str(tmp_path)) for arg in args]
    done = run_process(*args, cwd=git_repo.path, env=env)
    assert done.returncode == 2
    assert done.stdout == ""
    line = assert_one_line_error(done.stderr, needle)
    assert line.startswith("jira-brief: error: ")


@pytest.mark.parametrize("args", [["keys", "--no-such-option"], ["no-such-command"], ["keys", "--max-keys", "many"]])
def test_click_usage_errors_exit_2_without_traceback(invoke, plain_dir: Path, args: list[str]) -> None:
    result = invoke(*args)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_keys_with_nothing_to_look_in_says_how_to_give_one(invoke, plain_dir: Path) -> None:
    done = invoke("keys")
    assert done.exit_code == 2
    assert_one_line_error(done.stderr, "--branch", "--commits")


def test_an_unexpected_error_is_one_line_with_the_log_of_its_traceback(
    invoke, plain_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug anywhere below the command line: one line and the path of the traceback, never a traceback
    (the command is added to the real group for the test; the boundary is the group's)."""
    secret = "sk-boundary-secret-99"
    monkeypatch.setenv("OPENAI_API_KEY", secret)

    @main.command("explode")
    def explode() -> None:
        from jira_brief.commands.options import settings_from

        settings_from()
        raise RuntimeError(f"a bug that quotes {secret}")

    try:
        done = invoke("explode")
        debug = CliRunner().invoke(main, ["--debug", "explode"])
    finally:
        del main.commands["explode"]
    line = assert_one_line_error(done.stderr, "unexpected RuntimeError", "--debug")
    assert done.exit_code == 1 and secret not in done.stderr
    log = Path(line.split("the traceback is in ")[1].split(" (--debug")[0])
    assert "Traceback" in log.read_text(encoding="utf-8") and secret not in log.read_text(encoding="utf-8")
    assert isinstance(debug.exception, RuntimeError)  # --debug lets it through, traceback and all


def test_keys_loads_no_client_library(plain_dir: Path) -> None:
    """`jira-brief keys` starts without the MCP, OpenAI, forge or terminal libraries: each command's
    module loads only when it runs, and finding keys needs none of them."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "jira_brief", "keys", "PAY-142 split payments"],
        cwd=plain_dir,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and done.stdout == "PAY-142\n", done.stderr[-2000:]
    imported = {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines() if line.count("|") == 2}
    assert "jira_brief.keys.scan" in imported  # the measure itself works
    heavy = {"openai", "mcp", "github", "gitlab", "rich", "httpx2", "pydantic", "requests"}
    assert not {name.split(".")[0] for name in imported} & heavy
    assert not {name for name in imported if name.startswith(("jira_brief.brief", "jira_brief.jira"))}
