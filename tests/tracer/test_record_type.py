"""Record, the tracer's light stand-in for dataclasses: fields by position or name, defaults
(mutable ones copied per record), equality, hashing, and clear errors."""

from __future__ import annotations

import pytest

from leadtime.tracer.record_type import Record


class Point(Record):
    x: int
    y: int = 0
    tags: dict[str, str] = {}  # noqa: RUF012 (copied for each record)


class Pair(Record):
    a: int
    b: str = ""


def test_fields_by_position_or_name_with_defaults():
    assert Point(1, 2).as_dict() == {"x": 1, "y": 2, "tags": {}}
    assert Point(x=3).as_dict() == {"x": 3, "y": 0, "tags": {}}


def test_a_mutable_default_is_each_record_s_own():
    first, second = Point(1), Point(2)
    first.tags["a"] = "b"
    assert second.tags == {} and Point.tags == {}


def test_equality_hash_and_repr_follow_the_values():
    assert Point(1, 2) == Point(x=1, y=2) != Point(1, 3)
    assert Point(1, 2) != (1, 2, {})
    assert len({Pair(1), Pair(1, ""), Pair(2)}) == 2
    assert repr(Point(1)) == "Point(x=1, y=0, tags={})"


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((), {}, "missing 'x'"),
        ((1, 2, {}, 4), {}, "takes 3 values"),
        ((1,), {"x": 2}, "unexpected or repeated 'x'"),
        ((1,), {"z": 2}, "unexpected or repeated 'z'"),
    ],
)
def test_wrong_fields_are_a_type_error(args, kwargs, message):
    with pytest.raises(TypeError, match=message):
        Point(*args, **kwargs)
