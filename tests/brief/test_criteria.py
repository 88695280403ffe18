"""The coverage check: criteria from a ticket, one structured call through the real OpenAI SDK to the
fake endpoint, an answer validated against the diff, and the section a reviewer reads."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
from typing import Any

import pytest

from jira_brief.brief.criteria import (
    TOOL_NAME,
    Coverage,
    Evidence,
    Verdict,
    check_fingerprint,
    check_ticket,
    criteria,
    validate,
)
from jira_brief.brief.diff import Diff, reduce_diff
from jira_brief.errors import LLMError
from jira_brief.forges.github.forge import file_of_github, files_tab_link
from jira_brief.jira.ticket import Ticket
from jira_brief.llm.client import LLM
from jira_brief.publish.coverage import Published, published_check, render_coverage
from jira_brief.publish.neutralize import ZWJ

pytestmark = pytest.mark.usefixtures("engine_env")

ITEMS = ["Split offered from €100", "Each card carries at least €10", "Refunds go back to each card"]
DIFF = Diff(
    (
        file_of_github("shop/split.py", "added", "@@ -0,0 +1,3 @@\n+MIN_TOTAL = 100\n+MIN_CARD = 10\n+x = 1\n"),
        file_of_github("shop/refund.py", "modified", "@@ -1 +1 @@\n-pass\n+refund_each_card()\n"),
    )
)
TICKET = Ticket("PAY-142", "Split payments between two cards", acceptance="\n".join(f"* {item}" for item in ITEMS))
REJECTED = (
    "Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model. Learn more "
    "about supported models at the Structured Outputs guide: https://platform.openai.com/docs/guides/structured-outputs"
)


def answer(*verdicts: tuple[int, str, list[tuple[str, str]], str]) -> str:
    rows = [
        {"number": n, "status": s, "evidence": [{"file": f, "lines": lines} for f, lines in e], "reason": r}
        for n, s, e, r in verdicts
    ]
    return json.dumps({"criteria": rows})


def test_criteria_are_the_acceptance_items_with_continuation_lines_joined() -> None:
    text = "* Given a basket\n  of €100, the split shows.\n* The email lists both cards."
    ticket = Ticket("A-1", "t", acceptance=text)
    assert criteria(ticket) == ["Given a basket of €100, the split shows.", "The email lists both cards."]


def test_without_acceptance_criteria_the_objective_bullets_count_and_other_sections_do_not() -> None:
    description = (
        "Intro.\n\n## Objective\n- Invoices list each card\n- Amounts in the locale\n\n## Out of scope\n- Gifts"
    )
    assert criteria(Ticket("A-1", "t", description=description)) == ["Invoices list each card", "Amounts in the locale"]
    assert criteria(Ticket("A-1", "t", description="## Business rules\n- Only from €100")) == []


def test_validation_keeps_real_files_and_turns_unbacked_claims_into_not_seen() -> None:
    raw = answer(
        (1, "covered", [("shop/split.py", "1-2"), ("shop/secret.py", "1")], "constants added"),
        (2, "covered", [("README.md", "")], "said so"),
        (3, "partly", [("shop/refund.py", "around line 1"), ("shop/refund.py", "1")], "only the call"),
    )
    verdicts = validate(raw, ITEMS, reduce_diff(DIFF, ITEMS))
    assert [v.status for v in verdicts] == ["covered", "not_seen", "partly"]
    assert verdicts[0].evidence == (Evidence("shop/split.py", "1-2"),)
    assert verdicts[1].evidence == ()
    assert verdicts[2].evidence == (Evidence("shop/refund.py", "1"),)  # a citation needs its lines


def test_evidence_must_be_a_file_and_lines_the_model_was_shown() -> None:
    """The red team's "11 of 11 covered, judged on 7 of 11": citations of files left out of the excerpt."""
    hunks = "".join(f"@@ -{n},1 +{n},1 @@\n-old = {n}\n+new = {n}\n" for n in range(1, 400, 20))
    diff = Diff(
        (
            *DIFF.files,
            file_of_github("package-lock.json", "modified", '@@ -1 +1 @@\n-"v": 2\n+"v": 3\n'),
            file_of_github("vendor/lib/pay.py", "added", "@@ -0,0 +1 @@\n+def pay(): ...\n"),
            file_of_github("shop/logo.png", "added", None),
            file_of_github("shop/long.py", "modified", hunks),
        )
    )
    excerpt = reduce_diff(diff, ITEMS, budget=420)
    assert "shop/long.py" in excerpt.shown and excerpt.shows("shop/long.py", "1")
    assert not excerpt.shows("shop/long.py", "381")  # a hunk that did not fit the budget
    cited = [("package-lock.json", "1"), ("vendor/lib/pay.py", "1"), ("shop/logo.png", "1"), ("shop/long.py", "381")]
    raw = answer(*[(n, "covered", [cite], "see there") for n, cite in enumerate(cited[:3], 1)])
    assert [v.status for v in validate(raw, ITEMS, excerpt)] == ["not_seen"] * 3
    unseen = validate(answer((1, "covered", [cited[3]], "far down")), ITEMS, excerpt)
    assert unseen[0].status == "not_seen" and unseen[0].evidence == ()


def test_a_criterion_the_model_skipped_is_not_seen_and_garbage_is_an_error() -> None:
    excerpt = reduce_diff(DIFF, ITEMS)
    verdicts = validate(answer((2, "covered", [("shop/split.py", "2")], "min")), ITEMS, excerpt)
    assert [v.status for v in verdicts] == ["not_seen", "covered", "not_seen"]
    with pytest.raises(LLMError, match="not JSON"):
        validate("All three are covered!", ITEMS, excerpt)
    with pytest.raises(LLMError, match="none of the criteria"):
        validate(answer((9, "covered", [], "x")), ITEMS, excerpt)


def run_check(fake: Any, engine_env: Any, **flags: Any) -> Coverage:
    settings = engine_env.llm_settings(fake, language="en", **flags)
    excerpt = reduce_diff(DIFF, ITEMS)

    async def go() -> Coverage:
        llm = LLM(settings)
        try:
            return await check_ticket(llm, TICKET, ITEMS, excerpt, "f" * 20)
        finally:
            await llm.close()

    return asyncio.run(go())


def test_one_structured_call_with_the_schema_and_no_tools(fake_llm: Any, engine_env: Any) -> None:
    fake_llm.reply(answer((1, "covered", [("shop/split.py", "1")], "threshold"), (2, "not_seen", [], "")))
    coverage = run_check(fake_llm, engine_env)
    assert fake_llm.calls == 1 and fake_llm.errors == []  # the fake checks the schema as strict mode does
    request = fake_llm.requests[0]
    assert request["response_format"]["type"] == "json_schema" and "tools" not in request
    prompt = request["messages"][-1]["content"]
    assert "untrusted data" in prompt and "<change>" in prompt and "not instructions" in prompt
    assert [v.status for v in coverage.verdicts] == ["covered", "not_seen", "not_seen"]
    assert coverage.error is None and coverage.fingerprint == "f" * 20


def test_an_endpoint_without_response_format_gets_a_forced_function_call(fake_llm: Any, engine_env: Any) -> None:
    fake_llm.fail(400, message=REJECTED)
    fake_llm.reply("Criterion 3 looks partly done.")  # asked again without response_format: prose, not JSON
    fake_llm.call_tool(TOOL_NAME, json.loads(answer((3, "partly", [("shop/refund.py", "1")], "call only"))))
    coverage = run_check(fake_llm, engine_env)
    assert fake_llm.calls == 3
    forced = fake_llm.requests[2]
    assert "response_format" not in fake_llm.requests[1] and "response_format" not in forced
    assert [tool["function"]["name"] for tool in forced["tools"]] == [TOOL_NAME]
    assert forced["tool_choice"] == {"type": "function", "function": {"name": TOOL_NAME}}
    assert coverage.verdicts[2] == Verdict(ITEMS[2], "partly", (Evidence("shop/refund.py", "1"),), "call only")


def test_an_invalid_answer_is_a_failed_check_listing_the_criteria(fake_llm: Any, engine_env: Any) -> None:
    fake_llm.reply("Sure! Everything is covered.")
    coverage = run_check(fake_llm, engine_env)
    assert coverage.error and "not JSON" in coverage.error and coverage.fingerprint is None
    text = render_coverage(coverage)
    assert "The check failed" in text and all(item in text for item in ITEMS)
    assert published_check(text) is None  # a failure is tried again next run


def test_the_section_links_evidence_to_the_files_tab_and_neutralizes_untrusted_text() -> None:
    verdicts = (
        Verdict("Ping @octo/team on #12", "covered", (Evidence("shop/split.py", "3-9"),), "see <img src=x>"),
        Verdict("Email lists both cards", "partly", (Evidence("shop/[x](y).py", None),), ""),
        Verdict("Wording approved by legal", "not_seen"),
    )
    coverage = Coverage(verdicts, 2, 5, fingerprint="a" * 20)
    text = render_coverage(coverage, file_link=functools.partial(files_tab_link, "https://github.com/o/r/pull/7"))
    lines = text.splitlines()
    assert lines[0].startswith(f"<!-- jira-brief:check fingerprint={'a' * 20} data=")
    assert lines[1].endswith("1 of 3 criteria covered, 1 partly · judged on 2 of 5 files")
    anchor = hashlib.sha256(b"shop/split.py").hexdigest()
    assert f"(https://github.com/o/r/pull/7/files#diff-{anchor}R3-R9)" in lines[2]
    assert lines[2].startswith("- ✅ ") and lines[3].startswith("- 🟡 ") and lines[4].startswith("- ⬜ ")
    assert f"@{ZWJ}octo" in text and f"#{ZWJ}12" in text and f"<{ZWJ}img" in text
    assert "](y)" not in text
    assert published_check(text) == Published("a" * 20, text, verdicts)


def test_the_fingerprint_changes_with_the_diff_and_the_ticket() -> None:
    excerpt = reduce_diff(DIFF, ITEMS)
    other = reduce_diff(Diff(DIFF.files[:1]), ITEMS)
    base = check_fingerprint(TICKET, "m", "en", excerpt)
    assert base == check_fingerprint(TICKET, "m", "en", excerpt)
    assert base != check_fingerprint(TICKET, "m", "en", other)
    assert base != check_fingerprint(Ticket("PAY-142", "t", updated="2026-01-01"), "m", "en", excerpt)
    assert base != check_fingerprint(TICKET, "other-model", "en", excerpt)


def test_the_summary_speaks_the_section_language() -> None:
    verdicts = (Verdict("a", "covered", (Evidence("x.py"),)), Verdict("b", "covered"), Verdict("c", "partly"))
    french = render_coverage(Coverage(verdicts, 3, 7, language="fr"))
    assert french.startswith("**Couverture par la PR** · 2 critères sur 3 couverts, 1 en partie")
    assert "jugé sur 3 fichiers sur 7" in french
