"""templates/jira-brief.yml (the CI/CD component) and the jobs of docs/gitlab.md: GitLab's catalog layout,
inputs that mirror action.yml's, injection safety, the script run for real with bash, and every file
checked against GitLab's own CI schema (check-jsonschema ships GitLab's ci.json as vendor.gitlab-ci).

Inputs are interpolated as GitLab does at include time (`$[[ inputs.NAME ]]`, typed values kept)
before the job is checked against the schema."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from jira_brief.commands.gitlab import gitlab
from jira_brief.config.settings import SPECS, env_name

ROOT = Path(__file__).resolve().parents[3]
COMPONENT = ROOT / "templates" / "jira-brief.yml"
ACTION = ROOT / "action.yml"
DOC = ROOT / "docs" / "gitlab.md"
INPUT = re.compile(r"\$\[\[\s*inputs\.([a-z0-9-]+)\s*\]\]")
# The Action's inputs that are secrets (masked CI/CD variables on GitLab) or GitHub's own.
NOT_INPUTS = {"github-token", "jira-token", "llm-api-key", "mcp-headers"}
RENAMED = {"pr-number": "mr"}
COMPONENT_ONLY = {"package", "stage", "image", "allow-failure"}


def documents() -> tuple[dict[str, Any], dict[str, Any]]:
    """The header (spec) and the job, the two YAML documents of the component."""
    spec, jobs = yaml.safe_load_all(COMPONENT.read_text(encoding="utf-8"))
    return spec, jobs


def inputs() -> dict[str, Any]:
    return dict(documents()[0]["spec"]["inputs"])


def job() -> dict[str, Any]:
    return dict(documents()[1]["jira-brief"])


def interpolate(node: Any, values: dict[str, Any]) -> Any:
    """GitLab's interpolation: a value that is one `$[[ inputs.x ]]` takes the input's typed value, one
    that holds it among other text gets it as text."""
    if isinstance(node, dict):
        return {key: interpolate(value, values) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolate(value, values) for value in node]
    if isinstance(node, str):
        whole = INPUT.fullmatch(node.strip())
        if whole:
            return values[whole[1]]
        return INPUT.sub(lambda match: str(values[match[1]]), node)
    return node


def included_job(**given: Any) -> dict[str, Any]:
    """The job as a project that includes the component gets it: defaults, then `given` inputs."""
    values = {name: spec.get("default") for name, spec in inputs().items()}
    values.update({"package": "jira-brief==0.1.0", **given})
    return dict(interpolate(documents()[1], values))


def test_the_catalog_layout_a_spec_header_then_one_job() -> None:
    spec, jobs = documents()
    assert COMPONENT.parent.name == "templates" and COMPONENT.suffix == ".yml"
    assert set(spec) == {"spec"} and set(spec["spec"]) == {"description", "inputs"}
    assert len(spec["spec"]["description"]) <= 256
    assert list(jobs) == ["jira-brief"]


def test_inputs_mirror_the_actions_but_secrets_which_are_masked_variables() -> None:
    action = yaml.safe_load(ACTION.read_text(encoding="utf-8"))["inputs"]
    mirrored = {RENAMED.get(name, name) for name in action} - NOT_INPUTS
    assert set(inputs()) == mirrored | COMPONENT_ONLY
    for name, spec in inputs().items():
        assert spec.get("description"), name
        assert name == "package" or "default" in spec, name  # package is required: where to install from
    assert inputs()["sources"]["default"] == action["sources"]["default"]
    assert inputs()["comment"]["default"] == "update"


def test_every_input_reaches_the_cli_through_variables_only() -> None:
    body = job()
    used = set(INPUT.findall(json.dumps(body)))
    assert used == set(inputs())
    script = json.dumps(body["script"])
    assert "$[[" not in script and "inputs." not in script
    outside = {key: value for key, value in body.items() if key not in ("variables", "stage", "image", "allow_failure")}
    assert "$[[" not in json.dumps(outside)


def test_settings_variables_are_ones_jira_brief_knows() -> None:
    """The CLI refuses an unknown JIRA_BRIEF_* variable, so a typo here would break every run."""
    known = {env_name(name) for name in SPECS}
    names = set(job()["variables"])
    assert {name for name in names if name.startswith("JIRA_BRIEF_")} <= known
    assert not names & {"GITLAB_TOKEN", "OPENAI_API_KEY", "JIRA_API_TOKEN", "JIRA_PERSONAL_TOKEN"}


def test_merge_request_pipelines_interruptible_one_run_per_merge_request() -> None:
    body = job()
    assert body["rules"][0] == {"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}
    assert body["interruptible"] is True and body["needs"] == []
    assert "$CI_MERGE_REQUEST_IID" in body["resource_group"]
    assert inputs()["image"]["default"].startswith("python:3.1")
    assert body["artifacts"]["paths"] == ["jira-brief.json"] and body["artifacts"]["when"] == "always"
    assert "uv pip install" in body["script"][0] and '"$JB_PACKAGE"' in body["script"][0]


def test_the_options_the_script_passes_exist() -> None:
    options = {option for param in gitlab.params for option in param.opts}
    assert set(re.findall(r"(--[a-z-]+)", job()["script"][1])) <= options


def run_script(tmp_path: Path, env: dict[str, str]) -> list[str]:
    """The job's CLI script under bash, with a stand-in `jira-brief` that records its arguments."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    stub = venv / "bin" / "jira-brief"
    stub.write_text(f"#!{sys.executable}\nimport json, sys\nprint(json.dumps(sys.argv[1:]))\n", encoding="utf-8")
    stub.chmod(stub.stat().st_mode | stat.S_IEXEC)
    defaults = {"JB_KEYS": "", "JB_MR": "", "JB_COMMENT": "update", "JB_FAIL_ON_ERROR": "false"}
    done = subprocess.run(
        ["bash", "-e", "-c", job()["script"][1]],
        env={"PATH": os.environ["PATH"], "JB_VENV": str(venv), **defaults, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return list(json.loads(done.stdout))


def test_hostile_values_stay_data(tmp_path: Path) -> None:
    hostile = 'a";curl x|sh;# $(touch pwned) `id`'

    argv = run_script(tmp_path, {"JB_KEYS": hostile, "JB_MR": "7; rm -rf /"})

    assert argv == ["gitlab", "--comment", "update", "--keys", hostile, "--mr", "7; rm -rf /"]
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize(("value", "flag"), [("true", True), ("false", False), ("True", True), ("", False)])
def test_fail_on_error_as_gitlab_writes_a_boolean(tmp_path: Path, value: str, flag: bool) -> None:
    assert ("--fail-on-error" in run_script(tmp_path, {"JB_FAIL_ON_ERROR": value})) is flag


def doc_jobs() -> list[str]:
    """The ready-to-copy `.gitlab-ci.yml` blocks of docs/gitlab.md."""
    return re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)


def test_the_docs_include_the_component_and_a_plain_job() -> None:
    blocks = [yaml.safe_load(block) for block in doc_jobs()]
    includes = [block["include"][0] for block in blocks if "include" in block]
    assert includes and all(re.search(r"/jira-brief@[0-9a-f]{40}$", item["component"]) for item in includes)
    assert all(set(item["inputs"]) <= set(inputs()) and "package" in item["inputs"] for item in includes)
    plain = [block for block in blocks if "include" not in block]
    assert plain and all(job["rules"][0]["if"] == job_rule() for block in plain for job in block.values())


def job_rule() -> str:
    return str(job()["rules"][0]["if"])


def schema_check(*paths: Path) -> subprocess.CompletedProcess[str]:
    """check-jsonschema with GitLab's CI schema on these files, in one process."""
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.gitlab-ci", *map(str, paths)],
        capture_output=True,
        text=True,
    )


def test_gitlabs_ci_schema_accepts_the_component_and_the_docs(tmp_path: Path) -> None:
    pytest.importorskip("check_jsonschema", reason="check-jsonschema is in the test extras")
    spec, _ = documents()
    files = {"spec.yml": spec, "job.yml": included_job(), "job-options.yml": included_job(**{"allow-failure": True})}
    files.update({f"doc-{n}.yml": yaml.safe_load(block) for n, block in enumerate(doc_jobs())})
    for name, content in files.items():
        (tmp_path / name).write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")

    done = schema_check(*(tmp_path / name for name in files))

    assert done.returncode == 0, done.stdout + done.stderr


def test_the_schema_check_catches_a_broken_job(tmp_path: Path) -> None:
    pytest.importorskip("check_jsonschema", reason="check-jsonschema is in the test extras")
    broken = included_job()
    broken["jira-brief"]["interruptible"] = "yes"
    (tmp_path / "broken.yml").write_text(yaml.safe_dump(broken), encoding="utf-8")

    assert schema_check(tmp_path / "broken.yml").returncode == 1


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
def test_the_script_passes_shellcheck_as_posix_sh(tmp_path: Path) -> None:
    """GitLab's runner uses bash when the image has it, else sh: the script is POSIX sh."""
    script = tmp_path / "script.sh"
    script.write_text("#!/bin/sh\n" + "\n".join(job()["script"]), encoding="utf-8")
    done = subprocess.run(["shellcheck", "--severity=style", str(script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout
