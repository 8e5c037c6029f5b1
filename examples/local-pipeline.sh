#!/usr/bin/env bash
# A small pipeline traced with leadtime, run on your own machine with no backend at all.
#
#   examples/local-pipeline.sh            # spans go to ./leadtime-spans.jsonl
#   OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 examples/local-pipeline.sh   # to a collector
#
# Every step is one span; `test` wraps two nested steps; the deploy step records a deploy of the
# checked-out commit; the root span closes with the pipeline's result, also when a step fails.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
if [ -z "${OTEL_EXPORTER_OTLP_ENDPOINT:-}${LEADTIME_URL:-}" ]; then
  export LEADTIME_TRACE_FILE="${LEADTIME_TRACE_FILE:-$PWD/leadtime-spans.jsonl}"
fi

eval "$(leadtime pipeline start)"
trap 'leadtime pipeline end --result failure' ERR

leadtime step build --type build -- python3 -m compileall -q "$here/../tracer"
leadtime step test --type test -- sh -c '
  leadtime step unit-tests --type test -- sleep 0.3 &&
  leadtime step lint --type test -- sleep 0.1'
leadtime deploy local --service example -- sh -c 'echo "deployed $(git -C "$0" rev-parse --short HEAD 2>/dev/null || echo "(no git)")"' "$here"

trap - ERR
leadtime pipeline end --result success
if [ -n "${LEADTIME_TRACE_FILE:-}" ]; then
  echo "$(grep -o '"spanId"' "$LEADTIME_TRACE_FILE" | wc -l) spans in $LEADTIME_TRACE_FILE (OTLP/JSON, one request a line)"
fi
