"""The README's walkthrough runs as written: every fenced block marked `sh tested`, in order, in
one bash, against a temporary server on a free port (and the test PostgreSQL database where the
README names one), and each step prints what the README says it does."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from tests import load
from tests.conftest import clean_env

README = Path(__file__).resolve().parents[1] / "README.md"
README_DATABASE = "postgresql+psycopg://leadtime@localhost/leadtime"


def walkthrough_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```sh tested\n(.*?)^```$", markdown, re.S | re.M)


def walkthrough_script(port: int, database: str | None) -> str:
    blocks = walkthrough_blocks(README.read_text())
    script = "\n".join(blocks).replace("8000", str(port))
    if database:
        script = script.replace(README_DATABASE, database)
    else:  # no PostgreSQL to run against: that one line is left out, and said so below
        script = "\n".join(line for line in script.splitlines() if README_DATABASE not in line)
    return "set -euo pipefail\n" + script


def test_readme_has_a_walkthrough_covering_each_part():
    blocks = "\n".join(walkthrough_blocks(README.read_text()))
    for command in (
        "leadtime serve",
        "leadtime step",
        "leadtime deploy",
        "/api/merges",
        "leadtime page ",
        "leadtime report slowest",
        "leadtime alerts rule",
        "leadtime db upgrade --db postgresql",
    ):
        assert command in blocks, command


def test_readme_walkthrough_runs_as_written(tmp_path):
    database = os.environ.get("LEADTIME_TEST_DATABASE_URL")
    port = load.free_port()
    env = clean_env(tmp_path)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    process = subprocess.Popen(
        ["bash", "-c", walkthrough_script(port, database)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # the server it starts in the background goes with it
    )
    try:
        out, err = process.communicate(timeout=180)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
    assert process.returncode == 0, out + err + (tmp_path / "server.log").read_text()
    assert "warning" not in err
    assert "deploying " in out
    assert re.search(r"^[0-9a-f]{10}  .*Add the app", out, re.M)  # the mergeset it shipped
    assert re.search(r"^build +1 ", out, re.M)  # the slowest-steps report
    assert '{"ok":true}' in out and '"identity":"api:release-42"' in out  # the API's answers
    assert "lead time (merge -> production) 12m00s (budget 15m00s)" in out  # the mergeset report
    assert re.search(r"page 1: suspect deploy \d+ of shop", out)  # the page, with its suspect
    assert "no alerts" in out
    assert f"dashboard: http://127.0.0.1:{port}/" in out
    if database:  # the PostgreSQL line runs where there is a PostgreSQL to run it against
        assert "database is up to date" in out
