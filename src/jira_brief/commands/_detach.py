"""Start one background job and exit at once, so that the job is nobody's child: the hook that asked
waits for this short process, never for the job, and no zombie is left behind (the job is re-parented
to init, which reaps it). Run by path with the standard library only (`python -I -S _detach.py SPEC`),
never imported: starting it costs a bare interpreter, not jira-brief's imports.

SPEC is JSON: {"argv": [...], "cwd": "...", "log": "...", "fds": [...]}. The job gets no terminal and no
pipe of the hook (pre-commit and IDEs read a hook's output until every writer closes it): its input is
empty and its output goes to the log file. On POSIX it gets a session of its own (Ctrl-C in the terminal
and the terminal closing do not reach it) and keeps the lock files in `fds` open; on Windows it starts
without a console window, in its own process group, out of the hook's job object where that is allowed.
Prints the job's process id."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any


def launch(spec: dict[str, Any]) -> int:
    with open(spec["log"], "wb") as log:
        common: dict[str, Any] = {"cwd": spec["cwd"], "stdin": subprocess.DEVNULL, "stdout": log, "stderr": log}
        if sys.platform == "win32":
            flags = subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.CREATE_NO_WINDOW
            away = flags | subprocess.CREATE_BREAKAWAY_FROM_JOB
            try:  # a job object that does not allow breaking away refuses the flag: start inside it then
                return subprocess.Popen(spec["argv"], creationflags=away, **common).pid
            except OSError:
                return subprocess.Popen(spec["argv"], creationflags=flags, **common).pid
        fds = tuple(spec.get("fds", ()))
        return subprocess.Popen(spec["argv"], start_new_session=True, pass_fds=fds, **common).pid


if __name__ == "__main__":
    print(launch(json.loads(sys.argv[1])), flush=True)
    os._exit(0)  # the job runs on; nothing here waits for it
