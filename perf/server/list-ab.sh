#!/usr/bin/env bash
# Two builds of `image list` side by side on the same images: the old and the new `imageactors serve`
# each open a copy of one data directory (the images of an earlier `KEEP=1 perf/server/list.sh` run),
# and one interleaved timer (A B A B ...) runs curl against each server and each build's own CLI against
# its own server, then wrk against each in turn; nginx serving the old server's answer as a file is the
# yardstick both are compared with. Comparing within one run keeps the machine's load out of the ratio.
#
#   KEEP=1 WORK=/var/tmp/list-old perf/server/list.sh      # in a checkout of the old build
#   KEEP=1 WORK=/var/tmp/list-new perf/server/list.sh      # in this checkout (or SEED=/var/tmp/list-old)
#   BEFORE=/var/tmp/list-old AFTER=/var/tmp/list-new RUNS=5 DURATION=5s perf/server/list-ab.sh
source "$(dirname "$0")/../remotes/lib.sh"
: "${BEFORE:?the work folder of a KEEP=1 list.sh run of the old build}" "${AFTER:?the same for the new build}"
RUNS=${RUNS:-5}
DURATION=${DURATION:-5s}
LOAD_BEFORE=$(uptime_load)
check_ports
ln -s "$(realpath "$AFTER")/bin" "$WORK/bin"
OLD=$WORK/old
mkdir -p "$OLD" "$DATA"
cp -a "$AFTER/data/." "$OLD/"
cp -a "$AFTER/data/." "$DATA/"
rm -f "$OLD/unix.socket" "$DATA/unix.socket"
printf '# benchmark: built-in defaults\n' >"$WORK/bench.hocon"
"$BEFORE/bin/imageactors" serve --config "$WORK/bench.hocon" --data "$OLD" \
  --https "127.0.0.1:$DST_HTTPS" --http "127.0.0.1:$DST_HTTP" >"$WORK/old.log" 2>&1 &
PIDS+=($!)
start_server
for _ in $(seq 1 300); do curl -sf -o /dev/null "http://127.0.0.1:$DST_HTTP/healthz" && break; sleep 0.1; done

url="/1.0/images?recursion=1"
WWW=$WORK/www
mkdir -p "$WWW"
curl -sfk "https://127.0.0.1:$DST_HTTPS$url" -o "$WWW/images.json"
cmp <(curl -sfk "https://127.0.0.1:$IA_HTTPS$url") "$WWW/images.json" || { echo "the two builds answer differently" >&2; exit 1; }
start_web "$WWW" "location = /1.0/images { default_type application/json; alias $WWW/images.json; }"
BYTES=$(stat -c %s "$WWW/images.json")
echo "response: $BYTES bytes, both builds identical" >&2

interleave "$WORK/ab.json" "$RUNS" 1 \
  "curl old server" "" "curl -sfk -o /dev/null 'https://127.0.0.1:$DST_HTTPS$url'" \
  "curl new server" "" "curl -sfk -o /dev/null 'https://127.0.0.1:$IA_HTTPS$url'" \
  "curl nginx static" "" "curl -sfk -o /dev/null 'https://127.0.0.1:$NGINX_HTTPS$url'" \
  "old image list --format table" "" "$BEFORE/bin/imageactors image list --format table --data $OLD >/dev/null" \
  "new image list --format table" "" "$BIN image list --format table --data $DATA >/dev/null" \
  "old image list --format json" "" "$BEFORE/bin/imageactors image list --format json --data $OLD >/dev/null" \
  "new image list --format json" "" "$BIN image list --format json --data $DATA >/dev/null" \
  "old image list --format csv" "" "$BEFORE/bin/imageactors image list --format csv --data $OLD >/dev/null" \
  "new image list --format csv" "" "$BIN image list --format csv --data $DATA >/dev/null"

run_wrk() { wrk -t2 -c16 -d"$DURATION" "$1" | awk '/Requests\/sec/ { print $2 }'; }
run_wrk "http://127.0.0.1:$DST_HTTP$url" >/dev/null
run_wrk "http://127.0.0.1:$IA_HTTP$url" >/dev/null
old=$(run_wrk "http://127.0.0.1:$DST_HTTP$url")
new=$(run_wrk "http://127.0.0.1:$IA_HTTP$url")
nginx=$(run_wrk "http://127.0.0.1:$NGINX_HTTP$url")
LOAD_AFTER=$(uptime_load)

python3 - "$WORK" "$BYTES" "$old" "$new" "$nginx" "$LOAD_BEFORE" "$LOAD_AFTER" <<'PY'
import json, os, sys
work, size, old, new, nginx, before, after = sys.argv[1], int(sys.argv[2]), *map(float, sys.argv[3:6]), sys.argv[6], sys.argv[7]
res = {r["name"]: r for r in json.load(open(os.path.join(work, "ab.json")))["results"]}
print(f"\nGET /1.0/images?recursion=1 = {size} bytes; load (1/5/15 min) before {before}, after {after}\n")
print("| command | median | CPU (client procs) |")
print("|---|---:|---:|")
for name, r in res.items():
    print(f"| {name} | {r['median'] * 1000:.0f} ms | {r['cpu_median'] * 1000:.0f} ms |")
def ratio(a, b):
    return res[b]["median"] / res[a]["median"]
print("\n| comparison | ratio (>1: the first is faster) |")
print("|---|---:|")
print(f"| curl: new vs old server | {ratio('curl new server', 'curl old server'):.2f}x |")
print(f"| curl: new server vs nginx static | {ratio('curl new server', 'curl nginx static'):.2f}x |")
print(f"| curl: old server vs nginx static | {ratio('curl old server', 'curl nginx static'):.2f}x |")
for f in ("table", "json", "csv"):
    print(f"| image list --format {f}: new vs old | {ratio('new image list --format ' + f, 'old image list --format ' + f):.2f}x |")
print(f"| wrk -t2 -c16 (http): new {new:,.1f} req/s vs old {old:,.1f} req/s | {new / old:.2f}x |")
print(f"| wrk -t2 -c16 (http): new {new:,.1f} req/s vs nginx {nginx:,.1f} req/s | {new / nginx:.2f}x |")
PY
