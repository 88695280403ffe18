"""The loopback HTTP plumbing the fakes share, so that each fake holds only its API's behaviour.

`Loopback` runs an HTTP server on 127.0.0.1 and a free port from a background thread, between start()
and stop(). `LoopbackFake` is the base of a fake web API on top of it: a context manager that hands every
request, read whole, to the fake's `respond` and writes the `Response` it returns back as it is
(HTTP/1.0, one request per connection), and that keeps the record of the requests the fake saw.
"""

from __future__ import annotations

import json
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import ClassVar, Generic, Self, TypeVar

POLL_SECONDS = 0.02  # serve_forever's shutdown check; its 0.5 s default slows every teardown

Record = TypeVar("Record")


@dataclass(frozen=True)
class Request:
    """One request as it arrived: method, target (path and query), headers and body."""

    method: str
    target: str
    headers: Message
    body: bytes


@dataclass(frozen=True)
class Response:
    """One answer as it goes on the wire: status, headers in their order, body."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


@dataclass
class Fault:
    """A scripted answer to the next request of `method` whose path matches `path_regex`, consumed once;
    with `after_apply` the operation happens first (a write stored, then the failure answered). Each
    fake adds its body and how it answers."""

    method: str
    path_regex: re.Pattern[str]
    status: int
    after_apply: bool = False
    headers: dict[str, str] = field(default_factory=dict)

    def matches(self, method: str, path: str) -> bool:
        return self.method == method and self.path_regex.search(path) is not None


AnyFault = TypeVar("AnyFault", bound=Fault)


class Faults(Generic[AnyFault]):
    """The faults a test scripted, in order; the caller holds the fake's lock."""

    def __init__(self) -> None:
        self.items: list[AnyFault] = []

    def add(self, fault: AnyFault) -> None:
        self.items.append(fault)

    def take(self, method: str, path: str, wanted: Callable[[AnyFault], bool] = lambda _: True) -> AnyFault | None:
        """Pop the first scripted fault that matches this request (and `wanted`), if any."""
        for index, fault in enumerate(self.items):
            if wanted(fault) and fault.matches(method, path):
                return self.items.pop(index)
        return None


def encode(body: object, *, separators: tuple[str, str] | None = None) -> bytes:
    """The bytes of a reply's body: nothing for None, UTF-8 for text, JSON for the rest."""
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body, separators=separators).encode()


class Loopback:
    """An HTTP server on 127.0.0.1 and a free port, served from a background thread between start() and stop().

    `name` names the thread and the fake in the error of a fake used while stopped.
    """

    def __init__(self, make_server: Callable[[], ThreadingHTTPServer], *, name: str) -> None:
        self._make_server = make_server
        self._name = name
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def server(self) -> ThreadingHTTPServer:
        """The running server."""
        if self._server is None:
            raise RuntimeError(f"{self._name} is not running; use it as a context manager")
        return self._server

    @property
    def url(self) -> str:
        """http://127.0.0.1:PORT"""
        return f"http://127.0.0.1:{self.server.server_port}"

    def start(self) -> None:
        """Bind the port and serve from a background thread."""
        self._server = self._make_server()
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": POLL_SECONDS}, name=self._name, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving, join the serve thread, close the socket and join the handler threads."""
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()  # joins the handler threads of a server whose daemon_threads is False
        self._server = self._thread = None


class LoopbackFake(ABC, Generic[Record]):
    """A fake web API on 127.0.0.1; use it as a context manager.

    A subclass answers in `respond` and appends what it saw to `_requests` under `_lock`, which also
    guards the rest of its state (handler threads serve requests side by side).
    """

    # Which of these five methods the API serves; any other gets the standard library's 501 "Unsupported method".
    methods: ClassVar[frozenset[str]] = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._requests: list[Record] = []
        self._loopback = Loopback(lambda: _Server(self.respond, self.methods), name=type(self).__name__)

    def __enter__(self) -> Self:
        """Bind an ephemeral loopback port and serve from a background thread."""
        self._loopback.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop serving, join the serve and handler threads, close the socket."""
        self._loopback.stop()

    @property
    def url(self) -> str:
        """Root URL of the running fake: http://127.0.0.1:PORT."""
        return self._loopback.url

    @property
    def listener(self) -> ThreadingHTTPServer:
        """The running HTTP server, for a test that changes its socket (wraps it in TLS, say)."""
        return self._loopback.server

    @property
    def requests(self) -> list[Record]:
        """Snapshot of every request the fake recorded, in order of arrival."""
        with self._lock:
            return list(self._requests)

    @abstractmethod
    def respond(self, request: Request) -> Response:
        """Answer one request; called by an HTTP handler thread."""


class _Server(ThreadingHTTPServer):
    """Loopback server on an ephemeral port; server_close joins handler threads."""

    daemon_threads = False

    def __init__(self, respond: Callable[[Request], Response], methods: frozenset[str]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.respond = respond
        self.methods = methods


class _Handler(BaseHTTPRequestHandler):
    """Read a request whole, let the fake answer it, write the answer (HTTP/1.0: one per connection)."""

    server: _Server

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: object) -> None:
        """Silent: tests assert on `requests`, not on stderr noise."""

    def _serve(self) -> None:
        if self.command not in self.server.methods:
            # What BaseHTTPRequestHandler answers for a method it has no do_ handler for.
            self.send_error(HTTPStatus.NOT_IMPLEMENTED, f"Unsupported method ({self.command!r})")
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        response = self.server.respond(Request(self.command, self.path, self.headers, body))
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(response.body)
