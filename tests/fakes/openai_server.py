"""A local HTTP server speaking the OpenAI chat-completions wire format, for tests and benchmarks.

Standard library only, so it exercises the real `openai` SDK over a real loopback socket.
"""

from __future__ import annotations

import contextlib
import hmac
import itertools
import json
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

from tests.fakes import openai_flavours
from tests.fakes.loopback import Loopback
from tests.fakes.openai_flavours import FLAVOURS, REASONING, Flavour

Responder = Callable[[dict[str, Any]], str]

_JIRA_KEY = re.compile(r"[A-Z][A-Z0-9_]+-[1-9][0-9]*")
_ROLES = frozenset({"system", "user", "assistant", "tool", "developer"})
# The real API's rule for function names; MCP names with dots or slashes are rejected there too.
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_CUT_AFTER = 3  # chunks sent before cut_stream drops the connection: role chunk plus two deltas

_DEFAULT_MESSAGES = {
    400: "Invalid request.",
    401: "Incorrect API key provided.",
    404: "The requested resource does not exist.",
    429: "Rate limit reached for requests. Please try again later.",
    500: "The server had an error while processing your request. Sorry about that!",
    503: "The engine is currently overloaded, please try again later.",
}
_BAD_KEY = "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys."
_NO_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization "
    "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
)


# --- behaviour queue items ------------------------------------------------------------------


@dataclass(frozen=True)
class _Fail:
    """Answer with an HTTP error in the flavour's JSON error shape, or with exactly `raw` when given."""

    status: int
    message: str
    type: str
    code: str | None
    headers: dict[str, str]
    raw: str | None = None


@dataclass(frozen=True)
class _Hang:
    """Wait before answering normally, to trigger client timeouts."""

    seconds: float


@dataclass(frozen=True)
class _Cut:
    """Drop the connection mid-stream (or before any response when not streaming)."""


@dataclass(frozen=True)
class _CallTool:
    """Answer with one tool call instead of text."""

    name: str
    arguments: dict[str, Any] | str  # a str is sent as it is (what a model may write that is not JSON)


@dataclass(frozen=True)
class _Reply:
    """Answer with this exact text, optionally with reasoning content and another finish reason."""

    text: str
    reasoning: str | None
    finish_reason: str | None = None


@dataclass(frozen=True)
class _Trickle:
    """Answer without end: `piece` after piece, one every `every` seconds, `count` of them (None: until
    the client hangs up or the server stops)."""

    piece: str
    every: float
    count: int | None
    reasoning: bool


_Action = _Fail | _Hang | _Cut | _CallTool | _Reply | _Trickle


@dataclass(frozen=True)
class Answer:
    """What the model says: text (with optional reasoning) or a single tool call."""

    content: str | None = None
    reasoning: str | None = None
    tool_call: dict[str, Any] | None = None
    finish: str | None = None

    @property
    def finish_reason(self) -> str:
        """OpenAI's finish_reason for this answer (or the one the test asked for)."""
        return self.finish or ("tool_calls" if self.tool_call else "stop")

    @property
    def size(self) -> int:
        """Characters the answer carries, the base of the completion-token estimate."""
        if self.tool_call:
            function = self.tool_call["function"]
            return len(function["name"]) + len(function["arguments"])
        return len(self.content or "")


# --- the public fake ------------------------------------------------------------------------


class FakeOpenAI:
    """An OpenAI-compatible chat-completions server on 127.0.0.1, run in a background thread."""

    def __init__(
        self,
        *,
        latency: float = 0.0,
        api_key: str | None = "sk-test",
        models: tuple[str, ...] = ("test-model",),
        responder: Responder | None = None,
        flavour: str = "openai",
    ) -> None:
        """`flavour` plays a provider family's rules and shapes (see tests/fakes/openai_flavours.py)."""
        self.flavour: Flavour = FLAVOURS[flavour]
        self.latency = latency
        self.api_key = api_key
        self.models = models
        self.responder: Responder = responder or default_responder
        self.requests: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self._queue: deque[_Action] = deque()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._random = random.Random(14)
        # Set on exit so sleeping handlers (latency, hang) wake up instead of delaying shutdown.
        self._stopping = threading.Event()
        self._loopback = Loopback(lambda: _Server(self), name="FakeOpenAI")

    @property
    def base_url(self) -> str:
        """The URL to give the SDK, e.g. "http://127.0.0.1:PORT/v1"."""
        return f"{self._loopback.url}/v1"

    @property
    def calls(self) -> int:
        """How many chat-completions requests arrived (whatever their outcome)."""
        with self._lock:
            return len(self.requests)

    def __enter__(self) -> FakeOpenAI:
        self._stopping.clear()
        self._loopback.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stopping.set()  # before stop(), which joins the handler threads
        self._loopback.stop()

    # Behaviour queue: one item per chat-completions call that passes auth and validation.

    def fail(
        self,
        status: int,
        *,
        code: str | None = None,
        message: str | None = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
        raw: str | None = None,
    ) -> None:
        """Answer the next `times` calls with an HTTP error (e.g. 429 + {"Retry-After": "1"}); `raw` is
        a body sent as it is, for the shapes proxies and other servers answer (HTML, FastAPI's detail)."""
        text = message or _DEFAULT_MESSAGES.get(status, f"Simulated HTTP {status}.")
        failure = _Fail(status, text, _error_type(status), code, dict(headers or {}), raw)
        self._enqueue(*[failure] * times)

    def insufficient_quota(self) -> None:
        """Answer the next call like an account out of credit: a 429 that retrying cannot fix."""
        message = "You exceeded your current quota, please check your plan and billing details."
        self._enqueue(_Fail(429, message, "insufficient_quota", "insufficient_quota", {}))

    def hang(self, seconds: float) -> None:
        """Make the next call wait `seconds` before answering normally (shutdown cuts it short)."""
        self._enqueue(_Hang(seconds))

    def cut_stream(self) -> None:
        """Drop the next call's connection: after two deltas if streaming, else before answering."""
        self._enqueue(_Cut())

    def trickle(self, piece: str, *, every: float, count: int | None = None, reasoning: bool = False) -> None:
        """Make the next call answer without end, as a stuck or hostile endpoint does: streamed, one delta
        carrying `piece` (as `reasoning_content` when `reasoning`) every `every` seconds; not streamed, a
        200 whose JSON body never ends, `piece` by piece at the same pace. `count` pieces, then the
        connection drops (None: until the client hangs up)."""
        self._enqueue(_Trickle(piece, every, count, reasoning))

    def call_tool(self, name: str, arguments: dict[str, Any] | str, times: int = 1) -> None:
        """Make the next `times` calls answer with a call to tool `name`, declared or not."""
        sent = arguments if isinstance(arguments, str) else dict(arguments)
        self._enqueue(*[_CallTool(name, sent)] * times)

    def reply(self, text: str, *, reasoning: str | None = None, finish_reason: str | None = None) -> None:
        """Make the next call answer `text`, with reasoning if `reasoning` is given (`reasoning_content`
        unless the flavour puts it elsewhere), ending with `finish_reason` when given."""
        self._enqueue(_Reply(text, reasoning, finish_reason))

    # Used by the request handler.

    def _enqueue(self, *actions: _Action) -> None:
        with self._lock:
            self._queue.extend(actions)

    def _pop_action(self) -> _Action | None:
        with self._lock:
            return self._queue.popleft() if self._queue else None

    def _record_request(self, body: dict[str, Any], headers: dict[str, str]) -> None:
        with self._lock:
            self.requests.append({**body, "_headers": headers})

    def _record_error(self, message: str) -> None:
        with self._lock:
            self.errors.append(message)

    def _new_id(self, prefix: str) -> str:
        with self._lock:
            return f"{prefix}{next(self._ids):06d}"

    def _sleep(self, seconds: float) -> bool:
        """Sleep unless the server is stopping; False means stop and drop the request."""
        # Clamped because Event.wait(-1) would block forever.
        return not self._stopping.wait(max(seconds, 0.0))

    def _answer(self, body: dict[str, Any], action: _Action | None) -> Answer:
        """The model's answer for a request that is not a failure or a cut; a reasoning flavour thinks first."""
        thought = REASONING if self.flavour.reasoning else None
        if isinstance(action, _Reply):
            return Answer(content=action.text, reasoning=action.reasoning or thought, finish=action.finish_reason)
        if isinstance(action, _CallTool):
            with self._lock:
                call_id = openai_flavours.new_call_id(self.flavour, next(self._ids), self._random)
            call = {
                "id": call_id,
                "type": "function",
                "function": {
                    "name": action.name,
                    "arguments": action.arguments
                    if isinstance(action.arguments, str)
                    else json.dumps(action.arguments),
                },
            }
            return Answer(tool_call=call, reasoning=thought)
        return Answer(content=self.responder(body), reasoning=thought)


def default_responder(body: dict[str, Any]) -> str:
    """A deterministic brief naming the user's Jira keys and quoting the last tool result.

    Both parts prove that the ticket keys and the fetched ticket data reached the model.
    """
    messages = body.get("messages") or []
    user = _last_content(messages, "user")
    keys = list(dict.fromkeys(_JIRA_KEY.findall(user)))
    answer = f"Brief for {', '.join(keys) or 'no tickets'}."
    source = _first_line(_last_content(messages, "tool"))
    return f"{answer}\n\nSource: {source}" if source else answer


def _last_content(messages: list[Any], role: str) -> str:
    """Text of the last message with `role`, "" if none."""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == role:
            return _text_of(message.get("content"))
    return ""


def _first_line(text: str) -> str | None:
    """The first non-blank line of `text`, stripped."""
    return next((line.strip() for line in text.splitlines() if line.strip()), None)


def _text_of(content: object) -> str:
    """Text of a message content, either a string or a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


# --- request validation ---------------------------------------------------------------------


def validate_request(body: dict[str, Any]) -> str | None:
    """The 400 message the real API would give this chat-completions body, or None if valid."""
    if not isinstance(body.get("model"), str):
        return "you must provide a model parameter"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "Invalid 'messages': expected a non-empty array of messages."
    if "stream" in body and not isinstance(body["stream"], bool):
        return "Invalid type for 'stream': expected a boolean."
    if body.get("stream_options") is not None and not body.get("stream"):
        return "The 'stream_options' parameter is only allowed when 'stream' is enabled."
    return (
        _validate_tools(body.get("tools"))
        or validate_response_format(body.get("response_format"))
        or _first(_validate_message(i, m) for i, m in enumerate(messages))
        or _validate_tool_threading(messages)
    )


def _first(problems: Iterator[str | None]) -> str | None:
    """The first real problem, checking lazily so later checks may assume earlier ones passed."""
    return next((problem for problem in problems if problem), None)


def validate_response_format(value: object) -> str | None:
    """Check `response_format` as the real API does: a known type, and for json_schema a name and a
    schema that strict mode accepts (every object closed, every property required)."""
    if value is None:
        return None
    kind = value.get("type") if isinstance(value, dict) else None
    if kind not in ("text", "json_object", "json_schema"):
        return f"Invalid value: {kind!r}. Supported values are: 'json_object', 'json_schema', and 'text'."
    if kind != "json_schema":
        return None
    spec = value.get("json_schema")
    if not isinstance(spec, dict) or not _TOOL_NAME.match(str(spec.get("name", ""))):
        return "Missing required parameter: 'response_format.json_schema.name'."
    if not isinstance(spec.get("schema"), dict):
        return "Invalid type for 'response_format.json_schema.schema': expected an object."
    problem = _strict_problem(spec["schema"], ()) if spec.get("strict") else None
    return f"Invalid schema for response_format '{spec['name']}': {problem}" if problem else None


def _strict_problem(schema: dict[str, Any], path: tuple[str, ...]) -> str | None:
    """Strict structured outputs: each object has additionalProperties false and requires all its properties."""
    if schema.get("type") == "object":
        properties = schema.get("properties") or {}
        if schema.get("additionalProperties") is not False:
            return f"In context={path}, 'additionalProperties' is required to be supplied and to be false."
        if sorted(schema.get("required") or []) != sorted(properties):
            return (
                f"In context={path}, 'required' is required to be supplied and to be an array including "
                "every key in properties."
            )
        return _first(_strict_problem(sub, (*path, "properties", name)) for name, sub in properties.items())
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        return _strict_problem(schema["items"], (*path, "items"))
    return None


def _validate_tools(tools: object) -> str | None:
    """Check `tools` is a list of well-formed function declarations."""
    if tools is None:
        return None
    if not isinstance(tools, list):
        return "Invalid type for 'tools': expected an array."
    return _first(_validate_tool(i, tool) for i, tool in enumerate(tools))


def _validate_tool(index: int, tool: object) -> str | None:
    """Check one function declaration, with the real API's name pattern."""
    where = f"tools[{index}]"
    if not isinstance(tool, dict) or tool.get("type") != "function":
        return f"Invalid value for '{where}.type': expected 'function'."
    function = tool.get("function")
    if not isinstance(function, dict):
        return f"Missing required parameter: '{where}.function'."
    name = function.get("name")
    if not isinstance(name, str) or not _TOOL_NAME.match(name):
        return f"Invalid '{where}.function.name': string does not match pattern '^[a-zA-Z0-9_-]+$'."
    if "description" in function and not isinstance(function["description"], str):
        return f"Invalid type for '{where}.function.description': expected a string."
    if "parameters" in function and not isinstance(function["parameters"], dict):
        return f"Invalid type for '{where}.function.parameters': expected an object."
    return None


def _validate_message(index: int, message: object) -> str | None:
    """Check one message's role, content and, for assistants, its tool calls."""
    where = f"messages[{index}]"
    if not isinstance(message, dict):
        return f"Invalid type for '{where}': expected an object."
    role = message.get("role")
    if role not in _ROLES:
        return f"Invalid value for '{where}.role': {role!r} is not one of {sorted(_ROLES)}."
    content = message.get("content")
    if content is not None and not isinstance(content, (str, list)):
        return f"Invalid type for '{where}.content': expected a string or an array."
    if role == "assistant":
        if message.get("tool_calls") is None:
            return None if content is not None else f"Missing '{where}.content'."
        return _validate_tool_calls(where, message["tool_calls"])
    if content is None:
        return f"Missing required parameter: '{where}.content'."
    if role == "tool" and not isinstance(message.get("tool_call_id"), str):
        return f"Missing required parameter: '{where}.tool_call_id'."
    return None


def _validate_tool_calls(where: str, calls: object) -> str | None:
    """Check an assistant's tool_calls: a non-empty list of calls with unique ids."""
    if not isinstance(calls, list) or not calls:
        return f"Invalid '{where}.tool_calls': expected a non-empty array."
    ids = [call.get("id") for call in calls if isinstance(call, dict)]
    if len(set(ids)) != len(calls):
        return f"Invalid '{where}.tool_calls': ids must be present and unique."
    return _first(_validate_tool_call(f"{where}.tool_calls[{i}]", c) for i, c in enumerate(calls))


def _validate_tool_call(where: str, call: dict[str, Any]) -> str | None:
    """Check one call as a client echoes it back; arguments must stay a JSON string."""
    if not isinstance(call.get("id"), str) or not call["id"]:
        return f"Missing required parameter: '{where}.id'."
    if call.get("type") != "function":
        return f"Invalid value for '{where}.type': expected 'function'."
    function = call.get("function")
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
        return f"Missing required parameter: '{where}.function.name'."
    arguments = function.get("arguments")
    if not isinstance(arguments, str):
        return f"Invalid type for '{where}.function.arguments': expected a JSON string."
    try:
        json.loads(arguments)
    except (ValueError, RecursionError):
        return f"Invalid '{where}.function.arguments': not valid JSON."
    return None


def _validate_tool_threading(messages: list[dict[str, Any]]) -> str | None:
    """Check each tool message answers the assistant tool calls right before it, and all of them.

    Same rule as the real API: the block of tool messages must immediately follow the assistant
    message with `tool_calls` and answer every id before any other message.
    """
    asked: set[str] = set()  # ids of the open tool-call block, if any
    pending: set[str] = set()  # those ids still unanswered
    for index, message in enumerate(messages):
        role = message["role"]
        if role == "tool":
            problem = _check_tool_answer(index, message["tool_call_id"], asked, pending)
            if problem:
                return problem
            pending.discard(message["tool_call_id"])
            continue
        if pending:
            return _unanswered(pending)
        calls = message.get("tool_calls") if role == "assistant" else None
        asked = {call["id"] for call in calls} if calls else set()
        pending = set(asked)
    return _unanswered(pending) if pending else None


def _check_tool_answer(index: int, call_id: str, asked: set[str], pending: set[str]) -> str | None:
    """Check one tool message against the open block of tool calls."""
    if not asked:
        return (
            f"Invalid parameter: messages with role 'tool' must be a response to a preceeding "
            f"message with 'tool_calls' (messages[{index}])."
        )
    if call_id not in asked:
        return (
            f"Invalid parameter: 'tool_call_id' of '{call_id}' not found in 'tool_calls' "
            f"of previous message (messages[{index}])."
        )
    if call_id not in pending:
        return f"Invalid parameter: 'tool_call_id' '{call_id}' answered twice (messages[{index}])."
    return None


def _unanswered(pending: set[str]) -> str:
    """The real API's message for tool calls left without an answer."""
    return (
        "An assistant message with 'tool_calls' must be followed by tool messages responding to "
        f"each 'tool_call_id'. The following tool_call_ids did not have response messages: "
        f"{', '.join(sorted(pending))}"
    )


# --- wire format ----------------------------------------------------------------------------


def _error_type(status: int) -> str:
    """OpenAI's error `type` for an HTTP status."""
    if status == 429:
        return "requests"
    return "server_error" if status >= 500 else "invalid_request_error"


def _usage(body: dict[str, Any], answer: Answer) -> dict[str, int]:
    """Token estimates (4 characters a token) that benchmarks use to compare prompt sizes."""
    prompt = len(json.dumps(body["messages"]) + json.dumps(body.get("tools") or [])) // 4
    completion = answer.size // 4
    total = prompt + completion
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": total}


def _completion(flavour: Flavour, meta: dict[str, Any], body: dict[str, Any], answer: Answer) -> dict[str, Any]:
    """A non-streaming chat.completion object."""
    message = openai_flavours.message(flavour, answer.content, answer.reasoning, answer.tool_call)
    finish = answer.finish_reason
    choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
    return {**meta, "object": "chat.completion", "choices": [choice], "usage": _usage(body, answer)}


def _chunk(meta: dict[str, Any], delta: dict[str, Any], finish: str | None, usage: bool) -> dict[str, Any]:
    """One chat.completion.chunk; with include_usage each carries "usage": null, like OpenAI's."""
    choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
    chunk = {**meta, "object": "chat.completion.chunk", "choices": [choice]}
    return {**chunk, "usage": None} if usage else chunk


# --- HTTP plumbing --------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    """The HTTP server; non-daemon handler threads so server_close() joins them (no leaks)."""

    daemon_threads = False
    # socketserver's default backlog of 5 drops concurrent connects, which retry a second later.
    request_queue_size = 128

    def __init__(self, fake: FakeOpenAI) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    """Serves /v1/models and /v1/chat/completions over HTTP/1.0: a stream ends at socket close."""

    server: _Server
    timeout = 10  # a client that connects and never sends must not hold shutdown forever

    def log_message(self, format: str, *args: object) -> None:
        """Stay silent: test and benchmark output must not carry server logs."""

    def handle(self) -> None:
        """Serve the connection, ignoring a client that hangs up mid-answer (timeout tests do)."""
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            super().handle()

    def do_GET(self) -> None:
        """List or look up models, as /v1/models does."""
        path = urlsplit(self.path).path.rstrip("/")
        if not self._authorized():
            return
        models = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in self.fake.models]
        if path == "/v1/models":
            self._send_json(200, {"object": "list", "data": models})
        elif path.startswith("/v1/models/"):
            wanted = unquote(path.removeprefix("/v1/models/"))
            found = next((m for m in models if m["id"] == wanted), None)
            if found:
                self._send_json(200, found)
            else:
                self._model_not_found(wanted)
        else:
            self._send_json(404, self._error(f"Invalid URL (GET {path})"))

    def do_POST(self) -> None:
        """Route chat completions; any other POST path is OpenAI's "Invalid URL" 404."""
        path = urlsplit(self.path).path.rstrip("/")
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if path != "/v1/chat/completions":
            self._send_json(404, self._error(f"Invalid URL (POST {path})"))
            return
        self._chat(_parse_object(raw))

    @property
    def fake(self) -> FakeOpenAI:
        """The FakeOpenAI whose state and queue this request uses."""
        return self.server.fake

    def _chat(self, body: dict[str, Any] | None) -> None:
        """Answer one chat call: auth, validation, model, then the queue or the responder."""
        if body is not None:
            self.fake._record_request(body, {k.lower(): v for k, v in self.headers.items()})
        if not self.fake._sleep(self.fake.latency) or not self._authorized():
            return
        if body is None:
            self._bad_request("We could not parse the JSON body of your request.")
            return
        if problem := validate_request(body):
            self._bad_request(problem)
            return
        if refused := openai_flavours.refusal(self.fake.flavour, body):
            self.fake._record_error(json.dumps(refused[1]))
            self._send_json(*refused)
            return
        if body["model"] not in self.fake.models:
            self._model_not_found(body["model"])
            return
        self._act(body, self.fake._pop_action())

    def _act(self, body: dict[str, Any], action: _Action | None) -> None:
        """Carry out the queued behaviour, or answer normally."""
        if isinstance(action, _Fail) and action.raw is not None:
            self._send_raw(action.status, action.raw.encode(), "text/html" if "<html" in action.raw else None)
            return
        if isinstance(action, _Fail):
            error = self._error(action.message, action.type, action.code)
            self._send_json(action.status, error, action.headers)
            return
        if isinstance(action, _Hang) and not self.fake._sleep(action.seconds):
            return
        if isinstance(action, _Trickle):
            self._trickle(body, action)
            return
        cut = isinstance(action, _Cut)
        if cut and not body.get("stream"):
            return  # HTTP/1.0: returning closes the socket with no response at all
        answer = self.fake._answer(body, action)
        meta = {
            "id": self.fake._new_id("chatcmpl-fake"),
            "created": int(time.time()),
            "model": body["model"],
            "system_fingerprint": None,
        }
        if body.get("stream"):
            self._stream(meta, body, answer, cut=cut)
        else:
            self._send_json(200, _completion(self.fake.flavour, meta, body, answer))

    def _stream(self, meta: dict[str, Any], body: dict[str, Any], answer: Answer, *, cut: bool) -> None:
        """Send the answer as server-sent events, the way OpenAI streams chat completions."""
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        deltas = openai_flavours.deltas(self.fake.flavour, answer.content, answer.reasoning, answer.tool_call)
        chunks = [_chunk(meta, delta, None, include_usage) for delta in deltas]
        if cut:
            chunks = chunks[:_CUT_AFTER]
        else:
            chunks.append(_chunk(meta, {}, answer.finish_reason, include_usage))
            if self.fake.flavour.usage_always:  # on the finish chunk, asked or not (Mistral)
                chunks[-1]["usage"] = _usage(body, answer)
            elif include_usage:
                usage = {"choices": [], "usage": _usage(body, answer)}
                chunks.append({**meta, "object": "chat.completion.chunk", **usage})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        # wfile is unbuffered, so each event leaves as soon as it is written.
        for chunk in chunks:
            if self.fake.flavour.sse_comments:
                self.wfile.write(b": OPENROUTER PROCESSING\n\n")
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        if not cut:
            self.wfile.write(b"data: [DONE]\n\n")

    def _trickle(self, body: dict[str, Any], action: _Trickle) -> None:
        """An answer that keeps arriving: SSE deltas, or the inside of a JSON string that never closes."""
        meta = {"id": self.fake._new_id("chatcmpl-fake"), "created": int(time.time()), "model": body["model"]}
        self.send_response(200)
        if body.get("stream"):
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.end_headers()
            delta = (
                {"content": None, "reasoning_content": action.piece} if action.reasoning else {"content": action.piece}
            )
            piece = f"data: {json.dumps(_chunk(meta, delta, None, False))}\n\n".encode()
        else:
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            message = {"role": "assistant", "content": ""}
            whole = json.dumps({**meta, "object": "chat.completion", "choices": [{"index": 0, "message": message}]})
            self.wfile.write(whole[: whole.rindex('""') + 1].encode())  # up to the content's opening quote
            piece = json.dumps(action.piece)[1:-1].encode()
        sent = 0
        while (action.count is None or sent < action.count) and self.fake._sleep(action.every):
            self.wfile.write(piece)
            sent += 1

    def _authorized(self) -> bool:
        """Check the Bearer key; on failure send OpenAI's 401 (never echoing the key) and say so."""
        expected = self.fake.api_key
        if expected is None:
            return True
        header = self.headers.get("Authorization") or ""
        scheme, _, given = header.partition(" ")
        given_key = given.strip().encode()
        if scheme.lower() == "bearer" and hmac.compare_digest(given_key, expected.encode()):
            return True
        if not header:
            self._send_json(401, self._error(_NO_KEY))
        else:
            self._send_json(401, self._error(_BAD_KEY, code="invalid_api_key"))
        return False

    def _error(self, message: str, type_: str = "invalid_request_error", code: str | None = None) -> dict[str, Any]:
        """An error body in the shape of the provider this fake plays."""
        return openai_flavours.error_body(self.fake.flavour, message, type_, code)

    def _bad_request(self, problem: str) -> None:
        """Reject the request like the real API and keep the reason for the test to assert on."""
        self.fake._record_error(problem)
        self._send_json(400, self._error(problem))

    def _model_not_found(self, model: str) -> None:
        message = f"The model `{model}` does not exist or you do not have access to it."
        self._send_json(404, self._error(message, code="model_not_found"))

    def _send_json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self._send_raw(status, json.dumps(payload).encode(), None, headers)

    def _send_raw(
        self, status: int, data: bytes, content_type: str | None, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type or "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def _parse_object(raw: bytes) -> dict[str, Any] | None:
    """The request body as a JSON object, or None if it is not one."""
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
