"""The history bench_server.py reads: a busy repository's mergesets, deploys, and main-branch
runs of 100 steps, written straight into the tables as ingestion would have stored them (each
step with the attributes ingestion stored for a real one, each run with its step summary, each
day marked for the server to roll up)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, insert, inspect, select, text

from leadtime.server.domain.critical_path import SpanTiming
from leadtime.server.domain.job_queues import with_job_queues

try:
    from leadtime.server.domain.run_summaries import summarize_run
except ImportError:  # a server from before run summaries had their own module
    from leadtime.server.domain.budget import summarize_run  # type: ignore[no-redef]
from leadtime.server.models import (
    Deploy,
    DeployMergeset,
    Mergeset,
    PipelineRun,
    Repository,
    Step,
)
from leadtime.tracer import attributes as attr

REPO_URL = "https://github.com/acme/shop"
RUN_STEPS = 100


def step_template(engine: Engine) -> dict:
    """The attributes ingestion stored for one of its steps: what seeded steps carry."""
    with engine.connect() as connection:
        stored = connection.execute(
            select(Step.attributes).where(Step.name == "step-1").limit(1)
        ).scalar_one()
    return dict(stored)


def _seed_history(connection, repository_id: int, mergesets: int, first: datetime) -> None:
    now = datetime.now(UTC)
    rows = [
        {
            "repository_id": repository_id,
            "sha": f"{n:040x}",
            "parent_sha": f"{n - 1:040x}" if n else None,
            "merged_at": first + timedelta(minutes=20 * n),
            "merged_at_source": "commit",
            "source": "history",
            "title": f"change {n}",
            "created_at": now,
        }
        for n in range(mergesets)
    ]
    connection.execute(insert(Mergeset), rows)
    ids = [
        row[0]
        for row in connection.execute(
            text("SELECT id FROM mergesets WHERE source = 'history' ORDER BY id")
        )
    ]
    deploys = []
    for n in range(0, mergesets, 2):  # every second deploy ships two mergesets
        finished = first + timedelta(minutes=20 * n + 12 + (20 if n % 4 else 0))
        deploys.append(
            {
                "identity": f"seed:{n}",
                "source": "seed",
                "repository_id": repository_id,
                "service": "shop",
                "environment": "production",
                "sha": f"{min(n + 1, mergesets - 1):040x}",
                "status": "succeeded",
                "started_at": finished - timedelta(minutes=5),
                "finished_at": finished,
                "created_at": now,
                "updated_at": now,
            }
        )
    connection.execute(insert(Deploy), deploys)
    deploy_ids = [row[0] for row in connection.execute(text("SELECT id FROM deploys ORDER BY id"))]
    links = [
        {"deploy_id": deploy_id, "mergeset_id": ids[n], "environment": "production"}
        for index, deploy_id in enumerate(deploy_ids)
        for n in (2 * index, 2 * index + 1)
        if n < mergesets
    ]
    connection.execute(insert(DeployMergeset), links)


def _own(template: dict, run: int, n: int, name: str, job: int) -> dict:
    """The keys of the template that differ from step to step, where the template has them."""
    own = {
        attr.TASK_NAME: name,
        attr.JOB_NAME: f"job{job}",
        attr.REF_HEAD_NAME: "main",
        attr.REF_HEAD_REVISION: f"{n:040x}",
        attr.PIPELINE_RUN_ID: str(run),
    }
    return {
        key: value
        for key, value in own.items()
        if key in template or key in (attr.TASK_NAME, attr.JOB_NAME)
    }


def _seeded_run(run: int, n: int, started: datetime, template: dict) -> tuple[dict, list[dict]]:
    """A main-branch run of mergeset n: four parallel jobs of 25 sequential steps, and the
    step summary ingestion would have kept."""
    trace_id = f"{run + 1:032x}"
    steps = []
    for index in range(RUN_STEPS):
        job, position = divmod(index, 25)
        begin = started + timedelta(seconds=position * 30)
        name = f"job{job}-step{position}"
        steps.append(
            {
                "trace_id": trace_id,
                "span_id": f"{run * RUN_STEPS + index + 1:016x}",
                "parent_span_id": None,
                "name": name,
                "kind": 1,
                "service": "shop",
                "result": "success",
                "exit_code": 0,
                "task_type": "test",
                "role": "step",
                "started_at": begin,
                "finished_at": begin + timedelta(seconds=20 + (index * 7) % 10),
                "attributes": {**template, **_own(template, run, n, name, job)},
            }
        )
    timings = [
        SpanTiming(
            s["span_id"],
            None,
            s["name"],
            s["started_at"],
            s["finished_at"],
            1,
            "success",
            "step",
            f"job{divmod(i, 25)[0]}",
        )
        for i, s in enumerate(steps)
    ]
    run_row = {
        "trace_id": trace_id,
        "repository_id": None,
        "provider": "github",
        "run_id": str(run),
        "name": "ci",
        "branch": "main",
        "sha": f"{n:040x}",
        "result": "success",
        "started_at": started,
        "finished_at": started + timedelta(seconds=25 * 30),
        "step_summary": summarize_run(with_job_queues(timings)),
    }
    return run_row, steps


def seed(engine: Engine, mergesets: int, spans: int, template: dict) -> None:
    """Bulk rows straight into the tables: a busy repository's history, ending now."""
    first = datetime.now(UTC) - timedelta(minutes=20 * mergesets)
    with engine.begin() as connection:
        # the ingestion run created the repository already
        repository_id = connection.execute(
            select(Repository.id).where(Repository.url == REPO_URL)
        ).scalar_one()
        _seed_history(connection, repository_id, mergesets, first)
    runs = min(mergesets, max(1, spans // RUN_STEPS))
    for chunk in range(mergesets - runs, mergesets, 500):
        run_rows, step_rows = [], []
        for n in range(chunk, min(chunk + 500, mergesets)):
            run_row, steps = _seeded_run(n, n, first + timedelta(minutes=20 * n + 1), template)
            run_rows.append({**run_row, "repository_id": repository_id})
            step_rows.extend(steps)
        with engine.begin() as connection:
            connection.execute(insert(PipelineRun), run_rows)
            connection.execute(insert(Step), step_rows)
    _days_changed(engine, repository_id, first, range(mergesets - runs, mergesets))


def _days_changed(engine: Engine, repository_id: int, first: datetime, seeded: range) -> None:
    """Mark every seeded day changed, as ingestion does, where the server rolls days up."""
    with engine.begin() as connection:
        if "step_days" not in inspect(connection).get_table_names():
            return  # a server from before rollups
        days = sorted({(first + timedelta(minutes=20 * n + 1)).date() for n in seeded})
        connection.execute(
            text(
                "INSERT INTO step_days (repository_id, day, version, built_version) "
                "VALUES (:repository, :day, 1, 0) ON CONFLICT (repository_id, day) "
                "DO UPDATE SET version = step_days.version + 1"
            ),
            [{"repository": repository_id, "day": day} for day in days],
        )
