"""Every response body is read under a cap, decoded by us: a normal answer (plain, gzip, an event stream)
reads as before; one past the cap, or one that inflates past it, ends with one clear error."""

from __future__ import annotations

import asyncio
import gzip
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from jira_brief.config.bodies import BodyTooLarge
from jira_brief.config.network import BodyLimit, http_client

pytestmark = pytest.mark.usefixtures("engine_env")

LIMIT = 1 << 20
BODIES: dict[str, tuple[str, str, bytes]] = {  # path -> (content type, encoding, body)
    "/plain": ("application/json", "identity", b'{"ok": true}'),
    "/gzip": ("application/json", "gzip", gzip.compress(b'{"ok": true}')),
    "/bomb": ("application/json", "gzip", gzip.compress(b"0" * (256 << 20))),  # 256 MiB in ~250 KB
    "/big": ("application/json", "identity", b"0" * (LIMIT + 1)),
    "/events": ("text/event-stream", "identity", b"".join(b"data: %d\n\n" % n + b"x" * 1000 for n in range(3000))),
    "/one-big-event": ("text/event-stream", "identity", b"data: " + b"x" * (LIMIT + 10) + b"\n\n"),
    "/brotli": ("application/json", "br", b"\x0b\x02\x80{}\x03"),
}


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        content_type, encoding, body = BODIES[self.path]
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Encoding", encoding)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def read(engine_env: Any, url: str, per_event: bool = False) -> bytes:
    async def get() -> bytes:
        limit = BodyLimit(LIMIT, "the test server", per_event=per_event)
        async with http_client(engine_env.settings(), body=limit) as client:
            response = await client.get(url)
            return await response.aread()

    return asyncio.run(get())


@pytest.mark.parametrize("path", ["/plain", "/gzip"])
def test_a_normal_answer_reads_as_it_was_sent(engine_env: Any, server: str, path: str) -> None:
    assert read(engine_env, server + path) == b'{"ok": true}'


def test_an_event_stream_is_capped_per_event_not_in_total(engine_env: Any, server: str) -> None:
    assert len(read(engine_env, server + "/events", per_event=True)) > 2 * LIMIT
    with pytest.raises(BodyTooLarge, match="more than 1 MiB in one event of its stream"):
        read(engine_env, server + "/one-big-event", per_event=True)


@pytest.mark.parametrize("path", ["/big", "/bomb"])
def test_an_answer_past_the_cap_or_inflating_past_it_is_cut(engine_env: Any, server: str, path: str) -> None:
    with pytest.raises(BodyTooLarge, match="the test server sent more than 1 MiB in its answer"):
        read(engine_env, server + path)


def test_an_encoding_we_did_not_ask_for_is_refused(engine_env: Any, server: str) -> None:
    with pytest.raises(BodyTooLarge, match=r"encoding it was not asked for \(br\)"):
        read(engine_env, server + "/brotli")
