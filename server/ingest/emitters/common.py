"""What every emitter adapter shares: span roles, and adding the conventions' keys to a span.

An adapter never overwrites what a span already says in the conventions' words; it only fills
in, from the emitter's own keys, what is missing.
"""

from __future__ import annotations

import re
from dataclasses import replace

from leadtime.server.ingest import span_rules
from leadtime.server.ingest.otlp import SpanRecord

STEP = "step"  # a unit of work: its own time counts, it can be slow
ROOT = "root"  # the pipeline run itself: its own time is waiting
QUEUE = "queue"  # waiting for a runner or an agent: waiting, never a step
GROUP = "group"  # a stage or phase around steps: its own time is waiting, never a step
TEST = "test"  # a test case inside a step: its time is the step's, never a step of its own
DETAIL = "detail"  # inside a test case (its phases, fixtures): kept, never a step or a test
ROLES = (STEP, ROOT, QUEUE, GROUP, TEST, DETAIL)

# A forge's run or job page: https://host/owner/name/actions/runs/N[...] (GitHub) or
# https://host/group/sub/name/-/pipelines/N (GitLab). What comes before is the repository's page.
_RUN_PAGE = re.compile(r"^(https?://[^/]+/[^?#]+?)/(?:actions/runs|-/pipelines|-/jobs)/\d+")


def filled(span: SpanRecord, values: dict, role: str | None = None) -> SpanRecord:
    """The span with `values` added where it has no value of its own, and its role when given."""
    extra = {
        key: fitted
        for key, value in values.items()
        if value not in (None, "") and span.attributes.get(key) in (None, "")
        for fitted in _fitted(key, value)
    }
    if not extra and role is None:
        return span
    return replace(span, attributes={**span.attributes, **extra}, role=role if role else span.role)


def _fitted(key: str, value) -> list:
    """[the value as stored], or [] when it breaks the rule for its key (span_rules): an alias
    that cannot be stored is left out, never the span."""
    try:
        return [span_rules.checked_value(key, value)]
    except span_rules.SpanProblem:
        return []


def repository_page(run_url) -> str | None:
    """The repository's URL, read off a run's or job's page on a forge; None if it is not one."""
    match = _RUN_PAGE.match(str(run_url or ""))
    return match.group(1) if match else None
