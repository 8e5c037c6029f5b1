"""Durations as people read them: a tenth of a second for short steps, days and hours beyond a
day (never `6879h50m`), and the durations people write."""

from __future__ import annotations

import pytest

from leadtime.server.timeparse import format_duration, parse_duration


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (None, "-"),
        (4.25, "4.2s"),
        (42, "42s"),
        (185, "3m05s"),
        (3720, "1h02m"),
        (86399, "23h59m"),
        (86400, "1d00h"),
        (6879 * 3600 + 50 * 60, "286d15h"),
        (-2 * 86400 - 3 * 3600, "-2d03h"),
    ],
)
def test_durations_are_shown_in_the_largest_units_that_read_well(seconds, shown):
    assert format_duration(seconds) == shown


def test_written_durations_are_read_and_nonsense_is_refused():
    assert parse_duration("90s").total_seconds() == 90
    assert parse_duration("2w").total_seconds() == 14 * 86400
    assert parse_duration("300").total_seconds() == 300
    for bad in ("soon", "0.1s", "nan", "200y"):
        with pytest.raises(ValueError):
            parse_duration(bad)
