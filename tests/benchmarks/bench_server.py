"""Ingestion and read speed of a real `leadtime serve`, on SQLite and on PostgreSQL.

Run:  python tests/benchmarks/bench_server.py [--postgresql URL] [--sizes 1000,10000,100000]
          [--spans 1000000] [--traces 1500] [--clients 3] [--single 1000]

For each database and each size, on a new database:
- ingestion: `--clients` processes, each a real OpenTelemetry SDK client (BatchSpanProcessor,
  OTLP/HTTP, batches of 512; sdk_client.py) sending `--traces` traces between them of 20 spans
  with the ~17 attributes `leadtime step` gives a span (one trace in ten on main, a mergeset);
  spans/s counts the step rows stored, from the first batch to the last row; the database's
  growth per 1M of those spans;
- one-span requests (what a step's sender posts) from four threads, per second, rows counted;
- then seeds that many mergesets (each deployed, every other deploy batched) and up to `--spans`
  spans (a main-branch run of 100 steps for each of the newest mergesets, four parallel jobs,
  each step with the attributes ingestion stored, each run with the step summary ingestion
  keeps) and times each read cold (the first request after a restart) and warm (median of 10).
Merge and deploy ingestion against a long history: bench_containment.py.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import Engine, insert, select, text

from leadtime.server import db
from leadtime.server.domain.budget import summarize_run
from leadtime.server.domain.critical_path import SpanTiming
from leadtime.server.domain.job_queues import with_job_queues
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
CLIENT = Path(__file__).with_name("sdk_client.py")
TRACE_SPANS = 20
RUN_STEPS = 100


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(database_url: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "LEADTIME_DATABASE_URL": database_url}
    process = subprocess.Popen(
        [sys.executable, "-m", "leadtime.tracer", "serve", "--port", str(port)],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{url}/readyz").status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("leadtime serve did not start")


def count_steps(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM steps")).scalar_one()


def database_bytes(engine: Engine) -> int:
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            return connection.execute(
                text("SELECT pg_database_size(current_database())")
            ).scalar_one()
        connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        pages = connection.execute(text("PRAGMA page_count")).scalar_one()
        return pages * connection.execute(text("PRAGMA page_size")).scalar_one()


def wait_for_rows(engine: Engine, expected: int, timeout: float = 300) -> tuple[int, float]:
    """(steps stored, when the count last grew) once `expected` rows are in or growth stops."""
    deadline = time.perf_counter() + timeout
    stored, grew = count_steps(engine), time.perf_counter()
    while stored < expected and time.perf_counter() < deadline:
        time.sleep(0.05)
        now = count_steps(engine)
        if now != stored:
            stored, grew = now, time.perf_counter()
        elif time.perf_counter() - grew > 30:
            break  # nothing new for 30 s: some batches were refused
    return stored, grew


def measure_ingestion(url: str, engine: Engine, traces: int, clients: int) -> tuple[float, int]:
    """(step rows stored per second, bytes the database grew per 1M stored spans)."""
    before, already = database_bytes(engine), count_steps(engine)
    share = -(-traces // clients)
    processes = [
        subprocess.Popen(
            [sys.executable, str(CLIENT), url, str(index * share), str(share)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for index in range(clients)
    ]
    for process in processes:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    started = time.perf_counter()
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    expected = already + share * clients * TRACE_SPANS
    stored, done = wait_for_rows(engine, expected)
    for process in processes:
        process.wait(60)
    if stored < expected:
        print(f"  only {stored - already:,} of {expected - already:,} spans were stored")
    new = stored - already
    return new / (done - started), round((database_bytes(engine) - before) / new * 1_000_000)


def one_span_bodies(count: int) -> list[bytes]:
    """OTLP requests of one step span each, built and encoded as a step's sender does."""
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    sys.path.insert(0, str(CLIENT.parent))
    from sdk_client import ci_of

    from leadtime.tracer.span import context_attributes

    tracer = TracerProvider(resource=Resource.create({attr.SERVICE_NAME: "shop"})).get_tracer("b")
    bodies = []
    for index in range(count):
        run = 5_000_000 + index // 20  # 20 steps to a job's trace
        attributes = {**context_attributes(ci_of(run)), attr.TASK_NAME: f"step-{index % 20}"}
        span = tracer.start_span(f"step-{index % 20}", attributes=attributes)
        span.end()
        bodies.append(encode_spans([span]).SerializeToString())  # type: ignore[list-item]
    return bodies


def one_span_rate(url: str, engine: Engine, count: int, threads: int = 4) -> float:
    bodies, already = one_span_bodies(count), count_steps(engine)
    pending, lock = list(bodies), threading.Lock()

    def post() -> None:
        with httpx.Client(timeout=60) as client:
            while True:
                with lock:
                    if not pending:
                        return
                    body = pending.pop()
                client.post(
                    f"{url}/v1/traces",
                    content=body,
                    headers={"content-type": "application/x-protobuf"},
                )

    workers = [threading.Thread(target=post) for _ in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    stored = count_steps(engine) - already
    if stored < count:
        print(f"  only {stored} of {count} one-span requests were stored")
    return stored / elapsed


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
        "step_summary": summarize_run(with_job_queues(timings), trace_id),
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


def cold_and_warm(url: str, path: str, params: dict, runs: int = 10) -> tuple[float, float]:
    """(the first request's time, the median of the next `runs`), in milliseconds."""
    times = []
    with httpx.Client(timeout=120) as client:
        for _ in range(runs + 1):
            started = time.perf_counter()
            client.get(url + path, params=params).raise_for_status()
            times.append((time.perf_counter() - started) * 1000)
    return times[0], statistics.median(times[1:])


def reset_postgresql(url: str) -> None:
    engine = db.make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def stopped(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(10)


def reads(mergesets: int) -> list[tuple[str, dict]]:
    recent = f"{mergesets - 3:040x}"
    repo = {"repo": "acme/shop"}
    return [
        ("/api/mergesets", repo),
        ("/api/summary", {**repo, "window": "7d"}),
        ("/api/summary", {**repo, "window": "30d"}),
        ("/api/reports/slowest-steps", {**repo, "window": "7d"}),
        ("/api/reports/slowest-steps", {**repo, "window": "30d"}),
        (f"/api/mergesets/{recent}/breakdown", repo),
    ]


def run_size(database_url: str, mergesets: int, args, first: bool) -> None:
    engine = db.make_engine(database_url)
    process, url = start_server(database_url)
    try:
        rate, per_million = measure_ingestion(url, engine, args.traces, args.clients)
        print(
            f"  ingestion: {rate:,.0f} spans/s stored ({args.traces:,} traces of {TRACE_SPANS}, "
            f"{args.clients} SDK clients); {per_million / 2**20:,.0f} MiB per 1M spans"
        )
        if first:
            single = one_span_rate(url, engine, args.single)
            print(f"  one-span requests: {single:,.0f} per s ({args.single:,}, 4 threads)")
    finally:
        stopped(process)
    started = time.perf_counter()
    seed(engine, mergesets, args.spans, step_template(engine))
    spans = count_steps(engine)
    print(
        f"  {mergesets:,} mergesets, {spans:,} spans: seeded in "
        f"{time.perf_counter() - started:.0f} s, {database_bytes(engine) / 2**20:,.0f} MiB"
    )
    engine.dispose()
    process, url = start_server(database_url)
    try:
        for path, params in reads(mergesets):
            cold, warm = cold_and_warm(url, path, params)
            window = f" {params['window']}" if "window" in params else ""
            print(f"    GET {path}{window}: {warm:.1f} ms warm, {cold:.0f} ms cold")
    finally:
        stopped(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgresql",
        default=os.environ.get("LEADTIME_TEST_DATABASE_URL"),
        help="PostgreSQL URL (its public schema is dropped!)",
    )
    parser.add_argument("--sizes", default="1000,10000,100000", help="mergesets, comma-separated")
    parser.add_argument("--spans", type=int, default=1_000_000, help="seeded spans at most")
    parser.add_argument("--traces", type=int, default=1500, help="traces ingested")
    parser.add_argument("--clients", type=int, default=3, help="SDK client processes")
    parser.add_argument("--single", type=int, default=1000, help="one-span requests")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    if not args.skip_sqlite:
        print("SQLite:")
        with tempfile.TemporaryDirectory() as tmp:
            for index, size in enumerate(sizes):
                run_size(f"sqlite:///{Path(tmp) / f'bench{index}.db'}", size, args, index == 0)
    if args.postgresql:
        print("PostgreSQL:")
        for index, size in enumerate(sizes):
            reset_postgresql(args.postgresql)
            run_size(args.postgresql, size, args, index == 0)
    else:
        print("PostgreSQL: skipped (give --postgresql URL or LEADTIME_TEST_DATABASE_URL)")


if __name__ == "__main__":
    main()
