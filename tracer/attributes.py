"""Attribute names leadtime puts on spans, as constants.

Names come from the OpenTelemetry semantic conventions: CI/CD (`cicd.*`, release candidate since
semconv 1.43), VCS (`vcs.*`), deployment (`deployment.*`), process and service. What the
conventions do not cover uses the `leadtime.` prefix. The server reads the same constants.
"""

# Resource (https://opentelemetry.io/docs/specs/semconv/resource/)
SERVICE_NAME = "service.name"

# CI/CD pipeline (https://opentelemetry.io/docs/specs/semconv/registry/attributes/cicd/)
PIPELINE_NAME = "cicd.pipeline.name"
PIPELINE_RUN_ID = "cicd.pipeline.run.id"
PIPELINE_RUN_URL = "cicd.pipeline.run.url.full"
PIPELINE_RESULT = "cicd.pipeline.result"
PIPELINE_ACTION = "cicd.pipeline.action.name"
TASK_NAME = "cicd.pipeline.task.name"
TASK_RUN_ID = "cicd.pipeline.task.run.id"
TASK_RUN_RESULT = "cicd.pipeline.task.run.result"
TASK_RUN_URL = "cicd.pipeline.task.run.url.full"
TASK_TYPE = "cicd.pipeline.task.type"

# VCS (https://opentelemetry.io/docs/specs/semconv/registry/attributes/vcs/)
REPOSITORY_URL = "vcs.repository.url.full"
REPOSITORY_NAME = "vcs.repository.name"
VCS_PROVIDER = "vcs.provider.name"
REF_HEAD_NAME = "vcs.ref.head.name"
REF_HEAD_REVISION = "vcs.ref.head.revision"
REF_HEAD_TYPE = "vcs.ref.head.type"  # "branch" or "tag"
CHANGE_ID = "vcs.change.id"

# Process and errors
PROCESS_EXIT_CODE = "process.exit.code"
ERROR_TYPE = "error.type"

# Deployment (https://opentelemetry.io/docs/specs/semconv/registry/attributes/deployment/)
DEPLOYMENT_ENVIRONMENT = "deployment.environment.name"
DEPLOYMENT_ID = "deployment.id"
DEPLOYMENT_STATUS = "deployment.status"

# leadtime's own: facts the conventions have no name for.
CI_PROVIDER = "leadtime.ci.provider"
PIPELINE_RUN_ATTEMPT = "leadtime.pipeline.run.attempt"
JOB_NAME = "leadtime.job.name"
JOB_ID = "leadtime.job.id"
COMMAND = "leadtime.command"
COMMIT_COMMITTED_AT = "leadtime.commit.committed_at"
COMMIT_AUTHOR = "leadtime.commit.author"
# First-parent history of a deployed revision, newest first, as parallel arrays, so a server can
# tell which mergesets a deploy contains without any webhook.
HISTORY_REVISIONS = "leadtime.deploy.history.revisions"
HISTORY_COMMITTED_AT = "leadtime.deploy.history.committed_at"
HISTORY_AUTHORS = "leadtime.deploy.history.authors"
HISTORY_SUBJECTS = "leadtime.deploy.history.subjects"
# When the branch each merge merged began (its first commit's author time; "" if unknown): DORA's
# change lead time runs from there.
HISTORY_FIRST_COMMIT_AT = "leadtime.deploy.history.first_commit_at"
HISTORY_TRUNCATED = "leadtime.deploy.history.truncated"
# A shallow clone cut the history short: what the deploy ships may reach further back.
HISTORY_SHALLOW = "leadtime.deploy.history.shallow"

# Whether the step's cache was hit (`leadtime step --cache-hit`): splits its p50 by hit and miss.
CACHE_HIT = "leadtime.cache.hit"
# What a step's JUnit reports held (`leadtime step --junit`); its test spans are the kept ones.
TESTS_TOTAL = "leadtime.tests.total"
TESTS_FAILED = "leadtime.tests.failed"
TESTS_SKIPPED = "leadtime.tests.skipped"
TESTS_KEPT = "leadtime.tests.kept"

# Tests (https://opentelemetry.io/docs/specs/semconv/registry/attributes/test/): a test case's
# span, a child of its step's. Result values: pass, fail, and leadtime's `skipped`.
TEST_CASE_NAME = "test.case.name"
TEST_CASE_RESULT = "test.case.result.status"
TEST_SUITE_NAME = "test.suite.name"
CODE_FILE_PATH = "code.file.path"
TEST_CLASS = "leadtime.test.class"
TEST_FAILURE_MESSAGE = "leadtime.test.failure.message"

# Values (semconv enums)
TASK_TYPES = ("build", "test", "deploy")
RESULT_SUCCESS = "success"
RESULT_FAILURE = "failure"
RESULT_TIMEOUT = "timeout"
RESULT_CANCELLATION = "cancellation"
RESULT_ERROR = "error"
RESULT_SKIP = "skip"
PIPELINE_RESULTS = (
    RESULT_SUCCESS,
    RESULT_FAILURE,
    RESULT_TIMEOUT,
    RESULT_CANCELLATION,
    RESULT_ERROR,
    RESULT_SKIP,
)
REF_BRANCH = "branch"
REF_TAG = "tag"
DEPLOYMENT_SUCCEEDED = "succeeded"
DEPLOYMENT_FAILED = "failed"
