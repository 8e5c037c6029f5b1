"""The command line: help, errors and the hand parser that must agree with click."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from leadtime.tracer import launch, options
from leadtime.tracer.cli import cli, step_call
from tests.conftest import clean_env, run_leadtime, wait_for_senders


@pytest.mark.parametrize("command", [[], ["step"], ["deploy"], ["pipeline"], ["flush"]])
def test_every_command_explains_itself(command):
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage: " in result.output


def test_step_help_shows_an_example_and_the_exit_codes():
    result = CliRunner().invoke(cli, ["step", "--help"])
    assert "leadtime step unit-tests --type test -- pytest -q" in result.output
    assert "127 not found" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["step", "s", "--timeout", "soon", "--", "true"], "'soon'"),
        (["step", "s", "--timeout", "-1", "--", "true"], "not a positive number"),
        (["step", "s", "--type", "lint", "--", "true"], "'lint' is not one of"),
        (["step", "s", "--attr", "novalue", "--", "true"], "is not KEY=VALUE"),
        (["step", "s"], "no command given"),
        (["step", "s", "--"], "no command given"),
        (["pipeline", "end"], "Missing option '--result'"),
        (["pipeline", "end", "--result", "great"], "'great'; use one of"),
    ],
)
def test_bad_arguments_get_a_clear_error(args, message, tmp_path):
    # Through the real executable, so the hand parser's hand-over to click is covered too.
    done = run_leadtime(args, clean_env(tmp_path, GITHUB_ACTIONS="true", GITHUB_RUN_ID="1"))
    assert done.returncode == 2
    assert message in done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["step", "build", "--", "make", "-j", "4"],
        ["step", "--type", "test", "unit", "--attr", "a=1", "--attr=b=2", "--", "pytest", "-x"],
        ["step", "s", "--timeout=30", "--kill-after", "5", "--service", "api", "--", "true"],
        ["deploy", "production", "--id", "r1", "--revision", "abc123", "--", "./deploy.sh"],
        ["deploy", "staging", "--name", "helm upgrade", "--", "helm", "upgrade", "--install"],
    ],
)
def test_hand_parser_agrees_with_click(args):
    fast = launch.step_arguments(args)
    assert fast is not None
    context = cli.commands[args[0]].make_context(args[0], args[1:])
    assert step_call(args[0], context.params) == fast


@pytest.mark.parametrize(
    "args",
    [
        ["step", "s", "--help", "--", "true"],
        ["step", "s", "--timeout", "soon", "--", "true"],
        ["step", "a", "b", "--", "true"],
        ["step", "s", "--type", "lint", "--", "true"],
        ["step", "s", "true"],
        ["flush"],
    ],
)
def test_hand_parser_hands_anything_unusual_to_click(args):
    assert launch.step_arguments(args) is None


def test_option_table_and_click_commands_list_the_same_options():
    for command, table in (("step", options.STEP_OPTIONS), ("deploy", options.DEPLOY_OPTIONS)):
        flags = {opt for param in cli.commands[command].params for opt in param.opts}
        assert {option.flag for option in table} <= flags


def test_version():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.output.strip() == "leadtime, version 0.1.0"


def test_nothing_heavy_is_imported_before_the_command_starts():
    # launch, options, step, providers, traceid and run are all that runs before the spawn.
    # Modules the interpreter's start-up already loaded (an editable install's import hook
    # loads `re`) cost nothing more; the test looks at what importing leadtime adds.
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "from leadtime.tracer import launch, step\n"
        "launch.step_arguments(['step', 'x', '--', 'true'])\n"
        "heavy = ('click', 'git', 'opentelemetry', 'google', 're', 'dataclasses', 'collections',"
        " 'typing', 'leadtime.server', 'http.client', 'signal', 'hashlib', 'enum')\n"
        "print(sorted(m for m in set(sys.modules) - before if m.split('.')[0] in heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "[]", done.stderr


def test_step_never_loads_the_server(tmp_path):
    code = (
        "import sys\n"
        "from leadtime.tracer.step import run_step\n"
        "run_step('s', ['true'])\n"
        "print(sorted(m for m in sys.modules if m.startswith(('leadtime.server', 'fastapi',"
        " 'sqlalchemy'))))\n"
    )
    env = clean_env(tmp_path, LEADTIME_TRACE_FILE=str(tmp_path / "spans.jsonl"))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.stdout.strip() == "[]", done.stderr
    wait_for_senders(env)
    assert (tmp_path / "spans.jsonl").exists()


def test_a_main_branch_step_on_github_loads_nothing_heavy(tmp_path):
    """With the variables and the push event file a GitHub runner provides, a step on main
    needs no git read and none of the modules that cost most to import."""
    sha = "8f2d6c1e0b9a4d7c3e5f1a2b6c8d0e4f7a9b1c3d"
    event = tmp_path / "event.json"
    head = {"id": sha, "timestamp": "2026-12-01T10:00:00Z", "author": {"email": "a@example.com"}}
    event.write_text(json.dumps({"head_commit": head}))
    env = clean_env(
        tmp_path,
        GITHUB_ACTIONS="true",
        GITHUB_RUN_ID="1",
        GITHUB_SERVER_URL="https://github.com",
        GITHUB_REPOSITORY="acme/shop",
        GITHUB_REF="refs/heads/main",
        GITHUB_REF_NAME="main",
        GITHUB_SHA=sha,
        GITHUB_EVENT_PATH=str(event),
        LEADTIME_TRACE_FILE=str(tmp_path / "spans.jsonl"),
    )
    heavy = ("dataclasses", "typing", "inspect", "subprocess", "datetime", "click", "git")
    code = (
        "import sys\n"
        "from leadtime.tracer.step import run_step\n"
        "run_step('s', ['true'])\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
    wait_for_senders(env)
    (line,) = (tmp_path / "spans.jsonl").read_text().splitlines()
    assert "a@example.com" in line  # the commit's author, from the event file


def test_a_step_leaves_the_sdk_to_its_sender_and_a_deploy_loads_it(tmp_path):
    """The OpenTelemetry SDK and protobuf cost a short step 150 ms: a step never imports them
    (its sender builds the span), a deploy does, as it confirms its own span."""
    code = (
        "import sys\n"
        "from leadtime.tracer.step import run_step\n"
        "run_step('s', ['true'], environment=sys.argv[1] or None)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules"
        " if m.startswith(('opentelemetry', 'google.protobuf', 'git.'))}))\n"
    )
    env = clean_env(tmp_path, LEADTIME_TRACE_FILE=str(tmp_path / "spans.jsonl"))
    for environment, loaded in (("", "[]"), ("staging", "['google', 'opentelemetry']")):
        done = subprocess.run(
            [sys.executable, "-c", code, environment],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        assert done.stdout.strip() == loaded, done.stderr
        wait_for_senders(env)
    environments = [
        {
            item["value"]["stringValue"]
            for item in json.loads(line)["resourceSpans"][0]["scopeSpans"][0]["spans"][0][
                "attributes"
            ]
            if item["key"] == "deployment.environment.name"
        }
        for line in (tmp_path / "spans.jsonl").read_text().splitlines()
    ]
    assert environments == [set(), {"staging"}]  # both spans written, in the order run
