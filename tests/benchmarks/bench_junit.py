"""What `leadtime step --junit` adds after the command exits, against parsing the same report
with the standard library alone (measured in the same run: these machines are noisy, read the
ratios).

Run:  python tests/benchmarks/bench_junit.py [--cases 1000,10000,100000] [--rounds 5]

For a report of N test cases (one failure in a thousand): the median time of parsing it with
xml.etree.ElementTree and walking its cases (the baseline), of `junit.read` (defusedxml's parse,
junitparser's model, the cases kept for spans), and of `junit.read` plus building the test spans
with the OpenTelemetry SDK (LEADTIME_JUNIT_MAX_TESTS = 200). Target: reading costs about 5x the
bare parse, and building the spans stays bounded by the limit, whatever N.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import tempfile
import time
import xml.etree.ElementTree as StdTree
from pathlib import Path

from leadtime.tracer import junit, traceid
from leadtime.tracer.context import CIContext
from leadtime.tracer.span import SpanIds, Timing, build_test_spans, make_span_maker


def write_report(path: Path, cases: int) -> None:
    with path.open("w") as report:
        report.write('<testsuite name="bench">')
        for n in range(cases):
            body = '<failure message="boom">trace</failure>' if n % 1000 == 3 else ""
            seconds = f"{(n % 977) / 1000:.3f}"
            report.write(
                f'<testcase classname="pkg.mod{n % 50}" name="test_{n}" time="{seconds}">'
                f"{body}</testcase>"
            )
        report.write("</testsuite>")


def bare_parse(path: Path) -> int:
    return sum(1 for _ in StdTree.parse(path).getroot().iter("testcase"))


def read_and_build(path: Path, maker) -> int:
    reading = junit.read([str(path)], 0, 200)
    ids = SpanIds(traceid.random_trace_id(), traceid.random_span_id())
    span_ids = [traceid.random_span_id() for _ in reading.cases]
    now = time.time_ns()
    return len(build_test_spans(maker, ids, Timing(now - 10**12, now), reading.cases, span_ids))


def median_seconds(function, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="1000,10000,100000")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    maker = make_span_maker("bench", CIContext())
    print(f"{'cases':>8} {'bare parse':>11} {'junit.read':>11} {'+ spans':>9} {'read/bare':>10}")
    with tempfile.TemporaryDirectory() as folder:
        for cases in (int(n) for n in args.cases.split(",")):
            path = Path(folder) / f"report-{cases}.xml"
            write_report(path, cases)
            bare = median_seconds(functools.partial(bare_parse, path), args.rounds)
            read = median_seconds(functools.partial(junit.read, [str(path)], 0, 200), args.rounds)
            built = median_seconds(functools.partial(read_and_build, path, maker), args.rounds)
            print(
                f"{cases:>8} {bare * 1000:>9.1f}ms {read * 1000:>9.1f}ms {built * 1000:>7.1f}ms "
                f"{read / bare:>9.2f}x"
            )


if __name__ == "__main__":
    main()
