"""The red team's hostile inputs, timed: regex attacks, a huge diff, answers that keep arriving, floods.

`python benchmarks/bench_hostile.py [CASE ...]` times each case against the jira_brief on sys.path, so
`PYTHONPATH=OLD/src python benchmarks/bench_hostile.py` times an older tree (the fakes come from this
one). Each case prints one line: seconds of wall time, and the peak RSS (VmHWM) of the process that did
the work where memory is the point. Cases that spawn a process run it with the same PYTHONPATH.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.fakes.mcp_http import ServedMCP  # noqa: E402
from tests.fakes.openai_server import FakeOpenAI  # noqa: E402

# Runs a snippet in a fresh process and prints its peak RSS (VmHWM, KiB) last.
PEAK = (
    "\nimport pathlib\nstatus = pathlib.Path('/proc/self/status').read_text().splitlines()\n"
    "print(next(line for line in status if line.startswith('VmHWM')).split()[1])\n"
)


def timed(run: Callable[[], Any]) -> float:
    start = time.monotonic()
    run()
    return time.monotonic() - start


def child(code: str, cwd: Path, env: dict[str, str] | None = None) -> tuple[float, int, str]:
    """(seconds, peak MiB, output) of `code` in a fresh interpreter."""
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", code + PEAK], cwd=cwd, capture_output=True, text=True, env={**os.environ, **(env or {})}
    )
    lines = done.stdout.strip().splitlines()
    return time.monotonic() - start, int(lines[-1]) >> 10 if lines else -1, done.stdout + done.stderr


def settings(scratch: Path, **flags: Any) -> Any:
    from jira_brief.config.load import load_settings

    return load_settings(flags, {"JIRA_BRIEF_CACHE_DIR": str(scratch / "cache")}, scratch)


class Screen:
    """An output that reads the brief as it is written (so the model's answer is streamed)."""

    def text(self, key: str, chunk: str) -> None:
        pass

    def done(self, result: Any) -> None:
        pass


def brief(keys: list[str], config: Any, watched: bool = False) -> list[Any]:
    from jira_brief.brief.pipeline import brief_all
    from jira_brief.keys.scan import FoundKey

    found = [FoundKey(key, "arg") for key in keys]
    return asyncio.run(brief_all(found, config, output=Screen() if watched else None))


def case_criteria_spaces(scratch: Path) -> str:
    from jira_brief.brief.normalize import normalize_brief

    text = "CRITÈRES D'ACCEPTATION :\n-" + " " * 32_000 + "x\n•" + " " * 32_000 + "y"
    return f"{timed(lambda: normalize_brief(text, ['CONTEXTE', 'CRITÈRES D’ACCEPTATION'])):.2f} s"


def case_wiki(scratch: Path) -> str:
    from jira_brief.jira.richtext import wiki_to_markdown

    mentions, spans = timed(lambda: wiki_to_markdown("[~" * 16_000)), timed(lambda: wiki_to_markdown("{{a" * 10_000))
    return f"{mentions:.2f} s ('[~' x 16,000), {spans:.2f} s ('{{{{a' x 10,000)"


def case_hunks(scratch: Path) -> str:
    from jira_brief.brief.diff import Diff, FileDiff, Hunk, reduce_diff

    hunks = tuple(Hunk(f"@@ -{n * 10},1 +{n * 10},1 @@", (f"-old {n}", f"+new {n}")) for n in range(1, 14_001))
    return f"{timed(lambda: reduce_diff(Diff((FileDiff('huge.py', 'modified', hunks),)), ['new'])):.2f} s"


def case_staged(scratch: Path, megabytes: int = 526) -> str:
    repo = scratch / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    line = "a staged line of a change far too big to read in a commit hook\n"
    block = line * ((1 << 20) // len(line))
    for number in range(megabytes):  # files of 1 MB: git calls one file past 512 MiB binary and skips it
        (repo / f"part_{number:04}.txt").write_text(block)
    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    code = (
        "from jira_brief.brief.diff import parse_git_diff, reduce_diff\nfrom jira_brief.git import change_diff\n"
        "print(reduce_diff(parse_git_diff(change_diff('staged')), ['line']).left_out_note()[:80])"
    )
    seconds, peak, _ = child(code, repo)
    return f"{seconds:.2f} s, peak {peak} MiB ({megabytes} MB staged)"


def case_trickle(scratch: Path, streamed: bool = True) -> str:
    with FakeOpenAI() as fake, ServedMCP(_demo()) as mcp:
        fake.trickle("x" * 1024, every=0.1, count=600)  # 10 KiB/s for 60 s
        flags = {"llm_base_url": fake.base_url, "llm_api_key": "sk-test", "model": "test-model", "timeout": 10}
        config = settings(scratch, mcp_url=mcp.url, stream=streamed, **flags)
        seconds = timed(lambda: brief(["PAY-142"], config, watched=streamed))
    return f"{seconds:.1f} s against --timeout 10 ({'streamed' if streamed else 'one JSON body'})"


def case_reasoning(scratch: Path, megabytes: int = 20) -> str:
    from jira_brief.llm.replies import ContentReader

    class Delta:
        def __init__(self, text: str) -> None:
            self.reasoning_content, self.content = text, None

    chunk = Delta("r" * 1024)
    reader = ContentReader(lambda text: None)

    def read() -> None:
        for _ in range(megabytes * 1024):
            reader.feed(chunk)
        reader.close()

    cpu = time.process_time()
    read()
    return f"{time.process_time() - cpu:.2f} s CPU for {megabytes} MB of 1 KiB reasoning chunks"


def case_flood(scratch: Path, megabytes: int = 1024) -> str:
    with ServedMCP(_demo(), flood=megabytes << 20) as served:
        code = (
            "import sys\nfrom jira_brief.commands.main import main\nsys.argv = ['jira-brief', 'summarize', 'PAY-142', "
            f"'--mcp-url', {served.url!r}, '--llm', 'none', '--timeout', '60', '--format', 'json']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
        )
        seconds, peak, _ = child(code, scratch, {"JIRA_BRIEF_CACHE_DIR": str(scratch / "cache")})
    return f"{seconds:.1f} s, peak {peak} MiB ({megabytes} MiB endless JSON body)"


def case_stdio(scratch: Path) -> str:
    mute = shlex.join([sys.executable, "-c", "import time; time.sleep(120)"])
    config = settings(scratch, llm="none", mcp_command=mute, timeout=5)
    return f"{timed(lambda: brief(['PAY-142'], config)):.1f} s against --timeout 5"


def _demo() -> Any:
    from jira_brief.jira.demo.server import build_server

    return build_server()


CASES = {
    "criteria-spaces": case_criteria_spaces,
    "wiki": case_wiki,
    "hunks": case_hunks,
    "staged": case_staged,
    "trickle": case_trickle,
    "trickle-json": lambda scratch: case_trickle(scratch, streamed=False),
    "reasoning": case_reasoning,
    "flood": case_flood,
    "stdio": case_stdio,
}


def main() -> None:
    for name in sys.argv[1:] or list(CASES):
        with tempfile.TemporaryDirectory() as scratch:
            (Path(scratch) / ".git").mkdir()
            print(f"{name}: {CASES[name](Path(scratch))}", flush=True)
    print(json.dumps({"python": sys.version.split()[0], "load": os.getloadavg()}))


if __name__ == "__main__":
    main()
