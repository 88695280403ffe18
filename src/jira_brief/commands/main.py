"""The `jira-brief` command line: the group, its commands (one module each), and the one error boundary."""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import sys
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import click
from platformdirs import user_log_dir

from jira_brief import __version__
from jira_brief.commands.options import DEBUG_KEY, SETTINGS_KEY
from jira_brief.config.masking import mask
from jira_brief.config.settings import Settings
from jira_brief.errors import JiraBriefError

LOG_NAME = "last-error.log"


def fail(message: str, code: int, settings: Settings | None = None) -> NoReturn:
    """Print one clear error line, secrets masked, and exit: the one place errors reach the user."""
    click.echo(f"jira-brief: error: {mask(message, settings, os.environ)}", err=True)
    sys.exit(code)


def _interrupted(signum: int, frame: Any) -> None:
    """Ctrl-C: one line and exit 130 at once. Unwinding instead (asyncio cancelling every task,
    sessions closing) lets a second Ctrl-C land mid-cleanup and print tracebacks; nothing is lost
    by not unwinding, since cache files are replaced atomically and a stdio server ends on EOF."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(Exception):  # stderr may be mid-write in the main thread
        sys.stdout.flush()
        sys.stderr.write("jira-brief: error: interrupted\n")
        sys.stderr.flush()
    os._exit(130)


# The hooks say themselves what an interrupt left of the commit message.
HOOK_COMMANDS = frozenset({"hook", "prepare-message", "require-key"})


@contextlib.contextmanager
def _exit_on_interrupt() -> Iterator[None]:
    """Ctrl-C handled by `_interrupted` while a command runs (only the main thread can set handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, _interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _log_traceback(error: BaseException, settings: Settings | None) -> Path | None:
    """Write the traceback of an unexpected error (secrets masked) to a log file; its path, or None."""
    path = Path(user_log_dir("jira-brief", appauthor=False)) / LOG_NAME
    text = mask("".join(traceback.format_exception(error)), settings, os.environ)
    try:
        _write_private(path, text)
    except OSError:
        return None
    return path


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner may read, in a folder only its owner may list: a traceback holds local
    paths and values. Both are made private again when an older version left them readable by all."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        path.chmod(0o600)
        file.write(text)


# Each command's module, imported when the command runs: `jira-brief keys` and a hook with nothing to do
# never load what `summarize` needs (the start-up of a commit hook is paid on every commit).
COMMANDS = {
    "bitbucket": "bitbucket:bitbucket",
    "config": "config:config",
    "demo": "summarize:demo",
    "doctor": "doctor:doctor",
    "github": "github:github",
    "gitlab": "gitlab:gitlab",
    "hook": "hook:hook",
    "keys": "keys:keys",
    "prefetch": "prefetch:prefetch",
    "prepare-message": "message:prepare_message_command",
    "require-key": "message:require_key_command",
    "show": "show:show",
    "summarize": "summarize:summarize",
    "trust": "config:trust",
}
# Commands that run but are not listed: the hooks' background job is theirs to start, not the user's.
HIDDEN_COMMANDS = {"hook-worker": "worker:hook_worker"}


class Boundary(click.Group):
    """The group of commands (each loaded when it runs), and the one error boundary: our errors become
    one line, Ctrl-C one line and exit 130, anything unexpected one line plus the log file holding its
    traceback (`--debug` prints it)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        where = COMMANDS.get(cmd_name) or HIDDEN_COMMANDS.get(cmd_name)
        if where is None:
            return super().get_command(ctx, cmd_name)
        module, name = where.split(":")
        command = getattr(importlib.import_module(f"jira_brief.commands.{module}"), name)
        return command if isinstance(command, click.Command) else None

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """The command to run; but for the hooks (they say what an interrupt left of the message),
        Ctrl-C then ends it at once with one line, until the command is done."""
        name, command, rest = super().resolve_command(ctx, args)
        if command is not None and command.name not in HOOK_COMMANDS:
            ctx.with_resource(_exit_on_interrupt())
        return name, command, rest

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except JiraBriefError as error:
            fail(str(error), error.exit_code, ctx.meta.get(SETTINGS_KEY))
        except KeyboardInterrupt:
            fail("interrupted", 130)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except Exception as error:  # boundary: no traceback reaches the user unless asked
            settings = ctx.meta.get(SETTINGS_KEY)
            if ctx.meta.get(DEBUG_KEY):
                raise
            log = _log_traceback(error, settings)
            where = f"; the traceback is in {log}" if log else ""
            fail(f"unexpected {type(error).__name__}: {str(error)[:300]}{where} (--debug prints it)", 1, settings)


@click.group(cls=Boundary, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="jira-brief")
@click.option("--debug", is_flag=True, help="Print the traceback of an unexpected error.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Turn the Jira tickets behind a change into a short, structured brief.

    \b
    Examples:
      jira-brief demo                              the whole pipeline on an embedded demo Jira
      jira-brief summarize PAY-142 --mcp-url http://localhost:9000/mcp
      jira-brief keys --branch --commits origin/main..HEAD
    """
    ctx.meta[DEBUG_KEY] = debug
