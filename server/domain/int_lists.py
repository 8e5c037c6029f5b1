"""Lists of whole numbers packed into one string, for the stored step summaries and day rollups
that hold hundreds of thousands of milliseconds (domain/run_summaries.py, domain/step_days.py).

A packed field is base64 of little-endian 32-bit integers: how many lists, each one's length,
then every value. Reading one is a copy, not a parse (about twice as fast as JSON's lists), and
a reader unpacks only the fields it needs: the slowest-steps report's previous window reads the
durations of steps and queues alone, the regression rule those of steps. The report unpacks
into arrays of 32-bit integers (unpack_arrays) and sums them as arrays: a value becomes a
Python int only where a percentile sorts it, and copying a day's lists is a memory copy. A
field written before fields were packed holds plain lists and is read as it is. Values beyond
32 bits (a step of more than 24 days: a broken clock) are stored at the bound.
"""

from __future__ import annotations

import base64
import sys
from array import array
from collections.abc import Sequence
from itertools import chain

_BOUND = 2**31 - 1
_SWAP = sys.byteorder == "big"  # stored little-endian whatever the machine

Ints = array  # of 32-bit integers ("i"), as unpack_arrays gives them


def ints(values: Sequence[int] = ()) -> Ints:
    """The values as an array of 32-bit integers, each beyond the bound stored at it."""
    if not values:
        return array("i")
    try:
        return array("i", values)
    except OverflowError:
        return array("i", [max(-_BOUND, min(_BOUND, value)) for value in values])


def pack_lists(lists: Sequence[Sequence[int]]) -> str:
    numbers = ints([len(lists), *map(len, lists), *chain.from_iterable(lists)])
    if _SWAP:
        numbers.byteswap()
    return base64.b64encode(numbers.tobytes()).decode("ascii")


def _numbers(field: str) -> Ints:
    numbers = array("i")
    numbers.frombytes(base64.b64decode(field))
    if _SWAP:
        numbers.byteswap()
    return numbers


def unpack_lists(field: str | list[list[int]]) -> list[list[int]]:
    """A packed field's lists as plain lists; plain lists as they are."""
    if not isinstance(field, str):
        return field
    return [values.tolist() for values in unpack_arrays(field)]


def unpack_arrays(field: str | Sequence[Sequence[int]]) -> list[Ints]:
    """A packed field's lists as arrays (see the module); plain lists, or arrays, as arrays."""
    if not isinstance(field, str):
        return [values if isinstance(values, array) else ints(values) for values in field]
    numbers = _numbers(field)
    position = 1 + numbers[0]
    arrays = []
    for length in numbers[1:position]:
        arrays.append(numbers[position : position + length])
        position += length
    return arrays


def pack(values: Sequence[int]) -> str:
    return pack_lists([values])


def unpack(field: str | list[int]) -> list[int]:
    return unpack_array(field).tolist() if isinstance(field, str) else field


def unpack_array(field: str | Sequence[int]) -> Ints:
    """A packed field of one list (pack) as an array; a plain list as an array."""
    return unpack_arrays(field)[0] if isinstance(field, str) else ints(field)
