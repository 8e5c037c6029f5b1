"""A real `leadtime serve` process on a free port, and pipelines run the way a CI job on main
runs them: real `leadtime step` and `leadtime deploy` processes in a real checkout, with the
variables a GitHub Actions runner sets."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

from tests import load
from tests.conftest import clean_env, run_leadtime
from tests.gitrepos import History


@contextmanager
def leadtime_server(db_url: str, **settings: str) -> Iterator[str]:
    """`leadtime serve` on the database (tests/load.py's server); its URL once it is ready."""
    server = load.Server(db_url, **settings).start()
    try:
        yield server.url
    finally:
        server.stop()


def ci_env(tmp_path, url: str, run: int, sha: str) -> dict[str, str]:
    return clean_env(
        tmp_path,
        LEADTIME_URL=url,
        LEADTIME_EXPORT_TIMEOUT="10",
        GITHUB_ACTIONS="true",
        GITHUB_RUN_ID=str(run),
        GITHUB_RUN_ATTEMPT="1",
        GITHUB_WORKFLOW="main",
        GITHUB_SERVER_URL="https://github.com",
        GITHUB_REPOSITORY="acme/shop",
        GITHUB_REF="refs/heads/main",
        GITHUB_REF_NAME="main",
        GITHUB_SHA=sha,
    )


class Pipeline:
    """Runs leadtime the way a CI job on main would, at one commit of the repository."""

    def __init__(self, history: History, url: str, tmp_path) -> None:
        self.history, self.url, self.tmp_path, self.runs = history, url, tmp_path, 0

    def _run(self, sha: str, args: list[str]) -> subprocess.CompletedProcess:
        self.runs += 1
        self.history.checkout(sha)
        env = ci_env(self.tmp_path, self.url, self.runs, sha)
        done = run_leadtime(args, env, cwd=self.history.path)
        assert "warning" not in done.stderr, done.stderr
        return done

    def test(self, sha: str) -> None:
        assert self._run(sha, ["step", "test", "--type", "test", "--", "true"]).returncode == 0

    def deploy(self, sha: str, succeed: bool = True) -> None:
        command = "true" if succeed else "false"
        args = ["deploy", "production", "--service", "shop", "--", command]
        assert self._run(sha, args).returncode == (0 if succeed else 1)
