"""jira-brief benchmarks: `python benchmarks/run.py [--quick]`.

Measures, in one run on this machine: CLI start-up, jira-brief against the seed's approach
(FakeOpenAI with 300 ms a call, the demo Jira MCP server over loopback HTTP), a re-run on
unchanged tickets, peak memory, and prompt tokens per ticket. Prints a table and writes
docs/benchmarks.md. Times are medians of repeats; comparisons are ratios from the same run.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(BENCH_DIR))

from bench_tickets import HUGE_KEY, NORMAL_KEY, build_tickets, describe  # noqa: E402
from fake_model import ToolCallingOpenAI, concurrency_probe, prompt_tokens  # noqa: E402
from report import render  # noqa: E402

from tests.fakes.mcp_http import ServedMCP  # noqa: E402

LATENCY = 0.3
MODEL = "test-model"
API_KEY = "sk-test"
ORIGINAL_NO_BYTECODE = os.environ.get("PYTHONDONTWRITEBYTECODE", "")
FORBIDDEN_AT_START = ("openai", "mcp", "github", "rich", "httpx2", "pydantic")
WORKER_TIMEOUT = 240.0
STARTUP_TIMEOUT = 30.0


@dataclass
class Plan:
    """How much to measure: the full run or --quick."""

    sizes: tuple[int, ...]
    startup_runs: int
    jira_repeats: int
    seed_repeats: int
    seed_sizes: tuple[int, ...]
    variants: bool = True


FULL = Plan(sizes=(1, 4, 8, 16), startup_runs=15, jira_repeats=5, seed_repeats=3, seed_sizes=(1, 4, 8, 16))
QUICK = Plan(sizes=(1, 8, 16), startup_runs=5, jira_repeats=3, seed_repeats=1, seed_sizes=(1, 8), variants=False)
# Settings to try on jira-brief, to see where its time goes (not code changes).
VARIANTS = {
    "no streaming (`stream = false`)": {"stream": False},
    "`concurrency = 8`": {"concurrency": 8},
    "both": {"stream": False, "concurrency": 8},
}
VARIANT_REPEATS = 5


@dataclass
class Report:
    """Every figure of the run, filled section by section."""

    plan: Plan
    machine: dict[str, str] = field(default_factory=dict)
    startup: dict[str, Any] = field(default_factory=dict)
    probe_s: float = 0.0
    latency_ms: int = round(LATENCY * 1000)
    tickets_line: str = ""
    rows: dict[int, dict[str, Any]] = field(default_factory=dict)
    variants: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)
    rerun: dict[str, Any] = field(default_factory=dict)
    per_ticket: dict[str, Any] = field(default_factory=dict)
    where: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


# --- processes ---------------------------------------------------------------------------


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without our settings or secrets, loopback never proxied."""
    env = {
        name: value for name, value in os.environ.items() if not name.startswith(("JIRA_BRIEF_", "OPENAI_", "GITHUB_"))
    }
    env.pop("GIT_DIR", None)
    env.update(NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    env.update(extra)
    return env


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measured(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, exit code) of one process; CPU from RUSAGE_CHILDREN deltas."""
    started, cpu = time.perf_counter(), children_cpu()
    done = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, stdin=subprocess.DEVNULL, timeout=STARTUP_TIMEOUT
    )
    return time.perf_counter() - started, children_cpu() - cpu, done.returncode


def peak_rss_kb(argv: list[str], cwd: Path, env: dict[str, str]) -> int:
    """The process's own peak RSS in KB.

    Not from this process's wait4/RUSAGE_CHILDREN: Linux carries the forked parent's high-water mark
    across exec, so a 13 MB child of this 100 MB process reports 100 MB. /usr/bin/time forks from a
    tiny process; without it, a small Python launcher does the same (its ~10 MB is then a floor)."""
    if Path("/usr/bin/time").exists():
        done = subprocess.run(
            ["/usr/bin/time", "-f", "maxrss=%M", *argv],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=STARTUP_TIMEOUT,
        )
    else:
        launcher = (
            "import os, sys\npid = os.fork()\nif pid == 0:\n    os.execvp(sys.argv[1], sys.argv[1:])\n"
            "print(f'maxrss={os.wait4(pid, 0)[2].ru_maxrss}', file=sys.stderr)"
        )
        done = subprocess.run(
            [sys.executable, "-c", launcher, *argv],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=STARTUP_TIMEOUT,
        )
    found = re.findall(r"maxrss=(\d+)", done.stderr)
    return int(found[-1]) if found else 0


def repeat(argv: list[str], cwd: Path, env: dict[str, str], runs: int) -> dict[str, Any]:
    """Median wall time of `runs` runs after one unmeasured warm-up, and the median peak RSS of 3 more."""
    measured(argv, cwd, env)
    samples = [measured(argv, cwd, env) for _ in range(runs)]
    times = [seconds for seconds, _, _ in samples]
    return {
        "median_s": statistics.median(times),
        "min_s": min(times),
        "cpu_s": statistics.median(cpu for _, cpu, _ in samples),
        "rss_kb": statistics.median(peak_rss_kb(argv, cwd, env) for _ in range(3)),
        "codes": sorted({code for _, _, code in samples}),
    }


def worker(config: dict[str, Any]) -> dict[str, Any]:
    """One measured run in a fresh process (benchmarks/worker.py)."""
    done = subprocess.run(
        [sys.executable, str(BENCH_DIR / "worker.py"), json.dumps(config)],
        capture_output=True,
        text=True,
        timeout=WORKER_TIMEOUT,
        env=clean_env(),
        cwd=REPO,
    )
    if done.returncode != 0:
        raise RuntimeError(f"worker {config['engine']} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- 1. start-up -------------------------------------------------------------------------


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, timeout=30)


def startup(plan: Plan, scratch: Path) -> dict[str, Any]:
    """Start-up of `keys` and of the commit-msg hook with no key, and what the CLI imports."""
    bin_dir = Path(sys.executable).parent
    cli = str(bin_dir / "jira-brief") if (bin_dir / "jira-brief").exists() else "jira-brief"
    repo = scratch / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "feature/faster-checkout")
    message = repo / ".git" / "COMMIT_EDITMSG"
    message.write_text("Fix the typo in the checkout button\n\n# Please enter the commit message.\n")
    env = clean_env(HOME=str(scratch), GIT_CONFIG_NOSYSTEM="1")
    figures = {
        "python": repeat([sys.executable, "-c", "pass"], scratch, env, plan.startup_runs),
        "keys": repeat([cli, "keys", "no ticket here"], scratch, env, plan.startup_runs),
        "hook": repeat([cli, "hook", str(message)], repo, env, plan.startup_runs),
        "imports": imported_modules(scratch, env),
    }
    if ORIGINAL_NO_BYTECODE:  # as this shell runs it: editable sources compiled at every start
        plain = {**env, "PYTHONDONTWRITEBYTECODE": ORIGINAL_NO_BYTECODE}
        plain.pop("PYTHONPYCACHEPREFIX")
        figures["keys_no_bytecode"] = repeat([cli, "keys", "no ticket here"], scratch, plain, plan.startup_runs)
    return figures


def compile_once(scratch: Path) -> None:
    """Fill the bytecode cache (PYTHONPYCACHEPREFIX) before measuring, as `pip install` would have."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(scratch / "pycache")
    modules = (
        "openai, mcp, mcp.client.streamable_http, httpx2, platformdirs, jira_brief.commands.main, "
        "jira_brief.commands.hook, jira_brief.brief.pipeline, jira_brief.llm.client, jira_brief.jira.session, "
        "jira_brief.config.network, jira_brief.brief.cache"
    )
    subprocess.run(
        [sys.executable, "-c", f"import {modules}"], env=clean_env(), cwd=scratch, check=True, timeout=WORKER_TIMEOUT
    )


def imported_modules(cwd: Path, env: dict[str, str]) -> dict[str, Any]:
    """Modules imported by `python -X importtime -m jira_brief keys "no ticket here"`."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "jira_brief", "keys", "no ticket here"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=STARTUP_TIMEOUT,
    )
    rows = []
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|( *)(\S+)", line)
        if match:
            rows.append((match.group(4), int(match.group(2)), len(match.group(3))))
    names = [name for name, _, _ in rows]
    forbidden = sorted({name.split(".")[0] for name in names} & set(FORBIDDEN_AT_START))
    top = sorted((row for row in rows if row[2] <= 1), key=lambda row: -row[1])[:6]
    ours = sorted(name for name in names if name.startswith("jira_brief"))
    return {
        "count": len(names),
        "forbidden": forbidden,
        "slowest": [(n, us / 1000) for n, us, _ in top],
        "ours": ours,
        "exit": done.returncode,
    }


# --- 2-5. the pipeline against the seed ------------------------------------------------


def base_config(served: ServedMCP, fake: ToolCallingOpenAI) -> dict[str, Any]:
    return {"mcp_url": served.url, "llm_base_url": fake.base_url, "api_key": API_KEY, "model": MODEL}


def counted(fake: ToolCallingOpenAI, config: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A worker's result, and the chat requests the fake received during it."""
    before = fake.calls
    result = worker(config)
    with fake._lock:
        requests = list(fake.requests[before:])
    return result, requests


def summary(result: dict[str, Any], requests: list[dict[str, Any]], repeats: int) -> dict[str, Any]:
    runs = result["runs_s"]
    return {
        "warm_s": statistics.median(runs),
        "cpu_s": statistics.median(result["cpu_s"]),
        "import_s": result["import_s"],
        "calls": len(requests) / repeats,
        "tokens": sum(prompt_tokens(body) for body in requests) / repeats,
        "rss_kb": result["maxrss_kb"],
        "rss_import_kb": result["rss_after_import_kb"],
        "errors": result["errors"],
        "usage": result["usage"],
        "requests": requests[: len(requests) // repeats],
    }


def compare(report: Report, fake: ToolCallingOpenAI, served: ServedMCP, keys: list[str]) -> None:
    plan = report.plan
    for size in plan.sizes:
        config = {**base_config(served, fake), "keys": keys[:size]}
        repeats = plan.jira_repeats
        row = {"jira": summary(*counted(fake, {**config, "engine": "jira-brief", "repeats": repeats}), repeats)}
        if size in plan.seed_sizes:
            repeats = plan.seed_repeats if size in (1, 8) else 1  # the sizes the goals compare
            row["seed"] = summary(*counted(fake, {**config, "engine": "seed", "repeats": repeats}), repeats)
        report.rows[size] = row
        for engine, figures in row.items():
            report.problems += [f"{engine} n={size}: {error}" for error in figures["errors"]]
        print(
            f"  n={size:>2}: "
            + "; ".join(
                f"{engine} {figures['warm_s']:.2f} s, {figures['calls']:g} calls" for engine, figures in row.items()
            ),
            flush=True,
        )


def variants(report: Report, fake: ToolCallingOpenAI, served: ServedMCP, keys: list[str]) -> None:
    """jira-brief with other settings, 1 and 8 tickets."""
    for label, flags in VARIANTS.items():
        report.variants[label] = {}
        for size in (1, 8):
            config = {
                **base_config(served, fake),
                "keys": keys[:size],
                "engine": "jira-brief",
                "flags": flags,
                "repeats": VARIANT_REPEATS,
            }
            figures = summary(*counted(fake, config), VARIANT_REPEATS)
            report.variants[label][size] = figures
            report.problems += [f"{label} n={size}: {error}" for error in figures["errors"]]


def rerun(report: Report, fake: ToolCallingOpenAI, served: ServedMCP, keys: list[str], scratch: Path) -> None:
    """Second run on unchanged tickets with the same cache dir: no LLM call expected."""
    cache_dir = str(scratch / "rerun-cache")
    config = {
        **base_config(served, fake),
        "keys": keys[:8],
        "engine": "jira-brief",
        "cache": True,
        "cache_dir": cache_dir,
    }
    first = summary(*counted(fake, {**config, "repeats": 1}), 1)
    repeats = report.plan.jira_repeats
    second = summary(*counted(fake, {**config, "repeats": repeats}), repeats)
    report.rerun = {"first": first, "second": second, "cached": sum(u["cached"] for u in second["usage"].values())}


def token_split(body: dict[str, Any]) -> dict[str, int]:
    """Where one request's prompt tokens go: tool schemas, system prompt, tool results, the rest."""
    messages = body["messages"]
    tools = len(json.dumps(body.get("tools") or [])) // 4
    system = sum(len(json.dumps(m)) for m in messages if m.get("role") == "system") // 4
    results = sum(len(json.dumps(m)) for m in messages if m.get("role") == "tool") // 4
    texts = [m["content"] for m in messages if m.get("role") == "tool" and isinstance(m.get("content"), str)]
    return {
        "tools": tools,
        "system": system,
        "tool_results": results,
        "total": prompt_tokens(body),
        "ticket_chars": sum(len(text) for text in texts),
        "escapes": sum(len(json.dumps(text)) - 2 - len(text) for text in texts) // 4,
    }


def per_ticket(report: Report) -> None:
    """Prompt tokens of one normal and of the huge ticket, from the largest jira-brief run."""
    from jira_brief.brief.write import SAFETY_RULES

    template = (REPO / "src" / "jira_brief" / "prompts" / "fr.md").read_text(encoding="utf-8")
    template_tokens = len(json.dumps(f"{template.strip()}\n\n{SAFETY_RULES}")) // 4
    largest = report.rows[max(report.rows)]["jira"]
    by_key = {}
    for body in largest["requests"]:
        user = next(m["content"] for m in body["messages"] if m.get("role") == "user")
        key = re.search(r"[A-Z]+-\d+", user).group(0)
        by_key.setdefault(key, []).append(token_split(body))
    normal = [sum(s["total"] for s in splits) for key, splits in by_key.items() if key != HUGE_KEY]
    report.per_ticket = {
        "template_tokens": template_tokens,
        "goal": 3000 + template_tokens,
        "normal": by_key.get(NORMAL_KEY, [{}])[0],
        "normal_median": statistics.median(normal) if normal else 0,
        "huge": by_key.get(HUGE_KEY, [{}])[0],
        "calls": {key: len(s) for key, s in by_key.items()},
    }


def seed_split(report: Report) -> None:
    size = max(s for s in report.rows if "seed" in report.rows[s])
    splits = [token_split(body) for body in report.rows[size]["seed"]["requests"]]
    total = max(1, sum(split["total"] for split in splits))
    report.where["seed_size"] = size
    report.where["seed_tools_share"] = sum(split["tools"] for split in splits) / total
    report.where["seed_tool_tokens_per_call"] = statistics.median(split["tools"] for split in splits)
    report.where["seed_results_share"] = sum(split["tool_results"] for split in splits) / total


def phases(report: Report, fake: ToolCallingOpenAI, served: ServedMCP, keys: list[str]) -> None:
    """Where one ticket's time goes (uses jira-brief's inner steps; skipped if they change)."""
    try:
        result = worker({**base_config(served, fake), "keys": keys[:1], "engine": "phases", "repeats": 1})
    except RuntimeError as error:
        report.problems.append(f"phase timing skipped: {str(error).splitlines()[-1]}")
        return
    report.where["phases"] = {**result["phases"], "import_s": result["import_s"]}


def add_cold_times(report: Report) -> None:
    """Cold = warm + the median import time of openai + mcp over every worker process of the run.

    One process gives one import sample; the median over all of them (both engines import the
    same libraries) is steadier than each process's own."""
    figures = [figure for row in report.rows.values() for figure in row.values()]
    figures += [figure for by_size in report.variants.values() for figure in by_size.values()]
    figures += [report.rerun[run] for run in ("first", "second") if run in report.rerun]
    imports = [figure["import_s"] for figure in figures]
    if "phases" in report.where:
        imports.append(report.where["phases"]["import_s"])
    report.where["import_s"] = statistics.median(imports)
    report.where["import_samples"] = len(imports)
    for figure in figures:
        figure["cold_s"] = figure["warm_s"] + report.where["import_s"]


def tls_context_ms() -> float:
    """Median cost of one `ssl.create_default_context()` here (jira-brief builds one per run and shares it)."""
    import ssl

    samples = []
    for _ in range(5):
        started = time.perf_counter()
        ssl.create_default_context()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def pipeline_benchmarks(report: Report, scratch: Path) -> None:
    from jira_brief.jira.demo.server import build_server

    tickets = build_tickets(16)
    keys = list(tickets)
    report.tickets_line = describe(tickets)
    with ToolCallingOpenAI(latency=LATENCY, api_key=API_KEY) as fake, ServedMCP(build_server(tickets)) as served:
        report.probe_s = concurrency_probe(fake, parallel=8)
        phases(report, fake, served, keys)
        print(f"fake OpenAI: 8 parallel calls of {LATENCY * 1000:.0f} ms took {report.probe_s:.2f} s", flush=True)
        compare(report, fake, served, keys)
        if report.plan.variants:
            print("jira-brief with other settings…", flush=True)
            variants(report, fake, served, keys)
        print("re-run on unchanged tickets…", flush=True)
        rerun(report, fake, served, keys, scratch)
        report.problems += [f"fake OpenAI rejected a request: {error}" for error in fake.errors]
    per_ticket(report)
    add_cold_times(report)
    report.where["tls_ms"] = tls_context_ms()
    if any("seed" in row for row in report.rows.values()):
        seed_split(report)


# --- report -------------------------------------------------------------------------------


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg()) if hasattr(os, "getloadavg") else "?"


def machine() -> dict[str, str]:
    return {
        "load_before": load(),
        "uname": " ".join(platform.uname()),
        "cpus": str(os.cpu_count()),
        "python": sys.version.split()[0],
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def kept_hook_section(path: Path) -> str:
    """The commit hook's section of the page (benchmarks/hook.py writes it, between its markers), kept
    as it is when this report is rewritten."""
    page = path.read_text(encoding="utf-8") if path.exists() else ""
    start, end = page.find("<!-- hook-benchmark -->"), page.find("<!-- /hook-benchmark -->")
    return "\n" + page[start : end + len("<!-- /hook-benchmark -->")] + "\n" if 0 <= start < end else ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer sizes and repeats (about a minute)")
    parser.add_argument(
        "--output",
        type=Path,
        default=REPO / "docs" / "benchmarks.md",
        help="where to write the Markdown report (default docs/benchmarks.md)",
    )
    args = parser.parse_args()

    report = Report(QUICK if args.quick else FULL)
    report.machine = machine()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="jira-brief-bench-") as name:
        scratch = Path(name)
        compile_once(scratch)
        print("start-up…", flush=True)
        report.startup = startup(report.plan, scratch)
        print("jira-brief vs seed…", flush=True)
        pipeline_benchmarks(report, scratch)
    report.machine["duration"] = f"{time.perf_counter() - started:.0f} s"
    report.machine["load_after"] = load()
    text = render(report, quick=args.quick)
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text + kept_hook_section(args.output), encoding="utf-8")
    print(f"written to {args.output}", file=sys.stderr)
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
