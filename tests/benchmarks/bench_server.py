"""Ingestion and read speed of a real `leadtime serve`, on SQLite and on PostgreSQL.

Run:  python tests/benchmarks/bench_server.py [--postgresql URL] [--batches 300] [--clients 4]
          [--spans 1000000] [--mergesets 10000]

For each database: starts `leadtime serve` on a free loopback port, posts OTLP/protobuf batches
of 100 spans from several client threads and prints spans stored per second; then seeds the
database with `--mergesets` mergesets (each deployed, a few batched) and `--spans` spans, and
prints the median time of `/api/mergesets` and `/api/summary` over 20 requests each.
Targets: at least 5,000 spans/s ingested on a 2-core machine; `/api/mergesets` and `/api/summary`
under 200 ms; the slowest-steps report and a mergeset breakdown under 300 ms. Each seeded mergeset
has one main-branch pipeline run of 100 steps (four parallel jobs), so a 7-day window holds about
500 runs and 50,000 steps.
"""

from __future__ import annotations

import argparse
import os
import random
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
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span
from sqlalchemy import insert, select, text

from leadtime.server import db
from leadtime.server.models import (
    Deploy,
    DeployMergeset,
    Mergeset,
    PipelineRun,
    Repository,
    Step,
)

BATCH = 100
REPO_URL = "https://github.com/acme/shop"


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


def _kv(key: str, value) -> KeyValue:
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=value))


def batch(run: int) -> bytes:
    """One pipeline run's 100 steps, as a CI job on a feature branch sends them."""
    trace_id = random.randbytes(16)
    root = random.randbytes(8)
    start = time.time_ns() - 3_600_000_000_000
    spans = []
    for index in range(BATCH):
        attributes = [
            _kv("cicd.pipeline.name", "ci"),
            _kv("cicd.pipeline.run.id", str(run)),
            _kv("cicd.pipeline.task.name", f"step-{index % 20}"),
            _kv("cicd.pipeline.task.run.result", "success"),
            _kv("vcs.repository.url.full", REPO_URL),
            _kv("vcs.ref.head.name", f"feature/{run}"),
            _kv("vcs.ref.head.revision", f"{run:040x}"),
            _kv("process.exit.code", 0),
        ]
        spans.append(
            Span(
                trace_id=trace_id,
                span_id=random.randbytes(8),
                parent_span_id=root,
                name=f"step-{index % 20}",
                kind=Span.SPAN_KIND_INTERNAL,
                start_time_unix_nano=start + index * 1_000_000_000,
                end_time_unix_nano=start + index * 1_000_000_000 + 900_000_000,
                attributes=attributes,
            )
        )
    resource = ResourceSpans(scope_spans=[ScopeSpans(spans=spans)])
    resource.resource.attributes.append(_kv("service.name", "shop"))
    return ExportTraceServiceRequest(resource_spans=[resource]).SerializeToString()


def measure_ingestion(url: str, batches: int, clients: int) -> float:
    bodies = [batch(run) for run in range(batches)]
    queue = list(range(batches))
    lock = threading.Lock()
    failures = []

    def worker() -> None:
        with httpx.Client(timeout=60) as client:
            while True:
                with lock:
                    if not queue:
                        return
                    index = queue.pop()
                response = client.post(
                    f"{url}/v1/traces",
                    content=bodies[index],
                    headers={"content-type": "application/x-protobuf"},
                )
                if response.status_code != 200:
                    failures.append(response.status_code)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        print(f"  {len(failures)} batches failed: {sorted(set(failures))}")
    return batches * BATCH / elapsed


def seed(database_url: str, mergesets: int, spans: int) -> None:
    """Bulk rows straight into the tables: a busy repository's history."""
    engine = db.make_engine(database_url)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        # the ingestion run created the repository already
        repository_id = connection.execute(
            select(Repository.id).where(Repository.url == REPO_URL)
        ).scalar_one()
        first = now - timedelta(minutes=20 * mergesets)
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
        ids = [row[0] for row in connection.execute(text("SELECT id FROM mergesets ORDER BY id"))]
        deploys, links = [], []
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
        deploy_ids = [
            row[0] for row in connection.execute(text("SELECT id FROM deploys ORDER BY id"))
        ]
        for index, deploy_id in enumerate(deploy_ids):
            for n in (2 * index, 2 * index + 1):
                if n < mergesets:
                    links.append(
                        {"deploy_id": deploy_id, "mergeset_id": ids[n], "environment": "production"}
                    )
        connection.execute(insert(DeployMergeset), links)
    # One main-branch pipeline run of 100 steps per mergeset, a minute after its merge: four
    # parallel jobs of 25 sequential steps each.
    per_run = 100
    runs = max(1, spans // per_run)
    for first_run in range(0, runs, 500):
        run_rows, step_rows = [], []
        for run in range(first_run, min(first_run + 500, runs)):
            n = run % mergesets
            started = first + timedelta(minutes=20 * n + 1)
            trace_id = f"{run + 1:032x}"
            run_rows.append(
                {
                    "trace_id": trace_id,
                    "repository_id": repository_id,
                    "provider": "github",
                    "run_id": str(run),
                    "name": "ci",
                    "branch": "main",
                    "sha": f"{n:040x}",
                    "result": "success",
                    "started_at": started,
                    "finished_at": started + timedelta(seconds=25 * 30),
                }
            )
            for index in range(per_run):
                job, position = divmod(index, 25)
                begin = started + timedelta(seconds=position * 30)
                step_rows.append(
                    {
                        "trace_id": trace_id,
                        "span_id": f"{run * per_run + index + 1:016x}",
                        "parent_span_id": None,
                        "name": f"job{job}-step{position}",
                        "kind": 1,
                        "service": "shop",
                        "result": "success",
                        "exit_code": 0,
                        "task_type": "test",
                        "started_at": begin,
                        "finished_at": begin + timedelta(seconds=20 + (index * 7) % 10),
                        "attributes": {"vcs.ref.head.name": "main"},
                    }
                )
        with engine.begin() as connection:
            connection.execute(insert(PipelineRun), run_rows)
            connection.execute(insert(Step), step_rows)
    engine.dispose()


def median_ms(url: str, path: str, params: dict, runs: int = 20) -> tuple[float, float]:
    """(the first request's time, the median of the next `runs`), in milliseconds."""
    times = []
    with httpx.Client(timeout=60) as client:
        started = time.perf_counter()
        client.get(url + path, params=params).raise_for_status()
        first = (time.perf_counter() - started) * 1000
        for _ in range(runs):
            started = time.perf_counter()
            client.get(url + path, params=params).raise_for_status()
            times.append((time.perf_counter() - started) * 1000)
    return first, statistics.median(times)


def reset_postgresql(url: str) -> None:
    engine = db.make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def run(label: str, database_url: str, args) -> None:
    print(f"{label}:")
    process, url = start_server(database_url)
    try:
        rate = measure_ingestion(url, args.batches, args.clients)
        print(
            f"  ingestion: {rate:,.0f} spans/s ({args.batches} batches of {BATCH}, "
            f"{args.clients} clients)"
        )
    finally:
        process.terminate()
        process.wait(10)
    started = time.perf_counter()
    seed(database_url, args.mergesets, args.spans)
    print(
        f"  seeded {args.mergesets:,} mergesets and {args.spans:,} spans "
        f"in {time.perf_counter() - started:.0f} s"
    )
    process, url = start_server(database_url)
    try:
        recent = f"{args.mergesets - 3:040x}"
        for path, params in (
            ("/api/mergesets", {"repo": "acme/shop"}),
            ("/api/summary", {"repo": "acme/shop", "window": "7d"}),
            ("/api/reports/slowest-steps", {"repo": "acme/shop", "window": "7d"}),
            (f"/api/mergesets/{recent}/breakdown", {"repo": "acme/shop"}),
        ):
            first, median = median_ms(url, path, params)
            print(f"  GET {path}: {median:.1f} ms median (first request {first:.0f} ms)")
    finally:
        process.terminate()
        process.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgresql",
        default=os.environ.get("LEADTIME_TEST_DATABASE_URL"),
        help="PostgreSQL URL (its public schema is dropped!)",
    )
    parser.add_argument("--batches", type=int, default=300)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--mergesets", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run("SQLite", f"sqlite:///{Path(tmp) / 'bench.db'}", args)
    if args.postgresql:
        reset_postgresql(args.postgresql)
        run("PostgreSQL", args.postgresql, args)
    else:
        print("PostgreSQL: skipped (give --postgresql URL or LEADTIME_TEST_DATABASE_URL)")


if __name__ == "__main__":
    main()
