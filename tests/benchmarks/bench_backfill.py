"""`leadtime backfill` on a long history, against a real `leadtime serve`.

Run:  python tests/benchmarks/bench_backfill.py [--commits 10000] [--tag-every 20]
          [--postgresql URL]

Builds a repository of `--commits` first-parent commits on main (git fast-import: a merge commit
every other commit, a tag `v<N>` every `--tag-every`), starts `leadtime serve` on a fresh
database, and times `leadtime backfill --since all --deploys-from-tags 'v*'` twice (the second
run must store nothing new). The baseline, measured in the same run, is plain `git log
--first-parent` over the same history. Target: 10,000 commits in under 20 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.benchmarks.bench_server import reset_postgresql  # noqa: E402
from tests.load import Server  # noqa: E402

LEADTIME = [sys.executable, "-m", "leadtime.tracer"]
START = 1_700_000_000  # Unix seconds of the first commit


def fast_import_stream(commits: int, tag_every: int) -> bytes:
    """A main branch of `commits` first-parent commits (every other one a merge of a one-commit
    branch), one tag every `tag_every`, in git fast-import's format."""
    lines: list[str] = []
    mark = 0
    main_mark = None
    for index in range(commits):
        when = START + index * 600
        merge_side = None
        if index % 2 == 1 and main_mark is not None:
            mark += 1
            merge_side = mark
            lines += _commit("refs/heads/topic", mark, when - 60, f"work {index}", main_mark)
        mark += 1
        subject = f"Merge pull request #{index} from acme/topic-{index}" if merge_side else None
        lines += _commit(
            "refs/heads/main",
            mark,
            when,
            subject or f"Change {index} (#{index})",
            main_mark,
            merge_side,
            body=f"Topic {index}" if merge_side else "",
        )
        main_mark = mark
        if (index + 1) % tag_every == 0:
            lines += [f"reset refs/tags/v{index + 1}", f"from :{mark}", ""]
    return ("\n".join(lines) + "\n").encode()


def _commit(
    ref: str,
    mark: int,
    when: int,
    subject: str,
    parent: int | None,
    merged: int | None = None,
    body: str = "",
) -> list[str]:
    message = subject + (f"\n\n{body}" if body else "")
    data = message.encode()
    lines = [
        f"commit {ref}",
        f"mark :{mark}",
        f"author Dev <dev{mark % 7}@example.com> {when} +0000",
        f"committer Dev <dev{mark % 7}@example.com> {when} +0000",
        f"data {len(data)}",
        message,
    ]
    if parent is not None:
        lines.append(f"from :{parent}")
    if merged is not None:
        lines.append(f"merge :{merged}")
    lines += [f"M 644 inline file{mark % 50}.txt", f"data {len(str(mark))}", str(mark), ""]
    return lines


def build_repository(path: Path, commits: int, tag_every: int) -> None:
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    subprocess.run(
        ["git", "-C", str(path), "fast-import", "--quiet"],
        input=fast_import_stream(commits, tag_every),
        check=True,
    )
    subprocess.run(["git", "-C", str(path), "checkout", "-q", "main"], check=True)


def timed(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stderr}")
    return elapsed, done.stdout


def run(database_url: str, label: str, repository: Path, commits: int) -> None:
    server = Server(database_url).start()
    try:
        env = {**os.environ, "LEADTIME_URL": server.url}
        git_seconds, _ = timed(
            ["git", "log", "--first-parent", "--format=%H %P %ct %ae %s%n%b", "main"],
            env,
            repository,
        )
        args = [
            *LEADTIME,
            "backfill",
            str(repository),
            "--repo",
            "https://github.com/acme/history",
            "--since",
            "all",
            "--deploys-from-tags",
            "v*",
            "--json",
        ]
        first, out = timed(args, env, repository)
        imported = json.loads(out)
        again, out = timed(args, env, repository)
        repeated = json.loads(out)
    finally:
        server.stop()
    print(
        f"{label}: {commits} commits, {imported['deploys']} tag deploys: "
        f"backfill {first:.1f} s (target < 20 s), again {again:.1f} s; "
        f"plain git log {git_seconds * 1000:.0f} ms (backfill = {first / git_seconds:.0f}x); "
        f"new the first time {imported['mergesets_new']}/{imported['deploys_new']}, "
        f"the second {repeated['mergesets_new']}/{repeated['deploys_new']}"
    )
    if repeated["mergesets_new"] or repeated["deploys_new"]:
        raise SystemExit("the second backfill stored something new")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=10_000)
    parser.add_argument("--tag-every", type=int, default=20)
    parser.add_argument(
        "--postgresql", help="a PostgreSQL URL to measure as well (its public schema is dropped!)"
    )
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        repository = Path(folder) / "history"
        build_repository(repository, options.commits, options.tag_every)
        run(f"sqlite:///{folder}/backfill.db", "SQLite", repository, options.commits)
        if options.postgresql:
            reset_postgresql(options.postgresql)
            run(options.postgresql, "PostgreSQL", repository, options.commits)


if __name__ == "__main__":
    main()
