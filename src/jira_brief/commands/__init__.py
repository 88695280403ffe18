"""The commands of `jira-brief`, one module each, and the group with the one error boundary (main.py)."""
