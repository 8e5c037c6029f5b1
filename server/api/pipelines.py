"""`GET /api/pipelines/{trace_id}`: one pipeline run with its steps as a tree."""

from __future__ import annotations

from fastapi import APIRouter

from leadtime.server import store
from leadtime.server.api.deps import Reader, SessionDep
from leadtime.server.errors import NotFound
from leadtime.server.presenters import step_tree
from leadtime.server.schemas import PipelineOut

router = APIRouter(prefix="/api", tags=["pipelines"])


@router.get("/pipelines/{trace_id}", dependencies=[Reader], response_model=PipelineOut)
def get_pipeline(trace_id: str, session: SessionDep) -> PipelineOut:
    run = store.pipeline_run(session, trace_id.lower())
    if run is None:
        raise NotFound(f"no pipeline run with trace id {trace_id!r}")
    return PipelineOut(
        trace_id=run.trace_id,
        provider=run.provider,
        run_id=run.run_id,
        attempt=run.attempt,
        name=run.name,
        branch=run.branch,
        sha=run.sha,
        url=run.url,
        result=run.result,
        started_at=run.started_at,
        finished_at=run.finished_at,
        duration_seconds=(run.finished_at - run.started_at).total_seconds(),
        steps=step_tree(store.steps_of(session, run.trace_id), run.attributes),
        steps_pruned_at=run.steps_pruned_at,
    )
