"""W3C trace context: parsing, formatting and ids derived from the pipeline run."""

from __future__ import annotations

import pytest

from leadtime.tracer import traceid


def test_derived_ids_are_stable_and_distinct_per_run_and_attempt():
    first = traceid.pipeline_trace_id("github", "100", "1")
    assert first == traceid.pipeline_trace_id("github", "100", "1")
    others = {
        traceid.pipeline_trace_id("github", "100", "2"),
        traceid.pipeline_trace_id("github", "101", "1"),
        traceid.pipeline_trace_id("gitlab", "100", "1"),
    }
    assert first not in others and len(others) == 3
    assert traceid.pipeline_trace_id("gitlab", "100", None) == traceid.pipeline_trace_id(
        "gitlab", "100", "1"
    )
    assert 0 < first < 2**128
    assert 0 < traceid.pipeline_root_span_id(first) < 2**64


def test_traceparent_round_trip():
    value = traceid.format_traceparent(0x0AF7651916CD43DD8448EB211C80319C, 0xB7AD6B7169203331)
    assert value == "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    parsed = traceid.parse_traceparent(value)
    assert (parsed.trace_id, parsed.span_id, parsed.sampled) == (
        0x0AF7651916CD43DD8448EB211C80319C,
        0xB7AD6B7169203331,
        True,
    )


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "garbage",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",  # no flags
        "00-00000000000000000000000000000000-b7ad6b7169203331-01",  # zero trace id
        "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",  # zero span id
        "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",  # forbidden version
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",  # v00 has 4 fields
        "00-0af7651916cd43dd8448eb211c80319g-b7ad6b7169203331-01",  # not hex
        "00-0af7651916cd43dd8448eb211c80319-b7ad6b7169203331-01",  # short trace id
    ],
)
def test_invalid_traceparent_is_ignored(value):
    assert traceid.parse_traceparent(value) is None


def test_future_versions_may_append_fields_and_unsampled_flag_is_kept():
    parsed = traceid.parse_traceparent(
        "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00-future"
    )
    assert parsed is not None and parsed.sampled is False


def _receiver_hex(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()


GITHUB_RUN = {"provider": "github", "run_id": "14460881260", "attempt": "2", "job_name": "build"}


def test_github_receiver_ids_follow_the_receiver_s_derivation():
    # The collector's GitHub receiver (trace_event_handling.go): trace = sha256(run, attempt,
    # "t")[:32], root = sha256(run, attempt, "s")[16:32], job = sha256(check run, "-j")[16:32].
    env = {"LEADTIME_TRACE_IDS": "github-receiver", "LEADTIME_GITHUB_CHECK_RUN_ID": "40685651258"}
    trace_id, root, job = traceid.run_ids(env, GITHUB_RUN)
    assert f"{trace_id:032x}" == _receiver_hex("144608812602t")[:32]
    assert f"{root:016x}" == _receiver_hex("144608812602s")[16:32]
    assert f"{job:016x}" == _receiver_hex("40685651258-j")[16:32]


def test_without_a_check_run_id_the_job_span_is_the_older_receivers_one():
    _, _, job = traceid.run_ids({"LEADTIME_TRACE_IDS": "github-receiver"}, GITHUB_RUN)
    assert f"{job:016x}" == _receiver_hex("144608812602build")[16:32]


def test_receiver_ids_only_on_github_and_only_when_asked():
    own = traceid.pipeline_trace_id("github", "14460881260", "2")
    assert traceid.run_ids({}, GITHUB_RUN)[0] == own
    gitlab = {**GITHUB_RUN, "provider": "gitlab"}
    asked = {"LEADTIME_TRACE_IDS": "github-receiver"}
    assert traceid.run_ids(asked, gitlab)[0] == traceid.pipeline_trace_id(
        "gitlab", "14460881260", "2"
    )


def test_an_unknown_trace_id_mode_says_so_and_keeps_leadtime_s_ids(capsys):
    trace_id, _, _ = traceid.run_ids({"LEADTIME_TRACE_IDS": "github-reciever"}, GITHUB_RUN)
    assert trace_id == traceid.pipeline_trace_id("github", "14460881260", "2")
    assert "LEADTIME_TRACE_IDS='github-reciever'" in capsys.readouterr().err
