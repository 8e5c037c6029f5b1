"""A finished step handed to the spool, and a detached sender started to deliver it.

`leadtime step` does not wait for the OpenTelemetry SDK: once its command exits it writes the
step's document (facts.py, a few hundred bytes) into the spool folder of each target, takes
those folders' locks, and starts a sender (sender.py) in a session of its own with its standard
streams on /dev/null, so the CI step waits for neither. The sender inherits the locks, which
tell the next `leadtime step`, `leadtime flush` and `leadtime pipeline end` that it is at work:
they wait for it (or leave the entries to it) instead of sending them twice. A folder whose lock
another process holds needs no sender of ours: whoever holds it looks again when done
(export.flush_target).
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import time
from _collections_abc import Mapping

from leadtime.tracer.config import TracerConfig
from leadtime.tracer.spool import DOCUMENT_SUFFIX, Spool
from leadtime.tracer.targets import targets_from

TYPE_CHECKING = False  # typing costs a step 12 M instructions; type checkers know this name
if TYPE_CHECKING:
    from typing import Any

SENDER_MODULE = "leadtime.tracer.sender"


def hand_off(document: Mapping[str, Any], config: TracerConfig) -> bool:
    """Spool the step's document for every target and start a sender; False when the spool
    could not be written (nothing is left in it then, and the caller sends the span itself)."""
    targets = targets_from(config, sampled=bool(document["ids"][3]))
    spool = Spool(config.spool_dir)
    body = json.dumps(document, separators=(",", ":")).encode()
    written = []
    try:
        for target in targets:
            written.append(spool.put(target.spool_key, body, DOCUMENT_SUFFIX))
        held = {key: spool.try_lock(key) for key in {target.spool_key for target in targets}}
    except OSError:
        for entry in written:
            spool.remove(entry)
        return False
    locks = {key: descriptor for key, descriptor in held.items() if descriptor is not None}
    if locks and not start_sender(locks):
        for descriptor in locks.values():
            os.close(descriptor)
        from leadtime.tracer import export  # no sender: send now, within the export bound

        export.flush(config, time.monotonic() + config.export_timeout)
    return True


def earlier_problems(config: TracerConfig) -> list[str]:
    """What the last try for each target could not do (dropped or left behind), told once:
    the sender that tried has no one to tell."""
    spool = Spool(config.spool_dir)
    return [problem for problem in map(spool.take_problem, _keys(config)) if problem]


def _keys(config: TracerConfig) -> list[str]:
    return [target.spool_key for target in targets_from(config)]


def start_sender(locks: Mapping[str, int]) -> bool:
    """Fork and exec the sender with the lock descriptors; False when it could not start."""
    if not sys.executable:
        return False
    argv = [sys.executable, "-P", "-m", SENDER_MODULE]
    argv += [f"{key}={descriptor}" for key, descriptor in locks.items()]
    try:
        pid = os.fork()
    except OSError:
        return False
    if pid == 0:  # the child: detach, and fork the sender, so that no zombie waits on us
        try:
            os.setsid()
            if os.fork() == 0:
                _become_sender(argv, set(locks.values()))
        finally:
            os._exit(0)
    try:
        os.waitpid(pid, 0)  # at once: the child only forks
    except ChildProcessError:
        pass
    return True


def _become_sender(argv: list[str], locks: set[int]) -> None:
    try:
        null = os.open(os.devnull, os.O_RDWR)
        for stream in (0, 1, 2):
            os.dup2(null, stream)
        _close_all_but(locks | {0, 1, 2})
        for descriptor in locks:
            os.set_inheritable(descriptor, True)
        os.execv(argv[0], argv)
    finally:
        os._exit(127)


def _close_all_but(keep: set[int]) -> None:
    # Descriptors inherited from the CI runner (a pipe it waits on, say) must not stay open
    # in a process that outlives the step.
    # An empty range is skipped: closerange(n, n) closes every descriptor on some Pythons.
    limit = os.sysconf("SC_OPEN_MAX") if hasattr(os, "sysconf") else 4096
    bounds = [-1, *sorted(keep), max(limit, *keep) + 1]
    for low, high in itertools.pairwise(bounds):
        if high - low > 1:
            os.closerange(low + 1, high)
