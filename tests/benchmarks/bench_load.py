"""Mixed load with deliberate duplicates against real `leadtime serve` processes: stored once?

Run:  python tests/benchmarks/bench_load.py [--postgresql URL] [--replicas 2] [--mergesets 60]
          [--runs 200] [--pages 30] [--threads 4]

The workload (tests/load.py) is merges, then deploys and GitHub PR webhooks, then OTLP pipeline
runs and PagerDuty pages, in rounds. For each database it first sends every request once to one
server (the baseline), then, on an empty database, sends every request to every server at the
same moment: on PostgreSQL to `--replicas` servers sharing it, on SQLite twice to one server.
It prints what was sent, delivered, retried and stored, the deliveries per second and their
ratio to the baseline, and fails (exit 1) if anything was stored other than exactly once or a
client got an error other than a retryable 503.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

# Run as a script from the checkout: the workload lives in the test package.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import text

from leadtime.server import db
from tests import load


def fresh_database(url: str) -> str:
    """An empty, migrated database at `url` (its file or PostgreSQL's public schema gone first)."""
    if url.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    engine = db.make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    db.upgrade(engine)
    engine.dispose()
    return url


def expected(mergesets: int, runs: int, pages: int) -> dict[str, int]:
    return {
        "steps": runs * 5,
        "mergesets": mergesets,
        "deploys": mergesets,
        "deploy_mergesets": mergesets,
        "pages": pages,
        "webhook_deliveries": mergesets + pages,
    }


def one_run(url: str, servers: int, copies: int, args: argparse.Namespace) -> tuple[float, bool]:
    """Start `servers` servers on a fresh database, send every request `copies` times to each;
    (deliveries per second, whether everything was stored exactly once)."""
    fresh_database(url)
    running = [load.Server(url).start() for _ in range(servers)]
    try:
        rounds = load.workload(args.mergesets, args.runs, args.pages)
        urls = [server.url for server in running] * copies
        started = time.monotonic()
        tally = load.run(urls, rounds, threads=args.threads)
        took = time.monotonic() - started
        engine = db.make_engine(url)
        counts = load.stored(engine)
        engine.dispose()
    finally:
        for server in running:
            server.stop()
    print("   ", load.report(tally, counts, took, len(urls)))
    good = counts == expected(args.mergesets, args.runs, args.pages) and not tally.failures
    for failure in tally.failures[:5]:
        print("    failure:", failure)
    return tally.deliveries / took, good


def bench(name: str, url: str, servers: int, copies: int, args: argparse.Namespace) -> bool:
    print(f"{name}:")
    print("  baseline, every request once to one server")
    baseline, good_baseline = one_run(url, 1, 1, args)
    label = f"{servers} replicas" if servers > 1 else "one server"
    print(f"  duplicates: every request to each of {servers * copies} ({label}) at once")
    loaded, good = one_run(url, servers, copies, args)
    verdict = "stored exactly once" if good and good_baseline else "MISMATCH"
    print(
        f"  {loaded:.0f} deliveries/s with duplicates vs {baseline:.0f}/s baseline "
        f"(ratio {loaded / baseline:.2f}); {verdict}"
    )
    return good and good_baseline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgresql", help="a PostgreSQL URL whose public schema may be wiped")
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--mergesets", type=int, default=60)
    parser.add_argument("--runs", type=int, default=200, help="OTLP pipeline runs of 5 spans")
    parser.add_argument("--pages", type=int, default=30)
    parser.add_argument("--threads", type=int, default=4, help="client threads per server")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        sqlite = f"sqlite:///{directory}/leadtime.db"
        good = bench("SQLite", sqlite, 1, 2, args)
    if args.postgresql:
        good = bench("PostgreSQL", args.postgresql, args.replicas, 1, args) and good
    sys.exit(0 if good else 1)


if __name__ == "__main__":
    main()
