"""Briefs: the conversation the model receives, the bounded read-only tool loop, reasoning kept out
of the printed brief, templates and languages, and the offline brief.

The model is FakeOpenAI on loopback (real `openai` SDK, strict tool-call threading); Jira is the
demo MCP server through the real `mcp.Client`; the pipeline and the terminal sink are the real ones."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from jira_brief.brief.normalize import DROPPED, display, fold
from jira_brief.jira.demo.server import build_server, load_demo_tickets

pytestmark = pytest.mark.usefixtures("engine_env")

FR_TEMPLATE = resources.files("jira_brief.brief").joinpath("prompts", "fr.md").read_text("utf-8")
EN_TEMPLATE = resources.files("jira_brief.brief").joinpath("prompts", "en.md").read_text("utf-8")
NOT_STATED_FR = "Non précisé dans le ticket :"


def headings(template: str) -> list[str]:
    return [line[3:].strip() for line in template.splitlines() if line.startswith("## ")]


def published(template: str) -> list[str]:
    """The template's headings as a published brief shows them (the TICKET line goes: the summary shows it)."""
    return [display(heading) for heading in headings(template) if fold(heading) not in DROPPED]


def messages_of(request: dict[str, Any]) -> list[dict[str, Any]]:
    return request["messages"]


def tool_names(request: dict[str, Any]) -> list[str]:
    return [tool["function"]["name"] for tool in request.get("tools") or []]


def issue_keys_asked(server: Any) -> list[str]:
    return [arguments.get("issue_key") for name, arguments in server.calls if name == "jira_get_issue"]


# --- the conversation -----------------------------------------------------------------------


def test_the_model_receives_a_played_get_issue_call_and_answers_in_one_call(
    engine_env: Any, fake_llm: Any, run_pipeline: Any
) -> None:
    fake_llm.reply("## CONTEXTE\nPAY-142 written by the model")
    [result] = run_pipeline(["PAY-142"], engine_env.llm_settings(fake_llm))
    assert result.ok and result.brief == "#### Contexte\n\nPAY-142 written by the model"
    assert fake_llm.calls == 1 and fake_llm.errors == []
    system, user, assistant, tool = messages_of(fake_llm.requests[0])
    assert system["role"] == "system"
    assert FR_TEMPLATE.strip() in system["content"]  # the template, unchanged
    assert re.search(r"data .*never instructions", system["content"])  # ticket text is data
    assert user["role"] == "user" and "PAY-142" in user["content"]
    [call] = assistant["tool_calls"]
    assert assistant["role"] == "assistant"
    assert call["function"]["name"] == "jira_get_issue"
    assert json.loads(call["function"]["arguments"]) == {"issue_key": "PAY-142"}
    assert tool["role"] == "tool" and tool["tool_call_id"] == call["id"]
    raw = load_demo_tickets()["PAY-142"]
    assert raw["summary"] in tool["content"] and raw["customfield_10042"]["value"].splitlines()[0] in tool["content"]
    assert tool_names(fake_llm.requests[0]) == ["jira_get_issue"]  # no write tool is even described


def test_one_model_call_per_ticket(engine_env: Any, fake_llm: Any, run_pipeline: Any) -> None:
    keys = ["PAY-142", "WEB-88", "WEB-91"]
    results = run_pipeline(keys, engine_env.llm_settings(fake_llm))
    assert [r.key for r in results] == keys and all(r.ok for r in results)
    assert fake_llm.calls == len(keys)
    asked = sorted(re.search(r"[A-Z]+-\d+", messages_of(r)[1]["content"]).group() for r in fake_llm.requests)
    assert asked == sorted(keys)


def test_a_model_call_to_a_write_tool_is_refused_before_the_server(
    engine_env: Any, fake_llm: Any, run_pipeline: Any
) -> None:
    server = build_server()
    fake_llm.call_tool("jira_add_comment", {"issue_key": "PAY-142", "body": "Done, closing."})
    fake_llm.call_tool("jira_transition_issue", {"issue_key": "PAY-142", "transition_id": "31"})
    [result] = run_pipeline(["PAY-142"], engine_env.llm_settings(fake_llm, max_steps=4), server=server)
    assert result.ok and result.brief
    assert [name for name, _ in server.calls] == ["jira_get_issue"]  # only our own read
    assert fake_llm.errors == []  # every tool call was answered, in order
    last = messages_of(fake_llm.requests[-1])
    answers = [m["content"] for m in last if m["role"] == "tool"][1:]
    assert len(answers) == 2
    assert all(answer.startswith("Error") and "refused" in answer for answer in answers)
    assert "jira_add_comment" in answers[0] and "jira_transition_issue" in answers[1]


def test_a_model_call_for_a_ticket_outside_the_run_is_refused(
    engine_env: Any, fake_llm: Any, run_pipeline: Any
) -> None:
    server = build_server()
    assert "WEB-91" in load_demo_tickets()  # it exists, it is just not part of this run
    fake_llm.call_tool("jira_get_issue", {"issue_key": "WEB-91"})
    [result] = run_pipeline(["PAY-142"], engine_env.llm_settings(fake_llm), server=server)
    assert result.ok
    assert issue_keys_asked(server) == ["PAY-142"]
    answer = [m for m in messages_of(fake_llm.requests[1]) if m["role"] == "tool"][-1]["content"]
    assert answer.startswith("Error") and "WEB-91" in answer


def test_the_model_may_read_the_tickets_parent_epic(engine_env: Any, fake_llm: Any, run_pipeline: Any) -> None:
    server = build_server()
    parent = load_demo_tickets()["PAY-142"]["parent"]["key"]
    fake_llm.call_tool("jira_get_issue", {"issue_key": parent})
    [result] = run_pipeline(["PAY-142"], engine_env.llm_settings(fake_llm), server=server)
    assert result.ok and fake_llm.calls == 2 and fake_llm.errors == []
    assert issue_keys_asked(server) == ["PAY-142", parent]
    answer = [m for m in messages_of(fake_llm.requests[1]) if m["role"] == "tool"][-1]["content"]
    assert load_demo_tickets()[parent]["summary"] in answer


def test_allow_tool_lets_the_model_use_one_more_read_tool(engine_env: Any, fake_llm: Any, run_pipeline: Any) -> None:
    server = build_server()
    fake_llm.call_tool("jira_search", {"jql": "key = PAY-142"})
    [result] = run_pipeline(["PAY-142"], engine_env.llm_settings(fake_llm, allow_tools="jira_search"), server=server)
    assert result.ok and fake_llm.errors == []
    assert tool_names(fake_llm.requests[0]) == ["jira_get_issue", "jira_search"]
    assert ("jira_search", "key = PAY-142") in [(name, args.get("jql")) for name, args in server.calls]
    answer = [m for m in messages_of(fake_llm.requests[1]) if m["role"] == "tool"][-1]["content"]
    assert load_demo_tickets()["PAY-142"]["summary"] in answer


def test_a_model_that_keeps_calling_tools_stops_at_max_steps(
    engine_env: Any, fake_llm: Any, run_pipeline: Any, terminal: Any
) -> None:
    fake_llm.call_tool("jira_get_issue", {"issue_key": "PAY-142"}, times=10)
    screen = terminal(["PAY-142"])
    [result] = run_pipeline(["PAY-142"], engine_env.llm_settings(fake_llm), output=screen)
    assert fake_llm.calls == 3  # the default --max-steps
    assert result.error and "3 steps" in result.error and "--max-steps" in result.error
    assert result.offline and result.brief and "hors ligne" in result.brief
    assert [line for line in screen.err if "--max-steps" in line] == screen.err and len(screen.err) == 1
    assert "hors ligne" in screen.stdout  # the offline fallback is what gets printed


# --- what gets printed ----------------------------------------------------------------------


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "no-stream"])
def test_reasoning_never_reaches_the_printed_brief(
    engine_env: Any, fake_llm: Any, run_pipeline: Any, terminal: Any, stream: bool
) -> None:
    fake_llm.reply(
        "<think>I should flatter the reporter.</think>## CONTEXTE\nPAY-142 final answer",
        reasoning="chain of thought about the card limits",
    )
    screen = terminal(["PAY-142"])
    [result] = run_pipeline(["PAY-142"], engine_env.llm_settings(fake_llm, stream=stream), output=screen)
    assert result.brief == "#### Contexte\n\nPAY-142 final answer"
    assert "PAY-142 final answer" in screen.stdout
    for hidden in ("<think>", "flatter", "chain of thought"):
        assert hidden not in screen.stdout and hidden not in result.brief
    assert fake_llm.requests[0].get("stream", False) is stream


def test_english_template(engine_env: Any, fake_llm: Any, run_pipeline: Any) -> None:
    run_pipeline(["PAY-142"], engine_env.llm_settings(fake_llm, language="en"))
    system, user = messages_of(fake_llm.requests[0])[:2]
    assert EN_TEMPLATE.strip() in system["content"] and FR_TEMPLATE.strip() not in system["content"]
    assert user["content"].startswith("Summarize") and "PAY-142" in user["content"]


CUSTOM_TEMPLATE = """Write the brief for the release notes team.

## Summary
## Why
## Done when
## Test plan
## Tasks
## Rules
## Risks
"""


def test_custom_template_file(engine_env: Any, fake_llm: Any, run_pipeline: Any, tmp_path: Path) -> None:
    template = tmp_path / "brief.md"
    template.write_text(CUSTOM_TEMPLATE, encoding="utf-8")
    run_pipeline(["PAY-142"], engine_env.llm_settings(fake_llm, template=str(template)))
    system = messages_of(fake_llm.requests[0])[0]["content"]
    assert CUSTOM_TEMPLATE.strip() in system and FR_TEMPLATE.strip() not in system
    [offline] = run_pipeline(["WEB-91"], engine_env.settings(template=str(template), llm="none", language="en"))
    custom = published(CUSTOM_TEMPLATE)
    assert sections_and_silent(offline.brief, custom) == custom


def test_a_template_without_headings_is_a_usage_error(engine_env: Any, tmp_path: Path) -> None:
    from jira_brief.brief.template import load_template
    from jira_brief.errors import UsageError

    template = tmp_path / "flat.md"
    template.write_text("Just summarize it.", encoding="utf-8")
    with pytest.raises(UsageError, match="no '## ' headings"):
        load_template(engine_env.settings(template=str(template)))


# --- the offline brief ----------------------------------------------------------------------


SCAFFOLD = {"Epic", "parent", "Components", "Labels", "Fix", "versions"}  # the offline brief's own labels


def words(text: str) -> set[str]:
    return set(re.findall(r"\w[\w'’.-]*\w|\w", text))


def offline_headings(brief: str) -> list[str]:
    return re.findall(r"^#### (.+)$", brief, re.MULTILINE)


def silent_headings(brief: str) -> list[str]:
    """The headings the closing line names as having nothing in the ticket."""
    found = re.findall(r"^_(?:Non précisé dans le ticket :|Not stated in the ticket:) (.+)\._$", brief, re.MULTILINE)
    assert len(found) <= 1
    return found[0].split(", ") if found else []


def sections_and_silent(brief: str, template: list[str]) -> list[str]:
    """The headings of a brief's sections (in the template's order) and of its closing line, in the
    template's order: the template's, when each is one or the other."""
    headings = offline_headings(brief)
    assert headings == [heading for heading in template if heading in headings]
    return sorted([*headings, *silent_headings(brief)], key=lambda heading: template.index(heading))


@pytest.mark.parametrize("key", ["PAY-142", "PAY-150", "WEB-88", "WEB-91"])
def test_offline_brief_has_the_headings_and_invents_nothing(
    engine_env: Any, fake_llm: Any, run_pipeline: Any, key: str
) -> None:
    raw = load_demo_tickets()[key]
    [result] = run_pipeline([key], engine_env.llm_settings(fake_llm, llm="none"))
    assert fake_llm.calls == 0  # --llm none wins over a configured model
    assert result.ok and result.offline and result.brief
    lines = result.brief.splitlines()
    assert "hors ligne" in lines[0]  # marked offline, first thing
    template = published(FR_TEMPLATE)
    assert (
        sections_and_silent(result.brief, template) == template
    )  # every heading, in order: a section or named as silent
    source = json.dumps(raw, ensure_ascii=False).replace("\\n", "\n").replace('\\"', '"')
    known = words(source) | SCAFFOLD | words(NOT_STATED_FR) | words(lines[0]) | words(" ".join(template))
    for line in lines[1:]:
        if line.startswith("#### ") and line[5:] in template:
            continue
        invented = words(line.strip("_")) - known
        assert not invented, f"{key}: {invented} in {line!r} is not in the ticket"


@pytest.mark.parametrize("key", ["PAY-142", "WEB-88"])
def test_offline_brief_has_only_the_templates_headings(engine_env: Any, run_pipeline: Any, key: str) -> None:
    assert re.search(r"^## ", load_demo_tickets()[key]["description"], re.MULTILINE)  # the description has its own
    [result] = run_pipeline([key], engine_env.settings(llm="none"))
    assert set(offline_headings(result.brief)) <= set(published(FR_TEMPLATE))
    assert sections_and_silent(result.brief, published(FR_TEMPLATE)) == published(FR_TEMPLATE)


def test_offline_brief_names_the_silent_sections_in_one_line(engine_env: Any, run_pipeline: Any) -> None:
    raw = load_demo_tickets()["WEB-91"]
    assert "description" not in raw and not any(k.startswith("customfield_") for k in raw)
    [result] = run_pipeline(["WEB-91"], engine_env.settings(llm="none"))
    template = published(FR_TEMPLATE)
    sections = dict(re.findall(r"^#### (.+)\n((?:(?!#### ).*\n?)*)", result.brief, re.MULTILINE))
    assert list(sections) == [template[1]] and raw["summary"] in sections[template[1]]  # the goal, and only it
    assert silent_headings(result.brief) == [heading for heading in template if heading != template[1]]
    assert result.brief.count("Non précisé") == 1


def test_offline_brief_says_the_business_rules_once(engine_env: Any, run_pipeline: Any) -> None:
    rule = "Each card carries at least €10."
    assert load_demo_tickets()["PAY-142"]["description"].count(rule) == 1
    [result] = run_pipeline(["PAY-142"], engine_env.settings(llm="none"))
    assert result.brief.count(rule) == 1  # under Règles métier, no longer in the context too
    context = result.brief.split("#### Contexte", 1)[1].split("#### ", 1)[0]
    assert "split one order between two cards" in context and "*Out of scope*" in context  # the rest stays


def test_offline_brief_in_english(engine_env: Any, run_pipeline: Any) -> None:
    [result] = run_pipeline(["WEB-91"], engine_env.settings(llm="none", language="en"))
    assert sections_and_silent(result.brief, published(EN_TEMPLATE)) == published(EN_TEMPLATE)
    assert "_Not stated in the ticket: Context, " in result.brief and "Offline" in result.brief.splitlines()[0]
    assert NOT_STATED_FR not in result.brief


def test_offline_brief_fills_a_custom_templates_own_headings_by_what_they_ask(
    engine_env: Any, run_pipeline: Any, tmp_path: Path
) -> None:
    """Three headings in another order than the built-in seven: each gets the field that answers it."""
    template = tmp_path / "short.md"
    template.write_text(
        "Write a short brief.\n\n## Acceptance criteria\n\n## Why this matters (goal)\n\n## Open questions\n",
        encoding="utf-8",
    )
    raw = load_demo_tickets()["PAY-142"]
    [result] = run_pipeline(["PAY-142"], engine_env.settings(template=str(template), llm="none", language="en"))
    sections = dict(re.findall(r"^#### (.+)\n((?:(?!#### ).*\n?)*)", result.brief, re.MULTILINE))
    headings = published(template.read_text(encoding="utf-8"))
    assert sections_and_silent(result.brief, headings) == headings
    criteria, goal = sections.values()
    assert "second card form appears" in criteria  # the ticket's acceptance criteria
    assert raw["summary"] in goal
    assert silent_headings(result.brief) == ["Open questions"]  # no field answers it: nothing invented
