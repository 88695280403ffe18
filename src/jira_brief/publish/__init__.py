"""Publishing briefs: untrusted text neutralized, the comment's Markdown, the criteria section, terminal
output, and the comment's words per language (data files)."""
