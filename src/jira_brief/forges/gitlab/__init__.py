"""GitLab: the merge request and its notes (python-gitlab), the CI job's environment, and `jira-brief gitlab`.

This file names only what the rest of jira-brief may know of GitLab without loading python-gitlab."""

NAME = "GitLab"
# A GitLab CI job has GITLAB_CI=true; in a merge request pipeline the source branch is in
# CI_MERGE_REQUEST_SOURCE_BRANCH_NAME (the checkout itself is a detached commit).
CI_VARIABLE = "GITLAB_CI"
HEAD_BRANCH_VARIABLE = "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME"
# The API token, by name as `jira-brief config` shows it: JIRA_BRIEF_GITLAB_TOKEN wins over GITLAB_TOKEN.
# The job's own CI_JOB_TOKEN cannot write notes, so it is never used.
CREDENTIALS = {"gitlab-token": ("GITLAB_TOKEN", "JIRA_BRIEF_GITLAB_TOKEN")}
