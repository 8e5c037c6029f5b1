"""What reading spans in the conventions' words costs at ingest, per emitter, against decoding the
same OTLP request (measured in the same run: these machines are noisy, read the ratios).

Run:  python tests/benchmarks/bench_emitters.py [--spans 100] [--rounds 200]

For a batch shaped as leadtime's tracer sends it, as the collector's GitHub receiver sends a job,
and as its GitLab receiver sends a pipeline: the median time of decoding it (protobuf -> spans),
of `emitters.adapt` alone, and of everything after decoding (`facts_from_spans`: adapters, the
resource's and the run's keys, roles, deploys, mergesets, deploy candidates), per span and as a
ratio to decoding. Targets: adapting costs at most 1x decoding and everything after decoding at
most 3x, whatever the emitter (decoding itself is a small share of a stored span's cost: the
database's is the rest, bench_server.py).
"""

from __future__ import annotations

import argparse
import functools
import random
import statistics
import time

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from leadtime.server.ingest import emitters, otlp
from leadtime.server.ingest.traces import facts_from_spans

SHA = "9f3c2a1b7d4e5f60718293a4b5c6d7e8f90a1b2c"
RUN_PAGE = "https://github.com/acme/shop/actions/runs/14460881260"


def _kv(key: str, value) -> KeyValue:
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=value))


def _request(resource: dict, spans: list[Span], scope: str) -> bytes:
    resource_spans = ResourceSpans(
        scope_spans=[ScopeSpans(scope=InstrumentationScope(name=scope), spans=spans)]
    )
    resource_spans.resource.attributes.extend(_kv(k, v) for k, v in resource.items())
    return ExportTraceServiceRequest(resource_spans=[resource_spans]).SerializeToString()


def _spans(count: int, attributes, kind: int, parent: bytes) -> list[Span]:
    start = time.time_ns() - 3_600_000_000_000
    return [
        Span(
            trace_id=b"\x01" * 16,
            span_id=random.randbytes(8),
            parent_span_id=parent,
            name=f"step-{index % 20}",
            kind=kind,
            start_time_unix_nano=start + index * 1_000_000_000,
            end_time_unix_nano=start + index * 1_000_000_000 + 900_000_000,
            attributes=[_kv(k, v) for k, v in attributes(index).items()],
        )
        for index in range(count)
    ]


def leadtime_batch(count: int) -> bytes:
    def attributes(index: int) -> dict:
        return {
            "cicd.pipeline.name": "ci",
            "cicd.pipeline.run.id": "14460881260",
            "cicd.pipeline.task.name": f"step-{index % 20}",
            "cicd.pipeline.task.run.result": "success",
            "vcs.repository.url.full": "https://github.com/acme/shop",
            "vcs.ref.head.name": "main",
            "vcs.ref.head.revision": SHA,
            "process.exit.code": 0,
        }

    spans = _spans(count, attributes, Span.SPAN_KIND_INTERNAL, b"\x02" * 8)
    return _request({"service.name": "shop"}, spans, "leadtime")


def github_receiver_batch(count: int) -> bytes:
    resource = {
        "service.name": "acme-shop",
        "vcs.vendor.name": "github",
        "vcs.repository.name": "shop",
        "vcs.ref.head": "main",
        "vcs.ref.head.revision": SHA,
        "cicd.pipeline.name": "build",
        "cicd.pipeline.task.run.id": 40685651258,
        "cicd.pipeline.task.run.url.full": f"{RUN_PAGE}/job/40685651258",
        "cicd.pipeline.run.task.status": "success",
    }

    def attributes(index: int) -> dict:
        if index == 0:
            return {"cicd.pipeline.run.queue.duration": 30_000_000_000}
        return {
            "cicd.pipeline.task.name": f"step-{index}",
            "cicd.pipeline.run.task.status": "success",
        }

    return _request(resource, _spans(count, attributes, Span.SPAN_KIND_INTERNAL, b"\x02" * 8), "")


def gitlab_receiver_batch(count: int) -> bytes:
    resource = {
        "service.name": "acme/platform/shop",
        "vcs.provider.name": "gitlab",
        "gitlab.project.namespace": "acme/platform",
        "cicd.pipeline.name": "main",
        "cicd.pipeline.result": "success",
        "cicd.pipeline.run.id": 1501234,
        "vcs.repository.url.full": "https://gitlab.com/acme/platform/shop",
        "vcs.ref.head.name": "main",
        "vcs.ref.head.revision": SHA,
        "vcs.ref.head.revision.timestamp": "2026-11-20 09:58:00 UTC",
    }

    def attributes(index: int) -> dict:
        return {
            "cicd.pipeline.task.name": f"job-{index}",
            "cicd.pipeline.task.run.result": "success",
            "cicd.pipeline.task.run.environment.name": "",
            "gitlab.environment.action": "",
        }

    return _request(resource, _spans(count, attributes, Span.SPAN_KIND_SERVER, b"\x02" * 8), "")


MAIN = ("main", "master")


def _decode(body: bytes) -> None:
    otlp.spans_from(otlp.decode_request(body, otlp.PROTOBUF))


def _median_us(work, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    print(f"{args.spans} spans a batch, median of {args.rounds} rounds, microseconds per span")
    print(
        f"{'batch':<18}{'decode':>9}{'adapt':>9}{'facts':>9}{'adapt/decode':>14}{'facts/decode':>14}"
    )
    for label, make in (
        ("leadtime", leadtime_batch),
        ("github receiver", github_receiver_batch),
        ("gitlab receiver", gitlab_receiver_batch),
    ):
        body = make(args.spans)
        spans = otlp.spans_from(otlp.decode_request(body, otlp.PROTOBUF)).spans
        decode = _median_us(functools.partial(_decode, body), args.rounds)
        adapt = _median_us(functools.partial(emitters.adapt, spans), args.rounds)
        facts = _median_us(functools.partial(facts_from_spans, spans, MAIN), args.rounds)
        per = args.spans
        print(
            f"{label:<18}{decode / per:>9.1f}{adapt / per:>9.1f}{facts / per:>9.1f}"
            f"{adapt / decode:>13.2f}x{facts / decode:>13.2f}x"
        )


if __name__ == "__main__":
    main()
