"""Configuration: each setting declared once, the layers it comes from, trust in repository files,
one TLS/proxy configuration, and the one masking function."""
