"""examples/pipeline: the small project's pipeline, run from a real repository with merged pull
requests against a real `leadtime serve`, gives one trace of its steps and one deploy. It is the
repository's first pipeline, so it is the adoption point: the deploy ships its own mergeset, and
the pull request merged before leadtime was added is context."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests import load
from tests.conftest import clean_env
from tests.gitrepos import History

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "pipeline"


@pytest.fixture
def project(tmp_path) -> tuple[Path, list[str]]:
    """The example in a repository of its own, its files committed, then two PRs merged."""
    path = tmp_path / "shop"
    history = History(path, remote="https://github.com/acme/shop.git")
    shutil.copytree(EXAMPLE, path, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    history.repo.git.add(A=True)
    history.repo.index.commit("the shop project")
    merged = [history.merge("cart"), history.squash("search")]
    return path, merged


def test_pipeline_sends_one_trace_and_a_deploy_of_the_merged_mergesets(project, tmp_path):
    path, merged = project
    database = f"sqlite:///{tmp_path / 'leadtime.db'}"
    server = load.Server(database).start()
    try:
        env = clean_env(tmp_path, LEADTIME_URL=server.url, RELEASES=str(tmp_path / "releases"))
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
        done = subprocess.run(
            ["bash", str(path / "pipeline.sh")],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        head = merged[-1][:7]
        assert f"released {head}" in done.stdout
        release = tmp_path / "releases" / f"shop-{head}.pyz"
        priced = subprocess.run([sys.executable, str(release), "1999", "19"], capture_output=True)
        assert priced.stdout.strip() == b"2379"  # the package that shipped works

        deploys = httpx.get(f"{server.url}/api/deploys").json()
        assert len(deploys) == 1
        deploy = deploys[0]
        assert (deploy["service"], deploy["environment"], deploy["status"]) == (
            "shop",
            "production",
            "succeeded",
        )
        assert deploy["sha"] == merged[-1]
        assert [m["sha"] for m in deploy["mergesets"]] == [merged[-1]]
        mergesets = {m["sha"]: m for m in httpx.get(f"{server.url}/api/mergesets").json()}
        assert mergesets[merged[0]]["context"] is True
        assert mergesets[merged[-1]]["lead_time_seconds"] is not None
    finally:
        server.stop()
    with create_engine(database).connect() as connection:
        steps = connection.execute(text("SELECT name, trace_id FROM steps")).all()
        runs = connection.execute(text("SELECT trace_id, result FROM pipeline_runs")).all()
    assert {name for name, _ in steps} >= {"lint", "unit-tests", "package", "deploy production"}
    assert len({trace for _, trace in steps}) == 1  # one trace for the run
    assert runs == [(steps[0][1], "success")]
