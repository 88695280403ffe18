"""Jira through MCP: the session, the get-issue tool and which tools may be used, tickets normalized from
any answer shape, Jira's rich text, and the embedded demo Jira."""
