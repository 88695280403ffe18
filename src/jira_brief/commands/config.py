"""`jira-brief config` and `jira-brief trust`: the settings in effect and where each comes from, and which
repository config files the user trusted."""

from __future__ import annotations

import os
from pathlib import Path

import click

from jira_brief.commands.options import echo_out, settings_from
from jira_brief.config import trust as store
from jira_brief.config.load import config_files, find_config_file, search_folders, user_config_file
from jira_brief.config.masking import masker
from jira_brief.config.settings import SPECS, describe, env_names, kebab
from jira_brief.errors import UsageError
from jira_brief.forges import FORGES, describe_credentials


def _settings_list() -> str:
    """Every setting and its environment variables, for `config --help`."""
    rows = [f"  {kebab(name):<18} {', '.join(env_names(name))}" for name in SPECS]
    rows += [f"  {name:<18} {', '.join(names)}" for forge in FORGES for name, names in forge.CREDENTIALS.items()]
    return "\b\nSettings (name in files and flags, then environment variables):\n" + "\n".join(rows)


def files_looked_for(cwd: Path) -> list[str]:
    """The config files read, each with whether its trusted settings count, and where each kind of file
    was looked for when there is none: a setting that seems ignored is often a file in the wrong place."""
    found = config_files(cwd)
    lines = [f"{path}: {state}" for path, state in found]
    if not user_config_file().is_file():
        lines.insert(0, f"user file: none (looked for {user_config_file()})")
    if not any(state.startswith("repository") for _, state in found):
        folders = search_folders(cwd)
        top = folders[-1]
        end = "the repository root" if (top / ".git").exists() else "the filesystem root: no git repository here"
        where = str(top) if len(folders) == 1 else f"{folders[0]} and each folder up to {top}"
        lines.append(
            f"repository file: none (looked for .jira-brief.toml, or pyproject.toml with [tool.jira-brief], "
            f"in {where}, {end}; JIRA_BRIEF_CONFIG=FILE names one)"
        )
    return lines


@click.command(epilog=_settings_list())
def config() -> None:
    """Print the config files read, the effective settings and where each comes from; secrets masked.

    Settings come from, lowest first: defaults, your own config file (~/.config/jira-brief/config.toml),
    the repository's `.jira-brief.toml` or `[tool.jira-brief]` in pyproject.toml (its endpoints, commands,
    proxy, CA and cache settings count only after `jira-brief trust`), environment variables, then flags.

    \b
    Example:
      jira-brief config
    """
    settings = settings_from()
    for line in files_looked_for(Path.cwd().resolve()):
        echo_out(f"# {line}")
    rows = describe(settings) + describe_credentials(os.environ)
    width = max(len(name) for name, _, _ in rows)
    hide = masker(settings, os.environ)
    for name, value, origin in rows:
        echo_out(hide(f"{name.ljust(width)}  {value}  [{origin}]"))


@click.command()
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
    click.echo(f"jira-brief: trusted {target.absolute()} (sha256 {digest[:12]}…); any change untrusts it")
