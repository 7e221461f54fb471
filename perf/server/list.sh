#!/usr/bin/env bash
# `image list` over 10,000 images: GET /1.0/images?recursion=1 from `imageactors serve` vs nginx serving
# the very same JSON as a static file (same TLS, same certificate), timed with curl (one request, https,
# interleaved A B A B ..., medians) and with wrk (plain http, -t2 -c16); and the clients a user runs:
# `imageactors image list --format json|table` (a new process, over the running server's unix socket),
# `lxc image list ours:` against our server and `lxc image list static:` against nginx answering
# /1.0 and /1.0/images with the files our server returned (so the lxc client does the same work).
#
# The images are small distinct unified tarballs, all public, uploaded with POST /1.0/images by the load
# driver (perf/ImageActors.LoadTests import), 16 at a time: the server's own import path, durable.
#
#   perf/server/list.sh                                    # 10,000 images, 10 runs, wrk 10 s
#   COUNT=500 RUNS=3 DURATION=3s perf/server/list.sh       # short mode
#   KEEP=1 WORK=/var/tmp/list10k perf/server/list.sh       # keep the work folder, then later runs skip the import:
#   SEED=/var/tmp/list10k perf/server/list.sh              # (same COUNT) start from a copy of its data directory
source "$(dirname "$0")/../remotes/lib.sh"
COUNT=${COUNT:-10000}
RUNS=${RUNS:-10}
DURATION=${DURATION:-10s}
LOAD_BEFORE=$(uptime_load)
echo "work folder: $WORK; load before: $LOAD_BEFORE" >&2

build_tools
if [ -n "${SEED:-}" ]; then
  # The data directory of an earlier run (KEEP=1) with the same COUNT: the server opens it as it would
  # after a restart, so the import (minutes at 10,000) is paid once. Its import time is reported again.
  echo "copying the data directory of $SEED ..." >&2
  mkdir -p "$DATA"
  cp -a "$SEED/data/." "$DATA/"
  rm -f "$DATA/unix.socket"
  cp "$SEED/import.json" "$WORK/import.json"
  start_server
else
  start_server
  echo "importing $COUNT images ..." >&2
  "$LOAD" import --socket "$DATA/unix.socket" --count "$COUNT" --parallel 16 --public >"$WORK/import.json"
fi
echo "import: $(cat "$WORK/import.json")" >&2

WWW=$WORK/www
mkdir -p "$WWW"
curl -sfk "https://127.0.0.1:$IA_HTTPS/1.0" -o "$WWW/server.json"
curl -sfk "https://127.0.0.1:$IA_HTTPS/1.0/images?recursion=1" -o "$WWW/images.json"
listed=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["metadata"]))' "$WWW/images.json")
[ "$listed" = "$COUNT" ] || { echo "the server lists $listed images, expected $COUNT" >&2; exit 1; }
start_web "$WWW" "location = /1.0 { default_type application/json; alias $WWW/server.json; }
    location = /1.0/images { default_type application/json; alias $WWW/images.json; }"
BYTES=$(stat -c %s "$WWW/images.json")
cmp <(curl -sfk "https://127.0.0.1:$NGINX_HTTPS/1.0/images?recursion=1") "$WWW/images.json"
echo "response: $BYTES bytes, $listed images" >&2

export LXD_CONF=$WORK/lxc-conf
mkdir -p "$LXD_CONF"
lxc_remote ours "https://127.0.0.1:$IA_HTTPS" lxd
lxc_remote static "https://127.0.0.1:$NGINX_HTTPS" lxd
lxc image list ours: --format csv | wc -l | grep -qx "$COUNT" || { echo "lxc image list ours: does not list $COUNT images" >&2; exit 1; }
lxc image list static: --format csv | wc -l | grep -qx "$COUNT" || { echo "lxc image list static: does not list $COUNT images" >&2; exit 1; }

url="/1.0/images?recursion=1"
echo "timing: $RUNS runs + 1 warm-up, interleaved ..." >&2
interleave "$WORK/list.json" "$RUNS" 1 \
  "curl imageactors" "" "curl -sfk -o /dev/null 'https://127.0.0.1:$IA_HTTPS$url'" \
  "curl nginx static" "" "curl -sfk -o /dev/null 'https://127.0.0.1:$NGINX_HTTPS$url'" \
  "imageactors image list --format json" "" "$BIN image list --format json --data $DATA >/dev/null" \
  "imageactors image list --format table" "" "$BIN image list --format table --data $DATA >/dev/null" \
  "lxc image list ours:" "" "lxc image list ours: >/dev/null" \
  "lxc image list static: (nginx)" "" "lxc image list static: >/dev/null" \
  "lxc image list ours: --format json" "" "lxc image list ours: --format json >/dev/null" \
  "lxc image list static: --format json" "" "lxc image list static: --format json >/dev/null"

run_wrk() { wrk -t2 -c16 -d"$DURATION" "$1" | awk '/Requests\/sec/ { print $2 }'; }
echo "wrk ..." >&2
run_wrk "http://127.0.0.1:$IA_HTTP$url" >/dev/null # warm-up
ours=$(run_wrk "http://127.0.0.1:$IA_HTTP$url")
theirs=$(run_wrk "http://127.0.0.1:$NGINX_HTTP$url")
LOAD_AFTER=$(uptime_load)

python3 - "$WORK" "$COUNT" "$BYTES" "$ours" "$theirs" "$LOAD_BEFORE" "$LOAD_AFTER" <<'PY'
import json, os, sys
work, count, size, ours, theirs, before, after = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), sys.argv[6], sys.argv[7]
res = {r["name"]: r for r in json.load(open(os.path.join(work, "list.json")))["results"]}
imp = json.load(open(os.path.join(work, "import.json")))
print(f"\n{count} images, GET /1.0/images?recursion=1 = {size} bytes; load (1/5/15 min) before {before}, after {after}")
print(f"import of the {count} images: {imp['seconds']:.1f} s ({count / imp['seconds']:.0f} images/s, {imp['parallel']} at a time)\n")
print("| command | median | CPU (client procs) |")
print("|---|---:|---:|")
for name, r in res.items():
    print(f"| {name} | {r['median'] * 1000:.0f} ms | {r['cpu_median'] * 1000:.0f} ms |")
def ratio(a, b):
    return res[b]["median"] / res[a]["median"]
print("\n| comparison | ratio (>1: ours faster) |")
print("|---|---:|")
print(f"| curl: imageactors vs nginx static | {ratio('curl imageactors', 'curl nginx static'):.2f}x |")
print(f"| lxc image list: ours: vs static: | {ratio('lxc image list ours:', 'lxc image list static: (nginx)'):.2f}x |")
print(f"| imageactors image list (table) vs lxc image list static: | {ratio('imageactors image list --format table', 'lxc image list static: (nginx)'):.2f}x |")
print(f"| imageactors image list --format json vs lxc ... --format json static: | {ratio('imageactors image list --format json', 'lxc image list static: --format json'):.2f}x |")
print(f"| wrk -t2 -c16 (http): imageactors {ours:,.1f} req/s vs nginx {theirs:,.1f} req/s | {ours / theirs:.2f}x |")
PY
