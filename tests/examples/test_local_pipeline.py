"""examples/local-pipeline.sh, the README's first command, runs and writes one trace."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import clean_env

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "local-pipeline.sh"


def _spans(trace_file: Path) -> dict[str, dict]:
    spans = {}
    for line in trace_file.read_text().splitlines():
        for resource in json.loads(line)["resourceSpans"]:
            for scope in resource["scopeSpans"]:
                for span in scope["spans"]:
                    spans[span["name"]] = span
    return spans


def _run(tmp_path: Path, *path_first: Path) -> subprocess.CompletedProcess:
    env = clean_env(tmp_path)
    env["PATH"] = os.pathsep.join(
        [*map(str, path_first), str(Path(sys.executable).parent), env["PATH"]]
    )
    return subprocess.run(
        ["bash", str(EXAMPLE)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )


def test_local_pipeline_writes_one_trace_with_nested_steps_and_a_deploy(tmp_path):
    done = _run(tmp_path)
    assert done.returncode == 0, done.stderr
    assert "6 spans in" in done.stdout
    spans = _spans(tmp_path / "leadtime-spans.jsonl")
    assert set(spans) == {"RUN", "build", "test", "unit-tests", "lint", "deploy local"}
    assert len({span["traceId"] for span in spans.values()}) == 1
    root = spans["RUN"]
    for name in ("build", "test", "deploy local"):
        assert spans[name]["parentSpanId"] == root["spanId"]
    for name in ("unit-tests", "lint"):
        assert spans[name]["parentSpanId"] == spans["test"]["spanId"]
    deploy = {a["key"]: a["value"] for a in spans["deploy local"]["attributes"]}
    assert deploy["deployment.status"] == {"stringValue": "succeeded"}


def test_local_pipeline_closes_the_root_as_failed_when_a_step_fails(tmp_path):
    # A `python3` that fails makes the build step fail; the ERR trap still ends the pipeline.
    shims = tmp_path / "shims"
    shims.mkdir()
    (shims / "python3").write_text("#!/bin/sh\nexit 9\n")
    (shims / "python3").chmod(0o755)
    done = _run(tmp_path, shims)
    assert done.returncode == 9
    spans = _spans(tmp_path / "leadtime-spans.jsonl")
    assert set(spans) == {"RUN", "build"}
    result = {a["key"]: a["value"] for a in spans["RUN"]["attributes"]}["cicd.pipeline.result"]
    assert result == {"stringValue": "failure"}
