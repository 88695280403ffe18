"""GitHub: the pull request and its comment thread (PyGithub), the Actions runner, and `jira-brief github`.

This file names only what the rest of jira-brief may know of GitHub without loading PyGithub."""

NAME = "GitHub"
# The runner sets GITHUB_ACTIONS=true; on a pull request, the head branch is in GITHUB_HEAD_REF (the
# checkout itself is a detached merge commit).
CI_VARIABLE = "GITHUB_ACTIONS"
HEAD_BRANCH_VARIABLE = "GITHUB_HEAD_REF"
# The API token, by name as `jira-brief config` shows it: JIRA_BRIEF_GITHUB_TOKEN wins over GITHUB_TOKEN.
CREDENTIALS = {"github-token": ("GITHUB_TOKEN", "JIRA_BRIEF_GITHUB_TOKEN")}
