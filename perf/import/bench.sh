#!/usr/bin/env bash
# What a user runs to import an image, timed from outside in one hyperfine run each: `imageactors image import`
# without a server (the command opens the store itself) and with `imageactors serve` running on the data directory
# (the command uploads over its unix socket), LXD's `lxc image import` against its daemon, and `openssl dgst -sha256`
# of the same file; then the split pair (metadata tarball + squashfs); then `imageactors image list` over COUNT
# images with and without a running server.
#
# The image is a real root file system (files copied from this machine's /usr, ROOTFS_MB of them), packed as
# `tar -I 'zstd -3'` with metadata.yaml first, and as a split pair (metadata.tar.xz + a zstd squashfs of the same
# tree). Nothing is committed; the work folder keeps the hyperfine JSON.
#
#   perf/import/bench.sh                              # ~1.6 GB of files (a ~440 MB .tar.zst), 7 runs
#   RUNS=3 ROOTFS_MB=400 COUNT=200 perf/import/bench.sh  # short mode
#   CLI=/path/to/published/imageactors perf/import/bench.sh   # time a given build instead of publishing this tree
#   SKIP_LXD=1 ...                                    # without the LXD daemon
#
# Hot memory: every timed command reads the image from the page cache (a warm-up run first); the host reclaims
# idle memory, so 2 GiB are touched before each run (PERF.md). Run with `uptime` near 0 for absolute figures; the
# ratios of one run are what the budgets are judged by.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=${RUNS:-7}
ROOTFS_MB=${ROOTFS_MB:-1600}
COUNT=${COUNT:-1000}
WORK=${WORK:-$(mktemp -d /var/tmp/ia-import-bench.XXXXXX)}
mkdir -p "$WORK"
echo "work folder: $WORK; load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

if [[ -z ${CLI:-} ]]; then
  "$repo/perf/publish-cli.sh" "$WORK/cli" "$WORK"
  CLI="$WORK/cli/imageactors"
fi
touch_memory="python3 -c 'bytearray(2 << 30)'"

# The image: real files, largest directories of /usr/lib first until ROOTFS_MB, then the docs.
if [[ ! -f $WORK/image.tar.zst ]]; then
  src=$WORK/src
  rm -rf "$src" && mkdir -p "$src/rootfs/usr/lib"
  budget=$(( ROOTFS_MB << 20 ))
  while read -r size dir; do
    (( size <= budget )) || continue
    cp -a "$dir" "$src/rootfs/usr/lib/" 2>/dev/null || true
    budget=$(( budget - size ))
  done < <(du -sb /usr/lib/x86_64-linux-gnu /usr/lib/gcc /usr/lib/python3* /usr/share/doc /usr/lib/jvm /usr/lib/llvm-* 2>/dev/null | sort -rn)
  cat > "$src/metadata.yaml" <<YAML
architecture: x86_64
creation_date: 1700000000
properties:
  os: debian
  release: bookworm
  description: Debian bookworm (benchmark root file system)
templates: {}
YAML
  tar -C "$src" -I 'zstd -3 -T2' -cf "$WORK/image.tar.zst" metadata.yaml rootfs
  tar -C "$src" -cJf "$WORK/meta.tar.xz" metadata.yaml
  mksquashfs "$src/rootfs" "$WORK/rootfs.squashfs" -comp zstd -Xcompression-level 3 -noappend -quiet -processors 2 >/dev/null
  rm -rf "$src"
fi
img=$WORK/image.tar.zst
fp=$(sha256sum "$img" | cut -d' ' -f1)
split_fp=$(cat "$WORK/meta.tar.xz" "$WORK/rootfs.squashfs" | sha256sum | cut -d' ' -f1)
ls -l "$img" "$WORK/meta.tar.xz" "$WORK/rootfs.squashfs" >&2

cleanup=()
on_exit() { for c in "${cleanup[@]}"; do eval "$c" || true; done; }
trap on_exit EXIT

# Our server on its own data directory; the command line finds it through the data directory's lock file.
served=$WORK/served
rm -rf "$served"
"$CLI" serve --data "$served" --https 127.0.0.1:${IA_HTTPS:-28743} > "$WORK/serve.log" 2>&1 &
serve_pid=$!
cleanup+=("kill $serve_pid; wait $serve_pid")
for _ in $(seq 1 150); do [[ -S $served/unix.socket ]] && break; sleep 0.2; done

lxd_import=() lxd_split=()
if [[ -z ${SKIP_LXD:-} ]] && command -v lxd >/dev/null && [[ $(id -u) == 0 ]]; then
  export LXD_DIR=$WORK/lxd
  mkdir -p "$LXD_DIR"
  lxd --group root > "$WORK/lxd.log" 2>&1 &
  lxd_pid=$!
  cleanup+=("lxd shutdown >/dev/null 2>&1 || kill $lxd_pid; wait $lxd_pid; rm -rf $LXD_DIR")
  for _ in $(seq 1 100); do lxc info >/dev/null 2>&1 && break; sleep 0.2; done
  lxd_import=(-n "lxc image import" --prepare "lxc image delete $fp >/dev/null 2>&1 || true; $touch_memory" "lxc image import $img")
  lxd_split=(-n "lxc image import (split)" --prepare "lxc image delete $split_fp >/dev/null 2>&1 || true; $touch_memory" "lxc image import $WORK/meta.tar.xz $WORK/rootfs.squashfs")
fi

hf() { # NAME commands...
  local name=$1; shift
  echo "load before $name: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  hyperfine --style basic --warmup 1 --runs "$RUNS" --export-json "$WORK/$name.json" "$@" >&2
}

hf import \
  -n "openssl dgst -sha256" --prepare "$touch_memory" "openssl dgst -sha256 $img" \
  "${lxd_import[@]}" \
  -n "imageactors image import (serve running)" --prepare "$CLI image delete $fp --data $served >/dev/null 2>&1 || true; $touch_memory" "$CLI image import $img --data $served" \
  -n "imageactors image import (no server)" --prepare "rm -rf $WORK/data; $touch_memory" "$CLI image import $img --data $WORK/data"

hf split \
  "${lxd_split[@]}" \
  -n "imageactors image import split (serve running)" --prepare "$CLI image delete $split_fp --data $served >/dev/null 2>&1 || true; $touch_memory" "$CLI image import $WORK/meta.tar.xz $WORK/rootfs.squashfs --data $served" \
  -n "imageactors image import split (no server)" --prepare "rm -rf $WORK/data; $touch_memory" "$CLI image import $WORK/meta.tar.xz $WORK/rootfs.squashfs --data $WORK/data"
rm -rf "$WORK/data"

# CPU seconds per import, the command's and its server's (the serve process, the LXD daemon) together: on a machine
# shared with other work, wall times follow the CPU each side needs, and this figure does not depend on the load.
cpu_of() { awk '{print $14 + $15}' "/proc/$1/stat"; }
tick=$(getconf CLK_TCK)
per_import() { # NAME SERVER_PID PREPARE COMMAND
  local total=0 i
  for i in 1 2 3; do
    eval "$3" >/dev/null 2>&1 || true
    local before after child
    before=$(cpu_of "$2")
    child=$( { /usr/bin/time -f '%U %S' bash -c "$4 >/dev/null" ; } 2>&1 | tail -1 | awk '{print $1 + $2}')
    after=$(cpu_of "$2")
    total=$(python3 -c "print($total + $child + ($after - $before) / $tick)")
  done
  python3 -c "print(f'{\"$1\":50} CPU per import (command + server), mean of 3: {$total / 3:.2f} s')"
}
{
  per_import "imageactors image import (serve running)" "$serve_pid" "$CLI image delete $fp --data $served" "$CLI image import $img --data $served"
  if [[ -n ${lxd_pid:-} ]]; then
    per_import "lxc image import" "$lxd_pid" "lxc image delete $fp" "lxc image import $img"
  fi
  per_import "openssl dgst -sha256" "$$" "true" "openssl dgst -sha256 $img"
} > "$WORK/cpu.txt"
cat "$WORK/cpu.txt" >&2

# COUNT small distinct images through the running server (POST /1.0/images over its socket), then listed by a new
# process with the server running and, after it stopped, by a process that opens the store itself.
tiny=$WORK/tiny
mkdir -p "$tiny/rootfs/etc"
for i in $(seq 1 "$COUNT"); do
  printf 'architecture: x86_64\ncreation_date: 1700000000\nproperties:\n  os: tiny\n  release: "%s"\n' "$i" > "$tiny/metadata.yaml"
  echo "$i" > "$tiny/rootfs/etc/hostname"
  tar -C "$tiny" -czf - metadata.yaml rootfs | curl -sf --unix-socket "$served/unix.socket" -X POST \
    -H 'Content-Type: application/octet-stream' --data-binary @- http://localhost/1.0/images >/dev/null
done
listed=$("$CLI" image list --data "$served" --format csv | wc -l)
[[ $listed -ge $COUNT ]] || { echo "listed $listed images, expected $COUNT" >&2; exit 1; }
hf list-served -n "imageactors image list (serve running, $listed images)" "$CLI image list --data $served"
kill "$serve_pid"; wait "$serve_pid" || true
cleanup=("${cleanup[@]:1}")
hf list-alone -n "imageactors image list (no server, $listed images)" "$CLI image list --data $served"

python3 - "$WORK" <<'PY'
import json, os, statistics, sys
work = sys.argv[1]
if os.path.exists(os.path.join(work, "cpu.txt")):
    print(open(os.path.join(work, "cpu.txt")).read().rstrip())
for name in ["import", "split", "list-served", "list-alone"]:
    path = os.path.join(work, name + ".json")
    if not os.path.exists(path):
        continue
    results = json.load(open(path))["results"]
    print(f"## {name}")
    for r in results:
        print(f"{r['command']:50} median {statistics.median(r['times']):.3f} s  user {r['user']:.3f} s  system {r['system']:.3f} s")
    base = {r["command"]: statistics.median(r["times"]) for r in results}
    for ref in ("lxc image import", "lxc image import (split)", "openssl dgst -sha256"):
        if ref in base:
            for cmd, t in base.items():
                if cmd.startswith("imageactors"):
                    print(f"  {cmd} vs {ref}: {base[ref] / t:.2f}x")
PY
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
