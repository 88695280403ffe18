"""A pull request's changed files through PyGithub and FakeGitHub, paginated as GitHub does it."""

from __future__ import annotations

from jira_brief.brief.diff import reduce_diff, skip_reason
from jira_brief.config.values import Secret
from jira_brief.forges.github.api import connect
from jira_brief.forges.github.forge import GitHubPull
from tests.fakes.github_server import FakeGitHub

TOKEN = "ghs_filesToken0042"


def test_every_page_is_read_and_binary_files_are_marked() -> None:
    files: dict[str, str | None] = {f"src/module_{n:04}.py": f"@@ -0,0 +1 @@\n+value = {n}\n" for n in range(250)}
    files["src/module_0001.py"] = None  # GitHub leaves `patch` out for binary files and very large diffs
    with FakeGitHub(token=TOKEN) as fake:
        fake.add_pull(3, title="PAY-1 many files", head_ref="feature/many")
        fake.set_files(3, files)
        client = connect(Secret(TOKEN), fake.url, write_spacing=0)
        diff = GitHubPull(client, client.get_repo(fake.repo).get_pull(3)).change()
        pages = [path for method, path, _ in fake.requests if method == "GET" and "/files" in path]
    assert len(diff.files) == 250
    assert len(pages) == 3  # 100 a page, following the Link header
    assert diff.files[0].hunks[0].lines == ("+value = 0",)
    assert diff.files[1].binary and not diff.files[2].binary


def test_a_rename_alone_is_a_rename_not_a_binary_file() -> None:
    with FakeGitHub(token=TOKEN) as fake:
        fake.add_pull(4, title="PAY-1 move", head_ref="feature/move")
        fake.set_files(
            4, {"shop/payments.py": None, "shop/logo.png": None}, renamed={"shop/payments.py": "shop/pay.py"}
        )
        client = connect(Secret(TOKEN), fake.url, write_spacing=0)
        diff = GitHubPull(client, client.get_repo(fake.repo).get_pull(4)).change()
    moved, logo = diff.files
    assert (moved.status, moved.old_path, moved.binary) == ("renamed", "shop/pay.py", False)
    assert skip_reason(moved) is None and skip_reason(logo) == "binary"
    excerpt = reduce_diff(diff, ["payments"])
    assert "### shop/payments.py [renamed] (renamed from shop/pay.py, content unchanged)" in excerpt.text
