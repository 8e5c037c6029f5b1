"""Packed lists of milliseconds read back exactly as they were written."""

from __future__ import annotations

import json
import random
from array import array

from leadtime.server.domain.int_lists import (
    ints,
    pack,
    pack_lists,
    unpack,
    unpack_array,
    unpack_arrays,
    unpack_lists,
)


def test_lists_read_back_as_written():
    rng = random.Random(3)
    for _ in range(50):
        lists = [
            [rng.randrange(-(2**31) + 1, 2**31) for _ in range(rng.randrange(0, 40))]
            for _ in range(rng.randrange(0, 12))
        ]
        field = json.loads(json.dumps(pack_lists(lists)))  # as a JSON column gives it back
        assert unpack_lists(field) == lists
        arrays = unpack_arrays(field)
        assert [values.typecode for values in arrays] == ["i"] * len(lists)
        assert [values.tolist() for values in arrays] == lists
        assert pack_lists(arrays) == field  # arrays pack as their lists do
        flat = [value for values in lists for value in values]
        assert unpack(pack(flat)) == flat
        assert unpack_array(pack(flat)).tolist() == flat


def test_a_packed_field_is_one_short_string():
    lists = [[900_000 + n for n in range(1000)] for _ in range(10)]
    field = pack_lists(lists)
    assert isinstance(field, str) and len(field) < len(json.dumps(lists))


def test_plain_lists_written_before_packing_are_read_as_they_are():
    assert unpack_lists([[1, 2], [3]]) == [[1, 2], [3]]
    assert unpack([4, 5]) == [4, 5]
    assert unpack_arrays([[1, 2], [3]]) == [array("i", [1, 2]), array("i", [3])]
    assert unpack_array([4, 5]) == array("i", [4, 5])


def test_values_beyond_32_bits_are_kept_at_the_bound():
    assert unpack_lists(pack_lists([[2**40, 7], [-(2**40)]])) == [[2**31 - 1, 7], [-(2**31 - 1)]]


def test_plain_values_beyond_32_bits_are_read_at_the_bound():
    assert unpack_arrays([[2**40, 7]]) == [array("i", [2**31 - 1, 7])]
    assert ints([-(2**40)]) == array("i", [-(2**31 - 1)])
