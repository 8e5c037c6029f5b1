"""Merge and deploy ingestion against a long history: flat in the history's size?

Run:  python tests/benchmarks/bench_containment.py [--sizes 1000,10000] [--postgresql URL]
          [--rounds 10]

For each database and each size: seeds a repository with that many mergesets (each deploy to
production ships two) straight into the tables, starts a real `leadtime serve`, and times over
real HTTP, median of `--rounds`:
- `POST /api/merges` of a new mergeset after the newest one (no stored link changes),
- `POST /api/deploys` of it (ships the one waiting mergeset),
- a late `POST /api/deploys`, finished before the last five deploys (works those out again),
and, in the same process, the whole repository worked out again (`recompute_repository`), the
baseline every merge and deploy used to pay. The first request after seeding places every
mergeset once (printed apart). Targets: merge < 30 ms, deploy < 50 ms, and the ratio of the
largest size to the smallest near 1.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import insert, select, text

sys.path.insert(0, str(Path(__file__).parent))
from bench_server import reset_postgresql, start_server

from leadtime.server import db
from leadtime.server.domain.shipping import recompute_repository
from leadtime.server.models import Deploy, DeployMergeset, Mergeset, Repository

REPO = "acme/shop"
START = datetime(2024, 1, 1, tzinfo=UTC)


def sha(n: int) -> str:
    return f"{n:040x}"


def merged_at(n: int) -> datetime:
    return START + timedelta(minutes=20 * n)


def seed(database_url: str, mergesets: int) -> None:
    engine = db.make_engine(database_url)
    db.upgrade(engine)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(
            insert(Repository),
            [{"key": "github.com/acme/shop", "name": REPO, "url": f"https://github.com/{REPO}"}],
        )
        repository_id = connection.execute(select(Repository.id)).scalar_one()
        rows = [
            {
                "repository_id": repository_id,
                "sha": sha(n),
                "parent_sha": sha(n - 1) if n else None,
                "merged_at": merged_at(n),
                "merged_at_source": "merge",
                "source": "api",
                "title": f"change {n}",
                "created_at": now,
            }
            for n in range(mergesets)
        ]
        connection.execute(insert(Mergeset), rows)
        ids = [row[0] for row in connection.execute(text("SELECT id FROM mergesets ORDER BY id"))]
        deploys = [
            {
                "identity": f"seed:{n}",
                "source": "seed",
                "repository_id": repository_id,
                "service": "shop",
                "environment": "production",
                "sha": sha(n + 1),
                "status": "succeeded",
                "finished_at": merged_at(n + 1) + timedelta(minutes=5),
                "kind": "deploy",
                "created_at": now,
                "updated_at": now,
            }
            for n in range(0, mergesets - 1, 2)
        ]
        connection.execute(insert(Deploy), deploys)
        deploy_ids = [row[0] for row in connection.execute(text("SELECT id FROM deploys"))]
        links = [
            {"deploy_id": deploy_id, "mergeset_id": ids[n], "environment": "production"}
            for index, deploy_id in enumerate(sorted(deploy_ids))
            for n in (2 * index, 2 * index + 1)
        ]
        connection.execute(insert(DeployMergeset), links)
    engine.dispose()


def timed(client: httpx.Client, path: str, body: dict) -> float:
    started = time.perf_counter()
    response = client.post(path, json=body)
    elapsed = (time.perf_counter() - started) * 1000
    response.raise_for_status()
    return elapsed


def merge_body(n: int) -> dict:
    return {
        "repository": REPO,
        "sha": sha(n),
        "merged_at": merged_at(n).isoformat(),
        "parent_sha": sha(n - 1),
    }


def deploy_body(n: int, finished: datetime, deploy_id: str) -> dict:
    return {
        "service": "shop",
        "repository": REPO,
        "environment": "production",
        "sha": sha(n),
        "status": "succeeded",
        "finished_at": finished.isoformat(),
        "id": deploy_id,
    }


def measure(database_url: str, size: int, rounds: int) -> dict[str, float]:
    seed(database_url, size)
    process, url = start_server(database_url)
    found: dict[str, list[float]] = {"merge": [], "deploy": [], "late deploy": []}
    try:
        with httpx.Client(base_url=url, timeout=120) as client:
            n = size
            first = timed(client, "/api/merges", merge_body(n))
            first += timed(client, "/api/deploys", deploy_body(n, merged_at(n), f"b{n}"))
            for _ in range(rounds):
                n += 1
                found["merge"].append(timed(client, "/api/merges", merge_body(n)))
                done = merged_at(n) + timedelta(minutes=5)
                found["deploy"].append(timed(client, "/api/deploys", deploy_body(n, done, f"b{n}")))
            for round_ in range(rounds):
                late = merged_at(n - 5) - timedelta(minutes=round_ + 1)
                body = deploy_body(n - 3, late, f"late{round_}")
                found["late deploy"].append(timed(client, "/api/deploys", body))
    finally:
        process.terminate()
        process.wait(10)
    engine = db.make_engine(database_url)
    whole = []
    with db.session_factory(engine)() as session:
        # every report above went to the seeded repository, with its history
        (repository_id,) = session.scalars(select(Repository.id)).all()
        assert session.scalar(text("SELECT count(*) FROM deploy_mergesets")) >= size
        for _ in range(3):
            started = time.perf_counter()
            recompute_repository(session, repository_id)
            session.flush()
            whole.append((time.perf_counter() - started) * 1000)
            session.rollback()
    engine.dispose()
    figures = {name: statistics.median(times) for name, times in found.items()}
    return {"first": first, **figures, "whole": statistics.median(whole)}


def run(label: str, make_url, sizes: list[int], rounds: int) -> None:
    print(f"{label}:")
    results = {}
    for size in sizes:
        results[size] = figures = measure(make_url(), size, rounds)
        print(
            f"  {size:>7,} mergesets: merge {figures['merge']:.1f} ms, deploy "
            f"{figures['deploy']:.1f} ms, late deploy {figures['late deploy']:.1f} ms "
            f"(median of {rounds}); the whole worked out again {figures['whole']:.0f} ms; "
            f"first merge + deploy after seeding {figures['first']:.0f} ms"
        )
    small, large = results[sizes[0]], results[sizes[-1]]
    ratios = ", ".join(
        f"{name} {large[name] / small[name]:.2f}x" for name in ("merge", "deploy", "whole")
    )
    print(f"  {sizes[-1]:,} vs {sizes[0]:,} mergesets: {ratios}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument(
        "--postgresql",
        default=os.environ.get("LEADTIME_TEST_DATABASE_URL"),
        help="PostgreSQL URL (its public schema is dropped!)",
    )
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        counter = iter(range(len(sizes)))
        run(
            "SQLite",
            lambda: f"sqlite:///{Path(tmp) / f'bench{next(counter)}.db'}",
            sizes,
            args.rounds,
        )
    if args.postgresql:

        def fresh() -> str:
            reset_postgresql(args.postgresql)
            return args.postgresql

        run("PostgreSQL", fresh, sizes, args.rounds)
    else:
        print("PostgreSQL: skipped (give --postgresql URL or LEADTIME_TEST_DATABASE_URL)")


if __name__ == "__main__":
    main()
