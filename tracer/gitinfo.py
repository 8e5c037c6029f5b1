"""What the checkout says when the CI environment does not: sha, branch, remote, commit facts,
and the first-parent history of a revision (the mergesets a deploy may contain).

GitPython is imported here only, and only when a fact is missing, since it costs about 75 ms.
Every function returns what it could read and never raises: a missing repository, a detached
HEAD or a shallow clone only means fewer facts.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

SUBJECT_MAX_CHARS = 200


def _open(path: str):
    try:
        import git

        return git.Repo(path, search_parent_directories=True)
    except Exception:  # not a repository, or no git executable: fewer facts, not an error
        return None


def _iso(epoch_seconds: int) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat()


def read_checkout(path: str | None = None, revision: str | None = None) -> dict[str, str]:
    """Facts about the checkout at `path` (default: the working directory).

    Keys: sha, branch, repo_url, committed_at (ISO 8601 UTC), author (email). A key is absent
    when the checkout cannot tell it.
    """
    repo = _open(path or os.getcwd())
    if repo is None:
        return {}
    facts: dict[str, str] = {}
    try:
        commit = repo.commit(revision or "HEAD")
        facts["sha"] = commit.hexsha
        facts["committed_at"] = _iso(commit.committed_date)
        if commit.author.email:
            facts["author"] = commit.author.email
    except Exception:  # an empty repository has no HEAD commit
        pass
    try:
        if not repo.head.is_detached:
            facts["branch"] = repo.active_branch.name
    except Exception:
        pass
    try:
        remote = repo.remote("origin") if "origin" in repo.remotes else next(iter(repo.remotes))
        facts["repo_url"] = next(iter(remote.urls))
    except Exception:
        pass
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


def _branch_starts(repo, revision: str, history: list[dict[str, str]]) -> dict[str, str]:
    """sha -> ISO time of the first commit of the branch each merge in `history` merged: one
    `git log` over what the history spans, however many merges it holds."""
    try:
        listed = repo.git.log(
            "--format=%H %at %P",
            f"--max-count={BRANCH_COMMITS_MAX}",
            revision,
            f"^{history[-1]['sha']}",
        )
    except Exception:  # a shallow or odd repository: no branch starts, nothing else lost
        return {}
    commits = {}
    for line in listed.splitlines():
        sha, authored, *parents = line.split()
        commits[sha] = (parents, int(authored))
    times = first_commit_times([commit["sha"] for commit in history], commits)
    return {sha: _iso(seconds) for sha, seconds in times.items()}


def first_parent_history(
    revision: str, limit: int, path: str | None = None
) -> tuple[list[dict[str, str]], bool, bool]:
    """Up to `limit` commits on `revision`'s first-parent chain, newest first; whether the chain
    went on beyond the limit; and whether a shallow clone cut it (its oldest commit read is a
    shallow boundary: git knows it has parents it did not fetch). Each: sha, committed_at,
    author, subject, first_commit_at (the merged branch's first commit, "" when unknown)."""
    repo = _open(path or os.getcwd())
    if repo is None:
        return [], False, False
    history = []
    try:
        for commit in repo.iter_commits(revision, first_parent=True, max_count=limit + 1):
            history.append(
                {
                    "sha": commit.hexsha,
                    "committed_at": _iso(commit.committed_date),
                    "author": commit.author.email or "",
                    "subject": commit.summary[:SUBJECT_MAX_CHARS]
                    if isinstance(commit.summary, str)
                    else "",
                }
            )
    except Exception:  # unknown revision, or a shallow clone cut short: keep what was read
        pass
    kept = history[:limit]
    starts = _branch_starts(repo, revision, kept) if kept else {}
    for commit in kept:
        commit["first_commit_at"] = starts.get(commit["sha"], "")
    shallow = bool(kept) and len(history) <= limit and kept[-1]["sha"] in _shallow_boundary(repo)
    return kept, len(history) > limit, shallow


def _shallow_boundary(repo) -> set[str]:
    """The commits a shallow clone stops at (git's `shallow` file), none for a full clone."""
    try:
        with open(os.path.join(repo.git_dir, "shallow")) as listed:
            return {line.strip() for line in listed if line.strip()}
    except OSError:
        return set()
