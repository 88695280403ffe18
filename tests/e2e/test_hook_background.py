"""The brief hook's background job, end to end: through real git and real pre-commit (slow tier) the job
starts, fills the cache and ends, and the next commit shows the brief; a hung MCP server costs one budget
and is then skipped; two quick commits share one job; a new branch is briefed before its first commit;
the message file is never changed. Then `jira-brief show` and `jira-brief prefetch` as a user runs them."""

from __future__ import annotations

import re
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from jira_brief.commands.hook import ON_ITS_WAY
from tests.conftest import CONSOLE_SCRIPT, GitRepo, job_status, process_alive, wait_for_jobs, worker_pids
from tests.e2e.conftest import Services, Workspace, closed_url, hook_environ, jira_lines, run_in_pty, short_budget
from tests.fakes.mcp_http import silent_server

pytestmark = pytest.mark.usefixtures("isolated_env", "stop_jobs")

PAY_142_LINE = "PAY-142 · Split payments between two cards · In Progress"
BRIEF_142 = "Brief for PAY-142."
MARGIN = 1.0  # seconds of slack for a loaded machine, on top of the bound each test states


def pre_commit_alone(workspace: Workspace) -> float:
    """What a commit costs with pre-commit and the brief hook skipped (median of three)."""
    times = []
    for _ in range(3):
        workspace.stage()
        done = workspace.commit("-m", "PAY-142: pre-commit alone", SKIP="jira-brief")
        assert done.returncode == 0, done.output
        times.append(done.seconds)
    return statistics.median(times)


def on_its_way(output: str, key: str = "PAY-142") -> bool:
    return any(line.startswith(key) and line.endswith(ON_ITS_WAY) for line in output.splitlines())


def test_the_job_briefs_in_the_background_and_the_next_commit_shows_it(workspace: Workspace, tmp_path: Path) -> None:
    budget = short_budget()
    workspace.extra["JIRA_BRIEF_HOOK_BUDGET"] = str(budget)
    workspace.services.llm.latency = float(budget)  # with the job's own start, past the first commit's budget
    workspace.install("jira-brief")
    workspace.branch("feature/PAY-142-split")
    alone = pre_commit_alone(workspace)

    workspace.stage()
    first = workspace.commit("-m", "PAY-142: split the form")
    assert first.returncode == 0, first.output
    assert on_its_way(first.output), first.output
    assert first.seconds < alone + budget + MARGIN, (first.seconds, alone)
    [pid] = wait_for_jobs(workspace.cache_dir, "PAY-142")
    assert not process_alive(pid) and worker_pids(tmp_path) == []  # nothing left running

    workspace.stage()
    second = workspace.commit("-m", "PAY-142: handle the second card")
    assert PAY_142_LINE in second.output and BRIEF_142 in second.output, second.output
    assert second.seconds < alone + MARGIN, (second.seconds, alone)  # the cache answers: no wait
    workspace.stage()
    third = workspace.commit("-m", "PAY-142: tidy up")
    assert PAY_142_LINE in third.output and BRIEF_142 not in third.output, third.output
    assert workspace.services.llm.calls == 1  # one model call for the branch's ticket
    assert worker_pids(tmp_path) == []  # fresh and briefed: no job was started


def test_a_hung_mcp_server_costs_one_budget_then_is_skipped(workspace: Workspace, tmp_path: Path) -> None:
    budget = short_budget()
    patience = budget + 3  # the job's wait for the server (`timeout`): longer than the first commit's budget
    workspace.install("jira-brief")
    alone = pre_commit_alone(workspace)
    with silent_server() as url:
        workspace.extra.update(
            JIRA_BRIEF_MCP_URL=url, JIRA_BRIEF_HOOK_BUDGET=str(budget), JIRA_BRIEF_TIMEOUT=str(patience)
        )
        workspace.stage()
        first = workspace.commit("-m", "PAY-142: off the VPN")
        assert first.returncode == 0, first.output
        assert on_its_way(first.output) and not jira_lines(first.output), first.output
        assert first.seconds < alone + budget + MARGIN, (first.seconds, alone)
        [pid] = wait_for_jobs(workspace.cache_dir, "PAY-142", timeout=patience + 30)
        started = job_status(workspace.cache_dir, "PAY-142")["started"]

        workspace.stage()
        second = workspace.commit("-m", "PAY-142: still off the VPN")
    assert second.returncode == 0, second.output
    assert second.seconds < alone + 1.0, (second.seconds, alone)  # the goal: pre-commit + 1 s at most
    [line] = jira_lines(second.output)
    assert re.fullmatch(
        rf"jira-brief: warning: Jira MCP server {re.escape(url)} did not answer within {patience} s; "
        r"retrying after \d\d:\d\d \(JIRA_BRIEF_HOOK_RETRY_AFTER\)",
        line,
    ), line
    assert job_status(workspace.cache_dir, "PAY-142")["started"] == started  # skipped: no new job
    assert not process_alive(pid) and worker_pids(tmp_path) == []
    assert workspace.message() == "PAY-142: still off the VPN\n"


def test_two_quick_commits_start_one_job(workspace: Workspace, tmp_path: Path) -> None:
    budget = short_budget()
    workspace.extra["JIRA_BRIEF_HOOK_BUDGET"] = str(budget)
    workspace.services.llm.latency = 3.0 * budget  # still writing when the second commit comes
    workspace.install("jira-brief")
    workspace.branch("feature/PAY-142-split")
    workspace.stage()
    assert on_its_way(workspace.commit("-m", "PAY-142: first").output)
    [pid] = worker_pids(tmp_path)
    workspace.stage()
    second = workspace.commit("-m", "PAY-142: second, at once")
    assert on_its_way(second.output), second.output
    assert worker_pids(tmp_path) == [pid] and job_status(workspace.cache_dir, "PAY-142")["pid"] == pid
    assert wait_for_jobs(workspace.cache_dir, "PAY-142") == [pid]
    workspace.stage()
    assert BRIEF_142 in workspace.commit("-m", "PAY-142: third").output
    assert workspace.services.llm.calls == 1


def test_a_new_branch_is_briefed_before_its_first_commit(workspace: Workspace, tmp_path: Path) -> None:
    workspace.install("jira-brief", "jira-brief-prefetch")
    alone = pre_commit_alone(workspace)
    checkout = workspace.run(["git", "checkout", "-b", "feature/PAY-142-split"])
    assert checkout.returncode == 0, checkout.output
    assert checkout.seconds < alone + MARGIN, checkout.seconds  # post-checkout only starts the job
    [pid] = wait_for_jobs(workspace.cache_dir, "PAY-142")
    started = job_status(workspace.cache_dir, "PAY-142")["started"]

    (workspace.repo.path / "README.md").write_text("changed\n", encoding="utf-8")
    files = workspace.run(["git", "checkout", "--", "README.md"])  # a checkout of files: nothing to prepare
    assert files.returncode == 0, files.output
    workspace.stage()
    first = workspace.commit("-m", "PAY-142: the first commit of the branch")
    assert PAY_142_LINE in first.output and BRIEF_142 in first.output, first.output
    assert first.seconds < alone + MARGIN, (first.seconds, alone)
    assert job_status(workspace.cache_dir, "PAY-142")["started"] == started
    assert not process_alive(pid) and workspace.services.llm.calls == 1


@pytest.mark.parametrize("state", ["nothing cached", "cached", "server down"])
def test_the_hook_never_changes_the_message(workspace: Workspace, tmp_path: Path, state: str) -> None:
    typed = b"PAY-142: caf\xc3\xa9 \r\n\r\n  indented body   \n# not a comment with verbatim\n\n\n"
    workspace.install("jira-brief")
    if state != "nothing cached":
        workspace.stage()
        assert BRIEF_142 in workspace.commit("-m", "PAY-142: warm the cache").output
        wait_for_jobs(workspace.cache_dir, "PAY-142")
    if state == "server down":
        workspace.extra["JIRA_BRIEF_MCP_URL"] = closed_url()
        workspace.extra["JIRA_BRIEF_HOOK_TTL"] = "0"
    path = tmp_path / "typed-message"
    path.write_bytes(typed)
    workspace.stage()
    done = workspace.commit("--cleanup=verbatim", "-F", str(path))
    assert done.returncode == 0, done.output
    stored = subprocess.run(["git", "cat-file", "commit", "HEAD"], cwd=workspace.repo.path, capture_output=True)
    assert stored.stdout.split(b"\n\n", 1)[1] == typed
    assert path.read_bytes() == typed


# --- `jira-brief show` and `jira-brief prefetch` ------------------------------------------------


@pytest.fixture
def run(git_repo: GitRepo, services: Services, tmp_path: Path) -> Any:
    """`jira-brief ARGS` as a process in the repository, with the developer's environment."""

    def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(CONSOLE_SCRIPT), *args],
            cwd=git_repo.path,
            capture_output=True,
            text=True,
            env=hook_environ(services, tmp_path / "cache", **env),
            timeout=120,
        )

    return run


@pytest.mark.slow  # seconds of real waiting or process starts: the slow tier
def test_show_waits_for_the_job_then_the_next_commit_says_one_line(
    run: Any, git_repo: GitRepo, services: Services, tmp_path: Path
) -> None:
    git_repo.git("checkout", "-q", "-b", "feature/PAY-142-split")
    shown = run("show")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("PAY-142\n") and BRIEF_142 in shown.stdout
    assert shown.stderr == ""  # piped: no spinner
    assert services.llm.calls == 1 and worker_pids(tmp_path) == []
    message = tmp_path / "COMMIT_EDITMSG"
    message.write_text("split the form\n", encoding="utf-8")
    assert run("hook", str(message)).stdout.strip() == PAY_142_LINE  # shown already on this branch
    again = run("show")
    assert again.stdout == shown.stdout and services.llm.calls == 1  # from the cache


@pytest.mark.slow  # seconds of real waiting or process starts: the slow tier
def test_show_spins_on_a_terminal_while_it_waits(git_repo: GitRepo, services: Services, tmp_path: Path) -> None:
    services.llm.latency = 1.0
    environ = hook_environ(services, tmp_path / "cache", TERM="xterm-256color")
    code, screen = run_in_pty([str(CONSOLE_SCRIPT), "show", "WEB-88"], git_repo.path, environ)
    assert code == 0, screen
    assert "Writing briefs" in screen or "Reading WEB-88" in screen, screen
    assert "Brief for WEB-88." in screen


@pytest.mark.slow  # seconds of real waiting or process starts: the slow tier
def test_show_tries_a_remembered_failure_again_and_says_what_failed(
    run: Any, git_repo: GitRepo, tmp_path: Path
) -> None:
    url = closed_url()
    message = tmp_path / "COMMIT_EDITMSG"
    message.write_text("PAY-142: down\n", encoding="utf-8")
    hooked = run("hook", str(message), JIRA_BRIEF_MCP_URL=url)
    [warning] = jira_lines(hooked.stderr)
    assert "retrying after" in warning
    before = job_status(tmp_path / "cache", "PAY-142")["started"]
    shown = run("show", "PAY-142", JIRA_BRIEF_MCP_URL=url)
    assert shown.returncode == 1
    assert job_status(tmp_path / "cache", "PAY-142")["started"] > before  # asked now: tried again
    [line] = jira_lines(shown.stderr)
    assert "cannot reach the Jira MCP server" in line and url in line
    nothing = run("show")
    assert nothing.returncode == 2
    assert jira_lines(nothing.stderr) == [
        "jira-brief: error: no Jira key in the branch name 'main'; name the tickets: jira-brief show PAY-142"
    ]


def test_prefetch_starts_the_job_on_a_branch_checkout_only(
    run: Any, git_repo: GitRepo, services: Services, tmp_path: Path
) -> None:
    git_repo.git("checkout", "-q", "-b", "feature/PAY-142-split")
    head = git_repo.git("rev-parse", "HEAD").strip()
    files = run("prefetch", head, head, "0")
    assert files.returncode == 0 and files.stdout + files.stderr == ""
    assert job_status(tmp_path / "cache", "PAY-142") == {}  # a checkout of files: nothing
    started = time.monotonic()
    branch = run("prefetch", head, head, "1")
    assert branch.returncode == 0 and branch.stdout + branch.stderr == ""
    assert time.monotonic() - started < 5  # it only starts the job
    wait_for_jobs(tmp_path / "cache", "PAY-142")
    message = tmp_path / "COMMIT_EDITMSG"
    message.write_text("split the form\n", encoding="utf-8")
    hooked = run("hook", str(message))
    assert PAY_142_LINE in hooked.stdout and BRIEF_142 in hooked.stdout
    assert services.llm.calls == 1
