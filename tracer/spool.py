"""Spans not yet accepted by their endpoint, kept on disk until they are.

One file per export request and target kind (`otlp`, `leadtime`, `file`) under the spool
directory (`LEADTIME_SPOOL_DIR`, default the user cache directory). Files hold the encoded OTLP
request only, never headers or tokens. An entry is written atomically (temporary name, then
rename) and removed only after the endpoint accepted it; read back by the next `leadtime step`
and by `leadtime flush`, oldest first.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

SUFFIX = ".otlp"


class Spool:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def put(self, kind: str, body: bytes) -> Path:
        folder = self.directory / kind
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns():020d}-{os.getpid()}-{os.urandom(4).hex()}"
        temporary = folder / f".{name}.tmp"
        temporary.write_bytes(body)
        final = folder / f"{name}{SUFFIX}"
        os.replace(temporary, final)
        return final

    def pending(self, kind: str) -> list[Path]:
        folder = self.directory / kind
        if not folder.is_dir():
            return []
        return sorted(path for path in folder.iterdir() if path.name.endswith(SUFFIX))

    def kinds(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(
            path.name
            for path in self.directory.iterdir()
            if path.is_dir() and not path.name.startswith(".")
        )

    @staticmethod
    def remove(entry: Path) -> None:
        # Another flush may have sent and removed it at the same time; that is fine.
        entry.unlink(missing_ok=True)


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
