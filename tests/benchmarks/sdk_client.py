"""One load-generating client for bench_server.py: a real OpenTelemetry SDK (TracerProvider,
BatchSpanProcessor, the OTLP/HTTP protobuf exporter) sending the spans `leadtime step` sends.

Run by bench_server.py, not by hand:
    python tests/benchmarks/sdk_client.py URL FIRST_TRACE TRACES

Prints `ready` once the SDK is loaded, waits for a line on stdin, then sends TRACES traces of
TRACE_SPANS spans each (a pipeline root and its steps, with the attributes and resource that
`leadtime step` and `leadtime pipeline end` give them) in batches of up to BATCH_SPANS,
prints the CPU-seconds it spent doing so (`cpu S`) once the last batch is exported, and exits.
One trace in MAIN_EVERY is a main-branch run of a commit of its own (a mergeset); the others
are feature branches.
"""

from __future__ import annotations

import sys
import time

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, set_span_in_context

from leadtime.tracer import attributes as attr
from leadtime.tracer.context import CIContext
from leadtime.tracer.span import ENTITY_KEYS, context_attributes

TRACE_SPANS = 20
BATCH_SPANS = 512
MAIN_EVERY = 10
REPO = "acme/shop"
SHARED_KEYS = (attr.PIPELINE_NAME, attr.REPOSITORY_URL, attr.REPOSITORY_NAME, attr.VCS_PROVIDER)


def ci_of(trace: int) -> CIContext:
    on_main = trace % MAIN_EVERY == 0
    return CIContext(
        provider="github",
        run_id=str(9_000_000 + trace),
        attempt="1",
        pipeline_name="ci",
        pipeline_url=f"https://github.com/{REPO}/actions/runs/{9_000_000 + trace}",
        job_name=f"job-{trace % 4}",
        job_id=str(50_000_000 + trace),
        repo_url=f"https://github.com/{REPO}",
        repo_name=REPO,
        vcs_provider="github",
        branch="main" if on_main else f"feature/{trace}",
        ref_type="branch",
        sha=f"c{trace:039x}",  # apart from the shas bench_server seeds
        committed_at="2026-11-30T10:00:00+00:00",
        author="dev@example.com",
    )


def send_trace(provider: TracerProvider, trace: int, now_ns: int) -> None:
    ci = ci_of(trace)
    context = context_attributes(ci)
    tracer = provider.get_tracer("leadtime")
    start = now_ns - 3_600 * 10**9
    root = tracer.start_span("RUN", kind=SpanKind.SERVER, attributes=context, start_time=start)
    parent = set_span_in_context(root)
    for index in range(TRACE_SPANS - 1):
        began = start + index * 30 * 10**9
        step = {
            **context,
            attr.TASK_NAME: f"step-{index}",
            attr.TASK_RUN_ID: f"{trace:08x}{index:08x}",
            attr.TASK_RUN_RESULT: attr.RESULT_SUCCESS,
            attr.TASK_RUN_URL: ci.pipeline_url or "",
            attr.TASK_TYPE: "test" if index % 3 else "build",
            attr.PROCESS_EXIT_CODE: 0,
            attr.COMMAND: f"make step-{index}",
        }
        span = tracer.start_span(f"step-{index}", context=parent, attributes=step, start_time=began)
        span.end(end_time=began + (20 + index % 7) * 10**9)
    root.set_attribute(attr.PIPELINE_RESULT, attr.RESULT_SUCCESS)
    root.end(end_time=start + TRACE_SPANS * 30 * 10**9)


def main() -> None:
    url, first, traces = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    # One process sends many runs: its resource holds the entity keys they share.
    context = context_attributes(ci_of(1))
    shared = {key: context[key] for key in ENTITY_KEYS if key in SHARED_KEYS}
    resource = Resource.create({attr.SERVICE_NAME: "shop", **shared})
    provider = TracerProvider(resource=resource)
    exporter = OTLPSpanExporter(endpoint=f"{url}/v1/traces", timeout=60)
    provider.add_span_processor(
        BatchSpanProcessor(
            exporter,
            max_queue_size=traces * TRACE_SPANS + BATCH_SPANS,
            max_export_batch_size=BATCH_SPANS,
            schedule_delay_millis=200,
        )
    )
    print("ready", flush=True)
    sys.stdin.readline()
    spent = time.process_time()
    now_ns = time.time_ns()
    for trace in range(first, first + traces):
        send_trace(provider, trace, now_ns)
    provider.shutdown()  # exports what is queued, then stops
    print(f"cpu {time.process_time() - spent}", flush=True)  # the load this client made


if __name__ == "__main__":
    main()
