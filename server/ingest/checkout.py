"""The real past of a repository, read from a checkout with plain git for `leadtime backfill`:
its main branch's first-parent commits (each one mergeset, with the pull request its subject
names), deploys from tags, and deploys from a deploy log (CSV or JSON).

One `git log` and one `git for-each-ref` process read everything, however long the history, so
10,000 commits take well under a second. Errors are ValueError with a message a person can act on
(which file, which line, which field).
"""

from __future__ import annotations

import csv
import fnmatch
import json
import re
import subprocess
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from leadtime.server.timeparse import parse_time
from leadtime.tracer.gitinfo import first_commit_times

_FIELD, _RECORD = "\x00", "\x1e"
# git writes the separators (%x00, %x1e): an argument cannot hold a NUL byte.
_LOG_FORMAT = "%x00".join(["%H", "%P", "%ct", "%ae", "%s", "%b"]) + "%x1e"
_GITHUB_MERGE = re.compile(r"^Merge pull request #(\d+) from \S+")
_SQUASH = re.compile(r"^(?P<title>.+?) \(#(?P<number>\d+)\)$")
_GITLAB_MERGE = re.compile(r"^See merge request \S*!(\d+)\s*$", re.MULTILINE)
_SHA = re.compile(r"^[0-9a-fA-F]{7,64}$")
DEPLOY_LOG_FIELDS = ("sha", "environment", "finished_at", "status")


@dataclass(frozen=True)
class Commit:
    sha: str
    parent_sha: str | None  # the first parent
    committed_at: datetime
    author: str
    subject: str
    pr_number: int | None = None
    pr_title: str | None = None
    first_commit_at: datetime | None = None  # when the branch it merged began


@dataclass(frozen=True)
class PastDeploy:
    sha: str
    environment: str
    finished_at: datetime
    status: str = "succeeded"
    service: str | None = None
    id: str | None = None


def git(path: Path, *args: str) -> str:
    """What `git args...` prints in the checkout at `path`; ValueError saying why it failed."""
    try:
        done = subprocess.run(
            ["git", "-C", str(path), *args], capture_output=True, text=True, check=False
        )
    except OSError as error:
        raise ValueError(f"cannot run git: {error}") from error
    if done.returncode != 0:
        raise ValueError(done.stderr.strip() or f"git {' '.join(args)} failed")
    return done.stdout


def pull_request(subject: str, body: str) -> tuple[int | None, str | None]:
    """The pull request a mergeset's message names, as GitHub and GitLab write them: `Merge pull
    request #N from ...` (its title the body's first line), `Title (#N)` (a squash merge), and
    GitLab's `See merge request group/project!N`."""
    first_line = body.strip().splitlines()[0].strip() if body.strip() else None
    if match := _GITHUB_MERGE.match(subject):
        return int(match.group(1)), first_line
    if match := _SQUASH.match(subject):
        return int(match.group("number")), match.group("title")
    if match := _GITLAB_MERGE.search(body):
        return int(match.group(1)), first_line
    return None, None


def first_parent_commits(path: Path, revision: str, since: datetime | None) -> list[Commit]:
    """`revision`'s first-parent chain, oldest first, committed since `since` (all: None)."""
    args = ["log", "--first-parent", "--reverse", f"--format={_LOG_FORMAT}"]
    if since is not None:
        args.append(f"--since={int(since.timestamp())}")
    commits = []
    for record in git(path, *args, revision, "--").split(_RECORD):
        fields = record.lstrip("\n").split(_FIELD)
        if len(fields) != 6:
            continue  # the empty tail after the last record
        sha, parents, seconds, author, subject, body = fields
        number, title = pull_request(subject, body)
        commits.append(
            Commit(
                sha=sha,
                parent_sha=parents.split()[0] if parents else None,
                committed_at=datetime.fromtimestamp(int(seconds), UTC),
                author=author,
                subject=subject,
                pr_number=number,
                pr_title=title,
            )
        )
    starts = _branch_starts(path, revision, [commit.sha for commit in commits])
    return [replace(c, first_commit_at=starts.get(c.sha)) for c in commits]


def _branch_starts(path: Path, revision: str, mainline: list[str]) -> dict[str, datetime]:
    """When the branch each merge on `mainline` merged began: one more `git log`, over every
    commit since the oldest mainline one."""
    if not mainline:
        return {}
    listed = git(path, "log", "--format=%H %at %P", revision, f"^{mainline[0]}", "--")
    commits = {}
    for line in listed.splitlines():
        sha, authored, *parents = line.split()
        commits[sha] = (parents, int(authored))
    times = first_commit_times(mainline, commits)
    return {sha: datetime.fromtimestamp(seconds, UTC) for sha, seconds in times.items()}


def tag_deploys(path: Path, pattern: str, environment: str) -> list[PastDeploy]:
    """A deploy for each tag matching the glob `pattern`, at the tag's time (an annotated tag's
    tagger date, a lightweight tag's commit date), of the commit it points at."""
    listed = git(
        path,
        "for-each-ref",
        "refs/tags",
        "--format=%(refname:short)%00%(objectname)%00%(*objectname)%00%(creatordate:unix)",
    )
    deploys = []
    for line in listed.splitlines():
        name, target, peeled, seconds = line.split(_FIELD)
        if not fnmatch.fnmatchcase(name, pattern) or not seconds:
            continue
        deploys.append(
            PastDeploy(
                sha=peeled or target,  # an annotated tag points at its tag object
                environment=environment,
                finished_at=datetime.fromtimestamp(int(seconds), UTC),
                id=f"tag:{environment}:{name}",
            )
        )
    return sorted(deploys, key=lambda deploy: deploy.finished_at)


def _logged(row: dict, where: str, environment: str) -> PastDeploy:
    """One deploy log entry; ValueError naming the entry and the field at fault."""
    sha = str(row.get("sha") or "").strip()
    if not _SHA.match(sha):
        raise ValueError(f"{where}: sha {sha!r} is not a commit sha (7 to 64 hex digits)")
    finished_at = parse_time(row.get("finished_at"))
    if finished_at is None:
        raise ValueError(
            f"{where}: finished_at {row.get('finished_at')!r} is not a time "
            "(ISO 8601, e.g. 2026-11-20T10:04:30Z, or Unix seconds)"
        )
    status = str(row.get("status") or "succeeded").strip().lower()
    if status not in ("succeeded", "success", "failed", "failure"):
        raise ValueError(f"{where}: status {status!r}: use succeeded or failed")
    return PastDeploy(
        sha=sha.lower(),
        environment=str(row.get("environment") or environment).strip(),
        finished_at=finished_at,
        status="succeeded" if status.startswith("succe") else "failed",
        service=str(row["service"]).strip() if row.get("service") else None,
        id=str(row["id"]).strip() if row.get("id") else None,
    )


def deploy_log(file: Path, environment: str) -> list[PastDeploy]:
    """Deploys from a CSV file with a header (sha, finished_at; optional environment, status,
    service, id) or a JSON list of objects with the same keys."""
    try:
        text = file.read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"cannot read {file}: {error}") from error
    if file.suffix.lower() == ".json" or text.lstrip().startswith("["):
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"{file}: not JSON ({error})") from error
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise ValueError(f"{file}: expected a JSON list of objects")
        places = [f"{file}: entry {index + 1}" for index in range(len(rows))]
    else:
        reader = csv.DictReader(text.splitlines())
        missing = {"sha", "finished_at"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{file}: the CSV header lacks {', '.join(sorted(missing))}")
        rows = list(reader)
        places = [f"{file}: line {index + 2}" for index in range(len(rows))]
    return [_logged(row, where, environment) for row, where in zip(rows, places, strict=True)]
