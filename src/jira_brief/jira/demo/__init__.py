"""The embedded demo Jira: an in-process MCP server shaped like mcp-atlassian, and its tickets."""
