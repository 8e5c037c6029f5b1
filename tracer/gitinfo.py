"""What the checkout says when the CI environment does not: sha, branch, remote, commit facts,
and the first-parent history of a revision (the mergesets a deploy may contain).

Read with the `git` command itself, in as few calls as the facts allow (two for a checkout's
facts), since a step waits for them: GitPython costs about 75 ms to import and runs `git` five
times for the same facts. Every function returns what it could read and never raises: a missing
repository or git, a detached HEAD or a shallow clone only means fewer facts.
"""

from __future__ import annotations

import os

SUBJECT_MAX_CHARS = 200
GIT_TIMEOUT_SECONDS = 10  # a git read that hangs (a network filesystem) costs facts, not the step
FIELD = "\x1f"  # between the fields of one commit in `git log --format`
COMMIT_FORMAT = FIELD.join(("%H", "%ct", "%ae"))


def _git(args: list[str], path: str | None) -> str | None:
    """git's output, or None when git is missing, fails or hangs."""
    import subprocess  # here, not at the top: a step whose CI variables say enough never pays it

    try:
        done = subprocess.run(
            ["git", "-C", path or os.getcwd(), *args],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=GIT_TIMEOUT_SECONDS,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"},
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def _iso(epoch_seconds: int) -> str:
    from datetime import UTC, datetime  # only once git was read: a step without it never pays

    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat()


def _commit_facts(line: str) -> dict[str, str]:
    sha, committed, author, *_ = [*line.split(FIELD), "", ""]
    facts = {"sha": sha, "committed_at": _iso(int(committed))}
    if author:
        facts["author"] = author
    return facts


def _branch(decorations: str) -> str | None:
    """The branch HEAD is on, from `%D` ("HEAD -> main, origin/main"); None when detached."""
    for name in decorations.split(", "):
        if name.startswith("HEAD -> "):
            return name.removeprefix("HEAD -> ")
    return None


def _head_facts(path: str | None, revision: str | None) -> dict[str, str]:
    """The commit facts of `revision` (default HEAD) and HEAD's branch, in one `git log`: the
    revision first, then HEAD with its decorations (one line when they are the same commit)."""
    wanted = [revision] if revision and revision != "HEAD" else []
    listed = _git(
        ["log", "--no-walk=unsorted", f"--format={COMMIT_FORMAT}{FIELD}%D", *wanted, "HEAD", "--"],
        path,
    )
    if listed is None and wanted:  # a revision the checkout lacks: HEAD's branch still counts
        branch = _head_facts(path, None).get("branch")
        return {"branch": branch} if branch else {}
    if listed is None:  # no commit yet (a new repository): only the branch
        branch = (_git(["symbolic-ref", "-q", "--short", "HEAD"], path) or "").strip()
        return {"branch": branch} if branch else {}
    lines = listed.splitlines()
    facts = _commit_facts(lines[0]) if lines else {}
    for line in lines:
        branch = _branch(line.split(FIELD)[-1])
        if branch:
            facts["branch"] = branch
    return facts


def _remote_url(path: str | None) -> str | None:
    """origin's URL, else the first remote's."""
    listed = _git(["config", "--get-regexp", r"^remote\..*\.url$"], path)
    urls = dict(line.split(" ", 1) for line in (listed or "").splitlines() if " " in line)
    return urls.get("remote.origin.url") or next(iter(urls.values()), None)


def read_checkout(path: str | None = None, revision: str | None = None) -> dict[str, str]:
    """Facts about the checkout at `path` (default: the working directory).

    Keys: sha, branch, repo_url, committed_at (ISO 8601 UTC), author (email). A key is absent
    when the checkout cannot tell it.
    """
    facts = _head_facts(path, revision)
    url = _remote_url(path) if facts else None  # nothing at all: no repository here
    if url:
        facts["repo_url"] = url
    return facts


BRANCH_COMMITS_MAX = 20_000  # commits read to find where merged branches began


def first_commit_times(
    mainline: list[str], commits: dict[str, tuple[list[str], int]]
) -> dict[str, int]:
    """For each merge commit on `mainline` (first-parent shas), the author time (Unix seconds)
    of the oldest commit of the branch it merged: walked back from its second and later parents
    until the main line or the end of what was read (`commits`: sha -> (parents, author
    time)). A commit with one parent (a squash or rebase merge) has no branch to tell."""
    on_main = set(mainline)
    found = {}
    for sha in mainline:
        parents = commits.get(sha, ([], 0))[0]
        todo, seen, oldest = list(parents[1:]), set(), None
        while todo:
            current = todo.pop()
            if current in seen or current in on_main or current not in commits:
                continue
            seen.add(current)
            current_parents, authored = commits[current]
            oldest = authored if oldest is None else min(oldest, authored)
            todo.extend(current_parents)
        if oldest is not None:
            found[sha] = oldest
    return found


def _branch_starts(path: str | None, revision: str, history: list[dict[str, str]]):
    """sha -> ISO time of the first commit of the branch each merge in `history` merged: one
    `git log` over what the history spans, however many merges it holds."""
    listed = _git(
        [
            "log",
            "--format=%H %at %P",
            f"--max-count={BRANCH_COMMITS_MAX}",
            revision,
            f"^{history[-1]['sha']}",
            "--",
        ],
        path,
    )
    commits = {}
    for line in (listed or "").splitlines():  # a shallow or odd repository: no branch starts
        sha, authored, *parents = line.split()
        commits[sha] = (parents, int(authored))
    times = first_commit_times([commit["sha"] for commit in history], commits)
    return {sha: _iso(seconds) for sha, seconds in times.items()}


def _first_parents(revision: str, count: int, path: str | None) -> list[dict[str, str]]:
    listed = _git(
        [
            "log",
            "--first-parent",
            f"--max-count={count}",
            f"--format={COMMIT_FORMAT}{FIELD}%s",
            revision,
            "--",
        ],
        path,
    )
    history = []
    for line in (listed or "").splitlines():  # unknown revision: nothing read
        facts = _commit_facts(line)
        history.append(
            {
                "sha": facts["sha"],
                "committed_at": facts["committed_at"],
                "author": facts.get("author", ""),
                "subject": line.split(FIELD, 3)[3][:SUBJECT_MAX_CHARS],
            }
        )
    return history


def first_parent_history(
    revision: str, limit: int, path: str | None = None
) -> tuple[list[dict[str, str]], bool, bool]:
    """Up to `limit` commits on `revision`'s first-parent chain, newest first; whether the chain
    went on beyond the limit; and whether a shallow clone cut it (its oldest commit read is a
    shallow boundary: git knows it has parents it did not fetch). Each: sha, committed_at,
    author, subject, first_commit_at (the merged branch's first commit, "" when unknown)."""
    history = _first_parents(revision, limit + 1, path)
    kept = history[:limit]
    starts = _branch_starts(path, revision, kept) if kept else {}
    for commit in kept:
        commit["first_commit_at"] = starts.get(commit["sha"], "")
    ended = bool(kept) and len(history) <= limit
    shallow = ended and kept[-1]["sha"] in _shallow_boundary(path)
    return kept, len(history) > limit, shallow


def _shallow_boundary(path: str | None) -> set[str]:
    """The commits a shallow clone stops at (git's `shallow` file), none for a full clone."""
    where = (_git(["rev-parse", "--git-path", "shallow"], path) or "").strip()
    if not where:
        return set()
    try:
        with open(os.path.join(path or os.getcwd(), where)) as listed:
            return {line.strip() for line in listed if line.strip()}
    except OSError:
        return set()
