#!/usr/bin/env bash
# GET /1.0/images/<fp> requests/s: imageactors serve vs nginx serving a static JSON file of the same
# size, both over plain HTTP on loopback, measured with wrk -t2 -c64. Target: >= 0.5x nginx.
#
#   perf/server/get-image.sh                 # 10 s per server
#   DURATION=3s perf/server/get-image.sh     # short mode
source "$(dirname "$0")/lib.sh"
DURATION=${DURATION:-10s}

build_cli
make_image 1
start_server
FP=$(import_image)
mkdir -p "$WORK/www"
curl -sf "http://127.0.0.1:$IA_HTTP/1.0/images/$FP" -o "$WORK/www/image.json"
start_nginx "$WORK/www"
echo "response: $(stat -c %s "$WORK/www/image.json") bytes"

run_wrk() { wrk -t2 -c64 -d"$DURATION" "$1" | awk '/Requests\/sec/ { print $2 }'; }
run_wrk "http://127.0.0.1:$IA_HTTP/1.0/images/$FP" >/dev/null   # warm-up (JIT, tiered compilation)
ours=$(run_wrk "http://127.0.0.1:$IA_HTTP/1.0/images/$FP")
theirs=$(run_wrk "http://127.0.0.1:$NGINX_HTTP/image.json")
python3 - "$ours" "$theirs" <<'PY'
import sys
ours, theirs = float(sys.argv[1]), float(sys.argv[2])
print(f"GET /1.0/images/<fp>: imageactors {ours:,.0f} req/s, nginx static {theirs:,.0f} req/s, ratio {ours/theirs:.2f}x (target >= 0.5x)")
PY
