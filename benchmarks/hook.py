"""The commit hook's cost: `python benchmarks/hook.py [--write]`.

`git commit` wall time through pre-commit with the `jira-brief` hook, against pre-commit's own cost (the
same commit with SKIP=jira-brief), for a model answering in 0.3 s, 3 s and 8 s (FakeOpenAI) and a Jira
MCP server (the demo Jira over loopback HTTP) reachable, down (nothing listens) or hanging (takes the
connection, never answers); plus `jira-brief-require-key` and `jira-brief-prepare` on their own. One run,
this machine, default settings (hook-budget 2 s); pre-commit installs the hooks from a snapshot of this
working tree into a scratch PRE_COMMIT_HOME first. `--write` puts the report in docs/benchmarks.md,
between its hook markers (benchmarks/run.py keeps that part when it rewrites the page).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(REPO))

from jira_brief.jira.demo.server import build_server  # noqa: E402
from tests.fakes.mcp_http import ServedMCP, free_port, silent_server  # noqa: E402
from tests.fakes.openai_server import FakeOpenAI  # noqa: E402

START, END = "<!-- hook-benchmark -->", "<!-- /hook-benchmark -->"
LATENCIES = (0.3, 3.0, 8.0)
BASELINE_RUNS = 5
SMALL_HOOK_RUNS = 9
BRIEF = "Brief for PAY-142."  # what FakeOpenAI writes for PAY-142
JOB_WAIT = 120.0


@dataclass
class Commit:
    label: str
    seconds: float
    shown: str  # what the hook printed for the ticket: brief, line, on its way, warning
    calls: int  # model calls so far


@dataclass
class Scenario:
    name: str
    alone: float  # pre-commit's own cost: the median commit with SKIP=jira-brief
    commits: list[Commit] = field(default_factory=list)
    note: str = ""


def clean_env(**extra: str) -> dict[str, str]:
    prefixes = ("JIRA_BRIEF_", "OPENAI_", "GIT_", "PRE_COMMIT", "SKIP")
    env = {name: value for name, value in os.environ.items() if not name.startswith(prefixes)}
    env.update(NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost", GIT_CONFIG_NOSYSTEM="1")
    env.update(GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="b@example.com", GIT_EDITOR="true")
    env.update(GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="b@example.com")
    return {**env, **extra}


def git(cwd: Path, *args: str, env: dict[str, str]) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def snapshot(target: Path, env: dict[str, str]) -> str:
    """This working tree's package (tracked and new files) committed in `target`: what `repo:` points at."""
    listed = git(REPO, "ls-files", "-z", "--cached", "--others", "--exclude-standard", env=env).split("\0")
    for name in listed:
        if name and not name.startswith(("tests/", "benchmarks/", ".ci/")) and (REPO / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, target / name)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "snapshot"]):
        git(target, *args, env=env)
    return git(target, "rev-parse", "HEAD", env=env).strip()


class Bench:
    """A scratch PRE_COMMIT_HOME with the hooks installed, and fresh repositories that commit through them."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.hooks = scratch / "hooks-repo"
        self.hooks.mkdir()
        self.home = scratch / "pre-commit-home"
        self.rev = snapshot(self.hooks, clean_env(HOME=str(scratch)))
        self.count = 0

    def config(self, hooks: tuple[str, ...] = ("jira-brief",)) -> str:
        listed = "".join(f"    -   id: {hook}\n" for hook in hooks)
        return f"repos:\n-   repo: {self.hooks}\n    rev: {self.rev}\n    hooks:\n{listed}"

    def install(self) -> float:
        """Build the hooks' environment once (what the first commit after `pre-commit install` pays)."""
        repo = self.repository({})
        started = time.perf_counter()
        run([sys.executable, "-m", "pre_commit", "install-hooks"], repo, self.env({}))
        return time.perf_counter() - started

    def env(self, extra: dict[str, str]) -> dict[str, str]:
        return clean_env(HOME=str(self.scratch), PRE_COMMIT_HOME=str(self.home), **extra)

    def repository(self, extra: dict[str, str], hooks: tuple[str, ...] = ("jira-brief",)) -> Path:
        self.count += 1
        repo = self.scratch / f"repo-{self.count}"
        repo.mkdir()
        env = self.env(extra)
        git(repo, "init", "-q", "-b", "main", env=env)
        (repo / ".pre-commit-config.yaml").write_text(self.config(hooks), encoding="utf-8")
        git(repo, "add", ".pre-commit-config.yaml", env=env)
        git(repo, "commit", "-q", "--no-verify", "-m", "pre-commit configuration", env=env)
        run([sys.executable, "-m", "pre_commit", "install", "--hook-type", "commit-msg"], repo, env)
        return repo


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return seconds, done.stdout + done.stderr


def commit(repo: Path, env: dict[str, str], message: str, **extra: str) -> tuple[float, str]:
    (repo / "change.txt").write_text(f"{time.monotonic_ns()}\n", encoding="utf-8")
    git(repo, "add", "change.txt", env=env)
    return run(["git", "commit", "-m", message], repo, {**env, **extra})


def alone(repo: Path, env: dict[str, str]) -> float:
    return statistics.median(
        commit(repo, env, "PAY-142: pre-commit alone", SKIP="jira-brief")[0] for _ in range(BASELINE_RUNS)
    )


def shown(output: str) -> str:
    """What the hook printed for PAY-142, in a word."""
    if "jira-brief: warning:" in output:
        return "warning: " + output.split("jira-brief: warning: ", 1)[1].split(";", 1)[0]
    if BRIEF in output:
        return "full brief"
    if "brief on its way" in output:
        return "on its way"
    return "one line" if "PAY-142 · " in output else "nothing"


def wait_job(cache: Path, key: str = "PAY-142") -> float:
    """Wait for the background job of `key` to finish; the time.time() it started."""
    deadline = time.monotonic() + JOB_WAIT
    while time.monotonic() < deadline:
        found = sorted((cache / "state" / "jobs").glob(f"*-{key}.json"))
        status = json.loads(found[-1].read_text(encoding="utf-8")) if found else {}
        if status.get("finished"):
            return float(status["started"])
        time.sleep(0.05)
    raise RuntimeError(f"the background job of {key} did not finish within {JOB_WAIT:g} s")


def service_env(mcp_url: str, llm: FakeOpenAI, cache: Path) -> dict[str, str]:
    """What the developer's shell has: the MCP server, the model, and a cache of this scenario's own."""
    return {
        "JIRA_BRIEF_MCP_URL": mcp_url,
        "OPENAI_BASE_URL": llm.base_url,
        "OPENAI_API_KEY": llm.api_key or "sk-none",
        "JIRA_BRIEF_MODEL": llm.models[0],
        "JIRA_BRIEF_CACHE_DIR": str(cache),
    }


def model_scenario(bench: Bench, served: ServedMCP, latency: float) -> Scenario:
    """A ticket branch's first commits, the model answering in `latency` s."""
    with FakeOpenAI(latency=latency) as llm:
        cache = bench.scratch / f"cache-model-{latency:g}"
        extra = service_env(served.url, llm, cache)
        repo, env = bench.repository(extra), bench.env(extra)
        git(repo, "checkout", "-q", "-b", "feature/PAY-142-split-payments", env=env)
        scenario = Scenario(f"model {latency:g} s, MCP reachable", alone(repo, env))
        started = time.time()
        seconds, output = commit(repo, env, "PAY-142: first commit of the branch")
        scenario.commits.append(Commit("1st (nothing cached)", seconds, shown(output), llm.calls))
        wait_job(cache)
        ready = time.time() - started
        for label in ("2nd (brief ready)", "3rd", "4th"):
            seconds, output = commit(repo, env, f"PAY-142: {label} commit")
            scenario.commits.append(Commit(label, seconds, shown(output), llm.calls))
        scenario.note = f"brief ready {ready:.1f} s after the first commit started"
    return scenario


def failing_scenario(bench: Bench, name: str, url: str) -> Scenario:
    """Commits while the MCP server is down or hanging: the first, one right after, one after the job gave up."""
    with FakeOpenAI(latency=0.3) as llm:
        cache = bench.scratch / f"cache-{name.split()[1]}"
        extra = service_env(url, llm, cache)
        repo, env = bench.repository(extra), bench.env(extra)
        git(repo, "checkout", "-q", "-b", "feature/PAY-142-split-payments", env=env)
        scenario = Scenario(name, alone(repo, env))
        started = time.time()
        seconds, output = commit(repo, env, "PAY-142: first commit")
        scenario.commits.append(Commit("1st", seconds, shown(output), llm.calls))
        seconds, output = commit(repo, env, "PAY-142: right after")
        scenario.commits.append(Commit("2nd, right after", seconds, shown(output), llm.calls))
        wait_job(cache)
        given_up = time.time() - started
        seconds, output = commit(repo, env, "PAY-142: once the job gave up")
        scenario.commits.append(Commit("3rd, after the job gave up", seconds, shown(output), llm.calls))
        scenario.note = f"the background job gave up {given_up:.1f} s after the first commit started"
    return scenario


def small_hooks(bench: Bench) -> dict[str, float]:
    """Median process time of `jira-brief require-key` and `prepare-message`, as pre-commit runs them."""
    repo = bench.repository({})
    env = bench.env({})
    git(repo, "checkout", "-q", "-b", "feature/PAY-142-split-payments", env=env)
    message = repo / ".git" / "BENCH_MSG"
    script = str(Path(sys.executable).parent / "jira-brief")
    figures = {}
    for name, argv in (("require-key", [script, "require-key"]), ("prepare-message", [script, "prepare-message"])):
        times = []
        for _ in range(SMALL_HOOK_RUNS):
            message.write_text("split the payment form\n", encoding="utf-8")
            times.append(run([*argv, str(message)], repo, env)[0])
        figures[name] = statistics.median(times)
    return figures


def render(scenarios: list[Scenario], small: dict[str, float], install_s: float, took: float) -> str:
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    lines = [
        "## The commit hook (`python benchmarks/hook.py --write`)",
        "",
        f"{stamp}, {platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, load average after: {load}; {took:.0f} s in all (the hooks' environment "
        f"built once in {install_s:.0f} s first). Each scenario commits in a fresh repository on a ticket branch "
        "through real pre-commit, default settings (hook-budget 2 s, hook-ttl 600 s, timeout 120 s). "
        f"*pre-commit alone* is the median of {BASELINE_RUNS} commits there with `SKIP=jira-brief`; *extra* is what "
        "the hook adds to it.",
        "",
        *goal_rows(scenarios, small),
        "",
        "| scenario | commit | wall | pre-commit alone | extra | ratio | the hook printed | model calls so far |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for scenario in scenarios:
        for item in scenario.commits:
            lines.append(
                f"| {scenario.name} | {item.label} | {item.seconds:.2f} s | {scenario.alone:.2f} s "
                f"| {item.seconds - scenario.alone:+.2f} s | {item.seconds / scenario.alone:.2f}× | {item.shown} "
                f"| {item.calls} |"
            )
    lines += ["", *(f"- {scenario.name}: {scenario.note}." for scenario in scenarios if scenario.note)]
    lines += [
        f"- `jira-brief require-key` alone: {small['require-key']:.2f} s; `jira-brief prepare-message` alone: "
        f"{small['prepare-message']:.2f} s (medians of {SMALL_HOOK_RUNS} runs, process start to exit).",
    ]
    return "\n".join(lines) + "\n"


def goal_rows(scenarios: list[Scenario], small: dict[str, float]) -> list[str]:
    worst = max(item.seconds - scenario.alone for scenario in scenarios for item in scenario.commits)
    after_hang = [s for s in scenarios if "hanging" in s.name]
    hang_next = max((item.seconds - s.alone for s in after_hang for item in s.commits[1:]), default=0.0)
    models = [s for s in scenarios if s.name.startswith("model")]
    by_second = all(s.commits[1].shown == "full brief" for s in models)
    calls = max(s.commits[-1].calls for s in models)
    quick = max(small.values())

    def met(ok: bool) -> str:
        return "yes" if ok else "**no**"

    return [
        "| goal | measured | met |",
        "| --- | --- | --- |",
        f"| every commit ≤ pre-commit + 2 s | worst extra {worst:+.2f} s | {met(worst <= 2.0)} |",
        f"| the next commit after a hang ≤ pre-commit + 1 s | worst extra {hang_next:+.2f} s | {met(hang_next <= 1)} |",
        f"| the model's brief on screen by the second commit | {'every latency' if by_second else 'not always'} "
        f"| {met(by_second)} |",
        f"| ≤ 1 model call per ticket per branch, ticket unchanged | {calls} after 4 commits | {met(calls <= 1)} |",
        f"| `jira-brief-require-key`, `jira-brief-prepare` ≤ 0.3 s | {quick:.2f} s at most | {met(quick <= 0.3)} |",
    ]


def write(text: str) -> None:
    """Put `text` between the hook markers of docs/benchmarks.md (at its end the first time)."""
    path = REPO / "docs" / "benchmarks.md"
    page = path.read_text(encoding="utf-8")
    block = f"{START}\n{text}{END}\n"
    if START in page and END in page:
        page = page[: page.index(START)] + block + page[page.index(END) + len(END) + 1 :]
    else:
        page = page.rstrip("\n") + "\n\n" + block
    path.write_text(page, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="put the report in docs/benchmarks.md")
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="jira-brief-hook-bench-") as name:
        bench = Bench(Path(name))
        print("building the hooks' environment…", flush=True)
        install_s = bench.install()
        scenarios = []
        with ServedMCP(build_server()) as served:
            for latency in LATENCIES:
                print(f"model {latency:g} s…", flush=True)
                scenarios.append(model_scenario(bench, served, latency))
        print("MCP down…", flush=True)
        scenarios.append(failing_scenario(bench, "MCP down (nothing listens)", f"http://127.0.0.1:{free_port()}/mcp"))
        print("MCP hanging…", flush=True)
        with silent_server() as url:
            scenarios.append(failing_scenario(bench, "MCP hanging (accepts, never answers)", url))
        small = small_hooks(bench)
    text = render(scenarios, small, install_s, time.perf_counter() - started)
    print(text)
    if args.write:
        write(text)
        print("written to docs/benchmarks.md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
