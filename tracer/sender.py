"""The detached sender a finished `leadtime step` starts (handoff.py): it sends the spooled
entries of the targets whose locks it was handed, one thread per target, then exits.

Run as `python -m leadtime.tracer.sender KEY=DESCRIPTOR...`, in a session of its own with its
standard streams on /dev/null: it has no one to tell, so what it could not send stays in the
spool with the reason noted (`.problem`), and the next step reports it. Bounded by five times
the export bound (10 s by default), so a hung endpoint never keeps it alive for long.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Sequence

from leadtime.tracer import export
from leadtime.tracer.config import TracerConfig
from leadtime.tracer.spool import Spool
from leadtime.tracer.targets import targets_from

BOUND_IN_EXPORT_BOUNDS = 5


def held_locks(args: Sequence[str]) -> dict[str, int]:
    locks = {}
    for arg in args:
        key, _, descriptor = arg.rpartition("=")
        if key and descriptor.isdigit():
            locks[key] = int(descriptor)
    return locks


def main(args: Sequence[str]) -> None:
    config = TracerConfig.from_env()
    deadline = time.monotonic() + BOUND_IN_EXPORT_BOUNDS * config.export_timeout
    spool = Spool(config.spool_dir)
    configured = {target.spool_key: target for target in targets_from(config)}
    report = export.FlushReport()
    threads = []
    for key, descriptor in held_locks(args).items():
        target = configured.get(key)
        if target is None:  # settings changed under us: the entries wait for `leadtime flush`
            continue
        thread = threading.Thread(
            target=export.flush_target,
            args=(spool, target, deadline, report),
            kwargs={"held": descriptor},
        )
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    main(sys.argv[1:])
