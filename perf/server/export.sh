#!/usr/bin/env bash
# Export of a ~1 GiB unified image over loopback: imageactors serve vs nginx serving the same file,
# fetched by the same client (curl to /dev/null), over HTTP and over HTTPS. Target: >= 0.9x nginx.
#
#   perf/server/export.sh            # 1 GiB, 5 runs each (A B A B ... by hyperfine)
#   SIZE_MIB=256 RUNS=3 perf/server/export.sh   # short mode
source "$(dirname "$0")/lib.sh"
SIZE_MIB=${SIZE_MIB:-1024}
RUNS=${RUNS:-5}

build_cli
make_image "$SIZE_MIB"
start_server
FP=$(import_image)
mkdir -p "$WORK/www"
ln -s "$DATA/images/$FP" "$WORK/www/image.tar"
start_nginx "$WORK/www"

echo "image: $SIZE_MIB MiB, fingerprint $FP"
for scheme in http https; do
  if [ "$scheme" = http ]; then ia=$IA_HTTP; ng=$NGINX_HTTP; else ia=$IA_HTTPS; ng=$NGINX_HTTPS; fi
  hyperfine -N --warmup 1 --runs "$RUNS" --export-json "$WORK/$scheme.json" \
    -n "imageactors $scheme" "curl -sfk -o /dev/null $scheme://127.0.0.1:$ia/1.0/images/$FP/export" \
    -n "nginx $scheme" "curl -sfk -o /dev/null $scheme://127.0.0.1:$ng/image.tar" >/dev/null
  read -r ours theirs < <(medians "$WORK/$scheme.json")
  python3 - "$scheme" "$ours" "$theirs" "$SIZE_MIB" <<'PY'
import sys
scheme, ours, theirs, mib = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
mb = mib * 1024 * 1024 / 1e6
print(f"{scheme:5}: imageactors {ours:.3f} s ({mb/ours:.0f} MB/s), nginx {theirs:.3f} s ({mb/theirs:.0f} MB/s), ratio {theirs/ours:.2f}x (target >= 0.9x)")
PY
done
