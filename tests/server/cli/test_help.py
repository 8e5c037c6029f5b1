"""Every command's --help, the tracer's and the server's: it renders, and its Example block
reads as written (click rewraps a paragraph unless it starts with the \\b marker)."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from leadtime.server.cli import COMMANDS
from leadtime.tracer.cli import cli


def _every_command() -> list[tuple[list[str], click.Command]]:
    found = []

    def walk(path: list[str], command: click.Command) -> None:
        found.append((path, command))
        if isinstance(command, click.Group):
            context = click.Context(command)
            for name in command.list_commands(context):
                sub = command.get_command(context, name)
                assert sub is not None, f"{' '.join([*path, name])} does not load"
                walk([*path, name], sub)

    walk([], cli)
    return found


COMMAND_PATHS = _every_command()


def _example_lines(command: click.Command) -> list[str]:
    text = command.help or ""
    if "Example:" not in text:
        return []
    block = text.split("Example:", 1)[1]
    return [line.strip() for line in block.splitlines() if line.strip().startswith("leadtime ")]


def test_every_server_command_in_the_table_is_listed_and_loads():
    listed = {path[0] for path, _ in COMMAND_PATHS if path}
    assert set(COMMANDS) <= listed


@pytest.mark.parametrize(
    "path", [path for path, _ in COMMAND_PATHS], ids=lambda path: " ".join(path) or "leadtime"
)
def test_help_renders_its_example_as_written(path):
    command = dict((tuple(p), c) for p, c in COMMAND_PATHS)[tuple(path)]
    result = CliRunner().invoke(cli, [*path, "--help"], terminal_width=80)
    assert result.exit_code == 0, result.output
    shown = [line.strip() for line in result.output.splitlines()]
    for example in _example_lines(command):
        assert example in shown, f"{example!r} is rewrapped in:\n{result.output}"


def test_commands_with_examples_are_most_of_them():
    """The test above checks something: the commands' docstrings do carry examples."""
    with_examples = [path for path, command in COMMAND_PATHS if _example_lines(command)]
    assert len(with_examples) >= 20
