"""Ingestion and read speed of a real `leadtime serve`, on SQLite and on PostgreSQL.

Run:  python tests/benchmarks/bench_server.py [--postgresql URL] [--batches 300] [--clients 4]
          [--spans 1000000] [--mergesets 10000]

For each database: starts `leadtime serve` on a free loopback port, posts OTLP/protobuf batches
of 100 spans from several client threads and prints spans stored per second; then seeds the
database with `--mergesets` mergesets (each deployed, a few batched) and `--spans` spans, and
prints the median time of `/api/mergesets` and `/api/summary` over 20 requests each.
Targets (issue 3): at least 5,000 spans/s ingested on a 2-core machine, both reads under 200 ms.
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
from leadtime.server.models import Deploy, DeployMergeset, Mergeset, Repository, Step

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
    chunk = 50_000
    step_start = now - timedelta(days=30)
    for offset in range(0, spans, chunk):
        rows = [
            {
                "trace_id": f"{(offset + n) // 100:032x}",
                "span_id": f"{offset + n:016x}",
                "parent_span_id": None,
                "name": f"step-{n % 20}",
                "kind": 1,
                "service": "shop",
                "result": "success",
                "exit_code": 0,
                "task_type": "test",
                "started_at": step_start + timedelta(seconds=offset + n),
                "finished_at": step_start + timedelta(seconds=offset + n + 30),
                "attributes": {"vcs.ref.head.name": "main"},
            }
            for n in range(min(chunk, spans - offset))
        ]
        with engine.begin() as connection:
            connection.execute(insert(Step), rows)
    engine.dispose()


def median_ms(url: str, path: str, params: dict, runs: int = 20) -> float:
    times = []
    with httpx.Client(timeout=60) as client:
        client.get(url + path, params=params).raise_for_status()  # warm
        for _ in range(runs):
            started = time.perf_counter()
            client.get(url + path, params=params).raise_for_status()
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


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
        for path, params in (
            ("/api/mergesets", {"repo": "acme/shop"}),
            ("/api/summary", {"repo": "acme/shop", "window": "7d"}),
        ):
            print(f"  GET {path}: {median_ms(url, path, params):.1f} ms median")
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
