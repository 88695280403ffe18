"""The acceptance-criteria check: prompt tokens and wall time for a small (4 files), medium (40) and large
(400) pull request at the default diff budget. `python benchmarks/bench_coverage.py [--write]`

The check runs for real (diff reduction, the OpenAI SDK, validation) against FakeOpenAI with the same
300 ms latency as benchmarks/run.py; tokens are the fake's estimate (4 characters a token, as in
run.py) and, because code tokenizes denser than prose, a pessimistic one at 3 characters a token.
`--write` puts the table in docs/benchmarks-coverage.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(BENCH_DIR))

from fake_model import prompt_tokens  # noqa: E402

from jira_brief.brief.criteria import check_ticket, criteria  # noqa: E402
from jira_brief.brief.diff import DEFAULT_BUDGET, Diff, FileDiff, reduce_diff  # noqa: E402
from jira_brief.config.load import load_settings  # noqa: E402
from jira_brief.forges.github.forge import file_of_github  # noqa: E402
from jira_brief.jira.ticket import Ticket  # noqa: E402
from jira_brief.llm.client import LLM  # noqa: E402
from tests.fakes.openai_server import FakeOpenAI  # noqa: E402

LATENCY = 0.3
SIZES = {"small": 4, "medium": 40, "large": 400}
REPEATS = 5
CRITERIA = (
    "Given a basket of €100 or more, when the shopper picks split payment, a second card form appears.",
    "Given an amount under €10 on either card, the Pay button stays disabled.",
    "Given the second authorisation fails, the first one is voided and the basket stays intact.",
    "The order confirmation page and email list both cards with the amount charged to each.",
    "Refunds go back to each card in proportion to the amount charged to it.",
)
TICKET = Ticket("PAY-142", "Split payments between two cards", acceptance="\n".join(f"* {c}" for c in CRITERIA))
WORDS = "order basket card amount payment refund email form total customer invoice cart price tax".split()
KINDS = ("src/shop/{w}_{n}.py", "web/components/{W}{n}.tsx", "tests/test_{w}_{n}.py", "docs/{w}-{n}.md")
EXTRA = ("package-lock.json", "web/dist/app.min.js", "vendor/lib/{w}_{n}.go", "img/{w}_{n}.png")


def synthetic_file(rng: random.Random, n: int) -> FileDiff:
    """A changed file shaped like real PRs: 1-3 hunks of 5-60 lines of code, or now and then a lock,
    generated, vendored or binary file."""
    word = rng.choice(WORDS)
    if n % 12 == 11:
        path = EXTRA[(n // 12) % len(EXTRA)].format(w=word, n=n)
        return file_of_github(path, "modified", None if path.endswith(".png") else "@@ -1 +1 @@\n-a\n+b\n")
    path = rng.choice(KINDS).format(w=word, W=word.title(), n=n)
    hunks, start = [], 1
    for _ in range(rng.randint(1, 3)):
        count = rng.randint(5, 60)
        lines = [
            rng.choice("+- ") + f"    {rng.choice(WORDS)}_{rng.randint(0, 99)} = compute_{rng.choice(WORDS)}(x, y)"
            for _ in range(count)
        ]
        hunks.append(f"@@ -{start},{count} +{start},{count} @@ def {word}_{n}():\n" + "\n".join(lines))
        start += count + rng.randint(5, 40)
    return file_of_github(path, "modified", "\n".join(hunks) + "\n")


def pull_request(files: int) -> Diff:
    rng = random.Random(13 + files)
    return Diff(tuple(synthetic_file(rng, n) for n in range(files)))


def answer(body: dict[str, Any]) -> str:
    """A well-formed check answer: every criterion not seen (the content does not change the cost)."""
    rows = [{"number": n, "status": "not_seen", "evidence": [], "reason": "not in the change"} for n in range(1, 6)]
    return json.dumps({"criteria": rows})


async def one_check(settings: Any, diff: Diff) -> float:
    items = criteria(TICKET)
    llm = LLM(settings)
    try:
        started = time.perf_counter()
        excerpt = reduce_diff(diff, items, settings.diff_budget)
        coverage = await check_ticket(llm, TICKET, items, excerpt, "0" * 20)
        elapsed = time.perf_counter() - started
    finally:
        await llm.close()
    if coverage.error:
        raise RuntimeError(coverage.error)
    return elapsed


def measure(name: str, files: int, scratch: Path) -> dict[str, Any]:
    diff = pull_request(files)
    items = criteria(TICKET)
    reduce_times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        excerpt = reduce_diff(diff, items, DEFAULT_BUDGET)
        reduce_times.append(time.perf_counter() - started)
    with FakeOpenAI(latency=LATENCY, responder=answer) as fake:
        flags = {"llm_base_url": fake.base_url, "llm_api_key": fake.api_key, "model": fake.models[0], "cache": False}
        settings = load_settings(flags, {"JIRA_BRIEF_CACHE_DIR": str(scratch)}, scratch)
        walls = [asyncio.run(one_check(settings, diff)) for _ in range(REPEATS)]
        body = fake.requests[-1]
    chars = len(json.dumps(body["messages"]))
    return {
        "name": name,
        "files": files,
        "diff_chars": sum(len(h.header) + sum(len(line) + 1 for line in h.lines) for f in diff.files for h in f.hunks),
        "shown": len(excerpt.shown),
        "excerpt_chars": len(excerpt.text),
        "tokens": prompt_tokens(body),
        "tokens_dense": chars // 3,
        "reduce_ms": statistics.median(reduce_times) * 1000,
        "wall_s": statistics.median(walls),
    }


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| PR | files | diff chars | judged on | excerpt chars | prompt tokens (÷4) | pessimistic (÷3) "
        "| reduce | check wall time |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        lines.append(
            f"| {row['name']} | {row['files']} | {row['diff_chars']:,} | {row['shown']} of {row['files']} "
            f"| {row['excerpt_chars']:,} | {row['tokens']:,} | {row['tokens_dense']:,} "
            f"| {row['reduce_ms']:.1f} ms | {row['wall_s']:.2f} s |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="write docs/benchmarks-coverage.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        rows = [measure(name, files, Path(scratch)) for name, files in SIZES.items()]
    text = table(rows)
    print(text)
    goal = max(row["tokens"] for row in rows) <= 8000
    print(f"\ngoal ≤ 8,000 prompt tokens per check at the default budget: {'met' if goal else 'NOT met'}")
    if args.write:
        machine = f"{platform.system()} {platform.machine()}, Python {platform.python_version()}"
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
        (REPO / "docs" / "benchmarks-coverage.md").write_text(
            "# The acceptance-criteria check: cost per ticket\n\n"
            f"`python benchmarks/bench_coverage.py --write`, {stamp}, {machine}. One check call per ticket "
            f"(5 criteria) against FakeOpenAI with {LATENCY * 1000:.0f} ms latency, default diff budget "
            f"({DEFAULT_BUDGET:,} characters); medians of {REPEATS} runs. Tokens: the fake's estimate at 4 "
            "characters a token, and at 3 (code tokenizes denser than prose).\n\n"
            f"{text}\n\nGoal ≤ 8,000 prompt tokens per check: {'met' if goal else 'not met'} (÷4 estimate).\n",
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()
