"""The loopback plumbing the fakes share, through a small fake of its own."""

from __future__ import annotations

import http.client
import socket

import pytest

from tests.fakes.loopback import LoopbackFake, Request, Response


class Mirror(LoopbackFake[str]):
    """Answers GET and POST with the body reversed; serves no other method."""

    methods = frozenset({"GET", "POST"})

    def respond(self, request: Request) -> Response:
        with self._lock:
            self._requests.append(f"{request.method} {request.target} {request.headers['X-Note']}")
        return Response(201, [("Content-Type", "text/plain"), ("X-Seen", "yes")], request.body[::-1])


def send(fake: Mirror, method: str, body: bytes) -> http.client.HTTPResponse:
    port = int(fake.url.rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request(method, "/path?q=1", body=body, headers={"X-Note": "hello"})
    return connection.getresponse()


def test_the_answer_is_what_respond_returns_and_the_request_is_recorded() -> None:
    with Mirror() as fake:
        answer = send(fake, "POST", b"abc")

        assert (answer.status, answer.version, answer.read()) == (201, 10, b"cba")
        assert answer.getheader("Content-Type") == "text/plain" and answer.getheader("X-Seen") == "yes"
        assert fake.requests == ["POST /path?q=1 hello"]


def test_a_method_the_fake_does_not_serve_gets_the_standard_501_and_is_not_recorded() -> None:
    with Mirror() as fake:
        answer = send(fake, "PUT", b"abc")

        assert (answer.status, answer.reason) == (501, "Unsupported method ('PUT')")
        assert fake.requests == []


def test_a_stopped_fake_frees_its_port_and_says_how_to_run_it() -> None:
    with Mirror() as fake:
        port = int(fake.url.rsplit(":", 1)[1])

    with pytest.raises(RuntimeError, match=r"^Mirror is not running; use it as a context manager$"):
        _ = fake.url
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass
