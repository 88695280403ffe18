"""The fake OpenAI server speaks the wire format the real `openai` SDK expects, faults included."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from tests.fakes.openai_server import FakeOpenAI

TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "get_issue",
            "description": "Fetch one Jira issue.",
            "parameters": {"type": "object", "properties": {"key": {"type": "string"}}},
        },
    }
]

# A complete tool round: the user asks, the model calls get_issue, the tool answers.
THREAD: list[Any] = [
    {"role": "system", "content": "You write briefs."},
    {"role": "user", "content": "Brief PAY-142 and OPS-7 please."},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_issue", "arguments": '{"key": "PAY-142"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": "\nPAY-142: Refunds fail\nmore"},
]


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    """A running fake, stopped after the test."""
    with FakeOpenAI() as server:
        yield server


def client(fake: FakeOpenAI, api_key: str = "sk-test", timeout: float = 5.0) -> openai.OpenAI:
    """The real SDK pointed at the fake, with no retries so each fault surfaces once."""
    return openai.OpenAI(base_url=fake.base_url, api_key=api_key, max_retries=0, timeout=timeout)


def test_default_answer_names_the_keys_and_quotes_the_tool_result(fake: FakeOpenAI) -> None:
    completion = client(fake).chat.completions.create(model="test-model", messages=THREAD, tools=TOOLS)

    assert completion.choices[0].message.content == ("Brief for PAY-142, OPS-7.\n\nSource: PAY-142: Refunds fail")
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.prompt_tokens > 0
    assert fake.requests[0]["_headers"]["authorization"] == "Bearer sk-test"


def test_streamed_text_arrives_in_several_chunks_and_ends_with_stop(fake: FakeOpenAI) -> None:
    fake.reply("Refunds fail for cards issued abroad.", reasoning="Look at PAY-142.")
    stream = client(fake).chat.completions.create(
        model="test-model",
        messages=THREAD,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)

    texts = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(texts) > 3
    assert "".join(texts) == "Refunds fail for cards issued abroad."
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    reasoning = [c.choices[0].delta.model_extra or {} for c in chunks if c.choices]
    assert "".join(r.get("reasoning_content", "") for r in reasoning) == "Look at PAY-142."


def test_streamed_tool_call_reassembles(fake: FakeOpenAI) -> None:
    arguments = {"key": "PAY-142", "fields": ["summary", "status", "description"]}
    fake.call_tool("get_issue", arguments)
    stream = client(fake).chat.completions.create(model="test-model", messages=THREAD[:2], tools=TOOLS, stream=True)
    chunks = list(stream)

    functions = [call.function for chunk in chunks for call in chunk.choices[0].delta.tool_calls or [] if call.function]
    name = "".join(function.name or "" for function in functions)
    fragments = [function.arguments or "" for function in functions]

    assert name == "get_issue"
    assert len(fragments) > 2
    assert json.loads("".join(fragments)) == arguments
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_tool_message_answering_an_unknown_id_is_rejected(fake: FakeOpenAI) -> None:
    thread = [*THREAD[:3], {**THREAD[3], "tool_call_id": "call_unknown"}]

    with pytest.raises(openai.BadRequestError, match="call_unknown"):
        client(fake).chat.completions.create(model="test-model", messages=thread)
    assert "call_unknown" in fake.errors[0]


def test_rate_limit_keeps_retry_after_then_the_next_call_succeeds(fake: FakeOpenAI) -> None:
    fake.fail(429, code="rate_limit_exceeded", headers={"Retry-After": "1"})
    sdk = client(fake)

    with pytest.raises(openai.RateLimitError) as caught:
        sdk.chat.completions.create(model="test-model", messages=THREAD)
    assert caught.value.response.headers["retry-after"] == "1"
    assert caught.value.code == "rate_limit_exceeded"
    assert sdk.chat.completions.create(model="test-model", messages=THREAD).choices
    assert fake.calls == 2


def test_cut_stream_ends_without_finish_reason(fake: FakeOpenAI) -> None:
    fake.cut_stream()
    stream = client(fake).chat.completions.create(model="test-model", messages=THREAD, stream=True)

    chunks = list(stream)
    assert chunks and chunks[-1].choices[0].finish_reason is None


def test_wrong_key_is_refused_without_echoing_it(fake: FakeOpenAI) -> None:
    with pytest.raises(openai.AuthenticationError) as caught:
        client(fake, api_key="sk-wrong-secret").chat.completions.create(model="test-model", messages=THREAD)
    assert "sk-wrong-secret" not in caught.value.response.text


def test_hang_times_out_the_client_and_does_not_delay_shutdown() -> None:
    with FakeOpenAI() as fake:
        fake.hang(30)
        with pytest.raises(openai.APITimeoutError):
            client(fake, timeout=0.2).chat.completions.create(model="test-model", messages=THREAD)
        started = time.monotonic()
    assert time.monotonic() - started < 1


# --- provider flavours ------------------------------------------------------------------------


def test_mistral_refuses_an_id_it_would_not_make_with_its_own_error_body() -> None:
    thread = [*THREAD[:2], {**THREAD[2], "tool_calls": [{**THREAD[2]["tool_calls"][0], "id": "call_get_PAY_142"}]}]
    thread.append({**THREAD[3], "tool_call_id": "call_get_PAY_142"})
    with FakeOpenAI(flavour="mistral") as fake, pytest.raises(openai.BadRequestError) as caught:
        client(fake).chat.completions.create(model="test-model", messages=thread)
    assert caught.value.body == {
        "object": "error",
        "message": "Tool call id was call_get_PAY_142 but must be a-z, A-Z, 0-9, with a length of 9.",
        "type": "invalid_function_call",
        "param": None,
        "code": "3280",
    }


def test_magistral_thinks_in_chunk_lists_streamed_and_not() -> None:
    with FakeOpenAI(flavour="mistral") as fake:
        fake.reply("Refunds fail.", reasoning="Card limits?")
        fake.reply("Refunds fail.", reasoning="Card limits?")
        message = client(fake).chat.completions.create(model="test-model", messages=THREAD[:2]).choices[0].message
        stream = list(client(fake).chat.completions.create(model="test-model", messages=THREAD[:2], stream=True))
    assert message.content == [
        {"type": "thinking", "thinking": [{"type": "text", "text": "Card limits?"}]},
        {"type": "text", "text": "Refunds fail."},
        {"type": "reference", "reference_ids": [0]},
    ]
    contents = [chunk.choices[0].delta.content for chunk in stream if chunk.choices and chunk.choices[0].delta.content]
    assert contents[0] == [{"type": "thinking", "thinking": [{"type": "text", "text": "Card "}]}]
    assert contents[-2:] == [[{"type": "text", "text": "Refunds "}], "fail."]  # a chunk list, then plain strings
    assert stream[-1].usage is not None  # usage on the finish chunk, without stream_options


@pytest.mark.parametrize(
    ("flavour", "argument", "status"), [("mistral", "stream_options", 422), ("picky", "parallel_tool_calls", 400)]
)
def test_flavours_refuse_the_arguments_they_do_not_know(flavour: str, argument: str, status: int) -> None:
    extra: dict[str, Any] = {"stream_options": {"include_usage": True}} if argument == "stream_options" else {}
    extra |= {"parallel_tool_calls": True, "tools": TOOLS} if argument == "parallel_tool_calls" else {"stream": True}
    with FakeOpenAI(flavour=flavour) as fake, pytest.raises(openai.APIStatusError) as caught:
        client(fake).chat.completions.create(model="test-model", messages=THREAD[:2], **extra)
    assert caught.value.status_code == status and argument in json.dumps(caught.value.body)


def test_deepseek_thinking_mode_wants_reasoning_content_on_assistant_tool_calls() -> None:
    with FakeOpenAI(flavour="deepseek") as fake:
        with pytest.raises(openai.BadRequestError, match="reasoning_content"):
            client(fake).chat.completions.create(model="test-model", messages=THREAD)
        thread = [*THREAD[:2], {**THREAD[2], "reasoning_content": ""}, THREAD[3]]
        message = client(fake).chat.completions.create(model="test-model", messages=thread).choices[0].message
    assert message.content and (message.model_extra or {}).get("reasoning_content")
