"""The `leadtime` executable: the step's command starts first, everything else after.

`leadtime step` and `leadtime deploy` in their usual form (`... NAME [options] -- COMMAND`) are
parsed from the option table by hand and the command is started at once; the click application
(cli.py), the OpenTelemetry SDK and git's facts load while it runs. Every other call, and
anything the hand parser is unsure of (--help, a typo), goes to click.
"""

from __future__ import annotations

import os
import sys

# The module behind collections.abc, which `os` has loaded already; collections.abc itself
# imports `collections` (about 2 ms) before the step's command starts.
from _collections_abc import Sequence

from leadtime.tracer import options


def step_arguments(args: Sequence[str]) -> tuple[str, list[str], dict] | None:
    """(name, command, keyword arguments of step.run_step) for a step or deploy call."""
    if not args or args[0] not in ("step", "deploy"):
        return None
    table = options.STEP_OPTIONS if args[0] == "step" else options.DEPLOY_OPTIONS
    parsed = options.parse(args[1:], table)
    if parsed is None:
        return None
    positionals, values, command = parsed
    if args[0] == "deploy":
        values["environment"] = positionals[0]
        name = values.pop("name", None) or f"deploy {positionals[0]}"
    else:
        name = positionals[0]
    return name, command, values


def exit_now(code: int) -> None:
    """Exit with `code` without tearing down the interpreter's modules.

    After a step, hundreds of SDK modules are loaded and an ordinary exit spends milliseconds
    finalizing them; the only state worth keeping is the buffered output, flushed here. Export
    threads still running at this point are past the export bound and are abandoned on purpose.
    """
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):  # None: closed when leadtime started
            pass
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    step_call = step_arguments(args)
    if step_call is not None:
        from leadtime.tracer.step import run_step

        name, command, values = step_call
        exit_now(run_step(name, command, **values))
    from leadtime.tracer.cli import cli

    cli.main(args, prog_name="leadtime")
