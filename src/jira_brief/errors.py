"""The one exception family jira-brief raises; the CLI turns each into a single clear line."""

from __future__ import annotations


class JiraBriefError(Exception):
    """An error the user can act on; its message is one line that says what to do."""

    exit_code = 1


class UsageError(JiraBriefError):
    """Bad input or configuration: exit code 2, like Click's own usage errors."""

    exit_code = 2


class ConfigError(UsageError):
    """A setting that is unknown or has a bad value, named with where it came from."""


class TicketError(JiraBriefError):
    """One ticket could not be read (not found, no access, server down); others go on."""


class LLMError(JiraBriefError):
    """The model could not write a brief (auth, quota, timeout, cut stream)."""
