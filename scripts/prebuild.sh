#!/usr/bin/env bash
# Makes what the npm package ships prebuilt, so that a host that installs it needs no compiler (npm runs this
# as the package's prepack step, so `npm pack` always packs fresh files):
#   build/bpf/ktrail.bpf.o                          the CO-RE object (one for every kernel with BTF)
#   native/prebuilds/<platform>-<arch>/node.napi.glibc.node   the addon, found by node-gyp-build
#   dist/src/**                                     the compiled TypeScript
# Needs what `npm run setup` installs (clang, bpftool, libbpf-dev, g++); it runs no apt-get itself.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { printf 'prebuild: %s\n' "$*" >&2; exit 1; }

for tool in clang bpftool make g++; do
  command -v "$tool" >/dev/null || die "$tool is missing: run 'npm run setup' (as root) first"
done
[ -d node_modules/node-addon-api ] || die "node_modules is missing: run 'npm run setup' first"

make -s -C bpf
# Build against the headers of the Node.js that runs this (Debian and NodeSource put them under /usr, the
# official images under /usr/local): node-gyp would otherwise download them, and build hosts may be offline.
prefix=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
gyp=(node node_modules/node-gyp/bin/node-gyp.js --silent --directory native)
if [ -f "$prefix/include/node/node_api.h" ]; then gyp+=(--nodedir="$prefix"); fi
[ -f native/build/Makefile ] || "${gyp[@]}" configure >/dev/null || die 'configuring the addon failed'
"${gyp[@]}" build >/dev/null || die "building the addon failed: run 'npm run build:native' to see why"
npx --no-install tsc -p tsconfig.json || die 'TypeScript did not compile (errors above)'

# N-API (version 8) makes the file independent of the Node.js ABI; node-gyp-build reads the tags from the
# name: napi (any Node.js with N-API 8, i.e. 12.22 and later) and glibc (not for musl systems).
target="native/prebuilds/$(node -p 'process.platform + "-" + process.arch')"
rm -rf native/prebuilds
mkdir -p "$target"
cp native/build/Release/ktrail.node "$target/node.napi.glibc.node"
strip --strip-unneeded "$target/node.napi.glibc.node"
printf 'prebuild: %s (%s bytes), build/bpf/ktrail.bpf.o (%s bytes)\n' \
  "$target/node.napi.glibc.node" "$(stat -c %s "$target/node.napi.glibc.node")" \
  "$(stat -c %s build/bpf/ktrail.bpf.o)"
