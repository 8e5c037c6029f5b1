"""`GET /api/pipelines/{trace_id}`: one pipeline run with its steps as a tree."""

from __future__ import annotations

from fastapi import APIRouter

from leadtime.server import store
from leadtime.server.api.deps import Reader, SessionDep
from leadtime.server.errors import NotFound
from leadtime.server.models import Step
from leadtime.server.schemas import PipelineOut, StepOut

router = APIRouter(prefix="/api", tags=["pipelines"])


def step_tree(steps: list[Step]) -> list[StepOut]:
    """Steps nested under their parents; a step whose parent never arrived is a top step."""
    nodes = {
        step.span_id: StepOut(
            span_id=step.span_id,
            parent_span_id=step.parent_span_id,
            name=step.name,
            started_at=step.started_at,
            finished_at=step.finished_at,
            duration_seconds=(step.finished_at - step.started_at).total_seconds(),
            result=step.result,
            exit_code=step.exit_code,
            task_type=step.task_type,
            service=step.service,
            attributes=step.attributes,
            children=[],
        )
        for step in steps
    }
    roots = []
    for node in nodes.values():
        parent = nodes.get(node.parent_span_id or "")
        (parent.children if parent else roots).append(node)
    return roots


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
        steps=step_tree(store.steps_of(session, run.trace_id)),
    )
