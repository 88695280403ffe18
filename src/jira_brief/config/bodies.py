"""Response bodies read under a byte cap: an endless or huge answer (or one that inflates, compressed) ends
with one clear error once it passes what any real answer needs, and is never held whole first."""

from __future__ import annotations

import re
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import httpx2

# What we ask servers for and decode ourselves, counting what comes out (wbits for zlib).
ENCODINGS = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS, "identity": 0}
_BLANK_LINE = re.compile(rb"\n\r?\n")  # the end of a server-sent event


class BodyTooLarge(httpx2.StreamError):
    """An answer past its cap. A StreamError: the MCP SDK turns it into the failing call's error."""


def _too_large(what: str, limit: int, event: bool) -> BodyTooLarge:
    unit = "one event of its stream" if event else "its answer"
    return BodyTooLarge(f"{what} sent more than {limit >> 20} MiB in {unit}; the rest was not read")


class CappedStream(httpx2.AsyncByteStream):
    """A response's bytes, decoded here (gzip, deflate) and counted, as they arrive."""

    def __init__(self, inner: httpx2.AsyncByteStream, limit: int, what: str, events: bool, wbits: int) -> None:
        self.inner, self.limit, self.what, self.events = inner, limit, what, events
        self.decoder = zlib.decompressobj(wbits) if wbits else None
        self.seen, self.tail = 0, b""  # bytes of the answer (or of the current event), and its last bytes

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.inner:
            for piece in self._decoded(chunk):
                self._count(piece)
                yield piece
        if self.decoder is not None:
            rest = self.decoder.flush()
            self._count(rest)
            yield rest

    def _decoded(self, chunk: bytes) -> Iterator[bytes]:
        """`chunk` decoded, in pieces no bigger than the cap (a small chunk may inflate to gigabytes)."""
        if self.decoder is None:
            yield chunk
            return
        data = chunk
        while data:
            try:
                yield self.decoder.decompress(data, self.limit + 1)
            except zlib.error as error:
                raise httpx2.DecodingError(f"{self.what} sent a body that does not decode: {error}") from None
            data = self.decoder.unconsumed_tail

    def _count(self, piece: bytes) -> None:
        """Past the cap, the answer ends here; an event stream counts each event (up to a blank line)."""
        if not self.events:
            self.seen += len(piece)
            if self.seen > self.limit:
                raise _too_large(self.what, self.limit, False)
            return
        window = self.tail + piece  # the last bytes seen, so a blank line split between chunks is found
        before = self.seen - len(self.tail)  # bytes of the current event before the window
        for blank in _BLANK_LINE.finditer(window):
            if before + blank.start() > self.limit:
                raise _too_large(self.what, self.limit, True)
            before = -blank.end()  # the next event starts after the blank line
        self.seen, self.tail = before + len(window), window[-2:]
        if self.seen > self.limit:
            raise _too_large(self.what, self.limit, True)

    async def aclose(self) -> None:
        await self.inner.aclose()

    @property
    def elapsed(self) -> object:
        return getattr(self.inner, "elapsed", None)


def capping(limit: int, what: str, per_event: bool) -> Callable[[httpx2.Response], Awaitable[None]]:
    """A response hook that reads every body through a `CappedStream` (config.network.BodyLimit says how
    much, of whom), before anyone reads it."""

    async def cap(response: httpx2.Response) -> None:
        encoding = response.headers.get("content-encoding", "identity").strip().lower() or "identity"
        if encoding not in ENCODINGS:
            raise BodyTooLarge(f"{what} answered in an encoding it was not asked for ({encoding[:40]})")
        assert isinstance(response.stream, httpx2.AsyncByteStream)  # an AsyncClient's response
        events = per_event and response.headers.get("content-type", "").startswith("text/event-stream")
        response.stream = CappedStream(response.stream, limit, what, events, ENCODINGS[encoding])
        if "content-encoding" in response.headers:
            del response.headers["content-encoding"]  # decoded here: httpx2 must not decode it again

    return cap
