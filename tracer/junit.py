"""The test cases of the JUnit XML files a step's command wrote, bounded, for its test spans.

Read after the command has exited, and only with `leadtime step --junit GLOB`: the flavours of
pytest, Maven Surefire, Gradle, Jest (jest-junit) and go-junit-report share the `<testsuites>` /
`<testsuite>` / `<testcase>` shape that junitparser models; defusedxml parses, so a file that
declares entities (billion laughs, external entities) is refused, not expanded. The bounds:
- only files changed since the step started (a report left by an earlier run is not this
  step's), at most MAX_FILES of them, each at most MAX_FILE_BYTES (a larger one is refused
  unread);
- at most `limit` cases are kept for spans (LEADTIME_JUNIT_MAX_TESTS, default 200): every
  failure first, then the slowest of the rest; the counts say how many there were in all;
- a failure message is cut to MESSAGE_CHARS.
Whatever goes wrong becomes a problem line for the one warning; the step's exit code never
depends on it. Imported only when a step names reports.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from defusedxml import ElementTree
from junitparser import Attr, Error, Failure, JUnitXml, Skipped
from junitparser import TestCase as JUnitCase
from junitparser import TestSuite as JUnitSuite

MAX_FILES = 200
MAX_FILE_BYTES = 20 * 1024 * 1024
MESSAGE_CHARS = 500
DEFAULT_LIMIT = 200
PASSED, FAILED, SKIPPED = "pass", "fail", "skipped"  # test.case.result.status values


class WithFile(JUnitCase):
    file = Attr()  # pytest's xunit1 flavour and jest-junit name the test's file


class Suite(JUnitSuite):
    testcase = WithFile  # its cases read with their file


@dataclass(frozen=True)
class Case:
    name: str  # the fully qualified name: class (or file) and case
    suite: str | None
    classname: str | None
    file: str | None
    seconds: float
    status: str  # PASSED, FAILED or SKIPPED
    message: str | None = None


@dataclass
class Reading:
    cases: list[Case] = field(default_factory=list)  # the kept ones, failures first
    total: int = 0
    failed: int = 0
    skipped: int = 0
    files: int = 0
    problems: list[str] = field(default_factory=list)


def report_files(patterns: Sequence[str], since_ns: int) -> tuple[list[str], list[str]]:
    """(files changed since `since_ns` that the globs match, problems)."""
    found: list[str] = []
    problems: list[str] = []
    for pattern in patterns:
        matched = sorted(glob.glob(pattern, recursive=True))
        fresh = [path for path in matched if _changed_since(path, since_ns)]
        if not fresh:
            problems.append(f"--junit {pattern}: no report written by this step")
        found.extend(path for path in fresh if path not in found)
    if len(found) > MAX_FILES:
        problems.append(f"--junit: {len(found)} files, only the first {MAX_FILES} read")
    return found[:MAX_FILES], problems


def _changed_since(path: str, since_ns: int) -> bool:
    try:
        stat = os.stat(path)
    except OSError:
        return False
    # One second of slack: some file systems keep modification times in whole seconds.
    return os.path.isfile(path) and stat.st_mtime_ns >= since_ns - 1_000_000_000


def _text(value: object, limit: int = MESSAGE_CHARS) -> str | None:
    if not value:
        return None
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _seconds(case) -> float:
    try:
        return max(0.0, float(case.time or 0.0))
    except ValueError:  # a time that is not a number: the case ran, for an unknown time
        return 0.0


def _case(suite_name: str | None, case: WithFile) -> Case:
    results = case.result
    failure = next((r for r in results if isinstance(r, (Failure, Error))), None)
    skipped = not failure and any(isinstance(r, Skipped) for r in results)
    classname = case.classname or None
    raw_name = str(case.name or "")
    # jest-junit puts the whole title in both; others give the class and the method
    qualified = classname and raw_name and not raw_name.startswith(classname)
    name = f"{classname}.{raw_name}" if qualified else raw_name or str(classname)
    message = None
    if failure is not None:
        message = _text(failure.message) or _text(failure.text)
    return Case(
        name=name[:500],
        suite=suite_name,
        classname=classname,
        file=case.file,
        seconds=_seconds(case),
        status=FAILED if failure is not None else SKIPPED if skipped else PASSED,
        message=message,
    )


def parse_file(path: str) -> list[Case]:
    """Every case of one report; raises on a file that is too large, unsafe or not JUnit."""
    size = os.path.getsize(path)
    if size > MAX_FILE_BYTES:
        raise ValueError(f"{size} bytes, over the {MAX_FILE_BYTES}-byte bound")
    root: Any = ElementTree.parse(path, forbid_dtd=True).getroot()  # junitparser types lxml's
    cases: list[Case] = []
    for found in JUnitXml.fromroot(root):
        suite = Suite.fromelem(found)
        name = _text(suite.name, 500)
        cases.extend(_case(name, case) for case in suite)
    return cases


def kept(cases: list[Case], limit: int) -> list[Case]:
    """Every failure first, then the slowest of the rest, `limit` in all."""
    failures = [case for case in cases if case.status == FAILED]
    others = sorted(
        (case for case in cases if case.status != FAILED), key=lambda c: c.seconds, reverse=True
    )
    return (failures + others)[:limit]


def read(patterns: Sequence[str], since_ns: int, limit: int = DEFAULT_LIMIT) -> Reading:
    """The cases of the reports the globs match (see the module)."""
    paths, problems = report_files(patterns, since_ns)
    reading = Reading(problems=problems)
    cases: list[Case] = []
    for path in paths:
        try:
            found = parse_file(path)
        except Exception as error:  # one bad report must not lose the others
            reading.problems.append(f"--junit {path}: refused ({type(error).__name__}: {error})")
            continue
        reading.files += 1
        cases.extend(found)
    reading.total = len(cases)
    reading.failed = sum(case.status == FAILED for case in cases)
    reading.skipped = sum(case.status == SKIPPED for case in cases)
    reading.cases = kept(cases, limit)
    return reading
