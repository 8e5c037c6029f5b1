"""`leadtime step` and `leadtime deploy` from start to finish: start the command first, gather
the span's facts while it runs, then hand the span over and exit as the command did.

The order matters for speed: only this module, run.py, providers.py and traceid.py are loaded
before the command starts; the facts (git read if need be) are gathered while it runs. A step
then writes its span to the spool and leaves the sending to a detached sender (handoff.py), so
the OpenTelemetry SDK costs it nothing; a deploy imports the SDK while it runs and confirms its
own span within the export bound before it exits, as the server must know of every deploy.
Nothing after the start can change the exit code: every telemetry failure becomes one warning
line.
"""

from __future__ import annotations

import os
import time

# The module behind collections.abc, which `os` has loaded already; collections.abc itself
# imports `collections` (about 2 ms) before the step's command starts.
from _collections_abc import Sequence

from leadtime.tracer import attributes as attr
from leadtime.tracer import providers, run, traceid, warn


def choose_ids(env: dict[str, str], found: dict[str, str]) -> tuple[int, int | None, bool]:
    """(trace id, parent span id, sampled) for a new span in this environment.

    An incoming TRACEPARENT wins (nested steps, OTel-aware CI); then the pipeline run's derived
    trace, under its derived root span (or, with LEADTIME_TRACE_IDS=github-receiver, under the
    GitHub receiver's job span); locally without a run id, a fresh trace.
    """
    incoming = traceid.parse_traceparent(env.get("TRACEPARENT"))
    if incoming:
        return incoming.trace_id, incoming.span_id, incoming.sampled
    if found.get("run_id"):
        trace_id, _, parent = traceid.run_ids(env, found)
        return trace_id, parent, True
    return traceid.random_trace_id(), None, True


def result_of(outcome: run.Outcome) -> str:
    if outcome.timed_out:
        return attr.RESULT_TIMEOUT
    if outcome.spawn_error:
        return attr.RESULT_ERROR
    if outcome.signal is not None:
        return attr.RESULT_CANCELLATION
    return attr.RESULT_SUCCESS if outcome.exit_code == 0 else attr.RESULT_FAILURE


def run_step(
    name: str,
    command: Sequence[str],
    *,
    task_type: str | None = None,
    attrs: Sequence[tuple[str, str]] = (),
    timeout: float | None = None,
    kill_after: float = 10.0,
    service: str | None = None,
    environment: str | None = None,
    deploy_id: str | None = None,
    revision: str | None = None,
    cache_hit: bool | None = None,
    junit: Sequence[str] = (),
) -> int:
    """Run `command` as the step `name` (a deploy to `environment` when given); its exit code."""
    env = dict(os.environ)
    found = providers.detect(env)
    trace_id, parent_span_id, sampled = choose_ids(env, found)
    span_id = traceid.random_span_id()
    env["TRACEPARENT"] = traceid.format_traceparent(trace_id, span_id, sampled)
    started_ns = time.time_ns()
    child = run.start(list(command), env, own_group=timeout is not None)
    run.fill_closed_standard_fds()

    # The command runs from here on; everything below only prepares and hands over its span.
    prepared = None
    try:
        prepared = _prepare(found, service, environment, revision)
    except Exception as error:  # telemetry must not fail the step; say so once and go on
        warn(f"could not prepare the span: {type(error).__name__}: {error}")

    outcome = child if isinstance(child, run.Outcome) else child.wait(timeout, kill_after)
    if prepared is not None:
        try:
            from leadtime.tracer.facts import SpanIds

            document = prepared.document(
                ids=SpanIds(trace_id, span_id, parent_span_id, sampled),
                started_ns=started_ns,
                outcome=outcome,
                result=result_of(outcome),
                name=name,
                command=command,
                task_type="deploy" if environment else task_type,
                attrs=attrs,
                deploy_id=deploy_id,
                cache_hit=cache_hit,
                junit=junit,
            )
            _deliver(document, prepared.config, confirm=bool(environment))
        except Exception as error:  # same promise as above: a warning, never a changed exit
            warn(f"could not record the span: {type(error).__name__}: {error}")
    return outcome.exit_code


def _prepare(
    found: dict[str, str], service: str | None, environment: str | None, revision: str | None
):
    """The step's facts, and what delivering them needs, loaded while its command runs: for a
    step the spool (no SDK: a sender builds the span later), for a deploy the SDK as well, as
    a deploy confirms its own span before it exits."""
    from leadtime.tracer import facts

    prepared = facts.prepare_step(
        found, service=service, environment=environment, revision=revision
    )
    if environment:
        from leadtime.tracer import record  # noqa: F401  (the SDK, imported while the deploy runs)
    else:
        from leadtime.tracer import handoff

        for phrase in handoff.earlier_problems(prepared.config):
            warn(phrase)
    return prepared


def _deliver(document: dict, config, confirm: bool) -> None:
    if not confirm:
        from leadtime.tracer import handoff

        if handoff.hand_off(document, config):
            return
    from leadtime.tracer import record

    record.send_document(document, config)
