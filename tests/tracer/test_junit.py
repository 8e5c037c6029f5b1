"""`leadtime step --junit`: one child span per test case from the reports the command wrote,
bounded, and never a changed exit code."""

from __future__ import annotations

import os
import sys
import textwrap
import time
import xml.etree.ElementTree as StdTree
from pathlib import Path

import pytest

from leadtime.tracer import junit
from tests.conftest import clean_env, run_leadtime

DATA = Path(__file__).parent.parent / "data" / "junit"
TINY_SUITE = """
import time
import pytest

def test_slow():
    time.sleep(0.6)

def test_fails():
    assert 1 == 2, "one is not two"

@pytest.mark.skip(reason="not today")
def test_skipped():
    pass
"""


@pytest.fixture
def env(tmp_path, receiver):
    return clean_env(tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint)


def _tests_of(receiver, step):
    return {s.name: s for s in receiver.spans if s.parent_span_id == step.span_id}


def test_a_real_pytest_report_becomes_one_child_span_per_case(env, receiver, tmp_path):
    (tmp_path / "test_tiny.py").write_text(TINY_SUITE)
    pytest_command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    pytest_command += ["--junitxml", "reports/unit.xml", "test_tiny.py"]
    done = run_leadtime(
        ["step", "unit", "--junit", "reports/*.xml", "--", *pytest_command],
        env,
        cwd=tmp_path,
    )
    assert done.returncode == 1  # pytest's own: a test failed
    assert "1 failed, 1 passed, 1 skipped" in done.stdout
    step = receiver.by_name("unit")
    assert (step.attributes["leadtime.tests.total"], step.attributes["leadtime.tests.failed"]) == (
        3,
        1,
    )
    assert step.attributes["leadtime.tests.skipped"] == 1
    tests = _tests_of(receiver, step)
    assert set(tests) == {"test_tiny.test_slow", "test_tiny.test_fails", "test_tiny.test_skipped"}
    slow, failed = tests["test_tiny.test_slow"], tests["test_tiny.test_fails"]
    assert (slow.end_ns - slow.start_ns) / 1e9 >= 0.6
    assert step.start_ns <= slow.start_ns and slow.end_ns <= step.end_ns
    assert slow.attributes["test.case.result.status"] == "pass"
    assert failed.attributes["test.case.result.status"] == "fail"
    assert failed.status_code == 2  # ERROR
    assert "one is not two" in failed.attributes["leadtime.test.failure.message"]
    assert tests["test_tiny.test_skipped"].attributes["test.case.result.status"] == "skipped"
    assert all(s.trace_id == step.trace_id for s in tests.values())


def _expected(path: Path) -> dict[str, tuple[str, float]]:
    """name -> (status, seconds), read with the standard library's parser, not junitparser."""
    found = {}
    for case in StdTree.parse(path).getroot().iter("testcase"):
        kinds = {child.tag for child in case}
        status = (
            "fail" if kinds & {"failure", "error"} else "skipped" if "skipped" in kinds else "pass"
        )
        classname, name = case.get("classname") or "", case.get("name") or ""
        full = name if name.startswith(classname) else f"{classname}.{name}"
        found[full] = (status, float(case.get("time") or 0))
    return found


@pytest.mark.parametrize("sample", ["surefire.xml", "jest.xml"])
def test_surefire_and_jest_reports_read_as_their_format_says(sample, tmp_path):
    copy = tmp_path / sample
    copy.write_bytes((DATA / sample).read_bytes())
    reading = junit.read([str(copy)], time.time_ns() - 10**9)
    assert reading.problems == []
    got = {case.name: (case.status, case.seconds) for case in reading.cases}
    assert got == _expected(copy)
    assert reading.total == len(got)
    assert reading.failed == sum(status == "fail" for status, _ in got.values())


def test_jest_cases_keep_their_file(tmp_path):
    copy = tmp_path / "jest.xml"
    copy.write_bytes((DATA / "jest.xml").read_bytes())
    files = {case.name: case.file for case in junit.read([str(copy)], 0).cases}
    assert files["cart adds an item"] == "src/cart.test.js"


def test_a_report_left_by_an_earlier_run_is_not_this_steps(env, receiver, tmp_path):
    old = tmp_path / "reports" / "old.xml"
    old.parent.mkdir()
    old.write_bytes((DATA / "surefire.xml").read_bytes())
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    done = run_leadtime(
        ["step", "unit", "--junit", "reports/*.xml", "--", "true"], env, cwd=tmp_path
    )
    assert done.returncode == 0
    assert "no report written by this step" in done.stderr
    step = receiver.by_name("unit")
    assert step.attributes["leadtime.tests.total"] == 0
    assert _tests_of(receiver, step) == {}


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<testsuite name="lolz"><testcase classname="x" name="&lol9;" time="1"/></testsuite>
"""


def _hostile_step(env, tmp_path, write_report: str, exit_code: int):
    """A step whose command writes a report (Python source) and exits with `exit_code`."""
    script = tmp_path / "write_report.py"
    script.write_text(textwrap.dedent(write_report) + f"\nraise SystemExit({exit_code})\n")
    return run_leadtime(
        ["step", "unit", "--junit", "out/*.xml", "--", sys.executable, str(script)],
        env,
        cwd=tmp_path,
        timeout=120,
    )


def test_entity_expansion_is_refused_and_the_step_keeps_its_exit_code(env, receiver, tmp_path):
    (tmp_path / "laughs.txt").write_text(BILLION_LAUGHS)
    source = """
    import pathlib
    pathlib.Path("out").mkdir()
    pathlib.Path("out/lol.xml").write_text(pathlib.Path("laughs.txt").read_text())
    """
    done = _hostile_step(env, tmp_path, source, 3)
    assert done.returncode == 3
    assert "out/lol.xml: refused" in done.stderr and "DTDForbidden" in done.stderr
    step = receiver.by_name("unit")
    assert step.attributes["leadtime.tests.total"] == 0
    assert _tests_of(receiver, step) == {}


def test_a_50_mb_report_is_refused_unread(env, receiver, tmp_path):
    source = """
    import pathlib
    pathlib.Path("out").mkdir()
    with open("out/huge.xml", "w") as report:
        report.write('<testsuite name="big">')
        case = '<testcase classname="big" name="padding" time="0.001"><system-out>'
        case += "x" * 4000 + '</system-out></testcase>'
        for _ in range(50 * 1024 * 1024 // len(case) + 1):
            report.write(case)
        report.write("</testsuite>")
    """
    started = time.monotonic()
    done = _hostile_step(env, tmp_path, source, 0)
    assert done.returncode == 0
    assert (tmp_path / "out" / "huge.xml").stat().st_size > 50 * 1024 * 1024
    assert "huge.xml: refused" in done.stderr and "byte bound" in done.stderr
    assert _tests_of(receiver, receiver.by_name("unit")) == {}
    assert time.monotonic() - started < 100  # generous: refused by its size, never parsed


def test_100000_cases_send_every_failure_and_the_slowest_up_to_the_bound(env, receiver, tmp_path):
    source = """
    import pathlib
    pathlib.Path("out").mkdir()
    cases = []
    for n in range(100_000):
        body = '<failure message="boom"/>' if n % 10_000 == 7 else ""
        seconds = f"{n / 100_000:.5f}"
        cases.append(f'<testcase classname="mod" name="t{n}" time="{seconds}">{body}</testcase>')
    report = '<testsuite name="many">' + "".join(cases) + "</testsuite>"
    pathlib.Path("out/many.xml").write_text(report)
    """
    env = {**env, "LEADTIME_JUNIT_MAX_TESTS": "50"}
    done = _hostile_step(env, tmp_path, source, 0)
    assert done.returncode == 0, done.stderr
    step = receiver.by_name("unit")
    assert step.attributes["leadtime.tests.total"] == 100_000
    assert step.attributes["leadtime.tests.failed"] == 10
    assert step.attributes["leadtime.tests.kept"] == 50
    tests = _tests_of(receiver, step)
    failures = {
        name for name, span in tests.items() if span.attributes["test.case.result.status"] == "fail"
    }
    assert failures == {f"mod.t{n}" for n in range(7, 100_000, 10_000)}
    slowest_passed = {f"mod.t{n}" for n in range(99_999, 99_959, -1)}
    assert set(tests) - failures == slowest_passed


def test_cache_hit_is_an_attribute_and_a_bad_value_a_clear_error(env, receiver, tmp_path):
    for value, expected in (("true", True), ("", False), ("FALSE", False)):
        done = run_leadtime(
            ["step", f"install-{expected}-{value}", "--cache-hit", value, "--", "true"], env
        )
        assert done.returncode == 0, done.stderr
        assert (
            receiver.by_name(f"install-{expected}-{value}").attributes["leadtime.cache.hit"]
            is expected
        )
    wrong = run_leadtime(["step", "install", "--cache-hit", "maybe", "--", "true"], env)
    assert wrong.returncode == 2
    assert "'maybe' is not true or false" in wrong.stderr
