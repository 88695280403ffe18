"""jira-brief: the Jira tickets behind a change, as a short structured brief."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("jira-brief")  # the one place the version is written is pyproject.toml
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
