"""An OpenAI-compatible chat endpoint: our retry policy within a time budget, what an endpoint refuses
(optional arguments dropped once and remembered), streaming, and the conversation's provider quirks
(tool-call ids any provider accepts, reasoning handed back where it is asked for)."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from jira_brief.config.network import BodyLimit, http_client, tls_advice, tls_failure
from jira_brief.config.settings import Settings
from jira_brief.errors import LLMError
from jira_brief.llm.replies import ContentReader, TextSink, ToolCalls, new_call_id, usable_call_id

MAX_ATTEMPTS = 4
# One answer, streamed or not, is read up to this much: a brief is a few KB, and a reasoning model's
# thoughts streamed token by token (a few hundred bytes of JSON a token) stay well under it.
MAX_ANSWER = 16 << 20
# Request arguments we can do without when an endpoint refuses them (Azure, o-series, vLLM, Mistral…).
OPTIONAL_ARGUMENTS = ("stream_options", "parallel_tool_calls", "tool_choice", "response_format", "temperature")
Sleep = Callable[[float], Awaitable[None]]


@dataclass
class Usage:
    """What the model calls cost, for benchmarks and the JSON output."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_chars: int = 0  # reasoning the model sent and we set aside

    def add(self, usage: Any) -> None:
        self.calls += 1
        if usage is not None:
            self.prompt_tokens += getattr(usage, "prompt_tokens", 0) or 0
            self.completion_tokens += getattr(usage, "completion_tokens", 0) or 0


@dataclass
class Reply:
    """One model answer: its text (reasoning removed), its tool calls, and the reasoning to hand back."""

    content: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    finish_reason: str | None = None
    reasoning: str = ""
    reasoning_field: str | None = None


class _Shown:
    """Passes text on and remembers whether any reached the reader."""

    def __init__(self, sink: TextSink | None) -> None:
        self.sink, self.any = sink, False

    def feed(self, text: str) -> None:
        if text and self.sink:
            self.any = True
            self.sink(text)


class LLM:
    """An OpenAI-compatible chat endpoint with our retry policy and our TLS/proxy configuration.

    One object per run: it remembers which optional request arguments this endpoint refused, so only
    the first call of a run pays for finding out."""

    def __init__(self, settings: Settings, sleep: Sleep = asyncio.sleep) -> None:
        """`sleep` waits between retries; tests pass one that records the wait and returns at once."""
        from openai import AsyncOpenAI

        self.settings, self.sleep = settings, sleep
        self.refused: set[str] = set()  # optional arguments this endpoint answered 400/422 to
        self.reasoning_back = False  # the endpoint wants reasoning_content on every assistant tool call
        self.client = AsyncOpenAI(
            api_key=settings.llm_api_key.reveal() if settings.llm_api_key else "not-needed",
            base_url=settings.llm_base_url or None,
            max_retries=0,  # we retry ourselves, within the ticket's time budget
            http_client=http_client(
                settings, timeout=settings.timeout, body=BodyLimit(MAX_ANSWER, f"the model at {self.where}")
            ),
        )

    @property
    def where(self) -> str:
        return self.settings.llm_base_url or "the OpenAI API"

    async def close(self) -> None:
        await self.client.close()

    async def create(self, request: dict[str, Any]) -> Any:
        """chat.completions.create; an endpoint that refuses an optional argument is asked again without it,
        and never sent it again in this run."""
        import openai

        while True:
            sent = self._adapted(request)
            try:
                return await self.client.chat.completions.create(**sent)
            except (openai.BadRequestError, openai.UnprocessableEntityError) as error:
                if not self._learn(error, sent):
                    raise

    def _adapted(self, request: dict[str, Any]) -> dict[str, Any]:
        """The request as this endpoint takes it: without what it refused, with what it asked for."""
        sent = {name: value for name, value in request.items() if name not in self.refused}
        if self.reasoning_back:
            sent["messages"] = [
                {"reasoning_content": "", **message} if message.get("tool_calls") else message
                for message in request["messages"]
            ]
        return sent

    def _learn(self, error: Any, sent: dict[str, Any]) -> bool:
        """Whether the refusal names something we can do without (or must add); remembers it."""
        text = f"{error.param or ''} {provider_message(error)}"
        for name in OPTIONAL_ARGUMENTS:
            if name in sent and re.search(rf"\b{name}\b", text):
                self.refused.add(name)
                return True
        lacking = any(m.get("tool_calls") and "reasoning_content" not in m for m in sent["messages"])
        if lacking and re.search(r"reasoning_content\W.*passed back|Missing\W+reasoning_content", text):
            self.reasoning_back = True
            return True
        return False

    async def complete(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]],
        *,
        final: bool,
        deadline: float,
        usage: Usage,
        sink: TextSink | None,
        extra: dict[str, Any] | None = None,
    ) -> Reply:
        """One model call, retried on 429/5xx/timeouts while the ticket's time budget allows; `extra` adds
        request fields (e.g. `response_format`, or a forced `tool_choice`) over ours."""
        import openai

        shown = _Shown(sink)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                return await self.answer(
                    messages,
                    tools,
                    final=final,
                    timeout=remaining,
                    usage=usage,
                    sink=shown.feed if sink else None,
                    extra=extra,
                )
            except openai.APIStatusError as error:
                if error.code == "insufficient_quota" or error.status_code not in (408, 409, 429, 500, 502, 503, 504):
                    raise LLMError(self.explain(error)) from None
                wait, timed_out = _retry_after(error.response.headers) or min(8.0, 2.0 ** (attempt - 1)), False
            except openai.APITimeoutError:
                wait, timed_out = min(8.0, 2.0 ** (attempt - 1)), True
            except TimeoutError:  # the wall clock ran out while the answer was still arriving
                break
            except openai.APIConnectionError as error:
                if tls_failure(error) or attempt >= 2:  # refused twice: the endpoint is down, say so now
                    raise LLMError(self.explain(error)) from None
                wait, timed_out = min(8.0, 2.0 ** (attempt - 1)), False
            except openai.APIError as error:  # e.g. an error event inside the stream
                raise LLMError(f"the model failed while answering: {str(error)[:200]}") from None
            if shown.any:  # part of the answer is on screen: a retry would print it twice
                raise LLMError("the model's answer broke off after it had started; try again")
            if timed_out and time.monotonic() + wait >= deadline:
                break
            if attempt == MAX_ATTEMPTS:
                raise LLMError(f"the model is unavailable (still failing after {attempt} attempts); try again later")
            if time.monotonic() + wait >= deadline:
                raise LLMError(
                    f"the model is unavailable and asked to wait {wait:g} s, past --timeout "
                    f"{self.settings.timeout:g} s; try again later"
                )
            await self.sleep(wait)
        raise LLMError(
            f"the model did not answer within --timeout {self.settings.timeout:g} s; raise --timeout or try again later"
        )

    async def answer(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]],
        *,
        final: bool,
        timeout: float,
        usage: Usage,
        sink: TextSink | None,
        extra: dict[str, Any] | None = None,
    ) -> Reply:
        """One model call, no retries: streamed to `sink` when streaming is on and there is a sink; `timeout`
        bounds it by the wall clock, however slowly the answer keeps arriving."""
        from jira_brief.config.bodies import BodyTooLarge  # loaded with the SDK's httpx2 already

        request: dict[str, Any] = {
            "model": self.settings.model,
            "messages": messages,
            "temperature": 0.2,
            "timeout": timeout,
        }
        if tools:
            request["tools"] = tools
            request["tool_choice"] = "none" if final else "auto"
            if not final:  # the parent epic and a linked ticket in one step, not two of --max-steps
                request["parallel_tool_calls"] = True
        request.update(extra or {})
        try:
            async with asyncio.timeout(timeout):
                return await self._send(request, usage, sink)
        except BodyTooLarge as error:
            raise LLMError(str(error)) from None

    async def _send(self, request: dict[str, Any], usage: Usage, sink: TextSink | None) -> Reply:
        if not self.settings.stream or sink is None:
            response = await self.create(request)
            usage.add(response.usage)
            return _reply_of(response, usage)
        stream = await self.create({**request, "stream": True, "stream_options": {"include_usage": True}})
        async with stream:  # closed however reading ends (a timeout included): the connection is freed
            return await _read_stream(stream, usage, sink)

    async def probe(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]],
        *,
        final: bool,
        timeout: float,
        usage: Usage,
        sink: TextSink | None,
    ) -> Reply:
        """One call, no retries, a failure as LLMError with its explanation (for `doctor`)."""
        import openai  # the SDK is loaded by the client already; named here for its error types

        try:
            return await self.answer(messages, tools, final=final, timeout=timeout, usage=usage, sink=sink)
        except openai.APIError as error:
            raise LLMError(self.explain(error)) from None
        except TimeoutError:
            raise LLMError(f"the LLM at {self.where} did not answer within {timeout:g} s") from None

    def explain(self, error: Exception) -> str:
        """One line for an LLM failure, with what to do; never the key, never the raw server text for auth."""
        import openai

        where = self.where
        if isinstance(error, openai.AuthenticationError | openai.PermissionDeniedError):
            return f"the LLM at {where} refused the API key ({error.status_code}); check OPENAI_API_KEY"
        if isinstance(error, openai.NotFoundError):
            return f"model {self.settings.model!r} not found at {where} (404); check --model and --llm-base-url"
        if isinstance(error, openai.APIStatusError) and error.code == "insufficient_quota":
            return f"the LLM account at {where} has no quota left (insufficient_quota, not retried); check its billing"
        if isinstance(error, openai.APIConnectionError) and tls_failure(error):
            return tls_advice(where)
        if isinstance(error, openai.APIConnectionError):
            return f"cannot reach the LLM at {where}; check --llm-base-url and the network/proxy"
        if isinstance(error, openai.APIStatusError):
            return f"the LLM at {where} answered {error.status_code}: {provider_message(error)}"
        return f"the LLM failed: {type(error).__name__}"


def provider_message(error: Any) -> str:
    """The provider's own words from an error body, whatever its shape (OpenAI's, Mistral's, FastAPI's…)."""
    text = " ".join(_readable(error.body).split())
    if not text:
        text = re.sub(r"^Error code: \d+( - )?", "", str(getattr(error, "message", "") or "")).strip()
    return (text[:200] + "…" if len(text) > 200 else text) or "no details given"


def _readable(value: Any, depth: int = 0) -> str:
    """Text out of an error body: a string, a JSON string, {message|detail|error|msg: …}, or a list of them."""
    if depth > 4:
        return ""
    if isinstance(value, str):
        if value.lstrip()[:1] in ("{", "["):
            try:
                return _readable(json.loads(value), depth + 1)
            except ValueError:
                pass
        return re.sub(r"<[^<>]+>", " ", value)  # an HTML error page from a proxy keeps only its words
    if isinstance(value, list):
        return "; ".join(filter(None, (_readable(item, depth + 1) for item in value[:3])))
    if isinstance(value, dict):
        if isinstance(value.get("msg"), str) and isinstance(value.get("loc"), list):  # a pydantic error
            return f"{value['msg']}: {'.'.join(str(part) for part in value['loc'])}"
        for name in ("message", "detail", "error", "msg"):
            if value.get(name):
                return _readable(value[name], depth + 1)
    return ""


def _retry_after(headers: Any) -> float | None:
    """Seconds the server asked us to wait (Retry-After or retry-after-ms), when it said so."""
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value:
            try:
                return max(0.0, float(value) / divisor)
            except ValueError:
                continue
    return None


def _arguments(value: Any) -> str:
    """Tool-call arguments as the JSON string the API wants back (some servers send an object)."""
    if isinstance(value, str):
        return value or "{}"
    return json.dumps(value if value is not None else {})


def _reply_of(response: Any, usage: Usage) -> Reply:
    if not response.choices:
        raise LLMError("the model sent an answer with no choices in it; try again")
    choice = response.choices[0]
    reader = ContentReader()
    reader.feed(choice.message)
    answer = reader.close()
    usage.reasoning_chars += answer.reasoning_chars
    calls = [
        {
            "id": call.id or "",
            "type": "function",
            "function": {"name": call.function.name, "arguments": _arguments(call.function.arguments)},
        }
        for call in choice.message.tool_calls or []
    ]
    return Reply(answer.text, calls, choice.finish_reason, answer.reasoning, answer.reasoning_field)


async def _read_stream(stream: Any, usage: Usage, sink: TextSink) -> Reply:
    """Assemble a streamed answer; a stream that ends without a finish reason is a failure."""
    reader, calls = ContentReader(sink), ToolCalls()
    finish_reason, seen_usage = None, None
    async for chunk in stream:
        seen_usage = chunk.usage or seen_usage
        for choice in chunk.choices:
            reader.feed(choice.delta)
            for part in choice.delta.tool_calls or []:
                calls.feed(part)
            finish_reason = choice.finish_reason or finish_reason
    usage.add(seen_usage)
    if finish_reason is None:
        raise LLMError("the model's answer was cut off (the stream ended without a finish reason); try again")
    answer = reader.close()
    usage.reasoning_chars += answer.reasoning_chars
    return Reply(answer.text, calls.calls, finish_reason, answer.reasoning, answer.reasoning_field)


def played_call(system: str, user: str, name: str, arguments: dict[str, Any], result: str) -> list[dict[str, Any]]:
    """A conversation in which the assistant already called tool `name` and got `result` back."""
    call_id = new_call_id(set())
    call = {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": user},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call_id, "content": result},
    ]


def assistant_turn(reply: Reply, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The model's tool-calling answer as it goes back in the thread: ids any provider accepts, unique in
    the conversation, and the reasoning handed back where the provider sent it (DeepSeek requires it)."""
    taken = {call["id"] for message in messages for call in message.get("tool_calls") or []}
    calls = [{**call, "id": usable_call_id(call["id"], taken)} for call in reply.tool_calls]
    turn: dict[str, Any] = {"role": "assistant", "content": reply.content or None, "tool_calls": calls}
    if reply.reasoning_field:
        turn[reply.reasoning_field] = reply.reasoning
    return turn
