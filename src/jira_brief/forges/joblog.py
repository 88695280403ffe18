"""What a forge's CI job leaves behind, whatever the forge: the job log, one plain line per phase (no ANSI,
no control character a ticket could slip in, secrets hidden), and `jira-brief.json`, the briefs as the
GitHub Action's `briefs` output has them, for the job's `artifacts:`."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import TextIO

from jira_brief.files import replace_file
from jira_brief.forges.sticky import CommentOutcome, Hide, briefs_json, named

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


class JobLog:
    """The job log: plain lines (no ANSI, no control character a ticket could slip in), secrets hidden."""

    def __init__(self, hide: Hide, out: TextIO | None = None) -> None:
        self.hide, self.out = hide, out

    def line(self, text: str) -> None:
        out = self.out or sys.stdout
        out.write(_CONTROL.sub(" ", self.hide(text)).rstrip() + "\n")
        out.flush()


def write_briefs(log: JobLog, outcome: CommentOutcome, path: Path | None) -> None:
    """`jira-brief.json`: the briefs as the Action's `briefs` output has them, secrets hidden."""
    if path is None:
        return
    text = log.hide(json.dumps(briefs_json(outcome), ensure_ascii=False, indent=2)) + "\n"
    try:
        replace_file(path, text.encode("utf-8"))
    except OSError as error:
        log.line(f"jira-brief: warning: cannot write {path}: {error.strerror or error}")
        return
    log.line(f"jira-brief: wrote {path}")


def finish(log: JobLog, outcome: CommentOutcome, path: Path | None) -> None:
    """The run's last lines in the log, and jira-brief.json."""
    if outcome.found.keys:
        log.line(f"jira-brief: {len(outcome.found.keys)} ticket(s): {named(outcome.found.names)}")
    for result in outcome.results:
        if result.error:
            log.line(f"jira-brief: warning: {result.error}")
    for note in outcome.notes:
        log.line(f"jira-brief: {note.lstrip('> ')}")
    if outcome.notice:
        log.line(f"jira-brief: {outcome.notice}")
    if outcome.problem:
        log.line(f"jira-brief: error: {outcome.problem}")
    write_briefs(log, outcome, path)
