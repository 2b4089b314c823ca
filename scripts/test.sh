#!/usr/bin/env bash
# The test command (npm test): compile the TypeScript, then run every compiled test file with node's runner.
# Unit tests sit beside their module (src/**/*.test.ts); root-only end-to-end tests live in test/e2e and skip
# themselves, with a reason, when not root or when the BPF object is not built.
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -p tsconfig.json
mapfile -t files < <(find dist/src dist/test dist/scripts -name '*.test.js' 2>/dev/null | sort)
if [ "${#files[@]}" -eq 0 ]; then
  echo "no test files found under dist/" >&2
  exit 1
fi
# The pipeline needs neither root nor a kernel: as root, run its tests once more as an unprivileged user,
# when there is one that can read this tree.
if [ "$(id -u)" -eq 0 ] && [ "$#" -eq 0 ] && id nobody >/dev/null 2>&1; then
  mapfile -t unpriv < <(find dist/src/pipeline -name '*.test.js' | sort)
  if runuser -u nobody -- test -r "${unpriv[0]}" 2>/dev/null; then
    echo "# pipeline tests as user nobody"
    runuser -u nobody -- node --test "${unpriv[@]}"
  else
    echo "# pipeline tests as user nobody: skipped, nobody cannot read $(pwd)"
  fi
fi
# One file at a time: e2e files load BPF programs and must not overlap.
exec node --test --test-concurrency=1 "$@" "${files[@]}"
