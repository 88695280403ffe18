"""How OpenAI-compatible providers differ from OpenAI on the wire, for `FakeOpenAI(flavour=...)`.

Each flavour refuses what the real provider refuses, with the body it really answers, and sends the
shapes it really sends. Taken from the providers' answers quoted in public bug reports: Mistral's
9-character tool-call ids (400, "invalid_function_call", code "3280") and its 422 pydantic bodies
for arguments it does not know, magistral's thinking chunks in `content` (streamed and not),
DeepSeek's `reasoning_content` and its thinking-mode rule that assistant tool calls carry it back,
OpenRouter's `reasoning` field and ": OPENROUTER PROCESSING" SSE comments, Qwen's `<think>` tags
with tool-call deltas that have no `index` (as mistral.rs and Gemini send them), Azure-style
"Unrecognized request argument supplied", and Ollama's "does not support tools".
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

# What every reasoning flavour thinks before it answers; no output of jira-brief may ever contain it.
REASONING = "private chain of thought: weigh the ticket before answering"
_MISTRAL_ID = re.compile(r"^[a-zA-Z0-9]{9}$")
_THINK_PIECE = 5  # characters per streamed piece of <think> text, so tags split across chunks
_ARGUMENT_FRAGMENT = 12  # characters of tool-call arguments per streamed delta (OpenAI's way)


@dataclass(frozen=True)
class Flavour:
    """One provider family's rules and shapes."""

    name: str
    error_shape: str = "openai"  # "openai": {"error": {...}}; "object": {"object": "error", "message": ...}
    reasoning: str | None = None  # "chunks", "reasoning_content", "reasoning" or "think"
    mistral_ids: bool = False  # demands tool-call ids of 9 letters or digits
    id_style: str = "openai"  # the ids it makes: "openai" (call_…), "mistral" (9 characters), "vllm" (chatcmpl-tool-…)
    refuses: tuple[str, ...] = ()  # optional request arguments it answers 400/422 to
    whole_arguments: bool = False  # streams a tool call's arguments in one piece
    no_index: bool = False  # streamed tool-call deltas carry no `index`
    reasoning_back: bool = False  # assistant tool calls must carry `reasoning_content`
    no_tools: bool = False  # the served model does not support tools at all
    sse_comments: bool = False  # keep-alive comment lines between events
    extra_forbidden: bool = False  # unknown message fields are a 422 (Mistral's pydantic models)
    usage_always: bool = False  # streamed usage on the finish chunk without stream_options


FLAVOURS = {
    flavour.name: flavour
    for flavour in (
        Flavour("openai"),
        Flavour(
            "mistral",
            error_shape="object",
            reasoning="chunks",
            mistral_ids=True,
            id_style="mistral",
            refuses=("stream_options",),
            whole_arguments=True,
            usage_always=True,
            extra_forbidden=True,
        ),
        Flavour("deepseek", reasoning="reasoning_content", reasoning_back=True),
        Flavour("vllm", error_shape="object", reasoning="reasoning_content", id_style="vllm"),
        # vLLM serving a Mistral model: the chat template demands 9-character ids, vLLM makes longer ones.
        Flavour("vllm-mistral", error_shape="object", mistral_ids=True, id_style="vllm"),
        Flavour("openrouter", reasoning="reasoning", sse_comments=True),
        Flavour("qwen", reasoning="think", whole_arguments=True, no_index=True),
        Flavour("picky", refuses=("stream_options", "parallel_tool_calls")),
        Flavour("notools", no_tools=True),
    )
}


def error_body(
    flavour: Flavour, message: Any, type_: str, code: Any = None, param: str | None = None
) -> dict[str, Any]:
    """An error in the flavour's shape."""
    if flavour.error_shape == "object":
        return {"object": "error", "message": message, "type": type_, "param": param, "code": code}
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def refusal(flavour: Flavour, body: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
    """(status, error body) when the flavour refuses a request OpenAI would take, else None."""
    for name in flavour.refuses:
        if name in body:
            return _unknown_argument(flavour, ["body", name], body[name])
    messages = body["messages"]
    if flavour.no_tools and (body.get("tools") or any(m["role"] == "tool" for m in messages)):
        message = f"registry.ollama.ai/library/{body['model']} does not support tools"
        return 400, error_body(flavour, message, "api_error")
    for index, message in enumerate(messages):
        problem = _message_refusal(flavour, index, message)
        if problem:
            return problem
    return None


def _message_refusal(flavour: Flavour, index: int, message: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
    ids = [call.get("id") for call in message.get("tool_calls") or []]
    if message["role"] == "tool":
        ids.append(message.get("tool_call_id"))
    if flavour.mistral_ids:
        for call_id in ids:
            if not _MISTRAL_ID.match(str(call_id)):
                text = f"Tool call id was {call_id} but must be a-z, A-Z, 0-9, with a length of 9."
                return 400, error_body(flavour, text, "invalid_function_call", "3280")
    for name in ("reasoning_content", "reasoning") if flavour.extra_forbidden else ():
        if message["role"] == "assistant" and name in message:
            return _unknown_argument(flavour, ["body", "messages", index, "assistant", name], message[name])
    if flavour.reasoning_back and message.get("tool_calls") and "reasoning_content" not in message:
        text = "The `reasoning_content` in the thinking mode must be passed back to the API."
        return 400, error_body(flavour, text, "invalid_request_error", "invalid_request_error")
    return None


def _unknown_argument(flavour: Flavour, location: list[Any], value: Any) -> tuple[int, dict[str, Any]]:
    """Mistral's 422 (a pydantic detail list as the message), or Azure's 400 for everyone else."""
    if flavour.error_shape == "object":
        detail = [{"type": "extra_forbidden", "loc": location, "msg": "Extra inputs are not permitted", "input": value}]
        return 422, error_body(flavour, {"detail": detail}, "invalid_request_error")
    return 400, error_body(flavour, f"Unrecognized request argument supplied: {location[-1]}", "invalid_request_error")


def new_call_id(flavour: Flavour, number: int, rng: random.Random) -> str:
    """A tool-call id as the provider makes them."""
    if flavour.id_style == "mistral":
        return "".join(rng.choices(string.ascii_letters + string.digits, k=9))
    if flavour.id_style == "vllm":
        return f"chatcmpl-tool-{rng.getrandbits(128):032x}"
    return f"call_{number:06d}"


def message(
    flavour: Flavour, content: str | None, reasoning: str | None, call: dict[str, Any] | None
) -> dict[str, Any]:
    """The assistant message of a non-streamed answer."""
    text: Any = content
    extra: dict[str, Any] = {}
    if reasoning and flavour.reasoning == "chunks":
        text = [_thinking(reasoning), *([{"type": "text", "text": content}] if content else [])]
    elif reasoning and flavour.reasoning == "think":
        text = f"<think>\n{reasoning}\n</think>\n\n{content or ''}"
    elif reasoning and flavour.reasoning == "reasoning":
        extra = {"reasoning": reasoning, "reasoning_details": [{"type": "reasoning.text", "text": reasoning}]}
    elif reasoning:
        extra = {"reasoning_content": reasoning}
    result = {"role": "assistant", "content": text, "refusal": None, **extra}
    return {**result, "tool_calls": [call]} if call else result


def deltas(
    flavour: Flavour, content: str | None, reasoning: str | None, call: dict[str, Any] | None
) -> Iterator[dict[str, Any]]:
    """The deltas of a streamed answer, before the finish chunk."""
    yield {"role": "assistant", "content": "" if flavour.reasoning != "reasoning_content" else None}
    if flavour.reasoning == "think":
        text = f"<think>\n{reasoning}\n</think>\n\n{content or ''}" if reasoning else content or ""
        for start in range(0, len(text), _THINK_PIECE):
            yield {"content": text[start : start + _THINK_PIECE]}
    else:
        for piece in words(reasoning or ""):
            yield _reasoning_delta(flavour, piece)
        for number, piece in enumerate(words(content or "")):
            # magistral's text comes as a chunk list first, then as plain strings
            first_chunk = flavour.reasoning == "chunks" and number == 0
            yield {"content": [{"type": "text", "text": piece}] if first_chunk else piece}
    if call:
        yield from _call_deltas(flavour, call)


def _reasoning_delta(flavour: Flavour, piece: str) -> dict[str, Any]:
    if flavour.reasoning == "chunks":
        return {"content": [_thinking(piece)]}
    if flavour.reasoning == "reasoning":
        return {"content": "", "reasoning": piece, "reasoning_details": [{"type": "reasoning.text", "text": piece}]}
    return {"content": None, "reasoning_content": piece}


def _call_deltas(flavour: Flavour, call: dict[str, Any]) -> Iterator[dict[str, Any]]:
    function = call["function"]
    position = {} if flavour.no_index else {"index": 0}
    if flavour.whole_arguments:
        yield {"tool_calls": [{**position, "id": call["id"], "type": "function", "function": function}]}
        return
    opening = {"name": function["name"], "arguments": ""}
    yield {"tool_calls": [{**position, "id": call["id"], "type": "function", "function": opening}]}
    arguments = function["arguments"]
    for start in range(0, len(arguments), _ARGUMENT_FRAGMENT):
        yield {"tool_calls": [{**position, "function": {"arguments": arguments[start : start + _ARGUMENT_FRAGMENT]}}]}


def _thinking(text: str) -> dict[str, Any]:
    return {"type": "thinking", "thinking": [{"type": "text", "text": text}]}


def words(text: str) -> list[str]:
    """Split text into word-sized pieces that join back to exactly `text`."""
    return re.findall(r"\s*\S+\s*", text) or ([text] if text else [])
