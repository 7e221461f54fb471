#!/usr/bin/env bash
# Memory of `imageactors serve` while COUNT clients upload small, different images at once (POST /1.0/images over
# the trusted unix socket, one curl each): the server's peak RSS during the storm (VmHWM, reset after one warm-up
# upload), its most threads, the answers by status, and the images listed afterwards. A client answered 503 waits
# its Retry-After and uploads again, as the limit asks.
#
#   perf/server/upload-memory.sh                          # 200 clients, 32 KiB images, built-in defaults
#   COUNT=50 SIZE_KIB=512 perf/server/upload-memory.sh
#   PREBUILT=DIR perf/server/upload-memory.sh             # DIR/bin/imageactors instead of building (KEEP=1 of an earlier run)
#   BENCH_HOCON='server.max_concurrent_uploads = 4' perf/server/upload-memory.sh
source "$(dirname "$0")/lib.sh"
COUNT=${COUNT:-200}
SIZE_KIB=${SIZE_KIB:-32}

build_cli
start_server
SERVER=${PIDS[0]}
SOCKET=$DATA/unix.socket

# COUNT different plain tarballs: metadata.yaml + a random payload.
mkdir -p "$WORK/images" "$WORK/answers"
for i in $(seq 0 "$COUNT"); do
  tree=$WORK/tree-$i
  mkdir -p "$tree/rootfs"
  printf 'architecture: x86_64\ncreation_date: 1767225600\nproperties:\n  description: upload %s\n' "$i" >"$tree/metadata.yaml"
  head -c "$((SIZE_KIB * 1024))" /dev/urandom >"$tree/rootfs/payload"
  tar -C "$tree" -cf "$WORK/images/$i.tar" metadata.yaml rootfs
  rm -rf "$tree"
done

upload() {
  local i=$1 code
  while true; do
    code=$(curl -s --unix-socket "$SOCKET" -X POST -T "$WORK/images/$i.tar" -H 'Content-Type: application/octet-stream' \
      -D "$WORK/answers/$i.headers" -o "$WORK/answers/$i.json" -w '%{http_code}' http://localhost/1.0/images || true)
    echo "$code" >>"$WORK/answers/$i.codes"
    [ "$code" = 503 ] || return 0
    sleep "$(awk -F': ' 'tolower($1)=="retry-after" {print $2+0}' "$WORK/answers/$i.headers")"
  done
}

upload 0 # warm-up (not counted)
echo 5 >"/proc/$SERVER/clear_refs" # resets VmHWM to the current RSS
status() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$SERVER/status"; }
before_kib=$(status VmRSS)

( most=0; while kill -0 "$SERVER" 2>/dev/null; do t=$(status Threads); [ "${t:-0}" -gt "$most" ] && most=$t && echo "$most" >"$WORK/threads"; sleep 0.05; done ) &
SAMPLER=$!

start=$(date +%s.%N)
CLIENTS=()
for i in $(seq 1 "$COUNT"); do upload "$i" & CLIENTS+=($!); done
wait "${CLIENTS[@]}"
end=$(date +%s.%N)
kill "$SAMPLER" 2>/dev/null || true

peak_kib=$(status VmHWM)
after_kib=$(status VmRSS)
listed=$(curl -sf --unix-socket "$SOCKET" http://localhost/1.0/images | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["metadata"]))')
answers=$(cat "$WORK"/answers/*.codes | sort | uniq -c | awk '{printf "%s×%s ", $1, $2}')
echo "clients: $COUNT, image: $(stat -c %s "$WORK/images/1.tar") bytes, server settings: ${BENCH_HOCON:-defaults}"
echo "RSS before the storm: $((before_kib / 1024)) MiB; peak during it: $((peak_kib / 1024)) MiB; after it: $((after_kib / 1024)) MiB; most threads: $(cat "$WORK/threads" 2>/dev/null || echo ?)"
echo "answers (every attempt, warm-up included): $answers; images listed: $listed of $((COUNT + 1)); storm took $(python3 -c "print(f'{$end - $start:.1f}')") s"
