"""The GitLab client as jira-brief configures python-gitlab, against FakeGitLab over real HTTP (and HTTPS):
our retry policy (GET, PUT and DELETE retried, a POST never re-sent), failures as one line, the notes
thread, the token's variables and TLS with a custom CA."""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from jira_brief.config.values import Secret
from jira_brief.errors import UsageError
from jira_brief.forges.gitlab.api import (
    GitLabApi,
    GitLabError,
    GitLabThread,
    base_url,
    connect,
    missing_token,
    token_from,
)
from tests.fakes.gitlab_server import FakeGitLab

MR_PATH = "/projects/4242/merge_requests/7"
NOTES = MR_PATH + "/notes"


@pytest.fixture
def fake() -> Iterator[FakeGitLab]:
    with FakeGitLab() as server:
        server.add_merge_request(7, title="PAY-142 split payments", source_branch="feature/PAY-142")
        yield server


def api_for(fake: FakeGitLab, token: str | None = None) -> GitLabApi:
    """Our client, without the backoff's sleeps."""
    return connect(Secret(token or fake.token), fake.api_url, True, backoff=0)


def thread_for(fake: FakeGitLab) -> GitLabThread:
    return GitLabThread(api_for(fake), 4242, 7, f"{fake.url}/acme/shop/-/merge_requests/7")


def sent(fake: FakeGitLab, method: str, path: str) -> int:
    return sum(
        1 for request in fake.requests if request.method == method and request.target.split("?")[0].endswith(path)
    )


def test_reads_are_retried_through_5xx_and_rate_limits(fake: FakeGitLab) -> None:
    fake.fail_next("GET", MR_PATH + "$", 502)
    fake.rate_limit_next("GET", MR_PATH + "$", retry_after=0)

    answer = api_for(fake).get(MR_PATH, "reading the merge request", 7)

    assert answer["iid"] == 7 and sent(fake, "GET", MR_PATH) == 3


@pytest.mark.parametrize(
    ("fault", "line"),
    [
        (
            "rate_limit",
            "GitLab kept rate-limiting the requests while reading the merge request (429 Retry later); try again later",
        ),
        (500, "GitLab failed while reading the merge request (500 Internal Server Error); try again later"),
        (503, "GitLab failed while reading the merge request (503); try again later"),
    ],
)
def test_a_lasting_failure_is_one_line_after_four_retries(fake: FakeGitLab, fault: object, line: str) -> None:
    for _ in range(5):
        if fault == "rate_limit":
            fake.rate_limit_next("GET", MR_PATH + "$")
        else:
            fake.fail_next("GET", MR_PATH + "$", int(str(fault)))

    with pytest.raises(GitLabError) as failure:
        api_for(fake).get(MR_PATH, "reading the merge request", 7)

    assert str(failure.value) == line
    assert sent(fake, "GET", MR_PATH) == 5


@pytest.mark.parametrize("status", [500, 502])
def test_a_post_is_never_sent_twice_even_when_gitlab_stored_it(fake: FakeGitLab, status: int) -> None:
    fake.fail_next("POST", NOTES + "$", status, after_apply=True)

    created = thread_for(fake).create("<!-- jira-brief -->\nbrief")

    assert created is None  # the caller lists again
    assert sent(fake, "POST", NOTES) == 1 and len(fake.notes(7)) == 1


def test_a_throttled_post_is_not_resent(fake: FakeGitLab) -> None:
    fake.rate_limit_next("POST", NOTES + "$", retry_after=0)

    assert thread_for(fake).create("<!-- jira-brief -->\nbrief") is None
    assert sent(fake, "POST", NOTES) == 1 and fake.notes(7) == []


def test_the_thread_lists_every_page_oldest_first_without_system_notes(fake: FakeGitLab) -> None:
    ids = [fake.add_note(7, f"note {number}") for number in range(150)]
    fake.push_commits(7, ["PAY-142 more"])
    fake.add_note(7, "a system note", system=True)
    thread = thread_for(fake)

    listed = thread.listing()

    assert [posted.id for posted in listed] == ids
    assert listed[0].author == "dev" and listed[0].url.endswith(f"/merge_requests/7#note_{ids[0]}")
    assert thread.identity() == fake.bot.username


def test_edit_and_delete_of_a_note_gone_meanwhile(fake: FakeGitLab) -> None:
    thread = thread_for(fake)
    posted = thread.create("<!-- jira-brief -->\nv1")
    assert posted is not None and posted.author == fake.bot.username

    assert thread.edit(posted, "<!-- jira-brief -->\nv2") is True
    thread.delete(posted)
    thread.delete(posted)  # already gone: done

    assert thread.edit(posted, "<!-- jira-brief -->\nv3") is False
    assert fake.notes(7) == []


def test_a_system_note_refuses_our_edit_in_one_line(fake: FakeGitLab) -> None:
    note = fake.add_note(7, "<!-- jira-brief -->\nforged", system=True)
    thread = thread_for(fake)
    posted = thread_for(fake).listing()  # system notes are never listed as ours…
    assert posted == []

    with pytest.raises(GitLabError, match=r"may not write notes on merge request !7 \(403 Forbidden\)"):
        thread.api.put(f"{NOTES}/{note}", {"body": "x"}, "writing the note", 7)  # …nor editable


def test_an_expired_token_says_so(fake: FakeGitLab) -> None:
    fake.add_token("glpat-expired-0001", username=fake.bot.username, kind="project", expired=True)

    with pytest.raises(GitLabError) as failure:
        api_for(fake, "glpat-expired-0001").get("/user", "asking GitLab who the token is")

    assert "GitLab rejected the token (401 invalid_token: Token is expired." in str(failure.value)


def test_an_unreachable_gitlab_is_one_line(fake: FakeGitLab) -> None:
    api = connect(Secret("glpat-x"), "http://127.0.0.1:9/api/v4", True, backoff=0)

    with pytest.raises(GitLabError) as failure:
        api.get(MR_PATH, "reading the merge request", 7)

    assert str(failure.value) == (
        "GitLab at 127.0.0.1 could not be reached while reading the merge request (ConnectionError): "
        "check CI_API_V4_URL, HTTPS_PROXY and NO_PROXY"
    )


def test_the_token_variables_and_the_job_token_line() -> None:
    both = {"GITLAB_TOKEN": "glpat-a", "JIRA_BRIEF_GITLAB_TOKEN": " glpat-b "}
    assert token_from(both) == Secret("glpat-b")
    assert token_from({"GITLAB_TOKEN": "glpat-a", "JIRA_BRIEF_GITLAB_TOKEN": ""}) == Secret("glpat-a")
    assert token_from({"CI_JOB_TOKEN": "glcbt-x"}) is None

    job_only = str(missing_token({"CI_JOB_TOKEN": "glcbt-x"}))
    nothing = str(missing_token({}))

    assert job_only.startswith("CI_JOB_TOKEN cannot write merge request notes: create a project access token")
    assert "api scope" in job_only and "masked CI/CD variable GITLAB_TOKEN" in job_only
    assert nothing.startswith("no GitLab token (JIRA_BRIEF_GITLAB_TOKEN or GITLAB_TOKEN)")
    assert "\n" not in job_only + nothing


@pytest.mark.parametrize(
    ("api_url", "base"),
    [
        ("https://gitlab.example.com/api/v4", "https://gitlab.example.com"),
        ("https://example.com/gitlab/api/v4/", "https://example.com/gitlab"),
    ],
)
def test_the_instance_url_comes_from_ci_api_v4_url(api_url: str, base: str) -> None:
    assert base_url(api_url) == base


@pytest.mark.parametrize("api_url", ["https://gitlab.example.com", "ftp://gitlab.example.com/api/v4", ""])
def test_a_wrong_ci_api_v4_url_is_a_usage_error(api_url: str) -> None:
    with pytest.raises(UsageError, match="CI_API_V4_URL must be GitLab's API URL"):
        base_url(api_url)


@pytest.fixture
def tls_fake(tmp_path: Path) -> Iterator[tuple[FakeGitLab, Path]]:
    """FakeGitLab behind TLS with a self-signed certificate for 127.0.0.1 (made by the openssl tool): a
    self-managed instance with the company's own CA."""
    cert, key = tmp_path / "ca.pem", tmp_path / "key.pem"
    subject = ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", *subject]
    subprocess.run([*command, "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with FakeGitLab() as server:
        server.add_merge_request(7, title="PAY-142", source_branch="feature/PAY-142")
        server.listener.socket = context.wrap_socket(server.listener.socket, server_side=True)
        yield server, cert


def test_a_custom_ca_bundle_reaches_a_self_managed_instance(tls_fake: tuple[FakeGitLab, Path]) -> None:
    fake, ca = tls_fake
    api_url = fake.api_url.replace("http://", "https://")

    answer = connect(Secret(fake.token), api_url, str(ca), backoff=0).get(MR_PATH, "reading the merge request", 7)
    with pytest.raises(GitLabError) as refused:
        connect(Secret(fake.token), api_url, True, backoff=0).get(MR_PATH, "reading the merge request", 7)

    assert answer["iid"] == 7
    assert str(refused.value) == (
        "TLS verification failed for GitLab at 127.0.0.1: pass --ca-bundle FILE (or SSL_CERT_FILE) with your CA"
    )


def test_https_proxy_and_no_proxy_apply(fake: FakeGitLab, monkeypatch: pytest.MonkeyPatch) -> None:
    """The runner's proxy variables reach GitLab's client (here a proxy that is down, then bypassed)."""
    for name in ("HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(GitLabError, match=r"could not be reached while reading the merge request \(ProxyError\)"):
        api_for(fake).get(MR_PATH, "reading the merge request", 7)

    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert api_for(fake).get(MR_PATH, "reading the merge request", 7)["iid"] == 7
