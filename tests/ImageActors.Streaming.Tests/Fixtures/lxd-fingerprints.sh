#!/usr/bin/env bash
# Recomputes fingerprints.json with the real LXD daemon: starts a private, throwaway daemon (LXD_DIR in a temp
# folder, no `lxd init`), imports every fixture with `lxc image import` and records the fingerprint it prints.
# Needs root and Debian's lxd + lxd-client packages. The daemon is shut down and its folder removed at the end.
# Usage: lxd-fingerprints.sh [OUTPUT]   (default: fingerprints.json next to this script)
set -euo pipefail
cd "$(dirname "$0")"
out=${1:-fingerprints.json}
export LXD_DIR
LXD_DIR=$(mktemp -d)
log=$(mktemp)
lxd --group root >"$log" 2>&1 &
pid=$!
cleanup() {
  lxd shutdown >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$LXD_DIR" "$log"
}
trap cleanup EXIT

for _ in $(seq 1 100); do
  lxc info >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.2
done
lxc info >/dev/null

import() { # files... -> fingerprint
  local out
  out=$(lxc image import "$@" 2>&1) || { echo "lxc image import $*: $out" >&2; return 1; }
  sed -n 's/.*Image imported with fingerprint: \([0-9a-f]\{64\}\).*/\1/p' <<<"$out"
}

entries=()
add() { # name type-hint files...
  local name=$1; shift
  local fp; fp=$(import "$@")
  local type; type=$(lxc image info "$fp" | sed -n 's/^Type: //p')
  local arch; arch=$(lxc image info "$fp" | sed -n 's/^Architecture: //p')
  entries+=("  \"$name\": { \"files\": [$(printf '"%s",' "$@" | sed 's/,$//')], \"fingerprint\": \"$fp\", \"type\": \"$type\", \"architecture\": \"$arch\" }")
  echo "$name $fp $type $arch" >&2
}

add unified-xz unified.tar.xz
add unified-gz-metadata-last unified-metadata-last.tar.gz
add unified-zst unified.tar.zst
add split-squashfs split-meta.tar.xz split-rootfs.squashfs
add split-vm vm-meta.tar.xz vm-disk.qcow2

{
  echo "{"
  (IFS=$'\n'; echo "${entries[*]}" | sed '$!s/$/,/')
  echo "}"
} > "$out"
cat "$out"
