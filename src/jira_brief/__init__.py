"""jira-brief: the Jira tickets behind a change, as a short structured brief."""

__version__ = "0.1.0"
