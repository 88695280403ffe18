"""An OpenAI-compatible model: the client and its retry policy, and reading every reply shape."""
