#!/usr/bin/env bash
# leadtime end to end on your own machine: a server on SQLite, a small git repository with three
# merged pull requests, a traced pipeline that tests and deploys them, then the lead times.
#
#   examples/quickstart.sh            # needs `leadtime` and git on PATH; leaves nothing behind
#   KEEP=1 examples/quickstart.sh     # keep the server running and the files (printed) afterwards
set -euo pipefail

work="$(mktemp -d)"
port="${PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}"
export LEADTIME_URL="http://127.0.0.1:$port"
export LEADTIME_SPOOL_DIR="$work/spool"
unset OTEL_EXPORTER_OTLP_ENDPOINT OTEL_EXPORTER_OTLP_TRACES_ENDPOINT LEADTIME_TRACE_FILE

echo "== starting leadtime serve on $LEADTIME_URL (SQLite in $work)"
leadtime serve --port "$port" --db "sqlite:///$work/leadtime.db" 2>"$work/server.log" &
server=$!
cleanup() {
  if [ -z "${KEEP:-}" ]; then kill "$server" 2>/dev/null || true; rm -rf "$work"; fi
}
trap cleanup EXIT
for _ in $(seq 100); do
  if python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1])" "$LEADTIME_URL/readyz" 2>/dev/null; then break; fi
  sleep 0.1
done

echo "== a repository with three merged pull requests"
repo="$work/shop"
git init -q -b main "$repo"
cd "$repo"
git config user.name "Ada" && git config user.email "ada@example.com"
git remote add origin https://github.com/acme/shop.git
echo "shop" > README && git add README && git commit -qm "initial commit"
LEADTIME_RUN_ID=baseline leadtime deploy production --service shop -- echo "deploying the initial commit"
for feature in cart search checkout; do
  git checkout -qb "$feature"
  echo "$feature" > "$feature.txt" && git add "$feature.txt" && git commit -qm "add $feature"
  git checkout -q main && git merge -q --no-ff "$feature" -m "Merge pull request: $feature"
done

echo "== the pipeline on main: build, test, deploy"
eval "$(leadtime pipeline start)"
leadtime step build --type build -- sleep 0.2
leadtime step test --type test -- sh -c 'leadtime step unit -- sleep 0.3 && leadtime step lint -- sleep 0.1'
leadtime deploy production --service shop -- echo "deploying $(git rev-parse --short HEAD)"
leadtime pipeline end --result success

echo "== mergesets and their lead times"
leadtime mergesets --repo acme/shop
echo
echo "== deploys"
leadtime deploys
if [ -n "${KEEP:-}" ]; then
  echo
  echo "server still running on $LEADTIME_URL (pid $server, docs at $LEADTIME_URL/docs); files in $work"
fi
