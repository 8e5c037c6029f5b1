"""What every span meets before it is stored: rules of our own, the same on every database.

SQLite stores nearly anything and PostgreSQL refuses some of it (a NUL byte in text, a number
over its column's range, text over its column's length), so a span is checked here, alone, and
a bad one is rejected by itself (OTLP's partial success) instead of failing its whole request
with a 400 nobody retries or a 500 everybody retries:

- every string (names, keys, values, inside arrays and kvlists too) is free of NUL bytes and
  every double is a finite number;
- a span's start and end, and every time it carries, fall between EARLIEST and LATEST;
- an attribute leadtime reads (KNOWN) has the kind the conventions give it: an identifier (a
  sha, an environment, a URL) over its limit is refused, free text (a pipeline's name, an
  author, a subject) is cut to it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from leadtime.server.timeparse import parse_time
from leadtime.tracer import attributes as attr

# CI/CD spans and the commits they carry fall in this range; a time outside it is a broken
# clock or a forged span, and would turn every lead time it touches into nonsense.
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
INT32 = 2**31


class SpanProblem(ValueError):
    """Why a span (or a resource, for all its spans) cannot be stored."""


@dataclass(frozen=True)
class Rule:
    kind: str  # one of the _CHECKS below
    limit: int = 0  # characters


def _identifier(name: str, value, rule: Rule):
    if not isinstance(value, str):
        raise SpanProblem(f"{name} must be a string, not {_kind(value)}")
    if len(value) > rule.limit:
        raise SpanProblem(f"{name} is {len(value)} characters, over {rule.limit}")
    return value


def _number_or_identifier(name: str, value, rule: Rule):
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return _identifier(name, value, rule)


def _text(name: str, value, rule: Rule):
    if not isinstance(value, str):
        raise SpanProblem(f"{name} must be a string, not {_kind(value)}")
    return value[: rule.limit]


def _int32(name: str, value, rule: Rule):
    if not isinstance(value, int) or isinstance(value, bool):
        raise SpanProblem(f"{name} must be an integer, not {_kind(value)}")
    if not -INT32 <= value < INT32:
        raise SpanProblem(f"{name} {value} is out of range (a 32-bit integer)")
    return value


def _flag(name: str, value, rule: Rule):
    if not isinstance(value, bool):
        raise SpanProblem(f"{name} must be a boolean, not {_kind(value)}")
    return value


def _time(name: str, value, rule: Rule):
    if value == "":  # "unknown", as the tracer writes it inside a list
        return value
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise SpanProblem(f"{name} must be a time, not {_kind(value)}")
    moment = parse_time(value)
    if moment is None:
        raise SpanProblem(f"{name} {str(value)[:40]!r} is not a time in UTC's calendar")
    in_range(name, moment)
    return value


def _list_of(check):
    def checked(name: str, value, rule: Rule):
        if not isinstance(value, list):
            raise SpanProblem(f"{name} must be an array, not {_kind(value)}")
        return [check(f"{name}[{index}]", item, rule) for index, item in enumerate(value)]

    return checked


_CHECKS = {
    "identifier": _identifier,
    "number or identifier": _number_or_identifier,
    "text": _text,
    "int32": _int32,
    "flag": _flag,
    "time": _time,
    "identifiers": _list_of(_identifier),
    "texts": _list_of(_text),
    "times": _list_of(_time),
}

# Limits are the columns' lengths in models.py.
KNOWN: dict[str, Rule] = {
    attr.SERVICE_NAME: Rule("identifier", 200),
    attr.PIPELINE_NAME: Rule("text", 300),
    attr.PIPELINE_RUN_ID: Rule("number or identifier", 200),
    attr.PIPELINE_RUN_ATTEMPT: Rule("number or identifier", 50),
    attr.PIPELINE_RUN_URL: Rule("identifier", 1000),
    attr.PIPELINE_RESULT: Rule("identifier", 50),
    attr.TASK_RUN_RESULT: Rule("identifier", 50),
    attr.TASK_RUN_URL: Rule("identifier", 1000),
    attr.TASK_TYPE: Rule("identifier", 50),
    attr.CI_PROVIDER: Rule("identifier", 50),
    attr.REPOSITORY_URL: Rule("identifier", 500),
    attr.REPOSITORY_NAME: Rule("identifier", 200),
    attr.REF_HEAD_NAME: Rule("identifier", 300),
    attr.REF_HEAD_REVISION: Rule("identifier", 64),
    attr.REF_HEAD_TYPE: Rule("identifier", 20),
    attr.PROCESS_EXIT_CODE: Rule("int32"),
    attr.DEPLOYMENT_ENVIRONMENT: Rule("identifier", 200),
    attr.DEPLOYMENT_ID: Rule("number or identifier", 300),
    attr.DEPLOYMENT_STATUS: Rule("identifier", 20),
    attr.COMMIT_COMMITTED_AT: Rule("time"),
    attr.COMMIT_AUTHOR: Rule("text", 300),
    attr.HISTORY_REVISIONS: Rule("identifiers", 64),
    attr.HISTORY_COMMITTED_AT: Rule("times"),
    attr.HISTORY_FIRST_COMMIT_AT: Rule("times"),
    attr.HISTORY_AUTHORS: Rule("texts", 300),
    attr.HISTORY_SUBJECTS: Rule("texts", 500),
    attr.HISTORY_TRUNCATED: Rule("flag"),
    attr.HISTORY_SHALLOW: Rule("flag"),
}


def _kind(value) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a kvlist"
    return "nothing" if value is None else "a string"


def storable(where: str, value) -> None:
    """No NUL byte in any string, no NaN or infinity in any double, all the way down."""
    if not _clean(value):
        _name_the_problem(where, value)


def _clean(value) -> bool:
    """storable's rule without naming anything: every span is checked, few fail."""
    if isinstance(value, str):
        return "\0" not in value
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(map(_clean, value))
    if isinstance(value, dict):
        for key, item in value.items():
            if "\0" in key:
                return False
            if type(item) is str:  # nearly every attribute: checked here, without a call
                if "\0" in item:
                    return False
            elif not _clean(item):
                return False
    return True


def _name_the_problem(where: str, value) -> None:
    """Raise SpanProblem naming the first value that breaks storable's rule, and where it is."""
    if isinstance(value, str):
        if "\0" in value:
            raise SpanProblem(f"{where} holds a NUL byte")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise SpanProblem(f"{where} is not a finite number")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _name_the_problem(f"{where}[{index}]", item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _name_the_problem(f"{where} key {key[:40]!r}", key)
            _name_the_problem(f"{where}.{key}", item)


def in_range(name: str, moment: datetime) -> None:
    if not EARLIEST <= moment < LATEST:
        raise SpanProblem(
            f"{name} {moment:%Y-%m-%d} is out of range ({EARLIEST:%Y} to {LATEST:%Y})"
        )


def checked_value(name: str, value):
    """One attribute's value as stored (free text cut to fit), or SpanProblem."""
    storable(name, value)
    rule = KNOWN.get(name)
    return _CHECKS[rule.kind](name, value, rule) if rule else value


def checked_attributes(attributes: dict) -> dict:
    """The attributes as stored (free text cut to fit), or SpanProblem naming the first
    problem."""
    storable("attribute", attributes)
    fitted = dict(attributes)
    for name, value in attributes.items():  # a span names a few of KNOWN: look only at those
        rule = KNOWN.get(name)
        if rule is not None:
            fitted[name] = _CHECKS[rule.kind](name, value, rule)
    return fitted
