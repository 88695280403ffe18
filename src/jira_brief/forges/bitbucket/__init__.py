"""Bitbucket Cloud: the pull request and its comment thread (REST API 2.0 over httpx2), Bitbucket
Pipelines, and `jira-brief bitbucket`.

This file names only what the rest of jira-brief may know of Bitbucket without loading its client."""

NAME = "Bitbucket"
# Pipelines sets CI=true, as many CI services do, and BITBUCKET_BUILD_NUMBER in every step: that one says
# it is Bitbucket (any value). On a branch or pull-request pipeline the source branch is BITBUCKET_BRANCH.
CI_VARIABLE = "BITBUCKET_BUILD_NUMBER"
CI_VALUE = None
HEAD_BRANCH_VARIABLE = "BITBUCKET_BRANCH"
# A repository access token (Bearer), or an Atlassian account's e-mail and API token (Basic); app
# passwords no longer work. Secured repository variables hand them to the pipeline.
CREDENTIALS = {
    "bitbucket-token": ("JIRA_BRIEF_BITBUCKET_TOKEN",),
    "bitbucket-email": ("JIRA_BRIEF_BITBUCKET_EMAIL",),
    "bitbucket-api-token": ("JIRA_BRIEF_BITBUCKET_API_TOKEN",),
}
# Where the REST API is (its tests point it at a local fake); like the credentials, only the environment sets
# it, never a settings file: it decides where the credentials go.
VARIABLES = ("JIRA_BRIEF_BITBUCKET_API_URL",)
