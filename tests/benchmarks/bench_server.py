"""Ingestion and read speed of a real `leadtime serve`, on SQLite and on PostgreSQL.

Run:  python tests/benchmarks/bench_server.py [--postgresql URL] [--sizes 1000,10000,100000]
          [--spans 1000000] [--traces 1500] [--clients 3] [--single 1000]
          [--single-threads 4,16] [--workers 1] [--skip-sqlite]

For each database and each size, on a new database:
- ingestion: `--clients` processes, each a real OpenTelemetry SDK client (BatchSpanProcessor,
  OTLP/HTTP, batches of 512; sdk_client.py) sending `--traces` traces between them of 20 spans
  with the ~17 attributes `leadtime step` gives a span (one trace in ten on main, a mergeset);
  spans/s counts the step rows stored, from the first batch to the last row; the database's
  growth per 1M of those spans;
- one-span requests (what a step's sender posts) from 4 and from 16 threads at once
  (`--single-threads`), per second, rows counted: the more arrive together, the more share a
  transaction (server/group_writer.py);
- for both, what the server itself does per CPU-second it used (the load generators share
  the machine: on 2 cores they take about as much CPU per span as the server does);
- then seeds that many mergesets (each deployed, every other deploy batched) and up to `--spans`
  spans (a main-branch run of 100 steps for each of the newest mergesets, four parallel jobs,
  each step with the attributes ingestion stored, each run with the step summary ingestion
  keeps), brings PostgreSQL's statistics up to date (what autovacuum does after such a change)
  and times each read cold (the first request after a restart) and warm (median of 10).
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
from server_seed import seed, step_template
from sqlalchemy import Engine, inspect, text

from leadtime.server import db
from leadtime.tracer import attributes as attr

CLIENT = Path(__file__).with_name("sdk_client.py")
TRACE_SPANS = 20


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(database_url: str, workers: int = 1) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "LEADTIME_DATABASE_URL": database_url}
    command = [sys.executable, "-m", "leadtime.tracer", "serve", "--port", str(port)]
    process = subprocess.Popen(
        command + (["--workers", str(workers)] if workers > 1 else []),
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


def cpu_seconds(pid: int) -> float:
    """CPU time (user and system) a process and its living children (the server's workers) have
    used so far, from Linux's /proc: what the server itself spent, whatever the load generators
    on the same machine spent."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return own + sum(cpu_seconds(int(child)) for child in children)


def postgresql(database_url: str) -> bool:
    return database_url.startswith("postgresql")


def analyzed(engine: Engine) -> None:
    """PostgreSQL's statistics brought up to date after the bulk seed, as autovacuum does a
    minute or so after a table changes that much: read before, every table of the seeded
    history looks nearly empty to the planner (10,155 mergesets estimated as 2), and it picks
    plans for that (`GET /api/summary` 78 -> 32 ms at 10,000 mergesets)."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))


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


def measure_ingestion(
    url: str, engine: Engine, traces: int, clients: int
) -> tuple[float, int, float]:
    """(step rows stored per second, bytes the database grew per 1M stored spans, CPU-seconds
    the SDK clients spent making and sending them)."""
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
    spent = 0.0
    for process in processes:
        assert process.stdout is not None
        spent += float(process.stdout.readline().split()[1])
        process.wait(60)
    if stored < expected:
        print(f"  only {stored - already:,} of {expected - already:,} spans were stored")
    new = stored - already
    return new / (done - started), round((database_bytes(engine) - before) / new * 1_000_000), spent


def one_span_bodies(count: int) -> list[bytes]:
    """OTLP requests of one step span each, built and encoded as a step's sender does."""
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    sys.path.insert(0, str(CLIENT.parent))
    from sdk_client import ci_of

    from leadtime.tracer.span import context_attributes

    provider = TracerProvider(resource=Resource.create({attr.SERVICE_NAME: "shop"}))
    tracer = provider.get_tracer("leadtime")  # the scope a step's sender gives its spans
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


def rolled_up(engine: Engine, timeout: float = 600) -> float:
    """Seconds until the server has rolled every changed past day up (0 without rollups)."""
    started = time.perf_counter()
    with engine.connect() as connection:
        if "step_days" not in inspect(connection).get_table_names():
            return 0.0
    while time.perf_counter() - started < timeout:
        with engine.connect() as connection:
            changed = connection.execute(
                text(
                    "SELECT count(*) FROM step_days WHERE version <> built_version AND day < :today"
                ),
                # a day closes an hour after it ends (domain/step_days.py): until then
                # yesterday cannot be rolled up, and is not waited for
                {"today": (datetime.now(UTC) - timedelta(hours=1)).date()},
            ).scalar_one()
        if not changed:
            break
        time.sleep(0.5)
    return time.perf_counter() - started


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
        ("/api/dora", {**repo, "window": "30d"}),
        ("/", {**repo, "window": "30d"}),  # the repository page: summary, keys, 12 weeks
    ]


def run_size(database_url: str, mergesets: int, args, first: bool) -> None:
    engine = db.make_engine(database_url)
    process, url = start_server(database_url, args.workers if postgresql(database_url) else 1)
    try:
        spent = cpu_seconds(process.pid)
        rate, per_million, clients = measure_ingestion(url, engine, args.traces, args.clients)
        spans = args.traces * TRACE_SPANS
        per_cpu = spans / (cpu_seconds(process.pid) - spent)
        workers = f", {args.workers} server workers" if postgresql(database_url) else ""
        print(
            f"  ingestion: {rate:,.0f} spans/s stored ({args.traces:,} traces of {TRACE_SPANS}, "
            f"{args.clients} SDK clients{workers}), {per_cpu:,.0f} per CPU-second of the server; "
            f"{per_million / 2**20:,.0f} MiB per 1M spans"
        )
        # What the machine allows with the load made on it: its cores shared by the server and
        # the clients, each at its own cost per span (the database's own CPU left out).
        ceiling = (os.cpu_count() or 1) / (1 / per_cpu + clients / spans)
        print(
            f"    the SDK clients made {spans / clients:,.0f} spans per CPU-second of theirs: "
            f"{os.cpu_count()} cores running both allow at most {ceiling:,.0f} spans/s"
        )
        for threads in [int(n) for n in args.single_threads.split(",")] if first else []:
            spent = cpu_seconds(process.pid)
            single = one_span_rate(url, engine, args.single, threads)
            per_cpu = args.single / (cpu_seconds(process.pid) - spent)
            print(
                f"  one-span requests: {single:,.0f} per s ({args.single:,}, {threads} threads), "
                f"{per_cpu:,.0f} per CPU-second of the server"
            )
    finally:
        stopped(process)
    started = time.perf_counter()
    seed(engine, mergesets, args.spans, step_template(engine))
    analyzed(engine)
    spans = count_steps(engine)
    print(
        f"  {mergesets:,} mergesets, {spans:,} spans: seeded in "
        f"{time.perf_counter() - started:.0f} s, {database_bytes(engine) / 2**20:,.0f} MiB"
    )
    process, url = start_server(database_url)
    try:
        print(f"  the server rolled the seeded days up in {rolled_up(engine):.0f} s")
    finally:
        stopped(process)
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
    parser.add_argument(
        "--single-threads", default="4,16", help="threads sending them at once, comma-separated"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="leadtime serve --workers for the ingestion on PostgreSQL (SQLite takes one writer)",
    )
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
