"""A git repository whose main branch grew over a few weeks: pull requests merged with a merge
commit or squash-merged, by several authors, on weekdays in working hours.

Commits are written with GitPython's index (no checkout, no subprocess per commit), with their
author and commit dates in the past, so the mergesets' merge times are the history's own.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import git

REPOSITORY_URL = "https://github.com/acme/shop"
AUTHORS = (
    ("Ada Okafor", "ada@acme.example"),
    ("Bo Lindqvist", "bo@acme.example"),
    ("Chen Wei", "chen@acme.example"),
    ("Dara Murphy", "dara@acme.example"),
    ("Esi Mensah", "esi@acme.example"),
)
CHANGES = (
    "Add cart badge",
    "Search by category",
    "Faster checkout form",
    "Retry payment webhooks",
    "Gift card balance page",
    "Fix currency rounding",
    "Lazy-load product images",
    "Order history filters",
    "Refund emails in French",
    "Stock alerts for admins",
    "Shorter session timeout",
    "Wishlist sharing",
)


@dataclass(frozen=True)
class Mergeset:
    number: int  # the pull request's number
    sha: str
    merged_at: datetime
    author: str
    title: str
    squashed: bool


def merge_times(end: datetime, days: int, rng: random.Random) -> list[datetime]:
    """One to three merges on each weekday of the `days` before `end`, between 9:00 and 18:00."""
    times = []
    start = (end - timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)
    for day in range(days + 1):
        date = start + timedelta(days=day)
        if date.weekday() >= 5:
            continue
        minutes = sorted(rng.sample(range(9 * 60, 18 * 60), rng.choice((1, 2, 2, 3))))
        times += [date + timedelta(minutes=m, seconds=rng.randrange(60)) for m in minutes]
    return [t for t in times if t < end]


class Repository:
    """The repository being written: main's head, and a clock that only moves forward."""

    def __init__(self, path: Path, started: datetime) -> None:
        self.repo = git.Repo.init(path, initial_branch="main")
        self.repo.create_remote("origin", REPOSITORY_URL + ".git")
        self.path = path
        self.head = self._commit("README.md", "# shop\n", "Initial commit", AUTHORS[0], started)

    def _commit(
        self,
        name: str,
        text: str,
        message: str,
        author: tuple[str, str],
        when: datetime,
        parents: list[git.Commit] | None = None,
        on_main: bool = True,
    ) -> git.Commit:
        (self.path / name).parent.mkdir(parents=True, exist_ok=True)
        (self.path / name).write_text(text)
        self.repo.index.add([name])
        actor = git.Actor(*author)
        stamp = f"{int(when.timestamp())} +0000"  # git's own date format
        return self.repo.index.commit(
            message,
            parent_commits=parents,
            head=on_main,
            author=actor,
            committer=actor,
            author_date=stamp,
            commit_date=stamp,
        )

    def merge_pull_request(
        self, number: int, title: str, author: tuple[str, str], merged_at: datetime, squash: bool
    ) -> git.Commit:
        """A branch of one or two commits written an hour or so before `merged_at`, then merged
        (a merge commit whose second parent is the branch) or squashed (one commit on main)."""
        name = f"src/change_{number}.py"
        branch_start = merged_at - timedelta(minutes=70)
        work = self._commit(
            name, f"# {title}\n", title, author, branch_start, [self.head], on_main=False
        )
        if squash:
            work = self._commit(
                name,
                f"# {title}\nDONE = True\n",
                f"{title}: review",
                author,
                branch_start + timedelta(minutes=40),
                [work],
                on_main=False,
            )
            self.head = self._commit(
                name,
                f"# {title}\nDONE = True\n",
                f"{title} (#{number})",
                author,
                merged_at,
                [self.head],
            )
        else:
            message = f"Merge pull request #{number} from acme/change-{number}\n\n{title}"
            self.head = self._commit(
                name, f"# {title}\n", message, author, merged_at, [self.head, work]
            )
        return self.head


def build(path: Path, end: datetime, days: int, rng: random.Random) -> list[Mergeset]:
    """The repository at `path`, and its mergesets oldest first (the initial commit included)."""
    times = merge_times(end, days, rng)
    started = times[0] - timedelta(days=1)
    repository = Repository(path, started)
    first = repository.head
    mergesets = [
        Mergeset(0, first.hexsha, started, str(first.author.name), str(first.summary), False)
    ]
    for index, merged_at in enumerate(times, start=1):
        author = AUTHORS[rng.randrange(len(AUTHORS))]
        title = CHANGES[index % len(CHANGES)]
        squash = rng.random() < 0.4
        commit = repository.merge_pull_request(index, title, author, merged_at, squash)
        mergesets.append(Mergeset(index, commit.hexsha, merged_at, author[0], title, squash))
    return mergesets
