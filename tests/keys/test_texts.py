"""Where keys come from: the git branch, a commit message file, git log, GitHub event payloads.

Every test uses real git in a temporary repository and real GitHub webhook payloads."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from jira_brief.git import SCISSORS
from tests.conftest import GitRepo, assert_one_line_error, lines_of, write_commit_editmsg

pytestmark = pytest.mark.usefixtures("isolated_env")


def keys_json(invoke, *args: str) -> list[dict[str, str]]:
    result = invoke("keys", "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def feature_branch(repo: GitRepo, name: str = "feature/PAY-142-split") -> None:
    repo.git("checkout", "-q", "-b", name)


# --- branch ------------------------------------------------------------------------------------


class TestBranch:
    def test_key_of_the_current_branch(self, invoke, git_repo: GitRepo) -> None:
        feature_branch(git_repo)
        assert keys_json(invoke, "--branch") == [{"key": "PAY-142", "source": "branch"}]

    def test_branch_is_read_only_when_asked(self, invoke, git_repo: GitRepo) -> None:
        feature_branch(git_repo)
        result = invoke("keys", "no key in this text")
        assert result.exit_code == 0
        assert result.stdout == ""

    def test_lowercase_branch_with_allowlist(self, invoke, git_repo: GitRepo) -> None:
        feature_branch(git_repo, "feature/pay-142-split")
        assert lines_of(invoke("keys", "--branch").stdout) == []
        assert lines_of(invoke("keys", "--branch", "--projects", "PAY").stdout) == ["PAY-142"]

    def test_detached_head_gives_no_key_and_no_error(self, invoke, git_repo: GitRepo) -> None:
        feature_branch(git_repo)
        git_repo.commit("PAY-142 work")
        git_repo.git("checkout", "-q", "--detach")
        result = invoke("keys", "--branch")
        assert result.exit_code == 0
        assert result.stdout == "" and result.stderr == ""

    @pytest.mark.parametrize("variable", ["GITHUB_HEAD_REF", "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME"])
    def test_a_ci_jobs_branch_wins(
        self, invoke, git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, variable: str
    ) -> None:
        feature_branch(git_repo)
        monkeypatch.setenv(variable, "WEB-7-fix")
        assert keys_json(invoke, "--branch") == [{"key": "WEB-7", "source": "branch"}]

    def test_mid_rebase_stopped_by_a_conflict(self, invoke, git_repo: GitRepo) -> None:
        feature_branch(git_repo)
        git_repo.commit("feature side", {"README.md": "feature text\n"})
        git_repo.git("checkout", "-q", "main")
        git_repo.commit("main side", {"README.md": "main text\n"})
        git_repo.git("checkout", "-q", "feature/PAY-142-split")
        git_repo.git("rebase", "main", check=False)
        # Really stopped mid-rebase, on a detached HEAD.
        assert (git_repo.path / ".git" / "rebase-merge").is_dir() or (git_repo.path / ".git" / "rebase-apply").is_dir()
        assert git_repo.git("symbolic-ref", "-q", "HEAD", check=False) == ""
        assert keys_json(invoke, "--branch") == [{"key": "PAY-142", "source": "branch"}]

    def test_mid_interactive_rebase_stopped_at_edit(self, invoke, git_repo: GitRepo, tmp_path: Path) -> None:
        feature_branch(git_repo)
        git_repo.commit("first", {"a.txt": "a\n"})
        git_repo.commit("second", {"b.txt": "b\n"})
        editor = tmp_path / "sequence_editor.py"
        editor.write_text(
            "import sys\n"
            "from pathlib import Path\n"
            "todo = Path(sys.argv[1])\n"
            "lines = todo.read_text().splitlines(keepends=True)\n"
            "lines[0] = lines[0].replace('pick', 'edit', 1)\n"
            "todo.write_text(''.join(lines))\n",
            encoding="utf-8",
        )
        git_repo.git("rebase", "-i", "main", env={"GIT_SEQUENCE_EDITOR": f'"{sys.executable}" "{editor}"'})
        assert (git_repo.path / ".git" / "rebase-merge").is_dir()
        assert git_repo.git("symbolic-ref", "-q", "HEAD", check=False) == ""
        assert lines_of(invoke("keys", "--branch").stdout) == ["PAY-142"]

    def test_from_a_subdirectory_mid_rebase(self, invoke, git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
        feature_branch(git_repo)
        git_repo.commit("feature side", {"README.md": "feature text\n", "sub/x.txt": "x\n"})
        git_repo.git("checkout", "-q", "main")
        git_repo.commit("main side", {"README.md": "main text\n"})
        git_repo.git("checkout", "-q", "feature/PAY-142-split")
        git_repo.git("rebase", "main", check=False)
        (git_repo.path / "sub").mkdir(exist_ok=True)
        monkeypatch.chdir(git_repo.path / "sub")
        assert lines_of(invoke("keys", "--branch").stdout) == ["PAY-142"]

    def test_sources_branch_keeps_only_the_branch_key(self, invoke, git_repo: GitRepo) -> None:
        feature_branch(git_repo)
        both = keys_json(invoke, "--branch", "WEB-7")
        assert both == [{"key": "WEB-7", "source": "arg"}, {"key": "PAY-142", "source": "branch"}]
        assert keys_json(invoke, "--branch", "--sources", "branch", "WEB-7") == [{"key": "PAY-142", "source": "branch"}]

    def test_unknown_source_is_named(self, invoke, git_repo: GitRepo) -> None:
        result = invoke("keys", "--branch", "--sources", "branch,bogus")
        assert result.exit_code == 2
        assert result.stdout == ""
        assert_one_line_error(result.stderr, "bogus")

    def test_real_process_reads_the_branch(self, run_process, git_repo: GitRepo) -> None:
        feature_branch(git_repo)
        done = run_process("keys", "--branch", cwd=git_repo.path)
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines() == ["PAY-142"]


# --- commit message file -----------------------------------------------------------------------


class TestMessageFile:
    def test_real_commit_editmsg_ignores_comments_and_the_diff(self, invoke, git_repo: GitRepo) -> None:
        feature_branch(git_repo, "feature/OPS-5-comment")
        editmsg = write_commit_editmsg(
            git_repo, "PAY-1 Fix the thing\n\nRefs ZED-2\n", {"notes.txt": "mentions WEB-99 in the diff\n"}
        )
        raw = editmsg.read_text(encoding="utf-8")
        # The file really holds git's comments (with the branch key) and the diff (with its key).
        assert f"# {SCISSORS}" in raw
        assert "# On branch feature/OPS-5-comment" in raw
        assert "+mentions WEB-99 in the diff" in raw.split(SCISSORS)[1]
        assert keys_json(invoke, "--message-file", str(editmsg)) == [
            {"key": "PAY-1", "source": "message"},
            {"key": "ZED-2", "source": "message"},
        ]

    def test_key_only_in_a_comment_is_not_found(self, invoke, git_repo: GitRepo, tmp_path: Path) -> None:
        message = tmp_path / "COMMIT_EDITMSG"
        message.write_text("Fix login\n\n# Please enter the commit message. PAY-2\n#PAY-3\n", encoding="utf-8")
        result = invoke("keys", "--message-file", str(message))
        assert result.exit_code == 0
        assert result.stdout == ""

    def test_everything_below_the_scissors_line_is_ignored(self, invoke, git_repo: GitRepo, tmp_path: Path) -> None:
        message = tmp_path / "COMMIT_EDITMSG"
        message.write_text(
            f"PAY-1 subject\n# {SCISSORS}\n# Do not modify or remove the line above.\ndiff --git a/x b/x\n+WEB-2\n",
            encoding="utf-8",
        )
        assert lines_of(invoke("keys", "--message-file", str(message)).stdout) == ["PAY-1"]

    def test_configured_comment_char(self, invoke, git_repo: GitRepo) -> None:
        git_repo.git("config", "core.commentChar", ";")
        feature_branch(git_repo, "feature/OPS-5-comment")
        editmsg = write_commit_editmsg(
            git_repo,
            "PAY-1 subject\n\n#WEB-3 is a message line when ; is the comment char\n",
            {"notes.txt": "WEB-99\n"},
        )
        raw = editmsg.read_text(encoding="utf-8")
        assert f"; {SCISSORS}" in raw and "; On branch feature/OPS-5-comment" in raw
        assert lines_of(invoke("keys", "--message-file", str(editmsg)).stdout) == ["PAY-1", "WEB-3"]

    def test_comment_char_auto(self, invoke, git_repo: GitRepo) -> None:
        git_repo.git("config", "core.commentChar", "auto")
        feature_branch(git_repo, "feature/OPS-5-comment")
        git_repo.commit("PAY-1 subject\n\n#WEB-3 heading kept by git", {"notes.txt": "WEB-99\n"})
        # Amending a message that has a '#' line: git chooses another comment character.
        editmsg = write_commit_editmsg(git_repo, "", {"notes.txt": "WEB-99\nWEB-98\n"}, ("--amend", "-v"))
        raw = editmsg.read_text(encoding="utf-8")
        assert f"# {SCISSORS}" not in raw and SCISSORS in raw and "#WEB-3 heading" in raw
        assert lines_of(invoke("keys", "--message-file", str(editmsg)).stdout) == ["PAY-1", "WEB-3"]

    def test_missing_file_names_it(self, invoke, git_repo: GitRepo, tmp_path: Path) -> None:
        missing = tmp_path / "no-such-COMMIT_EDITMSG"
        result = invoke("keys", "--message-file", str(missing))
        assert result.exit_code == 2
        assert result.stdout == ""
        assert_one_line_error(result.stderr, str(missing))

    def test_missing_file_in_a_real_process(self, run_process, git_repo: GitRepo, tmp_path: Path) -> None:
        missing = tmp_path / "gone.txt"
        done = run_process("keys", "--message-file", str(missing), cwd=git_repo.path)
        assert done.returncode == 2
        assert_one_line_error(done.stderr, str(missing))


# --- git log range -----------------------------------------------------------------------------


class TestCommits:
    def make_history(self, repo: GitRepo) -> list[tuple[str, list[str]]]:
        """Commits on a feature branch; returns (short sha, keys in its message), oldest first."""
        feature_branch(repo, "feature/work")
        messages = [
            ("PAY-1 start the work", ["PAY-1"]),
            ("no key in this one", []),
            ("fix WEB-2 and PAY-1 again\n\nbody mentions OPS-3", ["WEB-2", "PAY-1", "OPS-3"]),
            ("ZED-4: last", ["ZED-4"]),
        ]
        return [
            (repo.commit(message, {f"f{index}.txt": message}), keys) for index, (message, keys) in enumerate(messages)
        ]

    def test_keys_of_a_range_with_their_commit(self, invoke, git_repo: GitRepo) -> None:
        history = self.make_history(git_repo)
        logged = git_repo.git("log", "--format=%h", "main..HEAD").split()
        assert sorted(logged) == sorted(sha for sha, _ in history)
        keys_by_sha = dict(history)
        expected: dict[str, str] = {}
        for sha in logged:  # git log order: newest first
            for key in keys_by_sha[sha]:
                expected.setdefault(key, f"commit {sha}")
        found = keys_json(invoke, "--commits", "main..HEAD")
        assert found == [{"key": key, "source": source} for key, source in expected.items()]
        assert len(found) == 4  # PAY-1 appears twice but is listed once

    def test_commits_on_main_are_not_in_the_range(self, invoke, git_repo: GitRepo) -> None:
        git_repo.commit("OPS-77 on main")
        self.make_history(git_repo)
        assert "OPS-77" not in invoke("keys", "--commits", "main..HEAD").stdout
        assert "OPS-77" in invoke("keys", "--commits", "HEAD").stdout

    def test_empty_range(self, invoke, git_repo: GitRepo) -> None:
        result = invoke("keys", "--commits", "main..main")
        assert result.exit_code == 0 and result.stdout == ""

    @pytest.mark.parametrize("revision_range", ["nosuch..HEAD", "main..nosuch", "main...nosuch-branch"])
    def test_bad_range_is_one_line(self, invoke, git_repo: GitRepo, revision_range: str) -> None:
        result = invoke("keys", "--commits", revision_range)
        assert result.exit_code == 2
        assert result.stdout == ""
        assert_one_line_error(result.stderr, revision_range)

    def test_range_that_looks_like_an_option_is_refused(self, invoke, git_repo: GitRepo, tmp_path: Path) -> None:
        written = tmp_path / "written-by-git-log"
        result = invoke("keys", f"--commits=--output={written}")
        assert not written.exists()
        assert result.exit_code == 2
        assert_one_line_error(result.stderr)

    def test_outside_a_repository(self, invoke, plain_dir: Path) -> None:
        result = invoke("keys", "--commits", "main..HEAD")
        assert result.exit_code == 2
        assert_one_line_error(result.stderr)

    def test_console_script_json(self, run_process, git_repo: GitRepo) -> None:
        history = self.make_history(git_repo)
        done = run_process("keys", "--json", "--commits", "main..HEAD", cwd=git_repo.path, script=True)
        assert done.returncode == 0, done.stderr
        newest_sha, newest_keys = history[-1]
        assert json.loads(done.stdout)[0] == {"key": newest_keys[0], "source": f"commit {newest_sha}"}


# --- GitHub event payloads ---------------------------------------------------------------------


def edit_pull_request(title: str, ref: str, body: str | None):
    def edit(payload: dict) -> None:
        payload["pull_request"]["title"] = title
        payload["pull_request"]["head"]["ref"] = ref
        payload["pull_request"]["body"] = body

    return edit


class TestGithubEvent:
    @pytest.mark.parametrize("name", ["pull_request.opened", "pull_request.reopened", "pull_request.synchronize"])
    def test_pull_request_title_and_head_ref(self, invoke, plain_dir, github_event, name: str) -> None:
        event = github_event(name, edit_pull_request("PAY-1 Update the README", "feature/WEB-2-readme", "Also OPS-3"))
        assert keys_json(invoke, "--github-event", str(event)) == [
            {"key": "PAY-1", "source": "pr-title"},
            {"key": "WEB-2", "source": "branch"},
        ]

    def test_body_counts_only_when_asked(self, invoke, plain_dir, github_event) -> None:
        event = github_event(
            "pull_request.opened", edit_pull_request("PAY-1 Update", "feature/WEB-2-readme", "Fixes OPS-3, PAY-1")
        )
        assert keys_json(invoke, "--github-event", str(event), "--sources", "pr-title,branch,pr-body") == [
            {"key": "PAY-1", "source": "pr-title"},
            {"key": "WEB-2", "source": "branch"},
            {"key": "OPS-3", "source": "pr-body"},
        ]
        assert keys_json(invoke, "--github-event", str(event), "--sources", "pr-body") == [
            {"key": "OPS-3", "source": "pr-body"},
            {"key": "PAY-1", "source": "pr-body"},
        ]

    def test_unedited_payload_has_no_key(self, invoke, plain_dir, github_event) -> None:
        event = github_event("pull_request.opened")
        result = invoke("keys", "--github-event", str(event), "--sources", "pr-title,branch,pr-body")
        assert result.exit_code == 0 and result.stdout == ""

    def test_null_body(self, invoke, plain_dir, github_event) -> None:
        def edit(payload: dict) -> None:
            assert payload["pull_request"]["body"] is None
            payload["pull_request"]["title"] = "PAY-9 readme"

        event = github_event("pull_request.opened.with-null-body", edit)
        result = invoke("keys", "--github-event", str(event), "--sources", "pr-title,branch,pr-body")
        assert result.exit_code == 0, result.output
        assert lines_of(result.stdout) == ["PAY-9"]

    def test_workflow_dispatch_keys_input(self, invoke, plain_dir, github_event) -> None:
        def edit(payload: dict) -> None:
            payload["inputs"]["keys"] = "PAY-1 WEB-2"

        event = github_event("workflow_dispatch", edit)
        assert keys_json(invoke, "--github-event", str(event)) == [
            {"key": "PAY-1", "source": "input"},
            {"key": "WEB-2", "source": "input"},
        ]

    def test_push_payload_has_no_keys(self, invoke, plain_dir, github_event) -> None:
        result = invoke("keys", "--github-event", str(github_event("push")))
        assert result.exit_code == 0
        assert result.stdout == "" and result.stderr == ""

    def test_malformed_json(self, invoke, plain_dir, github_event) -> None:
        event = github_event("pull_request.opened")
        event.write_text(event.read_text(encoding="utf-8")[:500], encoding="utf-8")
        result = invoke("keys", "--github-event", str(event))
        assert result.exit_code == 2
        assert result.stdout == ""
        assert_one_line_error(result.stderr, str(event))

    def test_malformed_json_in_a_real_process(self, run_process, plain_dir, github_event) -> None:
        event = github_event("workflow_dispatch")
        event.write_text("{not json", encoding="utf-8")
        done = run_process("keys", "--github-event", str(event), cwd=plain_dir)
        assert done.returncode == 2
        assert_one_line_error(done.stderr, str(event))

    @pytest.mark.parametrize(
        "payload",
        [
            {"pull_request": {"title": "PAY-1", "head": "feature/WEB-2"}},
            {"pull_request": {"title": 42, "head": {"ref": "feature/WEB-2"}}},
            {"pull_request": {"title": "PAY-1", "head": {"ref": ["feature/WEB-2"]}}},
        ],
        ids=["head-is-a-string", "title-is-a-number", "ref-is-a-list"],
    )
    def test_unexpected_payload_shape_is_one_line(self, run_process, plain_dir, payload: dict) -> None:
        event = plain_dir / "event.json"
        event.write_text(json.dumps(payload), encoding="utf-8")
        done = run_process("keys", "--github-event", str(event), cwd=plain_dir)
        assert "Traceback" not in done.stderr
        assert done.returncode in (0, 2)
        if done.returncode == 2:
            assert_one_line_error(done.stderr, str(event))

    def test_missing_event_file(self, invoke, plain_dir, tmp_path: Path) -> None:
        missing = tmp_path / "event.json"
        result = invoke("keys", "--github-event", str(missing))
        assert result.exit_code == 2
        assert_one_line_error(result.stderr, str(missing))

    def test_event_with_projects_and_arguments(self, invoke, plain_dir, github_event) -> None:
        event = github_event("pull_request.opened", edit_pull_request("pay-1 and OPS-2", "feature/web-3", None))
        assert keys_json(invoke, "ZED-4", "--github-event", str(event), "--projects", "pay,web,zed") == [
            {"key": "ZED-4", "source": "arg"},
            {"key": "PAY-1", "source": "pr-title"},
            {"key": "WEB-3", "source": "branch"},
        ]
