"""The three pre-commit hooks end to end: real git, real pre-commit, a Jira MCP server and a model on loopback.

pre-commit installs the hooks from a snapshot of this working tree (committed in a temporary
repository, so uncommitted work is what gets tested) into one session-wide PRE_COMMIT_HOME.
`pre-commit try-repo` always installs into a throw-away store of its own, so only one test uses it;
the others run `git commit` with hooks put in place by `pre-commit install`, or run the hook
command directly where a test measures time, calls or bytes.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from jira_brief.commands.hook import ON_ITS_WAY
from jira_brief.commands.main import main
from jira_brief.jira.demo.server import build_server
from tests.conftest import CONSOLE_SCRIPT, GitRepo, job_status, process_alive, wait_for_jobs
from tests.e2e.conftest import (
    HooksRepo,
    Services,
    Workspace,
    assert_plain,
    closed_url,
    hook_environ,
    jira_lines,
    only_jira_lines,
    run_in_pty,
    short_budget,
    startup_seconds,
)
from tests.fakes.mcp_http import ServedMCP, free_port, silent_server

pytestmark = pytest.mark.usefixtures("isolated_env", "stop_jobs")

PROJECT = Path(__file__).resolve().parents[2]
PAY_142_LINE = "PAY-142 · Split payments between two cards · In Progress"
BRIEF_142 = "Brief for PAY-142."  # what FakeOpenAI's default responder writes for PAY-142
WEB_88_TITLE = "Confirmation email shows the gift card as the only payment method on mixed payments"
HEAVY_MODULES = {"openai", "mcp", "github", "rich"}
_LEAKY_PREFIXES = ("JIRA_BRIEF_", "OPENAI_", "GIT_", "PRE_COMMIT", "SKIP")
_SNAPSHOT_IDENTITY = ["-c", "user.name=jira-brief tests", "-c", "user.email=tests@example.com"]


# --- pre-commit try-repo -----------------------------------------------------------------------


def test_try_repo_runs_the_commit_msg_hooks_and_shows_the_brief(
    git_repo: GitRepo, hooks_repo: HooksRepo, services: Services, tmp_path: Path
) -> None:
    """The manifest works as published: try-repo installs the hooks and runs both commit-msg hooks."""
    message = tmp_path / "COMMIT_EDITMSG"
    message.write_bytes(b"PAY-142: split the payment form\n\n# Please enter the commit message.\n")
    before = message.read_bytes()
    environ = hook_environ(services, tmp_path / "cache", PRE_COMMIT_HOME=str(tmp_path / "unused-home"))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pre_commit",
            "try-repo",
            str(hooks_repo.path),
            "--ref",
            hooks_repo.rev,
            "--hook-stage",
            "commit-msg",
            "--commit-msg-filename",
            str(message),
        ],
        cwd=git_repo.path,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout
    assert re.search(r"^Jira brief\.+Passed$", done.stdout, re.M), done.stdout
    assert re.search(r"^Jira key required\.+Passed$", done.stdout, re.M), done.stdout
    assert PAY_142_LINE in done.stdout and BRIEF_142 in done.stdout  # verbose: shown on a passing hook
    assert_plain(done.stdout)
    assert message.read_bytes() == before
    assert services.llm.calls == 1


# --- the brief hook in real commits ---------------------------------------------------------------


def test_commit_shows_the_brief_once_then_one_line(workspace: Workspace) -> None:
    # The brief alone: the criteria check of each commit's change (a model call of its own) is tested
    # with the check's own tests.
    workspace.extra["JIRA_BRIEF_CHECK"] = "off"
    workspace.install("jira-brief", "jira-brief-prepare")
    workspace.branch("feature/PAY-142-split-payments")
    workspace.stage()
    first = workspace.commit("-m", "Split the payment form")
    assert first.returncode == 0, first.output
    assert BRIEF_142 in first.output and PAY_142_LINE in first.output
    assert workspace.message() == "PAY-142: Split the payment form\n"
    assert workspace.services.llm.calls == 1
    reads = workspace.services.issue_reads
    assert reads == 1

    workspace.stage()
    second = workspace.commit("-m", "PAY-142: handle the second card")
    assert second.returncode == 0, second.output
    assert PAY_142_LINE in second.output
    assert BRIEF_142 not in second.output
    assert workspace.services.llm.calls == 1  # cached and unchanged: no model call
    assert workspace.services.issue_reads == reads  # within the TTL: no MCP call either
    assert_plain(first.output + second.output)


def test_commit_goes_on_when_the_mcp_server_is_down(workspace: Workspace, tmp_path: Path) -> None:
    workspace.install("jira-brief")
    workspace.extra["JIRA_BRIEF_MCP_URL"] = closed_url()
    workspace.stage()
    done = workspace.commit("-m", "PAY-142: fix rounding of the second card")
    assert done.returncode == 0, done.output
    assert workspace.message() == "PAY-142: fix rounding of the second card\n"
    warnings = jira_lines(done.output)
    assert len(warnings) == 1 and "warning" in warnings[0] and "MCP" in warnings[0], done.output
    assert "Traceback" not in done.output

    typed = tmp_path / "typed-message.txt"
    typed.write_bytes(b"PAY-142: second attempt\n\nwith a body line\n")
    before = typed.read_bytes()
    workspace.stage()
    done = workspace.commit("-F", str(typed))
    assert done.returncode == 0, done.output
    assert workspace.message() == "PAY-142: second attempt\n\nwith a body line\n"
    assert typed.read_bytes() == before
    assert workspace.services.llm.calls == 0


def test_strict_refuses_the_commit_when_no_brief_can_be_made(workspace: Workspace) -> None:
    workspace.install({"id": "jira-brief", "args": ["--strict"]})
    workspace.extra["JIRA_BRIEF_MCP_URL"] = closed_url()
    head = workspace.head()
    workspace.stage()
    done = workspace.commit("-m", "PAY-142: strict by argument")
    assert done.returncode != 0, done.output
    assert re.search(r"^Jira brief\.+Failed$", done.output, re.M), done.output
    assert workspace.head() == head
    [line] = jira_lines(done.output)
    assert "warning" in line and "MCP" in line
    # JIRA_BRIEF_STRICT=1 and `strict = true` are the same setting: see test_fails_open_* below.


def test_skip_and_disable_turn_the_hooks_off(workspace: Workspace) -> None:
    workspace.install("jira-brief", "jira-brief-require-key", "jira-brief-prepare")
    workspace.branch("feature/PAY-142-split")
    workspace.stage()
    skipped = workspace.commit("-m", "Skip the brief", SKIP="jira-brief")
    assert skipped.returncode == 0, skipped.output
    assert re.search(r"^Jira brief\.+\(no files to check\)Skipped$|^Jira brief\.+Skipped$", skipped.output, re.M), (
        skipped.output
    )
    assert BRIEF_142 not in skipped.output and PAY_142_LINE not in skipped.output
    assert workspace.message() == "PAY-142: Skip the brief\n"  # SKIP names one hook; the others still run

    workspace.stage()
    disabled = workspace.commit("-m", "Disabled everywhere", JIRA_BRIEF_DISABLE="1")
    assert disabled.returncode == 0, disabled.output
    assert workspace.message() == "Disabled everywhere\n"  # prepare did not add the key
    assert PAY_142_LINE not in disabled.output

    workspace.repo.git("checkout", "-q", "main")
    workspace.stage()
    no_key = workspace.commit("-m", "no key at all", JIRA_BRIEF_DISABLE="1")
    assert no_key.returncode == 0, no_key.output  # require-key is off too
    assert workspace.services.llm.calls == 0 and workspace.services.issue_reads == 0


# --- jira-brief-require-key -----------------------------------------------------------------------


def test_require_key_accepts_a_key_in_the_message_or_the_branch_and_exempt_commits(workspace: Workspace) -> None:
    workspace.install("jira-brief-require-key")
    workspace.stage()
    assert workspace.commit("-m", "PAY-142: key in the message").returncode == 0

    workspace.stage("tidy.txt")
    workspace.repo.git("commit", "-q", "--no-verify", "-m", "tidy up without a key")
    fixup = workspace.commit("--allow-empty", "--fixup", "HEAD")
    assert fixup.returncode == 0, fixup.output
    assert workspace.message().startswith("fixup! tidy up without a key")
    squash = workspace.commit("--allow-empty", "--squash", "HEAD~1")
    assert squash.returncode == 0, squash.output
    assert workspace.message().startswith("squash! tidy up without a key")
    revert = workspace.run(["git", "revert", "--no-edit", "HEAD~2"])
    assert revert.returncode == 0, revert.output
    assert workspace.message().startswith('Revert "tidy up without a key"')

    workspace.repo.git("checkout", "-q", "-b", "topic")
    workspace.repo.git("commit", "-q", "--no-verify", "--allow-empty", "-m", "topic work")
    workspace.repo.git("checkout", "-q", "main")
    workspace.repo.git("commit", "-q", "--no-verify", "--allow-empty", "-m", "main work")
    merge = workspace.run(["git", "merge", "--no-ff", "--no-edit", "topic"])
    assert merge.returncode == 0, merge.output
    assert workspace.message().startswith("Merge branch 'topic'")

    workspace.branch("feature/WEB-88-email")
    workspace.stage()
    in_branch = workspace.commit("-m", "the key is in the branch name")
    assert in_branch.returncode == 0, in_branch.output


def test_require_key_refuses_a_commit_without_a_key_of_the_accepted_projects(workspace: Workspace) -> None:
    workspace.install("jira-brief-require-key")
    head = workspace.head()
    workspace.stage()
    refused = workspace.commit("-m", "no key here")
    assert refused.returncode == 1, refused.output
    assert workspace.head() == head
    [line] = jira_lines(refused.output)
    assert "no Jira key" in line

    refused = workspace.commit("-m", "WEB-88: another project", JIRA_BRIEF_PROJECTS="PAY")
    assert refused.returncode == 1, refused.output
    [line] = jira_lines(refused.output)
    assert "of PAY " in line and "PAY-123" in line
    assert workspace.head() == head

    # The same config file as the CLI: .jira-brief.toml at the repository root.
    (workspace.repo.path / ".jira-brief.toml").write_text('projects = ["PAY", "WEB"]\n', encoding="utf-8")
    workspace.repo.git("add", ".jira-brief.toml")
    workspace.repo.git("commit", "-q", "--no-verify", "-m", "jira-brief settings")
    head = workspace.head()
    workspace.stage()
    refused = workspace.commit("-m", "OPS-7: not one of ours")
    assert refused.returncode == 1, refused.output
    [line] = jira_lines(refused.output)
    assert "of PAY, WEB " in line
    assert workspace.head() == head
    accepted = workspace.commit("-m", "WEB-88: one of ours")
    assert accepted.returncode == 0, accepted.output
    assert_plain(refused.output + accepted.output)

    workspace.install({"id": "jira-brief-require-key", "args": ["--projects=OPS"]})  # args: above the file
    workspace.stage()
    refused = workspace.commit("-m", "WEB-88: not accepted by the hook's args")
    assert refused.returncode == 1, refused.output
    [line] = jira_lines(refused.output)
    assert "of OPS " in line


# --- jira-brief-prepare -----------------------------------------------------------------------------


def test_prepare_puts_the_branch_key_in_front_once(workspace: Workspace, tmp_path: Path) -> None:
    workspace.install("jira-brief-prepare")
    workspace.branch("feature/PAY-142-split")
    workspace.stage()
    done = workspace.commit("-m", "Split the payment form")
    assert done.returncode == 0, done.output
    assert workspace.message() == "PAY-142: Split the payment form\n"

    amend = workspace.commit("--amend", "--allow-empty", GIT_EDITOR="true")  # source "commit": left alone
    assert amend.returncode == 0, amend.output
    assert workspace.message() == "PAY-142: Split the payment form\n"
    # --no-verify still runs prepare-commit-msg: only turning git's hooks off makes a commit without the key
    workspace.repo.git("-c", "core.hooksPath=/dev/null", "commit", "-q", "--allow-empty", "-m", "typed before the hook")
    amend = workspace.commit("--amend", "--allow-empty", GIT_EDITOR="true")
    assert amend.returncode == 0, amend.output
    assert workspace.message() == "typed before the hook\n"  # an amend keeps the message as it was

    workspace.stage()
    assert workspace.commit("-m", "Fix WEB-88 in the email").returncode == 0
    assert workspace.message() == "Fix WEB-88 in the email\n"  # already has a key

    typed = tmp_path / "typed.txt"
    typed.write_bytes(b"Second card form\n\nThe body the user wrote.\n")
    before = typed.read_bytes()
    for _ in range(2):  # the same message file twice: the key goes in once each time, never twice
        workspace.stage()
        assert workspace.commit("-F", str(typed)).returncode == 0
        assert workspace.message() == "PAY-142: Second card form\n\nThe body the user wrote.\n"
    assert typed.read_bytes() == before

    message = tmp_path / "COMMIT_EDITMSG"
    message.write_bytes(b"Second card form\n\nbody\n# a comment\n")
    for _ in range(2):  # pre-commit's own runner, twice on the same file
        again = workspace.run(
            [
                sys.executable,
                "-m",
                "pre_commit",
                "run",
                "--hook-stage",
                "prepare-commit-msg",
                "--commit-msg-filename",
                str(message),
            ]
        )
        assert again.returncode == 0, again.output
    assert message.read_bytes() == b"PAY-142: Second card form\n\nbody\n# a comment\n"


def _editor(tmp_path: Path, saved: Path, exit_code: int) -> str:
    """A GIT_EDITOR that keeps a copy of the message file as git and the hooks prepared it."""
    script = tmp_path / "editor.py"
    script.write_text(
        f"import shutil, sys\nshutil.copyfile(sys.argv[1], {str(saved)!r})\nsys.exit({exit_code})\n", encoding="utf-8"
    )
    return f'"{sys.executable}" "{script}"'


def test_prepare_keeps_what_the_user_wrote_and_the_comments(workspace: Workspace, tmp_path: Path) -> None:
    workspace.install("jira-brief-prepare")
    workspace.branch("PAY-142-split")
    typed = tmp_path / "typed.txt"
    typed.write_text("Second card form\n\nThe body the user wrote.\n", encoding="utf-8")
    saved = tmp_path / "saved"
    workspace.stage()
    done = workspace.commit("-e", "-F", str(typed), GIT_EDITOR=_editor(tmp_path, saved, 0))
    assert done.returncode == 0, done.output
    seen = saved.read_text(encoding="utf-8")
    assert seen.startswith("PAY-142: Second card form\n\nThe body the user wrote.\n")
    assert "\n# Please enter the commit message for your changes." in seen
    assert workspace.message() == "PAY-142: Second card form\n\nThe body the user wrote.\n"

    workspace.stage()
    done = workspace.commit(GIT_EDITOR=_editor(tmp_path, saved, 1))  # empty message: git's comments only
    seen = saved.read_text(encoding="utf-8")
    assert seen.startswith("PAY-142: \n")
    assert "\n# Please enter the commit message for your changes." in seen


def test_prepare_with_verbose_commit_puts_the_key_on_the_subject_line(workspace: Workspace, tmp_path: Path) -> None:
    workspace.install("jira-brief-prepare")
    workspace.branch("PAY-142-split")
    saved = tmp_path / "saved"
    workspace.stage("form.txt", "first line\n")
    workspace.commit("-v", GIT_EDITOR=_editor(tmp_path, saved, 1))
    seen = saved.read_text(encoding="utf-8")
    assert seen.startswith("PAY-142: \n"), seen[:200]
    assert "\ndiff --git a/form.txt b/form.txt\n" in seen  # the diff below the scissors is untouched


def test_prepare_honours_the_comment_character(workspace: Workspace, tmp_path: Path) -> None:
    workspace.install("jira-brief-prepare")
    workspace.repo.git("config", "core.commentChar", ";")
    workspace.branch("PAY-142-split")
    saved = tmp_path / "saved"
    workspace.stage()
    workspace.commit(GIT_EDITOR=_editor(tmp_path, saved, 1))
    seen = saved.read_text(encoding="utf-8")
    assert seen.startswith("PAY-142: \n"), seen[:200]
    assert "\n; Please enter the commit message for your changes." in seen


# --- the hook command itself: speed, calls, output, failures -------------------------------------


@dataclass
class HookRun:
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@pytest.fixture
def hook_process(git_repo: GitRepo, services: Services, tmp_path: Path) -> Any:
    """Run `jira-brief ARGS` as pre-commit does, a process of its own in the repository, with the
    developer's environment: for what is about the process (its time budget, start to exit)."""
    cache_dir = tmp_path / "cache"

    def run(*args: str, **env: str) -> HookRun:
        started = time.monotonic()
        done = subprocess.run(
            [str(CONSOLE_SCRIPT), *args],
            cwd=git_repo.path,
            capture_output=True,
            text=True,
            env=hook_environ(services, cache_dir, **env),
            timeout=60,
        )
        return HookRun(done.returncode, done.stdout, done.stderr, time.monotonic() - started)

    return run


@pytest.fixture
def hook(git_repo: GitRepo, services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The same command line in this process (Click's runner, the same environment and folder): what
    the hook prints and decides, without paying a process start-up for each run."""
    cache_dir = tmp_path / "cache"
    monkeypatch.chdir(git_repo.path)

    def run(*args: str, **env: str) -> HookRun:
        started = time.monotonic()
        environ = {name: value for name, value in hook_environ(services, cache_dir, **env).items()}
        cleared = {name: None for name in os.environ if name not in environ}
        done = CliRunner().invoke(main, list(args), env={**cleared, **environ}, catch_exceptions=False)
        return HookRun(done.exit_code, done.stdout, done.stderr, time.monotonic() - started)

    return run


@pytest.fixture
def message(tmp_path: Path) -> Any:
    """Write a commit message file (bytes as given) and return its path."""

    def write(data: bytes | str, name: str = "COMMIT_EDITMSG") -> Path:
        path = tmp_path / name
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        return path

    return write


def _imported(stderr: str) -> set[str]:
    """Top-level packages named by `python -X importtime`."""
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


def test_no_key_is_fast_and_imports_nothing_heavy(
    git_repo: GitRepo, services: Services, message: Any, tmp_path: Path, hook: Any
) -> None:
    assert "Brief for WEB-88." in hook("hook", str(message("WEB-88: warm the cache\n"))).stdout
    calls, reads = services.llm.calls, services.issue_reads
    cases = [
        (["hook"], "no key in this message\n", {}),
        (["require-key"], "Merge branch 'topic'\n", {}),
        (["prepare-message"], "no key in this message\n", {}),
        (["hook"], "PAY-142: turned off\n", {"JIRA_BRIEF_DISABLE": "1"}),
        (["hook"], "WEB-88: the cache answers\n", {}),
    ]
    heavy_start = startup_seconds()
    for command, text, env in cases:
        path = message(text)
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "jira_brief", *command, str(path)],
            cwd=git_repo.path,
            capture_output=True,
            text=True,
            timeout=60,
            env=hook_environ(services, tmp_path / "cache", **env),
        )
        elapsed = time.monotonic() - started
        assert done.returncode == 0, done.stderr[-2000:]
        imported = _imported(done.stderr)
        assert "jira_brief" in imported and "click" in imported  # the measure itself works
        assert not imported & HEAVY_MODULES, (command, env, imported & HEAVY_MODULES)
        assert elapsed < heavy_start, (command, elapsed, heavy_start)  # less than importing the engine
        assert path.read_text(encoding="utf-8") == text
    assert (services.llm.calls, services.issue_reads) == (calls, reads)
    assert done.stdout.strip() == f"WEB-88 · {WEB_88_TITLE} · To Do"


@pytest.mark.slow  # seconds of real waiting or process starts: the slow tier
def test_ttl_cache_and_changed_ticket(
    hook: Any, message: Any, services: Services, git_repo: GitRepo, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    git_repo.git("checkout", "-q", "-b", "feature/PAY-142-split")
    path = message("Split the payment form\n")
    first = hook("hook", str(path))  # nothing cached: the hook waits (within its budget) for the job it started
    assert first.returncode == 0, first.stderr
    assert PAY_142_LINE in first.stdout and BRIEF_142 in first.stdout
    assert (services.llm.calls, services.issue_reads) == (1, 1)
    started = job_status(cache, "PAY-142")["started"]

    second = hook("hook", str(path))
    assert second.returncode == 0 and second.stdout.strip() == PAY_142_LINE, second.output
    assert job_status(cache, "PAY-142")["started"] == started  # fresh and briefed: no job at all
    assert (services.llm.calls, services.issue_reads) == (1, 1)

    stale = hook("hook", str(path), JIRA_BRIEF_HOOK_TTL="0.001")
    assert stale.stdout.strip() == PAY_142_LINE, stale.output  # what the cache has, at once
    wait_for_jobs(cache, "PAY-142")  # meanwhile a job read the ticket again: unchanged, no model call
    assert (services.llm.calls, services.issue_reads) == (1, 2)

    services.tickets["PAY-142"]["updated"] = "2025-06-01T09:00:00.000+0200"
    services.tickets["PAY-142"]["status"] = {"name": "In Review", "category": "In Progress", "color": "yellow"}
    changing = hook("hook", str(path), JIRA_BRIEF_HOOK_TTL="0.001")
    assert changing.stdout.strip() == PAY_142_LINE, changing.output  # the change is not known yet
    wait_for_jobs(cache, "PAY-142")
    assert (services.llm.calls, services.issue_reads) == (2, 3)  # changed: the new brief, written once
    changed = hook("hook", str(path))
    assert changed.returncode == 0, changed.stderr
    assert "PAY-142 · Split payments between two cards · In Review" in changed.stdout
    assert BRIEF_142 in changed.stdout  # changed: the full brief again, on the next commit
    assert hook("hook", str(path)).stdout.strip() == "PAY-142 · Split payments between two cards · In Review"
    assert (services.llm.calls, services.issue_reads) == (2, 3)
    for run in (first, second, stale, changing, changed):
        assert_plain(run.output)
        assert run.stderr == ""


def test_show_modes_and_a_new_branch(hook: Any, message: Any, services: Services, git_repo: GitRepo) -> None:
    path = message("PAY-142: split the payment form\n")
    assert BRIEF_142 in hook("hook", str(path)).stdout
    full = hook("hook", "--show", "full", str(path))
    assert BRIEF_142 in full.stdout, full.output
    assert hook("hook", str(path), JIRA_BRIEF_HOOK_SHOW="full").stdout == full.stdout
    assert hook("hook", str(path)).stdout.strip() == PAY_142_LINE

    git_repo.git("checkout", "-q", "-b", "another-branch")
    on_new_branch = hook("hook", str(path))
    assert BRIEF_142 in on_new_branch.stdout  # first time on this branch: the full brief
    assert hook("hook", str(path)).stdout.strip() == PAY_142_LINE
    assert services.llm.calls == 1  # every full brief after the first came from the cache


def test_the_brief_is_plain_text(hook: Any, message: Any, services: Services) -> None:
    """What models write (headings, bold, escapes, links) reaches a commit dialog as plain text."""
    long = "et une phrase qui ne tient pas sur une ligne " * 4
    services.llm.reply(
        "#### Contexte\n"
        "Le **client** paie avec la \\*\\*dernière\\*\\* carte, voir [PAY-100](https://jira.example.com/PAY-100).\n"
        f"#### Objectif\n- partager le paiement entre `deux` cartes, {long}"
    )
    done = hook("hook", str(message("PAY-142: plain\n")))
    assert done.returncode == 0, done.output
    lines = done.stdout.splitlines()
    assert "CONTEXTE" in lines and "OBJECTIF" in lines
    assert "Le client paie avec la dernière carte, voir PAY-100 (https://jira.example.com/PAY-100)." in lines
    assert "• partager le paiement entre deux cartes, et une phrase" in done.stdout
    assert not any(mark in done.stdout for mark in ("####", "**", "\\", "`", "]("))
    assert max(len(line) for line in lines) <= 100


def test_keys_of_the_message_then_the_branch(hook: Any, message: Any, services: Services, git_repo: GitRepo) -> None:
    git_repo.git("checkout", "-q", "-b", "feature/WEB-88-email")
    done = hook("hook", str(message("PAY-142: the message names one ticket\n")))
    assert done.returncode == 0, done.output
    assert done.stdout.index(BRIEF_142) < done.stdout.index("Brief for WEB-88.")
    assert services.llm.calls == 2


def test_show_line_makes_no_model_call(hook: Any, message: Any, services: Services) -> None:
    done = hook("hook", "--show", "line", str(message("PAY-142: split the payment form\n")))
    assert done.returncode == 0 and done.stdout.strip() == PAY_142_LINE, done.output
    assert services.llm.calls == 0


@pytest.mark.slow  # seconds of real waiting or process starts: the slow tier
def test_budget_prints_what_is_ready_and_a_line_for_the_rest(
    hook_process: Any, message: Any, services: Services
) -> None:
    assert BRIEF_142 in hook_process("hook", str(message("PAY-142: warm the cache\n"))).stdout
    budget = short_budget()
    services.llm.latency = float(budget)  # with the job's own start-up, longer than the hook's budget
    path = message(b"PAY-142 and WEB-88: both\n")
    before = path.read_bytes()
    done = hook_process("hook", str(path), JIRA_BRIEF_HOOK_BUDGET=str(budget))
    assert done.returncode == 0, done.output
    assert done.seconds < budget + 1.0, done.seconds  # the budget counts from the hook's start
    assert done.stdout.splitlines()[0] == PAY_142_LINE
    assert done.stdout.splitlines()[1] in (f"WEB-88 · {WEB_88_TITLE} · To Do — {ON_ITS_WAY}", f"WEB-88 — {ON_ITS_WAY}")
    assert done.stderr == ""  # nothing went wrong: a brief on its way is no warning
    assert path.read_bytes() == before  # the next commit showing the brief: see the test below


@pytest.mark.slow  # seconds of real waiting or process starts: the slow tier
def test_budget_alone_bounds_a_slow_model(hook_process: Any, message: Any, services: Services, tmp_path: Path) -> None:
    budget = short_budget()
    services.llm.latency = float(budget)
    path = message("PAY-142: slow model\n")
    done = hook_process("hook", str(path), JIRA_BRIEF_HOOK_BUDGET=str(budget))
    assert done.returncode == 0, done.output
    assert budget - 0.5 <= done.seconds < budget + 1.0, done.seconds  # the budget, never the model's wait
    assert done.stdout.strip() in (f"{PAY_142_LINE} — {ON_ITS_WAY}", f"PAY-142 — {ON_ITS_WAY}"), done.stdout
    assert done.stderr == ""
    [pid] = wait_for_jobs(tmp_path / "cache", "PAY-142")  # the job wrote the brief, then ended
    assert not process_alive(pid)
    assert BRIEF_142 in hook_process("hook", str(path)).stdout
    assert services.llm.calls == 1


def hook_within(
    budget: int, path: Path, cwd: Path, environ: dict[str, str]
) -> tuple[subprocess.CompletedProcess[str], float]:
    """`jira-brief hook PATH` as a process, and how long it took; fails the test 5 s past `budget`."""
    started = time.monotonic()
    try:
        argv = [str(CONSOLE_SCRIPT), "hook", str(path)]
        done = subprocess.run(argv, cwd=cwd, env=environ, capture_output=True, text=True, timeout=budget + 5)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the hook still ran 5 s past its {budget} s budget")
    return done, time.monotonic() - started


@pytest.mark.slow  # seconds of real waiting or process starts: the slow tier
def test_an_mcp_server_that_never_answers_costs_the_budget_once(
    git_repo: GitRepo, services: Services, message: Any, tmp_path: Path
) -> None:
    """A server that takes the connection and then says nothing (hung, or a proxy eating the request): the
    first commit waits its budget, the job gives up after `timeout` and says so, later commits skip it.
    The URL's credentials show nowhere: not in the warning, nor in what the job wrote down."""
    path = message("PAY-142: hung Jira\n")
    cache = tmp_path / "cache"
    with silent_server() as plain_url:
        url = plain_url.replace("http://", "http://jira-user:pass-w0rd-417@") + "?api_token=tok-8d1f2c"
        shown = plain_url.replace("http://", "http://jira-user:********@") + "?api_token=********"
        budget = short_budget()
        patience = budget + 3  # the job's: the first commit cannot see it run out
        environ = hook_environ(
            services,
            cache,
            JIRA_BRIEF_MCP_URL=url,
            JIRA_BRIEF_HOOK_BUDGET=str(budget),
            JIRA_BRIEF_TIMEOUT=str(patience),
        )

        first, took = hook_within(budget, path, git_repo.path, environ)
        assert first.returncode == 0 and took < budget + 1.0, (took, first.stderr)
        assert first.stdout.strip() == f"PAY-142 — {ON_ITS_WAY}" and first.stderr == ""
        [pid] = wait_for_jobs(cache, "PAY-142", timeout=patience + 30)
        started = job_status(cache, "PAY-142")["started"]
        second, took = hook_within(budget, path, git_repo.path, environ)
    assert second.returncode == 0 and took < startup_seconds() + 1.0, took  # no wait, no server, no model
    assert job_status(cache, "PAY-142")["started"] == started  # and no new job
    [line] = only_jira_lines(second.stderr)
    assert re.fullmatch(
        rf"jira-brief: warning: Jira MCP server {re.escape(shown)} did not answer within {patience} s; "
        r"retrying after \d\d:\d\d \(JIRA_BRIEF_HOOK_RETRY_AFTER\)",
        line,
    ), line
    assert second.stdout.strip() == "PAY-142"
    assert not process_alive(pid) and services.llm.calls == 0
    written = b"".join(path.read_bytes() for path in cache.rglob("*") if path.is_file())
    assert b"Jira MCP server" in written and b"pass-w0rd-417" not in written and b"tok-8d1f2c" not in written


@pytest.mark.slow  # seconds of real waiting or process starts: the slow tier
def test_each_ticket_on_its_way_gets_its_own_line(hook_process: Any, message: Any, services: Services) -> None:
    budget = short_budget()
    services.llm.latency = float(budget)
    done = hook_process(
        "hook", str(message("PAY-142 WEB-88 PAY-150: three tickets\n")), JIRA_BRIEF_HOOK_BUDGET=str(budget)
    )
    assert done.returncode == 0, done.output
    lines = done.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["PAY-142", "WEB-88", "PAY-150"], lines
    assert all(line.endswith(ON_ITS_WAY) for line in lines) and done.stderr == ""


ODD_MESSAGE = b"PAY-142: fix rounding\r\n\r\nCaf\xc3\xa9 and a raw \xff byte\n# a comment\n"


@pytest.mark.slow  # seconds of real waiting or process starts: the slow tier
def test_fails_open_with_the_mcp_server_unreachable(
    hook: Any, message: Any, services: Services, git_repo: GitRepo
) -> None:
    path = message(ODD_MESSAGE)
    done = hook("hook", str(path), JIRA_BRIEF_MCP_URL=closed_url())
    assert done.returncode == 0, done.output
    [line] = jira_lines(done.stderr)
    assert "warning" in line and "MCP" in line
    assert path.read_bytes() == ODD_MESSAGE
    assert "Traceback" not in done.output and services.llm.calls == 0
    assert_plain(done.output)

    strict = hook("hook", "--strict", str(path), JIRA_BRIEF_MCP_URL=closed_url())
    assert strict.returncode == 1, strict.output
    (git_repo.path / ".jira-brief.toml").write_text("strict = true\n", encoding="utf-8")  # as the CLI reads it
    from_file = hook("hook", str(path), JIRA_BRIEF_MCP_URL=closed_url())
    assert from_file.returncode == 1, from_file.output
    assert path.read_bytes() == ODD_MESSAGE


@pytest.mark.slow  # seconds of real waiting or process starts: the slow tier
def test_fails_open_when_the_mcp_server_refuses_the_token(
    message: Any, git_repo: GitRepo, services: Services, tmp_path: Path
) -> None:
    path = message(ODD_MESSAGE)
    with ServedMCP(build_server(), require_token="the-right-token") as guarded:
        environ = hook_environ(
            services,
            tmp_path / "cache",
            JIRA_BRIEF_MCP_URL=guarded.url,
            JIRA_BRIEF_MCP_HEADERS="Authorization: Bearer wrong-token",
        )
        runs = [
            subprocess.run(
                [str(CONSOLE_SCRIPT), "hook", *strict, str(path)],
                cwd=git_repo.path,
                capture_output=True,
                text=True,
                env={**environ, **env},
                timeout=60,
            )
            for strict, env in (([], {}), ([], {"JIRA_BRIEF_STRICT": "1"}))
        ]
    lenient, *strict_runs = runs
    assert lenient.returncode == 0, lenient.stderr
    [line] = jira_lines(lenient.stderr)
    assert "warning" in line and ("401" in line or "credentials" in line), line
    assert all(run.returncode == 1 for run in strict_runs), [run.stderr for run in strict_runs]
    assert all("wrong-token" not in run.stdout + run.stderr for run in runs)
    assert path.read_bytes() == ODD_MESSAGE


@pytest.mark.slow  # seconds of real waiting or process starts: the slow tier
def test_fails_open_when_the_model_is_down_or_slow(hook_process: Any, message: Any, services: Services) -> None:
    path = message(ODD_MESSAGE)
    down = hook_process("hook", str(path), OPENAI_BASE_URL=f"http://127.0.0.1:{free_port()}/v1", JIRA_BRIEF_TIMEOUT="1")
    assert down.returncode == 0, down.output
    [line] = jira_lines(down.stderr)
    assert "warning" in line and ("LLM" in line or "model" in line), line
    assert PAY_142_LINE in down.stdout  # the offline brief, marked by the warning
    # --timeout 1 and one retry after 1 s: start-up (which a loaded machine stretches) twice over at most
    assert down.seconds < 2 * startup_seconds() + 3, down.seconds

    services.llm.hang(90)
    slow = hook_process("hook", "--show", "full", str(path), JIRA_BRIEF_TIMEOUT="1", JIRA_BRIEF_CACHE="false")
    assert slow.returncode == 0, slow.output
    [line] = jira_lines(slow.stderr)
    assert "warning" in line and "model" in line, line
    assert slow.seconds < 2 * startup_seconds() + 3, slow.seconds  # bounded by --timeout, not the 90 s hang
    assert path.read_bytes() == ODD_MESSAGE
    assert "Traceback" not in down.output + slow.output


def test_strict_fails_when_the_model_is_down(hook: Any, message: Any) -> None:
    done = hook(
        "hook",
        "--strict",
        str(message("PAY-142: strict\n")),
        OPENAI_BASE_URL=f"http://127.0.0.1:{free_port()}/v1",
        JIRA_BRIEF_TIMEOUT="1",
    )
    assert done.returncode == 1, done.output


def test_output_is_plain_text_on_a_terminal(
    git_repo: GitRepo, services: Services, message: Any, tmp_path: Path
) -> None:
    """Even when stdout and stderr are a terminal (FORCE_COLOR set), the hook writes no escape codes."""
    path = message("PAY-142: on a terminal\n")
    environ = hook_environ(services, tmp_path / "cache", TERM="xterm-256color", FORCE_COLOR="1")
    code, text = run_in_pty([str(CONSOLE_SCRIPT), "hook", str(path)], git_repo.path, environ)
    assert code == 0, text
    assert BRIEF_142 in text
    assert_plain(text)


def test_prepare_message_command_skips_and_writes_through_a_rename(
    git_repo: GitRepo, message: Any, run_process: Any
) -> None:
    git_repo.git("checkout", "-q", "-b", "feature/PAY-142-split")
    sources = (("merge", {}), ("squash", {}), ("commit", {}), (None, {"PRE_COMMIT_COMMIT_MSG_SOURCE": "commit"}))
    for source, env in sources:
        path = message(b"Merge branch 'topic'\n# comment\n")
        args = ["prepare-message", str(path), *([source] if source else [])]
        done = run_process(*args, cwd=git_repo.path, env=env)
        assert done.returncode == 0 and done.stderr == "", done.stderr
        assert path.read_bytes() == b"Merge branch 'topic'\n# comment\n", source

    path = message(b"Split\r\nbody caf\xc3\xa9 \xff\n# comment\n")
    inode = path.stat().st_ino
    path.chmod(0o640)
    done = run_process("prepare-message", str(path), "message", cwd=git_repo.path)
    assert done.returncode == 0, done.stderr
    assert path.read_bytes() == b"PAY-142: Split\r\nbody caf\xc3\xa9 \xff\n# comment\n"
    assert path.stat().st_ino != inode  # a new file renamed over the old one
    assert path.stat().st_mode & 0o777 == 0o640
    assert not list(path.parent.glob(".jira-brief-*"))
