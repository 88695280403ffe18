"""Finding Jira keys: the key rules (pure) and the texts they are looked for in."""
