#!/usr/bin/env bash
# npm run setup: make a Debian 12 machine ready to build, run and test ktrail.
# Installs what is missing (Debian packages as root, npm packages), then builds everything: the BPF object, the
# native addon, the TypeScript and the test helpers. Safe to run again: it only does what is not done yet.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

# Debian packages: the BPF toolchain (clang, llvm, bpftool), libbpf and what it links (libelf, zlib), kmod for
# the rmmod trigger the tests use, the C/C++ build tools node-gyp needs, and nats-server for the NATS output
# tests (they start it themselves on 127.0.0.1; the package starts no service here).
pkgs=(clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool kmod make g++ pkg-config python3 nats-server)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    die "these Debian packages are missing: ${missing[*]}. Run 'npm run setup' as root, or install them with: sudo apt-get install ${missing[*]}"
  fi
  command -v apt-get >/dev/null || die "apt-get not found: install ${missing[*]} with your package manager, then run 'npm run setup' again"
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || die "apt-get update failed: check the package mirror, then run 'npm run setup' again"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get install ${missing[*]} failed: run it by hand to see why"
fi

# npm packages: npm ci when node_modules was not installed from this exact lock file.
want=$(sha256sum package-lock.json | cut -c1-64)
if [ "$(cat node_modules/.ktrail-lock 2>/dev/null)" != "$want" ]; then
  say "installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null || die "npm ci failed: run it by hand to see why"
  echo "$want" > node_modules/.ktrail-lock
fi

# Builds. make and tsc are incremental; the addon is configured once and then built.
if [ -f bpf/Makefile ]; then make -s -C bpf; fi
if [ -f native/binding.gyp ]; then
  # Build against the Node headers the machine ships (Debian's nodejs puts them under /usr): no download.
  gyp=(node node_modules/node-gyp/bin/node-gyp.js --silent --directory native)
  [ -f /usr/include/node/node_api.h ] && gyp+=(--nodedir=/usr)
  if [ ! -f native/build/Makefile ]; then
    "${gyp[@]}" configure >/dev/null 2>&1 \
      || die "configuring the native addon failed: run 'npm run build:native' to see why"
  fi
  "${gyp[@]}" build >/dev/null 2>&1 || die "building the native addon failed: run 'npm run build:native' to see why"
fi
npx --no-install tsc -p tsconfig.json || die "TypeScript did not compile (errors above)"
if [ -f test/helpers/Makefile ]; then make -s -C test/helpers; fi
if [ -f bench/Makefile ]; then make -s -C bench; fi
chmod 0755 dist/src/cli/main.js 2>/dev/null || true
say "ready: 'npx ktrail' traces the default events, 'npm test' runs the tests"
