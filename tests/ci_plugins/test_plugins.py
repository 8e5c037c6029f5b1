"""Each CI plugin's shell logic, run as the CI system would run it, in that system's recorded
environment (tests/data/env_*.json), with spans arriving at a real OTLP receiver: names,
results, one trace across jobs, and the run's root span closed when a step failed. Their YAML
is checked against the public schemas check-jsonschema carries."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from leadtime.tracer import __version__, traceid
from tests.conftest import clean_env, wait_for_senders
from tests.gitrepos import History

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = ROOT / "ci-plugins"
DATA = ROOT / "tests" / "data"
BIN = Path(sys.executable).parent  # where `leadtime` and `check-jsonschema` are installed


def recorded(provider: str) -> dict[str, str]:
    return json.loads((DATA / f"env_{provider}.json").read_text())["environment"]


@pytest.fixture
def ci_env(tmp_path, receiver):
    def make(provider: str, **extra: str) -> dict[str, str]:
        env = clean_env(tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint)
        env.update(recorded(provider))
        env["PATH"] = f"{BIN}{os.pathsep}{env['PATH']}"
        env["LEADTIME_VERSION"] = __version__
        env.update(extra)
        return env

    return make


def bash(script: str, env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """Run a script as the CI system would, then wait for the senders its steps started."""
    done = subprocess.run(
        ["bash", "-c", script, "bash", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    wait_for_senders(env)
    return done


def run_file(path: Path, env, cwd, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [str(path), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )
    wait_for_senders(env)
    return done


def trace_of(provider: str, run_id: str, attempt: str | None = None) -> str:
    return f"{traceid.pipeline_trace_id(provider, run_id, attempt):032x}"


def root_of(receiver):
    (root,) = [span for span in receiver.spans if span.kind == 2]
    return root


# GitHub Actions ---------------------------------------------------------------------------------


def test_github_action_sets_up_later_steps_and_closes_a_failed_run(ci_env, receiver, tmp_path):
    github_env, github_path = tmp_path / "github_env", tmp_path / "github_path"
    env = ci_env(
        "github",
        GITHUB_ENV=str(github_env),
        GITHUB_PATH=str(github_path),
        INPUT_URL="https://leadtime.example.com",
        INPUT_TOKEN="lt_secret",
        INPUT_SERVICE="shop",
    )
    setup = run_file(PLUGINS / "github-actions" / "setup.sh", env, tmp_path)
    assert setup.returncode == 0, setup.stderr
    assert "::add-mask::lt_secret" in setup.stdout  # the token never shows in the log
    assert github_env.read_text().splitlines() == [
        "LEADTIME_TOKEN=lt_secret",
        "LEADTIME_URL=https://leadtime.example.com",
        "LEADTIME_SERVICE=shop",
    ]
    assert not github_path.exists()  # this version was there already: nothing installed

    # two jobs of the run, on two runners, a failing step in the second
    unit = bash("leadtime step unit-tests -- true", {**env, "GITHUB_JOB": "unit"}, tmp_path)
    lint = bash("leadtime step lint -- sh -c 'exit 3'", {**env, "GITHUB_JOB": "lint"}, tmp_path)
    assert (unit.returncode, lint.returncode) == (0, 3)
    end = run_file(
        PLUGINS / "github-actions" / "end.sh", {**env, "INPUT_RESULT": "failure"}, tmp_path
    )
    assert end.returncode == 0, end.stderr

    trace = trace_of("github", "9753949763", "1")
    assert {span.trace_id for span in receiver.spans} == {trace}
    root = root_of(receiver)
    assert root.name == "RUN Build and Test"
    assert root.attributes["cicd.pipeline.result"] == "failure"
    assert receiver.by_name("lint").attributes["cicd.pipeline.task.run.result"] == "failure"
    assert receiver.by_name("unit-tests").parent_span_id == root.span_id


def test_github_action_can_derive_the_github_receiver_s_ids(ci_env, receiver, tmp_path):
    import hashlib

    github_env = tmp_path / "github_env"
    env = ci_env(
        "github",
        GITHUB_ENV=str(github_env),
        GITHUB_PATH=str(tmp_path / "github_path"),
        INPUT_TRACE_IDS="github-receiver",
        INPUT_CHECK_RUN_ID="40685651258",
    )
    setup = run_file(PLUGINS / "github-actions" / "setup.sh", env, tmp_path)
    assert setup.returncode == 0, setup.stderr
    exported = dict(line.split("=", 1) for line in github_env.read_text().splitlines())
    assert exported == {
        "LEADTIME_TRACE_IDS": "github-receiver",
        "LEADTIME_GITHUB_CHECK_RUN_ID": "40685651258",
    }
    unit = bash("leadtime step unit-tests -- true", {**env, **exported}, tmp_path)
    assert unit.returncode == 0, unit.stderr
    span = receiver.by_name("unit-tests")
    # The receiver's own derivation (trace_event_handling.go), for run 9753949763 attempt 1.
    assert span.trace_id == hashlib.sha256(b"97539497631t").hexdigest()[:32]
    assert span.parent_span_id == hashlib.sha256(b"40685651258-j").hexdigest()[16:32]


def test_github_action_without_leadtime_warns_and_passes(ci_env, tmp_path):
    env = ci_env("github", INPUT_RESULT="success", PATH="/usr/bin:/bin")
    end = run_file(PLUGINS / "github-actions" / "end.sh", env, tmp_path)
    assert end.returncode == 0
    assert "::warning title=leadtime::leadtime is not installed" in end.stdout


def test_github_step_action_maps_cache_hit_and_junit_and_keeps_the_exit_code(
    ci_env, receiver, tmp_path
):
    """actions/cache's `cache-hit` is "true" on a hit and "" on a miss; left out, nothing."""
    env = ci_env("github")
    step = PLUGINS / "github-actions" / "step.sh"
    report = (
        '<testsuite name="s" tests="1"><testcase classname="cart" name="test_total" '
        'time="0.5"/></testsuite>'
    )
    runs = {
        "hit": {"INPUT_CACHE_HIT": "true", "INPUT_RUN": "true"},
        "miss": {"INPUT_CACHE_HIT": "", "INPUT_RUN": "echo built | tr a-z A-Z"},
        "unit": {
            "INPUT_CACHE_HIT": "not-given",
            "INPUT_TYPE": "test",
            "INPUT_JUNIT": "reports/*.xml\n",
            "INPUT_RUN": f"mkdir -p reports; echo '{report}' > reports/unit.xml; exit 3",
        },
    }
    done = {
        name: run_file(step, {**env, "INPUT_NAME": name, **inputs}, tmp_path)
        for name, inputs in runs.items()
    }
    assert [done[name].returncode for name in runs] == [0, 0, 3]
    assert "BUILT" in done["miss"].stdout  # the command's output, through the wrapper
    assert receiver.by_name("hit").attributes["leadtime.cache.hit"] is True
    assert receiver.by_name("miss").attributes["leadtime.cache.hit"] is False
    unit = receiver.by_name("unit")
    assert "leadtime.cache.hit" not in unit.attributes
    assert unit.attributes["cicd.pipeline.task.type"] == "test"
    assert unit.attributes["leadtime.tests.total"] == 1
    assert receiver.by_name("cart.test_total").parent_span_id == unit.span_id


def test_github_step_action_without_leadtime_runs_the_command_with_a_warning(ci_env, tmp_path):
    env = ci_env("github", INPUT_NAME="lint", INPUT_RUN="echo linted; exit 4", PATH="/usr/bin:/bin")
    done = run_file(PLUGINS / "github-actions" / "step.sh", env, tmp_path)
    assert done.returncode == 4 and "linted" in done.stdout
    assert "::warning title=leadtime::leadtime is not installed" in done.stdout


# GitLab CI/CD -----------------------------------------------------------------------------------


def gitlab_template() -> dict:
    return yaml.safe_load((PLUGINS / "gitlab" / "leadtime.gitlab-ci.yml").read_text())


def gitlab_job(env, tmp_path, template: dict, job: str, script: list[str]):
    """A job as a runner runs it, on a machine of its own: the before_script of what it
    extends, then its script."""
    extends = template[job]["extends"] if job in template else ".leadtime"
    lines = [*template[extends]["before_script"], *script]
    machine = {**env, "LEADTIME_SPOOL_DIR": str(tmp_path / f"machine-{job}")}
    return bash("set -e\n" + "\n".join(lines), machine, tmp_path)


@pytest.mark.parametrize(
    ("failing", "closer", "result"),
    [
        (False, "leadtime:pipeline-passed", "success"),
        (True, "leadtime:pipeline-failed", "failure"),
    ],
)
def test_gitlab_template_jobs_share_a_trace_and_close_it(
    ci_env, receiver, tmp_path, failing, closer, result
):
    template = gitlab_template()
    env = ci_env("gitlab", LEADTIME_VERSION=template["variables"]["LEADTIME_VERSION"])
    env["LEADTIME_VERSION"] = __version__
    build = gitlab_job(
        {**env, "CI_JOB_ID": "1"}, tmp_path, template, "build", ["leadtime step build -- true"]
    )
    tests = gitlab_job(
        {**env, "CI_JOB_ID": "2"},
        tmp_path,
        template,
        "test",
        [f"leadtime step unit -- {'false' if failing else 'true'}"],
    )
    assert build.returncode == 0, build.stderr
    assert tests.returncode == (1 if failing else 0)
    # GitLab runs exactly one of the two .post jobs: on_success or on_failure
    assert {
        template[name]["when"] for name in ("leadtime:pipeline-passed", "leadtime:pipeline-failed")
    } == {"on_success", "on_failure"}
    closing = gitlab_job(
        {**env, "CI_JOB_ID": "3"}, tmp_path, template, closer, template[closer]["script"]
    )
    assert closing.returncode == 0, closing.stderr

    assert {span.trace_id for span in receiver.spans} == {trace_of("gitlab", "1099212")}
    root = root_of(receiver)
    assert root.attributes["cicd.pipeline.result"] == result
    assert (
        root.start_ns == 1795341481 * 10**9
    )  # CI_PIPELINE_CREATED_AT: the .post job's machine noted nothing
    assert template[closer]["stage"] == ".post"


# Jenkins ----------------------------------------------------------------------------------------


def test_jenkins_script_wraps_steps_and_closes_an_aborted_build(ci_env, receiver, tmp_path):
    script = PLUGINS / "jenkins" / "resources" / "leadtime" / "leadtime-jenkins.sh"
    env = ci_env("jenkins")
    assert run_file(script, env, tmp_path, "install").returncode == 0
    assert run_file(script, env, tmp_path, "start").returncode == 0
    quoted = run_file(script, env, tmp_path, "step", "unit tests", 'echo "it\'s $((6 * 7))"')
    assert quoted.returncode == 0 and quoted.stdout.strip() == "it's 42"
    failed = run_file(script, env, tmp_path, "step", "lint", "exit 4")
    assert failed.returncode == 4  # the stage fails as it would without leadtime
    assert run_file(script, env, tmp_path, "end", "ABORTED").returncode == 0
    assert {span.trace_id for span in receiver.spans} == {trace_of("jenkins", "shop/main/118")}
    assert root_of(receiver).attributes["cicd.pipeline.result"] == "cancellation"
    assert receiver.by_name("unit tests").attributes["process.exit.code"] == 0
    unknown = run_file(script, env, tmp_path, "dance")
    assert unknown.returncode == 2 and "unknown action dance" in unknown.stderr


def test_jenkins_library_steps_call_the_script():
    for name in ("leadtimeStep", "leadtimeDeploy", "leadtimePipeline"):
        text = (PLUGINS / "jenkins" / "vars" / f"{name}.groovy").read_text()
        assert "_leadtimeScript()" in text and "_leadtimeQuote(" in text
    loader = (PLUGINS / "jenkins" / "vars" / "_leadtimeScript.groovy").read_text()
    assert "libraryResource('leadtime/leadtime-jenkins.sh')" in loader


# CircleCI ---------------------------------------------------------------------------------------


def orb_step(command: str, parameters: dict[str, str]) -> tuple[str, dict[str, str], str | None]:
    """The orb command's run steps with their parameters filled in as CircleCI would."""
    orb = yaml.safe_load((PLUGINS / "circleci" / "orb.yml").read_text())
    declared = orb["commands"][command].get("parameters", {})
    values = {k: str(v.get("default", "")) for k, v in declared.items()} | parameters

    def fill(text: str) -> str:
        for key, value in values.items():
            text = text.replace(f"<< parameters.{key} >>", value)
        return text

    runs = []
    for step in orb["commands"][command]["steps"]:
        if "run" in step:
            run = step["run"]
            environment = {k: fill(str(v)) for k, v in run.get("environment", {}).items()}
            runs.append((fill(run["command"]), environment, run.get("when")))
    return runs


def test_circleci_orb_commands(ci_env, receiver, tmp_path):
    env = ci_env("circleci", BASH_ENV=str(tmp_path / "bash_env"))
    for script, extra, _ in orb_step("install", {"version": __version__}):
        assert bash(script, {**env, **extra}, tmp_path).returncode == 0
    ((step_script, step_env, _),) = orb_step(
        "step", {"name": "unit-tests", "type": "test", "command": 'test "$(echo "a b")" = "a b"'}
    )
    assert bash(step_script, {**env, **step_env}, tmp_path).returncode == 0
    ((failing, failing_env, _),) = orb_step("step", {"name": "e2e", "command": "exit 5"})
    assert bash(failing, {**env, **failing_env}, tmp_path).returncode == 5
    closers = {when: (script, extra) for script, extra, when in orb_step("pipeline-end", {})}
    assert set(closers) == {"on_success", "on_fail"}
    script, extra = closers["on_fail"]  # a step failed: CircleCI runs the on_fail one
    assert bash(script, {**env, **extra}, tmp_path).returncode == 0

    assert {span.trace_id for span in receiver.spans} == {
        trace_of("circleci", "6fbd7d5f-6b3a-4a8e-9f7a-000000000001")
    }
    assert receiver.by_name("unit-tests").attributes["cicd.pipeline.task.type"] == "test"
    assert receiver.by_name("e2e").attributes["process.exit.code"] == 5
    assert root_of(receiver).attributes["cicd.pipeline.result"] == "failure"


# Buildkite --------------------------------------------------------------------------------------


def test_buildkite_hooks_wrap_the_command_and_the_last_step_closes_the_build(
    ci_env, receiver, tmp_path
):
    hooks = PLUGINS / "buildkite" / "hooks"
    env = ci_env("buildkite", BUILDKITE_PLUGIN_LEADTIME_TYPE="test")
    environment = bash(f"source {hooks / 'environment'}", env, tmp_path)
    assert environment.returncode == 0, environment.stderr
    tests = run_file(hooks / "command", {**env, "BUILDKITE_COMMAND": "echo ok && exit 2"}, tmp_path)
    assert tests.returncode == 2 and tests.stdout.strip() == "ok"
    deploy_env = {
        **env,
        "BUILDKITE_JOB_ID": "job-2",
        "BUILDKITE_LABEL": ":rocket: deploy",
        "BUILDKITE_PLUGIN_LEADTIME_DEPLOY_ENVIRONMENT": "staging",
        "BUILDKITE_PLUGIN_LEADTIME_SERVICE": "shop",
        "BUILDKITE_COMMAND": "true",
    }
    assert run_file(hooks / "command", deploy_env, tmp_path).returncode == 0
    closing = run_file(
        PLUGINS / "buildkite" / "bin" / "pipeline-end", env, tmp_path, "passed", "hard_failed"
    )
    assert closing.returncode == 0, closing.stderr

    assert {span.trace_id for span in receiver.spans} == {
        trace_of("buildkite", "0190b3e1-9b7a-4c1e-8d2f-000000000002")
    }
    step = receiver.by_name(":rspec: tests")
    assert step.attributes["cicd.pipeline.task.type"] == "test"
    assert step.attributes["process.exit.code"] == 2
    deploy = receiver.by_name(":rocket: deploy")
    assert deploy.attributes["deployment.environment.name"] == "staging"
    assert deploy.resource["service.name"] == "shop"
    assert root_of(receiver).attributes["cicd.pipeline.result"] == "failure"


# Schemas ----------------------------------------------------------------------------------------

SCHEMAS = [
    ("vendor.github-actions", "github-actions/action.yml"),
    ("vendor.github-actions", "github-actions/end/action.yml"),
    ("vendor.github-actions", "github-actions/step/action.yml"),
    ("vendor.github-workflows", "github-actions/example-workflow.yml"),
    ("vendor.gitlab-ci", "gitlab/leadtime.gitlab-ci.yml"),
    ("vendor.gitlab-ci", "gitlab/example.gitlab-ci.yml"),
    ("vendor.circle-ci", "circleci/orb.yml"),
    ("vendor.circle-ci", "circleci/example-config.yml"),
    ("vendor.buildkite", "buildkite/example-pipeline.yml"),
]


def check_schema(schema: str, path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", schema, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(("schema", "path"), SCHEMAS, ids=[path for _, path in SCHEMAS])
def test_yaml_matches_the_public_schema(schema, path):
    checked = check_schema(schema, PLUGINS / path)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_schema_check_catches_a_broken_action(tmp_path):
    action = yaml.safe_load((PLUGINS / "github-actions" / "action.yml").read_text())
    action["runs"]["using"] = "compose"
    broken = tmp_path / "action.yml"
    broken.write_text(yaml.safe_dump(action))
    assert check_schema("vendor.github-actions", broken).returncode == 1


def test_every_plugin_has_a_readme_with_at_most_three_setup_steps():
    for folder in ("github-actions", "gitlab", "jenkins", "circleci", "buildkite"):
        readme = (PLUGINS / folder / "README.md").read_text()
        setup = readme.split("## Set up in three steps", 1)[1].split("\n## ", 1)[0]
        numbered = [line for line in setup.splitlines() if line[:2] in ("1.", "2.", "3.", "4.")]
        assert [line[:2] for line in numbered] == ["1.", "2.", "3."], folder


def test_github_action_deepens_a_shallow_checkout(ci_env, tmp_path):
    origin = History(tmp_path / "origin")
    for name in ("a", "b", "c"):
        origin.merge(f"feature-{name}")
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "--quiet", "--depth=1", f"file://{origin.path}", str(clone)], check=True
    )
    env = ci_env("github", GITHUB_ENV=str(tmp_path / "env"), GITHUB_PATH=str(tmp_path / "path"))

    def shallow() -> str:
        return bash("git rev-parse --is-shallow-repository", env, clone).stdout.strip()

    assert shallow() == "true"
    skipped = run_file(
        PLUGINS / "github-actions" / "setup.sh", {**env, "INPUT_FETCH_HISTORY": "false"}, clone
    )
    assert skipped.returncode == 0 and shallow() == "true"
    setup = run_file(PLUGINS / "github-actions" / "setup.sh", env, clone)
    assert setup.returncode == 0, setup.stderr
    assert shallow() == "false"
    assert bash("git rev-list --count --first-parent HEAD", env, clone).stdout.strip() == "4"
