#!/usr/bin/env bash
# bench/baseline.sh REV...: builds the tree of each commit REV of this repository (BPF object, TypeScript) so
# that `npm run bench -- --baseline DIRS` measures it beside this tree in one run: the first as ktrail rows in
# the overhead table, every one in the pipeline table. Prints DIRS, comma-separated. Trees go to
# $KTRAIL_BASELINE_DIR (default /tmp/ktrail-baselines)/<commit>, made once; they share this tree's
# node_modules and native addon (its methods are a superset of every earlier one's).
#   npm run bench -- --baseline "$(bash bench/baseline.sh 038f0d2 HEAD~3)"
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out=${KTRAIL_BASELINE_DIR:-/tmp/ktrail-baselines}
[ "$#" -gt 0 ] || { echo "usage: bench/baseline.sh REV..." >&2; exit 2; }
[ -e native/build/Release/ktrail.node ] || { echo "baseline: build this tree first (npm run setup)" >&2; exit 1; }
dirs=()
for rev in "$@"; do
  sha=$(git rev-parse --short=7 "$rev^{commit}")
  dir="$out/$sha"
  if [ ! -f "$dir/BASELINE" ]; then
    echo "baseline: building $sha in $dir" >&2
    rm -rf "$dir"
    mkdir -p "$dir"
    git archive "$sha" | tar -x -C "$dir"
    ln -s "$root/node_modules" "$dir/node_modules"
    mkdir -p "$dir/native"
    ln -s "$root/native/build" "$dir/native/build"
    make -s -C "$dir/bpf" >&2
    (cd "$dir" && "$root/node_modules/.bin/tsc" -p tsconfig.json)
    git log -1 --format='%h %s' "$sha" | cut -c1-80 > "$dir/BASELINE"
  fi
  dirs+=("$dir")
done
(IFS=,; echo "${dirs[*]}")
