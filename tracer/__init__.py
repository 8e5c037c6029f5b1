"""The CI-side client of leadtime: `leadtime step`, `leadtime deploy`, `leadtime pipeline`.

Light on purpose: `leadtime step` imports this package before the step's command starts.
"""

import sys

__version__ = "0.1.0"


def warn(message: str) -> None:
    """The tracer's only way to report trouble: one line on stderr, never an exception (not even
    with stderr closed or its reader gone)."""
    try:
        sys.stderr.write(f"leadtime: warning: {message}\n")
        sys.stderr.flush()
    except (AttributeError, OSError, ValueError):  # None when closed at start; EPIPE; closed
        pass
