#!/usr/bin/env bash
# Send the pipeline run's root span with the run's result; a missing leadtime is a warning only.
set -uo pipefail
if ! command -v leadtime >/dev/null 2>&1; then
  echo "::warning title=leadtime::leadtime is not installed; the run's end is not recorded"
  exit 0
fi
if [ -z "${INPUT_RESULT:-}" ]; then
  echo "::warning title=leadtime::pass the job's result: with: { result: \${{ job.status }} }"
  exit 0
fi
leadtime pipeline end --result "$INPUT_RESULT" ||
  echo "::warning title=leadtime::the run's end could not be recorded"
