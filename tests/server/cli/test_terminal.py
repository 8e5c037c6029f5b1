"""The reports in a real terminal (a pseudo-terminal of the width a person's window has): the
table fits its width, tiers are coloured, NO_COLOR turns colour off, and a pipe gets every
character and no colour."""

from __future__ import annotations

import fcntl
import os
import re
import struct
import subprocess
import termios

import pytest

from tests.conftest import LEADTIME, clean_env, run_leadtime
from tests.server.dora_history import seed_dora_history

ANSI = re.compile(r"\x1b\[[0-9;]*m")
RED = "\x1b[31m"


def in_terminal(args: list[str], env: dict[str, str], columns: int) -> str:
    """What `leadtime ARGS` prints to a terminal `columns` wide."""
    controller, terminal = os.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    process = subprocess.Popen(
        [*LEADTIME, *args], stdin=terminal, stdout=terminal, stderr=terminal, env=env
    )
    os.close(terminal)
    output = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal closed: the command ended
            break
        if not chunk:
            break
        output += chunk
    process.wait(timeout=60)
    os.close(controller)
    assert process.returncode == 0, output
    return output.decode().replace("\r\n", "\n")


@pytest.fixture
def env(client, live_server, tmp_path):
    seed_dora_history(client)
    found = clean_env(tmp_path, LEADTIME_URL=live_server.url)
    found.pop("COLUMNS", None)
    found.pop("NO_COLOR", None)
    return found


def test_a_report_fits_the_terminal_and_colours_its_tiers(env):
    output = in_terminal(["report", "dora", "--repo", "acme/shop"], env, columns=60)
    plain = ANSI.sub("", output)
    lines = [line for line in plain.splitlines() if line]
    assert lines and all(len(line) <= 60 for line in lines), plain
    assert "…" in plain  # the what-it-counts column was cut to fit
    assert RED in output and "low" in plain  # the change failure rate's tier

    wide = ANSI.sub("", in_terminal(["report", "dora", "--repo", "acme/shop"], env, columns=250))
    assert "…" not in wide and "3 of 7 deploys unplanned" in wide


def test_no_color_and_pipes_get_no_colour_and_pipes_every_character(env):
    no_colour = in_terminal(["report", "dora", "--repo", "acme/shop"], {**env, "NO_COLOR": "1"}, 60)
    assert "\x1b[" not in no_colour and "low" in no_colour
    piped = run_leadtime(["report", "dora", "--repo", "acme/shop"], env)
    assert piped.returncode == 0, piped.stderr
    assert "\x1b[" not in piped.stdout and "…" not in piped.stdout
    assert "rollbacks, reverts, or shipped while a page on their service was open" in piped.stdout
