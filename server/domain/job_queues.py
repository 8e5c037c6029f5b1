"""Time a job waited before its first step, where no source reported the job's queue.

GitHub's workflow_job webhooks, GitLab's `queued_duration` and the collector receivers send
queue spans (role queue) of their own. Buildkite and CircleCI tell a job nothing of its queue,
so for runs timed by `leadtime pipeline start` (a root span) the wait is estimated from the
steps `leadtime step` sent, which carry their job's name (`leadtime.job.name`):

- a job is **ready** at the later of the run's start and the end of the last step of another
  job that ended before the job's first step began (a job that needs another waits for it);
- from ready to its first step, the job was **queued for a runner**: a queue span
  `queue-<job>` under the root. The estimate holds the runner's start-up and any step not
  wrapped in `leadtime step` (a checkout) too; waits under a second are left out.

A run with any queue span of its own is left as it is: the sources' figures are exact.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from leadtime.server.domain.critical_path import QUEUE_ROLE, STEP_ROLE, SpanTiming

ROOT_ROLE = "root"
SHORTEST_QUEUE = timedelta(seconds=1)


def _ready_at(first_step: datetime, job: str, steps: list[SpanTiming], run_start: datetime):
    ended_before = [
        step.finished_at for step in steps if step.job != job and step.finished_at <= first_step
    ]
    return max([run_start, *ended_before])


def _first_steps(steps: list[SpanTiming]) -> dict[str, datetime]:
    first: dict[str, datetime] = {}
    for step in steps:
        if step.job and (step.job not in first or step.started_at < first[step.job]):
            first[step.job] = step.started_at
    return first


def with_job_queues(spans: list[SpanTiming]) -> list[SpanTiming]:
    """The run's spans, with a queue span per job that waited before its first step (see the
    module) when the run has a root and no queue span."""
    roots = [span for span in spans if span.role == ROOT_ROLE and span.parent_span_id is None]
    if len(roots) != 1 or any(span.role == QUEUE_ROLE for span in spans):
        return spans
    root = roots[0]
    steps = [span for span in spans if span.role == STEP_ROLE and span.job]
    queues = []
    for job, first_step in _first_steps(steps).items():
        ready = _ready_at(first_step, job, steps, root.started_at)
        if first_step - ready >= SHORTEST_QUEUE:
            queues.append(
                replace(
                    root,
                    span_id=f"queue:{job}"[:64],
                    parent_span_id=root.span_id,
                    name=f"queue-{job}",
                    started_at=ready,
                    finished_at=first_step,
                    kind=1,
                    result=None,
                    role=QUEUE_ROLE,
                    job=job,
                )
            )
    return spans + queues
