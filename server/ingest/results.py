"""Results as each emitter writes them, read in the CI/CD semantic conventions' words
(`cicd.pipeline.result` and `cicd.pipeline.task.run.result`: success, failure, error, timeout,
cancellation, skip).

Emitters write them their own way: GitHub (`failure`, `cancelled`, `timed_out`, `skipped`),
GitLab (`failed`, `canceled`, `skipped`, `manual`), Jenkins (`SUCCESS`, `FAILURE`, `UNSTABLE`,
`ABORTED`, `NOT_BUILT`), test cases (`test.case.result.status`: `pass`, `fail`, and leadtime's
`skipped`), and older keys (`cicd.pipeline.run.status`,
`cicd.pipeline.run.task.status`). A value we cannot place is kept as it is; the raw value of one
we mapped stays on the step as `leadtime.result.raw`. A skipped or cancelled step is never a
success, whatever its span status says.
"""

from __future__ import annotations

from leadtime.tracer import attributes as attr

RAW = "leadtime.result.raw"
RUN_ALIASES = (attr.PIPELINE_RESULT, "cicd.pipeline.run.status")
TASK_ALIASES = (attr.TASK_RUN_RESULT, "cicd.pipeline.run.task.status", attr.TEST_CASE_RESULT)

_WORDS = {
    attr.RESULT_SUCCESS: ("success", "succeeded", "successful", "passed", "ok", "pass"),
    attr.RESULT_FAILURE: ("failure", "failed", "unstable", "fail"),
    attr.RESULT_ERROR: ("error", "errored"),
    attr.RESULT_TIMEOUT: ("timeout", "timed_out", "timedout"),
    attr.RESULT_CANCELLATION: ("cancellation", "cancelled", "canceled", "aborted"),
    attr.RESULT_SKIP: ("skip", "skipped", "not_built", "manual"),
}
_RESULT_OF = {word: result for result, words in _WORDS.items() for word in words}


MAX_CHARS = 50  # the result columns' length


def normalized(value: str | None) -> str | None:
    """The conventions' word for `value`, else the value itself (cut to fit), None if absent."""
    if not value:
        return None
    return _RESULT_OF.get(value.strip().lower().replace("-", "_"), value[:MAX_CHARS])


def first(attributes: dict, keys: tuple[str, ...]) -> str | None:
    """The first of `keys` that holds a non-empty string (another kind is no result)."""
    return next(
        (value for key in keys if isinstance(value := attributes.get(key), str) and value), None
    )
