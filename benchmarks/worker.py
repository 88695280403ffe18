"""One measured run in a fresh process: `python benchmarks/worker.py '<json config>'`.

Prints one JSON line: the time to import the heavy libraries, the wall time of each repeat,
the process's peak RSS, and per-ticket usage and errors. Servers live in the parent process.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HEAVY_MODULES = ("openai", "mcp", "mcp.client.streamable_http", "httpx2")


def peak_rss_kb() -> int:
    """This process's peak RSS since exec (VmHWM); ru_maxrss would include the parent it was forked from."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


class Collect:
    """An Output that keeps the streamed text, as the terminal would receive it."""

    def __init__(self) -> None:
        self.chunks = 0
        self.chars = 0

    def text(self, key: str, chunk: str) -> None:
        self.chunks += 1
        self.chars += len(chunk)

    def done(self, result: Any) -> None:
        pass


def jira_brief_settings(config: dict[str, Any], cache_dir: str) -> Any:
    from jira_brief.config.load import load_settings

    flags = {
        "mcp_url": config["mcp_url"],
        "llm_base_url": config["llm_base_url"],
        "llm_api_key": config["api_key"],
        "model": config["model"],
        "stream": True,
        "cache": bool(config.get("cache")),
        "cache_dir": cache_dir,
        **config.get("flags", {}),
    }
    return load_settings(flags, environ={}, cwd=Path(cache_dir))


async def run_jira_brief(config: dict[str, Any], cache_dir: str) -> dict[str, Any]:
    from jira_brief.brief.pipeline import brief_all
    from jira_brief.keys.scan import FoundKey

    settings = jira_brief_settings(config, cache_dir)
    output = Collect()
    results = await brief_all([FoundKey(key, "arg") for key in config["keys"]], settings, output=output)
    return {
        "errors": [result.error for result in results if result.error],
        "usage": {
            r.key: {"calls": r.usage.calls, "prompt_tokens": r.usage.prompt_tokens, "cached": r.cached} for r in results
        },
        "streamed_chunks": output.chunks,
    }


async def run_seed(config: dict[str, Any]) -> dict[str, Any]:
    from seed import seed_all

    briefs = await seed_all(
        config["keys"], config["mcp_url"], config["llm_base_url"], config["api_key"], config["model"]
    )
    return {"errors": [key for key, brief in briefs.items() if not brief], "usage": {}, "streamed_chunks": 0}


async def run_phases(config: dict[str, Any], cache_dir: str) -> dict[str, Any]:
    """One ticket through jira-brief's steps, each timed: connect, fetch, the model call."""
    from jira_brief.brief.template import load_template
    from jira_brief.brief.write import write_brief
    from jira_brief.jira.session import open_reader
    from jira_brief.llm.client import LLM, Usage

    settings = jira_brief_settings(config, cache_dir)
    key = config["keys"][0]
    started = time.perf_counter()
    async with open_reader(settings) as reader:
        connected = time.perf_counter()
        ticket = await reader.fetch(key)
        fetched = time.perf_counter()
        llm = LLM(settings)
        try:
            await write_brief(
                llm, reader, ticket, load_template(settings), allowed_keys=[key], usage=Usage(), sink=lambda chunk: None
            )
        finally:
            await llm.close()
        written = time.perf_counter()
    phases = {"connect_s": connected - started, "fetch_s": fetched - connected, "llm_s": written - fetched}
    return {"errors": [], "usage": {}, "streamed_chunks": 0, "phases": phases}


ENGINES = {
    "seed": lambda config, cache_dir: run_seed(config),
    "jira-brief": run_jira_brief,
    "phases": run_phases,
}


def one_run(config: dict[str, Any], cache_dir: str) -> tuple[float, dict[str, Any]]:
    started, cpu = time.perf_counter(), time.process_time()
    outcome = asyncio.run(ENGINES[config["engine"]](config, cache_dir))
    outcome["cpu_s"] = time.process_time() - cpu
    return time.perf_counter() - started, outcome


def main(config: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    if config.get("preimport", True):
        for name in HEAVY_MODULES:
            __import__(name)
    import_seconds = time.perf_counter() - started
    rss_after_import = peak_rss_kb()
    times, outcomes = [], []
    with tempfile.TemporaryDirectory(prefix="jira-brief-bench-") as scratch:
        for index in range(config.get("repeats", 1)):
            cache_dir = config.get("cache_dir") or str(Path(scratch) / f"cache-{index}")
            seconds, outcome = one_run(config, cache_dir)
            times.append(seconds)
            outcomes.append(outcome)
    return {
        "import_s": import_seconds,
        "runs_s": times,
        "cpu_s": [outcome["cpu_s"] for outcome in outcomes],
        "maxrss_kb": peak_rss_kb(),
        "rss_after_import_kb": rss_after_import,
        "errors": [error for outcome in outcomes for error in outcome["errors"]],
        "usage": outcomes[-1]["usage"],
        "streamed_chunks": outcomes[-1]["streamed_chunks"],
        "phases": outcomes[0].get("phases"),
    }


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    print(json.dumps(main(json.loads(sys.argv[1]))))
