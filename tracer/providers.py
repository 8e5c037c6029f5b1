"""Which CI system runs us, and what its environment says about the run.

Each provider is a table: the variable that detects it, then for each field of the CI context the
templates that fill it, tried in order; a template whose variables are not all set is skipped.
This module runs before the step's command starts, so it imports nothing heavy (not even `re`);
context.py cleans the values and fills the gaps from the checkout.
Variables: each provider's documentation of its predefined variables (see the README's table).
"""

from __future__ import annotations

# The module behind collections.abc, which `os` has loaded already; collections.abc itself
# imports `collections` (about 2 ms) before the step's command starts.
from _collections_abc import Mapping

Table = Mapping[str, tuple[str, ...]]

GITHUB_ACTIONS: Table = {
    "run_id": ("{GITHUB_RUN_ID}",),
    "attempt": ("{GITHUB_RUN_ATTEMPT}",),
    "pipeline_name": ("{GITHUB_WORKFLOW}",),
    "pipeline_url": ("{GITHUB_SERVER_URL}/{GITHUB_REPOSITORY}/actions/runs/{GITHUB_RUN_ID}",),
    "job_name": ("{GITHUB_JOB}",),
    "job_url": (
        "{GITHUB_SERVER_URL}/{GITHUB_REPOSITORY}/actions/runs/{GITHUB_RUN_ID}"
        "/attempts/{GITHUB_RUN_ATTEMPT}",
    ),
    "repo_url": ("{GITHUB_SERVER_URL}/{GITHUB_REPOSITORY}",),
    "repo_name": ("{GITHUB_REPOSITORY}",),
    "vcs_provider": ("github",),
    "branch": ("{GITHUB_HEAD_REF}", "{GITHUB_REF_NAME}"),
    "ref": ("{GITHUB_REF}",),
    "sha": ("{GITHUB_SHA}",),
    "change_id": ("{GITHUB_REF}",),
}

GITLAB_CI: Table = {
    "run_id": ("{CI_PIPELINE_ID}",),
    "pipeline_name": ("{CI_PIPELINE_NAME}", "{CI_PROJECT_PATH}"),
    "pipeline_url": ("{CI_PIPELINE_URL}",),
    "pipeline_created_at": ("{CI_PIPELINE_CREATED_AT}",),
    "job_name": ("{CI_JOB_NAME}",),
    "job_id": ("{CI_JOB_ID}",),
    "job_url": ("{CI_JOB_URL}",),
    "repo_url": ("{CI_PROJECT_URL}",),
    "repo_name": ("{CI_PROJECT_NAME}",),
    "vcs_provider": ("gitlab",),
    "branch": (
        "{CI_MERGE_REQUEST_SOURCE_BRANCH_NAME}",
        "{CI_COMMIT_BRANCH}",
        "{CI_COMMIT_REF_NAME}",
    ),
    "tag": ("{CI_COMMIT_TAG}",),
    "sha": ("{CI_COMMIT_SHA}",),
    "change_id": ("{CI_MERGE_REQUEST_IID}",),
    "committed_at": ("{CI_COMMIT_TIMESTAMP}",),
    "author": ("{CI_COMMIT_AUTHOR}",),
}

JENKINS: Table = {
    "run_id": ("{JOB_NAME}/{BUILD_NUMBER}", "{BUILD_TAG}"),
    "pipeline_name": ("{JOB_NAME}",),
    "pipeline_url": ("{BUILD_URL}",),
    "job_name": ("{STAGE_NAME}",),
    "job_url": ("{BUILD_URL}",),
    "repo_url": ("{GIT_URL}",),
    "branch": ("{CHANGE_BRANCH}", "{BRANCH_NAME}", "{GIT_BRANCH}"),
    "tag": ("{TAG_NAME}",),
    "sha": ("{GIT_COMMIT}",),
    "change_id": ("{CHANGE_ID}",),
    "author": ("{CHANGE_AUTHOR_EMAIL}",),
}

CIRCLECI: Table = {
    # A workflow is what joins CircleCI's jobs; a rerun gets a new workflow id.
    "run_id": ("{CIRCLE_WORKFLOW_ID}",),
    "pipeline_name": ("{CIRCLE_PROJECT_REPONAME}",),
    "pipeline_url": ("https://app.circleci.com/pipelines/workflows/{CIRCLE_WORKFLOW_ID}",),
    "job_name": ("{CIRCLE_JOB}",),
    "job_id": ("{CIRCLE_BUILD_NUM}",),
    "job_url": ("{CIRCLE_BUILD_URL}",),
    "repo_url": ("{CIRCLE_REPOSITORY_URL}",),
    "repo_name": ("{CIRCLE_PROJECT_REPONAME}",),
    "branch": ("{CIRCLE_BRANCH}",),
    "tag": ("{CIRCLE_TAG}",),
    "sha": ("{CIRCLE_SHA1}",),
    "change_id": ("{CIRCLE_PULL_REQUEST}",),
}

BUILDKITE: Table = {
    "run_id": ("{BUILDKITE_BUILD_ID}",),
    "pipeline_name": ("{BUILDKITE_PIPELINE_SLUG}",),
    "pipeline_url": ("{BUILDKITE_BUILD_URL}",),
    "job_name": ("{BUILDKITE_LABEL}",),
    "job_id": ("{BUILDKITE_JOB_ID}",),
    "job_url": ("{BUILDKITE_BUILD_URL}#{BUILDKITE_JOB_ID}",),
    "repo_url": ("{BUILDKITE_REPO}",),
    "vcs_provider": ("{BUILDKITE_PIPELINE_PROVIDER}",),
    "branch": ("{BUILDKITE_BRANCH}",),
    "tag": ("{BUILDKITE_TAG}",),
    "sha": ("{BUILDKITE_COMMIT}",),
    "change_id": ("{BUILDKITE_PULL_REQUEST}",),
    "author": ("{BUILDKITE_BUILD_AUTHOR_EMAIL}",),
}

AZURE_PIPELINES: Table = {
    "run_id": ("{BUILD_BUILDID}",),
    "attempt": ("{SYSTEM_JOBATTEMPT}",),
    "pipeline_name": ("{BUILD_DEFINITIONNAME}",),
    "pipeline_url": (
        "{SYSTEM_COLLECTIONURI}{SYSTEM_TEAMPROJECT}/_build/results?buildId={BUILD_BUILDID}",
    ),
    "job_name": ("{SYSTEM_JOBDISPLAYNAME}",),
    "job_id": ("{SYSTEM_JOBID}",),
    "repo_url": ("{BUILD_REPOSITORY_URI}",),
    "repo_name": ("{BUILD_REPOSITORY_NAME}",),
    "vcs_provider": ("{BUILD_REPOSITORY_PROVIDER}",),
    "branch": ("{SYSTEM_PULLREQUEST_SOURCEBRANCH}", "{BUILD_SOURCEBRANCH}"),
    "sha": ("{BUILD_SOURCEVERSION}",),
    "change_id": ("{SYSTEM_PULLREQUEST_PULLREQUESTNUMBER}", "{SYSTEM_PULLREQUEST_PULLREQUESTID}"),
    "author": ("{BUILD_REQUESTEDFOREMAIL}",),
}

LOCAL: Table = {"run_id": ("{LEADTIME_RUN_ID}",)}

# (provider name, detecting variable, expected value or None for "set to anything", table)
PROVIDERS: tuple[tuple[str, str, str | None, Table], ...] = (
    ("github", "GITHUB_ACTIONS", "true", GITHUB_ACTIONS),
    ("gitlab", "GITLAB_CI", "true", GITLAB_CI),
    ("buildkite", "BUILDKITE", "true", BUILDKITE),
    ("circleci", "CIRCLECI", "true", CIRCLECI),
    ("azure", "TF_BUILD", "true", AZURE_PIPELINES),
    ("jenkins", "JENKINS_URL", None, JENKINS),
)


def _render(template: str, env: Mapping[str, str]) -> str | None:
    """Fill `{NAME}` placeholders from `env`; None when one of them is unset or empty."""
    pieces, rest = [], template
    while "{" in rest:
        before, _, after = rest.partition("{")
        name, _, rest = after.partition("}")
        value = env.get(name)
        if not value:
            return None
        pieces += [before, value]
    return "".join([*pieces, rest])


def _lookup(table: Table, env: Mapping[str, str]) -> dict[str, str]:
    found = {}
    for field_name, templates in table.items():
        for template in templates:
            value = _render(template, env)
            if value:
                found[field_name] = value
                break
    return found


def detect(env: Mapping[str, str]) -> dict[str, str]:
    """The CI context's raw fields from the environment alone (no git, no network).

    Values are as the variables hold them; context.clean_fields turns them into attributes.
    """
    provider, table = "local", LOCAL
    for name, variable, expected, candidate in PROVIDERS:
        value = env.get(variable)
        if value and (expected is None or value.lower() == expected):
            provider, table = name, candidate
            break
    found = _lookup(table, env)
    if env.get("LEADTIME_RUN_ID"):
        found["run_id"] = env["LEADTIME_RUN_ID"]
    found["provider"] = provider
    return found
