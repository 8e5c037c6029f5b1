"""One pipeline run, whatever sent its spans: a team that runs the collector's GitHub receiver and
also wraps steps with `leadtime step` sends one run under two trace ids (the receiver's and
leadtime's own). A run is the same run when its (CI provider, run id, attempt) is; a run that
names no attempt is its first. The trace id stored first keeps them all: a delivery's spans,
run, deploys and deploy candidates of a later trace id are recorded under it.

`LEADTIME_TRACE_IDS=github-receiver` makes the tracer derive the receiver's own ids, so its
steps also nest under the receiver's job spans; this join is for everyone else.

Two deliveries of one run take turns on the run's own lock (store.lock_runs), not on its
repository's: a delivery of runs and steps alone never waits for a merge or deploy of the
repository being worked out.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.orm import Session

from leadtime.server import store
from leadtime.server.ingest.facts import Facts, RunFact
from leadtime.server.store.runs import FIRST_ATTEMPT, RunKey


def _key(run: RunFact) -> RunKey | None:
    if not (run.provider and run.run_id):
        return None
    return run.provider, run.run_id, run.attempt or FIRST_ATTEMPT


def _renames(session: Session, runs: list[RunFact]) -> dict[str, str]:
    """trace id -> the trace id its run was first stored (or, in this delivery, seen) under."""
    keys = [(run.trace_id, key) for run in runs if (key := _key(run))]
    store.lock_runs(session, ["\x1f".join(key) for _, key in keys])
    first = store.traces_of_runs(session, [key for _, key in keys])
    renames: dict[str, str] = {}
    for trace_id, key in keys:
        first.setdefault(key, trace_id)  # new: the first of this delivery's traces keeps it
        if first[key] != trace_id:
            renames[trace_id] = first[key]
    return renames


def join_runs(session: Session, facts: Facts) -> None:
    """Record the delivery's runs under the trace ids their runs already have (see the module)."""
    renames = _renames(session, facts.runs)
    if not renames:
        return
    for row in facts.steps:
        row["trace_id"] = renames.get(row["trace_id"], row["trace_id"])
    for run in facts.runs:
        run.trace_id = renames.get(run.trace_id, run.trace_id)
    facts.deploys = [
        replace(deploy, trace_id=renames[deploy.trace_id]) if deploy.trace_id in renames else deploy
        for deploy in facts.deploys
    ]
    facts.deploy_candidates = [
        replace(candidate, deploy=replace(candidate.deploy, trace_id=renames[trace]))
        if (trace := candidate.deploy.trace_id) in renames
        else candidate
        for candidate in facts.deploy_candidates
    ]
