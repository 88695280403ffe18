"""The providers people run, played by FakeOpenAI flavours that enforce their rules and send their
shapes: Mistral (magistral chunk lists, 9-character tool-call ids, its error bodies), DeepSeek and
vLLM (`reasoning_content`), OpenRouter (`reasoning`), Qwen (`<think>` tags, tool-call deltas without
index), an endpoint that refuses optional arguments, and one whose model has no tools at all.

Whole runs go through the CLI in-process (`jira-brief demo`, `jira-brief doctor --demo`) or the real
pipeline with the demo Jira; the model is always the flavoured fake on loopback, through the real SDK."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from jira_brief.jira.demo.server import build_server, load_demo_tickets
from tests.fakes.openai_flavours import REASONING
from tests.fakes.openai_server import FakeOpenAI

pytestmark = pytest.mark.usefixtures("engine_env")

KEYS = ("PAY-142", "WEB-88", "WEB-91")
FLAVOURS = ("openai", "mistral", "deepseek", "vllm", "vllm-mistral", "openrouter", "qwen", "picky")
MISTRAL_ID = re.compile(r"^[a-zA-Z0-9]{9}$")


@pytest.fixture
def provider(request: pytest.FixtureRequest) -> Iterator[FakeOpenAI]:
    with FakeOpenAI(flavour=request.param) as fake:
        yield fake


def llm_env(fake: FakeOpenAI) -> dict[str, str | None]:
    return {"OPENAI_BASE_URL": fake.base_url, "OPENAI_API_KEY": fake.api_key, "JIRA_BRIEF_MODEL": fake.models[0]}


def answered(fake: FakeOpenAI) -> int:
    """Requests the fake answered (the rest it refused with a 400/422)."""
    return fake.calls - len(fake.errors)


def call_ids(request: dict[str, Any]) -> list[str]:
    """Every tool-call id a request carries, in assistant calls and in tool answers."""
    ids = [call["id"] for message in request["messages"] for call in message.get("tool_calls") or []]
    return ids + [message["tool_call_id"] for message in request["messages"] if message["role"] == "tool"]


@pytest.mark.parametrize("provider", FLAVOURS, indirect=True)
def test_three_tickets_get_model_briefs_and_no_reasoning_shows(provider: FakeOpenAI, invoke: Any) -> None:
    done = invoke("demo", *KEYS, env=llm_env(provider))  # the first brief streamed, the others not

    assert done.exit_code == 0, done.stderr
    briefs = re.findall(r"^Brief for .*$", done.stdout, re.MULTILINE)
    assert briefs == [f"Brief for {key}." for key in KEYS]  # the model wrote them, not the offline fallback
    assert "hors ligne" not in done.stdout
    for output in (done.stdout, done.stderr):
        assert REASONING not in output and "think" not in output and "reference" not in output
    assert answered(provider) == len(KEYS)  # one answered call per ticket
    streamed = [bool(request.get("stream")) for request in provider.requests]
    assert True in streamed and False in streamed  # both ways of reading an answer were taken


@pytest.mark.parametrize("provider", FLAVOURS, indirect=True)
def test_doctor_passes(provider: FakeOpenAI, invoke: Any) -> None:
    done = invoke("doctor", "--demo", env=llm_env(provider))

    assert done.exit_code == 0, done.stdout
    [line] = [line for line in done.stdout.splitlines() if "LLM" in line and line.startswith(("ok", "FAIL"))]
    assert line.startswith("ok") and "played tool call" in line
    refused = re.search(r"refuses them: ([\w, ]+)", line)
    sent = set(provider.flavour.refuses) - {"response_format"}  # only the coverage check asks for it
    assert (refused.group(1) if refused else "") == ", ".join(sorted(sent))
    assert ("characters of reasoning set aside" in line) is bool(provider.flavour.reasoning)  # counted, not shown
    assert ("carry reasoning_content" in line) is provider.flavour.reasoning_back
    assert answered(provider) == 1 and REASONING not in done.stdout


def test_mistral_is_sent_ids_of_nine_letters_or_digits_and_its_own_ids_back(
    engine_env: Any, run_pipeline: Any, terminal: Any
) -> None:
    parent = load_demo_tickets()["PAY-142"]["parent"]["key"]
    with FakeOpenAI(flavour="mistral") as fake:
        fake.call_tool("jira_get_issue", {"issue_key": parent})
        [result] = run_pipeline(["PAY-142"], engine_env.llm_settings(fake), output=terminal(["PAY-142"]))
    assert result.ok and result.brief.startswith("Brief for PAY-142.")
    [refused] = fake.errors  # only stream_options, once: it is not sent again
    assert "stream_options" in refused and "extra_forbidden" in refused
    retried, second = fake.requests[1:]
    assert "stream_options" not in retried and "stream_options" not in second
    ids = call_ids(second)
    assert len(ids) == 4 and all(MISTRAL_ID.match(call_id) for call_id in ids)
    assert ids[1] == ids[3] and ids[0] != ids[1]  # the model's own valid id goes back as it came
    assert REASONING not in json.dumps(second)  # magistral's thinking is not handed back (Mistral refuses it)


def test_ids_the_server_made_but_its_template_refuses_are_replaced_consistently(
    engine_env: Any, run_pipeline: Any
) -> None:
    parent = load_demo_tickets()["PAY-142"]["parent"]["key"]
    server = build_server()
    with FakeOpenAI(flavour="vllm-mistral") as fake:
        fake.call_tool("jira_get_issue", {"issue_key": parent})
        [result] = run_pipeline(["PAY-142"], engine_env.llm_settings(fake), server=server)
    assert result.ok and fake.errors == []
    assert [arguments["issue_key"] for _, arguments in server.calls] == ["PAY-142", parent]
    ids = call_ids(fake.requests[1])
    assert all(MISTRAL_ID.match(call_id) for call_id in ids) and len(set(ids)) == 2


def test_deepseek_thinking_mode_gets_its_reasoning_back_on_tool_calls(engine_env: Any, run_pipeline: Any) -> None:
    parent = load_demo_tickets()["PAY-142"]["parent"]["key"]
    with FakeOpenAI(flavour="deepseek") as fake:
        fake.call_tool("jira_get_issue", {"issue_key": parent})
        results = run_pipeline(["PAY-142", "WEB-88"], engine_env.llm_settings(fake, concurrency=1))
    assert all(result.ok for result in results) and REASONING not in results[0].brief
    [refused] = fake.errors  # the played call lacked reasoning_content once; never again in the run
    assert "reasoning_content" in refused
    echoed = [m for m in fake.requests[2]["messages"] if m["role"] == "assistant"]
    assert [m["reasoning_content"] for m in echoed] == ["", REASONING]  # ours is empty, the model's as it came
    assert answered(fake) == 3


def test_an_endpoint_refusing_optional_arguments_is_asked_once_per_argument_per_run(
    engine_env: Any, invoke: Any
) -> None:
    with FakeOpenAI(flavour="picky") as fake:
        done = invoke("demo", *KEYS, "--concurrency", "1", env=llm_env(fake))
    assert done.exit_code == 0 and done.stdout.count("Brief for") == len(KEYS)
    refused = ("stream_options", "parallel_tool_calls", "temperature")  # in the order the first request met them
    assert len(fake.errors) == len(refused) and all(
        name in error for name, error in zip(refused, fake.errors, strict=True)
    )
    later = fake.requests[len(refused) + 1 :]
    assert len(later) == len(KEYS) - 1
    assert not any(name in request for request in later for name in refused)
    assert fake.requests[0]["parallel_tool_calls"] is True  # asked for while the endpoint took it


def test_the_coverage_checks_response_format_is_dropped_the_same_way(engine_env: Any) -> None:
    import asyncio

    from jira_brief.llm.client import LLM

    async def ask_twice(llm: LLM) -> list[Any]:
        request = {"model": "test-model", "messages": [{"role": "user", "content": "PAY-142?"}]}
        try:
            return [await llm.create({**request, "response_format": {"type": "json_object"}}) for _ in range(2)]
        finally:
            await llm.close()

    with FakeOpenAI(flavour="picky") as fake:
        llm = LLM(engine_env.llm_settings(fake))
        answers = asyncio.run(ask_twice(llm))
    assert [answer.choices[0].message.content for answer in answers] == ["Brief for PAY-142."] * 2
    assert llm.refused == {"response_format"} and len(fake.errors) == 1 and fake.calls == 3


def test_qwen_tool_call_deltas_without_index_are_assembled(engine_env: Any, run_pipeline: Any, terminal: Any) -> None:
    parent = load_demo_tickets()["PAY-142"]["parent"]["key"]
    server = build_server()
    screen = terminal(["PAY-142"])
    with FakeOpenAI(flavour="qwen") as fake:
        fake.call_tool("jira_get_issue", {"issue_key": parent})
        [result] = run_pipeline(["PAY-142"], engine_env.llm_settings(fake), server=server, output=screen)
    assert fake.requests[0]["stream"] is True and fake.errors == []
    assert result.ok and [arguments["issue_key"] for _, arguments in server.calls] == ["PAY-142", parent]
    assert "Brief for PAY-142." in screen.stdout and "think" not in screen.stdout and REASONING not in screen.stdout


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "no-stream"])
def test_finish_reason_tool_calls_with_no_call_is_an_answer_when_it_has_text(
    engine_env: Any, fake_llm: FakeOpenAI, run_pipeline: Any, terminal: Any, stream: bool
) -> None:
    fake_llm.reply("## CONTEXTE\nPAY-142 by the model", finish_reason="tool_calls")
    fake_llm.reply("", finish_reason="tool_calls")
    screen = terminal(["PAY-142", "WEB-88"])
    settings = engine_env.llm_settings(fake_llm, stream=stream, concurrency=1)
    written, empty = run_pipeline(["PAY-142", "WEB-88"], settings, output=screen)
    assert written.ok and written.brief and written.brief.endswith("PAY-142 by the model")
    assert empty.offline and "announced tool calls but sent none" in empty.error
    assert fake_llm.calls == 2


def test_mistral_error_bodies_read_like_openai_ones(engine_env: Any, run_pipeline: Any) -> None:
    with FakeOpenAI(flavour="mistral") as fake:
        fake.fail(400, message="Invalid model: magistral-medium-2509")
        [result] = run_pipeline(["PAY-142"], engine_env.llm_settings(fake))
        where = fake.base_url
    assert result.offline
    assert result.error.endswith(f"the LLM at {where} answered 400: Invalid model: magistral-medium-2509")


def test_doctor_fails_clearly_when_the_model_refuses_tool_calls(invoke: Any) -> None:
    with FakeOpenAI(flavour="notools") as fake:
        done = invoke("doctor", "--demo", env=llm_env(fake))
    assert done.exit_code == 1
    [line] = [line for line in done.stdout.splitlines() if "LLM" in line and line.startswith(("ok", "FAIL"))]
    assert line.startswith("FAIL") and line.endswith(
        "answered 400: registry.ollama.ai/library/test-model does not support tools"
    )


def test_doctor_names_an_unknown_model(invoke: Any) -> None:
    with FakeOpenAI(flavour="mistral") as fake:
        done = invoke("doctor", "--demo", env={**llm_env(fake), "JIRA_BRIEF_MODEL": "magistral-nope"})
    assert done.exit_code == 1
    assert "FAIL LLM: model 'magistral-nope' not found" in done.stdout and "--model" in done.stdout


PYDANTIC_422 = {"detail": [{"type": "extra_forbidden", "loc": ["body", "n"], "msg": "Extra inputs are not permitted"}]}


@pytest.mark.parametrize(
    ("raw", "said"),
    [
        (json.dumps({"detail": "Not Found"}), "Not Found"),  # FastAPI servers
        (json.dumps({"error": "model 'qwen3' not found, try pulling it first"}), "model 'qwen3' not found"),  # Ollama
        (json.dumps({"object": "error", "message": PYDANTIC_422, "type": "invalid_request_error"}), "body.n"),
        (json.dumps({"object": "error", "message": json.dumps(PYDANTIC_422)}), "Extra inputs are not permitted"),
        ("<html><body><h1>400 Bad Request</h1>nginx</body></html>", "400 Bad Request nginx"),  # a proxy
        ("", "no details given"),
    ],
    ids=["fastapi", "ollama", "mistral-422", "mistral-422-as-text", "html", "empty"],
)
def test_error_bodies_of_every_shape_become_one_readable_line(
    engine_env: Any, fake_llm: FakeOpenAI, run_pipeline: Any, raw: str, said: str
) -> None:
    fake_llm.fail(400, raw=raw)
    [result] = run_pipeline(["PAY-142"], engine_env.llm_settings(fake_llm))
    assert result.offline and "answered 400: " in result.error and said in result.error
    line = result.error.split("answered 400: ", 1)[1]
    assert "\n" not in line and "{" not in line and "<" not in line and "Error code" not in line


def test_a_brief_with_nothing_but_the_ticket_line_is_a_failure_not_an_empty_brief(
    engine_env: Any, fake_llm: FakeOpenAI, run_pipeline: Any
) -> None:
    fake_llm.reply("## TICKET\nPAY-142 — Split payments between two cards")
    [result] = run_pipeline(["PAY-142"], engine_env.llm_settings(fake_llm))
    assert result.offline and "nothing but the ticket's key and title" in result.error
    assert "Split payments" in result.brief  # the offline brief stands in, as for any model failure
