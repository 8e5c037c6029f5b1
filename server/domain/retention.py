"""How long a run's raw step spans are kept: the retention.

The rule: a run's raw steps (every span it sent, with their attributes) are kept for
LEADTIME_STEP_RETENTION_DAYS (default 90) after the run started, then removed. What the reports
read over longer windows stays for good:
- the run itself (times, result, branch, sha, attributes) and its step summary, the rollup of
  its steps (per step name: durations, failures, time on the critical path; per job: time
  queued; run_summaries.summarize_run), which the slowest-steps report and the regression rule read;
  a run whose summary was not kept yet has it worked out before its steps go;
- every mergeset, deploy, link between them, page and alert: lead times, deploys, batching,
  change failure and on-call figures are whole whatever the window.
What needs each span covers the retention only: a pipeline's waterfall, a mergeset's breakdown,
flaky steps and tests, caches, retries. The run says when its steps went (`steps_pruned_at`).
0 keeps every step for ever.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from leadtime.server import store
from leadtime.server.domain.run_summaries import summarize_runs

PRUNE_BATCH_RUNS = 200  # runs per unit of work: short transactions beside live ingest


def prune_batch(
    session: Session, now: datetime, days: int, limit: int = PRUNE_BATCH_RUNS
) -> tuple[int, int]:
    """Remove the steps of up to `limit` runs past the retention, oldest first, their summaries
    kept; (runs, steps) removed. The caller commits, and calls again while a batch was full."""
    if days <= 0:
        return 0, 0
    runs = store.runs_past(session, now - timedelta(days=days), limit)
    if not runs:
        return 0, 0
    unsummarized = [trace_id for trace_id, summarized in runs if not summarized]
    store.save_run_summaries(session, summarize_runs(session, unsummarized))
    return len(runs), store.prune_steps(session, [trace_id for trace_id, _ in runs], now)
