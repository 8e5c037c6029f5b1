#!/usr/bin/env bash
# Run INPUT_RUN as the pipeline step INPUT_NAME through `leadtime step`, which keeps its exit
# code and output; without leadtime the command still runs, with a warning.
set -uo pipefail
command=(bash -eo pipefail -c "$INPUT_RUN")
if ! command -v leadtime >/dev/null 2>&1; then
  echo "::warning title=leadtime::leadtime is not installed; step ${INPUT_NAME} is not measured"
  exec "${command[@]}"
fi
options=()
if [ -n "${INPUT_TYPE:-}" ]; then
  options+=(--type "$INPUT_TYPE")
fi
# actions/cache sets cache-hit to "true" on an exact hit, "false" or "" otherwise: both a miss
case "${INPUT_CACHE_HIT-not-given}" in
  not-given) ;;
  true) options+=(--cache-hit true) ;;
  *) options+=(--cache-hit false) ;;
esac
while IFS= read -r pattern; do
  if [ -n "$pattern" ]; then
    options+=(--junit "$pattern")
  fi
done <<< "${INPUT_JUNIT:-}"
exec leadtime step "$INPUT_NAME" "${options[@]}" -- "${command[@]}"
