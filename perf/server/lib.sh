#!/usr/bin/env bash
# Shared set-up for the server benchmarks: build the CLI, make an image, start `imageactors serve`
# and an nginx serving the same bytes from the same disk, and stop both on exit.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WORK=${WORK:-$(mktemp -d /tmp/imageactors-perf-server.XXXXXX)}
DATA=$WORK/data
IA_HTTPS=${IA_HTTPS:-18443}
IA_HTTP=${IA_HTTP:-18080}
NGINX_HTTP=${NGINX_HTTP:-19080}
NGINX_HTTPS=${NGINX_HTTPS:-19443}
PIDS=()

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [ -f "$WORK/nginx.pid" ]; then kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true; fi
  wait 2>/dev/null || true
  [ "${KEEP:-0}" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT

build_cli() {
  # PREBUILT=DIR reuses DIR/bin from an earlier run's work folder (KEEP=1) instead of building again.
  if [ -n "${PREBUILT:-}" ]; then
    ln -s "$(realpath "$PREBUILT")/bin" "$WORK/bin"
    return
  fi
  "$REPO/perf/publish-cli.sh" "$WORK/bin" "$WORK"
}

# make_image SIZE_MIB → $WORK/image.tar: metadata.yaml + rootfs/payload of random bytes (plain tar,
# so that generating it costs no compression time; the server does not look inside on export).
make_image() {
  local mib=$1 tree=$WORK/tree
  mkdir -p "$tree/rootfs"
  printf 'architecture: x86_64\ncreation_date: 1767225600\nproperties:\n  os: Bench\n  release: "1"\n  description: Bench 1\n' >"$tree/metadata.yaml"
  head -c "$((mib * 1024 * 1024))" /dev/urandom >"$tree/rootfs/payload"
  tar -C "$tree" -cf "$WORK/image.tar" metadata.yaml rootfs
  rm -rf "$tree"
}

start_server() {
  mkdir -p "$DATA"
  # BENCH_HOCON: extra settings for the servers under test (e.g. BENCH_HOCON='images.openssl_downloads = off').
  printf '# benchmark: built-in defaults\n%s\n' "${BENCH_HOCON:-}" >"$WORK/bench.hocon"
  "$WORK/bin/imageactors" serve --config "$WORK/bench.hocon" --data "$DATA" \
    --https "127.0.0.1:$IA_HTTPS" --http "127.0.0.1:$IA_HTTP" >"$WORK/serve.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 300); do
    curl -sf -o /dev/null "http://127.0.0.1:$IA_HTTP/healthz" && return 0
    sleep 0.1
  done
  cat "$WORK/serve.log" >&2
  echo "imageactors serve did not start" >&2
  exit 1
}

# import_image → prints the fingerprint; the upload streams over the trusted unix socket.
import_image() {
  local reply
  reply=$(curl -sf --unix-socket "$DATA/unix.socket" -X POST -T "$WORK/image.tar" \
    -H 'Content-Type: application/octet-stream' -H 'X-Incus-public: true' -H 'X-Incus-aliases: bench' \
    http://localhost/1.0/images)
  python3 -c 'import json,sys; print(json.loads(sys.argv[1])["metadata"]["metadata"]["fingerprint"])' "$reply"
}

# start_nginx ROOT [EXTRA]: nginx serving ROOT over http and https (with the server's own certificate),
# with sendfile, as a stock static server would. EXTRA goes into the server block; NGINX_ACCESS_LOG=1
# writes "status method uri bytes" lines to $WORK/nginx-access.log (off by default: it costs nginx time).
start_nginx() {
  local root=$1 extra=${2:-} access="access_log off;"
  if [ -n "${NGINX_ACCESS_LOG:-}" ]; then
    access="log_format bench '\$status \$request_method \$uri \$body_bytes_sent';
  access_log $WORK/nginx-access.log bench;"
  fi
  # nginx workers run as an unprivileged user: let them reach the data directory (mktemp made it 0700).
  chmod a+rx "$WORK" "$DATA" "$DATA/images" "$root"
  chmod a+r "$DATA"/images/* "$DATA/server.key"
  cat >"$WORK/nginx.conf" <<CONF
worker_processes 2;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 4096; }
http {
  $access
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  default_type application/octet-stream;
  types { application/json json; }
  client_body_temp_path $WORK/nginx-tmp;
  proxy_temp_path $WORK/nginx-tmp;
  fastcgi_temp_path $WORK/nginx-tmp;
  uwsgi_temp_path $WORK/nginx-tmp;
  scgi_temp_path $WORK/nginx-tmp;
  server {
    listen 127.0.0.1:$NGINX_HTTP;
    listen 127.0.0.1:$NGINX_HTTPS ssl;
    ssl_certificate $DATA/server.crt;
    ssl_certificate_key $DATA/server.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    root $root;
    $extra
  }
}
CONF
  mkdir -p "$WORK/nginx-tmp"
  nginx -c "$WORK/nginx.conf" -p "$WORK" -g 'daemon on;' 2>>"$WORK/nginx-error.log"
  for _ in $(seq 1 100); do
    [ -f "$WORK/nginx.pid" ] && return 0
    sleep 0.05
  done
  echo "nginx did not start" >&2
  exit 1
}

# median_of JSON → the median of hyperfine's runs of each command, in command order.
medians() {
  python3 -c 'import json,sys; print(" ".join(str(r["median"]) for r in json.load(open(sys.argv[1]))["results"]))' "$1"
}
