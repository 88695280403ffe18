"""What the terminal shows: rich briefs on a TTY, plain text when piped, progress while waiting, none when piped."""

from __future__ import annotations

import asyncio
import io
import itertools
import os
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

import pytest
from rich.console import Console

from jira_brief.brief.pipeline import brief_all
from jira_brief.brief.progress import Event
from jira_brief.forges import in_ci
from jira_brief.jira.demo.server import build_server
from jira_brief.keys.scan import FoundKey
from jira_brief.publish.labels import labels_in
from jira_brief.publish.progress import PhaseLines, Waiting
from jira_brief.publish.terminal import RichTerminal, terminal_screen

JIRA = "https://shopwave.atlassian.net/browse"


def brief(keys: Sequence[str], settings: Any, output: Any = None, progress: Any = None) -> Any:
    """The real pipeline against the demo Jira, with `output` and `progress` watching."""
    found = [FoundKey(key, "arg") for key in keys]
    run = brief_all(found, settings, output=output, progress=progress, server=build_server())
    return asyncio.run(asyncio.wait_for(run, 30))


def recording_console(width: int = 72) -> Console:
    return Console(record=True, width=width, file=io.StringIO(), force_terminal=True, color_system="truecolor")


def test_a_terminal_shows_a_header_line_styled_headings_and_aligned_bullets(engine_env: Any) -> None:
    console = recording_console()
    terminal = RichTerminal(["PAY-142", "WEB-88"], console, str, None)

    brief(["PAY-142", "WEB-88"], engine_env.settings(llm="none"), terminal, terminal)

    lines = console.export_text(clear=False).splitlines()
    html = console.export_html(inline_styles=True)
    assert lines[0].startswith("PAY-142 — Split payments between two cards")
    assert any(line.startswith("WEB-88 — Confirmation email") for line in lines)
    assert not any(line.startswith(("#", "- ")) for line in lines)  # Markdown syntax is rendered, not shown
    assert re.search(r'<span style="[^"]*font-weight: bold[^"]*">Critères d’acceptation</span>', html)
    assert f'<a href="{JIRA}/PAY-142">' in html and f'<a href="{JIRA}/WEB-88">' in html
    wrapped = 0
    for above, line in itertools.pairwise(lines):
        if line.strip() and above.startswith((" • ", "   ")) and not line.startswith(" • "):
            assert line.startswith("   ") and line[3] != " ", line  # a bullet's next line sits under its text
            wrapped += 1
    assert wrapped >= 3


def test_the_first_ticket_is_shown_line_by_line_while_it_is_written() -> None:
    console = recording_console()
    terminal = RichTerminal(["PAY-142", "WEB-88"], console, str, None)

    terminal.text("PAY-142", "#### Contexte\n\nLe besoin des cli")
    shown = console.export_text(clear=False)
    terminal.text("WEB-88", "#### Objectif\n")  # a later ticket waits its turn

    assert shown.splitlines()[:3] == ["PAY-142", "Contexte"]
    assert "Le besoin" not in shown  # half a line is held until it ends
    assert "Objectif" not in console.export_text(clear=False)


MARKED_BRIEF = """#### Contexte

*Out of scope*

- the *Pay* button, a _new_ flow, ~~old rule~~ and a \\| pipe
- `snake_case_name`, 2*3*4 and a_b_c stay as they are

| card | amount<br>charged |
| --- | ---: |
| Visa | €50 |

#### Objectif

_Non précisé dans le ticket : Étapes._
"""


def test_a_terminal_shows_no_markdown_markers() -> None:
    console = recording_console(100)
    terminal = RichTerminal(["PAY-1"], console, str, None)
    terminal.text("PAY-1", MARKED_BRIEF)
    shown = console.export_text(clear=False)
    for marker in ("*Out", "*Pay*", "_new_", "~~", "\\|", "`", "<br>", "| --- |", "| card", "_Non", "#"):
        assert marker not in shown, marker
    assert "Out of scope" in shown and "the Pay button, a new flow, old rule and a | pipe" in shown
    assert "snake_case_name, 2*3*4 and a_b_c stay" in shown  # words, not markers
    assert "card │ amount charged" in shown and "Visa │ €50" in shown
    lines = shown.splitlines()
    assert lines[lines.index("Contexte") + 1] == "Out of scope"  # no blank line under a heading


def test_terminal_text_cannot_move_the_cursor(engine_env: Any) -> None:
    console = recording_console()
    terminal = RichTerminal(["PAY-142"], console, lambda text: text.replace("\x1b", ""), None)

    terminal.text("PAY-142", "#### Contexte\n\x1b[2Jgone\n")

    assert "\x1b[2J" not in console.file.getvalue()  # type: ignore[attr-defined]


def test_the_pipeline_says_what_it_waits_for_in_order(engine_env: Any, fake_llm: Any) -> None:
    events: list[Event] = []

    brief(["PAY-142", "WEB-88", "WEB-91"], engine_env.llm_settings(fake_llm, concurrency=1), progress=events.append)

    phases = [(event.phase, event.key) for event in events]
    assert phases[0] == ("connect", "") and events[0].detail == "the embedded demo Jira"
    for key in ("PAY-142", "WEB-88", "WEB-91"):
        assert phases.index(("read", key)) < phases.index(("ticket", key)) < phases.index(("write", key))
        assert phases.index(("write", key)) < phases.index(("done", key))
    assert [(event.done, event.total) for event in events if event.phase == "done"] == [(1, 3), (2, 3), (3, 3)]


def test_the_spinner_text_follows_the_events() -> None:
    waiting = Waiting()
    shown = []
    for event in [
        Event("connect", detail="`mcp-atlassian` (stdio)"),
        Event("read", "PAY-142"),
        Event("read", "WEB-88"),
        Event("ticket", "PAY-142"),
        Event("write", "PAY-142"),
        Event("ticket", "WEB-88"),
        Event("write", "WEB-88"),
        Event("done", "PAY-142", done=1, total=2),
        Event("done", "WEB-88", done=2, total=2),
        Event("post", detail="pull request comment"),
    ]:
        waiting.add(event)
        shown.append(waiting.message())

    assert shown[0] == "Connecting to `mcp-atlassian` (stdio)…"
    assert shown[2] == "Reading PAY-142, WEB-88 from Jira…"
    assert shown[7] == "Writing briefs 1/2: WEB-88…"
    assert shown[8] == ""  # nothing left to wait for: no spinner
    assert shown[9] == "Posting the pull request comment…"


def screen_lines(engine_env: Any, environ: dict[str, str]) -> tuple[list[str], str]:
    """What a piped `summarize` run writes on stderr and stdout, under `environ`."""
    warnings: list[str] = []
    out: list[str] = []
    screen = terminal_screen(
        ["PAY-142", "WEB-88"],
        "text",
        clean=str,
        write=out.append,
        warn=warnings.append,
        labels=labels_in("en"),
        ci=in_ci(environ),
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    brief(["PAY-142", "WEB-88"], engine_env.settings(llm="none"), screen.output, screen.notify)
    screen.close()
    return warnings, "".join(out)


@pytest.mark.parametrize("ci", ["GITHUB_ACTIONS", "GITLAB_CI"])
def test_in_ci_each_phase_is_one_log_line(engine_env: Any, ci: str) -> None:
    warnings, out = screen_lines(engine_env, {ci: "true"})

    assert warnings == ["jira-brief: connecting to the embedded demo Jira", "jira-brief: reading the tickets"]
    assert "#### Contexte" in out and "\x1b" not in out


def test_piped_outside_ci_stderr_stays_quiet(engine_env: Any) -> None:
    warnings, out = screen_lines(engine_env, {})

    assert warnings == []
    assert out.index("PAY-142") < out.index("WEB-88")


def test_phase_lines_say_each_phase_once() -> None:
    said: list[str] = []
    lines = PhaseLines(said.append)

    for event in [Event("read", "A-1"), Event("read", "A-2"), Event("write", "A-1"), Event("write", "A-2")]:
        lines(event)

    assert said == ["jira-brief: reading the tickets", "jira-brief: writing briefs"]


def run_in_pty(args: Sequence[str], env: dict[str, str]) -> bytes:
    """Run jira-brief with stdout and stderr on a real pseudo-terminal; everything it wrote, in order."""
    primary, secondary = os.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "jira_brief", *args], stdin=secondary, stdout=secondary, stderr=secondary, env=env
    )
    os.close(secondary)
    output = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            data = os.read(primary, 65536)
        except OSError:  # the pty closes when the process exits
            break
        if not data:
            break
        output += data
    process.wait(timeout=10)
    os.close(primary)
    return output


def test_a_terminal_sees_progress_before_the_first_brief_and_a_pipe_sees_none(engine_env: Any, invoke: Any) -> None:
    env = engine_env.process_env(TERM="xterm-256color", COLUMNS="100")
    env.pop("GITHUB_ACTIONS", None)

    shown = run_in_pty(["demo", "--llm", "none", "PAY-142"], env).decode()
    piped = invoke("demo", "--llm", "none", "PAY-142", env={"GITHUB_ACTIONS": None})  # in process: no terminal

    assert "Connecting to the embedded demo Jira" in shown
    assert shown.index("Connecting to the embedded demo Jira") < shown.index("Contexte")
    assert "\x1b]8;" in shown  # the key is a hyperlink where the terminal supports it
    assert piped.exit_code == 0 and "#### Contexte" in piped.stdout
    assert "Connecting" not in piped.stderr and "Reading" not in piped.stderr
    assert "\x1b" not in piped.stdout + piped.stderr


@pytest.mark.slow  # seconds of real waiting or process starts: the slow tier
def test_the_offline_demo_on_a_terminal_is_short_and_shows_no_markers(engine_env: Any) -> None:
    env = engine_env.process_env(TERM="xterm-256color", COLUMNS="100")
    env.pop("GITHUB_ACTIONS", None)
    raw = run_in_pty(["demo", "--llm", "none"], env).decode()
    shown = re.sub(r"\x1b\]8;[^\x1b]*\x1b\\|\x1b\[[0-9;?]*[a-zA-Z]", "", raw)
    assert "WEB-91 — Replace the checkout favicon" in shown
    assert "*Out of scope*" not in shown and "Out of scope" in shown and "####" not in shown
    assert shown.count("Each card carries at least €10.") == 1  # business rules said once
    assert shown.count("Non précisé dans le ticket") == 2  # one line for WEB-88, one for WEB-91
    assert len(shown.splitlines()) < 110  # 149 before sections collapsed and rules stopped repeating


def github_html(markdown: str) -> str:
    import cmarkgfm
    from cmarkgfm.cmark import Options

    return str(cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE))


def test_markdown_format_is_the_comments_markdown(engine_env: Any, invoke: Any) -> None:
    several = invoke("demo", "--llm", "none", "--language", "en", "--format", "markdown", "PAY-142", "WEB-88")
    alone = invoke("demo", "--llm", "none", "--format", "markdown", "PAY-142")

    html = github_html(several.stdout)
    assert several.exit_code == 0 and several.stdout.startswith("### Jira brief\n2 tickets")
    assert re.findall(r'<td><a href="([^"]+)">', html) == [f"{JIRA}/PAY-142", f"{JIRA}/WEB-88"]
    assert html.count("<details>") == 2 and "<h4>Acceptance criteria</h4>" in html
    assert "<!-- jira-brief -->" not in several.stdout  # no marker: pasting it elsewhere is not our comment
    assert alone.stdout.startswith("### Brief Jira\n1 ticket\n") and "<details open>" in github_html(alone.stdout)
    assert "<table>" not in github_html(alone.stdout)


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "no-stream"])
def test_what_the_model_wrote_is_shown_normalized_fresh_and_from_the_cache(
    engine_env: Any, fake_llm: Any, run_pipeline: Any, terminal: Any, stream: bool
) -> None:
    from jira_brief.brief.cache import BriefCache

    raw = "TICKET: PAY-142\nCONTEXTE:\nLe panier dépasse le plafond.\n**Critères d'acceptation**\n• deux cartes"
    fake_llm.reply(raw)
    settings = engine_env.llm_settings(fake_llm, stream=stream)
    screens = [terminal(["PAY-142"]), terminal(["PAY-142"])]

    [fresh] = run_pipeline(["PAY-142"], settings, output=screens[0])
    BriefCache(settings).put_brief(fresh.fingerprint, "PAY-142", raw)  # as a cache written before normalizing
    [cached] = run_pipeline(["PAY-142"], settings, output=screens[1])

    assert fake_llm.calls == 1 and cached.cached
    for screen, result in zip(screens, [fresh, cached], strict=True):
        assert "#### Contexte\n\nLe panier dépasse le plafond." in screen.stdout
        assert "#### Critères d’acceptation\n\n- deux cartes" in screen.stdout
        assert "CONTEXTE:" not in screen.stdout and "TICKET" not in screen.stdout
        assert result.brief.startswith("#### Contexte")
