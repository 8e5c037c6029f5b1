"""Spans not yet accepted by their endpoint, kept on disk until they are.

One folder per target under the spool directory (`LEADTIME_SPOOL_DIR`, default the user cache
directory), named by the target's kind and a hash of its address and credentials
(`leadtime-3f9a...`): an entry goes only to the target it was meant for, never to another team's
server that a later step on the same runner reports to. Files hold spans only, never headers
or tokens: an encoded OTLP request (`.otlp`), or a finished step's document (`.step.json`,
facts.py) that a sender turns into its request. An entry is written atomically (temporary name,
then rename; the temporary file is removed when the disk is full) and removed only after the
endpoint accepted it or refused it for good; read back by the step's detached sender, the next
`leadtime step`, `leadtime pipeline end` and `leadtime flush`, oldest first, under a lock per
target so parallel runs send each entry once. An entry that cannot be read as a request is
moved aside to `.corrupt/`. What a try could not do (entries dropped or left behind) is noted
in the folder (`.problem`) for the next step to report.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from _collections_abc import Iterator
from pathlib import Path

SUFFIX = ".otlp"
DOCUMENT_SUFFIX = ".step.json"
PROBLEM = ".problem"
CORRUPT = ".corrupt"


class Spool:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def put(self, key: str, body: bytes, suffix: str = SUFFIX) -> Path:
        folder = self.directory / key
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns():020d}-{os.getpid()}-{os.urandom(4).hex()}"
        temporary = folder / f".{name}.tmp"
        try:
            temporary.write_bytes(body)
        except OSError:
            temporary.unlink(missing_ok=True)  # a full disk must not leave a stub behind
            raise
        final = folder / f"{name}{suffix}"
        os.replace(temporary, final)
        return final

    def pending(self, key: str) -> list[Path]:
        folder = self.directory / key
        if not folder.is_dir():
            return []
        return sorted(
            path for path in folder.iterdir() if path.name.endswith((SUFFIX, DOCUMENT_SUFFIX))
        )

    def folders(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(
            path.name
            for path in self.directory.iterdir()
            if path.is_dir() and not path.name.startswith(".")
        )

    @staticmethod
    def remove(entry: Path) -> None:
        entry.unlink(missing_ok=True)

    def set_aside(self, entry: Path) -> Path:
        """Move an unreadable entry out of the way, kept for whoever wants to look at it."""
        folder = self.directory / CORRUPT
        folder.mkdir(parents=True, exist_ok=True)
        aside = folder / f"{entry.parent.name}-{entry.stem}.bin"  # no longer pending
        os.replace(entry, aside)
        return aside

    def note_problem(self, key: str, problem: str | None) -> None:
        """Keep what the last try could not do, for the next step to say (None: nothing)."""
        path = self.directory / key / PROBLEM
        with contextlib.suppress(OSError):  # only a report: never worth a failure
            if problem:  # whole or not at all: a step may read it at any moment
                temporary = path.with_name(f"{PROBLEM}.{os.getpid()}.tmp")
                temporary.write_text(problem[:600])
                os.replace(temporary, path)
            else:
                path.unlink(missing_ok=True)

    def take_problem(self, key: str) -> str | None:
        """The last try's problem, forgotten once read (the next try notes its own)."""
        path = self.directory / key / PROBLEM
        try:
            problem = path.read_text().strip()
            path.unlink()
        except OSError:
            return None
        return problem or None

    def try_lock(self, key: str) -> int | None:
        """Take `key`'s lock without waiting and hand over the open descriptor that holds it
        (closing it releases the lock); None when another process holds it."""
        folder = self.directory / key
        descriptor = os.open(folder / ".lock", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            return None
        return descriptor

    @contextlib.contextmanager
    def locked(self, key: str, deadline: float | None = None) -> Iterator[bool]:
        """Hold `key`'s lock while the block runs; yields False if another process held it
        until `deadline` (None: do not wait at all)."""
        folder = self.directory / key
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / ".lock", "a") as handle:
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if deadline is None or time.monotonic() >= deadline:
                        yield False
                        return
                    time.sleep(0.05)
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


class PipelineStarts:
    """When each pipeline run started, as `leadtime pipeline start` saw it on this machine.

    Kept beside the spool (`.pipelines/`, hidden from the spool's kinds) so that `leadtime
    pipeline end` in the same job can give the root span its real start time.
    """

    def __init__(self, spool_directory: Path) -> None:
        self.directory = spool_directory / ".pipelines"

    def _path(self, trace_id: int) -> Path:
        return self.directory / f"{trace_id:032x}"

    def mark(self, trace_id: int, started_ns: int) -> None:
        if self._path(trace_id).exists():
            return  # the first job to start wins: the run began then
        self.directory.mkdir(parents=True, exist_ok=True)
        self._path(trace_id).write_text(str(started_ns))

    def read(self, trace_id: int) -> int | None:
        try:
            return int(self._path(trace_id).read_text().strip())
        except (OSError, ValueError):
            return None

    def forget(self, trace_id: int) -> None:
        self._path(trace_id).unlink(missing_ok=True)
