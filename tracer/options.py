"""The options of `leadtime step` and `leadtime deploy`, as data.

Two parsers read this table: click builds the documented commands from it (help, errors), and
`launch` parses the common case by hand so the step's command starts before click is imported
(about 30 ms). Anything the hand parser is unsure of goes to click, so both always agree.
"""

from __future__ import annotations

# The module behind collections.abc, which `os` has loaded already; collections.abc itself
# imports `collections` (about 2 ms) before the step's command starts.
from _collections_abc import Callable, Sequence


class Option:
    __slots__ = ("choices", "convert", "dest", "flag", "help", "metavar", "multiple")

    def __init__(
        self,
        flag: str,
        dest: str,
        help: str,
        metavar: str = "TEXT",
        convert: Callable[[str], object] = str,
        multiple: bool = False,
        choices: Sequence[str] = (),
    ) -> None:
        self.flag, self.dest, self.help, self.metavar = flag, dest, help, metavar
        self.convert, self.multiple, self.choices = convert, multiple, tuple(choices)


def positive_seconds(raw: str) -> float:
    value = float(raw)
    if not value > 0:
        raise ValueError(f"{raw!r} is not a positive number of seconds")
    return value


def key_value(raw: str) -> tuple[str, str]:
    key, sep, value = raw.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"{raw!r} is not KEY=VALUE")
    return key.strip(), value


HIT_WORDS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def cache_hit(raw: str) -> bool:
    """true or false; empty is a miss (actions/cache's `cache-hit` output on a miss)."""
    word = raw.strip().lower()
    if not word:
        return False
    if word not in HIT_WORDS:
        raise ValueError(f"{raw!r} is not true or false")
    return HIT_WORDS[word]


COMMON = (
    Option(
        "--attr", "attrs", "Add a span attribute; repeat for more.", "KEY=VALUE", key_value, True
    ),
    Option(
        "--timeout",
        "timeout",
        "Stop the command and its children after this many seconds (TERM to its process "
        "group, then KILL) and exit 124.",
        "SECONDS",
        positive_seconds,
    ),
    Option(
        "--kill-after",
        "kill_after",
        "With --timeout: seconds from the TERM to the KILL.  [default: 10]",
        "SECONDS",
        positive_seconds,
    ),
    Option(
        "--service",
        "service",
        "service.name of the span (default: LEADTIME_SERVICE, OTEL_SERVICE_NAME, the repository).",
        "NAME",
    ),
)

STEP_OPTIONS = (
    Option(
        "--type",
        "task_type",
        "What the step does (cicd.pipeline.task.type).",
        "TYPE",
        choices=("build", "test", "deploy"),
    ),
    Option(
        "--cache-hit",
        "cache_hit",
        "Whether the step's cache was hit: true or false (empty, as actions/cache's cache-hit "
        "output is on a miss, is false). Splits the step's p50 by hit and miss.",
        "true|false",
        cache_hit,
    ),
    Option(
        "--junit",
        "junit",
        "JUnit XML reports the command writes (a glob, quoted; repeat for more): one child "
        "span per test case, every failure and the slowest up to LEADTIME_JUNIT_MAX_TESTS "
        "(200). Only files changed during the step are read.",
        "GLOB",
        str,
        True,
    ),
    *COMMON,
)

DEPLOY_OPTIONS = (
    Option("--name", "name", "Step name of the span (default: deploy ENV).", "NAME"),
    Option(
        "--id", "deploy_id", "deployment.id (default: derived from the run and the span).", "ID"
    ),
    Option(
        "--revision",
        "revision",
        "The deployed commit (default: the checked-out one).",
        "SHA",
    ),
    *COMMON,
)


def parse(
    args: Sequence[str], options: Sequence[Option]
) -> tuple[list[str], dict, list[str]] | None:
    """(positionals, option values, command) for `ARGS... -- COMMAND...`; None when unsure."""
    if "--" not in args:
        return None
    split = list(args).index("--")
    head, command = list(args[:split]), list(args[split + 1 :])
    by_flag = {option.flag: option for option in options}
    values: dict[str, object] = {}
    repeated: dict[str, list[object]] = {}  # the values of options given more than once
    positionals: list[str] = []
    index = 0
    while index < len(head):
        token = head[index]
        if not token.startswith("-"):
            positionals.append(token)
            index += 1
            continue
        flag, sep, raw = token.partition("=")
        option = by_flag.get(flag)
        if option is None:
            return None  # --help, a typo, a short flag: click explains
        if not sep:
            if index + 1 >= len(head):
                return None
            raw = head[index + 1]
            index += 1
        index += 1
        try:
            value = option.convert(raw)
        except ValueError:
            return None
        if option.choices and value not in option.choices:
            return None
        if option.multiple:
            repeated.setdefault(option.dest, []).append(value)
        elif option.dest in values:
            return None
        else:
            values[option.dest] = value
    if len(positionals) != 1 or not command:
        return None
    return positionals, {**values, **repeated}, command
