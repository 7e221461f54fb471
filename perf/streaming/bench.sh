#!/usr/bin/env bash
# Whole-command comparisons of the streaming core with the reference tools, on one generated image. Its `import` is
# a component benchmark (the blob store's copy + hash, without the image check, the store or the command line);
# what users run is timed by perf/import/bench.sh
# (half random, half text; never committed), each pair measured in the same hyperfine run.
#
#   perf/streaming/bench.sh                 # full size (~640 MB image; its quarter-size twin also as .tar.xz), 5 runs each
#   SIZE_MB=200 RUNS=3 perf/streaming/bench.sh   # short mode
#   SKIP_LXD=1 ...                          # without the LXD daemon comparison
#
# Prints a table of wall-time medians and ratios (>1 means ours is faster) and the ratio of CPU time (user +
# system; for the LXD daemon only the client's is visible, so that column means little there); the raw
# hyperfine JSON stays in $WORK. Run it with `uptime` showing a load near 0 for wall times that mean something.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
SIZE_MB=${SIZE_MB:-640}
RUNS=${RUNS:-5}
WORK=${WORK:-$(mktemp -d /var/tmp/ia-streaming-bench.XXXXXX)}
mkdir -p "$WORK"
echo "work folder: $WORK (size ${SIZE_MB} MB, ${RUNS} runs)" >&2

dotnet build -c Release "$repo/perf/ImageActors.StreamingBench" -v q -nologo >/dev/null
bench="$repo/perf/ImageActors.StreamingBench/bin/Release/net10.0/ImageActors.StreamingBench"
# The command line too, for what a user runs against a running server (as `lxc image import` runs against LXD).
"$repo/perf/publish-cli.sh" "$WORK/cli" "$WORK"
cli="$WORK/cli/imageactors"

# The host reclaims idle memory; touching 2 GiB first makes write-heavy runs compare hot with hot (PERF.md).
touch_memory="python3 -c 'bytearray(2 << 30)'"

generate() { # DIR MB
  local dir=$1 mb=$2 half=$(( $2 / 2 )) part=$(( $2 / 2 < 64 ? $2 / 2 : 64 ))
  rm -rf "$dir" && mkdir -p "$dir/rootfs/random" "$dir/rootfs/text"
  local i=0
  while (( i * part < half )); do
    openssl rand -out "$dir/rootfs/random/part$i" $(( part << 20 ))
    i=$((i + 1))
  done
  # Text: source and headers from this machine, repeated past the compressors' windows.
  find /usr/include /usr/share/perl* /usr/lib/python3* -type f \( -name '*.h' -o -name '*.pm' -o -name '*.py' \) 2>/dev/null | head -20000 > "$dir/list"
  i=0
  while (( i * part < half )); do
    { while :; do xargs cat < "$dir/list" 2>/dev/null || exit 0; done; } | head -c $(( part << 20 )) > "$dir/rootfs/text/part$i" || true
    i=$((i + 1))
  done
  rm -f "$dir/list"
  cat > "$dir/metadata.yaml" <<YAML
architecture: x86_64
creation_date: 1700000000
properties:
  os: bench
  release: "1"
YAML
}

make_image() { # MB NAME [xz]
  local mb=$1 name=$2
  if [[ ! -f "$WORK/$name.tar.zst" ]]; then
    generate "$WORK/src-$name" "$mb"
    tar -C "$WORK/src-$name" -cf "$WORK/$name.tar" metadata.yaml rootfs
    zstd -q -T2 -3 "$WORK/$name.tar" -o "$WORK/$name.tar.zst"
    # xz compresses random data at ~10 MB/s: only the smaller image gets an .xz twin (multi-block, as xz -T2 writes).
    if [[ ${3:-} == xz ]]; then xz -T2 -1 -c "$WORK/$name.tar" > "$WORK/$name.tar.xz"; fi
    rm -rf "$WORK/src-$name" "$WORK/$name.tar"
  fi
}

make_image "$SIZE_MB" image
make_image $(( SIZE_MB / 4 )) small xz
img="$WORK/image.tar.zst"
ls -l "$WORK"/*.tar.* >&2

hf() { # NAME commands...
  local name=$1; shift
  hyperfine --style basic --warmup 1 --runs "$RUNS" --export-json "$WORK/$name.json" "$@" >&2
}

# `hash` (our process hashing the file, nothing written) bounds the import from below: .NET start plus the same
# OpenSSL SHA-256, so its ratio to openssl is the best any import command of ours can reach.
hf import-vs-openssl \
  -n openssl --prepare "$touch_memory" "openssl dgst -sha256 $img" \
  -n hash --prepare "$touch_memory" "$bench hash $img" \
  -n import --prepare "rm -rf $WORK/data; $touch_memory" "$bench import $img $WORK/data" \
  -n import-no-fsync --prepare "rm -rf $WORK/data; $touch_memory" "$bench import $img $WORK/data --no-fsync"

hf zstd -n zstd "zstd -q -dc $img > /dev/null" -n ours "$bench decompress $img"
hf xz -n xz "xz -dc $WORK/small.tar.xz > /dev/null" -n xz-T2 "xz -T2 -dc $WORK/small.tar.xz > /dev/null" -n ours "$bench decompress $WORK/small.tar.xz"
hf unpack \
  -n tar --prepare "rm -rf $WORK/out; mkdir $WORK/out; $touch_memory" "tar --zstd -xf $img -C $WORK/out" \
  -n ours --prepare "rm -rf $WORK/out; $touch_memory" "$bench unpack $img $WORK/out"
rm -rf "$WORK/out" "$WORK/data"

if [[ -z ${SKIP_LXD:-} ]] && command -v lxd >/dev/null && [[ $(id -u) == 0 ]]; then
  export LXD_DIR="$WORK/lxd"
  mkdir -p "$LXD_DIR"
  lxd --group root > "$WORK/lxd.log" 2>&1 &
  lxd_pid=$!
  trap 'lxd shutdown >/dev/null 2>&1 || kill $lxd_pid 2>/dev/null; wait $lxd_pid 2>/dev/null; rm -rf "$LXD_DIR"' EXIT
  for _ in $(seq 1 100); do lxc info >/dev/null 2>&1 && break; sleep 0.2; done
  fp=$(sha256sum "$img" | cut -d' ' -f1)
  # Our server, as the LXD daemon: the command line uploads to it over its unix socket.
  served="$WORK/served"
  "$cli" serve --data "$served" --https 127.0.0.1:${IA_HTTPS:-28643} > "$WORK/serve.log" 2>&1 &
  serve_pid=$!
  trap 'kill $serve_pid 2>/dev/null; wait $serve_pid 2>/dev/null; lxd shutdown >/dev/null 2>&1 || kill $lxd_pid 2>/dev/null; wait $lxd_pid 2>/dev/null; rm -rf "$LXD_DIR"' EXIT
  for _ in $(seq 1 100); do [[ -S $served/unix.socket ]] && break; sleep 0.2; done
  hf lxd \
    -n lxd --prepare "lxc image delete $fp >/dev/null 2>&1 || true; $touch_memory" "lxc image import $img" \
    -n import --prepare "rm -rf $WORK/data; $touch_memory" "$bench import $img $WORK/data" \
    -n cli-import --prepare "$cli image delete $fp --data $served >/dev/null 2>&1 || true; $touch_memory" "$cli image import $img --data $served"
  rm -rf "$WORK/data"
fi

# Peak memory of an import at two image sizes: it must not grow with the size.
rss() { rm -rf "$WORK/data"; "$bench" import "$1" "$WORK/data" 2>&1 >/dev/null | sed -n 's/.*peak RSS \([0-9]*\) MiB/\1/p'; rm -rf "$WORK/data"; }
rss_small=$(rss "$WORK/small.tar.zst")
rss_big=$(rss "$img")

python3 - "$WORK" "$rss_small" "$rss_big" "$(stat -c %s "$WORK/small.tar.zst")" "$(stat -c %s "$img")" <<'PY'
import json, os, statistics, sys
work, rss_small, rss_big, small, big = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
def load(name):
    return json.load(open(os.path.join(work, name + ".json")))["results"]
def med(name):
    return {r["command"]: statistics.median(r["times"]) for r in load(name)}
def cpu(name):
    # On a shared machine wall time mostly measures the neighbours; CPU time (user + system) is steadier.
    return {r["command"]: r["user"] + r["system"] for r in load(name)}
rows = [
    ("component import vs openssl dgst", "import-vs-openssl", "openssl", "import", None),
    ("hash only (bound for import) vs openssl", "import-vs-openssl", "openssl", "hash", None),
    ("import (no fsync) vs openssl", "import-vs-openssl", "openssl", "import-no-fsync", None),
    ("zstd decompress vs zstd -dc", "zstd", "zstd", "ours", 0.9),
    ("xz decompress vs xz -dc (small image)", "xz", "xz", "ours", 0.9),
    ("xz decompress vs xz -T2 -dc (small)", "xz", "xz-T2", "ours", None),
    ("unpack .tar.zst vs tar --zstd -xf", "unpack", "tar", "ours", 0.9),
    ("component import vs lxc image import", "lxd", "lxd", "import", None),
    ("imageactors image import (to serve) vs lxc", "lxd", "lxd", "cli-import", None),
]
print(f"{'comparison':38} {'baseline s':>10} {'ours s':>8} {'ratio':>6} {'cpu ratio':>9} target")
for title, file, base, ours, target in rows:
    if not os.path.exists(os.path.join(work, file + ".json")):
        continue
    m, c = med(file), cpu(file)
    ratio = m[base] / m[ours]
    print(f"{title:38} {m[base]:10.3f} {m[ours]:8.3f} {ratio:6.2f} {c[base] / c[ours]:9.2f} {'>= %.1f' % target if target else ''}")
print(f"peak RSS of an import: {rss_small} MiB for {small/1e6:.0f} MB, {rss_big} MiB for {big/1e6:.0f} MB")
PY
