#!/usr/bin/env bash
# Copy of a ~1 GiB unified image (SPLIT=1: the same image as metadata + squashfs) from a remote into a store, over https on loopback, measured A B A B ...
# (interleaved, medians) against:
#   - curl of the same files from the same server, with the same TLS, into the target store's temp folder
#     (same file system), followed by an fsync of the file (`sync FILE`), because our copy fsyncs what
#     it commits: the baseline pays for the same durability. Target: ours >= 0.9x curl.
#   - the LXD 5.0.2 daemon's `lxc image copy ss:bench local:` from the same SimpleStreams tree (nginx).
#     Target: ours >= 3x faster.
# and then 1,000 concurrent `POST /1.0/images` copies of the image into one running server vs one copy,
# counting the upstream requests in nginx's access log. Target: <= 1.2x one copy, one download.
#
# Sources: (a) `imageactors serve` (Incus API export, and its own /streams/v1), (b) nginx serving a static
# SimpleStreams tree mirrored from (a): index.json and images.json as files, the image via a symlink
# to the source store's file. What is timed for us is what a user runs: `imageactors image copy ...`
# (a new CLI process, which posts to the running target `imageactors serve` over its unix socket and
# waits), with the target's copy of the image deleted before each run.
#
#   perf/remotes/copy.sh                                  # ~1 GiB (1750 MB unpacked), 5 runs, 1,000 copies
#   SIZE_MB=200 RUNS=3 CONCURRENT=100 perf/remotes/copy.sh  # short mode
#   SKIP_LXD=1 ...     IMAGE=x.tar.zst ... (reuse an image)   KEEP=1 ... (keep the work folder)
#   CONCURRENT_INCUS=1 ... also N concurrent copies from the source server over the Incus API
#   SPLIT=1 ...        the image as metadata tarball + squashfs rootfs (two files, as public image servers ship them)
source "$(dirname "$0")/lib.sh"
SIZE_MB=${SIZE_MB:-1750}
RUNS=${RUNS:-5}
CONCURRENT=${CONCURRENT:-1000}
ROUNDS=${ROUNDS:-3}
LOAD_BEFORE=$(uptime_load)
echo "work folder: $WORK; load before: $LOAD_BEFORE" >&2

build_tools
echo "generating the image ($SIZE_MB MB unpacked) ..." >&2
make_realistic_image "$SIZE_MB" "$WORK/image.tar.zst"
start_server
if [ -n "${SPLIT:-}" ]; then
  echo "splitting it into metadata + squashfs rootfs ..." >&2
  make_split_image "$WORK/image.tar.zst" "$WORK/meta.tar.xz" "$WORK/rootfs.squashfs"
  BYTES=$(($(stat -c %s "$WORK/meta.tar.xz") + $(stat -c %s "$WORK/rootfs.squashfs")))
  FP=$(import_split "$WORK/meta.tar.xz" "$WORK/rootfs.squashfs" bench)
else
  BYTES=$(stat -L -c %s "$WORK/image.tar.zst")
  FP=$(import_file "$WORK/image.tar.zst" bench)
fi
start_target
TARGET_PID=${PIDS[-1]}

# The static SimpleStreams tree: our server's index and products files as they are, the files they name
# as symlinks to the source store's files.
WWW=$WORK/www
mkdir -p "$WWW/streams/v1"
for f in index.json images.json; do curl -sf "http://127.0.0.1:$IA_HTTP/streams/v1/$f" -o "$WWW/streams/v1/$f"; done
mapfile -t SS_PATHS < <(python3 - "$WWW/streams/v1/images.json" "$FP" <<'PY'
import json, sys
products, fp = json.load(open(sys.argv[1]))["products"], sys.argv[2]
paths = []
for product in products.values():
    for version in product["versions"].values():
        items = version["items"].values()
        if any(fp in (v for k, v in item.items() if k == "sha256" or k.startswith("combined_")) for item in items):
            for item in items:
                if item["path"] not in paths:
                    paths.append(item["path"])  # the Incus and LXD ftypes of one file share its path
print("\n".join(paths))
PY
)
[ "${#SS_PATHS[@]}" -gt 0 ] || { echo "the products file does not name image $FP" >&2; exit 1; }
# A unified image is one file in the tree; a split one two: the metadata tarball, then the rootfs.
if [ -n "${SPLIT:-}" ]; then
  [ "${#SS_PATHS[@]}" = 2 ] || { echo "expected two files for the split image, got: ${SS_PATHS[*]}" >&2; exit 1; }
  STORE_FILES=("$DATA/images/$FP" "$DATA/images/$FP.rootfs")
  case "${SS_PATHS[0]}" in */meta-*|*.tar.xz) ;; *) SS_PATHS=("${SS_PATHS[1]}" "${SS_PATHS[0]}") ;; esac
else
  [ "${#SS_PATHS[@]}" = 1 ] || { echo "expected one file for the unified image, got: ${SS_PATHS[*]}" >&2; exit 1; }
  STORE_FILES=("$DATA/images/$FP")
fi
for i in "${!SS_PATHS[@]}"; do
  mkdir -p "$WWW/$(dirname "${SS_PATHS[$i]}")"
  ln -sf "${STORE_FILES[$i]}" "$WWW/${SS_PATHS[$i]}"
done
start_web "$WWW"
SS=https://127.0.0.1:$NGINX_HTTPS
served=0
for p in "${SS_PATHS[@]}"; do served=$((served + $(curl -sfk -o /dev/null -w '%{size_download}' "$SS/$p"))); done
[ "$served" = "$BYTES" ] || { echo "nginx served $served bytes of ${SS_PATHS[*]}, expected $BYTES" >&2; exit 1; }
echo "image: $BYTES bytes, fingerprint $FP; SimpleStreams files: ${SS_PATHS[*]}" >&2

CERT=$DATA/server.crt
mkdir -p "$DST/tmp"
ours_delete="$BIN image delete $FP --data $DST >/dev/null 2>&1 || true; test ! -e $DST/images/$FP"
ss_urls=()
i=0
for p in "${SS_PATHS[@]}"; do ss_urls+=(-o "$DST/tmp/curl-$i" "$SS/$p"); i=$((i + 1)); done
cmds=(
  "curl nginx-ss" "rm -f $DST/tmp/curl-*; $TOUCH_MEMORY" "curl -sfk ${ss_urls[*]} && sync $DST/tmp/curl-*"
  "imageactors copy from nginx-ss" "$ours_delete; $TOUCH_MEMORY" "$BIN image copy $SS:bench --protocol simplestreams --certificate $CERT --data $DST >/dev/null"
  "curl ours-export" "rm -f $DST/tmp/curl-*; $TOUCH_MEMORY" "curl -sfk -o $DST/tmp/curl-0 https://127.0.0.1:$IA_HTTPS/1.0/images/$FP/export && sync $DST/tmp/curl-0"
  "imageactors copy from ours (incus)" "$ours_delete; $TOUCH_MEMORY" "$BIN image copy https://127.0.0.1:$IA_HTTPS:bench --protocol incus --certificate $CERT --data $DST >/dev/null"
)
if [ -z "${SKIP_LXD:-}" ] && command -v lxd >/dev/null && [ "$(id -u)" = 0 ]; then
  start_lxd
  lxc_remote ss "$SS" simplestreams
  lxc_remote ours "https://127.0.0.1:$IA_HTTPS" lxd
  lxd_delete="lxc image delete $FP >/dev/null 2>&1 || true; test ! -e $LXD_DIR/images/$FP"
  cmds+=(
    "lxd copy from nginx-ss" "$lxd_delete; $TOUCH_MEMORY" "lxc image copy ss:bench local: >/dev/null"
    "lxd copy from ours (lxd)" "$lxd_delete; $TOUCH_MEMORY" "lxc image copy ours:bench local: >/dev/null"
  )
fi
echo "timing copies: $RUNS runs + 1 warm-up, interleaved ..." >&2
CPU_PIDS="$TARGET_PID $LXD_PID" interleave "$WORK/copy.json" "$RUNS" 1 "${cmds[@]}"
rm -f "$DST"/tmp/curl-*
[ -z "$LXD_PID" ] || { lxc image delete "$FP" >/dev/null 2>&1 || true; stop_lxd; }
LOAD_MID=$(uptime_load)

# Concurrent copies through one server: the driver posts N copies at once and waits for every operation.
echo "concurrent copies: $ROUNDS rounds of 1 then $CONCURRENT ..." >&2
concurrent_round() { # NAME SERVER PROTOCOL N: a failed copy is counted in the summary, not fatal
  "$BIN" image delete "$FP" --data "$DST" >/dev/null 2>&1 || true
  test ! -e "$DST/images/$FP"
  eval "$TOUCH_MEMORY"
  local before
  before=$(wc -l <"$WORK/nginx-access.log")
  "$LOAD" copy --socket "$DST/unix.socket" --server "$2" --protocol "$3" --image bench \
    --certificate "$CERT" --count "$4" >"$WORK/$1.json" || true
  tail -n +"$((before + 1))" "$WORK/nginx-access.log" >"$WORK/$1.log"
  echo "  $4 copies ($3): $(cat "$WORK/$1.json")" >&2
}
"$LOAD" copy --socket "$DST/unix.socket" --server "$SS" --protocol simplestreams --image bench --certificate "$CERT" --count 1 >/dev/null # warm-up
for r in $(seq 1 "$ROUNDS"); do
  concurrent_round "concurrent-1-$r" "$SS" simplestreams 1
  concurrent_round "concurrent-$CONCURRENT-$r" "$SS" simplestreams "$CONCURRENT"
done
# Optional: the same from our own server over the Incus API, where every copy resolves the alias at the source.
if [ -n "${CONCURRENT_INCUS:-}" ]; then
  concurrent_round incus-1 "https://127.0.0.1:$IA_HTTPS" incus 1
  concurrent_round "incus-$CONCURRENT" "https://127.0.0.1:$IA_HTTPS" incus "$CONCURRENT"
fi
LOAD_AFTER=$(uptime_load)

python3 - "$WORK" "$BYTES" "$CONCURRENT" "$ROUNDS" "${SS_PATHS[*]}" "$LOAD_BEFORE" "$LOAD_MID" "$LOAD_AFTER" <<'PY'
import json, os, statistics, sys
work, size, n, rounds, paths = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5].split()
loads = sys.argv[6:9]
res = {r["name"]: r for r in json.load(open(os.path.join(work, "copy.json")))["results"]}
mb = size / 1e6
print(f"\nimage {size} bytes ({mb:.0f} MB); load (1/5/15 min) before {loads[0]}, after copies {loads[1]}, after concurrent {loads[2]}\n")
print(f"| command | median | MB/s | CPU: command + receiving daemon |")
print(f"|---|---:|---:|---:|")
for name, r in res.items():
    print(f"| {name} | {r['median']:.3f} s | {mb / r['median']:.0f} | {r['cpu_median']:.2f} s |")
def ratio(a, b):
    return res[a]["median"] / res[b]["median"] if a in res and b in res else None
rows = [
    ("copy from nginx-ss vs curl of the same file (+fsync)", ratio("curl nginx-ss", "imageactors copy from nginx-ss"), 0.9),
    ("copy from ours vs curl of its export (+fsync)", ratio("curl ours-export", "imageactors copy from ours (incus)"), 0.9),
    ("lxd copy from nginx-ss / ours copy from nginx-ss", ratio("lxd copy from nginx-ss", "imageactors copy from nginx-ss"), 3.0),
    ("lxd copy from ours (lxd) / ours copy from ours (incus)", ratio("lxd copy from ours (lxd)", "imageactors copy from ours (incus)"), None),
]
print("\n| comparison | ratio (>1: ours faster) | target | met |")
print("|---|---:|---:|---|")
for label, value, target in rows:
    if value is None:
        continue
    met = "" if target is None else ("yes" if value >= target else "NO")
    print(f"| {label} | {value:.2f}x | {'' if target is None else f'>= {target}x'} | {met} |")

def load_round(k, r):
    j = json.load(open(os.path.join(work, f"concurrent-{k}-{r}.json")))
    counts = {}
    for line in open(os.path.join(work, f"concurrent-{k}-{r}.log")):
        status, method, uri, sent = line.split()
        kind = "image file" if uri.lstrip("/") in paths and status in ("200", "206") else f"{uri.rsplit('/', 1)[-1]} ({status})"
        counts[kind] = counts.get(kind, 0) + 1
        if kind == "image file":
            counts["image bytes"] = counts.get("image bytes", 0) + int(sent)
    return j, counts
ones = [load_round(1, r) for r in range(1, rounds + 1)]
many = [load_round(n, r) for r in range(1, rounds + 1)]
t1 = statistics.median(j["seconds"] for j, _ in ones)
tn = statistics.median(j["seconds"] for j, _ in many)
print(f"\nconcurrent copies from nginx-ss through one `imageactors serve` ({rounds} rounds, medians):\n")
print("| copies | times | median | failures | distinct fingerprints | image downloads per round | upstream requests (last round) |")
print("|---:|---|---:|---:|---:|---|---|")
for label, runs in (("1", ones), (str(n), many)):
    j, counts = runs[-1]
    med = statistics.median(x["seconds"] for x, _ in runs)
    fails = sum(x["failures"] for x, _ in runs)
    times = ", ".join(f"{x['seconds']:.2f}" for x, _ in runs)
    downloads = ", ".join(str(c.get("image file", 0)) for _, c in runs)
    print(f"| {label} | {times} | {med:.3f} s | {fails} | {j['distinct_fingerprints']} | {downloads} | {', '.join(f'{k}: {v}' for k, v in sorted(counts.items()))} |")
print(f"\n{n} concurrent copies / one copy: {tn / t1:.2f}x (target <= 1.2x): {'met' if tn / t1 <= 1.2 else 'NOT met'}")
for k in (1, n):
    path = os.path.join(work, f"incus-{k}.json")
    if os.path.exists(path) and os.path.getsize(path) > 0:
        j = json.load(open(path))
        print(f"from imageactors serve over the Incus API, {k} copies: {j['seconds']:.3f} s, {j['failures']} failed")
    elif os.path.exists(path):
        print(f"from imageactors serve over the Incus API, {k} copies: the driver failed (see the log above)")
PY
