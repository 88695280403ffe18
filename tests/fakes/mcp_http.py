"""An MCP server (e.g. the demo Jira) served over streamable HTTP or SSE on loopback, in a thread."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from types import TracebackType
from typing import Any


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServedMCP:
    """`with ServedMCP(server) as served:` serves `server` at `served.url` until the block ends.

    `require_token` answers 401 to requests without `Authorization: Bearer <token>` (`require_authorization`:
    without that whole header value, e.g. `Basic …`); `delay` slows
    every request, to play a slow server; `sse_answers` answers every request as a server-sent event,
    as servers on the 2025 protocol (mcp<2, so mcp-atlassian) always do, where this SDK's server
    answers a quick request with plain JSON; `flood` answers each tool call with an `application/json`
    body that never completes its message, `flood` bytes long (a broken or hostile server)."""

    def __init__(
        self,
        server: Any,
        *,
        transport: str = "http",
        require_token: str | None = None,
        require_authorization: str | None = None,
        delay: float = 0.0,
        sse_answers: bool = False,
        flood: int = 0,
    ) -> None:
        self.server, self.transport = server, transport
        self.authorization = require_authorization or (f"Bearer {require_token}" if require_token else None)
        self.delay, self.sse_answers, self.flood = delay, sse_answers, flood
        self.port = free_port()
        path = "/sse" if transport == "sse" else "/mcp"
        self.url = f"http://127.0.0.1:{self.port}{path}"
        self._uvicorn: Any = None
        self._thread: threading.Thread | None = None

    def _app(self) -> Any:
        app = self.server.sse_app() if self.transport == "sse" else self.server.streamable_http_app()
        if self.sse_answers:
            app = _as_server_sent_events(app)
        if self.flood:
            app = _flooding_tool_calls(app, self.flood)
        if not (self.authorization or self.delay):
            return app
        import anyio
        from starlette.responses import JSONResponse

        async def guarded(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                if self.delay:
                    await anyio.sleep(self.delay)
                headers = dict(scope.get("headers") or [])
                if self.authorization and headers.get(b"authorization") != self.authorization.encode():
                    await JSONResponse({"error": "unauthorized"}, status_code=401)(scope, receive, send)
                    return
            await app(scope, receive, send)

        return guarded

    def __enter__(self) -> ServedMCP:
        import uvicorn

        config = uvicorn.Config(self._app(), host="127.0.0.1", port=self.port, log_level="critical", lifespan="on")
        self._uvicorn = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._uvicorn.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._uvicorn.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the MCP test server did not start")
            time.sleep(0.01)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._uvicorn.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)


def _as_server_sent_events(app: Any) -> Any:
    """`app` with each JSON answer to a POST sent instead as one `event: message` SSE stream, the
    wire shape of a 2025-protocol server (one event however big the result)."""

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await app(scope, receive, send)
            return
        held: dict[str, Any] = {}
        body = bytearray()

        async def rewrite(message: Any) -> None:
            headers = dict(held.get("start", message).get("headers", []))
            if message["type"] == "http.response.start" and headers.get(b"content-type", b"").startswith(
                b"application/json"
            ):
                held["start"] = message
                return
            if "start" not in held:
                await send(message)
                return
            body.extend(message.get("body", b""))
            if message.get("more_body"):
                return
            start = held["start"]
            kept = [
                (name, value) for name, value in start["headers"] if name not in (b"content-type", b"content-length")
            ]
            event = b"event: message\r\ndata: " + bytes(body) + b"\r\n\r\n"
            await send({**start, "headers": [*kept, (b"content-type", b"text/event-stream")]})
            await send({"type": "http.response.body", "body": event, "more_body": False})

        await app(scope, receive, rewrite)

    return wrapped


FLOOD_PIECE = 1 << 20


def _flooding_tool_calls(app: Any, size: int) -> Any:
    """`app` answering each tools/call with a 200 `application/json` body of `size` bytes whose JSON never
    closes, sent as fast as the client reads it; every other request goes to `app` as it came."""

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await app(scope, receive, send)
            return
        received = [await receive()]
        while received[-1].get("more_body"):
            received.append(await receive())
        if b'"tools/call"' not in b"".join(message.get("body", b"") for message in received):
            replay = iter(received)
            await app(scope, lambda: _next_or_wait(replay, receive), send)
            return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        opening = b'{"jsonrpc": "2.0", "id": 1, "result": {"content": [{"type": "text", "text": "'
        await send({"type": "http.response.body", "body": opening, "more_body": True})
        for _ in range(size // FLOOD_PIECE):
            await send({"type": "http.response.body", "body": b"a" * FLOOD_PIECE, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    return wrapped


async def _next_or_wait(replay: Any, receive: Any) -> Any:
    """The request's messages as they were read, then whatever comes next (a disconnect)."""
    for message in replay:
        return message
    return await receive()


@contextlib.contextmanager
def silent_server() -> Iterator[str]:
    """The URL of an MCP server that takes the connection and never answers (hung, or a proxy eating the
    request), on a free loopback port, until the block ends."""
    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(64)
        yield f"http://127.0.0.1:{hung.getsockname()[1]}/mcp"
