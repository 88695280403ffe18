"""Reading what OpenAI-compatible providers answer: text kept in order, reasoning dropped and counted.

Providers disagree on the shape: a string, a list of chunks (Mistral's magistral: `text`, `thinking`
with nested text, `reference`), a `reasoning_content` (DeepSeek, vLLM) or `reasoning` (OpenRouter)
field beside the content, or `<think>` blocks inside the text (Qwen, R1 distills), split anywhere
when streamed. Tool calls may come whole or in pieces, with or without an `index`.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

TextSink = Callable[[str], None]
REASONING_FIELDS = ("reasoning_content", "reasoning")  # beside `content`, by provider family
CALL_ID_LENGTH = 9  # Mistral (and Mistral templates under vLLM) accept exactly 9 of [a-zA-Z0-9]
_CALL_ID = re.compile(rf"^[a-zA-Z0-9]{{{CALL_ID_LENGTH}}}$")
_ALPHABET = string.ascii_letters + string.digits


def content_parts(content: Any) -> Iterator[tuple[bool, str]]:
    """(is_reasoning, text) for each piece of a message content, whatever its shape."""
    if isinstance(content, str):
        yield False, content
        return
    for chunk in content if isinstance(content, list) else ():
        kind = chunk.get("type") if isinstance(chunk, dict) else None
        if kind == "text" and isinstance(chunk.get("text"), str):
            yield False, chunk["text"]
        elif kind == "thinking":
            yield from ((True, text) for _, text in content_parts(chunk.get("thinking")))
        # Other chunks (`reference` citations, images) carry no text of the brief.


def reasoning_field(message: Any) -> str:
    """The reasoning a provider sent beside the content, under whichever name it uses."""
    for name in REASONING_FIELDS:
        value = getattr(message, name, None)
        if isinstance(value, str) and value:
            return value
    return ""


class ThinkFilter:
    """Drops <think>…</think> reasoning from streamed text, even when tags are split across chunks."""

    OPEN, CLOSE = "<think>", "</think>"

    def __init__(self, sink: TextSink) -> None:
        self.sink, self.inside, self.pending, self.dropped = sink, False, "", 0

    def feed(self, text: str) -> None:
        self.pending += text
        while True:
            tag = self.CLOSE if self.inside else self.OPEN
            index = self.pending.find(tag)
            if index >= 0:
                self._pass(self.pending[:index])
                self.pending, self.inside = self.pending[index + len(tag) :], not self.inside
                continue
            keep = next((n for n in range(len(tag) - 1, 0, -1) if self.pending.endswith(tag[:n])), 0)
            self._pass(self.pending[: len(self.pending) - keep])
            self.pending = self.pending[len(self.pending) - keep :]
            return

    def close(self) -> None:
        self._pass(self.pending)
        self.pending = ""

    def _pass(self, text: str) -> None:
        if self.inside:
            self.dropped += len(text)
        elif text:
            self.sink(text)


@dataclass
class Answer:
    """The text of an answer (reasoning removed), the reasoning as the provider sent it, and its size."""

    text: str = ""
    reasoning: str = ""
    reasoning_field: str | None = None  # where the provider put it, to hand it back the same way
    reasoning_chars: int = 0


class ContentReader:
    """Collects an answer piece by piece (or whole): text in order to the sink, reasoning set aside."""

    def __init__(self, sink: TextSink | None = None) -> None:
        self.answer, self.sink = Answer(), sink
        self.parts: list[str] = []
        self.reasoning: list[str] = []  # joined once at the end: growing a string chunk by chunk is quadratic
        self.think = ThinkFilter(self._text)

    def feed(self, message: Any) -> None:
        """Read one delta or one whole message: its content, and any reasoning field beside it."""
        for name in REASONING_FIELDS:
            value = getattr(message, name, None)
            if isinstance(value, str) and value:
                self._reasoning(value, name)
                break
        for is_reasoning, text in content_parts(getattr(message, "content", None)):
            if is_reasoning:
                self._reasoning(text, None)
            else:
                self.think.feed(text)

    def close(self) -> Answer:
        self.think.close()
        self.answer.text = "".join(self.parts).strip()
        self.answer.reasoning = "".join(self.reasoning)
        self.answer.reasoning_chars += self.think.dropped
        return self.answer

    def _reasoning(self, text: str, name: str | None) -> None:
        self.answer.reasoning_chars += len(text)
        if name:
            self.reasoning.append(text)
            self.answer.reasoning_field = name

    def _text(self, text: str) -> None:
        self.parts.append(text)
        if self.sink:
            self.sink(text)


@dataclass
class _Call:
    """One tool call as its deltas arrive: its name and arguments in pieces, joined once at the end."""

    id: str = ""
    name: list[str] = field(default_factory=list)
    arguments: list[str] = field(default_factory=list)


@dataclass
class ToolCalls:
    """Tool calls assembled from deltas: by `index` when there is one, else by id or continuing the last."""

    parts: list[_Call] = field(default_factory=list)
    slots: dict[Any, int] = field(default_factory=dict)

    def feed(self, part: Any) -> None:
        index, call_id = getattr(part, "index", None), getattr(part, "id", None) or ""
        function = getattr(part, "function", None)
        key = ("index", index) if index is not None else ("id", call_id) if call_id else None
        named_again = bool(getattr(function, "name", None)) and bool(self.parts and any(self.parts[-1].name))
        if key is None and self.parts and not named_again:
            slot = len(self.parts) - 1  # an id-less, index-less piece continues the call before it
        elif key in self.slots:
            slot = self.slots[key]
        else:
            self.parts.append(_Call())
            slot = len(self.parts) - 1
            if key is not None:
                self.slots[key] = slot
        call = self.parts[slot]
        call.id = call_id or call.id
        if function is not None:
            call.name.append(getattr(function, "name", None) or "")
            call.arguments.append(getattr(function, "arguments", None) or "")

    @property
    def calls(self) -> list[dict[str, Any]]:
        """The calls as the API takes them back; arguments "{}" when none came."""
        return [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": "".join(call.name), "arguments": "".join(call.arguments) or "{}"},
            }
            for call in self.parts
        ]


def new_call_id(taken: set[str]) -> str:
    """A tool-call id every provider accepts (9 letters or digits), not yet used in the conversation."""
    while True:
        candidate = "".join(secrets.choice(_ALPHABET) for _ in range(CALL_ID_LENGTH))
        if candidate not in taken:
            taken.add(candidate)
            return candidate


def usable_call_id(call_id: str, taken: set[str]) -> str:
    """The provider's own id when any provider would take it back, else a new one."""
    if _CALL_ID.match(call_id) and call_id not in taken:
        taken.add(call_id)
        return call_id
    return new_call_id(taken)
