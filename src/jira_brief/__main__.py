"""`python -m jira_brief` runs the CLI."""

from jira_brief.commands.main import main

main()
