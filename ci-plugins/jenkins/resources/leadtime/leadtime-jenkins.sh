#!/usr/bin/env bash
# leadtime for Jenkins: what the shared library's steps run (and what declarative pipelines can
# call with `sh`). Telemetry never fails the build: only the wrapped command's exit code counts.
#
#   leadtime-jenkins.sh install            install the pinned version unless it is there
#   leadtime-jenkins.sh start              note the pipeline run's start
#   leadtime-jenkins.sh step NAME CMD      run CMD (a shell line) as the step NAME
#   leadtime-jenkins.sh deploy ENV CMD     run CMD as a deploy to ENV
#   leadtime-jenkins.sh end RESULT         close the run (RESULT: currentBuild.currentResult)
set -uo pipefail

version="${LEADTIME_VERSION:-0.1.0}"
action="${1:?usage: leadtime-jenkins.sh install|start|step|deploy|end ...}"
shift

have_leadtime() { command -v leadtime >/dev/null 2>&1; }

case "$action" in
  install)
    if leadtime --version 2>/dev/null | grep -q "version ${version}\$"; then exit 0; fi
    python3 -m pip install --user --quiet "${LEADTIME_PACKAGE:-leadtime==${version}}" ||
      echo "leadtime: could not install; this build runs untraced" >&2
    ;;
  start)
    have_leadtime && { leadtime pipeline start || true; }
    ;;
  step)
    name="${1:?step NAME CMD}"; command="${2:?step NAME CMD}"
    if have_leadtime; then exec leadtime step "$name" -- bash -c "$command"; fi
    exec bash -c "$command"
    ;;
  deploy)
    environment="${1:?deploy ENV CMD}"; command="${2:?deploy ENV CMD}"
    if have_leadtime; then exec leadtime deploy "$environment" -- bash -c "$command"; fi
    exec bash -c "$command"
    ;;
  end)
    have_leadtime && { leadtime pipeline end --result "${1:?end RESULT}" || true; }
    ;;
  *)
    echo "leadtime-jenkins.sh: unknown action ${action}" >&2
    exit 2
    ;;
esac
exit 0
