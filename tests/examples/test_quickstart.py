"""examples/quickstart.sh: a server on SQLite, a repository with
three merged pull requests, a traced pipeline, and the lead times printed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import clean_env

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart.sh"


def test_quickstart_shows_one_batched_deploy_of_three_mergesets(tmp_path):
    env = clean_env(tmp_path, TMPDIR=str(tmp_path))
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    done = subprocess.run(
        ["bash", str(QUICKSTART)], env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "warning" not in done.stderr
    lines = done.stdout.splitlines()
    mergesets = lines[lines.index("== mergesets and their lead times") + 3 :][:4]
    merged = {row.split()[-1]: row for row in mergesets}
    # The three merges were shipped together (flag B); the initial commit went out on its own.
    assert set(merged) == {"checkout", "search", "cart", "commit"}
    assert all(" B " in merged[name] for name in ("checkout", "search", "cart"))
    assert " B " not in merged["commit"]
    deploys = lines[lines.index("== deploys") + 3 :]
    assert "3 (batched)" in deploys[0] and deploys[1].rstrip().endswith("1")
    assert list(tmp_path.glob("tmp.*")) == []  # the script cleaned up after itself
