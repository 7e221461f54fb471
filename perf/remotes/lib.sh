#!/usr/bin/env bash
# Set-up shared by perf/remotes/copy.sh and perf/server/list.sh, on top of perf/server/lib.sh (which
# builds the CLI, starts the source `imageactors serve` and owns the work folder): a second server
# that copies into its own store, nginx with an access log, a private LXD daemon, the generated image,
# the interleaved timer, and one clean-up for all of them.
#
# Ports (loopback): IA_HTTPS/IA_HTTP source server, DST_HTTPS/DST_HTTP target server,
# NGINX_HTTP/NGINX_HTTPS nginx. Override when another benchmark uses them.
set -euo pipefail
: "${IA_HTTPS:=28443}" "${IA_HTTP:=28080}" "${DST_HTTPS:=28444}" "${DST_HTTP:=28081}"
: "${NGINX_HTTP:=29080}" "${NGINX_HTTPS:=29443}"
export IA_HTTPS IA_HTTP NGINX_HTTP NGINX_HTTPS
WORK=${WORK:-$(mktemp -d /var/tmp/imageactors-perf-remotes.XXXXXX)}
mkdir -p "$WORK"
# shellcheck source=../server/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../server/lib.sh"
HERE=$REPO/perf/remotes
DST=$WORK/dst
LXD_PID=
BIN=$WORK/bin/imageactors
# The host reclaims idle memory; touching 2 GiB before a write-heavy run compares hot with hot (PERF.md).
TOUCH_MEMORY="python3 -c 'bytearray(2 << 30)'"

stop_lxd() {
  [ -n "$LXD_PID" ] || return 0
  lxd shutdown --timeout 30 >/dev/null 2>&1 || kill "$LXD_PID" 2>/dev/null || true
  wait "$LXD_PID" 2>/dev/null || true
  LXD_PID=
  # The daemon mounts a few folders of its own under LXD_DIR; leave none behind.
  grep -o " $WORK/lxd[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done || true
}

cleanup_all() {
  local rc=$?
  stop_lxd
  cleanup
  exit $rc
}
trap cleanup_all EXIT
trap 'exit 130' INT TERM

uptime_load() { awk '{ print $1 " " $2 " " $3 }' /proc/loadavg; }

# check_ports: stop at once when another program (another benchmark) listens on one of our ports, since
# its answers would be taken for our servers'.
check_ports() {
  local p
  for p in "$IA_HTTPS" "$IA_HTTP" "$DST_HTTPS" "$DST_HTTP" "$NGINX_HTTP" "$NGINX_HTTPS"; do
    if ss -Hltn "sport = :$p" | grep -q .; then
      echo "port $p is in use; choose others (IA_HTTPS IA_HTTP DST_HTTPS DST_HTTP NGINX_HTTP NGINX_HTTPS)" >&2
      exit 1
    fi
  done
}

# build_tools: the CLI into $WORK/bin and the load driver into $WORK/load (PREBUILT=DIR reuses DIR/bin
# and DIR/load from an earlier build of this checkout instead).
build_tools() {
  check_ports
  LOAD=$WORK/load/ImageActors.LoadTests
  if [ -n "${PREBUILT:-}" ]; then
    ln -s "$(realpath "$PREBUILT")/bin" "$WORK/bin"
    ln -s "$(realpath "$PREBUILT")/load" "$WORK/load"
    return
  fi
  echo "building the CLI and the load driver ..." >&2
  build_cli
  dotnet build "$REPO/perf/ImageActors.LoadTests" -c Release -o "$WORK/load" -v quiet -nologo >/dev/null
}

# make_realistic_image MB OUT.tar.zst: a unified image, MB unpacked (half random, half text from this
# machine's sources), metadata.yaml first, zstd -3. Reuses $IMAGE when given (a file made earlier).
make_realistic_image() {
  local mb=$1 out=$2 dir=$WORK/src half part i
  if [ -n "${IMAGE:-}" ]; then ln -sf "$(realpath "$IMAGE")" "$out"; return; fi
  half=$((mb / 2)); part=$((half < 64 ? half : 64)); [ "$part" -ge 1 ] || part=1
  rm -rf "$dir" && mkdir -p "$dir/rootfs/random" "$dir/rootfs/text"
  i=0
  while ((i * part < half)); do openssl rand -out "$dir/rootfs/random/part$i" $((part << 20)); i=$((i + 1)); done
  find /usr/include /usr/share/perl* /usr/lib/python3* -type f \( -name '*.h' -o -name '*.pm' -o -name '*.py' \) 2>/dev/null | head -20000 >"$WORK/list"
  i=0
  while ((i * part < half)); do
    { while :; do xargs cat <"$WORK/list" 2>/dev/null || exit 0; done; } | head -c $((part << 20)) >"$dir/rootfs/text/part$i" || true
    i=$((i + 1))
  done
  printf 'architecture: x86_64\ncreation_date: 1767225600\nproperties:\n  os: Bench\n  release: "1"\n  description: Bench 1\n' >"$dir/metadata.yaml"
  tar -C "$dir" -cf - metadata.yaml rootfs | zstd -q -T2 -3 -o "$out"
  rm -rf "$dir" "$WORK/list"
}

# make_split_image UNIFIED META ROOTFS: the same image as a split one, as images.linuxcontainers.org ships them:
# metadata.yaml in an xz tarball, the rootfs as a squashfs (xz, as LXD's builders make them).
make_split_image() {
  local dir=$WORK/split
  rm -rf "$dir" && mkdir -p "$dir"
  zstd -q -dc <"$1" | tar -C "$dir" -xf -
  tar -C "$dir" -cf - metadata.yaml | xz -T2 -3 >"$2"
  mksquashfs "$dir/rootfs" "$3" -comp xz -noappend -quiet -processors 2 >/dev/null
  rm -rf "$dir"
}

# import_split META ROOTFS ALIAS → fingerprint; a public split upload (multipart, as `lxc image import META ROOTFS`).
import_split() {
  local reply
  reply=$(curl -sf --unix-socket "$DATA/unix.socket" -X POST -F "metadata=@$1" -F "rootfs=@$2;filename=rootfs.squashfs" \
    -H 'X-Incus-public: true' -H "X-Incus-aliases: $3" http://localhost/1.0/images)
  python3 -c 'import json,sys; print(json.loads(sys.argv[1])["metadata"]["metadata"]["fingerprint"])' "$reply"
}

# import_file FILE ALIAS → fingerprint; a public upload into the source server over its unix socket.
import_file() {
  local reply
  reply=$(curl -sf --unix-socket "$DATA/unix.socket" -X POST -T "$1" \
    -H 'Content-Type: application/octet-stream' -H 'X-Incus-public: true' -H "X-Incus-aliases: $2" \
    http://localhost/1.0/images)
  python3 -c 'import json,sys; print(json.loads(sys.argv[1])["metadata"]["metadata"]["fingerprint"])' "$reply"
}

# start_target: the `imageactors serve` that copies into its own store ($DST).
start_target() {
  mkdir -p "$DST"
  "$BIN" serve --config "$WORK/bench.hocon" --data "$DST" \
    --https "127.0.0.1:$DST_HTTPS" --http "127.0.0.1:$DST_HTTP" >"$WORK/target.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 300); do
    curl -sf -o /dev/null "http://127.0.0.1:$DST_HTTP/healthz" && return 0
    sleep 0.1
  done
  cat "$WORK/target.log" >&2
  echo "target imageactors serve did not start" >&2
  exit 1
}

# start_web ROOT [EXTRA-LOCATIONS]: nginx as perf/server/lib.sh starts it, with the access log on so the
# benchmark can count the requests that reached the source.
start_web() {
  NGINX_ACCESS_LOG=1 start_nginx "$@"
}

# start_lxd: a private LXD daemon (LXD_DIR/LXD_CONF under $WORK); no storage pool, so copies land in
# $LXD_DIR/images without unpacking, as ours do.
start_lxd() {
  export LXD_DIR=$WORK/lxd LXD_CONF=$WORK/lxc-conf
  mkdir -p "$LXD_DIR" "$LXD_CONF"
  lxd --group root --logfile "$LXD_DIR/lxd.log" >/dev/null 2>&1 &
  LXD_PID=$!
  lxd waitready --timeout 120
}

# lxc_remote NAME URL PROTOCOL: adds a public remote and pins the source server's certificate (for
# simplestreams remotes --accept-certificate stores nothing, so the PEM is put where the client reads it).
lxc_remote() {
  lxc remote add "$1" "$2" --protocol "$3" --public --accept-certificate >"$WORK/lxc-remote.log" 2>&1 || { cat "$WORK/lxc-remote.log" >&2; exit 1; }
  mkdir -p "$LXD_CONF/servercerts"
  cp "$DATA/server.crt" "$LXD_CONF/servercerts/$1.crt"
}

# interleave OUT.json RUNS WARMUP NAME PREPARE COMMAND ...: A B C A B C ... timing, medians in OUT.json.
interleave() { python3 "$HERE/interleave.py" "$@"; }
