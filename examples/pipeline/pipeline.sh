#!/usr/bin/env bash
# The pipeline of a small project (shop/, tests/), every step wrapped by leadtime: lint, unit
# tests, package (a zipapp), then a deploy that "releases" the package into ./releases.
#
#   LEADTIME_URL=http://127.0.0.1:8000 examples/pipeline/pipeline.sh
#
# Run it from a git checkout on main: the deploy step records the commit it ships and its
# first-parent history, from which the server works out the mergesets the deploy contains.
# Outside CI, `leadtime pipeline start` gives the run an id that the steps share (one trace).
set -euo pipefail
cd "$(dirname "$0")"
releases="${RELEASES:-$PWD/releases}"

eval "$(leadtime pipeline start)"
trap 'leadtime pipeline end --result failure' ERR

leadtime step lint --type test -- python3 -m compileall -q shop tests
leadtime step unit-tests --type test -- python3 -m unittest discover -s tests -q
leadtime step package --type build -- sh -c '
  rm -rf build && mkdir -p build/app && cp -r shop build/app/ &&
  python3 -m zipapp build/app -m shop.cli:main -p "/usr/bin/env python3" -o build/shop.pyz'
leadtime deploy production --service shop -- sh -c '
  mkdir -p "$1" && cp build/shop.pyz "$1/shop-$(git rev-parse --short HEAD).pyz" &&
  python3 "$1/shop-$(git rev-parse --short HEAD).pyz" 1999 19 >/dev/null &&
  echo "released $(git rev-parse --short HEAD) to $1"' sh "$releases"

trap - ERR
leadtime pipeline end --result success
