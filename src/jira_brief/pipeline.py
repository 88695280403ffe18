"""For a list of keys: one MCP session, bounded concurrency, cache, per-ticket errors, results in key order."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from jira_brief.brief_text import Normalizer, normalize
from jira_brief.briefs import LLM, Sleep, Template, Usage, load_template, offline_brief, write_brief
from jira_brief.cache import BriefCache, fingerprint
from jira_brief.errors import JiraBriefError
from jira_brief.keys import FoundKey
from jira_brief.progress import Event, Notify, ignore
from jira_brief.settings import Settings
from jira_brief.tickets import Ticket

ANY_VERSION = "*"  # in `known`: the ticket counts as already shown whatever its version


@dataclass
class BriefResult:
    """What happened to one key: its ticket, its brief (or the error), and how it was made."""

    key: str
    source: str
    ticket: Ticket | None = None
    brief: str | None = None
    error: str | None = None
    cached: bool = False
    offline: bool = False
    unchanged: bool = False
    late: bool = False
    fingerprint: str | None = None
    usage: Usage = field(default_factory=Usage)

    @property
    def ok(self) -> bool:
        return self.error is None

    def as_json(self) -> dict[str, Any]:
        ticket = self.ticket
        return {
            "key": self.key,
            "url": ticket.url if ticket else None,
            "title": ticket.title if ticket else None,
            "status": ticket.status if ticket else None,
            "brief": self.brief,
            "error": self.error,
            "cached": self.cached,
            "source": self.source,
        }


class Output(Protocol):
    """Where briefs go while they are made (the terminal streams; other sinks ignore the calls)."""

    def text(self, key: str, chunk: str) -> None: ...

    def done(self, result: BriefResult) -> None: ...


class _Silent:
    def text(self, key: str, chunk: str) -> None:
        pass

    def done(self, result: BriefResult) -> None:
        pass


@dataclass
class Run:
    """Shared state of one run: settings, template, cache, and the lazily opened MCP and LLM clients."""

    settings: Settings
    template: Template
    cache: BriefCache
    keys: tuple[str, ...]
    server: Any = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    reader: asyncio.Future[Any] | None = None
    holder: asyncio.Task[None] | None = None
    closing: asyncio.Event = field(default_factory=asyncio.Event)
    llm: LLM | None = None
    watched: bool = False  # someone reads the text as it comes: worth streaming
    sleep: Sleep = asyncio.sleep  # the wait between model retries
    notify: Notify = ignore  # what the run waits for, for whoever shows progress

    async def get_reader(self) -> Any:
        """The MCP session, opened on first need: a run whose tickets are all fresh never connects."""
        async with self.lock:
            if self.reader is None:
                from jira_brief.jira_mcp import server_label

                self.notify(Event("connect", detail=server_label(self.settings, self.server)))
                self.reader = asyncio.get_running_loop().create_future()
                self.holder = asyncio.create_task(self._hold_reader(self.reader))
        return await asyncio.shield(self.reader)

    async def _hold_reader(self, ready: asyncio.Future[Any]) -> None:
        """Own the MCP session in one task, as its cancel scopes require, until the run closes."""
        from jira_brief.jira_mcp import open_reader

        try:
            async with open_reader(self.settings, self.server) as reader:
                ready.set_result(reader)
                await self.closing.wait()
        except Exception as error:  # boundary: whatever ends the session, no ticket may wait forever
            if not ready.done():
                failure = (
                    error
                    if isinstance(error, JiraBriefError)
                    else JiraBriefError(f"the Jira MCP session failed: {type(error).__name__}: {str(error)[:200]}")
                )
                ready.set_exception(failure)

    def get_llm(self) -> LLM:
        if self.llm is None:
            self.llm = LLM(self.settings, self.sleep)
        return self.llm

    async def close(self) -> None:
        """End the MCP session; one still connecting (past a time budget) is cancelled, not awaited."""
        self.closing.set()
        if self.holder is not None:
            if self.reader is not None and not self.reader.done():
                self.holder.cancel()
            await asyncio.wait([self.holder], timeout=5)
        if self.llm is not None:
            await self.llm.close()


def _with_key(key: str, error: Exception) -> str:
    """The error as one line that starts with the ticket it is about."""
    text = str(error)
    return text if text.startswith(f"{key}:") else f"{key}: {text}"


async def _ticket(run: Run, key: str, ticket_ttl: float | None) -> Ticket:
    ticket = run.cache.recent_ticket(key, ticket_ttl) if ticket_ttl else None
    if ticket is None:
        reader = await run.get_reader()
        run.notify(Event("read", key))
        ticket = await reader.fetch(key)
        run.cache.put_ticket(ticket)
    return ticket


async def _brief_one(
    run: Run, found: FoundKey, output: Output, known: Mapping[str, str], ticket_ttl: float | None
) -> BriefResult:
    result = BriefResult(found.key, found.source, offline=not run.settings.llm_enabled)
    try:
        result.ticket = ticket = await _ticket(run, found.key, ticket_ttl)
        run.notify(Event("ticket", found.key, ticket=ticket))
    except JiraBriefError as error:
        result.error = _with_key(found.key, error)
        return result
    result.fingerprint = fingerprint(ticket, run.settings, run.template.digest, result.offline)
    if known.get(found.key) in (result.fingerprint, ANY_VERSION):
        result.unchanged = True
        return result
    cached = run.cache.get_brief(result.fingerprint)
    if cached is not None:
        result.brief, result.cached = normalize(cached, run.template.headings), True
        output.text(found.key, result.brief)
        return result
    if result.offline:
        result.brief = normalize(offline_brief(ticket, run.template), run.template.headings)
        output.text(found.key, result.brief)
        return result
    try:
        reader = await run.get_reader()
        # Only the first ticket is read as it is written; the others wait their turn on screen, and
        # streaming them would cost CPU per chunk for nothing.
        streamed = Normalizer(run.template.headings)
        sink = (
            (lambda chunk: output.text(found.key, streamed.feed(chunk)))
            if run.watched and found.key == run.keys[0]
            else None
        )
        run.notify(Event("write", found.key))
        written = await write_brief(
            run.get_llm(), reader, ticket, run.template, allowed_keys=run.keys, usage=result.usage, sink=sink
        )
        if sink is not None:
            output.text(found.key, streamed.close())
        # The cache keeps the published form; normalizing is idempotent, so older raw entries read the same.
        result.brief = normalize(written, run.template.headings)
        run.cache.put_brief(result.fingerprint, found.key, result.brief)
    except JiraBriefError as error:
        result.error = _with_key(found.key, error)
        result.brief = normalize(offline_brief(ticket, run.template), run.template.headings)
        result.offline = True
    return result


async def brief_all(
    found: Sequence[FoundKey],
    settings: Settings,
    *,
    server: Any = None,
    output: Output | None = None,
    known: Mapping[str, str] | None = None,
    ticket_ttl: float | None = None,
    budget: float | None = None,
    sleep: Sleep = asyncio.sleep,
    progress: Notify | None = None,
) -> list[BriefResult]:
    """Brief every key, `settings.concurrency` at a time; results come back in key order.

    `known` maps keys to fingerprints already shown (a re-run skips them); `ticket_ttl` reuses a ticket
    fetched that recently without asking the server; `budget` bounds the whole run in seconds; `sleep`
    waits between model retries (tests pass one that does not really wait); `progress` hears what the run waits for."""
    run = Run(
        settings,
        load_template(settings),
        BriefCache(settings),
        tuple(k.key for k in found),
        server,
        watched=output is not None,
        sleep=sleep,
        notify=progress or ignore,
    )
    output = output or _Silent()
    finished = 0
    limit = asyncio.Semaphore(settings.concurrency)

    async def one(item: FoundKey) -> BriefResult:
        async with limit:
            try:
                result = await _brief_one(run, item, output, known or {}, ticket_ttl)
            except Exception as error:  # boundary: one ticket's unexpected failure must not sink the others
                result = BriefResult(
                    item.key, item.source, error=f"{item.key}: unexpected {type(error).__name__}: {str(error)[:200]}"
                )
        nonlocal finished
        finished += 1
        run.notify(Event("done", item.key, done=finished, total=len(found), ticket=result.ticket))
        output.done(result)
        return result

    tasks = [asyncio.create_task(one(item)) for item in found]
    try:
        if tasks:
            await asyncio.wait(tasks, timeout=budget)
        return [_settle(task, item, budget) for task, item in zip(tasks, found, strict=True)]
    finally:
        await run.close()


def _settle(task: asyncio.Task[BriefResult], item: FoundKey, budget: float | None) -> BriefResult:
    """The task's result, or a clear failure for one that ran past the time budget."""
    if task.done() and not task.cancelled():
        return task.result()
    task.cancel()
    return BriefResult(
        item.key, item.source, late=True, error=f"{item.key}: not ready within the {budget:g} s time budget"
    )
