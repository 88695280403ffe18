"""For a list of keys: one MCP session, bounded concurrency, cache, per-ticket errors, results in key order."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from jira_brief.brief.cache import BriefCache, fingerprint
from jira_brief.brief.criteria import (
    Change,
    Coverage,
    check_fingerprint,
    check_ticket,
    criteria,
    unchecked,
    verdicts_from_json,
)
from jira_brief.brief.diff import reduce_diff
from jira_brief.brief.normalize import Normalizer, normalize_brief
from jira_brief.brief.offline import offline_brief
from jira_brief.brief.progress import Event, Notify, ignore
from jira_brief.brief.result import BriefResult
from jira_brief.brief.template import Template, load_template
from jira_brief.brief.write import write_brief
from jira_brief.config.masking import masker
from jira_brief.config.settings import Settings
from jira_brief.errors import JiraBriefError, LLMError, TicketError
from jira_brief.jira.session import JiraReader, open_reader
from jira_brief.jira.ticket import Ticket
from jira_brief.jira.transports import InProcessServer, load_sdk, server_label
from jira_brief.keys.scan import FoundKey
from jira_brief.llm.client import LLM, Sleep

ANY_VERSION = "*"  # in `known`: the ticket counts as already shown whatever its version


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
class BriefRun:
    """Shared state of one run: settings, template, cache, and the lazily opened MCP and LLM clients."""

    settings: Settings
    template: Template
    cache: BriefCache
    keys: tuple[str, ...]
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    server: InProcessServer | None = None  # the embedded demo Jira, when the run talks to it
    reader: asyncio.Future[JiraReader] | None = None
    holder: asyncio.Task[None] | None = None
    closing: asyncio.Event = field(default_factory=asyncio.Event)
    llm: LLM | None = None
    watched: bool = False  # someone reads the text as it comes: worth streaming
    sleep: Sleep = asyncio.sleep  # the wait between model retries
    change: Change | None = None  # the diff whose coverage of the criteria is checked
    notify: Notify = ignore  # what the run waits for, for whoever shows progress
    hide: Callable[[str], str] = str  # the run's masking, applied to a brief before anything rewrites it

    def published(self, text: str) -> str:
        """A brief as written (by the model, offline or cached), secrets hidden first, then normalized:
        rewriting before masking could cut a secret so that no later pass recognizes it."""
        return normalize_brief(self.hide(text), self.template.headings)

    async def get_reader(self, key: str, deadline: float) -> JiraReader:
        """The MCP session, opened on first need (a run whose tickets are all fresh never connects), by
        `deadline` for ticket `key`; the session goes on opening for the tickets that can still wait."""
        async with self.lock:
            if self.reader is None:
                self.notify(Event("connect", detail=server_label(self.settings, self.server)))
                self.reader = asyncio.get_running_loop().create_future()
                self.holder = asyncio.create_task(self._hold_reader(self.reader))
        async with self.by(deadline, key):
            return await asyncio.shield(self.reader)

    @contextlib.asynccontextmanager
    async def by(self, deadline: float, key: str) -> AsyncIterator[None]:
        """Jira's part of ticket `key` done by `deadline` (time.monotonic()), however slowly it answers."""
        try:
            async with asyncio.timeout(deadline - time.monotonic()):
                yield
        except TimeoutError:
            where = server_label(self.settings, self.server)
            raise TicketError(
                f"{key}: {where} did not answer within --timeout {self.settings.timeout:g} s (connecting "
                "included); check that it runs, or raise --timeout"
            ) from None

    async def _hold_reader(self, ready: asyncio.Future[JiraReader]) -> None:
        """Own the MCP session in one task, as its cancel scopes require, until the run closes."""
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

    def load_clients(self) -> None:
        """The MCP SDK, and the model's when a model writes: a second or two of our own CPU on a busy
        machine, spent once and before a ticket's clock starts, since it is not the servers' time."""
        load_sdk(self.settings)
        if self.settings.llm_enabled:
            self.get_llm()

    async def close(self) -> None:
        """End the MCP session; one still connecting (past a time budget) is cancelled, not awaited."""
        self.closing.set()
        if self.holder is not None:
            if self.reader is not None and not self.reader.done():
                self.holder.cancel()
            await asyncio.wait([self.holder], timeout=5)
        if self.llm is not None:
            await self.llm.close()


@dataclass
class Clock:
    """One ticket's --timeout by the wall clock: reading (connecting included), writing and checking
    share it. It starts when the ticket first waits on a server, once the clients are loaded."""

    run: BriefRun
    start: float | None = None

    def deadline(self) -> float:
        if self.start is None:
            self.run.load_clients()
            self.start = time.monotonic()
        return self.start + self.run.settings.timeout


def _with_key(key: str, error: Exception) -> str:
    """The error as one line that starts with the ticket it is about."""
    text = str(error)
    return text if text.startswith(f"{key}:") else f"{key}: {text}"


async def _ticket(run: BriefRun, key: str, ticket_ttl: float | None, clock: Clock) -> Ticket:
    """The ticket, fresh from the cache or read within the ticket's time, the connection included."""
    ticket = run.cache.recent_ticket(key, ticket_ttl) if ticket_ttl else None
    if ticket is None:
        deadline = clock.deadline()
        reader = await run.get_reader(key, deadline)
        run.notify(Event("read", key))
        async with run.by(deadline, key):
            ticket = await reader.fetch(key)
        run.cache.put_ticket(ticket)
    return ticket


async def _brief_one(
    run: BriefRun, found: FoundKey, output: Output, known: Mapping[str, str], ticket_ttl: float | None
) -> BriefResult:
    """The brief, then (when a change is given) the criteria check, each cached on its own fingerprint;
    --timeout is the ticket's (`Clock`), by the wall clock: reading, writing and checking share it."""
    clock = Clock(run)
    result = await _brief_part(run, found, output, known, ticket_ttl, clock)
    if run.change is not None and run.change.diff.files and result.ticket is not None and result.error is None:
        await _check(run, run.change, result, result.ticket, clock)
    return result


async def _check(run: BriefRun, change: Change, result: BriefResult, ticket: Ticket, clock: Clock) -> None:
    """Judge the ticket's criteria against the change; reuse a published or cached check when it still holds."""
    settings = run.settings
    items = criteria(ticket)
    if settings.check == "off" or not items:
        return
    excerpt = reduce_diff(change.diff, items, settings.diff_budget)
    if not settings.llm_enabled:
        result.coverage = unchecked(items, excerpt, settings.language)
        return
    check = check_fingerprint(ticket, settings.model, settings.language, excerpt)
    stored = run.cache.get_check(check)
    verdicts = verdicts_from_json(stored, items) if stored is not None else None
    if verdicts is not None or change.published.get(ticket.key) == check:
        result.coverage = Coverage(
            verdicts or (),
            len(excerpt.shown),
            excerpt.total,
            fingerprint=check,
            unchanged=change.published.get(ticket.key) == check,
            language=settings.language,
            cut=excerpt.cut,
        )
        return
    deadline = clock.deadline()
    llm = run.get_llm()
    result.coverage = await check_ticket(llm, ticket, items, excerpt, check, result.usage, deadline)
    if result.coverage.error is None:
        run.cache.put_check(check, ticket.key, result.coverage.as_json())


async def _brief_part(
    run: BriefRun,
    found: FoundKey,
    output: Output,
    known: Mapping[str, str],
    ticket_ttl: float | None,
    clock: Clock,
) -> BriefResult:
    result = BriefResult(found.key, found.source, offline=not run.settings.llm_enabled)
    try:
        result.ticket = ticket = await _ticket(run, found.key, ticket_ttl, clock)
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
        result.brief, result.cached = run.published(cached), True
        output.text(found.key, result.brief)
        return result
    if result.offline:  # cached too: a huge ticket costs its reading once, not on every commit
        result.brief = run.published(offline_brief(ticket, run.template))
        run.cache.put_brief(result.fingerprint, found.key, result.brief)
        output.text(found.key, result.brief)
        return result
    try:
        deadline = clock.deadline()
        reader = await run.get_reader(found.key, deadline)
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
            run.get_llm(),
            reader,
            ticket,
            run.template,
            allowed_keys=run.keys,
            usage=result.usage,
            sink=sink,
            deadline=deadline,
        )
        if sink is not None:
            output.text(found.key, streamed.close())
        # The cache keeps the published form; normalizing is idempotent, so older raw entries read the same.
        result.brief = run.published(written)
        if not result.brief.strip():  # e.g. only the TICKET line, which the summary line already shows
            raise LLMError("the model's brief had nothing but the ticket's key and title; try again")
        run.cache.put_brief(result.fingerprint, found.key, result.brief)
    except JiraBriefError as error:
        result.error = _with_key(found.key, error)
        result.brief = run.published(offline_brief(ticket, run.template))
        result.offline = True
    return result


async def brief_all(
    found: Sequence[FoundKey],
    settings: Settings,
    *,
    output: Output | None = None,
    known: Mapping[str, str] | None = None,
    ticket_ttl: float | None = None,
    budget: float | None = None,
    sleep: Sleep = asyncio.sleep,
    change: Change | None = None,
    progress: Notify | None = None,
    server: InProcessServer | None = None,
) -> list[BriefResult]:
    """Brief every key, `settings.concurrency` at a time; results come back in key order.

    `known` maps keys to fingerprints already shown (a re-run skips them); `ticket_ttl` reuses a ticket
    fetched that recently without asking the server; `budget` bounds the whole run in seconds; `sleep`
    waits between model retries (tests pass one that does not really wait); `change` is the diff the
    tickets' acceptance criteria are checked against; `progress` hears what the run waits for; `server` is
    an in-process MCP server to read from (the embedded demo Jira) instead of the configured one."""
    run = BriefRun(
        settings,
        load_template(settings),
        BriefCache(settings, server),
        tuple(k.key for k in found),
        server=server,
        watched=output is not None,
        sleep=sleep,
        change=change,
        notify=progress or ignore,
        hide=masker(settings, os.environ),
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
