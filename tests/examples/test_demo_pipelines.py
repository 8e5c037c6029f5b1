"""The demo's pipelines: a run's real spans, moved to after its merge and as long as planned,
whatever the machine's load did to the commands' own times."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from leadtime.server.demo import history, pipelines

LOADED = 0.4  # seconds a busy machine added to each command: four minutes once scaled


def _spans(ran: pipelines.Ran) -> list[dict]:
    spans = [
        span
        for request in ran.requests
        for resource in request["resourceSpans"]
        for scope in resource["scopeSpans"]
        for span in scope["spans"]
    ]
    return sorted(spans, key=lambda span: int(span["startTimeUnixNano"]))


def _at(nanos: str) -> datetime:
    return datetime.fromtimestamp(int(nanos) / 1e9, UTC)


def test_a_run_is_laid_out_as_planned_however_long_its_commands_took(tmp_path):
    rng = random.Random(3)
    end = datetime.now(UTC).replace(microsecond=0)
    mergesets = history.build(tmp_path / "shop", end, 7, rng)
    planned = pipelines.plan(mergesets, end, rng)
    pipeline = next(p for p in planned if p.steps[-1].kind == "deploy" and not p.steps[-1].fails)
    ran = pipelines.run(pipeline, tmp_path / "shop", tmp_path / "runs")
    spans = _spans(ran)
    assert [span["name"] for span in spans] == [step.name for step in pipeline.steps]
    for span in spans:  # as a loaded machine would have measured them
        span["endTimeUnixNano"] = str(int(span["endTimeUnixNano"]) + int(LOADED * 1e9))

    pipelines.retime(ran)

    clock = pipeline.mergeset.merged_at + pipeline.queued
    for span, step in zip(_spans(ran), pipeline.steps, strict=True):
        started, ended = _at(span["startTimeUnixNano"]), _at(span["endTimeUnixNano"])
        assert abs(started - clock) < timedelta(milliseconds=1), step.name
        took = (ended - started).total_seconds()
        assert abs(took - step.seconds * pipelines.SCALE) < 0.01, step.name
        clock = ended + pipelines.GAP
    assert ran.deployed is True and ran.finished_at == ended
