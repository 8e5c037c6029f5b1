"""Real git repositories for the tests, built with GitPython: merges, squash merges, tags; and
plain git's answers (a `git` process, none of our code) to check what leadtime says against."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import git

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


class History:
    """A repository whose main branch grows by merge commits, squash merges and fast-forwards."""

    def __init__(
        self,
        path: Path,
        remote: str = "git@github.com:acme/shop.git",
        start: datetime = START,
        tick: timedelta = timedelta(minutes=7),
    ) -> None:
        self.repo = git.Repo.init(path, initial_branch="main")
        with self.repo.config_writer() as config:
            config.set_value("user", "name", "Ada")
            config.set_value("user", "email", "ada@example.com")
        self.repo.create_remote("origin", remote)
        self.clock, self.tick = start, tick
        self.path = path
        self._commit_file("README", "shop\n", "initial commit", "ada@example.com")

    def _tick(self) -> str:
        self.clock += self.tick
        return f"{int(self.clock.timestamp())} +0000"  # git's internal date format

    def _commit_file(self, name: str, text: str, message: str, email: str) -> git.Commit:
        (self.path / name).write_text(text)
        self.repo.index.add([name])
        when = self._tick()
        actor = git.Actor(email.split("@")[0].title(), email)
        return self.repo.index.commit(
            message, author=actor, committer=actor, author_date=when, commit_date=when
        )

    def merge(
        self, branch: str, email: str = "bob@example.com", message: str = "", commits: int = 1
    ) -> str:
        """A feature branch with `commits` commits, merged with a merge commit (--no-ff)."""
        self.repo.git.checkout("-B", branch, "main")
        for number in range(commits):
            self._commit_file(f"{branch}.txt", f"{branch} {number}", f"work on {branch}", email)
        self.repo.git.checkout("main")
        when = self._tick()
        self.repo.git.merge(
            "--no-ff",
            branch,
            "-m",
            message or f"Merge branch '{branch}'",
            env={"GIT_COMMITTER_DATE": when, "GIT_AUTHOR_DATE": when},
        )
        return self.repo.head.commit.hexsha

    def squash(self, branch: str, email: str = "cy@example.com", title: str = "") -> str:
        """A feature branch with two commits, squash-merged into one commit on main."""
        self.repo.git.checkout("-B", branch, "main")
        self._commit_file(f"{branch}.txt", "one", f"{branch} part 1", email)
        self._commit_file(f"{branch}.txt", "two", f"{branch} part 2", email)
        self.repo.git.checkout("main")
        self.repo.git.merge("--squash", branch)
        when = self._tick()
        actor = git.Actor("Cy", email)
        commit = self.repo.index.commit(
            title or f"{branch} (squashed)",
            author=actor,
            committer=actor,
            author_date=when,
            commit_date=when,
        )
        return commit.hexsha

    def fast_forward(self, branch: str, email: str = "dee@example.com") -> str:
        self.repo.git.checkout("-B", branch, "main")
        commit = self._commit_file(f"{branch}.txt", branch, f"{branch}", email)
        self.repo.git.checkout("main")
        self.repo.git.merge("--ff-only", branch)
        return commit.hexsha

    def direct_pushes(self, count: int, email: str = "old@example.com") -> list[str]:
        """`count` commits straight on main, one file each: years of history, quickly."""
        return [
            self._commit_file(f"history-{i}.txt", str(i), f"change {i}", email).hexsha
            for i in range(count)
        ]

    def revert(self, sha: str) -> str:
        """`git revert` of a commit on main (of a merge commit: against its first parent)."""
        when = self._tick()
        mainline = ["-m", "1"] if len(self.repo.commit(sha).parents) > 1 else []
        self.repo.git.revert(
            "--no-edit", *mainline, sha, env={"GIT_COMMITTER_DATE": when, "GIT_AUTHOR_DATE": when}
        )
        return self.repo.head.commit.hexsha

    def tag(self, name: str) -> None:
        self.repo.create_tag(name)

    def annotated_tag(self, name: str, at: datetime) -> None:
        """An annotated tag whose tagger date is `at` (a lightweight tag has only the commit's)."""
        when = f"{int(at.timestamp())} +0000"
        self.repo.git.tag("-a", name, "-m", f"release {name}", env={"GIT_COMMITTER_DATE": when})

    def committed_at(self, sha: str) -> datetime:
        return self.repo.commit(sha).committed_datetime

    def checkout(self, sha: str) -> None:
        """Detach HEAD at `sha`, as a CI checkout does."""
        self.repo.git.checkout("--detach", sha)

    def first_parent(self) -> list[str]:
        return [c.hexsha for c in self.repo.iter_commits("main", first_parent=True)]


def plain_git(path: Path, *args: str) -> list[str]:
    """The words `git args...` prints in the repository at `path`."""
    done = subprocess.run(["git", *args], cwd=path, capture_output=True, text=True, check=True)
    return done.stdout.split()


def first_parent_between(path: Path, after: str | None, upto: str) -> list[str]:
    """Plain git's answer to "what does a deploy of `upto` ship after one of `after`", oldest
    first."""
    span = f"{after}..{upto}" if after else upto
    return plain_git(path, "rev-list", "--first-parent", "--reverse", span)


def plain_committed_at(path: Path, sha: str) -> datetime:
    (seconds,) = plain_git(path, "log", "-1", "--format=%ct", sha)
    return datetime.fromtimestamp(int(seconds), UTC)
