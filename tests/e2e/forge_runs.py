"""What the forges' end-to-end tests share: overlapping runs of a forge's step."""

from __future__ import annotations

import threading
from collections.abc import Callable

# Sets one run up (its environment, settings, client) and gives back the run itself: its exit code.
Prepare = Callable[[], Callable[[], int]]


def overlapping(count: int, prepare: Prepare) -> list[int]:
    """`count` runs at once, each in its own thread, set up first and then started together, as
    overlapping pipelines or workflow runs make them; their exit codes (-1: not done within a minute)."""
    start = threading.Barrier(count)
    codes = [-1] * count

    def one(index: int) -> None:
        run = prepare()
        start.wait()
        codes[index] = run()

    threads = [threading.Thread(target=one, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return codes
