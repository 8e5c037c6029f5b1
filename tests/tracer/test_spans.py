"""The spans `leadtime step`, `deploy` and `pipeline` send: names, ids, parentage, attributes."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from leadtime.tracer import traceid
from tests.conftest import clean_env, run_leadtime
from tests.gitrepos import History

GITHUB = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_RUN_ID": "9753949763",
    "GITHUB_RUN_ATTEMPT": "2",
    "GITHUB_WORKFLOW": "ci",
    "GITHUB_JOB": "test",
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_REPOSITORY": "acme/shop",
    "GITHUB_REF": "refs/pull/17/merge",
    "GITHUB_REF_NAME": "17/merge",
    "GITHUB_HEAD_REF": "feature/fast-checkout",
    "GITHUB_SHA": "8f2d6c1e0b9a4d7c3e5f1a2b6c8d0e4f7a9b1c3d",
}


@pytest.fixture
def github(tmp_path, receiver):
    return clean_env(tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint, **GITHUB)


def test_step_span_carries_the_cicd_and_vcs_conventions(github, receiver, tmp_path):
    done = run_leadtime(
        ["step", "unit-tests", "--type", "test", "--attr", "team=payments", "--", "true"],
        github,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    span = receiver.by_name("unit-tests")
    assert span.kind == 1  # INTERNAL
    assert span.attributes == span.attributes | {
        "cicd.pipeline.name": "ci",
        "cicd.pipeline.run.id": "9753949763",
        "cicd.pipeline.run.url.full": "https://github.com/acme/shop/actions/runs/9753949763",
        "cicd.pipeline.task.name": "unit-tests",
        "cicd.pipeline.task.run.id": span.span_id,
        "cicd.pipeline.task.run.result": "success",
        "cicd.pipeline.task.run.url.full": (
            "https://github.com/acme/shop/actions/runs/9753949763/attempts/2"
        ),
        "cicd.pipeline.task.type": "test",
        "vcs.repository.url.full": "https://github.com/acme/shop",
        "vcs.repository.name": "shop",
        "vcs.provider.name": "github",
        "vcs.ref.head.name": "feature/fast-checkout",
        "vcs.ref.head.revision": GITHUB["GITHUB_SHA"],
        "vcs.change.id": "17",
        "process.exit.code": 0,
        "team": "payments",
    }
    assert span.resource["service.name"] == "shop"
    assert span.end_ns > span.start_ns


def test_trace_id_comes_from_provider_run_and_attempt(github, receiver, tmp_path):
    run_leadtime(["step", "build", "--", "true"], github, cwd=tmp_path)
    span = receiver.by_name("build")
    trace_id = traceid.pipeline_trace_id("github", "9753949763", "2")
    assert span.trace_id == f"{trace_id:032x}"
    assert span.parent_span_id == f"{traceid.pipeline_root_span_id(trace_id):016x}"


def test_two_jobs_on_two_machines_share_one_trace(github, receiver, tmp_path):
    # Separate processes, separate spool directories, nothing passed between them.
    job_a = {**github, "GITHUB_JOB": "build", "LEADTIME_SPOOL_DIR": str(tmp_path / "a")}
    job_b = {**github, "GITHUB_JOB": "test", "LEADTIME_SPOOL_DIR": str(tmp_path / "b")}
    run_leadtime(["step", "compile", "--", "true"], job_a, cwd=tmp_path)
    run_leadtime(["step", "pytest", "--", "true"], job_b, cwd=tmp_path)
    compile_span, test_span = receiver.by_name("compile"), receiver.by_name("pytest")
    assert compile_span.trace_id == test_span.trace_id
    assert compile_span.parent_span_id == test_span.parent_span_id
    assert compile_span.attributes["leadtime.job.name"] == "build"
    assert test_span.attributes["leadtime.job.name"] == "test"


def test_a_rerun_attempt_is_a_new_trace(github, receiver, tmp_path):
    run_leadtime(["step", "first", "--", "true"], {**github, "GITHUB_RUN_ATTEMPT": "1"})
    run_leadtime(["step", "second", "--", "true"], {**github, "GITHUB_RUN_ATTEMPT": "2"})
    assert receiver.by_name("first").trace_id != receiver.by_name("second").trace_id


def test_nested_steps_form_a_tree(github, receiver, tmp_path):
    inner = "python -m leadtime.tracer step inner -- true"
    script = f"{inner} && python -m leadtime.tracer step sibling -- true"
    env = {**github, "PATH": f"{__import__('sys').executable.rsplit('/', 1)[0]}:{github['PATH']}"}
    done = run_leadtime(["step", "outer", "--", "sh", "-c", script], env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    outer, inner_span, sibling = (receiver.by_name(n) for n in ("outer", "inner", "sibling"))
    assert inner_span.parent_span_id == outer.span_id
    assert sibling.parent_span_id == outer.span_id
    assert {inner_span.trace_id, sibling.trace_id} == {outer.trace_id}
    assert outer.start_ns <= inner_span.start_ns and inner_span.end_ns <= outer.end_ns


def test_child_gets_traceparent_of_its_step(github, receiver, tmp_path):
    done = run_leadtime(["step", "s", "--", "sh", "-c", 'echo "$TRACEPARENT"'], github)
    span = receiver.by_name("s")
    assert done.stdout.strip() == f"00-{span.trace_id}-{span.span_id}-01"


def test_a_command_shorter_than_the_span_preparation_keeps_its_own_duration(github, receiver):
    # The span is prepared (the SDK imported) while the command runs; `true` ends long before
    # that is done, and its span must end when it did, not when the preparation did.
    started = time.monotonic()
    run_leadtime(["step", "quick", "--", "true"], github)
    whole_call_ns = (time.monotonic() - started) * 1e9
    span = receiver.by_name("quick")
    assert span.end_ns - span.start_ns < whole_call_ns / 4


def test_incoming_traceparent_and_tracestate_are_honoured(github, receiver):
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    env = {**github, "TRACEPARENT": parent, "TRACESTATE": "vendor=opaque"}
    done = run_leadtime(["step", "s", "--", "sh", "-c", 'echo "$TRACESTATE"'], env)
    assert done.stdout.strip() == "vendor=opaque"
    span = receiver.by_name("s")
    assert span.trace_id == "0af7651916cd43dd8448eb211c80319c"
    assert span.parent_span_id == "b7ad6b7169203331"


def test_local_step_without_ci_reads_the_checkout(tmp_path, receiver):
    history = History(tmp_path / "repo")
    sha = history.merge("feature-a")
    env = clean_env(tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint)
    run_leadtime(["step", "build", "--", "true"], env, cwd=history.path)
    span = receiver.by_name("build")
    assert span.parent_span_id == ""  # no pipeline run: the step is its own root
    assert span.attributes["leadtime.ci.provider"] == "local"
    assert span.attributes["vcs.ref.head.revision"] == sha
    assert span.attributes["vcs.ref.head.name"] == "main"
    assert span.attributes["vcs.repository.url.full"] == "https://github.com/acme/shop"
    assert span.attributes["vcs.provider.name"] == "github"
    assert span.attributes["leadtime.commit.committed_at"] == history.clock.isoformat()
    assert span.resource["service.name"] == "shop"


def test_deploy_span_records_the_deploy_and_its_first_parent_history(tmp_path, receiver):
    history = History(tmp_path / "repo")
    merged = [history.merge("a"), history.squash("b"), history.fast_forward("c")]
    env = clean_env(tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint)
    done = run_leadtime(
        ["deploy", "production", "--service", "shop-api", "--", "true"], env, cwd=history.path
    )
    assert done.returncode == 0, done.stderr
    span = receiver.by_name("deploy production")
    assert span.resource["service.name"] == "shop-api"
    attributes = span.attributes
    assert attributes["cicd.pipeline.task.type"] == "deploy"
    assert attributes["deployment.environment.name"] == "production"
    assert attributes["deployment.status"] == "succeeded"
    assert attributes["deployment.id"] == span.span_id
    assert attributes["vcs.ref.head.revision"] == merged[-1]
    # First-parent order, newest first: the merged branch's own commits are not mergesets.
    assert attributes["leadtime.deploy.history.revisions"] == history.first_parent()
    assert attributes["leadtime.deploy.history.revisions"][:3] == merged[::-1]
    assert len(attributes["leadtime.deploy.history.committed_at"]) == 4
    assert attributes["leadtime.deploy.history.authors"][0] == "dee@example.com"
    assert attributes["leadtime.deploy.history.subjects"][2] == "Merge branch 'a'"
    assert attributes["leadtime.deploy.history.truncated"] is False


def test_deploy_history_is_bounded(tmp_path, receiver):
    history = History(tmp_path / "repo")
    for name in "abcde":
        history.merge(name)
    env = clean_env(
        tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint, LEADTIME_HISTORY_LIMIT="3"
    )
    run_leadtime(["deploy", "staging", "--", "true"], env, cwd=history.path)
    attributes = receiver.by_name("deploy staging").attributes
    assert attributes["leadtime.deploy.history.revisions"] == history.first_parent()[:3]
    assert attributes["leadtime.deploy.history.truncated"] is True


def test_failed_deploy_of_a_given_revision(tmp_path, receiver):
    history = History(tmp_path / "repo")
    first = history.merge("a")
    history.tag("v1")
    history.merge("b")
    env = clean_env(tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint)
    done = run_leadtime(
        ["deploy", "production", "--revision", "v1", "--id", "rel-1", "--", "false"],
        env,
        cwd=history.path,
    )
    assert done.returncode == 1
    span = receiver.by_name("deploy production")
    assert span.status_code == 2
    assert span.attributes["deployment.status"] == "failed"
    assert span.attributes["deployment.id"] == "rel-1"
    assert span.attributes["vcs.ref.head.revision"] == first
    assert span.attributes["leadtime.deploy.history.revisions"][0] == first


def test_pipeline_root_span_is_the_parent_of_every_step(github, receiver, tmp_path):
    started = run_leadtime(["pipeline", "start"], github, cwd=tmp_path)
    assert started.returncode == 0, started.stderr
    run_leadtime(["step", "build", "--", "true"], github, cwd=tmp_path)
    ended = run_leadtime(["pipeline", "end", "--result", "failed"], github, cwd=tmp_path)
    assert ended.returncode == 0, ended.stderr
    root = receiver.by_name("RUN ci")
    step = receiver.by_name("build")
    assert root.kind == 2  # SERVER, as the CI/CD conventions ask of a pipeline run
    assert root.parent_span_id == ""
    assert step.parent_span_id == root.span_id and step.trace_id == root.trace_id
    assert root.attributes["cicd.pipeline.result"] == "failure"
    assert root.status_code == 2
    assert root.start_ns <= step.start_ns and step.end_ns <= root.end_ns


def test_pipeline_end_takes_an_explicit_start(github, receiver, tmp_path):
    ended = run_leadtime(
        ["pipeline", "end", "--result", "success", "--started-at", "2026-11-22T10:00:00Z"],
        github,
        cwd=tmp_path,
    )
    assert ended.returncode == 0, ended.stderr
    root = receiver.by_name("RUN ci")
    assert root.start_ns == 1795341600 * 10**9
    assert root.attributes["cicd.pipeline.result"] == "success"


def test_local_pipeline_start_prints_a_run_id_that_joins_the_steps(tmp_path, receiver):
    env = clean_env(tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint)
    started = run_leadtime(["pipeline", "start"], env, cwd=tmp_path)
    assert started.stdout.startswith("export LEADTIME_RUN_ID=")
    run_id = started.stdout.strip().split("=", 1)[1]
    env["LEADTIME_RUN_ID"] = run_id
    run_leadtime(["step", "build", "--", "true"], env, cwd=tmp_path)
    run_leadtime(["pipeline", "end", "--result", "success"], env, cwd=tmp_path)
    assert receiver.by_name("build").parent_span_id == receiver.by_name("RUN").span_id


def test_pipeline_end_without_a_run_id_says_what_to_do(tmp_path):
    done = run_leadtime(["pipeline", "end", "--result", "success"], clean_env(tmp_path))
    assert done.returncode == 2
    assert "LEADTIME_RUN_ID" in done.stderr


def test_without_any_endpoint_spans_go_to_a_json_lines_file(tmp_path):
    trace_file = tmp_path / "spans.jsonl"
    env = clean_env(tmp_path, LEADTIME_TRACE_FILE=str(trace_file), **GITHUB)
    for name in ("one", "two"):
        assert run_leadtime(["step", name, "--", "true"], env, cwd=tmp_path).returncode == 0
    lines = [json.loads(line) for line in trace_file.read_text().splitlines()]
    spans = [
        span
        for line in lines
        for resource in line["resourceSpans"]
        for scope in resource["scopeSpans"]
        for span in scope["spans"]
    ]
    assert [span["name"] for span in spans] == ["one", "two"]
    trace_id = traceid.pipeline_trace_id("github", "9753949763", "2")
    assert {span["traceId"] for span in spans} == {f"{trace_id:032x}"}  # OTLP/JSON: hex ids
    assert all(isinstance(span["kind"], int) for span in spans)  # OTLP/JSON: integer enums


def test_default_trace_file_is_in_the_user_data_directory(tmp_path):
    env = clean_env(tmp_path, XDG_DATA_HOME=str(tmp_path / "data"))
    assert run_leadtime(["step", "s", "--", "true"], env, cwd=tmp_path).returncode == 0
    assert (tmp_path / "data" / "leadtime" / "spans.jsonl").read_text().count("\n") == 1


def test_leadtime_server_target_gets_the_bearer_token(tmp_path, receiver):
    env = clean_env(tmp_path, LEADTIME_URL=receiver.endpoint, LEADTIME_TOKEN="s3cret")
    assert run_leadtime(["step", "s", "--", "true"], env, cwd=tmp_path).returncode == 0
    assert receiver.by_name("s").attributes["cicd.pipeline.task.run.result"] == "success"
    assert receiver.requests[0]["authorization"] == "Bearer s3cret"
    assert receiver.requests[0]["content-encoding"] == "gzip"


def test_otlp_headers_variable_is_sent(tmp_path, receiver):
    env = clean_env(
        tmp_path,
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=f"{receiver.endpoint}/v1/traces",
        OTEL_EXPORTER_OTLP_HEADERS="x-honeycomb-team=abc%20def,x-other=1",
    )
    run_leadtime(["step", "s", "--", "true"], env, cwd=tmp_path)
    assert receiver.requests[0]["x-honeycomb-team"] == "abc def"
    assert receiver.requests[0]["x-other"] == "1"


def test_otel_service_name_is_honoured(tmp_path, receiver):
    env = clean_env(tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint, **GITHUB)
    env["OTEL_SERVICE_NAME"] = "checkout-ci"
    run_leadtime(["step", "s", "--", "true"], env, cwd=tmp_path)
    assert receiver.by_name("s").resource["service.name"] == "checkout-ci"


def test_a_shallow_checkout_is_noticed_and_a_full_one_is_not(tmp_path):
    from leadtime.tracer import gitinfo

    history = History(tmp_path / "origin")
    for name in ("a", "b", "c"):
        history.merge(f"feature-{name}")
    history.repo.git.checkout("main")
    head = history.first_parent()[0]
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "--quiet", "--depth=2", f"file://{history.path}", str(clone)],
        check=True,
    )
    commits, truncated, shallow = gitinfo.first_parent_history(head, 100, str(clone))
    assert [c["sha"] for c in commits] == history.first_parent()[:2]
    assert (truncated, shallow) == (False, True)
    commits, truncated, shallow = gitinfo.first_parent_history(head, 100, str(history.path))
    assert len(commits) == 4 and (truncated, shallow) == (False, False)
    commits, truncated, shallow = gitinfo.first_parent_history(head, 2, str(history.path))
    assert len(commits) == 2 and (truncated, shallow) == (True, False)


def test_the_run_s_entities_are_on_the_resource_too(github, receiver, tmp_path):
    # Semantic conventions v1.43+ put the run's and the repository's identity on the resource
    # (entities cicd.pipeline, cicd.pipeline.run, vcs.repository, vcs.ref).
    assert run_leadtime(["step", "lint", "--", "true"], github, cwd=tmp_path).returncode == 0
    span = receiver.by_name("lint")
    assert span.resource == span.resource | {
        "cicd.pipeline.name": "ci",
        "cicd.pipeline.run.id": "9753949763",
        "cicd.pipeline.run.url.full": "https://github.com/acme/shop/actions/runs/9753949763",
        "vcs.repository.url.full": "https://github.com/acme/shop",
        "vcs.repository.name": "shop",
        "vcs.ref.head.name": "feature/fast-checkout",
        "vcs.ref.head.revision": GITHUB["GITHUB_SHA"],
    }
    assert "cicd.pipeline.task.name" not in span.resource  # a step's own keys stay on the span
    assert span.attributes["vcs.ref.head.revision"] == GITHUB["GITHUB_SHA"]
