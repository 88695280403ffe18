"""The model misbehaves: rate limits, no quota, server errors, hangs, cut streams, bad key, unknown model.

Every fault is played by FakeOpenAI on loopback through the real `openai` SDK; Jira is the demo MCP
server; the pipeline and the terminal sink are the real ones. A fault the model cannot recover from
gives one clear line and the offline brief, never a traceback or a hang."""

from __future__ import annotations

import time
from typing import Any

import pytest
from click.testing import CliRunner

from jira_brief.commands.main import main
from tests.fakes.openai_server import FakeOpenAI

pytestmark = pytest.mark.usefixtures("engine_env")

OFFLINE_MARK = "_Résumé hors ligne"


def brief_once(
    run_pipeline: Any, settings: Any, terminal: Any, key: str = "PAY-142", sleep: Any = None
) -> tuple[Any, Any, float]:
    """(result, what the terminal showed, seconds) of briefing one key."""
    screen = terminal([key])
    start = time.monotonic()
    [result] = run_pipeline([key], settings, output=screen, sleep=sleep)
    return result, screen, time.monotonic() - start


def assert_fell_back_offline(result: Any, screen: Any) -> str:
    """The run reported one failure line and printed the offline brief instead; returns the line."""
    assert result.error and result.offline and result.brief.startswith(OFFLINE_MARK)
    assert len(screen.err) == 1 and result.error in screen.err[0]
    assert "Traceback" not in screen.stdout + "".join(screen.err)
    assert OFFLINE_MARK in screen.stdout
    return screen.err[0]


def test_429_with_retry_after_is_retried_after_the_wait(
    engine_env: Any, fake_llm: FakeOpenAI, run_pipeline: Any, terminal: Any, recorded_sleep: Any
) -> None:
    fake_llm.fail(429, headers={"Retry-After": "3"})
    result, screen, _ = brief_once(run_pipeline, engine_env.llm_settings(fake_llm), terminal, sleep=recorded_sleep)
    assert fake_llm.calls == 2
    assert recorded_sleep.waits == [3.0]
    assert result.ok and result.brief.startswith("Brief for PAY-142.") and screen.err == []


def test_insufficient_quota_is_not_retried(
    engine_env: Any, fake_llm: FakeOpenAI, run_pipeline: Any, terminal: Any
) -> None:
    fake_llm.insufficient_quota()
    result, screen, _ = brief_once(run_pipeline, engine_env.llm_settings(fake_llm), terminal)
    assert fake_llm.calls == 1
    line = assert_fell_back_offline(result, screen)
    assert "quota" in line


def test_500_three_times_then_success(
    engine_env: Any, fake_llm: FakeOpenAI, run_pipeline: Any, terminal: Any, recorded_sleep: Any
) -> None:
    fake_llm.fail(500, times=3)
    result, screen, _ = brief_once(run_pipeline, engine_env.llm_settings(fake_llm), terminal, sleep=recorded_sleep)
    assert fake_llm.calls == 4
    assert recorded_sleep.waits == [1.0, 2.0, 4.0]  # exponential backoff between the four attempts
    assert result.ok and not result.offline and result.brief.startswith("Brief for PAY-142.")
    assert screen.err == [] and "Brief for PAY-142." in screen.stdout


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "no-stream"])
def test_a_hanging_model_is_bounded_by_timeout(
    engine_env: Any, fake_llm: FakeOpenAI, run_pipeline: Any, terminal: Any, stream: bool
) -> None:
    hang = 60
    fake_llm.hang(hang)
    result, screen, seconds = brief_once(
        run_pipeline, engine_env.llm_settings(fake_llm, timeout=2, stream=stream), terminal
    )
    assert seconds < hang / 2, seconds  # bounded by --timeout 2, not the hang, even on a loaded machine
    assert_fell_back_offline(result, screen)


def test_a_hanging_model_is_reported_as_a_timeout(
    engine_env: Any, fake_llm: FakeOpenAI, run_pipeline: Any, terminal: Any
) -> None:
    fake_llm.hang(60)
    result, screen, _ = brief_once(run_pipeline, engine_env.llm_settings(fake_llm, timeout=1), terminal)
    line = assert_fell_back_offline(result, screen)
    assert "--timeout" in line and ("timed out" in line or "within" in line)


def test_a_cut_stream_is_a_failure_not_a_brief(
    engine_env: Any, fake_llm: FakeOpenAI, run_pipeline: Any, terminal: Any
) -> None:
    fake_llm.cut_stream()
    result, screen, _ = brief_once(run_pipeline, engine_env.llm_settings(fake_llm), terminal)
    line = assert_fell_back_offline(result, screen)
    assert "cut" in line
    as_json = result.as_json()
    assert as_json["error"] == result.error
    assert as_json["brief"].startswith(OFFLINE_MARK) and "Brief for" not in as_json["brief"]
    assert fake_llm.calls == 1


def test_a_cut_stream_is_never_cached(engine_env: Any, fake_llm: FakeOpenAI, run_pipeline: Any, terminal: Any) -> None:
    fake_llm.cut_stream()
    brief_once(run_pipeline, engine_env.llm_settings(fake_llm), terminal)
    result, _, _ = brief_once(run_pipeline, engine_env.llm_settings(fake_llm), terminal)
    assert result.ok and not result.cached and result.brief.startswith("Brief for PAY-142.")


def test_a_refused_api_key_is_one_line_without_the_key(engine_env: Any, run_pipeline: Any, terminal: Any) -> None:
    with FakeOpenAI(api_key="sk-the-right-one") as fake:
        settings = engine_env.llm_settings(fake, llm_api_key="sk-wrong-4f7d1c9e8b")
        result, screen, _ = brief_once(run_pipeline, settings, terminal)
        assert fake.calls == 1  # a bad key is not retried
    line = assert_fell_back_offline(result, screen)
    assert "401" in line and "OPENAI_API_KEY" in line
    assert "4f7d1c9e8b" not in screen.stdout + "".join(screen.err) + str(result.as_json())


def test_an_unknown_model_is_named(engine_env: Any, fake_llm: FakeOpenAI, run_pipeline: Any, terminal: Any) -> None:
    settings = engine_env.llm_settings(fake_llm, model="gpt-9-turbo-preview")
    result, screen, _ = brief_once(run_pipeline, settings, terminal)
    assert fake_llm.calls == 1
    line = assert_fell_back_offline(result, screen)
    assert "gpt-9-turbo-preview" in line and "404" in line and "--model" in line


def test_one_ticket_failing_does_not_stop_the_others(
    engine_env: Any, fake_llm: FakeOpenAI, run_pipeline: Any, terminal: Any
) -> None:
    fake_llm.insufficient_quota()  # whichever ticket asks first gets it
    keys = ["PAY-142", "WEB-88", "WEB-91"]
    screen = terminal(keys)
    results = run_pipeline(keys, engine_env.llm_settings(fake_llm, concurrency=1), output=screen)
    assert [r.ok for r in results] == [False, True, True]
    assert [r.brief.startswith("Brief for") for r in results] == [False, True, True]
    assert len(screen.err) == 1 and fake_llm.calls == 3


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "no-stream"])
def test_an_answer_that_keeps_arriving_is_bounded_by_timeout(
    engine_env: Any, fake_llm: FakeOpenAI, run_pipeline: Any, terminal: Any, stream: bool
) -> None:
    fake_llm.trickle("x" * 1024, every=0.1)  # 10 KiB/s for as long as the client listens
    result, screen, seconds = brief_once(
        run_pipeline, engine_env.llm_settings(fake_llm, timeout=2, stream=stream), terminal
    )
    assert seconds < 6, seconds  # --timeout 2 by the wall clock (the red team saw 64 s against --timeout 10)
    line = assert_fell_back_offline(result, screen)
    assert "--timeout 2" in line


def test_20_mb_of_reasoning_is_read_in_linear_time_and_capped(
    engine_env: Any, fake_llm: FakeOpenAI, run_pipeline: Any, terminal: Any
) -> None:
    fake_llm.trickle("r" * 1024, every=0, count=20_000, reasoning=True)
    result, screen, seconds = brief_once(
        run_pipeline, engine_env.llm_settings(fake_llm, timeout=120, stream=True), terminal
    )
    assert seconds < 20, seconds  # the red team saw 122 s of CPU for the same flood
    line = assert_fell_back_offline(result, screen)
    assert "more than 16 MiB" in line


def test_doctor_says_a_model_that_keeps_answering_ran_past_the_timeout(engine_env: Any, fake_llm: FakeOpenAI) -> None:
    fake_llm.trickle("x" * 1024, every=0.1)
    env = {**engine_env.environ, "OPENAI_API_KEY": fake_llm.api_key or "", "OPENAI_BASE_URL": fake_llm.base_url}
    start = time.monotonic()
    done = CliRunner().invoke(main, ["doctor", "--demo", "--model", "test-model", "--timeout", "2"], env=env)
    assert time.monotonic() - start < 8
    assert done.exit_code == 1 and "Traceback" not in done.output
    assert f"the LLM at {fake_llm.base_url} did not answer within 2 s" in done.output
