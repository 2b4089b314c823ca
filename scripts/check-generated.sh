#!/usr/bin/env bash
# npm run gen:check. Fails when a committed generated file differs from what its generator produces:
#   src/catalog/syscalls.gen.ts, docs/events.md  from the committed snapshot and overrides (scripts/gen-catalog.ts)
#   src/abi/abi.gen.ts                           from bpf/include/*.h and the BTF of the built object
#                                                (scripts/gen-abi.ts; the object is rebuilt first if stale)
# Does not rerun the extractor (CI may lack tracefs). Generates into a temp dir and compares with cmp, so it
# works whether the files are committed, staged or untracked.
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -p tsconfig.json
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
node dist/scripts/gen-catalog.js --out-dir "$tmp" >/dev/null
stale=0
for pair in "syscalls.gen.ts:src/catalog/syscalls.gen.ts" "events.md:docs/events.md"; do
  fresh="$tmp/${pair%%:*}"
  committed="${pair#*:}"
  if [ ! -f "$committed" ]; then
    echo "check-generated: $committed is missing" >&2
    stale=1
  elif ! cmp -s "$fresh" "$committed"; then
    echo "check-generated: $committed is out of date:" >&2
    diff -u "$committed" "$fresh" | head -20 >&2 || true
    stale=1
  fi
done
make -s -C bpf
node dist/scripts/gen-abi.js --check --object build/bpf/ktrail.bpf.o || stale=1
if [ "$stale" -ne 0 ]; then
  echo "check-generated: run 'npm run gen' (after 'npm run build:ts') and commit the result" >&2
  exit 1
fi
echo "check-generated: generated files are up to date"
