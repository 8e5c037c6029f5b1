#!/usr/bin/env bash
# Install leadtime unless this version is there already, hand its settings to later steps
# (GITHUB_ENV, GITHUB_PATH), and note the pipeline run's start. Never fails the job because of
# telemetry: a failed install is a warning and later `leadtime` calls are then skipped by hand.
set -uo pipefail

version="${LEADTIME_VERSION:?LEADTIME_VERSION is not set}"
if ! leadtime --version 2>/dev/null | grep -q "version ${version}\$"; then
  if python3 -m pip install --user --quiet "${LEADTIME_PACKAGE:-leadtime==${version}}"; then
    echo "$(python3 -m site --user-base)/bin" >> "$GITHUB_PATH"
    export PATH="$(python3 -m site --user-base)/bin:$PATH"
  else
    echo "::warning title=leadtime::could not install ${LEADTIME_PACKAGE:-leadtime==${version}}; steps run untraced"
    exit 0
  fi
fi

if [ -n "${INPUT_TOKEN:-}" ]; then
  echo "::add-mask::${INPUT_TOKEN}"
  echo "LEADTIME_TOKEN=${INPUT_TOKEN}" >> "$GITHUB_ENV"
fi
[ -n "${INPUT_URL:-}" ] && echo "LEADTIME_URL=${INPUT_URL}" >> "$GITHUB_ENV"
[ -n "${INPUT_SERVICE:-}" ] && echo "LEADTIME_SERVICE=${INPUT_SERVICE}" >> "$GITHUB_ENV"
# The GitHub receiver's ids, for this step's `pipeline start` and every later step.
if [ -n "${INPUT_TRACE_IDS:-}" ]; then
  export LEADTIME_TRACE_IDS="${INPUT_TRACE_IDS}"
  echo "LEADTIME_TRACE_IDS=${INPUT_TRACE_IDS}" >> "$GITHUB_ENV"
fi
if [ -n "${INPUT_CHECK_RUN_ID:-}" ]; then
  export LEADTIME_GITHUB_CHECK_RUN_ID="${INPUT_CHECK_RUN_ID}"
  echo "LEADTIME_GITHUB_CHECK_RUN_ID=${INPUT_CHECK_RUN_ID}" >> "$GITHUB_ENV"
fi

# A shallow checkout hides what a deploy ships: deepen it by the history a deploy sends.
if [ "${INPUT_FETCH_HISTORY:-true}" = "true" ] &&
  [ "$(git rev-parse --is-shallow-repository 2>/dev/null)" = "true" ]; then
  if ! git fetch --quiet --deepen="${LEADTIME_HISTORY_LIMIT:-100}" 2>/dev/null; then
    echo "::warning title=leadtime::could not deepen the shallow checkout; use actions/checkout with fetch-depth: 0"
  fi
fi

leadtime pipeline start
echo "leadtime $(leadtime --version | awk '{print $NF}') is set up for run ${GITHUB_RUN_ID:-?} attempt ${GITHUB_RUN_ATTEMPT:-1}"
