"""The `jira-brief` command line: parse options, build Settings, run the pipeline, pick the sink."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from jira_brief import __version__
from jira_brief.errors import JiraBriefError, UsageError
from jira_brief.keys import KeyScan, scan
from jira_brief.masking import mask, masker
from jira_brief.settings import SPECS, Settings, describe, env_names, kebab, load_settings
from jira_brief.sources import gather_texts, read_event

if TYPE_CHECKING:
    from jira_brief.coverage import Change
    from jira_brief.progress import Notify
    from jira_brief.result import BriefResult


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
    import traceback

    from platformdirs import user_log_dir

    path = Path(user_log_dir("jira-brief", appauthor=False)) / LOG_NAME
    text = mask("".join(traceback.format_exception(error)), settings, os.environ)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError:
        return None
    return path


class Boundary(click.Group):
    """The one error boundary: our errors become one line, Ctrl-C one line and exit 130, anything
    unexpected one line plus the log file holding its traceback (`--debug` prints it)."""

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


SETTINGS_KEY, DEBUG_KEY = "jira_brief.settings", "jira_brief.debug"


def setting_option(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The flag of a setting, made from its declaration: help, choices, environment variables."""
    spec = SPECS[name]
    flag = "--" + (spec.flag or kebab(name))
    help_text = spec.help[0].upper() + spec.help[1:] + "." + (" Repeatable." if spec.repeatable else "")
    help_text += f" [env: {', '.join(env_names(name))}]"
    if spec.switch:
        return click.option(flag, name, is_flag=True, default=None, help=help_text)
    if spec.boolean:
        return click.option(f"{flag}/--no-{flag[2:]}", name, default=None, help=help_text)
    kind = click.Choice(spec.choices, case_sensitive=False) if spec.choices else None
    return click.option(flag, name, type=kind, metavar=spec.metavar, multiple=spec.repeatable, help=help_text)


def setting_options(*names: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The flags of these settings, in this order."""

    def apply(command: Callable[..., Any]) -> Callable[..., Any]:
        for name in reversed(names):
            command = setting_option(name)(command)
        return command

    return apply


KEY_SETTINGS = ("sources", "projects", "max_keys")
MCP_SETTINGS = (
    "mcp_url",
    "mcp_transport",
    "mcp_command",
    "mcp_env",
    "mcp_headers",
    "issue_tool",
    "issue_arg",
    "issue_args",
)
LLM_SETTINGS = ("llm", "llm_base_url", "model", "timeout")
NETWORK_SETTINGS = ("ca_bundle", "proxy", "insecure")
BRIEF_SETTINGS = ("language", "template", "max_steps", "concurrency", "stream", "cache")
ENGINE_SETTINGS = (*MCP_SETTINGS, "allow_tools", *LLM_SETTINGS, *BRIEF_SETTINGS, *NETWORK_SETTINGS)
CHECK_SETTINGS = ("check", "diff_budget")
DEMO_SETTINGS = (*LLM_SETTINGS, *BRIEF_SETTINGS, *NETWORK_SETTINGS)
DOCTOR_SETTINGS = (*MCP_SETTINGS, "allow_tools", *LLM_SETTINGS, *NETWORK_SETTINGS)


def key_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Options that say where to look for keys, shared by every command that finds keys."""
    options = [
        click.argument("text", nargs=-1),
        click.option("--branch", is_flag=True, help="Look in the current git branch name."),
        click.option(
            "--message-file",
            type=click.Path(path_type=Path, dir_okay=False),
            help="Look in a git commit message file (comments and the scissors part are ignored).",
        ),
        click.option("--commits", metavar="RANGE", help="Look in the messages of `git log RANGE`."),
        click.option(
            "--github-event",
            type=click.Path(path_type=Path, dir_okay=False),
            help="Look in a GitHub event payload (pull_request, workflow_dispatch).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return setting_options(*KEY_SETTINGS)(command)


def settings_from(**flags: Any) -> Settings:
    """Settings with the command's flags on top (only flags that were given count); kept for the error
    boundary, which masks their secrets, and any untrusted setting left out is said once."""
    settings = load_settings({name: value for name, value in flags.items() if name in SPECS})
    context = click.get_current_context(silent=True)
    if context is not None:
        context.meta[SETTINGS_KEY] = settings
    for line in settings.ignored:
        click.echo(f"jira-brief: warning: {line}", err=True)
    return settings


def find_keys(settings: Settings, options: dict[str, Any]) -> KeyScan:
    """Scan every source the options name, under the settings' allowlist, sources and cap."""
    event_path = options.get("github_event")
    texts = gather_texts(
        args=tuple(options.get("text") or ()),
        branch=bool(options.get("branch")),
        message_file=options.get("message_file"),
        commits=options.get("commits"),
        event=read_event(event_path) if event_path else None,
        sources=settings.sources,
    )
    found = scan(texts, settings.projects, settings.max_keys)
    if found.dropped:
        extra = ", ".join(key.key for key in found.dropped)
        click.echo(
            f"jira-brief: {len(found.dropped)} more key(s) past the limit of {settings.max_keys} "
            f"left out: {extra} (raise --max-keys to include them)",
            err=True,
        )
    return found


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


@main.command()
@key_options
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of {key, source}.")
def keys(as_json: bool, **options: Any) -> None:
    """Print the Jira keys found, one per line, in first-seen order.

    \b
    Examples:
      jira-brief keys "PAY-142: split the payment form"
      jira-brief keys --branch --commits origin/main..HEAD --json
    """
    settings = settings_from(**options)
    if not (options.get("text") or options.get("branch") or options.get("message_file")):
        if not (options.get("commits") or options.get("github_event")):
            raise UsageError(
                "nothing to look in: pass a text (jira-brief keys 'PAY-142 fix'), or --branch, "
                "--message-file FILE, --commits RANGE or --github-event FILE"
            )
    found = find_keys(settings, options)
    if as_json:
        click.echo(json.dumps([{"key": k.key, "source": k.source} for k in found.keys]))
    else:
        for key in found.keys:
            click.echo(key.key)


def _settings_list() -> str:
    """Every setting and its environment variables, for `config --help`."""
    rows = [f"  {kebab(name):<18} {', '.join(env_names(name))}" for name in SPECS]
    return "\b\nSettings (name in files and flags, then environment variables):\n" + "\n".join(rows)


@main.command(epilog=_settings_list())
def config() -> None:
    """Print the config files read, the effective settings and where each comes from; secrets masked.

    Settings come from, lowest first: defaults, your own config file (~/.config/jira-brief/config.toml),
    the repository's `.jira-brief.toml` or `[tool.jira-brief]` in pyproject.toml (its endpoints, commands,
    proxy, CA and cache settings count only after `jira-brief trust`), environment variables, then flags.

    \b
    Example:
      jira-brief config
    """
    from jira_brief.settings import config_files

    settings = settings_from()
    for path, state in config_files():
        click.echo(f"# {path}: {state}")
    rows = describe(settings)
    width = max(len(name) for name, _, _ in rows)
    hide = masker(settings, os.environ)
    for name, value, origin in rows:
        click.echo(hide(f"{name.ljust(width)}  {value}  [{origin}]"))


@main.command()
@click.argument("file", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--list", "show", is_flag=True, help="List the trusted files and whether each is unchanged.")
@click.option("--revoke", is_flag=True, help="Stop trusting the file.")
def trust(file: Path | None, show: bool, revoke: bool) -> None:
    """Trust a repository's config file, so that its endpoints, commands, proxy, CA and cache count.

    Those settings decide where your API keys and Jira token go and what runs on your machine, so
    jira-brief ignores them in a repository's file until you have read it and trusted it. The file's
    path and SHA-256 are recorded in your config folder; any change to the file untrusts it.

    \b
    Examples:
      jira-brief trust                      the config file found from here
      jira-brief trust --list
      jira-brief trust --revoke .jira-brief.toml
    """
    from jira_brief import trust as store
    from jira_brief.settings import find_config_file

    if show:
        for path, unchanged in store.trusted_files():
            click.echo(f"{path}  [{'trusted' if unchanged else 'changed since trusted: not trusted'}]")
        return
    target = file or find_config_file(Path.cwd().resolve())
    if target is None:
        raise UsageError("no config file here (.jira-brief.toml or [tool.jira-brief] in pyproject.toml); name one")
    if revoke:
        said = "no longer trusted" if store.revoke(target) else "was not trusted"
        click.echo(f"jira-brief: {target} {said}")
        return
    digest = store.trust(target)
    click.echo(f"jira-brief: trusted {target.resolve()} (sha256 {digest[:12]}…); any change untrusts it")


CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def for_terminal(text: str, settings: Settings | None) -> str:
    """Text from Jira or the model, fit for a terminal: secrets masked, no control characters
    (a ticket must not move the cursor, set the title or write the clipboard)."""
    return CONTROL.sub("", mask(text, settings, os.environ))


def echo_out(text: str, nl: bool = True) -> None:
    """Write to stdout; when its reader is gone (`| head`), the rest goes nowhere, quietly: the run
    still finishes, caches what it made and exits with its own code."""
    try:
        click.echo(text, nl=nl)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def print_results(results: list[Any], fmt: str, settings: Settings) -> None:
    from jira_brief.briefs import load_template
    from jira_brief.comment import labels_for
    from jira_brief.render import render_json, render_markdown

    if fmt == "json":
        echo_out(mask(render_json(results), settings, os.environ))
    elif fmt == "markdown":
        labels = labels_for(settings.language, load_template(settings).text)
        echo_out(for_terminal(render_markdown(results, labels), settings), nl=False)


def run_briefs(found: KeyScan, settings: Settings, fmt: str, change: Change | None = None) -> int:
    """Brief the keys (checking their criteria against `change` when given), print them, return the exit code."""
    import asyncio

    from jira_brief.jira_mcp import check_server_configured
    from jira_brief.pipeline import brief_all
    from jira_brief.render import terminal_screen

    check_server_configured(settings)
    screen = terminal_screen(
        found.names,
        fmt,
        clean=lambda text: for_terminal(text, settings),
        write=lambda text: echo_out(text, nl=False),
        warn=lambda line: click.echo(line, err=True),
        environ=os.environ,
        stdout=sys.stdout,
        stderr=sys.stderr,
    )
    try:
        results = asyncio.run(
            brief_all(found.keys, settings, output=screen.output, progress=screen.notify, change=change)
        )
    finally:
        screen.close()
    print_results(results, fmt, settings)
    return 1 if any(not result.ok for result in results) else 0


@main.command()
@key_options
@setting_options(*ENGINE_SETTINGS, *CHECK_SETTINGS)
@click.option(
    "--diff",
    "diff_spec",
    metavar="RANGE|staged",
    help="Check each ticket's acceptance criteria against `git diff RANGE` (or the staged changes).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    help="text streams to the terminal; json is a list of {key, url, title, status, brief, error, cached, source}.",
)
def summarize(fmt: str, diff_spec: str | None, **options: Any) -> None:
    """Write the brief of each Jira ticket named by the arguments, branch, message or commits.

    Tickets are read through the Jira MCP server (--mcp-url or --mcp-command). Briefs are written by
    the OpenAI-compatible model at --llm-base-url (OPENAI_BASE_URL) with the API key from
    OPENAI_API_KEY (or JIRA_BRIEF_LLM_API_KEY; never a flag or a repository file, so it stays out of
    shell history and commits); without a key or URL they are written offline from the ticket's fields.

    \b
    Examples:
      jira-brief summarize PAY-142 --mcp-url http://localhost:9000/mcp
      jira-brief summarize --branch --mcp-command mcp-atlassian --format markdown
      jira-brief summarize --commits origin/main..HEAD --format json
      jira-brief summarize --branch --diff origin/main...HEAD
    """
    settings = settings_from(**options)
    found = find_keys(settings, options)
    if not found.keys:
        click.echo(
            "jira-brief: no Jira key found; pass a key (PAY-142) or --branch / --message-file / --commits", err=True
        )
        if fmt == "json":
            click.echo("[]")
        return
    sys.exit(run_briefs(found, settings, fmt, change=_change(diff_spec, settings)))


def _change(diff_spec: str | None, settings: Settings) -> Change | None:
    """The change named by --diff, read with git; None without --diff or with the check off."""
    if diff_spec is None or settings.check == "off":
        return None
    from jira_brief.coverage import Change
    from jira_brief.diff import parse_git_diff
    from jira_brief.sources import change_diff

    return Change(parse_git_diff(change_diff(diff_spec)))


@main.command()
@click.argument("keys", nargs=-1)
@setting_options(*DEMO_SETTINGS)
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text")
def demo(keys: tuple[str, ...], fmt: str, **options: Any) -> None:
    """Run the whole pipeline on an embedded demo Jira, with no set-up.

    Uses the configured LLM when there is one (OPENAI_API_KEY / OPENAI_BASE_URL), else offline briefs.

    \b
    Examples:
      jira-brief demo
      jira-brief demo PAY-142 --language en --format markdown
    """
    from jira_brief.demo import build_server

    settings = settings_from(**options)
    found = scan([("arg", key) for key in keys or ("PAY-142", "WEB-88", "WEB-91")], (), settings.max_keys)
    if settings.llm_enabled:
        mode = f"model {settings.model}"
    elif settings.llm == "none":
        mode = "offline briefs (--llm none)"
    else:
        mode = "offline briefs (no LLM configured: set OPENAI_API_KEY or OPENAI_BASE_URL)"
    click.echo(f"jira-brief demo: {len(found.keys)} ticket(s) from the embedded demo Jira, {mode}", err=True)
    sys.exit(run_briefs(found, dataclasses.replace(settings, mcp_server=build_server()), fmt))


@main.command()
@click.argument("key", required=False)
@setting_options(*DOCTOR_SETTINGS)
@click.option("--demo", "use_demo", is_flag=True, help="Check against the embedded demo Jira.")
def doctor(key: str | None, use_demo: bool, **options: Any) -> None:
    """Check each configured part (MCP server, tools, LLM, TLS/proxy) and say how to fix problems.

    With KEY, also read that ticket and print what was understood of it (exit 1 when it cannot be read).

    \b
    Examples:
      jira-brief doctor --mcp-url http://localhost:9000/mcp
      jira-brief doctor --demo
      jira-brief doctor PAY-142 --mcp-command mcp-atlassian
    """
    import asyncio

    from jira_brief.doctor import run_checks

    settings = settings_from(**options)
    if use_demo:
        from jira_brief.demo import build_server

        settings = dataclasses.replace(settings, mcp_server=build_server())
    problems = asyncio.run(run_checks(settings, lambda line: click.echo(for_terminal(line, settings)), key))
    sys.exit(1 if problems else 0)


@main.command()
@setting_options(*ENGINE_SETTINGS, *KEY_SETTINGS, *CHECK_SETTINGS)
@click.option("--pr-number", help="Pull request number (workflow_dispatch).")
@click.option("--keys", "explicit_keys", help="Explicit keys (workflow_dispatch), e.g. 'PAY-142 WEB-88'.")
@click.option(
    "--comment",
    "comment_mode",
    type=click.Choice(["update", "off"]),
    default="update",
    help="update: keep one sticky PR comment current; off: job summary and outputs only.",
)
@click.option("--fail-on-error", is_flag=True, help="Fail the job when a ticket or brief fails.")
def github(
    pr_number: str | None, explicit_keys: str | None, comment_mode: str, fail_on_error: bool, **options: Any
) -> None:
    """Inside GitHub Actions: brief the PR's tickets into one sticky comment, the job summary and outputs.

    Reads GITHUB_EVENT_NAME, GITHUB_EVENT_PATH, GITHUB_REPOSITORY, GITHUB_API_URL, GITHUB_TOKEN,
    GITHUB_STEP_SUMMARY and GITHUB_OUTPUT, as the runner sets them; the PR's title, branch and
    commits come from the API. Keys count from pr-title, branch and commits unless --sources says.

    \b
    Example (a workflow step; the action.yml of this repository runs it for you):
      jira-brief github --mcp-url "$JIRA_MCP_URL"
    """
    from jira_brief.action import ActionOptions, run_github
    from jira_brief.github_api import connect
    from jira_brief.runner import Runner

    settings = settings_from(**options)
    if settings.origin("sources") == "default":
        settings = dataclasses.replace(settings, sources=("pr-title", "branch", "commits"))
    runner = Runner.from_environment(os.environ)

    def brief(found: KeyScan, known: Mapping[str, str], change: Change | None, notify: Notify) -> list[BriefResult]:
        import asyncio

        from jira_brief.pipeline import brief_all

        return asyncio.run(brief_all(found.keys, settings, known=known, change=change, progress=notify))

    code = run_github(
        settings,
        runner,
        ActionOptions(pr_number, explicit_keys, comment_mode, fail_on_error),
        connect=lambda: connect(settings.github_token, runner.api_url),
        brief=brief,
        environ=os.environ,
    )
    sys.exit(code)


def _hook_settings(**flags: Any) -> Settings | None:
    """Settings for a hook, or None when the hooks are turned off."""
    settings = settings_from(**flags)
    return None if settings.disable else settings


@main.command()
@click.argument("message_file", required=False, type=click.Path(path_type=Path, dir_okay=False))
@setting_options("hook_show", "strict", "projects")
def hook(message_file: Path | None, **flags: Any) -> None:
    """commit-msg hook: print the brief of the tickets named by the message and the branch.

    Never blocks a commit and never touches the message, unless --strict (or `strict = true`).

    \b
    Example (pre-commit runs it as the `jira-brief` hook):
      jira-brief hook .git/COMMIT_EDITMSG --show full
    """
    import time

    from jira_brief.hook import hook_keys, leave, show_briefs

    started = time.monotonic()

    def warn(line: str) -> None:
        click.echo(line, err=True)

    settings = None
    try:
        settings = _hook_settings(**flags)
        found = hook_keys(message_file, settings) if settings else []
        if not found or settings is None:
            return
        from jira_brief.jira_mcp import check_server_configured

        check_server_configured(settings)
        failed = show_briefs(
            found,
            settings,
            lambda text: click.echo(for_terminal(text, settings)),
            lambda line: warn(for_terminal(line, settings)),
            started=started,
        )
        leave(1 if failed and settings.strict else 0)
    except KeyboardInterrupt:
        warn("jira-brief: interrupted; the commit message is untouched")
        sys.exit(130)
    except Exception as error:  # boundary: a hook must fail open whatever went wrong
        text = str(error) if isinstance(error, JiraBriefError) else f"unexpected {type(error).__name__}: {error}"
        warn(mask(f"jira-brief: warning: {text}; the commit goes on", settings, os.environ))
        if flags.get("strict") or (settings is not None and settings.strict):
            sys.exit(1)


@main.command("require-key")
@click.argument("message_file", type=click.Path(path_type=Path, dir_okay=False))
@setting_options("projects")
def require_key_command(message_file: Path, projects: str | None) -> None:
    """commit-msg hook: refuse a commit whose message and branch name have no Jira key.

    Merge commits, fixup!/squash!/amend! commits and reverts pass.

    \b
    Example (pre-commit runs it as the `jira-brief-require-key` hook):
      jira-brief require-key .git/COMMIT_EDITMSG --projects PAY,WEB
    """
    from jira_brief.hook import require_key

    settings = _hook_settings(projects=projects)
    problem = require_key(message_file, settings) if settings else None
    if problem:
        click.echo(problem, err=True)
        sys.exit(1)


@main.command("prepare-message")
@click.argument("message_file", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("source", required=False)
@click.argument("sha", required=False)
@setting_options("projects")
def prepare_message_command(message_file: Path, source: str | None, sha: str | None, projects: str | None) -> None:
    """prepare-commit-msg hook: start the message with the branch's Jira key when it has none.

    Does nothing for merges, squashes, amends and messages that already name a key.

    \b
    Example (pre-commit runs it as the `jira-brief-prepare` hook):
      jira-brief prepare-message .git/COMMIT_EDITMSG message
    """
    from jira_brief.hook import prepare_message

    source = source or os.environ.get("PRE_COMMIT_COMMIT_MSG_SOURCE") or None
    try:
        settings = _hook_settings(projects=projects)
        if settings is not None:
            prepare_message(message_file, settings, source)
    except (JiraBriefError, OSError) as error:
        click.echo(mask(f"jira-brief: warning: {error}; the message is left as it was", None, os.environ), err=True)
    except KeyboardInterrupt:
        click.echo("jira-brief: interrupted; the commit message is whole (as it was, or with the key)", err=True)
        sys.exit(130)
