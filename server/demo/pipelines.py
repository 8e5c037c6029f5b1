"""The demo's pipelines: what each mergeset's run does, running it for real through `leadtime
step` and `leadtime deploy`, and moving its spans to when it would have run.

A run's commands are real and short (`sleep` for a fraction of a second); the tracer measures
them as usual and writes its spans to a file. `retime` then lays the run's spans end to end
from a few minutes after the merge, each as long as its step was planned times SCALE, so a fifth
of a second reads as two minutes. The planned time, not the measured one: on a busy machine a
command's start-up, times SCALE, added minutes to every step, and the slowing step no longer
stood out against the lead time (the demo's regression alert did not fire).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from leadtime.server.demo.history import REPOSITORY_URL, Mergeset

SCALE = 600  # a tenth of a second of a demo command is a minute of pipeline time
GAP = timedelta(seconds=20)  # between two steps: the next job being picked up
SERVICE, ENVIRONMENT = "shop", "production"
SLOW_STEP = "integration-tests"
SLOWING_DAYS = 12  # the slow step starts slowing this many days before the end of the history

# Variables of CI systems and of the tracer's own settings: the demo's runs must not join a
# real CI run the demo happens to be started from, nor send their spans anywhere else.
FOREIGN_PREFIXES = (
    "OTEL_",
    "LEADTIME_",
    "TRACEPARENT",
    "GITHUB_",
    "GITLAB_",
    "CI_",
    "BUILDKITE",
    "CIRCLE",
    "JENKINS_",
    "BUILD_",
    "SYSTEM_",
    "TF_BUILD",
)


@dataclass(frozen=True)
class Step:
    name: str
    kind: str  # build, test or deploy
    seconds: float  # how long its command really runs
    fails: bool = False


@dataclass(frozen=True)
class Pipeline:
    mergeset: Mergeset
    steps: tuple[Step, ...]
    queued: timedelta  # from the merge to the first step


@dataclass
class Ran:
    """A pipeline after it ran: its OTLP/JSON requests, and its deploy's outcome and end."""

    pipeline: Pipeline
    requests: list[dict]
    deployed: bool | None = None  # None: the run had no deploy step, or did not reach it
    finished_at: datetime | None = None


def slow_step_seconds(merged_at: datetime, end: datetime, rng: random.Random) -> float:
    """Two and a half minutes, until it starts slowing by 0.7 minutes a day."""
    slowing_for = (merged_at - (end - timedelta(days=SLOWING_DAYS))) / timedelta(days=1)
    minutes = 2.5 + 0.7 * max(0.0, slowing_for) + rng.uniform(-0.3, 0.3)
    return minutes * 60 / SCALE


def plan(mergesets: Sequence[Mergeset], end: datetime, rng: random.Random) -> list[Pipeline]:
    """One run per mergeset. Two deploys fail (one early, one recent) and three runs in the
    middle stop before deploying (a deploy freeze), so the next deploys ship several mergesets."""
    count = len(mergesets)
    failing = {count // 4, count - 4}
    frozen = set(range(count // 2, count // 2 + 3))
    pipelines = []
    for index, mergeset in enumerate(mergesets):
        minutes = 60 / SCALE  # seconds of command per pipeline minute
        steps = [
            Step("build", "build", rng.uniform(2.4, 3.2) * minutes),
            Step("unit-tests", "test", rng.uniform(2.5, 3.2) * minutes),
            Step(SLOW_STEP, "test", slow_step_seconds(mergeset.merged_at, end, rng)),
        ]
        if index not in frozen:
            steps.append(Step("deploy production", "deploy", 1.5 * minutes, fails=index in failing))
        queued = timedelta(seconds=rng.randrange(20, 120))
        pipelines.append(Pipeline(mergeset, tuple(steps), queued))
    return pipelines


def tracer_env(trace_file: Path, run_id: str, spool: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN_PREFIXES)}
    env.update(LEADTIME_RUN_ID=run_id, LEADTIME_TRACE_FILE=str(trace_file))
    env["LEADTIME_SPOOL_DIR"] = str(spool)
    return env


def checkout(source: Path, sha: str, path: Path) -> None:
    """A clone of `source` with main at `sha`, whose origin is the repository's public URL (as
    a CI checkout of that merge would be)."""
    for command in (
        ["git", "clone", "--quiet", "--shared", "--no-checkout", str(source), str(path)],
        ["git", "-C", str(path), "checkout", "--quiet", "-B", "main", sha],
        ["git", "-C", str(path), "remote", "set-url", "origin", REPOSITORY_URL + ".git"],
    ):
        subprocess.run(command, check=True, capture_output=True)


def step_command(step: Step) -> list[str]:
    tracer = [sys.executable, "-m", "leadtime.tracer"]
    if step.kind == "deploy":
        script = f"sleep {step.seconds:.3f}; " + (
            "echo 'health check failed' >&2; exit 1" if step.fails else "echo deployed"
        )
        return [*tracer, "deploy", ENVIRONMENT, "--service", SERVICE, "--", "sh", "-c", script]
    return [*tracer, "step", step.name, "--type", step.kind, "--", "sleep", f"{step.seconds:.3f}"]


def run(pipeline: Pipeline, source: Path, work: Path) -> Ran:
    """Run the pipeline in its own checkout; a failing step ends it, as in CI."""
    number = pipeline.mergeset.number
    path = work / f"run-{number}"
    checkout(source, pipeline.mergeset.sha, path)
    trace_file = path.parent / f"run-{number}.jsonl"
    env = tracer_env(trace_file, f"demo-{number}", work / "spool")
    ran = Ran(pipeline, [])
    for step in pipeline.steps:
        done = subprocess.run(step_command(step), cwd=path, env=env, capture_output=True)
        if step.kind == "deploy":
            ran.deployed = done.returncode == 0
        if done.returncode != 0:
            break
    ran.requests = [json.loads(line) for line in trace_file.read_text().splitlines()]
    return ran


def _spans(requests: list[dict]) -> list[dict]:
    return [
        span
        for request in requests
        for resource in request.get("resourceSpans", [])
        for scope in resource.get("scopeSpans", [])
        for span in scope.get("spans", [])
    ]


def _nanos(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


def retime(ran: Ran) -> None:
    """Move the run's spans to just after its merge, end to end, each as long as planned (see
    the module); a span the plan does not name keeps its measured time, scaled."""
    planned = {step.name: step.seconds for step in ran.pipeline.steps}
    clock = ran.pipeline.mergeset.merged_at + ran.pipeline.queued
    for span in sorted(_spans(ran.requests), key=lambda s: int(s["startTimeUnixNano"])):
        measured = (int(span["endTimeUnixNano"]) - int(span["startTimeUnixNano"])) / 1e9
        took = round(planned.get(span["name"], measured) * SCALE * 1e9)
        start = _nanos(clock)
        span["startTimeUnixNano"], span["endTimeUnixNano"] = str(start), str(start + took)
        finished = datetime.fromtimestamp((start + took) / 1e9, UTC)
        if span["name"].startswith("deploy"):
            ran.finished_at = finished
        clock = finished + GAP
