"""How long the action's "Install jira-brief" step takes: `python benchmarks/action_install.py`.

Runs the step's commands as action.yml has them (uv installed with `pip --target`, `uv venv`, `uv pip
install` of this repository) against the former step (a venv, `pip install` of this repository), each with an empty
cache (a fresh runner) and then with the cache the first run left (a warm one). Ratios come from
the same run; the machine's load changes the seconds, not much the ratios."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _timed(commands: list[list[str]], env: dict[str, str]) -> float:
    """Seconds for the commands in turn; each command's own share is printed, to see where time goes."""
    total = 0.0
    for command in commands:
        started = time.monotonic()
        subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        took = time.monotonic() - started
        total += took
        print(f"  {took:5.1f} s  {' '.join(Path(part).name if '/' in part else part for part in command[:5])}")
    return total


def _uv_step(folder: Path, cache: Path) -> float:
    """The step as action.yml has it: uv installed alone with pip --target, then `uv venv` (no pip in the
    venv) and `uv pip install`."""
    run = time.monotonic_ns()
    venv, tools = folder / f"venv-{run}", folder / f"uv-{run}"
    python = str(venv / "bin" / "python")
    env = {**os.environ, "UV_CACHE_DIR": str(cache), "PIP_CACHE_DIR": str(cache / "pip")}
    return _timed(
        [
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--target",
                str(tools),
                "uv>=0.8,<1",
            ],
            [str(tools / "bin" / "uv"), "venv", "--quiet", "--python", sys.executable, str(venv)],
            [str(tools / "bin" / "uv"), "pip", "install", "--quiet", "--python", python, str(REPO)],
        ],
        env,
    )


def _pip_step(folder: Path, cache: Path) -> float:
    venv = folder / f"venv-{time.monotonic_ns()}"
    python = str(venv / "bin" / "python")
    env = {**os.environ, "PIP_CACHE_DIR": str(cache)}
    return _timed(
        [
            [sys.executable, "-m", "venv", str(venv)],
            [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(REPO)],
        ],
        env,
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        rows = []
        for name, step in (("pip (former step)", _pip_step), ("uv (action.yml)", _uv_step)):
            cache = folder / f"cache-{name.split()[0]}"
            cold = step(folder, cache)
            warm = min(step(folder, cache) for _ in range(2))
            rows.append((name, cold, warm))
    print("| install step | empty cache | warm cache |")
    print("| --- | --- | --- |")
    for name, cold, warm in rows:
        print(f"| {name} | {cold:.1f} s | {warm:.1f} s |")
    (_, pip_cold, pip_warm), (_, uv_cold, uv_warm) = rows
    print(f"\nuv is {pip_cold / uv_cold:.1f}x faster with an empty cache, {pip_warm / uv_warm:.1f}x with a warm one.")


if __name__ == "__main__":
    main()
