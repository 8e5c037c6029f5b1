"""Run the step's command as a child that owns the terminal, and report how it ended.

The child inherits stdin, stdout and stderr (no pipes: output streams live, colours and TTY
detection survive). SIGINT, SIGTERM and SIGHUP sent to leadtime are forwarded to it. Exit codes
follow the shell's conventions, as GNU timeout does: 127 command not found, 126 not executable,
128+N killed by signal N, 124 stopped by `--timeout`. With `--timeout` the command runs in its own
process group and the whole group is stopped, grandchildren too, as GNU timeout does. This module
knows nothing of spans; it runs before the OpenTelemetry SDK is imported, so it uses the standard
library's cheapest pieces only.
"""

from __future__ import annotations

# The C module behind `signal`: the same functions without the enum wrappers, whose import
# (about 3 ms) would delay the step's command.
import _signal as signal
import os
import sys
import time

EXIT_TIMEOUT = 124
EXIT_NOT_EXECUTABLE = 126
EXIT_NOT_FOUND = 127
FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Outcome:
    """How the child ended: its exit code as a shell reports it, and why."""

    __slots__ = ("ended_ns", "exit_code", "signal", "spawn_error", "timed_out")

    def __init__(
        self,
        exit_code: int,
        ended_ns: int,
        signal: int | None = None,
        timed_out: bool = False,
        spawn_error: str | None = None,
    ) -> None:
        self.exit_code, self.ended_ns, self.signal = exit_code, ended_ns, signal
        self.timed_out, self.spawn_error = timed_out, spawn_error


class Child:
    """A running command, with the signals leadtime receives forwarded to it."""

    def __init__(self, argv: list[str], env: dict[str, str], own_group: bool = False) -> None:
        self.argv = argv
        self.own_group = own_group  # signals then go to the command's whole process group
        self.pid: int | None = None
        self.forwarded: list[int] = []
        self._previous_handlers: dict[int, object] = {}
        self.exited_ns: int | None = None
        self._install_forwarding()
        self._install_exit_clock()
        try:
            if own_group:  # a new process group, led by the child
                self.pid = os.posix_spawnp(argv[0], argv, env, setpgroup=0)
            else:  # ours, as a shell would run it
                self.pid = os.posix_spawnp(argv[0], argv, env)
        except OSError:
            self.restore_signals()
            raise
        self.started = time.monotonic()
        if hasattr(os, "waitid"):
            # A command quicker than the spawn's return exits while `pid` is still unknown to
            # the handler, which then ignores its SIGCHLD: look once more, now that it is known.
            self._note_exit(signal.SIGCHLD, None)
        for signum in self.forwarded:  # arrived between installing the handlers and the spawn
            self._send(signum)

    def _install_forwarding(self) -> None:
        for signum in FORWARDED_SIGNALS:
            previous = signal.getsignal(signum)
            if previous == signal.SIG_IGN:
                continue  # nohup and friends: the child inherits "ignored" and so do we
            self._previous_handlers[signum] = previous
            signal.signal(signum, self._forward)

    def _install_exit_clock(self) -> None:
        """Note the moment the child exits, even while we are busy preparing its span (a
        command shorter than that preparation would otherwise look as long as it)."""
        if hasattr(os, "waitid"):
            self._previous_handlers[signal.SIGCHLD] = signal.getsignal(signal.SIGCHLD)
            signal.signal(signal.SIGCHLD, self._note_exit)

    def _note_exit(self, _signum: int, _frame: object) -> None:
        # Every child's exit lands here (git, run while preparing the span, too); ours is the
        # one that waitid finds exited, without reaping it.
        if self.exited_ns is not None or self.pid is None:
            return
        try:
            if os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT):
                self.exited_ns = time.time_ns()
        except OSError:
            pass

    def _forward(self, signum: int, _frame: object) -> None:
        if signum == signal.SIGINT and _terminal_sent_it_to_the_group():
            self.forwarded.append(signum)  # the child got it too; a second ^C would abort harder
            return
        self.forwarded.append(signum)
        self._send(signum)

    def _send(self, signum: int) -> None:
        if self.pid is not None:
            try:
                if self.own_group:
                    os.killpg(self.pid, signum)
                else:
                    os.kill(self.pid, signum)
            except ProcessLookupError:
                pass  # already gone; waitpid reports how it ended

    def restore_signals(self) -> None:
        for signum, handler in self._previous_handlers.items():
            signal.signal(signum, handler)

    def wait(self, timeout: float | None = None, kill_after: float = 10.0) -> Outcome:
        """Wait for the child; with `timeout`, TERM it then, and KILL it `kill_after` later."""
        assert self.pid is not None
        status = self._wait_until(None if timeout is None else self.started + timeout)
        timed_out = status is None
        if timed_out:
            status = self._stop(kill_after)
        assert status is not None
        ended_ns = self.exited_ns or time.time_ns()
        self.restore_signals()
        code = os.waitstatus_to_exitcode(status)
        if timed_out:
            return Outcome(
                EXIT_TIMEOUT, ended_ns, signal=-code if code < 0 else None, timed_out=True
            )
        if code < 0:
            return Outcome(128 - code, ended_ns, signal=-code)
        return Outcome(code, ended_ns)

    def _stop(self, kill_after: float) -> int:
        """TERM the command (with its group, when it has its own), KILL what is left of it
        `kill_after` seconds later; the command's wait status."""
        self._send(signal.SIGTERM)
        kill_at = time.monotonic() + kill_after
        status = self._wait_until(kill_at)
        if self.own_group:
            # A grandchild that outlives the command gets the same grace, then KILL: a stopped
            # step leaves nothing running. The group's id is not reused while it has members.
            self._wait_for_group(kill_at)
        if status is None or self.own_group:
            self._send(signal.SIGKILL)
        if status is None:
            status = self._wait_until(None)
        assert status is not None  # waiting without a deadline ends with a status
        return status

    def _wait_for_group(self, deadline: float) -> None:
        assert self.pid is not None
        while time.monotonic() < deadline:
            try:
                os.killpg(self.pid, 0)
            except OSError:  # no member left
                return
            time.sleep(0.05)

    def _wait_until(self, deadline: float | None) -> int | None:
        """The child's wait status, or None if `deadline` (monotonic) passed first."""
        assert self.pid is not None
        if deadline is None:
            return os.waitpid(self.pid, 0)[1]
        exited = _exit_notifier(self.pid)
        try:
            while True:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
                if pid:
                    return status
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                exited(min(remaining, 0.05))
        finally:
            exited(None)


def _exit_notifier(pid: int):
    """A function that sleeps until `pid` exits or the given seconds pass (None: clean up).

    Linux's pidfd wakes us the moment the child exits; elsewhere we poll in short sleeps.
    """
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):

        def sleep_or_nothing(seconds: float | None) -> None:
            if seconds is not None:
                time.sleep(seconds)

        return sleep_or_nothing
    import select

    def wait_or_close(seconds: float | None) -> None:
        if seconds is None:
            os.close(fd)
        else:
            select.select([fd], [], [], seconds)

    return wait_or_close


def _terminal_sent_it_to_the_group() -> bool:
    """True when ^C at our controlling terminal also reached the child (same process group)."""
    try:
        return os.tcgetpgrp(sys.stdin.fileno()) == os.getpgrp()
    except (OSError, ValueError, AttributeError):
        return False


def start(argv: list[str], env: dict[str, str], own_group: bool = False) -> Child | Outcome:
    """Start `argv`; an Outcome instead when it cannot start (not found, not executable)."""
    try:
        child = Child(argv, env, own_group)
    except FileNotFoundError:
        return _spawn_failed(argv, EXIT_NOT_FOUND, "command not found")
    except PermissionError:
        return _spawn_failed(argv, EXIT_NOT_EXECUTABLE, "permission denied")
    except OSError as error:
        return _spawn_failed(argv, EXIT_NOT_EXECUTABLE, error.strerror or str(error))
    return child


def fill_closed_standard_fds() -> None:
    """Put /dev/null on whichever of fds 0-2 leadtime was started without, once the command has
    started with them as they were: otherwise the next file or socket opened (the spool, the
    exporter's connection) would take that number, and git's error output or ours would be
    written into it."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)


def _spawn_failed(argv: list[str], exit_code: int, reason: str) -> Outcome:
    # The same words a shell prints, so logs read the same with or without leadtime.
    sys.stderr.write(f"leadtime: {argv[0]}: {reason}\n")
    return Outcome(exit_code, time.time_ns(), spawn_error=reason)
