"""Reverts (DESIGN.md): a mergeset that reverts another is linked to it. git writes a revert's
subject as `Revert "<the reverted subject>"`; GitHub's revert button makes a pull request titled
the same way from a branch `revert-<N>-...` (N: the reverted pull request), squash merges add
` (#N)` to a title. The reverted mergeset is the latest earlier one (first-parent order) whose
subject or pull request title is the quoted one, or whose pull request is N.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_REVERT = re.compile(r'^Revert "(?P<inner>.+)"(?: \(#\d+\))?$')
_REVERT_BRANCH = re.compile(r"^Merge pull request #\d+ from [^/\s]+/revert-(?P<number>\d+)-")
_SQUASHED = re.compile(r" \(#\d+\)$")


@dataclass(frozen=True)
class Change:
    sha: str
    title: str | None
    pr_title: str | None
    pr_number: int | None


def _names(change: Change) -> set[str]:
    """What a revert may quote of this change: its subject and its pull request's title, with
    and without a squash merge's ` (#N)`."""
    names = {text for text in (change.title, change.pr_title) if text}
    return names | {unsquashed(name) for name in names}


def reverted_by_name(change: Change) -> tuple[str | None, int | None]:
    """(the quoted title, the reverted pull request's number) a revert names; (None, None) when
    it is no revert."""
    for text in (change.pr_title, change.title):
        if text and (match := _REVERT.match(text)):
            return match.group("inner"), None
    if change.title and (match := _REVERT_BRANCH.match(change.title)):
        return None, int(match.group("number"))
    return None, None


def unsquashed(title: str) -> str:
    """A title without a squash merge's ` (#N)`."""
    return _SQUASHED.sub("", title)


def revert_links(ordered: Iterable[Change]) -> dict[str, str]:
    """For changes in first-parent order: the sha of each revert -> the sha it reverts."""
    by_name: dict[str, str] = {}
    by_number: dict[int, str] = {}
    links: dict[str, str] = {}
    for change in ordered:
        quoted, number = reverted_by_name(change)
        target = by_name.get(unsquashed(quoted)) if quoted else None
        if target is None and number is not None:
            target = by_number.get(number)
        if target is not None and target != change.sha:
            links[change.sha] = target
        for name in _names(change):
            by_name[name] = change.sha
        if change.pr_number is not None:
            by_number[change.pr_number] = change.sha
    return links
