"""Lists of whole numbers packed into one string, for the stored step summaries and day rollups
that hold hundreds of thousands of milliseconds (domain/run_summaries.py, domain/step_days.py).

A packed field is base64 of little-endian 32-bit integers: how many lists, each one's length,
then every value. Reading one is a copy, not a parse (about twice as fast as JSON's lists), and
a reader unpacks only the fields it needs: the slowest-steps report's previous window and the
regression rule read durations alone. A field written before fields were packed holds plain
lists and is read as it is. Values beyond 32 bits (a step of more than 24 days: a broken clock)
are stored at the bound.
"""

from __future__ import annotations

import base64
import sys
from array import array
from itertools import chain

_BOUND = 2**31 - 1
_SWAP = sys.byteorder == "big"  # stored little-endian whatever the machine


def _numbers(values: list[int]) -> array:
    try:
        return array("i", values)
    except OverflowError:
        return array("i", [max(-_BOUND, min(_BOUND, value)) for value in values])


def pack_lists(lists: list[list[int]]) -> str:
    numbers = _numbers([len(lists), *map(len, lists), *chain.from_iterable(lists)])
    if _SWAP:
        numbers.byteswap()
    return base64.b64encode(numbers.tobytes()).decode("ascii")


def unpack_lists(field: str | list[list[int]]) -> list[list[int]]:
    if not isinstance(field, str):
        return field
    numbers = array("i")
    numbers.frombytes(base64.b64decode(field))
    if _SWAP:
        numbers.byteswap()
    values = numbers.tolist()  # one copy out of the array, then list slices of it
    position = 1 + values[0]
    lists = []
    for length in values[1:position]:
        lists.append(values[position : position + length])
        position += length
    return lists


def pack(values: list[int]) -> str:
    return pack_lists([values])


def unpack(field: str | list[int]) -> list[int]:
    return unpack_lists(field)[0] if isinstance(field, str) else field
