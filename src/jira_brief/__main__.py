"""`python -m jira_brief` runs the CLI."""

from jira_brief.cli import main

main()
